#include "passes/passes.h"

namespace octet::detail {

void remove_identities(Graph& g) {
  std::vector<char> is_output(g.values.size(), 0);
  for (int o : g.outputs) is_output[o] = 1;
  std::vector<int> forward(g.values.size(), -1);  // value -> the value it is an alias of
  for (Node& n : g.nodes) {
    if (n.dead || !n.domain.empty()) continue;
    bool identity = n.op_type == "Identity";
    // Inference-mode Dropout is an identity when its mask output is unused.
    if (n.op_type == "Dropout") identity = n.outputs.size() < 2 || n.outputs[1] < 0;
    if (!identity || n.inputs.empty() || n.inputs[0] < 0 || n.outputs.empty()) continue;
    int out = n.outputs[0];
    if (out < 0 || is_output[out]) continue;  // graph outputs keep their names
    int in = n.inputs[0];
    while (forward[in] >= 0) in = forward[in];
    forward[out] = in;
    n.dead = true;
  }
  for (Node& n : g.nodes)
    for (int& i : n.inputs)
      while (i >= 0 && forward[i] >= 0) i = forward[i];
}

}  // namespace octet::detail
