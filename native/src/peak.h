// The hardware's floating-point peak: every path's loop of independent fused multiply-adds on
// registers, no memory traffic (peak_paths.cc; the addon's fmaPeak in peak.cc runs it on every pool
// thread). Benchmarks divide their FLOP rates by it ("of the hardware"), beside the GEMM ceiling.
#pragma once
#include "simd.h"
#include <cstdint>

namespace gptkit {

struct FmaPeakResult {
  /** FLOPs performed: 2 per lane per FMA (the portable path: its multiply and its add). */
  double flops;
  /**
   * The sum of every accumulator lane. Each runs x ← x·mul + add from 0; with mul ½ and add 1 it
   * reaches exactly 2, so the sum is 2 · lanes · accumulators: proof that every chain ran.
   */
  double checksum;
  /** Lanes × accumulators of the path (the checksum's divisor). */
  int lanes;
};

FmaPeakResult fma_peak(Simd s, int64_t iters, float mul, float add);

// The same loop on AVX512_BF16's vdpbf16ps (4 FLOPs per lane: two products and their sums), for
// deciding whether bf16 GEMMs should use it (bf16_paths.cc). Accumulator j ends at j + iters; only
// call it where cpu_has_bf16_dot().
FmaPeakResult bf16_dot_peak(int64_t iters);

// vdpbf16ps's FLOP rate against the FMA's on this core (measured once, in well under a millisecond;
// bf16.h decides from it whether bf16 GEMMs use vdpbf16ps).
struct Bf16DotSpeed {
  double dot_gflops, fma_gflops;  // 0 where the CPU has no AVX512_BF16
};
Bf16DotSpeed bf16_dot_speed();


}  // namespace gptkit
