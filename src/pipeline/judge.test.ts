// `judge` on a generated world with tiny untrained models: every prompt is judged once, the win
// rate and its standard error follow from the counts, and the rates are fractions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeRlhfFixture } from './rlhf-fixture.ts';
import { judgeModels } from './judge.ts';
import { generateWorld, writeWorld } from '../world/index.ts';

test('judge: win rate, standard error and per-model rates over held-out world prompts', async () => {
  const fx = await makeRlhfFixture(5);
  const world = join(fx.dir, 'world');
  writeWorld(generateWorld({ seed: 0, size: 'small' }), world);
  const r = await judgeModels({ model: fx.model, baseline: fx.model, baselineShots: 1, world, limit: 6, maxTokens: 6, batchSize: 4 });
  assert.equal(r.prompts, 6);
  assert.equal(r.wins + r.ties + r.losses, 6);
  const p = (r.wins + r.ties / 2) / 6;
  assert.equal(r.winRate, p);
  assert.ok(Math.abs(r.stderr - Math.sqrt(p * (1 - p) / 6)) < 1e-12);
  for (const m of [r.model, r.baseline]) for (const k of ['follows', 'honest', 'harmless'] as const) assert.ok(m[k] >= 0 && m[k] <= 1);
  assert.equal(r.examples.length, 5);
  // One model on both sides through its chat template, greedy: identical answers, every pair a tie.
  const self = await judgeModels({ model: fx.model, baseline: fx.model, baselineShots: 0, world, limit: 4, maxTokens: 4, temperature: 0 });
  assert.equal(self.ties, 4, 'greedy answers of one model to the same prompts are identical, so every pair ties');
});
