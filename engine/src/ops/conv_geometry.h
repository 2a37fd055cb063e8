// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: output sizes
// and resolved pads from kernel_shape, strides, dilations, pads, auto_pad and ceil_mode.
//
// Spatial dims are always held as three (D, H, W): 1-D and 2-D windows get leading size-1
// dims (kernel 1, stride 1, pad 0), so a single 3-D loop nest serves every spatial rank.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_registry.h"

namespace octet::detail {

constexpr int kMaxSpatialRank = 3;

struct WindowGeometry {
  int spatial_rank = 0;  // 1, 2 or 3, as in the model
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, dilation{1, 1, 1};
  std::array<int64_t, 3> pad_begin{0, 0, 0}, pad_end{0, 0, 0};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  // The output spatial dims in the model's rank.
  std::vector<int64_t> out_dims() const {
    return std::vector<int64_t>(out.begin() + (3 - spatial_rank), out.end());
  }
};

// Places a per-spatial-dim attribute (rank entries) into the last entries of a 3-array whose
// leading entries keep `fill`.
std::array<int64_t, 3> to_spatial3(const std::vector<int64_t>& v, int64_t fill);

// Reads strides, dilations, pads and auto_pad of the node (kernel given by the caller, from
// kernel_shape or the weight) and computes the output dims for input x (N, C, spatial...).
// ceil_mode rounds the output size up (pooling); a window starting in the end padding is
// dropped, as in PyTorch and ONNX Runtime. Fails through ctx on any invalid attribute.
WindowGeometry window_geometry(const NodeContext& ctx, const Shape& x,
                               const std::vector<int64_t>& kernel, bool ceil_mode,
                               bool allow_dilations = true);

// Reads an ints attribute that must hold exactly `rank` values (or be absent: `def` each),
// each within [lo, 2^31).
std::vector<int64_t> spatial_attr(const NodeContext& ctx, const std::string& name, size_t rank,
                                  int64_t def, int64_t lo);

}  // namespace octet::detail
