// What each C handle refers to, and the typed lookup from a handle to its object.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/c/c_handle_registry.h"
#include "api/c/c_status.h"
#include "octet/octet.h"
#include "octet/octet_c.h"

namespace octet::capi {

// A model's or compiled model's inputs or outputs, with the C views (name and dim-name
// pointers) that octet_value_info hands out; they live as long as the table.
class IoTable {
 public:
  explicit IoTable(std::vector<TensorInfo> infos);
  size_t size() const { return infos_.size(); }
  const TensorInfo& at(size_t index) const;  // CApiError past the end
  const TensorInfo* find(const std::string& name) const;        // nullptr when absent
  octet_value_info c_info(size_t index) const;  // CApiError past the end
  std::string names() const;  // "a, b": for messages

 private:
  std::vector<TensorInfo> infos_;
  std::vector<std::vector<const char*>> dim_name_views_;
};

struct ModelObject {
  explicit ModelObject(Model m) : model(std::move(m)), inputs(model.inputs()), outputs(model.outputs()) {}
  Model model;
  IoTable inputs, outputs;
};

struct CompileOptionsObject {
  std::mutex mutex;  // options may be set from several threads
  CompileOptions options;
};

struct CompiledModelObject {
  explicit CompiledModelObject(CompiledModel c);
  CompiledModel compiled;
  IoTable inputs, outputs;
  std::string isa, description;
  std::vector<LayerError> report;
};

struct SessionObject {
  SessionObject(std::shared_ptr<const CompiledModelObject> c)
      : compiled(std::move(c)), session(compiled->compiled.create_session()) {}
  std::shared_ptr<const CompiledModelObject> compiled;  // the names and shapes runs check against
  std::mutex mutex;  // serializes misuse from several threads (a Session is single-threaded)
  Session session;
};

struct TensorObject {
  Tensor tensor;
};

// The object behind each C handle type, and its kind.
template <class Object_, HandleKind kind_>
struct HandleTraitsOf {
  using Object = Object_;
  static constexpr HandleKind kind = kind_;
};
template <class Handle> struct HandleTraits;
template <> struct HandleTraits<octet_model> : HandleTraitsOf<ModelObject, HandleKind::model> {};
template <> struct HandleTraits<octet_compile_options> : HandleTraitsOf<CompileOptionsObject, HandleKind::compile_options> {};
template <> struct HandleTraits<octet_compiled_model> : HandleTraitsOf<CompiledModelObject, HandleKind::compiled_model> {};
template <> struct HandleTraits<octet_session> : HandleTraitsOf<SessionObject, HandleKind::session> {};
template <> struct HandleTraits<octet_tensor> : HandleTraitsOf<TensorObject, HandleKind::tensor> {};

inline uint64_t token_of(const void* handle) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle)); }

// The object of a live handle; CApiError for NULL or a handle that is not live. `role` names
// the argument in messages ("session", "inputs[2]").
template <class Handle>
std::shared_ptr<typename HandleTraits<Handle>::Object> lookup(const Handle* handle, const std::string& role) {
  using Traits = HandleTraits<Handle>;
  if (!handle) invalid_argument(role + " is NULL");
  return std::static_pointer_cast<typename Traits::Object>(
      HandleRegistry::instance().find(token_of(handle), Traits::kind, role.c_str()));
}

// A new handle owning `object`.
template <class Handle>
Handle* issue(std::shared_ptr<typename HandleTraits<Handle>::Object> object) {
  const uint64_t token = HandleRegistry::instance().add(HandleTraits<Handle>::kind, std::move(object));
  return reinterpret_cast<Handle*>(static_cast<uintptr_t>(token));
}

// Frees a handle; NULL is a no-op.
template <class Handle>
void release(Handle* handle, const char* role) {
  if (handle) HandleRegistry::instance().remove(token_of(handle), HandleTraits<Handle>::kind, role);
}

template <class T>
void require_out(T* out, const char* name) {
  if (!out) invalid_argument(std::string("out-parameter '") + name + "' is NULL");
}

}  // namespace octet::capi
