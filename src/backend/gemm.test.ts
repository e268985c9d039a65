// GEMM: the TypeScript reference against a naive float64 triple loop, then every native code path
// (each SIMD level this CPU has × 1 and 2 threads) against the reference, on awkward shapes that hit
// every edge of the packed driver: tiles, cache blocks in every dimension, the GEMV and transposed
// (narrow C) paths, batches, offsets and padded leading dimensions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GemmParams } from './backend.ts';
import { gemm as tsGemm, roundToBf16 } from './ts/gemm.ts';
import { loadAddon, loadNative, type Addon } from './native/index.ts';
import { nativeGemm } from './native/gemm.ts';
import { Rng } from '../util/rng.ts';
import { ShapeError } from '../util/errors.ts';

interface Case {
  m: number; n: number; k: number;
  transA?: boolean; transB?: boolean;
  alpha?: number; beta?: 0 | 1; bias?: boolean;
  batch?: number;
  pad?: number;          // extra columns in every leading dimension
  offset?: number;       // leading elements before each operand
  batchGap?: number;     // extra elements between batches
  strideC?: number;      // override C's batch stride (0: every batch accumulates into one C)
}

const SENTINEL = 12345.5; // C elements outside the product must keep this value

function random(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.next() * 2 - 1;
  return x;
}

/** Buffers sized exactly to the case (so any stray access is out of bounds), C's gaps filled with SENTINEL. */
function build(c: Case, rng: Rng): GemmParams {
  const { m, n, k } = c;
  const transA = c.transA ?? false, transB = c.transB ?? false;
  const batch = c.batch ?? 1, pad = c.pad ?? 0, off = c.offset ?? 0, gap = c.batchGap ?? 0;
  const beta = c.beta ?? 0;
  const ld = (width: number) => Math.max(1, width) + pad;
  const lda = ld(transA ? m : k), ldb = ld(transB ? k : n), ldc = ld(n);
  const sizeA = (transA ? k : m) * lda, sizeB = (transB ? n : k) * ldb, sizeC = m * ldc;
  const strideA = sizeA + gap, strideB = sizeB + gap, strideC = c.strideC ?? sizeC + gap;
  const cLen = off + (batch - 1) * strideC + sizeC;
  const cBuf = new Float32Array(cLen).fill(SENTINEL);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        // beta 0: the old contents are NaN, and must not leak into the result.
        cBuf[off + b * strideC + i * ldc + j] = beta === 0 ? NaN : rng.next() * 2 - 1;
      }
    }
  }
  return {
    transA, transB, m, n, k, alpha: c.alpha ?? 1,
    a: random(rng, off + (batch - 1) * strideA + sizeA), aOffset: off, lda,
    b: random(rng, off + (batch - 1) * strideB + sizeB), bOffset: off, ldb,
    beta, c: cBuf, cOffset: off, ldc,
    bias: c.bias ? random(rng, n) : null,
    batch, strideA, strideB, strideC,
  };
}

function withC(p: GemmParams, c: Float32Array): GemmParams {
  return { ...p, c };
}

/** The definition, in float64, one element at a time; batches in order (they may share C). */
function naive(p: GemmParams): Float64Array {
  const out = Float64Array.from(p.c);
  for (let b = 0; b < p.batch; b++) {
    const A = (i: number, q: number) => p.a[p.aOffset + b * p.strideA + (p.transA ? q * p.lda + i : i * p.lda + q)];
    const B = (q: number, j: number) => p.b[p.bOffset + b * p.strideB + (p.transB ? j * p.ldb + q : q * p.ldb + j)];
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let s = 0;
        for (let q = 0; q < p.k; q++) s += A(i, q) * B(q, j);
        const at = p.cOffset + b * p.strideC + i * p.ldc + j;
        out[at] = Math.fround(p.alpha * s + (p.beta === 1 ? out[at] : 0) + (p.bias ? p.bias[j] : 0));
      }
    }
  }
  return out;
}

function maxAbs(x: Float32Array | null): number {
  let s = 0;
  if (x) for (const v of x) if (Number.isFinite(v) && v !== SENTINEL) s = Math.max(s, Math.abs(v));
  return s;
}

/**
 * Float32 rounding bound for this product: summing k products costs at most γ_k·Σ|a||b| ≤ (k·u)·k·max|a|·max|b|
 * (u = 2⁻²⁴), plus three roundings for alpha, C and bias. Every batch may accumulate into one C.
 */
