// The addon is context-aware: worker threads load it too (the server keeps generation off the
// event loop), and a worker and the main thread can use it at the same time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { addonPath, loadNative } from './native/index.ts';

test('the native addon loads and computes in worker threads, alongside the main thread', async () => {
  const main = loadNative();
  assert.ok(main.addon, `the native addon must be built (npm run build:native): ${main.error}`);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(workerData.path);
    const n = 1 << 16;
    const a = new Float32Array(n).fill(1.5), b = new Float32Array(n).fill(2), out = new Float32Array(n);
    let s = 0;
    for (let r = 0; r < 50; r++) { addon.add(a, b, out, n); s += addon.sumSquares(out, n); }
    parentPort.postMessage({ simd: addon.getSimd(), s });`;
  const run = () => new Promise<{ simd: string; s: number }>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { path: addonPath } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  const pending = [run(), run()];
  // Meanwhile the main thread keeps using it.
  const x = new Float32Array(1 << 16).fill(3);
  for (let r = 0; r < 50; r++) assert.equal(main.addon!.sumSquares(x, x.length), 9 * x.length);
  for (const r of await Promise.all(pending)) {
    assert.equal(r.simd, main.addon!.getSimd());
    assert.equal(r.s, 50 * 12.25 * (1 << 16));
  }
});
