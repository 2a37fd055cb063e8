// Einsum (opset 12) with numpy.einsum's semantics, which the ONNX reference runs: any number
// of operands; letters a-z and A-Z; a letter repeated within one operand takes the diagonal;
// '...' broadcasts (right-aligned, numpy rules; a labelled dim of size 1 broadcasts too); the
// implicit output is '...' then the letters seen exactly once, in ASCII order; letters absent
// from the output are summed. Every numeric dtype (f16/bf16 through f32); integers wrap.
//
// The plan, made at compile time: operands are contracted two at a time, each time the pair
// whose result is smallest. A contraction gathers each operand into [batch, M, K] and
// [batch, K, N] (taking diagonals, summing letters no one else needs, broadcasting and
// transposing in one pass) and runs a batched matrix product; a last gather brings the
// remaining operand into the output's order. FP32 products on a SIMD level run on the packed
// FP32 GEMM (B packed at run time), elsewhere on the reference GEMM loops.
#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "octet/kernels/registry.h"
#include "ops/elementwise/elementwise_util.h"
#include "ops/impl_list.h"
#include "ops/linalg/linalg.h"
#include "ops/matmul/matmul_gemm.h"

namespace octet::detail {
namespace {

// Labels: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (so label order is ASCII order); the dims of
// '...' (right-aligned across operands) are 52, 53, ...
constexpr int kLetterLabels = 52;

// No operand is gathered into, and no product made, of more elements than this (16 GiB of
// f32): an equation whose intermediate would be larger is refused at compile time.
constexpr int64_t kMaxIntermediateElements = int64_t(1) << 32;

int letter_label(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
  return -1;
}

std::string label_name(int label) {
  if (label < 26) return std::string("'") + char('A' + label) + "'";
  if (label < kLetterLabels) return std::string("'") + char('a' + label - 26) + "'";
  return "dim " + std::to_string(label - kLetterLabels) + " of '...'";
}

std::string char_name(char ch) {
  if (ch >= 0x21 && ch < 0x7f) return std::string("'") + ch + "'";
  static const char* hex = "0123456789abcdef";
  const unsigned u = static_cast<unsigned char>(ch);
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

// ---- the equation -------------------------------------------------------------------------

// One term: its letters in order and where '...' stands among them.
struct Term {
  std::vector<int> letters;
  int ellipsis_at = -1;  // '...' stands before letters[ellipsis_at]; -1: no '...'
};

struct ParsedEquation {
  std::vector<Term> inputs;
  bool explicit_output = false;
  Term output;
};

// Empty on success, else what is wrong with the term.
std::string parse_term(const std::string& s, Term* t) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '.') {
      if (s.compare(i, 3, "...") != 0) return "a '.' that is not part of '...' in term '" + s + "'";
      if (t->ellipsis_at >= 0) return "more than one '...' in term '" + s + "'";
      t->ellipsis_at = static_cast<int>(t->letters.size());
      i += 3;
      continue;
    }
    const int label = letter_label(s[i]);
    if (label < 0)
      return "invalid character " + char_name(s[i]) + " in term '" + s +
             "' (terms hold letters a-z, A-Z and '...'; ',' separates them and '->' leads to the output)";
    t->letters.push_back(label);
    ++i;
  }
  return {};
}

ParsedEquation parse_equation(const NodeContext& c) {
  c.check(c.node().has_attr("equation"), "the equation attribute is required");
  std::string eq = c.node().attr_s("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());  // the spec allows spaces
  ParsedEquation p;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  if (arrow != std::string::npos) {
    const std::string rhs = eq.substr(arrow + 2);
    c.check(rhs.find("->") == std::string::npos, "equation '" + eq + "' has more than one '->'");
    c.check(rhs.find(',') == std::string::npos, "equation '" + eq + "' has more than one output term");
    p.explicit_output = true;
    const std::string why = parse_term(rhs, &p.output);
    c.check(why.empty(), "equation '" + eq + "': " + why);
  }
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    Term t;
    const std::string why = parse_term(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start), &t);
    c.check(why.empty(), "equation '" + eq + "': " + why);
    p.inputs.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  c.check(p.inputs.size() == c.num_inputs(), "equation '" + eq + "' has " + std::to_string(p.inputs.size()) +
                                                 " operand term(s) but the node has " +
                                                 std::to_string(c.num_inputs()) + " input(s)");
  return p;
}

