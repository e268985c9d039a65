// The native addon's SIMD paths against its portable path, outside Node (scripts/check-arm.sh builds
// native/test/simd_check.cc). The NEON path runs here on any x86 machine: cross-compiled for AArch64
// and run under qemu-aarch64-static. Missing cross tools fail the test with the command that
// installs them (.ci/run installs them in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/check-arm.sh', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

test('NEON kernels match the portable path (AArch64 under qemu)', () => {
  const r = run([]);
  if (r.status === 3) assert.fail(`the AArch64 cross toolchain is missing:\n${r.err}`);
  assert.equal(r.status, 0, `scripts/check-arm.sh failed:\n${r.out}\n${r.err}`);
  const m = /simd_check: neon vs portable: (\d+) checks passed, 0 failed/.exec(r.out);
  assert.ok(m, `no NEON summary in:\n${r.out}`);
  assert.ok(Number(m[1]) > 500, `only ${m[1]} NEON checks ran`);
});

test('this CPU’s SIMD paths match the portable path (native build of the same check)', () => {
  const r = run(['--native']);
  assert.equal(r.status, 0, `scripts/check-arm.sh --native failed:\n${r.out}\n${r.err}`);
  const paths = [...r.out.matchAll(/simd_check: (\w+) vs portable: (\d+) checks passed, 0 failed/g)].map((m) => m[1]);
  assert.ok(paths.length > 0, `no summary in:\n${r.out}`);
  if (process.arch === 'x64') assert.ok(paths.includes('avx2'), `expected the AVX2 path among ${paths.join(', ')}`);
});

test('missing cross tools fail with the command that installs them', () => {
  const r = run([], { ...process.env, GPTKIT_AARCH64_CXX: 'gptkit-no-such-g++', GPTKIT_QEMU_AARCH64: 'gptkit-no-such-qemu' });
  assert.equal(r.status, 3);
  assert.match(r.err, /gptkit-no-such-g\+\+ gptkit-no-such-qemu not found/);
  assert.match(r.err, /apt-get install -y g\+\+-aarch64-linux-gnu qemu-user-static/);
});
