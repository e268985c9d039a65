// Text-level generation on a model trained in-process: streaming equals batch generation, stop
// strings are cut and never emitted, seeds reproduce, the event loop keeps turning while streaming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from '../models/gpt.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { generateText, streamText } from './text.ts';

const corpus = 'the cat sat on the mat. the dog sat on the log. héllo wörld 🙂 '.repeat(40);
const tokenizer = await trainBpe([corpus], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
const model = new GPT(gptConfig('nano', { vocabSize: tokenizer.vocabSize, blockSize: 48 }), 4).eval();

test('streamed pieces add up to the batch result, with the same seed', async () => {
  const opts = { maxTokens: 30, temperature: 1.0, seed: 9 };
  const [batch] = generateText(model, tokenizer, ['the cat'], opts);
  const again = generateText(model, tokenizer, ['the cat'], opts)[0];
  assert.equal(batch.text, again.text, 'same seed, same text');
  const stream = streamText(model, tokenizer, 'the cat', opts);
  let text = '';
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  let r = await stream.next();
  while (!r.done) {
    assert.ok(!r.value.includes('\uFFFD') || batch.text.includes('\uFFFD'), 'no broken characters mid-stream');
    text += r.value;
    r = await stream.next();
  }
  clearInterval(timer);
  assert.equal(text, batch.text);
  assert.equal(r.value.text, batch.text);
  assert.equal(r.value.completionTokens, batch.completionTokens);
  assert.ok(ticks > 0, 'the event loop ran while streaming');
});

test('stop strings end the text before them', () => {
  const free = generateText(model, tokenizer, ['the'], { maxTokens: 40, greedy: true })[0].text;
  assert.ok(free.length > 4);
  const stop = free.slice(2, 4);
  const cut = generateText(model, tokenizer, ['the'], { maxTokens: 40, greedy: true, stop: [stop] })[0];
  assert.equal(cut.finishReason, 'stop');
  assert.equal(cut.text, free.slice(0, free.indexOf(stop)));
  assert.ok(!cut.text.includes(stop));
  assert.equal(cut.tokenLogprobs.length, cut.completionTokens);
  assert.ok(cut.tokenLogprobs.every((l) => l <= 0 && Number.isFinite(l)));
});
