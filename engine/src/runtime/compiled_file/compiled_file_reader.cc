// CompiledModel::load: maps the file read-only, checks it whole (header, ISA, and the checksum, run
// beside the parse), rebuilds the graph from the manifest with constants as views of the mapping,
// re-derives every shape, kernel choice and the memory plan from it, and hands the kernels
// their packed weights in place. Anything that does not match what this build derives is refused.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <system_error>
#include <thread>

#include "runtime/compiled_file/byte_stream.h"
#include "runtime/compiled_file/checksum.h"
#include "runtime/compiled_file/compiled_file.h"
#include "runtime/compiled_file/compiled_file_format.h"
#include "runtime/compiler.h"

namespace octet::detail {
namespace {

// Bytes kept alive by everything that points into them: a read-only file mapping, a copy of
// a caller's buffer, or the zero pages standing in for constants stored only packed.
class Region {
 public:
  enum class Kind { mapping, heap };
  Region(void* base, size_t size, Kind kind) : base_(base), size_(size), kind_(kind) {}
  ~Region() {
    if (kind_ == Kind::mapping) munmap(base_, size_);
    else std::free(base_);
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  const uint8_t* bytes() const { return static_cast<const uint8_t*>(base_); }
  size_t size() const { return size_; }

 private:
  void* base_;
  size_t size_;
  Kind kind_;
};

std::shared_ptr<Region> map_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("load(" + path + "): cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw Error("load(" + path + "): not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < kCompiledHeaderBytes) {
    close(fd);
    throw Error("load(" + path + "): " + std::to_string(size) + " bytes is too short for a compiled model (truncated?)");
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  close(fd);
  if (p == MAP_FAILED) throw Error("load(" + path + "): cannot map the file: " + std::strerror(map_errno));
  return std::make_shared<Region>(p, size, Region::Kind::mapping);
}

// Zero-filled read-only memory of `size` bytes that costs no RAM (untouched, or the zero page).
std::shared_ptr<Region> zero_region(size_t size) {
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw Error("load: cannot reserve " + std::to_string(size) + " bytes of address space");
  return std::make_shared<Region>(p, size, Region::Kind::mapping);
}

uint64_t read_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

struct Header {
  uint64_t manifest_bytes = 0, data_offset = 0;
};

Header check_header(const Region& file, const std::string& where) {
  const uint8_t* b = file.bytes();
  if (std::memcmp(b, kCompiledMagic, sizeof(kCompiledMagic)) != 0)
    throw Error(where + "not an octet compiled model (bad magic)");
  uint32_t version;
  std::memcpy(&version, b + kHdrVersion, 4);
  if (version != kCompiledFileVersion)
    throw Error(where + "compiled-model format version " + std::to_string(version) + ", this build reads version " +
                std::to_string(kCompiledFileVersion) + " (compile the model again)");
  const uint64_t file_bytes = read_u64(b + kHdrFileBytes);
  if (file_bytes != file.size())
    throw Error(where + "the file has " + std::to_string(file.size()) + " bytes, its header says " +
                std::to_string(file_bytes) + " (truncated or appended to)");
  Header h;
  h.manifest_bytes = read_u64(b + kHdrManifestBytes);
  h.data_offset = read_u64(b + kHdrDataOffset);
  if (read_u64(b + kHdrManifestOffset) != kCompiledHeaderBytes || h.manifest_bytes > file.size() - kCompiledHeaderBytes ||
      h.data_offset < kCompiledHeaderBytes + h.manifest_bytes || h.data_offset > file.size() ||
      h.data_offset % kCompiledAlign != 0)
    throw Error(where + "damaged header (section offsets out of range)");
  return h;
}

bool checksum_matches(const Region& file) {
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return block_checksum(file.bytes(), file.size(), kHdrChecksum, kHdrChecksum + 8, threads) ==
         read_u64(file.bytes() + kHdrChecksum);
}

class ManifestReader {
 public:
  ManifestReader(std::shared_ptr<Region> file, const Header& h, std::string where)
      : file_(std::move(file)),
        r_(file_->bytes() + kCompiledHeaderBytes, h.manifest_bytes),
        data_(file_->bytes() + h.data_offset),
        data_bytes_(file_->size() - h.data_offset),
        where_(std::move(where)) {}

