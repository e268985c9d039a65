// The ecosystem's tokenizer files, to and from a TokenizerSpec (plain data; no I/O here):
//
// - Hugging Face `tokenizer.json`: model BPE (vocab: symbol → id, merges: "a b" or ["a", "b"]),
//   pre_tokenizer ByteLevel (GPT-2's regex, no prefix space), decoder ByteLevel, no normalizer;
//   special tokens are its `added_tokens`. Anything this encoder would not reproduce exactly
//   (another model type, a normalizer, a prefix space, subword prefixes) is refused, not ignored.
// - GPT-2 `vocab.json` + `merges.txt` ("#version" line, then one "a b" merge a line). These files
//   do not mark special tokens: a vocab entry that is neither a single byte nor made by a merge
//   (GPT-2's `<|endoftext|>`) is taken as a special token.
//
// Symbols are byte-level strings (bytes.ts). Errors name the file, the field or line, what was
// expected and what was found.
import { createHash } from 'node:crypto';
import { FileFormatError } from '../util/errors.ts';
import { bytesToSymbol, symbolToBytes } from './bytes.ts';
import type { TokenizerSpec } from './bpe.ts';

/** Symbol of every id (special tokens by their text). */
function symbols(spec: TokenizerSpec): string[] {
  const out = spec.tokens.map((b) => (b ? bytesToSymbol(b) : ''));
  for (const [text, id] of Object.entries(spec.specialTokens)) out[id] = text;
  return out;
}

function vocabObject(spec: TokenizerSpec): Record<string, number> {
  const vocab: Record<string, number> = {};
  symbols(spec).forEach((s, id) => { vocab[s] = id; });
  return vocab;
}

/**
 * A tokenizer's identity: the SHA-256 of its tokenizer.json as gptkit writes it, so the same
 * vocabulary, merges and special tokens give the same hex string however they were loaded.
 */
export function tokenizerFingerprint(tok: { toSpec(): TokenizerSpec }): string {
  return createHash('sha256').update(tokenizerJsonText(tok.toSpec())).digest('hex');
}

export function tokenizerJsonText(spec: TokenizerSpec): string {
  const sym = symbols(spec);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: Object.entries(spec.specialTokens)
      .sort((a, b) => a[1] - b[1])
      .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: vocabObject(spec),
      merges: spec.merges.map(([a, b]) => `${sym[a]} ${sym[b]}`),
    },
  };
  return JSON.stringify(json, null, 1) + '\n';
}

export function vocabJsonText(spec: TokenizerSpec): string {
  return JSON.stringify(vocabObject(spec)) + '\n';
}

export function mergesText(spec: TokenizerSpec): string {
  const sym = symbols(spec);
  return ['#version: 0.2', ...spec.merges.map(([a, b]) => `${sym[a]} ${sym[b]}`)].join('\n') + '\n';
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(file, `not valid JSON (${(e as Error).message})`);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'string' ? JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x) : typeof x === 'object' ? 'an object' : String(x);
}

/** symbol → id map from a vocab object, ids checked to be distinct non-negative integers. */
function readVocab(vocab: unknown, file: string, field: string): Map<string, number> {
  if (!isObject(vocab)) throw new FileFormatError(file, `${field}: expected an object of symbol → id, found ${describe(vocab)}`);
  const out = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [sym, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new FileFormatError(file, `${field}[${JSON.stringify(sym)}]: expected a non-negative integer id, found ${describe(id)}`);
    }
    const other = seen.get(id);
    if (other !== undefined) throw new FileFormatError(file, `${field}: id ${id} is given to both ${JSON.stringify(other)} and ${JSON.stringify(sym)}`);
    seen.set(id, sym);
    out.set(sym, id);
  }
  return out;
}

/** Merge [a, b] → ids, with the place it came from for errors. */
function mergeIds(a: string, b: string, vocab: Map<string, number>, file: string, where: string): [number, number] {
  const ia = vocab.get(a);
  const ib = vocab.get(b);
  if (ia === undefined || ib === undefined) {
    throw new FileFormatError(file, `${where}: symbol ${JSON.stringify(ia === undefined ? a : b)} is not in the vocabulary`);
  }
  if (!vocab.has(a + b)) throw new FileFormatError(file, `${where}: merge makes ${JSON.stringify(a + b)}, which is not in the vocabulary`);
  return [ia, ib];
}

/** Ordinary tokens: every vocab entry except the special ids, as bytes. */
function tokensOf(vocab: Map<string, number>, specialIds: Set<number>, file: string, field: string): (Uint8Array | undefined)[] {
  const tokens: (Uint8Array | undefined)[] = [];
  for (const [sym, id] of vocab) {
    if (specialIds.has(id)) continue;
    const bytes = symbolToBytes(sym);
    if (!bytes || bytes.length === 0) {
      const bad = [...sym].find((ch) => !symbolToBytes(ch));
      throw new FileFormatError(file, `${field}[${JSON.stringify(sym)}] (id ${id}) is not a byte-level symbol: ${bad ? `character U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} stands for no byte` : 'it is empty'}`,
        'byte-level BPE vocabularies spell bytes with GPT-2\'s bytes_to_unicode table');
    }
    tokens[id] = bytes;
  }
  return tokens;
}

function expectField(obj: Record<string, unknown>, key: string, ok: (v: unknown) => boolean, expected: string, file: string, prefix: string): void {
  if (key in obj && !ok(obj[key])) throw new FileFormatError(file, `${prefix}${key}: expected ${expected}, found ${describe(obj[key])}`, 'gptkit reads byte-level BPE tokenizers (GPT-2 style)');
}

