// The reward-model stage end to end on a tiny model: it learns the rankings, demonstrations score 0
// on average after the bias, resume is exact, malformed preference records name file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRlhfFixture } from './rlhf-fixture.ts';
import { rm, type RmEvent } from './rm.ts';
import { loadRewardModel, meanDemoReward, RewardModel } from '../rlhf/reward.ts';
import { readSftFile } from '../rlhf/records.ts';
import { loadChatModel } from '../rlhf/chat-model.ts';

const fx = await makeRlhfFixture(2);
const base = { model: fx.model, data: [fx.prefs], valData: [fx.prefsVal], demos: [fx.sftVal], epochs: 3, batchSize: 3, lr: 3e-3, minLr: 3e-4, warmupSteps: 1, seed: 4, evalEvery: 4 };
const losses = (es: RmEvent[]) => es.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

test('rm learns the rankings; demonstrations score 0 on average afterwards', async () => {
  const events: RmEvent[] = [];
  const out = join(fx.dir, 'rm');
  const { report } = await rm({ ...base, out }, (e) => events.push(e));
  const ls = losses(events);
  assert.equal(ls.length, 12);
  assert.ok(ls[ls.length - 1] < ls[0], `the loss goes down: ${ls[0]} → ${ls[ls.length - 1]}`);
  assert.ok(report.accuracy > 0.6, `held-out accuracy ${report.accuracy}`);
  assert.equal(report.pairs, 4 * 6);
  assert.equal(report.labelerAgreement, null);
  const { model, chat } = loadRewardModel(out);
  const demos = readSftFile(fx.sftVal).map((r) => ({ prompt: r.messages.slice(0, -1).filter((m) => m.role !== 'assistant'), answer: r.messages[r.messages.length - 1].content }));
  assert.ok(Math.abs(meanDemoReward(model, chat, demos, 64)) < 1e-4);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'reward_report.json'), 'utf8')).pairs, 24);
  // The head is new; the Transformer started as the SFT model's.
  const fresh = RewardModel.fromLM(loadChatModel(fx.model).model, 4);
  assert.ok(fresh.namedParameters().some(([n]) => n === 'score.proj.weight'));
});

test('rm resume after a crash gives exactly the uninterrupted losses', async () => {
  const full: RmEvent[] = [];
  await rm({ ...base, out: join(fx.dir, 'rm-a') }, (e) => full.push(e));
  const out = join(fx.dir, 'rm-b');
  const first: RmEvent[] = [];
  await assert.rejects(rm({ ...base, checkpointEvery: 3, out }, (e) => {
    first.push(e);
    if (e.type === 'step' && e.step === 7) throw new Error('simulated crash');
  }), /simulated crash/);
  const resumed: RmEvent[] = [];
  await rm({ ...base, resume: true, out }, (e) => resumed.push(e));
  assert.equal((resumed.find((e) => e.type === 'start') as { resumedFrom: number }).resumedFrom, 6);
  assert.deepEqual([...losses(first).slice(0, 6), ...losses(resumed)], losses(full));
  const a = loadRewardModel(join(fx.dir, 'rm-a')).model.namedParameters();
  const b = loadRewardModel(out).model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
});

test('malformed preference records are errors naming file and line', async () => {
  const bad = join(fx.dir, 'bad-prefs.jsonl');
  const cases: [string, RegExp][] = [
    ['{"prompt":[{"role":"user","content":"q"}],"responses":["a","b","c"],"ranking":[0,0,2]}', /bad-prefs\.jsonl:2: "ranking" must be a permutation of 0…2/],
    ['{"prompt":[{"role":"user","content":"q"}],"responses":["a"],"ranking":[0]}', /bad-prefs\.jsonl:2: "responses" has 1 answer; a ranking needs K ≥ 2/],
    ['{"prompt":[{"role":"narrator","content":"q"}],"chosen":"a","rejected":"b"}', /bad-prefs\.jsonl:2: prompt\[0\]\.role is "narrator"/],
    ['{"prompt":"q","chosen":"a"}', /bad-prefs\.jsonl:2: "rejected" must be a non-empty array/],
  ];
  const good = readFileSync(fx.prefs, 'utf8').split('\n')[0];
  for (const [line, re] of cases) {
    writeFileSync(bad, `${good}\n${line}\n`);
    await assert.rejects(rm({ ...base, data: [bad], out: join(fx.dir, 'rm-bad') }), re);
  }
});
