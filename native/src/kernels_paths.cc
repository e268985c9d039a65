// The pointwise/row kernels compiled once per SIMD path: kernels_body.h included inside each path's
// namespace after that path's primitives (kernels_vec_*.h), with the path's instruction set enabled.
// No N-API here: native/test/simd_check.cc links this file to cross-check the paths without Node.
#include "kernels_table.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace gptkit {

namespace portable {
#include "kernels_vec_portable.h"
#include "kernels_body.h"
}  // namespace portable

#if defined(__aarch64__)
// Advanced SIMD is part of the AArch64 base architecture: no target attribute needed.
namespace neon {
#include "kernels_vec_neon.h"
#include "kernels_body.h"
}  // namespace neon
#endif

#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2 {
#include "kernels_vec_avx2.h"
#include "kernels_body.h"
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
// GCC 12's own AVX-512 headers trip its uninitialised-variable warnings (the `__Y = __Y` idiom
// they use for "undefined" vectors); the warnings are about the headers, not this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace avx512 {
#include "kernels_vec_avx512.h"
#include "kernels_body.h"
}  // namespace avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
#endif

const kern::Table& kern::table_for(Simd s) {
  switch (s) {
#if defined(__x86_64__) || defined(__i386__)
    case Simd::Avx512: return avx512::table;
    case Simd::Avx2: return avx2::table;
#endif
#if defined(__aarch64__)
    case Simd::Neon: return neon::table;
#endif
    default: return portable::table;
  }
}

}  // namespace gptkit
