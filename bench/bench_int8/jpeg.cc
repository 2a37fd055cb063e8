#include "bench_int8/jpeg.h"

#include <csetjmp>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "octet/octet.h"

namespace octet::bench {
namespace {

// Larger images are refused before any allocation: the zoo's largest is 227x227.
constexpr uint64_t kMaxPixels = uint64_t(1) << 26;

// libjpeg reports fatal errors through error_exit, which must not return: it jumps back to
// the setjmp in the decoding function, which then throws.
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool warned;  // libjpeg "warnings" are corrupt data (premature end, bad Huffman codes)
  char warning[JMSG_LENGTH_MAX];
};

void on_error_exit(j_common_ptr cinfo) {
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, manager->message);
  std::longjmp(manager->jump, 1);
}

void on_output_message(j_common_ptr) {}  // nothing is printed

// level -1 is a warning: libjpeg recovers (grey fill) but the data was corrupt.
void on_emit_message(j_common_ptr cinfo, int level) {
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level < 0 && !manager->warned) {
    (*cinfo->err->format_message)(cinfo, manager->warning);
    manager->warned = true;
  }
}

// Decodes into `out`, which is sized here. Returns false with a message on failure. Only
// trivially destructible objects live across setjmp (no C++ destructor is skipped by longjmp).
bool decode_raw(const uint8_t* data, size_t size, ColorSpace color, Image* out, char* message,
                size_t message_size) {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = on_error_exit;
  errors.base.output_message = on_output_message;
  errors.base.emit_message = on_emit_message;
  errors.message[0] = '\0';
  errors.warned = false;
  if (setjmp(errors.jump)) {
    std::snprintf(message, message_size, "%s", errors.message);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = color == ColorSpace::rgb ? JCS_RGB : JCS_GRAYSCALE;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  jpeg_start_decompress(&cinfo);
  const uint64_t pixels = uint64_t(cinfo.output_width) * cinfo.output_height;
  const int channels = cinfo.output_components;
  if (pixels == 0 || pixels > kMaxPixels || (channels != 1 && channels != 3)) {
    std::snprintf(message, message_size, "unsupported image: %ux%u with %d components",
                  cinfo.output_width, cinfo.output_height, channels);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  out->height = static_cast<int>(cinfo.output_height);
  out->width = static_cast<int>(cinfo.output_width);
  out->channels = channels;
  out->pixels.assign(pixels * channels, 0);  // may throw bad_alloc: no libjpeg frame is below
  const size_t stride = size_t(out->width) * channels;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->pixels.data() + size_t(cinfo.output_scanline) * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (errors.warned) {
    std::snprintf(message, message_size, "%s", errors.warning);
    return false;
  }
  return true;
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  in.seekg(0, std::ios::end);
  std::streamoff length = in.tellg();
  if (length < 0) throw Error(path + ": cannot read its size");
  if (length > (std::streamoff(1) << 32)) throw Error(path + ": larger than 4 GiB");
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(static_cast<size_t>(length));
  if (length > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), length))
    throw Error(path + ": read failed");
  return bytes;
}

Image decode_jpeg(const uint8_t* data, size_t size, ColorSpace color, const std::string& name) {
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8)
    throw Error(name + ": not a JPEG file (no SOI marker)");
  Image image;
  char message[JMSG_LENGTH_MAX + 64];
  if (!decode_raw(data, size, color, &image, message, sizeof message))
    throw Error(name + ": corrupt or unsupported JPEG: " + message);
  return image;
}

Image decode_jpeg_file(const std::string& path, ColorSpace color) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_jpeg(bytes.data(), bytes.size(), color, path);
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  if (image.channels != 1 && image.channels != 3) throw Error("encode_jpeg: 1 or 3 channels");
  if (image.pixels.size() != size_t(image.height) * image.width * image.channels)
    throw Error("encode_jpeg: pixel buffer does not match the image size");
  jpeg_compress_struct cinfo;
  ErrorManager errors;
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = on_error_exit;
  errors.base.output_message = on_output_message;
  errors.warned = false;
  unsigned char* buffer = nullptr;
  unsigned long buffer_size = 0;
  if (setjmp(errors.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    throw Error(std::string("encode_jpeg: ") + errors.message);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &buffer_size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = size_t(image.width) * image.channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.pixels.data() + size_t(cinfo.next_scanline) * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<uint8_t> out(buffer, buffer + buffer_size);
  std::free(buffer);
  return out;
}

}  // namespace octet::bench
