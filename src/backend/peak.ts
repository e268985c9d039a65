// The CPU's measured floating-point peak: the addon's fmaPeak (native/src/peak_paths.cc) runs a loop
// of independent fused multiply-adds on registers on every pool thread, with the SIMD path in force.
// Benchmarks report MFU against it ("of the hardware") beside MFU against the best GEMM.
import { loadAddon } from './native/index.ts';

export interface FmaPeakRun {
  flops: number;
  /** Σ of every accumulator lane: 2 · lanes · threads once the loop has run 25+ iterations. */
  checksum: number;
  lanes: number;
  threads: number;
  simd: string;
}

/** One call of the loop, `iterations` long on each thread (null without the native addon). */
export function fmaPeakRun(iterations: number): FmaPeakRun | null {
  const addon = loadAddon();
  return addon ? (addon.fmaPeak(iterations, 0.5, 1) as FmaPeakRun) : null;
}

/**
 * GFLOP/s of the FMA loop on all threads: calibrated to about `seconds` a round, best of `rounds`
 * (a moment of load on a shared machine must not lower the peak). Null without the native addon:
 * the TypeScript kernels have no SIMD peak to speak of.
 */
export function measurePeakGflops(seconds = 0.2, rounds = 3): { gflops: number; threads: number; simd: string } | null {
  let iters = 100_000;
  const first = fmaPeakRun(iters);
  if (!first) return null;
  let best = 0;
  for (let r = 0; r < rounds + 1; r++) {
    const t0 = performance.now();
    const run = fmaPeakRun(iters)!;
    const sec = (performance.now() - t0) / 1000;
    if (r === 0) iters = Math.max(1000, Math.round((iters * seconds) / Math.max(sec, 1e-6))); // calibration round
    else best = Math.max(best, run.flops / sec / 1e9);
  }
  return { gflops: best, threads: first.threads, simd: first.simd };
}
