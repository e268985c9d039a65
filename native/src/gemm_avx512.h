// AVX-512 GEMM kernels (x86-64 with AVX-512F/BW/VL/DQ). Compiled with per-function target attributes,
// so the addon needs no -march flag and runs on any x86-64; the driver picks them at run time.
//
// Micro-kernel: 14×32 (28 zmm accumulators + 2 for the B row + 1 broadcast = 31 of 32 registers);
// each depth step is 2 loads of B and 14 broadcasts of A for 28 FMAs.
#pragma once
#include "gemm_driver.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <utility>

#define GPTKIT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

// GCC 12 warns inside its own AVX-512 shuffle intrinsics (bug 105593: `__Y = __Y` placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"  // the same placeholders, in _mm512_srli_epi32 (round_bf16_ps)

namespace gptkit {
namespace gemm {
namespace avx512 {

constexpr int MR = 14, NR = 32;

// x rounded to the nearest bfloat16 as bf16.h's round_bf16 (nearest even, NaN kept, denormals to ±0),
// in AVX-512F integer arithmetic.
GPTKIT_AVX512 static inline __m512 round_bf16_ps(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __mmask16 tiny = _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7f800000));  // zero exponent
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x400000));
  r = _mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u));
  r = _mm512_mask_and_epi32(r, tiny, u, _mm512_set1_epi32((int)0x80000000u));
  return _mm512_castsi512_ps(r);
}

// The 14×32 kernels' epilogue (shared with gemm_bf16.h): C = alpha·acc (+ C) (+ bias), masked to
// the tile's valid columns; a strided C goes through the scalar store.
template <int R>
GPTKIT_AVX512 __attribute__((always_inline)) static inline void store_tile(const __m512* c0, const __m512* c1, const Tile& t) {
  if (t.csc != 1) {
    alignas(64) float tmp[R * NR];
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      _mm512_store_ps(tmp + r * NR, c0[r]);
      _mm512_store_ps(tmp + r * NR + 16, c1[r]);
    }
    store_tile_scalar(tmp, NR, R, t);
    return;
  }
  const __mmask16 m0 = t.nr >= 16 ? 0xffff : (__mmask16)((1u << t.nr) - 1);
  const __mmask16 m1 = t.nr >= 32 ? 0xffff : t.nr <= 16 ? 0 : (__mmask16)((1u << (t.nr - 16)) - 1);
  const __m512 alpha = _mm512_set1_ps(t.alpha);
  __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
  if (t.bias && !t.bias_per_row) {
    bias0 = _mm512_maskz_loadu_ps(m0, t.bias);
    bias1 = _mm512_maskz_loadu_ps(m1, t.bias + 16);
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    float* row = t.c + r * t.rsc;
    __m512 v0 = _mm512_mul_ps(alpha, c0[r]), v1 = _mm512_mul_ps(alpha, c1[r]);
    if (t.accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
    }
    if (t.bias) {
      if (t.bias_per_row) {
        const __m512 br = _mm512_set1_ps(t.bias[r]);
        v0 = _mm512_add_ps(v0, br);
        v1 = _mm512_add_ps(v1, br);
      } else {
        v0 = _mm512_add_ps(v0, bias0);
        v1 = _mm512_add_ps(v1, bias1);
      }
    }
    if (t.round_bf16) {
      v0 = round_bf16_ps(v0);
      v1 = round_bf16_ps(v1);
    }
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

// The 14×32 kernels' start (shared with gemm_bf16.h): zero accumulators, and the C tile warmed while
// the product runs (it is read once at the end).
template <int R>
GPTKIT_AVX512 __attribute__((always_inline)) static inline void start_tile(__m512* c0, __m512* c1, const Tile& t) {
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    c0[r] = _mm512_setzero_ps();
    c1[r] = _mm512_setzero_ps();
    _mm_prefetch((const char*)(t.c + r * t.rsc), _MM_HINT_T0);
    _mm_prefetch((const char*)(t.c + r * t.rsc + 16), _MM_HINT_T0);
  }
}

