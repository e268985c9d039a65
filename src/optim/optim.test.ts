import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, setBackend, backend } from '../backend/index.ts';
import { Tensor } from '../tensor/tensor.ts';
import { AdamW, decayGroups, gradNorm, clipFactor } from './adamw.ts';
import { warmupCosine, warmupLinear, noamLr } from './schedule.ts';

/** PyTorch's AdamW, one scalar at a time, in float64. */
function refAdamW(p: number, grads: number[], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number {
  let m = 0, v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    p -= lr * wd * p;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
  });
  return p;
}

const original = backend();
for (const be of availableBackends()) {
  test(`AdamW matches PyTorch's update over 3 steps, per group (${be.name})`, () => {
    setBackend(be);
    try {
      const w = Tensor.parameter(Float32Array.from([0.5, -1.5, 2]), [3]);
      const b = Tensor.parameter(Float32Array.from([0.25]), [1]);
      const opt = new AdamW([{ params: [w], weightDecay: 0.1 }, { params: [b], weightDecay: 0 }], { lr: 0.01 });
      const gw = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.2, 0.2]];
      const gb = [[1], [-2], [0.5]];
      for (let s = 0; s < 3; s++) {
        w.gradBuffer().set(gw[s].map((g) => g * 2)); // gradScale 0.5 undoes the ×2
        b.gradBuffer().set(gb[s].map((g) => g * 2));
        opt.step(0.5);
      }
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(w.data[i] - refAdamW([0.5, -1.5, 2][i], gw.map((g) => g[i]), 0.01, 0.1)) < 1e-6);
      assert.ok(Math.abs(b.data[0] - refAdamW(0.25, gb.map((g) => g[0]), 0.01, 0)) < 1e-6);
      // State round-trips.
      const st = opt.state();
      const opt2 = new AdamW([{ params: [w], weightDecay: 0.1 }, { params: [b], weightDecay: 0 }], { lr: 0.01 });
      opt2.loadState({ step: st.step, m: st.m.map((x) => x.slice()), v: st.v.map((x) => x.slice()) });
      assert.equal(opt2.stepCount, 3);
    } finally {
      setBackend(original);
    }
  });
}

test('decayGroups keeps biases, LayerNorm and embeddings out of weight decay', () => {
  const mk = (shape: number[]) => Tensor.parameter(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const named: [string, Tensor][] = [
    ['transformer.wte.weight', mk([10, 4])],
    ['transformer.h.0.attn.c_attn.weight', mk([12, 4])],
    ['transformer.h.0.attn.c_attn.bias', mk([12])],
    ['transformer.h.0.ln_1.weight', mk([4])],
  ];
  const [decay, noDecay] = decayGroups(named, 0.1);
  assert.deepEqual(decay.params, [named[1][1]]);
  assert.equal(noDecay.params.length, 3);
  assert.equal(decayGroups(named, 0.1, true)[0].params.length, 2);
});

test('gradient norm and clipping factor', () => {
  const a = Tensor.parameter(new Float32Array(2), [2]);
  a.gradBuffer().set([3, 4]);
  assert.ok(Math.abs(gradNorm([a]) - 5) < 1e-6);
  assert.ok(Math.abs(gradNorm([a], 0.5) - 2.5) < 1e-6);
  assert.ok(Math.abs(clipFactor(5, 1) - 0.2) < 1e-6);
  assert.equal(clipFactor(0.5, 1), 1);
});

test('schedules', () => {
  const s = { maxLr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
  assert.equal(warmupCosine(0, s), 0.1);
  assert.equal(warmupCosine(9, s), 1);
  assert.ok(Math.abs(warmupCosine(60, s) - 0.55) < 1e-12);
  assert.equal(warmupCosine(110, s), 0.1);
  assert.equal(warmupLinear(4, 1, 5, 10), 1);
  assert.equal(warmupLinear(10, 1, 5, 10), 0);
  // Peak of the Transformer schedule is at the warmup step.
  assert.ok(noamLr(3999, 512, 4000) > noamLr(3000, 512, 4000) && noamLr(3999, 512, 4000) > noamLr(8000, 512, 4000));
});
