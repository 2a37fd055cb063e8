// Packed weights that outlive a compile: kernels pack their constant GEMM operands through
// these helpers, which record each packed buffer when compiling (CompiledModel::save writes
// them) and, when a compiled-model file is loaded, hand the kernel the file's bytes in place
// instead of packing again. The kernel table and the layout come from the same probe either
// way; a file whose buffers do not have exactly the size that layout implies is refused.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "octet/kernels/gemm_f32.h"
#include "octet/kernels/gemm_u8s8.h"
#include "octet/kernels/registry.h"
#include "ops/op_registry.h"

namespace octet::detail {

// One packed operand of one node, as saved in a compiled-model file.
struct PackedWeightRecord {
  int node = -1;              // graph node index
  int input = -1;             // the node's constant input it was packed from
  std::string table;          // the kernel table that packed it (and runs it)
  std::vector<int64_t> meta;  // layout parameters: K, N, nr, kc
  struct Buffer {
    const void* data = nullptr;  // 64-byte aligned; owned by the kernel (or the mapped file)
    uint64_t bytes = 0;
  };
  std::vector<Buffer> buffers;
};

class PackedWeightStore {
 public:
  // Compiling: records what kernels pack.
  PackedWeightStore() = default;
  // Loading: hands out `records` (buffers pointing into memory `keeper` keeps alive) in order.
  PackedWeightStore(std::vector<PackedWeightRecord> records, std::shared_ptr<const void> keeper)
      : records_(std::move(records)), keeper_(std::move(keeper)), restoring_(true) {}

  bool restoring() const { return restoring_; }
  const std::vector<PackedWeightRecord>& records() const { return records_; }
  const std::shared_ptr<const void>& keeper() const { return keeper_; }

  void record(PackedWeightRecord r) { records_.push_back(std::move(r)); }
  // The next record, which must belong to this node and input; throws Error otherwise.
  const PackedWeightRecord& take(const NodeContext& ctx, size_t input);
  // Throws Error when records are left over once every kernel is created.
  void check_all_taken() const;

 private:
  std::vector<PackedWeightRecord> records_;
  std::shared_ptr<const void> keeper_;
  bool restoring_ = false;
  size_t next_ = 0;
};

// FP32 B (from constant input `input`) for `ops`: `pack` fills *out with ops->pack_b when
// compiling; loading takes the compiled file's bytes. K x N as the kernel will use it.
void packed_b_f32(const NodeContext& ctx, size_t input, const kernels::GemmF32Ops* ops, int64_t K, int64_t N,
                  kernels::PackedBF32* out, const std::function<void(kernels::PackedBF32*)>& pack);

// INT8 B: `choose_and_pack` picks the table (r.gemm_u8s8, or r.gemm_u8s8_where_exact where it
// is provably exact for the weights), packs into *out and returns the table; loading takes the
// table the file names (one of those two) and its bytes, without reading the weights.
const kernels::GemmU8S8Ops* packed_b_u8s8(
    const NodeContext& ctx, size_t input, const kernels::KernelRegistry& r, int64_t K, int64_t N,
    kernels::PackedBU8S8* out, const std::function<const kernels::GemmU8S8Ops*(kernels::PackedBU8S8*)>& choose_and_pack);

}  // namespace octet::detail
