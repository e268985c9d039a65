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

// KV-cache decoding over a head-major cache (attentionDecode, kvStore in backend.ts): k and v are
// (slots, H, cap, D) of float, or of f16 bits (uint16) when f16, so a head's keys are one contiguous
// run. Decoding stores row b's new key and value (from its qkv row) at position lengths[b] of slot b,
// then attends its query over keys [lo, lengths[b]] of that slot.
struct DecodeArgs {
  int64_t B, H, D, cap, window;
  const float* qkv;  // (B, 3·H·D)
  void *k, *v;
  bool f16;
  const int32_t* lengths;  // (B), each in [0, cap)
  float scale;
  float* out;  // (B, H·D)
};

// kvStore: rows (B, T, H·D) of src (b·sb + t·st) into slots slot0 + b at positions start[b] + t.
struct StoreArgs {
  int64_t B, T, H, D, cap;
  const float* src;
  int64_t sb, st;
  void* cache;
  bool f16;
  int64_t slot0;
  const int32_t* start;  // (B), start[b] + T ≤ cap
};

// IEEE half ↔ float, round to nearest even (subnormals kept, overflow to ±∞): the scalar
// conversions every path uses for tails, and the portable and NEON paths for everything.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  uint32_t bits;
  if (e == 0) {
    if (m == 0) {
      bits = sign;
    } else {  // subnormal: m · 2^−24, made normal
      int shift = 0;
      uint32_t mm = m;
      while (!(mm & 0x400)) {
        mm <<= 1;
        shift++;
      }
      bits = sign | ((uint32_t)(113 - shift) << 23) | ((mm & 0x3ff) << 13);
    }
  } else if (e == 0x1f) {
    bits = sign | 0x7f800000u | (m << 13);
  } else {
    bits = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_f16(float f) {
  uint32_t b;
  __builtin_memcpy(&b, &f, 4);
  const uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xff, mant = b & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));
  const int32_t e = (int32_t)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    const uint32_t m = mant | 0x800000, shift = (uint32_t)(14 - e);
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;  // a carry into the exponent is right (up to ∞)
  return (uint16_t)(sign | h);
}

// The ISA-specific entry points (attention_impl.h, compiled once per SIMD level).
#define GPTKIT_ATTN_DECLARE(ns)                                                        \
  namespace ns {                                                                       \
  void forward_blocks(const Args& a, int64_t begin, int64_t end);                      \
  void forward_rows(const Args& a, int64_t begin, int64_t end);                        \
  void backward_heads(const Args& a, int64_t begin, int64_t end);                      \
  void decode_heads(const DecodeArgs& a, int64_t begin, int64_t end);                  \
  void store_kv(const StoreArgs& a, int64_t begin, int64_t end);                       \
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
  void (*decode_heads)(const DecodeArgs&, int64_t, int64_t);  // tasks (b, h)
  void (*store_kv)(const StoreArgs&, int64_t, int64_t);       // tasks (b, t)
};
Kernels kernels_for(Simd s);

// Query rows per forward task and keys per block; the backward uses the same tiles.
constexpr int64_t kBlockQ = 64;
constexpr int64_t kBlockK = 64;
// Below this many query rows the forward runs row by row (KV-cache decoding: no packing).
constexpr int64_t kRowPathMaxTq = 4;

}  // namespace attn
}  // namespace gptkit
