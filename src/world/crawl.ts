// The raw crawl: documents of the reference kinds (drawn from their own stream, so they are new
// documents, not copies of the reference corpus), mixed with junk and with exact and near
// duplicates, shuffled. The planted truth goes to a separate answer record per document.
//
// Made so that curation can fail, as it does on real crawls:
// - junk ranges from the easy (keyword spam, navigation boilerplate, word salad, garbled text,
//   snippet listings) to the hard: fluent text on topics the reference never covers, good text cut
//   short mid-sentence, and pages that are mostly boilerplate around a sentence or two of content;
// - near duplicates are of four kinds crawls hold — the same article inside another site's
//   navigation header and footer, an excerpt (half or more of the document), reordered sentences,
//   and light edits — spread over 5-word-shingle Jaccard 0.5–0.95 (each answer records its own);
// - hard negatives: families of distinct documents written from one template that differ only in
//   names and numbers (Jaccard 0.3–0.55 with each other): deduplication must keep them all.
// Streaming: the crawl is made in chunks; duplicates copy originals of their own chunk and each
// chunk is shuffled on its own, so memory is bounded by one chunk whatever the size.
import type { Rng } from '../util/rng.ts';
import * as L from './lexicon.ts';
import type { World } from './model.ts';
import { randomDocument } from './corpus.ts';

export type JunkKind = 'keyword_spam' | 'boilerplate' | 'word_salad' | 'garbled' | 'truncated' | 'off_topic' | 'cut_short' | 'mostly_boilerplate';
export const JUNK_KINDS: readonly JunkKind[] = ['keyword_spam', 'boilerplate', 'word_salad', 'garbled', 'truncated', 'off_topic', 'cut_short', 'mostly_boilerplate'];
/** The junk kinds made to be harder than spam and salad: fluent text, or mostly good text (world/crawl.test.ts measures which are). */
export const HARD_JUNK_KINDS: readonly JunkKind[] = ['off_topic', 'cut_short', 'mostly_boilerplate'];

export type NearKind = 'framed' | 'excerpt' | 'reordered' | 'edited';
export const NEAR_KINDS: readonly NearKind[] = ['framed', 'excerpt', 'reordered', 'edited'];

export interface CrawlAnswer {
  id: string;
  junk: boolean;
  junk_kind: JunkKind | null;
  duplicate_of: string | null;
  dup_kind: 'exact' | 'near' | null;
  /** How a near duplicate was made. */
  near_kind: NearKind | null;
  /** A near duplicate's 5-shingle Jaccard with its original; a template document's highest with its family. */
  jaccard: number | null;
  /** Hard negatives: the template family of a distinct document (its siblings must be kept too). */
  template_family: string | null;
}
export interface CrawlDoc { id: string; text: string; answer: CrawlAnswer }

/** Shares of each kind of crawl record (template: distinct documents from shared templates, kept). */
export const CRAWL_MIX = { good: 0.6, template: 0.05, junk: 0.2, exact: 0.05, near: 0.1 } as const;
const CHUNK = 2000;
/** Originals shorter than this are never copied: a few edits would change most of their shingles. */
const MIN_DUP_WORDS = 50;
/** Near duplicates are planted with a 5-word-shingle Jaccard to their original in this range. */
export const NEAR_DUP_JACCARD = { min: 0.5, max: 0.95 } as const;
/** Documents of one template family share at most this Jaccard (and at least TEMPLATE_JACCARD.min with one sibling). */
export const TEMPLATE_JACCARD = { min: 0.3, max: 0.55 } as const;
/** Documents per template family. */
const TEMPLATE_FAMILY = 4;

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

// Fluent text about what the world never talks about (finance, software, sport, offices): every
// sentence grammatical, none of it about the world's people, places or creatures.
const OFF_SUBJECTS = ['The quarterly report', 'Our software team', 'The new update', 'The board of directors', 'Most investors', 'The league', 'The marketing department', 'The server cluster', 'Our customer support staff', 'The annual budget', 'The head coach', 'The regional office'];
const OFF_VERBS = ['announced', 'postponed', 'reviewed', 'approved', 'criticised', 'improved', 'delayed', 'published', 'questioned', 'expanded'];
const OFF_OBJECTS = ['the revised pricing plan', 'a new security policy', 'the second-quarter forecast', 'the merger proposal', 'the training schedule', 'the database migration', 'the sponsorship deal', 'the hiring freeze', 'an updated privacy notice', 'the mobile application', 'the dividend payment', 'the season ticket prices'];
const OFF_TAILS = ['after a long meeting on Tuesday', 'despite several complaints', 'ahead of the deadline', 'to the surprise of analysts', 'without further comment', 'following the latest audit', 'as part of a wider restructuring', 'in a statement to shareholders', 'before the transfer window closed', 'according to an internal memo'];
const OFF_FOLLOWUPS = ['Analysts expect the change to affect results next year.', 'A spokesperson said more details would follow.', 'Employees were informed by email.', 'The decision will be reviewed in the spring.', 'Critics called the move short-sighted.', 'Supporters say it was long overdue.', 'Shares rose slightly on the news.', 'The full document is available on request.'];

