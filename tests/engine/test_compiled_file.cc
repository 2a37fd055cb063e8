// CompiledModel::save / load: bit-identical outputs on every ISA level the CPU has (a small
// CNN built here, and every zoo model when the zoo is present), and hostile files refused with
// octet::Error: truncated, flipped bytes, lying offsets and shapes (checksum recomputed so the
// manifest checks themselves are reached), another format version, a level the CPU may not
// run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "frontend/model_builder.h"
#include "octet/kernels/isa.h"
#include "octet/octet.h"
#include "runtime/compiled_file/checksum.h"
#include "runtime/compiled_file/compiled_file_format.h"
#include "zoo_models.h"

namespace octet {
namespace {

using testing::ModelBuilder;
using testing::TP;
namespace fs = std::filesystem;

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("octet_compiled_" + std::to_string(getpid()) + "_" + name)).string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Rewrites the header's checksum so that a deliberately changed file passes it: the manifest
// and data checks behind it are then what must refuse the file.
void fix_checksum(std::string* bytes) {
  const uint64_t sum = detail::block_checksum(reinterpret_cast<const unsigned char*>(bytes->data()), bytes->size(),
                                              detail::kHdrChecksum, detail::kHdrChecksum + 8, 1);
  std::memcpy(&(*bytes)[detail::kHdrChecksum], &sum, 8);
}

TP random_f32(const std::string& name, const std::vector<int64_t>& dims, uint32_t seed, float scale) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return testing::tensor_f32(name, dims, testing::random_floats(static_cast<size_t>(n), seed, scale));
}

// x[1,3,12,12] -> Conv 3x3 (8) -> Relu -> depthwise Conv 3x3 -> Add (residual) -> Relu
//   -> Conv 1x1 (16) -> GlobalAveragePool -> Flatten -> Gemm (16 -> 10) -> MatMul (10 -> 6)
// Covers the packed FP32 / INT8 GEMM convolutions, a depthwise conv, Gemm and MatMul.
std::string small_cnn() {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 3, 12, 12});
  b.initializer(random_f32("w1", {8, 3, 3, 3}, 7, 0.5f));
  b.initializer(random_f32("b1", {8}, 8, 0.1f));
  b.initializer(random_f32("w2", {8, 1, 3, 3}, 9, 0.5f));
  b.initializer(random_f32("b2", {8}, 10, 0.1f));
  b.initializer(random_f32("w3", {16, 8, 1, 1}, 11, 0.5f));
  b.initializer(random_f32("wg", {10, 16}, 12, 0.5f));
  b.initializer(random_f32("bg", {10}, 13, 0.1f));
  b.initializer(random_f32("wm", {10, 6}, 14, 0.5f));
  auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  testing::attr_ints(c1, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  auto* c2 = b.node("Conv", {"r1", "w2", "b2"}, {"c2"}, "conv_dw");
  testing::attr_ints(c2, "pads", {1, 1, 1, 1});
  testing::attr_i(c2, "group", 8);
  b.node("Add", {"c2", "r1"}, {"s"}, "residual");
  b.node("Relu", {"s"}, {"r2"}, "relu2");
  b.node("Conv", {"r2", "w3"}, {"c3"}, "conv_pw");
  b.node("GlobalAveragePool", {"c3"}, {"p"}, "pool");
  b.node("Flatten", {"p"}, {"f"}, "flatten");
  auto* g = b.node("Gemm", {"f", "wg", "bg"}, {"g"}, "fc");
  testing::attr_i(g, "transB", 1);
  b.node("MatMul", {"g", "wm"}, {"y"}, "head");
  b.output("y", TP::FLOAT, {1, 6});
  return b.bytes();
}

std::map<std::string, Tensor> random_input(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor x(DType::f32, {1, 3, 12, 12});
  for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = dist(rng);
  return {{"x", x}};
}

void expect_same_outputs(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b,
                         const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, t] : a) {
    const Tensor& u = b.at(name);
    ASSERT_EQ(t.dtype(), u.dtype()) << what << " " << name;
    ASSERT_EQ(t.shape(), u.shape()) << what << " " << name;
    EXPECT_EQ(0, std::memcmp(t.data(), u.data(), t.nbytes())) << what << ": output " << name << " differs";
  }
}

