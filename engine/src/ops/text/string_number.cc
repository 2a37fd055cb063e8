// Number <-> text for Cast / CastLike with strings (text_util.h states the rules). Both
// directions are locale-independent: std::to_chars writes, std::from_chars and strtod_l with the
// "C" locale read, so an application's setlocale() changes nothing.
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <locale.h>
#include <system_error>

#include "ops/elementwise/elementwise_util.h"
#include "ops/shape/shape_util.h"
#include "ops/text/text_util.h"

namespace octet::detail {
namespace {

// numpy's layout of a float from its shortest scientific form "d.ddde[+-]x" (std::to_chars):
// positional for 1e-4 <= |v| < 1e16 and zero, else scientific with a 2-digit exponent at least.
std::string numpy_layout(const char* sci, size_t len, double v) {
  std::string s(sci, len);
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  const size_t e = s.find('e');
  std::string digits = s.substr(0, e);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  const int exp10 = std::atoi(s.c_str() + e + 1);
  const double a = std::fabs(v);
  if (a == 0 || (a >= 1e-4 && a < 1e16)) {
    if (exp10 >= 0) {
      const size_t int_digits = static_cast<size_t>(exp10) + 1;
      if (digits.size() <= int_digits) return sign + digits + std::string(int_digits - digits.size(), '0') + ".0";
      return sign + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
    }
    return sign + "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
  }
  std::string exp = std::to_string(std::abs(exp10));
  if (exp.size() < 2) exp = "0" + exp;
  return sign + digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "") + "e" +
         (exp10 < 0 ? "-" : "+") + exp;
}

template <class F>
std::string float_text(F v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);  // shortest round trip
  return numpy_layout(buf, static_cast<size_t>(r.ptr - buf), static_cast<double>(v));
}

// f16 / bf16: the fewest significant digits whose value rounds back to the same 16 bits.
std::string half_text(uint16_t bits, bool bf16) {
  const float v = bf16 ? bf16_to_float(bits) : half_to_float(bits);
  if (!std::isfinite(v)) return numpy_layout("0e+00", 5, v);
  char buf[64];
  for (int precision = 0; precision < 9; ++precision) {
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, precision);
    float back = 0;
    std::from_chars(buf, r.ptr, back);
    if ((bf16 ? float_to_bf16(back) : float_to_half(back)) == bits)
      return numpy_layout(buf, static_cast<size_t>(r.ptr - buf), v);
  }
  return float_text(v);
}

locale_t c_locale() {
  static const locale_t loc = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  return loc;
}

// One string read as a number: an exact integer when the text is one, else a double.
struct ParsedNumber {
  DType kind = DType::f64;  // s64, u64 or f64
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
};

ParsedNumber parse_number(const std::string& text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  const std::string t = text.substr(b, e - b);
  ParsedNumber p;
  const char* first = t.c_str();
  const char* last = first + t.size();
  const char* digits = first + (t.size() > 1 && t[0] == '+' && t[1] != '-' && t[1] != '+' ? 1 : 0);
  if (!t.empty()) {
    auto ri = std::from_chars(digits, last, p.i);
    if (ri.ec == std::errc() && ri.ptr == last) {
      p.kind = DType::s64;
      return p;
    }
    if (digits[0] != '-') {
      auto ru = std::from_chars(digits, last, p.u);
      if (ru.ec == std::errc() && ru.ptr == last) {
        p.kind = DType::u64;
        return p;
      }
    }
    char* end = nullptr;
    p.d = strtod_l(first, &end, c_locale());
    if (end == last && first != last) return p;
  }
  throw Error("Cast: the string '" + text + "' is not a number");
}

}  // namespace

bool string_castable(DType t) { return t != DType::boolean && dtype_in(t, kNumericTypes); }

void numbers_to_strings(DType from, const void* src, std::string* dst, int64_t n) {
  switch (from) {
    case DType::f32:
      for (int64_t i = 0; i < n; ++i) dst[i] = float_text(static_cast<const float*>(src)[i]);
      return;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) dst[i] = float_text(static_cast<const double*>(src)[i]);
      return;
    case DType::f16:
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) dst[i] = half_text(static_cast<const uint16_t*>(src)[i], from == DType::bf16);
      return;
    default:
      break;
  }
  const bool ok = visit_dtype<kIntTypes>(from, [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < n; ++i) dst[i] = std::to_string(static_cast<const T*>(src)[i]);
  });
  if (!ok) throw Error(std::string("Cast: cannot write ") + dtype_name(from) + " as strings");
}

void strings_to_numbers(const std::string* src, DType to, void* dst, int64_t n) {
  if (!string_castable(to)) throw Error(std::string("Cast: cannot read strings as ") + dtype_name(to));
  const size_t esize = dtype_size(to);
  for (int64_t i = 0; i < n; ++i) {
    const ParsedNumber p = parse_number(src[i]);
    void* out = static_cast<char*>(dst) + static_cast<size_t>(i) * esize;
    const void* value = p.kind == DType::s64 ? static_cast<const void*>(&p.i)
                        : p.kind == DType::u64 ? static_cast<const void*>(&p.u)
                                               : static_cast<const void*>(&p.d);
    cast_elements(p.kind, value, to, out, 1);
  }
}

}  // namespace octet::detail
