// fuzz_tensor_proto: bytes -> onnx.TensorProto -> octet::Tensor (and the same bytes as an
// onnx.SequenceProto / OptionalProto -> octet::Value), the path load_tensor_pb
// (octet_run's test-data reader) and every initializer take: frontend::parse_message, then
// frontend::tensor_from_proto with the tensor's folder as the external-data base directory.
//
// The base directory is a fixture (ExternalDataFixture) so the fuzzer can reach the external
// data resolver: it holds data files whose bytes are all < 0x80, a subfolder, a symlink that
// stays inside, and symlinks that escape to a "secret" file beside the folder, filled with
// 0xEE. Oracles:
//  - a tensor decoded from external data never contains the secret's bytes (no escape);
//  - dtype and shape are the declared ones;
//  - the decoded tensor survives a round trip through tensor_to_proto / tensor_from_proto
//    bit for bit.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

// The frontend's internal header, by path relative to this file (no include directory
// of the test binaries names frontend/src).
#include "../../frontend/src/onnx_internal.h"
#include "fuzz/fuzz_common.h"

namespace octet::fuzz {

constexpr uint8_t kSecretByte = 0xEE;

// <tmp>/model/{w.bin, sub/x.bin, alias.bin -> w.bin, escape.bin -> ../secret.bin, up -> ..}
// and <tmp>/secret.bin. Removed when destroyed.
class ExternalDataFixture {
 public:
  ExternalDataFixture() {
    namespace fs = std::filesystem;
    char tmpl[] = "/tmp/octet_fuzz_tensor_XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    root_ = tmpl;
    model_dir_ = root_ + "/model";
    fs::create_directories(model_dir_ + "/sub");
    std::vector<char> inside(4096), secret(4096, static_cast<char>(kSecretByte));
    for (size_t i = 0; i < inside.size(); ++i) inside[i] = static_cast<char>(i % 0x80);
    write(model_dir_ + "/w.bin", inside);
    write(model_dir_ + "/sub/x.bin", inside);
    write(root_ + "/secret.bin", secret);
    fs::create_symlink("w.bin", model_dir_ + "/alias.bin");
    fs::create_symlink("../secret.bin", model_dir_ + "/escape.bin");
    fs::create_symlink("..", model_dir_ + "/up");
  }
  ~ExternalDataFixture() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  ExternalDataFixture(const ExternalDataFixture&) = delete;
  ExternalDataFixture& operator=(const ExternalDataFixture&) = delete;

  const std::string& model_dir() const { return model_dir_; }

 private:
  static void write(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::string root_, model_dir_;
};

// The same bytes as the sequence / optional test data load_sequence_pb and load_optional_pb
// read: decoded or refused with a clean Error; a sequence's elements share one dtype.
inline void fuzz_value_protos(const uint8_t* data, size_t size, const frontend::TensorSource& src) {
  onnx::SequenceProto sp;
  if (frontend::parse_message(data, size, &sp)) {
    try {
      const Value v = frontend::value_from_sequence_proto(sp, src, "sequence");
      for (const Tensor& t : v.elements())
        require(t.dtype() == v.elements()[0].dtype(), "sequence elements of different dtypes");
    } catch (const Error& e) {
      check_clean_error(e);
    }
  }
  onnx::OptionalProto op;
  if (frontend::parse_message(data, size, &op)) {
    try {
      frontend::value_from_optional_proto(op, src, "optional");
    } catch (const Error& e) {
      check_clean_error(e);
    }
  }
}

inline void fuzz_tensor_proto_one(const uint8_t* data, size_t size, const std::string& base_dir) {
  fuzz_value_protos(data, size, frontend::TensorSource{"<fuzz>.pb", base_dir});
  onnx::TensorProto tp;
  if (!frontend::parse_message(data, size, &tp)) return;  // load_tensor_pb: "not a valid onnx.TensorProto"
  const frontend::TensorSource src{"<fuzz>.pb", base_dir};
  Tensor t;
  try {
    t = frontend::tensor_from_proto(tp, src, "tensor '" + tp.name() + "'");
  } catch (const Error& e) {
    check_clean_error(e);
    return;
  }
  require(static_cast<int32_t>(t.dtype()) == tp.data_type(), "decoded dtype differs from the declared one");
  require(t.shape() == Shape(tp.dims().begin(), tp.dims().end()), "decoded shape differs from the declared dims");
  const auto* bytes = static_cast<const uint8_t*>(t.data());
  if (tp.data_location() == onnx::TensorProto::EXTERNAL)
    for (size_t i = 0; i < t.nbytes(); ++i)
      require(bytes[i] != kSecretByte, "external data was read from outside the model folder");

  onnx::TensorProto again;
  frontend::tensor_to_proto(t, tp.name(), &again);
  Tensor u = frontend::tensor_from_proto(again, frontend::TensorSource{"<round trip>", ""}, "round trip");
  require(u.dtype() == t.dtype() && u.shape() == t.shape(), "round trip changed dtype or shape");
  require(t.nbytes() == 0 || std::memcmp(t.data(), u.data(), t.nbytes()) == 0, "round trip changed the data");
  if (t.dtype() == DType::string)
    for (int64_t i = 0; i < t.numel(); ++i)
      require(t.data_as<std::string>()[i] == u.data_as<std::string>()[i], "round trip changed a string");
}

}  // namespace octet::fuzz
