// GEMM driver: the GotoBLAS/BLIS loop nest around a register-blocked micro-kernel, independent of
// the SIMD level. One `Kernels` table per SIMD level (gemm_avx512.h, gemm_avx2.h, gemm_neon.h,
// gemm_portable.h; gemm_paths.h picks one) supplies the micro-kernels, the GEMV kernels and the
// block sizes.
//
// Contract (the same as Backend.gemm for one batch): C = alpha·op(A)·op(B) + beta·C (+ bias), where
// op(A)[i][p] = ta ? a[p·lda + i] : a[i·lda + p] and op(B)[p][j] = tb ? b[j·ldb + p] : b[p·ldb + j].
// C is addressed with a row and a column stride so that a problem can be solved transposed
// (Cᵀ = op(B)ᵀ·op(A)ᵀ) when n is too narrow for the micro-kernel and m is not.
//
// Determinism: every element of C is summed in an order fixed by k alone (the k blocking and the
// micro-kernel's sequential FMA chain), so the bits do not depend on the thread count or on which
// thread computed a tile. Threads split C into fixed disjoint blocks; nothing is reduced across threads.
#pragma once
#include "bf16.h"
#include "simd.h"
#include <new>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace gptkit {
namespace gemm {

struct Problem {
  int64_t m, n, k;
  const float* a; int64_t lda; bool ta;
  const float* b; int64_t ldb; bool tb;
  float* c; int64_t rsc, csc;  // C[i][j] = c[i·rsc + j·csc]
  float alpha;
  bool accumulate;             // beta = 1
  const float* bias;           // null, or indexed by column (bias_per_row false) or by row
  bool bias_per_row;
  // Emulated bf16 GEMM (gemm_bf16.h runs the native one): op(A) and op(B) are rounded to bfloat16
  // as they are packed, then multiplied in float32. Every product of two bf16 values is exact in
  // float32, so this differs from vdpbf16ps only in the order of the float32 additions.
  bool round_bf16 = false;
  // C rounded to bfloat16 once its sum is complete (a product's output under bf16 autocast): in the
  // bf16 driver's epilogue; gemm.cc rounds C after the other paths.
  bool round_c = false;
};

// Where a micro-kernel writes its tile: C = alpha·acc (+ C if accumulate) (+ bias).
struct Tile {
  float* c; int64_t rsc, csc;
  int nr;            // valid columns (the rows are the kernel's MR)
  float alpha;
  bool accumulate;
  const float* bias;  // already offset to the tile's first row/column; null when none
  bool bias_per_row;
  bool round_bf16 = false;  // round the stored values to bfloat16 (the last depth block of a round_c product)
};

// kc: depth; a: packed (kc, MR) panel; b: (kc, NR) panel with row stride ldbp (NR when packed).
using MicroFn = void (*)(int64_t kc, const float* a, const float* b, int64_t ldbp, const Tile& t);
// y[j] = Σ_p x[p]·b[p·ldb + j], j < n   (GEMV, B not transposed; writes y)
using GemvNFn = void (*)(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y);
// y[j] = Σ_p x[p]·b[j·ldb + p], j < n   (GEMV, B transposed: dot products; writes y)
using GemvTFn = void (*)(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y);

// Packing (layouts below, at pack_a and pack_b): the generic versions or SIMD ones.
using PackAFn = void (*)(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst);
using PackBFn = void (*)(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst);

// C rows [0, m) × columns [j0, j1) = alpha·op(A)·Bᵀ (+ C) (+ bias), A not transposed and B transposed
// (B is (n, k), a Linear layer's weight): dot products along k, so B is read once, in place, and never
// packed. For a few rows of A (batched decoding), where packing B costs as much as the product.
using DotsFn = void (*)(const Problem& P, int64_t j0, int64_t j1);

// A dots kernel's epilogue: out holds a tile's sums, 4 per row, for C rows [i, i + rows) and
// columns [j, j + cols).
inline void store_dots(const Problem& P, const float* out, int64_t i, int64_t rows, int64_t j, int64_t cols) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      float& cij = P.c[(i + r) * P.rsc + (j + c) * P.csc];
      float v = P.alpha * out[r * 4 + c];
      if (P.accumulate) v += cij;
      if (P.bias) v += P.bias[P.bias_per_row ? i + r : j + c];
      cij = v;
    }
}

