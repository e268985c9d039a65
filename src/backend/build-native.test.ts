// `npm install` runs scripts/build-native.mjs: a machine that cannot compile the addon must still
// install (exit 0) and be told why, in one place, how to see the compiler output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/** A copy of what the build needs, so a failing build cannot touch this checkout's build/. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-build-'));
  cpSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
  cpSync(join(root, 'native'), join(dir, 'native'), { recursive: true });
  return dir;
}

const script = join(root, 'scripts', 'build-native.mjs');

test('a failed compile keeps the install green and says how to see why', () => {
  const dir = scratchCopy();
  const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', env: { ...process.env, CXX: '/bin/false', CC: '/bin/false' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /the native addon failed to build; gptkit will run on its TypeScript kernels/);
  assert.match(r.stdout, /npm run build:native/);
  assert.ok(!existsSync(join(dir, 'build', 'Release', 'gptkit.node')));
  // --verbose (npm run build:native) reports the failure as an error.
  const v = spawnSync(process.execPath, [script, '--verbose'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CXX: '/bin/false', CC: '/bin/false' } });
  assert.equal(v.status, 1);
});

test('GPTKIT_SKIP_NATIVE=1 skips the build', () => {
  const dir = scratchCopy();
  const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', env: { ...process.env, GPTKIT_SKIP_NATIVE: '1' } });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /GPTKIT_SKIP_NATIVE=1, not building the native addon/);
  assert.ok(!existsSync(join(dir, 'build')));
});
