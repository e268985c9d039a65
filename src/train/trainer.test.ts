import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from '../models/gpt.ts';
import { Trainer, DivergedError } from './trainer.ts';
import { RandomWindows, type Batch, type BatchSource } from './batches.ts';
import * as op from '../tensor/ops.ts';

const tokens = Int32Array.from({ length: 5000 }, (_, i) => (i * 31 + (i >> 3)) % 50);
const cfg = gptConfig('nano', { vocabSize: 50, blockSize: 8 });

/** Serves one fixed batch, or its two halves alternately. */
class Fixed implements BatchSource {
  private i = 0;
  constructor(private readonly batches: Batch[]) {}
  next(): Batch { return this.batches[this.i++ % this.batches.length]; }
  state() { return this.i; }
  restore(s: unknown) { this.i = Number(s); }
}

test('gradient accumulation over two half-batches equals one full batch', () => {
  const full = new RandomWindows(tokens, 4, 8, 3).next();
  const half = (h: number): Batch => ({ ids: full.ids.slice(h * 16, h * 16 + 16), targets: full.targets.slice(h * 16, h * 16 + 16), B: 2, T: 8 });
  const run = (data: BatchSource, gradAccum: number) => {
    const m = new GPT(cfg, 1);
    const t = new Trainer(m, (b) => m.forward(b.ids, b.B, b.T, b.targets).loss!, { train: data }, { steps: 3, gradAccum, warmupSteps: 1, lr: 1e-2 });
    const ev = [t.runStep()];
    const grads = m.parameters().map((p) => p.grad!.map((g) => g / gradAccum)); // what the update used
    ev.push(t.runStep());
    return { ev, grads };
  };
  const a = run(new Fixed([full]), 1);
  const b = run(new Fixed([half(0), half(1)]), 2);
  for (let s = 0; s < 2; s++) {
    assert.ok(Math.abs(a.ev[s].loss - b.ev[s].loss) < 1e-5, `loss ${a.ev[s].loss} vs ${b.ev[s].loss}`);
    assert.ok(Math.abs(a.ev[s].gradNorm - b.ev[s].gradNorm) < 1e-4 * a.ev[s].gradNorm);
  }
  // (Parameters are not compared: Adam's normalised step turns float noise in near-zero gradients
  // into differences of up to lr, so the gradients are the meaningful check.)
  a.grads.forEach((g, i) => {
    const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    g.forEach((v, j) => assert.ok(Math.abs(v - b.grads[i][j]) <= 1e-5 * scale + 1e-9, `param ${i}[${j}]: ${v} vs ${b.grads[i][j]}`));
  });
});

test('a NaN loss stops training before the update and names the step', () => {
  const m = new GPT(cfg, 1);
  let calls = 0;
  const t = new Trainer(m, (b) => {
    const loss = m.forward(b.ids, b.B, b.T, b.targets).loss!;
    return ++calls === 3 ? op.scale(loss, NaN) : loss;
  }, { train: new RandomWindows(tokens, 2, 8, 1) }, { steps: 10, warmupSteps: 1 });
  t.runStep();
  t.runStep();
  const before = m.parameters().map((p) => p.data.slice());
  assert.throws(() => t.runStep(), (e: unknown) => e instanceof DivergedError && /training diverged at step 3: the loss \(NaN\) is not finite/.test((e as Error).message));
  m.parameters().forEach((p, i) => assert.deepEqual(p.data, before[i], 'parameters untouched'));
  assert.equal(t.step, 2);
});

test('clipping bounds the update; evaluation restores the validation position', () => {
  const m = new GPT(cfg, 1);
  const val = new RandomWindows(tokens, 2, 8, 9);
  const t = new Trainer(m, (b) => m.forward(b.ids, b.B, b.T, b.targets).loss!, { train: new RandomWindows(tokens, 2, 8, 1), val }, { steps: 10, warmupSteps: 1, gradClip: 1e-3, lr: 1e-2 });
  const ev = t.runStep();
  assert.ok(ev.gradNorm > 1e-3, 'the raw norm is reported');
  assert.equal(t.evaluate(2), t.evaluate(2), 'every evaluation sees the same batches');
  assert.throws(() => new Trainer(m, () => op.sum(m.parameters()[0]), { train: val }, { stepz: 3 } as never), /unknown training option 'stepz'/);
});
