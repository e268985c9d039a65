// NEON GEMM kernels (AArch64, where Advanced SIMD is part of the base architecture: compiled there
// only, and picked whenever simd_level() is Simd::Neon).
//
// Micro-kernel: 8×12. 24 accumulators (8 rows × 3 vectors of 4 floats) + 3 registers for the B row
// + 2 for the panel's 8 A values = 29 of the 32 128-bit registers. Each A value is used from its
// lane (FMLA by element, vfmaq_laneq_f32), so no broadcast is spent per row. Panels of fewer than 8
// rows (the ragged edge) take their A values as scalars (vfmaq_n_f32) where no whole vector fits.
// Every element of C is one sequential FMA chain over k, as on the x86 paths.
#pragma once
#include "gemm_driver.h"
#if defined(__aarch64__)
#include <arm_neon.h>
#include <utility>

namespace gptkit {
namespace gemm {
namespace neon {

constexpr int MR = 8, NR = 12;

#define GPTKIT_NEON_INLINE __attribute__((always_inline)) static inline

// c[r][·] += A(r)·b[·] for row r: A(r) is a lane of a0 (rows 0–3 of a panel of ≥ 4 rows) or a1
// (rows 4–7 of a full panel), else the scalar a[r].
template <int R, int r>
GPTKIT_NEON_INLINE void fma_row(float32x4_t (&c)[R][3], const float32x4_t (&b)[3], float32x4_t a0, float32x4_t a1,
                                const float* a) {
  for (int v = 0; v < 3; v++) {
    if constexpr (r < 4 && R >= 4) c[r][v] = vfmaq_laneq_f32(c[r][v], b[v], a0, r);
    else if constexpr (r >= 4 && R == 8) c[r][v] = vfmaq_laneq_f32(c[r][v], b[v], a1, r - 4);
    else c[r][v] = vfmaq_n_f32(c[r][v], b[v], a[r]);
  }
}

template <int R, int... rs>
GPTKIT_NEON_INLINE void fma_rows(std::integer_sequence<int, rs...>, float32x4_t (&c)[R][3], const float32x4_t (&b)[3],
                                 float32x4_t a0, float32x4_t a1, const float* a) {
  (fma_row<R, rs>(c, b, a0, a1, a), ...);
}

template <int R>
static void micro(int64_t kc, const float* a, const float* b, int64_t ldbp, const Tile& t) {
  float32x4_t c[R][3];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < 3; v++) c[r][v] = vdupq_n_f32(0.f);
  for (int64_t p = 0; p < kc; p++) {
    const float32x4_t bv[3] = {vld1q_f32(b), vld1q_f32(b + 4), vld1q_f32(b + 8)};
    // Whole vectors of A only where the panel holds them (its stride is R floats).
    const float32x4_t a0 = R >= 4 ? vld1q_f32(a) : vdupq_n_f32(0.f);
    const float32x4_t a1 = R == 8 ? vld1q_f32(a + 4) : a0;
    fma_rows<R>(std::make_integer_sequence<int, R>{}, c, bv, a0, a1, a);
    a += R;
    b += ldbp;
  }
  if (t.csc != 1 || t.nr != NR) {
    float tmp[R * NR];
    for (int r = 0; r < R; r++)
      for (int v = 0; v < 3; v++) vst1q_f32(tmp + r * NR + 4 * v, c[r][v]);
    store_tile_scalar(tmp, NR, R, t);
    return;
  }
  // The epilogue of store_tile_scalar, four columns at a time (the same operations in the same order).
  const float32x4_t alpha = vdupq_n_f32(t.alpha);
  float32x4_t bias[3] = {vdupq_n_f32(0.f), vdupq_n_f32(0.f), vdupq_n_f32(0.f)};
  if (t.bias && !t.bias_per_row)
    for (int v = 0; v < 3; v++) bias[v] = vld1q_f32(t.bias + 4 * v);
  for (int r = 0; r < R; r++) {
    float* row = t.c + r * t.rsc;
    for (int v = 0; v < 3; v++) {
      float32x4_t x = vmulq_f32(alpha, c[r][v]);
      if (t.accumulate) x = vaddq_f32(x, vld1q_f32(row + 4 * v));
      if (t.bias) x = vaddq_f32(x, t.bias_per_row ? vdupq_n_f32(t.bias[r]) : bias[v]);
      vst1q_f32(row + 4 * v, x);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GEMV.

// y += x[0..R)·B[0..R) over columns [0, w): one pass over y for R rows of B.
template <int R>
GPTKIT_NEON_INLINE void gemv_rows(const float* x, const float* b, int64_t ldb, int64_t w, float* y) {
  const float* rows[R];
  for (int q = 0; q < R; q++) rows[q] = b + q * ldb;
  const int64_t w4 = w / 4 * 4;
  for (int64_t j = 0; j < w4; j += 4) {
    float32x4_t acc = vld1q_f32(y + j);
    for (int q = 0; q < R; q++) acc = vfmaq_n_f32(acc, vld1q_f32(rows[q] + j), x[q]);
    vst1q_f32(y + j, acc);
  }
  // The same FMA chain one lane at a time, so every column is rounded alike.
  for (int64_t j = w4; j < w; j++) {
    float acc = y[j];
    for (int q = 0; q < R; q++) acc = std::fma(x[q], rows[q][j], acc);
    y[j] = acc;
  }
}

// y = x·B: 8 rows of B per pass over a strip of y kept in L2 (as gemm_avx2.h).
static void gemv_n(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  constexpr int64_t kStrip = 32768;
  for (int64_t j0 = 0; j0 < n; j0 += kStrip) {
    const int64_t w = std::min(kStrip, n - j0);
    for (int64_t j = 0; j < w; j++) y[j0 + j] = 0.f;
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) gemv_rows<8>(x + p, b + p * ldb + j0, ldb, w, y + j0);
    for (; p < k; p++) gemv_rows<1>(x + p, b + p * ldb + j0, ldb, w, y + j0);
  }
}

// y[q] = x·(row q of b) for q < R, x loaded once for the R rows.
template <int R>
GPTKIT_NEON_INLINE void dot_rows(int64_t k, const float* x, const float* b, int64_t ldb, float* y) {
  const int64_t k4 = k / 4 * 4;
  float32x4_t acc[R];
  for (int q = 0; q < R; q++) acc[q] = vdupq_n_f32(0.f);
  for (int64_t p = 0; p < k4; p += 4) {
    const float32x4_t xv = vld1q_f32(x + p);
    for (int q = 0; q < R; q++) acc[q] = vfmaq_f32(acc[q], xv, vld1q_f32(b + q * ldb + p));
  }
  for (int q = 0; q < R; q++) {
    float s = vaddvq_f32(acc[q]);
    for (int64_t p = k4; p < k; p++) s = std::fma(x[p], b[q * ldb + p], s);
    y[q] = s;
  }
}

static void gemv_t(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) dot_rows<8>(k, x, b + j * ldb, ldb, y + j);
  for (; j < n; j++) dot_rows<1>(k, x, b + j * ldb, ldb, y + j);
}

// ---------------------------------------------------------------------------------------------
// Packing: the transposing cases (A not transposed, B transposed) through 4×4 in-register
// transposes, for whole panels; a ragged last panel goes through the generic code.

// Rows s[0..4) (4 floats each) → columns: out[u] = {s0[u], s1[u], s2[u], s3[u]}.
GPTKIT_NEON_INLINE void transpose4(const float* s, int64_t ld, float32x4_t out[4]) {
  const float32x4x2_t t01 = vtrnq_f32(vld1q_f32(s), vld1q_f32(s + ld));
  const float32x4x2_t t23 = vtrnq_f32(vld1q_f32(s + 2 * ld), vld1q_f32(s + 3 * ld));
  out[0] = vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0]));
  out[1] = vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1]));
  out[2] = vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0]));
  out[3] = vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1]));
}

