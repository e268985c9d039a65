// bfloat16 for mixed-precision training: the rounding every path shares, and whether this CPU
// multiplies bf16 pairs in hardware (AVX512_BF16's vdpbf16ps). N-API free (see simd.h).
//
// Rounding is the hardware's (VCVTNE2PS2BF16): round to nearest even, NaN kept quiet, and
// denormal inputs read as zero, so the emulated path packs the same operand bits as the native one.
#pragma once
#include "simd.h"
#include "peak.h"
#include <cstdint>
#include <cstring>

namespace gptkit {

inline uint16_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);  // ±0 and denormals → ±0
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

inline float bf16_float(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// x rounded to the nearest bfloat16, kept as a float.
inline float round_bf16(float x) { return bf16_float(bf16_bits(x)); }

inline void round_bf16_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = round_bf16(x[i]);
}

// The CPU has AVX512_BF16 (and the AVX-512 base the kernels need).
bool cpu_has_bf16_dot();
// bf16 GEMMs pay their pair packing only when the dot is clearly faster than fp32 FMAs: twice on
// Zen 4/5, but half on Sapphire/Emerald Rapids without AMX, where vdpbf16ps made a training step
// 1.4–1.7× slower than fp32.
constexpr double kBf16DotMinSpeedup = 1.3;
bool bf16_dot_pays();

// Whether bf16 GEMMs use vdpbf16ps now. Auto (the default): where the CPU has it, the SIMD level in
// force is AVX-512 and it pays (above). Off: the emulated path on any machine (GPTKIT_BF16=emulate).
// On: wherever the CPU has it, paying or not (GPTKIT_BF16=native; tests force each path).
enum class Bf16DotMode { Auto = 0, Off = 1, On = 2 };
bool bf16_dot_enabled();
void set_bf16_dot_mode(Bf16DotMode mode);

}  // namespace gptkit
