// StringNormalizer (opset 10): drops the stopwords from a [C] or [1, C] string tensor, then
// lower-cases, upper-cases or keeps the rest (case_change_action LOWER / UPPER / NONE). With
// is_case_sensitive = 0 (the default) a word matches a stopword when their lower-case forms are
// equal. When every word is dropped the output is one empty string, [1] or [1, 1] (the spec's
// rule, as ONNX Runtime).
//
// Case mapping (pinned here, whatever the process locale): the strings are UTF-8 (a string that
// is case-mapped or matched ignoring case must be valid UTF-8, else Error) and the mapping is the
// locale-independent one of the English locales for ASCII and Latin-1: A-Z <-> a-z,
// U+00C0-U+00DE <-> U+00E0-U+00FE (but for the signs U+00D7 and U+00F7) and U+0178 <-> U+00FF;
// every other character is kept (no special-casing: "ß" stays "ß"). The locale attribute may
// be absent, empty, "C", "POSIX", "C.UTF-8" or an English locale ("en", "en_US", "en_GB.UTF-8",
// ...); any other is refused at compile time, since its rules may differ (Turkish i / I).
//
// Without stopwords the output has the input's shape. With stopwords it depends on the data, so
// the input must then be a constant (octet plans every shape at compile time, as for Unique);
// the result is computed once, at compile time.
#include <algorithm>
#include <set>
#include <vector>

#include "ops/text/text_util.h"

