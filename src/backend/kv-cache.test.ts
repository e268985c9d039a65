// KV-cache decoding over a head-major cache (attentionDecode, kvStore): the f16 conversions against
// IEEE half values written out; the reference against the fused attention's reference on the same
// keys; the native kernels against the reference with every SIMD path and 1 and 2 threads, for
// float32 and f16 caches (f16 stores bit for bit); the float32 cache giving the very bits of the
// strided row path serve decoded with before; f16 within a stated tolerance of float32; argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionDecode, KvArray } from './backend.ts';
import { attentionDecode, f16ToF32, f32ToF16, kvStore } from './ts/kv-cache.ts';
import { attentionForward } from './ts/attention.ts';
import { nativeKvCache } from './native/kv-cache.ts';
import { nativeAttention } from './native/attention.ts';
import { loadAddon, loadNative, type Addon } from './native/index.ts';
import { tsBackend } from './ts/index.ts';
import { Rng } from '../util/rng.ts';
import { ShapeError } from '../util/errors.ts';

const tsKv = { attentionDecode, kvStore };

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function addon(): Addon {
  const a = loadAddon();
  assert.ok(a, `the native addon did not load (${loadNative().error}); build it with npm run build:native`);
  return a;
}

/** Runs fn under every SIMD path this CPU has and 1 and 2 threads; restores the settings after. */
function eachSetting(fn: (simd: string, threads: number) => void): void {
  const a = addon();
  const simd = a.getSimd() as string;
  const threads = a.getThreads() as number;
  try {
    for (const level of a.simdLevels() as string[]) {
      assert.equal(a.setSimd(level), true);
      for (const t of [1, 2]) {
        a.setThreads(t);
        fn(level, t);
      }
    }
  } finally {
    a.setSimd(simd);
    a.setThreads(threads);
  }
}

test('f16 conversions: IEEE half values, ties to even, subnormals, overflow, every half round-trips', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
    [65519.99, 0x7bff], [65520, 0x7c00], [1e9, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [1 + 2 ** -11 + 2 ** -20, 0x3c01], [0.1, 0x2e66],
  ];
  for (const [x, h] of cases) assert.equal(f32ToF16(x), h, `f32ToF16(${x})`);
  assert.equal(f32ToF16(NaN) & 0x7e00, 0x7e00);
  for (let h = 0; h < 0x10000; h++) {
    const x = f16ToF32(h);
    if (Number.isNaN(x)) continue;
    assert.equal(f32ToF16(x), h, `half 0x${h.toString(16)} → ${x}`);
  }
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f16ToF32(0x7bff), 65504);
  assert.equal(f16ToF32(0xfc00), -Infinity);
});

interface Case { batch: number; heads: number; headDim: number; capacity: number; lengths: number[]; window: number }

const cases: Case[] = [
  { batch: 1, heads: 1, headDim: 7, capacity: 5, lengths: [0], window: 0 },
  { batch: 3, heads: 2, headDim: 16, capacity: 40, lengths: [39, 0, 17], window: 0 },
  { batch: 2, heads: 3, headDim: 64, capacity: 70, lengths: [69, 33], window: 9 },
  { batch: 4, heads: 1, headDim: 65, capacity: 33, lengths: [1, 32, 20, 8], window: 0 },
  { batch: 16, heads: 6, headDim: 64, capacity: 96, lengths: Array.from({ length: 16 }, (_, b) => (b * 37) % 96), window: 0 },
];

/** A decoding step: random qkv, a cache (float32 or f16) with `slots` ≥ batch slots of random contents. */
function problem(c: Case, seed: number, f16: boolean, slots = c.batch): AttentionDecode {
  const rng = new Rng(seed);
  const C = c.heads * c.headDim, n = slots * c.heads * c.capacity * c.headDim;
  const fill = (x: Float32Array): KvArray => (f16 ? Uint16Array.from(x, f32ToF16) : x);
  return {
    batch: c.batch, heads: c.heads, headDim: c.headDim, capacity: c.capacity,
    qkv: randn(rng, c.batch * 3 * C), k: fill(randn(rng, n)), v: fill(randn(rng, n)),
    lengths: Int32Array.from(c.lengths), window: c.window, scale: 1 / Math.sqrt(c.headDim),
    out: new Float32Array(c.batch * C).fill(NaN),
  };
}

