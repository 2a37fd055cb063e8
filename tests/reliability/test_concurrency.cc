// One CompiledModel, many Sessions in parallel threads: every output of every inference must
// be bit-for-bit the output a single-threaded run gives for the same input. Threads pick
// their inputs from a shared set in different orders, so a session that leaked state into
// another (a shared scratch buffer, a kernel writing its packed weights) shows up as a
// mismatch. Also run under ThreadSanitizer (tools/run_tests.sh, which sets
// OCTET_RELIABILITY_SCALE to shorten the loops there).
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "reliability/reliability_util.h"
#include "test_support.h"

namespace octet::testing {
namespace {

using Feed = std::map<std::string, Tensor>;

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.nbytes() == 0 || std::memcmp(a.data(), b.data(), a.nbytes()) == 0);
}

struct StressResult {
  int runs = 0, mismatches = 0, errors = 0;
  std::string first_problem;
};

// `threads` threads, each with its own Session, each running `iterations` inferences.
StressResult stress(const CompiledModel& compiled, const std::vector<Feed>& feeds, int threads, int iterations) {
  Session reference_session = compiled.create_session();
  std::vector<std::map<std::string, Tensor>> expected;
  for (const Feed& f : feeds) expected.push_back(reference_session.run(f));

  StressResult result;
  std::mutex mu;
  std::atomic<int> runs{0};
  auto report = [&](bool error, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    (error ? result.errors : result.mismatches) += 1;
    if (result.first_problem.empty()) result.first_problem = what;
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        Session session = compiled.create_session();
        for (int i = 0; i < iterations; ++i) {
          const size_t k = (static_cast<size_t>(t) * 131 + static_cast<size_t>(i) * 7) % feeds.size();
          std::map<std::string, Tensor> out = session.run(feeds[k]);
          runs.fetch_add(1);
          for (const auto& kv : expected[k]) {
            auto it = out.find(kv.first);
            if (it == out.end() || !same_bits(it->second, kv.second))
              report(false, "thread " + std::to_string(t) + " iteration " + std::to_string(i) + " input " +
                                std::to_string(k) + ": output '" + kv.first + "' differs from the single-thread run");
          }
        }
      } catch (const std::exception& e) {
        report(true, "thread " + std::to_string(t) + ": " + e.what());
      }
    });
  }
  for (std::thread& th : pool) th.join();
  result.runs = runs.load();
  return result;
}

void expect_clean(const StressResult& r, int expected_runs) {
  EXPECT_EQ(r.errors, 0) << r.first_problem;
  EXPECT_EQ(r.mismatches, 0) << r.first_problem;
  EXPECT_EQ(r.runs, expected_runs);
}

