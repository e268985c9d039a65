// gptkit's tokenizer: byte-level BPE (GPT-2 and every later GPT). The rest of gptkit uses only
// what this module exports. Token ids in, token ids out; text never turns into a special token
// unless the caller names it.
//
//   loadTokenizer(pathOrName)           'gpt2' (built in, no download), a directory holding
//                                       tokenizer.json or vocab.json + merges.txt, or a .json file
//   tokenizer.encode(text, { allowedSpecial })  → number[]; allowedSpecial: names or 'all'
//   tokenizer.decode(ids)               → string (a cut UTF-8 character decodes as U+FFFD)
//   tokenizer.decodeBytes(ids)          → Uint8Array, the exact bytes
//   tokenizer.vocabSize                 ids are 0 … vocabSize-1, special tokens included
//   tokenizer.specialTokens             Map text → id;  tokenizer.tokenId('<|endoftext|>') → id
//   tokenizer.save(dir)                 DIR/tokenizer.json (Hugging Face format), atomically
//   tokenizer.saveVocabMerges(dir)      DIR/vocab.json + DIR/merges.txt (GPT-2's files)
//   trainBpe(texts, { vocabSize, specialTokens, minFrequency, onProgress })
//                                       → Promise<Tokenizer>; texts: Iterable or AsyncIterable of
//                                       strings, e.g. readTexts(paths) for .txt / .jsonl files
//   new StreamDecoder(tokenizer)        push(ids) → complete characters only; flush() at the end
//   encodeParallel(tokenizer, text, { threads })  worker threads for large inputs, same ids
//
// Guarantees: decode(encode(s)) === s for every well-formed string (a lone surrogate encodes as
// U+FFFD, as TextEncoder does); GPT-2 ids equal js-tiktoken's r50k_base ids; training is
// deterministic; bad files raise FileFormatError naming the file and what is wrong.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError } from '../util/errors.ts';
import { Tokenizer, TokenizerError, type TokenizerSpec } from './bpe.ts';
import { parseTokenizerJson, parseVocabMerges } from './formats.ts';
import { gpt2Tokenizer } from './gpt2.ts';

export { Tokenizer, TokenizerError, type TokenizerSpec, type EncodeOptions } from './bpe.ts';
export { openTokenizerDir } from './output.ts';
export { trainBpe, type TrainOptions, type TrainProgress } from './train.ts';
export { readTexts } from './corpus.ts';
export { StreamDecoder } from './stream-decoder.ts';
export { encodeParallel } from './parallel.ts';
export { gpt2Tokenizer, GPT2_EOT } from './gpt2.ts';
export { WordPieceTokenizer, trainWordPiece, loadWordPiece, isWordPiecePath, parseVocabTxt, parseWordPieceJson, bertNormalize, bertPreTokenize, BERT_SPECIAL_TOKENS, type WordPieceOptions, type EncodedPair } from './wordpiece.ts';

/** Names loadTokenizer knows without a path. */
export const BUILTIN_TOKENIZERS = ['gpt2'] as const;

/** Build a tokenizer from a parsed spec; a bad spec is reported against the file it came from. */
function fromSpec(spec: TokenizerSpec, file: string): Tokenizer {
  try {
    return new Tokenizer(spec);
  } catch (e) {
    if (e instanceof TokenizerError) throw new FileFormatError(file, e.message, e.hint);
    throw e;
  }
}

function read(file: string): string {
  return readFileSync(file, 'utf8');
}

/** Load 'gpt2', a tokenizer directory, or a tokenizer.json file. */
export function loadTokenizer(pathOrName: string): Tokenizer {
  if (pathOrName === 'gpt2') return gpt2Tokenizer();
  if (!existsSync(pathOrName)) {
    throw new FileFormatError(pathOrName, 'no such file or directory', `give a directory written by \`gptkit tokenizer train\`, a tokenizer.json, or one of: ${BUILTIN_TOKENIZERS.join(', ')}`);
  }
  if (!statSync(pathOrName).isDirectory()) return fromSpec(parseTokenizerJson(read(pathOrName), pathOrName), pathOrName);
  const json = join(pathOrName, 'tokenizer.json');
  if (existsSync(json)) return fromSpec(parseTokenizerJson(read(json), json), json);
  const vocab = join(pathOrName, 'vocab.json');
  const merges = join(pathOrName, 'merges.txt');
  if (existsSync(vocab) && existsSync(merges)) return fromSpec(parseVocabMerges(read(vocab), vocab, read(merges), merges), vocab);
  throw new FileFormatError(pathOrName, 'expected tokenizer.json, or vocab.json + merges.txt, in this directory; found neither');
}
