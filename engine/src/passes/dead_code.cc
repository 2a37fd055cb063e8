#include "passes/passes.h"

namespace octet::detail {

void eliminate_dead_code(Graph& g) {
  std::vector<char> needed(g.values.size(), 0);
  for (int o : g.outputs) needed[o] = 1;
  // Nodes are topologically sorted: walk backwards once.
  for (size_t k = g.nodes.size(); k-- > 0;) {
    Node& n = g.nodes[k];
    if (n.dead) continue;
    bool live = false;
    for (int o : n.outputs)
      if (o >= 0 && needed[o]) live = true;
    if (!live) {
      n.dead = true;
      continue;
    }
    for (int i : n.inputs)
      if (i >= 0) needed[i] = 1;
  }
}

}  // namespace octet::detail
