// The C API computes what the C++ API computes: on every zoo model with test data, FP32 and
// INT8 (calibrated on the test input) through octet_c.h and through octet.h give bit-identical
// outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "octet/octet.h"
#include "octet/octet_c.h"
#include "zoo_models.h"

namespace octet::testing {
namespace {

using Sample = std::map<std::string, Tensor>;

// Throws the status' message (and frees it) when a C call failed.
void ok(octet_status* status) {
  if (!status) return;
  const std::string message = octet_status_message(status);
  octet_status_free(status);
  throw Error("C API: " + message);
}

// Frees a C handle when the test leaves its scope, however it leaves.
template <class Handle, octet_status* (*Free)(Handle*)>
struct Owned {
  Handle* handle = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { octet_status_free(Free(handle)); }
};
using OwnedModel = Owned<octet_model, octet_model_free>;
using OwnedOptions = Owned<octet_compile_options, octet_compile_options_free>;
using OwnedCompiled = Owned<octet_compiled_model, octet_compiled_model_free>;
using OwnedSession = Owned<octet_session, octet_session_free>;
using OwnedTensor = Owned<octet_tensor, octet_tensor_free>;

// Wraps each tensor of `sample` (no copy) as a C tensor handle.
std::vector<std::unique_ptr<OwnedTensor>> wrap_sample(const Sample& sample) {
  std::vector<std::unique_ptr<OwnedTensor>> wrapped;
  for (const auto& kv : sample) {
    const Tensor& t = kv.second;
    wrapped.push_back(std::make_unique<OwnedTensor>());
    ok(octet_tensor_wrap(static_cast<octet_dtype>(t.dtype()), t.shape().data(), t.rank(), const_cast<void*>(t.data()),
                         t.nbytes(), &wrapped.back()->handle));
  }
  return wrapped;
}

// Compiles and runs `path` on `sample` through the C API; every output by name.
Sample run_through_c(const std::string& path, const Sample& sample, bool int8) {
  OwnedModel model;
  ok(octet_model_load(path.c_str(), &model.handle));
  OwnedOptions options;
  ok(octet_compile_options_create(&options.handle));
  std::vector<const char*> names;
  for (const auto& kv : sample) names.push_back(kv.first.c_str());
  const auto wrapped = wrap_sample(sample);
  std::vector<const octet_tensor*> tensors;
  for (const auto& w : wrapped) tensors.push_back(w->handle);
  if (int8) {
    ok(octet_compile_options_set_precision(options.handle, OCTET_PRECISION_INT8));
    ok(octet_compile_options_add_calibration_sample(options.handle, names.data(), tensors.data(), names.size()));
  }
  OwnedCompiled compiled;
  ok(octet_compile(model.handle, options.handle, &compiled.handle));
  OwnedSession session;
  ok(octet_session_create(compiled.handle, &session.handle));

  size_t output_count = 0;
  ok(octet_compiled_model_io_count(compiled.handle, OCTET_OUTPUTS, &output_count));
  std::vector<const char*> output_names(output_count);
  for (size_t i = 0; i < output_count; ++i) {
    octet_value_info info;
    ok(octet_compiled_model_io_info(compiled.handle, OCTET_OUTPUTS, i, &info));
    output_names[i] = info.name;
  }
  std::vector<octet_tensor*> outputs(output_count, nullptr);
  ok(octet_session_run(session.handle, names.data(), tensors.data(), names.size(), output_names.data(),
                       outputs.data(), output_count));
  Sample result;
  for (size_t i = 0; i < output_count; ++i) {
    OwnedTensor owned;
    owned.handle = outputs[i];
    octet_dtype dtype;
    size_t rank = 0;
    const int64_t* dims = nullptr;
    void* data = nullptr;
    ok(octet_tensor_dtype(owned.handle, &dtype));
    ok(octet_tensor_shape(owned.handle, &rank, &dims));
    ok(octet_tensor_data(owned.handle, &data));
    Tensor copy(static_cast<DType>(dtype), Shape(dims, dims + rank));
    std::memcpy(copy.data(), data, copy.nbytes());
    result[output_names[i]] = copy;
  }
  return result;
}

Sample run_through_cpp(const Model& model, const Sample& sample, bool int8) {
  CompileOptions options;
  if (int8) {
    options.precision = Precision::int8;
    options.calibration_data = {sample};
  }
  return CompiledModel::compile(model, options).create_session().run(sample);
}

void expect_identical(const Sample& c, const Sample& cpp, const std::string& what) {
  ASSERT_EQ(c.size(), cpp.size()) << what;
  for (const auto& kv : cpp) {
    ASSERT_TRUE(c.count(kv.first)) << what << ": no output " << kv.first;
    const Tensor& a = c.at(kv.first);
    const Tensor& b = kv.second;
    ASSERT_EQ(a.dtype(), b.dtype()) << what << " " << kv.first;
    ASSERT_EQ(a.shape(), b.shape()) << what << " " << kv.first;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0) << what << " " << kv.first << " differs";
  }
}

TEST(CApi, SameOutputsAsCppOnZooModels) {
  if (zoo_dir().empty()) GTEST_SKIP() << "../shared/zoo is absent";
  int models = 0;
  for (const ZooModel& zoo_model : zoo_models_with_test_data()) {
    const Model model = Model::load(zoo_model.path);
    const Sample sample = zoo_test_inputs(zoo_model, model.inputs());
    for (bool int8 : {false, true}) {
      SCOPED_TRACE(zoo_model.name + (int8 ? " int8" : " fp32"));
      expect_identical(run_through_c(zoo_model.path, sample, int8), run_through_cpp(model, sample, int8),
                       zoo_model.name);
    }
    ++models;
  }
  EXPECT_GT(models, 0);
}

}  // namespace
}  // namespace octet::testing
