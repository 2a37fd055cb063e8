// Xbyak generator of the AVX-512 FP32 micro-kernels: an up-to-14x32 register tile (28 zmm
// accumulators), two zmm of packed B per k, A broadcast straight from its rows. Each kernel
// is specialised for its rows, column vectors and N mask, K remainder (seg_k % 4), plain or
// segmented A, accumulator start (zero / bias / residual / bias+residual / C) and finish
// (store / ReLU / clip / HardSwish); they are generated on first use and cached for the life
// of the process.
//
// This file is compiled with baseline flags: it only *writes* AVX-512 machine code. The code
// runs only through the avx512 dispatch table, which exists only on CPUs that have it.
#include <xbyak/xbyak.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gemm_f32_tile.h"
#include "octet/error.h"

namespace octet::kernels::detail {
namespace {

constexpr int kMr = 14, kNr = 32, kLanes = 16, kUnroll = 4;
constexpr int kInits = 5, kFinishes = 4;
constexpr int kTableSize = 2 * kMr * 2 * 2 * kInits * kFinishes * kUnroll;

int table_index(const F32TileKey& k) {
  int i = k.segmented ? 1 : 0;
  i = i * kMr + (k.rows - 1);
  i = i * 2 + (k.vecs - 1);
  i = i * 2 + (k.masked ? 1 : 0);
  i = i * kInits + static_cast<int>(k.init);
  i = i * kFinishes + static_cast<int>(k.finish);
  i = i * kUnroll + k.k_rem;
  return i;
}

class TileGenerator : public Xbyak::CodeGenerator {
 public:
  explicit TileGenerator(const F32TileKey& key)
      : Xbyak::CodeGenerator(16 * 1024, Xbyak::DontSetProtectRWE), key_(key) {
    generate();
    setProtectModeRE();
  }
  F32TileKernel fn() const { return getCode<F32TileKernel>(); }

 private:
  using Reg64 = Xbyak::Reg64;
  using Zmm = Xbyak::Zmm;
  using Address = Xbyak::Address;

  // Registers (System V; caller-saved ones, plus rbx and r12 pushed by segmented kernels):
  // rdi = args.
  const Reg64& rArgs = rdi;
  const Reg64& rB = rax;
  const Reg64& rCount = rcx;
  const Reg64& rLd = rsi;   // leading dimension in bytes of the rows being addressed
  const Reg64& rLd3 = rdx;  // 3 * rLd
  const Reg64* rBase[4] = {&r8, &r9, &r10, &r11};  // rows 4g .. 4g+3
  const Reg64& rSegBase = rbx;   // segmented A: row 0 of the current segment
  const Reg64& rSegCount = r12;  // segments left

  Zmm acc(int r, int v) const { return Zmm(r * key_.vecs + v); }
  static Zmm bvec(int v) { return Zmm(28 + v); }
  static Zmm avec(int r) { return Zmm(30 + (r & 1)); }

  Address arg(size_t offset) { return qword[rArgs + offset]; }

  // Points rBase[] at rows 0, 4, 8, 12 of the matrix whose row 0 is at `first_row_ptr`.
  void set_rows(size_t first_row_ptr, size_t ld_bytes) {
    mov(rLd, arg(ld_bytes));
    lea(rLd3, ptr[rLd + rLd * 2]);
    mov(*rBase[0], arg(first_row_ptr));
    for (int g = 1; g * 4 < key_.rows; ++g) lea(*rBase[g], ptr[*rBase[g - 1] + rLd * 4]);
  }
  Xbyak::RegExp row(int r) const {
    const Reg64& base = *rBase[r / 4];
    switch (r % 4) {
      case 0: return Xbyak::RegExp(base);
      case 1: return base + rLd;
      case 2: return base + rLd * 2;
      default: return base + rLd3;
    }
  }
  bool masked_vec(int v) const { return key_.masked && v == key_.vecs - 1; }
  // A full or masked (zeroing) load of vector v of a row.
  void load_row(const Zmm& dst, const Xbyak::RegExp& row_addr, int v) {
    if (masked_vec(v))
      vmovups(dst | k1 | T_z, zword[row_addr + v * 64]);
    else
      vmovups(dst, zword[row_addr + v * 64]);
  }

