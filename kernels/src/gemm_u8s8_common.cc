#include "gemm_u8s8_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "octet/error.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/thread_scratch.h"

namespace octet::kernels::detail {
namespace {

// Keeps the compiler from contracting a product and a following sum into one FMA, which
// would round once instead of twice and break bit-equality with the SIMD epilogues.
inline float rounded(float x) {
  asm("" : "+x"(x));
  return x;
}

constexpr int64_t kMaxDim = int64_t(1) << 31;
constexpr int64_t kMaxPackedBytes = int64_t(1) << 36;

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Per-thread scratch, grown on demand and kept (kernels run many times with the same sizes).
thread_local ThreadScratch t_partial, t_apack;

}  // namespace

void u8s8_pack_b(const int8_t* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
                 const int32_t* bias_q, int32_t a_zero_point, Isa isa, bool fast,
                 const U8S8Layout& layout, int64_t kc, PackedBU8S8* out) {
  if (!out) throw Error("gemm_u8s8 pack_b: null output");
  if (K < 0 || N < 0 || K >= kMaxDim || N >= kMaxDim)
    throw Error("gemm_u8s8 pack_b: bad shape K=" + std::to_string(K) + " N=" + std::to_string(N));
  if (K > 0 && N > 0) {
    if (!b) throw Error("gemm_u8s8 pack_b: null B");
    if (ldb < (trans_b ? K : N))
      throw Error("gemm_u8s8 pack_b: ldb=" + std::to_string(ldb) + " too small for K=" +
                  std::to_string(K) + " N=" + std::to_string(N) + (trans_b ? " (trans_b)" : ""));
  }
  const int64_t nr = layout.nr > 0 ? layout.nr : std::max<int64_t>(N, 1);
  const int64_t kg = layout.kg, eb = layout.elem_bytes;
  const int64_t Kp = round_up(K, kg), panels = ceil_div(N, nr);
  const int64_t bytes = panels * Kp * nr * eb;
  if (bytes > kMaxPackedBytes)
    throw Error("gemm_u8s8 pack_b: packed B of " + std::to_string(bytes) + " bytes is too large");

  out->isa = isa;
  out->fast = fast;
  out->K = K;
  out->N = N;
  out->nr = nr;
  out->kc = kc;
  out->data.resize(static_cast<size_t>(bytes));  // zero-filled: the padding stays zero
  out->comp.resize(static_cast<size_t>(panels * nr) * sizeof(int32_t));

  int8_t* d8 = out->data.as<int8_t>();
  int16_t* d16 = out->data.as<int16_t>();
  uint32_t* comp = out->comp.as<uint32_t>();
  for (int64_t n = 0; n < N; ++n) {
    const int64_t p = n / nr, c = n % nr;
    const int64_t base = p * Kp * nr + c * kg;
    uint32_t colsum = 0;  // modulo 2^32, like every kernel's int32 arithmetic
    for (int64_t k = 0; k < K; ++k) {
      const int8_t v = trans_b ? b[n * ldb + k] : b[k * ldb + n];
      const int64_t at = base + (k / kg) * nr * kg + k % kg;
      if (eb == 1) d8[at] = v;
      else d16[at] = v;
      colsum += static_cast<uint32_t>(static_cast<int32_t>(v));
    }
    const uint32_t bias = bias_q ? static_cast<uint32_t>(bias_q[n]) : 0u;
    comp[n] = bias - static_cast<uint32_t>(a_zero_point) * colsum;
  }
}

U8S8Epilogue u8s8_check_call(const char* who, Isa isa, bool fast, int64_t M, int64_t lda,
                             const PackedBU8S8& b, const void* out, int64_t ldc,
                             const EpilogueQ& ep, const ASegments* seg) {
  const std::string w = who;
  if (b.isa != isa || b.fast != fast)
    throw Error(w + ": B was packed for " + IsaChoice{b.isa, b.fast}.name() +
                ", not for this kernel");
  if (M < 0 || M >= kMaxDim) throw Error(w + ": bad M=" + std::to_string(M));
  const int64_t K = b.K, N = b.N;
  if (M > 0 && N > 0) {
    if (seg) {
      const std::string problem = a_segments_problem(*seg, K, b.kc, lda, 4);
      if (!problem.empty()) throw Error(w + ": " + problem);
    } else if (K > 0 && lda < K) {
      throw Error(w + ": lda=" + std::to_string(lda) + " < K=" + std::to_string(K));
    }
    if (ldc < N) throw Error(w + ": ldc=" + std::to_string(ldc) + " < N=" + std::to_string(N));
    if (!out) throw Error(w + ": null output");
  }
  U8S8Epilogue e;
  e.out_type = static_cast<int32_t>(ep.out_type);
  switch (ep.out_type) {
    case QOutType::s32:
      return e;  // scale, residual and activation do not apply
    case QOutType::f32:
      if (ep.act == Activation::hardswish) throw Error(w + ": HardSwish is not an INT8 GEMM epilogue");
      e.act = static_cast<int32_t>(ep.act);
      if (ep.act == Activation::relu) e.lo = 0.f;
      if (ep.act == Activation::clip) {
        e.lo = ep.clip_lo;
        e.hi = ep.clip_hi;
      }
      break;
    case QOutType::u8:
    case QOutType::s8: {
      const bool u8 = ep.out_type == QOutType::u8;
      const int32_t tlo = u8 ? 0 : -128, thi = u8 ? 255 : 127;
      if (ep.q_lo < tlo || ep.q_hi > thi || ep.q_lo > ep.q_hi)
        throw Error(w + ": output range [" + std::to_string(ep.q_lo) + ", " +
                    std::to_string(ep.q_hi) + "] is not inside the " + (u8 ? "u8" : "s8") +
                    " range");
      if (ep.out_zero_point < tlo || ep.out_zero_point > thi)
        throw Error(w + ": output zero point " + std::to_string(ep.out_zero_point) +
                    " is outside the " + (u8 ? "u8" : "s8") + " range");
      e.zp = ep.out_zero_point;
      e.q_lo = ep.q_lo;
      e.q_hi = ep.q_hi;
      e.lo = static_cast<float>(ep.q_lo - ep.out_zero_point);
      e.hi = static_cast<float>(ep.q_hi - ep.out_zero_point);
      break;
    }
    default:
      throw Error(w + ": unknown output type");
  }
  if (M > 0 && N > 0 && !ep.scale) throw Error(w + ": null scale");
  if (ep.residual) {
    if (ep.ldr < N) throw Error(w + ": ldr=" + std::to_string(ep.ldr) + " < N");
    e.has_residual = 1;
    e.r_zp = ep.r_zero_point;
    e.r_scale = ep.r_scale;
  }
  if (ep.add_input) {
    if (ep.out_type != QOutType::u8 && ep.out_type != QOutType::s8)
      throw Error(w + ": a fused add needs 8-bit output");
    if (ep.residual) throw Error(w + ": a fused add and a residual term together");
    if (ep.ld_add < N) throw Error(w + ": ld_add=" + std::to_string(ep.ld_add) + " < N");
    if (ep.add.s8 != (ep.out_type == QOutType::s8)) throw Error(w + ": the fused add's type is not the output's");
    if (!qadd_q8_params_ok(ep.add))
      throw Error(w + ": the fused add needs finite positive multipliers whose sums fit int32");
    const int32_t tlo = ep.add.s8 ? -128 : 0, thi = ep.add.s8 ? 127 : 255;
    for (int32_t z : {ep.add.a_zero, ep.add.b_zero, ep.add.c_zero})
      if (z < tlo || z > thi) throw Error(w + ": a fused add zero point is outside the 8-bit range");
    e.has_add = 1;
    e.add = ep.add;
    e.add_shift = ep.out_zero_point - ep.add.a_zero;
  }
  return e;
}

void u8s8_epilogue_row_ref(const int32_t* acc, int64_t count, const float* scale,
                           const uint8_t* residual, const U8S8Epilogue& e, void* out) {
  const auto type = static_cast<QOutType>(e.out_type);
  if (type == QOutType::s32) {
    std::memcpy(out, acc, static_cast<size_t>(count) * sizeof(int32_t));
    return;
  }
  for (int64_t j = 0; j < count; ++j) {
    float y = rounded(static_cast<float>(acc[j]) * scale[j]);
    if (e.has_residual) {
      const float r =
          rounded(static_cast<float>(static_cast<int32_t>(residual[j]) - e.r_zp) * e.r_scale);
      y = y + r;
    }
    if (type == QOutType::f32) {
      if (e.act == static_cast<int32_t>(Activation::relu)) y = std::max(y, e.lo);
      if (e.act == static_cast<int32_t>(Activation::clip)) y = std::min(std::max(y, e.lo), e.hi);
      static_cast<float*>(out)[j] = y;
      continue;
    }
    // NaN -> lo (the comparison is false); lo and hi are integers, so q is in [q_lo, q_hi].
    y = y > e.lo ? y : e.lo;
    y = y < e.hi ? y : e.hi;
    int32_t q = static_cast<int32_t>(std::nearbyint(y)) + e.zp;
    if (e.has_add) {  // QLinearAdd(q, A2) as kernels/qadd_q8.h; A2[j] read before out[j] is written
      const int32_t b = type == QOutType::u8 ? int32_t(residual[j]) : int32_t(int8_t(residual[j]));
      q = qadd_q8_scalar(q, b, e.add);
    }
    if (type == QOutType::u8) static_cast<uint8_t*>(out)[j] = static_cast<uint8_t>(q);
    else static_cast<int8_t*>(out)[j] = static_cast<int8_t>(q);
  }
}

namespace {

// One thread's share of the output: rows [r0, r1), panels [p0, p1).
struct Part {
  int64_t r0, r1, p0, p1;
};

// A JIT core over t->tiles row tiles, then the partial sums or the ISA's epilogue.
void run_core(const U8S8Impl& impl, const U8S8TileKey& key, U8S8TileArgs* t) {
  const int nr = impl.layout.nr;
  const U8S8TileFn core = u8s8_core_kernel(impl.core, impl.mr, nr, key);
  if (!key.epilogue && t->n_valid == nr) {  // whole panels of sums: straight to their place
    t->acc = t->partial;
    t->acc_ld = t->ldp;
    core(t);
    return;
  }
  if (t->tiles > 1) {  // one at a time through the dense tile
    U8S8TileArgs one = *t;
    one.tiles = 1;
    const int MR = impl.mr, ob = u8s8_out_bytes(static_cast<QOutType>(t->ep->out_type));
    for (int32_t i = 0; i < t->tiles; ++i) {
      run_core(impl, key, &one);
      one.a += impl.pack_a ? int64_t(MR) * t->groups * 4 : MR * t->lda;
      if (one.partial) one.partial += MR * t->ldp;
      one.out = static_cast<uint8_t*>(one.out) + MR * t->ldc * ob;
      if (one.residual) one.residual += MR * t->ldr;
    }
    return;
  }
  constexpr int kMaxTile = 8 * 64;
  alignas(64) int32_t acc[kMaxTile];
  t->acc = acc;
  t->acc_ld = nr;
  if (!key.first)
    for (int i = 0; i < key.mr; ++i)
      std::memcpy(acc + i * nr, t->partial + i * t->ldp, size_t(t->n_valid) * 4);
  core(t);
  if (!key.epilogue) {
    for (int i = 0; i < key.mr; ++i)
      std::memcpy(t->partial + i * t->ldp, acc + i * nr, size_t(t->n_valid) * 4);
    return;
  }
  const int ob = u8s8_out_bytes(static_cast<QOutType>(t->ep->out_type));
  for (int i = 0; i < key.mr; ++i)
    impl.epilogue_row(acc + i * nr, t->n_valid, t->scale,
                      t->residual ? t->residual + i * t->ldr : nullptr, *t->ep,
                      static_cast<uint8_t*>(t->out) + i * t->ldc * ob);
}

void run_part(const U8S8Impl& impl, const Part& part, const uint8_t* a, int64_t lda,
              const PackedBU8S8& b, void* out, int64_t ldc, const EpilogueQ& ep,
              const U8S8Epilogue& e, const ASegments* seg) {
  const int64_t K = b.K, N = b.N, nr = b.nr;
  const int64_t kg = impl.layout.kg, eb = impl.layout.elem_bytes;
  const int64_t Kp = round_up(K, kg);
  const int MR = impl.mr;
  const int64_t kc = impl.kc;
  const int64_t blocks = K == 0 ? 1 : ceil_div(K, kc);
  const bool s32_out = ep.out_type == QOutType::s32;
  const int ob = u8s8_out_bytes(ep.out_type);
  // Row block: the A rows of one K block that stay in L2 while every panel passes over them.
  const int64_t a_row_bytes = std::max<int64_t>(std::min(kc, K), 1) * (impl.pack_a ? 2 : 1);
  const int64_t mc = std::min(std::max<int64_t>(impl.a_block_bytes / a_row_bytes / MR, 1) * MR,
                              round_up(part.r1 - part.r0, MR));

  // Partial sums between K blocks: in the output itself for s32, else in scratch.
  int32_t* partial = nullptr;
  int64_t ldp = 0;
  if (blocks > 1 && !s32_out) {
    ldp = (part.p1 - part.p0) * nr;
    partial = t_partial.get<int32_t>(static_cast<size_t>(mc * ldp));
  }
  int32_t* apack = nullptr;
  const int64_t pairs_max = ceil_div(std::min(kc, std::max<int64_t>(K, 1)), 2);
  if (impl.pack_a)
    apack = t_apack.get<int32_t>(static_cast<size_t>(ceil_div(mc, MR) * MR * pairs_max));

  const auto* bdata = b.data.as<uint8_t>();
  const auto* comp = b.comp.as<int32_t>();
  U8S8TileArgs t{};
  t.ep = &e;
  if (seg) {  // one K block (checked): each tile reads seg->count segments of seg_k
    t.a_segments = seg->count;
    t.a_seg_stride = seg->stride;
  }
  for (int64_t ic = part.r0; ic < part.r1; ic += mc) {
    const int64_t mrows = std::min(mc, part.r1 - ic);
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t k0 = blk * kc;
      const int64_t kcount = std::min(kc, K - k0);
      const bool first = blk == 0, last = blk == blocks - 1;
      int64_t groups = (seg ? seg->seg_k : kcount) / kg;
      int k_rem = seg ? 0 : static_cast<int>(kcount % kg);
      if (impl.pack_a) {
        // The packed panel is zero-padded to whole pairs, so the remainder is a whole group.
        groups = ceil_div(kcount, kg);
        k_rem = 0;
        for (int64_t ir = 0; ir < mrows; ir += MR)
          impl.pack_a(a + (ic + ir) * lda + k0, lda,
                      static_cast<int>(std::min<int64_t>(MR, mrows - ir)), kcount,
                      apack + (ir / MR) * MR * groups);
      }
      for (int64_t p = part.p0; p < part.p1; ++p) {
        const int64_t n0 = p * nr;
        const int n_valid = static_cast<int>(std::min(nr, N - n0));
        U8S8TileKey key{};
        key.nv = static_cast<int>(ceil_div(n_valid, impl.lanes));
        key.n_tail = n_valid % impl.lanes != 0;
        key.k_rem = last ? k_rem : 0;
        key.first = first;
        key.epilogue = last && !s32_out;
        if (key.epilogue) {
          key.out_type = e.out_type;
          key.act = e.out_type == static_cast<int32_t>(QOutType::f32) ? e.act : 0;
          key.residual = e.has_residual;
          key.add = e.has_add;
        }
        t.b = bdata + (p * Kp + k0) * nr * eb;
        key.b_bytes = static_cast<int>(eb);
        t.groups = groups;
        t.comp = comp + n0;
        t.n_valid = n_valid;
        t.k_rem = key.k_rem;
        t.first = first;
        t.epilogue = key.epilogue;
        for (int64_t ir = 0; ir < mrows;) {
          const int64_t m0 = ic + ir;
          key.mr = static_cast<int>(std::min<int64_t>(MR, mrows - ir));
          t.mr = key.mr;
          // Whole tiles in one call where the kernel loops over them itself.
          t.tiles = impl.multi_tile && key.mr == MR ? static_cast<int32_t>((mrows - ir) / MR) : 1;
          if (impl.pack_a) {
            t.a = reinterpret_cast<const uint8_t*>(apack + (ir / MR) * MR * groups);
            t.lda = 0;
          } else {
            t.a = a + m0 * lda + k0;
            t.lda = lda;
          }
          if (s32_out) {
            t.partial = static_cast<int32_t*>(out) + m0 * ldc + n0;
            t.ldp = ldc;
          } else if (partial) {
            t.partial = partial + ir * ldp + (p - part.p0) * nr;
            t.ldp = ldp;
          }
          t.out = static_cast<uint8_t*>(out) + (m0 * ldc + n0) * ob;
          t.ldc = ldc;
          t.scale = ep.scale ? ep.scale + n0 : nullptr;
          if (ep.residual) {
            t.residual = ep.residual + m0 * ep.ldr + n0;
            t.ldr = ep.ldr;
          } else if (ep.add_input) {
            t.residual = ep.add_input + m0 * ep.ld_add + n0;
            t.ldr = ep.ld_add;
          }
          if (impl.tile) impl.tile(key)(&t);
          else run_core(impl, key, &t);
          ir += int64_t(t.tiles) * MR;
        }
      }
    }
  }
}

}  // namespace

