#include "octet/graph/graph.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

namespace octet::detail {

const Attribute* Node::attr(const std::string& k) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void bad_attr(const Node& n, const std::string& k, const char* want) {
  throw Error(n.label() + ": attribute '" + k + "' is not " + want);
}
}  // namespace

int64_t Node::attr_i(const std::string& k, int64_t def) const {
  const Attribute* a = attr(k);
  if (!a) return def;
  if (a->kind != Attribute::Kind::int_) bad_attr(*this, k, "an int");
  return a->i;
}

float Node::attr_f(const std::string& k, float def) const {
  const Attribute* a = attr(k);
  if (!a) return def;
  if (a->kind == Attribute::Kind::int_) return static_cast<float>(a->i);
  if (a->kind != Attribute::Kind::float_) bad_attr(*this, k, "a float");
  return a->f;
}

std::string Node::attr_s(const std::string& k, const std::string& def) const {
  const Attribute* a = attr(k);
  if (!a) return def;
  if (a->kind != Attribute::Kind::string_) bad_attr(*this, k, "a string");
  return a->s;
}

std::vector<int64_t> Node::attr_ints(const std::string& k, const std::vector<int64_t>& def) const {
  const Attribute* a = attr(k);
  if (!a) return def;
  if (a->kind == Attribute::Kind::int_) return {a->i};
  if (a->kind != Attribute::Kind::ints) bad_attr(*this, k, "a list of ints");
  return a->ints;
}

std::vector<float> Node::attr_floats(const std::string& k, const std::vector<float>& def) const {
  const Attribute* a = attr(k);
  if (!a) return def;
  if (a->kind == Attribute::Kind::float_) return {a->f};
  if (a->kind != Attribute::Kind::floats) bad_attr(*this, k, "a list of floats");
  return a->floats;
}

std::string Node::label() const {
  std::string op = domain.empty() ? op_type : domain + "." + op_type;
  return "node '" + name + "' (" + op + ")";
}

int64_t Graph::opset() const {
  auto it = opsets.find("");
  return it == opsets.end() ? 0 : it->second;
}

int Graph::add_value(const std::string& name) {
  Value v;
  v.name = name;
  values.push_back(std::move(v));
  int id = static_cast<int>(values.size()) - 1;
  if (!name.empty()) name_index.emplace(name, id);
  return id;
}

int Graph::find_value(const std::string& name) const {
  auto it = name_index.find(name);
  return it == name_index.end() ? -1 : it->second;
}

int Graph::add_const(const std::string& name, Tensor t) {
  // Names must stay unique: suffix generated constants when the name is taken.
  std::string unique = name;
  for (int k = 1; find_value(unique) >= 0; ++k) unique = name + "_" + std::to_string(k);
  int id = add_value(unique);
  Value& v = values[id];
  v.dtype = t.dtype();
  v.shape = t.shape();
  v.shape_known = true;
  v.is_const = true;
  v.data = std::move(t);
  return id;
}

std::string Graph::where() const { return model_path.empty() ? std::string() : model_path + ": "; }

void Graph::toposort() {
  const int nv = static_cast<int>(values.size());
  std::vector<int> producer(nv, -1);
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].dead) continue;
    for (int o : nodes[n].outputs) {
      if (o < 0) continue;
      if (o >= nv) throw Error(where() + nodes[n].label() + " has an invalid output");
      if (producer[o] >= 0)
        throw Error(where() + "value '" + values[o].name + "' is produced by both " +
                    nodes[producer[o]].label() + " and " + nodes[n].label());
      if (values[o].is_const)
        throw Error(where() + nodes[n].label() + " writes '" + values[o].name +
                    "', which is a constant (initializer)");
      producer[o] = static_cast<int>(n);
    }
  }
  std::vector<char> is_input(nv, 0);
  for (int i : inputs) is_input[i] = 1;
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].dead) continue;
    for (int in : nodes[n].inputs) {
      if (in < 0) continue;
      if (in >= nv) throw Error(where() + nodes[n].label() + " has an invalid input");
      if (producer[in] < 0 && !values[in].is_const && !is_input[in])
        throw Error(where() + nodes[n].label() + " reads '" + values[in].name +
                    "', which no node, initializer or graph input provides");
    }
  }
  for (int o : outputs)
    if (o < 0 || (producer[o] < 0 && !values[o].is_const && !is_input[o]))
      throw Error(where() + "graph output '" + (o >= 0 ? values[o].name : std::string("?")) +
                  "' is not produced by any node");

  // Kahn's algorithm; ready nodes taken in their original order for a stable result.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> users(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].dead) continue;
    for (int in : nodes[n].inputs)
      if (in >= 0 && producer[in] >= 0) {
        ++pending[n];
        users[producer[in]].push_back(static_cast<int>(n));
      }
  }
  std::vector<int> order;
  std::vector<int> ready;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (!nodes[n].dead && pending[n] == 0) ready.push_back(static_cast<int>(n));
  std::make_heap(ready.begin(), ready.end(), std::greater<int>());
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), std::greater<int>());
    int n = ready.back();
    ready.pop_back();
    order.push_back(n);
    for (int u : users[n])
      if (--pending[u] == 0) {
        ready.push_back(u);
        std::push_heap(ready.begin(), ready.end(), std::greater<int>());
      }
  }
  size_t live = 0;
  for (const Node& nd : nodes) live += nd.dead ? 0 : 1;
  if (order.size() != live) {
    for (size_t n = 0; n < nodes.size(); ++n)
      if (!nodes[n].dead && pending[n] > 0)
        throw Error(where() + "the graph has a cycle through " + nodes[n].label());
  }
  std::vector<Node> sorted;
  sorted.reserve(order.size());
  for (int n : order) sorted.push_back(std::move(nodes[n]));
  nodes = std::move(sorted);
  for (Value& v : values) v.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int o : nodes[n].outputs)
      if (o >= 0) values[o].producer = static_cast<int>(n);
}