function offTopic(rng: Rng): string {
  const n = 5 + rng.int(6);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(rng.next() < 0.3 ? rng.pick(OFF_FOLLOWUPS) : `${rng.pick(OFF_SUBJECTS)} ${rng.pick(OFF_VERBS)} ${rng.pick(OFF_OBJECTS)} ${rng.pick(OFF_TAILS)}.`);
  }
  return out.join(' ');
}

/** Good text broken off after 15–35% of it, mid-sentence: a page that failed to load. */
function cutShort(rng: Rng, good: string): string {
  const ws = good.split(' ');
  const keep = Math.max(4, Math.round(ws.length * (0.15 + 0.2 * rng.next())));
  return ws.slice(0, keep).join(' ').replace(/[.!?]+$/, '');
}

/** A sentence or two of good text lost in navigation, cookie banners and footers. */
function mostlyBoilerplate(rng: Rng, w: World, good: string): string {
  const sentences = sentencesOf(good).filter((x) => /\w/.test(x));
  const start = rng.int(Math.max(1, sentences.length - 1));
  const content = sentences.slice(start, start + 1 + rng.int(2)).join('').trim();
  return `${boilerplate(rng, w)}\n${content}\n${boilerplate(rng, w)}`;
}

function junk(rng: Rng, w: World, kind: JunkKind, goods: readonly string[], vocab: readonly string[]): string {
  switch (kind) {
    case 'keyword_spam': return keywordSpam(rng, w);
    case 'boilerplate': return boilerplate(rng, w);
    case 'word_salad': return wordSalad(rng, vocab);
    case 'garbled': return garbled(rng, rng.pick(goods));
    case 'truncated': return truncatedListing(rng, goods);
    case 'off_topic': return offTopic(rng);
    case 'cut_short': return cutShort(rng, rng.pick(goods));
    case 'mostly_boilerplate': return mostlyBoilerplate(rng, w, rng.pick(goods));
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

/** The same article inside another site's navigation header and footer (1–3 lines each). */
function framed(rng: Rng, w: World, text: string): string {
  const site = `${rng.pick(w.places).name} ${rng.pick(['Online', 'News', 'Portal', 'Today', 'Weekly'])}`;
  const header = [rng.shuffle([...L.NAV_ITEMS]).slice(0, 3 + rng.int(6)).join(' | ')];
  if (rng.next() < 0.6) header.push(`${site} » ${rng.pick(['Articles', 'Stories', 'Local', 'Features'])} » ${rng.pick(['Read', 'Archive', 'Today'])}`);
  const footer = [`© ${2000 + rng.int(25)} ${site}. All rights reserved.`];
  if (rng.next() < 0.6) footer.push(rng.shuffle([...L.NAV_ITEMS]).slice(0, 3 + rng.int(6)).join(' · '));
  if (rng.next() < 0.4) footer.push(rng.pick(['Share this story: Facebook | Tweet | Email', 'Comments are closed.', 'Related: more stories from this area']));
  return `${header.join('\n')}\n${text}\n${footer.join('\n')}`;
}

/** A contiguous run of the document's sentences covering half or more of it. */
function excerpt(rng: Rng, text: string): string {
  const ss = sentencesOf(text);
  const keep = Math.max(1, Math.round(ss.length * (0.5 + 0.45 * rng.next())));
  const start = rng.int(ss.length - keep + 1);
  return ss.slice(start, start + keep).join('').trim();
}

/** Some of the document's sentences moved to other places. */
function reordered(rng: Rng, text: string): string {
  const ss = sentencesOf(text);
  const moves = 1 + rng.int(Math.max(1, Math.round(ss.length / 3)));
  for (let m = 0; m < moves && ss.length > 2; m++) {
    const [x] = ss.splice(rng.int(ss.length), 1);
    ss.splice(rng.int(ss.length + 1), 0, /\s$/.test(x) ? x : x + ' ');
  }
  return ss.join('').trim();
}

/** Light edits, from one to one per 10 words (words inserted, deleted or replaced, sentences swapped or dropped). */
function edited(rng: Rng, text: string): string {
  const n = 1 + rng.int(Math.max(1, Math.round(words(text).length / 10)));
  let t = text;
  for (let e = 0; e < n; e++) t = edit(rng, t);
  return t;
}

/**
 * A near duplicate of `text` of the given kind, its Jaccard with the original within
 * NEAR_DUP_JACCARD (drawn again until it is; null when 20 tries of this kind all miss).
 */
export function nearDuplicate(rng: Rng, w: World, text: string, kind: NearKind): { text: string; jaccard: number } | null {
  const base = shingles(text);
  for (let tries = 0; tries < 20; tries++) {
    const t = kind === 'framed' ? framed(rng, w, text) : kind === 'excerpt' ? excerpt(rng, text) : kind === 'reordered' ? reordered(rng, text) : edited(rng, text);
    if (t === text) continue;
    const j = jaccard(base, shingles(t));
    if (j >= NEAR_DUP_JACCARD.min && j <= NEAR_DUP_JACCARD.max) return { text: t, jaccard: j };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Hard negatives: distinct documents from one template

type Slots = { name: string; name2: string; place: string; n1: number; n2: number; n3: number; hour: number; day: number; month: string; item: string; food: string };
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Notices, listings and reports written from one form, as sites publish them by the hundred. */
const TEMPLATES: ((s: Slots) => string)[] = [
  (s) => `Notice to the people of ${s.place}. The spring fair will be held on ${s.day} ${s.month} on the green beside the old mill. Stalls open at ${s.hour} o'clock in the morning and close when the bell rings at dusk. ${s.name} will sell ${s.food} and ${s.name2} will judge the ${s.item} contest. Entry costs ${s.n2} coins for grown folk and nothing for children under ${s.n3}. Please bring your own cups, keep dogs on a lead and leave the green as tidy as you found it.`,
  (s) => `For sale in ${s.place}: a sturdy ${s.item}, hardly used, kept dry all winter in a good shed. The asking price is ${s.n1} coins, or ${s.n2} coins with the cover and the spare parts. It can be seen any afternoon after ${s.hour} o'clock at the house of ${s.name} near the well. Buyers must collect it themselves. ${s.name2} can vouch that it works as it should. No offers by letter, please, and no callers before the ${s.day}th of ${s.month}.`,
  (s) => `Weather record for ${s.place}, ${s.day} ${s.month}. The morning was cold with a light wind from the hills, and the afternoon turned warm and bright. The highest reading of the day was ${s.n1} degrees and the lowest was ${s.n2} degrees. Rain fell for about ${s.n3} minutes in the evening. The record was kept by ${s.name}, who reads the glass at the same hours every day, and checked by ${s.name2}. Farmers are advised to bring in the ${s.food} before the end of the week.`,
  (s) => `Lost in ${s.place}: one ${s.item}, last seen on the ${s.day}th of ${s.month} near the market cross. It belongs to ${s.name}, who has had it for ${s.n1} years and is very fond of it. A reward of ${s.n2} coins is offered to whoever brings it back in good order. Please leave word with ${s.name2} at the bakery, which is open every day except the ${s.n3}th. Anyone who saw it that morning is asked to come forward, however small the detail may seem.`,
];

function templateSlots(rng: Rng, w: World): Slots {
  return {
    name: rng.pick(w.people).name, name2: rng.pick(w.people).name, place: rng.pick(w.places).name,
    n1: 2 + rng.int(97), n2: 2 + rng.int(97), n3: 2 + rng.int(27), hour: 5 + rng.int(7), day: 1 + rng.int(28), month: rng.pick(MONTHS),
    item: rng.pick(L.ITEM_KINDS), food: rng.pick(L.FOODS),
  };
}

/**
 * A family of TEMPLATE_FAMILY documents from one template, each pair's Jaccard at most
 * TEMPLATE_JACCARD.max and each member at least TEMPLATE_JACCARD.min from one sibling. Returns the
 * texts and each one's highest Jaccard with a sibling.
 */
function templateFamily(rng: Rng, w: World): { texts: string[]; jaccard: number[] } {
  const tpl = rng.pick(TEMPLATES);
  for (;;) {
    const texts: string[] = [], sh: Set<string>[] = [];
    for (let tries = 0; texts.length < TEMPLATE_FAMILY && tries < 200; tries++) {
      const t = tpl(templateSlots(rng, w));
      const s = shingles(t);
      if (sh.some((o) => jaccard(o, s) > TEMPLATE_JACCARD.max)) continue;
      texts.push(t);
      sh.push(s);
    }
    if (texts.length < TEMPLATE_FAMILY) continue;
    const best = sh.map((a, i) => Math.max(...sh.map((b, k) => (k === i ? 0 : jaccard(a, b)))));
    if (best.every((j) => j >= TEMPLATE_JACCARD.min)) return { texts, jaccard: best };
  }
}

// ---------------------------------------------------------------------------------------------

interface Pending {
  text: string;
  junk: JunkKind | null;
  original: number | null;
  dup: 'exact' | 'near' | null;
  near: NearKind | null;
  jaccard: number | null;
  family: number | null;
}

function makeChunk(rng: Rng, w: World, size: number): Pending[] {
  const nGood = Math.round(size * CRAWL_MIX.good);
  const nTemplate = Math.round((size * CRAWL_MIX.template) / TEMPLATE_FAMILY) * TEMPLATE_FAMILY;
  const nJunk = Math.round(size * CRAWL_MIX.junk);
  const nExact = Math.round(size * CRAWL_MIX.exact);
  const nNear = size - nGood - nTemplate - nJunk - nExact;
  const recs: Pending[] = [];
  const vocab = new Set<string>();
  const plain = { junk: null, original: null, dup: null, near: null, jaccard: null, family: null };
  for (let i = 0; i < nGood; i++) {
    const text = randomDocument(rng, w).text;
    recs.push({ ...plain, text });
    if (i < 50) for (const x of words(text)) vocab.add(x);
  }
  const goods = recs.map((r) => r.text);
  const vocabList = [...vocab];
  for (let f = 0; f < nTemplate / TEMPLATE_FAMILY; f++) {
    const fam = templateFamily(rng, w);
    fam.texts.forEach((text, k) => recs.push({ ...plain, text, jaccard: fam.jaccard[k], family: f }));
  }
  for (let i = 0; i < nJunk; i++) recs.push({ ...plain, text: junk(rng, w, JUNK_KINDS[i % JUNK_KINDS.length], goods, vocabList), junk: JUNK_KINDS[i % JUNK_KINDS.length] });
  const sources = goods.map((t, i) => (words(t).length >= MIN_DUP_WORDS ? i : -1)).filter((i) => i >= 0);
  for (let i = 0; i < nExact; i++) {
    const src = rng.pick(sources);
    recs.push({ ...plain, text: goods[src], original: src, dup: 'exact' });
  }
  for (let i = 0; i < nNear; i++) {
    const kind = NEAR_KINDS[i % NEAR_KINDS.length];
    // Not every original admits every kind in range (a short one framed by long navigation falls
    // below 0.5): another original is drawn until one does.
    for (;;) {
      const src = rng.pick(sources);
      const d = nearDuplicate(rng, w, goods[src], kind);
      if (!d) continue;
      recs.push({ ...plain, text: d.text, original: src, dup: 'near', near: kind, jaccard: d.jaccard });
      break;
    }
  }
  return recs;
}

/**
 * The crawl, streamed in shuffled chunks of `chunk` records until at least `chars` characters have
 * been produced. Chunks are always finished, so every duplicate's original is in the crawl.
 */
export function* crawlDocuments(w: World, chars = w.preset.crawlChars, chunk = CHUNK): Generator<CrawlDoc> {
  const rng = w.rng.fork('crawl');
  let next = 0, total = 0, chunkNo = 0;
  while (total < chars) {
    const recs = makeChunk(rng, w, chunk);
    const order = rng.shuffle(recs.map((_, i) => i));
    const idOf = new Array<string>(recs.length);
    order.forEach((r, pos) => { idOf[r] = `crawl-${String(next + pos).padStart(8, '0')}`; });
    for (const r of order) {
      const rec = recs[r];
      total += rec.text.length;
      const answer: CrawlAnswer = {
        id: idOf[r], junk: rec.junk !== null, junk_kind: rec.junk, duplicate_of: rec.original === null ? null : idOf[rec.original], dup_kind: rec.dup,
        near_kind: rec.near, jaccard: rec.jaccard === null ? null : Number(rec.jaccard.toFixed(4)), template_family: rec.family === null ? null : `template-${chunkNo}-${rec.family}`,
      };
      yield { id: idOf[r], text: rec.text, answer };
    }
    next += recs.length;
    chunkNo++;
  }
}
