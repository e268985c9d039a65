import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MinHasher, SignatureStore, UnionFind, clusterSignatures, optimalBands, jaccard, falsePositiveArea, falseNegativeArea } from './minhash.ts';
import { Rng } from '../util/rng.ts';

const goldens = JSON.parse(readFileSync(new URL('./testdata/goldens.json', import.meta.url), 'utf8'));
const enc = new TextEncoder();

function randomWords(rng: Rng, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push('w' + rng.int(5000).toString(36));
  return out;
}

function sigOf(h: MinHasher, text: string): { sig: Int32Array; shingles: number[] } {
  const bytes = enc.encode(text);
  const sig = new Int32Array(h.params.numPerm);
  h.signature(bytes, 0, bytes.length, sig, 0);
  const { hashes, count } = h.shingleHashes(bytes, 0, bytes.length);
  return { sig, shingles: Array.from(hashes.subarray(0, count)) };
}

test('shingles: word 5-grams, case and punctuation insensitive, one shingle for short texts, none for no words', () => {
  const h = new MinHasher({ numPerm: 8, ngram: 5, seed: 1 });
  const a = sigOf(h, 'The quick brown fox jumps over the lazy dog');
  const b = sigOf(h, 'the QUICK brown fox, jumps -- over the lazy dog!');
  assert.equal(a.shingles.length, 5);
  assert.deepEqual(a.shingles, b.shingles);
  assert.deepEqual(a.sig, b.sig);
  assert.equal(sigOf(h, 'two words').shingles.length, 1);
  const bytes = enc.encode(' ... !!! ');
  assert.equal(h.signature(bytes, 0, bytes.length, new Int32Array(8), 0), 0);
  // Order matters inside a shingle.
  assert.notDeepEqual(sigOf(h, 'a b c d e').shingles, sigOf(h, 'e d c b a').shingles);
});

test('the fraction of equal signature values estimates Jaccard similarity without bias', () => {
  const rng = new Rng(3);
  const h = new MinHasher({ numPerm: 128, ngram: 3, seed: 9 });
  const store = new SignatureStore(128);
  const errors: number[] = [];
  const truths: number[] = [];
  for (let trial = 0; trial < 150; trial++) {
    const words = randomWords(rng, 200);
    const edited = [...words];
    const edits = 5 + rng.int(60);
    for (let e = 0; e < edits; e++) edited[rng.int(edited.length)] = 'x' + rng.int(1e6);
    const a = sigOf(h, words.join(' '));
    const b = sigOf(h, edited.join(' '));
    const ia = store.add(a.sig, 0, false);
    const ib = store.add(b.sig, 0, false);
    const truth = jaccard(a.shingles, b.shingles);
    truths.push(truth);
    errors.push(store.similarity(ia, ib) - truth);
  }
  const mean = errors.reduce((s, e) => s + e, 0) / errors.length;
  const rmse = Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
  const expected = Math.sqrt(truths.reduce((s, j) => s + j * (1 - j), 0) / truths.length / 128);
  assert.ok(Math.abs(mean) < 3 * expected / Math.sqrt(errors.length), `bias ${mean}`);
  assert.ok(rmse < 1.3 * expected && rmse > 0.7 * expected, `rmse ${rmse} vs binomial ${expected}`);
});

test('optimalBands matches datasketch (golden from numpy)', () => {
  for (const g of goldens.lsh_params) {
    assert.deepEqual(optimalBands(g.threshold, g.num_perm), { bands: g.bands, rows: g.rows }, `t=${g.threshold} k=${g.num_perm}`);
  }
  // Sanity of the areas: one band of one row makes every pair a candidate.
  assert.ok(Math.abs(falsePositiveArea(0.5, 1, 1) - 0.125) < 1e-9);
  assert.ok(Math.abs(falseNegativeArea(0.5, 1, 1) - 0.125) < 1e-9);
});

test('union-find roots are the earliest member', () => {
  const uf = new UnionFind(6);
  uf.union(4, 2);
  uf.union(5, 4);
  uf.union(3, 1);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => uf.find(i)), [0, 1, 2, 1, 2, 2]);
  uf.union(5, 3);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => uf.find(i)), [0, 1, 1, 1, 1, 1]);
});

test('LSH clustering finds planted near-duplicates, merges nothing else, keeps the earliest', () => {
  const rng = new Rng(11);
  const h = new MinHasher({ numPerm: 128, ngram: 5, seed: 1 });
  const store = new SignatureStore(128);
  const originals: string[][] = [];
  const family: number[] = []; // family[doc] = index of the original document
  const sig = new Int32Array(128);
  const add = (words: string[], fam: number): void => {
    const bytes = enc.encode(words.join(' '));
    store.add(sig, 0, h.signature(bytes, 0, bytes.length, sig, 0) === 0);
    family.push(fam);
  };
  for (let i = 0; i < 400; i++) {
    const words = randomWords(rng, 150 + rng.int(150));
    originals.push(words);
    add(words, store.count);
    if (i % 4 === 0) {
      // A near-duplicate: a few word substitutions and a sentence moved to the end.
      const copy = [...words];
      for (let e = 0; e < 4; e++) copy[rng.int(copy.length)] = 'edit' + rng.int(1000);
      copy.push(...copy.splice(10, 12));
      add(copy, family[family.length - 1]);
    }
  }
  // Documents with no words never match anything.
  add([], store.count);
  add([], store.count);
  // The shortest copies keep about 2/3 of their shingles.
  const { bands, rows } = optimalBands(0.5, 128);
  const { roots } = clusterSignatures(store, { bands, rows, threshold: 0.5 });
  for (let d = 0; d < store.count; d++) assert.equal(roots[d], family[d], `doc ${d}`);
});

test('one huge bucket of identical documents stays one cluster rooted at the first', () => {
  const store = new SignatureStore(16);
  const sig = new Int32Array(16).fill(42);
  for (let i = 0; i < 3000; i++) store.add(sig, 0, false);
  const { roots } = clusterSignatures(store, { bands: 4, rows: 4, threshold: 0.9, maxExamined: 8 });
  assert.ok(roots.every((r) => r === 0));
  assert.equal(store.similarity(0, 2999), 1);
});

test('the WebAssembly SIMD kernel gives exactly the JavaScript loop’s signatures', () => {
  const rng = new Rng(21);
  const texts = ['', 'one', 'a b c d e f', randomWords(rng, 300).join(' '), randomWords(rng, 70000).join(' ')];
  for (const numPerm of [1, 16, 17, 128, 130]) {
    const fast = new MinHasher({ numPerm, ngram: 5, seed: 5 });
    const slow = new MinHasher({ numPerm, ngram: 5, seed: 5 }, { simd: false });
    assert.equal(fast.simd, true, 'Node has WebAssembly SIMD');
    assert.equal(slow.simd, false);
    for (const t of texts) {
      const bytes = enc.encode(t);
      const a = new Int32Array(numPerm + 2);
      const b = new Int32Array(numPerm + 2);
      assert.equal(fast.signature(bytes, 0, bytes.length, a, 1), slow.signature(bytes, 0, bytes.length, b, 1));
      assert.deepEqual(a, b, `numPerm ${numPerm}, ${t.length} chars`);
    }
  }
});
