// AVX-512 GEMM kernels (x86-64 with AVX-512F/BW/VL/DQ). Compiled with per-function target attributes,
// so the addon needs no -march flag and runs on any x86-64; the driver picks them at run time.
//
// Micro-kernel: 14×32 (28 zmm accumulators + 2 for the B row + 1 broadcast = 31 of 32 registers);
// each depth step is 2 loads of B and 14 broadcasts of A for 28 FMAs.
#pragma once
#include "gemm_driver.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define GPTKIT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

namespace gptkit {
namespace gemm {
namespace avx512 {

constexpr int MR = 14, NR = 32;

template <int R>
GPTKIT_AVX512 static void micro(int64_t kc, const float* a, const float* b, int64_t ldbp, const Tile& t) {
  __m512 c0[R], c1[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    c0[r] = _mm512_setzero_ps();
    c1[r] = _mm512_setzero_ps();
  }
  // Warm the C tile while the product runs (it is read once at the end).
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    _mm_prefetch((const char*)(t.c + r * t.rsc), _MM_HINT_T0);
    _mm_prefetch((const char*)(t.c + r * t.rsc + 16), _MM_HINT_T0);
  }
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
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

// y = x·B over a column range: 4 rows of B per pass over a 1024-column strip of y held in L1, so B
// streams row by row (prefetch-friendly) and y is read and written once per 4 rows.
GPTKIT_AVX512 static void gemv_n(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  constexpr int64_t kStrip = 1024;
  for (int64_t j0 = 0; j0 < n; j0 += kStrip) {
    const int64_t w = std::min(kStrip, n - j0);
    for (int64_t j = 0; j < w; j++) y[j0 + j] = 0.f;
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      const __m512 x0 = _mm512_set1_ps(x[p]), x1 = _mm512_set1_ps(x[p + 1]);
      const __m512 x2 = _mm512_set1_ps(x[p + 2]), x3 = _mm512_set1_ps(x[p + 3]);
      const float* r0 = b + p * ldb + j0;
      const float* r1 = r0 + ldb;
      const float* r2 = r1 + ldb;
      const float* r3 = r2 + ldb;
      float* yy = y + j0;
      int64_t j = 0;
      for (; j + 16 <= w; j += 16) {
        __m512 acc = _mm512_loadu_ps(yy + j);
        acc = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r0 + j), acc);
        acc = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r1 + j), acc);
        acc = _mm512_fmadd_ps(x2, _mm512_loadu_ps(r2 + j), acc);
        acc = _mm512_fmadd_ps(x3, _mm512_loadu_ps(r3 + j), acc);
        _mm512_storeu_ps(yy + j, acc);
      }
      if (j < w) {
        const __mmask16 m = (__mmask16)((1u << (w - j)) - 1);
        __m512 acc = _mm512_maskz_loadu_ps(m, yy + j);
        acc = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(m, r0 + j), acc);
        acc = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m, r1 + j), acc);
        acc = _mm512_fmadd_ps(x2, _mm512_maskz_loadu_ps(m, r2 + j), acc);
        acc = _mm512_fmadd_ps(x3, _mm512_maskz_loadu_ps(m, r3 + j), acc);
        _mm512_mask_storeu_ps(yy + j, m, acc);
      }
    }
    for (; p < k; p++) {
      const __m512 xp = _mm512_set1_ps(x[p]);
      const float* r0 = b + p * ldb + j0;
      float* yy = y + j0;
      for (int64_t j = 0; j < w; j += 16) {
        const __mmask16 m = w - j >= 16 ? 0xffff : (__mmask16)((1u << (w - j)) - 1);
        __m512 acc = _mm512_maskz_loadu_ps(m, yy + j);
        acc = _mm512_fmadd_ps(xp, _mm512_maskz_loadu_ps(m, r0 + j), acc);
        _mm512_mask_storeu_ps(yy + j, m, acc);
      }
    }
  }
}

// Horizontal sum in a fixed order (GCC 12's _mm512_reduce_add_ps trips -Wmaybe-uninitialized).
GPTKIT_AVX512 static inline float hsum(__m512 v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Dot products of x with 4 rows of B at a time (x is loaded once for the 4), two accumulators each.
GPTKIT_AVX512 static void gemv_t(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  int64_t j = 0;
  const __mmask16 tail = (__mmask16)((1u << (k % 16)) - 1);
  const int64_t k16 = k / 16 * 16;
  for (; j + 4 <= n; j += 4) {
    const float* r0 = b + j * ldb;
    const float* r1 = r0 + ldb;
    const float* r2 = r1 + ldb;
    const float* r3 = r2 + ldb;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int64_t p = 0; p < k16; p += 16) {
      const __m512 xv = _mm512_loadu_ps(x + p);
      a0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r0 + p), a0);
      a1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r1 + p), a1);
      a2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r2 + p), a2);
      a3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r3 + p), a3);
    }
    if (tail) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, x + k16);
      a0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r0 + k16), a0);
      a1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r1 + k16), a1);
      a2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r2 + k16), a2);
      a3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, r3 + k16), a3);
    }
    y[j] = hsum(a0);
    y[j + 1] = hsum(a1);
    y[j + 2] = hsum(a2);
    y[j + 3] = hsum(a3);
  }
  for (; j < n; j++) {
    const float* r0 = b + j * ldb;
    __m512 a0 = _mm512_setzero_ps();
    for (int64_t p = 0; p < k16; p += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), _mm512_loadu_ps(r0 + p), a0);
    if (tail) a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + k16), _mm512_maskz_loadu_ps(tail, r0 + k16), a0);
    y[j] = hsum(a0);
  }
}

inline const Kernels& kernels() {
  static const Kernels K = {MR, NR, 14 * 24, 256, 3072,
                            {nullptr, micro<1>, micro<2>, micro<3>, micro<4>, micro<5>, micro<6>, micro<7>,
                             micro<8>, micro<9>, micro<10>, micro<11>, micro<12>, micro<13>, micro<14>},
                            gemv_n, gemv_t};
  return K;
}

}  // namespace avx512
}  // namespace gemm
}  // namespace gptkit
#endif  // __x86_64__
