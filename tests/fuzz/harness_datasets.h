// fuzz_datasets: the bench_int8 dataset readers (bench/bench_int8/{idx,jpeg,tokenizer,
// preprocess}.cc) on hostile files. The first input byte picks the reader, the rest is the
// file:
//   0 IDX, 3 dims (images; gzip or plain: gzread reads both)    1 IDX, 1 dim (labels)
//   2 JPEG -> RGB -> ImageNet pipeline (shorter side 256, crop 224, NCHW)
//   3 JPEG -> gray -> MNIST-like pipeline (nearest resize to 28, NHWC)
//   4 TSV (GLUE: header, "<text>\t<label>") -> tokenizer -> 128 ids
//   5 vocabulary file (one token a line) -> tokenizer on a fixed sentence
// The readers take paths, so the bytes go to a scratch file first (ScratchFile).
// Oracles: only octet::Error escapes; an IDX array's data size is the product of its dims;
// a decoded image has height*width*channels pixels; a preprocessed tensor has the pipeline's
// shape; encoded text is exactly seq_len long and starts with [CLS].
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "bench_int8/idx.h"
#include "bench_int8/jpeg.h"
#include "bench_int8/preprocess.h"
#include "bench_int8/tokenizer.h"
#include "fuzz/fuzz_common.h"

namespace octet::fuzz {

// A per-process scratch path under /tmp, rewritten for every input.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& suffix)
      : path_("/tmp/octet_fuzz_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++) + suffix) {}
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& write(const uint8_t* data, size_t size) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + path_);
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    return path_;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string path_;
};

inline bench::ImagePipeline imagenet_pipeline() {
  bench::ImagePipeline p;
  p.color = bench::ColorSpace::rgb;
  p.resize = bench::ResizeSpec{256, "bilinear", true};
  p.center_crop = std::make_pair(224, 224);
  p.scale = 1.0 / 255;
  p.mean = {0.485, 0.456, 0.406};
  p.std = {0.229, 0.224, 0.225};
  return p;
}

inline bench::ImagePipeline mnist_pipeline() {
  bench::ImagePipeline p;
  p.color = bench::ColorSpace::gray;
  p.resize = bench::ResizeSpec{28, "nearest", false};
  p.center_crop = std::make_pair(28, 28);
  p.scale = 1.0 / 255;
  p.mean = {0.0};
  p.std = {1.0};
  p.nchw = false;
  return p;
}

inline void check_idx(const bench::IdxArray& a, size_t rank) {
  require(a.dims.size() == rank, "IDX array of the wrong rank");
  uint64_t n = 1;
  for (int64_t d : a.dims) n *= static_cast<uint64_t>(d);
  require(a.data.size() == n, "IDX data size differs from the product of its dims");
}

inline void check_preprocessed(const bench::Image& image, const bench::ImagePipeline& p) {
  require(image.pixels.size() == size_t(image.height) * image.width * image.channels,
          "decoded image size differs from height*width*channels");
  Tensor t = bench::preprocess_image(image, p, "<fuzz>.jpg");
  const int64_t h = p.center_crop->first, w = p.center_crop->second, c = p.channels();
  require(t.shape() == (p.nchw ? Shape{1, c, h, w} : Shape{1, h, w, c}), "preprocessed tensor has the wrong shape");
}

inline void check_encoded(const bench::EncodedText& e, int seq_len) {
  require(e.input_ids.size() == size_t(seq_len) && e.attention_mask.size() == size_t(seq_len),
          "encoded text is not seq_len long");
  require(e.input_ids[0] == bench::WordTokenizer::kCls, "encoded text does not start with [CLS]");
}

inline void fuzz_datasets_one(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const int reader = data[0] % 6;
  const uint8_t* file = data + 1;
  const size_t file_size = size - 1;
  try {
    switch (reader) {
      case 0:
      case 1: {
        ScratchFile f(".idx.gz");
        const size_t rank = reader == 0 ? 3 : 1;
        check_idx(bench::read_idx(f.write(file, file_size), static_cast<int>(rank)), rank);
        break;
      }
      case 2:
      case 3: {
        const bench::ImagePipeline p = reader == 2 ? imagenet_pipeline() : mnist_pipeline();
        check_preprocessed(bench::decode_jpeg(file, file_size, p.color, "<fuzz>.jpg"), p);
        break;
      }
      case 4: {
        ScratchFile f(".tsv");
        const bench::WordTokenizer tokenizer(std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "good",
                                                                       "film", ",", "not", "bad"});
        for (const bench::TextSample& s : bench::read_labelled_tsv(f.write(file, file_size))) {
          require(s.label >= 0, "negative label accepted");
          check_encoded(tokenizer.encode(s.text, 128), 128);
        }
        break;
      }
      case 5: {
        ScratchFile f(".vocab.txt");
        const bench::WordTokenizer tokenizer = bench::WordTokenizer::load(f.write(file, file_size));
        check_encoded(tokenizer.encode("A good film, not bad at all!", 16), 16);
        check_encoded(tokenizer.encode("", 2), 2);
        break;
      }
    }
  } catch (const Error& e) {
    check_clean_error(e);
  }
}

}  // namespace octet::fuzz
