#include "ops/packed_weights.h"

#include <cstring>

namespace octet::detail {
namespace {

// The layout a table gives a K x N operand, from packing a K x 1 probe: the tables choose nr
// and kc from K alone and lay N out in panels of nr columns (the reference: one panel of N).
struct Layout {
  int64_t nr = 0, kc = 0;
  uint64_t data_bytes = 0, comp_bytes = 0;
  kernels::Isa isa = kernels::Isa::ref;  // the tags a packed operand of this table carries
  bool fast = false;
};

int64_t panel_width(int64_t probe_nr, int64_t N) { return probe_nr == 1 ? std::max<int64_t>(N, 1) : probe_nr; }

Layout f32_layout(const kernels::GemmF32Ops* ops, int64_t K, int64_t N) {
  kernels::PackedBF32 probe;
  std::vector<float> zero(static_cast<size_t>(std::max<int64_t>(K, 1)), 0.0f);
  ops->pack_b(zero.data(), K, 1, 1, false, &probe);
  Layout l;
  l.nr = panel_width(probe.nr, N);
  l.kc = probe.kc;
  l.data_bytes = static_cast<uint64_t>((N + l.nr - 1) / l.nr * l.nr) * static_cast<uint64_t>(K) * sizeof(float);
  l.isa = probe.isa;
  return l;
}

Layout u8s8_layout(const kernels::GemmU8S8Ops* ops, int64_t K, int64_t N) {
  kernels::PackedBU8S8 probe;
  std::vector<int8_t> zero(static_cast<size_t>(std::max<int64_t>(K, 1)), 0);
  ops->pack_b(zero.data(), K, 1, 1, false, nullptr, 0, &probe);
  Layout l;
  l.nr = panel_width(probe.nr, N);
  l.kc = probe.kc;
  const uint64_t columns = static_cast<uint64_t>((N + l.nr - 1) / l.nr * l.nr);
  l.data_bytes = columns * (probe.data.size() / static_cast<uint64_t>(probe.nr));
  l.comp_bytes = columns * sizeof(int32_t);
  l.isa = probe.isa;
  l.fast = probe.fast;
  return l;
}

std::string where(const NodeContext& ctx, size_t input) {
  return ctx.node().label() + " input " + std::to_string(input) + ": ";
}

// The record must say exactly what this node's kernel would have packed.
void check_record(const NodeContext& ctx, size_t input, const PackedWeightRecord& r, const char* table, int64_t K,
                  int64_t N, const Layout& l, size_t buffers) {
  const std::string at = where(ctx, input);
  if (r.table != table)
    throw Error("compiled model: " + at + "packed for kernel table '" + r.table + "', this build chose '" + table + "'");
  if (r.meta != std::vector<int64_t>{K, N, l.nr, l.kc} || r.buffers.size() != buffers)
    throw Error("compiled model: " + at + "the packed layout does not match a K=" + std::to_string(K) +
                " N=" + std::to_string(N) + " operand of " + table);
  const uint64_t expected[2] = {l.data_bytes, l.comp_bytes};
  for (size_t b = 0; b < buffers; ++b) {
    if (r.buffers[b].bytes != expected[b])
      throw Error("compiled model: " + at + "packed buffer " + std::to_string(b) + " has " +
                  std::to_string(r.buffers[b].bytes) + " bytes, the layout needs " + std::to_string(expected[b]) +
                  " (written by a build that packs this kernel differently: compile the model again)");
    if (reinterpret_cast<uintptr_t>(r.buffers[b].data) % 64 != 0)
      throw Error("compiled model: " + at + "packed buffer " + std::to_string(b) + " is not 64-byte aligned");
  }
}

}  // namespace

const PackedWeightRecord& PackedWeightStore::take(const NodeContext& ctx, size_t input) {
  if (next_ >= records_.size() || records_[next_].node != ctx.node_index() ||
      records_[next_].input != static_cast<int>(input))
    throw Error("compiled model: " + where(ctx, input) + "the file holds no packed weights for it here");
  return records_[next_++];
}

void PackedWeightStore::check_all_taken() const {
  if (restoring_ && next_ != records_.size())
    throw Error("compiled model: " + std::to_string(records_.size() - next_) +
                " packed weight records belong to no kernel");
}

void packed_b_f32(const NodeContext& ctx, size_t input, const kernels::GemmF32Ops* ops, int64_t K, int64_t N,
                  kernels::PackedBF32* out, const std::function<void(kernels::PackedBF32*)>& pack) {
  PackedWeightStore* store = ctx.packed_store();
  if (!store) {
    pack(out);
    return;
  }
  const Layout l = f32_layout(ops, K, N);
  if (store->restoring()) {
    const PackedWeightRecord& r = store->take(ctx, input);
    check_record(ctx, input, r, ops->name, K, N, l, 1);
    out->isa = l.isa;
    out->K = K;
    out->N = N;
    out->nr = l.nr;
    out->kc = l.kc;
    out->data = kernels::AlignedBuffer::borrow(r.buffers[0].data, r.buffers[0].bytes, store->keeper());
    return;
  }
  pack(out);
  PackedWeightRecord r;
  r.node = ctx.node_index();
  r.input = static_cast<int>(input);
  r.table = ops->name;
  r.meta = {out->K, out->N, out->nr, out->kc};
  r.buffers = {{out->data.data(), out->data.size()}};
  check_record(ctx, input, r, ops->name, K, N, l, 1);  // the layout rule above holds for this table
  store->record(std::move(r));
}

const kernels::GemmU8S8Ops* packed_b_u8s8(
    const NodeContext& ctx, size_t input, const kernels::KernelRegistry& reg, int64_t K, int64_t N,
    kernels::PackedBU8S8* out, const std::function<const kernels::GemmU8S8Ops*(kernels::PackedBU8S8*)>& choose_and_pack) {
  PackedWeightStore* store = ctx.packed_store();
  if (!store) return choose_and_pack(out);
  if (store->restoring()) {
    const PackedWeightRecord& r = store->take(ctx, input);
    const kernels::GemmU8S8Ops* ops = reg.gemm_u8s8;
    if (reg.gemm_u8s8_where_exact && r.table == reg.gemm_u8s8_where_exact->name) ops = reg.gemm_u8s8_where_exact;
    const Layout l = u8s8_layout(ops, K, N);
    check_record(ctx, input, r, ops->name, K, N, l, 2);
    out->isa = l.isa;
    out->fast = l.fast;
    out->K = K;
    out->N = N;
    out->nr = l.nr;
    out->kc = l.kc;
    out->data = kernels::AlignedBuffer::borrow(r.buffers[0].data, r.buffers[0].bytes, store->keeper());
    out->comp = kernels::AlignedBuffer::borrow(r.buffers[1].data, r.buffers[1].bytes, store->keeper());
    return ops;
  }
  const kernels::GemmU8S8Ops* ops = choose_and_pack(out);
  PackedWeightRecord r;
  r.node = ctx.node_index();
  r.input = static_cast<int>(input);
  r.table = ops->name;
  r.meta = {out->K, out->N, out->nr, out->kc};
  r.buffers = {{out->data.data(), out->data.size()}, {out->comp.data(), out->comp.size()}};
  check_record(ctx, input, r, ops->name, K, N, u8s8_layout(ops, K, N), 2);
  store->record(std::move(r));
  return ops;
}

}  // namespace octet::detail
