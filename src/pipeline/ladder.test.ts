// The main job end to end, shortened: every stage writes its files, the checkpoint samples, and a
// second run reuses what is there instead of recomputing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

test('ladder: a stage is reused only with the settings it was built from; changed ones rebuild it and what follows', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gptkit-ladder-hash-'));
  const base = { out, steps: 4, batchSize: 4, preset: 'nano', vocabSize: 400 };
  const first = await runLadder(base);
  assert.equal(typeof first.val_loss, 'number');
  const details = async (cfg: Record<string, unknown>) => {
    const ev: LadderEvent[] = [];
    const summary = await runLadder(cfg, (e) => ev.push(e));
    return { summary, stages: Object.fromEntries(ev.filter((e) => e.type === 'stage').map((e) => [(e as { stage: string }).stage, (e as { detail: string }).detail])) };
  };
  const same = await details(base);
  assert.match(same.stages.pretrain, /^reusing/);
  assert.equal(same.summary.val_loss, first.val_loss, 'a reused stage keeps its measured figure in summary.json');
  const vocab = await details({ ...base, vocabSize: 420 });
  assert.match(vocab.stages.world, /^reusing/);
  assert.match(vocab.stages.tokenizer, /settings changed: vocabSize 400 → 420/);
  assert.match(vocab.stages.pretrain, /an earlier stage was rebuilt/);
  assert.equal(vocab.summary.vocab_size, 420);
  const seed = await details({ ...base, vocabSize: 420, seed: 1 });
  assert.match(seed.stages.world, /settings changed: seed 0 → 1/);
  // A foreign file in the run folder is refused before anything runs.
  const foreign = mkdtempSync(join(tmpdir(), 'gptkit-ladder-foreign-'));
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(runLadder({ ...base, out: foreign }), /holds files gptkit did not write \(notes\.txt\)/);
});