template <int R>
GPTKIT_AVX512 static void micro(int64_t kc, const float* a, const float* b, int64_t ldbp, const Tile& t) {
  __m512 c0[R], c1[R];
  start_tile<R>(c0, c1, t);
  for (int64_t p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
    }
    a += R;
    b += ldbp;
  }
  store_tile<R>(c0, c1, t);
}

// y += x[p..p+R)·B[p..p+R) over columns [0, w): one pass over y for R rows of B.
template <int R>
GPTKIT_AVX512 static inline void gemv_rows(const float* x, const float* b, int64_t ldb, int64_t w, float* y) {
  __m512 xv[R];
  const float* rows[R];
#pragma GCC unroll 8
  for (int q = 0; q < R; q++) {
    xv[q] = _mm512_set1_ps(x[q]);
    rows[q] = b + q * ldb;
  }
  for (int64_t j = 0; j < w; j += 16) {
    const __mmask16 m = w - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (w - j)) - 1);
    __m512 acc = _mm512_maskz_loadu_ps(m, y + j);
#pragma GCC unroll 8
    for (int q = 0; q < R; q++) acc = _mm512_fmadd_ps(xv[q], _mm512_maskz_loadu_ps(m, rows[q] + j), acc);
    _mm512_mask_storeu_ps(y + j, m, acc);
  }
}

// y = x·B over a column range: 8 rows of B per pass over y, y kept in L2 (strips of up to 32K
// columns), so B streams in long sequential runs (prefetch-friendly from DRAM) and y is read and
// written once per 8 rows.
GPTKIT_AVX512 static void gemv_n(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  constexpr int64_t kStrip = 32768;
  for (int64_t j0 = 0; j0 < n; j0 += kStrip) {
    const int64_t w = std::min(kStrip, n - j0);
    for (int64_t j = 0; j < w; j++) y[j0 + j] = 0.f;
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) gemv_rows<8>(x + p, b + p * ldb + j0, ldb, w, y + j0);
    for (; p < k; p++) gemv_rows<1>(x + p, b + p * ldb + j0, ldb, w, y + j0);
  }
}

// Horizontal sum in a fixed order (through memory: GCC 12's 512→256 casts trip -Wmaybe-uninitialized,
// and this runs once per dot product).
GPTKIT_AVX512 static inline float hsum(__m512 v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int i = 0; i < w; i++) t[i] += t[i + w];
  return t[0];
}

// GEMV with B transposed, one row at a time with four accumulators: rows follow each other in
// memory (ldb = k is the usual case), so B is read as one sequential stream that the hardware
// prefetcher keeps ahead of. (Eight rows at once, loading x once for all, measured 25–45% slower
// from DRAM here: eight interleaved streams of short rows defeat the prefetcher.)
GPTKIT_AVX512 static inline float dot_row(int64_t k, const float* x, const float* r) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 64 <= k; p += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), _mm512_loadu_ps(r + p), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 16), _mm512_loadu_ps(r + p + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 32), _mm512_loadu_ps(r + p + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 48), _mm512_loadu_ps(r + p + 48), a3);
  }
  for (; p < k; p += 16) {
    const __mmask16 m = k - p >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - p)) - 1);
    a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + p), _mm512_maskz_loadu_ps(m, r + p), a0);
  }
  return hsum(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

GPTKIT_AVX512 static void gemv_t(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  for (int64_t j = 0; j < n; j++) y[j] = dot_row(k, x, b + j * ldb);
}

// ---------------------------------------------------------------------------------------------
// Packing with whole-vector moves; the transposing cases (A not transposed, B transposed: the
// panel's rows/columns are the source's rows) go through 16×16 in-register transposes.

// Transposes r[0..15] in place: afterwards r[j] holds column j of the input rows.
GPTKIT_AVX512 static inline void transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + c], lane l: rows 4g..4g+3 of column 4l + c.
  __m512 u[16];
#pragma GCC unroll 4
  for (int g = 0; g < 4; g++) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // Gather lane l of every group into column 4l + c.
#pragma GCC unroll 4
  for (int c = 0; c < 4; c++) {
    const __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), v2 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
    const __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), w2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
    r[c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
    r[4 + c] = _mm512_shuffle_f32x4(v2, w2, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(v2, w2, 0xdd);
  }
}

