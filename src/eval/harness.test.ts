// The harness end to end on models whose outputs are known: a model with all weights zero (every
// token equally likely, so a choice's log-likelihood is −tokens·log V) and one that always emits
// the same token. Checks the figures against hand computation, the lm-evaluation-harness result
// shape, k-shot keys, truncation counting, and generative exact match / F1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, gptConfig } from '../models/gpt.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { evaluate, type EvalEvent } from './harness.ts';
import { meanStderr, normalizeAnswer, f1Score, exactMatch, choiceMetrics } from './metrics.ts';

const tokenizer = await trainBpe(['the sky is blue and the grass is green. red apples, yellow bananas. aaaa bbbb '.repeat(30)], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
const V = tokenizer.vocabSize;

function zeroModel(blockSize = 64): GPT {
  const m = new GPT(gptConfig('nano', { vocabSize: V, blockSize, nLayer: 1, nHead: 2, nEmbd: 16 }), 1).eval();
  for (const [, p] of m.namedParameters()) p.data.fill(0);
  return m;
}

const dir = mkdtempSync(join(tmpdir(), 'gptkit-harness-'));
const mcRows = [
  { context: 'The sky is', choices: ['blue', 'green', 'a red apple'], gold: 0 },
  { context: 'Grass is', choices: ['yellow bananas', 'green'], gold: 1 },
  { context: 'Apples are', choices: ['red', 'blue'], gold: 1 },
  { context: 'Bananas are', choices: ['the yellow ones', 'aaaa'], gold: 0 },
];
const mcFile = join(dir, 'colours.jsonl');
writeFileSync(mcFile, mcRows.map((r) => JSON.stringify(r)).join('\n') + '\n');

test('multiple choice: acc and acc_norm equal hand computation on a uniform model; lm-eval result shape', () => {
  const r = evaluate({ model: zeroModel(), tokenizer, name: 'zero' }, { tasks: [mcFile] });
  // Every token has probability 1/V: log-likelihood = −(tokens of " choice")·log V.
  const acc: number[] = [], accNorm: number[] = [];
  for (const row of mcRows) {
    const ll = row.choices.map((c) => -tokenizer.encode(' ' + c).length * Math.log(V));
    const m = choiceMetrics(ll, row.choices, row.gold);
    acc.push(m.acc);
    accNorm.push(m.acc_norm);
  }
  const res = r.results.colours;
  assert.ok(res, 'results keyed by the task name');
  assert.equal(res.alias, 'colours');
  assert.equal(res.acc, meanStderr(acc).mean);
  assert.equal(res.acc_stderr, meanStderr(acc).stderr);
  assert.equal(res.acc_norm, meanStderr(accNorm).mean);
  assert.equal(res.acc_norm_stderr, meanStderr(accNorm).stderr);
  assert.equal(res.samples, 4);
  assert.equal(res.truncated, 0);
  assert.deepEqual(r['n-shot'], { colours: 0 });
  assert.deepEqual(r['n-samples'], { colours: { original: 4, effective: 4 } });
  assert.deepEqual(r.versions, { colours: 1 });
  assert.equal(r.config.model, 'zero');
  assert.deepEqual(r.config.num_fewshot, [0]);
  assert.equal(typeof r.total_evaluation_time_seconds, 'number');
  assert.notDeepEqual(acc, accNorm, 'the data tell acc from acc_norm apart');
});

test('several shot counts give one result each; --limit takes the first items', () => {
  const events: EvalEvent[] = [];
  const r = evaluate({ model: zeroModel(), tokenizer, name: 'zero' }, { tasks: [mcFile], shots: [0, 2], limit: 3 }, (e) => events.push(e));
  assert.deepEqual(Object.keys(r.results), ['colours|0-shot', 'colours|2-shot']);
  assert.deepEqual(r['n-shot'], { 'colours|0-shot': 0, 'colours|2-shot': 2 });
  assert.deepEqual(r['n-samples']['colours|2-shot'], { original: 4, effective: 3 });
  assert.equal(events.filter((e) => e.type === 'result').length, 2);
  assert.ok(events.some((e) => e.type === 'progress' && e.done === 3 && e.total === 3));
});

test('contexts longer than the window are cut from the left, counted and reported with file and line', () => {
  const events: EvalEvent[] = [];
  const long = join(dir, 'long.jsonl');
  writeFileSync(long, [
    { context: 'the sky is blue. '.repeat(20) + 'The sky is', choices: ['blue', 'green'], gold: 0 },
    { context: 'Grass is', choices: ['green', 'blue'], gold: 0 },
  ].map((x) => JSON.stringify(x)).join('\n'));
  const r = evaluate({ model: zeroModel(24), tokenizer, name: 'zero' }, { tasks: [long] }, (e) => events.push(e));
  assert.equal(r.results.long.truncated, 1);
  const t = events.filter((e) => e.type === 'truncated');
  assert.equal(t.length, 1);
  assert.ok(t[0].type === 'truncated' && t[0].file === long && t[0].line === 1 && t[0].droppedTokens > 0);
});

test('generative: greedy decoding, exact match and F1 after normalisation', () => {
  const m = zeroModel();
  // Always emit the token 'a': logits = wte · ln_f.bias, nonzero only for 'a'.
  const a = tokenizer.encode('a');
  assert.equal(a.length, 1);
  m.transformer.ln_f!.bias.data[0] = 1;
  m.transformer.wte.weight.data[a[0] * 16] = 1;
  const gen = join(dir, 'gen.jsonl');
  writeFileSync(gen, [{ prompt: 'Say it:', answer: 'AAAA!' }, { prompt: 'Again:', answer: 'aaaa bbbb' }, { prompt: 'No:', answer: 'bbbb' }].map((x) => JSON.stringify(x)).join('\n'));
  const r = evaluate({ model: m, tokenizer, name: 'a' }, { tasks: [gen], maxGenTokens: 4, batchSize: 2 });
  const em = [1, 0, 0], f1 = [1, 2 / 3, 0];
  assert.equal(r.results.gen.exact_match, meanStderr(em).mean);
  assert.equal(r.results.gen.exact_match_stderr, meanStderr(em).stderr);
  assert.ok(Math.abs((r.results.gen.f1 as number) - meanStderr(f1).mean) < 1e-12);
  assert.equal(r.results.gen.acc, undefined);
});

test('metrics: SQuAD normalisation, F1, standard error', () => {
  assert.equal(normalizeAnswer('  The  Cat, sat!  '), 'cat sat');
  assert.equal(exactMatch('an apple.', 'Apple'), 1);
  assert.equal(f1Score('red apple pie', 'the red apple'), 0.8);
  assert.equal(f1Score('', ''), 1);
  const s = meanStderr([1, 0, 1, 1]);
  assert.equal(s.mean, 0.75);
  assert.ok(Math.abs(s.stderr - Math.sqrt(0.25 / 4)) < 1e-12);
  assert.deepEqual(meanStderr([1]), { mean: 1, stderr: 0 });
});

test('bad options and unknown tasks are clear errors', () => {
  const m = { model: zeroModel(), tokenizer, name: 'zero' };
  assert.throws(() => evaluate(m, { tasks: [] }), /no tasks given/);
  assert.throws(() => evaluate(m, { tasks: [mcFile], shots: [-1] }), /shots must be non-negative integers/);
  assert.throws(() => evaluate(m, { tasks: ['world:nope'] }), /unknown world task 'nope'/);
  assert.throws(() => evaluate(m, { tasks: [mcFile], shots: [4] }), /4-shot evaluation needs 4 demonstrations but only 3/);
});
