// GPT-1's input transformations token by token, the batch packing, and the heads: similarity adds
// the two orderings' final states (so swapping the texts changes nothing), multiple choice scores
// each (context, answer) sequence and compares them by softmax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gptConfig } from './gpt.ts';
import { GptTaskModel, transformInputs, packTaskBatch, type TaskTokenIds } from './gpt1-task.ts';
import { lastTokens } from './heads.ts';
import * as op from '../tensor/ops.ts';
import { noGrad } from '../tensor/tensor.ts';

const t: TaskTokenIds = { start: 100, delimiter: 101, extract: 102 };
const s = 100, $ = 101, e = 102;

test('each input transformation\'s token layout', () => {
  assert.deepEqual(transformInputs('classification', [[1, 2, 3]], t), [[s, 1, 2, 3, e]]);
  assert.deepEqual(transformInputs('entailment', [[1, 2], [3]], t), [[s, 1, 2, $, 3, e]]);
  assert.deepEqual(transformInputs('similarity', [[1, 2], [3]], t), [[s, 1, 2, $, 3, e], [s, 3, $, 1, 2, e]]);
  assert.deepEqual(transformInputs('multiple_choice', [[7, 8], [1], [2, 3], [4]], t), [[s, 7, 8, $, 1, e], [s, 7, 8, $, 2, 3, e], [s, 7, 8, $, 4, e]]);
  assert.throws(() => transformInputs('entailment', [[1]], t), /entailment takes 2 segments, got 1/);
  assert.throws(() => transformInputs('multiple_choice', [[1], [2]], t), /at least two answers/);
});

test('packTaskBatch: right padding, LM targets up to the extract token, lengths and labels', () => {
  const b = packTaskBatch([[[s, 1, e]], [[s, 1, 2, 3, e]]], [1, 0]);
  assert.equal(b.B, 2);
  assert.equal(b.T, 5);
  assert.deepEqual([...b.ids], [s, 1, e, 0, 0, s, 1, 2, 3, e]);
  assert.deepEqual([...b.targets], [1, e, -100, -100, -100, 1, 2, 3, e, -100]);
  assert.deepEqual([...b.lengths], [3, 5]);
  assert.deepEqual([...b.labels], [1, 0]);
  assert.equal(b.examples, 2);
  assert.throws(() => packTaskBatch([[[1]], [[1], [2]]], [0, 0]), /same number of sequences/);
});

const cfg = gptConfig('nano', { vocabSize: 103, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 });
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test('the similarity head adds both orders\' extract states: swapping the texts gives the same logits', () => {
  const m = new GptTaskModel(cfg, 'similarity', 2, 3).eval();
  const a = [5, 6, 7], b = [9, 10];
  noGrad(() => {
    const ab = m.taskForward(packTaskBatch([transformInputs('similarity', [a, b], t)], [0]), false).logits;
    const ba = m.taskForward(packTaskBatch([transformInputs('similarity', [b, a], t)], [0]), false).logits;
    assert.deepEqual(ab.shape, [1, 2]);
    assert.ok(maxDiff(ab.data, ba.data) < 1e-5, 'symmetric in the two texts');
    // By hand: the final state of each ordering's extract token, added, through the head.
    const state = (seq: number[]) => lastTokens(m.hidden(Int32Array.from(seq), 1, seq.length), Int32Array.from([seq.length]));
    const [one, two] = transformInputs('similarity', [a, b], t);
    const want = m.score.forward(op.add(state(one), state(two)));
    assert.ok(maxDiff(ab.data, want.data) < 1e-5);
    const onlyFirst = m.score.forward(state(one));
    assert.ok(maxDiff(ab.data, onlyFirst.data) > 1e-4, 'not one order alone');
  });
});

test('multiple choice: one score per (context, answer) sequence, softmax over the choices', () => {
  const m = new GptTaskModel(cfg, 'multiple_choice', 3, 4).eval();
  const ex = [transformInputs('multiple_choice', [[1, 2], [3], [4, 5], [6]], t), transformInputs('multiple_choice', [[7], [8], [9], [10, 11]], t)];
  noGrad(() => {
    const out = m.taskForward(packTaskBatch(ex, [2, 0]), false);
    assert.deepEqual(out.logits.shape, [2, 3]);
    ex.flat().forEach((seq, i) => {
      const h = lastTokens(m.hidden(Int32Array.from(seq), 1, seq.length), Int32Array.from([seq.length]));
      assert.ok(Math.abs(m.score.forward(h).data[0] - out.logits.data[i]) < 1e-5, `sequence ${i}`);
    });
    const { task } = m.taskLoss(packTaskBatch(ex, [2, 0]), 0);
    const lse = (r: number) => Math.log([0, 1, 2].reduce((acc, c) => acc + Math.exp(out.logits.data[r * 3 + c]), 0));
    const want = (lse(0) - out.logits.data[2] + lse(1) - out.logits.data[3]) / 2;
    assert.ok(Math.abs(task.item() - want) < 1e-5, 'cross-entropy of the softmax over choices');
  });
});

test('L = L_task + λ·L_LM; λ = 0 leaves the LM head out', () => {
  const m = new GptTaskModel(cfg, 'classification', 2, 5).eval();
  const batch = packTaskBatch([transformInputs('classification', [[1, 2, 3]], t), transformInputs('classification', [[4]], t)], [0, 1]);
  noGrad(() => {
    const off = m.taskLoss(batch, 0), on = m.taskLoss(batch, 0.5);
    assert.equal(off.lm, null);
    assert.ok(Math.abs(on.loss.item() - (on.task.item() + 0.5 * on.lm!.item())) < 1e-5);
    assert.ok(Math.abs(off.loss.item() - on.task.item()) < 1e-6);
  });
  assert.deepEqual(m.namedParameters().slice(-2).map(([n]) => n), ['score.proj.weight', 'score.proj.bias']);
});