// An operand as the plan sees it: one label per axis (an input may repeat one) and the dims.
struct Operand {
  std::vector<int> labels;
  std::vector<int64_t> dims;
};

struct BoundEquation {
  std::vector<Operand> inputs;
  std::vector<int64_t> label_size;  // per label, broadcast over operands; -1 when unused
  std::vector<int> output;          // the output's labels
  Shape out_shape;
};

// The equation against the inputs' shapes: each axis's label, each label's size, the output.
BoundEquation bind_equation(const NodeContext& c, const ParsedEquation& p) {
  BoundEquation b;
  const size_t n = p.inputs.size();
  std::vector<int64_t> ellipsis_rank(n, 0);
  int64_t max_ellipsis = 0;
  for (size_t i = 0; i < n; ++i) {
    c.check(c.has_input(i), "input " + std::to_string(i) + " is missing");
    const int64_t rank = static_cast<int64_t>(c.input_shape(i).size());
    const int64_t letters = static_cast<int64_t>(p.inputs[i].letters.size());
    if (p.inputs[i].ellipsis_at < 0) {
      c.check(rank == letters, "input " + std::to_string(i) + " has rank " + std::to_string(rank) + " but its term has " +
                                   std::to_string(letters) + " letter(s) and no '...'");
    } else {
      c.check(rank >= letters, "input " + std::to_string(i) + " has rank " + std::to_string(rank) +
                                   ", fewer than the " + std::to_string(letters) + " letter(s) of its term");
      ellipsis_rank[i] = rank - letters;
      max_ellipsis = std::max(max_ellipsis, ellipsis_rank[i]);
    }
  }
  b.label_size.assign(static_cast<size_t>(kLetterLabels + max_ellipsis), -1);
  std::vector<size_t> size_from(b.label_size.size(), 0);  // the input that set label_size
  std::vector<int> count(b.label_size.size(), 0);         // occurrences over all terms
  for (size_t i = 0; i < n; ++i) {
    const Term& t = p.inputs[i];
    const Shape& shape = c.input_shape(i);
    Operand op;
    for (size_t j = 0; j <= t.letters.size(); ++j) {
      if (static_cast<int>(j) == t.ellipsis_at)
        for (int64_t e = 0; e < ellipsis_rank[i]; ++e)
          op.labels.push_back(static_cast<int>(kLetterLabels + max_ellipsis - ellipsis_rank[i] + e));
      if (j < t.letters.size()) op.labels.push_back(t.letters[j]);
    }
    op.dims.assign(shape.begin(), shape.end());
    for (size_t axis = 0; axis < op.labels.size(); ++axis) {
      const int l = op.labels[axis];
      const int64_t d = op.dims[axis];
      ++count[l];
      for (size_t prev = 0; prev < axis; ++prev)
        c.check(op.labels[prev] != l || op.dims[prev] == d,
                "input " + std::to_string(i) + " repeats " + label_name(l) + " (a diagonal) over axes of different sizes (" +
                    std::to_string(op.dims[prev]) + " and " + std::to_string(d) + ")");
      int64_t& size = b.label_size[l];
      if (size < 0 || size == 1) {
        if (size != d) size_from[l] = i;
        size = d;
      } else {
        c.check(d == size || d == 1, label_name(l) + " stands for dims of different sizes: " + std::to_string(size) +
                                         " in input " + std::to_string(size_from[l]) + ", " + std::to_string(d) +
                                         " in input " + std::to_string(i) + " (only size 1 broadcasts)");
      }
    }
    b.inputs.push_back(std::move(op));
  }
  if (p.explicit_output) {
    const Term& t = p.output;
    c.check(max_ellipsis == 0 || t.ellipsis_at >= 0,
            "the inputs' '...' stands for " + std::to_string(max_ellipsis) +
                " dim(s), so the output term needs a '...' too (numpy refuses to sum them implicitly)");
    for (size_t j = 0; j <= t.letters.size(); ++j) {
      if (static_cast<int>(j) == t.ellipsis_at)
        for (int64_t e = 0; e < max_ellipsis; ++e) b.output.push_back(static_cast<int>(kLetterLabels + e));
      if (j == t.letters.size()) break;
      const int l = t.letters[j];
      c.check(count[l] > 0, "output letter " + label_name(l) + " appears in no input term");
      c.check(std::find(b.output.begin(), b.output.end(), l) == b.output.end(),
              "output letter " + label_name(l) + " appears more than once");
      b.output.push_back(l);
    }
  } else {
    for (int64_t e = 0; e < max_ellipsis; ++e) b.output.push_back(static_cast<int>(kLetterLabels + e));
    for (int l = 0; l < kLetterLabels; ++l)
      if (count[l] == 1) b.output.push_back(l);
  }
  for (int l : b.output) b.out_shape.push_back(b.label_size[l]);
  return b;
}

