// octet.ToNHWC / octet.ToNCHW: the layout conversions the layout pass (passes/layout_nhwc.cc)
// places where a value crosses between channels-last kernels and the rest of the graph.
// Rank 4, u8 / s8 / f32: [N, C, H, W] <-> [N, H, W, C], a transpose per image (bytes in
// 16 x 16 SSE2 blocks, floats in 8 x 8 blocks), split over the pool in tiles of the source.
#include <algorithm>

#include "octet/kernels/registry.h"
#include "ops/octet_ops.h"
#include "ops/op_registry.h"
#include "ops/op_util.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

void check_layout_input(const NodeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  ctx.check(t == DType::u8 || t == DType::s8 || t == DType::f32,
            std::string("layout conversion of ") + dtype_name(t) + " (only u8 / s8 / f32 tensors are converted)");
  ctx.check(ctx.input_shape(0).size() == 4, "layout conversion needs a rank-4 tensor, got " +
                                                shape_str(ctx.input_shape(0)));
}

void infer_to_nhwc(NodeContext& ctx) {
  check_layout_input(ctx);
  const Shape& x = ctx.input_shape(0);
  ctx.set_output(0, ctx.input_dtype(0), {x[0], x[2], x[3], x[1]});
}

void infer_to_nchw(NodeContext& ctx) {
  check_layout_input(ctx);
  const Shape& x = ctx.input_shape(0);
  ctx.set_output(0, ctx.input_dtype(0), {x[0], x[3], x[1], x[2]});
}

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols, in 8 x 8 blocks.
void transpose_f32(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd) {
  constexpr int64_t B = 8;
  for (int64_t r0 = 0; r0 < rows; r0 += B)
    for (int64_t c0 = 0; c0 < cols; c0 += B) {
      const int64_t r1 = std::min(rows, r0 + B), c1 = std::min(cols, c0 + B);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * ldd + r] = src[r * lds + c];
    }
}

// Per image, [rows, cols] -> [cols, rows] elements of 1 or 4 bytes.
class TransposeImagesKernel : public OpKernel {
 public:
  TransposeImagesKernel(const NodeContext& ctx, const char* name, int64_t images, int64_t rows, int64_t cols)
      : name_(name),
        f32_(ctx.input_dtype(0) == DType::f32),
        transpose_u8_(kernels::kernel_registry(ctx.isa()).transpose_u8.run),
        images_(images),
        rows_(rows),
        cols_(cols) {}
  std::string name() const override { return name_; }

  void run(KernelContext& ctx) const override {
    const void* x = ctx.input(0).data();
    void* y = ctx.output(0).data();
    const int64_t plane = rows_ * cols_;
    // Pieces of 64 source rows (whole 16-row blocks) by 1024 columns, over all images.
    const int64_t row_pieces = (rows_ + 63) / 64, col_pieces = (cols_ + 1023) / 1024;
    const int64_t pieces_per_image = row_pieces * col_pieces, pieces = images_ * pieces_per_image;
    auto run_pieces = [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / pieces_per_image, k = i % pieces_per_image;
        const int64_t r0 = k / col_pieces * 64, r1 = std::min(rows_, r0 + 64);
        const int64_t c0 = k % col_pieces * 1024, c1 = std::min(cols_, c0 + 1024);
        const int64_t src = n * plane + r0 * cols_ + c0, dst = n * plane + c0 * rows_ + r0;
        if (f32_)
          transpose_f32(static_cast<const float*>(x) + src, r1 - r0, c1 - c0, cols_, static_cast<float*>(y) + dst, rows_);
        else
          transpose_u8_(static_cast<const uint8_t*>(x) + src, r1 - r0, c1 - c0, cols_, static_cast<uint8_t*>(y) + dst,
                        rows_, 0);
      }
    };
    // Below ~32 KiB the wake-up of other threads costs more than the copy.
    if (ctx.pool && ctx.pool->size() > 1 && pieces > 1 && images_ * plane * (f32_ ? 4 : 1) >= (int64_t(1) << 15))
      ctx.pool->parallel_for(pieces, run_pieces);
    else
      run_pieces(0, pieces);
  }

 private:
  const char* name_;
  bool f32_;
  kernels::TransposeU8Fn transpose_u8_;
  int64_t images_, rows_, cols_;
};

std::unique_ptr<OpKernel> create_to_nhwc(const NodeContext& ctx) {
  check_layout_input(ctx);
  const Shape& x = ctx.input_shape(0);
  const bool f32 = ctx.input_dtype(0) == DType::f32;
  return std::make_unique<TransposeImagesKernel>(ctx, f32 ? "to_nhwc_f32" : "to_nhwc_u8", x[0], x[1],
                                                 x[2] * x[3]);
}

std::unique_ptr<OpKernel> create_to_nchw(const NodeContext& ctx) {
  check_layout_input(ctx);
  const Shape& x = ctx.input_shape(0);
  const bool f32 = ctx.input_dtype(0) == DType::f32;
  return std::make_unique<TransposeImagesKernel>(ctx, f32 ? "to_nchw_f32" : "to_nchw_u8", x[0],
                                                 x[1] * x[2], x[3]);
}

}  // namespace

void register_layout_ops(OpRegistry& r) {
  r.add(OpDef{kOctetDomain, kOpToNhwc, infer_to_nhwc, create_to_nhwc});
  r.add(OpDef{kOctetDomain, kOpToNchw, infer_to_nchw, create_to_nchw});
}

}  // namespace octet::detail
