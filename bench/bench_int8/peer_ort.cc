#include "bench_int8/peer_ort.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench_int8/progress.h"

namespace octet::bench {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kChunkBytes = uint64_t(256) << 20;

std::string find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string last_lines(const std::string& text, size_t max_chars) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  if (t.size() > max_chars) t = "..." + t.substr(t.size() - max_chars);
  for (char& c : t)
    if (c == '\n') c = ' ';
  return t;
}

void put_u32(std::ostream& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.write(b, 4);
}

void put_u64(std::ostream& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.write(b, 8);
}

nlohmann::json parse_last_json_line(const std::string& stdout_text, const std::string& what) {
  std::string line, last;
  std::istringstream in(stdout_text);
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') last = line;
  if (last.empty()) throw Error(what + ": printed no JSON line (" + last_lines(stdout_text, 200) + ")");
  try {
    return nlohmann::json::parse(last);
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": invalid JSON output: " + e.what());
  }
}

}  // namespace

std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string run_command(const std::vector<std::string>& argv, const std::string& what, size_t error_chars) {
  char err_path[] = "/tmp/octet-bench-stderr-XXXXXX";
  int fd = mkstemp(err_path);
  if (fd < 0) throw Error(what + ": cannot create a temporary file");
  close(fd);
  std::string command;
  for (const std::string& a : argv) command += (command.empty() ? "" : " ") + shell_quote(a);
  command += " 2>" + shell_quote(err_path) + " </dev/null";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    std::remove(err_path);
    throw Error(what + ": cannot start " + argv.front());
  }
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  std::string err;
  {
    std::ifstream e(err_path, std::ios::binary);
    std::stringstream s;
    s << e.rdbuf();
    err = s.str();
  }
  std::remove(err_path);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    throw Error(what + " failed (exit " + std::to_string(code) + "): " + last_lines(err.empty() ? out : err, error_chars));
  }
  return out;
}

OrtPeer prepare_ort_peer(const std::string& source_dir, const std::string& peers_dir) {
  OrtPeer peer;
  peer.node = find_in_path("node");
  if (peer.node.empty()) throw Error("ONNX Runtime peer: node is not installed (apt-get install nodejs npm)");
  peer.script = (fs::path(source_dir) / "bench" / "peers" / "ort_bench.mjs").string();
  if (!fs::exists(peer.script)) throw Error("ONNX Runtime peer: " + peer.script + " is missing");
  std::error_code ec;
  fs::create_directories(peers_dir, ec);
  peer.ort_dir = fs::absolute(peers_dir).lexically_normal().string();
  // The installer is idempotent: with the package in place it only checks that the native
  // binding loads, so a broken install is caught here rather than as one error per model.
  const std::string installer = (fs::path(source_dir) / "bench" / "peers" / "install_ort.sh").string();
  if (!fs::exists(installer)) throw Error("ONNX Runtime peer: " + installer + " is missing");
  if (!fs::exists(fs::path(peer.ort_dir) / "node_modules" / "onnxruntime-node" / "package.json"))
    progress_note("installing onnxruntime-node into " + peer.ort_dir + " (npm install --ignore-scripts)");
  // Its stderr in full: the last lines carry npm's own error code and message.
  run_command({"bash", installer, peer.ort_dir}, "install_ort.sh", 1500);
  return peer;
}

OrtSpeed ort_throughput(const OrtPeer& peer, const std::string& model, int threads, int streams, double seconds,
                        const std::string& input_dir) {
  char time_text[32];
  std::snprintf(time_text, sizeof time_text, "%g", seconds);
  std::vector<std::string> argv = {peer.node,  peer.script, "--model", model, "--threads", std::to_string(threads),
                                   "--streams", std::to_string(streams), "--time", time_text, "--ort-dir", peer.ort_dir};
  if (!input_dir.empty()) {
    argv.push_back("--input-from");
    argv.push_back(input_dir);
  }
  const std::string what = "ort_bench " + fs::path(model).filename().string();
  const nlohmann::json j = parse_last_json_line(run_command(argv, what), what);
  OrtSpeed s;
  if (!j.contains("ips") || !j["ips"].is_number()) throw Error(what + ": no ips in its output");
  s.ips = j["ips"].get<double>();
  if (j.contains("latency_ms") && j["latency_ms"].is_object()) {
    s.latency_median_ms = j["latency_ms"].value("median", 0.0);
    s.latency_p90_ms = j["latency_ms"].value("p90", 0.0);
  }
  return s;
}

