// Initializer encodings (raw_data, typed fields, external data) and TensorProto files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <limits>

#include "frontend/model_builder.h"

namespace octet::testing {
namespace {

// A model y = Identity(w) around one initializer.
ModelBuilder model_with_initializer(const TP& w, int elem_type) {
  ModelBuilder b;
  b.initializer(w);
  b.node("Identity", {w.name()}, {"y"});
  b.output("y", elem_type, {});
  b.graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  return b;
}

template <class T>
std::vector<T> initializer_values(const ModelBuilder& b, const std::string& name, const std::string& base_dir = "") {
  auto g = b.load(base_dir);
  const detail::Value& v = value_named(*g, name);
  EXPECT_TRUE(v.is_const);
  return const_values<T>(*g, g->find_value(name));
}

TEST(Initializers, RawDataFloat) {
  TP w = tensor_f32("w", {2, 3}, {1, 2, 3, 4, 5, -6});
  auto g = model_with_initializer(w, TP::FLOAT).load();
  const detail::Value& v = value_named(*g, "w");
  EXPECT_EQ(v.dtype, DType::f32);
  EXPECT_EQ(v.shape, (Shape{2, 3}));
  EXPECT_EQ(const_values<float>(*g, g->find_value("w")), (std::vector<float>{1, 2, 3, 4, 5, -6}));
  // Initializers are constants, not graph inputs.
  EXPECT_TRUE(g->inputs.empty());
}

TEST(Initializers, FloatData) {
  TP w = tensor_f32("w", {4}, {0.5f, -1.5f, 3, 1e-3f}, /*raw=*/false);
  EXPECT_EQ(initializer_values<float>(model_with_initializer(w, TP::FLOAT), "w"),
            (std::vector<float>{0.5f, -1.5f, 3, 1e-3f}));
}

TEST(Initializers, Int64DataAndRaw) {
  for (bool raw : {true, false}) {
    TP w = tensor_i64("w", {3}, {-1, 1LL << 40, 7}, raw);
    EXPECT_EQ(initializer_values<int64_t>(model_with_initializer(w, TP::INT64), "w"),
              (std::vector<int64_t>{-1, 1LL << 40, 7}));
  }
}

TEST(Initializers, DoubleDataStaysF64) {
  TP w;
  w.set_name("w");
  w.set_data_type(TP::DOUBLE);
  w.add_dims(2);
  w.add_double_data(1.25);
  w.add_double_data(-1e300);
  auto g = model_with_initializer(w, TP::DOUBLE).load();
  EXPECT_EQ(value_named(*g, "w").dtype, DType::f64);
  EXPECT_EQ(const_values<double>(*g, g->find_value("w")), (std::vector<double>{1.25, -1e300}));
}

TEST(Initializers, Uint64DataForU32AndU64) {
  TP w;
  w.set_name("w");
  w.set_data_type(TP::UINT64);
  w.add_dims(2);
  w.add_uint64_data(18446744073709551615ull);
  w.add_uint64_data(3);
  EXPECT_EQ(initializer_values<uint64_t>(model_with_initializer(w, TP::UINT64), "w"),
            (std::vector<uint64_t>{18446744073709551615ull, 3}));
  w.set_data_type(TP::UINT32);
  w.clear_uint64_data();
  w.add_uint64_data(4000000000u);
  w.add_uint64_data(5);
  EXPECT_EQ(initializer_values<uint32_t>(model_with_initializer(w, TP::UINT32), "w"),
            (std::vector<uint32_t>{4000000000u, 5}));
}

// int32_data carries every type of 32 bits or less.
TEST(Initializers, Int32DataForNarrowTypes) {
  auto make = [](int type, std::vector<int32_t> v) {
    TP w;
    w.set_name("w");
    w.set_data_type(type);
    w.add_dims(static_cast<int64_t>(v.size()));
    for (int32_t x : v) w.add_int32_data(x);
    return model_with_initializer(w, type);
  };
  EXPECT_EQ(initializer_values<int32_t>(make(TP::INT32, {-5, 2147483647}), "w"), (std::vector<int32_t>{-5, 2147483647}));
  EXPECT_EQ(initializer_values<int8_t>(make(TP::INT8, {-128, 127, 3}), "w"), (std::vector<int8_t>{-128, 127, 3}));
  EXPECT_EQ(initializer_values<uint8_t>(make(TP::UINT8, {0, 255, 9}), "w"), (std::vector<uint8_t>{0, 255, 9}));
  EXPECT_EQ(initializer_values<int16_t>(make(TP::INT16, {-32768, 5}), "w"), (std::vector<int16_t>{-32768, 5}));
  EXPECT_EQ(initializer_values<uint16_t>(make(TP::UINT16, {65535, 1}), "w"), (std::vector<uint16_t>{65535, 1}));
  EXPECT_EQ(initializer_values<uint8_t>(make(TP::BOOL, {1, 0, 1}), "w"), (std::vector<uint8_t>{1, 0, 1}));
  // float16 / bfloat16 travel as bit patterns: 0x3C00 = 1.0 (f16), 0x3F80 = 1.0 (bf16).
  auto g16 = make(TP::FLOAT16, {0x3C00, 0xC000}).load();
  EXPECT_EQ(value_named(*g16, "w").dtype, DType::f16);
  EXPECT_EQ(const_values<uint16_t>(*g16, g16->find_value("w")), (std::vector<uint16_t>{0x3C00, 0xC000}));
  auto gbf = make(TP::BFLOAT16, {0x3F80}).load();
  EXPECT_EQ(value_named(*gbf, "w").dtype, DType::bf16);
  EXPECT_EQ(const_values<uint16_t>(*gbf, gbf->find_value("w")), (std::vector<uint16_t>{0x3F80}));
}

TEST(Initializers, RawDataNarrowTypes) {
  TP w;
  w.set_name("w");
  w.set_data_type(TP::INT8);
  w.add_dims(2);
  w.add_dims(2);
  const int8_t v[4] = {-1, 2, -3, 4};
  w.set_raw_data(v, 4);
  EXPECT_EQ(initializer_values<int8_t>(model_with_initializer(w, TP::INT8), "w"), (std::vector<int8_t>{-1, 2, -3, 4}));
}

TEST(Initializers, EmptyTensor) {
  TP w = tensor_f32("w", {0, 3}, {});
  auto g = model_with_initializer(w, TP::FLOAT).load();
  EXPECT_EQ(value_named(*g, "w").shape, (Shape{0, 3}));
  EXPECT_EQ(value_named(*g, "w").data.numel(), 0);
}

TEST(Initializers, CountMismatchIsAnError) {
  TP w = tensor_f32("w", {2, 3}, {1, 2, 3}, /*raw=*/false);
  EXPECT_OCTET_ERROR(model_with_initializer(w, TP::FLOAT).load(), "float_data holds 3 values but f32 [2,3] needs 6");
  TP r = tensor_f32("r", {2, 3}, {1, 2, 3});
  EXPECT_OCTET_ERROR(model_with_initializer(r, TP::FLOAT).load(), "raw_data holds 12 bytes");
  TP none;
  none.set_name("none");
  none.set_data_type(TP::INT64);
  none.add_dims(2);
  EXPECT_OCTET_ERROR(model_with_initializer(none, TP::INT64).load(), "has no data");
}

// --- external data -------------------------------------------------------------------------

TP external_tensor(const std::string& location, int64_t offset, int64_t length, std::vector<int64_t> dims = {4}) {
  return tensor_external("w", TP::FLOAT, dims, location, offset >= 0 ? std::to_string(offset) : "",
                         length >= 0 ? std::to_string(length) : "");
}

const float kWeights[6] = {9, 8, 1.5f, -2.5f, 3.25f, 4};

TEST(ExternalData, ReadsAtOffset) {
  TempDir dir;
  dir.write("weights.bin", kWeights, sizeof(kWeights));
  ModelBuilder b = model_with_initializer(external_tensor("weights.bin", 8, 16), TP::FLOAT);
  EXPECT_EQ(initializer_values<float>(b, "w", dir.path()), (std::vector<float>{1.5f, -2.5f, 3.25f, 4}));
  // Without length: the bytes the shape needs, from offset.
  ModelBuilder b2 = model_with_initializer(external_tensor("weights.bin", 0, -1), TP::FLOAT);
  EXPECT_EQ(initializer_values<float>(b2, "w", dir.path()), (std::vector<float>{9, 8, 1.5f, -2.5f}));
}

TEST(ExternalData, SubfolderAndFileLoad) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.file("data").c_str(), 0755), 0);
  dir.write("data/w.bin", kWeights, sizeof(kWeights));
  ModelBuilder b = model_with_initializer(external_tensor("data/w.bin", 0, 16), TP::FLOAT);
  b.save(dir.file("model.onnx"));
  auto g = frontend::load_onnx_file(dir.file("model.onnx"), detail::registry_has_op);
  EXPECT_EQ(const_values<float>(*g, g->find_value("w")), (std::vector<float>{9, 8, 1.5f, -2.5f}));
}

