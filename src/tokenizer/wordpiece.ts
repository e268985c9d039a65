// WordPiece, as BERT uses it: BERT's normaliser and pre-tokeniser, then greedy longest-match-first
// over a vocabulary where word-internal pieces carry a `##` prefix; a word with no segmentation is
// `[UNK]`. Ids match Hugging Face `tokenizers`' BertWordPieceTokenizer (tests/golden/wordpiece/).
//
//   normalise    clean text (drop NUL, U+FFFD and control characters; every whitespace → ' '),
//                pad CJK ideographs with spaces, strip accents (NFD, drop combining marks; on by
//                default when lower-casing, as BERT's uncased models), lower-case
//   pre-tokenise split on whitespace; every punctuation character is a word of its own
//   model        per word of ≤ 100 characters: longest vocabulary prefix, then `##`-pieces
//   post-process [CLS] a [SEP] (b [SEP]); segment ids 0 for a, 1 for b
//
// Files: Hugging Face `tokenizer.json` (model WordPiece, BertNormalizer, BertPreTokenizer, WordPiece
// decoder) read and written; BERT's `vocab.txt` (one token a line, id = line number) read and written.
// Training (trainWordPiece) is what `tokenizers`' WordPieceTrainer does: BPE merges over characters
// where non-initial characters carry the prefix, the merged symbols becoming the vocabulary.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.ts';
import { FileFormatError } from '../util/errors.ts';
import { TokenizerError } from './bpe.ts';

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface WordPieceOptions {
  lowercase: boolean;
  /** null: follow `lowercase` (BERT's rule). */
  stripAccents: boolean | null;
  cleanText: boolean;
  handleChineseChars: boolean;
  unkToken: string;
  prefix: string;
  maxInputCharsPerWord: number;
}

