import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorld } from './model.ts';
import { crawlDocuments, jaccard, shingles, words, JUNK_KINDS, HARD_JUNK_KINDS, NEAR_KINDS, NEAR_DUP_JACCARD, TEMPLATE_JACCARD, CRAWL_MIX } from './crawl.ts';
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
  assert.equal(docs.filter((d) => d.answer.template_family).length, 2000 * CRAWL_MIX.template);
  assert.deepEqual(new Set(junk.map((d) => d.answer.junk_kind)), new Set(JUNK_KINDS));
  assert.deepEqual(new Set(near.map((d) => d.answer.near_kind)), new Set(NEAR_KINDS));
  for (const d of docs) {
    assert.equal(d.answer.id, d.id);
    if (d.answer.junk) assert.equal(d.answer.duplicate_of, null);
    assert.equal(d.answer.near_kind !== null, d.answer.dup_kind === 'near');
    if (d.answer.duplicate_of === null) { assert.equal(d.answer.dup_kind, null); continue; }
    const orig = byId.get(d.answer.duplicate_of);
    assert.ok(orig && !orig.answer.junk && orig.answer.duplicate_of === null && !orig.answer.template_family, `${d.id} copies ${d.answer.duplicate_of}`);
  }
  // Shuffled: the first records are not all originals.
  assert.ok(docs.slice(0, 100).some((d) => d.answer.junk) && docs.slice(0, 100).some((d) => d.answer.duplicate_of));
});

test('near duplicates: each kind what it says, Jaccard recorded truly and spread over 0.5–0.95', () => {
  const bins = [0, 0, 0, 0]; // [0.5, 0.6) [0.6, 0.7) [0.7, 0.8) [0.8, 0.95]
  for (const d of docs) {
    if (!d.answer.duplicate_of) continue;
    const orig = byId.get(d.answer.duplicate_of)!;
    if (d.answer.dup_kind === 'exact') { assert.equal(d.text, orig.text); continue; }
    assert.notEqual(d.text, orig.text);
    const j = jaccard(shingles(d.text), shingles(orig.text));
    assert.ok(Math.abs(j - d.answer.jaccard!) < 1e-4, `${d.id}: recorded ${d.answer.jaccard}, measured ${j}`);
    assert.ok(j >= NEAR_DUP_JACCARD.min && j <= NEAR_DUP_JACCARD.max, `${d.id}: ${j}`);
    bins[Math.min(3, Math.floor((j - 0.5) * 10))]++;
    const sorted = (t: string) => words(t).sort().join(' ');
    switch (d.answer.near_kind) {
      case 'framed': assert.ok(d.text.includes(orig.text) && d.text.length > orig.text.length, d.id); break;
      case 'excerpt': assert.ok(orig.text.includes(d.text) && d.text.length >= 0.3 * orig.text.length, d.id); break;
      case 'reordered': assert.equal(sorted(d.text), sorted(orig.text), `${d.id}: the same words`); break;
      case 'edited': break;
      default: assert.fail(`${d.id}: near_kind ${d.answer.near_kind}`);
    }
  }
  const total = bins.reduce((a, b) => a + b, 0);
  assert.ok(bins.every((b) => b >= 0.1 * total), `near duplicates per Jaccard bin: ${bins}`);
});

test('template families: distinct documents differing in names and numbers, never closer than 0.55', () => {
  const families = new Map<string, typeof docs>();
  for (const d of docs) if (d.answer.template_family) families.set(d.answer.template_family, [...(families.get(d.answer.template_family) ?? []), d]);
  assert.ok(families.size >= 20, `${families.size} families`);
  for (const [name, fam] of families) {
    assert.ok(fam.length >= 2 && fam.every((d) => !d.answer.junk && !d.answer.duplicate_of), name);
    const sh = fam.map((d) => shingles(d.text));
    fam.forEach((d, i) => {
      const best = Math.max(...sh.map((o, k) => (k === i ? 0 : jaccard(sh[i], o))));
      assert.ok(best <= TEMPLATE_JACCARD.max && best >= TEMPLATE_JACCARD.min, `${d.id}: ${best}`);
      assert.ok(Math.abs(best - d.answer.jaccard!) < 1e-4, d.id);
    });
    // One form: the words outside the slots are shared, so the documents are the same length within a few words.
    const lengths = fam.map((d) => words(d.text).length);
    assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 12, `${name}: ${lengths}`);
  }
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
  assert.ok(worst < 0.7, `most similar distinct pair: ${worst}`);
});

// GPT-3's quality filter in miniature: hashed unigram+bigram logistic regression, reference text
// as positives, raw crawl as negatives. The first five junk kinds must be what it learns to score low;
// good text cut short mid-sentence is made of good text, and must stay hard for it. (Fluent
// off-topic text and pages mostly boilerplate turn out easy for an n-gram model: their words are
// not the reference's.)
test('a hashed n-gram logistic regression separates the easy junk (AUC ≥ 0.9); good text cut short stays hard (AUC < 0.85)', (t) => {
  const D = 1 << 18;
  const feats = (text: string) => {
    const ws = words(text);
    const ids = new Set<number>();
    for (let i = 0; i < ws.length; i++) { ids.add(hashLabel(ws[i]) % D); if (i > 0) ids.add(hashLabel(ws[i - 1] + ' ' + ws[i]) % D); }
    return [...ids];
  };
  const ref = [...referenceDocuments(w, 1_000_000)].slice(-2000).map((d) => ({ f: feats(d.text), y: 1 }));
  const crawl = docs.map((d) => ({ f: feats(d.text), y: 0, junk: d.answer.junk, kind: d.answer.junk_kind }));
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
  const scored = crawl.map((c) => ({ s: score(c.f), junk: c.junk, kind: c.kind }));
  const good = scored.filter((x) => !x.junk).map((x) => x.s);
  const auc = (bad: number[]) => {
    let wins = 0;
    for (const g of good) for (const b of bad) wins += g > b ? 1 : g === b ? 0.5 : 0;
    return wins / (good.length * bad.length);
  };
  const perKind = Object.fromEntries(JUNK_KINDS.map((k) => [k, auc(scored.filter((x) => x.kind === k).map((x) => x.s))]));
  const easy = auc(scored.filter((x) => x.junk && !HARD_JUNK_KINDS.includes(x.kind!)).map((x) => x.s));
  t.diagnostic(`AUC per junk kind: ${JSON.stringify(perKind)}`);
  assert.ok(easy >= 0.9, `easy junk AUC ${easy} (${JSON.stringify(perKind)})`);
  assert.ok(perKind.cut_short < 0.85, `good text cut short: AUC ${perKind.cut_short}, expected hard (${JSON.stringify(perKind)})`);
});
