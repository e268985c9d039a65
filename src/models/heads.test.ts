import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from './gpt.ts';
import { ClassifierHead, ScalarHead, lastTokens } from './heads.ts';
import { scope, noGrad } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { Rng } from '../util/rng.ts';

test('classifier head on the last real token trains the body too', () => {
  const gpt = new GPT(gptConfig('nano', { vocabSize: 20, blockSize: 8 }), 2);
  const head = new ClassifierHead(64, 3, new Rng(1), 0);
  const ids = Int32Array.from([1, 2, 3, 0, 4, 5, 6, 7]);
  const lengths = Int32Array.from([3, 4]);
  scope(() => {
    const h = gpt.hidden(ids, 2, 4);
    const logits = head.forward(lastTokens(h, lengths));
    assert.deepEqual(logits.shape, [2, 3]);
    op.crossEntropy(logits, Int32Array.from([2, 0])).backward();
  });
  assert.ok(head.proj.weight.grad!.some((v) => v !== 0));
  assert.ok(gpt.transformer.h[0].attn.c_attn.weight.grad!.some((v) => v !== 0));
  // Padding after the last real token does not change the pooled state (causal attention).
  const a = noGrad(() => scope(() => lastTokens(gpt.hidden(ids, 2, 4), lengths).data.slice()));
  const ids2 = ids.slice(); ids2[3] = 9;
  const b = noGrad(() => scope(() => lastTokens(gpt.hidden(ids2, 2, 4), lengths).data.slice()));
  assert.deepEqual(a.subarray(0, 64), b.subarray(0, 64));
  assert.throws(() => lastTokens(gpt.hidden(ids, 2, 4), Int32Array.from([0, 4])), /length 0 of sequence 0/);
});

test('scalar head gives one value per position', () => {
  const head = new ScalarHead(64, new Rng(3));
  const gpt = new GPT(gptConfig('nano', { vocabSize: 20, blockSize: 8 }), 2);
  const v = noGrad(() => scope(() => head.forward(gpt.hidden(Int32Array.from([1, 2, 3]), 1, 3)).shape));
  assert.deepEqual(v, [1, 3, 1]);
});
