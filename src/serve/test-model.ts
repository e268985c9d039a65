// A throwaway model directory for the serving tests: a randomly initialised GPT with a tokenizer
// trained in-process (with the ChatML special tokens), saved as a gptkit checkpoint. Its special
// tokens are made unreachable (their output logits ≈ −C), so a generation only ends at max_tokens
// or a stop string: lengths in the tests are what the test asks for.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, gptConfig, type GptConfig } from '../models/gpt.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { saveCheckpoint } from '../interop/checkpoint.ts';

const CORPUS = 'the cat sat on the mat. the dog sat on the log. a bird sang in the tree; héllo wörld 🙂 '.repeat(30);

export interface TestModel {
  dir: string;
  remove(): void;
}

/** `chatTokens: false`: a tokenizer with <|endoftext|> only (as GPT-2's), for the server to extend. */
export async function makeTestModel(over: Partial<GptConfig> = {}, opts: { chatTokens?: boolean } = {}): Promise<TestModel> {
  const specialTokens = opts.chatTokens === false ? ['<|endoftext|>'] : ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const tokenizer = await trainBpe([CORPUS], { vocabSize: 320, specialTokens });
  const model = new GPT(gptConfig('tiny', { vocabSize: tokenizer.vocabSize, blockSize: 256, dropout: 0, ...over }), 11).eval();
  // ln_f's output gets a constant +1 on every feature, and each special token's (tied) embedding
  // row is −1: its logit is about −nEmbd whatever the input, so it is never sampled.
  const params = new Map(model.namedParameters());
  params.get('transformer.ln_f.bias')!.data.fill(1);
  const C = model.config.nEmbd;
  for (const id of tokenizer.specialTokens.values()) params.get('transformer.wte.weight')!.data.fill(-1, id * C, (id + 1) * C);
  const root = mkdtempSync(join(tmpdir(), 'gptkit-serve-'));
  const dir = join(root, 'test-model');
  saveCheckpoint(dir, model, { tokenizerJson: { text: tokenizerJsonText(tokenizer.toSpec()) } });
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}
