#include "api/api_guard.h"
#include "octet/frontend/onnx_loader.h"
#include "octet/graph/graph.h"
#include "octet/octet.h"
#include "ops/op_registry.h"

namespace octet {
namespace {

std::vector<TensorInfo> infos(const detail::Graph& g, const std::vector<int>& ids) {
  std::vector<TensorInfo> out;
  for (int id : ids) {
    const detail::Value& v = g.values[id];
    TensorInfo t;
    t.name = v.name;
    t.dtype = v.dtype;
    t.shape = v.shape_known ? v.shape : Shape{};
    t.dim_names = v.dim_names;
    t.is_sequence = v.is_sequence;
    t.element_shapes = v.seq_shapes;
    t.is_optional = v.is_optional || v.is_none;
    t.is_none = v.is_none;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

Model Model::load(const std::string& path) {
  return detail::api_guard("Model::load", [&] { return Model(frontend::load_onnx_file(path, detail::registry_has_op)); });
}

Model Model::load_from_buffer(const void* data, size_t size, const std::string& base_dir) {
  return detail::api_guard("Model::load_from_buffer",
                          [&] { return Model(frontend::load_onnx_buffer(data, size, base_dir, detail::registry_has_op)); });
}

std::vector<TensorInfo> Model::inputs() const { return infos(*graph_, graph_->inputs); }
std::vector<TensorInfo> Model::outputs() const { return infos(*graph_, graph_->outputs); }
const std::string& Model::path() const { return graph_->model_path; }

namespace detail {
std::vector<TensorInfo> graph_io_infos(const Graph& g, bool inputs) { return infos(g, inputs ? g.inputs : g.outputs); }
}  // namespace detail

}  // namespace octet
