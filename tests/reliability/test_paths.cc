// Path safety of external data, beyond tests/frontend/test_initializers.cc (which covers
// absolute paths, "..", "..\\", a symlinked file or folder leading outside, an inside
// symlink, a missing file and bad offsets): special files (a directory, a FIFO, /dev/zero),
// degenerate locations, symlink chains, and the other readers of TensorProto (Constant
// nodes, load_tensor_pb). Everything goes through Model::load / load_tensor_pb.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "reliability/reliability_util.h"

namespace octet::testing {
namespace {

const float kInside[4] = {1, 2, 3, 4};

TP external(const std::string& location, const std::string& name = "w", const std::string& offset = "",
            const std::string& length = "") {
  return tensor_external(name, TP::FLOAT, {4}, location, offset, length);
}

// y = x + w, with w stored as external data; saved as <dir>/model/model.onnx.
struct ModelFolder {
  TempDir outer;
  std::string dir, model;
  ModelFolder() {
    dir = outer.file("model");
    model = dir + "/model.onnx";
    EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0);
    outer.write("model/w.bin", kInside, sizeof(kInside));
    const float secret[4] = {-7, -7, -7, -7};
    outer.write("secret.bin", secret, sizeof(secret));
  }
  void save_with(const TP& w) const {
    ModelBuilder b;
    b.input("x", TP::FLOAT, {4});
    b.initializer(w);
    b.node("Add", {"x", "w"}, {"y"}, "add");
    b.output("y", TP::FLOAT, {4});
    b.save(model);
  }
  std::string load_error(const TP& w) const {
    save_with(w);
    try {
      Model::load(model);
      ADD_FAILURE() << "loaded with external data location '" << w.external_data(0).value() << "'";
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
};

TEST(PathSafety, InsideFolderStillLoads) {
  ModelFolder f;
  f.save_with(external("w.bin"));
  EXPECT_NO_THROW(Model::load(f.model));
  f.save_with(external("./w.bin"));
  EXPECT_NO_THROW(Model::load(f.model));
}

TEST(PathSafety, DirectoryAsLocation) {
  ModelFolder f;
  ASSERT_EQ(::mkdir((f.dir + "/sub").c_str(), 0755), 0);
  EXPECT_CONTAINS(f.load_error(external("sub")), "not a regular file");
  EXPECT_CONTAINS(f.load_error(external("sub/")), "not a regular file");
  EXPECT_FALSE(f.load_error(external(".")).empty());
  EXPECT_FALSE(f.load_error(external("")).empty());
}

TEST(PathSafety, DeviceFiles) {
  ModelFolder f;
  EXPECT_CONTAINS(f.load_error(external("/dev/zero")), "absolute path");
  ASSERT_EQ(::symlink("/dev/zero", (f.dir + "/zero.bin").c_str()), 0);
  EXPECT_CONTAINS(f.load_error(external("zero.bin")), "outside the model's folder");
  EXPECT_CONTAINS(f.load_error(external("C:\\weights\\w.bin")), "absolute path");
}

// A FIFO inside the folder must be refused, not waited on forever. If the load blocks, the
// test unblocks it by opening the FIFO for writing, and fails.
TEST(PathSafety, FifoAsLocation) {
  ModelFolder f;
  const std::string fifo = f.dir + "/pipe.bin";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  f.save_with(external("pipe.bin"));
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      Model::load(f.model);
      return "loaded";
    } catch (const Error& e) {
      return e.what();
    }
  });
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "Model::load blocked on a FIFO named as external data";
    int fd = ::open(fifo.c_str(), O_WRONLY);  // releases the blocked open()
    if (fd >= 0) ::close(fd);
  }
  EXPECT_CONTAINS(result.get(), "not a regular file");
}

