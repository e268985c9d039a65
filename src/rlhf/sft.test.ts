import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gpt2Tokenizer } from '../tokenizer/index.ts';
import { GPT, gptConfig } from '../models/gpt.ts';
import { Tensor, noGrad, scope } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { ChatTemplate } from './chat-template.ts';
import { withChatTokens } from './chat-tokens.ts';
import { encodeSft, padBatch, EpochBatches, IGNORE } from './sft.ts';

const base = new GPT(gptConfig('nano', { vocabSize: 50257, blockSize: 64, nLayer: 1, nHead: 2, nEmbd: 16 }), 5);
const { model, tokenizer } = withChatTokens(base, gpt2Tokenizer());
const chat = new ChatTemplate(tokenizer);
const records = [
  { messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'What is 2 + 3?' }, { role: 'assistant' as const, content: '5.' }] },
  { messages: [{ role: 'user' as const, content: 'Hi' }, { role: 'assistant' as const, content: 'Hello!' }, { role: 'user' as const, content: 'Bye' }, { role: 'assistant' as const, content: 'Goodbye.' }] },
];

test('targets are the assistant tokens (with <|im_end|>) shifted by one; the rest is ignored', () => {
  const { examples, stats } = encodeSft(records, chat, 64);
  assert.equal(stats.examples, 2);
  const kept = (i: number) => [...examples[i].targets].filter((t) => t !== IGNORE);
  const end = chat.endOfTurnId;
  assert.deepEqual(kept(0), chat.encodeCompletion('5.'));
  assert.deepEqual(kept(1), [...tokenizer.encode('Hello!'), end, ...tokenizer.encode('Goodbye.'), end]);
  assert.equal(stats.assistantTokens, kept(0).length + kept(1).length);
});

test('masked positions (prompt, markup, padding) get exactly zero gradient', () => {
  const { examples } = encodeSft(records, chat, 64);
  const batch = padBatch(examples, 64);
  model.eval();
  const logits = noGrad(() => model.forward(batch.ids, batch.B, batch.T).logits.clone());
  const V = model.config.vocabSize;
  const leaf = new Tensor(logits.data, logits.shape, true);
  scope(() => op.crossEntropy(leaf, batch.targets).backward());
  const g = leaf.grad!;
  let masked = 0, live = 0;
  for (let r = 0; r < batch.B * batch.T; r++) {
    let norm = 0;
    for (let v = 0; v < V; v++) norm += Math.abs(g[r * V + v]);
    if (batch.targets[r] === IGNORE) { assert.equal(norm, 0, `row ${r}`); masked++; } else { assert.ok(norm > 0); live++; }
  }
  assert.ok(masked > live && live > 0);
});

test('too-long conversations keep their end; none without assistant tokens survive', () => {
  const long = [{ messages: [{ role: 'user' as const, content: 'word '.repeat(200) }, { role: 'assistant' as const, content: 'Short.' }] }];
  const { examples, stats } = encodeSft(long, chat, 32);
  assert.equal(stats.truncated, 1);
  assert.equal(examples[0].ids.length, 32);
  assert.deepEqual([...examples[0].targets].filter((t) => t !== IGNORE), chat.encodeCompletion('Short.'));
  const cut = encodeSft([{ messages: [{ role: 'assistant' as const, content: 'x' }, { role: 'user' as const, content: 'word '.repeat(200) }] }], chat, 16);
  assert.equal(cut.stats.dropped, 1);
});

test('epochs visit every example once in a seeded order; state restores the position', () => {
  const items = Array.from({ length: 7 }, (_, i) => i);
  const seen: number[][] = [];
  const src = new EpochBatches(items, 3, 9, (xs) => { seen.push(xs); return { ids: new Int32Array(1), targets: new Int32Array(1), B: 1, T: 1 }; });
  for (let i = 0; i < 3; i++) src.next();
  assert.deepEqual(seen.flat().sort((a, b) => a - b), items);
  assert.equal(src.epoch, 0);
  const st = src.state();
  src.next();
  const again = new EpochBatches(items, 3, 9, (xs) => { seen.push(xs); return { ids: new Int32Array(1), targets: new Int32Array(1), B: 1, T: 1 }; });
  again.restore(st);
  again.next();
  assert.deepEqual(seen[seen.length - 1], seen[seen.length - 2]);
  assert.equal(again.epoch, 1);
});
