// octet_run: runs an ONNX model on one ONNX test data set and compares the outputs, like
// ONNX Runtime's onnx_test_runner.
//
//   octet_run --model M.onnx --test-data DIR [--precision fp32|int8]
//             [--isa auto|ref|avx2|avx2_fast|avx512|avx512_fast|vnni]
//             [--rtol R] [--atol A] [--threads N] [--verbose]
//
// DIR holds input_N.pb / output_N.pb (serialized onnx.TensorProto), matched to the model's
// inputs and outputs by the tensor name, or by position when the name is empty.
// Exit status: 0 every output within tolerance, 1 some output is not, 2 bad usage or input
// (one line "octet_run: error: ..." on stderr).
#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "octet/octet.h"
#include "tensor_compare.h"

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string model, test_data, precision = "fp32", isa = "auto";
  double rtol = 1e-3, atol = 1e-4;
  int threads = 0;
  bool verbose = false;
};

const char kUsage[] =
    "usage: octet_run --model M.onnx --test-data DIR [--precision fp32|int8]\n"
    "                 [--isa auto|ref|avx2|avx2_fast|avx512|avx512_fast|vnni]\n"
    "                 [--rtol R] [--atol A] [--threads N] [--verbose]\n";

double parse_double(const std::string& flag, const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(v >= 0)) throw UsageError(flag + " needs a non-negative number, got '" + s + "'");
  return v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    const bool is_flag = arg.rfind("--", 0) == 0;
    const size_t eq = arg.find('=');
    bool has_inline_value = is_flag && eq != std::string::npos;
    if (has_inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto next = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") a.model = next();
    else if (arg == "--test-data") a.test_data = next();
    else if (arg == "--precision") a.precision = next();
    else if (arg == "--isa") a.isa = next();
    else if (arg == "--rtol") a.rtol = parse_double(arg, next());
    else if (arg == "--atol") a.atol = parse_double(arg, next());
    else if (arg == "--threads") {
      const std::string v = next();
      char* end = nullptr;
      const long t = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || t < 0 || t > 1024) throw UsageError("--threads needs a count, got '" + v + "'");
      a.threads = static_cast<int>(t);
    } else if (arg == "--verbose" && !has_inline_value) a.verbose = true;
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else throw UsageError("unknown argument '" + std::string(argv[i]) + "'");
  }
  if (a.model.empty()) throw UsageError("--model is required");
  if (a.test_data.empty()) throw UsageError("--test-data is required");
  if (a.precision != "fp32" && a.precision != "int8")
    throw UsageError("--precision must be fp32 or int8, got '" + a.precision + "'");
  return a;
}

// DIR/<prefix>N.pb sorted by N.
std::vector<std::string> numbered_files(const std::string& dir, const std::string& prefix) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw octet::Error(dir + ": cannot open test data folder");
  std::vector<std::pair<long, std::string>> found;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + 3) continue;
    if (name.compare(name.size() - 3, 3, ".pb") != 0) continue;
    const std::string num = name.substr(prefix.size(), name.size() - prefix.size() - 3);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::strtol(num.c_str(), nullptr, 10), dir + "/" + name);
  }
  ::closedir(d);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

struct NamedTensor {
  std::string name, file;
  octet::Tensor tensor;
};

// Loads the files and gives each the model name it belongs to (its own name, else position).
std::vector<NamedTensor> load_matched(const std::vector<std::string>& files, const std::vector<octet::TensorInfo>& infos,
                                      const char* what) {
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < files.size(); ++i) {
    NamedTensor nt;
    nt.file = files[i];
    nt.tensor = octet::load_tensor_pb(files[i], &nt.name);
    if (nt.name.empty()) {
      if (i >= infos.size())
        throw octet::Error(files[i] + ": the model has only " + std::to_string(infos.size()) + " " + what + "s");
      nt.name = infos[i].name;
    } else {
      bool known = false;
      for (const auto& info : infos) known = known || info.name == nt.name;
      if (!known) throw octet::Error(files[i] + ": names '" + nt.name + "', which is not a model " + what);
    }
    out.push_back(std::move(nt));
  }
  return out;
}

