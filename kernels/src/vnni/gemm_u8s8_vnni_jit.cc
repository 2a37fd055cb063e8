// VNNI INT8 GEMM micro-kernels, generated with Xbyak: vpdpbusd zmm (u8 x s8, four k per
// 32-bit lane, exact int32 accumulation). One kernel per U8S8TileKey (rows, column vectors,
// N tail, K remainder, first/last block, epilogue), generated on first use and cached for
// the process. This file only emits machine code, so it is baseline code: the kernels run
// only after the dispatch (or u8s8 ops) checked that the CPU has AVX-512 VNNI.
//
// Tile: up to 6 rows x 64 columns = 24 zmm accumulators (zmm0-23); B vectors in zmm24-27,
// A broadcasts in zmm28-29. A is read in place: row i of the tile at a + i * lda, one dword
// (four k) broadcast per vpdpbusd row; A may come in segments (U8S8TileArgs::a_segments, for
// an implicit-GEMM convolution that reads one kernel row of taps per segment from the
// image). Small tiles (<= 8 accumulators, e.g. M = 1) keep two accumulator sets for even
// and odd groups to hide the vpdpbusd latency. A call runs
// args->tiles row tiles over the same B panel (whose K x 64 bytes stay in L2), so small-K
// shapes do not pay a call per tile. The epilogue runs on the accumulators in registers.
#include <xbyak/xbyak.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gemm_u8s8_common.h"
#include "octet/error.h"

namespace octet::kernels::detail {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 64;
constexpr int kGroupBytes = kNR * 4;  // one group of 4 k for 64 columns
constexpr int kUnroll = 4;            // groups per iteration of the main loop

#define ARG(field) ptr[rdi + static_cast<int>(offsetof(U8S8TileArgs, field))]
#define EPI(field) static_cast<int>(offsetof(U8S8Epilogue, field))
#define ADD(field) (EPI(add) + static_cast<int>(offsetof(QAddQ8Params, field)))

class TileGenerator : public Xbyak::CodeGenerator {
 public:
  explicit TileGenerator(const U8S8TileKey& k)
      : Xbyak::CodeGenerator(32 * 1024, Xbyak::DontSetProtectRWE), k_(k) {
    split_ = k.mr * k.nv <= 8;
    generate();
    setProtectModeRE();
  }
  U8S8TileFn fn() const { return getCode<U8S8TileFn>(); }

 private:
  Xbyak::Zmm acc(int i, int j, int set = 0) const {
    return Xbyak::Zmm(set * 12 + i * k_.nv + j);
  }
  // Row i of a matrix with base `b0` (rows 0-2) / `b3` (rows 3-5) and row stride `ld`.
  Xbyak::RegExp row(const Xbyak::Reg64& b0, const Xbyak::Reg64& b3, const Xbyak::Reg64& ld,
                    int i) const {
    const Xbyak::Reg64& base = i < 3 ? b0 : b3;
    switch (i % 3) {
      case 0: return Xbyak::RegExp(base);
      case 1: return base + ld;
      default: return base + ld * 2;
    }
  }
  bool tail_vector(int j) const { return k_.n_tail && j == k_.nv - 1; }

  // Inner loop: rA / rA3 rows 0-2 / 3-5 of A, rLda, rB B at the current group, rCount
  // groups left. Across tiles (callee-saved): rTileA, rTilePartial, rTileOut, rTileRes at
  // the current tile's first row, rTiles tiles left.
  const Xbyak::Reg64 &rA = r8, &rLda = r9, &rA3 = r10, &rB = r11, &rCount = rcx;
  const Xbyak::Reg64 &rTileA = r12, &rTilePartial = r13, &rTileOut = rbx, &rTileRes = r14,
                     &rTiles = r15;
  // The A segment being read and the segments left (free while the loops run).
  const Xbyak::Reg64 &rSegStart = rsi, &rSegLeft = rbp;

