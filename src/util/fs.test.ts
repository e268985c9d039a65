import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, renameSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic, recoverDir, previousDirName } from './fs.ts';

test('a crash while writing a directory leaves the previous one intact', () => {
  const root = mkdtempSync(join(tmpdir(), 'gptkit-fs-'));
  const dir = join(root, 'ckpt');
  writeDirAtomic(dir, (t) => writeFileSync(join(t, 'a.txt'), 'one'));
  assert.throws(() => writeDirAtomic(dir, (t) => {
    writeFileSync(join(t, 'a.txt'), 'two (half written)');
    throw new Error('crash');
  }), /crash/);
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'one');
  assert.deepEqual(readdirSync(root), ['ckpt'], 'no temporary directory left behind');
  writeDirAtomic(dir, (t) => writeFileSync(join(t, 'a.txt'), 'two'));
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two');
});

test('a crash between the two renames is recovered on the next read or write', () => {
  const root = mkdtempSync(join(tmpdir(), 'gptkit-fs-'));
  const dir = join(root, 'ckpt');
  writeDirAtomic(dir, (t) => writeFileSync(join(t, 'a.txt'), 'one'));
  renameSync(dir, previousDirName(dir)); // as if the process died right after moving it aside
  assert.ok(!existsSync(dir));
  recoverDir(dir);
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'one');
  renameSync(dir, previousDirName(dir));
  writeDirAtomic(dir, (t) => writeFileSync(join(t, 'a.txt'), 'two'));
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two');
  assert.ok(!existsSync(previousDirName(dir)));
});

test('files are written whole or not at all', () => {
  const root = mkdtempSync(join(tmpdir(), 'gptkit-fs-'));
  const f = join(root, 'sub', 'x.json');
  writeFileAtomic(f, '{"a":1}');
  assert.equal(readFileSync(f, 'utf8'), '{"a":1}');
  assert.deepEqual(readdirSync(join(root, 'sub')), ['x.json']);
});
