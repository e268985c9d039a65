// Whether bf16 GEMMs multiply in hardware (bf16.h). N-API free, so native/test/simd_check.cc links it.
#include "bf16.h"
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

static std::atomic<bool> g_bf16_allowed{true};

void set_bf16_dot_allowed(bool allowed) { g_bf16_allowed.store(allowed); }

bool bf16_dot_enabled() {
  return g_bf16_allowed.load(std::memory_order_relaxed) && simd_level() == Simd::Avx512 && cpu_has_bf16_dot();
}

}  // namespace gptkit