void write_eval_inputs(const std::string& path, const std::vector<Inputs>& samples) {
  if (samples.empty()) throw Error(path + ": no samples to write");
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot create");
  out.write("OCTEVAL1", 8);
  put_u32(out, static_cast<uint32_t>(samples.size()));
  put_u32(out, static_cast<uint32_t>(samples[0].size()));
  for (const auto& [name, tensor] : samples[0]) {
    put_u32(out, static_cast<uint32_t>(name.size()));
    out.write(name.data(), static_cast<std::streamsize>(name.size()));
    put_u32(out, static_cast<uint32_t>(tensor.dtype()));
    put_u32(out, static_cast<uint32_t>(tensor.rank()));
    for (int64_t d : tensor.shape()) put_u64(out, static_cast<uint64_t>(d));
  }
  // Records: each input's bytes in header order (std::map order on every sample). x86 is
  // little-endian, as the format requires.
  for (const Inputs& sample : samples) {
    if (sample.size() != samples[0].size()) throw Error(path + ": samples with different inputs");
    auto first = samples[0].begin();
    for (const auto& [name, tensor] : sample) {
      if (name != first->first || tensor.shape() != first->second.shape() || tensor.dtype() != first->second.dtype())
        throw Error(path + ": input " + name + " changes name, shape or type between samples");
      out.write(static_cast<const char*>(tensor.data()), static_cast<std::streamsize>(tensor.nbytes()));
      ++first;
    }
  }
  if (!out) throw Error(path + ": write failed");
}

std::vector<int64_t> ort_eval_argmax(const OrtPeer& peer, const std::string& model, int threads, int64_t count,
                                     const std::function<Inputs(int64_t)>& sample, const std::string& work_dir,
                                     const OrtEvalOptions& options) {
  std::vector<int64_t> predictions;
  if (count <= 0) return predictions;
  std::error_code ec;
  fs::create_directories(work_dir, ec);
  const std::string file = (fs::path(work_dir) / "eval_inputs.bin").string();
  const std::string dump = (fs::path(work_dir) / "eval_outputs.f32").string();
  if (options.raw_outputs) options.raw_outputs->clear();
  int64_t next = 0;
  while (next < count) {
    std::vector<Inputs> chunk;
    uint64_t bytes = 0;
    while (next < count && (chunk.empty() || bytes < kChunkBytes)) {
      chunk.push_back(sample(next++));
      for (const auto& [name, t] : chunk.back()) bytes += t.nbytes();
    }
    write_eval_inputs(file, chunk);
    const std::string what = "ort_bench --eval-inputs " + fs::path(model).filename().string();
    std::vector<std::string> argv = {peer.node,   peer.script, "--model",   model, "--eval-inputs", file,
                                     "--threads", std::to_string(threads), "--ort-dir", peer.ort_dir};
    if (!options.output.empty()) argv.insert(argv.end(), {"--output", options.output});
    if (options.raw_outputs) argv.insert(argv.end(), {"--dump-outputs", dump});
    const nlohmann::json j = parse_last_json_line(run_command(argv, what), what);
    if (!j.contains("argmax") || !j["argmax"].is_array() || j["argmax"].size() != chunk.size())
      throw Error(what + ": expected " + std::to_string(chunk.size()) + " predictions");
    for (const auto& v : j["argmax"]) predictions.push_back(v.get<int64_t>());
    if (options.raw_outputs) {
      const uintmax_t size = fs::file_size(dump, ec);
      if (ec || size % sizeof(float) != 0) throw Error(what + ": no float32 output dump in " + dump);
      std::ifstream in(dump, std::ios::binary);
      const size_t at = options.raw_outputs->size();
      options.raw_outputs->resize(at + size / sizeof(float));
      in.read(reinterpret_cast<char*>(options.raw_outputs->data() + at), static_cast<std::streamsize>(size));
      if (!in) throw Error(what + ": short read of " + dump);
    }
    if (options.progress) options.progress(next);
  }
  fs::remove(file, ec);
  fs::remove(dump, ec);
  return predictions;
}

}  // namespace octet::bench