static inline __mmask16 first_lanes(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

// `rows` (≤ 16) source rows of kc floats each → dst[p·ds + q], storing the lanes in store_mask of
// each transposed row (lanes q ≥ rows hold zeros).
GPTKIT_AVX512 static void transpose_rows(const float* src, int64_t ld, int rows, int64_t kc, float* dst, int64_t ds,
                                         __mmask16 store_mask) {
  __m512 r[16];
  for (int64_t p = 0; p < kc; p += 16) {
    const __mmask16 lm = first_lanes(kc - p);
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++) r[q] = q < rows ? _mm512_maskz_loadu_ps(lm, src + q * ld + p) : _mm512_setzero_ps();
    transpose16(r);
    const int64_t steps = std::min<int64_t>(16, kc - p);
    for (int64_t u = 0; u < steps; u++) _mm512_mask_storeu_ps(dst + (p + u) * ds, store_mask, r[u]);
  }
}

GPTKIT_AVX512 static void pack_a_avx512(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst) {
  if (P.ta) {
    // op(A) rows are A's columns: depth step p is one contiguous run of mc floats in A, dealt out
    // to the panels. Row by row rather than panel by panel, so A is read as kc sequential runs
    // (panel by panel read each run in mr-float pieces, mc/mr times over, from rows lda apart).
    const float* src = P.a + p0 * P.lda + i0;
    for (int64_t p = 0; p < kc; p++) {
      const float* s = src + p * P.lda;
      if (p + kPackAhead < kc) prefetch_run(s + kPackAhead * P.lda, mc);  // see kPackAhead
      for (int64_t ir = 0; ir < mc; ir += mr) {
        const int r = (int)std::min<int64_t>(mr, mc - ir);
        const __mmask16 m = first_lanes(r);
        _mm512_mask_storeu_ps(dst + ir * kc + p * r, m, _mm512_maskz_loadu_ps(m, s + ir));
      }
    }
    return;
  }
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int r = (int)std::min<int64_t>(mr, mc - ir);
    float* panel = dst + ir * kc;
    transpose_rows(P.a + (i0 + ir) * P.lda + p0, P.lda, r, kc, panel, r, first_lanes(r));
  }
}

GPTKIT_AVX512 static void pack_b_avx512(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst) {
  if (!P.tb) {
    // Row p of the block is nc contiguous floats of B, dealt out to the panels row by row: the
    // walk of gemm_driver.h's pack_b, with masked vector moves for its memcpy calls (5–8% faster
    // on gpt2-124m's forward products; likewise pack_a's transposed case above).
    const float* src = P.b + p0 * P.ldb + j0;
    for (int64_t p = 0; p < kc; p++) {
      const float* s = src + p * P.ldb;
      if (p + kPackAhead < kc) prefetch_run(s + kPackAhead * P.ldb, nc);  // see kPackAhead
      for (int64_t jr = 0; jr < nc; jr += nr) {
        const int w = (int)std::min<int64_t>(nr, nc - jr);
        float* row = dst + jr * kc + p * NR;
        _mm512_storeu_ps(row, _mm512_maskz_loadu_ps(first_lanes(w), s + jr));
        _mm512_storeu_ps(row + 16, _mm512_maskz_loadu_ps(first_lanes(std::max(0, w - 16)), s + jr + 16));
      }
    }
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int w = (int)std::min<int64_t>(nr, nc - jr);
    float* panel = dst + jr * kc;
    // Columns 0..15 and 16..31 of the panel are two 16-row transposes (missing rows read as 0).
    const float* src = P.b + (j0 + jr) * P.ldb + p0;
    transpose_rows(src, P.ldb, std::min(w, 16), kc, panel, NR, 0xffff);
    transpose_rows(w > 16 ? src + 16 * P.ldb : src, P.ldb, std::max(0, w - 16), kc, panel + 16, NR, 0xffff);
  }
}

// ---------------------------------------------------------------------------------------------
// A few rows of A times Bᵀ as dot products (gemm_driver.h's DotsFn): tiles of 4 rows of A × 4 rows of
// B, 16 accumulators along k, folded into the 16 results at the end. B's 4 rows are read once and
// stay in L1 while every 4-row group of A (at most 16 rows: L1/L2) passes them. Up to 16 rows this
// beats packing B (2.3× at 4 rows, 1.5× at 16 on Zen 5, weights in cache).