TEST(ExternalData, MissingFile) {
  TempDir dir;
  ModelBuilder b = model_with_initializer(external_tensor("nothere.bin", 0, 16), TP::FLOAT);
  EXPECT_OCTET_ERROR(b.load(dir.path()), "initializer 'w': external data file 'nothere.bin' not found");
}

TEST(ExternalData, TooShort) {
  TempDir dir;
  dir.write("weights.bin", kWeights, sizeof(kWeights));  // 24 bytes
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("weights.bin", 16, 16), TP::FLOAT).load(dir.path()),
                     "too short");
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("weights.bin", 1000, -1), TP::FLOAT).load(dir.path()),
                     "too short");
  // A length that disagrees with the shape.
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("weights.bin", 0, 12), TP::FLOAT).load(dir.path()),
                     "length 12 does not match the 16 bytes");
  // Absurd dims in a tiny file fail on the size check, before any allocation.
  EXPECT_OCTET_ERROR(
      model_with_initializer(external_tensor("weights.bin", 0, -1, {1000000, 1000000}), TP::FLOAT).load(dir.path()),
      "too short");
}

TEST(ExternalData, AbsolutePathRefused) {
  TempDir dir;
  dir.write("weights.bin", kWeights, sizeof(kWeights));
  ModelBuilder b = model_with_initializer(external_tensor(dir.file("weights.bin"), 0, 16), TP::FLOAT);
  EXPECT_OCTET_ERROR(b.load(dir.path()), "absolute path");
}

