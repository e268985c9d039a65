// The commands users run, end to end through the CLI: pretrain (--config, --json, --resume,
// --on-error), sample (--top-p, --stop, --num, --seed, --json with token ids), score (--json,
// --context, texts longer than the context), export then load, info; and honest progress lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './test-cli.ts';
import { progressLine } from './data.ts';
import { trainBpe, loadTokenizer } from '../tokenizer/index.ts';
import { loadModel } from '../interop/load.ts';
import { scoreText } from '../generate/score.ts';
import { Rng } from '../util/rng.ts';
import { loadAddon } from '../backend/native/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-commands-'));
const corpus = join(dir, 'corpus.jsonl');
const rng = new Rng(12);
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'home'];
writeFileSync(corpus, Array.from({ length: 1500 }, () => JSON.stringify({ text: Array.from({ length: 10 }, () => rng.pick(words)).join(' ') + '.' })).join('\n') + '\n');
const tokDir = join(dir, 'tok');
const ck = join(dir, 'ck');

const cli = runCli;

test('pretrain from a config file with --json progress, then --resume; malformed records per --on-error', async () => {
  const tok = await trainBpe([readFileSync(corpus, 'utf8')], { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
  tok.save(tokDir);
  writeFileSync(join(dir, 'pretrain.json'), JSON.stringify({ data: ['corpus.jsonl'], tokenizer: 'tok', out: 'ck', preset: 'nano', 'block-size': 32, batchSize: 4, steps: 3, 'eval-every': 3, 'eval-batches': 2 }));
  const r = await cli(['pretrain', '--config', join(dir, 'pretrain.json'), '--json']);
  assert.equal(r.code, 0, r.err);
  const events = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual([...new Set(events.map((e) => e.type))], ['tokenize', 'start', 'step', 'eval', 'checkpoint', 'done']);
  const tokenize = events.filter((e) => e.type === 'tokenize');
  assert.equal(tokenize.at(-1).docs, 1500, 'the last tokenizing line counts every document read');
  assert.equal(tokenize.at(-1).done, true);
  const again = await cli(['pretrain', '--out', ck, '--steps', '5', '--resume']);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /resuming from step 3/);
  assert.match(again.out, /done: 5 steps/);
  assert.doesNotMatch(again.out, /^config: \{/m, 'no raw config JSON on the human-readable output');

  writeFileSync(join(dir, 'bad.jsonl'), readFileSync(corpus, 'utf8') + 'not json\n');
  const failed = await cli(['pretrain', '--data', join(dir, 'bad.jsonl'), '--tokenizer', tokDir, '--out', join(dir, 'bad'), '--preset', 'nano', '--block-size', '32', '--steps', '1']);
  assert.equal(failed.code, 1);
  assert.match(failed.err, /bad\.jsonl:1501/);
  const skipped = await cli(['pretrain', '--data', join(dir, 'bad.jsonl'), '--tokenizer', tokDir, '--out', join(dir, 'bad'), '--preset', 'nano', '--block-size', '32', '--steps', '1', '--on-error', 'skip']);
  assert.equal(skipped.code, 0, skipped.err);
  assert.match(skipped.err, /warning: skipped .*bad\.jsonl:1501/);
});

test('pretrain --precision bf16: saved with the run, shown at the start, emulated with one notice, switchable on --resume', async () => {
  const addon = loadAddon();
  assert.ok(addon);
  const out = join(dir, 'bf16');
  const base = ['pretrain', '--data', corpus, '--tokenizer', tokDir, '--out', out, '--preset', 'nano', '--block-size', '32', '--batch-size', '4'];
  addon.bf16Native(false); // the emulated path, whatever this CPU has
  try {
    const r = await cli([...base, '--steps', '2', '--precision', 'bf16']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /bf16 mixed precision/);
    assert.equal(r.err.match(/--precision bf16 is emulated/g)?.length, 1, r.err);
  } finally {
    addon.bf16Native('auto');
  }
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).training.precision, 'bf16');
  const again = await cli(['pretrain', '--out', out, '--steps', '3', '--resume', '--precision', 'f32']);
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /bf16 mixed precision/);
  assert.match(again.out, /done: 3 steps/);
  const bad = await cli([...base, '--steps', '1', '--precision', 'fp16', '--force']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--precision must be one of f32, bf16, got 'fp16'/);
});

