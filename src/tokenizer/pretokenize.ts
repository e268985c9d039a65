// GPT-2's pre-tokenizer, hand-written. It splits text exactly where GPT-2's regex
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (JavaScript `u` semantics, as js-tiktoken and gpt-tokenizer run it) would split it, but scans
// each code unit once through a class table instead of running the regex engine: the encoder spends
// a large part of its time here. `pretokenize.test.ts` checks it against the regex itself.
//
// Character classes come from the same regexes (`\p{L}`, `\p{N}`, `\s`), evaluated once per code
// point: a table for the Basic Multilingual Plane built at load, and one per astral plane built the
// first time a character of that plane is seen. A lone surrogate is "other" (as in the regex).

export const OTHER = 0;
export const LETTER = 1;
export const NUMBER = 2;
export const SPACE = 3;

/** The regex this module reproduces (tests compare against it). */
export const GPT2_SPLIT_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function buildPlane(plane: number): Uint8Array {
  const table = new Uint8Array(0x10000);
  const base = plane << 16;
  const letter = /\p{L}/u;
  const number = /\p{N}/u;
  const space = /\s/u;
  for (let i = 0; i < 0x10000; i++) {
    const cp = base + i;
    if (plane === 0 && cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates: OTHER
    const ch = String.fromCodePoint(cp);
    table[i] = letter.test(ch) ? LETTER : number.test(ch) ? NUMBER : space.test(ch) ? SPACE : OTHER;
  }
  return table;
}

const bmp = buildPlane(0);
const astral: (Uint8Array | undefined)[] = new Array(17);

function astralClass(cp: number): number {
  const plane = cp >> 16;
  let table = astral[plane];
  if (table === undefined) table = astral[plane] = buildPlane(plane);
  return table[cp & 0xffff];
}

/** Class of the code point starting at text[i] (a lone surrogate is OTHER). */
export function classAt(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if ((c & 0xfc00) !== 0xd800) return bmp[c];
  const d = i + 1 < end ? text.charCodeAt(i + 1) : 0;
  if ((d & 0xfc00) !== 0xdc00) return OTHER;
  return astralClass(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
}

/** End of the run of class `cls` code points starting at j (surrogate pairs kept whole). */
function runEnd(text: string, j: number, end: number, cls: number): number {
  while (j < end) {
    const c = text.charCodeAt(j);
    if ((c & 0xfc00) !== 0xd800) {
      if (bmp[c] !== cls) return j;
      j++;
    } else {
      const d = j + 1 < end ? text.charCodeAt(j + 1) : 0;
      if ((d & 0xfc00) === 0xdc00) {
        if (astralClass(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)) !== cls) return j;
        j += 2;
      } else {
        if (cls !== OTHER) return j;
        j++;
      }
    }
  }
  return j;
}

/** Code units taken by the code point at text[i]. */
function width(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  return (c & 0xfc00) === 0xd800 && i + 1 < end && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
}

/**
 * End (exclusive) of the pre-token that starts at text[i], looking no further than `end`.
 * Requires i < end.
 */
export function preTokenEnd(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if (c === 39 && i + 1 < end) {
    // 's 't 'm 'd 're 've 'll — only at the start of a match, only lower case (as the regex)
    const d = text.charCodeAt(i + 1);
    if (d === 115 || d === 116 || d === 109 || d === 100) return i + 2;
    if (i + 2 < end) {
      const e = text.charCodeAt(i + 2);
      if ((e === 101 && (d === 114 || d === 118)) || (d === 108 && e === 108)) return i + 3;
    }
  }
  if (c === 32 && i + 1 < end) {
    const next = classAt(text, i + 1, end);
    if (next !== SPACE) return runEnd(text, i + 1 + width(text, i + 1, end), end, next);
  }
  const cls = c < 0x80 ? bmp[c] : classAt(text, i, end);
  if (cls !== SPACE) return runEnd(text, i + width(text, i, end), end, cls);
  // Whitespace run: `\s+(?!\S)` leaves the last space to the word that follows; a lone space
  // before a non-space (`\s+`) stands alone. No whitespace lies outside the BMP.
  let j = i + 1;
  while (j < end && bmp[text.charCodeAt(j)] === SPACE) j++;
  if (j === end || j - i === 1) return j;
  return j - 1;
}

/** Call `piece(start, end)` for every pre-token of text[start, end). */
export function forEachPreToken(text: string, piece: (s: number, e: number) => void, start = 0, end = text.length): void {
  let i = start;
  while (i < end) {
    const j = preTokenEnd(text, i, end);
    piece(i, j);
    i = j;
  }
}

/** The pre-tokens of text, as strings. */
export function preTokenize(text: string): string[] {
  const out: string[] = [];
  forEachPreToken(text, (s, e) => out.push(text.slice(s, e)));
  return out;
}

/**
 * A cut point in text[0, end) where splitting never changes the pre-tokens: the last place where
 * whitespace follows a non-space. No pre-token holds a non-space followed by whitespace, and the
 * split at a position depends only on the text after it. Returns 0 when there is none.
 */
export function lastSafeCut(text: string, end = text.length): number {
  for (let p = end - 1; p > 0; p--) {
    if (bmp[text.charCodeAt(p)] === SPACE && bmp[text.charCodeAt(p - 1)] !== SPACE) return p;
  }
  return 0;
}
