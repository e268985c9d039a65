import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBackend } from './index.ts';
import { tsBackend } from './ts/index.ts';

test('a missing addon falls back to the TypeScript kernels with one notice', () => {
  const missing = () => ({ backend: null, error: '/x/gptkit.node not found' });
  const c = chooseBackend('', missing);
  assert.equal(c.backend, tsBackend);
  assert.match(c.notice!, /^gptkit: native addon unavailable \(\/x\/gptkit.node not found\); running on the TypeScript kernels/);
  assert.throws(() => chooseBackend('native', missing), /GPTKIT_BACKEND=native but the native addon did not load: \/x\/gptkit.node not found/);
  assert.equal(chooseBackend('ts', () => { throw new Error('not consulted'); }).backend, tsBackend);
  assert.throws(() => chooseBackend('cuda', missing), /GPTKIT_BACKEND must be 'ts' or 'native', got 'cuda'/);
  const fake = { ...tsBackend, name: 'native' as const };
  assert.deepEqual(chooseBackend('', () => ({ backend: fake, error: '' })), { backend: fake, notice: null });
});

test('a bad GPTKIT_THREADS / GPTKIT_BF16 / GPTKIT_SIMD is an error naming it, not a quiet fall back to the slow kernels; empty means unset', async () => {
  const { spawnSync } = await import('node:child_process');
  const run = (env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', '-e', "const { backend } = await import('./src/backend/index.ts'); console.log(backend().name)"], { env: { ...process.env, ...env }, encoding: 'utf8' });
  for (const [env, message] of [
    [{ GPTKIT_BF16: 'fast' }, /GPTKIT_BF16 must be 'emulate' or 'native', got 'fast'/],
    [{ GPTKIT_THREADS: '0' }, /GPTKIT_THREADS must be a positive integer, got '0'/],
    [{ GPTKIT_SIMD: 'sve9' }, /GPTKIT_SIMD=sve9 is not supported on this CPU/],
  ] as const) {
    const r = run(env);
    assert.notEqual(r.status, 0, JSON.stringify(env));
    assert.match(r.stderr, message);
  }
  const r = run({ GPTKIT_BF16: '', GPTKIT_THREADS: '', GPTKIT_SIMD: '' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'native');
});
