// onnx.TensorProto <-> octet::Tensor, and the public load_tensor_pb / save_tensor_pb.
//
// Every size taken from the file is checked before anything is allocated: dims must be
// non-negative, their product must fit int64 (shape_numel), and the data actually present
// (raw_data bytes, typed-field counts, external file bytes) must match it exactly.
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <limits>

#include "onnx_internal.h"

namespace octet::frontend {
namespace {

std::string sys_error() { return std::strerror(errno); }

// The ONNX name of a data type code, for messages about codes octet does not take.
std::string onnx_dtype_name(int32_t code) {
  if (onnx::TensorProto::DataType_IsValid(code))
    return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(code));
  return "code " + std::to_string(code);
}

template <class Dst, class Field>
void copy_field(Tensor& t, const Field& field) {
  Dst* out = t.data_as<Dst>();
  int i = 0;
  for (auto v : field) out[i++] = static_cast<Dst>(v);
}

}  // namespace

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t mant = x & 0x7FFFFFu;
  if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant ? 0x200u : 0));  // inf / nan
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7C00u);  // overflow -> inf
  if (e <= 0) {                                                // subnormal half (or zero)
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t half_mant = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_mant & 1))) ++half_mant;
    return static_cast<uint16_t>(sign | half_mant);
  }
  uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: correct
  return static_cast<uint16_t>(h);
}

uint16_t float_to_bfloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet nan
  x += 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

DType declared_dtype_from_onnx(int32_t code, const std::string& what, const std::string& display) {
  switch (code) {
    case onnx::TensorProto::FLOAT: return DType::f32;
    case onnx::TensorProto::UINT8: return DType::u8;
    case onnx::TensorProto::INT8: return DType::s8;
    case onnx::TensorProto::UINT16: return DType::u16;
    case onnx::TensorProto::INT16: return DType::s16;
    case onnx::TensorProto::INT32: return DType::s32;
    case onnx::TensorProto::INT64: return DType::s64;
    case onnx::TensorProto::STRING: return DType::string;
    case onnx::TensorProto::BOOL: return DType::boolean;
    case onnx::TensorProto::FLOAT16: return DType::f16;
    case onnx::TensorProto::DOUBLE: return DType::f64;
    case onnx::TensorProto::UINT32: return DType::u32;
    case onnx::TensorProto::UINT64: return DType::u64;
    case onnx::TensorProto::BFLOAT16: return DType::bf16;
    case onnx::TensorProto::UNDEFINED:
      throw Error(display + ": " + what + " has no data type (UNDEFINED)");
    default:
      throw Error(display + ": " + what + ": unsupported dtype " + onnx_dtype_name(code));
  }
}

