// The arguments of the fused attention kernels once validated (pointers already moved to their
// offsets), shared by attention.cc and the per-SIMD kernel bodies in attention_impl.h. N-API free.
#pragma once
#include "simd.h"
#include <algorithm>
#include <cstdint>

namespace gptkit {
namespace attn {

struct Args {
  int64_t B, H, tq, tk, D;
  const float *q, *k, *v;  // at their offsets
  int64_t qsb, qst, ksb, kst, vsb, vst;
  float scale;
  bool causal;
  int64_t window;
  const int32_t* key_start;  // (B) or null
  const int32_t* key_end;    // (B) or null
  float dropout;             // drop probability
  float keep_scale;          // 1 / (1 − dropout)
  uint32_t seed, threshold;  // dropoutKeep(seed, idx, threshold) of backend.ts
  float* out;                // (B, Tq, H·D)
  float* lse;                // (B, H, Tq)
  // Backward only.
  const float* dout;
  float *dq, *dk, *dv;  // same offsets and strides as q, k, v
  // true: the gradient is added to what the array holds; false: written over it (never read, so a
  // fresh gradient buffer needs no zero-fill; keys no query sees get 0).
  bool acc_q, acc_k, acc_v;

  // Keys visible to query i of batch row b: [*lo, *hi), empty when hi ≤ lo (see backend.ts).
  void visible(int64_t b, int64_t i, int64_t* lo, int64_t* hi) const {
    int64_t diag = i + (tk - tq), l = 0, h = tk;
    if (causal) h = std::min(h, diag + 1);
    if (window > 0) l = std::max(l, diag - window + 1);
    if (key_start) l = std::max(l, (int64_t)key_start[b]);
    if (key_end) h = std::min(h, (int64_t)key_end[b]);
    *lo = l;
    *hi = h;
  }

  // idx of dropoutKeep for key 0 of query i in head (b, h), modulo 2^32 (uint32 wrap-around).
  uint32_t dropout_row(int64_t b, int64_t h, int64_t i) const {
    return (uint32_t)((uint64_t)((b * H + h) * tq + i) * (uint64_t)tk);
  }
};

// The hash of backend.ts's dropoutHash, bit for bit.
inline uint32_t dropout_hash(uint32_t seed, uint32_t idx) {
  uint32_t x = seed ^ (idx * 0x9e3779b9u);
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

// The ISA-specific entry points (attention_impl.h, compiled once per SIMD level).
#define GPTKIT_ATTN_DECLARE(ns)                                                        \
  namespace ns {                                                                       \
  void forward_blocks(const Args& a, int64_t begin, int64_t end);                      \
  void forward_rows(const Args& a, int64_t begin, int64_t end);                        \
  void backward_heads(const Args& a, int64_t begin, int64_t end);                      \
  }
GPTKIT_ATTN_DECLARE(avx512)
GPTKIT_ATTN_DECLARE(avx2)
GPTKIT_ATTN_DECLARE(neon)
GPTKIT_ATTN_DECLARE(portable)
#undef GPTKIT_ATTN_DECLARE

// The entry points of one SIMD path (attention_paths.cc); a path this build does not compile gets
// the portable ones.
using RangeFn = void (*)(const Args&, int64_t, int64_t);
struct Kernels {
  RangeFn forward_blocks, forward_rows, backward_heads;
};
Kernels kernels_for(Simd s);

// Query rows per forward task and keys per block; the backward uses the same tiles.
constexpr int64_t kBlockQ = 64;
constexpr int64_t kBlockK = 64;
// Below this many query rows the forward runs row by row (KV-cache decoding: no packing).
constexpr int64_t kRowPathMaxTq = 4;

}  // namespace attn
}  // namespace gptkit
