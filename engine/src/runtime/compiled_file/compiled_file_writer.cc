// CompiledModel::save: the program's graph, kernel choices, memory plan and packed weights as
// one file (compiled_file.h), written beside the target and renamed into place.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/compiled_file/byte_stream.h"
#include "runtime/compiled_file/checksum.h"
#include "runtime/compiled_file/compiled_file.h"
#include "runtime/compiled_file/compiled_file_format.h"

namespace octet::detail {
namespace {

// The data section: each chunk 64-byte aligned, offsets relative to the section's start.
class DataLayout {
 public:
  uint64_t add(const void* p, uint64_t bytes) {
    const uint64_t off = end_;
    chunks_.push_back({p, bytes, off});
    end_ = align_up(off + bytes, kCompiledAlign);
    return off;
  }
  struct Chunk {
    const void* p;
    uint64_t bytes, offset;
  };
  const std::vector<Chunk>& chunks() const { return chunks_; }
  uint64_t size() const { return end_; }

 private:
  std::vector<Chunk> chunks_;
  uint64_t end_ = 0;
};

void put_shape(ByteWriter& w, const Shape& s) {
  w.put<uint32_t>(static_cast<uint32_t>(s.size()));
  for (int64_t d : s) w.put<int64_t>(d);
}

void put_data_ref(ByteWriter& w, DataLayout& data, const Tensor& t) {
  w.put<uint64_t>(data.add(t.data(), t.nbytes()));
  w.put<uint64_t>(t.nbytes());
}

void put_attribute(ByteWriter& w, DataLayout& data, const std::string& key, const Attribute& a, const Node& n) {
  w.put_str(key);
  w.put<uint8_t>(static_cast<uint8_t>(a.kind));
  switch (a.kind) {
    case Attribute::Kind::int_: w.put<int64_t>(a.i); break;
    case Attribute::Kind::float_: w.put<float>(a.f); break;
    case Attribute::Kind::string_: w.put_str(a.s); break;
    case Attribute::Kind::ints:
      w.put<uint32_t>(static_cast<uint32_t>(a.ints.size()));
      for (int64_t v : a.ints) w.put<int64_t>(v);
      break;
    case Attribute::Kind::floats:
      w.put<uint32_t>(static_cast<uint32_t>(a.floats.size()));
      for (float v : a.floats) w.put<float>(v);
      break;
    case Attribute::Kind::strings:
      w.put<uint32_t>(static_cast<uint32_t>(a.strings.size()));
      for (const std::string& v : a.strings) w.put_str(v);
      break;
    case Attribute::Kind::tensor:
      w.put<int32_t>(static_cast<int32_t>(a.t.dtype()));
      put_shape(w, a.t.shape());
      put_data_ref(w, data, a.t);
      break;
    case Attribute::Kind::graph:
      throw Error("save: " + n.label() + " has a graph attribute '" + key + "', which compiled files do not hold");
    case Attribute::Kind::type:
      throw Error("save: " + n.label() + " has a type attribute '" + key + "', which compiled files do not hold");
  }
}

void put_ids(ByteWriter& w, const std::vector<int>& ids) {
  w.put<uint32_t>(static_cast<uint32_t>(ids.size()));
  for (int id : ids) w.put<int32_t>(id);
}

void put_graph(ByteWriter& w, DataLayout& data, const Program& p) {
  const Graph& g = p.graph;
  w.put_str(g.model_path);
  w.put<int64_t>(g.ir_version);
  w.put<uint32_t>(static_cast<uint32_t>(g.opsets.size()));
  for (const auto& [domain, version] : g.opsets) {
    w.put_str(domain);
    w.put<int64_t>(version);
  }
  w.put<uint32_t>(static_cast<uint32_t>(g.values.size()));
  for (size_t id = 0; id < g.values.size(); ++id) {
    const Value& v = g.values[id];
    if (v.is_sequence) throw Error("save: value '" + v.name + "' is a sequence, which compiled files do not hold");
    if (v.is_none) throw Error("save: value '" + v.name + "' is an empty optional, which compiled files do not hold");
    const Tensor* data_of = nullptr;  // the constant's bytes, when the file holds them
    if (v.is_const) {
      if (!v.data.empty()) data_of = &v.data;
      auto kept = p.constants_for_save.find(static_cast<int>(id));
      if (kept != p.constants_for_save.end()) data_of = &kept->second;
    }
    w.put_str(v.name);
    w.put<int32_t>(static_cast<int32_t>(v.dtype));
    w.put<uint8_t>((v.shape_known ? kValueShapeKnown : 0) | (v.is_const ? kValueConst : 0) |
                   (v.is_const && !data_of ? kValueConstPacked : 0));
    put_shape(w, v.shape);
    w.put<uint32_t>(static_cast<uint32_t>(v.dim_names.size()));
    for (const std::string& d : v.dim_names) w.put_str(d);
    w.put_str(v.nhwc_of);
    if (data_of) put_data_ref(w, data, *data_of);
  }
  w.put<uint32_t>(static_cast<uint32_t>(g.nodes.size()));
  for (const Node& n : g.nodes) {
    w.put_str(n.name);
    w.put_str(n.op_type);
    w.put_str(n.domain);
    put_ids(w, n.inputs);
    put_ids(w, n.outputs);
    w.put<uint32_t>(static_cast<uint32_t>(n.attrs.size()));
    for (const auto& [key, a] : n.attrs) put_attribute(w, data, key, a, n);
  }
  put_ids(w, g.inputs);
  put_ids(w, g.outputs);
}

void put_manifest(ByteWriter& w, DataLayout& data, const Program& p) {
  w.put_str(p.isa.name());
  const std::vector<std::string> features = kernels::isa_cpu_features(p.isa.isa);
  w.put<uint32_t>(static_cast<uint32_t>(features.size()));
  for (const std::string& f : features) w.put_str(f);
  w.put<uint8_t>(p.precision == Precision::int8 ? 1 : 0);
  w.put<int32_t>(p.weight_bits);

  put_graph(w, data, p);

  w.put<uint32_t>(static_cast<uint32_t>(p.steps.size()));
  for (const Step& s : p.steps) {
    w.put<int32_t>(s.node);
    w.put_str(s.kernel->name());
  }
  w.put<uint64_t>(p.arena_bytes);
  w.put<uint32_t>(static_cast<uint32_t>(p.arena_offset.size()));
  for (int64_t off : p.arena_offset) w.put<int64_t>(off);

  const std::vector<PackedWeightRecord>& records = p.packed->records();
  w.put<uint32_t>(static_cast<uint32_t>(records.size()));
  for (const PackedWeightRecord& r : records) {
    w.put<int32_t>(r.node);
    w.put<int32_t>(r.input);
    w.put_str(r.table);
    w.put<uint32_t>(static_cast<uint32_t>(r.meta.size()));
    for (int64_t m : r.meta) w.put<int64_t>(m);
    w.put<uint32_t>(static_cast<uint32_t>(r.buffers.size()));
    for (const PackedWeightRecord::Buffer& b : r.buffers) {
      w.put<uint64_t>(data.add(b.data, b.bytes));
      w.put<uint64_t>(b.bytes);
    }
  }

  w.put<uint32_t>(static_cast<uint32_t>(p.quant_report.size()));
  for (const LayerError& e : p.quant_report) {
    w.put_str(e.tensor);
    w.put_str(e.op);
    w.put<float>(e.scale);
    w.put<int32_t>(e.zero_point);
    w.put<double>(e.sqnr_db);
    w.put_str(e.node);
    w.put<uint8_t>(e.fp32_fallback ? 1 : 0);
    w.put_str(e.note);
  }
}

// Writes bytes and feeds them to the checksum; throws Error naming the file on failure.
class FileSink {
 public:
  FileSink(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) throw Error("save(" + path + "): cannot create the file: " + std::strerror(errno));
  }
  ~FileSink() {
    if (f_) std::fclose(f_);
  }
  void write(const void* p, uint64_t n, BlockChecksum* sum) {
    if (n && std::fwrite(p, 1, n, f_) != n) throw Error("save(" + path_ + "): write failed: " + std::strerror(errno));
    if (sum) sum->update(p, n);
  }
  void pad_to(uint64_t offset, BlockChecksum* sum) {
    static const char zeros[kCompiledAlign] = {};
    while (written() < offset) write(zeros, std::min<uint64_t>(offset - written(), sizeof(zeros)), sum);
  }
  uint64_t written() const { return static_cast<uint64_t>(std::ftell(f_)); }
  void rewrite_at(long offset, const void* p, size_t n) {
    if (std::fseek(f_, offset, SEEK_SET) != 0 || std::fwrite(p, 1, n, f_) != n)
      throw Error("save(" + path_ + "): write failed: " + std::strerror(errno));
  }
  void close() {
    const int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) throw Error("save(" + path_ + "): close failed: " + std::strerror(errno));
  }