// Adds the halves (H lanes apart) of a and b: lanes with bit H clear take a's sums, the others b's.
template <int H, size_t... J>
GPTKIT_AVX512 static inline __m512 fold(__m512 a, __m512 b, std::index_sequence<J...>) {
  return _mm512_add_ps(__builtin_shufflevector(a, b, ((J & H) ? 16 + J - H : J)...),
                       __builtin_shufflevector(a, b, ((J & H) ? 16 + J : J + H)...));
}

// Lane L of the result is the sum of v[L]'s lanes (v is overwritten).
GPTKIT_AVX512 static inline __m512 sum16(__m512 v[16]) {
  const auto idx = std::make_index_sequence<16>{};
  for (int i = 0; i < 8; i++) v[i] = fold<8>(v[i], v[i + 8], idx);
  for (int i = 0; i < 4; i++) v[i] = fold<4>(v[i], v[i + 4], idx);
  for (int i = 0; i < 2; i++) v[i] = fold<2>(v[i], v[i + 2], idx);
  return fold<1>(v[0], v[1], idx);
}

// The 16 dot products of 4 rows of A with 4 rows of B over depth [p0, p1) (p0 a multiple of 16), as
// one vector: lane 4·r + c is A row r · B row c. On the first row group (`fetch`), B's next 4 rows are
// fetched as these are read (weights stream from DRAM, 4 rows at once).
GPTKIT_AVX512 __attribute__((always_inline)) static inline __m512 dots_tile(const float* const a[4], const float* const b[4], int64_t ldb,
                                                                          int64_t p0, int64_t p1, bool fetch) {
  const int64_t pv = p0 + (p1 - p0) / 16 * 16;
  __m512 acc[16];
#pragma GCC unroll 16
  for (int t = 0; t < 16; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t p = p0; p < pv; p += 16) {
    __m512 av[4], bv[4];
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++) {
      if (fetch) _mm_prefetch((const char*)(b[u] + 8 * ldb + p), _MM_HINT_T0);
      av[u] = _mm512_loadu_ps(a[u] + p);
      bv[u] = _mm512_loadu_ps(b[u] + p);
    }
#pragma GCC unroll 16
    for (int t = 0; t < 16; t++) acc[t] = _mm512_fmadd_ps(av[t / 4], bv[t % 4], acc[t]);
  }
  if (pv < p1) {
    const __mmask16 tail = first_lanes(p1 - pv);
    __m512 av[4], bv[4];
    for (int u = 0; u < 4; u++) {
      av[u] = _mm512_maskz_loadu_ps(tail, a[u] + pv);
      bv[u] = _mm512_maskz_loadu_ps(tail, b[u] + pv);
    }
#pragma GCC unroll 16
    for (int t = 0; t < 16; t++) acc[t] = _mm512_fmadd_ps(av[t / 4], bv[t % 4], acc[t]);
  }
  return sum16(acc);
}

// store_dots on vectors: the 4×4 tile `out` (lane 4·r + c) a row of 4 at a time, masked to the tile's
// valid columns. The scalar store_dots cost as much as a third of the FMAs at depth 384.
GPTKIT_AVX512 __attribute__((always_inline)) static inline void store_dots_vec(const Problem& P, __m512 out, int64_t i, int64_t rows, int64_t j, int64_t cols) {
  if (P.csc != 1) {
    alignas(64) float tmp[16];
    _mm512_store_ps(tmp, out);
    store_dots(P, tmp, i, rows, j, cols);
    return;
  }
  const __mmask8 m = (__mmask8)((1u << cols) - 1);
  const __m128 alpha = _mm_set1_ps(P.alpha);
  const __m128 bias_col = P.bias && !P.bias_per_row ? _mm_maskz_loadu_ps(m, P.bias + j) : _mm_setzero_ps();
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, out);
  for (int64_t r = 0; r < rows; r++) {
    float* row = P.c + (i + r) * P.rsc + j;
    __m128 v = _mm_mul_ps(alpha, _mm_load_ps(lanes + 4 * r));
    if (P.accumulate) v = _mm_add_ps(v, _mm_maskz_loadu_ps(m, row));
    if (P.bias) v = _mm_add_ps(v, P.bias_per_row ? _mm_set1_ps(P.bias[i + r]) : bias_col);
    _mm_mask_storeu_ps(row, m, v);
  }
}

