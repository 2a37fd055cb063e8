// The recurrent op family: RNN, GRU and LSTM (ONNX opsets 7 and 14: forward, reverse and
// bidirectional, every listed activation, clip, sequence_lens, initial states, peepholes,
// input_forget, GRU's linear_before_reset, layout 0 and 1). FP32 nodes on a SIMD level run on
// the packed GEMM (recurrent_fast.cc); the rest on the reference (recurrent_ref.cc).
#include "ops/impl_list.h"
#include "ops/recurrent/recurrent_desc.h"
#include "ops/recurrent/recurrent_fast.h"
#include "ops/recurrent/recurrent_ref.h"

namespace octet::detail {
namespace {

// Y [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]); Y_h and Y_c
// [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]).
void infer_recurrent(NodeContext& c, RecurrentCell cell) {
  const RecurrentDesc d = recurrent_desc(c, cell);
  const DType dt = c.input_dtype(kX);
  const Shape y = d.batch_major ? Shape{d.batch, d.seq, d.dirs, d.hidden} : Shape{d.seq, d.dirs, d.batch, d.hidden};
  const Shape state = d.batch_major ? Shape{d.batch, d.dirs, d.hidden} : Shape{d.dirs, d.batch, d.hidden};
  if (c.has_output(0)) c.set_output(0, dt, y);
  for (size_t i = 1; i < c.num_outputs(); ++i)
    if (c.has_output(i)) c.set_output(i, dt, state);
}

struct RecurrentNode {
  const RecurrentDesc& d;
  const NodeContext& ctx;
};

std::string fast_conditions(const RecurrentNode& n) { return recurrent_fast_problem(n.d, n.ctx); }
std::unique_ptr<OpKernel> create_fast(const RecurrentNode& n, const NodeContext& ctx) {
  return create_recurrent_fast(n.d, ctx);
}
std::unique_ptr<OpKernel> create_ref(const RecurrentNode& n, const NodeContext& ctx) {
  return create_recurrent_ref(n.d, ctx);
}

constexpr OpImpl<RecurrentNode> kRecurrentImpls[] = {
    {"recurrent_packed_gemm", fast_conditions, create_fast},
    {"ref", accepts_every_node<RecurrentNode>, create_ref},
};

template <RecurrentCell Cell>
void infer(NodeContext& c) {
  infer_recurrent(c, Cell);
}

template <RecurrentCell Cell>
std::unique_ptr<OpKernel> create(const NodeContext& c) {
  const RecurrentDesc d = recurrent_desc(c, Cell);
  return create_first_accepting(kRecurrentImpls, RecurrentNode{d, c}, c);
}

}  // namespace

void register_recurrent_ops(OpRegistry& r) {
  r.add(OpDef{"", "RNN", infer<RecurrentCell::rnn>, create<RecurrentCell::rnn>});
  r.add(OpDef{"", "GRU", infer<RecurrentCell::gru>, create<RecurrentCell::gru>});
  r.add(OpDef{"", "LSTM", infer<RecurrentCell::lstm>, create<RecurrentCell::lstm>});
}

}  // namespace octet::detail
