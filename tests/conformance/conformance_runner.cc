// Runs the ONNX backend test data (Debian's libonnx-testdata) through octet.
//
//   conformance_runner DATA_ROOT [--min-node-pass=N] [--filter=SUBSTR] [--verbose]
//                      [--no-fork] [--timeout=SECONDS]
//
// For every DATA_ROOT/{node,pytorch-converted,pytorch-operator,simple}/<test>/ with a
// model.onnx: load, compile (fp32, isa auto), run each test_data_set_*, compare every output
// at the ONNX backend runner's tolerances (rtol 1e-3, atol 1e-7, NaN == NaN).
//  - A model with ops octet lacks (or string / sequence types) is SKIPPED, naming them.
//  - Any other load / compile / run error or a wrong output is FAILED, with the message.
// Each test runs in a forked child so a crash or a hang in one op is reported as that test's
// failure instead of ending the run (--no-fork runs in-process, for debuggers).
// Exit 0 when no test failed and at least --min-node-pass node tests passed.
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../../tools/tensor_compare.h"
#include "octet/frontend/onnx_loader.h"
#include "octet/graph/graph.h"
#include "octet/octet.h"
#include "ops/op_registry.h"

namespace {

constexpr double kRtol = 1e-3;  // onnx/backend/test/loader: rtol = 1e-3, atol = 1e-7
constexpr double kAtol = 1e-7;
const char* const kSuites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

enum class Status { passed, failed, skipped };

struct Result {
  Status status = Status::failed;
  std::string message;
  std::vector<std::string> unsupported;  // op types (or "dtype string", ...) behind a skip
};

struct Options {
  std::string root, filter;
  long min_node_pass = 0;
  bool verbose = false, fork = true;
  int timeout_s = 300;
};

std::vector<std::string> sorted_entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// DIR/<prefix>N.pb sorted by N.
std::vector<std::string> numbered_files(const std::string& dir, const std::string& prefix) {
  std::vector<std::pair<long, std::string>> found;
  for (const std::string& name : sorted_entries(dir)) {
    if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + 3) continue;
    if (name.compare(name.size() - 3, 3, ".pb") != 0) continue;
    const std::string num = name.substr(prefix.size(), name.size() - prefix.size() - 3);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::strtol(num.c_str(), nullptr, 10), dir + "/" + name);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

// Drops the "<path>/model.onnx: " prefix the frontend puts on messages; the test is named already.
std::string strip_prefix(const std::string& msg, const std::string& path) {
  const std::string p = path + ": ";
  return msg.rfind(p, 0) == 0 ? msg.substr(p.size()) : msg;
}

// Errors that mean "octet does not support this kind of model" rather than "octet is wrong":
// returns the reason to list the skip under, or "" for a real failure.
//  - string tensors and sequence / map / optional types (the frontend refuses them);
//  - training mode that is random (Dropout with training_mode=true and a nonzero ratio);
//    BatchNormalization's training mode is deterministic and runs.
std::string skip_reason(const std::string& msg) {
  if (msg.find("unsupported dtype string") != std::string::npos) return "<dtype string>";
  if (msg.find("unsupported dtype") != std::string::npos) return "<dtype>";
  if (msg.find("unsupported type") != std::string::npos) return "<non-tensor type>";
  if (msg.find("training_mode") != std::string::npos) return "<training mode>";
  return "";
}

// Graph inputs that must be known at compile time for the output shapes to be known.
//
// The node tests feed shape-like operands as graph inputs where a real model has
// initializers: Reshape's shape, Expand's shape, Slice's starts/ends, Tile's repeats, TopK's
// k, ConstantOfShape's shape, Resize's sizes... octet resolves every shape at compile time
// (one memory plan per compiled model), so those inputs are frozen into constants through
// CompileOptions::constant_inputs; the ops and the constant folding still compute the result.
// The rule: every int32/int64 input, plus the inputs of other types that decide an output
// shape (the table below: Resize's float roi/scales -- Upsample is rewritten to Resize by the
// frontend --, OneHot's depth, Range's operands, Compress's bool condition, NonZero's,
// Unique's and StringNormalizer's input, NonMaxSuppression's boxes, scores and thresholds,
// which decide how many boxes it selects).
// Every other bool / uint8 / float input stays a runtime input.
std::set<std::string> inputs_to_freeze(const octet::Model& model, const std::map<std::string, octet::Tensor>& feeds) {
  static const std::map<std::string, std::vector<size_t>> kShapeInputs = {
      {"Resize", {1, 2}}, {"OneHot", {1}}, {"Range", {0, 1, 2}}, {"Compress", {1}}, {"NonZero", {0}}, {"Unique", {0}},
      {"NonMaxSuppression", {0, 1, 2, 3, 4}}, {"StringNormalizer", {0}}};
  std::set<std::string> names;
  for (const auto& kv : feeds)
    if (kv.second.dtype() == octet::DType::s64 || kv.second.dtype() == octet::DType::s32) names.insert(kv.first);
  const octet::detail::Graph& g = *model.graph();
  for (const auto& n : g.nodes) {
    auto it = kShapeInputs.find(n.op_type);
    if (it == kShapeInputs.end() || !n.domain.empty()) continue;
    for (size_t i : it->second)
      if (i < n.inputs.size() && n.inputs[i] >= 0 && feeds.count(g.values[n.inputs[i]].name))
        names.insert(g.values[n.inputs[i]].name);
  }
  // An If whose output is an optional may return an empty one from one branch and an element
  // from the other: octet resolves optionals at compile time, so its condition is frozen.
  for (const auto& n : g.nodes) {
    if (n.op_type != "If" || !n.domain.empty() || n.inputs.empty() || n.inputs[0] < 0) continue;
    bool optional_out = false;
    for (int o : n.outputs) optional_out = optional_out || (o >= 0 && g.values[o].is_optional);
    if (optional_out && feeds.count(g.values[n.inputs[0]].name)) names.insert(g.values[n.inputs[0]].name);
  }
  // Loop's trip count M decides the stacked shape of its scan outputs: freeze every graph
  // input it is computed from (the expanded Range tests compute it from float inputs).
  std::vector<int> pending;
  for (const auto& n : g.nodes)
    if (n.op_type == "Loop" && n.domain.empty() && !n.inputs.empty() && n.inputs[0] >= 0) pending.push_back(n.inputs[0]);
  std::set<int> seen;
  while (!pending.empty()) {
    const int v = pending.back();
    pending.pop_back();
    if (v < 0 || !seen.insert(v).second) continue;
    if (feeds.count(g.values[v].name)) names.insert(g.values[v].name);
    const int p = g.values[v].producer;
    if (p >= 0)
      for (int in : g.nodes[p].inputs) pending.push_back(in);
  }
  return names;
}

// numpy has no bfloat16: the ONNX test data stores bf16 tensors as uint16 bit patterns. Give
// such a tensor the bf16 type the model declares.
octet::Tensor as_declared_bf16(const octet::Tensor& t, const std::vector<octet::TensorInfo>& infos,
                               const std::string& name) {
  if (t.dtype() != octet::DType::u16) return t;
  for (const auto& info : infos)
    if (info.name == name && info.dtype == octet::DType::bf16) {
      octet::Tensor b(octet::DType::bf16, t.shape());
      std::memcpy(b.data(), t.data(), t.nbytes());
      return b;
    }
  return t;
}

// Thrown for test data that contradicts the model (ONNX Runtime refuses it too).
struct InvalidTestData : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Loaded {
  std::string name, file;
  octet::Value value;  // a tensor, or for sequence / optional inputs and outputs what the file holds
};

// The i-th data file, read as the i-th model input / output is declared (a TensorProto,
// SequenceProto or OptionalProto: the files do not say which).
std::vector<Loaded> load_matched(const std::vector<std::string>& files, const std::vector<octet::TensorInfo>& infos,
                                 const char* what) {
  std::vector<Loaded> out;
  for (size_t i = 0; i < files.size(); ++i) {
    Loaded l;
    l.file = files[i];
    const octet::TensorInfo* info = i < infos.size() ? &infos[i] : nullptr;
    if (info && info->is_optional)
      l.value = octet::load_optional_pb(files[i], &l.name);
    else if (info && info->is_sequence)
      l.value = octet::load_sequence_pb(files[i], &l.name);
    else
      l.value = octet::load_tensor_pb(files[i], &l.name);
    if (l.name.empty()) {
      if (!info) throw octet::Error(files[i] + ": more " + what + " files than model " + what + "s");
      l.name = info->name;
    }
    if (l.value.is_tensor()) l.value = as_declared_bf16(l.value.tensor(), infos, l.name);
    out.push_back(std::move(l));
  }
  return out;
}


std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

// got against want: "" when they agree at the runner's tolerances, else what differs.
std::string compare_values(const octet::Value& got, const octet::Value& want) {
  if (want.is_none() || got.is_none())
    return want.is_none() == got.is_none() ? "" : want.is_none() ? "holds an element, expected none" : "is none";
  if (want.is_sequence() != got.is_sequence())
    return want.is_sequence() ? "is a tensor, expected a sequence" : "is a sequence, expected a tensor";
  const std::vector<octet::Tensor> g = got.is_sequence() ? got.elements() : std::vector<octet::Tensor>{got.tensor()};
  const std::vector<octet::Tensor> w = want.is_sequence() ? want.elements() : std::vector<octet::Tensor>{want.tensor()};
  if (g.size() != w.size())
    return "has " + std::to_string(g.size()) + " elements, expected " + std::to_string(w.size());
  for (size_t e = 0; e < g.size(); ++e) {
    const std::string at = got.is_sequence() ? "element " + std::to_string(e) + ": " : "";
    const auto c = octet::tools::compare_tensors(g[e], w[e], kRtol, kAtol);
    if (!c.problem.empty()) return at + c.problem;
    if (c.mismatches)
      return at + std::to_string(c.mismatches) + " of " + std::to_string(c.count) + " out of tolerance (max abs err " +
             fmt(c.max_abs) + ", max rel err " + fmt(c.max_rel) + ")";
  }
  return "";
}

// Runs one data set; returns "" when every output matches, else what went wrong.
std::string run_data_set(const octet::Model& model, const std::string& dir) {
  const auto model_inputs = model.inputs();
  const auto model_outputs = model.outputs();
  auto inputs = load_matched(numbered_files(dir, "input_"), model_inputs, "input");
  auto expected = load_matched(numbered_files(dir, "output_"), model_outputs, "output");
  if (expected.empty()) return "no output_N.pb in " + dir;

  octet::CompileOptions opt;
  opt.precision = octet::Precision::fp32;
  opt.isa = "auto";
  // Tensors (frozen or fed), sequences (their element shapes compiled in) and empty optionals
  // (compiled empty).
  std::map<std::string, octet::Tensor> feeds;
  std::map<std::string, octet::Value> value_feeds;
  for (auto& in : inputs) {
    if (in.value.is_tensor()) {
      feeds[in.name] = in.value.tensor();
      continue;
    }
    value_feeds[in.name] = in.value;
    if (in.value.is_none()) {
      opt.empty_optional_inputs.push_back(in.name);
    } else {
      std::vector<octet::Shape>& shapes = opt.sequence_shapes[in.name];
      for (const octet::Tensor& t : in.value.elements()) shapes.push_back(t.shape());
    }
  }
  const octet::detail::Graph& g = *model.graph();
  for (int id : g.inputs) {
    const octet::detail::Value& v = g.values[id];
    auto it = feeds.find(v.name);
    if (it == feeds.end() || !v.shape_known || v.is_sequence) continue;
    bool fits = v.shape.size() == it->second.rank();
    for (size_t d = 0; fits && d < v.shape.size(); ++d) fits = v.shape[d] < 0 || v.shape[d] == it->second.shape()[d];
    if (!fits)
      throw InvalidTestData("the test data gives input '" + v.name + "' shape " + octet::shape_str(it->second.shape()) +
                            " but the model declares " + octet::shape_str(v.shape));
  }

  const std::set<std::string> frozen = inputs_to_freeze(model, feeds);
  for (const auto& name : frozen) opt.constant_inputs[name] = feeds[name];
  // Symbolic dims take the sizes the test data has.
  for (const auto& info : model_inputs) {
    auto it = feeds.find(info.name);
    if (it == feeds.end() || info.is_sequence || info.shape.size() != it->second.rank()) continue;
    for (size_t d = 0; d < info.shape.size(); ++d)
      if (info.shape[d] < 0 && d < info.dim_names.size() && !info.dim_names[d].empty())
        opt.dim_values[info.dim_names[d]] = it->second.shape()[d];
  }
  octet::CompiledModel compiled = octet::CompiledModel::compile(model, opt);
  for (const auto& kv : feeds)
    if (!frozen.count(kv.first)) value_feeds.emplace(kv.first, kv.second);
  octet::Session session = compiled.create_session();
  const auto results = session.run_values(value_feeds);

  std::string problems;
  for (const auto& e : expected) {
    auto it = results.find(e.name);
    std::string p;
    if (it == results.end()) {
      p = "no output '" + e.name + "'";
    } else {
      p = compare_values(it->second, e.value);
      if (!p.empty()) p = "output '" + e.name + "': " + p;
    }
    if (!p.empty()) problems += (problems.empty() ? "" : "; ") + p;
  }
  return problems;
}

Result run_test(const std::string& test_dir) {
  Result r;
  const std::string model_path = test_dir + "/model.onnx";
  try {
    octet::Model model = octet::Model::load(model_path);
    int sets = 0;
    for (const std::string& e : sorted_entries(test_dir)) {
      if (e.rfind("test_data_set_", 0) != 0 || !is_dir(test_dir + "/" + e)) continue;
      ++sets;
      std::string problem = run_data_set(model, test_dir + "/" + e);
      if (!problem.empty()) {
        r.message = e + ": " + problem;
        return r;
      }
    }
    if (sets == 0) {
      r.message = "no test_data_set_* folder";
      return r;
    }
    r.status = Status::passed;
  } catch (const octet::frontend::UnsupportedOpsError& e) {
    r.status = Status::skipped;
    r.message = strip_prefix(e.what(), model_path);
    for (const auto& kv : e.op_counts()) r.unsupported.push_back(kv.first);
  } catch (const InvalidTestData& e) {
    r.status = Status::skipped;
    r.unsupported.push_back("<invalid test data>");
    r.message = e.what();
  } catch (const octet::Error& e) {
    const std::string msg = strip_prefix(e.what(), model_path);
    const std::string reason = skip_reason(msg);
    if (!reason.empty()) {
      r.status = Status::skipped;
      r.unsupported.push_back(reason);
    }
    r.message = msg;
  } catch (const std::exception& e) {
    r.message = std::string("std::exception: ") + e.what();
  }
  return r;
}

// --- isolation: one forked child per test ------------------------------------------------------

std::string encode(const Result& r) {
  std::string s(1, r.status == Status::passed ? 'P' : r.status == Status::skipped ? 'S' : 'F');
  for (const auto& u : r.unsupported) s += u + "\t";
  s += "\n" + r.message;
  return s;
}

Result decode(const std::string& s) {
  Result r;
  const size_t nl = s.find('\n');
  if (s.empty() || nl == std::string::npos) {
    r.message = "the test process exited without a result";
    return r;
  }
  r.status = s[0] == 'P' ? Status::passed : s[0] == 'S' ? Status::skipped : Status::failed;
  std::string ops = s.substr(1, nl - 1);
  size_t start = 0;
  for (size_t tab; (tab = ops.find('\t', start)) != std::string::npos; start = tab + 1)
    r.unsupported.push_back(ops.substr(start, tab - start));
  r.message = s.substr(nl + 1);
  return r;
}

Result run_isolated(const std::string& test_dir, int timeout_s) {
  int fds[2];
  if (::pipe(fds) != 0) return run_test(test_dir);
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return run_test(test_dir);
  }
  if (pid == 0) {
    ::close(fds[0]);
    const std::string out = encode(run_test(test_dir));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string data;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Result r;
  if (timed_out) {
    r.message = "timed out after " + std::to_string(timeout_s) + " s";
  } else if (WIFSIGNALED(status)) {
    r.message = std::string("crashed: signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.message = "the test process exited with status " + std::to_string(WEXITSTATUS(status));
  } else {
    r = decode(data);
  }
  return r;
}

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("--min-node-pass=")) {
      char* end = nullptr;
      o->min_node_pass = std::strtol(v, &end, 10);
      if (*v == '\0' || *end != '\0' || o->min_node_pass < 0) return false;
    } else if (const char* v = value("--filter=")) {
      o->filter = v;
    } else if (const char* v = value("--timeout=")) {
      o->timeout_s = std::atoi(v);
      if (o->timeout_s <= 0) return false;
    } else if (a == "--verbose") {
      o->verbose = true;
    } else if (a == "--no-fork") {
      o->fork = false;
    } else if (!a.empty() && a[0] != '-' && o->root.empty()) {
      o->root = a;
    } else {
      return false;
    }
  }
  return !o->root.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: conformance_runner DATA_ROOT [--min-node-pass=N] [--filter=SUBSTR] [--verbose] "
                 "[--no-fork] [--timeout=SECONDS]\n");
    return 2;
  }
  if (!is_dir(opt.root)) {
    std::fprintf(stderr, "conformance_runner: error: %s is not a folder\n", opt.root.c_str());
    return 2;
  }
  try {
    // Build the op registry once before forking, so children inherit it.
    octet::detail::OpRegistry::instance();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conformance_runner: error: %s\n", e.what());
    return 2;
  }

  long total[3] = {0, 0, 0}, node_passed = 0;
  std::map<std::string, int> skipped_by_op;
  std::vector<std::string> summaries;
  for (const char* suite : kSuites) {
    const std::string suite_dir = opt.root + "/" + suite;
    long counts[3] = {0, 0, 0};
    for (const std::string& test : sorted_entries(suite_dir)) {
      const std::string dir = suite_dir + "/" + test;
      const std::string id = std::string(suite) + "/" + test;
      if (!opt.filter.empty() && id.find(opt.filter) == std::string::npos) continue;
      if (!is_file(dir + "/model.onnx")) continue;
      if (opt.verbose) {
        std::printf("RUN     %s\n", id.c_str());
        std::fflush(stdout);
      }
      const Result r = opt.fork ? run_isolated(dir, opt.timeout_s) : run_test(dir);
      counts[static_cast<int>(r.status)]++;
      if (r.status == Status::failed) {
        std::printf("FAILED  %s: %s\n", id.c_str(), r.message.c_str());
      } else if (r.status == Status::skipped) {
        std::printf("SKIPPED %s: %s\n", id.c_str(), r.message.c_str());
        for (const auto& op : r.unsupported) skipped_by_op[op]++;
      } else if (opt.verbose) {
        std::printf("PASSED  %s\n", id.c_str());
      }
      std::fflush(stdout);
    }
    if (std::string(suite) == "node") node_passed = counts[0];
    for (int k = 0; k < 3; ++k) total[k] += counts[k];
    summaries.push_back(std::string(suite) + ": " + std::to_string(counts[0]) + " passed, " +
                        std::to_string(counts[1]) + " failed, " + std::to_string(counts[2]) + " skipped");
  }

  if (!skipped_by_op.empty()) {
    std::vector<std::pair<int, std::string>> by_count;
    for (const auto& kv : skipped_by_op) by_count.emplace_back(-kv.second, kv.first);
    std::sort(by_count.begin(), by_count.end());
    std::string line = "unsupported (tests skipped):";
    for (const auto& p : by_count) line += " " + p.second + " (" + std::to_string(-p.first) + ")";
    std::printf("%s\n", line.c_str());
  }
  for (const auto& s : summaries) std::printf("%s\n", s.c_str());
  bool ok = total[1] == 0;
  if (node_passed < opt.min_node_pass) {
    std::printf("node tests passed: %ld, below --min-node-pass=%ld\n", node_passed, opt.min_node_pass);
    ok = false;
  }
  std::printf("%ld passed, %ld failed, %ld skipped\n", total[0], total[1], total[2]);
  return ok ? 0 : 1;
}
