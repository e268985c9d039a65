// Fused causal attention, forward + backward, against the same computation unfused with gptkit's own
// kernels (BENCH.md `attention`): batched GEMMs for Q·Kᵀ, P·V and their backward products, a causal
// mask, and softmaxForward/Backward, with the (B, H, T, T) score matrix materialised as a
// non-fused implementation (nanoGPT's manual path) does. Both read q, k, v in place from
// (B, T, H·D) arrays, so neither pays for a transpose. Timed interleaved, median of several reps,
// at 2 then 1 threads. memory_mb is what the fused kernel keeps between forward and backward (lse);
// ref_memory_mb is the unfused score matrix (P).
import { emit, log, median } from './harness.ts';
import { backend, backendNotice } from '../src/backend/index.ts';
import type { AttentionBackward, Backend } from '../src/backend/backend.ts';
import { Rng } from '../src/util/rng.ts';

interface Config {
  name: string;
  batch: number; seq: number; heads: number; headDim: number;
}

const CONFIGS: Config[] = [
  { name: 'small', batch: 16, seq: 256, heads: 6, headDim: 64 },
  { name: 'gpt2-124m', batch: 4, seq: 256, heads: 12, headDim: 64 },
];

function random(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}

function problem(c: Config, rng: Rng): AttentionBackward {
  const n = c.batch * c.seq * c.heads * c.headDim;
  const C = c.heads * c.headDim;
  return {
    batch: c.batch, heads: c.heads, tq: c.seq, tk: c.seq, headDim: c.headDim,
    q: random(rng, n), qOffset: 0, qStrideB: c.seq * C, qStrideT: C,
    k: random(rng, n), kOffset: 0, kStrideB: c.seq * C, kStrideT: C,
    v: random(rng, n), vOffset: 0, vStrideB: c.seq * C, vStrideT: C,
    scale: 1 / Math.sqrt(c.headDim), causal: true, window: 0, keyStart: null, keyEnd: null, dropout: 0, seed: 1,
    out: new Float32Array(n), lse: new Float32Array(c.batch * c.heads * c.seq), dout: random(rng, n),
    dq: new Float32Array(n), dk: new Float32Array(n), dv: new Float32Array(n),
  };
}

/** The unfused computation's buffers: scores/probabilities and their gradients, (B, H, T, T) each. */
interface Unfused {
  P: Float32Array; dP: Float32Array; dS: Float32Array; mask: Float32Array;
}

function unfusedBuffers(c: Config): Unfused {
  const T = c.seq;
  const mask = new Float32Array(T * T); // additive causal mask: −∞ above the diagonal
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -Infinity;
  const n = c.batch * c.heads * T * T;
  return { P: new Float32Array(n), dP: new Float32Array(n), dS: new Float32Array(n), mask };
}

/** One head-batched GEMM per batch row b: the H heads of b are D floats apart in a (T, H·D) row. */
function headGemm(be: Backend, c: Config, b: number, o: {
  transA: boolean; transB: boolean; m: number; n: number; k: number; alpha: number;
  a: Float32Array; aHeads: boolean; b: Float32Array; bHeads: boolean; beta: 0 | 1; c: Float32Array; cHeads: boolean;
}): void {
  const T = c.seq, C = c.heads * c.headDim, TT = T * T;
  // An operand is either (T, H·D) per batch row (heads D apart) or a (B, H, T, T) score matrix.
  const place = (heads: boolean) => heads ? { off: b * T * C, ld: C, stride: c.headDim } : { off: b * c.heads * TT, ld: T, stride: TT };
  const A = place(o.aHeads), B = place(o.bHeads), Cc = place(o.cHeads);
  be.gemm({
    transA: o.transA, transB: o.transB, m: o.m, n: o.n, k: o.k, alpha: o.alpha,
    a: o.a, aOffset: A.off, lda: A.ld, b: o.b, bOffset: B.off, ldb: B.ld, beta: o.beta, c: o.c, cOffset: Cc.off, ldc: Cc.ld,
    bias: null, batch: c.heads, strideA: A.stride, strideB: B.stride, strideC: Cc.stride,
  });
}

