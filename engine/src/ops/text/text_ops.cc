// The text op family: registration.
#include "ops/text/text_util.h"

namespace octet::detail {

void register_text_ops(OpRegistry& r) {
  register_string_normalizer_ops(r);
  register_tfidf_ops(r);
}

}  // namespace octet::detail