function tolerance(p: GemmParams): number {
  const steps = p.k + 4 + (p.strideC === 0 ? p.batch * (p.k + 4) : 0);
  const scale = Math.abs(p.alpha) * Math.max(1, p.k) * maxAbs(p.a) * maxAbs(p.b) * p.batch + maxAbs(p.c) + maxAbs(p.bias);
  return steps * 2 ** -24 * scale * 1.01;
}

function assertClose(got: Float32Array, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length);
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    if (want[i] === SENTINEL) {
      if (got[i] !== SENTINEL) assert.fail(`${what}: wrote outside the product at element ${i} (${got[i]})`);
      continue;
    }
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) { worst = e; at = i; } // catches NaN too
  }
  assert.ok(worst <= tol, `${what}: element ${at} is ${got[at]}, expected ${want[at]} (error ${worst} > tolerance ${tol})`);
}

function describe(c: Case): string {
  return JSON.stringify(c);
}

// ---------------------------------------------------------------------------------------------

test('ts reference matches a naive float64 triple loop', () => {
  const rng = new Rng(1);
  const cases: Case[] = [];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      cases.push({ m: 1, n: 1, k: 1, transA, transB });
      cases.push({ m: 5, n: 7, k: 3, transA, transB, alpha: -0.5, beta: 1, bias: true, pad: 2, offset: 3 });
      cases.push({ m: 4, n: 3, k: 6, transA, transB, beta: 1, batch: 3, batchGap: 5, offset: 1 });
      cases.push({ m: 2, n: 3, k: 4, transA, transB, beta: 1, batch: 3, strideC: 0 });
      cases.push({ m: 3, n: 2, k: 0, transA, transB, beta: 1, bias: true });
    }
  }
  for (const c of cases) {
    const p = build(c, rng);
    const want = naive(p);
    tsGemm(p);
    assertClose(p.c, want, tolerance(p) * 1e-6, `ts ${describe(c)}`); // both are float64 sums: ~exact
  }
});

// Shapes chosen to reach every path of native/src/gemm_driver.h for each kernel set (AVX-512 14×32 tiles,
// blocks mc×kc×nc = 224×512×3072, and dot products for A·Bᵀ with ≤ 16 rows; AVX2 6×16, 144×256×2048,
// dot products up to 8 rows; portable 4×16, 128×256×2048).
const NATIVE_CASES: Case[] = [];
for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    const t = { transA, transB };
    NATIVE_CASES.push(
      { m: 1, n: 1, k: 1, ...t },
      { m: 13, n: 61, k: 31, ...t, alpha: 0.75, bias: true },        // ragged tiles everywhere
      { m: 20, n: 70, k: 45, ...t, beta: 1, pad: 3 },                // few rows: B read in place (NN)
      { m: 300, n: 517, k: 260, ...t, bias: true },                  // threads split n
      { m: 600, n: 300, k: 150, ...t, beta: 1, offset: 5, pad: 1 },  // threads split m
      { m: 300, n: 3, k: 97, ...t, bias: true, beta: 1 },            // narrow C: solved transposed
      { m: 2305, n: 1, k: 771, ...t, bias: true },                   // n = 1: transposed to a GEMV
      { m: 1, n: 2305, k: 771, ...t, alpha: 2, bias: true, pad: 2 }, // GEMV
      { m: 1, n: 5200, k: 803, ...t, bias: true },                   // GEMV large enough for both threads
      { m: 1, n: 40, k: 9, ...t, beta: 1 },                          // small GEMV
      { m: 5, n: 6, k: 7, ...t, batch: 5, batchGap: 3, bias: true }, // small batches: all on one thread
      { m: 60, n: 70, k: 80, ...t, batch: 75, bias: true },          // batches run one per thread
      { m: 9, n: 33, k: 17, ...t, batch: 3, beta: 1, strideC: 0 },   // batches accumulate into one C, in order
      { m: 31, n: 29, k: 0, ...t, beta: 1, bias: true },             // k = 0: C = C + bias
      { m: 0, n: 5, k: 3, ...t },
      { m: 7, n: 45, k: 1100, ...t, beta: 1, bias: true },          // several k blocks: beta and bias once
      { m: 500, n: 40, k: 20, ...t, alpha: -1 },                     // several m blocks
      { m: 30, n: 3100, k: 20, ...t, bias: true },                   // several n blocks
      { m: 8, n: 1500, k: 91, ...t, alpha: 0.5, beta: 1, bias: true }, // a few rows (A·Bᵀ: dot products), split over threads
      { m: 11, n: 1500, k: 67, ...t, bias: true },                   // AVX-512's dot products, AVX2's blocked path
      { m: 16, n: 5, k: 33, ...t, pad: 2, offset: 1 },               // 16 rows: the most AVX-512's dot products take
      { m: 13, n: 150, k: 800, ...t, alpha: 0.5, beta: 1, bias: true }, // dot products over depth chunks, several strips of B
    );
  }
}
// Larger than one cache block in every dimension (m > mc, n > nc, k > kc) for every kernel set.
NATIVE_CASES.push({ m: 230, n: 3080, k: 520, bias: true, beta: 1 });

