// Where a training step's time goes, kernel by kernel: wraps the backend so every call is timed,
// runs a few steps of a train_step config, and prints a table to stderr (milliseconds per step,
// share of the step, GFLOP/s for GEMMs). Not a benchmark (no reference, no JSON lines): a tool
// for deciding what to speed up next.
//   node --import tsx bench/profile_step.ts small [steps]
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { Trainer } from '../src/train/trainer.ts';
import { RandomWindows } from '../src/train/batches.ts';
import { backend, setBackend, type Backend } from '../src/backend/index.ts';
import type { GemmParams } from '../src/backend/backend.ts';
import { configs } from './train_step_worker.ts';

const name = process.argv[2] ?? 'small';
const steps = Number(process.argv[3] ?? 3);
const c = configs[name];
if (!c) throw new Error(`unknown config '${name}' (have: ${Object.keys(configs).join(', ')})`);

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

const cfg = gptConfig('tiny', { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, blockSize: c.blockSize, vocabSize: c.vocabSize, dropout: 0 });
const model = new GPT(cfg);
const tokens = new Int32Array(100_000);
for (let i = 0; i < tokens.length; i++) tokens[i] = (i * 2654435761) % c.vocabSize;
const data = new RandomWindows(tokens, c.batch, c.blockSize, 1);
const trainer = new Trainer(model, (b) => model.forward(b.ids, b.B, b.T, b.targets).loss!, { train: data }, { steps: 1000, warmupSteps: 1 });
for (let i = 0; i < 2; i++) trainer.runStep();
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
