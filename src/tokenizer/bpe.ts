// The byte-level BPE tokenizer: a vocabulary of byte strings, a ranked list of merges and a set of
// special tokens. Text → UTF-8 bytes → GPT-2 pre-tokens → merges by rank within each pre-token.
//
// Contract:
// - Every one of the 256 bytes is a token, so any string encodes (no unknown token, ever), and
//   decode(encode(s)) === s for every well-formed string. A lone surrogate (not well-formed UTF-16)
//   is encoded as U+FFFD, as TextEncoder does, so it decodes to U+FFFD.
// - Special tokens are never produced from text unless the caller allows them by name
//   (`allowedSpecial`); otherwise their characters encode as ordinary text.
// - Encoding is fast: a hand-written pre-tokenizer, a cache of pre-token → ids, merges looked up
//   by integer pair, ASCII single characters without any lookup.
import { join } from 'node:path';
import { GptkitError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { preTokenEnd } from './pretokenize.ts';
import { utf8Encode, latin1 } from './bytes.ts';
import { MergeTable, mergeFlat, mergeHeap, FLAT_LIMIT } from './merge.ts';
import { tokenizerJsonText, vocabJsonText, mergesText } from './formats.ts';

/** Bad tokenizer contents or a bad call (unknown id, unknown special token). */
export class TokenizerError extends GptkitError {
  constructor(message: string, hint?: string) {
    super('tokenizer', message, hint);
  }
}

/** Everything a tokenizer is: what the file formats read and write. */
export interface TokenizerSpec {
  /** Bytes of each ordinary token by id; ids of special tokens are left empty (undefined). */
  tokens: (Uint8Array | undefined)[];
  /** Merges in priority order, as pairs of token ids; each one makes the token of their joined bytes. */
  merges: (readonly [number, number])[];
  /** Special token text → id. */
  specialTokens: Record<string, number>;
}

export interface EncodeOptions {
  /** Special tokens that text may turn into (by name), or 'all'. Default: none. */
  allowedSpecial?: 'all' | Iterable<string>;
}

/** Cached pre-tokens are short words; beyond this many entries the cache starts over. */
const CACHE_LIMIT = 1 << 17;
/** Pre-tokens longer than this (in code units) are not cached. */
const CACHE_MAX_PIECE = 64;

export class Tokenizer {
  /** Number of ids, special tokens included (ids run 0 … vocabSize-1, no holes). */
  readonly vocabSize: number;
  /** Special token text → id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** Merges in priority order (token id pairs). */
  readonly merges: readonly (readonly [number, number])[];
  private readonly bytesOf: Uint8Array[];
  private readonly isSpecial: Uint8Array;
  private readonly byteToId = new Int32Array(256).fill(-1);
  private readonly table: MergeTable;
  private cache = new Map<string, number | Int32Array>();
  private readonly scratchBytes = new Uint8Array(3 * CACHE_MAX_PIECE + 3);
  private readonly scratchSyms = new Int32Array(3 * CACHE_MAX_PIECE + 3);
  private readonly scratchRanks = new Int32Array(FLAT_LIMIT);

  /** Checks the spec whole: every byte a token, ids without holes, every merge making a token. */
  constructor(spec: TokenizerSpec) {
    const specials = Object.entries(spec.specialTokens);
    this.vocabSize = Math.max(spec.tokens.length, ...specials.map(([, id]) => id + 1));
    this.bytesOf = new Array(this.vocabSize);
    this.isSpecial = new Uint8Array(this.vocabSize);
    const idOfBytes = new Map<string, number>();
    const keys: string[] = new Array(spec.tokens.length);
    for (let id = 0; id < spec.tokens.length; id++) {
      const bytes = spec.tokens[id];
      if (bytes === undefined) continue;
      if (bytes.length === 0) throw new TokenizerError(`token ${id} is empty`);
      const key = keys[id] = latin1(bytes);
      const other = idOfBytes.get(key);
      if (other !== undefined) throw new TokenizerError(`tokens ${other} and ${id} have the same bytes [${bytes.join(',')}]`);
      idOfBytes.set(key, id);
      this.bytesOf[id] = bytes;
      if (bytes.length === 1) this.byteToId[bytes[0]] = id;
    }
    const encoder = new TextEncoder();
    for (const [text, id] of specials) {
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`special token ${JSON.stringify(text)} has id ${id}, expected a non-negative integer`);
      if (this.bytesOf[id] !== undefined) throw new TokenizerError(`special token ${JSON.stringify(text)} has id ${id}, which is already a ${this.isSpecial[id] ? 'special' : 'ordinary'} token`);
      if (text.length === 0) throw new TokenizerError(`special token with id ${id} is empty`);
      this.bytesOf[id] = encoder.encode(text);
      this.isSpecial[id] = 1;
    }
    for (let id = 0; id < this.vocabSize; id++) {
      if (this.bytesOf[id] === undefined) throw new TokenizerError(`the vocabulary has a hole: no token has id ${id} (ids must run 0…${this.vocabSize - 1})`);
    }
    const missing = [...this.byteToId.keys()].filter((b) => this.byteToId[b] < 0);
    if (missing.length) throw new TokenizerError(`${missing.length} of the 256 bytes have no token (first: byte ${missing[0]}); a byte-level vocabulary needs them all`);
    const results = new Int32Array(spec.merges.length);
    spec.merges.forEach(([a, b], r) => {
      for (const x of [a, b]) {
        if (!Number.isInteger(x) || x < 0 || x >= this.vocabSize || this.isSpecial[x]) throw new TokenizerError(`merge ${r} uses id ${x}, which is not an ordinary token`);
      }
      const c = idOfBytes.get(keys[a] + keys[b]);
      if (c === undefined) throw new TokenizerError(`merge ${r} (${a} ${b}) makes bytes [${this.bytesOf[a]},${this.bytesOf[b]}], which are not a token`);
      results[r] = c;
    });
    this.merges = spec.merges;
    this.table = new MergeTable(spec.merges, results);
    this.specialTokens = new Map(specials);
  }

  /** Id of a special token; a TokenizerError when the tokenizer has no such special token. */
  tokenId(special: string): number {
    const id = this.specialTokens.get(special);
    if (id === undefined) {
      throw new TokenizerError(`no special token ${JSON.stringify(special)}`, `this tokenizer has: ${[...this.specialTokens.keys()].join(', ') || 'none'}`);
    }
    return id;
  }

  /** Bytes of a token (UTF-8 text for special tokens). */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id, -1);
    return this.bytesOf[id];
  }

  isSpecialId(id: number): boolean {
    return this.isSpecial[id] === 1;
  }

  /** Token ids of text. Special tokens come only from the names in `allowedSpecial`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const allowed = this.allowedSpecials(options.allowedSpecial);
    if (allowed.length === 0) {
      this.encodeOrdinary(text, 0, text.length, out);
      return out;
    }
    let pos = 0;
    for (;;) {
      let at = -1;
      let which = '';
      for (const s of allowed) {
        const k = text.indexOf(s, pos);
        if (k >= 0 && (at < 0 || k < at || (k === at && s.length > which.length))) { at = k; which = s; }
      }
      if (at < 0) break;
      this.encodeOrdinary(text, pos, at, out);
      out.push(this.specialTokens.get(which)!);
      pos = at + which.length;
    }
    this.encodeOrdinary(text, pos, text.length, out);
    return out;
  }

  private allowedSpecials(allowed: EncodeOptions['allowedSpecial']): string[] {
    if (allowed === undefined) return [];
    if (allowed === 'all') return [...this.specialTokens.keys()];
    const names = [...allowed];
    for (const name of names) this.tokenId(name);
    return names;
  }

  /** Ordinary (no special token) encoding of text[start, end), appended to out. */
  encodeOrdinary(text: string, start: number, end: number, out: number[]): void {
    const cache = this.cache;
    const byteToId = this.byteToId;
    let i = start;
    while (i < end) {
      const j = preTokenEnd(text, i, end);
      const c = text.charCodeAt(i);
      if (j === i + 1 && c < 128) {
        out.push(byteToId[c]);
      } else if (j - i > CACHE_MAX_PIECE) {
        const ids = this.mergePiece(text, i, j);
        for (let k = 0; k < ids.length; k++) out.push(ids[k]);
      } else {
        const piece = text.slice(i, j);
        let ids = cache.get(piece);
        if (ids === undefined) {
          const merged = this.mergePiece(text, i, j);
          ids = merged.length === 1 ? merged[0] : merged;
          if (cache.size >= CACHE_LIMIT) cache.clear();
          cache.set(piece, ids);
        }
        if (typeof ids === 'number') out.push(ids);
        else for (let k = 0; k < ids.length; k++) out.push(ids[k]);
      }
      i = j;
    }
  }

  /** Ids of one pre-token text[start, end): its UTF-8 bytes merged by rank. */
  private mergePiece(text: string, start: number, end: number): Int32Array {
    const cap = 3 * (end - start);
    const bytes = cap > this.scratchBytes.length ? new Uint8Array(cap) : this.scratchBytes;
    return this.mergeBytes(bytes, utf8Encode(text, start, end, bytes));
  }

  private mergeBytes(bytes: Uint8Array, n: number): Int32Array {
    const syms = n > this.scratchSyms.length ? new Int32Array(n) : this.scratchSyms;
    for (let k = 0; k < n; k++) syms[k] = this.byteToId[bytes[k]];
    const m = n <= FLAT_LIMIT ? mergeFlat(this.table, syms, n, this.scratchRanks) : mergeHeap(this.table, syms, n);
    return syms.slice(0, m);
  }

  /** Ids of raw bytes merged as one pre-token (no pre-tokenization, no special tokens). */
  encodeBytes(bytes: Uint8Array): number[] {
    return bytes.length === 0 ? [] : Array.from(this.mergeBytes(bytes, bytes.length));
  }

  /** UTF-8 bytes of the tokens. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let n = 0;
    for (let k = 0; k < ids.length; k++) {
      this.checkId(ids[k], k);
      n += this.bytesOf[ids[k]].length;
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (let k = 0; k < ids.length; k++) {
      const b = this.bytesOf[ids[k]];
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  /** Text of the tokens; bytes that are not valid UTF-8 (a cut character) become U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    return decoder.decode(this.decodeBytes(ids));
  }

  private checkId(id: number, at: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`token id ${id}${at >= 0 ? ` at position ${at}` : ''} is out of range: expected an integer in [0, ${this.vocabSize})`);
    }
  }

  /** The spec this tokenizer was built from (tokens, merges, special tokens). */
  toSpec(): TokenizerSpec {
    const tokens = this.bytesOf.map((b, id) => (this.isSpecial[id] ? undefined : b));
    return { tokens, merges: [...this.merges], specialTokens: Object.fromEntries(this.specialTokens) };
  }

  /** Write DIR/tokenizer.json (Hugging Face format), atomically. */
  save(dir: string): void {
    writeFileAtomic(join(dir, 'tokenizer.json'), tokenizerJsonText(this.toSpec()));
  }

  /** Write DIR/vocab.json + DIR/merges.txt (GPT-2's files; special tokens go in vocab.json). */
  saveVocabMerges(dir: string): void {
    const spec = this.toSpec();
    writeFileAtomic(join(dir, 'vocab.json'), vocabJsonText(spec));
    writeFileAtomic(join(dir, 'merges.txt'), mergesText(spec));
  }
}

const decoder = new TextDecoder('utf-8');
