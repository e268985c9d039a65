// The reference GEMM: C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] (+ bias), as specified by
// GemmParams in ../backend.ts. Plain loops, accumulated in float64 (so it is also the accurate side
// of every comparison), rounded to float32 once per element. `checkGemmParams` is shared with the
// native wrapper: both backends reject the same bad calls with the same ShapeError.
import type { F32, GemmParams } from '../backend.ts';
import { ShapeError } from '../../util/errors.ts';

function describe(p: GemmParams): string {
  return `m=${p.m} n=${p.n} k=${p.k} transA=${p.transA} transB=${p.transB} batch=${p.batch}`;
}

function checkInt(p: GemmParams, field: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new ShapeError(`gemm: ${field} must be an integer ≥ ${min}, got ${value} (${describe(p)})`);
  }
}

/** One operand stored (rows, cols) with leading dimension ld: every element must be inside `len`. */
function checkOperand(p: GemmParams, name: string, rows: number, cols: number, offset: number, ld: number, stride: number, len: number): void {
  if (ld < Math.max(1, cols)) {
    throw new ShapeError(`gemm: ${name}: leading dimension ${ld} is less than its row width ${cols} (${describe(p)})`);
  }
  if (rows === 0 || cols === 0) return;
  const needed = offset + (p.batch - 1) * stride + (rows - 1) * ld + cols;
  if (needed > len) {
    throw new ShapeError(
      `gemm: ${name} (${rows}×${cols}, ld ${ld}, offset ${offset}, batch stride ${stride}) needs ${needed} elements ` +
        `but its buffer has ${len} (${describe(p)})`,
    );
  }
}

const INTEGER_FIELDS = [['m', 0], ['n', 0], ['k', 0], ['batch', 1], ['lda', 1], ['ldb', 1], ['ldc', 1],
  ['aOffset', 0], ['bOffset', 0], ['cOffset', 0], ['strideA', 0], ['strideB', 0], ['strideC', 0]] as const;

/** Throws a ShapeError naming the operand, the shapes and the buffer length for any call that would read or write out of bounds. */
export function checkGemmParams(p: GemmParams): void {
  for (const [field, min] of INTEGER_FIELDS) checkInt(p, field, p[field], min);
  if (p.beta !== 0 && p.beta !== 1) throw new ShapeError(`gemm: beta must be 0 or 1, got ${p.beta}`);
  if (typeof p.alpha !== 'number') throw new ShapeError(`gemm: alpha must be a number, got ${typeof p.alpha}`);
  const { m, n, transA, transB } = p;
  const k = m === 0 || n === 0 ? 0 : p.k; // A and B are not read when C is empty
  checkOperand(p, 'A', transA ? k : m, transA ? m : k, p.aOffset, p.lda, p.strideA, p.a.length);
  checkOperand(p, 'B', transB ? n : k, transB ? k : n, p.bOffset, p.ldb, p.strideB, p.b.length);
  checkOperand(p, 'C', m, n, p.cOffset, p.ldc, p.strideC, p.c.length);
  if (p.bias !== null && p.bias.length < n) {
    throw new ShapeError(`gemm: bias needs n=${n} elements but has ${p.bias.length} (${describe(p)})`);
  }
}

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/**
 * The nearest bfloat16 to a float32, as a float32: round to nearest even, NaN kept (quiet),
 * denormals to signed zero — VCVTNE2PS2BF16's rounding, which the native paths share (native/src/bf16.h).
 */
export function roundToBf16(x: number): number {
  asFloat[0] = x;
  const u = bits[0];
  if ((u & 0x7f800000) === 0) bits[0] = u & 0x80000000;
  else if ((u & 0x7fffffff) > 0x7f800000) bits[0] = (u | 0x400000) & 0xffff0000;
  else bits[0] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
  return asFloat[0];
}

/** The part of an operand a call reads, rounded to bf16 (a copy; the caller's array is untouched). */
function roundedOperand(x: F32, offset: number, rows: number, cols: number, ld: number, stride: number, batch: number): F32 {
  const out = new Float32Array(x.length);
  if (rows === 0 || cols === 0) return out;
  const end = Math.min(x.length, offset + (batch - 1) * stride + (rows - 1) * ld + cols);
  for (let i = offset; i < end; i++) out[i] = roundToBf16(x[i]);
  return out;
}

let rowScratch = new Float64Array(0);

export function gemm(p: GemmParams): void {
  checkGemmParams(p);
  const { m, n, k, alpha, c, lda, ldb, ldc, bias, transA, transB } = p;
  let { a, b } = p;
  if (p.precision === 'bf16') {
    // Each product of two bf16 values is exact; the sums stay in float64 as for float32.
    a = roundedOperand(a, p.aOffset, transA ? k : m, transA ? m : k, lda, p.strideA, p.batch);
    b = roundedOperand(b, p.bOffset, transB ? n : k, transB ? k : n, ldb, p.strideB, p.batch);
  }
  if (rowScratch.length < n) rowScratch = new Float64Array(n);
  const acc = rowScratch; // one row of C in float64
  for (let batch = 0; batch < p.batch; batch++) {
    const aBase = p.aOffset + batch * p.strideA;
    const bBase = p.bOffset + batch * p.strideB;
    const cBase = p.cOffset + batch * p.strideC;
    // op(A)[i][q] = a[aBase + i·ai + q·aq]
    const ai = transA ? 1 : lda;
    const aq = transA ? lda : 1;
    for (let i = 0; i < m; i++) {
      acc.fill(0, 0, n);
      if (transB) {
        // op(B)[q][j] = b[bBase + j·ldb + q]: a dot product per column, both sides contiguous in q.
        for (let j = 0; j < n; j++) {
          let s = 0;
          const bj = bBase + j * ldb;
          for (let q = 0; q < k; q++) s += a[aBase + i * ai + q * aq] * b[bj + q];
          acc[j] = s;
        }
      } else {
        // op(B)[q][j] = b[bBase + q·ldb + j]: add a[i][q] times row q of B.
        for (let q = 0; q < k; q++) {
          const aiq = a[aBase + i * ai + q * aq];
          const bq = bBase + q * ldb;
          for (let j = 0; j < n; j++) acc[j] += aiq * b[bq + j];
        }
      }
      const ci = cBase + i * ldc;
      for (let j = 0; j < n; j++) {
        let v = alpha * acc[j];
        if (p.beta === 1) v += c[ci + j];
        if (bias !== null) v += bias[j];
        c[ci + j] = p.roundOutput ? roundToBf16(v) : v;
      }
    }
  }
}
