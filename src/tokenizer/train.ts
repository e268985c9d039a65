// Training a byte-level BPE vocabulary (GPT-2's recipe, Hugging Face's incremental algorithm).
//
// 1. Stream the texts once, cut them into GPT-2 pre-tokens and count each distinct pre-token.
//    Special tokens found in the text are boundaries, never learned from. Memory grows with the
//    number of distinct pre-tokens, not with the corpus.
// 2. Each distinct pre-token becomes a "word" of byte ids (0…255) with its count as weight. Count
//    every adjacent pair over the words, remembering which words hold each pair.
// 3. Repeatedly merge the most frequent pair into a new token: a max-heap of (count, pair) with lazy
//    invalidation (a popped entry whose count is stale is pushed back with the current one), and
//    only the words holding that pair are rewritten, adjusting the counts of their neighbouring
//    pairs. Ties go to the smaller pair (first id, then second): training is deterministic.
//
// Ids: 0…255 are the bytes (id = byte value), then one id per merge in order, then the special
// tokens. Training stops early when no pair occurs `minFrequency` times.
import { ConfigError } from '../util/errors.ts';
import { preTokenEnd } from './pretokenize.ts';
import { utf8Encode } from './bytes.ts';
import { Tokenizer } from './bpe.ts';

export interface TrainOptions {
  /** Total ids wanted: 256 bytes + merges + special tokens. */
  vocabSize: number;
  /** Special tokens, given ids after the merges, in this order. */
  specialTokens?: readonly string[];
  /** Pairs seen fewer times are never merged (default 2). */
  minFrequency?: number;
  onProgress?: (p: TrainProgress) => void;
}

export type TrainProgress =
  | { phase: 'count'; chars: number; distinct: number }
  | { phase: 'merge'; merges: number; total: number; count: number };

/** Counts of distinct pre-tokens over a stream of texts (phase 1). */
export async function countPreTokens(
  texts: Iterable<string> | AsyncIterable<string>,
  specialTokens: readonly string[] = [],
  onProgress?: (p: TrainProgress) => void,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let chars = 0;
  let reported = 0;
  const countRange = (text: string, start: number, end: number): void => {
    let i = start;
    while (i < end) {
      const j = preTokenEnd(text, i, end);
      const piece = text.slice(i, j);
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
      i = j;
    }
  };
  for await (const text of texts) {
    let pos = 0;
    for (;;) {
      let at = -1;
      let len = 0;
      for (const s of specialTokens) {
        const k = text.indexOf(s, pos);
        if (k >= 0 && (at < 0 || k < at)) { at = k; len = s.length; }
      }
      if (at < 0) break;
      countRange(text, pos, at);
      pos = at + len;
    }
    countRange(text, pos, text.length);
    chars += text.length;
    if (onProgress && chars - reported >= 1 << 20) {
      reported = chars;
      onProgress({ phase: 'count', chars, distinct: counts.size });
    }
  }
  onProgress?.({ phase: 'count', chars, distinct: counts.size });
  return counts;
}

/** Train a tokenizer on texts (strings, or chunks cut where pre-tokens never span: see corpus.ts). */
export async function trainBpe(texts: Iterable<string> | AsyncIterable<string>, options: TrainOptions): Promise<Tokenizer> {
  const specials = options.specialTokens ?? [];
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < 256 + specials.length) {
    throw new ConfigError(`vocabSize: expected an integer ≥ ${256 + specials.length} (256 bytes + ${specials.length} special tokens), found ${options.vocabSize}`);
  }
  if (new Set(specials).size !== specials.length || specials.some((s) => s.length === 0)) {
    throw new ConfigError(`specialTokens: expected distinct non-empty strings, found ${JSON.stringify(specials)}`);
  }
  const counts = await countPreTokens(texts, specials, options.onProgress);
  const merges = learnMerges(counts, options.vocabSize - 256 - specials.length, minFrequency, options.onProgress);
  const tokens: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokens.push(Uint8Array.of(b));
  for (const [a, b] of merges) {
    const t = new Uint8Array(tokens[a].length + tokens[b].length);
    t.set(tokens[a]);
    t.set(tokens[b], tokens[a].length);
    tokens.push(t);
  }
  const specialTokens: Record<string, number> = {};
  specials.forEach((s, k) => { specialTokens[s] = tokens.length + k; });
  return new Tokenizer({ tokens, merges, specialTokens });
}

