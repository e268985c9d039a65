// Pretraining end to end on a throwaway corpus: checkpoints load, a crash keeps the last good
// checkpoint, and resuming gives exactly the losses of a run that never stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpe } from '../tokenizer/index.ts';
import { pretrain, type PretrainEvent } from './pretrain.ts';
import { loadCheckpoint } from '../interop/checkpoint.ts';
import { Rng } from '../util/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-pretrain-'));
const corpus = join(dir, 'corpus.jsonl');
const rng = new Rng(3);
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'home'];
writeFileSync(corpus, Array.from({ length: 200 }, () => JSON.stringify({ text: Array.from({ length: 12 }, () => rng.pick(words)).join(' ') + '.' })).join('\n') + '\n');
const tokDir = join(dir, 'tok');

const base = { preset: 'nano', model: { blockSize: 16, dropout: 0.1 }, steps: 8, batchSize: 4, warmupSteps: 2, lr: 3e-3, evalEvery: 4, evalBatches: 2, seed: 11 };

test('resume reproduces the uninterrupted run exactly (dropout on)', async () => {
  const tok = await trainBpe([readFileSync(corpus, 'utf8')], { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
  tok.save(tokDir);

  const losses = (events: PretrainEvent[]) => events.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);
  const full: PretrainEvent[] = [];
  await pretrain({ ...base, data: [corpus], tokenizer: tokDir, out: join(dir, 'full') }, (e) => full.push(e));
  assert.equal(losses(full).length, 8);
  assert.ok(losses(full)[7] < losses(full)[0], 'the loss goes down');

  // The same run, "crashing" after the checkpoint at step 4.
  const out = join(dir, 'crashy');
  const first: PretrainEvent[] = [];
  await assert.rejects(pretrain({ ...base, checkpointEvery: 4, data: [corpus], tokenizer: tokDir, out }, (e) => {
    first.push(e);
    if (e.type === 'step' && e.step === 6) throw new Error('simulated crash');
  }), /simulated crash/);
  assert.ok(existsSync(join(out, 'trainer_state', 'state.json')), 'the step-4 checkpoint survives the crash');
  const resumed: PretrainEvent[] = [];
  await pretrain({ ...base, resume: true, data: [corpus], tokenizer: tokDir, out }, (e) => resumed.push(e));
  const start = resumed.find((e) => e.type === 'start') as { resumedFrom: number | null };
  assert.equal(start.resumedFrom, 4);
  assert.deepEqual([...losses(first).slice(0, 4), ...losses(resumed)], losses(full), 'losses after resuming equal the uninterrupted run');

  // The final checkpoint loads and holds the same weights as the uninterrupted run.
  const a = loadCheckpoint(join(dir, 'full')).model.namedParameters();
  const b = loadCheckpoint(out).model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.filter((m) => 'loss' in m).map((m) => m.step), [1, 2, 3, 4, 5, 6, 7, 8], 'metrics of the lost steps are replaced, not duplicated');
  assert.deepEqual(metrics.filter((m) => 'loss' in m).map((m) => m.loss), losses(full));
});

test('pretraining reads token shards made by `gptkit data shards`', async () => {
  const { main } = await import('../cli/main.ts');
  const shardDir = join(dir, 'shards');
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await main(['data', 'shards', '--data', corpus, '--tokenizer', tokDir, '--out', shardDir]), 0);
  } finally {
    console.log = log;
  }
  const events: PretrainEvent[] = [];
  await pretrain({ ...base, steps: 3, data: [join(shardDir, 'index.json')], tokenizer: tokDir, out: join(dir, 'from-shards') }, (e) => events.push(e));
  const start = events.find((e) => e.type === 'start') as { trainTokens: number; valTokens: number };
  const fromText: PretrainEvent[] = [];
  await pretrain({ ...base, steps: 1, data: [corpus], tokenizer: tokDir, out: join(dir, 'from-text') }, (e) => fromText.push(e));
  const startText = fromText.find((e) => e.type === 'start') as { trainTokens: number; valTokens: number };
  assert.equal(start.trainTokens + start.valTokens, startText.trainTokens + startText.valTokens, 'the same tokens either way');
  await assert.rejects(pretrain({ ...base, steps: 1, data: [shardDir], tokenizer: tokDir, out: join(dir, 'x'), model: { blockSize: 16, vocabSize: 100 } }), /made with a 280-token vocabulary, the model has 100/);
});

