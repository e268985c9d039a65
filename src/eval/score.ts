// Log-likelihood of continuations given a context, over token ids: what multiple-choice scoring
// needs. The context is run once into a KV cache; the cache is copied once per continuation and
// the k continuations run as one batch over it, so k choices cost one context pass plus the
// choices' own tokens (lm-evaluation-harness reruns the context for every choice).
import type { GPT } from '../models/gpt.ts';
import { noGrad, scope } from '../tensor/tensor.ts';

export interface ContinuationScore {
  /** Σ log p(token | context, earlier tokens of the continuation). */
  logprob: number;
  /** Whether every token of the continuation is the model's most likely one. */
  greedy: boolean;
}

/** Adds log p(target) of one logits row to acc, and whether target is its argmax. */
function rowLogprob(logits: Float32Array, offset: number, V: number, target: number): [number, boolean] {
  let max = -Infinity, arg = 0;
  for (let v = 0; v < V; v++) {
    const x = logits[offset + v];
    if (x > max) { max = x; arg = v; }
  }
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[offset + v] - max);
  return [logits[offset + target] - max - Math.log(sum), arg === target || logits[offset + target] === max];
}

function check(model: GPT, context: number[], continuations: number[][]): number {
  if (context.length === 0) throw new RangeError('scoreContinuations: the context needs at least one token (e.g. <|endoftext|>)');
  if (continuations.length === 0) throw new RangeError('scoreContinuations: no continuations');
  const maxLen = Math.max(...continuations.map((c) => c.length));
  if (continuations.some((c) => c.length === 0)) throw new RangeError('scoreContinuations: a continuation has no tokens');
  const need = context.length + maxLen - 1;
  if (need > model.config.blockSize) throw new RangeError(`scoreContinuations: context ${context.length} + continuation ${maxLen} − 1 tokens exceed the model's context of ${model.config.blockSize}`);
  return maxLen;
}

/** Scores of every continuation after one shared context, the context computed once. */
export function scoreContinuations(model: GPT, context: number[], continuations: number[][]): ContinuationScore[] {
  const maxLen = check(model, context, continuations);
  const V = model.config.vocabSize, k = continuations.length, Tc = context.length;
  return noGrad(() => scope(() => {
    const cache = model.newCache(1, Tc + maxLen - 1);
    const first = model.decode(Int32Array.from(context), 1, Tc, cache).data; // (1, V): predicts each continuation's first token
    const out = continuations.map((c) => {
      const [lp, g] = rowLogprob(first, 0, V, c[0]);
      return { logprob: lp, greedy: g };
    });
    if (maxLen === 1) return out;
    // The continuations' tokens but their last, right-padded: a padding token comes after every
    // real one, and attention is causal, so it changes nothing that is read.
    const L = maxLen - 1;
    const ids = new Int32Array(k * L);
    continuations.forEach((c, i) => ids.set(c.slice(0, -1), i * L));
    const logits = model.decodeAll(ids, k, L, cache.expand(k, Tc + L)).data; // (k, L, V)
    continuations.forEach((c, i) => {
      for (let j = 1; j < c.length; j++) {
        const [lp, g] = rowLogprob(logits, (i * L + j - 1) * V, V, c[j]);
        out[i].logprob += lp;
        out[i].greedy &&= g;
      }
    });
    return out;
  }));
}

/**
 * The same scores computed the way lm-evaluation-harness does: every context + continuation is a
 * sequence of its own (one right-padded batch), the context recomputed for each. The reference
 * the shared-prefix path is tested and benchmarked against.
 */
export function scoreContinuationsSeparately(model: GPT, context: number[], continuations: number[][]): ContinuationScore[] {
  const maxLen = check(model, context, continuations);
  const V = model.config.vocabSize, k = continuations.length, Tc = context.length;
  const T = Tc + maxLen - 1;
  return noGrad(() => scope(() => {
    const ids = new Int32Array(k * T);
    continuations.forEach((c, i) => {
      ids.set(context, i * T);
      ids.set(c.slice(0, -1), i * T + Tc);
    });
    const logits = model.forward(ids, k, T).logits.data; // (k, T, V)
    return continuations.map((c, i) => {
      let logprob = 0, greedy = true;
      for (let j = 0; j < c.length; j++) {
        const [lp, g] = rowLogprob(logits, (i * T + Tc - 1 + j) * V, V, c[j]);
        logprob += lp;
        greedy &&= g;
      }
      return { logprob, greedy };
    });
  }));
}
