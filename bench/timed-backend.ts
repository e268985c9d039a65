// For the profilers (profile_step.ts, profile_decode.ts): the backend wrapped so that, while
// recording, every kernel call is timed and counted by kind (GEMMs and quantized linears by shape,
// with their FLOPs), and the table they print.
import { backend, setBackend, type Backend } from '../src/backend/index.ts';
import type { GemmParams } from '../src/backend/backend.ts';

export interface KernelStats { ms: number; calls: number; flops: number }

/** Install the timing backend; turn recording on and off with the returned switch. */
export function timeKernels(): { stats: Map<string, KernelStats>; record(on: boolean): void; inner: Backend } {
  const stats = new Map<string, KernelStats>();
  let recording = false;
  const inner = backend();
  setBackend(new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || prop === 'name' || prop === 'threads') return v;
      return (...args: unknown[]) => {
        if (!recording) return v.apply(target, args);
        const t0 = performance.now();
        const r = v.apply(target, args);
        const ms = performance.now() - t0;
        let key = String(prop), flops = 0;
        if (prop === 'gemm') {
          const p = args[0] as GemmParams;
          key = `gemm ${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'} ${p.m}×${p.n}×${p.k}${p.batch > 1 ? ` ×${p.batch}` : ''}${p.beta ? ' +=' : ''}${p.precision === 'bf16' ? ' bf16' : ''}`;
          flops = 2 * p.m * p.n * p.k * p.batch;
        } else if (prop === 'qlinear') {
          key = `qlinear ${args[0]} ${args[1]}×${args[2]}×${args[3]}`;
          flops = 2 * (args[1] as number) * (args[2] as number) * (args[3] as number);
        }
        const s = stats.get(key) ?? { ms: 0, calls: 0, flops: 0 };
        s.ms += ms; s.calls++; s.flops += flops;
        stats.set(key, s);
        return r;
      };
    },
  }) as Backend);
  return { stats, record: (on) => { recording = on; }, inner };
}

/** One line a kernel kind: ms per step, share of the step, calls per step, GFLOP/s where counted. */
export function kernelTable(stats: Map<string, KernelStats>, steps: number, stepMs: number): string[] {
  return [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => {
    const ms = v.ms / steps;
    const gf = v.flops ? `${(v.flops / (v.ms / 1000) / 1e9).toFixed(0).padStart(5)} GFLOP/s` : '';
    return `${k.padEnd(36)} ${ms.toFixed(3).padStart(8)} ms ${((100 * ms) / stepMs).toFixed(1).padStart(5)}%  ${String(v.calls / steps).padStart(5)} calls  ${gf}`;
  });
}
