// The graph IR: values (tensors) and nodes (ops), as read from ONNX and rewritten by passes.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "octet/graph/file_bytes.h"
#include "octet/octet.h"

namespace octet::detail {

struct Graph;

struct Attribute {
  enum class Kind { int_, float_, string_, ints, floats, strings, tensor, graph, type };
  Kind kind = Kind::int_;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  Tensor t;
  // Kind::graph: a subgraph (If's branches, Loop's and Scan's body), shared and never changed
  // once loaded: a compile prepares its own copy for the shapes it binds.
  std::shared_ptr<const Graph> g;
  // Kind::type (a TypeProto, e.g. Optional's `type`): a tensor or a sequence of tensors of
  // type_dtype (optional and map types are refused by the frontend).
  DType type_dtype = DType::undefined;
  bool type_sequence = false;
};

// A tensor flowing through the graph. Shape/dtype are filled by the frontend where the
// model declares them and by shape inference for the rest.
struct Value {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;                         // meaningful when shape_known
  bool shape_known = false;
  std::vector<std::string> dim_names;  // symbolic dims declared by the model ("" = fixed)
  bool is_const = false;               // initializer, Constant node, or folded
  Tensor data;                         // the constant's value when is_const
  // A constant loaded from a file: its bytes are at file_offset in `file`. While data is
  // empty they are only there (Graph::load_file_constants reads them, constant_data too).
  std::shared_ptr<const FileBytes> file;
  uint64_t file_offset = 0;
  bool only_in_file() const { return file && data.empty(); }
  int producer = -1;                   // node index, -1 for graph inputs and constants
  // An ONNX sequence of tensors rather than a tensor (made and read by the Sequence ops inside
  // a graph): dtype is its elements' dtype and seq_shapes holds each element's shape, all
  // known at compile time. At run time it is one buffer of the elements back to back, so the
  // value's shape is [their total element count].
  // A sequence graph input is declared with its elements' type: until compile binds the element
  // shapes (CompileOptions::sequence_shapes), shape / dim_names hold the declared element shape.
  bool is_sequence = false;
  std::vector<Shape> seq_shapes;
  // Declared optional(T) (a graph input or output, T a tensor or sequence type).
  bool is_optional = false;
  // An optional with no element (ONNX None), known at compile time: a constant of zero elements
  // of the element dtype, which OptionalHasElement reads as false and the API returns as none.
  bool is_none = false;
  // Set by the layout pass on a channels-last twin: the name of the [N, C, H, W] value whose
  // elements this one holds as [N, H, W, C] (reports compare it under that name).
  std::string nhwc_of;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for the default ONNX domain ("ai.onnx" is normalised to "")
  std::vector<int> inputs;   // value ids; -1 for an omitted optional input
  std::vector<int> outputs;  // value ids; -1 for an omitted optional output
  std::map<std::string, Attribute> attrs;
  bool dead = false;  // removed by a pass; compacted by Graph::compact()

  bool has_attr(const std::string& k) const { return attrs.count(k) != 0; }
  int64_t attr_i(const std::string& k, int64_t def) const;
  float attr_f(const std::string& k, float def) const;
  std::string attr_s(const std::string& k, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& k, const std::vector<int64_t>& def = {}) const;
  std::vector<float> attr_floats(const std::string& k, const std::vector<float>& def = {}) const;
  const Attribute* attr(const std::string& k) const;
  // "node 'conv1' (Conv)" for error messages.
  std::string label() const;
};

struct Graph {
  std::string model_path;  // for error messages ("" when loaded from a buffer)
  std::string model_dir;   // external data root ("" = external data not allowed)
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opsets;  // domain -> version; "" is the ONNX domain
  std::vector<Value> values;
  std::vector<Node> nodes;  // topologically sorted after Graph::toposort()
  std::vector<int> inputs;  // value ids of user inputs (initializers excluded)
  std::vector<int> outputs;
  std::unordered_map<std::string, int> name_index;  // value name -> id, kept by add_value
  // A subgraph only: the names it reads from enclosing scopes, in first-use order. They are
  // also its last inputs; the node holding the subgraph lists outer_scope_names(node) as its
  // last inputs, after the ONNX ones, so passes see those reads as ordinary uses.
  std::vector<std::string> outer_scope;

  int64_t opset() const;  // the default-domain opset
  int add_value(const std::string& name);
  int find_value(const std::string& name) const;  // -1 when absent
  int add_const(const std::string& name, Tensor t);

  // Sorts nodes topologically; throws Error naming a node on a cycle or an input that no
  // node, initializer or graph input provides. Recomputes Value::producer.
  void toposort();
  // Drops dead nodes and values nobody refers to; keeps ids of inputs/outputs valid.
  void compact();
  // Consumers of each value (node indices), computed on demand.
  std::vector<std::vector<int>> consumers() const;
  std::string where() const;  // "model.onnx: " or "" for error prefixes
  // Reads every constant still in a file into its own aligned tensor (Value::data), so that
  // what a compile rewrites and packs is its own copy and the Model keeps none.
  void load_file_constants();
  // The reverse, for a graph kept only to be written out again (the QDQ graph of an INT8
  // program): drops Value::data where it still holds exactly its bytes in the file (compared,
  // so no pass's rewrite is lost) and the value's dtype and shape.
  void release_constants_equal_to_file();
};

// A constant's value: Value::data, or its bytes read from the file when still there.
Tensor constant_data(const Value& v);

// The union of the outer_scope names of a node's subgraph attributes (in attribute order,
// each name once): the values the node appends to its inputs for its subgraphs.
std::vector<std::string> outer_scope_names(const Node& n);

}  // namespace octet::detail