constexpr int kMaxMR = 16;

struct Kernels {
  int mr, nr;          // register tile
  int64_t mc, kc, nc;  // cache blocks: A block (mc, kc) in L2, B block (kc, nc) in L3
  MicroFn micro[kMaxMR + 1];  // micro[r] handles a panel of r ≤ mr rows
  GemvNFn gemv_n;
  GemvTFn gemv_t;
  PackAFn pack_a;
  PackBFn pack_b;
  DotsFn dots = nullptr;  // optional: A·Bᵀ with at most dots_max_m rows (else the blocked path runs)
  int64_t dots_max_m = 0;
};

// ---------------------------------------------------------------------------------------------
// The scalar epilogue, for tiles the SIMD store cannot handle (strided C, partial tiles on some
// levels): acc is (mr, ldt) row-major.

inline void store_tile_scalar(const float* acc, int ldt, int mr, const Tile& t) {
  for (int r = 0; r < mr; r++) {
    float* row = t.c + r * t.rsc;
    for (int j = 0; j < t.nr; j++) {
      float v = t.alpha * acc[r * ldt + j];
      if (t.accumulate) v += row[j * t.csc];
      if (t.bias) v += t.bias_per_row ? t.bias[r] : t.bias[j];
      row[j * t.csc] = t.round_bf16 ? round_bf16(v) : v;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pack buffers: one set per thread, grown on demand and kept (never reallocated per call).

struct PackBuffers {
  float* ptr[3] = {nullptr, nullptr, nullptr};
  size_t cap[3] = {0, 0, 0};
  float* get(int which, size_t floats) {
    if (cap[which] < floats) {
      std::free(ptr[which]);
      size_t bytes = ((floats * sizeof(float) + 4095) / 4096) * 4096;
      ptr[which] = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!ptr[which]) throw std::bad_alloc();
      cap[which] = bytes / sizeof(float);
    }
    return ptr[which];
  }
  ~PackBuffers() {
    for (float* p : ptr) std::free(p);
  }
};

inline PackBuffers& pack_buffers() {
  static thread_local PackBuffers bufs;
  return bufs;
}
enum { kBufA = 0, kBufB = 1, kBufX = 2 };

// ---------------------------------------------------------------------------------------------
// Packing. A block rows [i0, i0+mc) × depth [p0, p0+kc) → panels of mr rows, each (kc, r) with r the
// panel's row count (the last panel is not padded: micro[r] reads it with stride r).

// Rows of a source read ahead while packing. A packer that reads one short run per source row
// (transposed A, B) walks the rows in order, prefetching this many rows ahead: rows far apart (a
// logits gradient's are 16 KB) defeat the hardware prefetcher, and packing from DRAM then stalls
// the product (up to 15% of a dW = Xᵀ·dY GEMM).
constexpr int64_t kPackAhead = 8;

inline void prefetch_run(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i);
}

inline void pack_a(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst) {
  if (P.ta) {
    // op(A) rows are A's columns: depth step p is mc contiguous floats, dealt out to the panels.
    for (int64_t p = 0; p < kc; p++) {
      const float* src = P.a + (p0 + p) * P.lda + i0;
      if (p + kPackAhead < kc) prefetch_run(src + kPackAhead * P.lda, mc);
      for (int64_t ir = 0; ir < mc; ir += mr) {
        const int r = (int)std::min<int64_t>(mr, mc - ir);
        std::memcpy(dst + ir * kc + p * r, src + ir, r * sizeof(float));
      }
    }
    return;
  }
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int r = (int)std::min<int64_t>(mr, mc - ir);
    float* panel = dst + ir * kc;
    for (int q = 0; q < r; q++) {
      const float* src = P.a + (i0 + ir + q) * P.lda + p0;
      for (int64_t p = 0; p < kc; p++) panel[p * r + q] = src[p];
    }
  }
}

