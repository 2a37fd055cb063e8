// Every public entry point of octet.h reports failure as octet::Error: bad things fed to each
// call must come back as an Error with a message, never as another exception, an abort or a
// crash. (Malformed model files are covered by tests/frontend/test_bad_input.cc and the
// fuzzers; this file covers the calls themselves.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <limits>

#include "reliability/reliability_util.h"

namespace octet::testing {
namespace {

// y = Relu(x + w), x f32 [1,4].
ModelBuilder small_model() {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 4});
  b.initializer(tensor_f32("w", {1, 4}, {1, -2, 3, -4}));
  b.node("Add", {"x", "w"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"y"}, "relu");
  b.output("y", TP::FLOAT, {1, 4});
  return b;
}

// The same with a symbolic batch dimension.
ModelBuilder batch_model() {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {"batch", 4});
  b.node("Relu", {"x"}, {"y"}, "relu");
  b.output("y", TP::FLOAT, {"batch", 4});
  return b;
}

CompiledModel compile_small() { return CompiledModel::compile(load_public(small_model()), ref_options()); }

// ---------------------------------------------------------------- Tensor and helpers

TEST(ApiErrors, TensorConstruction) {
  EXPECT_EQ(Tensor(DType::string, {1}).data_as<std::string>()[0], "");  // strings are constructed empty
  EXPECT_OCTET_ERROR(Tensor::from_strings({3}, {"a", "b"}), "2 strings for shape [3]");
  EXPECT_OCTET_ERROR(Tensor(DType::undefined, {1}), "dtype undefined");
  EXPECT_OCTET_ERROR(Tensor(static_cast<DType>(99), {1}), "cannot allocate");
  EXPECT_OCTET_ERROR(Tensor(DType::f32, {-1}), "negative dimension");
  EXPECT_OCTET_ERROR(Tensor(DType::f32, {2, -3}), "negative dimension");
  EXPECT_OCTET_ERROR(Tensor(DType::f32, {int64_t(1) << 32, int64_t(1) << 32}), "more elements than int64");
  // numel fits, bytes do not: refused before allocating.
  EXPECT_OCTET_ERROR(Tensor(DType::f64, {int64_t(1) << 61}), "too large");
  EXPECT_OCTET_ERROR(Tensor(DType::f32, {int64_t(1) << 57}), "too large");
  EXPECT_OCTET_ERROR(Tensor::wrap(DType::f32, {-4}, nullptr), "negative dimension");
  // Valid corner cases.
  EXPECT_EQ(Tensor(DType::f32, {0, 5}).numel(), 0);
  EXPECT_EQ(Tensor(DType::f32, {}).numel(), 1);
  EXPECT_TRUE(Tensor().clone().empty());
}

TEST(ApiErrors, TensorReshape) {
  Tensor t(DType::f32, {2, 3});
  EXPECT_OCTET_ERROR(t.reshaped({4, 2}), "element counts differ");
  EXPECT_OCTET_ERROR(t.reshaped({-2, -3}), "negative dimension");
  EXPECT_OCTET_ERROR(t.reshaped({int64_t(1) << 40, int64_t(1) << 40}), "more elements than int64");
  EXPECT_EQ(t.reshaped({3, 2}).shape(), (Shape{3, 2}));
}

TEST(ApiErrors, HelpersOnInvalidValues) {
  EXPECT_EQ(dtype_size(static_cast<DType>(-7)), 0u);
  EXPECT_STREQ(dtype_name(static_cast<DType>(1234)), "unknown");
  EXPECT_EQ(shape_str({-1, 3}), "[?,3]");
  EXPECT_OCTET_ERROR(shape_numel({std::numeric_limits<int64_t>::max(), 2}), "more elements than int64");
  EXPECT_OCTET_ERROR(shape_numel({std::numeric_limits<int64_t>::min()}), "negative dimension");
  EXPECT_EQ(shape_numel({0, std::numeric_limits<int64_t>::max(), 2}), 0);
}

// ---------------------------------------------------------------- load_tensor_pb / save

TEST(ApiErrors, LoadTensorPbOnBadFiles) {
  TempDir dir;
  EXPECT_OCTET_ERROR(load_tensor_pb(dir.path()), "not a regular file");
  EXPECT_OCTET_ERROR(load_tensor_pb("/dev/zero"), "not a regular file");
  EXPECT_OCTET_ERROR(load_tensor_pb(""), "cannot open");
  EXPECT_OCTET_ERROR(load_tensor_pb(std::string(5000, 'a')), "cannot open");
  dir.write("empty.pb", "", 0);
  EXPECT_OCTET_ERROR(load_tensor_pb(dir.file("empty.pb")), "no data type");
  const char garbage[] = "\x08\x01\x12\xff\xff\xff\xff\x0f garbage";
  dir.write("garbage.pb", garbage, sizeof(garbage));
  EXPECT_OCTET_ERROR(load_tensor_pb(dir.file("garbage.pb")), "not a valid onnx.TensorProto");
  // A TensorProto declaring a trillion floats with 4 bytes of data.
  TP t = tensor_f32("t", {1000000, 1000000}, {1});
  std::string bytes;
  t.SerializeToString(&bytes);
  dir.write("huge.pb", bytes.data(), bytes.size());
  EXPECT_OCTET_ERROR(load_tensor_pb(dir.file("huge.pb")), "raw_data holds 4 bytes");
}

