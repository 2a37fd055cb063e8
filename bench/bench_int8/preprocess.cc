#include "bench_int8/preprocess.h"

#include <algorithm>
#include <cmath>

namespace octet::bench {
namespace {

Image to_color(const Image& image, ColorSpace color) {
  const int want = color == ColorSpace::rgb ? 3 : 1;
  if (image.channels == want) return image;
  Image out{image.height, image.width, want, {}};
  const size_t pixels = size_t(image.height) * image.width;
  out.pixels.resize(pixels * want);
  if (want == 3) {  // gray -> RGB: replicate
    for (size_t i = 0; i < pixels; ++i)
      for (int c = 0; c < 3; ++c) out.pixels[i * 3 + c] = image.pixels[i];
  } else {  // RGB -> gray: ITU-R 601-2 luma, as PIL's convert("L")
    for (size_t i = 0; i < pixels; ++i) {
      const uint8_t* p = &image.pixels[i * 3];
      out.pixels[i] = static_cast<uint8_t>((p[0] * 299 + p[1] * 587 + p[2] * 114 + 500) / 1000);
    }
  }
  return out;
}

// One output sample's source taps along an axis: first index and weights.
struct Taps {
  int first = 0;
  std::vector<double> weights;
};

// Resampling weights for one axis (PIL's scheme: support widens with the downscale factor
// when antialiasing; plain bilinear otherwise uses the 2 nearest source pixels).
std::vector<Taps> axis_taps(int in_size, int out_size, const ResizeSpec& spec) {
  std::vector<Taps> taps(out_size);
  const double scale = double(in_size) / out_size;
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    Taps& t = taps[o];
    if (spec.interpolation == "nearest") {
      t.first = std::min(in_size - 1, static_cast<int>(std::floor(center)));
      t.weights = {1.0};
      continue;
    }
    const double support = spec.antialias ? std::max(1.0, scale) : 1.0;
    const double filter_scale = spec.antialias ? std::max(1.0, scale) : 1.0;
    int lo = static_cast<int>(std::floor(center - support));
    int hi = static_cast<int>(std::ceil(center + support));
    lo = std::max(lo, 0);
    hi = std::min(hi, in_size);
    double total = 0;
    for (int i = lo; i < hi; ++i) {
      double w = 1.0 - std::abs((i + 0.5 - center) / filter_scale);
      w = std::max(0.0, w);
      t.weights.push_back(w);
      total += w;
    }
    t.first = lo;
    if (total <= 0) {  // degenerate: take the nearest pixel
      t.first = std::min(in_size - 1, std::max(0, static_cast<int>(center)));
      t.weights = {1.0};
      continue;
    }
    for (double& w : t.weights) w /= total;
  }
  return taps;
}

}  // namespace

ImagePipeline parse_image_pipeline(const nlohmann::json& pipeline, const std::string& context) {
  auto fail = [&](const std::string& what) -> ImagePipeline {
    throw Error(context + ": pipeline " + what);
  };
  if (!pipeline.is_object()) return fail("is not an object");
  if (pipeline.value("kind", std::string("image")) != "image") return fail("is not of kind image");
  ImagePipeline p;
  const std::string color = pipeline.value("color", std::string("RGB"));
  if (color == "RGB") p.color = ColorSpace::rgb;
  else if (color == "GRAY" || color == "L") p.color = ColorSpace::gray;
  else return fail("color '" + color + "' (expected RGB or GRAY)");

  if (pipeline.contains("resize") && !pipeline["resize"].is_null()) {
    const auto& r = pipeline["resize"];
    ResizeSpec spec;
    if (r.is_number_integer()) {
      spec.shorter_side = r.get<int>();
    } else if (r.is_object()) {
      spec.shorter_side = r.value("shorter_side", 0);
      spec.interpolation = r.value("interpolation", std::string("bilinear"));
      spec.antialias = r.value("antialias", false);
    } else {
      return fail("resize is neither null, an integer nor an object");
    }
    if (spec.shorter_side <= 0 || spec.shorter_side > 8192) return fail("resize.shorter_side out of range");
    if (spec.interpolation != "bilinear" && spec.interpolation != "nearest")
      return fail("resize.interpolation '" + spec.interpolation + "' is not supported (bilinear, nearest)");
    p.resize = spec;
  }
  if (pipeline.contains("center_crop") && !pipeline["center_crop"].is_null()) {
    const auto& c = pipeline["center_crop"];
    if (!c.is_array() || c.size() != 2) return fail("center_crop is not [h, w]");
    int h = c[0].get<int>(), w = c[1].get<int>();
    if (h <= 0 || w <= 0 || h > 8192 || w > 8192) return fail("center_crop out of range");
    p.center_crop = std::make_pair(h, w);
  }
  p.scale = pipeline.value("scale", 1.0);
  p.mean = pipeline.value("mean", std::vector<double>(p.channels(), 0.0));
  p.std = pipeline.value("std", std::vector<double>(p.channels(), 1.0));
  if (p.mean.size() == 1 && p.channels() == 3) p.mean.assign(3, p.mean[0]);
  if (p.std.size() == 1 && p.channels() == 3) p.std.assign(3, p.std[0]);
  if (static_cast<int>(p.mean.size()) != p.channels() || static_cast<int>(p.std.size()) != p.channels())
    return fail("mean/std do not have one value per channel");
  for (double s : p.std)
    if (s == 0) return fail("std has a zero");
  const std::string layout = pipeline.value("layout", std::string("NCHW"));
  if (layout != "NCHW" && layout != "NHWC") return fail("layout '" + layout + "' (expected NCHW or NHWC)");
  p.nchw = layout == "NCHW";
  const std::string dtype = pipeline.value("dtype", std::string("float32"));
  if (dtype != "float32") return fail("dtype '" + dtype + "' (only float32)");
  return p;
}

