// Per-token log-probabilities of a text under the model: the primitive every evaluation harness
// needs (perplexity, multiple-choice scoring, reward-model baselines). Texts longer than the
// context are scored in overlapping windows, each token with as much left context as fits.
import type { GPT } from '../models/gpt.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { noGrad, scope } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';

export interface ScoredTokens {
  /** log p(ids[i] | ids[<i]) for i ≥ 1 (the first id is context only). */
  logprobs: number[];
}

/** Log-probabilities of ids[1..] given what precedes them. */
export function scoreIds(model: GPT, ids: number[]): number[] {
  const ctx = model.config.blockSize;
  const out: number[] = new Array(Math.max(0, ids.length - 1));
  const stride = Math.max(1, ctx >> 1);
  // Window w covers ids[start, start+len); it scores the targets not scored by earlier windows.
  let scored = 1; // next index of ids to score
  for (let start = 0; scored < ids.length; start = Math.min(start + stride, ids.length - 1)) {
    const end = Math.min(start + ctx + 1, ids.length);
    const input = Int32Array.from(ids.slice(start, end - 1));
    const targets = Int32Array.from(ids.slice(start + 1, end));
    const T = input.length;
    const lp = noGrad(() => scope(() => {
      const { logits } = model.forward(input, 1, T);
      return op.crossEntropy(logits, targets, { reduction: 'none' }).data.slice();
    }));
    for (let t = 0; t < T; t++) {
      const idx = start + 1 + t;
      if (idx >= scored) out[idx - 1] = -lp[t];
    }
    scored = end;
    if (end === ids.length) break;
  }
  return out;
}

export interface ScoredText {
  tokens: number[];
  /** One per token of the text, each conditioned on <|endoftext|> and the tokens before it. */
  logprobs: number[];
  totalLogprob: number;
  perplexity: number;
}

export function scoreText(model: GPT, tokenizer: Tokenizer, text: string, context = ''): ScoredText {
  let bos: number;
  try { bos = tokenizer.tokenId('<|endoftext|>'); } catch { bos = 0; }
  const ctxIds = [bos, ...tokenizer.encode(context)];
  const tokens = tokenizer.encode(text);
  const all = scoreIds(model, [...ctxIds, ...tokens]);
  const logprobs = all.slice(ctxIds.length - 1);
  const total = logprobs.reduce((a, b) => a + b, 0);
  return { tokens, logprobs, totalLogprob: total, perplexity: Math.exp(-total / Math.max(1, tokens.length)) };
}
