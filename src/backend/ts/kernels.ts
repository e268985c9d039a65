// The reference pointwise and row kernels: plain loops in float64 arithmetic, stored to float32.
// They are the specification the native kernels are tested against, so each is written the way the
// formula reads (see backend.ts for every kernel's contract: what is written, what accumulates, what
// may alias). Every kernel first checks its sizes and throws a ShapeError naming the op, the buffer,
// the length needed and the length found: a typed array silently reads undefined past its end.
import { dropoutKeep, dropoutThreshold, type F32, type I32 } from '../backend.ts';
import { ShapeError } from '../../util/errors.ts';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

function checkCount(op: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ShapeError(`${op}: ${name} must be a non-negative integer, got ${value}`);
  }
}

function checkLength(op: string, name: string, arr: F32 | I32, need: number, how: string): void {
  if (arr.length < need) {
    throw new ShapeError(`${op}: ${name} has ${arr.length} elements, needs ${need} (${how})`);
  }
}

/** Checks rows/cols and that each listed buffer holds rows·cols elements. */
function checkMatrix(op: string, rows: number, cols: number, buffers: Record<string, F32 | null>): void {
  checkCount(op, 'rows', rows);
  checkCount(op, 'cols', cols);
  for (const [name, arr] of Object.entries(buffers)) {
    if (arr) checkLength(op, name, arr, rows * cols, `rows·cols = ${rows}·${cols}`);
  }
}

/** A gradient kernel's beta: 1 accumulates into the output, 0 writes it (old contents unread). */
function checkBeta(op: string, beta: number): void {
  if (beta !== 0 && beta !== 1) throw new ShapeError(`${op}: beta must be 0 or 1, got ${beta}`);
}

/** Checks a count (named `what`: n, rows or cols) and that each listed buffer holds that many elements. */
function checkVector(op: string, n: number, buffers: Record<string, F32 | null>, what = 'n'): void {
  checkCount(op, what, n);
  for (const [name, arr] of Object.entries(buffers)) {
    if (arr) checkLength(op, name, arr, n, `${what} = ${n}`);
  }
}

// ---------------------------------------------------------------------------------------------
// LayerNorm: biased variance (PyTorch), eps inside the square root.

export function layerNormForward(x: F32, weight: F32, bias: F32 | null, out: F32, mean: F32, rstd: F32, rows: number, cols: number, eps: number): void {
  const op = 'layerNormForward';
  checkMatrix(op, rows, cols, { x, out });
  checkVector(op, cols, { weight, bias }, 'cols');
  checkVector(op, rows, { mean, rstd }, 'rows');
  if (cols === 0 && rows > 0) throw new ShapeError(`${op}: cols must be positive`);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += x[o + c];
    const mu = sum / cols;
    let sq = 0;
    for (let c = 0; c < cols; c++) sq += (x[o + c] - mu) ** 2;
    const rs = 1 / Math.sqrt(sq / cols + eps);
    for (let c = 0; c < cols; c++) {
      out[o + c] = (x[o + c] - mu) * rs * weight[c] + (bias ? bias[c] : 0);
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

export function layerNormBackward(dout: F32, x: F32, weight: F32, mean: F32, rstd: F32, dx: F32, dweight: F32, dbias: F32 | null, rows: number, cols: number, beta: 0 | 1): void {
  const op = 'layerNormBackward';
  checkBeta(op, beta);
  checkMatrix(op, rows, cols, { dout, x, dx });
  checkVector(op, cols, { weight, dweight, dbias }, 'cols');
  checkVector(op, rows, { mean, rstd }, 'rows');
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const mu = mean[r];
    const rs = rstd[r];
    // dx = rstd·(dnorm − mean(dnorm) − xhat·mean(dnorm·xhat)), dnorm = dout ⊙ weight.
    let meanDnorm = 0;
    let meanDnormXhat = 0;
    for (let c = 0; c < cols; c++) {
      const dnorm = dout[o + c] * weight[c];
      meanDnorm += dnorm;
      meanDnormXhat += dnorm * (x[o + c] - mu) * rs;
    }
    meanDnorm /= cols;
    meanDnormXhat /= cols;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[o + c] - mu) * rs;
      const dnorm = dout[o + c] * weight[c];
      const g = rs * (dnorm - meanDnorm - xhat * meanDnormXhat);
      dx[o + c] = beta ? dx[o + c] + g : g;
    }
  }
  // dweight and dbias sum over rows; summed in float64 first, then added once.
  for (let c = 0; c < cols; c++) {
    let dw = 0;
    let db = 0;
    for (let r = 0; r < rows; r++) {
      dw += dout[r * cols + c] * (x[r * cols + c] - mean[r]) * rstd[r];
      db += dout[r * cols + c];
    }
    dweight[c] += dw;
    if (dbias) dbias[c] += db;
  }
}

