import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from './native/index.ts';
import { tsBackend } from './ts/index.ts';
import { qlinearRow } from './ts/qlinear.ts';
import { encodeWeights, decodeWeights, quantizeQ8_0, dequantizeQ8_0 } from './quant.ts';
import { QUANT_FORMATS, type QuantFormat } from './backend.ts';
import { Rng } from '../util/rng.ts';
import { ShapeError } from '../util/errors.ts';

const native = loadNative();
const rng = new Rng(5);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);

/** y = x · Wᵀ + b in float64 from the weights as decoded, and Σ|terms| (the rounding scale). */
function reference(format: QuantFormat, M: number, N: number, K: number, x: Float32Array, w: Uint8Array, bias: Float32Array | null) {
  const y = new Float64Array(M * N), mag = new Float64Array(M * N);
  for (let n = 0; n < N; n++) {
    const row = qlinearRow(format, w, n, K);
    for (let m = 0; m < M; m++) {
      let s = bias ? bias[n] : 0, a = bias ? Math.abs(bias[n]) : 0;
      for (let k = 0; k < K; k++) { s += x[m * K + k] * row[k]; a += Math.abs(x[m * K + k] * row[k]); }
      y[m * N + n] = s;
      mag[m * N + n] = a;
    }
  }
  return { y, mag };
}

test('qlinear: every SIMD path and the ts reference agree with float64 on awkward sizes, both formats, 1–3 threads', () => {
  assert.ok(native.backend, `the native addon is not built: ${native.error}`);
  const addon = native.addon!;
  const [simd, threads] = [addon.getSimd(), addon.getThreads()];
  let checked = 0;
  try {
    for (const format of QUANT_FORMATS) {
      for (const [M, N, K] of [[1, 1, 32], [1, 100, 64], [3, 33, 96], [8, 7, 32], [9, 40, 64], [16, 129, 128], [17, 5, 32], ...(format === 'bf16' ? [[2, 9, 5], [5, 3, 47]] : [])]) {
        const x = rand(M * K), w = encodeWeights(format, rand(N * K)), bias = N % 2 ? rand(N) : null;
        const want = reference(format, M, N, K, x, w, bias);
        const outs: Float32Array[] = [];
        const run = (label: string, be: { qlinear: typeof tsBackend.qlinear }) => {
          const y = new Float32Array(M * N).fill(NaN);
          be.qlinear(format, M, N, K, x, w, bias, y);
          for (let i = 0; i < M * N; i++) assert.ok(Math.abs(y[i] - want.y[i]) <= 1e-5 * want.mag[i] + 1e-6, `${label} ${format} M=${M} N=${N} K=${K} [${i}]: ${y[i]} vs ${want.y[i]}`);
          outs.push(y);
          checked++;
        };
        run('ts', tsBackend);
        for (const level of addon.simdLevels() as string[]) {
          addon.setSimd(level);
          for (const t of [1, 2, 3]) { addon.setThreads(t); run(`${level}×${t}`, native.backend!); }
        }
      }
    }
  } finally {
    addon.setSimd(simd);
    addon.setThreads(threads);
  }
  assert.ok(checked > 100);
});

test('qlinear against dequantize-then-float32 GEMM, and its argument checks', () => {
  const be = native.backend!;
  const M = 4, N = 64, K = 256;
  const x = rand(M * K), wf = rand(N * K);
  for (const format of QUANT_FORMATS) {
    const w = encodeWeights(format, wf);
    const deq = decodeWeights(format, w, N * K);
    const y = new Float32Array(M * N), z = new Float32Array(M * N);
    be.qlinear(format, M, N, K, x, w, null, y);
    be.gemm({ transA: false, transB: true, m: M, n: N, k: K, alpha: 1, a: x, aOffset: 0, lda: K, b: deq, bOffset: 0, ldb: K, beta: 0, c: z, cOffset: 0, ldc: N, bias: null, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
    for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i] - z[i]) < 1e-4, `${format} [${i}] ${y[i]} vs ${z[i]}`);
    for (const b of [be, tsBackend]) {
      assert.throws(() => b.qlinear(format, M, N, K, x.subarray(1), w, null, y), ShapeError);
      assert.throws(() => b.qlinear(format, M, N, K, x, w.subarray(1), null, y), ShapeError);
      assert.throws(() => b.qlinear(format, M, N, K, x, w, null, y.subarray(1)), ShapeError);
      assert.throws(() => b.qlinear(format, M, N, K, x, w, new Float32Array(N - 1), y), ShapeError);
    }
  }
  assert.throws(() => be.qlinear('q8_0', 1, 1, 48, new Float32Array(48), new Uint8Array(64), null, new Float32Array(1)), /multiple of 32/);
});

test('Q8_0 encoding: ggml\'s scale and rounding; every value within half a step', () => {
  const x = rand(320);
  x.fill(0, 64, 96);
  x[100] = 2.5 / 127 * 3; // a quant on an exact half
  const q = quantizeQ8_0(x), y = dequantizeQ8_0(q, x.length);
  for (let b = 0; b < 10; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]));
    for (let i = b * 32; i < b * 32 + 32; i++) assert.ok(Math.abs(y[i] - x[i]) <= (amax / 127) * 0.5 + amax * 1e-3, `${i}`);
  }
  assert.deepEqual([...y.subarray(64, 96)], new Array(32).fill(0));
  assert.throws(() => quantizeQ8_0(new Float32Array(33)), /multiple of 32/);
});
