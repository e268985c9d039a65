// The main job end to end, shortened: every stage writes its files, the checkpoint samples, and a
// second run reuses what is there instead of recomputing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLadder, type LadderEvent } from './ladder.ts';
import { main } from '../cli/main.ts';

test('ladder: world → tokenizer → pretraining → samples, then reuse', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gptkit-ladder-'));
  const events: LadderEvent[] = [];
  const summary = await runLadder({ out, steps: 6, batchSize: 4, preset: 'nano', vocabSize: 400 }, (e) => events.push(e));
  for (const f of ['world/manifest.json', 'world/corpus/reference.jsonl', 'tokenizer/tokenizer.json', 'gpt/model.safetensors', 'gpt/metrics.jsonl', 'summary.json']) {
    assert.ok(existsSync(join(out, f)), `${f} written`);
  }
  assert.equal(summary.steps, 6);
  assert.equal((summary.samples as unknown[]).length, 3);
  const stages = events.filter((e) => e.type === 'stage').map((e) => (e as { stage: string }).stage);
  assert.deepEqual(stages, ['world', 'tokenizer', 'pretrain', 'samples']);
  const steps = events.filter((e) => e.type === 'pretrain' && e.event.type === 'step');
  assert.equal(steps.length, 6);

  // The checkpoint is what `gptkit sample` reads.
  const log: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => log.push(a.join(' '));
  try {
    assert.equal(await main(['sample', '--model', join(out, 'gpt'), '--prompt', 'In', '--max-tokens', '5', '--json']), 0);
  } finally {
    console.log = orig;
  }
  assert.equal(JSON.parse(log[0]).samples.length, 1);

  // Second run: nothing is recomputed.
  const mtime = statSync(join(out, 'gpt', 'model.safetensors')).mtimeMs;
  const again: LadderEvent[] = [];
  await runLadder({ out, steps: 6, batchSize: 4, preset: 'nano', vocabSize: 400 }, (e) => again.push(e));
  assert.ok(again.filter((e) => e.type === 'stage').slice(0, 3).every((e) => (e as { detail: string }).detail.startsWith('reusing')));
  assert.equal(statSync(join(out, 'gpt', 'model.safetensors')).mtimeMs, mtime);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).steps, 6);
});
