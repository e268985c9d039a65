// Byte-level text hashing shared by exact dedup, MinHash and the quality classifier. Everything
// works on UTF-8 bytes so that worker threads never build strings: a "word" is a maximal run of
// ASCII letters/digits or non-ASCII bytes (so any UTF-8 letter stays inside its word), ASCII letters
// are case-folded, and everything else separates words. All hashes are 32-bit, computed with
// Math.imul so every machine gives the same bits.

/** MurmurHash3's 32-bit finalizer: a bijection on uint32 that mixes every input bit into every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Combine two 32-bit hashes into one (order matters). */
export function combine32(a: number, b: number): number {
  return fmix32((Math.imul(a, 0x9e3779b1) ^ b) + 0x7f4a7c15);
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** 1 for bytes that belong to a word (ASCII alphanumerics and every non-ASCII byte), else 0. */
const WORD_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  WORD_BYTE[c] = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c >= 0x80 ? 1 : 0;
}

/**
 * Hash every word of bytes[start, end) into `out` (grown when too small); returns the (possibly new)
 * array and the word count. Words are case-folded for ASCII.
 */
export function wordHashes(bytes: Uint8Array, start: number, end: number, out: Int32Array): { hashes: Int32Array; count: number } {
  let n = 0;
  let h = FNV_OFFSET;
  let inWord = false;
  for (let i = start; i < end; i++) {
    let c = bytes[i];
    if (WORD_BYTE[c] === 1) {
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      h = Math.imul(h ^ c, FNV_PRIME);
      inWord = true;
    } else if (inWord) {
      if (n === out.length) out = grow(out);
      out[n++] = fmix32(h);
      h = FNV_OFFSET;
      inWord = false;
    }
  }
  if (inWord) {
    if (n === out.length) out = grow(out);
    out[n++] = fmix32(h);
  }
  return { hashes: out, count: n };
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(Math.max(64, a.length * 2));
  b.set(a);
  return b;
}

const WHITESPACE = new Uint8Array(256);
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) WHITESPACE[c] = 1;

/**
 * A 64-bit hash (two independent 32-bit halves, written to out[at], out[at+1]) of the normalised
 * text: ASCII case-folded, runs of whitespace collapsed to one space, leading/trailing whitespace
 * dropped. Two documents that differ only in case or spacing get the same key.
 */
export function normalizedKey(bytes: Uint8Array, start: number, end: number, out: Uint32Array | Int32Array, at: number): void {
  while (start < end && WHITESPACE[bytes[start]] === 1) start++;
  while (end > start && WHITESPACE[bytes[end - 1]] === 1) end--;
  let h1 = 0x243f6a88 | 0;
  let h2 = 0x13198a2e | 0;
  let pendingSpace = false;
  let length = 0;
  for (let i = start; i < end; i++) {
    let c = bytes[i];
    if (WHITESPACE[c] === 1) {
      pendingSpace = true;
      continue;
    }
    length++;
    if (pendingSpace) {
      h1 = Math.imul(h1 ^ 0x20, FNV_PRIME);
      h2 = Math.imul(h2 ^ 0x20, 0x5bd1e995);
      pendingSpace = false;
      length++;
    }
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    h1 = Math.imul(h1 ^ c, FNV_PRIME);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  out[at] = fmix32(h1 ^ length);
  out[at + 1] = fmix32(h2 + Math.imul(length, 0x27d4eb2d));
}
