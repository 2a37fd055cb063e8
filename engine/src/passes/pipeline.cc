#include "passes/pipeline.h"

#include <utility>

#include "passes/passes.h"

namespace octet::detail {
namespace {

// The one place PassOptions is built.
PassOptions pass_options(PassStage stage, const CompileOptions& options, const kernels::IsaChoice& isa) {
  PassOptions po;
  po.isa = isa;
  po.max_memory_bytes = options.max_memory_bytes;
  po.keep_dequantize = stage == PassStage::qdq_import || stage == PassStage::qdq_shapes;
  return po;
}

}  // namespace

std::vector<Pass> pass_pipeline(PassStage stage, const CompileOptions& options, const kernels::IsaChoice& isa) {
  const PassOptions po = pass_options(stage, options, isa);
  std::vector<Pass> passes;
  auto add = [&passes](const char* name, std::function<void(Graph&)> run) { passes.push_back({name, std::move(run)}); };

  add("infer_and_fold", [po](Graph& g) { infer_and_fold(g, po); });
  switch (stage) {
    case PassStage::fp32:
    case PassStage::qdq_import:
      if (options.optimize) {
        add("remove_identities", remove_identities);
        add("fold_batchnorm", fold_batchnorm);
        if (stage == PassStage::fp32 && isa.isa != kernels::Isa::ref) {
          add("fuse_conv_epilogue", fuse_conv_epilogue);
          add("fuse_layernorm", fuse_layernorm);
          add("fuse_gelu", fuse_gelu);
          add("plan_nhwc_layout", [po](Graph& g) { plan_nhwc_layout(g, po, /*fp32=*/true, /*fuse_into_conv=*/true); });
        }
      }
      break;
    case PassStage::calibration:
      break;
    case PassStage::qdq_shapes:
      return passes;
    case PassStage::int8:
    case PassStage::int8_unfused:
      if (options.optimize) {
        const bool fuse_into_conv = stage == PassStage::int8;
        add("plan_nhwc_layout", [po, fuse_into_conv](Graph& g) { plan_nhwc_layout(g, po, /*fp32=*/false, fuse_into_conv); });
      }
      break;
  }
  add("eliminate_dead_code", eliminate_dead_code);
  add("compact", [](Graph& g) { g.compact(); });
  return passes;
}

void run_pass_pipeline(Graph& g, PassStage stage, const CompileOptions& options, const kernels::IsaChoice& isa) {
  for (const Pass& pass : pass_pipeline(stage, options, isa)) pass.run(g);
}

}  // namespace octet::detail
