// The differentiable ops the models are built from. Each op checks its inputs (errors name the op
// and the shapes), computes its forward through the backend, and records its hand-written
// backward right beside it. Ops are coarse and fused where the models spend their time (linear,
// layernorm, attention, GELU, softmax-cross-entropy, embedding), per the llm.c lesson.
import { backend } from '../backend/index.ts';
import type { F32, I32 } from '../backend/backend.ts';
import { Tensor, allocBuffer, check, isGradEnabled, record, shapeStr, sizeOf, type Shape } from './tensor.ts';
import { autocastPrecision, type Precision } from './autocast.ts';

const be = () => backend();

/** Row-major GEMM on whole buffers; C = op(A)·op(B) (beta 0) or C += … (beta 1). */
export function gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: F32, b: F32, c: F32, beta: 0 | 1, bias: F32 | null = null, alpha = 1, precision: Precision = 'f32', roundOutput = false): void {
  be().gemm({
    transA, transB, m, n, k, alpha,
    a, aOffset: 0, lda: transA ? m : k,
    b, bOffset: 0, ldb: transB ? k : n,
    beta, c, cOffset: 0, ldc: n,
    bias, batch: 1, strideA: 0, strideB: 0, strideC: 0, precision, roundOutput,
  });
}


// ---------------------------------------------------------------------------------------------
// Linear algebra.

/** y = x·wᵀ + b for x (…, in), w (out, in) as torch.nn.Linear, b (out) or null. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  check(w.ndim === 2, 'linear', () => `weight must be 2-D (out, in), got ${shapeStr(w.shape)}`);
  const [out, inp] = w.shape;
  check(x.dim(-1) === inp, 'linear', () => `input ${shapeStr(x.shape)} has last dim ${x.dim(-1)}, weight ${shapeStr(w.shape)} expects ${inp}`);
  check(!b || (b.ndim === 1 && b.size === out), 'linear', () => `bias ${b ? shapeStr(b.shape) : ''} must be (${out})`);
  const rows = x.size / inp;
  const y = Tensor.empty([...x.shape.slice(0, -1), out]);
  if (w.quantized && !isGradEnabled()) {
    // Decoding with narrow weights: read as stored, nothing recorded.
    be().qlinear(w.quantized.format, rows, out, inp, x.data, w.quantized.data, b ? b.data : null, y.data);
    return y;
  }
  const precision = autocastPrecision();
  // Under bf16 autocast a product's output is bf16, as torch.autocast's: the next op reads bf16 values.
  gemm(false, true, rows, out, inp, x.data, w.data, y.data, 0, b ? b.data : null, 1, precision, precision === 'bf16');
  y.requiresGrad = record([x, w, b], () => {
    const dy = y.grad;
    if (!dy) return;
    if (x.requiresGrad) {
      const [dx, beta] = x.gradForWrite();
      gemm(false, false, rows, inp, out, dy, w.data, dx, beta, null, 1, precision);
    }
    if (w.requiresGrad) {
      const [dw, beta] = w.gradForWrite();
      gemm(true, false, out, inp, rows, dy, x.data, dw, beta, null, 1, precision);
    }
    if (b && b.requiresGrad) be().sumRows(dy, b.gradBuffer(), rows, out);
  }, y);
  return y;
}

/**
 * Batched matrix product. a is (…, m, k); b is (…, k, n) with the same leading dims, or a shared
 * 2-D (k, n). With transB, b is stored (…, n, k) / (n, k).
 */