  void generate() {
    const Xbyak::Reg64* saved[] = {&rbx, &rbp, &r12, &r13, &r14, &r15};
    for (const auto* r : saved) push(*r);
    if (k_.n_tail) {
      // Lanes valid in the last vector: n_valid - 16 * (nv - 1), in [1, 15].
      mov(ecx, ARG(n_valid));
      sub(ecx, 16 * (k_.nv - 1));
      mov(eax, 1);
      shl(eax, cl);
      dec(eax);
      kmovw(k2, eax);
    }
    mov(rTileA, ARG(a));
    mov(rTilePartial, ARG(partial));
    mov(rTileOut, ARG(out));
    mov(rTileRes, ARG(residual));
    movsxd(rTiles, dword[rdi + static_cast<int>(offsetof(U8S8TileArgs, tiles))]);

    Xbyak::Label next_tile;
    L(next_tile);
    start();
    mov(rA, rTileA);
    mov(rLda, ARG(lda));
    mov(rB, ARG(b));
    if (split_)
      for (int i = 0; i < k_.mr; ++i)
        for (int j = 0; j < k_.nv; ++j) vpxord(acc(i, j, 1), acc(i, j, 1), acc(i, j, 1));
    // A in segments of `groups` groups, a_seg_stride bytes apart (B runs on through them).
    mov(rSegStart, rA);
    mov(rSegLeft, ARG(a_segments));

    Xbyak::Label segment, main_loop, tail_loop, done, segments_done;
    L(segment);
    lea(rA3, ptr[rLda + rLda * 2]);
    add(rA3, rA);
    mov(rCount, ARG(groups));
    L(main_loop);
    cmp(rCount, kUnroll);
    jl(tail_loop, T_NEAR);
    for (int u = 0; u < kUnroll; ++u) step(u, split_ ? (u & 1) : 0, 0);
    add(rA, 4 * kUnroll);
    add(rA3, 4 * kUnroll);
    add(rB, kGroupBytes * kUnroll);
    sub(rCount, kUnroll);
    jmp(main_loop, T_NEAR);
    L(tail_loop);
    test(rCount, rCount);
    jz(done, T_NEAR);
    step(0, 0, 0);
    add(rA, 4);
    add(rA3, 4);
    add(rB, kGroupBytes);
    dec(rCount);
    jmp(tail_loop, T_NEAR);
    L(done);
    dec(rSegLeft);
    jle(segments_done, T_NEAR);
    add(rSegStart, ARG(a_seg_stride));
    mov(rA, rSegStart);
    jmp(segment, T_NEAR);
    L(segments_done);
    if (k_.k_rem) step(0, 0, k_.k_rem);
    if (split_)
      for (int i = 0; i < k_.mr; ++i)
        for (int j = 0; j < k_.nv; ++j) vpaddd(acc(i, j), acc(i, j), acc(i, j, 1));

    if (k_.epilogue) epilogue();
    else store_partial();

    // The next tile, kMR rows down.
    mov(rax, ARG(lda));
    imul(rax, rax, kMR);
    add(rTileA, rax);
    mov(rax, ARG(ldp));
    imul(rax, rax, kMR * 4);
    add(rTilePartial, rax);
    mov(rax, ARG(ldc));
    imul(rax, rax, kMR * out_bytes());
    add(rTileOut, rax);
    mov(rax, ARG(ldr));
    imul(rax, rax, kMR);
    add(rTileRes, rax);
    dec(rTiles);
    jnz(next_tile, T_NEAR);

    vzeroupper();
    for (int r = 5; r >= 0; --r) pop(*saved[r]);
    ret();
  }

  int out_bytes() const {
    const auto type = static_cast<QOutType>(k_.out_type);
    return k_.epilogue && (type == QOutType::u8 || type == QOutType::s8) ? 1 : 4;
  }

  // rsi = partial rows 0-2, rax = rows 3-5, rdx = their stride in bytes.
  void partial_rows() {
    mov(rsi, rTilePartial);
    mov(rdx, ARG(ldp));
    shl(rdx, 2);
    lea(rax, ptr[rdx + rdx * 2]);
    add(rax, rsi);
  }

  // Accumulators start from comp (first K block) or from the partial sums.
  void start() {
    if (k_.first) {
      mov(rax, ARG(comp));
      for (int j = 0; j < k_.nv; ++j) vmovdqu32(acc(0, j), ptr[rax + 64 * j]);  // padded
      for (int i = 1; i < k_.mr; ++i)
        for (int j = 0; j < k_.nv; ++j) vmovdqa32(acc(i, j), acc(0, j));
      return;
    }
    partial_rows();
    for (int i = 0; i < k_.mr; ++i)
      for (int j = 0; j < k_.nv; ++j) {
        const auto addr = ptr[row(rsi, rax, rdx, i) + 64 * j];
        if (tail_vector(j)) vmovdqu32(acc(i, j) | k2 | T_z, addr);
        else vmovdqu32(acc(i, j), addr);
      }
  }