function copyOf(p: AttentionDecode): AttentionDecode {
  return { ...p, qkv: p.qkv.slice(), k: p.k.slice(), v: p.v.slice(), lengths: p.lengths.slice(), out: p.out.slice() };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('the reference decodes what the fused attention reference computes over the same keys (float32)', () => {
  for (const c of cases) {
    const p = problem(c, 1, false);
    attentionDecode(p);
    const { batch: B, heads: H, headDim: D, capacity: cap } = c, C = H * D;
    // The cache after the store, rewritten (B, cap, C) and read by attentionForward through keyStart/keyEnd.
    const k = new Float32Array(B * cap * C), v = new Float32Array(B * cap * C);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < cap; t++) for (let d = 0; d < D; d++) {
      k[(b * cap + t) * C + h * D + d] = p.k[((b * H + h) * cap + t) * D + d];
      v[(b * cap + t) * C + h * D + d] = p.v[((b * H + h) * cap + t) * D + d];
    }
    for (let b = 0; b < B; b++) for (let d = 0; d < C; d++) {
      assert.equal(k[(b * cap + c.lengths[b]) * C + d], p.qkv[b * 3 * C + C + d], 'the new key is stored');
      assert.equal(v[(b * cap + c.lengths[b]) * C + d], p.qkv[b * 3 * C + 2 * C + d], 'the new value is stored');
    }
    const keyEnd = Int32Array.from(c.lengths, (n) => n + 1);
    const keyStart = Int32Array.from(keyEnd, (e) => (c.window > 0 ? Math.max(0, e - c.window) : 0));
    const out = new Float32Array(B * C);
    attentionForward({
      batch: B, heads: H, tq: 1, tk: cap, headDim: D,
      q: p.qkv, qOffset: 0, qStrideB: 3 * C, qStrideT: 3 * C, k, kOffset: 0, kStrideB: cap * C, kStrideT: C,
      v, vOffset: 0, vStrideB: cap * C, vStrideT: C, scale: p.scale, causal: false, window: 0, keyStart, keyEnd,
      dropout: 0, seed: 0, out, lse: new Float32Array(B * H),
    });
    assert.ok(maxAbsDiff(p.out, out) < 1e-6, JSON.stringify(c));
  }
});

test('native attentionDecode and kvStore equal the reference on every SIMD path and thread count (f16 stores bit for bit)', () => {
  const native = nativeKvCache(addon());
  eachSetting((simd, threads) => {
    for (const f16 of [false, true]) {
      for (const c of cases) {
        const want = problem(c, 2, f16, c.batch + 1);
        const got = copyOf(want);
        tsKv.attentionDecode(want);
        native.attentionDecode(got);
        const what = `${simd} ×${threads} ${f16 ? 'f16' : 'f32'} ${JSON.stringify(c)}`;
        assert.ok(maxAbsDiff(got.out, want.out) < 2e-6, `${what}: out differs by ${maxAbsDiff(got.out, want.out)}`);
        assert.deepEqual(got.k, want.k, `${what}: k cache`);
        assert.deepEqual(got.v, want.v, `${what}: v cache`);
        // Stores into slots 1.. at positions start[b]: values spanning f16's subnormals and overflow.
        const rng = new Rng(3);
        const T = 3, C = c.heads * c.headDim;
        const src = Float32Array.from(randn(rng, 5 + c.batch * T * C + 2 * c.batch), (x, i) => x * 2 ** ((i % 41) - 26));
        const start = Int32Array.from(c.lengths, (n) => Math.min(n, c.capacity - T));
        const store = (kv: typeof tsKv, cache: KvArray) => kv.kvStore({ batch: c.batch, tokens: T, heads: c.heads, headDim: c.headDim, capacity: c.capacity, src, srcOffset: 5, srcStrideB: T * C + 2, srcStrideT: C, cache, firstSlot: 1, start });
        const a = want.k.slice(), b = want.k.slice();
        store(tsKv, a);
        store(native, b);
        assert.deepEqual(b, a, `${what}: kvStore`);
      }
    }
  });
});