namespace octet::detail {
namespace {

enum class CaseChange { none, lower, upper };

struct NormalizerAttrs {
  CaseChange action = CaseChange::none;
  bool case_sensitive = false;
  std::set<std::string> stopwords;  // lower-cased when the match ignores case
};

bool english_or_c_locale(const std::string& l) {
  if (l.empty() || l == "C" || l == "POSIX" || l == "C.UTF-8" || l == "C.utf8") return true;
  return l.size() >= 2 && l[0] == 'e' && l[1] == 'n' && (l.size() == 2 || l[2] == '_' || l[2] == '-' || l[2] == '.');
}

// Decodes the UTF-8 sequence at s[i]; advances i. Returns -1 for invalid UTF-8 (truncated,
// overlong, surrogate, above U+10FFFF).
int32_t next_code_point(const std::string& s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return ++i, b0;
  int len = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 <= 0xDF ? 2 : 0;
  if (b0 >= 0xF5) len = 0;
  if (len == 0 || i + len > s.size()) return -1;
  int32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr int32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += len;
  return cp;
}

void append_utf8(std::string& out, int32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int32_t to_lower(int32_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 0x20;
  return c == 0x178 ? 0xFF : c;
}

int32_t to_upper(int32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 0x20;
  return c == 0xFF ? 0x178 : c;
}

std::string change_case(const std::string& s, CaseChange action) {
  if (action == CaseChange::none) return s;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const int32_t cp = next_code_point(s, i);
    if (cp < 0) throw Error("StringNormalizer: the string '" + s + "' is not valid UTF-8");
    append_utf8(out, action == CaseChange::lower ? to_lower(cp) : to_upper(cp));
  }
  return out;
}

NormalizerAttrs read_attrs(const NodeContext& c) {
  const Node& node = c.node();
  NormalizerAttrs a;
  const std::string action = node.attr_s("case_change_action", "NONE");
  if (action == "LOWER") a.action = CaseChange::lower;
  else if (action == "UPPER") a.action = CaseChange::upper;
  else c.check(action == "NONE", "case_change_action is '" + action + "': must be LOWER, UPPER or NONE");
  const int64_t sensitive = node.attr_i("is_case_sensitive", 0);
  c.check(sensitive == 0 || sensitive == 1, "is_case_sensitive is " + std::to_string(sensitive) + ": must be 0 or 1");
  a.case_sensitive = sensitive == 1;
  const std::string locale = node.attr_s("locale", "");
  c.check(english_or_c_locale(locale), "locale '" + locale +
                                           "' is not supported: octet maps case by the rules of the English "
                                           "locales (en_*, C, POSIX) for ASCII and Latin-1");
  if (const Attribute* s = node.attr("stopwords")) {
    c.check(s->kind == Attribute::Kind::strings, "attribute 'stopwords' is not a list of strings");
    for (const std::string& w : s->strings) {
      try {
        a.stopwords.insert(a.case_sensitive ? w : change_case(w, CaseChange::lower));
      } catch (const Error& e) {
        c.fail(std::string("stopwords: ") + e.what());
      }
    }
  }
  return a;
}

bool shape_ok(const Shape& s) { return s.size() == 1 || (s.size() == 2 && s[0] == 1); }

// The normalized words of x (in order), before the empty-output rule.
std::vector<std::string> normalize(const Tensor& x, const NormalizerAttrs& a) {
  const std::set<std::string>& stops = a.stopwords;
  std::vector<std::string> kept;
  const std::string* in = x.data_as<std::string>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (!stops.empty() && stops.count(a.case_sensitive ? in[i] : change_case(in[i], CaseChange::lower))) continue;
    kept.push_back(change_case(in[i], a.action));
  }
  return kept;
}

// The output shape for `kept` words of an input of rank `rank` (1 or 2): one empty string when
// nothing is kept.
Shape output_shape(size_t rank, int64_t kept) {
  const int64_t n = std::max<int64_t>(kept, 1);
  return rank == 1 ? Shape{n} : Shape{1, n};
}

void fill_output(std::vector<std::string> kept, Tensor& y) {
  std::string* out = y.data_as<std::string>();
  for (size_t i = 0; i < kept.size(); ++i) out[i] = std::move(kept[i]);
  if (kept.empty()) out[0].clear();
}

void infer_string_normalizer(NodeContext& c) {
  const NormalizerAttrs a = read_attrs(c);
  c.check(c.input_dtype(0) == DType::string,
          std::string("input must be a string tensor, not ") + dtype_name(c.input_dtype(0)));
  const Shape& x = c.input_shape(0);
  c.check(shape_ok(x), "input must be [C] or [1, C], is " + shape_str(x));
  if (a.stopwords.empty()) {
    c.set_output(0, DType::string, output_shape(x.size(), shape_numel(x)));
    return;
  }
  const Tensor* constant = c.input_const(0);
  c.check(constant != nullptr,
          "with stopwords the output shape depends on the data: the input must be a constant "
          "(octet plans every shape at compile time)");
  std::vector<std::string> kept;
  try {
    kept = normalize(*constant, a);
  } catch (const Error& e) {
    c.fail(e.what());
  }
  Tensor y(DType::string, output_shape(x.size(), static_cast<int64_t>(kept.size())));
  fill_output(std::move(kept), y);
  c.set_output_const(0, std::move(y));
}

class StringNormalizerKernel final : public OpKernel {
 public:
  explicit StringNormalizerKernel(NormalizerAttrs a) : a_(std::move(a)) {}
  void run(KernelContext& ctx) const override {
    std::vector<std::string> kept = normalize(ctx.input(0), a_);
    Tensor& y = ctx.output(0);
    // Without stopwords every word is kept; the compiled shape is that (or the one empty string).
    if (static_cast<int64_t>(std::max<size_t>(kept.size(), 1)) != y.numel())
      throw Error("StringNormalizer kept " + std::to_string(kept.size()) + " words, the compiled output holds " +
                  std::to_string(y.numel()));
    fill_output(std::move(kept), y);
  }

 private:
  NormalizerAttrs a_;
};

std::unique_ptr<OpKernel> create_string_normalizer(const NodeContext& c) {
  return std::make_unique<StringNormalizerKernel>(read_attrs(c));
}

}  // namespace

void register_string_normalizer_ops(OpRegistry& r) {
  OpDef def{"", "StringNormalizer", infer_string_normalizer, create_string_normalizer};
  def.strings = true;
  r.add(def);
}

}  // namespace octet::detail
