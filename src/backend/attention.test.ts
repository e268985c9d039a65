// Fused attention: the TypeScript reference against a naive float64 implementation (full score
// matrix, masks written out from their definitions) and finite differences; the native kernels
// against the reference on awkward sizes with every SIMD path and 1 and 2 threads; determinism;
// q/k/v read straight out of one fused (B, T, 3C) projection; argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionBackward, AttentionForward } from './backend.ts';
import { dropoutKeep, dropoutThreshold } from './backend.ts';
import { attentionBackward, attentionForward, dropoutIndex } from './ts/attention.ts';
import { nativeAttention } from './native/attention.ts';
import { loadAddon, loadNative, type Addon } from './native/index.ts';
import { Rng } from '../util/rng.ts';
import { ShapeError } from '../util/errors.ts';

interface Case {
  batch: number; heads: number; tq: number; tk: number; headDim: number;
  causal: boolean; window: number; keyStart: number[] | null; keyEnd: number[] | null; dropout: number;
}
type Kernels = { attentionForward(p: AttentionForward): void; attentionBackward(p: AttentionBackward): void };
const tsKernels: Kernels = { attentionForward, attentionBackward };

function caseName(c: Case): string {
  return JSON.stringify(c);
}

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/**
 * Random inputs for a case. 'separate': q, k, v each (B, T, H·D) with a leading pad (non-zero
 * offsets); 'fused': one (B, T, 3C) buffer, as a qkv projection writes it (needs tq = tk).
 */
function problem(c: Case, seed: number, layout: 'separate' | 'fused' = 'separate'): AttentionBackward {
  const rng = new Rng(seed);
  const C = c.heads * c.headDim;
  const common = {
    batch: c.batch, heads: c.heads, tq: c.tq, tk: c.tk, headDim: c.headDim,
    scale: 1.5 / Math.sqrt(c.headDim), causal: c.causal, window: c.window,
    keyStart: c.keyStart ? Int32Array.from(c.keyStart) : null,
    keyEnd: c.keyEnd ? Int32Array.from(c.keyEnd) : null,
    dropout: c.dropout, seed: 0x9e37 + seed,
    out: new Float32Array(c.batch * c.tq * C), lse: new Float32Array(c.batch * c.heads * c.tq),
    dout: randn(rng, c.batch * c.tq * C),
  };
  if (layout === 'fused') {
    assert.equal(c.tq, c.tk);
    const T = c.tq;
    const qkv = randn(rng, c.batch * T * 3 * C);
    const grad = randn(rng, c.batch * T * 3 * C, 0.1); // accumulated into
    return {
      ...common,
      q: qkv, qOffset: 0, qStrideB: T * 3 * C, qStrideT: 3 * C,
      k: qkv, kOffset: C, kStrideB: T * 3 * C, kStrideT: 3 * C,
      v: qkv, vOffset: 2 * C, vStrideB: T * 3 * C, vStrideT: 3 * C,
      dq: grad, dk: grad, dv: grad,
    };
  }
  const pad = 3;
  const q = randn(rng, pad + c.batch * c.tq * C);
  const k = randn(rng, pad + c.batch * c.tk * C);
  const v = randn(rng, pad + c.batch * c.tk * C);
  return {
    ...common,
    q, qOffset: pad, qStrideB: c.tq * C, qStrideT: C,
    k, kOffset: pad, kStrideB: c.tk * C, kStrideT: C,
    v, vOffset: pad, vStrideB: c.tk * C, vStrideT: C,
    dq: new Float32Array(q.length).fill(0.25), dk: new Float32Array(k.length).fill(-0.5), dv: new Float32Array(v.length).fill(1),
  };
}

/** A copy with fresh output and gradient buffers (same initial contents), so several kernels can run on one problem. */
function fresh(p: AttentionBackward): AttentionBackward {
  const fused = p.dq === p.dk;
  const dq = p.dq.slice();
  return {
    ...p, out: p.out.slice(), lse: p.lse.slice(), dq,
    dk: fused ? dq : p.dk.slice(), dv: fused ? dq : p.dv.slice(),
  };
}

