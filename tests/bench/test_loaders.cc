// Each dataset loader reads a tiny fixture that the test writes itself and yields the
// expected tensor; malformed files give an error naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "bench_int8/dataset.h"
#include "bench_int8/idx.h"
#include "bench_int8/jpeg.h"
#include "bench_int8/preprocess.h"

namespace octet::bench {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("octet-test-bench-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

template <class F>
void expect_error_naming(const std::string& needle, F&& f) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// A 10x12 RGB image of flat 2-pixel bands whose colours are far apart.
Image banded_image() {
  Image img{10, 12, 3, std::vector<uint8_t>(10 * 12 * 3)};
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      uint8_t* p = &img.pixels[(y * img.width + x) * 3];
      p[0] = static_cast<uint8_t>(20 + 20 * y);
      p[1] = static_cast<uint8_t>(240 - 15 * x);
      p[2] = 128;
    }
  return img;
}

TEST(JpegLoader, DecodesAWrittenJpegCloseToItsPixels) {
  const Image original = banded_image();
  const std::vector<uint8_t> jpeg = encode_jpeg(original, 100);
  const Image decoded = decode_jpeg(jpeg.data(), jpeg.size(), ColorSpace::rgb, "fixture.jpg");
  ASSERT_EQ(decoded.height, 10);
  ASSERT_EQ(decoded.width, 12);
  ASSERT_EQ(decoded.channels, 3);
  int worst = 0;
  for (size_t i = 0; i < original.pixels.size(); ++i)
    worst = std::max(worst, std::abs(int(original.pixels[i]) - int(decoded.pixels[i])));
  EXPECT_LE(worst, 12) << "quality-100 JPEG of smooth bands stays close to its source";
  const Image gray = decode_jpeg(jpeg.data(), jpeg.size(), ColorSpace::gray, "fixture.jpg");
  EXPECT_EQ(gray.channels, 1);
}

TEST(JpegLoader, FolderDatasetAppliesCropScaleMeanStdInNchw) {
  TempDir dir;
  const Image original = banded_image();
  write_bytes(dir.file("images/a.jpg"), encode_jpeg(original, 95));
  write_text(dir.file("labels.txt"), "a.jpg 7\n");
  nlohmann::json pipeline = {{"kind", "image"}, {"color", "RGB"}, {"resize", nullptr}, {"center_crop", {6, 8}},
                             {"scale", 1.0 / 255}, {"mean", {0.485, 0.456, 0.406}}, {"std", {0.229, 0.224, 0.225}},
                             {"layout", "NCHW"}, {"dtype", "float32"}};
  JpegFolderDataset ds(dir.path(), dir.file("labels.txt"), parse_image_pipeline(pipeline, "fixture"), "data");
  ASSERT_EQ(ds.size(), 1);
  EXPECT_EQ(ds.label(0), 7);
  const Inputs in = ds.inputs(0);
  const Tensor& t = in.at("data");
  ASSERT_EQ(t.shape(), (Shape{1, 3, 6, 8}));
  // Exactly the stated formula on the decoded pixels, crop offset ((10-6)/2, (12-8)/2) = (2, 2).
  const Image decoded = decode_jpeg_file(dir.file("images/a.jpg"), ColorSpace::rgb);
  const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 8; ++x) {
        const float expected = static_cast<float>((decoded.at(y + 2, x + 2, c) / 255.0 - mean[c]) / std[c]);
        ASSERT_EQ(t.data_as<float>()[(c * 6 + y) * 8 + x], expected) << c << " " << y << " " << x;
      }
  // And the values are the image's: red grows down the rows, green falls along the columns.
  EXPECT_NEAR(t.data_as<float>()[0] * 0.229 + 0.485, (20 + 20 * 2) / 255.0, 10 / 255.0);
  EXPECT_NEAR(t.data_as<float>()[6 * 8 + 0] * 0.224 + 0.456, (240 - 15 * 2) / 255.0, 10 / 255.0);
}

TEST(JpegLoader, NhwcLayoutAndGrayConversion) {
  TempDir dir;
  write_bytes(dir.file("x/b.jpg"), encode_jpeg(banded_image(), 90));
  write_text(dir.file("labels.txt"), "x/b.jpg 1\n");
  nlohmann::json pipeline = {{"kind", "image"}, {"color", "GRAY"}, {"scale", 1.0}, {"mean", {0.0}},
                             {"std", {1.0}}, {"layout", "NHWC"}};
  JpegFolderDataset ds(dir.path(), dir.file("labels.txt"), parse_image_pipeline(pipeline, "fixture"), "in");
  const Tensor t = ds.inputs(0).at("in");
  EXPECT_EQ(t.shape(), (Shape{1, 10, 12, 1}));
  const Image gray = decode_jpeg_file(dir.file("x/b.jpg"), ColorSpace::gray);
  EXPECT_EQ(t.data_as<float>()[5 * 12 + 3], float(gray.at(5, 3, 0)));
}