TEST(ApiErrors, LoadTensorPbOnFifo) {
  TempDir dir;
  const std::string fifo = dir.file("pipe.pb");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      load_tensor_pb(fifo);
      return "loaded";
    } catch (const Error& e) {
      return e.what();
    }
  });
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "load_tensor_pb blocked on a FIFO";
    int fd = ::open(fifo.c_str(), O_WRONLY);  // releases the blocked open()
    if (fd >= 0) ::close(fd);
  }
  EXPECT_CONTAINS(result.get(), "not a regular file");
}

TEST(ApiErrors, SaveTensorPb) {
  TempDir dir;
  Tensor t(DType::f32, {2});
  EXPECT_OCTET_ERROR(save_tensor_pb(t, "t", dir.path()), "cannot create");
  EXPECT_OCTET_ERROR(save_tensor_pb(t, "t", dir.file("missing/t.pb")), "cannot create");
  EXPECT_OCTET_ERROR(save_tensor_pb(Tensor(), "t", dir.file("t.pb")), "cannot encode");
  if (::access("/dev/full", W_OK) == 0) EXPECT_OCTET_ERROR(save_tensor_pb(t, "t", "/dev/full"), "cannot write");
  // A wrapped view with no storage: encoding reads nothing it does not own.
  EXPECT_NO_THROW(save_tensor_pb(Tensor::wrap(DType::f32, {0}, nullptr), "e", dir.file("e.pb")));
}

// ---------------------------------------------------------------- Model

TEST(ApiErrors, ModelLoadOnBadPaths) {
  TempDir dir;
  EXPECT_OCTET_ERROR(Model::load(dir.path()), "is not a regular file");
  EXPECT_OCTET_ERROR(Model::load("/dev/zero"), "not a regular file");
  EXPECT_OCTET_ERROR(Model::load(""), "cannot open");
  EXPECT_OCTET_ERROR(Model::load(dir.file("missing.onnx")), "cannot open");
  EXPECT_OCTET_ERROR(Model::load(std::string(5000, 'm')), "cannot open");
  // A tensor file is not a model.
  save_tensor_pb(Tensor(DType::f32, {3}), "t", dir.file("t.pb"));
  EXPECT_THROW(Model::load(dir.file("t.pb")), Error);
  // Unreadable file (skipped as root, who can read anything).
  ModelBuilder b = small_model();
  b.save(dir.file("locked.onnx"));
  ASSERT_EQ(::chmod(dir.file("locked.onnx").c_str(), 0), 0);
  if (::geteuid() != 0) EXPECT_OCTET_ERROR(Model::load(dir.file("locked.onnx")), "cannot open");
}

TEST(ApiErrors, ModelLoadOnFifo) {
  TempDir dir;
  const std::string fifo = dir.file("pipe.onnx");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      Model::load(fifo);
      return "loaded";
    } catch (const Error& e) {
      return e.what();
    }
  });
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "Model::load blocked on a FIFO";
    int fd = ::open(fifo.c_str(), O_WRONLY);  // releases the blocked open()
    if (fd >= 0) ::close(fd);
  }
  EXPECT_CONTAINS(result.get(), "not a regular file");
}

TEST(ApiErrors, ModelLoadFromBuffer) {
  EXPECT_OCTET_ERROR(Model::load_from_buffer(nullptr, 0), "the model is empty");
  const std::string bytes = small_model().bytes();
  EXPECT_OCTET_ERROR(Model::load_from_buffer(bytes.data(), 0), "the model is empty");
  EXPECT_THROW(Model::load_from_buffer(bytes.data(), bytes.size() - 1), Error);
  // A base directory that does not exist only matters once external data is used.
  EXPECT_NO_THROW(Model::load_from_buffer(bytes.data(), bytes.size(), "/nonexistent/folder"));
}

// ---------------------------------------------------------------- compile