export const defaultWordPieceOptions: WordPieceOptions = {
  lowercase: true, stripAccents: null, cleanText: true, handleChineseChars: true,
  unkToken: '[UNK]', prefix: '##', maxInputCharsPerWord: 100,
};

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || /^\s$/u.test(c);
const isControl = (c: string) => c !== '\t' && c !== '\n' && c !== '\r' && /^\p{C}$/u.test(c);
const isPunct = (c: string) => /^[!-/:-@[-`{-~]$/.test(c) || /^\p{P}$/u.test(c);

function isChinese(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df)
    || (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/** BERT's normaliser (BertNormalizer in `tokenizers`). */
export function bertNormalize(text: string, o: WordPieceOptions = defaultWordPieceOptions): string {
  let s = text;
  if (o.cleanText) {
    let out = '';
    for (const c of s) {
      if (c === '\0' || c === '\ufffd' || isControl(c)) continue;
      out += isWhitespace(c) ? ' ' : c;
    }
    s = out;
  }
  if (o.handleChineseChars) {
    let out = '';
    for (const c of s) out += isChinese(c.codePointAt(0)!) ? ` ${c} ` : c;
    s = out;
  }
  if (o.stripAccents ?? o.lowercase) s = s.normalize('NFD').replace(/\p{Mn}/gu, '');
  if (o.lowercase) s = s.toLowerCase();
  return s;
}

/** BERT's pre-tokeniser: whitespace-separated words, each punctuation character a word of its own. */
export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  for (const c of text) {
    if (isWhitespace(c)) {
      if (cur) words.push(cur);
      cur = '';
    } else if (isPunct(c)) {
      if (cur) words.push(cur);
      words.push(c);
      cur = '';
    } else cur += c;
  }
  if (cur) words.push(cur);
  return words;
}

export interface EncodedPair {
  ids: number[];
  /** Segment ids: 0 for [CLS] a [SEP], 1 for b [SEP]. */
  typeIds: number[];
}

export class WordPieceTokenizer {
  readonly kind = 'wordpiece' as const;
  readonly options: WordPieceOptions;
  readonly vocab: readonly string[];
  readonly vocabSize: number;
  /** Special token text → id: BERT's five, whichever of them the vocabulary has. */
  readonly specialTokens: ReadonlyMap<string, number>;
  private readonly idOf: Map<string, number>;
  private readonly unkId: number;
  private readonly cache = new Map<string, number[]>();

  constructor(vocab: readonly string[], options: Partial<WordPieceOptions> = {}) {
    this.options = { ...defaultWordPieceOptions, ...options };
    this.vocab = vocab;
    this.vocabSize = vocab.length;
    this.idOf = new Map();
    vocab.forEach((t, i) => {
      if (this.idOf.has(t)) throw new TokenizerError(`token ${JSON.stringify(t)} appears twice in the vocabulary (ids ${this.idOf.get(t)} and ${i})`);
      this.idOf.set(t, i);
    });
    const unk = this.idOf.get(this.options.unkToken);
    if (unk === undefined) throw new TokenizerError(`the vocabulary has no unknown token ${JSON.stringify(this.options.unkToken)}`);
    this.unkId = unk;
    const sp = new Map<string, number>();
    for (const s of BERT_SPECIAL_TOKENS) if (this.idOf.has(s)) sp.set(s, this.idOf.get(s)!);
    this.specialTokens = sp;
  }

  tokenId(token: string): number {
    const id = this.idOf.get(token);
    if (id === undefined) throw new TokenizerError(`unknown token ${JSON.stringify(token)}`, `this WordPiece vocabulary has ${this.vocabSize} tokens`);
    return id;
  }

  get clsId(): number { return this.tokenId('[CLS]'); }
  get sepId(): number { return this.tokenId('[SEP]'); }
  get padId(): number { return this.tokenId('[PAD]'); }
  get maskId(): number { return this.tokenId('[MASK]'); }

  /** The pieces of one pre-tokenised word: greedy longest match first; any gap → [UNK] for the whole word. */
  private word(w: string): number[] {
    const hit = this.cache.get(w);
    if (hit) return hit;
    const chars = Array.from(w);
    let out: number[];
    if (chars.length > this.options.maxInputCharsPerWord) out = [this.unkId];
    else {
      out = [];
      let start = 0;
      while (start < chars.length) {
        let end = chars.length, id: number | undefined;
        for (; end > start; end--) {
          const piece = (start > 0 ? this.options.prefix : '') + chars.slice(start, end).join('');
          id = this.idOf.get(piece);
          if (id !== undefined) break;
        }
        if (id === undefined) { out = [this.unkId]; break; }
        out.push(id);
        start = end;
      }
    }
    if (this.cache.size > 1 << 16) this.cache.clear();
    this.cache.set(w, out);
    return out;
  }

  /**
   * Token ids of text, without [CLS]/[SEP]. Special-token text (`[MASK]`) stays ordinary text unless
   * `allowedSpecial` names it (user text never injects one).
   */
  encode(text: string, opts: { allowedSpecial?: 'all' | Iterable<string> } = {}): number[] {
    const allowed = opts.allowedSpecial === 'all' ? [...this.specialTokens.keys()] : [...(opts.allowedSpecial ?? [])];
    if (!allowed.length) return this.encodeOrdinary(text);
    const esc = allowed.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const out: number[] = [];
    let at = 0;
    for (const m of text.matchAll(new RegExp(esc.join('|'), 'g'))) {
      out.push(...this.encodeOrdinary(text.slice(at, m.index)), this.tokenId(m[0]));
      at = m.index! + m[0].length;
    }
    out.push(...this.encodeOrdinary(text.slice(at)));
    return out;
  }

  private encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    for (const w of bertPreTokenize(bertNormalize(text, this.options))) out.push(...this.word(w));
    return out;
  }

  /** BERT's input: [CLS] a [SEP] (b [SEP]) with segment ids. */
  encodePair(a: string, b?: string): EncodedPair {
    const ia = this.encode(a);
    const ids = [this.clsId, ...ia, this.sepId];
    const typeIds = ids.map(() => 0);
    if (b !== undefined) {
      const ib = this.encode(b);
      ids.push(...ib, this.sepId);
      for (let i = 0; i <= ib.length; i++) typeIds.push(1);
    }
    return { ids, typeIds };
  }

  /**
   * Text of ids, as `tokenizers`' WordPiece decoder with skip_special_tokens: special tokens ([UNK]
   * too) left out, `##` pieces joined, a space before every other piece, and its per-piece cleanup
   * (a space before . ? ! , dropped).
   */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const skip = opts.skipSpecial ?? true;
    let s = '', n = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new TokenizerError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      const t = this.vocab[id];
      if (skip && this.specialTokens.has(t)) continue;
      let piece = t;
      if (n++ > 0) piece = t.startsWith(this.options.prefix) ? t.slice(this.options.prefix.length) : ' ' + t;
      s += piece.replace(/^ ([.?!,])/, '$1');
    }
    return s;
  }

  /** Hugging Face tokenizer.json text (BertWordPieceTokenizer's layout, with BERT's post-processor). */
  toJson(): string {
    const o = this.options;
    const sp = [...this.specialTokens].sort((a, b) => a[1] - b[1]);
    const vocab: Record<string, number> = {};
    this.vocab.forEach((t, i) => { vocab[t] = i; });
    const has = (t: string) => this.specialTokens.has(t);
    const json = {
      version: '1.0', truncation: null, padding: null,
      added_tokens: sp.map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'BertNormalizer', clean_text: o.cleanText, handle_chinese_chars: o.handleChineseChars, strip_accents: o.stripAccents, lowercase: o.lowercase },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: has('[CLS]') && has('[SEP]') ? { type: 'BertProcessing', sep: ['[SEP]', this.sepId], cls: ['[CLS]', this.clsId] } : null,
      decoder: { type: 'WordPiece', prefix: o.prefix, cleanup: true },
      model: { type: 'WordPiece', unk_token: o.unkToken, continuing_subword_prefix: o.prefix, max_input_chars_per_word: o.maxInputCharsPerWord, vocab },
    };
    return JSON.stringify(json, null, 1) + '\n';
  }

  vocabTxt(): string {
    return this.vocab.join('\n') + '\n';
  }

  /** DIR/tokenizer.json and DIR/vocab.txt, each atomically. */
  save(dir: string): void {
    writeFileAtomic(join(dir, 'tokenizer.json'), this.toJson());
    writeFileAtomic(join(dir, 'vocab.txt'), this.vocabTxt());
  }
}