test('a malformed record stops pretraining, or is skipped and reported with --on-error skip', async () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, readFileSync(corpus, 'utf8') + '{"text": 7}\n');
  await assert.rejects(pretrain({ ...base, steps: 1, data: [bad], tokenizer: tokDir, out: join(dir, 'bad-fail') }), /bad\.jsonl:201: text field 'text' is number/);
  const events: PretrainEvent[] = [];
  await pretrain({ ...base, steps: 1, onError: 'skip', data: [bad], tokenizer: tokDir, out: join(dir, 'bad-skip') }, (e) => events.push(e));
  const skipped = events.filter((e) => e.type === 'malformed');
  assert.equal(skipped.length, 1);
  assert.deepEqual({ ...skipped[0], message: undefined }, { type: 'malformed', file: bad, line: 201, message: undefined });
});

test('a poisoned step stops the run before its update; the last checkpoint stays as it was', async () => {
  const { GPT } = await import('../models/gpt.ts');
  const { scale } = await import('../tensor/ops.ts');
  const out = join(dir, 'poisoned');
  const clean = join(dir, 'clean-2');
  await pretrain({ ...base, steps: 2, data: [corpus], tokenizer: tokDir, out: clean });
  const forward = GPT.prototype.forward;
  let calls = 0;
  GPT.prototype.forward = function (this: InstanceType<typeof GPT>, ...args: Parameters<typeof forward>) {
    const r = forward.apply(this, args);
    // Training forwards have targets; the third one (step 3) returns a NaN loss.
    if (args[3] && ++calls === 3 && r.loss) return { ...r, loss: scale(r.loss, NaN) };
    return r;
  } as typeof forward;
  try {
    await assert.rejects(pretrain({ ...base, steps: 5, checkpointEvery: 2, data: [corpus], tokenizer: tokDir, out }), /training diverged at step 3: the loss \(NaN\) is not finite/);
  } finally {
    GPT.prototype.forward = forward;
  }
  assert.equal(JSON.parse(readFileSync(join(out, 'trainer_state', 'state.json'), 'utf8')).step, 2);
  const saved = loadCheckpoint(out).model.namedParameters();
  for (const [n, t] of saved) assert.ok(t.data.every(Number.isFinite), `${n} is finite`);
});

test('training on token shards resumes exactly too', async () => {
  const shards = join(dir, 'shards-resume');
  const { main } = await import('../cli/main.ts');
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await main(['data', 'shards', '--data', corpus, '--tokenizer', tokDir, '--out', shards]), 0);
  } finally {
    console.log = log;
  }
  const data = [join(shards, 'index.json')];
  const losses = (ev: PretrainEvent[]) => ev.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);
  const full: PretrainEvent[] = [];
  await pretrain({ ...base, data, tokenizer: tokDir, out: join(dir, 'sh-full') }, (e) => full.push(e));
  const out = join(dir, 'sh-crashy');
  const first: PretrainEvent[] = [];
  await assert.rejects(pretrain({ ...base, checkpointEvery: 3, data, tokenizer: tokDir, out }, (e) => {
    first.push(e);
    if (e.type === 'step' && e.step === 5) throw new Error('simulated crash');
  }), /simulated crash/);
  const resumed: PretrainEvent[] = [];
  await pretrain({ out, resume: true }, (e) => resumed.push(e));
  assert.deepEqual([...losses(first).slice(0, 3), ...losses(resumed)], losses(full));
});
