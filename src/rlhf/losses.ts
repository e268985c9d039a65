// The preference losses as differentiable ops, each forward beside its hand-written backward:
//   sequenceLogprobs — Σ log p(target) over the unmasked tokens of each sequence (DPO, PPO-ref)
//   rankingLoss      — InstructGPT's K-wise reward-model loss, all C(K,2) pairs of a prompt together
//   dpoLoss          — Rafailov et al.'s DPO loss against a frozen reference
// They are small (one value per sequence), so plain loops suffice.
import { Tensor, record, check, shapeStr } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import type { I32 } from '../backend/backend.ts';
import { rankingPairs } from './records.ts';

/** log σ(x), stable for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Sums of each consecutive group of T values of x (N·T) → (N), times alpha. */
export function groupSums(x: Tensor, N: number, alpha = 1): Tensor {
  check(x.size % N === 0, 'groupSums', () => `${shapeStr(x.shape)} does not split into ${N} groups`);
  const T = x.size / N;
  const out = Tensor.empty([N]);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += x.data[n * T + t];
    out.data[n] = alpha * s;
  }
  out.requiresGrad = record([x], () => {
    if (!out.grad) return;
    const g = x.gradBuffer();
    for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) g[n * T + t] += alpha * out.grad[n];
  }, out);
  return out;
}

/**
 * log π(sequence) per sequence: logits (N, T, V) of a causal LM, targets (N·T) holding the next
 * token where it counts and −100 elsewhere (the prompt, padding) → (N) sums of log-probabilities.
 */
export function sequenceLogprobs(logits: Tensor, targets: I32, N: number): Tensor {
  const nll = op.crossEntropy(logits, targets, { reduction: 'none' }); // (N, T), 0 where ignored
  return groupSums(nll, N, -1);
}

/**
 * The reward model's loss over groups of responses: for each group (a prompt's K responses at
 * rewards[offset … offset+K−1], ranked best first), −1/C(K,2) · Σ over its pairs log σ(r_w − r_l);
 * the mean over groups. Each response was forwarded once and every pair of a prompt is in one
 * batch element, as InstructGPT trained it. Also returns how many pairs were ordered right.
 */
export function rankingLoss(rewards: Tensor, groups: readonly { offset: number; ranking: readonly number[] }[]): { loss: Tensor; correct: number; pairs: number } {
  check(groups.length > 0, 'rankingLoss', 'no groups');
  const r = rewards.data;
  const out = Tensor.empty([]);
  let total = 0, correct = 0, pairs = 0;
  const plan = groups.map((g) => {
    const ps = rankingPairs(g.ranking).map(([w, l]) => [g.offset + w, g.offset + l] as const);
    for (const [, i] of ps) check(i < r.length, 'rankingLoss', () => `response ${i} is outside rewards ${shapeStr(rewards.shape)}`);
    return ps;
  });
  for (const ps of plan) {
    let s = 0;
    for (const [w, l] of ps) {
      s += logSigmoid(r[w] - r[l]);
      if (r[w] > r[l]) correct++;
    }
    total += -s / ps.length;
    pairs += ps.length;
  }
  out.data[0] = total / groups.length;
  out.requiresGrad = record([rewards], () => {
    if (!out.grad) return;
    const g = rewards.gradBuffer();
    const d = out.grad[0] / groups.length;
    for (const ps of plan) {
      // d/dr_w of −log σ(r_w − r_l) = −σ(r_l − r_w); and the opposite for r_l.
      for (const [w, l] of ps) {
        const q = sigmoid(r[l] - r[w]) / ps.length;
        g[w] -= d * q;
        g[l] += d * q;
      }
    }
  }, out);
  return { loss: out, correct, pairs };
}

export interface DpoOutput {
  loss: Tensor;
  /** β·(log π − log π_ref) of chosen and rejected answers, per pair (DPO's implicit rewards). */
  chosenRewards: Float32Array;
  rejectedRewards: Float32Array;
}

/**
 * DPO: mean over pairs of −log σ(β·[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))]).
 * policyChosen/policyRejected (P) are differentiable; the reference's are constants.
 */
export function dpoLoss(policyChosen: Tensor, policyRejected: Tensor, refChosen: ArrayLike<number>, refRejected: ArrayLike<number>, beta: number): DpoOutput {
  const P = policyChosen.size;
  check(policyRejected.size === P && refChosen.length === P && refRejected.length === P, 'dpoLoss', 'chosen, rejected and reference log-probabilities must have one value per pair');
  const chosenRewards = new Float32Array(P), rejectedRewards = new Float32Array(P);
  const z = new Float64Array(P);
  let s = 0;
  for (let i = 0; i < P; i++) {
    chosenRewards[i] = beta * (policyChosen.data[i] - refChosen[i]);
    rejectedRewards[i] = beta * (policyRejected.data[i] - refRejected[i]);
    z[i] = beta * ((policyChosen.data[i] - refChosen[i]) - (policyRejected.data[i] - refRejected[i]));
    s += -logSigmoid(z[i]);
  }
  const loss = Tensor.empty([]);
  loss.data[0] = s / P;
  loss.requiresGrad = record([policyChosen, policyRejected], () => {
    if (!loss.grad) return;
    const d = loss.grad[0] / P;
    const gc = policyChosen.requiresGrad ? policyChosen.gradBuffer() : null;
    const gr = policyRejected.requiresGrad ? policyRejected.gradBuffer() : null;
    for (let i = 0; i < P; i++) {
      const q = -beta * sigmoid(-z[i]) * d; // d(−log σ(z))/dz = −σ(−z)
      if (gc) gc[i] += q;
      if (gr) gr[i] -= q;
    }
  }, loss);
  return { loss, chosenRewards, rejectedRewards };
}
