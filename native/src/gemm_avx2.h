// AVX2+FMA GEMM kernels (x86-64 without AVX-512). Per-function target attributes, picked at run time.
//
// Micro-kernel: 6×16 (12 ymm accumulators + 2 for the B row + 1 broadcast = 15 of 16 registers).
#pragma once
#include "gemm_driver.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <utility>

#define GPTKIT_AVX2 __attribute__((target("avx2,fma")))

namespace gptkit {
namespace gemm {
namespace avx2 {

constexpr int MR = 6, NR = 16;

template <int R>
GPTKIT_AVX2 static void micro(int64_t kc, const float* a, const float* b, int64_t ldbp, const Tile& t) {
  __m256 c0[R], c1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    c0[r] = _mm256_setzero_ps();
    c1[r] = _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
    }
    a += R;
    b += ldbp;
  }
  if (t.csc != 1 || t.nr != NR) {
    alignas(32) float tmp[R * NR];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      _mm256_store_ps(tmp + r * NR, c0[r]);
      _mm256_store_ps(tmp + r * NR + 8, c1[r]);
    }
    store_tile_scalar(tmp, NR, R, t);
    return;
  }
  const __m256 alpha = _mm256_set1_ps(t.alpha);
  __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
  if (t.bias && !t.bias_per_row) {
    bias0 = _mm256_loadu_ps(t.bias);
    bias1 = _mm256_loadu_ps(t.bias + 8);
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    float* row = t.c + r * t.rsc;
    __m256 v0 = _mm256_mul_ps(alpha, c0[r]), v1 = _mm256_mul_ps(alpha, c1[r]);
    if (t.accumulate) {
      v0 = _mm256_add_ps(v0, _mm256_loadu_ps(row));
      v1 = _mm256_add_ps(v1, _mm256_loadu_ps(row + 8));
    }
    if (t.bias) {
      if (t.bias_per_row) {
        const __m256 br = _mm256_set1_ps(t.bias[r]);
        v0 = _mm256_add_ps(v0, br);
        v1 = _mm256_add_ps(v1, br);
      } else {
        v0 = _mm256_add_ps(v0, bias0);
        v1 = _mm256_add_ps(v1, bias1);
      }
    }
    _mm256_storeu_ps(row, v0);
    _mm256_storeu_ps(row + 8, v1);
  }
}

// y += x[p..p+R)·B[p..p+R) over columns [0, w): one pass over y for R rows of B.
template <int R>
GPTKIT_AVX2 static inline void gemv_rows(const float* x, const float* b, int64_t ldb, int64_t w, float* y) {
  __m256 xv[R];
  const float* rows[R];
#pragma GCC unroll 8
  for (int q = 0; q < R; q++) {
    xv[q] = _mm256_set1_ps(x[q]);
    rows[q] = b + q * ldb;
  }
  const int64_t w8 = w / 8 * 8;
  for (int64_t j = 0; j < w8; j += 8) {
    __m256 acc = _mm256_loadu_ps(y + j);
#pragma GCC unroll 8
    for (int q = 0; q < R; q++) acc = _mm256_fmadd_ps(xv[q], _mm256_loadu_ps(rows[q] + j), acc);
    _mm256_storeu_ps(y + j, acc);
  }
  // The same FMA chain one lane at a time, so every column is rounded alike.
  for (int64_t j = w8; j < w; j++) {
    float acc = y[j];
    for (int q = 0; q < R; q++) acc = std::fma(x[q], rows[q][j], acc);
    y[j] = acc;
  }
}

// y = x·B: 8 rows of B per pass over a strip of y kept in L2 (see gemm_avx512.h).
GPTKIT_AVX2 static void gemv_n(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  constexpr int64_t kStrip = 32768;
  for (int64_t j0 = 0; j0 < n; j0 += kStrip) {
    const int64_t w = std::min(kStrip, n - j0);
    for (int64_t j = 0; j < w; j++) y[j0 + j] = 0.f;
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) gemv_rows<8>(x + p, b + p * ldb + j0, ldb, w, y + j0);
    for (; p < k; p++) gemv_rows<1>(x + p, b + p * ldb + j0, ldb, w, y + j0);
  }
}

GPTKIT_AVX2 static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// GEMV with B transposed, one row at a time with four accumulators: B is read as one sequential
// stream (rows are contiguous), which the hardware prefetcher keeps ahead of.
GPTKIT_AVX2 static inline float dot_row(int64_t k, const float* x, const float* r) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 32 <= k; p += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(r + p), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 8), _mm256_loadu_ps(r + p + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 16), _mm256_loadu_ps(r + p + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 24), _mm256_loadu_ps(r + p + 24), a3);
  }
  for (; p + 8 <= k; p += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(r + p), a0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; p < k; p++) s = std::fma(x[p], r[p], s);
  return s;
}

GPTKIT_AVX2 static void gemv_t(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  for (int64_t j = 0; j < n; j++) y[j] = dot_row(k, x, b + j * ldb);
}

// ---------------------------------------------------------------------------------------------
// Packing: the transposing cases (A not transposed, B transposed) through 8×8 in-register transposes.

GPTKIT_AVX2 static inline void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) {
    s[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
    s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xee);
    s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
    s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x31);
  }
}

// `rows` (≤ 8) source rows of kc floats → dst[p·ds + q] for q < width (lanes q ≥ rows are zeros).
GPTKIT_AVX2 static void transpose_rows(const float* src, int64_t ld, int rows, int64_t kc, float* dst, int64_t ds, int width) {
  alignas(32) static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  const __m256i mask = _mm256_loadu_si256((const __m256i*)(lanes + 8 - width));
  __m256 r[8];
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) r[q] = q < rows ? _mm256_loadu_ps(src + q * ld + p) : _mm256_setzero_ps();
    transpose8(r);
