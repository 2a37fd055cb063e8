// What every fast INT8 convolution kernel shares (qconv_depthwise.cc, qconv_gemm.cc): the
// geometry and parameters of its QConvDesc, and on channels-last nodes the fused QLinearAdd
// and lookup. The implementations (qconv_impls.cc) create them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "octet/kernels/registry.h"
#include "ops/qconv/qconv_desc.h"

namespace octet::detail {

class QConvKernel : public OpKernel {
 protected:
  explicit QConvKernel(const QConvDesc& d);

  // The fused lookup on `elems` output bytes in place (nothing without one).
  void apply_lookup(uint8_t* y, int64_t elems) const {
    if (!lookup_.empty()) lookup_q8_(lookup_.data(), y, y, elems);
  }
  bool has_lookup() const { return !lookup_.empty(); }
  std::string lookup_suffix() const { return lookup_.empty() ? "" : "+lookup"; }
  size_t fusion_bytes() const { return lookup_.size(); }

  WindowGeometry win_;
  ConstQParams p_;
  int64_t batch_ = 0, channels_ = 0, out_channels_ = 0, group_ = 1, cg_ = 0, mg_ = 0, k_ = 0;
  int32_t x_zero_u8_ = 0;
  kernels::TransposeU8Fn transpose_u8_ = nullptr;
  bool fused_add_ = false;    // a QLinearAdd of the residual input (QLinearConvNhwcIn::kResidual)
  bool add_in_gemm_ = false;  // ... done by the GEMM's epilogue, else by add_after_
  kernels::QAddQ8Fn add_after_ = nullptr;
  kernels::QAddQ8Params add_;

 private:
  kernels::LookupQ8Fn lookup_q8_ = nullptr;
  std::vector<uint8_t> lookup_;  // the fused table (QLinearConvNhwcIn::kLookupTable), or empty
};

// The kernels of the implementations, for a QConvDesc their conditions accepted.
std::unique_ptr<OpKernel> make_qconv_depthwise_planes(const QConvDesc& d);  // NCHW, 1-D to 3-D
std::unique_ptr<OpKernel> make_qconv_depthwise_nhwc(const QConvDesc& d);
std::unique_ptr<OpKernel> make_qconv_gemm_nchw(const QConvDesc& d);
std::unique_ptr<OpKernel> make_qconv_gemm_nhwc(const QConvDesc& d);
std::unique_ptr<OpKernel> make_qconv_implicit_nhwc(const QConvDesc& d);

}  // namespace octet::detail
