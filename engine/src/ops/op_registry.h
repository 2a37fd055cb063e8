// How an operator plugs into the engine: shape/dtype inference at compile time, and a
// kernel object created once per node (after shapes are known) that runs it.
//
// Writing an op:
//   void infer_relu(NodeContext& c) { c.set_output(0, c.input_dtype(0), c.input_shape(0)); }
//   std::unique_ptr<OpKernel> create_relu(const NodeContext& c) { return std::make_unique<ReluKernel>(); }
//   reg.add({"", "Relu", infer_relu, create_relu});
// Ops see the newest ONNX form of each op: the frontend rewrites older opsets (attributes that
// later became inputs, Upsample -> Resize, ...). Where semantics differ by version with no
// rewrite (Softmax axis before 13), the op reads NodeContext::opset().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/thread_pool.h"
#include "octet/octet.h"

namespace octet::detail {

class PackedWeightStore;

// Compile-time view of one node. Used for inference (set_output*) and kernel creation
// (output shapes are known then).
class NodeContext {
 public:
  // store: where kernels record (compiling) or find (loading a compiled file) their packed
  // weights (ops/packed_weights.h); null when the kernel is temporary (constant folding).
  NodeContext(Graph& g, int node_index, kernels::IsaChoice isa = {}, PackedWeightStore* store = nullptr)
      : g_(g), node_(g.nodes[node_index]), node_index_(node_index), isa_(isa), store_(store) {}

  const Node& node() const { return node_; }
  int node_index() const { return node_index_; }
  PackedWeightStore* packed_store() const { return store_; }
  int64_t opset() const;  // the opset of the node's domain
  kernels::IsaChoice isa() const { return isa_; }

  size_t num_inputs() const { return node_.inputs.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  const Value& input(size_t i) const;  // throws Error when absent
  DType input_dtype(size_t i) const { return input(i).dtype; }
  const Shape& input_shape(size_t i) const;  // throws Error when unknown
  // The input's value when known at compile time (initializer / folded), else null.
  const Tensor* input_const(size_t i) const;

  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && node_.outputs[i] >= 0; }
  const Value& output(size_t i) const;
  void set_output(size_t i, DType dtype, Shape shape);
  // The output is known at compile time whatever the inputs hold (e.g. Shape, Size).
  void set_output_const(size_t i, Tensor value);

  // Throws Error: "<file>: node 'n' (Op) inputs [f32 [1,3]] ...: <message>".
  [[noreturn]] void fail(const std::string& message) const;
  // fail() unless cond.
  void check(bool cond, const std::string& message) const {
    if (!cond) fail(message);
  }

  // An implementation that declined this node at kernel creation, and why (impl_list.h).
  void note_declined(const std::string& impl, const std::string& why) const { declined_.emplace_back(impl, why); }
  const std::vector<std::pair<std::string, std::string>>& declined() const { return declined_; }

 private:
  Graph& g_;
  const Node& node_;
  int node_index_ = -1;
  kernels::IsaChoice isa_;
  PackedWeightStore* store_ = nullptr;
  // Written during the (const) kernel creation: a record of the choice, not of the node.
  mutable std::vector<std::pair<std::string, std::string>> declined_;
};

// Tensors for one execution of a node. Outputs are preallocated with the inferred shapes.
struct KernelContext {
  std::vector<const Tensor*> inputs;  // null for omitted optional inputs
  std::vector<Tensor*> outputs;       // null for omitted optional outputs
  kernels::ThreadPool* pool = nullptr;

  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Tensor& input(size_t i) const { return *inputs[i]; }
  bool has_output(size_t i) const { return i < outputs.size() && outputs[i] != nullptr; }
  Tensor& output(size_t i) const { return *outputs[i]; }
};

// A node's compiled kernel. Created once; run() is const and may be called from several
// sessions at once, so per-call state lives on the stack or in the outputs.
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual void run(KernelContext& ctx) const = 0;
  // Shown by OCTET_VERBOSE and the profiler: "ref", "gemm_f32_avx512_jit", ...
  virtual std::string name() const { return "ref"; }
  // Bytes of packed weights or other constant state the kernel owns.
  virtual size_t weights_bytes() const { return 0; }
  // True when the kernel made its own copy (packed, padded) of constant input i and never
  // reads that input at run time: the compiler then frees the graph's copy.
  virtual bool owns_copy_of_input(size_t i) const { return false; }
};

struct OpDef {
  std::string domain;  // "" = ONNX default domain; "com.microsoft" for contrib ops
  std::string op_type;
  void (*infer)(NodeContext&) = nullptr;
  std::unique_ptr<OpKernel> (*create)(const NodeContext&) = nullptr;
  // false for ops whose output must not be computed at compile time even when every input
  // is constant (random generators).
  bool foldable = true;
  // true for the ops that take or produce string tensors (Cast, StringNormalizer, ...): each
  // checks its own string operands. The compiler refuses a string input or output of any other op.
  bool strings = false;
};

class OpRegistry {
 public:
  static const OpRegistry& instance();  // every op of octet, registered once
  void add(OpDef def);
  const OpDef* find(const std::string& domain, const std::string& op_type) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::pair<std::string, std::string>, OpDef> ops_;
};

// The supported-op check the engine hands the frontend (frontend::OpSupported): whether
// OpRegistry::instance() has the op.
bool registry_has_op(const std::string& domain, const std::string& op_type);

// One register function per op family (engine/src/ops/<family>/); op_list.cc calls them all.
void register_conv_ops(OpRegistry& r);         // Conv, ConvTranspose
void register_matmul_ops(OpRegistry& r);       // Gemm, MatMul
void register_pool_ops(OpRegistry& r);         // MaxPool, AveragePool, Global*, LpPool
void register_norm_ops(OpRegistry& r);         // BatchNormalization, Instance/LayerNorm, Softmax...
void register_resize_ops(OpRegistry& r);       // Resize, GridSample
void register_quant_ops(OpRegistry& r);        // QuantizeLinear, QLinearConv, ...
void register_quant_contrib_ops(OpRegistry& r);   // com.microsoft QGemm, QLinear*Pool, QLinearConcat; octet's
void register_quant_maxpool_ops(OpRegistry& r); // octet.MaxPool (8-bit)
void register_elementwise_ops(OpRegistry& r);  // unary, binary (broadcast), variadic, Where
void register_shape_ops(OpRegistry& r);        // Reshape, Transpose, Concat, Slice, Gather, ...
void register_reduce_ops(OpRegistry& r);       // ReduceX, ArgMax/Min, TopK, CumSum
void register_layout_ops(OpRegistry& r);       // octet.ToNHWC / octet.ToNCHW (layout pass)
void register_loss_ops(OpRegistry& r);         // NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
void register_linalg_ops(OpRegistry& r);       // Det, Einsum
void register_signal_ops(OpRegistry& r);       // Hann/Hamming/BlackmanWindow, DFT, STFT, MelWeightMatrix
void register_text_ops(OpRegistry& r);         // StringNormalizer, TfIdfVectorizer
void register_detection_ops(OpRegistry& r);    // NonMaxSuppression, RoiAlign
void register_recurrent_ops(OpRegistry& r);    // RNN, GRU, LSTM
void register_control_flow_ops(OpRegistry& r); // If, Loop, Scan
void register_sequence_ops(OpRegistry& r);     // SequenceEmpty/Construct/Insert/Erase/At/Length, Concat/SplitToSequence
void register_optional_ops(OpRegistry& r);     // Optional, OptionalHasElement, OptionalGetElement

}  // namespace octet::detail
