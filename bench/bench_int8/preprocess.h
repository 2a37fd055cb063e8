// Image preprocessing as the manifests state it ("pipeline"): colour conversion, optional
// shorter-side resize, center crop at ((H-h) div 2, (W-w) div 2), then
// x = (pixel * scale - mean[c]) / std[c], in NCHW or NHWC float32 with a batch of 1.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_int8/jpeg.h"
#include "octet/octet.h"

namespace octet::bench {

struct ResizeSpec {
  int shorter_side = 0;
  std::string interpolation = "bilinear";  // bilinear | nearest
  bool antialias = false;                  // true: PIL-style area-weighted triangle filter
};

struct ImagePipeline {
  ColorSpace color = ColorSpace::rgb;
  std::optional<ResizeSpec> resize;
  std::optional<std::pair<int, int>> center_crop;  // (h, w)
  double scale = 1.0;
  std::vector<double> mean, std;  // one per channel
  bool nchw = true;

  int channels() const { return color == ColorSpace::rgb ? 3 : 1; }
};

// Parses a manifest "pipeline" object of kind "image". `context` names the manifest entry in
// errors.
ImagePipeline parse_image_pipeline(const nlohmann::json& pipeline, const std::string& context);

// The converted, resized and cropped 8-bit image, before normalisation.
Image prepare_pixels(const Image& image, const ImagePipeline& pipeline, const std::string& name);
// The model input, shape [1,C,H,W] (or [1,H,W,C]). `name` is the source file, for errors.
Tensor preprocess_image(const Image& image, const ImagePipeline& pipeline, const std::string& name);

// Shorter-side resize; the result is rounded to 8 bits as PIL does.
Image resize_shorter_side(const Image& image, const ResizeSpec& spec);

}  // namespace octet::bench
