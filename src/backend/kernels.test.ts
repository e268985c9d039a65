// The pointwise/row kernels (everything but gemm and attention). First the TypeScript reference on its
// own: forwards against float64 formulas written here, backwards against central finite differences of
// those float64 forwards, the accumulate/write/alias contracts, ignore index and label smoothing
// (PyTorch's formula), AdamW against a scalar re-implementation, dropout statistics. Then the native
// addon against the reference on awkward sizes, with every SIMD path this CPU has forced in turn on 1
// and 2 threads, bit-for-bit reruns, and argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropoutKeep, dropoutThreshold } from './backend.ts';
import * as ref from './ts/kernels.ts';
import { loadAddon, loadNative, type Addon } from './native/index.ts';
import { nativeKernels } from './native/kernels.ts';
import { Rng } from '../util/rng.ts';
import { ShapeError } from '../util/errors.ts';

type Kernels = ReturnType<typeof nativeKernels>;
const tsKernels: Kernels = ref;
const F32 = Float32Array;
const IGNORE = -100;

function randn(rng: Rng, n: number, scale = 1, shift = 0): Float32Array {
  const x = new F32(n);
  for (let i = 0; i < n; i++) x[i] = shift + scale * rng.normal();
  return x;
}

/** |got − want| ≤ rtol·(|want| + max|want|) + atol: relative, with a floor at rtol of the largest element. */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, what: string, atol = 0): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let big = 0;
  for (let i = 0; i < want.length; i++) big = Math.max(big, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= rtol * (Math.abs(want[i]) + big) + atol)) {
      assert.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (max |expected| ${big}, rtol ${rtol})`);
    }
  }
}

/** −0 → +0 (a written gradient may be −0 where 0 + (−0) accumulated to +0). */
function plusZero(a: Float32Array): Float32Array {
  return a.map((v) => v + 0);
}

function minus(a: Float32Array, b: Float32Array): Float64Array {
  return Float64Array.from(a, (v, i) => v - b[i]);
}

/** Central differences of a float64 function at x (step h), one coordinate at a time. */
function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): Float64Array {
  const at = Float64Array.from(x);
  const g = new Float64Array(at.length);
  for (let i = 0; i < at.length; i++) {
    const v = at[i];
    at[i] = v + h;
    const up = f(at);
    at[i] = v - h;
    const down = f(at);
    at[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

// ---------------------------------------------------------------------------------------------
// float64 forwards, written from the formulas (not from the kernels).

function layerNorm64(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, rows: number, cols: number, eps: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: cols }, (_, c) => x[r * cols + c]);
    const mu = row.reduce((s, v) => s + v, 0) / cols;
    const variance = row.reduce((s, v) => s + (v - mu) * (v - mu), 0) / cols; // biased, like PyTorch
    for (let c = 0; c < cols; c++) out[r * cols + c] = ((row[c] - mu) / Math.sqrt(variance + eps)) * w[c] + (b ? b[c] : 0);
  }
  return out;
}

function gelu64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
}

function logSoftmax64(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
    for (let c = 0; c < cols; c++) out[r * cols + c] = x[r * cols + c] - max - Math.log(sum);
  }
  return out;
}

/** PyTorch's cross_entropy(reduction='none', ignore_index, label_smoothing=s): (1−s)·nll + s·mean_c(−log p_c). */
function crossEntropy64(logits: ArrayLike<number>, targets: Int32Array, rows: number, vocab: number, s: number): Float64Array {
  const logp = logSoftmax64(logits, rows, vocab);
  return Float64Array.from({ length: rows }, (_, r) => {
    if (targets[r] === IGNORE) return 0;
    let meanNeg = 0;
    for (let c = 0; c < vocab; c++) meanNeg -= logp[r * vocab + c] / vocab;
    return (1 - s) * -logp[r * vocab + targets[r]] + s * meanNeg;
  });
}

// ---------------------------------------------------------------------------------------------
// The reference kernels.

test('layerNorm: forward matches float64, backward matches finite differences and accumulates', () => {
  const rng = new Rng(1);
  const rows = 3, cols = 7, eps = 1e-5;
  for (const withBias of [true, false]) {
    const x = randn(rng, rows * cols, 2, 0.5), w = randn(rng, cols), b = withBias ? randn(rng, cols) : null;
    const out = new F32(rows * cols), mean = new F32(rows), rstd = new F32(rows);
    ref.layerNormForward(x, w, b, out, mean, rstd, rows, cols, eps);
    assertClose(out, layerNorm64(x, w, b, rows, cols, eps), 1e-6, 'out');
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
      const mu = row.reduce((s, v) => s + v, 0) / cols;
      assertClose([mean[r], rstd[r]], [mu, 1 / Math.sqrt(row.reduce((s, v) => s + (v - mu) ** 2, 0) / cols + eps)], 1e-6, 'mean/rstd');
    }
    const dout = randn(rng, rows * cols);
    const dx0 = randn(rng, rows * cols), dw0 = randn(rng, cols), db0 = randn(rng, cols);
    const dx = dx0.slice(), dw = dw0.slice(), db = withBias ? db0.slice() : null;
    ref.layerNormBackward(dout, x, w, mean, rstd, dx, dw, db, rows, cols, 1);
    // beta 0 writes dx without reading it (NaN in, the accumulate-into-zeros result out).
    const dxWrite = new F32(rows * cols).fill(NaN), dxZero = new F32(rows * cols);
    ref.layerNormBackward(dout, x, w, mean, rstd, dxWrite, dw0.slice(), null, rows, cols, 0);
    ref.layerNormBackward(dout, x, w, mean, rstd, dxZero, dw0.slice(), null, rows, cols, 1);
    assert.deepEqual(plusZero(dxWrite), dxZero);
    const loss = (xv: ArrayLike<number>, wv: ArrayLike<number>, bv: ArrayLike<number> | null) => dot(dout, layerNorm64(xv, wv, bv, rows, cols, eps));
    assertClose(minus(dx, dx0), numericGrad((v) => loss(v, w, b), x), 1e-3, 'dx');
    assertClose(minus(dw, dw0), numericGrad((v) => loss(x, v, b), w), 1e-3, 'dweight');
    if (b && db) assertClose(minus(db, db0), numericGrad((v) => loss(x, w, v), b), 1e-3, 'dbias');
  }
});

test('gelu: forward matches the tanh form, backward matches finite differences, out may alias x', () => {
  const rng = new Rng(2);
  const n = 41;
  const x = randn(rng, n, 3);
  x[0] = 0; x[1] = -12; x[2] = 12;
  const out = new F32(n);
  ref.geluForward(x, out, n);
  assertClose(out, gelu64(x), 1e-6, 'out');
  const inPlace = x.slice();
  ref.geluForward(inPlace, inPlace, n);
  assert.deepEqual(inPlace, out);
  const dout = randn(rng, n), dx0 = randn(rng, n), dx = dx0.slice();
  ref.geluBackward(x, dout, dx, n, 1);
  assertClose(minus(dx, dx0), numericGrad((v) => dot(dout, gelu64(v)), x), 1e-3, 'dx');
  const dxWrite = new F32(n).fill(NaN), dxZero = new F32(n);
  ref.geluBackward(x, dout, dxWrite, n, 0);
  ref.geluBackward(x, dout, dxZero, n, 1);
  assert.deepEqual(plusZero(dxWrite), dxZero);
});

test('softmax: forward matches float64 (also in place), backward matches finite differences and accumulates', () => {
  const rng = new Rng(3);
  const rows = 3, cols = 9;
  const x = randn(rng, rows * cols, 4);
  const out = new F32(rows * cols);
  ref.softmaxForward(x, out, rows, cols);
  assertClose(out, logSoftmax64(x, rows, cols).map(Math.exp), 1e-6, 'out');
  const inPlace = x.slice();
  ref.softmaxForward(inPlace, inPlace, rows, cols);
  assert.deepEqual(inPlace, out);
  const dout = randn(rng, rows * cols), dx0 = randn(rng, rows * cols), dx = dx0.slice();
  ref.softmaxBackward(out, dout, dx, rows, cols);
  assertClose(minus(dx, dx0), numericGrad((v) => dot(dout, logSoftmax64(v, rows, cols).map(Math.exp)), x), 1e-3, 'dx');
});

test('crossEntropy: PyTorch formula with ignore index and label smoothing; backward by finite differences', () => {
  const rng = new Rng(4);
  const rows = 5, vocab = 11;
  const logits = randn(rng, rows * vocab, 3);
  logits[7] = 60; // a dominant logit: the stable form must not overflow
  const targets = Int32Array.from([3, IGNORE, 0, 10, 7]);
  for (const s of [0, 0.1, 1]) {
    const losses = new F32(rows), lse = new F32(rows);
    ref.crossEntropyForward(logits, targets, losses, lse, rows, vocab, IGNORE, s);
    assertClose(losses, crossEntropy64(logits, targets, rows, vocab, s), 1e-6, `losses s=${s}`);
    assert.equal(losses[1], 0);
    const logp = logSoftmax64(logits, rows, vocab);
    assertClose(lse, Array.from({ length: rows }, (_, r) => logits[r * vocab] - logp[r * vocab]), 1e-6, 'lse');

    const dlosses = randn(rng, rows);
    const dlogits = new F32(rows * vocab).fill(NaN); // written, not accumulated
    ref.crossEntropyBackward(logits, targets, lse, dlosses, dlogits, rows, vocab, IGNORE, s);
    const want = numericGrad((v) => dot(dlosses, crossEntropy64(v, targets, rows, vocab, s)), logits);
    assertClose(dlogits, want, 1e-3, `dlogits s=${s}`);
    assert.ok(dlogits.subarray(vocab, 2 * vocab).every((v) => v === 0), 'ignored row has zero gradient');

    const inPlace = logits.slice(); // dlogits may alias logits
    ref.crossEntropyBackward(inPlace, targets, lse, dlosses, inPlace, rows, vocab, IGNORE, s);
    assert.deepEqual(inPlace, dlogits);
  }
});

test('crossEntropy: a fully ignored batch has zero loss and zero gradients', () => {
  const rows = 4, vocab = 6;
  const logits = randn(new Rng(5), rows * vocab), targets = new Int32Array(rows).fill(IGNORE);
  const losses = new F32(rows).fill(7), lse = new F32(rows), dlogits = new F32(rows * vocab).fill(7);
  ref.crossEntropyForward(logits, targets, losses, lse, rows, vocab, IGNORE, 0.1);
  ref.crossEntropyBackward(logits, targets, lse, new F32(rows).fill(1), dlogits, rows, vocab, IGNORE, 0.1);
  assert.ok(losses.every((v) => v === 0) && dlogits.every((v) => v === 0));
});

test('embedding: forward gathers rows, backward scatter-adds repeated ids into a pre-filled table', () => {
  const rng = new Rng(6);
  const vocab = 5, dim = 3, ids = Int32Array.from([4, 0, 4, 2, 4]), n = ids.length;
  const table = randn(rng, vocab * dim), out = new F32(n * dim);
  ref.embeddingForward(ids, table, out, n, dim);
  for (let i = 0; i < n; i++) assert.deepEqual(out.subarray(i * dim, i * dim + dim), table.subarray(ids[i] * dim, ids[i] * dim + dim));
  const dout = randn(rng, n * dim), d0 = randn(rng, vocab * dim), dtable = d0.slice();
  ref.embeddingBackward(ids, dout, dtable, n, dim);
  const want = Float64Array.from(d0);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) want[ids[i] * dim + c] += dout[i * dim + c];
  assertClose(dtable, want, 1e-6, 'dtable');
});

test('adamw: three steps match a scalar re-implementation of PyTorch AdamW (with gradScale)', () => {
  const rng = new Rng(7);
  const n = 6, lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, gs = 0.5;
  const param = randn(rng, n), m = new F32(n), v = new F32(n);
  const p64 = Float64Array.from(param), m64 = new Float64Array(n), v64 = new Float64Array(n);
  for (let step = 1; step <= 3; step++) {
    const grad = randn(rng, n);
    ref.adamw(param, grad, m, v, n, lr, b1, b2, eps, wd, step, gs);
    for (let i = 0; i < n; i++) {
      // torch.optim.AdamW, one parameter at a time.
      const g = grad[i] * gs;
      p64[i] *= 1 - lr * wd;
      m64[i] = b1 * m64[i] + (1 - b1) * g;
      v64[i] = b2 * v64[i] + (1 - b2) * g * g;
      const denom = Math.sqrt(v64[i]) / Math.sqrt(1 - b2 ** step) + eps;
      p64[i] -= (lr / (1 - b1 ** step)) * (m64[i] / denom);
    }
    assertClose(param, p64, 1e-6, `param step ${step}`);
    assertClose(m, m64, 1e-6, `m step ${step}`);
    assertClose(v, v64, 1e-6, `v step ${step}`);
  }
});

test('vector ops: add/mul/axpy/scale/sumSquares/sumRows, with the allowed aliasing', () => {
  const rng = new Rng(8);
  const n = 13, a = randn(rng, n), b = randn(rng, n), out = new F32(n);
  ref.add(a, b, out, n);
  assertClose(out, Array.from(a, (v, i) => v + b[i]), 1e-7, 'add');
  const aliasA = a.slice(), aliasB = b.slice();
  ref.add(aliasA, b, aliasA, n);
  ref.add(a, aliasB, aliasB, n);
  assert.deepEqual(aliasA, out);
  assert.deepEqual(aliasB, out);
  ref.mul(a, b, out, n);
  assertClose(out, Array.from(a, (v, i) => v * b[i]), 1e-7, 'mul');
  const y = b.slice();
  ref.axpy(-1.5, a, y, n);
  assertClose(y, Array.from(a, (v, i) => b[i] - 1.5 * v), 1e-6, 'axpy');
  const scaled = a.slice();
  ref.scale(scaled, 3, scaled, n);
  assertClose(scaled, Array.from(a, (v) => 3 * v), 1e-7, 'scale in place');
  const big = randn(rng, 1000, 1e3);
  const sq = Array.from(big, (v) => v * v).sort((p, q) => p - q).reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(ref.sumSquares(big, big.length) - sq) <= 1e-12 * sq);
  assert.equal(ref.sumSquares(big, 0), 0);
  const rows = 4, cols = 5, x = randn(rng, rows * cols), acc0 = randn(rng, cols), acc = acc0.slice();
  ref.sumRows(x, acc, rows, cols);
  assertClose(minus(acc, acc0), Array.from({ length: cols }, (_, c) => x[c] + x[cols + c] + x[2 * cols + c] + x[3 * cols + c]), 1e-6, 'sumRows');
});

test('dropout: drops a fraction p, scales kept values by 1/(1−p), backward uses the same mask', () => {
  const rng = new Rng(9);
  const n = 200_000, x = randn(rng, n, 1, 3); // no zeros in x: a zero output means dropped
  for (const p of [0, 0.1, 0.5]) {
    const out = new F32(n);
    ref.dropoutForward(x, out, n, p, 1234);
    const scale = Math.fround(1 / (1 - p));
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (out[i] === 0) dropped++;
      else assert.equal(out[i], Math.fround(x[i] * scale));
      assert.equal(out[i] !== 0, dropoutKeep(1234, i, dropoutThreshold(p)));
    }
    // Binomial: 5 standard deviations.
    assert.ok(Math.abs(dropped / n - p) <= 5 * Math.sqrt((p * (1 - p)) / n) + 1e-12, `p=${p}: dropped ${dropped / n}`);
    const dout = randn(rng, n), dx0 = randn(rng, n), dx = dx0.slice();
    ref.dropoutBackward(dout, dx, n, p, 1234, 1);
    const dxWrite = new F32(n).fill(NaN), dxZero = new F32(n);
    ref.dropoutBackward(dout, dxWrite, n, p, 1234, 0);
    ref.dropoutBackward(dout, dxZero, n, p, 1234, 1);
    assert.deepEqual(plusZero(dxWrite), dxZero);
    for (let i = 0; i < n; i++) {
      const want = out[i] === 0 ? dx0[i] : Math.fround(dx0[i] + Math.fround(dout[i] * scale));
      if (dx[i] !== want) assert.fail(`p=${p}: dx[${i}] = ${dx[i]}, expected ${want}`);
    }
    const inPlace = x.slice();
    ref.dropoutForward(inPlace, inPlace, n, p, 1234);
    assert.deepEqual(inPlace, out);
  }
  const other = new F32(n);
  ref.dropoutForward(x, other, n, 0.5, 1235);
  const first = new F32(n);
  ref.dropoutForward(x, first, n, 0.5, 1234);
  assert.notDeepEqual(other, first, 'another seed, another mask');
});

// ---------------------------------------------------------------------------------------------
// Native against the reference.

/** One kernel on one shape: inputs fixed at construction; run() clones the buffers it writes. */
type Runner = (k: Kernels) => Record<string, Float32Array | number>;
interface KernelCase { name: string; make(rng: Rng, rows: number, cols: number): Runner; exact?: boolean }

/** A fresh copy at an odd element offset, so native loads are unaligned. */
function unaligned(src: Float32Array): Float32Array {
  const buf = new F32(src.length + 1);
  buf.set(src, 1);
  return buf.subarray(1);
}

const KERNEL_CASES: KernelCase[] = [
  {
    name: 'layerNorm',
    make: (rng, rows, cols) => {
      const x = randn(rng, rows * cols, 2, 1), w = randn(rng, cols), b = randn(rng, cols);
      const dout = randn(rng, rows * cols), dx0 = randn(rng, rows * cols), dw0 = randn(rng, cols), db0 = randn(rng, cols);
      return (k) => {
        const out = new F32(rows * cols), mean = new F32(rows), rstd = new F32(rows);
        k.layerNormForward(x, w, b, out, mean, rstd, rows, cols, 1e-5);
        const dx = unaligned(dx0), dw = dw0.slice(), db = db0.slice(), dwNoBias = dw0.slice();
        k.layerNormBackward(dout, x, w, mean, rstd, dx, dw, db, rows, cols, 1);
        k.layerNormBackward(dout, x, w, mean, rstd, dx.slice(), dwNoBias, null, rows, cols, 1);
        const dxWrite = unaligned(new F32(rows * cols).fill(NaN));
        k.layerNormBackward(dout, x, w, mean, rstd, dxWrite, dw0.slice(), db0.slice(), rows, cols, 0);
        const outNoBias = new F32(rows * cols);
        k.layerNormForward(x, w, null, outNoBias, mean.slice(), rstd.slice(), rows, cols, 1e-5);
        return { out, outNoBias, mean, rstd, dx, dw, db, dwNoBias, dxWrite };
      };
    },
  },
  {
    name: 'gelu',
    make: (rng, rows, cols) => {
      const n = rows * cols, x = randn(rng, n, 3), dout = randn(rng, n), dx0 = randn(rng, n);
      return (k) => {
        const out = new F32(n), dx = dx0.slice(), inPlace = unaligned(x);
        k.geluForward(x, out, n);
        k.geluForward(inPlace, inPlace, n);
        k.geluBackward(x, dout, dx, n, 1);
        const dxWrite = unaligned(new F32(n).fill(NaN));
        k.geluBackward(x, dout, dxWrite, n, 0);
        return { out, inPlace, dx, dxWrite };
      };
    },
  },
  {
    name: 'softmax',
    make: (rng, rows, cols) => {
      const x = randn(rng, rows * cols, 4), dout = randn(rng, rows * cols), dx0 = randn(rng, rows * cols);
      return (k) => {
        const out = new F32(rows * cols), dx = dx0.slice(), inPlace = unaligned(x);
        k.softmaxForward(x, out, rows, cols);
        k.softmaxForward(inPlace, inPlace, rows, cols);
        k.softmaxBackward(out, dout, dx, rows, cols);
        return { out, inPlace, dx };
      };
    },
  },
  {
    name: 'crossEntropy',
    make: (rng, rows, vocab) => {
      const logits = randn(rng, rows * vocab, 3), dlosses = randn(rng, rows);
      const targets = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? IGNORE : rng.int(vocab)));
      return (k) => {
        const losses = new F32(rows), lse = new F32(rows), smoothed = new F32(rows), lse2 = new F32(rows);
        k.crossEntropyForward(logits, targets, losses, lse, rows, vocab, IGNORE, 0);
        k.crossEntropyForward(logits, targets, smoothed, lse2, rows, vocab, IGNORE, 0.1);
        const dlogits = new F32(rows * vocab).fill(NaN);
        k.crossEntropyBackward(logits, targets, lse, dlosses, dlogits, rows, vocab, IGNORE, 0.1);
        const inPlace = unaligned(logits);
        k.crossEntropyBackward(inPlace, targets, lse, dlosses, inPlace, rows, vocab, IGNORE, 0);
        return { losses, lse, smoothed, dlogits, inPlace };
      };
    },
  },
  {
    name: 'embedding',
    make: (rng, rows, dim) => {
      const vocab = 5, ids = Int32Array.from({ length: rows }, () => rng.int(vocab));
      const table = randn(rng, vocab * dim), dout = randn(rng, rows * dim), d0 = randn(rng, vocab * dim);
      return (k) => {
        const out = new F32(rows * dim), dtable = d0.slice();
        k.embeddingForward(ids, table, out, rows, dim);
        k.embeddingBackward(ids, dout, dtable, rows, dim);
        return { out, dtable };
      };
    },
  },
  {
    name: 'adamw',
    make: (rng, rows, cols) => {
      const n = rows * cols, p0 = randn(rng, n), grads = [randn(rng, n), randn(rng, n, 1e-3), randn(rng, n, 10)];
      return (k) => {
        const param = unaligned(p0), m = new F32(n), v = new F32(n);
        grads.forEach((g, i) => k.adamw(param, g, m, v, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, i + 1, 0.7));
        return { param, m, v };
      };
    },
  },
  {
    name: 'vector ops',
    make: (rng, rows, cols) => {
      const n = rows * cols, a = randn(rng, n), b = randn(rng, n), y0 = randn(rng, n), acc0 = randn(rng, cols);
      return (k) => {
        const sum = new F32(n), prod = new F32(n), y = y0.slice(), scaled = unaligned(a), acc = acc0.slice();
        k.add(a, b, sum, n);
        k.mul(a, b, prod, n);
        k.axpy(-0.75, a, y, n);
        k.scale(scaled, 1.5, scaled, n);
        k.sumRows(a, acc, rows, cols);
        return { sum, prod, y, scaled, acc, sumSquares: k.sumSquares(a, n) };
      };
    },
  },
  {
    name: 'dropout',
    exact: true, // forward is the same bits on every backend
    make: (rng, rows, cols) => {
      const n = rows * cols, x = randn(rng, n), seed = rng.nextU32();
      return (k) => {
        const out = new F32(n), inPlace = unaligned(x);
        k.dropoutForward(x, out, n, 0.3, seed);
        k.dropoutForward(inPlace, inPlace, n, 0.3, seed);
        return { out, inPlace };
      };
    },
  },
  {
    name: 'dropout backward',
    make: (rng, rows, cols) => {
      const n = rows * cols, dout = randn(rng, n), dx0 = randn(rng, n), seed = rng.nextU32();
      return (k) => {
        const dx = dx0.slice(), dxWrite = unaligned(new F32(n).fill(NaN));
        k.dropoutBackward(dout, dx, n, 0.3, seed, 1);
        k.dropoutBackward(dout, dxWrite, n, 0.3, seed, 0);
        return { dx, dxWrite };
      };
    },
  },
];

const COLS = [1, 7, 33, 1000, 50257];
// Outputs with a cancellation inside: LayerNorm's dx subtracts the row means of dnorm and amplifies the
// rounding by rstd (316 for a one-column row, whose variance is 0); dweight sums rows of mixed sign.
const LOOSE = new Set(['layerNorm.dx', 'layerNorm.dw', 'layerNorm.dwNoBias', 'layerNorm.dxWrite']);
// dxWrite has no accumulated O(1) values to set the scale: a one-column row's gradient is 0 up to
// rounding amplified by rstd ≈ 316, so it gets an absolute floor of its own.
const ATOL: Record<string, number> = { 'layerNorm.dxWrite': 1e-4 };
const ROWS = [1, 3, 64]; // every pair, except 64×50257 only for cross-entropy (the LM head's shape)

function requireAddon(): Addon {
  const addon = loadAddon();
  assert.ok(addon, `the native addon did not load: ${loadNative().error} (build it with npm run build:native)`);
  return addon;
}

type Outputs = Record<string, Float32Array | number>;

function bitsOf(v: Float32Array | number): Int32Array {
  return typeof v === 'number' ? new Int32Array(Float64Array.of(v).buffer) : new Int32Array(v.buffer, v.byteOffset, v.length);
}

function sameBits(got: Outputs, want: Outputs, what: string): void {
  for (const key of Object.keys(want)) {
    const a = bitsOf(got[key]), b = bitsOf(want[key]);
    assert.equal(a.length, b.length, `${what} ${key}: length`);
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) assert.fail(`${what} ${key}[${i}]: bits differ (${got[key].toString().slice(0, 40)}…)`);
    }
  }
}

/** FNV-1a over the bits of every output: compares runs without keeping their outputs. */
function fingerprint(outputs: Outputs): string {
  let h = 0x811c9dc5;
  for (const key of Object.keys(outputs).sort()) {
    for (const word of bitsOf(outputs[key])) h = Math.imul(h ^ word, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

function compareToReference(got: Outputs, want: Outputs, kc: KernelCase, what: string): void {
  for (const [key, value] of Object.entries(want)) {
    if (kc.exact) sameBits({ [key]: got[key] }, { [key]: value }, `${what} vs ts`);
    else if (typeof value === 'number') assert.ok(Math.abs((got[key] as number) - value) <= 1e-10 * Math.abs(value), `${what} ${key}: ${got[key]} vs ${value}`);
    // atol: values that cancel to ~0 (a one-class cross-entropy) differ by float32 rounding of O(1) terms.
    else assertClose(got[key] as Float32Array, value, LOOSE.has(`${kc.name}.${key}`) ? 1e-4 : 2e-5, `${what} ${key}`, ATOL[`${kc.name}.${key}`] ?? 1e-6);
  }
}

test('native matches the reference on every SIMD path and thread count, bit-identical on reruns and across threads', () => {
  const addon = requireAddon();
  const native = nativeKernels(addon);
  const levels = addon.simdLevels() as string[];
  const simdBefore = addon.getSimd() as string, threadsBefore = addon.getThreads() as number;
  assert.ok(levels.includes('portable'));
  // One thread first: every result is checked against the reference and fingerprinted; with two
  // threads (split across rows, columns or blocks) each must then be the very same bits. (One thread
  // first also means the pool only grows before any parallel job has run: addon.cc's pool, as of this
  // writing, crashes when it grows after one.)
  const singleThreaded = new Map<string, string>();
  try {
    for (const threads of [1, 2]) {
      addon.setThreads(threads);
      for (const kc of KERNEL_CASES) {
        for (const rows of ROWS) {
          for (const cols of COLS) {
            if (rows * cols > 1e6 && kc.name !== 'crossEntropy') continue; // keeps the ts reference's time down
            const run = kc.make(new Rng(rows * 100_003 + cols), rows, cols);
            const want = threads === 1 ? run(tsKernels) : null;
            for (const level of levels) {
              assert.equal(addon.setSimd(level), true);
              const what = `${kc.name} ${rows}×${cols} ${level} ×${threads}`;
              const got = run(native);
              sameBits(run(native), got, `${what} rerun`);
              const key = `${kc.name} ${rows}×${cols} ${level}`;
              if (want) {
                compareToReference(got, want, kc, what);
                singleThreaded.set(key, fingerprint(got));
              } else {
                assert.equal(fingerprint(got), singleThreaded.get(key), `${what}: not the bits of one thread`);
              }
            }
          }
        }
      }
    }
  } finally {
    addon.setSimd(simdBefore);
    addon.setThreads(threadsBefore);
  }
  assert.equal(addon.getSimd(), simdBefore);
});

test('masked (−∞) logits: finite loss, zero probability and zero gradient, on every backend and SIMD path', () => {
  const addon = requireAddon();
  const levels = addon.simdLevels() as string[], simdBefore = addon.getSimd() as string;
  // Row 0: the first 5000 of 6000 classes masked (more than one of the native kernel's 2048-wide
  // blocks, so its running max starts at −∞); row 1: every other class masked.
  const rows = 2, vocab = 6000, rng = new Rng(11);
  const logits = randn(rng, rows * vocab, 2);
  for (let c = 0; c < 5000; c++) logits[c] = -Infinity;
  for (let c = 0; c < vocab; c += 2) logits[vocab + c] = -Infinity;
  const targets = Int32Array.from([5500, 1]);
  const finite = Float64Array.from(logits, (v) => (v === -Infinity ? -1e300 : v)); // e^(−1e300 − max) = 0 in float64
  const want = crossEntropy64(finite, targets, rows, vocab, 0);
  const wantProbs = logSoftmax64(finite, rows, vocab).map(Math.exp);
  const backends: [string, Kernels][] = [['ts', tsKernels], ...levels.map((l): [string, Kernels] => [l, nativeKernels(addon)])];
  try {
    for (const [label, k] of backends) {
      if (label !== 'ts') assert.equal(addon.setSimd(label), true);
      const losses = new F32(rows), lse = new F32(rows), probs = new F32(rows * vocab), dlogits = new F32(rows * vocab);
      k.crossEntropyForward(logits, targets, losses, lse, rows, vocab, IGNORE, 0);
      assertClose(losses, want, 1e-5, `${label} losses`);
      k.softmaxForward(logits, probs, rows, vocab);
      assertClose(probs, wantProbs, 1e-5, `${label} softmax`);
      k.crossEntropyBackward(logits, targets, lse, new F32(rows).fill(1), dlogits, rows, vocab, IGNORE, 0);
      for (let i = 0; i < rows * vocab; i++) if (logits[i] === -Infinity) assert.ok(Object.is(dlogits[i], 0) || Object.is(dlogits[i], -0), `${label} dlogits[${i}]`);
    }
  } finally {
    addon.setSimd(simdBefore);
  }
});

test('bad sizes are ShapeErrors naming the op and the sizes, on both backends; the raw addon throws, never crashes', () => {
  const addon = requireAddon();
  const small = new F32(5), ids = Int32Array.from([0, 9]);
  const calls: [string, (k: Kernels) => void, RegExp][] = [
    ['layerNormForward', (k) => k.layerNormForward(small, small, null, new F32(6), small, small, 2, 3, 1e-5), /layerNormForward: x has 5 elements, needs 6 \(rows·cols = 2·3\)/],
    ['layerNormForward', (k) => k.layerNormForward(small, small, null, small, small, small, 2, 0, 1e-5), /layerNormForward: cols must be positive/],
    ['softmaxBackward', (k) => k.softmaxBackward(new F32(6), new F32(6), small, 2, 3), /softmaxBackward: dx has 5 elements, needs 6/],
    ['crossEntropyForward', (k) => k.crossEntropyForward(new F32(6), Int32Array.from([1, 3]), small, small, 2, 3, IGNORE, 0), /crossEntropyForward: targets\[1\] = 3 is outside \[0, 3\)/],
    ['crossEntropyBackward', (k) => k.crossEntropyBackward(new F32(6), Int32Array.from([1]), small, small, new F32(6), 2, 3, IGNORE, 0), /crossEntropyBackward: targets has 1 elements, needs 2/],
    ['embeddingForward', (k) => k.embeddingForward(ids, new F32(12), new F32(6), 2, 3), /embeddingForward: ids\[1\] = 9 is outside \[0, 4\)/],
    ['embeddingBackward', (k) => k.embeddingBackward(ids, new F32(6), new F32(3), 2, 3), /embeddingBackward: ids\[1\] = 9 is outside \[0, 1\)/],
    ['geluForward', (k) => k.geluForward(small, small, -1), /geluForward: n must be a non-negative integer, got -1/],
    ['geluBackward', (k) => k.geluBackward(small, small, small, 5, 2 as 1), /geluBackward: beta must be 0 or 1, got 2/],
    ['adamw', (k) => k.adamw(small, small, small, new F32(4), 5, 1e-3, 0.9, 0.95, 1e-8, 0, 1, 1), /adamw: v has 4 elements, needs 5/],
    ['sumRows', (k) => k.sumRows(new F32(6), small, 1, 6), /sumRows: out has 5 elements, needs 6/],
    ['dropoutForward', (k) => k.dropoutForward(small, small, 5, 1, 0), /dropoutForward: p must be in \[0, 1\)/],
    ['axpy', (k) => k.axpy(1, small, small, 7), /axpy: x has 5 elements, needs 7/],
    ['sumRows', (k) => k.sumRows(small, small, 2 ** 40, 2 ** 40), /sumRows: x has 5 elements, needs \S+ \(rows·cols = 1099511627776·1099511627776\)/],
  ];
  for (const [name, call, message] of calls) {
    for (const [label, k] of [['ts', tsKernels], ['native', nativeKernels(addon)]] as const) {
      assert.throws(() => call(k), (e: unknown) => e instanceof ShapeError && message.test(e.message), `${label} ${name}`);
    }
  }
  assert.throws(() => addon.mul(small, small, small, 6), RangeError);
  assert.throws(() => addon.scale(new Float64Array(4), 2, small, 4), TypeError);
});
