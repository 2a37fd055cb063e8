// JIT compute cores of the non-VNNI INT8 kernels (AVX2 / AVX-512, exact and fast), generated
// with Xbyak. Written as JIT rather than intrinsics because GCC spills the 12-24 accumulators
// of these tiles; here every register is placed by hand. One core per (variant, rows, column
// vectors, K remainder, first block), generated on first use and cached for the process.
// This file only emits machine code, so it is baseline code; the cores run only after the
// u8s8 ops checked the CPU.
//
// A core: accumulators = comp (first K block) or the dense s32 tile args->acc; then, per
// group of k, B vectors from the packed panel, one broadcast of A per row, and
//   exact: vpmaddwd t, a, b; vpaddd acc, acc, t             (s16 pairs, never saturates;
//          B is s16, or s8 widened as it is loaded with vpmovsxbw)
//   fast:  vpmaddubsw t, a, b; vpmaddwd t, t, ones; vpaddd   (u8 x s8 pairs, saturating s16)
// and finally the accumulators are stored to args->acc (row i at acc + i * acc_ld). A core
// runs args->tiles tiles, each MR rows below the previous (A, acc), with the same B.
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

constexpr int kUnroll = 4;

#define ARG(field) ptr[rdi + static_cast<int>(offsetof(U8S8TileArgs, field))]

struct CoreSpec {
  U8S8Core core;
  int MR, NR;  // the implementation's tile (A panel stride, dense tile stride)
  int mr, nv, k_rem, first;
  int b_bytes;  // exact: bytes per packed B element (1: s8 widened on load, 2: s16)
};

class CoreGenerator : public Xbyak::CodeGenerator {
 public:
  explicit CoreGenerator(const CoreSpec& s)
      : Xbyak::CodeGenerator(32 * 1024, Xbyak::DontSetProtectRWE), s_(s) {
    zmm_ = s.core == U8S8Core::avx512_exact || s.core == U8S8Core::avx512_fast;
    exact_ = s.core == U8S8Core::avx2_exact || s.core == U8S8Core::avx512_exact;
    vec_bytes_ = zmm_ ? 64 : 32;
    b8_ = exact_ && s.b_bytes == 1;
    group_bytes_ = b8_ ? s.NR * 2 : s.NR * 4;  // NR columns x (2 s8 | 2 s16 | 4 s8)
    // Registers: accumulators, then B vectors, A broadcast, product, ones.
    const int n_acc = s.mr * s.nv;
    b0_ = n_acc;
    a_ = b0_ + s.nv;
    tmp_ = a_ + 1;
    ones_ = tmp_ + 1;
    if ((exact_ ? tmp_ : ones_) >= (zmm_ ? 32 : 16))
      throw Error("gemm_u8s8 JIT core: tile too large");
    generate();
    setProtectModeRE();
  }
  U8S8TileFn fn() const { return getCode<U8S8TileFn>(); }

 private:
  Xbyak::Xmm vec(int idx) const {
    return zmm_ ? Xbyak::Xmm(Xbyak::Zmm(idx)) : Xbyak::Xmm(Xbyak::Ymm(idx));
  }
  Xbyak::Xmm acc(int i, int j) const { return vec(i * s_.nv + j); }

  const Xbyak::Reg64 &rA = r8, &rLda = r9, &rA3 = r10, &rB = r11, &rCount = rcx;

  // Across tiles (callee-saved): rTileA / rTileAcc at the current tile, rTiles tiles left,
  // rAStride / rAccStride from one tile to the next.
  const Xbyak::Reg64 &rTileA = r12, &rTileAcc = r13, &rTiles = r14, &rAStride = r15,
                     &rAccStride = rbx;

  // rsi: acc rows 0-2, rax: rows 3-5, rdx: row stride in bytes.
  void acc_rows() {
    mov(rsi, rTileAcc);
    mov(rdx, ARG(acc_ld));
    shl(rdx, 2);
    lea(rax, ptr[rdx + rdx * 2]);
    add(rax, rsi);
  }
  Xbyak::Address acc_addr(int i, int j) const {
    const Xbyak::Reg64& base = i < 3 ? rsi : rax;
    switch (i % 3) {
      case 0: return ptr[base + j * vec_bytes_];
      case 1: return ptr[base + rdx + j * vec_bytes_];
      default: return ptr[base + rdx * 2 + j * vec_bytes_];
    }
  }

