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

}  // namespace gptkit