test('a float32 cache decodes to the bits of the strided row path (what serve decoded with before)', () => {
  const a = addon();
  const native = nativeKvCache(a), rows = nativeAttention(a);
  eachSetting(() => {
    for (const c of cases) {
      const p = problem(c, 4, false);
      native.attentionDecode(p);
      const { batch: B, heads: H, headDim: D, capacity: cap } = c, C = H * D;
      const k = new Float32Array(B * cap * C), v = new Float32Array(B * cap * C);
      for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < cap; t++) for (let d = 0; d < D; d++) {
        k[(b * cap + t) * C + h * D + d] = p.k[((b * H + h) * cap + t) * D + d];
        v[(b * cap + t) * C + h * D + d] = p.v[((b * H + h) * cap + t) * D + d];
      }
      const keyEnd = Int32Array.from(c.lengths, (n) => n + 1);
      const keyStart = Int32Array.from(keyEnd, (e) => (c.window > 0 ? Math.max(0, e - c.window) : 0));
      const out = new Float32Array(B * C);
      rows.attentionForward({
        batch: B, heads: H, tq: 1, tk: Math.max(...keyEnd), headDim: D,
        q: p.qkv, qOffset: 0, qStrideB: 3 * C, qStrideT: 3 * C, k, kOffset: 0, kStrideB: cap * C, kStrideT: C,
        v, vOffset: 0, vStrideB: cap * C, vStrideT: C, scale: p.scale, causal: false, window: 0, keyStart, keyEnd,
        dropout: 0, seed: 0, out, lse: new Float32Array(B * H),
      });
      assert.deepEqual(p.out, out, JSON.stringify(c));
    }
  });
});

test('an f16 cache decodes within 2e-3 of the float32 cache holding the same values unrounded', () => {
  // Stated tolerance: keys and values of unit scale, rounded to f16 (relative error ≤ 2^−11 each),
  // move the softmax-weighted outputs by at most 2e-3 absolute here (measured: below 1e-3).
  const native = nativeKvCache(addon());
  let worst = 0;
  for (const kv of [tsKv, native]) {
    for (const c of cases) {
      const p32 = problem(c, 5, false);
      const p16: AttentionDecode = { ...copyOf(p32), k: Uint16Array.from(p32.k, f32ToF16), v: Uint16Array.from(p32.v, f32ToF16) };
      kv.attentionDecode(p32);
      kv.attentionDecode(p16);
      const d = maxAbsDiff(p16.out, p32.out);
      worst = Math.max(worst, d);
      assert.ok(d < 2e-3, `${JSON.stringify(c)}: f16 out differs by ${d}`);
    }
  }
  assert.ok(worst > 0, 'the f16 cache rounds');
});

test('bad arguments are ShapeErrors on both backends, before anything is written', () => {
  const c = cases[1];
  for (const kv of [tsKv, nativeKvCache(addon())]) {
    const bad = (over: Partial<AttentionDecode>, re: RegExp) => {
      const p = { ...problem(c, 6, false), ...over };
      const k = p.k.slice();
      assert.throws(() => kv.attentionDecode(p), (e: unknown) => e instanceof ShapeError && re.test(e.message));
      assert.deepEqual(p.k, k);
    };
    bad({ k: new Float32Array(10) }, /k \(slots, H, capacity, headDim\) needs 3840 elements/);
    bad({ v: new Uint16Array(3840) }, /k and v must hold the same type/);
    bad({ qkv: new Float32Array(5) }, /qkv .* needs 288 elements/);
    bad({ lengths: Int32Array.from([40, 0, 0]) }, /lengths\[0\] = 40 leaves no room/);
    bad({ lengths: Int32Array.from([1, -1, 0]) }, /lengths\[1\] = -1/);
    bad({ lengths: new Int32Array(2) }, /lengths needs one entry per batch row \(3\)/);
    bad({ out: new Float32Array(3) }, /out .* needs 96 elements/);
    const store = { batch: 2, tokens: 4, heads: 2, headDim: 16, capacity: 40, src: new Float32Array(2 * 4 * 32), srcOffset: 0, srcStrideB: 128, srcStrideT: 32, cache: new Float32Array(3 * 2 * 40 * 16), firstSlot: 1, start: Int32Array.from([0, 36]) };
    kv.kvStore(store);
    assert.throws(() => kv.kvStore({ ...store, start: Int32Array.from([0, 37]) }), (e: unknown) => e instanceof ShapeError && /start\[1\] = 37/.test(e.message));
    assert.throws(() => kv.kvStore({ ...store, firstSlot: 2 }), (e: unknown) => e instanceof ShapeError && /cache .* needs 5120 elements/.test(e.message));
    assert.throws(() => kv.kvStore({ ...store, srcStrideB: 200 }), (e: unknown) => e instanceof ShapeError && /src needs/.test(e.message));
  }
});

test('the ts backend carries the reference kernels', () => {
  assert.equal(tsBackend.attentionDecode, attentionDecode);
  assert.equal(tsBackend.kvStore, kvStore);
});
