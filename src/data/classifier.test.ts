import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureExtractor, QualityClassifier, trainLogistic, paretoKeep, rocAuc, type SparseExample } from './classifier.ts';
import { Rng } from '../util/rng.ts';
import { SyntheticCrawl } from './synthetic.ts';
import { FileFormatError } from '../util/errors.ts';

const goldens = JSON.parse(readFileSync(new URL('./testdata/goldens.json', import.meta.url), 'utf8'));
const enc = new TextEncoder();

test('features: unigram + bigram counts, L2-normalised, case-insensitive', () => {
  const fx = new FeatureExtractor(20);
  const a = enc.encode('the cat saw the cat');
  const f = fx.extract(a, 0, a.length);
  // 5 unigrams (the×2, cat×2, saw) + 4 bigrams (the cat ×2, cat saw, saw the) → 6 distinct buckets.
  assert.equal(f.n, 6);
  const vals = Array.from(f.val.subarray(0, f.n)).sort();
  const norm = Math.sqrt(4 + 4 + 1 + 4 + 1 + 1);
  assert.deepEqual(vals.map((v) => Math.round(v * norm)), [1, 1, 1, 2, 2, 2]);
  const idx = Array.from(f.idx.subarray(0, f.n));
  const b = enc.encode('THE cat, saw the CAT!');
  const g = fx.extract(b, 0, b.length);
  assert.deepEqual(Array.from(g.idx.subarray(0, g.n)), idx);
  assert.ok(idx.every((i) => i >= 0 && i < 2 ** 20));
  assert.equal(fx.extract(enc.encode('  '), 0, 2).n, 0);
});

test('Adagrad logistic regression reaches the L2-regularised optimum (Newton golden from numpy)', () => {
  const g = goldens.logistic;
  const d = g.weights.length;
  const examples: SparseExample[] = g.x.map((row: number[], i: number) => ({
    idx: Int32Array.from({ length: d }, (_, j) => j),
    val: Float32Array.from(row),
    label: g.y[i],
  }));
  const { weights, bias } = trainLogistic(examples, d, { epochs: 300, learningRate: 0.05, l2: g.l2, seed: 1 });
  let loss = 0;
  for (let i = 0; i < examples.length; i++) {
    let z = bias;
    for (let j = 0; j < d; j++) z += weights[j] * g.x[i][j];
    const p = 1 / (1 + Math.exp(-z));
    loss -= g.y[i] ? Math.log(p) : Math.log(1 - p);
  }
  loss = loss / examples.length + (g.l2 / 2) * weights.reduce((s, w) => s + w * w, 0);
  assert.ok(loss - g.loss < 1e-3 && loss >= g.loss - 1e-9, `loss ${loss} vs optimum ${g.loss}`);
  for (let j = 0; j < d; j++) assert.ok(Math.abs(weights[j] - g.weights[j]) < 0.05, `w${j}: ${weights[j]} vs ${g.weights[j]}`);
  assert.ok(Math.abs(bias - g.bias) < 0.05, `bias ${bias} vs ${g.bias}`);
});

function goodDoc(rng: Rng): string {
  const subjects = ['The river', 'A quiet village', 'The old library', 'Maria', 'The committee', 'Our neighbour'];
  const verbs = ['describes', 'remembers', 'explains', 'visits', 'builds', 'protects'];
  const objects = ['the northern bridge', 'a small garden', 'the history of the valley', 'the winter market', 'an ancient map'];
  const out: string[] = [];
  for (let i = 0; i < 6 + rng.int(6); i++) out.push(`${rng.pick(subjects)} ${rng.pick(verbs)} ${rng.pick(objects)} in the ${rng.pick(['morning', 'evening', 'spring'])}.`);
  return out.join(' ');
}

function junkDoc(rng: Rng): string {
  const spam = ['buy', 'cheap', 'click', 'here', 'free', 'best', 'deals', 'login', 'home', 'menu', 'casino', 'win', 'now'];
  return Array.from({ length: 30 + rng.int(40) }, () => rng.pick(spam)).join(' ');
}

