// Goto/BLIS-style cache blocking and threading for the SIMD FP32 GEMM tables. Baseline code:
// it only slices the problem and calls the family's micro-kernels through pointers.
//
// Threads get a tm x tn grid of regions (rows of mr-row tiles x nr-wide panels of B). Inside a
// region (rows [m0, m1), panels [p0, p1)), one of two loop nests:
// * the region's B (K x its panels) fits in the L2 budget: for each mr-row micro-panel of A,
//   for each K block, for each panel: micro-kernel. C's row panel stays hot between K blocks.
// * otherwise: for each K block, for each MC block of rows (A copied when should_copy_a), for
//   each NC block of panels (the kc x nc block of B stays in L2), for each micro-panel of A,
//   for each panel: micro-kernel.
// kc goes up to 8192: the A micro-panel and the B panel then stream from L2/L3 through the
// prefetchers, which measured better on Zen 4 than L1/L2-sized K blocks with more round trips
// of C (e.g. 128x768x3072: 108 GFLOP/s unblocked vs 98 with kc = 1024).
//
// Every C element is computed by the same sequence of operations whatever the grid or loop
// nest: K blocks in order (their size a function of K alone), one FMA chain over k within a
// block, the same epilogue. So results do not depend on the number of threads.
#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "gemm_f32_tile.h"
#include "octet/error.h"
#include "octet/kernels/aligned_buffer.h"
#include "octet/kernels/thread_scratch.h"

namespace octet::kernels::detail {
namespace {

// Size of a copied A block (mc x kc). It is re-read from L3 for each NC block; blocks sized
// for L2 (next to B's) measured slower on Zen 4 than large ones.
constexpr int64_t kABlockBytes = 2 * 1024 * 1024;

struct Problem {
  const F32KernelFamily* fam;
  int64_t M, N, K, kc;
  const float* a;
  int64_t lda;
  const float* b;  // packed
  float* c;
  int64_t ldc;
  const EpilogueF32* ep;
  bool copy_a;
  const ASegments* seg;  // or null: plain rows
};

TileInit first_init(const EpilogueF32& ep) {
  if (ep.bias && ep.residual) return TileInit::bias_residual;
  if (ep.bias) return TileInit::bias;
  if (ep.residual) return TileInit::residual;
  return TileInit::zero;
}

TileFinish last_finish(const EpilogueF32& ep) {
  switch (ep.act) {
    case Activation::none: return TileFinish::store;
    case Activation::relu: return TileFinish::relu;
    case Activation::clip: return TileFinish::clip;
    case Activation::hardswish: return TileFinish::hardswish;
  }
  return TileFinish::store;
}

// A rows whose stride is a multiple of 2 KiB fall on one or two groups of L1 sets, so the
// mr rows read together (plus the streaming B) overflow the 8 ways and thrash; such A blocks
// are copied to a buffer with a padded stride. Other strides read A in place: the copy costs
// more than it saves when the block is reused over few panels (measured on Zen 4).
bool should_copy_a(const F32KernelFamily& fam, int64_t M, int64_t K, int64_t lda) {
  if (M < 2 * fam.mr || K < 16) return false;
  return (lda * int64_t(sizeof(float))) % 2048 == 0;
}

// The scratch for copied A blocks, one per thread, grown on demand.
float* a_scratch(size_t floats) {
  thread_local ThreadScratch buf;
  return buf.get<float>(floats);
}

// Calls the micro-kernels over one region; keeps the kernel of the last tile key.
class TileRunner {
 public:
  TileRunner(const Problem& pr) : pr_(pr), fam_(*pr.fam), ep_(*pr.ep) {
    args_.ldc_bytes = pr.ldc * 4;
    args_.ldr_bytes = ep_.ldr * 4;
    args_.clip_lo = ep_.clip_lo;
    args_.clip_hi = ep_.clip_hi;
  }

  // Selects the K block [k0, k0 + kc).
  void set_k_block(int64_t k0, int64_t kc) {
    k0_ = k0;
    key_.init = k0 == 0 ? first_init(ep_) : TileInit::load_c;
    key_.finish = k0 + kc >= pr_.K ? last_finish(ep_) : TileFinish::store;
    // Segmented A has one K block (checked by gemm_f32_blocked).
    const ASegments* seg = pr_.seg;
    key_.segmented = seg != nullptr;
    args_.seg_count = seg ? seg->count : 1;
    args_.seg_k = seg ? seg->seg_k : kc;
    args_.seg_stride_bytes = seg ? seg->stride * 4 : 0;
    key_.k_rem = static_cast<int>(args_.seg_k % fam_.k_unroll);
    args_.kc = kc;
    args_.init = key_.init;
    args_.finish = key_.finish;
  }

