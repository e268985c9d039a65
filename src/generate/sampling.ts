// Choosing the next token from a row of logits.
//
// Contract:
// - Greedy (or temperature 0) picks the argmax; ties go to the lowest token id (as torch.argmax).
// - Otherwise the logits are processed in the order Hugging Face's generate() applies them:
//   temperature → top-k → top-p (nucleus) → min-p, then one token is drawn with the caller's
//   seeded Rng (exactly one rng.next() per sampled token, so same seed → same tokens).
//   * top-k keeps every token whose logit is ≥ the k-th largest (ties at the boundary are kept,
//     as HF's TopKLogitsWarper does).
//   * top-p keeps the smallest set of most likely tokens whose probability sums to ≥ p; at least
//     one token; among tokens of equal probability at the boundary, lower ids are kept first.
//   * min-p keeps tokens whose probability is ≥ min_p × the top token's probability.
// - Each call is O(V): top-k and top-p use partial selection (quickselect-style partitioning),
//   never a full sort of the vocabulary. Scratch buffers live in the Sampler and are reused.
// - The result carries `logprob`, the chosen token's log-probability under the model's raw
//   distribution (log-softmax of the unprocessed logits: what scoring and RLHF need), and
//   `processedLogprob`, its log-probability under the distribution actually sampled from.
// Probabilities are computed in float64 from (logit − max) / T, so a tiny temperature cannot
// overflow; -Infinity logits (masked tokens) are allowed, NaN and +Infinity are errors.
import { ConfigError, ShapeError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';

export interface SamplingOptions {
  /** Pick the argmax (same as temperature 0). Default false. */
  greedy?: boolean;
  /** Softmax temperature, ≥ 0 (0 = greedy). Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). Default 0. */
  topK?: number;
  /** Nucleus mass in (0, 1] (1 = off). Default 1. */
  topP?: number;
  /** Keep tokens with probability ≥ minP × the top probability, in [0, 1] (0 = off). Default 0. */
  minP?: number;
}

export interface SampledToken {
  token: number;
  /** log p(token) under the raw model distribution (log-softmax of the logits). */
  logprob: number;
  /** log p(token) under the processed distribution it was drawn from (0 for greedy). */
  processedLogprob: number;
}

type ResolvedOptions = Required<SamplingOptions>;

function resolveOptions(o: SamplingOptions): ResolvedOptions {
  const r: ResolvedOptions = { greedy: false, temperature: 1, topK: 0, topP: 1, minP: 0, ...o };
  if (typeof r.greedy !== 'boolean') throw new ConfigError(`sampling greedy must be true or false, found ${JSON.stringify(r.greedy)}`);
  if (!(Number.isFinite(r.temperature) && r.temperature >= 0)) throw new ConfigError(`sampling temperature must be a finite number ≥ 0, found ${r.temperature}`);
  if (!(Number.isSafeInteger(r.topK) && r.topK >= 0)) throw new ConfigError(`sampling topK must be an integer ≥ 0 (0 = off), found ${r.topK}`);
  if (!(r.topP > 0 && r.topP <= 1)) throw new ConfigError(`sampling topP must be in (0, 1] (1 = off), found ${r.topP}`);
  if (!(r.minP >= 0 && r.minP <= 1)) throw new ConfigError(`sampling minP must be in [0, 1] (0 = off), found ${r.minP}`);
  return r;
}

/** Index of the largest logit; the lowest index among equals. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Largest logit, after checking there is no NaN/+Infinity and at least one finite value. */
function checkedMax(logits: Float32Array): number {
  if (logits.length === 0) throw new ShapeError('sampling: logits are empty');
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (Number.isNaN(x) || x === Infinity) throw new ShapeError(`sampling: logit ${i} is ${x}; logits must be finite or -Infinity`);
    if (x > max) max = x;
  }
  if (max === -Infinity) throw new ShapeError('sampling: every logit is -Infinity; there is no token to choose');
  return max;
}

/** log Σ exp(logits), stable. */
export function logSumExp(logits: Float32Array): number {
  return logSumExpFrom(logits, checkedMax(logits));
}

function logSumExpFrom(logits: Float32Array, max: number): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/** log-softmax of `logits` at `token`: the model's log-probability of that token. */
export function tokenLogprob(logits: Float32Array, token: number): number {
  if (!(Number.isInteger(token) && token >= 0 && token < logits.length)) {
    throw new ShapeError(`tokenLogprob: token ${token} is outside the vocabulary [0, ${logits.length})`);
  }
  return logits[token] - logSumExp(logits);
}

/** The k-th largest value (k ≥ 1) of a[0..n), rearranging a. Expected O(n). */
function kthLargest(a: Float32Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = median3(a[lo], a[(lo + hi) >>> 1], a[hi]);
    // Three-way partition, descending: [lo, lt) > pivot, [lt, gt] = pivot, (gt, hi] < pivot.
    let lt = lo, i = lo, gt = hi;
    while (i <= gt) {
      const x = a[i];
      if (x > pivot) { a[i] = a[lt]; a[lt] = x; lt++; i++; }
      else if (x < pivot) { a[i] = a[gt]; a[gt] = x; gt--; }
      else i++;
    }
    if (target < lt) hi = lt - 1;
    else if (target > gt) lo = gt + 1;
    else return pivot;
  }
  return a[lo];
}

