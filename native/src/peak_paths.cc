// The FMA peak loops, one per SIMD path (N-API free: native/test/simd_check.cc runs every path,
// NEON under qemu). See peak.h.
#include "peak.h"
#include <algorithm>
#include <chrono>
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
// Every lane of the accumulators, summed (the checksum). Not _mm512_reduce_add_ps: GCC 12's header
// warns inside it.
__attribute__((target("avx512f"))) double sum_lanes(const __m512 (&acc)[kAcc]) {
  double sum = 0;
  alignas(64) float lanes[16];
  for (int j = 0; j < kAcc; j++) {
    _mm512_store_ps(lanes, acc[j]);
    for (float x : lanes) sum += x;
  }
  return sum;
}

__attribute__((target("avx512f"))) Result run_avx512(int64_t iters, float mul, float add) {
  __m512 acc[kAcc];
  const __m512 m = _mm512_set1_ps(mul), a = _mm512_set1_ps(add);
  for (int j = 0; j < kAcc; j++) acc[j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; j++) acc[j] = _mm512_fmadd_ps(acc[j], m, a);
  }
  return {2.0 * 16 * kAcc * (double)iters, sum_lanes(acc), 16 * kAcc};
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

#if defined(__x86_64__)
// vdpbf16ps: each lane adds two bf16 products to its float (4 FLOPs per lane per instruction).
// Each step adds 1·½ + 1·½ = 1: accumulator j ends at exactly j + iters (while that is below 2^24).
__attribute__((target("avx512f,avx512bf16"))) Result run_bf16_dot(int64_t iters) {
  __m512 acc[kAcc];
  const __m512bh one = (__m512bh)_mm512_set1_epi16(0x3f80), half = (__m512bh)_mm512_set1_epi16(0x3f00);
  for (int j = 0; j < kAcc; j++) acc[j] = _mm512_set1_ps((float)j);  // distinct, so no two chains merge
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; j++) acc[j] = _mm512_dpbf16_ps(acc[j], one, half);
  }
  return {4.0 * 16 * kAcc * (double)iters, sum_lanes(acc), 16 * kAcc};
}
#endif

}  // namespace

FmaPeakResult bf16_dot_peak(int64_t iters) {
#if defined(__x86_64__)
  return run_bf16_dot(iters);
#else
  (void)iters;
  return {0, 0, 0};
#endif
}

#if defined(__x86_64__)
Bf16DotSpeed bf16_dot_speed() {
  static const Bf16DotSpeed speed = [] {
    Bf16DotSpeed r{0, 0};
    if (!cpu_supports(Simd::Avx512) || !__builtin_cpu_supports("avx512bf16")) return r;
    // Best of 5 alternating ~20 µs runs of each loop on this thread: the two rates differ by 2× either
    // way on the CPUs we know (Zen 4/5: vdpbf16ps does twice FMA's FLOPs; Sapphire/Emerald Rapids
    // without AMX: half), far beyond what noise moves.
    constexpr int64_t kIters = 2048;
    using clock = std::chrono::steady_clock;
    for (int round = 0; round < 5; round++) {
      auto t0 = clock::now();
      const FmaPeakResult f = fma_peak(Simd::Avx512, kIters, 0.5f, 1.0f);
      auto t1 = clock::now();
      const FmaPeakResult d = bf16_dot_peak(kIters);
      auto t2 = clock::now();
      const double fs = std::chrono::duration<double>(t1 - t0).count(), ds = std::chrono::duration<double>(t2 - t1).count();
      if (fs > 0 && f.checksum > 0) r.fma_gflops = std::max(r.fma_gflops, f.flops / fs / 1e9);
      if (ds > 0 && d.checksum > 0) r.dot_gflops = std::max(r.dot_gflops, d.flops / ds / 1e9);
    }
    return r;
  }();
  return speed;
}
#else
Bf16DotSpeed bf16_dot_speed() { return {0, 0}; }
#endif

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