function requireAddon(): Addon {
  const addon = loadAddon();
  assert.ok(addon, `the native addon did not load: ${loadNative().error} (build it with npm run build:native)`);
  return addon;
}

// Threads 2 → 1 within one test: the same bits at either count (the pool's growing back after a job is
// threads.test.ts's subject).
test('native matches the reference on every SIMD level, with the same bits on a rerun and on 1 or 2 threads', () => {
  const addon = requireAddon();
  const native = nativeGemm(addon);
  const levels = addon.simdLevels() as string[];
  assert.ok(levels.includes('portable'));
  const rng = new Rng(2);
  const cases = NATIVE_CASES.map((c) => {
    const p = build(c, rng);
    const want = Float32Array.from(p.c);
    tsGemm(withC(p, want));
    return { c, p, want, tol: tolerance(p), twoThreads: new Map<string, Float32Array>() };
  });
  const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
  try {
    for (const threads of [2, 1]) {
      addon.setThreads(threads);
      assert.equal(addon.getThreads(), threads);
      for (const { c, p, want, tol, twoThreads } of cases) {
        for (const level of levels) {
          assert.equal(addon.setSimd(level), true);
          const got = Float32Array.from(p.c);
          native.gemm(withC(p, got));
          const what = `${level} ×${threads} ${describe(c)}`;
          assertClose(got, want, tol, what);
          if (threads === 2) {
            const again = Float32Array.from(p.c);
            native.gemm(withC(p, again));
            assert.equal(bits(again), bits(got), `rerun: ${what}`);
            twoThreads.set(level, got);
          } else {
            assert.equal(bits(got), bits(twoThreads.get(level)!), `1 vs 2 threads: ${what}`);
          }
        }
      }
    }
  } finally {
    addon.setSimd(levels[0]);
  }
  assert.equal(addon.getSimd(), levels[0]);
});