  // One group of 4 k at group offset u from rA / rB, into accumulator set `set`. k_rem > 0:
  // the last, partial group; only k_rem bytes of each A row are read (masked load).
  void step(int u, int set, int k_rem) {
    for (int j = 0; j < k_.nv; ++j)
      vmovdqu8(Xbyak::Zmm(24 + j), ptr[rB + u * kGroupBytes + 64 * j]);
    if (k_rem) {
      mov(eax, (1 << k_rem) - 1);
      kmovw(k1, eax);
    }
    for (int i = 0; i < k_.mr; ++i) {
      const Xbyak::Zmm a(28 + (i & 1));
      const auto addr = row(rA, rA3, rLda, i) + 4 * u;
      if (k_rem) {
        vmovdqu8(Xbyak::Xmm(a.getIdx()) | k1 | T_z, ptr[addr]);
        vpbroadcastd(a, Xbyak::Xmm(a.getIdx()));
      } else {
        vpbroadcastd(a, ptr[addr]);
      }
      for (int j = 0; j < k_.nv; ++j) vpdpbusd(acc(i, j, set), a, Xbyak::Zmm(24 + j));
    }
  }

  void store_partial() {
    partial_rows();
    for (int i = 0; i < k_.mr; ++i)
      for (int j = 0; j < k_.nv; ++j) {
        const auto addr = ptr[row(rsi, rax, rdx, i) + 64 * j];
        if (tail_vector(j)) vmovdqu32(addr | k2, acc(i, j));
        else vmovdqu32(addr, acc(i, j));
      }
  }

