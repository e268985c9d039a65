// The reference of the quantized linear layer (native/src/qlinear.h): each weight row expanded to
// float64 and dotted with x, so the native paths' float32 sums are checked against exact ones.
import type { F32, QuantFormat } from '../backend.ts';
import { ShapeError } from '../../util/errors.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f, mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Row n of W as numbers. */
export function qlinearRow(format: QuantFormat, w: Uint8Array, n: number, K: number): Float64Array {
  const out = new Float64Array(K);
  if (format === 'q8_0') {
    const base = n * (K / 32) * 34;
    for (let b = 0; b < K / 32; b++) {
      const o = base + b * 34;
      const d = half(w[o] | (w[o + 1] << 8));
      for (let i = 0; i < 32; i++) out[b * 32 + i] = d * ((w[o + 2 + i] << 24) >> 24);
    }
  } else {
    const base = n * K * 2;
    for (let k = 0; k < K; k++) {
      u32[0] = (w[base + 2 * k] | (w[base + 2 * k + 1] << 8)) << 16;
      out[k] = f32[0];
    }
  }
  return out;
}

export function qlinear(format: QuantFormat, M: number, N: number, K: number, x: F32, w: Uint8Array, bias: F32 | null, y: F32): void {
  if (format === 'q8_0' && K % 32 !== 0) throw new ShapeError(`qlinear: Q8_0 needs K to be a multiple of 32, got ${K}`);
  const rowBytes = format === 'q8_0' ? (K / 32) * 34 : K * 2;
  if (x.length < M * K || w.length < N * rowBytes || y.length < M * N || (bias && bias.length < N)) {
    throw new ShapeError(`qlinear: buffers too small for M=${M} N=${N} K=${K} (x ${x.length}, w ${w.length} bytes, y ${y.length}${bias ? `, bias ${bias.length}` : ''})`);
  }
  for (let n = 0; n < N; n++) {
    const row = qlinearRow(format, w, n, K);
    for (let m = 0; m < M; m++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * row[k];
      y[m * N + n] = s + (bias ? bias[n] : 0);
    }
  }
}