// ---------------------------------------------------------------------------------------------
// GELU, tanh approximation.

export function geluForward(x: F32, out: F32, n: number): void {
  checkVector('geluForward', n, { x, out });
  for (let i = 0; i < n; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v)));
  }
}

export function geluBackward(x: F32, dout: F32, dx: F32, n: number, beta: 0 | 1): void {
  checkVector('geluBackward', n, { x, dout, dx });
  checkBeta('geluBackward', beta);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const t = Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
    const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
    const g = dout[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
    dx[i] = beta ? dx[i] + g : g;
  }
}

// ---------------------------------------------------------------------------------------------
// Row softmax.

export function softmaxForward(x: F32, out: F32, rows: number, cols: number): void {
  checkMatrix('softmaxForward', rows, cols, { x, out });
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[o + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[o + c] - max);
    for (let c = 0; c < cols; c++) out[o + c] = Math.exp(x[o + c] - max) / sum;
  }
}

export function softmaxBackward(out: F32, dout: F32, dx: F32, rows: number, cols: number): void {
  checkMatrix('softmaxBackward', rows, cols, { out, dout, dx });
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dout[o + c] * out[o + c];
    for (let c = 0; c < cols; c++) dx[o + c] += out[o + c] * (dout[o + c] - dot);
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy with ignore index and label smoothing. With q = (1−s)·onehot(t) + s/V and
// Σq = 1, −Σ q_c·log p_c = lse − Σ q_c·x_c, which needs no log of a tiny probability.

function checkCrossEntropy(op: string, logits: F32, targets: I32, rows: number, vocab: number, ignoreIndex: number, smoothing: number): void {
  checkCount(op, 'rows', rows);
  checkCount(op, 'vocab', vocab);
  checkLength(op, 'logits', logits, rows * vocab, `rows·vocab = ${rows}·${vocab}`);
  checkLength(op, 'targets', targets, rows, `rows = ${rows}`);
  if (!(smoothing >= 0 && smoothing <= 1)) throw new ShapeError(`${op}: smoothing must be in [0, 1], got ${smoothing}`);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t !== ignoreIndex && (t < 0 || t >= vocab)) {
      throw new ShapeError(`${op}: targets[${r}] = ${t} is outside [0, ${vocab}) and is not the ignore index ${ignoreIndex}`);
    }
  }
}

export function crossEntropyForward(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number, smoothing: number): void {
  const op = 'crossEntropyForward';
  checkCrossEntropy(op, logits, targets, rows, vocab, ignoreIndex, smoothing);
  checkVector(op, rows, { losses, lse }, 'rows');
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let max = -Infinity;
    let sumX = 0;
    for (let c = 0; c < vocab; c++) {
      max = Math.max(max, logits[o + c]);
      sumX += logits[o + c];
    }
    let sumExp = 0;
    for (let c = 0; c < vocab; c++) sumExp += Math.exp(logits[o + c] - max);
    const l = max + Math.log(sumExp);
    lse[r] = l;
    const t = targets[r];
    // The smoothing term only when smoothing > 0: masked (−∞) logits make Σx = −∞, and 0·∞ is NaN.
    const smooth = smoothing > 0 ? (smoothing / vocab) * sumX : 0;
    losses[r] = t === ignoreIndex ? 0 : l - (1 - smoothing) * logits[o + t] - smooth;
  }
}