/** Phase 2 and 3: up to `maxMerges` merges from pre-token counts. */
export function learnMerges(
  counts: Map<string, number>,
  maxMerges: number,
  minFrequency: number,
  onProgress?: (p: TrainProgress) => void,
): [number, number][] {
  // Words: byte ids of every distinct pre-token with two or more bytes, in one buffer.
  let total = 0;
  let longest = 1;
  for (const piece of counts.keys()) {
    total += piece.length * 3;
    longest = Math.max(longest, piece.length);
  }
  const syms = new Int32Array(total);
  const wordStart: number[] = [];
  const wordLen: number[] = [];
  const wordCount: number[] = [];
  let used = 0;
  const scratch = new Uint8Array(3 * longest);
  for (const [piece, count] of counts) {
    const n = utf8Encode(piece, 0, piece.length, scratch);
    if (n < 2) continue;
    for (let k = 0; k < n; k++) syms[used + k] = scratch[k];
    wordStart.push(used);
    wordLen.push(n);
    wordCount.push(count);
    used += n;
  }

  // Pairs: index by key a·K + b; count, and the words holding them (each word listed once).
  const K = 256 + maxMerges;
  const pairOf = new Map<number, number>();
  const pairKey: number[] = [];
  const pairCount: number[] = [];
  const pairWords: number[][] = [];
  const pairIndex = (a: number, b: number): number => {
    const key = a * K + b;
    let p = pairOf.get(key);
    if (p === undefined) {
      p = pairKey.length;
      pairOf.set(key, p);
      pairKey.push(key);
      pairCount.push(0);
      pairWords.push([]);
    }
    return p;
  };
  const addWord = (p: number, w: number): void => {
    const list = pairWords[p];
    if (list.length === 0 || list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < wordStart.length; w++) {
    const s = wordStart[w];
    for (let i = s; i + 1 < s + wordLen[w]; i++) {
      const p = pairIndex(syms[i], syms[i + 1]);
      pairCount[p] += wordCount[w];
      addWord(p, w);
    }
  }

  const heap = new PairHeap(pairKey);
  for (let p = 0; p < pairKey.length; p++) heap.push(pairCount[p], p);

  const merges: [number, number][] = [];
  const created: number[] = [];
  while (merges.length < maxMerges && heap.size > 0) {
    const [count, p] = heap.pop();
    if (count !== pairCount[p]) {
      if (pairCount[p] > 0) heap.push(pairCount[p], p);
      continue;
    }
    if (count < minFrequency) break;
    const a = Math.floor(pairKey[p] / K);
    const b = pairKey[p] - a * K;
    const z = 256 + merges.length;
    merges.push([a, b]);
    created.length = 0;
    const change = (x: number, y: number, delta: number, w: number): void => {
      const q = pairIndex(x, y);
      if (delta > 0) {
        if (pairCount[q] === 0 && pairWords[q].length === 0) created.push(q);
        addWord(q, w);
      }
      pairCount[q] += delta;
    };
    for (const w of pairWords[p]) {
      const s = wordStart[w];
      const end = s + wordLen[w];
      const wc = wordCount[w];
      let out = s;
      for (let i = s; i < end; i++) {
        if (i + 1 < end && syms[i] === a && syms[i + 1] === b) {
          pairCount[p] -= wc;
          if (out > s) { change(syms[out - 1], a, -wc, w); change(syms[out - 1], z, wc, w); }
          if (i + 2 < end) { change(b, syms[i + 2], -wc, w); change(z, syms[i + 2], wc, w); }
          syms[out++] = z;
          i++;
        } else {
          syms[out++] = syms[i];
        }
      }
      wordLen[w] = out - s;
    }
    pairWords[p] = [];
    for (const q of created) if (pairCount[q] > 0) heap.push(pairCount[q], q);
    if (onProgress && (merges.length % 256 === 0 || merges.length === maxMerges)) {
      onProgress({ phase: 'merge', merges: merges.length, total: maxMerges, count });
    }
  }
  return merges;
}

/** Max-heap of (count, pair): higher count first, then the smaller pair key. */
class PairHeap {
  private counts: number[] = [];
  private pairs: number[] = [];

  constructor(private readonly keys: readonly number[]) {}

  get size(): number {
    return this.counts.length;
  }

  private before(c1: number, p1: number, c2: number, p2: number): boolean {
    return c1 > c2 || (c1 === c2 && this.keys[p1] < this.keys[p2]);
  }

  push(count: number, pair: number): void {
    let i = this.counts.length;
    this.counts.push(count);
    this.pairs.push(pair);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.before(count, pair, this.counts[up], this.pairs[up])) break;
      this.counts[i] = this.counts[up];
      this.pairs[i] = this.pairs[up];
      i = up;
    }
    this.counts[i] = count;
    this.pairs[i] = pair;
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.pairs[0]];
    const count = this.counts.pop()!;
    const pair = this.pairs.pop()!;
    const n = this.counts.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this.before(this.counts[c + 1], this.pairs[c + 1], this.counts[c], this.pairs[c])) c++;
        if (!this.before(this.counts[c], this.pairs[c], count, pair)) break;
        this.counts[i] = this.counts[c];
        this.pairs[i] = this.pairs[c];
        i = c;
      }
      this.counts[i] = count;
      this.pairs[i] = pair;
    }
    return top;
  }
}
