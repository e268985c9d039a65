import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from '../models/gpt.ts';
import { episodeBatch, meanEntropy, WeightEma } from './ppo.ts';
import { IGNORE } from './sft.ts';

test('episode batches: whole episodes, targets only on answer tokens, T in multiples of 32', () => {
  const b = episodeBatch([{ ids: Int32Array.from([1, 2, 3, 4, 5]), promptLength: 3 }, { ids: Int32Array.from([6, 7, 8]), promptLength: 2 }], 64);
  assert.equal(b.T, 32);
  assert.deepEqual([...b.ids.slice(0, 5)], [1, 2, 3, 4, 5]);
  // Episode 0 answers 4, 5 (predicted at positions 2, 3); episode 1 answers 8 (position 1).
  assert.deepEqual([...b.rows], [2, 3, 32 + 1]);
  assert.deepEqual([...b.rows].map((r) => b.targets[r]), [4, 5, 8]);
  assert.equal([...b.targets].filter((t) => t !== IGNORE).length, 3);
  assert.deepEqual([...b.lengths], [5, 3]);
  assert.throws(() => episodeBatch([{ ids: new Int32Array(70), promptLength: 1 }], 64), /exceeds the context/);
});

test('entropy of uniform logits is log V; of a sure token, 0', () => {
  const V = 8;
  const logits = new Float32Array(2 * V);
  logits[V + 3] = 1000;
  assert.ok(Math.abs(meanEntropy(logits, V, [0]) - Math.log(V)) < 1e-9);
  assert.ok(Math.abs(meanEntropy(logits, V, [1])) < 1e-9);
});

test('EMA of weights: shadow = d·shadow + (1 − d)·θ after each update', () => {
  const m = new GPT(gptConfig('nano', { vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 1, nEmbd: 4 }), 1);
  const ema = new WeightEma(m, 0.9);
  const p = m.namedParameters()[0][1];
  const before = p.data[0];
  p.data[0] = before + 1;
  ema.update();
  assert.ok(Math.abs(ema.shadow[0][0] - (before + 0.1)) < 1e-6);
  const copy = ema.copyTo(new GPT(m.config, 2));
  assert.equal(copy.namedParameters()[0][1].data[0], ema.shadow[0][0]);
});
