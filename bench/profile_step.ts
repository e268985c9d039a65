// Where a training step's time goes, kernel by kernel: wraps the backend so every call is timed,
// runs a few steps of a train_step config, and prints a table to stderr (milliseconds per step,
// share of the step, GFLOP/s for GEMMs). Not a benchmark (no reference, no JSON lines): a tool
// for deciding what to speed up next.
//   node --import tsx bench/profile_step.ts small [steps]
import { backend, setBackend, type Backend } from '../src/backend/index.ts';
import type { GemmParams } from '../src/backend/backend.ts';
import { benchTrainer } from './train_step_worker.ts';

const name = process.argv[2] ?? 'small';
const steps = Number(process.argv[3] ?? 3);

const stats = new Map<string, { ms: number; calls: number; flops: number }>();
let recording = false;
const inner = backend();
const timed = new Proxy(inner, {
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
        key = `gemm ${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'} ${p.m}×${p.n}×${p.k}${p.batch > 1 ? ` ×${p.batch}` : ''}${p.beta ? ' +=' : ''}`;
        flops = 2 * p.m * p.n * p.k * p.batch;
      }
      const s = stats.get(key) ?? { ms: 0, calls: 0, flops: 0 };
      s.ms += ms; s.calls++; s.flops += flops;
      stats.set(key, s);
      return r;
    };
  },
}) as Backend;
setBackend(timed);

const { c, trainer } = benchTrainer(name); // built on the timed backend, which records nothing yet
recording = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainer.runStep();
const stepMs = (performance.now() - t0) / steps;
recording = false;

const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelMs = rows.reduce((s, [, v]) => s + v.ms, 0) / steps;
const out: string[] = [`${name}: ${stepMs.toFixed(1)} ms/step, ${((c.batch * c.blockSize) / stepMs * 1000).toFixed(0)} tok/s, kernels ${kernelMs.toFixed(1)} ms, outside kernels ${(stepMs - kernelMs).toFixed(1)} ms (${inner.name}, ${inner.threads()} threads)`];
for (const [k, v] of rows) {
  const ms = v.ms / steps;
  const gf = v.flops ? `${(v.flops / (v.ms / 1000) / 1e9).toFixed(0).padStart(5)} GFLOP/s` : '';
  out.push(`${k.padEnd(34)} ${ms.toFixed(2).padStart(8)} ms ${((100 * ms) / stepMs).toFixed(1).padStart(5)}%  ${String(v.calls / steps).padStart(4)} calls  ${gf}`);
}
process.stderr.write(out.join('\n') + '\n');
