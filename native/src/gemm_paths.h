// The GEMM kernel table for a SIMD path. Each path is compiled only where its ISA exists
// (AVX-512/AVX2 on x86-64, NEON on AArch64); any other level gets the portable table.
#pragma once
#include "gemm_avx2.h"
#include "gemm_avx512.h"
#include "gemm_driver.h"
#include "gemm_neon.h"
#include "gemm_portable.h"

namespace gptkit {
namespace gemm {

inline const Kernels& kernels_for(Simd s) {
  switch (s) {
#if defined(__x86_64__)
    case Simd::Avx512: return avx512::kernels();
    case Simd::Avx2: return avx2::kernels();
#endif
#if defined(__aarch64__)
    case Simd::Neon: return neon::kernels();
#endif
    default: return portable::kernels();
  }
}

}  // namespace gemm
}  // namespace gptkit
