// Weight-only quantized linear layers for decoding: y = x · Wᵀ + bias with W stored narrow and read
// as it is (never expanded to float32 in memory), x and y float32. Two weight formats:
//   - Q8_0 (ggml's): each row of K weights is K/32 blocks of 34 bytes, an IEEE half scale d then 32
//     int8 q; the weight is d·q.
//   - BF16: each row is K bfloat16 values (the top half of a float32).
// Decoding reads every weight once per step, so a step's time follows the bytes read: Q8_0 moves
// 1.0625 bytes a weight and BF16 2 against float32's 4. The kernels (qlinear_impl.h) are written once
// with vector extensions and compiled per SIMD path; no N-API here (native/test/simd_check.cc
// cross-checks the paths).
#pragma once
#include "simd.h"
#include <cstdint>

namespace gptkit {
namespace qlin {

enum class Format : int { Q8_0 = 0, BF16 = 1 };

/** Bytes of one row of K weights in a format (K a multiple of 32 for Q8_0). */
inline int64_t row_bytes(Format f, int64_t K) { return f == Format::Q8_0 ? K / 32 * 34 : K * 2; }

/**
 * y (M, N) = x (M, K) · Wᵀ + bias, W (N rows of row_bytes(f, K)). bias may be null. Rows of x and
 * y are contiguous (ld = K and N). Output columns are split over the thread pool.
 */
void linear(Simd s, Format f, int64_t M, int64_t N, int64_t K, const float* x, const uint8_t* w, const float* bias, float* y);

}  // namespace qlin
}  // namespace gptkit
