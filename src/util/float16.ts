// IEEE half and bfloat16 ⇄ float32, bit-exact: the conversions every narrow format here uses
// (safetensors F16/BF16, GGUF, Q8_0 scales, bf16 weights for decoding).

/** IEEE half bits → float32 bits, exactly (subnormals, infinities and NaN payloads included). */
export function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: normalise the mantissa into a normal float32.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** float32 → BF16 bits, round to nearest even; every NaN becomes 0x7fc0 (as torch does). */
export function floatBitsToBf16(f: number): number {
  if ((f & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  const rounding = 0x7fff + ((f >>> 16) & 1);
  return ((f + rounding) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits, round to nearest even, overflow to infinity, NaN → sign|0x7e00 (as torch does). */
export function floatBitsToHalf(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000; // implicit leading one
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}


/** F16 or BF16 bit patterns → float32 values, exactly. */
export function toFloat32From16(bits: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  const out = new Uint32Array(bits.length);
  if (dtype === 'F16') for (let i = 0; i < bits.length; i++) out[i] = halfBitsToFloatBits(bits[i]);
  else for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** Convert float32 values to F16 or BF16 bit patterns, for writing half-precision checkpoints. */
export function fromFloat32(values: Float32Array, dtype: 'F16' | 'BF16'): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  const convert = dtype === 'F16' ? floatBitsToHalf : floatBitsToBf16;
  for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]);
  return out;
}