TEST(ExternalData, DotDotRefused) {
  TempDir outer;
  ASSERT_EQ(::mkdir(outer.file("model").c_str(), 0755), 0);
  outer.write("secret.bin", kWeights, sizeof(kWeights));
  const std::string model_dir = outer.file("model");
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("../secret.bin", 0, 16), TP::FLOAT).load(model_dir),
                     "contains '..'");
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("a/../../secret.bin", 0, 16), TP::FLOAT).load(model_dir),
                     "contains '..'");
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("..\\secret.bin", 0, 16), TP::FLOAT).load(model_dir),
                     "contains '..'");
}

TEST(ExternalData, SymlinkEscapeRefused) {
  TempDir outer;
  ASSERT_EQ(::mkdir(outer.file("model").c_str(), 0755), 0);
  outer.write("secret.bin", kWeights, sizeof(kWeights));
  ASSERT_EQ(::symlink(outer.file("secret.bin").c_str(), outer.file("model/link.bin").c_str()), 0);
  ASSERT_EQ(::symlink(outer.path().c_str(), outer.file("model/up").c_str()), 0);
  const std::string model_dir = outer.file("model");
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("link.bin", 0, 16), TP::FLOAT).load(model_dir),
                     "outside the model's folder");
  EXPECT_OCTET_ERROR(model_with_initializer(external_tensor("up/secret.bin", 0, 16), TP::FLOAT).load(model_dir),
                     "outside the model's folder");
  // A symlink that stays inside the folder is fine.
  outer.write("model/real.bin", kWeights, sizeof(kWeights));
  ASSERT_EQ(::symlink("real.bin", outer.file("model/alias.bin").c_str()), 0);
  EXPECT_EQ(initializer_values<float>(model_with_initializer(external_tensor("alias.bin", 0, 16), TP::FLOAT), "w",
                                      model_dir),
            (std::vector<float>{9, 8, 1.5f, -2.5f}));
}