/** Parse a Hugging Face tokenizer.json (BPE model with the ByteLevel pre-tokenizer). */
export function parseTokenizerJson(text: string, file: string): TokenizerSpec {
  const json = parseJson(text, file);
  if (!isObject(json)) throw new FileFormatError(file, `expected a JSON object, found ${describe(json)}`);
  const model = json.model;
  if (!isObject(model)) throw new FileFormatError(file, `model: expected an object, found ${describe(model)}`);
  if (model.type !== undefined && model.type !== 'BPE') {
    throw new FileFormatError(file, `model.type: expected "BPE", found ${describe(model.type)}`, 'only byte-level BPE tokenizers are supported');
  }
  const empty = (v: unknown): boolean => v === null || v === '' || v === undefined;
  expectField(model, 'continuing_subword_prefix', empty, 'none', file, 'model.');
  expectField(model, 'end_of_word_suffix', empty, 'none', file, 'model.');
  expectField(model, 'byte_fallback', (v) => v === false || v === null, 'false', file, 'model.');
  expectField(model, 'ignore_merges', (v) => v === false || v === null, 'false', file, 'model.');
  expectField(model, 'dropout', (v) => v === null || v === 0, 'null', file, 'model.');
  expectField(json, 'normalizer', (v) => v === null, 'null', file, '');
  const pre = json.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel') {
    throw new FileFormatError(file, `pre_tokenizer: expected {"type": "ByteLevel"}, found ${isObject(pre) ? `type ${describe(pre.type)}` : describe(pre)}`, 'only byte-level BPE tokenizers are supported');
  }
  expectField(pre, 'add_prefix_space', (v) => v === false, 'false', file, 'pre_tokenizer.');
  expectField(pre, 'use_regex', (v) => v === true, 'true', file, 'pre_tokenizer.');

  const vocab = readVocab(model.vocab, file, 'model.vocab');
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new FileFormatError(file, `added_tokens: expected an array, found ${describe(added)}`);
  const specialTokens: Record<string, number> = {};
  added.forEach((t, k) => {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0) {
      throw new FileFormatError(file, `added_tokens[${k}]: expected {"id": integer, "content": string}, found ${describe(t)}`);
    }
    specialTokens[t.content] = t.id;
  });
  const specialIds = new Set(Object.values(specialTokens));
  const tokens = tokensOf(vocab, specialIds, file, 'model.vocab');
  const rawMerges = model.merges;
  if (!Array.isArray(rawMerges)) throw new FileFormatError(file, `model.merges: expected an array, found ${describe(rawMerges)}`);
  const merges = rawMerges.map((m, k) => {
    const where = `model.merges[${k}]`;
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string' || !pair[0] || !pair[1]) {
      throw new FileFormatError(file, `${where}: expected "a b" or ["a", "b"], found ${describe(m)}`);
    }
    return mergeIds(pair[0], pair[1], vocab, file, where);
  });
  return { tokens, merges, specialTokens };
}

/**
 * A spec from GGUF's tokenizer arrays (`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`, and the ids
 * `tokenizer.ggml.token_type` marks control or user-defined: the special tokens).
 */
export function specFromTokenList(symbols: readonly string[], merges: readonly string[], specialIds: ReadonlySet<number>, file: string): TokenizerSpec {
  const vocab = new Map<string, number>();
  symbols.forEach((sym, id) => {
    if (vocab.has(sym)) throw new FileFormatError(file, `tokenizer.ggml.tokens[${id}]: ${JSON.stringify(sym)} already has id ${vocab.get(sym)}`);
    vocab.set(sym, id);
  });
  const specialTokens: Record<string, number> = {};
  for (const id of specialIds) specialTokens[symbols[id]] = id;
  const tokens = tokensOf(vocab, new Set(specialIds), file, 'tokenizer.ggml.tokens');
  const pairs = merges.map((m, k) => {
    const pair = m.split(' ');
    if (pair.length !== 2 || !pair[0] || !pair[1]) throw new FileFormatError(file, `tokenizer.ggml.merges[${k}]: expected "a b", found ${JSON.stringify(m)}`);
    return mergeIds(pair[0], pair[1], vocab, file, `tokenizer.ggml.merges[${k}]`);
  });
  return { tokens, merges: pairs, specialTokens };
}

/** Each id's symbol (byte-level string; special tokens by their text), for files that list tokens in id order. */
export function tokenSymbols(spec: TokenizerSpec): string[] {
  return symbols(spec);
}

/** Parse GPT-2's vocab.json + merges.txt. */
export function parseVocabMerges(vocabText: string, vocabFile: string, mergesTextIn: string, mergesFile: string): TokenizerSpec {
  const vocab = readVocab(parseJson(vocabText, vocabFile), vocabFile, 'vocab');
  const lines = mergesTextIn.split('\n');
  const merges: [number, number][] = [];
  const made = new Set<string>();
  lines.forEach((raw, k) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if ((k === 0 && line.startsWith('#version')) || (line === '' && k === lines.length - 1)) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new FileFormatError(mergesFile, `line ${k + 1}: expected two symbols separated by one space, found ${describe(line)}`);
    }
    merges.push(mergeIds(parts[0], parts[1], vocab, mergesFile, `line ${k + 1}`));
    made.add(parts[0] + parts[1]);
  });
  const specialTokens: Record<string, number> = {};
  for (const [sym, id] of vocab) {
    const bytes = symbolToBytes(sym);
    if (!made.has(sym) && !(bytes && bytes.length === 1)) specialTokens[sym] = id;
  }
  const tokens = tokensOf(vocab, new Set(Object.values(specialTokens)), vocabFile, 'vocab');
  return { tokens, merges, specialTokens };
}
