// Where a decoding step of the serving engine goes, kernel by kernel: the `small` config (random
// weights) with B requests running in serve's BatchEngine (continuous batching over a SlotCache),
// every backend call timed. Prints ms per step, the share of each kernel, and the time outside
// kernels (JS: tensors, sampling, bookkeeping). Not a benchmark: a tool for the serve ratio.
//   node --import tsx bench/profile_decode.ts [batch=16] [steps=64, at most 190] [dtype=f32] [kv=f16]
// (kv: the KV cache's storage, f16 as gptkit serve's default, or f32)
import { timeKernels, kernelTable } from './timed-backend.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { BatchEngine } from '../src/serve/engine.ts';
import { DEFAULT_KV_CACHE, type KvDtype } from '../src/serve/slot-cache.ts';
import { quantizeModel, type ModelDtype } from '../src/models/quantize.ts';

const batch = Number(process.argv[2] ?? 16);
const steps = Number(process.argv[3] ?? 64);
const dtype = (process.argv[4] ?? 'f32') as ModelDtype;
const kv = (process.argv[5] ?? DEFAULT_KV_CACHE) as KvDtype;

const { stats, record, inner } = timeKernels();

const model = new GPT(gptConfig('small', { dropout: 0 })).eval();
quantizeModel(model, dtype);
const engine = new BatchEngine(model, { maxBatch: batch, kvDtype: kv });
engine.warmUp();
const submit = (i: number) => engine.submit({ id: String(i), prompt: Array.from({ length: 16 }, (_, k) => (i * 389 + k * 97 + 11) % 4096), maxTokens: 200, sampling: { temperature: 0 }, seed: i, eosIds: [] });
// Fill every slot, let the prefills pass, then time decode-only steps.
for (let i = 0; i < batch; i++) submit(i);
for (let i = 0; i < 4; i++) engine.step();
record(true);
const t0 = performance.now();
for (let i = 0; i < steps; i++) engine.step();
const stepMs = (performance.now() - t0) / steps;
record(false);

const kernelMs = [...stats.values()].reduce((s, v) => s + v.ms, 0) / steps;
const out = [`small, ${batch} streams, ${dtype}, KV cache ${kv}: ${stepMs.toFixed(2)} ms/step, ${((batch / stepMs) * 1000).toFixed(0)} tok/s; kernels ${kernelMs.toFixed(2)} ms, outside kernels ${(stepMs - kernelMs).toFixed(2)} ms (${inner.name} ${inner.simd()}, ${inner.threads()} threads)`, ...kernelTable(stats, steps, stepMs)];
process.stderr.write(out.join('\n') + '\n');