function run(kernels: Kernels, p0: AttentionBackward): AttentionBackward {
  const p = fresh(p0);
  kernels.attentionForward(p);
  kernels.attentionBackward(p);
  return p;
}

// ---------------------------------------------------------------------------------------------
// The naive float64 reference: full (tq × tk) score matrix, masks from the interface's definitions.

function visible(c: Case, b: number, i: number, j: number): boolean {
  const diag = i + c.tk - c.tq;
  if (c.causal && j > diag) return false;
  if (c.window > 0 && j <= diag - c.window) return false;
  if (c.keyStart && j < c.keyStart[b]) return false;
  if (c.keyEnd && j >= c.keyEnd[b]) return false;
  return true;
}

/** q, k, v as float64 (B, T, H, D) contiguous; returns out (B, Tq, H·D) and lse (B, H, Tq). */
function naive(c: Case, q: Float64Array, k: Float64Array, v: Float64Array, scale: number, seed: number): { out: Float64Array; lse: Float64Array } {
  const { batch: B, heads: H, tq, tk, headDim: D } = c;
  const out = new Float64Array(B * tq * H * D);
  const lse = new Float64Array(B * H * tq);
  const threshold = dropoutThreshold(c.dropout);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const S: number[][] = [];
      for (let i = 0; i < tq; i++) {
        S.push([]);
        for (let j = 0; j < tk; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[((b * tq + i) * H + h) * D + d] * k[((b * tk + j) * H + h) * D + d];
          S[i].push(visible(c, b, i, j) ? s * scale : -Infinity);
        }
      }
      for (let i = 0; i < tq; i++) {
        const max = Math.max(...S[i]);
        if (max === -Infinity) {
          lse[(b * H + h) * tq + i] = -Infinity;
          continue;
        }
        const sum = S[i].reduce((acc, s) => acc + Math.exp(s - max), 0);
        lse[(b * H + h) * tq + i] = max + Math.log(sum);
        for (let j = 0; j < tk; j++) {
          let P = Math.exp(S[i][j] - max) / sum;
          if (c.dropout > 0) {
            const idx = Number((BigInt(((b * H + h) * tq + i)) * BigInt(tk) + BigInt(j)) & 0xffffffffn);
            P = dropoutKeep(seed, idx, threshold) ? P / (1 - c.dropout) : 0;
          }
          for (let d = 0; d < D; d++) out[((b * tq + i) * H + h) * D + d] += P * v[((b * tk + j) * H + h) * D + d];
        }
      }
    }
  }
  return { out, lse };
}

/** The (B, T, H·D) operand of p as a contiguous float64 array. */
function gather(x: Float32Array, offset: number, strideB: number, strideT: number, B: number, T: number, HD: number): Float64Array {
  const r = new Float64Array(B * T * HD);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let e = 0; e < HD; e++) r[(b * T + t) * HD + e] = x[offset + b * strideB + t * strideT + e];
  return r;
}

function operands(p: AttentionBackward): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const HD = p.heads * p.headDim;
  return {
    q: gather(p.q, p.qOffset, p.qStrideB, p.qStrideT, p.batch, p.tq, HD),
    k: gather(p.k, p.kOffset, p.kStrideB, p.kStrideT, p.batch, p.tk, HD),
    v: gather(p.v, p.vOffset, p.vStrideB, p.vStrideT, p.batch, p.tk, HD),
  };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (a === e) continue; // also ±Infinity
    assert.ok(Math.abs(a - e) <= tol * scale, `${what}[${i}]: got ${a}, expected ${e} (tolerance ${tol * scale})`);
  }
}

// ---------------------------------------------------------------------------------------------
// (a) The reference forward against the naive float64 one, every mask combination.