export function crossEntropyBackward(logits: F32, targets: I32, lse: F32, dlosses: F32, dlogits: F32, rows: number, vocab: number, ignoreIndex: number, smoothing: number): void {
  const op = 'crossEntropyBackward';
  checkCrossEntropy(op, logits, targets, rows, vocab, ignoreIndex, smoothing);
  checkVector(op, rows, { lse, dlosses }, 'rows');
  checkLength(op, 'dlogits', dlogits, rows * vocab, `rows·vocab = ${rows}·${vocab}`);
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const t = targets[r];
    if (t === ignoreIndex) {
      dlogits.fill(0, o, o + vocab);
      continue;
    }
    const d = dlosses[r];
    const qOther = smoothing / vocab;
    for (let c = 0; c < vocab; c++) {
      const p = Math.exp(logits[o + c] - lse[r]);
      const q = c === t ? 1 - smoothing + qOther : qOther;
      dlogits[o + c] = d * (p - q); // reads logits[o + c] before writing it: in place is safe
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Embedding lookup.

function checkEmbedding(op: string, ids: I32, table: F32, tableName: string, rowsBuf: F32, rowsName: string, n: number, dim: number): void {
  checkCount(op, 'n', n);
  checkCount(op, 'dim', dim);
  if (dim === 0 && n > 0) throw new ShapeError(`${op}: dim must be positive, got 0`);
  checkLength(op, 'ids', ids, n, `n = ${n}`);
  checkLength(op, rowsName, rowsBuf, n * dim, `n·dim = ${n}·${dim}`);
  const vocab = dim > 0 ? Math.floor(table.length / dim) : 0;
  for (let i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw new ShapeError(`${op}: ids[${i}] = ${ids[i]} is outside [0, ${vocab}) (${tableName} has ${table.length} elements, dim ${dim})`);
    }
  }
}

export function embeddingForward(ids: I32, table: F32, out: F32, n: number, dim: number): void {
  checkEmbedding('embeddingForward', ids, table, 'table', out, 'out', n, dim);
  for (let i = 0; i < n; i++) out.set(table.subarray(ids[i] * dim, ids[i] * dim + dim), i * dim);
}

export function embeddingBackward(ids: I32, dout: F32, dtable: F32, n: number, dim: number): void {
  checkEmbedding('embeddingBackward', ids, dtable, 'dtable', dout, 'dout', n, dim);
  for (let i = 0; i < n; i++) {
    const row = ids[i] * dim;
    for (let c = 0; c < dim; c++) dtable[row + c] += dout[i * dim + c];
  }
}

// ---------------------------------------------------------------------------------------------
// AdamW (PyTorch's formula, decoupled weight decay).

export function adamw(param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number): void {
  checkVector('adamw', n, { param, grad, m, v });
  if (!Number.isSafeInteger(step) || step < 1) throw new ShapeError(`adamw: step must be an integer ≥ 1, got ${step}`);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * gradScale;
    let p = param[i];
    p -= lr * weightDecay * p;
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}

// ---------------------------------------------------------------------------------------------
// Vector arithmetic.

export function add(a: F32, b: F32, out: F32, n: number): void {
  checkVector('add', n, { a, b, out });
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

export function mul(a: F32, b: F32, out: F32, n: number): void {
  checkVector('mul', n, { a, b, out });
  for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
}

export function axpy(alpha: number, x: F32, y: F32, n: number): void {
  checkVector('axpy', n, { x, y });
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

export function scale(x: F32, alpha: number, out: F32, n: number): void {
  checkVector('scale', n, { x, out });
  for (let i = 0; i < n; i++) out[i] = alpha * x[i];
}

export function sumSquares(x: F32, n: number): number {
  checkVector('sumSquares', n, { x });
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i] * x[i];
  return sum;
}

export function sumRows(x: F32, out: F32, rows: number, cols: number): void {
  checkMatrix('sumRows', rows, cols, { x });
  checkVector('sumRows', cols, { out }, 'cols');
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += x[r * cols + c];
    out[c] += sum;
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout. The scale is rounded to float32 first so that forward matches the native kernel bit for
// bit (a float32 product is exact in float64, so rounding it once gives the float32 product).

function dropoutScale(op: string, p: number, seed: number): number {
  if (!(p >= 0 && p < 1)) throw new ShapeError(`${op}: p must be in [0, 1), got ${p}`);
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 4294967296)) throw new ShapeError(`${op}: seed must be a uint32, got ${seed}`);
  return Math.fround(1 / (1 - p));
}

export function dropoutForward(x: F32, out: F32, n: number, p: number, seed: number): void {
  checkVector('dropoutForward', n, { x, out });
  const s = dropoutScale('dropoutForward', p, seed);
  const threshold = dropoutThreshold(p);
  for (let i = 0; i < n; i++) out[i] = dropoutKeep(seed, i, threshold) ? x[i] * s : 0;
}

export function dropoutBackward(dout: F32, dx: F32, n: number, p: number, seed: number, beta: 0 | 1): void {
  checkVector('dropoutBackward', n, { dout, dx });
  checkBeta('dropoutBackward', beta);
  const s = dropoutScale('dropoutBackward', p, seed);
  const threshold = dropoutThreshold(p);
  for (let i = 0; i < n; i++) {
    const g = dropoutKeep(seed, i, threshold) ? Math.fround(dout[i] * s) : 0;
    dx[i] = beta ? dx[i] + g : g;
  }
}