  ByteReader& r() { return r_; }
  [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + what); }

  // An (offset, size) reference into the data section: in range and 64-byte aligned.
  const uint8_t* data_ref(uint64_t* bytes_out) {
    const uint64_t off = r_.get<uint64_t>(), bytes = r_.get<uint64_t>();
    if (off % kCompiledAlign != 0 || off > data_bytes_ || bytes > data_bytes_ - off)
      fail("a data reference [" + std::to_string(off) + ", +" + std::to_string(bytes) + ") lies outside the " +
           std::to_string(data_bytes_) + "-byte data section");
    *bytes_out = bytes;
    return data_ + off;
  }

  DType dtype() {
    const int32_t t = r_.get<int32_t>();
    switch (static_cast<DType>(t)) {
      case DType::undefined: case DType::f32: case DType::u8: case DType::s8: case DType::u16: case DType::s16:
      case DType::s32: case DType::s64: case DType::boolean: case DType::f16: case DType::f64: case DType::u32:
      case DType::u64: case DType::bf16:
        return static_cast<DType>(t);
      default:
        fail("unknown element type " + std::to_string(t));
    }
  }

  Shape shape() {
    const uint32_t rank = r_.get_count(8);
    Shape s(rank);
    for (int64_t& d : s) {
      d = r_.get<int64_t>();
      if (d < 0) fail("negative dimension");
    }
    shape_numel(s);  // throws on overflow
    return s;
  }

  // A constant's bytes as a tensor viewing the file.
  Tensor tensor(DType dtype, const Shape& shape, const std::string& what) {
    uint64_t bytes = 0;
    const uint8_t* p = data_ref(&bytes);
    const size_t esize = dtype_size(dtype);
    if (esize == 0) fail(what + " has element type " + dtype_name(dtype) + ", which a constant cannot have");
    const uint64_t numel = static_cast<uint64_t>(shape_numel(shape));
    if (numel > bytes / esize || numel * esize != bytes)  // the first test keeps the product from wrapping
      fail(what + " " + dtype_name(dtype) + shape_str(shape) + " has " + std::to_string(bytes) + " bytes of data");
    return Tensor::share(dtype, shape, const_cast<uint8_t*>(p), file_);
  }

  std::vector<int> ids(size_t values, bool optional) {
    std::vector<int> out(r_.get_count(4));
    for (int& id : out) {
      id = r_.get<int32_t>();
      if (id < (optional ? -1 : 0) || id >= static_cast<int64_t>(values)) fail("value id " + std::to_string(id) + " out of range");
    }
    return out;
  }

  const std::shared_ptr<Region>& file() const { return file_; }