function median3(a: number, b: number, c: number): number {
  if (a > b) [a, b] = [b, a];
  if (b > c) b = c;
  return a > b ? a : b;
}

/** Reusable sampler: validated options plus scratch buffers sized to the vocabulary. */
export class Sampler {
  readonly options: Readonly<ResolvedOptions>;
  private ids = new Int32Array(0);      // candidate token ids
  private weights = new Float64Array(0); // their unnormalised probabilities exp((l − max)/T)
  private select = new Float32Array(0);  // scratch for top-k selection

  constructor(options: SamplingOptions = {}) {
    this.options = Object.freeze(resolveOptions(options));
  }

  /** Choose the next token from one row of logits (length = vocabulary size). */
  sample(logits: Float32Array, rng: Rng): SampledToken {
    const max = checkedMax(logits);
    const lse = logSumExpFrom(logits, max);
    const { greedy, temperature } = this.options;
    if (greedy || temperature === 0) {
      const token = argmax(logits);
      return { token, logprob: logits[token] - lse, processedLogprob: 0 };
    }
    this.ensureCapacity(logits.length);
    let n = this.candidates(logits, max);
    n = this.nucleus(n);
    n = this.minP(n);
    return this.draw(n, rng, logits, lse);
  }

  private ensureCapacity(v: number): void {
    if (this.ids.length >= v) return;
    this.ids = new Int32Array(v);
    this.weights = new Float64Array(v);
    this.select = new Float32Array(v);
  }

  /** Temperature and top-k: fill ids/weights with the surviving tokens, in id order. */
  private candidates(logits: Float32Array, max: number): number {
    const { topK, temperature } = this.options;
    let threshold = -Infinity;
    if (topK > 0 && topK < logits.length) {
      this.select.set(logits);
      threshold = kthLargest(this.select, logits.length, topK);
    }
    let n = 0;
    for (let i = 0; i < logits.length; i++) {
      const x = logits[i];
      if (x >= threshold && x !== -Infinity) {
        this.ids[n] = i;
        this.weights[n] = Math.exp((x - max) / temperature);
        n++;
      }
    }
    return n;
  }

  /** Top-p: move the nucleus to the front of ids/weights and return its size. Expected O(n). */
  private nucleus(n: number): number {
    const { topP } = this.options;
    if (topP >= 1) return n;
    const w = this.weights;
    const ids = this.ids;
    let total = 0;
    for (let j = 0; j < n; j++) total += w[j];
    let need = topP * total; // mass still to be covered by tokens not yet included
    let lo = 0;
    let hi = n;
    while (hi > lo) {
      const pivot = median3(w[lo], w[(lo + hi - 1) >>> 1], w[hi - 1]);
      let lt = lo, i = lo, gt = hi - 1;
      while (i <= gt) {
        if (w[i] > pivot) { swap(w, ids, i, lt); lt++; i++; }
        else if (w[i] < pivot) { swap(w, ids, i, gt); gt--; }
        else i++;
      }
      let above = 0;
      for (let j = lo; j < lt; j++) above += w[j];
      if (above >= need) { hi = lt; continue; } // the nucleus ends among the larger ones
      const tied = (gt - lt + 1) * pivot;
      if (above + tied >= need) {
        // The boundary falls among equal probabilities: take as few as needed, lowest ids first.
        ids.subarray(lt, gt + 1).sort();
        let acc = above;
        let j = lt;
        while (j <= gt) {
          acc += w[j++];
          if (acc >= need) break;
        }
        return j;
      }
      need -= above + tied;
      lo = gt + 1;
    }
    return Math.max(1, hi); // rounding left a sliver of mass uncovered: everything up to hi is in
  }

  /** Min-p: drop tokens whose weight is below minP × the top weight (which is 1), keeping order. */
  private minP(n: number): number {
    const { minP } = this.options;
    if (minP <= 0) return n;
    let top = 0;
    for (let j = 0; j < n; j++) if (this.weights[j] > top) top = this.weights[j];
    const cut = minP * top;
    let kept = 0;
    for (let j = 0; j < n; j++) {
      if (this.weights[j] >= cut) {
        this.ids[kept] = this.ids[j];
        this.weights[kept] = this.weights[j];
        kept++;
      }
    }
    return kept; // ≥ 1: the top token always passes
  }

  private draw(n: number, rng: Rng, logits: Float32Array, lse: number): SampledToken {
    let total = 0;
    for (let j = 0; j < n; j++) total += this.weights[j];
    const u = rng.next() * total;
    // u < total, and acc reaches exactly total (same summation order), so the last token needs no test.
    let acc = 0;
    let pick = n - 1;
    for (let j = 0; j < n - 1; j++) {
      acc += this.weights[j];
      if (u < acc) { pick = j; break; }
    }
    const token = this.ids[pick];
    return { token, logprob: logits[token] - lse, processedLogprob: Math.log(this.weights[pick] / total) };
  }
}

function swap(w: Float64Array, ids: Int32Array, a: number, b: number): void {
  const tw = w[a]; w[a] = w[b]; w[b] = tw;
  const ti = ids[a]; ids[a] = ids[b]; ids[b] = ti;
}

/** One-off sampling (allocates scratch each call; use a Sampler in a decoding loop). */
export function sampleToken(logits: Float32Array, rng: Rng, options: SamplingOptions = {}): SampledToken {
  return new Sampler(options).sample(logits, rng);
}
