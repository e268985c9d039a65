import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from './native/index.ts';
import { fmaPeakRun, measurePeakGflops } from './peak.ts';

// The addon is built by `npm install` (and CI): without it these tests fail rather than skip.
const addon = loadAddon();

test('the FMA peak loop runs every lane of every accumulator on every thread, on each SIMD path', () => {
  assert.ok(addon, 'the native addon is not built (npm run build:native)');
  const simd = addon!.getSimd(), threads = addon!.getThreads();
  try {
    for (const level of addon!.simdLevels() as string[]) {
      assert.ok(addon!.setSimd(level));
      for (const n of [1, 2, 3]) {
        addon!.setThreads(n);
        const r = fmaPeakRun(40)!;
        assert.equal(r.simd, level);
        assert.equal(r.threads, n);
        assert.equal(r.lanes, { avx512: 192, avx2: 96, neon: 48, portable: 48 }[level]);
        assert.equal(r.checksum, 2 * r.lanes * n, `${level}, ${n} threads: every lane reaches 2`);
        assert.equal(r.flops, 2 * r.lanes * 40 * n);
      }
    }
  } finally {
    addon!.setSimd(simd);
    addon!.setThreads(threads);
  }
  assert.throws(() => fmaPeakRun(0), /iterations must be in/);
});

test('measurePeakGflops calibrates its rounds and reports a positive rate', () => {
  assert.ok(addon, 'the native addon is not built (npm run build:native)');
  const p = measurePeakGflops(0.01, 2)!;
  assert.ok(Number.isFinite(p.gflops) && p.gflops > 0, `${p.gflops}`);
  assert.equal(p.threads, addon!.getThreads());
  assert.equal(p.simd, addon!.getSimd());
});
