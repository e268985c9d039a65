// The FMA peak loops, one per SIMD path (N-API free: native/test/simd_check.cc runs every path,
// NEON under qemu). See peak.h.
#include "peak.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace gptkit {
namespace {

// Accumulators per path: enough independent chains to cover FMA latency × pipes (4 cycles × 2 pipes
// on Zen 4/5 and recent Intel; NEON cores are similar), within the architectural registers.
constexpr int kAcc = 12;

using Result = FmaPeakResult;

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f"))) Result run_avx512(int64_t iters, float mul, float add) {
  __m512 acc[kAcc];
  const __m512 m = _mm512_set1_ps(mul), a = _mm512_set1_ps(add);
  for (int j = 0; j < kAcc; j++) acc[j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; j++) acc[j] = _mm512_fmadd_ps(acc[j], m, a);
  }
  double sum = 0;
  alignas(64) float lanes[16];  // (not _mm512_reduce_add_ps: GCC 12's header warns inside it)
  for (int j = 0; j < kAcc; j++) {
    _mm512_store_ps(lanes, acc[j]);
    for (float x : lanes) sum += x;
  }
  return {2.0 * 16 * kAcc * (double)iters, sum, 16 * kAcc};
}

__attribute__((target("avx2,fma"))) Result run_avx2(int64_t iters, float mul, float add) {
  __m256 acc[kAcc];
  const __m256 m = _mm256_set1_ps(mul), a = _mm256_set1_ps(add);
  for (int j = 0; j < kAcc; j++) acc[j] = _mm256_setzero_ps();
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; j++) acc[j] = _mm256_fmadd_ps(acc[j], m, a);
  }
  double sum = 0;
  alignas(32) float lanes[8];
  for (int j = 0; j < kAcc; j++) {
    _mm256_store_ps(lanes, acc[j]);
    for (float x : lanes) sum += x;
  }
  return {2.0 * 8 * kAcc * (double)iters, sum, 8 * kAcc};
}
#endif

#if defined(__aarch64__)
Result run_neon(int64_t iters, float mul, float add) {
  float32x4_t acc[kAcc];
  const float32x4_t m = vdupq_n_f32(mul), a = vdupq_n_f32(add);
  for (int j = 0; j < kAcc; j++) acc[j] = vdupq_n_f32(0.f);
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; j++) acc[j] = vfmaq_f32(a, acc[j], m);
  }
  double sum = 0;
  for (int j = 0; j < kAcc; j++) sum += vaddvq_f32(acc[j]);
  return {2.0 * 4 * kAcc * (double)iters, sum, 4 * kAcc};
}
#endif

// Portable: 4-wide vectors of the compiler's baseline ISA, a multiply and an add (no FMA assumed).
Result run_portable(int64_t iters, float mul, float add) {
  typedef float v4 __attribute__((vector_size(16)));
  v4 acc[kAcc];
  const v4 m = {mul, mul, mul, mul}, a = {add, add, add, add};
  for (int j = 0; j < kAcc; j++) acc[j] = v4{0, 0, 0, 0};
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; j++) acc[j] = acc[j] * m + a;
  }
  double sum = 0;
  for (int j = 0; j < kAcc; j++) sum += acc[j][0] + acc[j][1] + acc[j][2] + acc[j][3];
  return {2.0 * 4 * kAcc * (double)iters, sum, 4 * kAcc};
}

}  // namespace

FmaPeakResult fma_peak(Simd s, int64_t iters, float mul, float add) {
  switch (s) {
#if defined(__x86_64__) || defined(__i386__)
    case Simd::Avx512: return run_avx512(iters, mul, add);
    case Simd::Avx2: return run_avx2(iters, mul, add);
#endif
#if defined(__aarch64__)
    case Simd::Neon: return run_neon(iters, mul, add);
#endif
    default: return run_portable(iters, mul, add);
  }
}

}  // namespace gptkit
