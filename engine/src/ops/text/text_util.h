// Helpers shared by the text op family (engine/src/ops/text/): StringNormalizer
// (string_normalizer.cc), TfIdfVectorizer (tfidf_vectorizer.cc), and the number <-> text
// conversions of Cast / CastLike with strings (string_number.cc, used by ops/shape/shape_make.cc).
#pragma once

#include <cstdint>
#include <string>

#include "ops/op_registry.h"

namespace octet::detail {

// Registration of the files of the family; register_text_ops (text_ops.cc) calls them all.
void register_string_normalizer_ops(OpRegistry& r);  // StringNormalizer
void register_tfidf_ops(OpRegistry& r);              // TfIdfVectorizer

// Whether Cast converts between t and string: every numeric dtype (f16 / bf16 included), not bool.
bool string_castable(DType t);
// n numbers of dtype `from` as text, the way the ONNX reference Cast writes them (numpy's str):
// integers in decimal; floats as the shortest digits that read back to the same value of their
// dtype, positional for 1e-4 <= |v| < 1e16 ("0.5", "100.0") and scientific otherwise
// ("1e-05", "1.5e+16"), "inf", "-inf", "nan".
void numbers_to_strings(DType from, const void* src, std::string* dst, int64_t n);
// n strings parsed as dtype `to` (string_castable): decimal or scientific notation with optional
// surrounding ASCII whitespace and sign, "INF" / "+INF" / "-INF" / "NaN" / "infinity" in any case.
// Integer text keeps its exact value (wrapping into narrower types like Cast from s64); other
// text goes through double, then Cast's float rules. Anything else throws Error naming it.
void strings_to_numbers(const std::string* src, DType to, void* dst, int64_t n);

}  // namespace octet::detail