TEST(ApiErrors, CompileWithBadOptions) {
  const Model m = load_public(small_model());
  CompileOptions o = ref_options();
  o.isa = "bogus";
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "unknown ISA 'bogus'");
  o.isa = "VNNI";
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "unknown ISA");
  o.isa = std::string("ref\0junk", 8);
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "unknown ISA");

  o = ref_options();
  o.constant_inputs["nope"] = Tensor(DType::f32, {1, 4});
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "'nope', which is not a graph input");
  o.constant_inputs.clear();
  o.constant_inputs["w"] = Tensor(DType::f32, {1, 4});  // an initializer, not an input
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "not a graph input");

  o = ref_options();
  o.constant_inputs["x"] = Tensor(DType::s64, {1, 4});
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "is s64 but the model declares f32");
  o.constant_inputs["x"] = Tensor(DType::f32, {4});
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "has shape [4] but the model declares [1,4]");
  o.constant_inputs["x"] = Tensor();
  EXPECT_THROW(CompiledModel::compile(m, o), Error);

  o = ref_options();
  o.precision = Precision::int8;  // no calibration data
  EXPECT_THROW(CompiledModel::compile(m, o), Error);
  o.calibration_data = {{{"x", Tensor(DType::f32, {7, 7})}}};
  EXPECT_THROW(CompiledModel::compile(m, o), Error);
  o.calibration_data = {{{"nope", Tensor(DType::f32, {1, 4})}}};
  EXPECT_THROW(CompiledModel::compile(m, o), Error);
  o.calibration_data = {{{"x", Tensor(DType::f32, {1, 4})}}};
  o.calibration_method = CalibrationMethod::percentile;
  o.percentile = 250.0f;
  EXPECT_THROW(CompiledModel::compile(m, o), Error);
  o.percentile = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(CompiledModel::compile(m, o), Error);
  o.percentile = 0.0f;
  EXPECT_THROW(CompiledModel::compile(m, o), Error);
}

// A constant input must match the declared dims where they are fixed, not just the rank.
TEST(ApiErrors, ConstantInputWithWrongDims) {
  CompileOptions o = ref_options();
  o.constant_inputs["x"] = Tensor(DType::f32, {2, 2});
  EXPECT_THROW(CompiledModel::compile(load_public(small_model()), o), Error);
}

TEST(ApiErrors, DimValues) {
  const Model m = load_public(batch_model());
  CompileOptions o = ref_options();
  o.dim_values["batch"] = -1;
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "dim_values['batch'] is negative");
  o.dim_values["batch"] = std::numeric_limits<int64_t>::min();
  EXPECT_OCTET_ERROR(CompiledModel::compile(m, o), "negative");
  o.dim_values["batch"] = 0;  // an empty batch is valid
  CompiledModel c = CompiledModel::compile(m, o);
  EXPECT_EQ(c.create_session().run({{"x", Tensor(DType::f32, {0, 4})}}).at("y").shape(), (Shape{0, 4}));
}

TEST(ApiErrors, CompileAnEmptyModel) {
  EXPECT_OCTET_ERROR(CompiledModel::compile(Model(nullptr)), "the model is empty");
}

TEST(ApiErrors, ExportQdqOfAnFp32Model) {
  TempDir dir;
  EXPECT_THROW(compile_small().export_qdq(dir.file("q.onnx")), Error);
  EXPECT_THROW(compile_small().export_qdq(dir.file("no/such/dir/q.onnx")), Error);
}

// ---------------------------------------------------------------- Session

TEST(ApiErrors, SessionRunWithWrongInputs) {
  CompiledModel c = compile_small();
  Session s = c.create_session();
  EXPECT_OCTET_ERROR(s.run({}), "missing input 'x'");
  EXPECT_OCTET_ERROR(s.run({{"x", Tensor(DType::f32, {1, 4})}, {"extra", Tensor(DType::f32, {1})}}),
                     "'extra' is not an input");
  EXPECT_OCTET_ERROR(s.run({{"x", Tensor(DType::f64, {1, 4})}}), "input 'x' is f64 [1,4]");
  EXPECT_OCTET_ERROR(s.run({{"x", Tensor(DType::f32, {4, 1})}}), "compiled for f32 [1,4]");
  EXPECT_OCTET_ERROR(s.run({{"x", Tensor(DType::f32, {1, 4, 1})}}), "compiled for f32 [1,4]");
  EXPECT_OCTET_ERROR(s.run({{"x", Tensor()}}), "input 'x' is undefined");
  EXPECT_OCTET_ERROR(s.run({{"x", Tensor::wrap(DType::f32, {1, 4}, nullptr)}}), "has no data");
  // The session is still usable after every refusal.
  EXPECT_EQ(s.run({{"x", Tensor(DType::f32, {1, 4})}}).at("y").data_as<float>()[2], 3.0f);
}