/** BERT's vocab.txt: one token a line, the id is the line number. */
export function parseVocabTxt(text: string, file: string, options: Partial<WordPieceOptions> = {}): WordPieceTokenizer {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  try {
    return new WordPieceTokenizer(vocab, options);
  } catch (e) {
    if (e instanceof TokenizerError) throw new FileFormatError(file, e.message, e.hint);
    throw e;
  }
}

/** Whether a parsed tokenizer.json holds a WordPiece model. */
export function isWordPieceJson(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as { model?: { type?: unknown } }).model?.type === 'WordPiece';
}

/** A Hugging Face tokenizer.json with a WordPiece model; anything this encoder would not reproduce is refused. */
export function parseWordPieceJson(text: string, file: string): WordPieceTokenizer {
  let j: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(file, `not valid JSON (${(e as Error).message})`);
  }
  const m = j.model;
  if (!m || m.type !== 'WordPiece') throw new FileFormatError(file, `model.type is ${JSON.stringify(m?.type)}, expected "WordPiece"`);
  if (typeof m.vocab !== 'object' || m.vocab === null) throw new FileFormatError(file, 'model.vocab must be an object token → id');
  const n = j.normalizer;
  if (n !== null && n !== undefined && n.type !== 'BertNormalizer') throw new FileFormatError(file, `normalizer.type is ${JSON.stringify(n.type)}; only BertNormalizer (or none) is supported`);
  const pt = j.pre_tokenizer;
  if (pt && pt.type !== 'BertPreTokenizer') throw new FileFormatError(file, `pre_tokenizer.type is ${JSON.stringify(pt.type)}; only BertPreTokenizer is supported`);
  const entries = Object.entries(m.vocab as Record<string, unknown>);
  const vocab: string[] = new Array(entries.length);
  for (const [t, id] of entries) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= entries.length || vocab[id as number] !== undefined) {
      throw new FileFormatError(file, `model.vocab[${JSON.stringify(t)}] = ${JSON.stringify(id)}: ids must be 0 … ${entries.length - 1}, each once`);
    }
    vocab[id as number] = t;
  }
  const options: Partial<WordPieceOptions> = {
    unkToken: m.unk_token ?? '[UNK]', prefix: m.continuing_subword_prefix ?? '##', maxInputCharsPerWord: m.max_input_chars_per_word ?? 100,
    ...(n ? { lowercase: n.lowercase ?? true, stripAccents: n.strip_accents ?? null, cleanText: n.clean_text ?? true, handleChineseChars: n.handle_chinese_chars ?? true }
      : { lowercase: false, stripAccents: false, cleanText: false, handleChineseChars: false }),
  };
  try {
    return new WordPieceTokenizer(vocab, options);
  } catch (e) {
    if (e instanceof TokenizerError) throw new FileFormatError(file, e.message, e.hint);
    throw e;
  }
}