  // Rows [m, m + rows) (rows <= mr) times panels [jb, je) for the current K block; row r of
  // A's block is at a + r * a_ld (already offset to k0).
  void row_panel(int64_t m, int rows, const float* a, int64_t a_ld, int64_t jb, int64_t je) {
    const int64_t nr = fam_.nr;
    key_.rows = rows;
    args_.a = a;
    args_.lda_bytes = a_ld * 4;
    for (int64_t jr = jb; jr < je; ++jr) {
      const int64_t n0 = jr * nr;
      const int cols = static_cast<int>(std::min<int64_t>(nr, pr_.N - n0));
      key_.vecs = (cols + fam_.lanes - 1) / fam_.lanes;
      key_.masked = cols % fam_.lanes != 0;
      if (!kernel_ || key_.rows != cached_.rows || key_.vecs != cached_.vecs ||
          key_.masked != cached_.masked || key_.init != cached_.init ||
          key_.finish != cached_.finish || key_.k_rem != cached_.k_rem ||
          key_.segmented != cached_.segmented) {
        kernel_ = fam_.get(key_);
        cached_ = key_;
      }
      args_.b = pr_.b + (jr * pr_.K + k0_) * nr;
      args_.c = pr_.c + m * pr_.ldc + n0;
      args_.n_valid = cols;
      args_.bias = ep_.bias ? ep_.bias + n0 : nullptr;
      args_.residual = ep_.residual ? ep_.residual + m * ep_.ldr + n0 : nullptr;
      kernel_(&args_);
    }
  }

 private:
  const Problem& pr_;
  const F32KernelFamily& fam_;
  const EpilogueF32& ep_;
  F32TileArgs args_;
  F32TileKey key_, cached_;
  F32TileKernel kernel_ = nullptr;
  int64_t k0_ = 0;
};

// Copies rows [m, m + rows) x columns [k0, k0 + kc) of A to `dst` with stride dst_ld.
void copy_a_rows(const Problem& pr, int64_t m, int64_t rows, int64_t k0, int64_t kc, float* dst,
                 int64_t dst_ld) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * dst_ld, pr.a + (m + r) * pr.lda + k0, size_t(kc) * sizeof(float));
}

// A padded stride for copied A rows: a multiple of 16 floats plus 16, never 2 KiB-aligned.
int64_t padded_ld(int64_t k) {
  int64_t ld = (k + 15) / 16 * 16 + 16;
  if ((ld * 4) % 2048 == 0) ld += 16;
  return ld;
}

// Cuts `rows` into ceil(rows / mr) tiles of nearly equal height (1024 = 62 x 14 + 12 x 13,
// not 73 x 14 + 2): a 2-row tile streams a whole B panel for 2 rows of work.
struct RowTiles {
  int64_t rows, count;
  RowTiles(int64_t rows_, int mr) : rows(rows_), count((rows_ + mr - 1) / mr) {}
  void get(int64_t t, int64_t* first, int64_t* height) const {
    int64_t b, e;
    split_range(rows, static_cast<int>(count), static_cast<int>(t), &b, &e);
    *first = b;
    *height = e - b;
  }
};

void run_region(const Problem& pr, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const F32KernelFamily& fam = *pr.fam;
  const int64_t nr = fam.nr, K = pr.K, kc_full = std::max<int64_t>(pr.kc, 1);
  const int64_t k_blocks = K == 0 ? 1 : (K + kc_full - 1) / kc_full;
  const int64_t l2b = fam.l2_b_bytes;
  TileRunner run(pr);

  // When the region's whole B (K x its panels) fits in L2, finish each row panel of C over
  // all K blocks before moving on: C stays in L1 between K blocks.
  if ((p1 - p0) * K * nr * 4 <= l2b) {
    const int64_t a_ld = padded_ld(K);
    float* a_buf = pr.copy_a ? a_scratch(static_cast<size_t>(fam.mr * a_ld)) : nullptr;
    const RowTiles tiles(m1 - m0, fam.mr);
    for (int64_t t = 0; t < tiles.count; ++t) {
      int64_t m, rows;
      tiles.get(t, &m, &rows);
      m += m0;
      if (pr.copy_a) copy_a_rows(pr, m, rows, 0, K, a_buf, a_ld);
      for (int64_t kb = 0; kb < k_blocks; ++kb) {
        const int64_t k0 = kb * kc_full, kc = std::min(kc_full, K - k0);
        run.set_k_block(k0, kc);
        if (pr.copy_a)
          run.row_panel(m, static_cast<int>(rows), a_buf + k0, a_ld, p0, p1);
        else
          run.row_panel(m, static_cast<int>(rows), pr.a + m * pr.lda + k0, pr.lda, p0, p1);
      }
    }
    return;
  }

  const int64_t nc_panels = std::max<int64_t>(1, l2b / (kc_full * nr * 4));
  const int64_t mc_rows =
      pr.copy_a ? std::max<int64_t>(1, kABlockBytes / (kc_full * 4) / fam.mr) * fam.mr : (m1 - m0);
  const int64_t a_ld = padded_ld(kc_full);
  float* a_buf = pr.copy_a ? a_scratch(static_cast<size_t>(mc_rows * a_ld)) : nullptr;
  for (int64_t kb = 0; kb < k_blocks; ++kb) {
    const int64_t k0 = kb * kc_full, kc = std::min(kc_full, K - k0);
    run.set_k_block(k0, kc);
    for (int64_t ic = m0; ic < m1; ic += mc_rows) {
      const int64_t mc = std::min(mc_rows, m1 - ic);
      const float* a_blk = pr.a + ic * pr.lda + k0;
      int64_t a_blk_ld = pr.lda;
      if (pr.copy_a) {
        copy_a_rows(pr, ic, mc, k0, kc, a_buf, a_ld);
        a_blk = a_buf;
        a_blk_ld = a_ld;
      }
      for (int64_t jc = p0; jc < p1; jc += nc_panels) {
        const int64_t je = std::min(jc + nc_panels, p1);
        const RowTiles tiles(mc, fam.mr);
        for (int64_t t = 0; t < tiles.count; ++t) {
          int64_t ir, rows;
          tiles.get(t, &ir, &rows);
          run.row_panel(ic + ir, static_cast<int>(rows), a_blk + ir * a_blk_ld, a_blk_ld, jc, je);
        }
      }
    }
  }
}