function maskCases(): Case[] {
  const cases: Case[] = [];
  for (const causal of [false, true])
    for (const window of causal ? [0, 2] : [0])
      for (const pad of ['none', 'start', 'end', 'both'])
        for (const [tq, tk] of [[5, 5], [3, 6]])
          for (const dropout of [0, 0.3]) {
            const keyStart = pad === 'start' || pad === 'both' ? [2, 0] : null;
            const keyEnd = pad === 'end' || pad === 'both' ? [tk - 1, 3] : null;
            cases.push({ batch: 2, heads: 2, tq, tk, headDim: 4, causal, window, keyStart, keyEnd, dropout });
          }
  return cases;
}

test('ts forward matches the naive float64 attention for every mask combination, tq < tk and dropout', () => {
  let maskedRows = 0;
  for (const [n, c] of maskCases().entries()) {
    const p = problem(c, 100 + n);
    attentionForward(p);
    const { q, k, v } = operands(p);
    const ref = naive(c, q, k, v, p.scale, p.seed);
    assertClose(p.out, ref.out, 2e-6, `out ${caseName(c)}`);
    assertClose(p.lse, ref.lse, 2e-6, `lse ${caseName(c)}`);
    maskedRows += ref.lse.filter((x) => x === -Infinity).length;
  }
  assert.ok(maskedRows > 0, 'some case has fully masked rows');
});

test('fully masked rows give output 0 and lse −Infinity', () => {
  // Batch row 0 sees no key at all; in row 1 the first two causal queries precede keyStart.
  const c: Case = { batch: 2, heads: 1, tq: 4, tk: 4, headDim: 3, causal: true, window: 0, keyStart: [4, 2], keyEnd: null, dropout: 0 };
  const p = problem(c, 7);
  p.out.fill(NaN);
  attentionForward(p);
  const masked = [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1]];
  for (const [b, i] of masked) {
    assert.equal(p.lse[b * 4 + i], -Infinity);
    assert.deepEqual(Array.from(p.out.subarray((b * 4 + i) * 3, (b * 4 + i + 1) * 3)), [0, 0, 0]);
  }
  assert.ok(Number.isFinite(p.lse[1 * 4 + 2]) && Number.isFinite(p.lse[1 * 4 + 3]));
});

test('dropout index wraps around modulo 2^32 exactly', () => {
  const p = { heads: 40000, tq: 70000, tk: 90000 } as AttentionForward;
  for (const [b, h, i, j] of [[3, 5, 7, 11], [0, 0, 0, 89999], [17, 39999, 69999, 12345]]) {
    const want = Number((BigInt((b * p.heads + h) * p.tq + i) * BigInt(p.tk) + BigInt(j)) % 4294967296n);
    assert.equal(dropoutIndex(p, b, h, i, j), want);
  }
});

// ---------------------------------------------------------------------------------------------
// (b) The reference backward against central differences of the naive float64 forward.

function checkGradients(c: Case, seed: number): void {
  const p = problem(c, seed);
  const before = fresh(p);
  attentionForward(p);
  attentionBackward(p);
  const { q, k, v } = operands(p);
  const loss = (): number => {
    const { out } = naive(c, q, k, v, p.scale, p.seed);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * p.dout[i];
    return s;
  };
  const HD = c.heads * c.headDim;
  const eps = 1e-5;
  for (const [x, grad, init, offset, strideB, strideT, T] of [
    [q, p.dq, before.dq, p.qOffset, p.qStrideB, p.qStrideT, c.tq],
    [k, p.dk, before.dk, p.kOffset, p.kStrideB, p.kStrideT, c.tk],
    [v, p.dv, before.dv, p.vOffset, p.vStrideB, p.vStrideT, c.tk],
  ] as const) {
    for (let b = 0; b < c.batch; b++) for (let t = 0; t < T; t++) for (let e = 0; e < HD; e++) {
      const at = (b * T + t) * HD + e;
      const saved = x[at];
      x[at] = saved + eps;
      const up = loss();
      x[at] = saved - eps;
      const down = loss();
      x[at] = saved;
      const numeric = (up - down) / (2 * eps);
      const g = offset + b * strideB + t * strideT + e;
      const analytic = grad[g] - init[g]; // the kernel accumulates onto init
      assert.ok(Math.abs(analytic - numeric) <= 2e-4 * (1 + Math.abs(numeric)), `${caseName(c)} grad at ${at}: ${analytic} vs ${numeric}`);
    }
  }
}

