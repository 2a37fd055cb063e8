#include "api/c/c_objects.h"

namespace octet::capi {

IoTable::IoTable(std::vector<TensorInfo> infos) : infos_(std::move(infos)) {
  for (const TensorInfo& info : infos_) {
    std::vector<const char*> views;
    for (size_t d = 0; d < info.shape.size(); ++d)
      views.push_back(d < info.dim_names.size() ? info.dim_names[d].c_str() : "");
    dim_name_views_.push_back(std::move(views));
  }
}

const TensorInfo& IoTable::at(size_t index) const {
  if (index >= infos_.size())
    invalid_argument("index " + std::to_string(index) + " is out of range: there are " +
                     std::to_string(infos_.size()));
  return infos_[index];
}

const TensorInfo* IoTable::find(const std::string& name) const {
  for (const TensorInfo& info : infos_)
    if (info.name == name) return &info;
  return nullptr;
}

octet_value_info IoTable::c_info(size_t index) const {
  const TensorInfo& info = at(index);
  octet_value_info c;
  c.name = info.name.c_str();
  c.dtype = static_cast<octet_dtype>(info.dtype);
  c.rank = info.shape.size();
  c.dims = info.shape.empty() ? nullptr : info.shape.data();
  c.dim_names = dim_name_views_[index].empty() ? nullptr : dim_name_views_[index].data();
  return c;
}

std::string IoTable::names() const {
  std::string s;
  for (const TensorInfo& info : infos_) s += (s.empty() ? "" : ", ") + info.name;
  return s;
}

CompiledModelObject::CompiledModelObject(CompiledModel c)
    : compiled(std::move(c)),
      inputs(compiled.inputs()),
      outputs(compiled.outputs()),
      isa(compiled.isa()),
      description(compiled.describe()),
      report(compiled.quantization_report()) {}

}  // namespace octet::capi