// Chooses a tm x tn grid of regions (tm * tn <= threads) that minimises the largest
// region's work. Within 3% of the best, more regions win (all threads busy), then splitting
// M: each thread then reads (and, when copied, copies) only its own rows of A.
void choose_grid(const F32KernelFamily& fam, int64_t M, int64_t panels, int threads, int* tm_out,
                 int* tn_out) {
  const int64_t m_tiles = (M + fam.mr - 1) / fam.mr;
  struct Option { int tm, tn; double cost; };
  std::vector<Option> options;
  double best = 0;
  for (int tm = 1; tm <= threads && tm <= m_tiles; ++tm)
    for (int tn = 1; tm * tn <= threads && tn <= panels; ++tn) {
      // Largest region: rows of its tiles (a ragged tile still costs a pass) x panels.
      const int64_t tiles = (m_tiles + tm - 1) / tm;
      const int64_t rows = std::min<int64_t>(M, tiles * fam.mr) + tiles * 2;
      const int64_t pans = (panels + tn - 1) / tn;
      options.push_back({tm, tn, double(rows) * double(pans)});
      if (options.size() == 1 || options.back().cost < best) best = options.back().cost;
    }
  *tm_out = *tn_out = 1;
  for (const Option& o : options) {
    if (o.cost > best * 1.03) continue;
    const int tasks = o.tm * o.tn, chosen = *tm_out * *tn_out;
    if (tasks > chosen || (tasks == chosen && o.tm > *tm_out)) {
      *tm_out = o.tm;
      *tn_out = o.tn;
    }
  }
}

}  // namespace

void gemm_f32_blocked(const F32KernelFamily& fam, int64_t M, const float* a, int64_t lda,
                      const PackedBF32& b, float* c, int64_t ldc, const EpilogueF32& ep,
                      ThreadPool* pool, const ASegments* seg) {
  if (b.isa != fam.isa || b.nr != fam.nr)
    throw Error(std::string(fam.name) + ": B was packed by another kernel table");
  if (M < 0) throw Error(std::string(fam.name) + ": negative M");
  const int64_t N = b.N, K = b.K;
  if (M == 0 || N == 0) return;
  if (seg) {
    const std::string problem = a_segments_problem(*seg, K, b.kc, lda, 1);
    if (!problem.empty()) throw Error(std::string(fam.name) + ": " + problem);
  } else if (K > 0 && lda < K) {
    throw Error(std::string(fam.name) + ": lda < K");
  }
  if (ldc < N) throw Error(std::string(fam.name) + ": ldc < N");
  if (ep.residual && ep.ldr < N) throw Error(std::string(fam.name) + ": ldr < N");

  // Segmented rows overlap and are read in place (a copy would be the gather they avoid).
  Problem pr{&fam, M, N, K, b.kc, a, lda, b.data.as<float>(), c, ldc, &ep,
             !seg && should_copy_a(fam, M, K, lda), seg};
  const int64_t panels = (N + fam.nr - 1) / fam.nr;

  int threads = pool ? pool->size() : 1;
  // Below ~1M multiply-adds the wake-up of other threads costs more than it saves.
  if (double(M) * double(N) * double(K) < double(1 << 20)) threads = 1;
  int tm = 1, tn = 1;
  if (threads > 1) choose_grid(fam, M, panels, threads, &tm, &tn);
  if (tm * tn == 1) {
    run_region(pr, 0, M, 0, panels);
    return;
  }
  const int64_t m_tiles = (M + fam.mr - 1) / fam.mr;
  // An exception (JIT or allocation failure) must not escape a pool thread: keep the first
  // and rethrow it on the caller.
  std::vector<std::exception_ptr> errors(static_cast<size_t>(tm * tn));
  pool->run_tasks(tm * tn, [&](int task) {
    try {
      int64_t tb, te, pb, pe;
      split_range(m_tiles, tm, task / tn, &tb, &te);
      split_range(panels, tn, task % tn, &pb, &pe);
      run_region(pr, tb * fam.mr, std::min(M, te * fam.mr), pb, pe);
    } catch (...) {
      errors[static_cast<size_t>(task)] = std::current_exception();
    }
  });
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace octet::kernels::detail