// ---- the plan -----------------------------------------------------------------------------

// out[i] = sum over the operand's labels missing from the output of in[...]: one pass that
// takes diagonals (a repeated label's strides add up), sums, broadcasts (stride 0) and
// transposes.
struct GatherPlan {
  std::vector<int64_t> out_dims, out_strides;  // per output axis: its size, its stride in `in`
  std::vector<int64_t> sum_dims, sum_strides;  // the summed labels
  int64_t out_numel = 1, sum_numel = 1;
  bool identity = false;  // out is in, element for element
};

GatherPlan make_gather(const Operand& in, const std::vector<int>& out_labels, const std::vector<int64_t>& out_dims) {
  GatherPlan g;
  const size_t rank = in.labels.size();
  std::vector<int64_t> strides(rank, 1);
  for (size_t d = rank; d-- > 1;) strides[d - 1] = strides[d] * in.dims[d];
  std::vector<int> labels;  // the operand's distinct labels
  std::vector<int64_t> label_stride, label_dim;
  for (size_t d = 0; d < rank; ++d) {
    const auto it = std::find(labels.begin(), labels.end(), in.labels[d]);
    if (it != labels.end()) {
      label_stride[it - labels.begin()] += strides[d];
    } else {
      labels.push_back(in.labels[d]);
      label_stride.push_back(strides[d]);
      label_dim.push_back(in.dims[d]);
    }
  }
  g.out_dims = out_dims;
  for (size_t o = 0; o < out_labels.size(); ++o) {
    const auto it = std::find(labels.begin(), labels.end(), out_labels[o]);
    const size_t k = static_cast<size_t>(it - labels.begin());
    g.out_strides.push_back(it == labels.end() || label_dim[k] == 1 ? 0 : label_stride[k]);
    g.out_numel *= out_dims[o];
  }
  for (size_t k = 0; k < labels.size(); ++k)
    if (std::find(out_labels.begin(), out_labels.end(), labels[k]) == out_labels.end()) {
      g.sum_dims.push_back(label_dim[k]);
      g.sum_strides.push_back(label_stride[k]);
      g.sum_numel *= label_dim[k];
    }
  g.identity = labels.size() == rank && in.labels == out_labels && in.dims == out_dims;
  return g;
}

// One contraction: operands a < b of the current list are gathered into [batch, M, K] and
// [batch, K, N]; their product [batch, M, N] replaces them at the end of the list.
struct Contraction {
  size_t a = 0, b = 0;
  GatherPlan ga, gb;
  int64_t batch = 1, m = 1, k = 1, n = 1;
};

