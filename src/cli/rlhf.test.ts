// The InstructGPT commands as a user runs them, in one chain on a tiny model: sft → rm → ppo and
// dpo → judge, each a real process with text progress, then one with --json; and flag mistakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRlhfFixture } from '../pipeline/rlhf-fixture.ts';
import { generateWorld, writeWorld } from '../world/index.ts';

function gptkit(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/gptkit.mjs', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('gptkit sft → rm → ppo, dpo, judge from the command line', async () => {
  const fx = await makeRlhfFixture(7);
  const d = (n: string) => join(fx.dir, n);
  writeFileSync(d('ptx.txt'), 'Ada lives in Dorvale. Bo lives in Kest. Cy lives in Umber.\n'.repeat(30));
  let r = gptkit(['sft', '--model', fx.model, '--data', fx.sft, '--val-data', fx.sftVal, '--epochs', '1', '--batch-size', '8', '--out', d('sft')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /added the chat tokens <\|im_start\|> \(id \d+\), <\|im_end\|> \(id \d+\)/);
  assert.match(r.stdout, /done: 3 steps, best validation loss \d/);
  r = gptkit(['rm', '--model', d('sft'), '--data', fx.prefs, '--val-data', fx.prefsVal, '--demos', fx.sftVal, '--batch-size', '4', '--out', d('rm')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /held-out pairwise accuracy \d+\.\d% over 24 pairs/);
  r = gptkit(['ppo', '--policy', d('sft'), '--reward', d('rm'), '--prompts', fx.prompts, '--ptx', d('ptx.txt'), '--iterations', '2', '--batch-size', '4', '--minibatch', '2', '--max-new-tokens', '6', '--out', d('ppo'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const its = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'iteration');
  assert.deepEqual(its.map((e) => e.iteration), [1, 2]);
  // DPO in bf16 mixed precision, on the emulated path: it trains, and says once that bf16 is emulated.
  r = gptkit(['dpo', '--model', d('sft'), '--data', fx.prefs, '--val-data', fx.prefsVal, '--steps', '2', '--out', d('dpo'), '--precision', 'bf16'], { GPTKIT_BF16: 'emulate' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/--precision bf16 is emulated/g)?.length, 1, r.stderr);
  assert.match(r.stdout, /the implicit reward prefers the chosen answer/);
  const world = d('world');
  writeWorld(generateWorld({ seed: 0, size: 'small' }), world);
  r = gptkit(['judge', '--model', d('ppo'), '--baseline', fx.model, '--baseline-shots', '1', '--world', world, '--limit', '3', '--max-tokens', '4', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).prompts, 3);
  // Mistakes: a second run into the same --out, a bad value, a missing flag.
  r = gptkit(['sft', '--model', fx.model, '--data', fx.sft, '--out', d('sft')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already holds a gptkit checkpoint[\s\S]*--resume/);
  r = gptkit(['dpo', '--model', d('sft'), '--beta', '0', '--out', d('dpo2')]);
  assert.match(r.stderr, /--beta must be a number > 0, got 0/);
  r = gptkit(['ppo', '--policy', d('sft'), '--out', d('ppo2')]);
  assert.match(r.stderr, /--reward is required/);
  assert.ok(!existsSync(d('dpo2')) && !existsSync(d('ppo2')), 'refused runs leave no folder');
});