test('trained on reference vs crawl, the classifier separates junk; save/load round-trips', () => {
  const rng = new Rng(5);
  const reference = Array.from({ length: 300 }, () => goodDoc(rng));
  // The crawl is mostly good text with some junk, as a real crawl: the classifier learns what junk looks like.
  const crawl = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? junkDoc(rng) : goodDoc(rng)));
  const clf = QualityClassifier.train(reference, crawl, { bits: 16 });
  const test = Array.from({ length: 200 }, (_, i) => (i % 2 ? goodDoc(rng) : junkDoc(rng)));
  const scores = test.map((t) => clf.scoreText(t));
  const labels = test.map((_, i) => i % 2);
  assert.ok(rocAuc(scores, labels) > 0.99);
  const path = join(mkdtempSync(join(tmpdir(), 'gptkit-clf-')), 'quality.bin');
  clf.save(path);
  const back = QualityClassifier.load(path);
  assert.deepEqual(back.header, clf.header);
  assert.deepEqual(test.map((t) => back.scoreText(t)), scores);
  assert.equal(back.header.training.positives, 300);

  const bytes = readFileSync(path);
  const corrupt = (name: string, data: Uint8Array, pattern: RegExp): void => {
    const p = join(path, '..', name);
    writeFileSync(p, data);
    assert.throws(() => QualityClassifier.load(p), (e: unknown) => e instanceof FileFormatError && e.message.includes(p) && pattern.test(e.message));
  };
  corrupt('short.bin', bytes.subarray(0, 4), /at least 8 bytes/);
  corrupt('trunc.bin', bytes.subarray(0, bytes.length - 4), /expected \d+ bytes for 2×2\^16 float32 weights/);
  const badLen = Buffer.from(bytes);
  badLen.writeBigUInt64LE(10n ** 9n, 0);
  corrupt('badlen.bin', badLen, /exceeds the file/);
  const header = JSON.stringify({ ...clf.header, format: 'other' });
  const h = Buffer.alloc(8);
  h.writeBigUInt64LE(BigInt(header.length));
  corrupt('format.bin', Buffer.concat([h, Buffer.from(header)]), /header.format: expected 'gptkit-quality-classifier'/);
  assert.throws(() => QualityClassifier.load(join(path, '..', 'missing.bin')), FileFormatError);
});

test('cross-fitting and calibration let good crawl text through; GPT-3 as published would not here', () => {
  // A crawl that is mostly good text, scored after training on itself (as GPT-3 did).
  const gen = new SyntheticCrawl(7);
  const crawl = gen.crawl(1200);
  const reference = Array.from({ length: 300 }, () => gen.good());
  const keepRate = (clf: QualityClassifier, junk: boolean): number => {
    const docs = crawl.filter((r) => r.answer.junk === junk);
    return docs.reduce((s, r) => s + Math.pow(2 - clf.scoreText(r.text), -9), 0) / docs.length;
  };
  const fixed = QualityClassifier.train(reference, crawl.map((r) => r.text), { bits: 18 });
  const raw = QualityClassifier.train(reference, crawl.map((r) => r.text), { bits: 18, crossFit: false, calibrate: false });
  assert.equal(fixed.header.folds, 2);
  assert.ok(fixed.header.calibration > 0.2 && fixed.header.calibration < 0.8, `c = ${fixed.header.calibration}`);
  assert.equal(raw.header.folds, 1);
  assert.equal(raw.header.calibration, 1);
  assert.ok(keepRate(fixed, false) > 0.4, `good kept ${keepRate(fixed, false)}`);
  assert.ok(keepRate(raw, false) < 0.1, `good kept without the fixes ${keepRate(raw, false)}`);
  assert.ok(keepRate(fixed, true) < 0.01, `junk kept ${keepRate(fixed, true)}`);
  // Exact and near copies land in the same fold as their original (the fold is a MinHash bit).
  const score = (t: string) => fixed.scoreText(t);
  const original = crawl.find((r) => !r.answer.junk && r.answer.dup_kind === null)!.text;
  assert.equal(score(original), score(original.toUpperCase()));
  const pruned = QualityClassifier.train(reference, crawl.map((r) => r.text), { bits: 18, minDf: 3 });
  assert.ok(keepRate(pruned, true) < 0.01 && keepRate(pruned, false) > 0.4);
});

test("paretoKeep keeps with probability (2 − score)^−α, GPT-3's rule with numpy's Pareto", () => {
  const rng = new Rng(9);
  for (const [score, alpha] of [[0.5, 9], [0.9, 9], [0.2, 2], [1, 9]]) {
    let kept = 0;
    const n = 40000;
    for (let i = 0; i < n; i++) if (paretoKeep(score, alpha, rng)) kept++;
    const p = Math.pow(2 - score, -alpha);
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(kept / n - p) <= 4 * sd + 1e-9, `score ${score} α ${alpha}: ${kept / n} vs ${p}`);
  }
});

test('rocAuc equals the pairwise definition, ties counting half', () => {
  const rng = new Rng(2);
  const scores = Array.from({ length: 300 }, () => rng.int(20) / 20);
  const labels = scores.map((s) => (rng.next() < s ? 1 : 0));
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) for (let j = 0; j < scores.length; j++) {
    if (labels[i] === 1 && labels[j] === 0) {
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  assert.ok(Math.abs(rocAuc(scores, labels) - wins / pairs) < 1e-12);
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [1, 1])));
});

test('a score depends on its document only, not on what was scored before', () => {
  const gen = new SyntheticCrawl(4);
  const clf = QualityClassifier.train(Array.from({ length: 40 }, () => gen.good()), gen.crawl(60).map((r) => r.text), { bits: 12 });
  const fresh = QualityClassifier.load((() => { const p = join(mkdtempSync(join(tmpdir(), 'gptkit-clf2-')), 'c.bin'); clf.save(p); return p; })());
  const short = ['', 'word', 'two words', 'three words here'];
  const long = gen.good();
  const first = short.map((t) => fresh.scoreText(t));
  fresh.scoreText(long); // leaves long scratch buffers behind
  assert.deepEqual(short.map((t) => fresh.scoreText(t)), first);
  assert.deepEqual(short.map((t) => clf.scoreText(t)), first);
});
