import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';
import { generateWorld, writeWorld, worldFiles, GENERATOR, TASK_NAMES } from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'gptkit-world-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.gptkit')).sort().flatMap((n) => (statSync(join(dir, n)).isDirectory() ? listFiles(join(dir, n), `${prefix}${n}/`) : [`${prefix}${n}`]));
}

function jsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('gptkit world generate writes every file of the contract, and the API writes the same bytes', async () => {
  const cliDir = join(root, 'cli'), apiDir = join(root, 'api');
  const errors: string[] = [];
  const origError = console.error;
  console.error = (...xs: unknown[]) => { errors.push(xs.join(' ')); };
  try {
    assert.equal(await main(['world', 'generate', '--out', cliDir, '--seed', '3', '--size', 'small']), 0);
  } finally {
    console.error = origError;
  }
  assert.ok(errors.some((e) => e.includes('corpus/reference.jsonl')), 'progress names each file');
  assert.deepEqual(listFiles(cliDir), [...worldFiles()].sort());

  const manifest = JSON.parse(readFileSync(join(cliDir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.seed, 3); assert.equal(manifest.size, 'small'); assert.equal(manifest.generator, GENERATOR);
  for (const [rel, stats] of Object.entries(manifest.files as Record<string, { records: number; bytes: number }>)) {
    const text = readFileSync(join(cliDir, rel));
    assert.equal(stats.bytes, text.length, rel);
    assert.equal(stats.records, text.toString('utf8').split('\n').length - 1, rel);
    assert.ok(stats.records > 0, rel);
  }

  // Record shapes of the contract.
  const ref = jsonl(join(cliDir, 'corpus/reference.jsonl'));
  assert.deepEqual(Object.keys(ref[0]), ['id', 'source', 'text']);
  const crawl = jsonl(join(cliDir, 'crawl/crawl.jsonl')), answers = jsonl(join(cliDir, 'answers/crawl.jsonl'));
  assert.deepEqual(Object.keys(crawl[0]), ['id', 'text']);
  assert.deepEqual(Object.keys(answers[0]), ['id', 'junk', 'junk_kind', 'duplicate_of', 'dup_kind', 'near_kind', 'jaccard', 'template_family']);
  assert.deepEqual(crawl.map((c) => c.id), answers.map((a) => a.id));
  for (const t of TASK_NAMES) assert.ok(jsonl(join(cliDir, `tasks/${t}/test.jsonl`)).every((e) => 'label' in e || 'target' in e), t);
  const sft = jsonl(join(cliDir, 'instruct/sft_train.jsonl'));
  assert.ok(sft.every((r) => Array.isArray(r.messages) && (r.messages as { role: string }[]).at(-1)!.role === 'assistant' && typeof r.category === 'string'));
  const prompts = jsonl(join(cliDir, 'instruct/prompts_test.jsonl'));
  assert.ok(prompts.every((r) => (r.messages as { role: string }[]).at(-1)!.role === 'user'));
  const prefs = jsonl(join(cliDir, 'instruct/preferences_train.jsonl'));
  assert.deepEqual(Object.keys(prefs[0]), ['prompt', 'responses', 'ranking', 'category']);

  const progress: string[] = [];
  const m2 = writeWorld(generateWorld({ seed: 3, size: 'small' }), apiDir, (p) => { if (p.done) progress.push(p.file); });
  assert.deepEqual(m2, manifest);
  assert.deepEqual(progress, worldFiles().filter((f) => f !== 'manifest.json'));
  for (const rel of worldFiles()) assert.ok(readFileSync(join(cliDir, rel)).equals(readFileSync(join(apiDir, rel))), `${rel} differs between runs`);
});

test('a different seed gives a different world', () => {
  const a = generateWorld({ seed: 3 }), b = generateWorld({ seed: 4 });
  assert.notEqual(a.reference().next().value!.text, b.reference().next().value!.text);
  assert.notEqual(a.crawl().next().value!.text, b.crawl().next().value!.text);
  assert.notDeepEqual(a.tasks('translation').test[0], b.tasks('translation').test[0]);
  assert.equal(a.instructions('train', 5).next().value!.messages.length > 1, true);
  assert.equal(a.preferences('train', 1).next().value!.responses.length, a.preset.k);
});

test('bad flags are clear errors, not stack traces', async () => {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...xs: unknown[]) => { lines.push(xs.join(' ')); };
  try {
    assert.equal(await main(['world', 'generate', '--out', join(root, 'x'), '--size', 'huge']), 1);
    assert.equal(await main(['world', 'generate']), 1);
    assert.equal(await main(['world', 'generate', '--out', join(root, 'x'), '--seed', 'abc']), 1);
    assert.equal(await main(['world', 'make']), 1);
  } finally {
    console.error = orig;
  }
  assert.match(lines[0], /--size must be one of small, medium, large, got 'huge'/);
  assert.match(lines[1], /--out DIR is required/);
  assert.match(lines[2], /--seed: expected a number, got 'abc'/);
  assert.match(lines[3], /unknown subcommand 'make'/);
  const out: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => { out.push(xs.join(' ')); };
  try {
    assert.equal(await main(['world', 'generate', '--help']), 0);
    assert.equal(await main(['world']), 1);
  } finally { console.log = log; }
  assert.match(out[0], /--size SIZE/);
  assert.match(out[1], /usage: gptkit world generate/);
});