  void generate() {
    const int R = key_.rows, V = key_.vecs;
    // A tile that does not start from C only writes it, at the end: request the lines for
    // writing now so that the stores do not wait on them (measured: helps short-K shapes).
    if (key_.init != TileInit::load_c) {
      set_rows(offsetof(F32TileArgs, c), offsetof(F32TileArgs, ldc_bytes));
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) prefetchw(ptr[row(r) + v * 64]);
    }
    if (key_.masked) {  // k1 = lanes of the last vector that hold valid columns
      mov(ecx, dword[rArgs + offsetof(F32TileArgs, n_valid)]);
      sub(ecx, kLanes * (V - 1));
      mov(eax, 1);
      shl(eax, cl);
      dec(eax);
      kmovw(k1, eax);
    }

    // Accumulator start.
    switch (key_.init) {
      case TileInit::zero:
        for (int r = 0; r < R; ++r)
          for (int v = 0; v < V; ++v) vxorps(acc(r, v), acc(r, v), acc(r, v));
        break;
      case TileInit::bias:
        mov(rB, arg(offsetof(F32TileArgs, bias)));
        for (int v = 0; v < V; ++v) load_row(acc(0, v), Xbyak::RegExp(rB), v);
        for (int r = 1; r < R; ++r)
          for (int v = 0; v < V; ++v) vmovaps(acc(r, v), acc(0, v));
        break;
      case TileInit::residual:
        set_rows(offsetof(F32TileArgs, residual), offsetof(F32TileArgs, ldr_bytes));
        for (int r = 0; r < R; ++r)
          for (int v = 0; v < V; ++v) load_row(acc(r, v), row(r), v);
        break;
      case TileInit::bias_residual:
        mov(rB, arg(offsetof(F32TileArgs, bias)));
        for (int v = 0; v < V; ++v) load_row(bvec(v), Xbyak::RegExp(rB), v);
        set_rows(offsetof(F32TileArgs, residual), offsetof(F32TileArgs, ldr_bytes));
        for (int r = 0; r < R; ++r)
          for (int v = 0; v < V; ++v) {
            if (masked_vec(v))
              vaddps(acc(r, v) | k1 | T_z, bvec(v), zword[row(r) + v * 64]);
            else
              vaddps(acc(r, v), bvec(v), zword[row(r) + v * 64]);
          }
        break;
      case TileInit::load_c:
        set_rows(offsetof(F32TileArgs, c), offsetof(F32TileArgs, ldc_bytes));
        for (int r = 0; r < R; ++r)
          for (int v = 0; v < V; ++v) load_row(acc(r, v), row(r), v);
        break;
    }

    // K loop over seg_k steps, unrolled by kUnroll; the remainder seg_k % kUnroll is
    // straight-line code. Segmented A repeats it per segment, B running on, the row pointers
    // restarting at the next segment (rSegBase, callee-saved, so pushed).
    set_rows(offsetof(F32TileArgs, a), offsetof(F32TileArgs, lda_bytes));
    mov(rB, arg(offsetof(F32TileArgs, b)));
    Xbyak::Label seg_loop;
    if (key_.segmented) {
      push(rSegBase);
      push(rSegCount);
      mov(rSegBase, *rBase[0]);
      mov(rSegCount, arg(offsetof(F32TileArgs, seg_count)));
      L(seg_loop);
    }
    mov(rCount, arg(offsetof(F32TileArgs, seg_k)));
    shr(rCount, 2);  // kUnroll == 4
    Xbyak::Label loop, loop_end;
    jz(loop_end, T_NEAR);
    L(loop);
    for (int u = 0; u < kUnroll; ++u) k_step(u);
    add(rB, kUnroll * kNr * 4);
    for (int g = 0; g * 4 < R; ++g) add(*rBase[g], kUnroll * 4);
    dec(rCount);
    jnz(loop, T_NEAR);
    L(loop_end);
    for (int u = 0; u < key_.k_rem; ++u) k_step(u);
    if (key_.segmented) {
      if (key_.k_rem) add(rB, key_.k_rem * kNr * 4);
      add(rSegBase, arg(offsetof(F32TileArgs, seg_stride_bytes)));
      mov(*rBase[0], rSegBase);
      for (int g = 1; g * 4 < R; ++g) lea(*rBase[g], ptr[*rBase[g - 1] + rLd * 4]);
      dec(rSegCount);
      jnz(seg_loop, T_NEAR);
      pop(rSegCount);
      pop(rSegBase);
    }