export interface WordPieceTrainOptions {
  vocabSize: number;
  specialTokens?: readonly string[];
  minFrequency?: number;
  /** Keep at most this many distinct characters (the most frequent); the rest become [UNK]. */
  limitAlphabet?: number;
  options?: Partial<WordPieceOptions>;
  onProgress?: (e: { phase: 'count' | 'merge'; words: number; vocab: number }) => void;
}

/**
 * Learn a WordPiece vocabulary: specials, then the alphabet (each character, and its `##` form
 * where it occurs inside a word), then merges of the most frequent adjacent pair (ties → the pair
 * whose joined text sorts first), until vocabSize or no pair reaches minFrequency. Deterministic.
 */
export async function trainWordPiece(texts: Iterable<string> | AsyncIterable<string>, opts: WordPieceTrainOptions): Promise<WordPieceTokenizer> {
  const o = { ...defaultWordPieceOptions, ...opts.options };
  const specials = [...(opts.specialTokens ?? BERT_SPECIAL_TOKENS)];
  if (!specials.includes(o.unkToken)) specials.splice(1, 0, o.unkToken);
  const minFreq = opts.minFrequency ?? 2;
  const counts = new Map<string, number>();
  for await (const t of texts) {
    for (const w of bertPreTokenize(bertNormalize(t, o))) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  opts.onProgress?.({ phase: 'count', words: counts.size, vocab: 0 });
  const words = [...counts.entries()].filter(([w]) => Array.from(w).length <= o.maxInputCharsPerWord).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // Alphabet: characters by frequency (ties by code point), cut at limitAlphabet.
  const charCount = new Map<string, number>();
  for (const [w, c] of words) for (const ch of w) charCount.set(ch, (charCount.get(ch) ?? 0) + c);
  let alphabet = [...charCount.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([ch]) => ch);
  if (opts.limitAlphabet !== undefined) alphabet = alphabet.slice(0, opts.limitAlphabet);
  alphabet.sort();
  const keep = new Set(alphabet);
  const vocab: string[] = [...specials];
  const idOf = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const add = (t: string): number => {
    let id = idOf.get(t);
    if (id === undefined) { id = vocab.length; vocab.push(t); idOf.set(t, id); }
    return id;
  };
  // Words as symbol id sequences (a word with a character outside the alphabet is left out: it is [UNK]).
  const seqs: number[][] = [], freq: number[] = [];
  for (const ch of alphabet) add(ch);
  for (const [w, c] of words) {
    const chars = Array.from(w);
    if (!chars.every((ch) => keep.has(ch))) continue;
    seqs.push(chars.map((ch, i) => add(i === 0 ? ch : o.prefix + ch)));
    freq.push(c);
  }
  const pairKey = (a: number, b: number) => a * 0x4000000 + b;
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const s = seqs[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = pairKey(s[i], s[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[wi]);
      if (sign > 0) {
        let set = where.get(k);
        if (!set) where.set(k, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < seqs.length; wi++) addPairs(wi, 1);
  const joined = (a: number, b: number) => vocab[a] + vocab[b].slice(o.prefix.length);
  while (vocab.length < opts.vocabSize) {
    let best = -1, bestCount = 0, bestText = '';
    for (const [k, c] of pairCount) {
      if (c < minFreq || c < bestCount) continue;
      const text = joined(Math.floor(k / 0x4000000), k % 0x4000000);
      if (c > bestCount || text < bestText) { best = k; bestCount = c; bestText = text; }
    }
    if (best < 0) break;
    const a = Math.floor(best / 0x4000000), b = best % 0x4000000;
    const merged = add(bestText);
    for (const wi of where.get(best) ?? []) {
      addPairs(wi, -1);
      const s = seqs[wi], next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { next.push(merged); i++; } else next.push(s[i]);
      }
      seqs[wi] = next;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
    where.delete(best);
    if (vocab.length % 256 === 0) opts.onProgress?.({ phase: 'merge', words: seqs.length, vocab: vocab.length });
  }
  opts.onProgress?.({ phase: 'merge', words: seqs.length, vocab: vocab.length });
  return new WordPieceTokenizer(vocab, o);
}

/** A WordPiece tokenizer from a directory (tokenizer.json with a WordPiece model, or vocab.txt) or a file of either kind. */
export function loadWordPiece(path: string): WordPieceTokenizer {
  if (!existsSync(path)) throw new FileFormatError(path, 'no such file or directory', 'give a directory holding tokenizer.json (WordPiece) or vocab.txt');
  if (!statSync(path).isDirectory()) {
    const text = readFileSync(path, 'utf8');
    return path.endsWith('.json') ? parseWordPieceJson(text, path) : parseVocabTxt(text, path);
  }
  const json = join(path, 'tokenizer.json');
  if (existsSync(json)) {
    const text = readFileSync(json, 'utf8');
    let parsed: unknown = null;
    try { parsed = JSON.parse(text); } catch { /* reported below */ }
    if (isWordPieceJson(parsed) || !existsSync(join(path, 'vocab.txt'))) return parseWordPieceJson(text, json);
  }
  const txt = join(path, 'vocab.txt');
  if (existsSync(txt)) return parseVocabTxt(readFileSync(txt, 'utf8'), txt, wordPieceOptionsFromConfig(path));
  throw new FileFormatError(path, 'expected tokenizer.json (WordPiece) or vocab.txt in this directory; found neither');
}

/** Whether a directory's (or file's) tokenizer is WordPiece rather than byte-level BPE. */
export function isWordPiecePath(path: string): boolean {
  if (!existsSync(path)) return false;
  const json = statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
  if (json.endsWith('.json') && existsSync(json)) {
    try { return isWordPieceJson(JSON.parse(readFileSync(json, 'utf8'))); } catch { return false; }
  }
  return statSync(path).isDirectory() ? existsSync(join(path, 'vocab.txt')) : path.endsWith('vocab.txt');
}

/** A Hugging Face directory's tokenizer_config.json says whether its vocab.txt is cased (`do_lower_case`). */
function wordPieceOptionsFromConfig(dir: string): Partial<WordPieceOptions> {
  const p = join(dir, 'tokenizer_config.json');
  if (!existsSync(p)) return {};
  try {
    const c = JSON.parse(readFileSync(p, 'utf8')) as { do_lower_case?: boolean; strip_accents?: boolean | null; tokenize_chinese_chars?: boolean };
    return {
      ...(typeof c.do_lower_case === 'boolean' ? { lowercase: c.do_lower_case } : {}),
      ...(c.strip_accents !== undefined ? { stripAccents: c.strip_accents } : {}),
      ...(typeof c.tokenize_chinese_chars === 'boolean' ? { handleChineseChars: c.tokenize_chinese_chars } : {}),
    };
  } catch {
    throw new FileFormatError(p, 'not valid JSON');
  }
}