// Depth chunks of the dots kernel: 16 rows of A over 384 floats are 24 KB, so they stay in L1 with
// the 4 rows of B they meet; over a whole longer depth (an MLP's down projection, 1536) A would
// stream from L2 for every tile, at ~70% of the speed.
constexpr int64_t kDotsKc = 384, kDotsStrip = 64;

GPTKIT_AVX512 static void dots_avx512(const Problem& P0, int64_t j0, int64_t j1) {
  const int64_t k = P0.k;
  // A's few rows, read once per 4 rows of B, are copied to 64-byte-aligned rows first: loads that
  // straddle two cache lines cost two, and a JS Float32Array is only 16-byte aligned (the same
  // 16×1536×384 product ran at 84 GFLOP/s from most offsets, 120 from an aligned one). The values and
  // the summation order are unchanged, so the bits do not depend on where the arrays lie.
  Problem P = P0;
  if (k <= 4096 && ((reinterpret_cast<uintptr_t>(P0.a) & 63) != 0 || P0.lda % 16 != 0)) {
    const int64_t ld = (k + 15) / 16 * 16;
    float* a = pack_buffers().get(kBufA, (size_t)P0.m * ld);
    for (int64_t r = 0; r < P0.m; r++) std::memcpy(a + r * ld, P0.a + r * P0.lda, k * sizeof(float));
    P.a = a;
    P.lda = ld;
  }
  auto rows = [&](const float* base, int64_t ld, int64_t r, int64_t last, const float* out[4]) {
    for (int u = 0; u < 4; u++) out[u] = base + std::min<int64_t>(r + u, last) * ld;  // past the end: a repeat, discarded
  };
  // Strips of 64 rows of B (kept in L2), summed depth chunk by chunk into `sums`, one 4×4 tile a
  // vector. The chunks' sums are added in depth order, so the result depends on k only, not on the
  // strip or the thread; a depth of one chunk stores each tile's sums as they are.
  alignas(64) float sums[kMaxMR / 4 * kDotsStrip / 4 * 16];
  auto tile = [&](int64_t i, int64_t j) { return sums + (i / 4 * (kDotsStrip / 4) + j / 4) * 16; };
  for (int64_t js = j0; js < j1; js += kDotsStrip) {
    const int64_t je = std::min(j1, js + kDotsStrip);
    for (int64_t p0 = 0; p0 < k; p0 += kDotsKc) {
      const int64_t p1 = std::min(k, p0 + kDotsKc);
      for (int64_t j = js; j < je; j += 4) {
        const float* b[4];
        rows(P.b, P.ldb, j, je - 1, b);
        for (int64_t i = 0; i < P.m; i += 4) {
          const float* a[4];
          rows(P.a, P.lda, i, P.m - 1, a);
          const __m512 t = dots_tile(a, b, P.ldb, p0, p1, i == 0);
          float* s = tile(i, j - js);
          _mm512_store_ps(s, p0 == 0 ? t : _mm512_add_ps(_mm512_load_ps(s), t));
        }
      }
    }
    for (int64_t j = js; j < je; j += 4)
      for (int64_t i = 0; i < P.m; i += 4)
        store_dots_vec(P, _mm512_load_ps(tile(i, j - js)), i, std::min<int64_t>(4, P.m - i), j, std::min<int64_t>(4, je - j));
  }
}

inline const Kernels& kernels() {
  static const Kernels K = {MR, NR, 14 * 16, 512, 3072,
                            {nullptr, micro<1>, micro<2>, micro<3>, micro<4>, micro<5>, micro<6>, micro<7>,
                             micro<8>, micro<9>, micro<10>, micro<11>, micro<12>, micro<13>, micro<14>},
                            gemv_n, gemv_t, pack_a_avx512, pack_b_avx512, dots_avx512, 16};
  return K;
}

}  // namespace avx512
}  // namespace gemm
}  // namespace gptkit
#pragma GCC diagnostic pop
#endif  // __x86_64__
