// Giving a model the chat format's special tokens. GPT-2 (and any tokenizer trained without them)
// has no <|im_start|>/<|im_end|>: they get the next free ids, and the model new embedding (and
// untied output) rows initialised to the mean of the existing rows, so their first logits are
// ordinary rather than random. The caller is told what was added (nothing below pipeline/ prints).
import { GPT, gptConfig } from '../models/gpt.ts';
import { Tokenizer } from '../tokenizer/index.ts';
import { CHATML_TOKENS } from './chat-template.ts';

export interface WithChatTokens {
  model: GPT;
  tokenizer: Tokenizer;
  /** The tokens that were missing and are now added, with their ids ([] when nothing changed). */
  added: { token: string; id: number }[];
}

/** The model and tokenizer with `tokens` as special tokens; the inputs are left as they were. */
export function withChatTokens(model: GPT, tokenizer: Tokenizer, tokens: readonly string[] = CHATML_TOKENS): WithChatTokens {
  const missing = tokens.filter((t) => !tokenizer.specialTokens.has(t));
  if (!missing.length) return { model, tokenizer, added: [] };
  const spec = tokenizer.toSpec();
  const oldVocab = tokenizer.vocabSize;
  const added = missing.map((token, i) => ({ token, id: oldVocab + i }));
  const specialTokens = { ...spec.specialTokens };
  for (const a of added) specialTokens[a.token] = a.id;
  const newTok = new Tokenizer({ ...spec, specialTokens });

  const vocab = Math.max(model.config.vocabSize, newTok.vocabSize);
  const grown = new GPT(gptConfig(model.config, { vocabSize: vocab }));
  const C = model.config.nEmbd;
  const meanRows = Math.min(oldVocab, model.config.vocabSize); // rows of real tokens
  const old = new Map(model.namedParameters());
  for (const [name, p] of grown.namedParameters()) {
    const src = old.get(name)!;
    p.data.set(src.data);
    if (!(name === 'transformer.wte.weight' || name === 'lm_head.weight')) continue;
    // Rows of the added ids, and any rows the vocabulary grew by: the mean of the real rows.
    const mean = new Float32Array(C);
    for (let r = 0; r < meanRows; r++) for (let c = 0; c < C; c++) mean[c] += src.data[r * C + c];
    for (let c = 0; c < C; c++) mean[c] /= meanRows;
    for (const a of added) p.data.set(mean, a.id * C);
    for (let r = model.config.vocabSize; r < vocab; r++) p.data.set(mean, r * C);
  }
  grown.train(model.training);
  return { model: grown, tokenizer: newTok, added };
}
