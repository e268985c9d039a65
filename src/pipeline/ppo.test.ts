// The PPO-ptx stage end to end on a tiny model: the first iteration's KL is exactly 0 (policy =
// reference), ptx changes the update, and a crash resumes to exactly the uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeRlhfFixture } from './rlhf-fixture.ts';
import { rm } from './rm.ts';
import { ppo, type PpoEvent } from './ppo.ts';
import { loadCheckpoint } from '../interop/checkpoint.ts';
import { loadChatModel } from '../rlhf/chat-model.ts';
import { loadRewardModel } from '../rlhf/reward.ts';

const fx = await makeRlhfFixture(4);
const rmDir = join(fx.dir, 'rm');
await rm({ model: fx.model, out: rmDir, data: [fx.prefs], valData: [fx.prefsVal], demos: [fx.sftVal], batchSize: 4, lr: 3e-3, warmupSteps: 1 });
const ptxFile = join(fx.dir, 'ptx.jsonl');
writeFileSync(ptxFile, Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Ada lives in Dorvale. Bo lives in Kest. Story ${i} ends.` })).join('\n') + '\n');
const base = { policy: fx.model, reward: rmDir, prompts: [fx.prompts], ptx: [ptxFile], iterations: 4, batchSize: 4, minibatch: 2, maxNewTokens: 8, ptxPerEpisode: 2, lr: 1e-3, valueLr: 1e-3, warmupIterations: 1, seed: 3 };
const iters = (es: PpoEvent[]) => es.filter((e) => e.type === 'iteration') as (PpoEvent & { type: 'iteration' })[];

test('ppo-ptx runs: KL starts at exactly 0, every phase is logged, out/ is a chat model', async () => {
  const events: PpoEvent[] = [];
  const out = join(fx.dir, 'ppo');
  await ppo({ ...base, out }, (e) => events.push(e));
  const its = iters(events);
  assert.equal(its.length, 4);
  assert.equal(its[0].kl, 0, 'the policy is the reference during the first rollout');
  assert.ok(its.some((s) => s.kl !== 0), 'later rollouts come from an updated policy');
  for (const s of its) {
    assert.ok(Number.isFinite(s.reward) && Number.isFinite(s.policyLoss) && Number.isFinite(s.valueLoss) && Number.isFinite(s.entropy));
    assert.ok(s.ptxLoss !== null && s.ptxLoss > 0);
    assert.ok(s.responseLength >= 1 && s.responseLength <= 9);
  }
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((m) => m.iteration), [1, 2, 3, 4]);
  for (const k of ['reward', 'kl', 'entropy', 'policy_loss', 'value_loss', 'clip_fraction', 'explained_variance', 'response_length', 'ptx_loss', 'rollout_sec', 'scoring_sec', 'update_sec']) assert.ok(k in metrics[0], k);
  assert.equal(loadChatModel(out).added.length, 0);
  assert.ok(existsSync(join(out, 'last', 'trainer_state')) && existsSync(join(out, 'value', 'trainer_state')));
});

test('ptx changes the update; --ptx-coef 0 is plain PPO', async () => {
  await ppo({ ...base, iterations: 1, out: join(fx.dir, 'ptx-on') });
  const events: PpoEvent[] = [];
  await ppo({ ...base, iterations: 1, ptxCoef: 0, out: join(fx.dir, 'ptx-off') }, (e) => events.push(e));
  assert.equal(iters(events)[0].ptxLoss, null);
  const a = loadCheckpoint(join(fx.dir, 'ptx-on', 'last')).model.namedParameters();
  const b = loadCheckpoint(join(fx.dir, 'ptx-off', 'last')).model.namedParameters();
  assert.ok(a.some(([, t], i) => t.data.some((v, k) => v !== b[i][1].data[k])));
});

test('ppo resume after a crash replays exactly the lost iterations', async () => {
  const full: PpoEvent[] = [];
  await ppo({ ...base, out: join(fx.dir, 'ppo-a') }, (e) => full.push(e));
  const out = join(fx.dir, 'ppo-b');
  const first: PpoEvent[] = [];
  await assert.rejects(ppo({ ...base, checkpointEvery: 2, out }, (e) => {
    first.push(e);
    if (e.type === 'iteration' && e.iteration === 3) throw new Error('simulated crash');
  }), /simulated crash/);
  const resumed: PpoEvent[] = [];
  await ppo({ ...base, resume: true, out }, (e) => resumed.push(e));
  const pick = (es: PpoEvent[]) => iters(es).map((s) => [s.iteration, s.reward, s.kl, s.policyLoss, s.valueLoss, s.ptxLoss]);
  assert.deepEqual([...pick(first).slice(0, 2), ...pick(resumed)], pick(full));
  const load = (dir: string, sub: string) => (sub === 'value' ? loadRewardModel(join(dir, sub)) : loadCheckpoint(join(dir, sub))).model.namedParameters();
  for (const sub of ['', 'last', 'value']) {
    const a = load(join(fx.dir, 'ppo-a'), sub);
    const b = load(out, sub);
    a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, `${sub}/${n}`));
  }
});