TEST(ExternalData, RefusedFromBufferWithoutBaseDir) {
  ModelBuilder b = model_with_initializer(external_tensor("weights.bin", 0, 16), TP::FLOAT);
  EXPECT_OCTET_ERROR(b.load(""), "without a base directory");
}

TEST(ExternalData, BadOffsetString) {
  TempDir dir;
  dir.write("weights.bin", kWeights, sizeof(kWeights));
  TP w = external_tensor("weights.bin", -1, 16);
  auto* e = w.add_external_data();
  e->set_key("offset");
  e->set_value("-8");
  EXPECT_OCTET_ERROR(model_with_initializer(w, TP::FLOAT).load(dir.path()), "offset '-8'");
}

// --- TensorProto files -----------------------------------------------------------------------

TEST(TensorPb, RoundTrip) {
  TempDir dir;
  Tensor f(DType::f32, {2, 2});
  for (int i = 0; i < 4; ++i) f.data_as<float>()[i] = 0.5f * i - 1;
  save_tensor_pb(f, "x", dir.file("x.pb"));
  std::string name;
  Tensor g = load_tensor_pb(dir.file("x.pb"), &name);
  EXPECT_EQ(name, "x");
  EXPECT_EQ(g.dtype(), DType::f32);
  EXPECT_EQ(g.shape(), (Shape{2, 2}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(g.data_as<float>()[i], f.data_as<float>()[i]);

  for (DType dt : {DType::s64, DType::boolean, DType::f16, DType::u8, DType::f64}) {
    Tensor t(dt, {3});
    for (size_t i = 0; i < t.nbytes(); ++i) static_cast<uint8_t*>(t.data())[i] = static_cast<uint8_t>(i % 2);
    save_tensor_pb(t, "t", dir.file("t.pb"));
    Tensor u = load_tensor_pb(dir.file("t.pb"));
    EXPECT_EQ(u.dtype(), dt);
    ASSERT_EQ(u.nbytes(), t.nbytes());
    EXPECT_EQ(std::memcmp(u.data(), t.data(), t.nbytes()), 0) << dtype_name(dt);
  }
  Tensor scalar(DType::s32, {});
  *scalar.data_as<int32_t>() = 42;
  save_tensor_pb(scalar, "", dir.file("s.pb"));
  Tensor s = load_tensor_pb(dir.file("s.pb"));
  EXPECT_EQ(s.rank(), 0u);
  EXPECT_EQ(*s.data_as<int32_t>(), 42);
}

TEST(TensorPb, ReadsTypedFieldsFromOtherTools) {
  TempDir dir;
  TP t = tensor_i64("k", {2}, {5, -6}, /*raw=*/false);
  std::string bytes;
  t.SerializeToString(&bytes);
  dir.write("k.pb", bytes.data(), bytes.size());
  Tensor k = load_tensor_pb(dir.file("k.pb"));
  EXPECT_EQ(k.dtype(), DType::s64);
  EXPECT_EQ(k.data_as<int64_t>()[1], -6);
}

TEST(TensorPb, BadFiles) {
  TempDir dir;
  EXPECT_OCTET_ERROR(load_tensor_pb(dir.file("missing.pb")), "missing.pb: cannot open");
  Tensor f(DType::f32, {64});
  save_tensor_pb(f, "x", dir.file("x.pb"));
  std::ifstream in(dir.file("x.pb"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  dir.write("cut.pb", bytes.data(), bytes.size() - 7);
  EXPECT_OCTET_ERROR(load_tensor_pb(dir.file("cut.pb")), "cut.pb: not a valid onnx.TensorProto");
  EXPECT_OCTET_ERROR(save_tensor_pb(f, "x", dir.file("no/such/dir/x.pb")), "cannot create");
  EXPECT_OCTET_ERROR(save_tensor_pb(Tensor(), "x", dir.file("y.pb")), "cannot encode");
}

}  // namespace
}  // namespace octet::testing