test('ts backward matches finite differences (plain, masked with tq < tk, dropout)', () => {
  checkGradients({ batch: 1, heads: 2, tq: 4, tk: 4, headDim: 3, causal: false, window: 0, keyStart: null, keyEnd: null, dropout: 0 }, 1);
  checkGradients({ batch: 2, heads: 1, tq: 3, tk: 5, headDim: 3, causal: true, window: 3, keyStart: [1, 0], keyEnd: [5, 4], dropout: 0 }, 2);
  checkGradients({ batch: 2, heads: 2, tq: 4, tk: 4, headDim: 2, causal: true, window: 0, keyStart: [0, 3], keyEnd: null, dropout: 0.3 }, 3);
});

// ---------------------------------------------------------------------------------------------
// Native kernels.

/** The raw addon; a missing or unloadable build is a failure here, not a skip. */
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

const nativeCases: Case[] = [
  { batch: 2, heads: 1, tq: 1, tk: 1, headDim: 7, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0 },
  { batch: 1, heads: 3, tq: 7, tk: 7, headDim: 64, causal: false, window: 0, keyStart: null, keyEnd: null, dropout: 0 },
  { batch: 2, heads: 3, tq: 33, tk: 33, headDim: 7, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0.1 },
  { batch: 1, heads: 1, tq: 130, tk: 130, headDim: 64, causal: true, window: 5, keyStart: null, keyEnd: null, dropout: 0 },
  { batch: 3, heads: 1, tq: 130, tk: 130, headDim: 64, causal: false, window: 0, keyStart: null, keyEnd: [130, 100, 0], dropout: 0.1 },
  { batch: 2, heads: 3, tq: 1, tk: 130, headDim: 64, causal: true, window: 0, keyStart: [0, 17], keyEnd: null, dropout: 0 },
  { batch: 2, heads: 1, tq: 3, tk: 33, headDim: 64, causal: true, window: 1, keyStart: null, keyEnd: null, dropout: 0.1 },
  { batch: 2, heads: 3, tq: 11, tk: 29, headDim: 7, causal: true, window: 0, keyStart: [25, 0], keyEnd: null, dropout: 0 },
  { batch: 2, heads: 1, tq: 7, tk: 7, headDim: 64, causal: true, window: 0, keyStart: [7, 2], keyEnd: [7, 6], dropout: 0.1 },
  { batch: 1, heads: 3, tq: 33, tk: 130, headDim: 7, causal: true, window: 5, keyStart: [40], keyEnd: null, dropout: 0 },
  { batch: 1, heads: 1, tq: 33, tk: 33, headDim: 256, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0.1 },
  // More queries than keys: the first causal queries see nothing. A window wider than the sequence.
  { batch: 1, heads: 2, tq: 9, tk: 4, headDim: 7, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0 },
  { batch: 1, heads: 1, tq: 70, tk: 70, headDim: 64, causal: true, window: 100, keyStart: null, keyEnd: null, dropout: 0 },
];

function assertSame(x: AttentionBackward, y: AttentionBackward, tol: number, what: string): void {
  assertClose(x.out, y.out, tol, `${what} out`);
  assertClose(x.lse, y.lse, tol, `${what} lse`);
  assertClose(x.dq, y.dq, tol, `${what} dq`);
  assertClose(x.dk, y.dk, tol, `${what} dk`);
  assertClose(x.dv, y.dv, tol, `${what} dv`);
}