namespace {

// What a TensorProto says about itself, checked: dims non-negative, byte size addressable.
struct TensorHeader {
  std::string where;  // "<display>: <what>"
  DType dtype = DType::undefined;
  Shape shape;
  int64_t numel = 0;
  uint64_t bytes = 0;
  std::string shape_desc;  // "f32 [2,3]"
};

TensorHeader read_header(const onnx::TensorProto& tp, const TensorSource& src, const std::string& what) {
  TensorHeader h;
  h.where = src.display + ": " + what;
  if (tp.has_segment()) throw Error(h.where + ": segmented tensors are not supported");
  h.dtype = declared_dtype_from_onnx(tp.data_type(), what, src.display);
  h.shape.assign(tp.dims().begin(), tp.dims().end());
  for (int64_t d : h.shape)
    if (d < 0) throw Error(h.where + ": negative dimension in shape " + shape_str(h.shape));
  try {
    h.numel = shape_numel(h.shape);
  } catch (const Error& e) {
    throw Error(h.where + ": " + e.what());
  }
  const size_t esize = dtype_size(h.dtype);
  h.shape_desc = std::string(dtype_name(h.dtype)) + " " + shape_str(h.shape);
  if (h.dtype == DType::string) return h;  // no flat bytes: string_data holds the elements
  if (static_cast<uint64_t>(h.numel) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / esize)
    throw Error(h.where + ": shape " + shape_str(h.shape) + " is too large to address");
  h.bytes = static_cast<uint64_t>(h.numel) * esize;
  return h;
}

void check_raw_size(const TensorHeader& h, uint64_t raw_bytes) {
  if (raw_bytes != h.bytes)
    throw Error(h.where + ": raw_data holds " + std::to_string(raw_bytes) + " bytes but " + h.shape_desc + " needs " +
                std::to_string(h.bytes));
}

Tensor tensor_from_bytes(const TensorHeader& h, const void* bytes) {
  Tensor t(h.dtype, h.shape);
  if (h.bytes) std::memcpy(t.data(), bytes, h.bytes);  // little-endian on x86
  return t;
}

// String tensors travel in string_data only (raw_data and external data have no framing for
// them). The count is checked against the shape before anything is allocated; each string's
// bytes are already in the parsed message, so its size is bounded by the file's.
Tensor string_tensor_from_proto(const onnx::TensorProto& tp, const TensorHeader& h) {
  if (tp.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error(h.where + ": string tensors cannot be stored as external data");
  if (tp.has_raw_data()) throw Error(h.where + ": string tensors cannot be stored in raw_data (use string_data)");
  const int count = tp.string_data_size();
  if (count != h.numel)
    throw Error(h.where + ": string_data holds " + std::to_string(count) + " values but " + h.shape_desc + " needs " +
                std::to_string(h.numel));
  Tensor t(DType::string, h.shape);
  std::string* out = t.data_as<std::string>();
  for (int i = 0; i < count; ++i) out[i] = tp.string_data(i);
  return t;
}

Tensor read_external_tensor(const onnx::TensorProto& tp, const TensorHeader& h, const TensorSource& src,
                            const std::string& what) {
  uint64_t offset = 0;
  auto file = locate_external_data(tp, h.dtype, h.shape, static_cast<size_t>(h.bytes), src, what, &offset);
  Tensor t;
  try {
    t = Tensor(h.dtype, h.shape);
  } catch (const Error& e) {
    throw Error(h.where + ": external data file '" + file->path() + "': " + e.what());
  }
  file->read(offset, t.data(), h.bytes);
  return t;
}

}  // namespace

LoadedConst initializer_from_proto(const onnx::TensorProto& tp, const RawDataSpan& raw, const TensorSource& src,
                                   const std::string& what) {
  const TensorHeader h = read_header(tp, src, what);
  LoadedConst c;
  c.dtype = h.dtype;
  c.shape = h.shape;
  if (h.dtype == DType::string) {
    if (raw.present) throw Error(h.where + ": string tensors cannot be stored in raw_data (use string_data)");
    c.data = string_tensor_from_proto(tp, h);
    return c;
  }
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    c.file = locate_external_data(tp, h.dtype, h.shape, static_cast<size_t>(h.bytes), src, what, &c.file_offset);
    return c;
  }
  if (raw.present) {
    check_raw_size(h, raw.size);
    if (src.model_file) {
      c.file = src.model_file;
      c.file_offset = raw.offset;
    } else {
      c.data = tensor_from_bytes(h, src.model_bytes + raw.offset);
    }
    return c;
  }
  c.data = tensor_from_proto(tp, src, what);  // typed fields (or raw_data the scanner did not see)
  return c;
}

