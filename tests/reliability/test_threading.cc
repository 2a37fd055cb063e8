// SessionOptions: the pool's spin (an idle session without it burns no CPU; with it, it
// does, which shows the measurement can see a spinning thread), a caller-supplied
// ThreadPoolInterface (really used, bit-for-bit the outputs of octet's pool and of one
// thread, shared by sessions on several threads), and errors from either reaching the caller.
// CPU time is read from /proc/self/task/*/stat (utime + stime, clock ticks), not wall-clock
// speed. Also run under ThreadSanitizer (tools/run_tests.sh).
#include <dirent.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "reliability/reliability_util.h"
#include "test_support.h"

namespace octet::testing {
namespace {

using Feed = std::map<std::string, Tensor>;

std::vector<std::string> thread_ids() {
  std::vector<std::string> ids;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ids.push_back(e->d_name);
    closedir(d);
  }
  return ids;
}

// utime + stime, in clock ticks, summed over every thread of this process.
long process_cpu_ticks() {
  long total = 0;
  for (const std::string& tid : thread_ids()) {
    std::ifstream f("/proc/self/task/" + tid + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;  // the thread has just exited
    // The command name (field 2) is in parentheses and may hold spaces: fields after it.
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 1));
    std::string field;
    long utime = 0, stime = 0;
    for (int n = 3; n <= 15 && rest >> field; ++n) {
      if (n == 14) utime = std::stol(field);
      if (n == 15) stime = std::stol(field);
    }
    total += utime + stime;
  }
  return total;
}

// CPU ticks the whole process uses over `ms` while this thread sleeps.
long idle_ticks(int ms) {
  const long before = process_cpu_ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return process_cpu_ticks() - before;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.nbytes() == 0 || std::memcmp(a.data(), b.data(), a.nbytes()) == 0);
}