CompileOptions options_for(const kernels::IsaChoice& isa, Precision precision, int weight_bits = 8) {
  CompileOptions o;
  o.isa = isa.name();
  o.threads = 2;
  o.precision = precision;
  o.weight_bits = weight_bits;
  if (precision == Precision::int8)
    for (uint32_t s = 0; s < 4; ++s) o.calibration_data.push_back(random_input(100 + s));
  return o;
}

// Saves, loads, runs both on the same inputs and compares bit for bit; returns the file size.
size_t round_trip(const CompiledModel& compiled, const std::map<std::string, Tensor>& inputs, const std::string& what) {
  const std::string path = temp_file("round_trip.ocm");
  compiled.save(path);
  const size_t bytes = fs::file_size(path);
  CompiledModel loaded = CompiledModel::load(path, 2);
  fs::remove(path);  // the mapping stays valid after the name is gone
  EXPECT_EQ(loaded.isa(), compiled.isa()) << what;
  EXPECT_EQ(loaded.arena_bytes(), compiled.arena_bytes()) << what;
  EXPECT_EQ(loaded.describe(), compiled.describe()) << what;
  Session s1 = compiled.create_session(), s2 = loaded.create_session();
  expect_same_outputs(s1.run(inputs), s2.run(inputs), what);
  // A loaded model saves again to a file that loads to the same outputs.
  const std::string again = temp_file("round_trip_again.ocm");
  loaded.save(again);
  CompiledModel reloaded = CompiledModel::load(again, 1);
  fs::remove(again);
  Session s3 = reloaded.create_session();
  expect_same_outputs(s1.run(inputs), s3.run(inputs), what + " (saved from a loaded model)");
  return bytes;
}

TEST(CompiledFile, SmallCnnRoundTripsBitIdenticalOnEveryLevel) {
  const std::string onnx = small_cnn();
  Model model = Model::load_from_buffer(onnx.data(), onnx.size());
  for (const kernels::IsaChoice& isa : kernels::available_isas()) {
    for (Precision precision : {Precision::fp32, Precision::int8}) {
      const std::string what = isa.name() + (precision == Precision::int8 ? " int8" : " fp32");
      CompiledModel compiled = CompiledModel::compile(model, options_for(isa, precision));
      round_trip(compiled, random_input(1), what);
      if (HasFatalFailure()) return;
    }
    CompiledModel seven = CompiledModel::compile(model, options_for(isa, Precision::int8, 7));
    round_trip(seven, random_input(2), isa.name() + " int8 7-bit");
  }
}

TEST(CompiledFile, LoadedModelKeepsTheQuantizationReportButNotTheQdqGraph) {
  const std::string onnx = small_cnn();
  Model model = Model::load_from_buffer(onnx.data(), onnx.size());
  CompiledModel compiled = CompiledModel::compile(model, options_for(kernels::available_isas().back(), Precision::int8));
  const std::string path = temp_file("report.ocm");
  compiled.save(path);
  CompiledModel loaded = CompiledModel::load(path);
  fs::remove(path);
  const auto a = compiled.quantization_report(), b = loaded.quantization_report();
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tensor, b[i].tensor);
    EXPECT_EQ(a[i].scale, b[i].scale);
    EXPECT_EQ(a[i].zero_point, b[i].zero_point);
  }
  try {
    loaded.export_qdq(temp_file("never.onnx"));
    FAIL() << "export_qdq of a loaded model should fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("compiled file"), std::string::npos) << e.what();
  }
}

TEST(CompiledFile, ZooModelsRoundTripBitIdentical) {
  const auto models = testing::zoo_models_with_test_data();
  if (models.empty()) GTEST_SKIP() << "the zoo (../shared/zoo) is absent";
  const kernels::IsaChoice best = kernels::available_isas().front();
  for (const testing::ZooModel& m : models) {
    Model model = Model::load(m.path);
    const auto inputs = testing::zoo_test_inputs(m, model.inputs());
    CompileOptions fp32;
    fp32.isa = best.name();
    fp32.threads = 2;
    round_trip(CompiledModel::compile(model, fp32), inputs, m.name + " fp32 " + best.name());
    CompileOptions int8 = fp32;
    int8.precision = Precision::int8;
    int8.calibration_data = {inputs};
    round_trip(CompiledModel::compile(model, int8), inputs, m.name + " int8 " + best.name());
  }
}

class HostileCompiledFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string onnx = small_cnn();
    Model model = Model::load_from_buffer(onnx.data(), onnx.size());
    CompileOptions o = options_for(kernels::available_isas().front(), Precision::fp32);
    const std::string path = temp_file("hostile.ocm");
    CompiledModel::compile(model, o).save(path);
    good_ = read_bytes(path);
    fs::remove(path);
    std::memcpy(&manifest_bytes_, &good_[detail::kHdrManifestBytes], 8);
  }

  // Loads bytes from a file; returns the Error's message ("" when it loads).
  std::string load_error(const std::string& bytes) {
    const std::string path = temp_file("hostile_case.ocm");
    write_bytes(path, bytes);
    std::string message;
    try {
      CompiledModel m = CompiledModel::load(path);
      Session s = m.create_session();
      s.run(random_input(3));
    } catch (const Error& e) {
      message = e.what();
    }
    fs::remove(path);
    return message;
  }

  size_t find_in_manifest(const std::string& needle) const {
    const size_t at = good_.find(needle, detail::kCompiledHeaderBytes);
    EXPECT_LT(at, detail::kCompiledHeaderBytes + manifest_bytes_) << needle;
    return at;
  }

  std::string good_;
  uint64_t manifest_bytes_ = 0;
};

TEST_F(HostileCompiledFile, TheUnchangedFileLoads) { EXPECT_EQ(load_error(good_), ""); }

TEST_F(HostileCompiledFile, TruncatedAnywhereIsRefused) {
  for (size_t keep : {size_t(0), size_t(7), size_t(63), size_t(64), size_t(200), good_.size() / 2, good_.size() - 1}) {
    const std::string e = load_error(good_.substr(0, keep));
    EXPECT_NE(e, "") << "kept " << keep << " bytes";
  }
}

TEST_F(HostileCompiledFile, FlippedBytesAreRefusedByTheChecksum) {
  for (size_t at : {size_t(70), static_cast<size_t>(detail::kCompiledHeaderBytes + manifest_bytes_ / 2),
                    good_.size() - 5}) {
    std::string bad = good_;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    const std::string e = load_error(bad);
    EXPECT_NE(e.find("checksum"), std::string::npos) << "byte " << at << ": " << e;
  }
}

TEST_F(HostileCompiledFile, BadMagicAndOtherVersionsAreRefused) {
  std::string bad = good_;
  bad[0] = 'X';
  EXPECT_NE(load_error(bad).find("magic"), std::string::npos);
  bad = good_;
  const uint32_t v = detail::kCompiledFileVersion + 1;
  std::memcpy(&bad[detail::kHdrVersion], &v, 4);
  EXPECT_NE(load_error(bad).find("version"), std::string::npos);
}

TEST_F(HostileCompiledFile, LyingSizesAndOffsetsAreRefused) {
  // The header's data offset past the end, and the manifest size past the data.
  std::string bad = good_;
  const uint64_t huge = uint64_t(1) << 60;
  std::memcpy(&bad[detail::kHdrDataOffset], &huge, 8);
  fix_checksum(&bad);
  EXPECT_NE(load_error(bad).find("header"), std::string::npos);
  bad = good_;
  std::memcpy(&bad[detail::kHdrManifestBytes], &huge, 8);
  fix_checksum(&bad);
  EXPECT_NE(load_error(bad).find("header"), std::string::npos);

  // A constant's data reference moved out of the data section (or off its alignment).
  // Its record ends with (offset, bytes); b1 holds 8 floats, so bytes is 32.
  const size_t name_at = find_in_manifest(std::string("\x02\0\0\0b1", 6));
  const uint64_t b1_bytes = 32;
  const size_t bytes_at = good_.find(std::string(reinterpret_cast<const char*>(&b1_bytes), 8), name_at);
  ASSERT_LT(bytes_at, name_at + 64);
  const size_t offset_at = bytes_at - 8;
  for (uint64_t lie : {uint64_t(1) << 40, uint64_t(3), uint64_t(good_.size())}) {
    bad = good_;
    std::memcpy(&bad[offset_at], &lie, 8);
    fix_checksum(&bad);
    EXPECT_NE(load_error(bad).find("data reference"), std::string::npos) << lie;
  }
  // Its byte count no longer matching its shape.
  bad = good_;
  const uint64_t wrong = 16;
  std::memcpy(&bad[offset_at + 8], &wrong, 8);
  fix_checksum(&bad);
  EXPECT_NE(load_error(bad).find("bytes of data"), std::string::npos) << load_error(bad);
}