TEST(JpegLoader, CorruptJpegNamesTheFile) {
  TempDir dir;
  std::vector<uint8_t> jpeg = encode_jpeg(banded_image(), 90);
  jpeg.resize(jpeg.size() * 2 / 3);  // ends inside the entropy-coded data
  write_bytes(dir.file("images/truncated.jpg"), jpeg);
  write_text(dir.file("labels.txt"), "truncated.jpg 0\n");
  nlohmann::json pipeline = {{"kind", "image"}, {"color", "RGB"}};
  JpegFolderDataset ds(dir.path(), dir.file("labels.txt"), parse_image_pipeline(pipeline, "p"), "x");
  expect_error_naming("truncated.jpg", [&] { ds.inputs(0); });
  write_text(dir.file("notjpeg.jpg"), "hello, not a jpeg");
  expect_error_naming("notjpeg.jpg", [&] { decode_jpeg_file(dir.file("notjpeg.jpg"), ColorSpace::rgb); });
  write_bytes(dir.file("garbage.jpg"), {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02, 0x01});
  expect_error_naming("garbage.jpg", [&] { decode_jpeg_file(dir.file("garbage.jpg"), ColorSpace::rgb); });
  expect_error_naming("missing.jpg", [&] { decode_jpeg_file(dir.file("missing.jpg"), ColorSpace::rgb); });
}

TEST(JpegLoader, MalformedLabelsFileNamesTheFileAndLine) {
  TempDir dir;
  write_text(dir.file("labels.txt"), "a.jpg 1\nb.jpg cat\n");
  nlohmann::json pipeline = {{"kind", "image"}, {"color", "RGB"}};
  expect_error_naming("labels.txt:2", [&] {
    JpegFolderDataset(dir.path(), dir.file("labels.txt"), parse_image_pipeline(pipeline, "p"), "x");
  });
}

TEST(IdxLoader, ReadsAGzipIdxFixtureIntoScaledNchwTensors) {
  TempDir dir;
  IdxArray images{{3, 2, 4}, {}}, labels{{3}, {4, 0, 9}};
  for (int i = 0; i < 3 * 8; ++i) images.data.push_back(static_cast<uint8_t>(i * 10));
  write_idx(dir.file("t10k-images-idx3-ubyte.gz"), images);
  write_idx(dir.file("t10k-labels-idx1-ubyte.gz"), labels);
  nlohmann::json pipeline = {{"kind", "image"}, {"color", "GRAY"}, {"scale", 1.0 / 255}, {"mean", {0.0}},
                             {"std", {1.0}}, {"layout", "NCHW"}};
  IdxDataset ds(dir.file("t10k-images-idx3-ubyte.gz"), dir.file("t10k-labels-idx1-ubyte.gz"),
                parse_image_pipeline(pipeline, "p"), "Input3");
  ASSERT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.label(2), 9);
  const Tensor t = ds.inputs(1).at("Input3");
  ASSERT_EQ(t.shape(), (Shape{1, 1, 2, 4}));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(t.data_as<float>()[i], static_cast<float>((8 + i) * 10 / 255.0)) << i;
}

TEST(IdxLoader, ReadsUncompressedIdxToo) {
  TempDir dir;
  IdxArray labels{{2}, {1, 2}};
  write_idx(dir.file("labels.idx"), labels);
  const IdxArray back = read_idx(dir.file("labels.idx"), 1);
  EXPECT_EQ(back.dims, labels.dims);
  EXPECT_EQ(back.data, labels.data);
}

TEST(IdxLoader, MalformedIdxNamesTheFile) {
  TempDir dir;
  IdxArray images{{2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}};
  write_idx(dir.file("images.gz"), images);
  expect_error_naming("images.gz", [&] { read_idx(dir.file("images.gz"), 1); });  // wrong magic
  // Truncated: the header promises more data than the file holds.
  IdxArray lying = images;
  lying.dims[0] = 5;
  write_idx(dir.file("short.gz"), lying);
  expect_error_naming("short.gz", [&] { read_idx(dir.file("short.gz"), 3); });
  // Trailing bytes after the data.
  IdxArray extra{{2}, {1, 2, 3}};
  write_idx(dir.file("extra.gz"), extra);
  expect_error_naming("extra.gz", [&] { read_idx(dir.file("extra.gz"), 1); });
  // A count mismatch between images and labels.
  write_idx(dir.file("l.gz"), IdxArray{{3}, {0, 1, 2}});
  nlohmann::json pipeline = {{"kind", "image"}, {"color", "GRAY"}};
  expect_error_naming("images.gz", [&] {
    IdxDataset(dir.file("images.gz"), dir.file("l.gz"), parse_image_pipeline(pipeline, "p"), "x");
  });
}

