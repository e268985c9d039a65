// A tokenizer's output folder (util/output.ts guards it): tokenizer.json, and GPT-2's vocab.json +
// merges.txt when asked for.
import { OutputDir, legacyByNames, type OutputOptions } from '../util/output.ts';

const TOKENIZER_FILES = new Set(['tokenizer.json', 'vocab.json', 'merges.txt', 'vocab.txt']);

export function openTokenizerDir(dir: string, opts: Omit<OutputOptions, 'kind' | 'legacy'> = {}): OutputDir {
  return OutputDir.open(dir, { ...opts, kind: 'tokenizer', legacy: legacyByNames(['tokenizer.json'], (n) => TOKENIZER_FILES.has(n)) });
}
