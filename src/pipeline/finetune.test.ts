// Finetuning end to end on tiny models trained in-process: λ = 0 and λ > 0 give different losses
// and both learn a task above chance; resume is exact; the result loads with its head and
// `gptkit eval` uses it; Hugging Face GPT-2 directories and world tasks work; bad records name
// their file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, gptConfig } from '../models/gpt.ts';
import { GptTaskModel } from '../models/gpt1-task.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { saveCheckpoint } from '../interop/checkpoint.ts';
import { loadModel, exportHfGpt2 } from '../interop/load.ts';
import { Rng } from '../util/rng.ts';
import { evaluate } from '../eval/harness.ts';
import { headEvaluator } from '../eval/head.ts';
import { finetune, withTaskTokens, type FinetuneEvent } from './finetune.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-finetune-'));
const rng = new Rng(5);
const FILLER = ['the', 'food', 'room', 'view', 'was', 'and', 'very', 'at', 'inn', 'today'];
const review = (positive: boolean) => {
  const words = Array.from({ length: 5 }, () => rng.pick(FILLER));
  words.splice(rng.int(6), 0, positive ? rng.pick(['good', 'great', 'lovely']) : rng.pick(['bad', 'awful', 'dreadful']));
  return words.join(' ');
};
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ text: review(i % 2 === 0), label: i % 2 === 0 ? 'positive' : 'negative' }));
const jsonl = (path: string, xs: unknown[]) => writeFileSync(path, xs.map((x) => JSON.stringify(x)).join('\n') + '\n');

const taskDir = join(dir, 'reviews');
mkdirSync(taskDir);
jsonl(join(taskDir, 'train.jsonl'), rows(96));
jsonl(join(taskDir, 'validation.jsonl'), rows(40));
jsonl(join(taskDir, 'test.jsonl'), rows(40));

// The "pretrained" model: a random tiny GPT saved as a checkpoint with its tokenizer.
const tokenizer = await trainBpe([FILLER.concat(['good', 'great', 'lovely', 'bad', 'awful', 'dreadful']).join(' ').repeat(20)], { vocabSize: 290, specialTokens: ['<|endoftext|>'] });
const base = new GPT(gptConfig('nano', { vocabSize: tokenizer.vocabSize, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0.1 }), 7);
const baseDir = join(dir, 'base');
saveCheckpoint(baseDir, base, { tokenizerJson: { text: tokenizerJsonText(tokenizer.toSpec()) } });

const recipe = { model: baseDir, task: taskDir, lr: 3e-3, batchSize: 16, epochs: 4, warmup: 0.1, seed: 3 };
const steps = (ev: FinetuneEvent[]) => ev.filter((e) => e.type === 'step') as Extract<FinetuneEvent, { type: 'step' }>[];

test('λ = 0 and λ = 0.5 give different losses, and both learn the task above chance', async () => {
  const results: Record<string, { losses: number[]; valAcc: number | null }> = {};
  for (const auxLm of [0, 0.5]) {
    const ev: FinetuneEvent[] = [];
    const r = await finetune({ ...recipe, auxLm, out: join(dir, `lambda-${auxLm}`) }, (e) => ev.push(e));
    const s = steps(ev);
    assert.equal(s.length, 4 * 6, '4 epochs of 96 examples in batches of 16');
    if (auxLm === 0) assert.ok(s.every((x) => x.lmLoss === null && x.loss === x.taskLoss));
    else assert.ok(s.every((x) => x.lmLoss !== null && Math.abs(x.loss - (x.taskLoss + 0.5 * x.lmLoss)) < 1e-4));
    results[auxLm] = { losses: s.map((x) => x.loss), valAcc: r.valAcc };
    assert.equal(ev.filter((e) => e.type === 'eval').length, 4, 'validation after every epoch');
  }
  assert.notDeepEqual(results[0].losses, results[0.5].losses);
  for (const [l, r] of Object.entries(results)) assert.ok(r.valAcc! >= 0.75, `λ = ${l}: validation accuracy ${r.valAcc} is not above chance (0.5)`);
});

