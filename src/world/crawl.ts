// The raw crawl: documents of the reference kinds (drawn from their own stream, so they are new
// documents, not copies of the reference corpus), mixed with junk (keyword spam, navigation
// boilerplate, word salad, garbled text, truncated snippet listings) and with exact and near
// duplicates, shuffled. The planted truth goes to a separate answer record per document.
// Streaming: the crawl is made in chunks; duplicates copy originals of their own chunk and each
// chunk is shuffled on its own, so memory is bounded by one chunk whatever the size.
import type { Rng } from '../util/rng.ts';
import * as L from './lexicon.ts';
import type { World } from './model.ts';
import { randomDocument } from './corpus.ts';

export type JunkKind = 'keyword_spam' | 'boilerplate' | 'word_salad' | 'garbled' | 'truncated';
export const JUNK_KINDS: readonly JunkKind[] = ['keyword_spam', 'boilerplate', 'word_salad', 'garbled', 'truncated'];

export interface CrawlAnswer { id: string; junk: boolean; junk_kind: JunkKind | null; duplicate_of: string | null; dup_kind: 'exact' | 'near' | null }
export interface CrawlDoc { id: string; text: string; answer: CrawlAnswer }

/** Shares of each kind of crawl record. */
export const CRAWL_MIX = { good: 0.65, junk: 0.2, exact: 0.05, near: 0.1 } as const;
const CHUNK = 2000;
/** Originals shorter than this are never copied: a few edits would change most of their shingles. */
const MIN_DUP_WORDS = 50;
/** Near duplicates keep at least this 5-word-shingle Jaccard similarity with their original. */
export const NEAR_DUP_MIN_JACCARD = 0.7;

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The set of word n-grams of a text (lowercased, punctuation ignored). */
export function shingles(text: string, n = 5): Set<string> {
  const ws = words(text);
  const out = new Set<string>();
  for (let i = 0; i + n <= ws.length; i++) out.add(ws.slice(i, i + n).join(' '));
  if (ws.length > 0 && ws.length < n) out.add(ws.join(' '));
  return out;
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

// ---------------------------------------------------------------------------------------------
// Junk

function keywordSpam(rng: Rng, w: World): string {
  const topics = [rng.pick(L.ITEM_KINDS), rng.pick(L.FOODS), rng.pick(w.places).name];
  const out: string[] = [];
  const n = 40 + rng.int(80);
  while (out.length < n) {
    const t = rng.pick(topics);
    out.push(rng.pick([`${rng.pick(L.SPAM_WORDS)} ${t}`, `${t} ${rng.pick(L.SPAM_WORDS)} ${rng.pick(L.SPAM_WORDS)}`, `${rng.pick(L.SPAM_WORDS).toUpperCase()}!!!`, `${t} ${t}`, `${rng.int(90) + 10}% off`]));
  }
  return out.join(rng.pick([' ', ', ', ' | ', ' - ']));
}

function boilerplate(rng: Rng, w: World): string {
  const site = `${rng.pick(w.places).name} ${rng.pick(['Online', 'News', 'Portal', 'Today', 'Market'])}`;
  const lines: string[] = [];
  lines.push(rng.shuffle([...L.NAV_ITEMS]).slice(0, 6 + rng.int(8)).join(' | '));
  if (rng.next() < 0.7) lines.push(`Welcome to ${site}. ${rng.pick(['Please log in to continue.', 'You are not logged in.', 'Register for free to see more.'])}`);
  lines.push(rng.pick(['This site uses cookies to improve your experience. By continuing you accept our use of cookies.', 'We use cookies. Accept all | Reject all | Manage preferences', 'JavaScript is disabled in your browser. Please enable JavaScript to view this page.']));
  lines.push(rng.shuffle([...L.NAV_ITEMS]).slice(0, 5 + rng.int(8)).join(' · '));
  lines.push(`© ${2000 + rng.int(25)} ${site}. All rights reserved.`);
  if (rng.next() < 0.5) lines.push(`Page ${1 + rng.int(9)} of ${10 + rng.int(90)} | Next » | Last »`);
  return lines.join('\n');
}

function wordSalad(rng: Rng, vocab: readonly string[]): string {
  const n = 60 + rng.int(120);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rng.next() < 0.4 ? rng.pick(L.COMMON_WORDS) : rng.pick(vocab));
  return out.join(' ');
}

