// Where a decoding step of the serving engine goes, kernel by kernel: the `small` config (random
// weights) with B requests running in serve's BatchEngine (continuous batching over a SlotCache),
// every backend call timed. Prints ms per step, the share of each kernel, and the time outside
// kernels (JS: tensors, sampling, bookkeeping). Not a benchmark: a tool for the serve ratio.
//   node --import tsx bench/profile_decode.ts [batch=16] [steps=64, at most 190] [dtype=f32]
import { backend, setBackend, type Backend } from '../src/backend/index.ts';
import type { GemmParams } from '../src/backend/backend.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { BatchEngine } from '../src/serve/engine.ts';
import { quantizeModel, type ModelDtype } from '../src/models/quantize.ts';

const batch = Number(process.argv[2] ?? 16);
const steps = Number(process.argv[3] ?? 64);
const dtype = (process.argv[4] ?? 'f32') as ModelDtype;

const stats = new Map<string, { ms: number; calls: number; flops: number }>();
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
        key = `gemm ${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'} ${p.m}×${p.n}×${p.k}${p.batch > 1 ? ` ×${p.batch}` : ''}`;
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

const model = new GPT(gptConfig('small', { dropout: 0 })).eval();
quantizeModel(model, dtype);
const engine = new BatchEngine(model, { maxBatch: batch });
engine.warmUp();
const submit = (i: number) => engine.submit({ id: String(i), prompt: Array.from({ length: 16 }, (_, k) => (i * 389 + k * 97 + 11) % 4096), maxTokens: 200, sampling: { temperature: 0 }, seed: i, eosIds: [] });
// Fill every slot, let the prefills pass, then time decode-only steps.
for (let i = 0; i < batch; i++) submit(i);
for (let i = 0; i < 4; i++) engine.step();
recording = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) engine.step();
const stepMs = (performance.now() - t0) / steps;
recording = false;

const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelMs = rows.reduce((s, [, v]) => s + v.ms, 0) / steps;
const out = [`small, ${batch} streams, ${dtype}: ${stepMs.toFixed(2)} ms/step, ${((batch / stepMs) * 1000).toFixed(0)} tok/s; kernels ${kernelMs.toFixed(2)} ms, outside kernels ${(stepMs - kernelMs).toFixed(2)} ms (${inner.name} ${inner.simd()}, ${inner.threads()} threads)`];
for (const [k, v] of rows) {
  const ms = v.ms / steps;
  const gf = v.flops ? `${(v.flops / (v.ms / 1000) / 1e9).toFixed(0).padStart(5)} GFLOP/s` : '';
  out.push(`${k.padEnd(36)} ${ms.toFixed(3).padStart(8)} ms ${((100 * ms) / stepMs).toFixed(1).padStart(5)}%  ${String(v.calls / steps).padStart(5)} calls  ${gf}`);
}
process.stderr.write(out.join('\n') + '\n');
