// Text in, text out: tokenizes prompts, decodes with the KV cache, streams complete characters as
// they are decoded, and cuts at stop strings (never emitting them). One seeded random stream per
// call, so the same seed gives the same text.
import type { GPT } from '../models/gpt.ts';
import { StreamDecoder, type Tokenizer } from '../tokenizer/index.ts';
import { generateSteps, type FinishReason, type Generation } from './generate.ts';
import { Sampler, type SamplingOptions } from './sampling.ts';
import { StopMatcher } from './stop.ts';
import { Rng } from '../util/rng.ts';

export interface TextGenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed?: number;
  stop?: string[];
  /** Stream: called with each newly completed piece of text of prompt b. */
  onText?: (b: number, text: string) => void;
  /** Allow special tokens written in the prompt text (e.g. chat templates built by gptkit itself). */
  allowSpecialInPrompt?: boolean;
}

export interface TextGeneration {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** The ids generated (with a stop string, the last ones hold it although the text ends before it). */
  tokens: number[];
  /** log p of each generated token under the model (raw distribution). */
  tokenLogprobs: number[];
}

/** Generate continuations of every prompt as one batch. */
export function generateText(model: GPT, tokenizer: Tokenizer, prompts: string[], opts: TextGenerateOptions): TextGeneration[] {
  const run = textSteps(model, tokenizer, prompts, opts);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/**
 * Stream one prompt's continuation as an async iterator of text pieces (complete characters,
 * stop strings cut); it gives the event loop a turn after every token. The iterator's return
 * value is the full TextGeneration.
 */
export async function* streamText(model: GPT, tokenizer: Tokenizer, prompt: string, opts: Omit<TextGenerateOptions, 'onText'>): AsyncGenerator<string, TextGeneration> {
  const pieces: string[] = [];
  const run = textSteps(model, tokenizer, [prompt], { ...opts, onText: (_b, text) => pieces.push(text) });
  for (;;) {
    const r = run.next();
    while (pieces.length) yield pieces.shift()!;
    if (r.done) return r.value[0];
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function* textSteps(model: GPT, tokenizer: Tokenizer, prompts: string[], opts: TextGenerateOptions): Generator<void, TextGeneration[]> {
  const { maxTokens, seed = 0, stop = [], onText, allowSpecialInPrompt, ...sampling } = opts;
  const sampler = new Sampler({ ...sampling, logprobs: true });
  const rng = new Rng(seed);
  let eos: number[] = [];
  try { eos = [tokenizer.tokenId('<|endoftext|>')]; } catch { eos = []; }
  const ids = prompts.map((p) => {
    const t = tokenizer.encode(p, allowSpecialInPrompt ? { allowedSpecial: 'all' } : {});
    return t.length ? t : eos.length ? [eos[0]] : t;
  });
  const decoders = prompts.map(() => new StreamDecoder(tokenizer));
  const matchers = prompts.map(() => new StopMatcher(stop));
  const texts = prompts.map(() => '');
  const logprobs: number[][] = prompts.map(() => []);
  const emit = (b: number, piece: string) => {
    if (!piece) return;
    texts[b] += piece;
    onText?.(b, piece);
  };
  const gens: Generation[] = yield* generateSteps(model, ids, (logits, b) => {
    const s = sampler.sample(logits, rng);
    logprobs[b].push(s.logprob ?? 0);
    return s.token;
  }, {
    maxTokens,
    eosIds: eos,
    onToken: (b, token) => {
      const r = matchers[b].push(decoders[b].push(token));
      emit(b, r.text);
      return r.stopped;
    },
  });
  return gens.map((g, b) => {
    if (g.finishReason !== 'stop') {
      const r = matchers[b].push(decoders[b].flush());
      emit(b, r.text);
      if (r.stopped) g.finishReason = 'stop';
      else emit(b, matchers[b].flush());
    }
    return { text: texts[b], finishReason: g.finishReason, promptTokens: ids[b].length, completionTokens: g.tokens.length, tokens: g.tokens, tokenLogprobs: logprobs[b].slice(0, g.tokens.length) };
  });
}

