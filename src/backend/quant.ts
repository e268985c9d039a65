// Narrow weight encodings, float32 in and out: Q8_0 (ggml's: blocks of 32 values, an IEEE half scale
// d = max|x| / 127 and 32 int8 q = round(x / d)) and BF16 (round to nearest even). What the GGUF
// files hold and what backend.qlinear reads.
import type { QuantFormat } from './backend.ts';
import { fromFloat32, toFloat32From16 } from '../util/float16.ts';
import { ShapeError } from '../util/errors.ts';

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new ShapeError(`cannot quantize ${x.length} values to Q8_0: it needs a multiple of 32`);
  const out = new Uint8Array((x.length / 32) * 34);
  const view = new DataView(out.buffer);
  const d32 = new Float32Array(1);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]));
    // As ggml's quantize_row_q8_0_ref: the quants from the float32 scale (the stored one is its
    // half rounding), rounded half away from zero (C's roundf).
    d32[0] = amax / 127;
    view.setUint16(b * 34, fromFloat32(d32, 'F16')[0], true);
    const id = d32[0] ? Math.fround(1 / d32[0]) : 0;
    for (let i = 0; i < 32; i++) {
      const v = Math.fround(x[b * 32 + i] * id);
      view.setInt8(b * 34 + 2 + i, Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

export function dequantizeQ8_0(bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scale = new Uint16Array(1);
  for (let b = 0; b < n / 32; b++) {
    scale[0] = view.getUint16(b * 34, true);
    const d = toFloat32From16(scale, 'F16')[0];
    for (let i = 0; i < 32; i++) out[b * 32 + i] = d * view.getInt8(b * 34 + 2 + i);
  }
  return out;
}

/** A (rows, K) float32 matrix in a narrow format, row after row (what qlinear reads). */
export function encodeWeights(format: QuantFormat, x: Float32Array): Uint8Array {
  if (format === 'q8_0') return quantizeQ8_0(x);
  const h = fromFloat32(x, 'BF16');
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/** The float32 values a narrow matrix stands for. */
export function decodeWeights(format: QuantFormat, bytes: Uint8Array, n: number): Float32Array {
  if (format === 'q8_0') return dequantizeQ8_0(bytes, n);
  return toFloat32From16(new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 2 * n)), 'BF16');
}
