import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorld } from './model.ts';
import { crawlDocuments, jaccard, shingles, words, JUNK_KINDS, NEAR_DUP_MIN_JACCARD, CRAWL_MIX } from './crawl.ts';
import { referenceDocuments } from './corpus.ts';
import { hashLabel } from '../util/rng.ts';

const w = buildWorld(9, 'small');
// One chunk of 2000 records (chars = 1 stops after the first chunk).
const docs = [...crawlDocuments(w, 1, 2000)];
const byId = new Map(docs.map((d) => [d.id, d]));

test('the crawl is one shuffled chunk with the planted mix, and answers name real originals', () => {
  assert.equal(docs.length, 2000);
  assert.equal(byId.size, docs.length);
  const junk = docs.filter((d) => d.answer.junk), exact = docs.filter((d) => d.answer.dup_kind === 'exact'), near = docs.filter((d) => d.answer.dup_kind === 'near');
  assert.equal(junk.length, 2000 * CRAWL_MIX.junk);
  assert.equal(exact.length, 2000 * CRAWL_MIX.exact);
  assert.equal(near.length, 2000 * CRAWL_MIX.near);
  assert.deepEqual(new Set(junk.map((d) => d.answer.junk_kind)), new Set(JUNK_KINDS));
  for (const d of docs) {
    assert.equal(d.answer.id, d.id);
    if (d.answer.junk) assert.equal(d.answer.duplicate_of, null);
    if (d.answer.duplicate_of === null) { assert.equal(d.answer.dup_kind, null); continue; }
    const orig = byId.get(d.answer.duplicate_of);
    assert.ok(orig && !orig.answer.junk && orig.answer.duplicate_of === null, `${d.id} copies ${d.answer.duplicate_of}`);
  }
  // Shuffled: the first records are not all originals.
  assert.ok(docs.slice(0, 100).some((d) => d.answer.junk) && docs.slice(0, 100).some((d) => d.answer.duplicate_of));
});

test('exact duplicates are identical, near duplicates close copies (5-shingle Jaccard ≥ 0.7)', () => {
  let sum = 0, n = 0;
  for (const d of docs) {
    if (!d.answer.duplicate_of) continue;
    const orig = byId.get(d.answer.duplicate_of)!;
    if (d.answer.dup_kind === 'exact') { assert.equal(d.text, orig.text); continue; }
    assert.notEqual(d.text, orig.text);
    const j = jaccard(shingles(d.text), shingles(orig.text));
    assert.ok(j >= NEAR_DUP_MIN_JACCARD, `${j}`);
    sum += j; n++;
  }
  assert.ok(sum / n < 0.95, `near duplicates are edited, mean Jaccard ${sum / n}`);
});

test('distinct originals are genuinely different documents (Jaccard < 0.7 for every pair)', () => {
  const originals = docs.filter((d) => !d.answer.junk && !d.answer.duplicate_of).map((d) => shingles(d.text));
  const postings = new Map<string, number[]>();
  originals.forEach((s, i) => { for (const x of s) { const l = postings.get(x); if (l) l.push(i); else postings.set(x, [i]); } });
  let worst = 0;
  for (let i = 0; i < originals.length; i++) {
    const shared = new Map<number, number>();
    for (const x of originals[i]) for (const j of postings.get(x)!) if (j > i) shared.set(j, (shared.get(j) ?? 0) + 1);
    for (const [j, c] of shared) worst = Math.max(worst, c / (originals[i].size + originals[j].size - c));
  }
  assert.ok(worst < NEAR_DUP_MIN_JACCARD, `most similar distinct pair: ${worst}`);
});

// GPT-3's quality filter in miniature: hashed unigram+bigram logistic regression, reference text
// as positives, raw crawl as negatives. Planted junk must be what it learns to score low.
test('a hashed n-gram logistic regression separates planted junk from good crawl (AUC ≥ 0.95)', () => {
  const D = 1 << 18;
  const feats = (text: string) => {
    const ws = words(text);
    const ids = new Set<number>();
    for (let i = 0; i < ws.length; i++) { ids.add(hashLabel(ws[i]) % D); if (i > 0) ids.add(hashLabel(ws[i - 1] + ' ' + ws[i]) % D); }
    return [...ids];
  };
  const ref = [...referenceDocuments(w, 1_000_000)].slice(-2000).map((d) => ({ f: feats(d.text), y: 1 }));
  const crawl = docs.map((d) => ({ f: feats(d.text), y: 0, junk: d.answer.junk }));
  const wt = new Float64Array(D);
  let bias = 0;
  const score = (f: number[]) => { let z = bias; for (const i of f) z += wt[i]; return z / Math.sqrt(f.length || 1); };
  const data = [...ref, ...crawl];
  for (let epoch = 0; epoch < 4; epoch++) {
    for (let k = 0; k < data.length; k++) {
      const ex = data[(k * 7919 + epoch) % data.length];
      const p = 1 / (1 + Math.exp(-score(ex.f)));
      const g = (ex.y - p) * 0.5 / Math.sqrt(ex.f.length || 1);
      for (const i of ex.f) wt[i] += g;
      bias += g;
    }
  }
  const scored = crawl.map((c) => ({ s: score(c.f), junk: c.junk }));
  const good = scored.filter((x) => !x.junk).map((x) => x.s), bad = scored.filter((x) => x.junk).map((x) => x.s);
  let wins = 0;
  for (const g of good) for (const b of bad) wins += g > b ? 1 : g === b ? 0.5 : 0;
  const auc = wins / (good.length * bad.length);
  assert.ok(auc >= 0.95, `AUC ${auc}`);
});