 private:
  std::shared_ptr<Region> file_;
  ByteReader r_;
  const uint8_t* data_;
  uint64_t data_bytes_;
  std::string where_;
};

Attribute read_attribute(ManifestReader& m) {
  ByteReader& r = m.r();
  Attribute a;
  const uint8_t kind = r.get<uint8_t>();
  if (kind > static_cast<uint8_t>(Attribute::Kind::tensor)) m.fail("unknown attribute kind " + std::to_string(kind));
  a.kind = static_cast<Attribute::Kind>(kind);
  switch (a.kind) {
    case Attribute::Kind::int_: a.i = r.get<int64_t>(); break;
    case Attribute::Kind::float_: a.f = r.get<float>(); break;
    case Attribute::Kind::string_: a.s = r.get_str(); break;
    case Attribute::Kind::ints:
      a.ints.resize(r.get_count(8));
      for (int64_t& v : a.ints) v = r.get<int64_t>();
      break;
    case Attribute::Kind::floats:
      a.floats.resize(r.get_count(4));
      for (float& v : a.floats) v = r.get<float>();
      break;
    case Attribute::Kind::strings:
      a.strings.resize(r.get_count(4));
      for (std::string& v : a.strings) v = r.get_str();
      break;
    case Attribute::Kind::tensor: {
      const DType t = m.dtype();
      const Shape s = m.shape();
      a.t = m.tensor(t, s, "a tensor attribute");
      break;
    }
    case Attribute::Kind::graph:
    case Attribute::Kind::type: break;  // unreachable (checked above)
  }
  return a;
}

// The graph, with constants viewing the file; those stored only packed get zero pages of
// their size (the kernels that consume them take the packed form and never read them).
Graph read_graph(ManifestReader& m, std::shared_ptr<Region>* zeros, std::vector<int>* packed_only_out) {
  ByteReader& r = m.r();
  Graph g;
  g.model_path = r.get_str();
  g.ir_version = r.get<int64_t>();
  for (uint32_t n = r.get_count(12); n > 0; --n) {
    std::string domain = r.get_str();
    g.opsets[domain] = r.get<int64_t>();
  }
  const uint32_t value_count = r.get_count(20);
  std::vector<int> packed_only;
  uint64_t packed_only_bytes = 0;
  for (uint32_t id = 0; id < value_count; ++id) {
    const std::string name = r.get_str();
    if (g.find_value(name) >= 0) m.fail("two values are named '" + name + "'");
    Value& v = g.values[g.add_value(name)];
    v.dtype = m.dtype();
    const uint8_t flags = r.get<uint8_t>();
    v.shape = m.shape();
    v.shape_known = flags & kValueShapeKnown;
    v.is_const = flags & kValueConst;
    const uint32_t dims = r.get_count(4);
    if (dims != 0 && dims != v.shape.size()) m.fail("value '" + name + "' names " + std::to_string(dims) + " dims of a rank-" + std::to_string(v.shape.size()) + " shape");
    v.dim_names.resize(dims);
    for (std::string& d : v.dim_names) d = r.get_str();
    v.nhwc_of = r.get_str();
    if (v.is_const && !v.shape_known) m.fail("constant '" + name + "' has no shape");
    if (!v.is_const) continue;
    if (flags & kValueConstPacked) {
      const size_t esize = dtype_size(v.dtype);
      if (esize == 0) m.fail("constant '" + name + "' has element type " + dtype_name(v.dtype));
      packed_only.push_back(static_cast<int>(id));
      const uint64_t numel = static_cast<uint64_t>(shape_numel(v.shape));
      if (numel > (uint64_t(1) << 40) / esize) m.fail("constant '" + name + "' stored packed is implausibly large");
      packed_only_bytes = std::max<uint64_t>(packed_only_bytes, numel * esize);
    } else {
      v.data = m.tensor(v.dtype, v.shape, "constant '" + name + "'");
    }
  }
  if (!packed_only.empty()) {
    // A stand-in no larger than the packed data that replaces it (bounded by the file).
    if (packed_only_bytes > (uint64_t(1) << 40)) m.fail("a constant stored packed is implausibly large");
    *zeros = zero_region(static_cast<size_t>(std::max<uint64_t>(packed_only_bytes, 1)));
    for (int id : packed_only) {
      Value& v = g.values[id];
      v.data = Tensor::share(v.dtype, v.shape, const_cast<uint8_t*>((*zeros)->bytes()), *zeros);
    }
  }

  for (uint32_t n = r.get_count(24); n > 0; --n) {
    Node node;
    node.name = r.get_str();
    node.op_type = r.get_str();
    node.domain = r.get_str();
    node.inputs = m.ids(g.values.size(), true);
    node.outputs = m.ids(g.values.size(), true);
    for (uint32_t a = r.get_count(5); a > 0; --a) {
      std::string key = r.get_str();
      node.attrs[key] = read_attribute(m);
    }
    g.nodes.push_back(std::move(node));
  }
  g.inputs = m.ids(g.values.size(), false);
  g.outputs = m.ids(g.values.size(), false);
  *packed_only_out = std::move(packed_only);
  return g;
}

// The nodes must be in an order that runs: every input a constant, a graph input or the output
// of an earlier node, and every value produced once. Then every shape and element type is
// derived again by the ops' own inference and must equal the stored one, so kernels see only
// shapes this build would have given them.
void check_graph(Graph& g, const kernels::IsaChoice& isa, const std::string& where) {
  std::vector<char> available(g.values.size(), 0);
  for (size_t v = 0; v < g.values.size(); ++v) {
    g.values[v].producer = -1;
    if (g.values[v].is_const) available[v] = 1;
  }
  for (int id : g.inputs) {
    if (g.values[id].is_const || !g.values[id].shape_known)
      throw Error(where + "graph input '" + g.values[id].name + "' must be a non-constant value with a shape");
    available[id] = 1;
  }
  struct Stored {
    DType dtype;
    Shape shape;
  };
  const OpRegistry& registry = OpRegistry::instance();
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    Node& node = g.nodes[n];
    for (int in : node.inputs)
      if (in >= 0 && !available[in])
        throw Error(where + node.label() + " reads '" + g.values[in].name + "' before anything produces it");
    std::vector<Stored> stored;
    for (int out : node.outputs) {
      if (out < 0) continue;
      Value& v = g.values[out];
      if (available[out] || v.is_const) throw Error(where + node.label() + " writes '" + v.name + "', which is already set");
      available[out] = 1;
      v.producer = static_cast<int>(n);
      stored.push_back({v.dtype, v.shape});
      v.shape_known = false;
    }
    const OpDef* def = registry.find(node.domain, node.op_type);
    if (!def) throw Error(where + node.label() + ": unsupported op in this build");
    NodeContext ctx(g, static_cast<int>(n), isa);
    def->infer(ctx);
    size_t k = 0;
    for (int out : node.outputs) {
      if (out < 0) continue;
      const Value& v = g.values[out];
      if (!v.shape_known || v.is_const || v.dtype != stored[k].dtype || v.shape != stored[k].shape)
        throw Error(where + node.label() + " output '" + v.name + "' is stored as " + dtype_name(stored[k].dtype) +
                    shape_str(stored[k].shape) + ", this build infers " + dtype_name(v.dtype) +
                    (v.shape_known ? shape_str(v.shape) : std::string("?")));
      ++k;
    }
  }
  for (int id : g.outputs)
    if (!available[id]) throw Error(where + "graph output '" + g.values[id].name + "' is never produced");
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::shared_ptr<Program> parse_unverified(std::shared_ptr<Region> file, const Header& h, int threads,
                                          const std::string& where, std::chrono::steady_clock::time_point t0) {
  const double checked_ms = ms_since(t0);
  ManifestReader m(file, h, where);
  ByteReader& r = m.r();

  const std::string isa_name = r.get_str();
  kernels::IsaChoice isa;
  try {
    isa = kernels::resolve_isa(isa_name);
  } catch (const Error& e) {
    throw Error(where + "the model was compiled for ISA level '" + isa_name + "': " + e.what());
  }
  if (isa.name() != isa_name) throw Error(where + "unknown ISA level '" + isa_name + "'");
  std::vector<std::string> features(r.get_count(4));
  for (std::string& f : features) f = r.get_str();
  if (features != kernels::isa_cpu_features(isa.isa))
    throw Error(where + "the CPU features recorded for level " + isa_name + " are not the ones this build needs for it");
  CompileOptions options;
  options.precision = r.get<uint8_t>() ? Precision::int8 : Precision::fp32;
  options.weight_bits = r.get<int32_t>();
  options.threads = threads;

  std::shared_ptr<Region> zeros;
  std::vector<int> packed_only;
  Graph g = read_graph(m, &zeros, &packed_only);

  struct StoredStep {
    int node;
    std::string kernel;
  };
  std::vector<StoredStep> steps(r.get_count(8));
  for (StoredStep& s : steps) {
    s.node = r.get<int32_t>();
    s.kernel = r.get_str();
  }
  const uint64_t arena_bytes = r.get<uint64_t>();
  std::vector<int64_t> arena_offset(r.get_count(8));
  for (int64_t& off : arena_offset) off = r.get<int64_t>();

  std::vector<PackedWeightRecord> records(r.get_count(20));
  for (PackedWeightRecord& rec : records) {
    rec.node = r.get<int32_t>();
    rec.input = r.get<int32_t>();
    rec.table = r.get_str();
    rec.meta.resize(r.get_count(8));
    for (int64_t& v : rec.meta) v = r.get<int64_t>();
    rec.buffers.resize(r.get_count(16));
    for (PackedWeightRecord::Buffer& b : rec.buffers) b.data = m.data_ref(&b.bytes);
  }

  std::vector<LayerError> report(r.get_count(26));
  for (LayerError& e : report) {
    e.tensor = r.get_str();
    e.op = r.get_str();
    e.scale = r.get<float>();
    e.zero_point = r.get<int32_t>();
    e.sqnr_db = r.get<double>();
    e.node = r.get_str();
    e.fp32_fallback = r.get<uint8_t>() != 0;
    e.note = r.get_str();
  }
  if (!r.at_end()) m.fail("trailing bytes after the manifest");

  // A constant stored packed only must be an input some packed record was made from: anything
  // else would read the zero stand-in.
  for (int v : packed_only) {
    bool packed = false;
    for (const PackedWeightRecord& rec : records)
      packed = packed || (rec.node >= 0 && static_cast<size_t>(rec.node) < g.nodes.size() && rec.input >= 0 &&
                          static_cast<size_t>(rec.input) < g.nodes[rec.node].inputs.size() &&
                          g.nodes[rec.node].inputs[rec.input] == v);
    if (!packed) m.fail("constant '" + g.values[v].name + "' is stored packed only, but no packed weights come from it");
  }
  check_graph(g, isa, where);
  const double graph_ms = ms_since(t0);

  auto store = std::make_shared<PackedWeightStore>(std::move(records), file);
  std::shared_ptr<Program> p;
  try {
    p = build_program(std::move(g), options, isa, store);
  } catch (const Error& e) {
    throw Error(where + e.what());
  }
  if (p->steps.size() != steps.size()) throw Error(where + "the stored program has a different number of steps");
  for (size_t s = 0; s < steps.size(); ++s) {
    const std::string chosen = p->steps[s].kernel->name();
    if (p->steps[s].node != steps[s].node || chosen != steps[s].kernel)
      throw Error(where + "node " + std::to_string(steps[s].node) + " was compiled to kernel '" + steps[s].kernel +
                  "', this build chooses '" + chosen + "' (compile the model again)");
  }
  if (p->arena_bytes != arena_bytes || p->arena_offset != arena_offset)
    throw Error(where + "the stored memory plan differs from the one this build derives (compile the model again)");
  p->quant_report = std::move(report);
  if (kernels::verbose())
    std::fprintf(stderr, "octet: %sheader %.1f ms, graph %.1f ms, kernels %.1f ms\n", where.c_str(), checked_ms,
                 graph_ms - checked_ms, ms_since(t0) - graph_ms);
  return p;
}

// The checksum reads the whole file at memory speed; the manifest and the kernels need only a
// part of it, so the two run side by side and the file is refused on a mismatch whatever the
// parse found (a damaged file reports the checksum, not the parse error it caused). Parsing
// bytes not yet verified is safe: the parser is fuzzed with checksums recomputed.
std::shared_ptr<Program> parse(std::shared_ptr<Region> file, int threads, const std::string& display) {
  const std::string where = "load(" + display + "): ";
  const auto t0 = std::chrono::steady_clock::now();
  const Header h = check_header(*file, where);
  std::future<bool> verified;
  try {
    verified = std::async(std::launch::async, [file] { return checksum_matches(*file); });
  } catch (const std::system_error&) {  // no thread to spare: verify first
    verified = std::async(std::launch::deferred, [file] { return checksum_matches(*file); });
  }
  const std::string damaged = where + "checksum mismatch: the file is damaged";
  std::shared_ptr<Program> p;
  try {
    p = parse_unverified(file, h, threads, where, t0);
  } catch (...) {
    if (!verified.get()) throw Error(damaged);
    throw;
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (!verified.get()) throw Error(damaged);
  if (kernels::verbose())
    std::fprintf(stderr, "octet: loaded %s (%zu bytes): checksum beside the parse, waited %.1f ms for it; %.1f ms in all\n",
                 display.c_str(), file->size(), ms_since(t1), ms_since(t0));
  return p;
}

}  // namespace

std::shared_ptr<Program> load_compiled(const std::string& path, int threads) {
  return parse(map_file(path), threads, path);
}

std::shared_ptr<Program> load_compiled_from_buffer(const void* data, size_t size, int threads) {
  if (size < kCompiledHeaderBytes) throw Error("load(buffer): " + std::to_string(size) + " bytes is too short for a compiled model");
  void* copy = std::aligned_alloc(kCompiledAlign, align_up(size, kCompiledAlign));
  if (!copy) throw Error("load(buffer): out of memory");
  std::memcpy(copy, data, size);
  return parse(std::make_shared<Region>(copy, size, Region::Kind::heap), threads, "buffer");
}

}  // namespace octet::detail
