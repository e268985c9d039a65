// The native thread pool: growing it after jobs have run must not replay an old job (a worker
// created by resize() once mistook the last finished job for a new one and crashed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from './native/index.ts';

test('thread count can shrink and grow between jobs', () => {
  const loaded = loadNative();
  assert.ok(loaded.backend, `the native addon must be built for this test (npm run build:native): ${loaded.error}`);
  const be = loaded.backend;
  const before = be.threads();
  const x = Float32Array.from({ length: 1 << 16 }, (_, i) => (i % 7) - 3);
  const expect = be.sumSquares(x, x.length);
  try {
    for (const n of [2, 1, 2, 3, 1, 2]) {
      be.setThreads(n);
      assert.equal(be.threads(), n);
      const y = new Float32Array(x.length);
      be.axpy(2, x, y, x.length); // a threaded job right after the resize
      assert.equal(be.sumSquares(y, y.length), 4 * expect);
    }
  } finally {
    be.setThreads(before);
  }
});