    // Finish and store.
    if (key_.finish == TileFinish::relu) {
      vxorps(bvec(0), bvec(0), bvec(0));
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) vmaxps(acc(r, v), bvec(0), acc(r, v));  // NaN stays
    } else if (key_.finish == TileFinish::clip) {
      vbroadcastss(bvec(0), dword[rArgs + offsetof(F32TileArgs, clip_lo)]);
      vbroadcastss(bvec(1), dword[rArgs + offsetof(F32TileArgs, clip_hi)]);
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) {
          vmaxps(acc(r, v), bvec(0), acc(r, v));
          vminps(acc(r, v), bvec(1), acc(r, v));
        }
    } else if (key_.finish == TileFinish::hardswish) {
      // gate = min(max(y * 1/6 + 0.5, 0), 1) in avec(0), the constants in the B registers
      // (free after the K loop) and 1.0 broadcast from memory; y *= gate.
      Xbyak::Label constants, after;
      jmp(after, T_NEAR);
      align(4);
      L(constants);
      dd(0x3E2AAAAB);  // 1/6 as a float
      dd(0x3F000000);  // 0.5
      dd(0x3F800000);  // 1.0
      L(after);
      const Xbyak::Zmm gate = avec(0), sixth = bvec(0), half = bvec(1), zero = avec(1);
      vbroadcastss(sixth, dword[rip + constants]);
      vbroadcastss(half, dword[rip + constants + 4]);
      vxorps(zero, zero, zero);
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) {
          vmovaps(gate, acc(r, v));
          vfmadd132ps(gate, half, sixth);  // gate = gate * sixth + half
          vmaxps(gate, gate, zero);
          vminps(gate, gate, zword_b[rip + constants + 8]);
          vmulps(acc(r, v), acc(r, v), gate);
        }
    }
    set_rows(offsetof(F32TileArgs, c), offsetof(F32TileArgs, ldc_bytes));
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) {
        if (masked_vec(v))
          vmovups(zword[row(r) + v * 64] | k1, acc(r, v));
        else
          vmovups(zword[row(r) + v * 64], acc(r, v));
      }
    vzeroupper();
    ret();
  }

  // One k: B row (V vectors) times the broadcast A value of each row.
  void k_step(int u) {
    const int R = key_.rows, V = key_.vecs;
    for (int v = 0; v < V; ++v) vmovups(bvec(v), zword[rB + (u * kNr + v * kLanes) * 4]);
    for (int r = 0; r < R; ++r) {
      if (V == 1) {
        vfmadd231ps(acc(r, 0), bvec(0), zword_b[row(r) + u * 4]);
      } else {
        vbroadcastss(avec(r), dword[row(r) + u * 4]);
        for (int v = 0; v < V; ++v) vfmadd231ps(acc(r, v), bvec(v), avec(r));
      }
    }
  }

  F32TileKey key_;
};

struct KernelCache {
  std::atomic<F32TileKernel> table[kTableSize] = {};
  std::mutex mu;
  std::vector<std::unique_ptr<TileGenerator>> code;  // owns the generated code
};

KernelCache& cache() {
  static KernelCache* c = new KernelCache;  // never destroyed: kernels may run at exit
  return *c;
}

F32TileKernel get_kernel(const F32TileKey& key) {
  if (key.rows < 1 || key.rows > kMr || key.vecs < 1 || key.vecs > 2 || key.k_rem < 0 ||
      key.k_rem >= kUnroll)
    throw Error("gemm_f32_avx512: no micro-kernel for tile " + std::to_string(key.rows) + "x" +
                std::to_string(key.vecs * kLanes));
  KernelCache& c = cache();
  const int index = table_index(key);
  F32TileKernel fn = c.table[index].load(std::memory_order_acquire);
  if (fn) return fn;
  std::lock_guard<std::mutex> lock(c.mu);
  fn = c.table[index].load(std::memory_order_relaxed);
  if (fn) return fn;
  try {
    c.code.push_back(std::make_unique<TileGenerator>(key));
  } catch (const Xbyak::Error& e) {
    throw Error(std::string("gemm_f32_avx512: JIT failed: ") + e.what());
  }
  fn = c.code.back()->fn();
  c.table[index].store(fn, std::memory_order_release);
  return fn;
}

}  // namespace

const F32KernelFamily& f32_family_avx512_jit() {
  static const F32KernelFamily family = {
      "gemm_f32_avx512_jit_14x32", Isa::avx512, kMr, kNr, kLanes, kUnroll,
      /*kc_max=*/8192, /*l2_b_bytes=*/512 * 1024, get_kernel};
  return family;
}

}  // namespace octet::kernels::detail
