import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, scope } from '../tensor/tensor.ts';
import { rankingLoss, dpoLoss, sequenceLogprobs, groupSums, logSigmoid } from './losses.ts';

const close = (a: number, b: number, tol = 1e-6, msg = '') => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${msg} ${a} vs ${b}`);

/** Central finite differences of f at x (float64 math over a float32 tensor). */
function numericGrad(x: Float32Array, f: () => number, h = 1e-2): number[] {
  return Array.from(x, (_, i) => {
    const v = x[i];
    x[i] = v + h; const up = f();
    x[i] = v - h; const dn = f();
    x[i] = v;
    return (up - dn) / (2 * h);
  });
}

test('K-wise ranking loss equals the hand-computed value, and its gradient', () => {
  // Rewards 1, 0, −1 ranked best first: pairs (0,1) (0,2) (1,2) with margins 1, 2, 1.
  const r = new Tensor(Float32Array.from([1, 0, -1]), [3], true);
  const want = -(logSigmoid(1) + logSigmoid(2) + logSigmoid(1)) / 3;
  close(want, 0.2511504620264728, 1e-12);
  const { loss, correct, pairs } = scope(() => { const o = rankingLoss(r, [{ offset: 0, ranking: [0, 1, 2] }]); o.loss.backward(); return { ...o, loss: o.loss.item() }; });
  close(loss, want);
  assert.deepEqual([correct, pairs], [3, 3]);
  const num = numericGrad(r.data, () => rankingLoss(r, [{ offset: 0, ranking: [0, 1, 2] }]).loss.item());
  r.grad!.forEach((g, i) => close(g, num[i], 1e-3, `d/dr${i}`));
});

test('on K = 2 the K-wise loss is the pairwise loss −log σ(r_w − r_l); groups average', () => {
  const r = new Tensor(Float32Array.from([0.3, 1.7, -0.4, 2.0, 0.5]), [5], true);
  // Group A: responses 0,1 with 1 preferred; group B: responses 2,3,4 ranked 4 > 2 > 3.
  const groups = [{ offset: 0, ranking: [1, 0] }, { offset: 2, ranking: [2, 0, 1] }];
  const pairwise = -logSigmoid(1.7 - 0.3);
  const kwise = -(logSigmoid(0.5 - -0.4) + logSigmoid(0.5 - 2.0) + logSigmoid(-0.4 - 2.0)) / 3;
  close(rankingLoss(r, [groups[0]]).loss.item(), pairwise);
  close(rankingLoss(r, groups).loss.item(), (pairwise + kwise) / 2);
  scope(() => rankingLoss(r, groups).loss.backward());
  const num = numericGrad(r.data, () => rankingLoss(r, groups).loss.item());
  r.grad!.forEach((g, i) => close(g, num[i], 1e-3, `d/dr${i}`));
});

test('DPO loss: −log σ(β·(Δchosen − Δrejected)) per pair, averaged; gradient by finite differences', () => {
  const pc = new Tensor(Float32Array.from([-5.0, -3.0]), [2], true);
  const pr = new Tensor(Float32Array.from([-6.0, -2.0]), [2], true);
  const rc = [-5.5, -3.2], rr = [-5.8, -2.5];
  const beta = 0.1;
  const z = [beta * ((-5.0 + 5.5) - (-6.0 + 5.8)), beta * ((-3.0 + 3.2) - (-2.0 + 2.5))];
  const want = -(logSigmoid(z[0]) + logSigmoid(z[1])) / 2;
  const o = scope(() => { const x = dpoLoss(pc, pr, rc, rr, beta); x.loss.backward(); return { loss: x.loss.item(), c: [...x.chosenRewards], r: [...x.rejectedRewards] }; });
  close(o.loss, want);
  close(o.c[0], 0.05); close(o.r[1], 0.05);
  const f = () => dpoLoss(pc, pr, rc, rr, beta).loss.item();
  pc.grad!.forEach((g, i) => close(g, numericGrad(pc.data, f)[i], 1e-3));
  pr.grad!.forEach((g, i) => close(g, numericGrad(pr.data, f)[i], 1e-3));
  // Policy = reference: every pair's loss is log 2.
  close(dpoLoss(new Tensor(Float32Array.from(rc), [2]), new Tensor(Float32Array.from(rr), [2]), rc, rr, beta).loss.item(), Math.LN2);
});

test('sequence log-probabilities sum the unmasked tokens of each sequence', () => {
  // Two sequences of two positions over a vocabulary of 3; one position of each is masked.
  const logits = new Tensor(Float32Array.from([0, 1, 2, 5, 5, 5, 1, 0, 0, 3, 1, 2]), [2, 2, 3], true);
  const lp = (row: number[], t: number) => row[t] - Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
  const got = scope(() => { const s = sequenceLogprobs(logits, Int32Array.from([2, -100, -100, 0]), 2); s.backward(Float32Array.from([1, 1])); return [...s.data]; });
  close(got[0], lp([0, 1, 2], 2));
  close(got[1], lp([3, 1, 2], 0));
  assert.deepEqual([...logits.grad!.slice(3, 6)], [0, 0, 0], 'masked positions get no gradient');
  assert.deepEqual([...groupSums(new Tensor(Float32Array.from([1, 2, 3, 4]), [4]), 2, 2).data], [6, 14]);
});
