// Portable GEMM kernels: plain C++ the compiler can vectorise for the baseline ISA (SSE2 on x86-64,
// NEON on AArch64). The reference the SIMD paths are cross-checked against (native/test/simd_check.cc).
#pragma once
#include "gemm_driver.h"

namespace gptkit {
namespace gemm {
namespace portable {

constexpr int MR = 4, NR = 16;

template <int R>
static void micro(int64_t kc, const float* a, const float* b, int64_t ldbp, const Tile& t) {
  float acc[R][NR] = {};
  for (int64_t p = 0; p < kc; p++) {
    const float* bp = b + p * ldbp;
    for (int r = 0; r < R; r++) {
      const float ar = a[p * R + r];
      for (int j = 0; j < NR; j++) acc[r][j] += ar * bp[j];
    }
  }
  store_tile_scalar(&acc[0][0], NR, R, t);
}

static void gemv_n(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  for (int64_t j = 0; j < n; j++) y[j] = 0.f;
  for (int64_t p = 0; p < k; p++) {
    const float xp = x[p];
    const float* row = b + p * ldb;
    for (int64_t j = 0; j < n; j++) y[j] += xp * row[j];
  }
}

static void gemv_t(int64_t k, int64_t n, const float* x, const float* b, int64_t ldb, float* y) {
  for (int64_t j = 0; j < n; j++) {
    const float* row = b + j * ldb;
    float s = 0.f;
    for (int64_t p = 0; p < k; p++) s += x[p] * row[p];
    y[j] = s;
  }
}

inline const Kernels& kernels() {
  static const Kernels K = {MR, NR, 128, 256, 2048,
                            {nullptr, micro<1>, micro<2>, micro<3>, micro<4>},
                            gemv_n, gemv_t, pack_a, pack_b};
  return K;
}

}  // namespace portable
}  // namespace gemm
}  // namespace gptkit