// B block depth [p0, p0+kc) × columns [j0, j0+nc) → panels of nr columns (kc, nr), zero-padded.
inline void pack_b(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst) {
  if (!P.tb) {
    // Depth step p is nc contiguous floats of B, dealt out to the panels row by row.
    for (int64_t p = 0; p < kc; p++) {
      const float* src = P.b + (p0 + p) * P.ldb + j0;
      if (p + kPackAhead < kc) prefetch_run(src + kPackAhead * P.ldb, nc);
      for (int64_t jr = 0; jr < nc; jr += nr) {
        const int w = (int)std::min<int64_t>(nr, nc - jr);
        float* row = dst + jr * kc + p * nr;
        std::memcpy(row, src + jr, w * sizeof(float));
        for (int q = w; q < nr; q++) row[q] = 0.f;
      }
    }
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int w = (int)std::min<int64_t>(nr, nc - jr);
    float* panel = dst + jr * kc;
    // op(B) columns are B's rows: transpose, 8 depth steps at a time to keep writes in cache.
    const float* src = P.b + (j0 + jr) * P.ldb + p0;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      for (int q = 0; q < w; q++) {
        const float* s = src + q * P.ldb + p;
        for (int u = 0; u < 8; u++) panel[(p + u) * nr + q] = s[u];
      }
      for (int u = 0; u < 8; u++)
        for (int q = w; q < nr; q++) panel[(p + u) * nr + q] = 0.f;
    }
    for (; p < kc; p++) {
      for (int q = 0; q < w; q++) panel[p * nr + q] = src[q * P.ldb + p];
      for (int q = w; q < nr; q++) panel[p * nr + q] = 0.f;
    }
  }
}