  // The contract of gemm_u8s8.h: y = float(acc) * scale (+ residual term), then f32
  // activation, or clamp / round-to-nearest-even / zero point for u8 and s8. Never an FMA.
  // f32: max(lo, y) / min(hi, y) with y second return y on ties (and on NaN), like the
  // reference's std::max(y, lo) / std::min(y, hi). u8/s8: max(y, lo) / min(y, hi) with the
  // bound second map NaN to lo, as the reference's clamp does; the clamped value is an
  // integer in [q_lo - zp, q_hi - zp], so no integer clamp follows.
  void epilogue() {
    const Xbyak::Opmask& tail = k2;
    const auto type = static_cast<QOutType>(k_.out_type);
    const int ob = type == QOutType::f32 ? 4 : 1;
    const Xbyak::Reg64 &rOut = rsi, &rLdc = rdx, &rOut3 = rax, &rEp = rcx, &rScale = r11;
    const Xbyak::Reg64 &rRes = r8, &rLdr = r9, &rRes3 = r10;
    const Xbyak::Zmm scale(24), tmp(25), lo(28), hi(29);
    mov(rEp, ARG(ep));
    mov(rScale, ARG(scale));
    mov(rOut, rTileOut);
    mov(rLdc, ARG(ldc));
    if (ob == 4) shl(rLdc, 2);
    lea(rOut3, ptr[rLdc + rLdc * 2]);
    add(rOut3, rOut);
    if (k_.residual || k_.add) {
      mov(rRes, rTileRes);
      mov(rLdr, ARG(ldr));
      lea(rRes3, ptr[rLdr + rLdr * 2]);
      add(rRes3, rRes);
    }
    const bool f32 = type == QOutType::f32;
    const bool clamp_lo = !f32 || k_.act != static_cast<int>(Activation::none);
    const bool clamp_hi = !f32 || k_.act == static_cast<int>(Activation::clip);
    // A whole 64-column row of 8-bit outputs is packed into one store (below); otherwise
    // each vector is narrowed and stored on its own.
    const bool pack_rows = !f32 && k_.nv == 4 && !k_.n_tail;
    if (clamp_lo && (!pack_rows || k_.add)) vbroadcastss(lo, ptr[rEp + EPI(lo)]);
    const Xbyak::Zmm zero(27);
    if (k_.add && !pack_rows && type == QOutType::u8) vpxord(zero, zero, zero);
    if (clamp_hi) vbroadcastss(hi, ptr[rEp + EPI(hi)]);

    for (int j = 0; j < k_.nv; ++j) {
      if (tail_vector(j)) vmovups(scale | tail | T_z, ptr[rScale + 64 * j]);
      else vmovups(scale, ptr[rScale + 64 * j]);
      for (int i = 0; i < k_.mr; ++i) {
        const Xbyak::Zmm y = acc(i, j);
        vcvtdq2ps(y, y);
        vmulps(y, y, scale);
        if (k_.residual) {
          const auto raddr = ptr[row(rRes, rRes3, rLdr, i) + 16 * j];
          if (tail_vector(j)) vmovdqu8(Xbyak::Xmm(tmp.getIdx()) | tail | T_z, raddr);
          else vmovdqu8(Xbyak::Xmm(tmp.getIdx()), raddr);
          vpmovzxbd(tmp, Xbyak::Xmm(tmp.getIdx()));
          vpsubd(tmp, tmp, ptr_b[rEp + EPI(r_zp)]);
          vcvtdq2ps(tmp, tmp);
          vmulps(tmp, tmp, ptr_b[rEp + EPI(r_scale)]);
          vaddps(y, y, tmp);
        }
        const auto oaddr = ptr[row(rOut, rOut3, rLdc, i) + 16 * ob * j];
        if (f32) {
          if (clamp_lo) vmaxps(y, lo, y);
          if (clamp_hi) vminps(y, hi, y);
          if (tail_vector(j)) vmovups(oaddr | tail, y);
          else vmovups(oaddr, y);
          continue;
        }
        if (k_.add) {
          fused_add(rEp, y, tmp, ptr[row(rRes, rRes3, rLdr, i) + 16 * j], tail_vector(j));
          if (pack_rows) continue;
          vpaddd(y, y, ptr_b[rEp + ADD(c_zero)]);
          const auto dst = tail_vector(j) ? oaddr | tail : oaddr;
          if (type == QOutType::u8) {
            vpmaxsd(y, y, zero);  // vpmovusdb saturates unsigned
            vpmovusdb(dst, y);
          } else {
            vpmovsdb(dst, y);
          }
          continue;
        }
        if (pack_rows) {
          // Only the upper clamp in float; with y second a NaN stays NaN, which vcvtps2dq
          // turns into INT_MIN like -inf and anything below -2^31: the saturating packs and
          // the byte max below take all of them to q_lo.
          vminps(y, hi, y);
          vcvtps2dq(y, y);
          continue;
        }
        vmaxps(y, y, lo);
        vminps(y, y, hi);
        vcvtps2dq(y, y);  // nearest-even in the default MXCSR, as std::nearbyint
        vpaddd(y, y, ptr_b[rEp + EPI(zp)]);
        const auto dst = tail_vector(j) ? oaddr | tail : oaddr;
        if (type == QOutType::u8) vpmovusdb(dst, y);
        else vpmovsdb(dst, y);
      }
    }
    if (!pack_rows) return;
    // Per row: four vectors of 16 int32 (each <= q_hi - zp) -> 32 int16 (saturating) + zp
    // (saturating) -> 64 bytes (saturating), in 128-bit-lane order; vpermd restores column
    // order, and a byte max raises everything below q_lo to it. Every step is monotonic and
    // exact inside [q_lo - zp, q_hi - zp], so this is the contract's clamp, round, + zp.
    const Xbyak::Zmm order(26), zp16(27), q_lo8(28);
    Xbyak::Label table, after;
    jmp(after, T_NEAR);
    align(64);
    L(table);
    // Packed dword L * 4 + v holds columns [16 v + 4 L, 16 v + 4 L + 4): it goes to v * 4 + L.
    for (int d = 0; d < 16; ++d) dd((d % 4) * 4 + d / 4);
    L(after);
    vmovdqu32(order, ptr[rip + table]);
    // The low half of the int32 zero point (the add's, when it is fused), and q_lo's low byte.
    vpbroadcastw(zp16, ptr[rEp + (k_.add ? ADD(c_zero) : EPI(zp))]);
    vpbroadcastb(q_lo8, ptr[rEp + EPI(q_lo)]);
    for (int i = 0; i < k_.mr; ++i) {
      const Xbyak::Zmm a = acc(i, 0), b = acc(i, 2);
      vpackssdw(a, a, acc(i, 1));
      vpackssdw(b, b, acc(i, 3));
      vpaddsw(a, a, zp16);
      vpaddsw(b, b, zp16);
      // The fused add's sum saturates to the type's range: no q_lo there.
      if (type == QOutType::u8) {
        vpackuswb(a, a, b);
        if (!k_.add) vpmaxub(a, a, q_lo8);
      } else {
        vpacksswb(a, a, b);
        if (!k_.add) vpmaxsb(a, a, q_lo8);
      }
      vpermd(a, order, a);
      vmovdqu8(ptr[row(rOut, rOut3, rLdc, i)], a);
    }
  }

