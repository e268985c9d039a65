// The DPO stage end to end on a tiny model: the held-out preference accuracy of the implicit reward
// rises from chance, the reference stays the SFT model, resume is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeRlhfFixture } from './rlhf-fixture.ts';
import { dpo, type DpoEvent } from './dpo.ts';
import { loadCheckpoint } from '../interop/checkpoint.ts';

const fx = await makeRlhfFixture(3);
const base = { model: fx.model, data: [fx.prefs], valData: [fx.prefsVal], epochs: 2, batchSize: 8, lr: 3e-3, minLr: 3e-4, warmupSteps: 1, seed: 6, evalEvery: 3 };
const losses = (es: DpoEvent[]) => es.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

test('dpo starts at log 2 (policy = reference) and learns the preferences', async () => {
  const events: DpoEvent[] = [];
  await dpo({ ...base, out: join(fx.dir, 'dpo') }, (e) => events.push(e));
  const ls = losses(events);
  assert.equal(ls.length, 18); // 12 prompts × C(4,2) = 72 pairs, 8 per batch, 2 epochs
  assert.ok(Math.abs(ls[0] - Math.LN2) < 1e-4, `first loss ${ls[0]}`);
  const done = events.find((e) => e.type === 'done') as { val: { accuracy: number; loss: number } };
  assert.ok(done.val.accuracy > 0.6 && done.val.loss < Math.LN2, JSON.stringify(done.val));
});

test('dpo resume after a crash gives exactly the uninterrupted losses and weights', async () => {
  const full: DpoEvent[] = [];
  await dpo({ ...base, out: join(fx.dir, 'dpo-a') }, (e) => full.push(e));
  const out = join(fx.dir, 'dpo-b');
  const first: DpoEvent[] = [];
  await assert.rejects(dpo({ ...base, checkpointEvery: 5, out }, (e) => {
    first.push(e);
    if (e.type === 'step' && e.step === 11) throw new Error('simulated crash');
  }), /simulated crash/);
  const resumed: DpoEvent[] = [];
  await dpo({ ...base, resume: true, out }, (e) => resumed.push(e));
  assert.equal((resumed.find((e) => e.type === 'start') as { resumedFrom: number }).resumedFrom, 10);
  assert.deepEqual([...losses(first).slice(0, 10), ...losses(resumed)], losses(full));
  const a = loadCheckpoint(join(fx.dir, 'dpo-a')).model.namedParameters();
  const b = loadCheckpoint(out).model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
});
