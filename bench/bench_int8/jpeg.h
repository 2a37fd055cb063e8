// JPEG decoding with libjpeg(-turbo) at its defaults (integer "islow" IDCT, fancy chroma
// upsampling), which is how the zoo's reference accuracies were measured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace octet::bench {

// 8-bit pixels, rows top to bottom, interleaved channels (HWC).
struct Image {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
  uint8_t at(int y, int x, int c) const {
    return pixels[(static_cast<size_t>(y) * width + x) * channels + c];
  }
};

enum class ColorSpace { rgb, gray };

// Decodes to 3-channel RGB or 1-channel gray (libjpeg's own conversion). Throws octet::Error
// naming `name` (the file) on corrupt or unsupported data.
Image decode_jpeg(const uint8_t* data, size_t size, ColorSpace color, const std::string& name);
Image decode_jpeg_file(const std::string& path, ColorSpace color);

// Encodes HWC pixels (1 or 3 channels) at the given quality; for test fixtures.
std::vector<uint8_t> encode_jpeg(const Image& image, int quality);

// Reads a whole file; throws octet::Error naming it.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace octet::bench
