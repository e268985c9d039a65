import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, recoverDir, previousDirName } from './fs.ts';

test("an earlier gptkit's folder swap cut between its renames is put back on the next read", () => {
  const root = mkdtempSync(join(tmpdir(), 'gptkit-fs-'));
  const dir = join(root, 'ckpt');
  writeFileAtomic(join(previousDirName(dir), 'a.txt'), 'one'); // as if it died right after moving it aside
  assert.ok(!existsSync(dir));
  recoverDir(dir);
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'one');
  assert.ok(!existsSync(previousDirName(dir)));
});

test('files are written whole or not at all', () => {
  const root = mkdtempSync(join(tmpdir(), 'gptkit-fs-'));
  const f = join(root, 'sub', 'x.json');
  writeFileAtomic(f, '{"a":1}');
  assert.equal(readFileSync(f, 'utf8'), '{"a":1}');
  assert.deepEqual(readdirSync(join(root, 'sub')), ['x.json']);
});