TEST(ApiErrors, MovedFromSession) {
  CompiledModel c = compile_small();
  Session s = c.create_session();
  Session moved = std::move(s);
  EXPECT_OCTET_ERROR(s.run({{"x", Tensor(DType::f32, {1, 4})}}), "moved-from");  // NOLINT: use after move on purpose
  EXPECT_THROW(s.enable_profiling(true), Error);                                 // NOLINT
  EXPECT_THROW(s.profile(), Error);                                              // NOLINT
  EXPECT_NO_THROW(moved.run({{"x", Tensor(DType::f32, {1, 4})}}));
}

// Outputs belong to the caller: a later run does not overwrite them, and run never writes
// its inputs.
TEST(ApiErrors, OutputsAreOwnedAndInputsUntouched) {
  CompiledModel c = compile_small();
  Session s = c.create_session();
  Tensor x(DType::f32, {1, 4});
  const float xs[4] = {10, 20, 30, 40};
  std::memcpy(x.data(), xs, sizeof xs);
  Tensor first = s.run({{"x", x}}).at("y");
  EXPECT_EQ(std::memcmp(x.data(), xs, sizeof xs), 0);
  Tensor zero(DType::f32, {1, 4});
  Tensor second = s.run({{"x", zero}}).at("y");
  EXPECT_EQ(first.data_as<float>()[0], 11.0f);
  EXPECT_EQ(first.data_as<float>()[3], 36.0f);
  EXPECT_EQ(second.data_as<float>()[0], 1.0f);
  EXPECT_NE(first.data(), second.data());
}

// run_into writes the outputs into the caller's buffers, whatever produced them (a kernel, a
// view of an input, a pass-through input), and refuses buffers that do not fit.
TEST(ApiErrors, RunIntoCallerBuffers) {
  CompiledModel c = compile_small();
  Session s = c.create_session();
  Tensor x(DType::f32, {1, 4});
  const float xs[4] = {10, 20, 30, 40};
  std::memcpy(x.data(), xs, sizeof xs);
  float ys[4] = {0, 0, 0, 0};
  s.run_into({{"x", x}}, {{"y", Tensor::wrap(DType::f32, {1, 4}, ys)}});
  EXPECT_EQ(ys[0], 11.0f);
  EXPECT_EQ(ys[3], 36.0f);
  EXPECT_NO_THROW(s.run_into({{"x", x}}, {}));  // every output dropped
  float wrong[8] = {};
  EXPECT_OCTET_ERROR(s.run_into({{"x", x}}, {{"y", Tensor::wrap(DType::f32, {2, 4}, wrong)}}),
                     "output buffer 'y' is f32 [2,4] but the model computes f32 [1,4]");
  EXPECT_OCTET_ERROR(s.run_into({{"x", x}}, {{"y", Tensor::wrap(DType::s32, {1, 4}, wrong)}}), "is s32 [1,4]");
  EXPECT_OCTET_ERROR(s.run_into({{"x", x}}, {{"y", Tensor::wrap(DType::f32, {1, 4}, nullptr)}}), "has no data");
  EXPECT_OCTET_ERROR(s.run_into({{"x", x}}, {{"z", Tensor::wrap(DType::f32, {1, 4}, wrong)}}),
                     "'z' is not an output");
  EXPECT_OCTET_ERROR(s.run_into({}, {{"y", Tensor::wrap(DType::f32, {1, 4}, wrong)}}), "missing input 'x'");

  // Outputs that no kernel writes in place: a Reshape of the input and the input itself.
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 4});
  b.initializer(tensor_i64("shape", {2}, {2, 2}));
  b.node("Reshape", {"x", "shape"}, {"r"}, "reshape");
  b.output("r", TP::FLOAT, {2, 2});
  b.output("x", TP::FLOAT, {1, 4});
  Session views = CompiledModel::compile(load_public(b), ref_options()).create_session();
  float rs[4] = {}, echo[4] = {};
  views.run_into({{"x", x}}, {{"r", Tensor::wrap(DType::f32, {2, 2}, rs)}, {"x", Tensor::wrap(DType::f32, {1, 4}, echo)}});
  EXPECT_EQ(std::memcmp(rs, xs, sizeof xs), 0);
  EXPECT_EQ(std::memcmp(echo, xs, sizeof xs), 0);
}

TEST(ApiErrors, ProfilingOnAndOff) {
  CompiledModel c = compile_small();
  Session s = c.create_session();
  s.enable_profiling(true);
  s.run({{"x", Tensor(DType::f32, {1, 4})}});
  std::vector<NodeProfile> p = s.profile();
  ASSERT_FALSE(p.empty());
  for (const NodeProfile& n : p) EXPECT_EQ(n.calls, 1);
  s.enable_profiling(false);
  s.run({{"x", Tensor(DType::f32, {1, 4})}});
  for (const NodeProfile& n : s.profile()) EXPECT_EQ(n.calls, 1);
}

}  // namespace
}  // namespace octet::testing