test('the finetuned checkpoint: new embedding rows, the head in config.json, eval uses the head', async () => {
  const out = join(dir, 'lambda-0.5');
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.finetune.task, 'reviews');
  assert.equal(cfg.finetune.layout, 'classification');
  assert.deepEqual(cfg.finetune.labels, ['negative', 'positive']);
  assert.equal(cfg.gpt.vocabSize, tokenizer.vocabSize + 3);
  const loaded = loadModel(out);
  assert.ok(loaded.model instanceof GptTaskModel);
  assert.equal(loaded.task?.task, 'reviews');
  assert.equal(loaded.tokenizer.tokenId('<|extract|>'), tokenizer.vocabSize + 2);
  // The old rows are the pretrained ones moved by training; the three new rows were trained too.
  const wte = (loaded.model as GptTaskModel).transformer.wte.weight;
  assert.deepEqual(wte.shape, [tokenizer.vocabSize + 3, 32]);
  const fresh = new GptTaskModel(gptConfig(base.config, { vocabSize: tokenizer.vocabSize + 3 }), 'classification', 2, 3);
  const row = (w: Float32Array, i: number) => w.subarray(i * 32, (i + 1) * 32);
  assert.notDeepEqual(row(wte.data, tokenizer.vocabSize + 2), row(fresh.transformer.wte.weight.data, tokenizer.vocabSize + 2), 'the extract row moved from its init');
  const head = headEvaluator(loaded.model, loaded.tokenizer, loaded.task!);
  const r = evaluate({ model: loaded.model, tokenizer: loaded.tokenizer, name: out, head }, { tasks: [taskDir], shots: [0, 1] });
  assert.deepEqual(Object.keys(r.results), ['reviews'], 'the head answers once, whatever the shots');
  assert.equal(r.results.reviews.method, 'head');
  assert.ok((r.results.reviews.acc as number) >= 0.75, `test accuracy with the head ${r.results.reviews.acc}`);
  // Another task is still scored by prompting the language model.
  const other = join(dir, 'mc.jsonl');
  jsonl(other, [{ context: 'the food was', choices: ['good', 'bad'], gold: 0 }]);
  const r2 = evaluate({ model: loaded.model, tokenizer: loaded.tokenizer, name: out, head }, { tasks: [other] });
  assert.equal(r2.results.mc.method, undefined);
  assert.equal(typeof r2.results.mc.acc_norm, 'number');
});

test('resume continues exactly where the interrupted run stopped', async () => {
  const cfg = { ...recipe, epochs: 2, auxLm: 0.5 };
  const full: FinetuneEvent[] = [];
  await finetune({ ...cfg, out: join(dir, 'full') }, (e) => full.push(e));
  const out = join(dir, 'crashy');
  const first: FinetuneEvent[] = [];
  await assert.rejects(finetune({ ...cfg, checkpointEvery: 4, out }, (e) => {
    first.push(e);
    if (e.type === 'step' && e.step === 7) throw new Error('simulated crash');
  }), /simulated crash/);
  assert.ok(existsSync(join(out, 'trainer_state', 'state.json')));
  const resumed: FinetuneEvent[] = [];
  await assert.rejects(finetune({ out, resume: true, lr: 1e-3 }), /--resume: --lr 0\.001 differs from the checkpoint's 0\.003/);
  await finetune({ out, resume: true }, (e) => resumed.push(e)); // the run's own settings
  const start = resumed.find((e) => e.type === 'start') as { resumedFrom: number | null };
  assert.equal(start.resumedFrom, 4);
  const losses = (ev: FinetuneEvent[]) => steps(ev).map((s) => s.loss);
  assert.deepEqual([...losses(first).slice(0, 4), ...losses(resumed)], losses(full));
  const a = loadModel(join(dir, 'full')).model.namedParameters(), b = loadModel(out).model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.filter((m) => 'loss' in m).map((m) => m.step), Array.from({ length: 12 }, (_, i) => i + 1));
  await assert.rejects(finetune({ ...cfg, task: join(taskDir, 'train.jsonl'), out, resume: true }), /--resume: --task .*train\.jsonl" differs from the checkpoint's .*reviews"/);
  await assert.rejects(finetune({ out: join(dir, 'nothing-here'), resume: true }), /--resume: .*nothing-here holds no checkpoint/);
});