void u8s8_run(const U8S8Impl& impl, int64_t M, const uint8_t* a, int64_t lda,
              const PackedBU8S8& b, void* out, int64_t ldc, const EpilogueQ& ep,
              const U8S8Epilogue& e, ThreadPool* pool, const ASegments* seg) {
  if (seg && (!impl.tile || impl.pack_a))
    throw Error(std::string(impl.name) + ": no kernel for A in segments");
  const int64_t N = b.N, K = b.K;
  if (M == 0 || N == 0) return;
  const int64_t MR = impl.mr;
  const int64_t row_tiles = ceil_div(M, MR), panels = ceil_div(N, b.nr);
  int threads = pool ? pool->size() : 1;
  // Waking a thread costs microseconds: small products run on the caller alone.
  if (static_cast<double>(M) * N * std::max<int64_t>(K, 1) < double(1 << 19)) threads = 1;

  // Split rows x panels into tr x tn parts, minimising the largest part (in tiles); ties
  // favour splitting the panels, so each thread streams less of B. Depends only on the
  // shape and the thread count; the result does not depend on it at all (integer sums,
  // per-element epilogue), so any split is bit-identical.
  int tr = 1, tn = 1;
  int64_t best = -1;
  for (int cr = 1; cr <= threads; ++cr) {
    if (threads % cr) continue;
    const int cn = threads / cr;
    if (cr > row_tiles || cn > panels) continue;
    const int64_t cost = ceil_div(row_tiles, cr) * ceil_div(panels, cn);
    if (best < 0 || cost < best || (cost == best && cn > tn)) {
      best = cost;
      tr = cr;
      tn = cn;
    }
  }
  const int parts = tr * tn;
  auto part_of = [&](int64_t index) {
    const int pr = static_cast<int>(index / tn), pn = static_cast<int>(index % tn);
    int64_t rb, re, pb, pe;
    split_range(row_tiles, tr, pr, &rb, &re);
    split_range(panels, tn, pn, &pb, &pe);
    return Part{rb * MR, std::min(re * MR, M), pb, pe};
  };
  if (parts == 1 || !pool) {
    for (int i = 0; i < parts; ++i) run_part(impl, part_of(i), a, lda, b, out, ldc, ep, e, seg);
    return;
  }
  // An exception (a failed JIT generation) must not escape a pool thread: carried to the caller.
  std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
  pool->parallel_for(parts, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      try {
        run_part(impl, part_of(i), a, lda, b, out, ldc, ep, e, seg);
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
      }
    }
  });
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

void u8s8_report_pack(const char* name, int64_t K, int64_t N) {
  if (verbose())
    std::fprintf(stderr, "octet: gemm_u8s8 weights K=%lld N=%lld -> %s\n",
                 static_cast<long long>(K), static_cast<long long>(N), name);
}

}  // namespace octet::kernels::detail
