#include "octet/octet.h"

namespace octet {

Value Value::sequence(std::vector<Tensor> elements) {
  Value v;
  v.kind_ = Kind::sequence;
  v.elements_ = std::move(elements);
  return v;
}

const Tensor& Value::tensor() const {
  if (kind_ != Kind::tensor) throw Error(std::string("Value::tensor() on ") + (is_none() ? "none" : "a sequence"));
  return tensor_;
}

const std::vector<Tensor>& Value::elements() const {
  if (kind_ != Kind::sequence) throw Error(std::string("Value::elements() on ") + (is_none() ? "none" : "a tensor"));
  return elements_;
}

}  // namespace octet
