// Reference KV-cache decoding over a head-major cache (attentionDecode, kvStore: the contracts are
// in backend.ts), the specification native/src/attention_impl.h's decode_heads/store_kv are tested
// against. An f16 cache holds IEEE half floats as their bits; f32ToF16/f16ToF32 below are the
// conversions (round to nearest even, subnormals kept, overflow to ±∞), as x86's vcvtps2ph does them.
// Scores, softmax and the weighted sum of values are float64 here; only the output is rounded.
import type { AttentionDecode, F32, I32, KvArray, KvStore } from '../backend.ts';
import { ShapeError } from '../../util/errors.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bits nearest x (ties to even). */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: m · 2^(e − 14) of the 24-bit significand m, rounded.
    if (e < -10) return sign;
    const m = mant | 0x800000, shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // a carry into the exponent is right (up to ∞)
  return sign | h;
}

/** The value of f16 bits h. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1024 + m) * 2 ** (e - 25);
}

function checkCount(op: string, name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min || value > 0x7fffffff) {
    throw new ShapeError(`${op}: ${name} must be an integer in [${min}, 2^31), got ${value}`);
  }
}

function checkCache(op: string, name: string, a: KvArray, need: number, shapes: string): void {
  if (!(a instanceof Float32Array || a instanceof Uint16Array)) throw new ShapeError(`${op}: ${name} must be a Float32Array or a Uint16Array (f16)`);
  if (a.length < need) throw new ShapeError(`${op}: ${name} (slots, H, capacity, headDim) needs ${need} elements (${shapes}) but has ${a.length}`);
}

function checkDense(op: string, name: string, a: F32, need: number, shapes: string): void {
  if (!(a instanceof Float32Array)) throw new ShapeError(`${op}: ${name} must be a Float32Array`);
  if (a.length < need) throw new ShapeError(`${op}: ${name} needs ${need} elements (${shapes}) but has ${a.length}`);
}

function checkPositions(op: string, name: string, a: I32, B: number): void {
  if (!(a instanceof Int32Array)) throw new ShapeError(`${op}: ${name} must be an Int32Array`);
  if (a.length < B) throw new ShapeError(`${op}: ${name} needs one entry per batch row (${B}) but has ${a.length}`);
}

/** Cached element i as a number. */
function read(a: KvArray, i: number): number {
  return a instanceof Uint16Array ? f16ToF32(a[i]) : a[i];
}

function write(a: KvArray, i: number, x: number): void {
  if (a instanceof Uint16Array) a[i] = f32ToF16(x);
  else a[i] = x;
}

export function attentionDecode(p: AttentionDecode): void {
  const op = 'attentionDecode';
  for (const k of ['batch', 'heads', 'headDim', 'capacity'] as const) checkCount(op, k, p[k]);
  const { batch: B, heads: H, headDim: D, capacity: cap } = p;
  const shapes = `batch=${B}, heads=${H}, headDim=${D}, capacity=${cap}`;
  checkDense(op, 'qkv (B, 3·H·headDim)', p.qkv, B * 3 * H * D, shapes);
  checkCache(op, 'k', p.k, B * H * cap * D, shapes);
  checkCache(op, 'v', p.v, B * H * cap * D, shapes);
  if (p.k instanceof Uint16Array !== p.v instanceof Uint16Array) throw new ShapeError(`${op}: k and v must hold the same type (both Float32Array or both Uint16Array)`);
  checkPositions(op, 'lengths', p.lengths, B);
  for (let b = 0; b < B; b++) {
    const n = p.lengths[b];
    if (n < 0 || n >= cap) throw new ShapeError(`${op}: lengths[${b}] = ${n} leaves no room for the new position (${shapes})`);
  }
  checkCount(op, 'window', p.window, 0);
  checkDense(op, 'out (B, H·headDim)', p.out, B * H * D, shapes);
  const C = H * D;
  const s = new Float64Array(cap);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const pos = p.lengths[b];
    const lo = p.window > 0 ? Math.max(0, pos + 1 - p.window) : 0;
    for (let h = 0; h < H; h++) {
      const q = b * 3 * C + h * D;
      const base = (b * H + h) * cap * D;
      for (let d = 0; d < D; d++) {
        write(p.k, base + pos * D + d, p.qkv[q + C + d]);
        write(p.v, base + pos * D + d, p.qkv[q + 2 * C + d]);
      }
      let mx = -Infinity;
      for (let j = lo; j <= pos; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += p.qkv[q + d] * read(p.k, base + j * D + d);
        s[j] = dot * p.scale;
        if (s[j] > mx) mx = s[j];
      }
      let l = 0;
      acc.fill(0);
      for (let j = lo; j <= pos; j++) {
        const e = Math.exp(s[j] - mx);
        l += e;
        for (let d = 0; d < D; d++) acc[d] += e * read(p.v, base + j * D + d);
      }
      for (let d = 0; d < D; d++) p.out[b * C + h * D + d] = acc[d] / l;
    }
  }
}

export function kvStore(p: KvStore): void {
  const op = 'kvStore';
  for (const k of ['batch', 'tokens', 'heads', 'headDim', 'capacity'] as const) checkCount(op, k, p[k]);
  const { batch: B, tokens: T, heads: H, headDim: D, capacity: cap } = p;
  const shapes = `batch=${B}, tokens=${T}, heads=${H}, headDim=${D}, capacity=${cap}`;
  for (const k of ['srcOffset', 'srcStrideB', 'srcStrideT', 'firstSlot'] as const) {
    if (!Number.isSafeInteger(p[k]) || p[k] < 0) throw new ShapeError(`${op}: ${k} must be a non-negative integer, got ${p[k]}`);
  }
  const last = p.srcOffset + (B - 1) * p.srcStrideB + (T - 1) * p.srcStrideT + H * D;
  checkDense(op, 'src', p.src, last, shapes);
  checkCache(op, 'cache', p.cache, (p.firstSlot + B) * H * cap * D, shapes);
  checkPositions(op, 'start', p.start, B);
  for (let b = 0; b < B; b++) {
    const t0 = p.start[b];
    if (t0 < 0 || t0 + T > cap) throw new ShapeError(`${op}: start[${b}] = ${t0}: positions [start, start + tokens) must fit the capacity (${shapes})`);
  }
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const src = p.srcOffset + b * p.srcStrideB + t * p.srcStrideT;
      for (let h = 0; h < H; h++) {
        const dst = (((p.firstSlot + b) * H + h) * cap + p.start[b] + t) * D;
        for (let d = 0; d < D; d++) write(p.cache, dst + d, p.src[src + h * D + d]);
      }
    }
  }
}