test('bad calls are ShapeErrors naming the operand, the shapes and the buffer lengths', () => {
  const backends = [{ name: 'ts', gemm: tsGemm }, { name: 'native', gemm: nativeGemm(requireAddon()).gemm }];
  const rng = new Rng(4);
  for (const { name, gemm } of backends) {
    const good = () => build({ m: 4, n: 5, k: 6, bias: true }, rng);
    const bad: [Partial<GemmParams>, RegExp][] = [
      [{ a: new Float32Array(23) }, /gemm: A \(4×6, ld 6, offset 0, batch stride 24\) needs 24 elements but its buffer has 23 \(m=4 n=5 k=6/],
      [{ bOffset: 1 }, /gemm: B .* needs 31 elements but its buffer has 30/],
      [{ ldc: 6 }, /gemm: C \(4×5, ld 6.*needs 23 elements but its buffer has 20/],
      [{ ldb: 4 }, /gemm: B: leading dimension 4 is less than its row width 5/],
      [{ batch: 2, strideA: 0 }, /gemm: B .* needs 60 elements but its buffer has 30 .*batch=2/],
      [{ bias: new Float32Array(4) }, /gemm: bias needs n=5 elements but has 4/],
      [{ m: 2.5 }, /gemm: m must be an integer ≥ 0, got 2.5/],
      [{ batch: 0 }, /gemm: batch must be an integer ≥ 1, got 0/],
      [{ aOffset: -1 }, /gemm: aOffset must be an integer ≥ 0, got -1/],
      [{ beta: 2 as 0 }, /gemm: beta must be 0 or 1, got 2/],
    ];
    for (const [change, message] of bad) {
      assert.throws(() => gemm({ ...good(), ...change }), (e: unknown) => e instanceof ShapeError && message.test(e.message),
        `${name} ${JSON.stringify(Object.keys(change))}`);
    }
  }
});

test('the raw addon checks its buffers itself: a RangeError, not a crash', () => {
  const addon = requireAddon();
  const f = (n: number) => new Float32Array(n);
  // Arguments: transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, bias, batch, sA, sB, sC, bf16, roundC
  const call = (over: Record<number, unknown>) => {
    const args: unknown[] = [false, false, 4, 5, 6, 1, f(24), 0, 6, f(30), 0, 5, 0, f(20), 0, 5, null, 1, 0, 0, 0, false, false];
    for (const [i, v] of Object.entries(over)) args[Number(i)] = v;
    return () => addon.gemm(...args);
  };
  call({})(); // the good call runs
  assert.throws(call({ 6: f(23) }), /RangeError: gemm: A \(4×6, ld 6, offset 0, batch stride 0\) needs 24 elements but its buffer has 23 \(m=4 n=5 k=6 transA=false transB=false batch=1\)/);
  assert.throws(call({ 1: true, 11: 6, 9: f(29) }), /RangeError: gemm: B \(5×6, ld 6, .*needs 30 elements but its buffer has 29/);
  assert.throws(call({ 10: 1 }), /RangeError: gemm: B .*needs 31 elements but its buffer has 30/);
  assert.throws(call({ 14: 1 }), /RangeError: gemm: C .*needs 21 elements but its buffer has 20/);
  assert.throws(call({ 15: 4 }), /RangeError: gemm: C: leading dimension 4 is less than its row width 5/);
  assert.throws(call({ 16: f(4) }), /RangeError: gemm: bias needs n=5 elements but has 4/);
  assert.throws(call({ 17: 2, 18: 24, 19: 30, 20: 20 }), /RangeError: gemm: A .*needs 48 elements but its buffer has 24/);
  assert.throws(call({ 17: 0 }), /RangeError: gemm: batch must be ≥ 1/);
  assert.throws(call({ 2: -1 }), /RangeError: gemm: m, n, k must be ≥ 0/);
  assert.throws(call({ 7: -1 }), /RangeError: gemm: A: offset and batch stride must be ≥ 0/);
  assert.throws(call({ 12: 2 }), /RangeError: gemm: beta must be 0 or 1, got 2/);
  assert.throws(call({ 6: new Float64Array(24) }), /TypeError: gemm: argument 6 must be a Float32Array/);
  assert.throws(() => addon.gemm(false), /TypeError: gemm: expected 23 arguments, got 1/);
});

// ---------------------------------------------------------------------------------------------
// bf16 mixed precision: operands rounded to bfloat16, products exact, sums in float32.

/** A copy of p whose A and B hold their bf16-rounded values, and which multiplies them in float32. */
function roundedCopy(p: GemmParams): GemmParams {
  const round = (x: Float32Array) => x.map(roundToBf16);
  return { ...p, a: round(p.a), b: round(p.b), precision: 'f32' };
}

test('bf16 rounding: nearest even, NaN kept, denormals to zero, overflow to infinity', () => {
  const f = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
  const cases: [number, number][] = [
    [1, 1], [f(0x3f808000), 1], [f(0x3f818000), f(0x3f820000)], [f(0x3f808001), f(0x3f810000)], // ties to even; above the tie
    [-2.5, -2.5], [f(0x00400000), 0], [f(0x80400000), -0], [f(0x7f7fffff), Infinity], [Infinity, Infinity], [-Infinity, -Infinity],
  ];
  for (const [x, want] of cases) assert.ok(Object.is(roundToBf16(x), want), `round(${x}) = ${roundToBf16(x)}, want ${want}`);
  assert.ok(Number.isNaN(roundToBf16(NaN)));
});

test('bf16 GEMMs use vdpbf16ps by default only where it beats float32 FMAs; each choice says why it is emulated', () => {
  const addon = loadAddon();
  assert.ok(addon);
  const native = nativeGemm(addon);
  const speed = addon.bf16DotSpeed() as { dotGflops: number; fmaGflops: number; pays: boolean };
  try {
    assert.equal(addon.bf16Native('auto'), addon.bf16Supported() && addon.getSimd() === 'avx512' && speed.pays);
    if (addon.bf16Supported()) {
      assert.ok(speed.dotGflops > 0 && speed.fmaGflops > 0, JSON.stringify(speed));
      assert.equal(speed.pays, speed.dotGflops >= 1.3 * speed.fmaGflops);
      if (!speed.pays) assert.match(native.bf16EmulatedWhy()!, /vdpbf16ps\) runs at \d+ GFLOP\/s against \d+ for float32 FMAs/);
      assert.equal(addon.bf16Native(true), true, 'forced on wherever the CPU has it, paying or not');
      assert.equal(native.bf16EmulatedWhy(), null);
      assert.equal(addon.bf16Native(false), false);
      assert.match(native.bf16EmulatedWhy()!, speed.pays ? /GPTKIT_BF16=emulate/ : /vdpbf16ps/);
    } else {
      assert.deepEqual(speed, { dotGflops: 0, fmaGflops: 0, pays: false });
      assert.equal(addon.bf16Native(true), false, 'never on without AVX512_BF16');
      assert.match(native.bf16EmulatedWhy()!, /no AVX512_BF16/);
    }
  } finally {
    addon.bf16Native('auto');
  }
});

/** Every bf16 path of this machine: vdpbf16ps where the CPU has it, then the emulated one per SIMD level. */
function bf16Paths(addon: Addon): { level: string; dot: boolean }[] {
  const paths = (addon.simdLevels() as string[]).map((level) => ({ level, dot: false }));
  if (addon.bf16Supported()) paths.unshift({ level: 'avx512', dot: true });
  return paths;
}

function onPath<T>(addon: Addon, path: { level: string; dot: boolean }, fn: () => T): T {
  const levels = addon.simdLevels() as string[];
  try {
    assert.equal(addon.setSimd(path.level), true);
    assert.equal(addon.bf16Native(path.dot), path.dot);
    return fn();
  } finally {
    addon.setSimd(levels[0]);
    addon.bf16Native('auto');
  }
}

test('roundOutput: C rounded to bf16 once complete, bit for bit as the reference rounds, on every path and store', () => {
  const addon = requireAddon();
  const native = nativeGemm(addon);
  const f = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
  const special = [NaN, Infinity, -Infinity, -0, f(0x00000001), f(0x80400000), f(0x3f808000), f(0x3f818000), f(0x7f7fffff), 1e-30, -3.3e38];
  const rng = new Rng(9);
  // A = B = 0 and beta 1: the result is C itself, rounded. 20×40 is stored by the vector epilogue,
  // 40×3 (solved transposed) by the scalar one.
  for (const [m, n] of [[20, 40], [40, 3]]) {
    const p = build({ m, n, k: 1, beta: 1 }, rng);
    p.a.fill(0);
    p.b.fill(0);
    for (let i = 0; i < p.c.length; i++) p.c[i] = i < special.length ? special[i] : (rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 60 - 30);
    const want = p.c.map((x) => roundToBf16(0 + x)); // alpha·0 + C: −0 becomes +0
    const ts = Float32Array.from(p.c);
    tsGemm({ ...p, c: ts, precision: 'bf16', roundOutput: true });
    assert.deepEqual(new Uint32Array(ts.buffer), new Uint32Array(want.buffer), `ts ${m}×${n}`);
    for (const path of bf16Paths(addon)) {
      const got = Float32Array.from(p.c);
      onPath(addon, path, () => native.gemm({ ...p, c: got, precision: 'bf16', roundOutput: true }));
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `${JSON.stringify(path)} ${m}×${n}`);
    }
  }
  // A real product: every value is a bf16, within half a bf16 step of the unrounded product.
  const p = build({ m: 70, n: 90, k: 130, bias: true }, rng);
  const exact = Float32Array.from(p.c);
  tsGemm({ ...p, c: exact, precision: 'bf16' });
  for (const path of bf16Paths(addon)) {
    const got = Float32Array.from(p.c);
    onPath(addon, path, () => native.gemm({ ...p, c: got, precision: 'bf16', roundOutput: true }));
    for (let i = 0; i < got.length; i++) {
      assert.equal(got[i], roundToBf16(got[i]), `${JSON.stringify(path)}: element ${i} is not a bf16 value`);
      assert.ok(Math.abs(got[i] - exact[i]) <= 2 ** -8 * Math.abs(exact[i]) + 1e-6, `${JSON.stringify(path)}: element ${i} is ${got[i]}, unrounded ${exact[i]}`);
    }
  }
});

test('bf16 ts reference: the float64 product of the rounded operands', () => {
  const rng = new Rng(10);
  for (const c of [{ m: 5, n: 7, k: 9, transA: true, alpha: -0.5, beta: 1 as const, bias: true, pad: 2, offset: 3 },
    { m: 4, n: 3, k: 6, transB: true, beta: 1 as const, batch: 3, batchGap: 5, offset: 1 }]) {
    const p = { ...build(c, rng), precision: 'bf16' as const };
    const want = naive(roundedCopy(p));
    const before = Float32Array.from(p.a);
    tsGemm(p);
    assertClose(p.c, want, tolerance(p) * 1e-6, `ts bf16 ${describe(c)}`);
    assert.deepEqual(p.a, before, 'the caller\'s operands are not rounded');
  }
});

// Every bf16 path against the ts reference: vdpbf16ps where the CPU has it (GPTKIT_BF16 / bf16Native
// switch it off), and the float32 kernels of every SIMD level on rounded panels.
test('bf16 native: vdpbf16ps and the emulated path on every SIMD level match the reference, the same bits on 1 or 2 threads', () => {
  const addon = requireAddon();
  const native = nativeGemm(addon);
  const levels = addon.simdLevels() as string[];
  const paths = bf16Paths(addon);
  // Odd depths (a padded last pair), depth over the 512 block (odd and even), and the bf16 driver's
  // own blocks and tiles; the rest reuse the float32 cases, whose GEMV and dot-product shapes run the
  // packed path under bf16.
  const cases: Case[] = [...NATIVE_CASES,
    { m: 29, n: 67, k: 1, bias: true }, { m: 33, n: 40, k: 1031, beta: 1, transB: true }, { m: 250, n: 90, k: 1024, transA: true, alpha: 0.5 }];
  const rng = new Rng(11);
  const prepared = cases.map((c) => {
    const p = { ...build(c, rng), precision: 'bf16' as const };
    const want = Float32Array.from(p.c);
    tsGemm({ ...p, c: want });
    return { c, p, want, tol: tolerance(p), first: new Map<string, Float32Array>() };
  });
  const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
  try {
    for (const threads of [2, 1]) {
      addon.setThreads(threads);
      for (const { level, dot } of paths) {
        assert.equal(addon.setSimd(level), true);
        assert.equal(addon.bf16Native(dot), dot);
        assert.equal(native.bf16Path(), dot ? 'avx512_bf16' : 'emulated');
        for (const { c, p, want, tol, first } of prepared) {
          const got = Float32Array.from(p.c);
          native.gemm({ ...p, c: got });
          const key = `${level}${dot ? '+bf16' : ''}`;
          assertClose(got, want, tol, `${key} ×${threads} ${describe(c)}`);
          if (threads === 2) first.set(key, got);
          else assert.equal(bits(got), bits(first.get(key)!), `1 vs 2 threads: ${key} ${describe(c)}`);
        }
      }
    }
  } finally {
    addon.setSimd(levels[0]);
    addon.bf16Native('auto');
  }
});

test('bf16 products differ from float32 ones by the operand rounding, not more', () => {
  const addon = requireAddon();
  const native = nativeGemm(addon);
  const rng = new Rng(12);
  const p = build({ m: 64, n: 96, k: 256, transB: true }, rng);
  const f32 = Float32Array.from(p.c), bf16 = Float32Array.from(p.c);
  native.gemm({ ...p, c: f32 });
  native.gemm({ ...p, c: bf16, precision: 'bf16' });
  let diff = 0, norm = 0;
  for (let i = 0; i < f32.length; i++) {
    diff = Math.max(diff, Math.abs(f32[i] - bf16[i]));
    norm = Math.max(norm, Math.abs(f32[i]));
  }
  // Rounding each operand costs ≤ 2⁻⁹ relative: random signs keep the sum's error near √k·2⁻⁸·|a||b|.
  assert.ok(diff > 1e-4 * norm, `bf16 equals float32 (max difference ${diff}): the operands were not rounded`);
  assert.ok(diff < 2 ** -8 * Math.sqrt(p.k) * 4, `bf16 differs from float32 by ${diff}`);
});
