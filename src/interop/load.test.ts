// Real GPT-2 layout end to end: a Hugging Face GPT-2 directory (Conv1D weights, mask buffers,
// vocab.json + merges.txt) loads, scores a text and continues a prompt exactly as PyTorch does
// (goldens: tests/golden/hf-gpt2-lm/make_goldens.py), and survives export → import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, exportHfGpt2 } from './load.ts';
import { scoreIds, scoreText } from '../generate/score.ts';
import { generate } from '../generate/generate.ts';
import { argmax } from '../generate/sampling.ts';
import { noGrad, scope } from '../tensor/tensor.ts';

const dir = join(import.meta.dirname, '..', '..', 'tests', 'golden', 'hf-gpt2-lm');
const golden = JSON.parse(readFileSync(join(dir, 'goldens.json'), 'utf8')) as { text: string; ids: number[]; logprobs: number[]; prompt: number[]; greedy: number[] };

test('HF GPT-2 directory: score log-probs match PyTorch', () => {
  const { model, tokenizer, source } = loadModel(join(dir, 'model'));
  assert.equal(source, 'hf-gpt2');
  const lp = scoreIds(model, golden.ids);
  assert.equal(lp.length, golden.logprobs.length);
  lp.forEach((v, i) => assert.ok(Math.abs(v - golden.logprobs[i]) <= 1e-4 * Math.max(1, Math.abs(golden.logprobs[i])), `token ${i}: ${v} vs ${golden.logprobs[i]}`));
  // Through the tokenizer: with no merges, ids are the UTF-8 bytes.
  const s = scoreText(model, tokenizer, golden.text);
  assert.deepEqual(s.tokens, golden.ids.slice(1));
  const total = golden.logprobs.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(s.totalLogprob - total) < 1e-3 * Math.abs(total));
});

test('HF GPT-2 directory: greedy continuation matches PyTorch', () => {
  const { model } = loadModel(join(dir, 'model'));
  const [g] = generate(model, [golden.prompt], (l) => argmax(l), { maxTokens: golden.greedy.length });
  assert.deepEqual(g.tokens, golden.greedy);
});

test('long texts are scored in windows, each token with left context', () => {
  const { model } = loadModel(join(dir, 'model')); // context 32
  const ids = [256, ...Array.from({ length: 70 }, (_, i) => 97 + (i * 7) % 26)];
  const lp = scoreIds(model, ids);
  assert.equal(lp.length, 70);
  assert.ok(lp.every(Number.isFinite));
  // The first window is scored with exactly the context a short text would have.
  assert.deepEqual(lp.slice(0, 32), scoreIds(model, ids.slice(0, 33)));
  // Windows start every 16 tokens; target 60 is first reached by the window starting at 32, so it is
  // scored with ids[32..59] as context (28 tokens: never less than half a context).
  const t = 60;
  const windowStart = 32;
  const direct = noGrad(() => scope(() => {
    const ctx = ids.slice(windowStart, t);
    const { logits } = model.forward(Int32Array.from(ctx), 1, ctx.length, undefined, { lastOnly: true });
    const l = logits.data;
    let m = -Infinity;
    for (const v of l) m = Math.max(m, v);
    let s = 0;
    for (const v of l) s += Math.exp(v - m);
    return l[ids[t]] - m - Math.log(s);
  }));
  assert.ok(Math.abs(lp[t - 1] - direct) < 1e-5, `${lp[t - 1]} vs ${direct}`);
});

test('export to the HF layout and load back: same model', () => {
  const { model, tokenizer } = loadModel(join(dir, 'model'));
  const out = mkdtempSync(join(tmpdir(), 'gptkit-hf-'));
  exportHfGpt2(model, tokenizer, out);
  const again = loadModel(out);
  assert.equal(again.source, 'hf-gpt2');
  const a = model.namedParameters(), b = again.model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
  assert.deepEqual(again.tokenizer.encode('héllo <|endoftext|>'), tokenizer.encode('héllo <|endoftext|>'));
});

test('a directory that is neither format gets a clear error', () => {
  const bad = mkdtempSync(join(tmpdir(), 'gptkit-bad-'));
  writeFileSync(join(bad, 'config.json'), JSON.stringify({ model_type: 'llama' }));
  assert.throws(() => loadModel(bad), /neither a gptkit checkpoint .* nor a Hugging Face GPT-2 directory/);
  assert.throws(() => loadModel(join(bad, 'missing')), /no such model directory/);
});
