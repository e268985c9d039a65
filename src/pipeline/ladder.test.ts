// The main job end to end at the toy preset: every stage writes its folder, the report card has every
// section and every plot has data (checked in headless Chromium), the chat model answers a piped
// question, and a second run reuses everything. Then: a stage is reused only with its own settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runLadder, STAGES, type LadderEvent } from './ladder.ts';
import { main } from '../cli/main.ts';

const SECTIONS = ['transformer', 'bert', 'gpt1', 'gpt2', 'gpt3', 'gpt3-data', 'instructgpt', 'chatgpt'];

test('ladder (toy): every stage, a report card with every section, a chat model that answers; a second run reuses all', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gptkit-ladder-'));
  const events: LadderEvent[] = [];
  const summary = await runLadder({ out, preset: 'toy' }, (e) => events.push(e));
  const stages = events.filter((e) => e.type === 'stage').map((e) => (e as { stage: string }).stage);
  assert.deepEqual(stages, [...STAGES]);
  for (const f of ['world/manifest.json', 'curate/curated.jsonl', 'tokenizer/tokenizer.json', 'gpt/model.safetensors', 'gpt/metrics.jsonl', 'finetune/model.safetensors',
    'eval/results.json', 'claims/claims.json', 'bert/claims.json', 'rlhf-claims/claims.json', 'sft/model.safetensors', 'rm/model.safetensors', 'ppo/model.safetensors', 'judge/judge.json', 'summary.json', 'report.html', 'report.json']) {
    assert.ok(existsSync(join(out, f)), `${f} written`);
  }
  const st = summary.stages as Record<string, { figures: Record<string, any> }>;
  assert.equal(typeof st.pretrain.figures.val_loss, 'number');
  assert.equal(typeof st.rm.figures.accuracy, 'number');
  assert.equal(typeof st.judge.figures.ppo_vs_sft.win_rate, 'number');
  const stageEvents = events.filter((e) => e.type === 'stage') as Extract<LadderEvent, { type: 'stage' }>[];
  assert.ok(stageEvents.every((e, i) => e.index === i + 1 && e.total === STAGES.length), 'stage k of n');

  // The report: a page that renders, with every section, a verdict for every claim, and plots with data.
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.deepEqual(report.sections.map((s: { id: string }) => s.id), SECTIONS);
  for (const s of report.sections) for (const c of s.claims) assert.match(c.verdict, /^(reproduced|not reproduced|not run at this preset)$/);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${join(out, 'report.html')}`);
    const found = await page.$$eval('section', (els) => els.map((e) => e.id));
    assert.deepEqual(found, SECTIONS);
    const plots = await page.$$eval('svg', (els) => els.map((e) => ({ label: e.getAttribute('aria-label'), points: Number(e.getAttribute('data-points') ?? -1), bars: e.querySelectorAll('rect').length, noData: e.textContent?.includes('no data') ?? false })));
    assert.ok(plots.length >= 8, `${plots.length} plots`);
    for (const p of plots) assert.ok(!p.noData && (p.points > 0 || p.bars > 0), `plot '${p.label}' has data`);
    const height = Number(await page.evaluate('document.body.scrollHeight'));
    assert.ok(height > 2000, 'the page lays out its sections');
  } finally {
    await browser.close();
  }

  // The chat model answers a question piped to `gptkit chat`.
  const chat = spawnSync(process.execPath, [resolve('bin/gptkit.mjs'), 'chat', '--model', join(out, 'ppo'), '--max-tokens', '8', '--seed', '1'], { input: 'Who lives in Dorvale?\n', encoding: 'utf8', timeout: 120_000 });
  assert.equal(chat.status, 0, chat.stderr);
  assert.ok(chat.stdout.trim().length > 0, 'an answer');

  // Second run: nothing is recomputed but the report.
  const mtime = statSync(join(out, 'ppo', 'model.safetensors')).mtimeMs;
  const again: LadderEvent[] = [];
  await runLadder({ out, preset: 'toy' }, (e) => again.push(e));
  const plan = again.find((e) => e.type === 'plan') as Extract<LadderEvent, { type: 'plan' }>;
  assert.deepEqual(plan.stages.filter((s) => s.action !== 'reuse').map((s) => s.stage), ['report']);
  assert.equal(statSync(join(out, 'ppo', 'model.safetensors')).mtimeMs, mtime);
  // gptkit report draws the card again from the recorded figures.
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await main(['report', '--run', out]), 0);
  } finally {
    console.log = log;
  }
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).sections.map((s: { id: string }) => s.id), SECTIONS);
});

test('ladder: a stage is reused only with the settings it was built from; changed ones rebuild it and what follows', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gptkit-ladder-hash-'));
  const base = { out, preset: 'toy' as const, until: 'pretrain' };
  const first = await runLadder(base);
  const val = (first.stages as Record<string, { figures: { val_loss?: number } }>).pretrain.figures.val_loss;
  assert.equal(typeof val, 'number');
  const plan = async (cfg: Record<string, unknown>) => {
    const ev: LadderEvent[] = [];
    const summary = await runLadder(cfg, (e) => ev.push(e));
    const p = ev.find((e) => e.type === 'plan') as Extract<LadderEvent, { type: 'plan' }>;
    return { summary, why: Object.fromEntries(p.stages.map((s) => [s.stage, `${s.action}: ${s.why}`])) };
  };
  const same = await plan(base);
  assert.equal(same.why.pretrain, 'reuse: done');
  assert.equal((same.summary.stages as Record<string, { figures: { val_loss?: number } }>).pretrain.figures.val_loss, val, 'a reused stage keeps its measured figure');
  const vocab = await plan({ ...base, vocabSize: 520 });
  assert.equal(vocab.why.world, 'reuse: done');
  assert.match(vocab.why.tokenizer, /^run: settings changed: vocabSize 512 → 520/);
  assert.match(vocab.why.pretrain, /^run: tokenizer was rebuilt/);
  const seed = await plan({ ...base, vocabSize: 520, seed: 1 });
  assert.match(seed.why.world, /settings changed: seed 0 → 1/);
  const from = await plan({ ...base, vocabSize: 520, seed: 1, from: 'tokenizer' });
  assert.equal(from.why.world, 'reuse: done');
  assert.equal(from.why.tokenizer, 'run: --from tokenizer');
  await assert.rejects(runLadder({ out: mkdtempSync(join(tmpdir(), 'gptkit-ladder-only-')), preset: 'toy', only: ['sft'] }), /stage 'world' has not run/);
  await assert.rejects(runLadder({ out, preset: 'quick' as const, gptPreset: 'bogus' }), /unknown preset 'bogus'/);
  // A foreign file in the run folder is refused before anything runs.
  const foreign = mkdtempSync(join(tmpdir(), 'gptkit-ladder-foreign-'));
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(runLadder({ ...base, out: foreign }), /holds files gptkit did not write \(notes\.txt\)/);
});
