// The shared helpers of the shape family: constant inputs, dtype checks, strided copies.
#include "ops/shape/shape_util.h"

#include <algorithm>
#include <cstring>

namespace octet::detail {

void check_fixed_size_dtype(const NodeContext& ctx, size_t i) {
  DType t = ctx.input_dtype(i);
  if (dtype_size(t) == 0)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for input " + std::to_string(i));
}

void check_index_dtype(const NodeContext& ctx, size_t i) {
  DType t = ctx.input_dtype(i);
  if (t != DType::s32 && t != DType::s64)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for input " + std::to_string(i) +
             " (indices must be int32 or int64)");
}

const Tensor& require_const_input(const NodeContext& ctx, size_t i, const std::string& what) {
  const Tensor* t = ctx.input_const(i);
  if (!t) ctx.fail(what + " (input " + std::to_string(i) +
                   ") must be a constant (data-dependent shapes are not supported)");
  return *t;
}

std::vector<int64_t> const_input_ints(const NodeContext& ctx, size_t i, const std::string& what) {
  const Tensor& t = require_const_input(ctx, i, what);
  DType d = t.dtype();
  if (d == DType::f32 || d == DType::f64 || d == DType::f16 || d == DType::bf16 || dtype_size(d) == 0)
    ctx.fail(what + " (input " + std::to_string(i) + ") must be an integer tensor, got " + dtype_name(d));
  return tensor_to_int64s(t);
}

void fill_elements(void* dst, int64_t n, const void* value, size_t elem_size) {
  if (n <= 0) return;
  char* d = static_cast<char*>(dst);
  const char* v = static_cast<const char*>(value);
  bool all_zero = std::all_of(v, v + elem_size, [](char c) { return c == 0; });
  if (all_zero) {
    std::memset(d, 0, static_cast<size_t>(n) * elem_size);
    return;
  }
  std::memcpy(d, v, elem_size);
  // Doubling copies: log2(n) memcpy calls.
  int64_t done = 1;
  while (done < n) {
    int64_t chunk = std::min(done, n - done);
    std::memcpy(d + done * elem_size, d, static_cast<size_t>(chunk) * elem_size);
    done += chunk;
  }
}

void copy_tensor_data(const Tensor& src, Tensor& dst) {
  if (src.nbytes() != dst.nbytes())
    throw Error("internal: copying " + shape_str(src.shape()) + " into " + shape_str(dst.shape()));
  if (src.nbytes() == 0 || src.data() == dst.data()) return;
  std::memcpy(dst.data(), src.data(), src.nbytes());
}

namespace {

// One row of a strided copy: n elements of E bytes. memcpy with a constant size compiles to
// a plain load/store and keeps the code free of type punning.
template <size_t E>
void copy_row_fixed(const char* src, int64_t ss, char* dst, int64_t ds, int64_t n) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * ds * int64_t(E), src + i * ss * int64_t(E), E);
}

void copy_row(size_t e, const char* src, int64_t ss, char* dst, int64_t ds, int64_t n) {
  if (ss == 1 && ds == 1) {
    std::memcpy(dst, src, static_cast<size_t>(n) * e);
    return;
  }
  switch (e) {
    case 1: copy_row_fixed<1>(src, ss, dst, ds, n); break;
    case 2: copy_row_fixed<2>(src, ss, dst, ds, n); break;
    case 4: copy_row_fixed<4>(src, ss, dst, ds, n); break;
    case 8: copy_row_fixed<8>(src, ss, dst, ds, n); break;
    default:
      for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * ds * int64_t(e), src + i * ss * int64_t(e), e);
  }
}

}  // namespace

void copy_strided(size_t elem_size, const Shape& shape, const void* src,
                  const std::vector<int64_t>& src_strides, void* dst,
                  const std::vector<int64_t>& dst_strides, kernels::ThreadPool* pool) {
  // Coalesce: drop size-1 dims, merge a dim into its inner neighbour when both views are
  // contiguous across them.
  std::vector<int64_t> n, ss, ds;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return;
    if (shape[d] == 1) continue;
    if (!n.empty() && ss.back() == src_strides[d] * shape[d] && ds.back() == dst_strides[d] * shape[d]) {
      n.back() *= shape[d];
      ss.back() = src_strides[d];
      ds.back() = dst_strides[d];
      continue;
    }
    n.push_back(shape[d]);
    ss.push_back(src_strides[d]);
    ds.push_back(dst_strides[d]);
  }
  if (n.empty()) {  // a single element
    n = {1};
    ss = {1};
    ds = {1};
  }
  const size_t k = n.size();
  const int64_t e = static_cast<int64_t>(elem_size);
  const char* s0 = static_cast<const char*>(src);
  char* d0 = static_cast<char*>(dst);
  const int64_t inner = n[k - 1], inner_ss = ss[k - 1], inner_ds = ds[k - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < k; ++d) rows *= n[d];

  // A single dense run: split it in byte ranges.
  if (rows == 1 && inner_ss == 1 && inner_ds == 1) {
    int64_t bytes = inner * e;
    if (pool && pool->size() > 1 && bytes >= (int64_t(1) << 20)) {
      pool->parallel_for(inner, [&](int64_t b, int64_t end) {
        std::memcpy(d0 + b * e, s0 + b * e, static_cast<size_t>((end - b) * e));
      });
    } else {
      std::memcpy(d0, s0, static_cast<size_t>(bytes));
    }
    return;
  }

  auto copy_rows = [&](int64_t begin, int64_t end) {
    // Multi-index of row `begin` over the outer dims.
    std::vector<int64_t> idx(k > 1 ? k - 1 : 0, 0);
    int64_t so = 0, dof = 0, r = begin;
    for (int64_t d = static_cast<int64_t>(k) - 2; d >= 0; --d) {
      idx[d] = r % n[d];
      r /= n[d];
      so += idx[d] * ss[d];
      dof += idx[d] * ds[d];
    }
    for (int64_t row = begin; row < end; ++row) {
      copy_row(elem_size, s0 + so * e, inner_ss, d0 + dof * e, inner_ds, inner);
      for (int64_t d = static_cast<int64_t>(k) - 2; d >= 0; --d) {
        so += ss[d];
        dof += ds[d];
        if (++idx[d] < n[d]) break;
        so -= ss[d] * n[d];
        dof -= ds[d] * n[d];
        idx[d] = 0;
      }
    }
  };
  int64_t total_bytes = rows * inner * e;
  if (pool && pool->size() > 1 && rows > 1 && total_bytes >= (int64_t(1) << 18))
    pool->parallel_for(rows, copy_rows);
  else
    copy_rows(0, rows);
}

}  // namespace octet::detail
