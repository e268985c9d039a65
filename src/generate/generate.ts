// Batched KV-cache decoding over token ids. The engine knows nothing about text: token ids in,
// token ids out; text, stop strings and streaming decoding live in generate/text.ts.
//
// Ragged prompts are left-padded so every sequence's next token sits in the same column; the
// padding is masked out of attention and positions start after it, so each sequence sees exactly
// what it would see alone. The padded width is rounded up to a multiple of PREFILL_BUCKET where the
// context leaves room: callers with a new longest prompt every batch (PPO's rollouts, the judge)
// then reuse a handful of buffer shapes instead of paying the pool for fresh ones each call.
import { GPT } from '../models/gpt.ts';
import { scope } from '../tensor/tensor.ts';
import { ConfigError } from '../util/errors.ts';

/** Chooses the next token of one sequence from its logits (vocab). */
export type Picker = (logits: Float32Array, sequence: number) => number;

/** Prompt widths are padded to a multiple of this (see above). */
export const PREFILL_BUCKET = 32;

/**
 * The padded prompt width for a longest prompt of `longest` tokens: rounded up to the bucket, but
 * never so far that the padding would take context the answer needs (`longest + maxTokens`).
 */
export function prefillWidth(longest: number, maxTokens: number, blockSize: number): number {
  const bucketed = Math.ceil(longest / PREFILL_BUCKET) * PREFILL_BUCKET;
  return Math.max(longest, Math.min(bucketed, blockSize - 1, blockSize - maxTokens));
}

export type FinishReason = 'eos' | 'length' | 'stop';

export interface GenerateOptions {
  maxTokens: number;
  /** Token ids that end a sequence (not included in its output). */
  eosIds?: number[];
  /**
   * Called with every new token of sequence b; return true to stop that sequence (stop strings).
   * The token has already been appended to the output.
   */
  onToken?: (b: number, token: number) => boolean | void;
}

export interface Generation {
  tokens: number[];
  finishReason: FinishReason;
}

/** Decode to the end and return every sequence's tokens. */
export function generate(model: GPT, prompts: number[][], pick: Picker, opts: GenerateOptions): Generation[] {
  const steps = generateSteps(model, prompts, pick, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The same, one decoding step at a time: the generator pauses after each step (every live
 * sequence has received its next token through onToken), so a caller can yield to the event
 * loop or stop early; its return value is the finished generations.
 */
export function* generateSteps(model: GPT, prompts: number[][], pick: Picker, opts: GenerateOptions): Generator<void, Generation[]> {
  const B = prompts.length;
  if (B === 0) return [];
  if (!(Number.isInteger(opts.maxTokens) && opts.maxTokens >= 0)) throw new ConfigError(`maxTokens must be a non-negative integer, got ${opts.maxTokens}`);
  const ctx = model.config.blockSize;
  const longest = Math.max(...prompts.map((p) => p.length));
  if (prompts.some((p) => p.length === 0)) throw new ConfigError('every prompt needs at least one token (e.g. the end-of-text token)');
  if (longest >= ctx) throw new ConfigError(`prompt of ${longest} tokens leaves no room in the model's context of ${ctx}`);
  const P = prefillWidth(longest, opts.maxTokens, ctx);
  const eos = new Set(opts.eosIds ?? []);
  const padding = new Int32Array(B);
  const ids = new Int32Array(B * P);
  prompts.forEach((p, b) => {
    padding[b] = P - p.length;
    ids.set(p, b * P + padding[b]); // pad ids stay 0: they are masked out
  });
  const cache = model.newCache(B, Math.min(ctx, P + opts.maxTokens));
  const out: Generation[] = prompts.map(() => ({ tokens: [], finishReason: 'length' as FinishReason }));
  const done = new Uint8Array(B);
  let logits = scope(() => model.decode(ids, B, P, cache, padding).data.slice());
  const V = model.config.vocabSize;
  const next = new Int32Array(B);
  for (let step = 0; step < opts.maxTokens; step++) {
    let alive = 0;
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const tok = pick(logits.subarray(b * V, (b + 1) * V), b);
      next[b] = tok;
      if (eos.has(tok)) {
        done[b] = 1;
        out[b].finishReason = 'eos';
        continue;
      }
      out[b].tokens.push(tok);
      if (opts.onToken?.(b, tok) === true) {
        done[b] = 1;
        out[b].finishReason = 'stop';
        continue;
      }
      alive++;
    }
    if (alive === 0 || step === opts.maxTokens - 1) break;
    if (cache.length >= cache.capacity) break; // context full: finish with 'length'
    yield;
    logits = scope(() => model.decode(next, B, 1, cache, padding).data.slice());
  }
  return out;
}