void Graph::compact() {
  std::vector<Node> kept;
  for (Node& n : nodes)
    if (!n.dead) kept.push_back(std::move(n));
  nodes = std::move(kept);
  // Renumber values that are still referenced.
  std::vector<int> remap(values.size(), -1);
  std::vector<Value> kept_values;
  auto keep = [&](int id) {
    if (id < 0) return;
    if (remap[id] < 0) {
      remap[id] = static_cast<int>(kept_values.size());
      kept_values.push_back(values[id]);
    }
  };
  for (int i : inputs) keep(i);
  for (int o : outputs) keep(o);
  for (const Node& n : nodes) {
    for (int i : n.inputs) keep(i);
    for (int o : n.outputs) keep(o);
  }
  for (int& i : inputs) i = remap[i];
  for (int& o : outputs) o = remap[o];
  for (Node& n : nodes) {
    for (int& i : n.inputs) i = i < 0 ? -1 : remap[i];
    for (int& o : n.outputs) o = o < 0 ? -1 : remap[o];
  }
  values = std::move(kept_values);
  name_index.clear();
  for (size_t i = 0; i < values.size(); ++i)
    if (!values[i].name.empty()) name_index.emplace(values[i].name, static_cast<int>(i));
  for (Value& v : values) v.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int o : nodes[n].outputs)
      if (o >= 0) values[o].producer = static_cast<int>(n);
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> c(values.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].dead) continue;
    for (int i : nodes[n].inputs)
      if (i >= 0) c[i].push_back(static_cast<int>(n));
  }
  return c;
}

Tensor constant_data(const Value& v) {
  if (!v.only_in_file()) return v.data;
  Tensor t(v.dtype, v.shape);
  v.file->read(v.file_offset, t.data(), t.nbytes());
  return t;
}

void Graph::load_file_constants() {
  for (Value& v : values)
    if (v.only_in_file()) v.data = constant_data(v);
}

namespace {
bool equals_file_bytes(const Value& v) {
  const Tensor& t = v.data;
  if (t.dtype() != v.dtype || t.shape() != v.shape) return false;
  if (v.file_offset > v.file->size() || t.nbytes() > v.file->size() - v.file_offset) return false;
  char buf[1 << 16];
  const char* p = static_cast<const char*>(t.data());
  for (size_t done = 0; done < t.nbytes();) {
    const size_t n = std::min(sizeof(buf), t.nbytes() - done);
    v.file->read(v.file_offset + done, buf, n);
    if (std::memcmp(buf, p + done, n) != 0) return false;
    done += n;
  }
  return true;
}
}  // namespace

void Graph::release_constants_equal_to_file() {
  for (Value& v : values)
    if (v.is_const && v.file && !v.data.empty() && equals_file_bytes(v)) v.data = Tensor();
}

std::vector<std::string> outer_scope_names(const Node& n) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& kv : n.attrs)
    if (kv.second.kind == Attribute::Kind::graph && kv.second.g)
      for (const std::string& name : kv.second.g->outer_scope)
        if (seen.insert(name).second) names.push_back(name);
  return names;
}

}  // namespace octet::detail
