// gptkit seq2seq train and gptkit translate as a user runs them: a checkpoint folder, translations
// on stdout (plain or JSON), BLEU and exact match when references are given, clear flag errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function gptkit(args: string[], input = ''): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/gptkit.mjs', ...args], { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('seq2seq train → translate (beam and greedy, BLEU with references)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-cli-s2s-'));
  const pairs = Array.from({ length: 40 }, (_, i) => ({ source: `item ${i % 7} is red`, target: `ruda ka ${i % 7}` }));
  writeFileSync(join(dir, 'pairs.jsonl'), pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const out = join(dir, 'model');
  const r = gptkit(['seq2seq', 'train', '--task', join(dir, 'pairs.jsonl'), '--out', out, '--preset', 'transformer-world-nano', '--block-size', '16', '--vocab-size', '280', '--steps', '6', '--batch-size', '4', '--bleu-sentences', '4']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /model: encoder–decoder, 2\+2 layers/);
  assert.match(r.stdout, /validation \(4 pairs, greedy\): BLEU/);
  assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'trainer_state', 'state.json')));
  const t = gptkit(['translate', '--model', out, '--beam', '2', '--max-len', '6'], 'item 3 is red\nitem 4 is red\n');
  assert.equal(t.code, 0, t.stderr);
  assert.equal(t.stdout.trimEnd().split('\n').length, 2);
  const j = gptkit(['translate', '--model', out, '--beam', '1', '--input', join(dir, 'pairs.jsonl'), '--json', '--max-len', '6']);
  assert.equal(j.code, 0, j.stderr);
  const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 41);
  assert.equal(typeof lines.at(-1).bleu, 'number');
  assert.equal(lines.at(-1).beam, 1);
  const bad = gptkit(['translate', '--model', out, '--beam', '0']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--beam/);
  const noTask = gptkit(['seq2seq', 'train', '--out', join(dir, 'x')]);
  assert.match(noTask.stderr, /--task is required/);
});