test('a Hugging Face GPT-2 directory and a world task (entailment: premise $ hypothesis) finetune', async () => {
  const hf = join(dir, 'hf');
  const gpt2Style = new GPT(gptConfig('nano', { vocabSize: tokenizer.vocabSize, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 }), 2);
  exportHfGpt2(gpt2Style, tokenizer, hf);
  const world = join(dir, 'world');
  mkdirSync(join(world, 'tasks', 'entailment'), { recursive: true });
  const ent = (n: number) => Array.from({ length: n }, (_, i) => ({ premise: 'the inn was good', hypothesis: ['the inn was good', 'the inn was bad', 'the view was lovely'][i % 3], label: ['entailed', 'contradicted', 'unknown'][i % 3] }));
  jsonl(join(world, 'tasks', 'entailment', 'train.jsonl'), ent(12));
  jsonl(join(world, 'tasks', 'entailment', 'validation.jsonl'), ent(6));
  const ev: FinetuneEvent[] = [];
  const r = await finetune({ model: hf, task: 'world:entailment', world, out: join(dir, 'hf-ft'), epochs: 1, batchSize: 4 }, (e) => ev.push(e));
  const s = ev.find((e) => e.type === 'start') as Extract<FinetuneEvent, { type: 'start' }>;
  assert.equal(s.layout, 'entailment');
  assert.deepEqual(s.labels, ['entailed', 'contradicted', 'unknown']);
  assert.equal(s.addedTokens, 3);
  assert.equal(steps(ev).length, 3);
  assert.equal(ev.filter((e) => e.type === 'step')[0].type, 'step');
  assert.ok(steps(ev)[0].lr > 0 && steps(ev)[2].lr < steps(ev)[0].lr, 'linear decay after warmup');
  assert.equal(r.head.nClasses, 3);
  assert.equal(withTaskTokens(r.tokenizer).added, 0, 'the task tokens are not added twice');
});

test('bad records and options are errors naming the file and line or the option', async () => {
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  jsonl(join(bad, 'train.jsonl'), [{ context: 'c', choices: ['a', 'b'], gold: 0 }, { context: 'c', choices: ['a', 'b', 'c'], gold: 0 }]);
  await assert.rejects(finetune({ model: baseDir, task: bad, out: join(dir, 'bad-out') }), /bad\/train\.jsonl:2: has 3 choices, the task's first record 2/);
  jsonl(join(bad, 'train.jsonl'), [{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]);
  jsonl(join(bad, 'validation.jsonl'), [{ text: 'a', label: 'x' }, { text: 'b' }]);
  await assert.rejects(finetune({ model: baseDir, task: bad, out: join(dir, 'bad-out') }), /bad\/validation\.jsonl:2: field "label" must be a string or a number/);
  const gen = join(dir, 'gen.jsonl');
  jsonl(gen, [{ prompt: 'p', answer: 'a' }]);
  await assert.rejects(finetune({ model: baseDir, task: gen, out: join(dir, 'bad-out') }), /generative task cannot be finetuned/);
  await assert.rejects(finetune({ model: baseDir, task: taskDir, out: join(dir, 'bad-out'), auxLm: -1 }), /auxLm \(λ\) must be ≥ 0/);
  await assert.rejects(finetune({ model: baseDir, task: taskDir, out: join(dir, 'bad-out'), epochz: 1 } as never), /unknown finetune option 'epochz'/);
});