test('native matches the reference on awkward sizes, every SIMD path, 1 and 2 threads', () => {
  const native = nativeAttention(addon());
  const levels = new Set<string>();
  for (const [n, c] of nativeCases.entries()) {
    const p = problem(c, 200 + n);
    const want = run(tsKernels, p);
    eachSetting((simd, threads) => {
      levels.add(simd);
      assertSame(run(native, p), want, 3e-5, `${simd} × ${threads} threads, ${caseName(c)}`);
    });
  }
  assert.ok(levels.has('portable'), 'the portable path ran');
});

test('beta 0 writes the gradients over NaN, equal to accumulating into zeros (both layouts, every SIMD path)', () => {
  const native = nativeAttention(addon());
  const cases: [Case, 'separate' | 'fused'][] = [
    ...nativeCases.map((c): [Case, 'separate'] => [c, 'separate']),
    [{ batch: 2, heads: 3, tq: 70, tk: 70, headDim: 7, causal: true, window: 0, keyStart: [0, 9], keyEnd: null, dropout: 0.1 }, 'fused'],
    [{ batch: 2, heads: 1, tq: 33, tk: 33, headDim: 64, causal: true, window: 5, keyStart: null, keyEnd: null, dropout: 0 }, 'fused'],
  ];
  for (const [n, [c, layout]] of cases.entries()) {
    const p = problem(c, 500 + n, layout);
    // The rows q, k, v occupy: NaN there for beta 0, zeros for beta 1; the padding before them keeps its value.
    const fill = (g: Float32Array, value: number, off: number, sb: number, st: number, T: number) => {
      for (let b = 0; b < c.batch; b++) for (let t = 0; t < T; t++) g.fill(value, off + b * sb + t * st, off + b * sb + t * st + c.heads * c.headDim);
    };
    const init = (value: number, beta: 0 | 1): AttentionBackward => {
      const x = { ...fresh(p), betaQ: beta, betaK: beta, betaV: beta };
      fill(x.dq, value, x.qOffset, x.qStrideB, x.qStrideT, c.tq);
      fill(x.dk, value, x.kOffset, x.kStrideB, x.kStrideT, c.tk);
      fill(x.dv, value, x.vOffset, x.vStrideB, x.vStrideT, c.tk);
      return x;
    };
    const want = run(tsKernels, init(0, 1));
    const what = `${layout} ${caseName(c)}`;
    assertSame(run(tsKernels, init(NaN, 0)), want, 0, `ts ${what}`);
    eachSetting((simd, threads) => assertSame(run(native, init(NaN, 0)), want, 3e-5, `${simd} × ${threads} threads, ${what}`));
  }
  // Only q's gradient written: k's and v's still accumulate (cross-attention's kv may already hold one).
  const c = nativeCases[2];
  const mixed = { ...problem(c, 600), betaQ: 0 as const };
  mixed.dq.fill(NaN, mixed.qOffset); // the padding before q keeps its value
  const zeroQ = { ...problem(c, 600) };
  zeroQ.dq.fill(0, zeroQ.qOffset);
  assertSame(run(native, mixed), run(tsKernels, zeroQ), 3e-5, 'betaQ 0, betaK and betaV 1');
});

test('native is deterministic: same bits twice', () => {
  const native = nativeAttention(addon());
  const c: Case = { batch: 2, heads: 3, tq: 130, tk: 130, headDim: 64, causal: true, window: 0, keyStart: [0, 9], keyEnd: null, dropout: 0.1 };
  const p = problem(c, 300);
  eachSetting((simd, threads) => {
    const x = run(native, p);
    const y = run(native, p);
    for (const f of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
      assert.deepEqual(new Uint32Array(x[f].buffer), new Uint32Array(y[f].buffer), `${simd} × ${threads}: ${f}`);
    }
  });
});

