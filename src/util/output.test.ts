import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputDir, OutputError, MARKER, legacyByNames } from './output.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'gptkit-out-'));
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

test('a new folder is made with a marker; commits add entries and keep foreign files through every update', async () => {
  const root = fresh();
  const dir = join(root, 'a', 'b');
  const out = OutputDir.open(dir, { kind: 'thing' });
  assert.ok(existsSync(join(dir, MARKER)));
  await out.commit((s) => { writeFileSync(join(s, 'x.txt'), 'one'); mkdirSync(join(s, 'sub')); writeFileSync(join(s, 'sub', 'y'), 'y'); });
  assert.equal(readFileSync(join(dir, 'x.txt'), 'utf8'), 'one');
  writeFileSync(join(dir, 'notes.txt'), 'mine'); // the user's, added later
  out.commitSync((s) => writeFileSync(join(s, 'x.txt'), 'two'));
  assert.equal(readFileSync(join(dir, 'x.txt'), 'utf8'), 'two');
  assert.ok(existsSync(join(dir, 'sub', 'y')), 'an update without replaceAll keeps the other own entries');
  out.commitSync((s) => writeFileSync(join(s, 'x.txt'), 'three'), { replaceAll: true });
  assert.ok(!existsSync(join(dir, 'sub')), 'replaceAll drops own entries the new version lacks');
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
  assert.deepEqual([...out.files].sort(), ['x.txt']);
  out.clear();
  assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('.')), ['notes.txt']);
  out.close();
});

test('a folder gptkit did not write is refused, dotfiles included, and left untouched', () => {
  const dir = fresh();
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  assert.throws(() => OutputDir.open(dir, { kind: 'checkpoint', force: true }), (e: Error) => e instanceof OutputError && /gptkit did not write \(\.git, \.env\)|\(\.env, \.git\)/.test(e.message));
  assert.deepEqual(readdirSync(dir).sort(), ['.env', '.git']);
});

test('a file where a folder is wanted, or under a file, is a one-line error', () => {
  const dir = fresh();
  writeFileSync(join(dir, 'f.json'), '{}');
  assert.throws(() => OutputDir.open(join(dir, 'f.json'), { kind: 'world', label: '--out f.json' }), /--out f\.json is a file/);
  assert.throws(() => OutputDir.open(join(dir, 'f.json', 'x'), { kind: 'world' }), /f\.json is a file, so no folder can be made under it/);
  assert.equal(readFileSync(join(dir, 'f.json'), 'utf8'), '{}');
});

test('the output may not be or contain an input', () => {
  const dir = fresh();
  mkdirSync(join(dir, 'ck'));
  assert.throws(() => OutputDir.open(join(dir, 'ck'), { kind: 'x', inputs: [{ flag: '--model', path: join(dir, 'ck') }] }), /is --model/);
  assert.throws(() => OutputDir.open(dir, { kind: 'x', inputs: [{ flag: '--data', path: join(dir, 'ck') }] }), /contains --data/);
  const ok = OutputDir.open(join(dir, 'ck', 'hf'), { kind: 'x', inputs: [{ flag: '--model', path: join(dir, 'ck') }] });
  ok.abandon();
  assert.ok(!existsSync(join(dir, 'ck', 'hf')), 'a failed run leaves no empty folder');
});

test('an existing output needs --force or update; another kind is refused', () => {
  const dir = fresh();
  const a = OutputDir.open(dir, { kind: 'world' });
  a.commitSync((s) => writeFileSync(join(s, 'manifest.json'), '{}'));
  a.close();
  assert.throws(() => OutputDir.open(dir, { kind: 'world' }), /already holds a gptkit world/);
  assert.throws(() => OutputDir.open(dir, { kind: 'checkpoint', force: true }), /holds a gptkit world, not a checkpoint/);
  OutputDir.open(dir, { kind: 'world', force: true }).close();
  OutputDir.open(dir, { kind: 'world', update: true }).close();
});

test('a crash before the commit point leaves the old version; after it, the next open finishes the swap', () => {
  const dir = fresh();
  const out = OutputDir.open(dir, { kind: 'k' });
  out.commitSync((s) => { writeFileSync(join(s, 'a'), 'old-a'); writeFileSync(join(s, 'b'), 'old-b'); });
  out.close();
  // Cut short while filling: no commit record.
  mkdirSync(join(dir, '.gptkit-pending'));
  writeFileSync(join(dir, '.gptkit-pending', 'a'), 'half');
  OutputDir.open(dir, { kind: 'k', update: true }).close();
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'old-a');
  assert.ok(!existsSync(join(dir, '.gptkit-pending')));
  // Cut short after the commit record, with 'a' already moved and 'b' not yet.
  mkdirSync(join(dir, '.gptkit-pending'));
  writeFileSync(join(dir, 'a'), 'new-a');
  writeFileSync(join(dir, '.gptkit-pending', 'b'), 'new-b');
  writeFileSync(join(dir, '.gptkit-pending', '.commit'), JSON.stringify({ move: ['a', 'b'], remove: [] }));
  OutputDir.open(dir, { kind: 'k', update: true }).close();
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'new-a');
  assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'new-b');
});

test("temporaries of dead processes are removed, a live one's are kept", () => {
  const root = fresh();
  const dir = join(root, 'ck1');
  const out = OutputDir.open(dir, { kind: 'k' });
  out.close();
  const dead = deadPid();
  writeFileSync(join(dir, `.curated.jsonl.tmp-${dead}`), 'x');
  mkdirSync(join(root, `.ck1.tmp-${dead}-0`));
  writeFileSync(join(dir, `.live.tmp-${process.pid}`), 'x');
  OutputDir.open(dir, { kind: 'k', update: true }).close();
  assert.ok(!existsSync(join(dir, `.curated.jsonl.tmp-${dead}`)));
  assert.ok(!existsSync(join(root, `.ck1.tmp-${dead}-0`)));
  assert.ok(existsSync(join(dir, `.live.tmp-${process.pid}`)));
});

test('a folder locked by a live process is refused; a dead holder is taken over', async () => {
  const dir = fresh();
  OutputDir.open(dir, { kind: 'k' }).close();
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  try {
    writeFileSync(join(dir, '.gptkit-lock'), String(child.pid));
    assert.throws(() => OutputDir.open(dir, { kind: 'k', update: true }), /being written by another gptkit process/);
  } finally {
    child.kill();
  }
  writeFileSync(join(dir, '.gptkit-lock'), String(deadPid()));
  OutputDir.open(dir, { kind: 'k', update: true }).close();
  assert.ok(!existsSync(join(dir, '.gptkit-lock')));
});

test('a legacy output (no marker) is recognised by its names; foreign files beside it stay foreign', () => {
  const dir = fresh();
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  writeFileSync(join(dir, 'README.md'), 'mine');
  const legacy = legacyByNames(['tokenizer.json'], (n) => n === 'tokenizer.json');
  assert.throws(() => OutputDir.open(dir, { kind: 'tokenizer', legacy }), /already holds a gptkit tokenizer/);
  const out = OutputDir.open(dir, { kind: 'tokenizer', legacy, force: true });
  out.commitSync((s) => writeFileSync(join(s, 'tokenizer.json'), '{"v":2}'), { replaceAll: true });
  assert.equal(readFileSync(join(dir, 'README.md'), 'utf8'), 'mine');
  assert.deepEqual(out.files, ['tokenizer.json']);
});
