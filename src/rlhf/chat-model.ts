// A model ready to chat, from a directory: a gptkit checkpoint or a Hugging Face GPT-2 directory,
// its tokenizer, its chat template (tokenizer_config.json, else ChatML) and, where they were
// missing, the ChatML tokens added (reported in `added`; the caller decides how to say so). And
// the way every RLHF stage writes one back: the checkpoint plus tokenizer_config.json.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { GPT, gptConfig, type GptConfig } from '../models/gpt.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { loadModel } from '../interop/load.ts';
import { saveCheckpoint, type SaveOptions } from '../interop/checkpoint.ts';
import { asOutput, type OutputDir } from '../util/output.ts';
import { ChatTemplate, readChatTemplate, tokenizerConfigJson, TOKENIZER_CONFIG } from './chat-template.ts';
import { withChatTokens } from './chat-tokens.ts';

export interface ChatModel {
  model: GPT;
  tokenizer: Tokenizer;
  chat: ChatTemplate;
  /** Special tokens this load added to the vocabulary (new embedding rows = mean of the others). */
  added: { token: string; id: number }[];
}

export function loadChatModel(dir: string): ChatModel {
  const loaded = loadModel(dir);
  const { template } = readChatTemplate(dir);
  const { model, tokenizer, added } = withChatTokens(loaded.model, loaded.tokenizer);
  return { model, tokenizer, chat: new ChatTemplate(tokenizer, template), added };
}

/** A copy of a GPT with some config changed (dropout, …) and the same weights. */
export function cloneGpt(model: GPT, overrides: Partial<GptConfig> = {}): GPT {
  const copy = new GPT(gptConfig(model.config, overrides));
  const src = model.namedParameters();
  copy.namedParameters().forEach(([, p], i) => p.data.set(src[i][1].data));
  return copy;
}

/**
 * Write a checkpoint with the tokenizer and its chat template (tokenizer_config.json, a second
 * transaction: a crash between the two leaves a checkpoint that reads as ChatML, which it is
 * unless a custom template was given).
 */
export function saveChatCheckpoint(dir: string | OutputDir, model: GPT, chat: ChatTemplate, opts: Omit<SaveOptions, 'tokenizerJson'> = {}): void {
  saveCheckpoint(dir, model, { ...opts, tokenizerJson: { text: tokenizerJsonText(chat.tokenizer.toSpec()) } });
  asOutput(dir, 'checkpoint').commitSync((tmp) => writeFileSync(join(tmp, TOKENIZER_CONFIG), tokenizerConfigJson(chat.tokenizer, chat.source, model.config.blockSize)));
}