// `groups`·4 source rows of kc floats (row stride ld) → dst[p·groups·4 + q].
template <int groups>
static void transpose_panel(const float* src, int64_t ld, int64_t kc, float* dst) {
  constexpr int width = 4 * groups;
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    for (int g = 0; g < groups; g++) {
      float32x4_t cols[4];
      transpose4(src + 4 * g * ld + p, ld, cols);
      for (int u = 0; u < 4; u++) vst1q_f32(dst + (p + u) * width + 4 * g, cols[u]);
    }
  }
  for (; p < kc; p++)
    for (int q = 0; q < width; q++) dst[p * width + q] = src[q * ld + p];
}

static void pack_a_neon(const Problem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst) {
  if (P.ta) {
    pack_a(P, i0, mc, p0, kc, mr, dst);
    return;
  }
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int r = (int)std::min<int64_t>(mr, mc - ir);
    if (r == MR) transpose_panel<MR / 4>(P.a + (i0 + ir) * P.lda + p0, P.lda, kc, dst + ir * kc);
    else pack_a(P, i0 + ir, r, p0, kc, mr, dst + ir * kc);
  }
}

static void pack_b_neon(const Problem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst) {
  if (!P.tb) {
    pack_b(P, p0, kc, j0, nc, nr, dst);
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int w = (int)std::min<int64_t>(nr, nc - jr);
    if (w == NR) transpose_panel<NR / 4>(P.b + (j0 + jr) * P.ldb + p0, P.ldb, kc, dst + jr * kc);
    else pack_b(P, p0, kc, j0 + jr, w, nr, dst + jr * kc);
  }
}

#undef GPTKIT_NEON_INLINE

inline const Kernels& kernels() {
  static const Kernels K = {MR, NR, 8 * 16, 256, 12 * 170,
                            {nullptr, micro<1>, micro<2>, micro<3>, micro<4>, micro<5>, micro<6>, micro<7>, micro<8>},
                            gemv_n, gemv_t, pack_a_neon, pack_b_neon};
  return K;
}

}  // namespace neon
}  // namespace gemm
}  // namespace gptkit
#endif  // __aarch64__