// x [1,8,24,24] -> Conv 3x3 (32 ch) -> Relu -> Conv 3x3 (32 ch) -> GlobalAveragePool ->
// Flatten -> Gemm (10): big enough that the convolutions split across threads.
Model conv_model() {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 8, 24, 24});
  b.initializer(tensor_f32("w1", {32, 8, 3, 3}, random_floats(32 * 8 * 9, 1, 0.3f)));
  b.initializer(tensor_f32("b1", {32}, random_floats(32, 2, 0.1f)));
  b.initializer(tensor_f32("w2", {32, 32, 3, 3}, random_floats(32 * 32 * 9, 3, 0.1f)));
  b.initializer(tensor_f32("b2", {32}, random_floats(32, 4, 0.1f)));
  b.initializer(tensor_f32("fc", {32, 10}, random_floats(320, 5, 0.2f)));
  b.initializer(tensor_f32("fc_b", {10}, random_floats(10, 6, 0.1f)));
  attr_ints(b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  attr_ints(b.node("Conv", {"r1", "w2", "b2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {"c2"}, {"p"}, "gap");
  b.node("Flatten", {"p"}, {"f"}, "flatten");
  b.node("Gemm", {"f", "fc", "fc_b"}, {"y"}, "gemm");
  b.output("y", TP::FLOAT, {1, 10});
  return load_public(b);
}

Feed random_feed(uint32_t seed) {
  Tensor t(DType::f32, {1, 8, 24, 24});
  std::vector<float> v = random_floats(static_cast<size_t>(t.numel()), seed, 2.0f);
  std::memcpy(t.data(), v.data(), t.nbytes());
  return {{"x", t}};
}

CompiledModel compile(Precision precision, int threads) {
  CompileOptions o;
  o.threads = threads;
  o.precision = precision;
  if (precision == Precision::int8)
    for (uint32_t s = 0; s < 4; ++s) o.calibration_data.push_back(random_feed(200 + s));
  return CompiledModel::compile(conv_model(), o);
}

// A caller's pool: task 0 on the calling thread, the others each on a new std::thread.
// Counts what it is given; safe to share between sessions on several threads.
class CountingPool : public ThreadPoolInterface {
 public:
  explicit CountingPool(int size) : size_(size) {}
  int size() const override { return size_; }
  void run(int tasks, const std::function<void(int)>& fn) override {
    calls++;
    tasks_run += tasks;
    std::vector<std::thread> threads;
    for (int t = 1; t < tasks; ++t) threads.emplace_back([&fn, t] { fn(t); });
    fn(0);
    for (std::thread& th : threads) th.join();
  }
  std::atomic<long> calls{0}, tasks_run{0};

 private:
  int size_;
};

TEST(Threading, IdleSessionWithoutSpinUsesNoCpu) {
  const CompiledModel compiled = compile(Precision::fp32, 2);
  SessionOptions o;
  o.spin_us = 0;
  o.threads = 4;  // more pool threads, more that could spin
  Session session = compiled.create_session(o);
  EXPECT_EQ(session.threading(), "threads 4 (octet pool, spin 0 us)");
  for (int i = 0; i < 20; ++i) session.run(random_feed(i));
  // A thread that spun through the window would show ~30 ticks (10 ms each at the usual
  // USER_HZ 100); sleeping threads show 0. The slack covers a tick charged to this thread's
  // own /proc reads and wake-ups.
  const long ticks = idle_ticks(300);
  std::printf("[ idle CPU ] spin 0, 4 pool threads, 300 ms after a run: %ld ticks\n", ticks);
  EXPECT_LE(ticks, 2);
}

// The counterpart that shows both the option and the measurement work: a worker told to spin
// for up to a second after each step is still spinning, on a CPU, during the window.
TEST(Threading, SpinIsHonoured) {
  const CompiledModel compiled = compile(Precision::fp32, 2);
  SessionOptions o;
  o.spin_us = 1000000;
  Session session = compiled.create_session(o);
  EXPECT_EQ(session.threading(), "threads 2 (octet pool, spin 1000000 us)");
  session.run(random_feed(1));
  const long ticks = idle_ticks(300);
  std::printf("[ idle CPU ] spin 1 s, 2 pool threads, 300 ms after a run: %ld ticks\n", ticks);
  // ~30 on an idle machine; a loaded one still gives the spinning thread a fair share.
  EXPECT_GE(ticks, 5);
}

TEST(Threading, DefaultOptionsAndValidation) {
  const CompiledModel compiled = compile(Precision::fp32, 2);
  const SessionOptions defaults;
  EXPECT_EQ(compiled.create_session().threading(),
            "threads 2 (octet pool, spin " + std::to_string(defaults.spin_us) + " us)");
  SessionOptions one;
  one.threads = 1;
  EXPECT_EQ(compiled.create_session(one).threading(), "threads 1 (the calling thread)");
  SessionOptions bad;
  bad.spin_us = -1;
  EXPECT_THROW(compiled.create_session(bad), Error);
  bad.spin_us = 0;
  bad.threads = -2;
  EXPECT_THROW(compiled.create_session(bad), Error);
  SessionOptions empty_pool;
  empty_pool.thread_pool = std::make_shared<CountingPool>(0);
  EXPECT_THROW(compiled.create_session(empty_pool), Error);
}

// The caller's pool runs the parallel work (octet starts no thread), and every pool gives the
// outputs of one thread, bit for bit, FP32 and INT8.
TEST(Threading, ExternalPoolIsUsedAndBitIdentical) {
  for (Precision precision : {Precision::fp32, Precision::int8}) {
    SCOPED_TRACE(precision == Precision::int8 ? "int8" : "fp32");
    for (int size : {2, 3}) {
      SCOPED_TRACE("pool size " + std::to_string(size));
      const CompiledModel compiled = compile(precision, size);
      SessionOptions single;
      single.threads = 1;
      Session one = compiled.create_session(single);
      Session internal = compiled.create_session();
      auto pool = std::make_shared<CountingPool>(size);
      SessionOptions with_pool;
      with_pool.thread_pool = pool;
      const size_t threads_before = thread_ids().size();
      Session external = compiled.create_session(with_pool);
      EXPECT_EQ(thread_ids().size(), threads_before) << "a session on the caller's pool started threads";
      EXPECT_EQ(external.threading(), "threads " + std::to_string(size) + " (caller's pool)");
      for (uint32_t seed = 0; seed < 4; ++seed) {
        const Feed feed = random_feed(seed);
        const Tensor y1 = one.run(feed).at("y");
        EXPECT_TRUE(same_bits(internal.run(feed).at("y"), y1));
        EXPECT_TRUE(same_bits(external.run(feed).at("y"), y1));
      }
      EXPECT_GT(pool->calls.load(), 0);
      EXPECT_GE(pool->tasks_run.load(), 2 * pool->calls.load());
      EXPECT_LE(pool->tasks_run.load(), size * pool->calls.load());
    }
  }
}

// One caller's pool shared by sessions on several threads (its run() called concurrently).
TEST(Threading, ExternalPoolSharedAcrossThreads) {
  const CompiledModel compiled = compile(Precision::fp32, 2);
  SessionOptions single;
  single.threads = 1;
  Session reference = compiled.create_session(single);
  std::vector<Tensor> expected;
  for (uint32_t seed = 0; seed < 4; ++seed) expected.push_back(reference.run(random_feed(seed)).at("y"));
  auto pool = std::make_shared<CountingPool>(2);
  SessionOptions with_pool;
  with_pool.thread_pool = pool;
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  const int iterations = scaled(20);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      try {
        Session s = compiled.create_session(with_pool);
        for (int i = 0; i < iterations; ++i) {
          const uint32_t k = static_cast<uint32_t>((t + i) % 4);
          if (!same_bits(s.run(random_feed(k)).at("y"), expected[k])) mismatches++;
        }
      } catch (const std::exception&) {
        errors++;
      }
    });
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(pool->calls.load(), 0);
}

// A failing executor, or one that drops work, makes Session::run throw octet::Error, and the
// session works again with a working pool behind it.
TEST(Threading, ExternalPoolErrorsReachTheCaller) {
  const CompiledModel compiled = compile(Precision::fp32, 2);
  struct Throwing : ThreadPoolInterface {
    int size() const override { return 2; }
    void run(int, const std::function<void(int)>&) override { throw std::runtime_error("the pool is shut down"); }
  };
  struct Skipping : ThreadPoolInterface {
    int size() const override { return 2; }
    void run(int, const std::function<void(int)>& fn) override { fn(0); }
  };
  SessionOptions o;
  o.thread_pool = std::make_shared<Throwing>();
  Session throwing = compiled.create_session(o);
  try {
    throwing.run(random_feed(0));
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the pool is shut down"), std::string::npos) << e.what();
  }
  o.thread_pool = std::make_shared<Skipping>();
  Session skipping = compiled.create_session(o);
  try {
    skipping.run(random_feed(0));
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("external executor ran 1 calls for 2 tasks"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace octet::testing
