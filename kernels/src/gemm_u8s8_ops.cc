// The GemmU8S8Ops tables of the SIMD INT8 implementations (baseline code): each binds an
// implementation's packing routine to its kernels, and refuses to run on a CPU without the
// implementation's ISA.
#include <algorithm>
#include <string>

#include "gemm_u8s8_common.h"
#include "octet/error.h"
#include "octet/kernels/isa.h"

namespace octet::kernels {
namespace {

void require_cpu(const detail::U8S8Impl& impl) {
  if (!cpu_supports(impl.isa))
    throw Error(std::string(impl.name) + " needs " + isa_name(impl.isa) + " but this CPU (" +
                cpu_description() + ") lacks it");
}

template <const detail::U8S8Impl* I>
void pack_b(const int8_t* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
            const int32_t* bias_q, int32_t a_zero_point, PackedBU8S8* out) {
  detail::u8s8_pack_b(b, K, N, ldb, trans_b, bias_q, a_zero_point, I->isa, I->fast, I->layout,
                      I->kc, out);
  detail::u8s8_report_pack(I->name, K, N);
}

// A in rows, or in segments (seg not null) for the JIT tile kernels (VNNI), which read it in
// place.
template <const detail::U8S8Impl* I>
void checked_run(int64_t M, const uint8_t* a, int64_t lda, const ASegments* seg, const PackedBU8S8& b, void* out,
                 int64_t ldc, const EpilogueQ& ep, ThreadPool* pool) {
  require_cpu(*I);
  const detail::U8S8Epilogue e = detail::u8s8_check_call(I->name, I->isa, I->fast, M, lda, b, out, ldc, ep, seg);
  detail::u8s8_run(*I, M, a, lda, b, out, ldc, ep, e, pool, seg);
}

template <const detail::U8S8Impl* I>
void gemm(int64_t M, const uint8_t* a, int64_t lda, const PackedBU8S8& b, void* out,
          int64_t ldc, const EpilogueQ& ep, ThreadPool* pool) {
  checked_run<I>(M, a, lda, nullptr, b, out, ldc, ep, pool);
}

template <const detail::U8S8Impl* I>
void gemm_segmented(int64_t M, const uint8_t* a, int64_t lda, const ASegments& seg, const PackedBU8S8& b,
                    void* out, int64_t ldc, const EpilogueQ& ep, ThreadPool* pool) {
  checked_run<I>(M, a, lda, &seg, b, out, ldc, ep, pool);
}

template <const detail::U8S8Impl* I>
const GemmU8S8Ops* ops() {
  static const GemmU8S8Ops table{I->name, I->mr, I->layout.nr, pack_b<I>, gemm<I>,
                                 I->tile && !I->pack_a ? gemm_segmented<I> : nullptr};
  return &table;
}

}  // namespace

bool u8s8_fast_is_exact(const int8_t* b, int64_t K, int64_t N, int64_t ldb, bool trans_b) {
  auto at = [&](int64_t k, int64_t n) -> int {
    return k < K ? (trans_b ? b[n * ldb + k] : b[k * ldb + n]) : 0;
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; k += 2) {
      const int w0 = at(k, n), w1 = at(k + 1, n);
      const int pos = std::max(w0, 0) + std::max(w1, 0);
      const int neg = std::min(w0, 0) + std::min(w1, 0);
      if (255 * pos > 32767 || 255 * neg < -32768) return false;
    }
  return true;
}

const GemmU8S8Ops* gemm_u8s8_ops_avx2() { return ops<&detail::u8s8_impl_avx2>(); }
const GemmU8S8Ops* gemm_u8s8_ops_avx2_fast() { return ops<&detail::u8s8_impl_avx2_fast>(); }
const GemmU8S8Ops* gemm_u8s8_ops_avx512() { return ops<&detail::u8s8_impl_avx512>(); }
const GemmU8S8Ops* gemm_u8s8_ops_avx512_fast() { return ops<&detail::u8s8_impl_avx512_fast>(); }
const GemmU8S8Ops* gemm_u8s8_ops_vnni() { return ops<&detail::u8s8_impl_vnni>(); }

}  // namespace octet::kernels