const MOJIBAKE: [RegExp, string][] = [[/'/g, 'â€™'], [/e/g, 'Ã©'], [/ /g, '&nbsp;'], [/\./g, '.</p><p>'], [/a/g, 'Ã¡']];

function garbled(rng: Rng, good: string): string {
  let t = good;
  // A few systematic encoding faults over the whole text, then random byte-level noise.
  for (const [re, rep] of rng.shuffle([...MOJIBAKE]).slice(0, 2 + rng.int(2))) {
    t = t.replace(re, (m) => (rng.next() < 0.6 ? rep : m));
  }
  const chars = [...t];
  for (let i = 0; i < chars.length; i++) {
    const x = rng.next();
    if (x < 0.04) chars[i] = rng.pick(['ï¿½', '#', '@', '%', '\\x00', '{', '}']);
    else if (x < 0.07 && i + 1 < chars.length) { const c = chars[i]; chars[i] = chars[i + 1]; chars[i + 1] = c; }
  }
  return chars.join('');
}

function truncatedListing(rng: Rng, goods: readonly string[]): string {
  const out: string[] = [];
  const n = 3 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const t = rng.pick(goods).replace(/\s+/g, ' ');
    const cut = Math.min(t.length - 1, 40 + rng.int(80));
    out.push(`${t.slice(0, cut)}${rng.pick(['…', '...', ' [...]'])} ${rng.pick(['Read more »', 'Continue reading →', '(more)', 'Click to expand'])}`);
    out.push(`Posted ${1 + rng.int(28)}/${1 + rng.int(12)}/${2000 + rng.int(25)} | ${rng.int(40)} comments`);
  }
  return out.join('\n');
}

function junk(rng: Rng, w: World, kind: JunkKind, goods: readonly string[], vocab: readonly string[]): string {
  switch (kind) {
    case 'keyword_spam': return keywordSpam(rng, w);
    case 'boilerplate': return boilerplate(rng, w);
    case 'word_salad': return wordSalad(rng, vocab);
    case 'garbled': return garbled(rng, rng.pick(goods));
    case 'truncated': return truncatedListing(rng, goods);
  }
}

// ---------------------------------------------------------------------------------------------
// Near duplicates

const FILLERS = ['really', 'also', 'indeed', 'quite', 'still', 'just', 'truly', 'certainly'];

function sentencesOf(text: string): string[] {
  return text.match(/[^.!?\n]+[.!?]?\s*|\n+/g) ?? [text];
}

/** One small edit: a word inserted, deleted or replaced, two sentences swapped, or one dropped. */
function edit(rng: Rng, text: string): string {
  const op = rng.int(5);
  if (op >= 3) {
    const ss = sentencesOf(text);
    const real = ss.map((s, i) => (/\w/.test(s) ? i : -1)).filter((i) => i >= 0);
    if (real.length >= 5) {
      const k = rng.int(real.length - 1);
      if (op === 3) { const a = real[k], b = real[k + 1]; const t = ss[a]; ss[a] = ss[b]; ss[b] = t; }
      else ss.splice(real[1 + rng.int(real.length - 1)], 1);
      return ss.join('');
    }
  }
  const ws = text.split(' ');
  const i = rng.int(ws.length);
  if (op === 0) ws.splice(i, 0, rng.pick(FILLERS));
  else if (op === 1 && ws.length > 1) ws.splice(i, 1);
  else ws[i] = rng.pick(L.COMMON_WORDS);
  return ws.join(' ');
}

/** A close copy: one edit per ~40 words (at most 4), retried with fewer edits until similar enough. */
export function nearDuplicate(rng: Rng, text: string): string {
  const base = shingles(text);
  const n = Math.min(4, Math.max(1, Math.round(words(text).length / 40)));
  for (let edits = n; ; edits = Math.max(1, edits - 1)) {
    let t = text;
    for (let e = 0; e < edits; e++) t = edit(rng, t);
    if (t !== text && jaccard(base, shingles(t)) >= NEAR_DUP_MIN_JACCARD) return t;
  }
}

// ---------------------------------------------------------------------------------------------

interface Pending { text: string; junk: JunkKind | null; original: number | null; dup: 'exact' | 'near' | null }

function makeChunk(rng: Rng, w: World, size: number): Pending[] {
  const nGood = Math.round(size * CRAWL_MIX.good);
  const nJunk = Math.round(size * CRAWL_MIX.junk);
  const nExact = Math.round(size * CRAWL_MIX.exact);
  const nNear = size - nGood - nJunk - nExact;
  const recs: Pending[] = [];
  const vocab = new Set<string>();
  for (let i = 0; i < nGood; i++) {
    const text = randomDocument(rng, w).text;
    recs.push({ text, junk: null, original: null, dup: null });
    if (i < 50) for (const x of words(text)) vocab.add(x);
  }
  const goods = recs.map((r) => r.text);
  const vocabList = [...vocab];
  for (let i = 0; i < nJunk; i++) recs.push({ text: junk(rng, w, JUNK_KINDS[i % JUNK_KINDS.length], goods, vocabList), junk: JUNK_KINDS[i % JUNK_KINDS.length], original: null, dup: null });
  const sources = goods.map((t, i) => (words(t).length >= MIN_DUP_WORDS ? i : -1)).filter((i) => i >= 0);
  for (let i = 0; i < nExact + nNear; i++) {
    const src = rng.pick(sources);
    const near = i >= nExact;
    recs.push({ text: near ? nearDuplicate(rng, goods[src]) : goods[src], junk: null, original: src, dup: near ? 'near' : 'exact' });
  }
  return recs;
}

/**
 * The crawl, streamed in shuffled chunks of `chunk` records until at least `chars` characters have
 * been produced. Chunks are always finished, so every duplicate's original is in the crawl.
 */
export function* crawlDocuments(w: World, chars = w.preset.crawlChars, chunk = CHUNK): Generator<CrawlDoc> {
  const rng = w.rng.fork('crawl');
  let next = 0, total = 0;
  while (total < chars) {
    const recs = makeChunk(rng, w, chunk);
    const order = rng.shuffle(recs.map((_, i) => i));
    const idOf = new Array<string>(recs.length);
    order.forEach((r, pos) => { idOf[r] = `crawl-${String(next + pos).padStart(8, '0')}`; });
    for (const r of order) {
      const rec = recs[r];
      total += rec.text.length;
      const answer: CrawlAnswer = { id: idOf[r], junk: rec.junk !== null, junk_kind: rec.junk, duplicate_of: rec.original === null ? null : idOf[rec.original], dup_kind: rec.dup };
      yield { id: idOf[r], text: rec.text, answer };
    }
    next += recs.length;
  }
}