test('q, k, v read out of one (B, T, 3C) buffer, gradients accumulated into one (B, T, 3C) buffer', () => {
  const native = nativeAttention(addon());
  for (const [n, c] of [
    { batch: 2, heads: 3, tq: 33, tk: 33, headDim: 7, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0.1 },
    { batch: 1, heads: 2, tq: 70, tk: 70, headDim: 64, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0 },
  ].entries()) {
    const fused = problem(c, 400 + n, 'fused');
    // The same numbers laid out as three separate (B, T, C) arrays with their own gradients.
    const C = c.heads * c.headDim, T = c.tq;
    const part = (x: Float32Array, which: number): Float32Array => Float32Array.from(gather(x, which * C, T * 3 * C, 3 * C, c.batch, T, C));
    const separate: AttentionBackward = {
      ...fresh(fused),
      q: part(fused.q, 0), qOffset: 0, qStrideB: T * C, qStrideT: C,
      k: part(fused.q, 1), kOffset: 0, kStrideB: T * C, kStrideT: C,
      v: part(fused.q, 2), vOffset: 0, vStrideB: T * C, vStrideT: C,
      dq: part(fused.dq, 0), dk: part(fused.dq, 1), dv: part(fused.dq, 2),
    };
    const want = run(tsKernels, separate);
    const viaTs = run(tsKernels, fused);
    const viaNative = run(native, fused);
    for (const [got, tol, who] of [[viaTs, 0, 'ts'], [viaNative, 3e-5, 'native']] as const) {
      assertClose(got.out, want.out, tol, `${who} out`);
      assertClose(part(got.dq, 0), want.dq, tol, `${who} dq`);
      assertClose(part(got.dq, 1), want.dk, tol, `${who} dk`);
      assertClose(part(got.dq, 2), want.dv, tol, `${who} dv`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Argument checking: typed errors from both wrappers, RangeErrors (never a crash) from the addon.

test('bad arguments are typed errors naming the op, the field and the shapes', () => {
  const native = nativeAttention(addon());
  const c: Case = { batch: 2, heads: 2, tq: 3, tk: 3, headDim: 4, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0 };
  const bad: [string, (p: AttentionBackward) => void, RegExp][] = [
    ['short out', (p) => { p.out = new Float32Array(5); }, /attentionForward: out \(B, Tq, H·headDim\) needs 48 elements \(batch=2, heads=2, tq=3, tk=3, headDim=4\) but has 5/],
    ['short k', (p) => { p.kOffset = 10; }, /attentionForward: k needs 58 elements .*kOffset=10.* but has 51/],
    ['fractional tq', (p) => { p.tq = 2.5; }, /tq must be an integer/],
    ['window without causal', (p) => { p.causal = false; p.window = 2; }, /window=2 needs causal=true/],
    ['dropout 1', (p) => { p.dropout = 1; }, /dropout must be in \[0, 1\), got 1/],
    ['short keyEnd', (p) => { p.keyEnd = new Int32Array(1); }, /keyEnd needs one entry per batch row \(2\) but has 1/],
    ['bad seed', (p) => { p.seed = -1; }, /seed must be a uint32/],
    ['infinite scale', (p) => { p.scale = Infinity; }, /scale must be finite/],
    ['negative offset', (p) => { p.vOffset = -1; }, /attentionForward: vOffset must be a non-negative integer, got -1/],
    ['float64 q', (p) => { p.q = new Float64Array(p.q.length) as unknown as Float32Array; }, /attentionForward: q must be a Float32Array/],
    ['float64 lse', (p) => { p.lse = new Float64Array(p.lse.length) as unknown as Float32Array; }, /attentionForward: lse must be a Float32Array/],
    ['plain-array keyStart', (p) => { p.keyStart = [0, 0] as unknown as Int32Array; }, /attentionForward: keyStart must be an Int32Array or null/],
  ];
  for (const [what, spoil, message] of bad) {
    for (const kernels of [tsKernels, native]) {
      const p = problem(c, 5);
      spoil(p);
      assert.throws(() => kernels.attentionForward(p), (e: Error) => e instanceof ShapeError && message.test(e.message), what);
    }
  }
  const p = problem(c, 5);
  p.dv = new Float32Array(4);
  assert.throws(() => native.attentionBackward(p), /attentionBackward: dv needs 51 elements/);
  assert.throws(() => attentionBackward(p), /attentionBackward: dv needs 51 elements/);
  const q = { ...problem(c, 5), betaV: 2 as 1 };
  assert.throws(() => native.attentionBackward(q), /attentionBackward: betaV must be 0 or 1, got 2/);
  assert.throws(() => attentionBackward(q), /attentionBackward: betaV must be 0 or 1, got 2/);
});

test('the addon checks every length itself: RangeError/TypeError, never out-of-bounds access', () => {
  const a = addon();
  const c: Case = { batch: 2, heads: 2, tq: 3, tk: 3, headDim: 4, causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0 };
  const args = (p: AttentionBackward): unknown[] => [
    p.batch, p.heads, p.tq, p.tk, p.headDim, p.q, p.qOffset, p.qStrideB, p.qStrideT, p.k, p.kOffset, p.kStrideB, p.kStrideT,
    p.v, p.vOffset, p.vStrideB, p.vStrideT, p.scale, p.causal, p.window, p.keyStart, p.keyEnd, p.dropout, p.seed,
    p.out, p.lse, p.dout, p.dq, p.dk, p.dv, 1, 1, 1,
  ];
  const ok = args(problem(c, 6));
  a.attentionBackward(...ok); // the unspoilt call works
  const set = (index: number, value: unknown) => (xs: unknown[]): void => { xs[index] = value; };
  const cases: [(xs: unknown[]) => void, 'forward' | 'backward', RegExp][] = [
    [set(5, new Float32Array(10)), 'forward', /RangeError: attentionForward: q needs 51 elements \(batch=2, heads=2, tq=3, tk=3, headDim=4, offset=3, strideB=24, strideT=8\) but has 10$/],
    [set(16, 9), 'forward', /attentionForward: v needs 53 elements .* but has 51/],
    [set(28, new Float32Array(3)), 'backward', /attentionBackward: dk needs 51 elements/],
    [set(26, new Float32Array(47)), 'backward', /attentionBackward: dout \(B, Tq, H·headDim\) needs 48 elements/],
    [set(25, new Float32Array(11)), 'forward', /attentionForward: lse \(B, H, Tq\) needs 12 elements/],
    [set(2, 0), 'forward', /attentionForward: tq must be an integer in \[1, 2\^31\)/],
    [set(4, 'four'), 'forward', /headDim must be a number/],
    [set(8, -1), 'forward', /strideT must be a non-negative integer/],
    [set(7, 'x'), 'forward', /strideB must be a number/],
    [(xs) => { xs[18] = false; xs[19] = 3; }, 'forward', /window > 0 needs causal=true/],
    [set(20, new Int32Array(1)), 'forward', /keyStart needs one entry per batch row \(2\)/],
    [set(22, -0.5), 'forward', /dropout must be in \[0, 1\)/],
    [set(23, 2 ** 32), 'forward', /seed must be a uint32/],
    [set(17, NaN), 'forward', /scale must be finite/],
    [set(9, new Float64Array(60)), 'forward', /argument 9 must be a Float32Array/],
    [set(31, 2), 'backward', /attentionBackward: betaK must be 0 or 1, got 2/],
    [(xs) => { xs[2] = 4096; xs[8] = 2 ** 53 - 1; }, 'forward', /attentionForward: q needs more than 2\^63 elements/],
  ];
  for (const [n, [spoil, which, message]] of cases.entries()) {
    const spoilt = ok.slice();
    spoil(spoilt);
    const fn = which === 'forward' ? a.attentionForward : a.attentionBackward;
    assert.throws(() => fn(...spoilt), message, `case ${n}`);
  }
  assert.throws(() => a.attentionForward(...ok.slice(0, 20)), /attentionForward: expected 26 arguments, got 20/);
  assert.throws(() => a.attentionBackward(...ok.slice(0, 30)), /attentionBackward: expected 33 arguments, got 30/);
});