struct EinsumPlan {
  std::vector<Contraction> steps;
  GatherPlan last;  // the remaining operand -> the output
};

bool has_label(const Operand& op, int l) { return std::find(op.labels.begin(), op.labels.end(), l) != op.labels.end(); }

int64_t label_dim(const Operand& op, int l) {
  const auto it = std::find(op.labels.begin(), op.labels.end(), l);
  return op.dims[it - op.labels.begin()];
}

// The contraction of ops[a] and ops[b] given the other operands and the output, and the
// operand it produces.
Contraction plan_pair(const std::vector<Operand>& ops, size_t a, size_t b, const std::vector<int>& output,
                      Operand* result) {
  const Operand &A = ops[a], &B = ops[b];
  auto kept = [&](int l) {  // still needed after this contraction
    if (std::find(output.begin(), output.end(), l) != output.end()) return true;
    for (size_t i = 0; i < ops.size(); ++i)
      if (i != a && i != b && has_label(ops[i], l)) return true;
    return false;
  };
  std::vector<int> batch, m, k, n;
  for (int l : A.labels) {
    if (std::find(batch.begin(), batch.end(), l) != batch.end() || std::find(m.begin(), m.end(), l) != m.end() ||
        std::find(k.begin(), k.end(), l) != k.end())
      continue;
    const bool in_b = has_label(B, l), keep = kept(l);
    if (in_b && keep) batch.push_back(l);
    else if (in_b) k.push_back(l);
    else if (keep) m.push_back(l);  // else summed while gathering A
  }
  for (int l : B.labels)
    if (!has_label(A, l) && kept(l) && std::find(n.begin(), n.end(), l) == n.end()) n.push_back(l);
  auto size = [&](int l) { return std::max(has_label(A, l) ? label_dim(A, l) : 1, has_label(B, l) ? label_dim(B, l) : 1); };
  Contraction s;
  s.a = a;
  s.b = b;
  std::vector<int> a_labels, b_labels;
  std::vector<int64_t> a_dims, b_dims;
  auto append = [&](const std::vector<int>& group, int64_t* product, std::vector<int>* labels, std::vector<int64_t>* dims) {
    for (int l : group) {
      labels->push_back(l);
      dims->push_back(size(l));
      *product *= size(l);
    }
  };
  int64_t unused = 1;
  append(batch, &s.batch, &a_labels, &a_dims);
  append(m, &s.m, &a_labels, &a_dims);
  append(k, &s.k, &a_labels, &a_dims);
  append(batch, &unused, &b_labels, &b_dims);
  append(k, &unused, &b_labels, &b_dims);
  append(n, &s.n, &b_labels, &b_dims);
  s.ga = make_gather(A, a_labels, a_dims);
  s.gb = make_gather(B, b_labels, b_dims);
  result->labels.clear();
  result->dims.clear();
  for (const auto* group : {&batch, &m, &n})
    for (int l : *group) {
      result->labels.push_back(l);
      result->dims.push_back(size(l));
    }
  return s;
}

// The element count of dims as a double (no overflow), for comparing and bounding sizes.
double numel_of(const std::vector<int64_t>& dims) {
  double n = 1;
  for (int64_t d : dims) n *= static_cast<double>(d);
  return n;
}