#pragma GCC unroll 8
    for (int u = 0; u < 8; u++) _mm256_maskstore_ps(dst + (p + u) * ds, mask, r[u]);
  }
  for (; p < kc; p++)
    for (int q = 0; q < width; q++) dst[p * ds + q] = q < rows ? src[q * ld + p] : 0.f;
}

GPTKIT_AVX2 static void pack_a_avx2(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst) {
  if (P.ta) {
    pack_a(P, i0, mc, p0, kc, mr, dst);
    return;
  }
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int r = (int)std::min<int64_t>(mr, mc - ir);
    transpose_rows(P.a + (i0 + ir) * P.lda + p0, P.lda, r, kc, dst + ir * kc, r, r);
  }
}

GPTKIT_AVX2 static void pack_b_avx2(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst) {
  if (!P.tb) {
    pack_b(P, p0, kc, j0, nc, nr, dst);
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int w = (int)std::min<int64_t>(nr, nc - jr);
    const float* src = P.b + (j0 + jr) * P.ldb + p0;
    float* panel = dst + jr * kc;
    transpose_rows(src, P.ldb, std::min(w, 8), kc, panel, NR, 8);
    transpose_rows(w > 8 ? src + 8 * P.ldb : src, P.ldb, std::max(0, w - 8), kc, panel + 8, NR, 8);
  }
}

// ---------------------------------------------------------------------------------------------
// A few rows of A times Bᵀ as dot products (gemm_driver.h's DotsFn), as gemm_avx512.h's with
// 2 rows of A × 4 rows of B (8 accumulators: 16 ymm registers hold no more with the operands).
// Loads weigh more here (6 per 8 FMAs), so packing B wins again above 8 rows.

// Adds the halves (H lanes apart) of a and b: lanes with bit H clear take a's sums, the others b's.
template <int H, size_t... J>
GPTKIT_AVX2 static inline __m256 fold(__m256 a, __m256 b, std::index_sequence<J...>) {
  return _mm256_add_ps(__builtin_shufflevector(a, b, ((J & H) ? 8 + J - H : J)...),
                       __builtin_shufflevector(a, b, ((J & H) ? 8 + J : J + H)...));
}

// Lane L of the result is the sum of v[L]'s lanes (v is overwritten).
GPTKIT_AVX2 static inline __m256 sum8(__m256 v[8]) {
  const auto idx = std::make_index_sequence<8>{};
  for (int i = 0; i < 4; i++) v[i] = fold<4>(v[i], v[i + 4], idx);
  for (int i = 0; i < 2; i++) v[i] = fold<2>(v[i], v[i + 2], idx);
  return fold<1>(v[0], v[1], idx);
}

GPTKIT_AVX2 static void dots_avx2(const Problem& P, int64_t j0, int64_t j1) {
  alignas(32) static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t k = P.k, kv = k / 8 * 8;
  const __m256i tail = _mm256_loadu_si256((const __m256i*)(lanes + 8 - (k - kv)));
  for (int64_t j = j0; j < j1; j += 4) {
    const float* b[4];
    for (int u = 0; u < 4; u++) b[u] = P.b + std::min(j + u, j1 - 1) * P.ldb;  // past the end: a repeat, discarded
    for (int64_t i = 0; i < P.m; i += 2) {
      const float* a[2];
      for (int u = 0; u < 2; u++) a[u] = P.a + std::min<int64_t>(i + u, P.m - 1) * P.lda;
      __m256 acc[8];
#pragma GCC unroll 8
      for (int t = 0; t < 8; t++) acc[t] = _mm256_setzero_ps();
      for (int64_t p = 0; p < kv; p += 8) {
        __m256 av[2], bv[4];
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) {
          if (i == 0) _mm_prefetch((const char*)(b[u] + 8 * P.ldb + p), _MM_HINT_T0);  // the rows after next
          bv[u] = _mm256_loadu_ps(b[u] + p);
        }
        av[0] = _mm256_loadu_ps(a[0] + p);
        av[1] = _mm256_loadu_ps(a[1] + p);
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) acc[t] = _mm256_fmadd_ps(av[t / 4], bv[t % 4], acc[t]);
      }
      if (kv < k) {
        __m256 av[2], bv[4];
        for (int u = 0; u < 4; u++) bv[u] = _mm256_maskload_ps(b[u] + kv, tail);
        for (int u = 0; u < 2; u++) av[u] = _mm256_maskload_ps(a[u] + kv, tail);
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) acc[t] = _mm256_fmadd_ps(av[t / 4], bv[t % 4], acc[t]);
      }
      alignas(32) float out[8];
      _mm256_store_ps(out, sum8(acc));
      store_dots(P, out, i, std::min<int64_t>(2, P.m - i), j, std::min<int64_t>(4, j1 - j));
    }
  }
}

inline const Kernels& kernels() {
  static const Kernels K = {MR, NR, 6 * 24, 256, 2048,
                            {nullptr, micro<1>, micro<2>, micro<3>, micro<4>, micro<5>, micro<6>},
                            gemv_n, gemv_t, pack_a_avx2, pack_b_avx2, dots_avx2, 8};
  return K;
}

}  // namespace avx2
}  // namespace gemm
}  // namespace gptkit
#endif  // __x86_64__