Tensor tensor_from_proto(const onnx::TensorProto& tp, const TensorSource& src, const std::string& what) {
  const TensorHeader h = read_header(tp, src, what);
  const std::string& where = h.where;
  const DType dtype = h.dtype;
  const Shape& shape = h.shape;
  const int64_t numel = h.numel;
  const std::string& shape_desc = h.shape_desc;

  if (dtype == DType::string) return string_tensor_from_proto(tp, h);
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) return read_external_tensor(tp, h, src, what);

  if (tp.has_raw_data()) {
    check_raw_size(h, tp.raw_data().size());
    return tensor_from_bytes(h, tp.raw_data().data());
  }

  // Typed fields: the count must match before the tensor is allocated.
  auto check_count = [&](int count, const char* field) {
    if (count == numel) return;
    if (count == 0)
      throw Error(where + ": " + shape_desc + " has no data (no raw_data, " + field + " is empty)");
    throw Error(where + ": " + field + " holds " + std::to_string(count) + " values but " + shape_desc +
                " needs " + std::to_string(numel));
  };
  switch (dtype) {
    case DType::f32: {
      check_count(tp.float_data_size(), "float_data");
      Tensor t(dtype, shape);
      copy_field<float>(t, tp.float_data());
      return t;
    }
    case DType::f64: {
      check_count(tp.double_data_size(), "double_data");
      Tensor t(dtype, shape);
      copy_field<double>(t, tp.double_data());
      return t;
    }
    case DType::s64: {
      check_count(tp.int64_data_size(), "int64_data");
      Tensor t(dtype, shape);
      copy_field<int64_t>(t, tp.int64_data());
      return t;
    }
    case DType::u32:
    case DType::u64: {
      check_count(tp.uint64_data_size(), "uint64_data");
      Tensor t(dtype, shape);
      if (dtype == DType::u32)
        copy_field<uint32_t>(t, tp.uint64_data());
      else
        copy_field<uint64_t>(t, tp.uint64_data());
      return t;
    }
    default:
      break;
  }
  // Everything narrower than 32 bits (and int32 itself) travels in int32_data; float16 and
  // bfloat16 as their bit patterns in the low 16 bits.
  check_count(tp.int32_data_size(), "int32_data");
  Tensor t(dtype, shape);
  const auto& f = tp.int32_data();
  switch (dtype) {
    case DType::s32: copy_field<int32_t>(t, f); break;
    case DType::s16: copy_field<int16_t>(t, f); break;
    case DType::s8: copy_field<int8_t>(t, f); break;
    case DType::u16:
    case DType::f16:
    case DType::bf16: copy_field<uint16_t>(t, f); break;
    case DType::u8: copy_field<uint8_t>(t, f); break;
    case DType::boolean: {
      uint8_t* out = t.data_as<uint8_t>();
      for (int i = 0; i < f.size(); ++i) out[i] = f[i] != 0;
      break;
    }
    default:
      throw Error(where + ": cannot decode dtype " + dtype_name(dtype));
  }
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
  if (t.empty() || (dtype_size(t.dtype()) == 0 && t.dtype() != DType::string))
    throw Error("cannot encode tensor '" + name + "' of dtype " + dtype_name(t.dtype()));
  tp->Clear();
  tp->set_name(name);
  // DType is numbered as TensorProto.DataType.
  tp->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) tp->add_dims(d);
  if (t.dtype() == DType::string) {
    const std::string* s = t.data_as<std::string>();
    for (int64_t i = 0; i < t.numel(); ++i) tp->add_string_data(s[i]);
    return;
  }
  tp->set_raw_data(t.data(), t.nbytes());
}

bool parse_message(const void* data, size_t size, google::protobuf::MessageLite* msg) {
  if (size > static_cast<size_t>(INT_MAX)) return false;
  google::protobuf::io::CodedInputStream in(static_cast<const uint8_t*>(data), static_cast<int>(size));
  in.SetTotalBytesLimit(INT_MAX);
  if (!msg->ParseFromCodedStream(&in)) return false;
  return in.ConsumedEntireMessage();
}

std::string read_file_bytes(const std::string& path, uint64_t max_bytes, const std::string& what) {
  // O_NONBLOCK: a FIFO (or a device) must not block open(); fstat below refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(path + ": cannot open " + what + ": " + sys_error());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string msg = sys_error();
    ::close(fd);
    throw Error(path + ": cannot stat " + what + ": " + msg);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": " + what + " is not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    throw Error(path + ": " + what + " is " + std::to_string(size) + " bytes, over the limit of " +
                std::to_string(max_bytes) + " bytes for one protobuf message (2 GB); store large " +
                "weights as external data");
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, &bytes[done], bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string msg = n < 0 ? sys_error() : std::string("unexpected end of file");
      ::close(fd);
      throw Error(path + ": cannot read " + what + ": " + msg);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
}

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace octet::frontend

namespace octet {

Tensor load_tensor_pb(const std::string& path, std::string* name) {
  const std::string bytes = frontend::read_file_bytes(path, INT_MAX, "tensor file");
  onnx::TensorProto tp;
  if (!frontend::parse_message(bytes.data(), bytes.size(), &tp))
    throw Error(path + ": not a valid onnx.TensorProto (truncated or corrupt)");
  frontend::TensorSource src;
  src.display = path;
  src.base_dir = frontend::parent_dir(path);
  Tensor t = frontend::tensor_from_proto(tp, src, "tensor '" + tp.name() + "'");
  if (name) *name = tp.name();
  return t;
}

void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
  onnx::TensorProto tp;
  frontend::tensor_to_proto(t, name, &tp);
  std::string bytes;
  if (!tp.SerializeToString(&bytes)) throw Error(path + ": cannot serialize tensor '" + name + "'");
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(path + ": cannot create file: " + std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) throw Error(path + ": cannot write tensor '" + name + "'");
}

}  // namespace octet
