// The SFT stage end to end on a tiny model: ChatML tokens added and reported, the best validation
// model kept, a crash resumed to exactly the uninterrupted run, malformed records named by line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRlhfFixture } from './rlhf-fixture.ts';
import { sft, type SftEvent } from './sft.ts';
import { loadCheckpoint } from '../interop/checkpoint.ts';
import { loadChatModel } from '../rlhf/chat-model.ts';

const fx = await makeRlhfFixture();
const base = { model: fx.model, data: [fx.sft], valData: [fx.sftVal], epochs: 2, batchSize: 4, lr: 3e-3, minLr: 3e-4, warmupSteps: 2, seed: 5 };
const losses = (es: SftEvent[]) => es.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

test('sft trains on assistant tokens, keeps the best validation model, adds ChatML tokens', async () => {
  const events: SftEvent[] = [];
  const out = join(fx.dir, 'sft-full');
  const r = await sft({ ...base, out }, (e) => events.push(e));
  const added = events.find((e) => e.type === 'chat-tokens') as { added: { token: string }[] };
  assert.deepEqual(added.added.map((a) => a.token), ['<|im_start|>', '<|im_end|>']);
  const start = events.find((e) => e.type === 'start') as { steps: number; stepsPerEpoch: number };
  assert.equal(start.steps, 12);
  assert.equal(start.stepsPerEpoch, 6);
  const ls = losses(events);
  assert.ok(ls[ls.length - 1] < ls[0], 'the loss goes down');
  const evals = events.filter((e) => e.type === 'eval') as { step: number; metrics: Record<string, number> }[];
  assert.deepEqual(evals.map((e) => e.step), [6, 12]);
  assert.equal(r.bestValLoss, Math.min(...evals.map((e) => e.metrics.loss)));
  // out/ is a chat model with its template; out/last/ holds the trainer state.
  const cm = loadChatModel(out);
  assert.equal(cm.added.length, 0);
  assert.equal(cm.model.config.dropout, 0.2);
  assert.ok(JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')).chat_template.includes('<|im_start|>'));
  assert.ok(existsSync(join(out, 'last', 'trainer_state', 'state.json')));
});

test('sft resume after a crash gives exactly the uninterrupted losses and weights', async () => {
  const full: SftEvent[] = [];
  await sft({ ...base, out: join(fx.dir, 'sft-a') }, (e) => full.push(e));
  const out = join(fx.dir, 'sft-b');
  const first: SftEvent[] = [];
  await assert.rejects(sft({ ...base, checkpointEvery: 4, out }, (e) => {
    first.push(e);
    if (e.type === 'step' && e.step === 5) throw new Error('simulated crash');
  }), /simulated crash/);
  const resumed: SftEvent[] = [];
  await sft({ ...base, resume: true, out }, (e) => resumed.push(e));
  assert.equal((resumed.find((e) => e.type === 'start') as { resumedFrom: number }).resumedFrom, 4);
  assert.deepEqual([...losses(first).slice(0, 4), ...losses(resumed)], losses(full));
  const a = loadCheckpoint(join(fx.dir, 'sft-a')).model.namedParameters();
  const b = loadCheckpoint(out).model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => 'loss' in m).map((m) => m.step);
  assert.deepEqual(steps, Array.from({ length: 12 }, (_, i) => i + 1));
});

test('a resumed run keeps its own settings; a differing one is an error naming both', async () => {
  const out = join(fx.dir, 'sft-c');
  await assert.rejects(sft({ ...base, checkpointEvery: 2, out }, (e) => { if (e.type === 'step' && e.step === 3) throw new Error('stop'); }), /stop/);
  await assert.rejects(sft({ model: fx.model, out, resume: true, lr: 1e-3 }), /--resume: lr is 0\.001, but the run in .* started with 0\.003/);
  const resumed: SftEvent[] = [];
  await sft({ model: fx.model, out, resume: true }, (e) => resumed.push(e)); // everything else from the run itself
  const start = resumed.find((e) => e.type === 'start') as { resumedFrom: number; steps: number; config: { epochs: number; batchSize: number } };
  assert.deepEqual([start.resumedFrom, start.steps, start.config.epochs, start.config.batchSize], [2, 12, 2, 4]);
});

test('malformed SFT records are errors naming file and line', async () => {
  const bad = join(fx.dir, 'bad.jsonl');
  writeFileSync(bad, readFileSync(fx.sft, 'utf8') + '{"messages":[{"role":"robot","content":"hi"}]}\n');
  await assert.rejects(sft({ ...base, data: [bad], out: join(fx.dir, 'sft-bad') }), /bad\.jsonl:25: messages\[0\]\.role is "robot"/);
  writeFileSync(bad, '{"messages":[{"role":"user","content":"hi"}]}\n');
  await assert.rejects(sft({ ...base, data: [bad], out: join(fx.dir, 'sft-bad') }), /bad\.jsonl:1: no assistant message/);
});