TEST(TextLoader, TsvAndVocabularyGiveIdsAndMask) {
  TempDir dir;
  write_text(dir.file("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nit\n'\ns\ngood\n.\n");
  write_text(dir.file("dev.tsv"), "text\tlabel\nIt 's GOOD . \t1\nunseen words\t0\n");
  TextDataset ds(dir.file("dev.tsv"), dir.file("vocab.txt"), "input_ids", "attention_mask", 8);
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.label(0), 1);
  EXPECT_EQ(ds.label(1), 0);
  const Inputs in = ds.inputs(0);
  const Tensor& ids = in.at("input_ids");
  const Tensor& mask = in.at("attention_mask");
  ASSERT_EQ(ids.shape(), (Shape{1, 8}));
  ASSERT_EQ(ids.dtype(), DType::s64);
  const std::vector<int64_t> want_ids = {2, 4, 5, 6, 7, 8, 3, 0}, want_mask = {1, 1, 1, 1, 1, 1, 1, 0};
  EXPECT_EQ(std::vector<int64_t>(ids.data_as<int64_t>(), ids.data_as<int64_t>() + 8), want_ids);
  EXPECT_EQ(std::vector<int64_t>(mask.data_as<int64_t>(), mask.data_as<int64_t>() + 8), want_mask);
  const Tensor ids1 = ds.inputs(1).at("input_ids");
  EXPECT_EQ(std::vector<int64_t>(ids1.data_as<int64_t>(), ids1.data_as<int64_t>() + 5),
            (std::vector<int64_t>{2, 1, 1, 3, 0}));
}

TEST(TextLoader, MalformedTsvNamesTheFileAndLine) {
  TempDir dir;
  write_text(dir.file("bad.tsv"), "text\tlabel\nok\t1\nno tab here\n");
  expect_error_naming("bad.tsv:3", [&] { read_labelled_tsv(dir.file("bad.tsv")); });
  write_text(dir.file("bad2.tsv"), "text\tlabel\nok\tpositive\n");
  expect_error_naming("bad2.tsv:2", [&] { read_labelled_tsv(dir.file("bad2.tsv")); });
}

TEST(Preprocess, ShorterSideResizeKeepsAspectAndFlatColours) {
  Image img{40, 60, 3, std::vector<uint8_t>(40 * 60 * 3, 77)};
  ResizeSpec spec;
  spec.shorter_side = 20;
  for (bool antialias : {false, true}) {
    spec.antialias = antialias;
    const Image r = resize_shorter_side(img, spec);
    EXPECT_EQ(r.height, 20);
    EXPECT_EQ(r.width, 30);
    for (uint8_t v : r.pixels) ASSERT_EQ(v, 77);
  }
  spec.interpolation = "nearest";
  Image ramp{2, 4, 1, {0, 10, 20, 30, 40, 50, 60, 70}};
  spec.shorter_side = 1;
  const Image n = resize_shorter_side(ramp, spec);
  EXPECT_EQ(n.height, 1);
  EXPECT_EQ(n.width, 2);
  EXPECT_EQ(n.pixels, (std::vector<uint8_t>{50, 70}));  // centres of the 2x2 cells
}

TEST(Preprocess, RejectsPipelinesItCannotFollow) {
  EXPECT_THROW(parse_image_pipeline({{"kind", "image"}, {"color", "CMYK"}}, "p"), Error);
  EXPECT_THROW(parse_image_pipeline({{"kind", "image"}, {"layout", "CHW"}}, "p"), Error);
  EXPECT_THROW(parse_image_pipeline({{"kind", "image"}, {"std", {0.0, 1.0, 1.0}}}, "p"), Error);
  EXPECT_THROW(parse_image_pipeline({{"kind", "image"}, {"resize", {{"shorter_side", 256}, {"interpolation", "lanczos"}}}}, "p"),
               Error);
  EXPECT_THROW(parse_image_pipeline({{"kind", "text"}}, "p"), Error);
  Image small{4, 4, 3, std::vector<uint8_t>(48)};
  const ImagePipeline crop = parse_image_pipeline({{"kind", "image"}, {"center_crop", {8, 8}}}, "p");
  EXPECT_THROW(preprocess_image(small, crop, "small.jpg"), Error);
}

}  // namespace
}  // namespace octet::bench