TEST(PathSafety, SymlinkChains) {
  ModelFolder f;
  // inside -> inside -> outside: the final target decides.
  ASSERT_EQ(::symlink("../secret.bin", (f.dir + "/hop2.bin").c_str()), 0);
  ASSERT_EQ(::symlink("hop2.bin", (f.dir + "/hop1.bin").c_str()), 0);
  EXPECT_CONTAINS(f.load_error(external("hop1.bin")), "outside the model's folder");
  // A folder symlink to the model folder itself stays inside.
  ASSERT_EQ(::symlink(".", (f.dir + "/self").c_str()), 0);
  f.save_with(external("self/self/w.bin"));
  EXPECT_NO_THROW(Model::load(f.model));
  // A dangling symlink.
  ASSERT_EQ(::symlink("nowhere.bin", (f.dir + "/dangling.bin").c_str()), 0);
  EXPECT_CONTAINS(f.load_error(external("dangling.bin")), "not found");
}

// The model file itself reached through a symlinked folder: external data still resolves in
// (and only in) the folder the model was opened from.
TEST(PathSafety, ModelOpenedThroughSymlinkedFolder) {
  ModelFolder f;
  f.save_with(external("w.bin"));
  const std::string link = f.outer.file("link");
  ASSERT_EQ(::symlink(f.dir.c_str(), link.c_str()), 0);
  EXPECT_NO_THROW(Model::load(link + "/model.onnx"));
}

// A NUL byte inside the location must not turn a refused path into an accepted one.
TEST(PathSafety, EmbeddedNul) {
  ModelFolder f;
  const std::string escape = std::string("w.bin\0/../../secret.bin", 24);
  EXPECT_FALSE(f.load_error(external(escape)).empty());
  const std::string abs = std::string("\0/etc/passwd", 12);
  EXPECT_FALSE(f.load_error(external(abs)).empty());
}

TEST(PathSafety, ExtremeOffsets) {
  ModelFolder f;
  EXPECT_CONTAINS(f.load_error(external("w.bin", "w", "9223372036854775807")), "too short");
  EXPECT_CONTAINS(f.load_error(external("w.bin", "w", "18446744073709551615")), "not a non-negative integer");
  EXPECT_CONTAINS(f.load_error(external("w.bin", "w", "99999999999999999999999")), "not a non-negative integer");
  EXPECT_CONTAINS(f.load_error(external("w.bin", "w", "0", "18446744073709551615")), "not a non-negative integer");
  EXPECT_CONTAINS(f.load_error(external("w.bin", "w", "+4")), "not a non-negative integer");
  EXPECT_CONTAINS(f.load_error(external("w.bin", "w", "4")), "too short");
}

// Constant nodes carry TensorProtos too; the same rules apply.
TEST(PathSafety, ConstantNodeEscape) {
  ModelFolder f;
  ModelBuilder b;
  b.input("x", TP::FLOAT, {4});
  b.node("Constant", {}, {"c"}, "const");
  attr_t(b.graph()->mutable_node(0), "value", external("../secret.bin", ""));
  b.node("Add", {"x", "c"}, {"y"}, "add");
  b.output("y", TP::FLOAT, {4});
  b.save(f.model);
  try {
    Model::load(f.model);
    ADD_FAILURE() << "a Constant node read external data outside the model folder";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "contains '..'");
  }
}

// load_tensor_pb (octet_run's test-data reader) resolves external data in the tensor file's
// folder, with the same refusals.
TEST(PathSafety, TensorPbExternalData) {
  ModelFolder f;
  auto save_pb = [&](const TP& t) {
    std::string bytes;
    t.SerializeToString(&bytes);
    f.outer.write("model/t.pb", bytes.data(), bytes.size());
    return f.dir + "/t.pb";
  };
  Tensor ok = load_tensor_pb(save_pb(external("w.bin", "t")));
  EXPECT_EQ(ok.data_as<float>()[3], 4.0f);
  EXPECT_OCTET_ERROR(load_tensor_pb(save_pb(external("../secret.bin", "t"))), "contains '..'");
  EXPECT_OCTET_ERROR(load_tensor_pb(save_pb(external("/etc/passwd", "t"))), "absolute path");
  ASSERT_EQ(::symlink("../secret.bin", (f.dir + "/s.bin").c_str()), 0);
  EXPECT_OCTET_ERROR(load_tensor_pb(save_pb(external("s.bin", "t"))), "outside the model's folder");
}

}  // namespace
}  // namespace octet::testing