export function matmul(a: Tensor, b: Tensor, transB = false): Tensor {
  check(a.ndim >= 2 && b.ndim >= 2, 'matmul', () => `need ≥2-D inputs, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const m = a.dim(-2), k = a.dim(-1);
  const bk = transB ? b.dim(-1) : b.dim(-2);
  const n = transB ? b.dim(-2) : b.dim(-1);
  check(bk === k, 'matmul', () => `inner dims differ: ${shapeStr(a.shape)} × ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`);
  const batch = a.size / (m * k);
  const shared = b.ndim === 2;
  check(shared || b.size / (k * n) === batch, 'matmul', () => `batch dims differ: ${shapeStr(a.shape)} × ${shapeStr(b.shape)}`);
  const out = Tensor.empty([...a.shape.slice(0, -2), m, n]);
  const precision = autocastPrecision();
  if (shared) {
    // One GEMM over all rows of a.
    gemm(false, transB, batch * m, n, k, a.data, b.data, out.data, 0, null, 1, precision, precision === 'bf16');
  } else {
    be().gemm({ transA: false, transB, m, n, k, alpha: 1, a: a.data, aOffset: 0, lda: k, b: b.data, bOffset: 0, ldb: transB ? k : n, beta: 0, c: out.data, cOffset: 0, ldc: n, bias: null, batch, strideA: m * k, strideB: k * n, strideC: m * n, precision, roundOutput: precision === 'bf16' });
  }
  out.requiresGrad = record([a, b], () => {
    const dc = out.grad;
    if (!dc) return;
    if (shared) {
      const rows = batch * m;
      if (a.requiresGrad) {
        const [da, beta] = a.gradForWrite();
        gemm(false, !transB, rows, k, n, dc, b.data, da, beta, null, 1, precision);
      }
      if (b.requiresGrad) {
        const [db, beta] = b.gradForWrite();
        if (transB) gemm(true, false, n, k, rows, dc, a.data, db, beta, null, 1, precision); // dB (n,k) (+)= dCᵀ·A
        else gemm(true, false, k, n, rows, a.data, dc, db, beta, null, 1, precision); // dB (k,n) (+)= Aᵀ·dC
      }
      return;
    }
    const g = (transA: boolean, tB: boolean, mm: number, nn: number, kk: number, A: F32, sA: number, Bm: F32, sB: number, [C, beta]: [F32, 0 | 1], sC: number) =>
      be().gemm({ transA, transB: tB, m: mm, n: nn, k: kk, alpha: 1, a: A, aOffset: 0, lda: transA ? mm : kk, b: Bm, bOffset: 0, ldb: tB ? kk : nn, beta, c: C, cOffset: 0, ldc: nn, bias: null, batch, strideA: sA, strideB: sB, strideC: sC, precision });
    if (a.requiresGrad) g(false, !transB, m, k, n, dc, m * n, b.data, k * n, a.gradForWrite(), m * k);
    if (b.requiresGrad) {
      if (transB) g(true, false, n, k, m, dc, m * n, a.data, m * k, b.gradForWrite(), n * k);
      else g(true, false, k, n, m, a.data, m * k, dc, m * n, b.gradForWrite(), k * n);
    }
  }, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Elementwise.

/** a + b; b may also be broadcast over a's leading dims (b's shape = a's trailing dims). */
export function add(a: Tensor, b: Tensor): Tensor {
  const tiles = a.size / b.size;
  const trailing = a.shape.slice(a.ndim - b.ndim);
  check(Number.isInteger(tiles) && b.ndim <= a.ndim && trailing.every((d, i) => d === b.shape[i]), 'add', () => `cannot broadcast ${shapeStr(b.shape)} onto ${shapeStr(a.shape)}`);
  const out = Tensor.empty(a.shape);
  const n = b.size;
  if (tiles === 1) be().add(a.data, b.data, out.data, n);
  else for (let t = 0; t < tiles; t++) be().add(a.data.subarray(t * n, (t + 1) * n), b.data, out.data.subarray(t * n, (t + 1) * n), n);
  out.requiresGrad = record([a, b], () => {
    const d = out.grad;
    if (!d) return;
    if (b.requiresGrad) {
      if (tiles === 1) passGradient(d, b);
      else {
        const gb = b.gradBuffer();
        for (let t = 0; t < tiles; t++) be().axpy(1, d.subarray(t * n, (t + 1) * n), gb, n);
      }
    }
    // Last, because it may take d itself (a residual stream's gradient flows on without a copy).
    if (a.requiresGrad && takeGradient(out, a)) return;
    if (a.requiresGrad) passGradient(d, a);
  }, out);
  return out;
}

/** x.grad (+)= d: a copy into a fresh gradient, an axpy into an existing one. */
function passGradient(d: F32, x: Tensor): void {
  const [g, beta] = x.gradForWrite();
  if (beta) be().axpy(1, d, g, x.size);
  else g.set(d);
}

/**
 * Hands out's gradient buffer to x when x has no gradient yet and nothing else will read it: the
 * tape drops out's gradient right after this backward, so the buffer just changes owner. Not for
 * parameters, whose gradient must outlive the scope the buffer belongs to.
 */
function takeGradient(out: Tensor, x: Tensor): boolean {
  if (x.isParameter || x.grad || !out.grad || out.grad.length !== x.size) return false;
  x.grad = out.grad;
  out.grad = null;
  return true;
}

/** a ⊙ b, same shapes. */
export function mul(a: Tensor, b: Tensor): Tensor {
  check(a.size === b.size, 'mul', () => `shapes differ: ${shapeStr(a.shape)} vs ${shapeStr(b.shape)}`);
  const out = Tensor.empty(a.shape);
  be().mul(a.data, b.data, out.data, a.size);
  out.requiresGrad = record([a, b], () => {
    const d = out.grad;
    if (!d) return;
    const tmp = allocBuffer(a.size);
    if (a.requiresGrad) { be().mul(d, b.data, tmp, a.size); be().axpy(1, tmp, a.gradBuffer(), a.size); }
    if (b.requiresGrad) { be().mul(d, a.data, tmp, a.size); be().axpy(1, tmp, b.gradBuffer(), a.size); }
  }, out);
  return out;
}

/** alpha · x. */
export function scale(x: Tensor, alpha: number): Tensor {
  const out = Tensor.empty(x.shape);
  be().scale(x.data, alpha, out.data, x.size);
  out.requiresGrad = record([x], () => {
    if (out.grad) be().axpy(alpha, out.grad, x.gradBuffer(), x.size);
  }, out);
  return out;
}

/** GELU (tanh form, GPT-2). */
export function gelu(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  be().geluForward(x.data, out.data, x.size);
  out.requiresGrad = record([x], () => {
    if (!out.grad) return;
    const [dx, beta] = x.gradForWrite();
    be().geluBackward(x.data, out.grad, dx, x.size, beta);
  }, out);
  return out;
}

/**
 * Elementwise f with derivative df(x, y) for small tensors off the hot path (heads, losses):
 * plain TypeScript loops.
 */
function unary(x: Tensor, f: (v: number) => number, df: (v: number, y: number) => number): Tensor {
  const out = Tensor.empty(x.shape);
  const xd = x.data, od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = f(xd[i]);
  out.requiresGrad = record([x], () => {
    const d = out.grad;
    if (!d) return;
    const g = x.gradBuffer();
    for (let i = 0; i < xd.length; i++) g[i] += d[i] * df(xd[i], od[i]);
  }, out);
  return out;
}

/**
 * GELU in its exact erf form, x·Φ(x) (BERT's "gelu"; op.gelu is GPT-2's tanh form). Φ uses erf by
 * Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7); its exp(−x²/2) is also the density φ the
 * backward needs, so each direction costs one exp per element. TypeScript loops: no backend kernel yet.
 */
export function geluErf(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  const xd = x.data, od = out.data, n = x.size;
  for (let i = 0; i < n; i++) od[i] = xd[i] * phiCdf(xd[i]);
  out.requiresGrad = record([x], () => {
    const d = out.grad;
    if (!d) return;
    const [g, beta] = x.gradForWrite();
    for (let i = 0; i < n; i++) {
      const v = xd[i], e = Math.exp(-0.5 * v * v);
      const dv = d[i] * (cdfFromExp(v, e) + v * e * 0.3989422804014327);
      g[i] = beta ? g[i] + dv : dv;
    }
  }, out);
  return out;
}

/** Φ(v) = ½(1 + erf(v/√2)) with e = exp(−v²/2) given. */
function cdfFromExp(v: number, e: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(v) * Math.SQRT1_2);
  const erfAbs = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * e;
  return 0.5 * (1 + (v < 0 ? -erfAbs : erfAbs));
}

function phiCdf(v: number): number {
  return cdfFromExp(v, Math.exp(-0.5 * v * v));
}
export const tanh = (x: Tensor) => unary(x, Math.tanh, (_v, y) => 1 - y * y);
export const relu = (x: Tensor) => unary(x, (v) => (v > 0 ? v : 0), (v) => (v > 0 ? 1 : 0));
export const sigmoid = (x: Tensor) => unary(x, (v) => 1 / (1 + Math.exp(-v)), (_v, y) => y * (1 - y));
/** log σ(x), stable for large |x|. */
export const logSigmoid = (x: Tensor) =>
  unary(x, (v) => (v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v))), (v) => 1 / (1 + Math.exp(v)));

// ---------------------------------------------------------------------------------------------
// Normalisation, softmax, dropout.

/** LayerNorm over the last dim (biased variance, eps inside the sqrt, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  const cols = x.dim(-1);
  check(weight.size === cols && (!bias || bias.size === cols), 'layerNorm', () => `input ${shapeStr(x.shape)} but weight ${shapeStr(weight.shape)}${bias ? ` bias ${shapeStr(bias.shape)}` : ''}`);
  const rows = x.size / cols;
  const out = Tensor.empty(x.shape);
  const mean = allocBuffer(rows), rstd = allocBuffer(rows);
  be().layerNormForward(x.data, weight.data, bias ? bias.data : null, out.data, mean, rstd, rows, cols, eps);
  out.requiresGrad = record([x, weight, bias], () => {
    if (!out.grad) return;
    // The kernel computes all three gradients; give it scratch for the ones nobody wants.
    const [dx, beta]: [F32, 0 | 1] = x.requiresGrad ? x.gradForWrite() : [allocBuffer(x.size), 0];
    const dw = weight.requiresGrad ? weight.gradBuffer() : allocBuffer(cols, true);
    const db = bias ? (bias.requiresGrad ? bias.gradBuffer() : allocBuffer(cols, true)) : null;
    be().layerNormBackward(out.grad, x.data, weight.data, mean, rstd, dx, dw, db, rows, cols, beta);
  }, out);
  return out;
}

/** Softmax over the last dim. */
export function softmax(x: Tensor): Tensor {
  const cols = x.dim(-1);
  const rows = x.size / cols;
  const out = Tensor.empty(x.shape);
  be().softmaxForward(x.data, out.data, rows, cols);
  out.requiresGrad = record([x], () => {
    if (out.grad) be().softmaxBackward(out.data, out.grad, x.gradBuffer(), rows, cols);
  }, out);
  return out;
}

/** Inverted dropout with a counter-based mask from `seed` (uint32); identity when p = 0. */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  check(p >= 0 && p < 1, 'dropout', () => `p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const out = Tensor.empty(x.shape);
  be().dropoutForward(x.data, out.data, x.size, p, seed >>> 0);
  out.requiresGrad = record([x], () => {
    if (!out.grad) return;
    const [dx, beta] = x.gradForWrite();
    be().dropoutBackward(out.grad, dx, x.size, p, seed >>> 0, beta);
  }, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Embedding and loss.

function checkIds(op: string, ids: I32, limit: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= limit) throw new RangeError(`${op}: id ${id} at position ${i} is outside [0, ${limit})`);
  }
}

/** table[ids] → (…ids.shape, dim). */
export function embedding(ids: I32, idsShape: Shape, table: Tensor): Tensor {
  check(table.ndim === 2, 'embedding', () => `table must be 2-D, got ${shapeStr(table.shape)}`);
  check(sizeOf(idsShape) === ids.length, 'embedding', () => `ids has ${ids.length} elements but shape ${shapeStr(idsShape)}`);
  const [vocab, dim] = table.shape;
  checkIds('embedding', ids, vocab);
  const out = Tensor.empty([...idsShape, dim]);
  be().embeddingForward(ids, table.data, out.data, ids.length, dim);
  out.requiresGrad = record([table], () => {
    if (out.grad) be().embeddingBackward(ids, out.grad, table.gradBuffer(), ids.length, dim);
  }, out);
  return out;
}

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  smoothing?: number;
  /** 'mean' over non-ignored rows (default), 'sum', or 'none' (per-row losses). */
  reduction?: 'mean' | 'sum' | 'none';
}

