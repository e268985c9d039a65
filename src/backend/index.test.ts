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