std::string mb(size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string describe(const octet::Tensor& t) { return std::string(octet::dtype_name(t.dtype())) + octet::shape_str(t.shape()); }

int run(const Args& args) {
  octet::Model model = octet::Model::load(args.model);
  const auto model_inputs = model.inputs();
  const auto model_outputs = model.outputs();

  auto inputs = load_matched(numbered_files(args.test_data, "input_"), model_inputs, "input");
  auto expected = load_matched(numbered_files(args.test_data, "output_"), model_outputs, "output");
  if (expected.empty()) throw octet::Error(args.test_data + ": no output_N.pb files");

  octet::CompileOptions opt;
  opt.precision = args.precision == "int8" ? octet::Precision::int8 : octet::Precision::fp32;
  opt.isa = args.isa;
  opt.threads = args.threads;
  std::map<std::string, octet::Tensor> feeds;
  for (const auto& in : inputs) {
    feeds[in.name] = in.tensor;
    // Bind the model's symbolic dims to the shapes the test data has.
    for (const auto& info : model_inputs) {
      if (info.name != in.name) continue;
      if (info.shape.size() != in.tensor.rank())
        throw octet::Error(in.file + ": shape " + octet::shape_str(in.tensor.shape()) + " does not match input '" +
                           info.name + "' " + octet::shape_str(info.shape));
      for (size_t d = 0; d < info.shape.size(); ++d) {
        const std::string dn = d < info.dim_names.size() ? info.dim_names[d] : std::string();
        if (info.shape[d] >= 0 || dn.empty()) continue;
        auto it = opt.dim_values.find(dn);
        if (it != opt.dim_values.end() && it->second != in.tensor.shape()[d])
          throw octet::Error(in.file + ": dimension '" + dn + "' is " + std::to_string(it->second) +
                             " in another input but " + std::to_string(in.tensor.shape()[d]) + " here");
        opt.dim_values[dn] = in.tensor.shape()[d];
      }
    }
  }
  for (const auto& info : model_inputs)
    if (!feeds.count(info.name)) throw octet::Error(args.test_data + ": no input_N.pb for model input '" + info.name + "'");

  const auto t0 = std::chrono::steady_clock::now();
  octet::CompiledModel compiled = octet::CompiledModel::compile(model, opt);
  const auto t1 = std::chrono::steady_clock::now();
  octet::Session session = compiled.create_session();
  std::map<std::string, octet::Tensor> results = session.run(feeds);
  const auto t2 = std::chrono::steady_clock::now();

  std::printf("model %s: isa %s, arena %s (%zu bytes), weights %s (%zu bytes)\n", args.model.c_str(),
              compiled.isa().c_str(), mb(compiled.arena_bytes()).c_str(), compiled.arena_bytes(),
              mb(compiled.weights_bytes()).c_str(), compiled.weights_bytes());
  if (args.verbose) {
    std::printf("compile %.1f ms, first run %.1f ms\n", std::chrono::duration<double, std::milli>(t1 - t0).count(),
                std::chrono::duration<double, std::milli>(t2 - t1).count());
    std::printf("%s", compiled.describe().c_str());
  }

  bool all_ok = true;
  for (const auto& e : expected) {
    auto it = results.find(e.name);
    if (it == results.end()) throw octet::Error(e.file + ": the model produced no output '" + e.name + "'");
    const auto c = octet::tools::compare_tensors(it->second, e.tensor, args.rtol, args.atol);
    if (!c.problem.empty()) {
      std::printf("output '%s': %s  FAIL\n", e.name.c_str(), c.problem.c_str());
      all_ok = false;
      continue;
    }
    std::printf("output '%s' %s: max abs err %.3g, max rel err %.3g, %lld of %lld out of tolerance  %s\n",
                e.name.c_str(), describe(e.tensor).c_str(), c.max_abs, c.max_rel,
                static_cast<long long>(c.mismatches), static_cast<long long>(c.count), c.ok() ? "OK" : "FAIL");
    all_ok = all_ok && c.ok();
  }
  std::printf("%s (rtol %g, atol %g)\n", all_ok ? "PASS" : "FAIL", args.rtol, args.atol);
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const UsageError& e) {
    std::cerr << "octet_run: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const octet::Error& e) {
    std::cerr << "octet_run: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "octet_run: error: " << e.what() << "\n";
    return 2;
  }
}