EinsumPlan make_plan(const NodeContext& c, const BoundEquation& eq) {
  EinsumPlan plan;
  std::vector<Operand> ops = eq.inputs;
  auto check_size = [&](const std::vector<int64_t>& dims, const char* what) {
    c.check(numel_of(dims) <= static_cast<double>(kMaxIntermediateElements),
            std::string("the einsum needs ") + what + " of shape " + shape_str(Shape(dims.begin(), dims.end())) +
                ", more than the " + std::to_string(kMaxIntermediateElements) + " elements octet allows");
  };
  while (ops.size() > 1) {
    // The pair whose product is smallest (the first such pair on ties).
    size_t best_a = 0, best_b = 1;
    double best = -1;
    Operand result;
    for (size_t a = 0; a < ops.size(); ++a)
      for (size_t b = a + 1; b < ops.size(); ++b) {
        plan_pair(ops, a, b, eq.output, &result);
        const double cost = numel_of(result.dims);
        if (best < 0 || cost < best) {
          best = cost;
          best_a = a;
          best_b = b;
        }
      }
    Contraction s = plan_pair(ops, best_a, best_b, eq.output, &result);
    check_size(s.ga.out_dims, "an intermediate operand");
    check_size(s.gb.out_dims, "an intermediate operand");
    check_size(result.dims, "an intermediate product");
    ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(best_b));
    ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(best_a));
    ops.push_back(std::move(result));
    plan.steps.push_back(std::move(s));
  }
  plan.last = make_gather(ops[0], eq.output, std::vector<int64_t>(eq.out_shape.begin(), eq.out_shape.end()));
  return plan;
}

// ---- the kernel ---------------------------------------------------------------------------

// Sums accumulate in double for floats, and wrap (unsigned arithmetic) for integers.
template <class T, bool = std::is_floating_point_v<T>>
struct AccumOf {
  using type = double;
};
template <class T>
struct AccumOf<T, false> {
  using type = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
};

template <class T>
T from_accum(typename AccumOf<T>::type acc) {
  if constexpr (std::is_floating_point_v<T>) return static_cast<T>(acc);
  else return static_cast<T>(static_cast<std::make_unsigned_t<T>>(acc));
}

// Steps a row-major odometer over dims by one, moving `off` by the strides.
inline void advance(std::vector<int64_t>& idx, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                    int64_t& off) {
  for (size_t d = idx.size(); d-- > 0;) {
    off += strides[d];
    if (++idx[d] < dims[d]) return;
    off -= strides[d] * dims[d];
    idx[d] = 0;
  }
}

template <class T>
void run_gather(const GatherPlan& g, const T* in, T* out) {
  if (g.out_numel == 0) return;  // (the data pointers of empty tensors may be null)
  if (g.identity) {
    std::copy(in, in + g.out_numel, out);
    return;
  }
  using Acc = typename AccumOf<T>::type;
  std::vector<int64_t> idx(g.out_dims.size(), 0), sidx(g.sum_dims.size(), 0);
  int64_t off = 0;
  for (int64_t o = 0; o < g.out_numel; ++o) {
    if (g.sum_dims.empty()) {
      out[o] = in[off];
    } else {
      Acc acc = 0;
      int64_t soff = 0;  // the odometer comes back to 0 after sum_numel steps
      for (int64_t s = 0; s < g.sum_numel; ++s) {
        acc += static_cast<Acc>(in[off + soff]);
        advance(sidx, g.sum_dims, g.sum_strides, soff);
      }
      out[o] = from_accum<T>(acc);
    }
    advance(idx, g.out_dims, g.out_strides, off);
  }
}

// c[i] = a[i] x b[i] for each of s.batch matrices; c is zero on entry.
template <class T>
void batched_matmul(const Contraction& s, const T* a, const T* b, T* c, kernels::ThreadPool* pool,
                    const kernels::GemmF32Ops* f32) {
  const int64_t M = s.m, K = s.k, N = s.n;
  if (s.batch == 0 || M == 0 || N == 0 || K == 0) return;  // c is all zeros already
  if constexpr (std::is_same_v<T, float>) {
    if (f32 != nullptr) {
      kernels::PackedBF32 packed;
      for (int64_t i = 0; i < s.batch; ++i) {
        f32->pack_b(b + i * K * N, K, N, N, false, &packed);
        f32->gemm(M, a + i * M * K, K, packed, c + i * M * N, N, kernels::EpilogueF32{}, pool);
      }
      return;
    }
  }
  const int threads = pool ? pool->size() : 1;
  if (threads > 1 && s.batch >= threads) {  // whole matrices per thread
    pool->parallel_for(s.batch, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) gemm_accumulate(M, N, K, a + i * M * K, K, b + i * K * N, N, c + i * M * N, N);
    });
    return;
  }
  for (int64_t i = 0; i < s.batch; ++i)
    gemm_accumulate(M, N, K, a + i * M * K, K, b + i * K * N, N, c + i * M * N, N, pool);
}