function unfusedStep(be: Backend, c: Config, p: AttentionBackward, u: Unfused): void {
  const T = c.seq, D = c.headDim, TT = T * T, rows = c.batch * c.heads * T;
  for (let b = 0; b < c.batch; b++) {
    // S = scale · Q·Kᵀ
    headGemm(be, c, b, { transA: false, transB: true, m: T, n: T, k: D, alpha: p.scale, a: p.q, aHeads: true, b: p.k, bHeads: true, beta: 0, c: u.P, cHeads: false });
  }
  for (let s = 0; s < c.batch * c.heads; s++) {
    const S = u.P.subarray(s * TT, (s + 1) * TT);
    be.add(S, u.mask, S, TT);
  }
  be.softmaxForward(u.P, u.P, rows, T);
  for (let b = 0; b < c.batch; b++) {
    // Y = P·V
    headGemm(be, c, b, { transA: false, transB: false, m: T, n: D, k: T, alpha: 1, a: u.P, aHeads: false, b: p.v, bHeads: true, beta: 0, c: p.out, cHeads: true });
  }
  for (let b = 0; b < c.batch; b++) {
    // dP = dY·Vᵀ; dV += Pᵀ·dY
    headGemm(be, c, b, { transA: false, transB: true, m: T, n: T, k: D, alpha: 1, a: p.dout, aHeads: true, b: p.v, bHeads: true, beta: 0, c: u.dP, cHeads: false });
    headGemm(be, c, b, { transA: true, transB: false, m: T, n: D, k: T, alpha: 1, a: u.P, aHeads: false, b: p.dout, bHeads: true, beta: 1, c: p.dv, cHeads: true });
  }
  u.dS.fill(0);
  be.softmaxBackward(u.P, u.dP, u.dS, rows, T);
  for (let b = 0; b < c.batch; b++) {
    // dQ += scale · dS·K; dK += scale · dSᵀ·Q
    headGemm(be, c, b, { transA: false, transB: false, m: T, n: D, k: T, alpha: p.scale, a: u.dS, aHeads: false, b: p.k, bHeads: true, beta: 1, c: p.dq, cHeads: true });
    headGemm(be, c, b, { transA: true, transB: false, m: T, n: D, k: T, alpha: p.scale, a: u.dS, aHeads: false, b: p.q, bHeads: true, beta: 1, c: p.dk, cHeads: true });
  }
}

function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export async function run(): Promise<void> {
  const be = backend();
  if (be.name !== 'native') {
    log(`attention: skipped (the kernel under test is native): ${backendNotice() ?? 'GPTKIT_BACKEND=ts selects the TypeScript kernels'}`);
    return;
  }
  const reps = Number(process.env.GPTKIT_BENCH_REPS ?? 5);
  const rng = new Rng(42);
  // 2 threads first, then 1.
  for (const threads of [2, 1]) {
    be.setThreads(threads);
    for (const c of CONFIGS) {
      const p = problem(c, rng);
      const u = unfusedBuffers(c);
      const pRef: AttentionBackward = { ...p, out: new Float32Array(p.out.length), dq: new Float32Array(p.dq.length), dk: new Float32Array(p.dk.length), dv: new Float32Array(p.dv.length) };
      const fusedStep = () => { be.attentionForward(p); be.attentionBackward(p); };
      const refStep = () => unfusedStep(be, c, pRef, u);
      fusedStep();
      refStep();
      const tf: number[] = [], tr: number[] = [];
      for (let r = 0; r < reps; r++) {
        tf.push(seconds(fusedStep));
        tr.push(seconds(refStep));
      }
      log(`attention ${c.name} ×${threads}: max |out fused − unfused| = ${maxAbsDiff(p.out, pRef.out).toExponential(2)}`);
      const mb = (floats: number) => Number((floats * 4 / 2 ** 20).toFixed(3));
      emit({
        name: 'attention', config: c.name, threads, value: Number((median(tf) * 1e3).toFixed(2)), unit: 'ms',
        ref: 'gptkit-unfused', ref_value: Number((median(tr) * 1e3).toFixed(2)),
        batch: c.batch, seq: c.seq, heads: c.heads, head_dim: c.headDim, causal: true, simd: be.simd(),
        memory_mb: mb(c.batch * c.heads * c.seq), ref_memory_mb: mb(c.batch * c.heads * c.seq * c.seq),
      });
    }
  }
}