// The tile of C at rows i, columns j (nr of them) for the depth block starting at pc: alpha, the
// old C (beta) and the bias apply in the first depth block only, later ones add to it.
inline Tile tile_at(const Problem& P, int64_t i, int64_t j, int nr, bool first) {
  Tile t;
  t.c = P.c + i * P.rsc + j * P.csc;
  t.rsc = P.rsc;
  t.csc = P.csc;
  t.nr = nr;
  t.alpha = P.alpha;
  t.accumulate = first ? P.accumulate : true;
  t.bias = (first && P.bias) ? P.bias + (P.bias_per_row ? i : j) : nullptr;
  t.bias_per_row = P.bias_per_row;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Block sizes: split a length into equal steps (a multiple of `unit`) no longer than `cap`, so a
// dimension just over the cap does not leave a sliver (k = 260 runs as 2×130, not 256 + 4).

inline int64_t even_step(int64_t len, int64_t cap, int64_t unit) {
  if (len <= cap) return len;
  int64_t parts = (len + cap - 1) / cap;
  int64_t step = (len + parts - 1) / parts;
  step = (step + unit - 1) / unit * unit;
  return std::min(step, cap);
}

// The loop nest for C rows [i0, i1) × columns [j0, j1), on the calling thread.
inline void gemm_block(const Problem& P, const Kernels& K, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int MR = K.mr, NR = K.nr;
  const int64_t kc_step = even_step(P.k, K.kc, 1);  // depends on k only: fixes the summation order
  const int64_t mc_step = even_step(i1 - i0, K.mc, MR);
  const int64_t nc_step = even_step(j1 - j0, K.nc, NR);
  // A few rows: B is read straight from memory (no packing pass) when its rows are contiguous;
  // each B panel is then used by at most two A panels, so packing it would not pay.
  const bool direct_b = !P.tb && (i1 - i0) <= 2 * MR && !P.round_bf16;
  PackBuffers& bufs = pack_buffers();
  float* pa = bufs.get(kBufA, (size_t)mc_step * kc_step);
  float* pb = bufs.get(kBufB, (size_t)kc_step * ((nc_step + NR - 1) / NR * NR));

  for (int64_t jc = j0; jc < j1; jc += nc_step) {
    const int64_t nc = std::min(nc_step, j1 - jc);
    for (int64_t pc = 0; pc < P.k; pc += kc_step) {
      const int64_t kc = std::min(kc_step, P.k - pc);
      const bool first = pc == 0;
      if (direct_b) {
        // Only a ragged last panel needs packing (the kernel always reads NR columns).
        const int64_t full = nc / NR * NR;
        if (full < nc) K.pack_b(P, pc, kc, jc + full, nc - full, NR, pb + full * kc);
      } else {
        K.pack_b(P, pc, kc, jc, nc, NR, pb);
        if (P.round_bf16) round_bf16_inplace(pb, kc * ((nc + NR - 1) / NR * NR));
      }
      for (int64_t ic = i0; ic < i1; ic += mc_step) {
        const int64_t mc = std::min(mc_step, i1 - ic);
        K.pack_a(P, ic, mc, pc, kc, MR, pa);
        if (P.round_bf16) round_bf16_inplace(pa, mc * kc);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = (int)std::min<int64_t>(NR, nc - jr);
          const float* bp = pb + jr * kc;
          int64_t ldbp = NR;
          if (direct_b && nr == NR) {
            bp = P.b + pc * P.ldb + (jc + jr);
            ldbp = P.ldb;
          }
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = (int)std::min<int64_t>(MR, mc - ir);
            const Tile t = tile_at(P, ic + ir, jc + jr, nr, first);
            K.micro[mr](kc, pa + ir * kc, bp, ldbp, t);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GEMV (m = 1): bound by streaming B once; threads split the columns.

inline void gemv(const Problem& P, const Kernels& K, int threads) {
  const int64_t k = P.k, n = P.n;
  const float* x = P.a;  // op(A) row 0
  if (P.ta && P.lda != 1 && k > 1) {
    float* xs = pack_buffers().get(kBufX, (size_t)k);
    for (int64_t p = 0; p < k; p++) xs[p] = P.a[p * P.lda];
    x = xs;
  }
  // Columns split in multiples of 64 so each thread's range starts on a cache line for aligned B.
  const int64_t units = (n + 63) / 64;
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, units));
  auto run = [&](int64_t t) {
    const int64_t j0 = std::min(n, units * t / parts * 64), j1 = std::min(n, units * (t + 1) / parts * 64);
    if (j0 >= j1) return;
    float* y = pack_buffers().get(kBufA, (size_t)(j1 - j0));
    if (P.tb) K.gemv_t(k, j1 - j0, x, P.b + j0 * P.ldb, P.ldb, y);
    else K.gemv_n(k, j1 - j0, x, P.b + j0, P.ldb, y);
    Tile tile{P.c + j0 * P.csc, P.rsc, P.csc, (int)0, P.alpha, P.accumulate, nullptr, P.bias_per_row};
    if (P.bias) tile.bias = P.bias_per_row ? P.bias : P.bias + j0;
    // Store in chunks: Tile.nr is an int.
    for (int64_t j = 0; j < j1 - j0; j += 1 << 20) {
      Tile part = tile;
      part.c = tile.c + j * P.csc;
      part.nr = (int)std::min<int64_t>(1 << 20, j1 - j0 - j);
      if (part.bias && !P.bias_per_row) part.bias = tile.bias + j;
      store_tile_scalar(y + j, 0, 1, part);
    }
  };
  if (parts == 1) run(0);
  else parallel_for(parts, [&](int64_t b, int64_t e) { for (int64_t t = b; t < e; t++) run(t); });
}

// A few rows times Bᵀ through K.dots; threads split the columns (B's rows) in groups of 16.
inline void dots(const Problem& P, const Kernels& K, int threads) {
  const int64_t units = (P.n + 15) / 16;
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, units));
  if (parts == 1) {
    K.dots(P, 0, P.n);
    return;
  }
  parallel_for(parts, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; t++) {
      const int64_t j0 = std::min(P.n, units * t / parts * 16), j1 = std::min(P.n, units * (t + 1) / parts * 16);
      if (j0 < j1) K.dots(P, j0, j1);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// One matrix product (one batch entry) on up to `threads` threads.

// When a second thread pays: the pool (addon.cc) keeps its workers spinning for a few tens of µs
// after each job, so handing work over costs a few µs when jobs come back to back (a sleeping
// worker still takes 0.05–0.2 ms to wake on a VM). Work is split from ~1M multiply-adds for a
// GEMM (~10 µs on one Zen 4 core) and 128K floats of B for a GEMV (512 KB, ~8 µs at 65 GB/s).
constexpr double kParallelMinMacs = 1e6;
constexpr double kParallelMinGemvFloats = 131072;

inline Problem transposed(const Problem& P) {
  Problem Q = P;
  Q.m = P.n; Q.n = P.m;
  Q.a = P.b; Q.lda = P.ldb; Q.ta = !P.tb;
  Q.b = P.a; Q.ldb = P.lda; Q.tb = !P.ta;
  Q.rsc = P.csc; Q.csc = P.rsc;
  Q.bias_per_row = !P.bias_per_row;
  return Q;
}

inline void scale_only(const Problem& P) {  // k = 0: C = beta·C + bias
  for (int64_t i = 0; i < P.m; i++)
    for (int64_t j = 0; j < P.n; j++) {
      float& cij = P.c[i * P.rsc + j * P.csc];
      float v = P.accumulate ? cij : 0.f;
      if (P.bias) v += P.bias[P.bias_per_row ? i : j];
      cij = v;
    }
}

// Runs block(P, i0, i1, j0, j1) over C on up to `threads` threads: the longer side of C is split
// into contiguous blocks of whole mr×nr tiles (shared by the f32 and the bf16 drivers).
template <class Block>
inline void split_blocks(const Problem& P, int mr, int nr, int threads, const Block& block) {
  if (threads <= 1) {
    block(P, 0, P.m, 0, P.n);
    return;
  }
  const bool split_n = P.n >= P.m;
  const int64_t unit = split_n ? nr : mr;
  const int64_t len = split_n ? P.n : P.m;
  const int64_t tiles = (len + unit - 1) / unit;
  const int64_t parts = std::min<int64_t>(threads, tiles);
  parallel_for(parts, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; t++) {
      const int64_t lo = std::min(len, tiles * t / parts * unit), hi = std::min(len, tiles * (t + 1) / parts * unit);
      if (lo >= hi) continue;
      if (split_n) block(P, 0, P.m, lo, hi);
      else block(P, lo, hi, 0, P.n);
    }
  });
}

// A narrow C wastes most of each NR-wide tile; solve Cᵀ = op(B)ᵀ·op(A)ᵀ instead (rows are cheap:
// a panel of r < MR rows runs the r-row kernel).
inline Problem oriented(const Problem& P0, int nr) { return (P0.n < nr && P0.m > P0.n) ? transposed(P0) : P0; }

inline void gemm_compute(const Problem& P0, const Kernels& K, int threads) {
  if (P0.m == 0 || P0.n == 0) return;
  if (P0.k == 0) {
    scale_only(P0);
    return;
  }
  const Problem P = oriented(P0, K.nr);
  // GEMV and dot products read the operands in place: only the packed path rounds to bf16.
  if (P.m == 1 && !P.round_bf16) {
    gemv(P, K, (double)P.n * P.k < kParallelMinGemvFloats ? 1 : threads);
    return;
  }
  if ((double)P.m * P.n * P.k < kParallelMinMacs) threads = 1;
  if (K.dots && P.m <= K.dots_max_m && P.tb && !P.ta && !P.round_bf16) {
    dots(P, K, threads);
    return;
  }
  split_blocks(P, K.mr, K.nr, threads, [&](const Problem& Q, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    gemm_block(Q, K, i0, i1, j0, j1);
  });
}

// C rounded to bf16 in place (Problem::round_c, after a path whose epilogue does not round).
inline void round_c(const Problem& P) {
  for (int64_t i = 0; i < P.m; i++)
    for (int64_t j = 0; j < P.n; j++) P.c[i * P.rsc + j * P.csc] = round_bf16(P.c[i * P.rsc + j * P.csc]);
}

inline void gemm_one(const Problem& P, const Kernels& K, int threads) {
  gemm_compute(P, K, threads);
  if (P.round_c) round_c(P);
}

}  // namespace gemm
}  // namespace gptkit