Image resize_shorter_side(const Image& image, const ResizeSpec& spec) {
  const int h = image.height, w = image.width;
  int out_h, out_w;
  if (h <= w) {
    out_h = spec.shorter_side;
    out_w = static_cast<int>(int64_t(spec.shorter_side) * w / h);
  } else {
    out_w = spec.shorter_side;
    out_h = static_cast<int>(int64_t(spec.shorter_side) * h / w);
  }
  if (out_h == h && out_w == w) return image;
  const std::vector<Taps> rows = axis_taps(h, out_h, spec), cols = axis_taps(w, out_w, spec);
  const int ch = image.channels;
  // Horizontal pass in double, then vertical, then round to 8 bits.
  std::vector<double> horizontal(size_t(h) * out_w * ch);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < out_w; ++x)
      for (int c = 0; c < ch; ++c) {
        double acc = 0;
        const Taps& t = cols[x];
        for (size_t k = 0; k < t.weights.size(); ++k) acc += t.weights[k] * image.at(y, t.first + int(k), c);
        horizontal[(size_t(y) * out_w + x) * ch + c] = acc;
      }
  Image out{out_h, out_w, ch, std::vector<uint8_t>(size_t(out_h) * out_w * ch)};
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x)
      for (int c = 0; c < ch; ++c) {
        double acc = 0;
        const Taps& t = rows[y];
        for (size_t k = 0; k < t.weights.size(); ++k)
          acc += t.weights[k] * horizontal[(size_t(t.first + int(k)) * out_w + x) * ch + c];
        out.pixels[(size_t(y) * out_w + x) * ch + c] =
            static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
  return out;
}

Image prepare_pixels(const Image& image, const ImagePipeline& pipeline, const std::string& name) {
  Image img = to_color(image, pipeline.color);
  if (pipeline.resize) img = resize_shorter_side(img, *pipeline.resize);
  if (pipeline.center_crop) {
    const auto [crop_h, crop_w] = *pipeline.center_crop;
    if (crop_h > img.height || crop_w > img.width)
      throw Error(name + ": image " + std::to_string(img.height) + "x" + std::to_string(img.width) +
                  " is smaller than the center crop " + std::to_string(crop_h) + "x" + std::to_string(crop_w));
    const int top = (img.height - crop_h) / 2, left = (img.width - crop_w) / 2;
    Image cropped{crop_h, crop_w, img.channels, std::vector<uint8_t>(size_t(crop_h) * crop_w * img.channels)};
    for (int y = 0; y < crop_h; ++y)
      std::copy_n(&img.pixels[(size_t(top + y) * img.width + left) * img.channels], size_t(crop_w) * img.channels,
                  &cropped.pixels[size_t(y) * crop_w * img.channels]);
    img = std::move(cropped);
  }
  return img;
}

Tensor preprocess_image(const Image& image, const ImagePipeline& pipeline, const std::string& name) {
  const Image img = prepare_pixels(image, pipeline, name);
  const int h = img.height, w = img.width, ch = img.channels;
  Shape shape = pipeline.nchw ? Shape{1, ch, h, w} : Shape{1, h, w, ch};
  Tensor t(DType::f32, shape);
  float* out = t.data_as<float>();
  // The formula in double, rounded once to float: what a reference written in Python or JS
  // computes before storing into a float32 array.
  for (int c = 0; c < ch; ++c) {
    const double mean = pipeline.mean[c], std = pipeline.std[c];
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const double v = (img.at(y, x, c) * pipeline.scale - mean) / std;
        const size_t at = pipeline.nchw ? (size_t(c) * h + y) * w + x : (size_t(y) * w + x) * ch + c;
        out[at] = static_cast<float>(v);
      }
  }
  return t;
}

}  // namespace octet::bench