  void generate() {
    const Xbyak::Reg64* saved[] = {&rbx, &r12, &r13, &r14, &r15};
    for (const auto* r : saved) push(*r);
    mov(rTileA, ARG(a));
    mov(rTileAcc, ARG(acc));
    movsxd(rTiles, dword[rdi + static_cast<int>(offsetof(U8S8TileArgs, tiles))]);
    // Next tile: MR rows down. Packed A panels follow each other (MR dwords per group).
    if (exact_) {
      mov(rAStride, ARG(groups));
      imul(rAStride, rAStride, 4 * s_.MR);
    } else {
      mov(rAStride, ARG(lda));
      imul(rAStride, rAStride, s_.MR);
    }
    mov(rAccStride, ARG(acc_ld));
    imul(rAccStride, rAccStride, 4 * s_.MR);
    if (!exact_) {
      // 16-bit ones for vpmaddwd: all bits set, then each word shifted right by 15.
      const Xbyak::Xmm ones = vec(ones_);
      if (zmm_) vpternlogd(ones, ones, ones, 0xff);
      else vpcmpeqw(ones, ones, ones);
      vpsrlw(ones, ones, 15);
    }

    Xbyak::Label next_tile;
    L(next_tile);
    start();
    mov(rA, rTileA);
    mov(rB, ARG(b));
    mov(rCount, ARG(groups));
    if (!exact_) {
      mov(rLda, ARG(lda));
      lea(rA3, ptr[rLda + rLda * 2]);
      add(rA3, rA);
    }
    Xbyak::Label main_loop, tail_loop, done;
    L(main_loop);
    cmp(rCount, kUnroll);
    jl(tail_loop, T_NEAR);
    for (int u = 0; u < kUnroll; ++u) step(u, 0);
    advance(kUnroll);
    sub(rCount, kUnroll);
    jmp(main_loop, T_NEAR);
    L(tail_loop);
    test(rCount, rCount);
    jz(done, T_NEAR);
    step(0, 0);
    advance(1);
    dec(rCount);
    jmp(tail_loop, T_NEAR);
    L(done);
    if (s_.k_rem) step(0, s_.k_rem);
    acc_rows();
    for (int i = 0; i < s_.mr; ++i)
      for (int j = 0; j < s_.nv; ++j) vmovdqu(acc_addr(i, j), acc(i, j));
    add(rTileA, rAStride);
    add(rTileAcc, rAccStride);
    dec(rTiles);
    jnz(next_tile, T_NEAR);

    vzeroupper();
    for (int r = 4; r >= 0; --r) pop(*saved[r]);
    ret();
  }

  // vmovdqu for ymm (VEX), vmovdqu32 for zmm.
  void vmovdqu(const Xbyak::Address& dst, const Xbyak::Xmm& src) {
    if (zmm_) vmovdqu32(dst, src);
    else Xbyak::CodeGenerator::vmovdqu(dst, src);
  }
  void vmovdqu(const Xbyak::Xmm& dst, const Xbyak::Address& src) {
    if (zmm_) vmovdqu32(dst, src);
    else Xbyak::CodeGenerator::vmovdqu(dst, src);
  }

  void start() {
    if (s_.first) {
      mov(rax, ARG(comp));
      for (int j = 0; j < s_.nv; ++j) vmovdqu(acc(0, j), ptr[rax + j * vec_bytes_]);  // padded
      for (int i = 1; i < s_.mr; ++i)
        for (int j = 0; j < s_.nv; ++j) vmovdqa(acc(i, j), acc(0, j));
      return;
    }
    acc_rows();
    for (int i = 0; i < s_.mr; ++i)
      for (int j = 0; j < s_.nv; ++j) vmovdqu(acc(i, j), acc_addr(i, j));
  }

  void vmovdqa(const Xbyak::Xmm& dst, const Xbyak::Xmm& src) {
    if (zmm_) vmovdqa32(dst, src);
    else Xbyak::CodeGenerator::vmovdqa(dst, src);
  }

  void advance(int groups) {
    add(rB, group_bytes_ * groups);
    if (exact_) {
      add(rA, 4 * s_.MR * groups);  // packed pairs: one dword per row per group
    } else {
      add(rA, 4 * groups);
      add(rA3, 4 * groups);
    }
  }