// x [1,1,16,16] -> Conv 3x3 (8 ch, pad 1) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm (10)
// -> Softmax: a convolution, a GEMM and reductions, each with constant weights.
ModelBuilder synthetic_model() {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 1, 16, 16});
  b.initializer(tensor_f32("w", {8, 1, 3, 3}, random_floats(72, 1, 0.5f)));
  b.initializer(tensor_f32("bias", {8}, random_floats(8, 2, 0.1f)));
  b.initializer(tensor_f32("fc", {512, 10}, random_floats(5120, 3, 0.05f)));
  b.initializer(tensor_f32("fc_b", {10}, random_floats(10, 4, 0.1f)));
  attr_ints(b.node("Conv", {"x", "w", "bias"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"}, "relu");
  auto* pool = b.node("MaxPool", {"r"}, {"p"}, "pool");
  attr_ints(pool, "kernel_shape", {2, 2});
  attr_ints(pool, "strides", {2, 2});
  b.node("Flatten", {"p"}, {"f"}, "flatten");
  b.node("Gemm", {"f", "fc", "fc_b"}, {"g"}, "gemm");
  b.node("Softmax", {"g"}, {"y"}, "softmax");
  b.output("y", TP::FLOAT, {1, 10});
  return b;
}

std::vector<Feed> random_feeds(const std::string& name, const Shape& shape, int count) {
  std::vector<Feed> feeds;
  for (int i = 0; i < count; ++i) {
    Tensor t(DType::f32, shape);
    std::vector<float> v = random_floats(static_cast<size_t>(t.numel()), 100 + i, 2.0f);
    std::memcpy(t.data(), v.data(), t.nbytes());
    feeds.push_back({{name, t}});
  }
  return feeds;
}

TEST(Concurrency, SyntheticModelEightThreads) {
  const Model model = load_public(synthetic_model());
  const std::vector<Feed> feeds = random_feeds("x", {1, 1, 16, 16}, 16);
  const int iterations = scaled(200);
  for (const char* isa : {"ref", "auto"}) {
    SCOPED_TRACE(std::string("isa ") + isa);
    CompileOptions o = ref_options();
    o.isa = isa;
    const CompiledModel compiled = CompiledModel::compile(model, o);
    expect_clean(stress(compiled, feeds, 8, iterations), 8 * iterations);
  }
}

// Sessions that use an intra-op thread pool of their own, several at once.
TEST(Concurrency, SessionsWithThreadPools) {
  CompileOptions o = ref_options();
  o.isa = "auto";
  o.threads = 2;
  const CompiledModel compiled = CompiledModel::compile(load_public(synthetic_model()), o);
  const int iterations = scaled(100);
  expect_clean(stress(compiled, random_feeds("x", {1, 1, 16, 16}, 8), 4, iterations), 4 * iterations);
}

// Model and CompiledModel are immutable: compiling one Model from several threads at once
// gives the same program, and a session keeps working after its CompiledModel is gone.
TEST(Concurrency, CompileConcurrentlyAndOutliveTheCompiledModel) {
  const Model model = load_public(synthetic_model());
  const Feed feed = random_feeds("x", {1, 1, 16, 16}, 1)[0];
  const Tensor expected = CompiledModel::compile(model, ref_options()).create_session().run(feed).at("y");
  std::vector<Session> sessions;
  std::mutex mu;
  std::atomic<int> errors{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&] {
      try {
        CompiledModel c = CompiledModel::compile(model, ref_options());
        Session s = c.create_session();
        std::lock_guard<std::mutex> lock(mu);
        sessions.push_back(std::move(s));
      } catch (const std::exception&) {
        errors.fetch_add(1);
      }
    });
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_EQ(sessions.size(), 4u);
  for (Session& s : sessions) EXPECT_TRUE(same_bits(s.run(feed).at("y"), expected));
}

// Zoo models (../shared/zoo): the real test input plus variations of it.
void zoo_stress(const std::string& name) {
  const std::string zoo = zoo_dir();
  if (zoo.empty()) GTEST_SKIP() << "the model zoo (../shared/zoo or $OCTET_ZOO) is absent; " << name << " skipped";
  const std::string dir = zoo + "/models/" + name;
  const Model model = Model::load(dir + ".onnx");
  std::string input_name;
  const Tensor base = load_tensor_pb(dir + "/test_data_set_0/input_0.pb", &input_name);
  ASSERT_EQ(base.dtype(), DType::f32);
  std::vector<Feed> feeds;
  for (int i = 0; i < 8; ++i) {
    Tensor t = base.clone();
    float* p = t.data_as<float>();
    for (int64_t j = 0; j < t.numel(); ++j) p[j] = p[j] * (1.0f + 0.25f * i) + 0.01f * static_cast<float>((j * (i + 3)) % 17);
    feeds.push_back({{input_name, t}});
  }
  CompileOptions o;
  o.threads = 1;
  const CompiledModel compiled = CompiledModel::compile(model, o);
  const int iterations = scaled(200);
  expect_clean(stress(compiled, feeds, 8, iterations), 8 * iterations);
}

TEST(Concurrency, ZooMnist8) { zoo_stress("mnist-8"); }
TEST(Concurrency, ZooFmnistResnet) { zoo_stress("fmnist-resnet"); }

}  // namespace
}  // namespace octet::testing
