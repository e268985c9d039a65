import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from '../models/gpt.ts';
import { noGrad, scope } from '../tensor/tensor.ts';
import { generate, prefillWidth, PREFILL_BUCKET } from './generate.ts';

const argmax = (l: Float32Array) => {
  let best = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
  return best;
};

/** Greedy continuation recomputing the whole context every step (no cache): the reference. */
function greedyNoCache(model: GPT, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const logits = noGrad(() => scope(() => model.forward(Int32Array.from(seq), 1, seq.length, undefined, { lastOnly: true }).logits.data.slice()));
    seq.push(argmax(logits));
  }
  return seq.slice(prompt.length);
}

for (const attention of ['dense', 'alternating'] as const) {
  test(`KV-cache decoding equals full recomputation (${attention} attention, window 3)`, () => {
    const model = new GPT(gptConfig('nano', { vocabSize: 50, blockSize: 32, attention, window: 3 }), 5).eval();
    const prompt = [3, 14, 15, 9, 2];
    const [g] = generate(model, [prompt], (l) => argmax(l), { maxTokens: 12 });
    assert.deepEqual(g.tokens, greedyNoCache(model, prompt, 12));
    assert.equal(g.finishReason, 'length');
  });
}

test('ragged batch: every sequence gets what it would get alone', () => {
  const model = new GPT(gptConfig('nano', { vocabSize: 40, blockSize: 24 }), 9).eval();
  const prompts = [[1, 2, 3, 4, 5, 6], [7], [8, 9, 10]];
  const batched = generate(model, prompts, (l) => argmax(l), { maxTokens: 8 });
  prompts.forEach((p, b) => assert.deepEqual(batched[b].tokens, greedyNoCache(model, p, 8), `sequence ${b}`));
});

test('eos, stop callback and the context limit end sequences', () => {
  const model = new GPT(gptConfig('nano', { vocabSize: 30, blockSize: 10 }), 3).eval();
  const free = generate(model, [[1, 2]], (l) => argmax(l), { maxTokens: 5 })[0].tokens;
  const eos = generate(model, [[1, 2]], (l) => argmax(l), { maxTokens: 5, eosIds: [free[2]] })[0];
  assert.equal(eos.finishReason, 'eos');
  assert.deepEqual(eos.tokens, free.slice(0, free.indexOf(free[2])));
  const stopped = generate(model, [[1, 2]], (l) => argmax(l), { maxTokens: 5, onToken: (_b, _t) => true })[0];
  assert.equal(stopped.finishReason, 'stop');
  assert.equal(stopped.tokens.length, 1);
  const long = generate(model, [[1, 2, 3]], (l) => argmax(l), { maxTokens: 100 })[0];
  // The last token is predicted from a full context of 10; it is never fed back.
  assert.equal(long.tokens.length, 10 - 3 + 1, 'stops when the context is full');
  assert.throws(() => generate(model, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], (l) => argmax(l), { maxTokens: 1 }), /leaves no room/);
});

test('every decoding step’s logits equal a full recomputation within 1e-4', () => {
  const model = new GPT(gptConfig('nano', { vocabSize: 60, blockSize: 32 }), 3).eval();
  const prompt = [4, 8, 15, 16, 23];
  const seq = [...prompt];
  let worst = 0;
  generate(model, [prompt], (logits) => {
    const full = noGrad(() => scope(() => model.forward(Int32Array.from(seq), 1, seq.length, undefined, { lastOnly: true }).logits.data.slice()));
    for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - full[i]));
    const t = argmax(logits);
    seq.push(t);
    return t;
  }, { maxTokens: 10 });
  assert.equal(seq.length, prompt.length + 10);
  assert.ok(worst < 1e-4, `max |cached − recomputed| = ${worst}`);
});

test('prompt widths are bucketed only where the context leaves the answer its room', () => {
  assert.equal(PREFILL_BUCKET, 32);
  assert.equal(prefillWidth(5, 10, 256), 32);
  assert.equal(prefillWidth(33, 10, 256), 64);
  assert.equal(prefillWidth(64, 10, 256), 64);
  assert.equal(prefillWidth(200, 40, 256), 216, 'rounding to 224 would cut the answer short');
  assert.equal(prefillWidth(230, 40, 256), 230, 'never below the longest prompt');
  assert.equal(prefillWidth(250, 0, 256), 255, 'at most blockSize − 1');
  // The tests above run with this padding (e.g. 5 prompt tokens padded to 20 in a 32-token context).
  assert.equal(prefillWidth(5, 12, 32), 20);
});