test('sample: --json gives text and token ids; --seed repeats; --num batches; --top-p and --stop', async () => {
  const run = async (extra: string[]) => {
    const r = await cli(['sample', '--model', ck, '--prompt', 'the cat', '--max-tokens', '12', '--json', ...extra]);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out);
  };
  const a = await run(['--seed', '7', '--top-p', '0.9']);
  const b = await run(['--seed', '7', '--top-p', '0.9']);
  assert.deepEqual(a.samples, b.samples, 'the same seed gives the same sample');
  const tok = loadTokenizer(tokDir);
  const s = a.samples[0];
  assert.ok(Array.isArray(s.tokens) && s.tokens.length === s.completion_tokens);
  assert.equal(tok.decode(s.tokens), s.text, 'the ids decode to the text');
  const many = await run(['--num', '3', '--seed', '1']);
  assert.equal(many.samples.length, 3);
  const stopped = await run(['--seed', '1', '--stop', ' ']);
  for (const x of stopped.samples) assert.doesNotMatch(x.text, / /, 'never emits the stop string');
  const g1 = await run(['--greedy', '--seed', '1']), g2 = await run(['--greedy', '--seed', '2']);
  assert.deepEqual(g1.samples, g2.samples, 'greedy ignores the seed');
});

test('score: --json log-probabilities match the library, --context conditions, long texts are windowed', async () => {
  const r = await cli(['score', '--model', ck, '--text', 'the cat sat on the mat.', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const { model, tokenizer } = loadModel(ck);
  const lib = scoreText(model, tokenizer, 'the cat sat on the mat.');
  assert.deepEqual(j.tokens.map((t: { id: number }) => t.id), lib.tokens);
  assert.ok(Math.abs(j.total_logprob - lib.totalLogprob) < 1e-9);
  const withCtx = JSON.parse((await cli(['score', '--model', ck, '--text', ' sat on the mat.', '--context', 'the cat', '--json'])).out);
  assert.equal(withCtx.tokens.length, tokenizer.encode(' sat on the mat.').length, 'only the text is scored');
  const long = Array.from({ length: 40 }, () => 'the dog ran far away').join(' ');
  const lj = JSON.parse((await cli(['score', '--model', ck, '--text', long, '--json'])).out);
  assert.equal(lj.tokens.length, tokenizer.encode(long).length);
  assert.ok(tokenizer.encode(long).length > 32, 'longer than the 32-token context');
  assert.ok(lj.tokens.every((t: { logprob: number }) => Number.isFinite(t.logprob) && t.logprob <= 0));
  const human = await cli(['score', '--model', ck, '--text', 'the cat']);
  assert.match(human.out, /total log-prob -?\d+\.\d{4} over \d+ tokens; perplexity \d+\.\d{3}/);
});

test('export then load: the Hugging Face directory gives the same log-probabilities; info prints sizes', async () => {
  const hf = join(dir, 'hf');
  const r = await cli(['export', '--model', ck, '--out', hf]);
  assert.equal(r.code, 0, r.err);
  const a = loadModel(ck), b = loadModel(hf);
  const sa = scoreText(a.model, a.tokenizer, 'the dog sat.'), sb = scoreText(b.model, b.tokenizer, 'the dog sat.');
  assert.deepEqual(sb.tokens, sa.tokens);
  sa.logprobs.forEach((x, i) => assert.ok(Math.abs(x - sb.logprobs[i]) < 1e-5));
  const info = await cli(['info', '--preset', 'gpt2', '--json']);
  const j = JSON.parse(info.out);
  assert.equal(j.n_layer, 12);
  assert.ok(j.params > 124e6 && j.params < 125e6, `GPT-2 small has 124M parameters, got ${j.params}`);
  const table = await cli(['info']);
  assert.match(table.out, /^gpt3-175b\s+96\s+96\s+12288/m);
});

test('curate progress lines say what a phase does instead of "0 docs"', () => {
  assert.equal(progressLine({ phase: 'train', docs: 0, bytes: 0 }, performance.now()).replace(/ \[.*\]$/, ''), 'train: training the quality classifier');
  assert.equal(progressLine({ phase: 'dedup', docs: 0, bytes: 0 }, performance.now()).replace(/ \[.*\]$/, ''), 'dedup: writing the documents fuzzy dedup kept');
  assert.match(progressLine({ phase: 'cluster', docs: 570, bytes: 0 }, performance.now()), /^cluster: 570 signatures/);
});
