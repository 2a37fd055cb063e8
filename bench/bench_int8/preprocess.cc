#include "bench_int8/preprocess.h"

#include <algorithm>
#include <cmath>

#include "bench_int8/manifest_json.h"

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
  const ManifestNode node(pipeline, context, "pipeline");
  if (!pipeline.is_object()) node.fail("", "is " + ManifestNode::type_name(pipeline) + ", expected an object");
  const std::string kind = node.string_or("kind", "image");
  if (kind != "image") node.fail("kind", "'" + kind + "' is not image");
  // Every step that changes the pixels must be one this pipeline runs ("formula" and "notes"
  // only describe it): a crop box or a letterbox skipped silently would give wrong figures.
  node.only_keys({"kind", "color", "resize", "center_crop", "scale", "mean", "std", "layout", "dtype", "formula",
                  "notes"});
  ImagePipeline p;
  const std::string color = node.string_or("color", "RGB");
  if (color == "RGB") p.color = ColorSpace::rgb;
  else if (color == "GRAY" || color == "L") p.color = ColorSpace::gray;
  else node.fail("color", "'" + color + "' is not supported (RGB, GRAY)");

  if (node.has("resize")) {  // null: no resize
    const nlohmann::json& r = pipeline["resize"];
    ResizeSpec spec;
    if (r.is_number_integer()) {
      spec.shorter_side = static_cast<int>(node.integer_or("resize", 0, 1, 8192));
    } else if (r.is_object()) {
      const ManifestNode resize = node.object("resize");
      resize.only_keys({"shorter_side", "interpolation", "antialias"});
      spec.shorter_side = static_cast<int>(resize.integer_or("shorter_side", 0, 1, 8192));
      if (!resize.has("shorter_side")) resize.fail("shorter_side", "is missing");
      spec.interpolation = resize.string_or("interpolation", "bilinear");
      spec.antialias = resize.boolean_or("antialias", false);
      if (spec.interpolation != "bilinear" && spec.interpolation != "nearest")
        resize.fail("interpolation", "'" + spec.interpolation + "' is not supported (bilinear, nearest)");
    } else {
      node.fail("resize", "is " + ManifestNode::type_name(r) + ", expected null, an integer or an object");
    }
    p.resize = spec;
  }
  if (node.has("center_crop")) {  // null: no crop
    const std::vector<double> c = node.numbers_or("center_crop", {});
    if (c.size() != 2) node.fail("center_crop", "is not [h, w]");
    for (double v : c)
      if (!(v >= 1 && v <= 8192) || v != static_cast<int>(v)) node.fail("center_crop", "is not two integers in [1, 8192]");
    p.center_crop = std::make_pair(static_cast<int>(c[0]), static_cast<int>(c[1]));
  }
  p.scale = node.number_or("scale", 1.0);
  p.mean = node.numbers_or("mean", std::vector<double>(p.channels(), 0.0));
  p.std = node.numbers_or("std", std::vector<double>(p.channels(), 1.0));
  if (p.mean.size() == 1 && p.channels() == 3) p.mean.assign(3, p.mean[0]);
  if (p.std.size() == 1 && p.channels() == 3) p.std.assign(3, p.std[0]);
  if (static_cast<int>(p.mean.size()) != p.channels() || static_cast<int>(p.std.size()) != p.channels())
    node.fail("mean", "mean and std do not have one value per channel");
  for (double s : p.std)
    if (s == 0 || !std::isfinite(s)) node.fail("std", "has a zero or a non-finite value");
  const std::string layout = node.string_or("layout", "NCHW");
  if (layout != "NCHW" && layout != "NHWC") node.fail("layout", "'" + layout + "' is not NCHW or NHWC");
  p.nchw = layout == "NCHW";
  const std::string dtype = node.string_or("dtype", "float32");
  if (dtype != "float32") node.fail("dtype", "'" + dtype + "' is not supported (float32)");
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