/** Softmax cross-entropy of logits (rows, vocab) against integer targets (rows). */
export function crossEntropy(logits: Tensor, targets: I32, opts: CrossEntropyOptions = {}): Tensor {
  const ignore = opts.ignoreIndex ?? -100;
  const smoothing = opts.smoothing ?? 0;
  const reduction = opts.reduction ?? 'mean';
  const vocab = logits.dim(-1);
  const rows = logits.size / vocab;
  check(targets.length === rows, 'crossEntropy', () => `logits ${shapeStr(logits.shape)} has ${rows} rows but ${targets.length} targets`);
  check(smoothing >= 0 && smoothing < 1, 'crossEntropy', () => `smoothing must be in [0, 1), got ${smoothing}`);
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const t = targets[i];
    if (t === ignore) continue;
    if (t < 0 || t >= vocab) throw new RangeError(`crossEntropy: target ${t} at row ${i} is outside [0, ${vocab})`);
    count++;
  }
  const losses = allocBuffer(rows), lse = allocBuffer(rows);
  be().crossEntropyForward(logits.data, targets, losses, lse, rows, vocab, ignore, smoothing);
  let out: Tensor;
  if (reduction === 'none') {
    out = new Tensor(losses, logits.shape.slice(0, -1));
  } else {
    let s = 0;
    for (let i = 0; i < rows; i++) s += losses[i];
    const denom = reduction === 'mean' ? Math.max(count, 1) : 1;
    out = Tensor.empty([]);
    out.data[0] = s / denom;
  }
  out.requiresGrad = record([logits], () => {
    const d = out.grad;
    if (!d) return;
    const dl = allocBuffer(rows);
    if (reduction === 'none') dl.set(d);
    else dl.fill(d[0] / (reduction === 'mean' ? Math.max(count, 1) : 1));
    const [g, beta] = logits.gradForWrite();
    if (beta === 0) {
      be().crossEntropyBackward(logits.data, targets, lse, dl, g, rows, vocab, ignore, smoothing);
    } else {
      const tmp = allocBuffer(logits.size);
      be().crossEntropyBackward(logits.data, targets, lse, dl, tmp, rows, vocab, ignore, smoothing);
      be().axpy(1, tmp, g, logits.size);
    }
  }, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reductions and shape.

export function sum(x: Tensor): Tensor {
  const out = Tensor.empty([]);
  let s = 0;
  const d = x.data;
  for (let i = 0; i < d.length; i++) s += d[i];
  out.data[0] = s;
  out.requiresGrad = record([x], () => {
    if (!out.grad) return;
    const g = x.gradBuffer(), v = out.grad[0];
    for (let i = 0; i < g.length; i++) g[i] += v;
  }, out);
  return out;
}

export function mean(x: Tensor): Tensor {
  return scale(sum(x), 1 / Math.max(x.size, 1));
}

/** Same data, new shape (one dim may be -1). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  check(sizeOf(resolved) === x.size, 'reshape', () => `cannot reshape ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  const out = new Tensor(x.data, resolved);
  out.requiresGrad = record([x], () => {
    if (out.grad && !takeGradient(out, x)) passGradient(out.grad, x);
  }, out);
  return out;
}

/** Rows idx of x viewed as (rows, cols) → (idx.length, cols). */
export function gatherRows(x: Tensor, idx: I32): Tensor {
  const cols = x.dim(-1);
  const rows = x.size / cols;
  checkIds('gatherRows', idx, rows);
  const out = Tensor.empty([idx.length, cols]);
  for (let i = 0; i < idx.length; i++) out.data.set(x.data.subarray(idx[i] * cols, (idx[i] + 1) * cols), i * cols);
  out.requiresGrad = record([x], () => {
    if (!out.grad) return;
    const g = x.gradBuffer();
    for (let i = 0; i < idx.length; i++) be().axpy(1, out.grad.subarray(i * cols, (i + 1) * cols), g.subarray(idx[i] * cols, (idx[i] + 1) * cols), cols);
  }, out);
  return out;
}

/** Concatenate along the first dim (all other dims equal). */
export function concatRows(xs: Tensor[]): Tensor {
  check(xs.length > 0, 'concatRows', 'no inputs');
  const rest = xs[0].shape.slice(1);
  for (const x of xs) check(x.ndim === xs[0].ndim && x.shape.slice(1).every((d, i) => d === rest[i]), 'concatRows', () => `shapes ${xs.map((t) => shapeStr(t.shape)).join(', ')} differ beyond dim 0`);
  const total = xs.reduce((s, x) => s + x.dim(0), 0);
  const out = Tensor.empty([total, ...rest]);
  let off = 0;
  for (const x of xs) { out.data.set(x.data, off); off += x.size; }
  out.requiresGrad = record(xs, () => {
    if (!out.grad) return;
    let o = 0;
    for (const x of xs) {
      if (x.requiresGrad) passGradient(out.grad.subarray(o, o + x.size), x);
      o += x.size;
    }
  }, out);
  return out;
}

/** Swap the last two dims (copy). */
export function transposeLast2(x: Tensor): Tensor {
  const r = x.dim(-2), c = x.dim(-1);
  const batch = x.size / (r * c);
  const out = Tensor.empty([...x.shape.slice(0, -2), c, r]);
  const tr = (src: F32, dst: F32, add: boolean, R: number, C: number) => {
    for (let b = 0; b < batch; b++) {
      const o = b * R * C;
      for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) {
        if (add) dst[o + j * R + i] += src[o + i * C + j];
        else dst[o + j * R + i] = src[o + i * C + j];
      }
    }
  };
  tr(x.data, out.data, false, r, c);
  out.requiresGrad = record([x], () => {
    if (out.grad) tr(out.grad, x.gradBuffer(), true, c, r);
  }, out);
  return out;
}
