// The quantized linear kernels (qlinear_impl.h) compiled once per SIMD path — AVX-512 (16 lanes) and
// AVX2 (8) on x86-64 with their target attributes, NEON (4) on AArch64, portable (4) everywhere —
// and the driver that splits output columns over the thread pool. N-API free (see qlinear.h).
#include "qlinear.h"
#include <algorithm>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 headers warn about their own undefined-vector idiom (as in gemm_avx512.h).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define QL_NS avx512
#define QL_W 16
#define QL_AVX512
#define QL_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#include "qlinear_impl.h"
#undef QL_NS
#undef QL_W
#undef QL_TARGET
#undef QL_AVX512

#define QL_NS avx2
#define QL_W 8
#define QL_AVX2
#define QL_TARGET __attribute__((target("avx2,fma")))
#include "qlinear_impl.h"
#undef QL_NS
#undef QL_W
#undef QL_TARGET
#undef QL_AVX2
#pragma GCC diagnostic pop
#endif

#if defined(__aarch64__)
#define QL_NS neon
#define QL_W 4
#define QL_TARGET
#define QL_NEON
#include "qlinear_impl.h"
#undef QL_NS
#undef QL_W
#undef QL_TARGET
#undef QL_NEON
#endif

#define QL_NS portable
#define QL_W 4
#define QL_TARGET
#include "qlinear_impl.h"
#undef QL_NS
#undef QL_W
#undef QL_TARGET

namespace gptkit {
namespace qlin {

using ColumnsFn = void (*)(Format, int64_t, int64_t, int64_t, int64_t, int64_t, const float*, const uint8_t*, const float*, float*);

static ColumnsFn columns_for(Simd s) {
  switch (s) {
#if defined(__x86_64__) || defined(__i386__)
    case Simd::Avx512: return avx512::columns;
    case Simd::Avx2: return avx2::columns;
#endif
#if defined(__aarch64__)
    case Simd::Neon: return neon::columns;
#endif
    default: return portable::columns;
  }
}

void linear(Simd s, Format f, int64_t M, int64_t N, int64_t K, const float* x, const uint8_t* w, const float* bias, float* y) {
  if (M <= 0 || N <= 0) return;
  const ColumnsFn fn = columns_for(s);
  // Small products run on the calling thread: waking the pool costs more than they do.
  if (M * N * K < (1 << 16)) return fn(f, M, 0, N, N, K, x, w, bias, y);
  // Ranges of whole columns, a few per thread so a descheduled worker costs little.
  const int64_t chunk = std::max<int64_t>(8, N / (num_threads() * 4));
  const int64_t tasks = (N + chunk - 1) / chunk;
  parallel_for(tasks, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) fn(f, M, t * chunk, std::min(N, (t + 1) * chunk), N, K, x, w, bias, y);
  });
}

}  // namespace qlin
}  // namespace gptkit
