// The fused attention kernels (attention_impl.h) compiled once per SIMD path, and the table that
// picks a path's entry points. The vector-extension body is written for any width: AVX-512 (16
// lanes) and AVX2 (8) on x86-64 with their target attributes; NEON (4 lanes, the AArch64 baseline, so
// no attribute) on AArch64; portable (4 lanes, baseline ISA) everywhere. No N-API here:
// native/test/simd_check.cc links this file to cross-check the paths without Node.
#include "attention_args.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// ATTN_F16 picks how a path widens and narrows an f16 KV cache (attention_impl.h): 1 AVX-512F's
// vcvtph2ps/vcvtps2ph, 2 F16C's (the AVX2 path; used only where the CPU has F16C), 0 scalar.

#if defined(__x86_64__) || defined(__i386__)
#define ATTN_NS avx512
#define ATTN_W 16
#define ATTN_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define ATTN_F16 1
#define ATTN_F16_TARGET ATTN_TARGET
#include "attention_impl.h"
#undef ATTN_NS
#undef ATTN_W
#undef ATTN_TARGET
#undef ATTN_F16
#undef ATTN_F16_TARGET

#define ATTN_NS avx2
#define ATTN_W 8
#define ATTN_TARGET __attribute__((target("avx2,fma")))
#define ATTN_F16 2
#define ATTN_F16_TARGET __attribute__((target("avx2,fma,f16c")))
#include "attention_impl.h"
#undef ATTN_NS
#undef ATTN_W
#undef ATTN_TARGET
#undef ATTN_F16
#undef ATTN_F16_TARGET
#endif

#if defined(__aarch64__)
#define ATTN_NS neon
#define ATTN_W 4
#define ATTN_TARGET
#define ATTN_F16 0
#include "attention_impl.h"
#undef ATTN_NS
#undef ATTN_W
#undef ATTN_TARGET
#undef ATTN_F16
#endif

#define ATTN_NS portable
#define ATTN_W 4
#define ATTN_TARGET
#define ATTN_F16 0
#include "attention_impl.h"
#undef ATTN_NS
#undef ATTN_W
#undef ATTN_TARGET
#undef ATTN_F16

namespace gptkit {
namespace attn {

Kernels kernels_for(Simd s) {
  switch (s) {
#if defined(__x86_64__) || defined(__i386__)
    case Simd::Avx512:
      return {avx512::forward_blocks, avx512::forward_rows, avx512::backward_heads, avx512::decode_heads,
              avx512::store_kv};
    case Simd::Avx2: {
      // Every AVX2 CPU shipped has F16C, but the AVX2 level does not promise it: without it the
      // cache kernels are the portable ones.
      static const bool f16c = __builtin_cpu_supports("f16c");
      return {avx2::forward_blocks, avx2::forward_rows, avx2::backward_heads,
              f16c ? avx2::decode_heads : portable::decode_heads, f16c ? avx2::store_kv : portable::store_kv};
    }
#endif
#if defined(__aarch64__)
    case Simd::Neon:
      return {neon::forward_blocks, neon::forward_rows, neon::backward_heads, neon::decode_heads, neon::store_kv};
#endif
    default:
      return {portable::forward_blocks, portable::forward_rows, portable::backward_heads, portable::decode_heads,
              portable::store_kv};
  }
}

}  // namespace attn
}  // namespace gptkit
