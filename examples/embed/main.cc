// Loads an ONNX model, compiles it, and classifies a synthetic input from several threads,
// one Session per thread sharing one CompiledModel.
//   octet_embed_example model.onnx [threads]
#include <octet/octet.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s model.onnx [threads]\n", argv[0]);
    return 2;
  }
  int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  try {
    octet::Model model = octet::Model::load(argv[1]);
    octet::CompileOptions options;
    options.threads = 1;  // intra-op threads per session; the sessions run in parallel
    octet::CompiledModel compiled = octet::CompiledModel::compile(model, options);
    std::printf("compiled for %s: %zu bytes of weights, %zu bytes of working memory\n",
                compiled.isa().c_str(), compiled.weights_bytes(), compiled.arena_bytes());

    // A deterministic input for every graph input.
    std::map<std::string, octet::Tensor> feeds;
    for (const octet::TensorInfo& in : compiled.inputs()) {
      if (in.dtype != octet::DType::f32) throw octet::Error("this example feeds f32 inputs only");
      octet::Tensor t(in.dtype, in.shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = float((i * 37) % 101) / 101.0f - 0.5f;
      feeds[in.name] = t;
    }

    std::vector<int64_t> top(threads, -1);
    std::vector<std::string> errors(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        try {  // exceptions must not escape a thread
          octet::Session session = compiled.create_session();
          auto outs = session.run(feeds);
          const octet::Tensor& y = outs.begin()->second;
          int64_t best = 0;
          for (int64_t i = 1; i < y.numel(); ++i)
            if (y.data_as<float>()[i] > y.data_as<float>()[best]) best = i;
          top[t] = best;
        } catch (const octet::Error& e) {
          errors[t] = e.what();
        }
      });
    for (auto& th : pool) th.join();
    for (const std::string& e : errors)
      if (!e.empty()) throw octet::Error(e);
    for (int t = 0; t < threads; ++t) {
      std::printf("session %d: arg-max %lld\n", t, static_cast<long long>(top[t]));
      if (top[t] != top[0]) {
        std::fprintf(stderr, "sessions disagree\n");
        return 1;
      }
    }
    return 0;
  } catch (const octet::Error& e) {
    std::fprintf(stderr, "octet error: %s\n", e.what());
    return 1;
  }
}
