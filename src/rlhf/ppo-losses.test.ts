import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, scope } from '../tensor/tensor.ts';
import { tokenRewards, gae, whiten, policyLoss, valueLoss } from './ppo-losses.ts';

const close = (a: number, b: number, tol = 1e-6, msg = '') => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);
const closeAll = (a: ArrayLike<number>, b: number[], tol = 1e-9) => b.forEach((v, i) => close(a[i], v, tol, `[${i}]`));

test('the per-token KL penalty is 0 when policy = reference; the score lands on the last token', () => {
  const lp = [-1.2, -0.3, -2.5];
  const same = tokenRewards(3, lp, lp, 0.02);
  closeAll(same.kl, [0, 0, 0]);
  closeAll(same.rewards, [0, 0, 3]);
  const diff = tokenRewards(3, lp, [-1.0, -0.5, -2.5], 0.02);
  closeAll(diff.kl, [-0.2, 0.2, 0], 1e-12);
  closeAll(diff.rewards, [0.004, -0.004, 3], 1e-12);
});

test('GAE against hand-computed advantages and returns', () => {
  // δ2 = 1 − 0.4 = 0.6; δ1 = 0.4 − 0.2 = 0.2; δ0 = 0.2 − 0.5 = −0.3; λ = 0.5.
  const a = gae([0, 0, 1], [0.5, 0.2, 0.4], 1, 0.5);
  closeAll(a.advantages, [-0.05, 0.5, 0.6], 1e-12);
  closeAll(a.returns, [0.45, 0.7, 1.0], 1e-12);
  // γ = λ = 1: the advantage is the return-to-go minus the value.
  const mc = gae([0, 0, 1], [0.5, 0.2, 0.4], 1, 1);
  closeAll(mc.advantages, [0.5, 0.8, 0.6], 1e-12);
  closeAll(mc.returns, [1, 1, 1], 1e-12);
  closeAll(whiten([1, 2, 3]), [-1, 0, 1], 1e-7);
});

test('clipped policy loss against hand-computed values and gradient', () => {
  // ρ0 = e^0.1 inside the clip range, A0 = 1; ρ1 = e^−0.5 below 0.8 with A1 = −2, so the clipped term (1.6) wins.
  const lp = new Tensor(Float32Array.from([-1, -2]), [2], true);
  const r = scope(() => { const o = policyLoss(lp, [-1.1, -1.5], [1, -2], 0.2); o.loss.backward(); return { loss: o.loss.item(), clip: o.clipFraction }; });
  close(r.loss, (1.6 - Math.exp(0.1)) / 2, 1e-6);
  close(r.clip, 0.5);
  close(lp.grad![0], -Math.exp(0.1) / 2, 1e-6);
  close(lp.grad![1], 0, 0);
  // On-policy (ρ = 1) the loss is −mean(A).
  close(policyLoss(new Tensor(Float32Array.from([-1, -2]), [2]), [-1, -2], [0.5, 1.5]).loss.item(), -1);
});

test('clipped value loss against hand-computed values and gradient', () => {
  // v0 = 0.5 within old ± 0.2: plain (0.5 − 1)²; v1 = 0.9 clipped to 0.7 is farther from R = 1: (0.7 − 1)² wins, no gradient.
  const v = new Tensor(Float32Array.from([0.5, 0.9]), [2], true);
  const r = scope(() => { const o = valueLoss(v, [0.4, 0.5], [1, 1], 0.2); o.loss.backward(); return { loss: o.loss.item(), clip: o.clipFraction }; });
  close(r.loss, 0.5 * (0.25 + 0.09) / 2, 1e-6);
  close(r.clip, 0.5);
  close(v.grad![0], 0.25 * 2 * (0.5 - 1), 1e-6);
  close(v.grad![1], 0, 0);
});