template <class T>
class EinsumKernel final : public OpKernel {
 public:
  EinsumKernel(EinsumPlan plan, const kernels::GemmF32Ops* f32) : plan_(std::move(plan)), f32_(f32) {}
  std::string name() const override { return f32_ != nullptr ? std::string("einsum_") + f32_->name : "ref"; }

  void run(KernelContext& ctx) const override {
    // The live operands: the inputs, then the products (owned).
    std::vector<const T*> ops;
    std::vector<std::vector<T>> owned;
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      ops.push_back(ctx.input(i).data_as<T>());
      owned.emplace_back();
    }
    std::vector<T> ga, gb;
    for (const Contraction& s : plan_.steps) {
      const T* a = ops[s.a];
      const T* b = ops[s.b];
      if (!s.ga.identity) {
        ga.resize(static_cast<size_t>(s.ga.out_numel));
        run_gather(s.ga, a, ga.data());
        a = ga.data();
      }
      if (!s.gb.identity) {
        gb.resize(static_cast<size_t>(s.gb.out_numel));
        run_gather(s.gb, b, gb.data());
        b = gb.data();
      }
      std::vector<T> product(static_cast<size_t>(s.batch * s.m * s.n), T(0));
      batched_matmul(s, a, b, product.data(), ctx.pool, f32_);
      for (size_t i : {s.b, s.a}) {
        ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
        owned.erase(owned.begin() + static_cast<std::ptrdiff_t>(i));
      }
      owned.push_back(std::move(product));
      ops.push_back(owned.back().data());
    }
    run_gather(plan_.last, ops[0], ctx.output(0).data_as<T>());
  }

 private:
  EinsumPlan plan_;
  const kernels::GemmF32Ops* f32_;  // FP32 products on this table; null: the reference loops
};

void infer_einsum(NodeContext& c) {
  c.check(c.num_inputs() >= 1, "Einsum needs at least one input");
  check_input_dtype(c, 0, kNumericTypes);
  for (size_t i = 1; i < c.num_inputs(); ++i) check_same_dtype(c, i);
  const BoundEquation eq = bind_equation(c, parse_equation(c));
  make_plan(c, eq);  // refuses oversized intermediates now rather than at kernel creation
  c.set_output(0, c.input_dtype(0), eq.out_shape);
}

std::unique_ptr<OpKernel> create_einsum(const NodeContext& c) {
  EinsumPlan plan = make_plan(c, bind_equation(c, parse_equation(c)));
  const DType t = c.input_dtype(0);
  const kernels::GemmF32Ops* f32 = nullptr;
  if (declined_on_ref_level(c).empty() && plan.steps.size() > 0) f32 = kernels::kernel_registry(c.isa()).gemm_f32;
  if (is_half(t)) return std::make_unique<ViaFloatKernel>(std::make_unique<EinsumKernel<float>>(std::move(plan), f32), t);
  std::unique_ptr<OpKernel> k;
  visit_dtype<kNumericTypes>(t, [&](auto tag) {
    using T = decltype(tag);
    k = std::make_unique<EinsumKernel<T>>(std::move(plan), std::is_same_v<T, float> ? f32 : nullptr);
  });
  return k;
}

}  // namespace

void register_einsum_ops(OpRegistry& r) { r.add(OpDef{"", "Einsum", infer_einsum, create_einsum}); }

}  // namespace octet::detail
