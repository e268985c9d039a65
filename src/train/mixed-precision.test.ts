// bf16 mixed precision (tensor/autocast.ts): what the ops compute under autocast, and a toy model
// trained in bf16 ending where float32 training ends — on the hardware path (AVX512_BF16, where this
// CPU has it), the emulated native path and the TypeScript kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from '../models/gpt.ts';
import { Trainer } from './trainer.ts';
import { RandomWindows } from './batches.ts';
import { Tensor } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { autocast, autocastPrecision } from '../tensor/autocast.ts';
import { backend, setBackend } from '../backend/index.ts';
import { tsBackend } from '../backend/ts/index.ts';
import { loadAddon } from '../backend/native/index.ts';
import { roundToBf16 } from '../backend/ts/gemm.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';

function randomTensor(shape: number[], rng: Rng): Tensor {
  const t = Tensor.empty(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.next() * 2 - 1;
  return t;
}

test('autocast sets the precision for its callback only, also when it throws', () => {
  assert.equal(autocastPrecision(), 'f32');
  assert.equal(autocast('bf16', () => autocastPrecision()), 'bf16');
  assert.throws(() => autocast('bf16', () => { throw new Error('boom'); }), /boom/);
  assert.equal(autocastPrecision(), 'f32');
});

test('linear under bf16: rounded operands, float32 sums, a bf16 output; backward keeps bf16 outside autocast', () => {
  const rng = new Rng(5);
  const x = randomTensor([6, 40], rng), w = randomTensor([24, 40], rng), b = randomTensor([24], rng);
  x.requiresGrad = w.requiresGrad = true;
  const y = autocast('bf16', () => op.linear(x, w, b));
  const r = (v: number) => roundToBf16(v);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 24; j++) {
      let s = 0;
      for (let p = 0; p < 40; p++) s += r(x.data[i * 40 + p]) * r(w.data[j * 40 + p]);
      const want = s + b.data[j], got = y.data[i * 24 + j];
      assert.equal(got, r(got), 'the output is a bf16 value');
      assert.ok(Math.abs(got - want) <= 2 ** -8 * Math.abs(want) + 1e-6, `y[${i},${j}] = ${got}, want ≈ ${want}`);
    }
  }
  // Backward runs after autocast has ended, and still multiplies in bf16: dx = dy·W with dy, W rounded.
  const dy = randomTensor([6, 24], rng);
  op.sum(op.mul(y, dy)).backward();
  for (let i = 0; i < 6; i++) {
    for (let p = 0; p < 40; p++) {
      let s = 0;
      for (let j = 0; j < 24; j++) s += r(dy.data[i * 24 + j]) * r(w.data[j * 40 + p]);
      assert.ok(Math.abs(x.grad![i * 40 + p] - s) <= 1e-5 * 24, `dx[${i},${p}] = ${x.grad![i * 40 + p]}, want ${s}`);
    }
  }
});

test('the trainer refuses an unknown precision', () => {
  const m = new GPT(gptConfig('nano', { vocabSize: 16, blockSize: 8 }), 1);
  const data = { train: new RandomWindows(new Int32Array(100), 2, 8, 1) };
  assert.throws(() => new Trainer(m, (b) => m.forward(b.ids, b.B, b.T, b.targets).loss!, data, { precision: 'fp8' as 'f32' }),
    (e: unknown) => e instanceof ConfigError && /precision must be one of f32, bf16, got 'fp8'/.test((e as Error).message));
});

// A stream with structure to learn (a noisy repeating walk), a 4-layer model, 120 steps.
const tokens = (() => {
  const rng = new Rng(3);
  const t = new Int32Array(20000);
  for (let i = 1; i < t.length; i++) t[i] = rng.next() < 0.1 ? Math.floor(rng.next() * 64) : (t[i - 1] * 5 + 3) % 64;
  return t;
})();
const cfg = gptConfig('nano', { vocabSize: 64, blockSize: 32, nLayer: 4, nHead: 2, nEmbd: 64, dropout: 0 });
const STEPS = 120;

/** Mean validation loss after STEPS steps of AdamW on the same batches, in one precision. */
function trainToy(precision: 'f32' | 'bf16'): { first: number; final: number } {
  const m = new GPT(cfg, 7);
  const train = new RandomWindows(tokens.subarray(0, 16000), 8, 32, 11), val = new RandomWindows(tokens.subarray(16000), 16, 32, 12);
  const t = new Trainer(m, (b) => m.forward(b.ids, b.B, b.T, b.targets).loss!, { train, val },
    { steps: STEPS, warmupSteps: 10, lr: 3e-3, minLr: 3e-4, evalBatches: 4, precision });
  const first = t.runStep().loss;
  for (let s = 1; s < STEPS; s++) t.runStep();
  return { first, final: t.evaluate() };
}

// The stated tolerance: bf16's final validation loss within 2% of float32's (bf16 keeps 8 bits of
// mantissa in the products; master weights, the optimizer and the loss stay float32).
const TOLERANCE = 0.02;

test('a toy model trained in bf16 ends within 2% of float32 training: hardware, emulated and TypeScript paths', () => {
  const addon = loadAddon();
  assert.ok(addon, 'the native addon must load');
  const f32 = trainToy('f32');
  assert.ok(f32.final < 0.6 * f32.first, `float32 training learns (${f32.first.toFixed(3)} → ${f32.final.toFixed(3)})`);
  const paths: string[] = [];
  const runs: Record<string, number> = {};
  const check = (name: string) => {
    const r = trainToy('bf16');
    runs[name] = r.final;
    paths.push(name);
    const rel = Math.abs(r.final - f32.final) / f32.final;
    console.log(`# ${name}: bf16 final validation loss ${r.final.toFixed(4)} vs float32 ${f32.final.toFixed(4)} (${(100 * rel).toFixed(2)}%)`);
    assert.ok(rel <= TOLERANCE, `${name}: bf16 ends at ${r.final}, float32 at ${f32.final}: ${(100 * rel).toFixed(2)}% apart (tolerance 2%)`);
  };
  try {
    if (addon.bf16Supported()) {
      assert.equal(addon.bf16Native(true), true);
      assert.equal(backend().bf16Path(), 'avx512_bf16');
      check('avx512_bf16');
    }
    addon.bf16Native(false);
    assert.equal(backend().bf16Path(), 'emulated');
    check('native emulated');
  } finally {
    addon.bf16Native('auto');
  }
  // bf16 is not float32 under another name: the losses differ.
  assert.notEqual(runs['native emulated'], f32.final);
  const saved = backend();
  setBackend(tsBackend);
  try {
    // The reference kernels are slow: a shorter check that they round as the native ones do.
    const m = new GPT(cfg, 7);
    const batch = new RandomWindows(tokens, 2, 32, 1).next();
    const ts = autocast('bf16', () => m.forward(batch.ids, batch.B, batch.T, batch.targets).loss!.item());
    setBackend(saved);
    const native = autocast('bf16', () => m.forward(batch.ids, batch.B, batch.T, batch.targets).loss!.item());
    const f32loss = m.forward(batch.ids, batch.B, batch.T, batch.targets).loss!.item();
    assert.ok(Math.abs(ts - native) < 1e-3, `ts bf16 loss ${ts} vs native ${native}`);
    assert.notEqual(ts, f32loss);
  } finally {
    setBackend(saved);
  }
});