  // The fused QLinearAdd on one vector (qadd_q8.h, operation by operation): y holds the
  // epilogue's float value; it leaves as round_half_even(sum), an int32 (exact: the caller
  // checked qadd_q8_params_ok), before the add's zero point.
  void fused_add(const Xbyak::Reg64& ep, const Xbyak::Zmm& y, const Xbyak::Zmm& tmp, const Xbyak::Address& a2, bool tail) {
    vmaxps(y, y, Xbyak::Zmm(28));  // the full clamp: the 8-bit output q exactly
    vminps(y, y, Xbyak::Zmm(29));
    vcvtps2dq(y, y);
    vpaddd(y, y, ptr_b[ep + EPI(add_shift)]);  // q - a_zero
    vcvtdq2ps(y, y);
    vmulps(y, y, ptr_b[ep + ADD(a_mult)]);
    const Xbyak::Xmm t(tmp.getIdx());
    if (tail) vmovdqu8(t | k2 | T_z, a2);
    else vmovdqu8(t, a2);
    if (static_cast<QOutType>(k_.out_type) == QOutType::u8) vpmovzxbd(tmp, t);
    else vpmovsxbd(tmp, t);
    vpsubd(tmp, tmp, ptr_b[ep + ADD(b_zero)]);
    vcvtdq2ps(tmp, tmp);
    vmulps(tmp, tmp, ptr_b[ep + ADD(b_mult)]);
    vaddps(y, y, tmp);
    vcvtps2dq(y, y);
  }

  U8S8TileKey k_;
  bool split_ = false;
};

#undef ARG
#undef EPI
#undef ADD

// Key -> slot: mr 3 bits, nv 2, k_rem 2, n_tail 1, first 1, epilogue 1, out_type 2, act 2,
// residual 1, add 1.
constexpr int kSlots = 1 << 16;
int slot_of(const U8S8TileKey& k) {
  return (k.mr - 1) | (k.nv - 1) << 3 | k.k_rem << 5 | k.n_tail << 7 | k.first << 8 |
         k.epilogue << 9 | k.out_type << 10 | k.act << 12 | k.residual << 14 | k.add << 15;
}

struct Cache {
  std::atomic<U8S8TileFn> slots[kSlots];  // zero-initialised (static storage)
  std::mutex mu;
  std::vector<std::unique_ptr<TileGenerator>> code;  // kept for the process
};
Cache g_cache;

U8S8TileFn generate(const U8S8TileKey& key, int slot) {
  std::lock_guard<std::mutex> lock(g_cache.mu);
  U8S8TileFn fn = g_cache.slots[slot].load(std::memory_order_acquire);
  if (fn) return fn;
  try {
    auto gen = std::make_unique<TileGenerator>(key);
    fn = gen->fn();
    g_cache.code.push_back(std::move(gen));
  } catch (const std::exception& e) {
    throw Error(std::string("gemm_u8s8_vnni: JIT generation failed: ") + e.what());
  }
  g_cache.slots[slot].store(fn, std::memory_order_release);
  return fn;
}

U8S8TileFn select_tile(const U8S8TileKey& key) {
  U8S8TileKey k = key;
  if (!k.epilogue) k.out_type = k.act = k.residual = k.add = 0;  // irrelevant: one kernel
  if (k.mr < 1 || k.mr > kMR || k.nv < 1 || k.nv > 4 || k.k_rem < 0 || k.k_rem > 3 ||
      (k.epilogue && k.out_type == static_cast<int>(QOutType::s32)) ||
      (k.add && k.out_type != static_cast<int>(QOutType::u8) && k.out_type != static_cast<int>(QOutType::s8)))
    throw Error("gemm_u8s8_vnni: no kernel for this tile");
  const int slot = slot_of(k);
  const U8S8TileFn fn = g_cache.slots[slot].load(std::memory_order_acquire);
  return fn ? fn : generate(k, slot);
}

}  // namespace

extern const U8S8Impl u8s8_impl_vnni = {
    "gemm_u8s8_vnni_jit_6x64", Isa::vnni, false, U8S8Layout{kNR, 4, 1},
    kMR, 16, /*a_block_bytes=*/384 << 10, /*kc=*/4608, /*multi_tile=*/true, /*pack_a=*/nullptr,
    select_tile, U8S8Core::none, /*epilogue_row=*/nullptr};

}  // namespace octet::kernels::detail
