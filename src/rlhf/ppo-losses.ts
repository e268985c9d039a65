// PPO's pieces as pure functions over one batch of response tokens (InstructGPT step 3), each
// checked against hand-computed values in ppo-losses.test.ts:
//   tokenRewards  — the RM score at the response's last token minus β·(log π − log π_SFT) on every token
//   gae           — generalised advantage estimation (γ = 1, λ = 0.95 in InstructGPT's setting)
//   whiten        — advantages to zero mean, unit variance (unbiased, as TRL's masked_whiten)
//   policyLoss    — the clipped surrogate, mean over tokens of max(−A·ρ, −A·clip(ρ, 1±ε))
//   valueLoss     — the clipped value loss, ½·mean of max((V − R)², (clip(V, V_old ± ε) − R)²)
// The two losses are differentiable ops (log-probabilities and values in, a scalar out).
import { Tensor, record, check } from '../tensor/tensor.ts';

/** Per-token rewards of one response and the per-token KL estimate log π − log π_ref. */
export function tokenRewards(score: number, logprobs: ArrayLike<number>, refLogprobs: ArrayLike<number>, beta: number): { rewards: Float64Array; kl: Float64Array } {
  const n = logprobs.length;
  if (refLogprobs.length !== n) throw new RangeError(`tokenRewards: ${n} log-probabilities but ${refLogprobs.length} reference ones`);
  const rewards = new Float64Array(n), kl = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    kl[t] = logprobs[t] - refLogprobs[t];
    rewards[t] = -beta * kl[t];
  }
  if (n > 0) rewards[n - 1] += score;
  return { rewards, kl };
}

/** Advantages and returns of one response: δ_t = r_t + γ·V_{t+1} − V_t (V after the end = 0), A_t = δ_t + γλ·A_{t+1}. */
export function gae(rewards: ArrayLike<number>, values: ArrayLike<number>, gamma = 1, lambda = 0.95): { advantages: Float64Array; returns: Float64Array } {
  const n = rewards.length;
  if (values.length !== n) throw new RangeError(`gae: ${n} rewards but ${values.length} values`);
  const advantages = new Float64Array(n), returns = new Float64Array(n);
  let next = 0, nextValue = 0;
  for (let t = n - 1; t >= 0; t--) {
    const delta = rewards[t] + gamma * nextValue - values[t];
    next = delta + gamma * lambda * next;
    advantages[t] = next;
    returns[t] = next + values[t];
    nextValue = values[t];
  }
  return { advantages, returns };
}

/** (x − mean) / sqrt(unbiased variance + 1e-8). */
export function whiten(xs: ArrayLike<number>): Float64Array {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i] / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i] - mean) ** 2;
  v /= Math.max(1, n - 1);
  const s = 1 / Math.sqrt(v + 1e-8);
  return Float64Array.from(xs, (x) => (x - mean) * s);
}

export interface PolicyLoss { loss: Tensor; clipFraction: number; approxKl: number }

/** Clipped surrogate over N tokens: logprobs (N) under the current policy, old ones from the rollout. */
export function policyLoss(logprobs: Tensor, oldLogprobs: ArrayLike<number>, advantages: ArrayLike<number>, clip = 0.2): PolicyLoss {
  const n = logprobs.size;
  check(oldLogprobs.length === n && advantages.length === n, 'policyLoss', `need ${n} old log-probabilities and advantages`);
  const lp = logprobs.data;
  const grad = new Float64Array(n);
  let s = 0, clipped = 0, kl = 0;
  for (let i = 0; i < n; i++) {
    const ratio = Math.exp(lp[i] - oldLogprobs[i]);
    const a = advantages[i];
    const un = -a * ratio;
    const cl = -a * Math.min(Math.max(ratio, 1 - clip), 1 + clip);
    // The max picks the clipped term only when it is strictly larger; then the gradient is 0.
    if (cl > un) { s += cl; clipped++; } else { s += un; grad[i] = -a * ratio; }
    kl += 0.5 * (lp[i] - oldLogprobs[i]) ** 2;
  }
  const loss = Tensor.empty([]);
  loss.data[0] = s / n;
  loss.requiresGrad = record([logprobs], () => {
    if (!loss.grad) return;
    const g = logprobs.gradBuffer(), d = loss.grad[0] / n;
    for (let i = 0; i < n; i++) g[i] += d * grad[i]; // d(−A·e^{lp−old})/dlp = −A·ρ
  }, loss);
  return { loss, clipFraction: clipped / n, approxKl: kl / n };
}

export interface ValueLoss { loss: Tensor; clipFraction: number }

/** Clipped value loss over N tokens: values (N) now, oldValues from the rollout, returns from GAE. */
export function valueLoss(values: Tensor, oldValues: ArrayLike<number>, returns: ArrayLike<number>, clip = 0.2): ValueLoss {
  const n = values.size;
  check(oldValues.length === n && returns.length === n, 'valueLoss', `need ${n} old values and returns`);
  const v = values.data;
  const grad = new Float64Array(n);
  let s = 0, clipped = 0;
  for (let i = 0; i < n; i++) {
    const vc = Math.min(Math.max(v[i], oldValues[i] - clip), oldValues[i] + clip);
    const a = (v[i] - returns[i]) ** 2, b = (vc - returns[i]) ** 2;
    if (b > a) {
      s += b; clipped++;
      // Clipped at a bound: constant in v (zero gradient); inside the bounds vc = v.
      if (vc === v[i]) grad[i] = 2 * (v[i] - returns[i]);
    } else { s += a; grad[i] = 2 * (v[i] - returns[i]); }
  }
  const loss = Tensor.empty([]);
  loss.data[0] = (0.5 * s) / n;
  loss.requiresGrad = record([values], () => {
    if (!loss.grad) return;
    const g = values.gradBuffer(), d = (0.5 * loss.grad[0]) / n;
    for (let i = 0; i < n; i++) g[i] += d * grad[i];
  }, loss);
  return { loss, clipFraction: clipped / n };
}
