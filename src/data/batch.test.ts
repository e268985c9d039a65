import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchPool, BatchState, packBatch, sharedClassifier, type BatchSpec } from './batch.ts';
import { QualityClassifier } from './classifier.ts';
import { Rng } from '../util/rng.ts';

function corpus(seed: number, n: number): string[] {
  const rng = new Rng(seed);
  const words = ['alpha', 'beta', 'gämma', 'delta', 'echo', 'fox', 'golf', 'hotel', 'india', 'juliet'];
  return Array.from({ length: n }, (_, i) => (i % 17 === 0 ? '' : Array.from({ length: 5 + rng.int(80) }, () => rng.pick(words)).join(' ')));
}

function pack(texts: string[]) {
  return packBatch(texts, texts.reduce((s, t) => s + Buffer.byteLength(t), 0));
}

test('worker threads (via tsx) compute exactly what the inline path computes', async () => {
  const clf = QualityClassifier.train(corpus(1, 50), corpus(2, 50).map((t) => t + ' spam spam'), { bits: 12, epochs: 2 });
  const spec: BatchSpec = { exact: true, minhash: { numPerm: 32, ngram: 3, seed: 4 }, classifier: sharedClassifier(clf) };
  const batches = [corpus(3, 200), corpus(4, 150), corpus(5, 1)];
  const inline = new BatchState(spec);
  const expected = batches.map((b) => inline.process(pack(b)));
  const pool = new BatchPool(spec, 2);
  try {
    const got = await Promise.all(batches.map((b) => pool.process(pack(b))));
    assert.deepEqual(got, expected);
  } finally {
    await pool.close();
  }
  // Spot checks of what the outputs mean.
  const first = expected[0];
  assert.equal(first.shingles![0], 0); // the empty document
  assert.ok(first.shingles![1] > 0);
  assert.ok(Math.abs(first.scores![1] - clf.scoreText(batches[0][1])) < 1e-6);
  assert.equal(first.sigs!.length, 200 * 32);
});

test('exact keys ignore case and spacing only', () => {
  const state = new BatchState({ exact: true, minhash: null, classifier: null });
  const out = state.process(pack(['Hello  World\n', 'hello world', 'hello, world', ' HELLO\tWORLD ']));
  const key = (i: number): string => `${out.keys![2 * i]}:${out.keys![2 * i + 1]}`;
  assert.equal(key(0), key(1));
  assert.equal(key(0), key(3));
  assert.notEqual(key(0), key(2));
  assert.equal(out.scores, null);
  assert.equal(out.sigs, null);
});

test('a worker that fails rejects its batches instead of hanging', async () => {
  const pool = new BatchPool({ exact: false, minhash: { numPerm: -1, ngram: 5, seed: 1 }, classifier: null }, 1);
  try {
    await assert.rejects(pool.process(pack(['some text here'])), /Invalid typed array length|exited/);
  } finally {
    await pool.close();
  }
});