TEST_F(HostileCompiledFile, LyingShapesAreRefused) {
  // The output "y" stored as [1,7] instead of [1,6]: inference derives [1,6] again.
  const size_t name_at = find_in_manifest(std::string("\x01\0\0\0y", 5));
  const size_t dim1_at = name_at + 5 + 4 + 1 + 4 + 8;
  std::string bad = good_;
  const int64_t seven = 7;
  std::memcpy(&bad[dim1_at], &seven, 8);
  fix_checksum(&bad);
  const std::string e = load_error(bad);
  EXPECT_NE(e.find("infers"), std::string::npos) << e;
}

TEST_F(HostileCompiledFile, AnUnknownIsaLevelIsRefused) {
  const std::string level = kernels::available_isas().front().name();
  const size_t at = find_in_manifest(level);
  std::string bad = good_;
  bad[at] = 'q';  // same length: every offset stays valid
  fix_checksum(&bad);
  const std::string e = load_error(bad);
  EXPECT_NE(e.find("ISA level"), std::string::npos) << e;
}

TEST_F(HostileCompiledFile, ALevelAboveTheCapIsRefused) {
  if (kernels::available_isas().front().isa == kernels::Isa::ref) GTEST_SKIP() << "this CPU has no SIMD level";
  const char* old = std::getenv("OCTET_MAX_ISA");
  const std::string saved = old ? old : "";
  setenv("OCTET_MAX_ISA", "ref", 1);
  const std::string e = load_error(good_);
  if (old) setenv("OCTET_MAX_ISA", saved.c_str(), 1);
  else unsetenv("OCTET_MAX_ISA");
  EXPECT_NE(e.find("compiled for ISA level"), std::string::npos) << e;
}

TEST_F(HostileCompiledFile, MissingFilesAndFoldersAreErrors) {
  EXPECT_THROW(CompiledModel::load(temp_file("does_not_exist.ocm")), Error);
  EXPECT_THROW(CompiledModel::load(fs::temp_directory_path().string()), Error);
}

TEST(Checksum, KnownAnswersOfXxh64) {
  EXPECT_EQ(detail::Checksum64().digest(), 0xEF46DB3751D8E999ULL);
  detail::Checksum64 abc;
  abc.update("abc", 3);
  EXPECT_EQ(abc.digest(), 0x44BC2CF5AD770999ULL);
}

TEST(Checksum, StreamingAnyChunkingAndAnyThreadCountAgree) {
  std::mt19937 rng(3);
  std::vector<unsigned char> data(detail::kChecksumBlock * 2 + 12345);
  for (unsigned char& c : data) c = static_cast<unsigned char>(rng());
  const uint64_t one = detail::block_checksum(data.data(), data.size(), 0, 0, 1);
  EXPECT_EQ(detail::block_checksum(data.data(), data.size(), 0, 0, 3), one);
  detail::BlockChecksum streamed;
  size_t pos = 0, step = 1;
  while (pos < data.size()) {
    const size_t n = std::min(step, data.size() - pos);
    streamed.update(data.data() + pos, n);
    pos += n;
    step = step * 7 + 3;
  }
  EXPECT_EQ(streamed.digest(), one);
  data[data.size() / 3] ^= 1;
  EXPECT_NE(detail::block_checksum(data.data(), data.size(), 0, 0, 2), one);
}

}  // namespace
}  // namespace octet