  Xbyak::RegExp a_row(int i) const {
    const Xbyak::Reg64& base = i < 3 ? rA : rA3;
    switch (i % 3) {
      case 0: return Xbyak::RegExp(base);
      case 1: return base + rLda;
      default: return base + rLda * 2;
    }
  }

  // Broadcasts the A dword of row i (group u) into `a`. k_rem > 0: only k_rem bytes exist.
  void broadcast_a(const Xbyak::Xmm& a, int i, int u, int k_rem) {
    if (exact_) {
      vpbroadcastd(a, ptr[rA + 4 * (u * s_.MR + i)]);
      return;
    }
    const Xbyak::RegExp row = a_row(i) + 4 * u;
    if (!k_rem) {
      vpbroadcastd(a, ptr[row]);
      return;
    }
    // The partial group, assembled byte by byte (the bytes past K may be past the buffer).
    movzx(eax, byte[row]);
    for (int b = 1; b < k_rem; ++b) {
      movzx(edx, byte[row + b]);
      shl(edx, 8 * b);
      or_(eax, edx);
    }
    const Xbyak::Xmm x(a.getIdx());
    vmovd(x, eax);
    vpbroadcastd(a, x);
  }

  void step(int u, int k_rem) {
    for (int j = 0; j < s_.nv; ++j) {
      if (b8_) vpmovsxbw(vec(b0_ + j), ptr[rB + u * group_bytes_ + j * vec_bytes_ / 2]);
      else vmovdqu(vec(b0_ + j), ptr[rB + u * group_bytes_ + j * vec_bytes_]);
    }
    const Xbyak::Xmm a = vec(a_), t = vec(tmp_), ones = vec(ones_);
    for (int i = 0; i < s_.mr; ++i) {
      broadcast_a(a, i, u, k_rem);
      for (int j = 0; j < s_.nv; ++j) {
        if (exact_) {
          vpmaddwd(t, a, vec(b0_ + j));
        } else {
          vpmaddubsw(t, a, vec(b0_ + j));
          vpmaddwd(t, t, ones);
        }
        vpaddd(acc(i, j), acc(i, j), t);
      }
    }
  }

  CoreSpec s_;
  bool zmm_ = false, exact_ = false, b8_ = false;
  int vec_bytes_ = 0, group_bytes_ = 0;
  int b0_ = 0, a_ = 0, tmp_ = 0, ones_ = 0;
};

#undef ARG

// Slot: variant 3 bits, mr 3 bits (1..8), nv 2 bits (1..4), k_rem 2 bits, first 1 bit,
// s8 B 1 bit.
constexpr int kSlots = 1 << 12;
struct Cache {
  std::atomic<U8S8TileFn> slots[kSlots];  // zero-initialised (static storage)
  std::mutex mu;
  std::vector<std::unique_ptr<CoreGenerator>> code;  // kept for the process
};
Cache g_cache;

}  // namespace

U8S8TileFn u8s8_core_kernel(U8S8Core core, int MR, int NR, const U8S8TileKey& key) {
  const int b_bytes = key.b_bytes;
  if (core == U8S8Core::none || key.mr < 1 || key.mr > 8 || key.mr > MR || key.nv < 1 ||
      key.nv > 4 || key.k_rem < 0 || key.k_rem > 3 || (b_bytes != 1 && b_bytes != 2))
    throw Error("gemm_u8s8 JIT core: no kernel for this tile");
  const int slot = static_cast<int>(core) | (key.mr - 1) << 3 | (key.nv - 1) << 6 |
                   key.k_rem << 8 | key.first << 10 | (b_bytes == 1) << 11;
  U8S8TileFn fn = g_cache.slots[slot].load(std::memory_order_acquire);
  if (fn) return fn;
  std::lock_guard<std::mutex> lock(g_cache.mu);
  fn = g_cache.slots[slot].load(std::memory_order_acquire);
  if (fn) return fn;
  try {
    auto gen = std::make_unique<CoreGenerator>(
        CoreSpec{core, MR, NR, key.mr, key.nv, key.k_rem, key.first, b_bytes});
    fn = gen->fn();
    g_cache.code.push_back(std::move(gen));
  } catch (const Xbyak::Error& e) {
    throw Error(std::string("gemm_u8s8 JIT core: generation failed: ") + e.what());
  }
  g_cache.slots[slot].store(fn, std::memory_order_release);
  return fn;
}

}  // namespace octet::kernels::detail
