// KVCache.expand and GPT.decodeAll: a context decoded once, its cache copied per continuation,
// gives the logits a full forward pass over context + continuation gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from './gpt.ts';

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

for (const norm of ['pre', 'post'] as const) {
  test(`expand + decodeAll equal a full forward pass (${norm}-LN)`, () => {
    const V = 53, T0 = 9, T1 = 4, k = 3;
    const m = new GPT(gptConfig('nano', { vocabSize: V, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 24, norm }), 5).eval();
    const ctx = Int32Array.from({ length: T0 }, (_, i) => (i * 7 + 3) % V);
    const conts = Array.from({ length: k }, (_, b) => Int32Array.from({ length: T1 }, (_, i) => (b * 11 + i * 5 + 1) % V));
    const cache = m.newCache(1, T0);
    const last = m.decode(ctx, 1, T0, cache).data.slice();
    const wide = cache.expand(k, T0 + T1);
    assert.equal(wide.length, T0);
    assert.equal(wide.batch, k);
    const ids = new Int32Array(k * T1);
    conts.forEach((c, b) => ids.set(c, b * T1));
    const all = m.decodeAll(ids, k, T1, wide); // (k, T1, V)
    assert.deepEqual(all.shape, [k, T1, V]);
    assert.equal(wide.length, T0 + T1);
    for (let b = 0; b < k; b++) {
      const full = new Int32Array(T0 + T1);
      full.set(ctx);
      full.set(conts[b], T0);
      const ref = m.forward(full, 1, T0 + T1).logits.data; // (1, T0+T1, V)
      assert.ok(maxDiff(last, ref.subarray((T0 - 1) * V, T0 * V)) < 1e-4, 'the context pass');
      assert.ok(maxDiff(all.data.subarray(b * T1 * V, (b + 1) * T1 * V), ref.subarray(T0 * V)) < 1e-4, `continuation ${b}`);
    }
  });
}

test('expand refuses a batched cache and a capacity below what is cached', () => {
  const m = new GPT(gptConfig('nano', { vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 1, nEmbd: 8 }), 1).eval();
  assert.throws(() => m.newCache(2).expand(3), /only a one-sequence cache/);
  const c = m.newCache(1);
  m.decode(Int32Array.from([1, 2, 3]), 1, 3, c);
  assert.throws(() => c.expand(2, 2), /below the 3 positions/);
});