 private:
  std::string path_;
  std::FILE* f_;
};

}  // namespace

void save_compiled(const Program& p, const std::string& path) {
  // The file format stores values as flat bytes, which string tensors do not have.
  for (const Value& v : p.graph.values)
    if (v.dtype == DType::string)
      throw Error(path + ": cannot save a compiled model with string tensors (value '" + v.name +
                  "'): compiled files hold numeric tensors only; load the ONNX model instead");
  ByteWriter manifest;
  DataLayout data;
  put_manifest(manifest, data, p);

  const uint64_t manifest_bytes = manifest.bytes().size();
  const uint64_t data_offset = align_up(kCompiledHeaderBytes + manifest_bytes, kCompiledAlign);
  const uint64_t file_bytes = data_offset + data.size();
  unsigned char header[kCompiledHeaderBytes] = {};
  std::memcpy(header, kCompiledMagic, sizeof(kCompiledMagic));
  const uint32_t version = kCompiledFileVersion;
  std::memcpy(header + kHdrVersion, &version, 4);
  std::memcpy(header + kHdrFileBytes, &file_bytes, 8);
  std::memcpy(header + kHdrManifestOffset, &kCompiledHeaderBytes, 8);
  std::memcpy(header + kHdrManifestBytes, &manifest_bytes, 8);
  std::memcpy(header + kHdrDataOffset, &data_offset, 8);

  // Written under a temporary name and renamed: a reader never sees a half-written file.
  const std::string tmp = path + ".tmp";
  try {
    FileSink out(tmp);
    BlockChecksum sum;
    out.write(header, sizeof(header), &sum);  // checksum field still 0, as the reader hashes it
    out.write(manifest.bytes().data(), manifest_bytes, &sum);
    for (const DataLayout::Chunk& c : data.chunks()) {
      out.pad_to(data_offset + c.offset, &sum);
      out.write(c.p, c.bytes, &sum);
    }
    out.pad_to(file_bytes, &sum);
    const uint64_t checksum = sum.digest();
    out.rewrite_at(static_cast<long>(kHdrChecksum), &checksum, 8);
    out.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("save(" + path + "): cannot move the finished file into place: " + why);
  }
}

}  // namespace octet::detail
