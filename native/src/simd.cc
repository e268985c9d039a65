// CPU feature detection: which SIMD paths this machine can run. N-API free (see simd.h).
#include "simd.h"

namespace gptkit {

bool cpu_supports(Simd s) {
  switch (s) {
    case Simd::Portable: return true;
#if defined(__x86_64__) || defined(__i386__)
    case Simd::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Simd::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    case Simd::Neon: return false;
#elif defined(__aarch64__)
    case Simd::Neon: return true;  // Advanced SIMD is part of the AArch64 base architecture
    default: return false;
#else
    default: return false;
#endif
  }
  return false;
}

const char* simd_name(Simd s) {
  switch (s) {
    case Simd::Avx512: return "avx512";
    case Simd::Avx2: return "avx2";
    case Simd::Neon: return "neon";
    default: return "portable";
  }
}

}  // namespace gptkit
