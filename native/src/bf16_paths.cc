// Whether bf16 GEMMs multiply in hardware (bf16.h). N-API free, so native/test/simd_check.cc links it.
#include "bf16.h"
#include "peak.h"
#include <atomic>

namespace gptkit {

bool cpu_has_bf16_dot() {
#if defined(__x86_64__)
  static const bool has = cpu_supports(Simd::Avx512) && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

bool bf16_dot_pays() {
  const Bf16DotSpeed s = bf16_dot_speed();
  return s.dot_gflops >= kBf16DotMinSpeedup * s.fma_gflops && s.fma_gflops > 0;
}

// 0: auto (vdpbf16ps where it pays), 1: off (emulated), 2: on wherever the CPU has it.
static std::atomic<int> g_bf16_mode{0};

void set_bf16_dot_mode(Bf16DotMode mode) { g_bf16_mode.store((int)mode); }

bool bf16_dot_enabled() {
  const int mode = g_bf16_mode.load(std::memory_order_relaxed);
  if (mode == (int)Bf16DotMode::Off || simd_level() != Simd::Avx512 || !cpu_has_bf16_dot()) return false;
  return mode == (int)Bf16DotMode::On || bf16_dot_pays();
}

}  // namespace gptkit
