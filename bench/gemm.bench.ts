// GEMM throughput: square products and the Transformer's own shapes (forward and backward of every
// linear layer in the `small` and `gpt2-124m` configs of BENCH.md), at 1 and 2 threads, against
// numpy/OpenBLAS timed in the same run (bench/ref/gemm_ref.py), interleaved shape by shape in two
// rounds so drift on a shared machine hits both sides alike. Also batch-1 decoding's GEMV, in GB/s
// of weights streamed, and the square products against TensorFlow.js's WebAssembly backend
// (bench/ref/tfjs.ts), the fastest JavaScript alternative that installs from npm.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, isFallbackBlas, log, median, runPythonRef, runVenvRef, VENV_HINT, venvPython } from './harness.ts';
import { existsSync } from 'node:fs';
import { loadNative } from '../src/backend/native/index.ts';
import { measurePeakGflops } from '../src/backend/peak.ts';
import type { Backend, GemmParams } from '../src/backend/backend.ts';
import { Rng } from '../src/util/rng.ts';
import { loadTfjs } from './ref/tfjs.ts';

interface Shape {
  m: number; n: number; k: number;
  trans: 'NN' | 'NT' | 'TN' | 'TT';
  config?: string; op?: string;
  gemv?: boolean;
}

const refScript = join(dirname(fileURLToPath(import.meta.url)), 'ref', 'gemm_ref.py');

/** A linear layer y = x·W (W stored (in, out), as GPT-2's Conv1D) over `rows` rows: forward, dX, dW. */
function linear(config: string, name: string, rows: number, fanIn: number, fanOut: number): Shape[] {
  return [
    { m: rows, n: fanOut, k: fanIn, trans: 'NN', config, op: `${name} forward` },
    { m: rows, n: fanIn, k: fanOut, trans: 'NT', config, op: `${name} dX = dY·Wᵀ` },
    { m: fanIn, n: fanOut, k: rows, trans: 'TN', config, op: `${name} dW = Xᵀ·dY` },
  ];
}

/** The tied LM head: logits = x·Wteᵀ with Wte (vocab, C). */
function lmHead(config: string, rows: number, c: number, vocab: number): Shape[] {
  return [
    { m: rows, n: vocab, k: c, trans: 'NT', config, op: 'lm_head forward' },
    { m: rows, n: c, k: vocab, trans: 'NN', config, op: 'lm_head dX = dL·Wte' },
    { m: vocab, n: c, k: rows, trans: 'TN', config, op: 'lm_head dWte = dLᵀ·X' },
  ];
}

function transformer(config: string, rows: number, c: number, vocab: number): Shape[] {
  return [
    ...linear(config, 'c_attn', rows, c, 3 * c),
    ...linear(config, 'attn c_proj', rows, c, c),
    ...linear(config, 'c_fc', rows, c, 4 * c),
    ...linear(config, 'mlp c_proj', rows, 4 * c, c),
    ...lmHead(config, rows, c, vocab),
  ];
}

const SHAPES: Shape[] = [
  ...[256, 512, 1024, 2048].map((s): Shape => ({ m: s, n: s, k: s, trans: 'NN', op: 'square' })),
  ...transformer('small', 16 * 256, 384, 4096),
  ...transformer('gpt2-124m', 4 * 256, 768, 50257),
  // Batch-16 decoding: 16 rows against a Linear layer's (out, in) weight.
  { m: 16, n: 2304, k: 768, trans: 'NT', config: 'gpt2-124m', op: 'batch-16 decode c_attn' },
  { m: 16, n: 50257, k: 768, trans: 'NT', config: 'gpt2-124m', op: 'batch-16 decode lm_head' },
  { m: 1, n: 2304, k: 768, trans: 'NN', gemv: true, config: 'gpt2-124m', op: 'decode c_attn' },
  { m: 1, n: 50257, k: 768, trans: 'NT', gemv: true, config: 'gpt2-124m', op: 'decode lm_head' },
];

function random(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.next() * 2 - 1;
  return x;
}

function params(s: Shape, rng: Rng): GemmParams {
  const transA = s.trans[0] === 'T', transB = s.trans[1] === 'T';
  return {
    transA, transB, m: s.m, n: s.n, k: s.k, alpha: 1,
    a: random(rng, s.m * s.k), aOffset: 0, lda: transA ? s.m : s.k,
    b: random(rng, s.k * s.n), bOffset: 0, ldb: transB ? s.k : s.n,
    beta: 0, c: new Float32Array(s.m * s.n), cOffset: 0, ldc: s.n,
    bias: null, batch: 1, strideA: 0, strideB: 0, strideC: 0,
  };
}

/** Enough repetitions for ~0.2 s of work per round at the expected speed, at least 3. */
// gptkit and the reference alternate ROUNDS times per shape, ~0.1 s each: on a VM whose speed swings
// by a third over seconds (seen on an Emerald Rapids Xeon), short alternating bursts let both sides
// see the same phases, where two long ones gave ratios off by 0.2–0.3.
const ROUNDS = 4;

function repsFor(s: Shape, threads: number): number {
  const seconds = s.gemv ? (s.k * s.n * 4) / 20e9 : (2 * s.m * s.n * s.k) / (90e9 * threads);
  return Math.max(3, Math.min(25, Math.round(0.1 / seconds)));
}

function timeGptkit(backend: Backend, p: GemmParams, reps: number): number[] {
  // Warm-up: at least 3 products and 50 ms (as gemm_ref.py), so pack buffers exist, caches are warm
  // and the pool's workers are awake (the first products after a pause or a resize pay their wake-up).
  const end = performance.now() + 50;
  for (let i = 0; i < 3 || performance.now() < end; i++) backend.gemm(p);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    backend.gemm(p);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return times;
}

/**
 * numpy's OpenBLAS times the same product: the venv's numpy (pip's current OpenBLAS, what a numpy
 * user installs) when the venv exists, else Debian's python3-numpy (OpenBLAS 0.3.21, which runs a
 * generic kernel on CPUs newer than itself).
 */
function timeReference(s: Shape, threads: number, reps: number): { times: number[]; blas: string } | null {
  const spec = { reps, cases: [{ m: s.m, n: s.n, k: s.k, trans: s.trans, gemv: s.gemv ?? false }] };
  const env = { OPENBLAS_NUM_THREADS: String(threads) };
  const out = existsSync(venvPython) ? runVenvRef(refScript, [JSON.stringify(spec)], env) : runPythonRef(refScript, [JSON.stringify(spec)], ['python3-numpy'], env);
  return out ? { times: out.times[0] as number[], blas: out.blas as string } : null;
}

export async function run(): Promise<void> {
  const { backend, addon, error } = loadNative();
  if (!backend || !addon) {
    log(`gemm bench: the native addon is not available (${error}); run npm run build:native`);
    return;
  }
  log(`gemm bench: gptkit ${backend.simd()}, reference numpy via ${refScript}`);
  const rng = new Rng(7);
  const tfjs = await loadTfjs();
  let blasLogged = false;
  let refBlas = '';
  // 1 thread, then 2 (the pool resizes either way; this order just groups each thread count's lines).
  for (const threads of [1, 2]) {
    backend.setThreads(threads);
    // The CPU's FMA peak at this thread count (src/backend/peak.ts): each line's `of_peak` divides by it.
    const peak = measurePeakGflops()?.gflops ?? null;
    log(`FMA peak, ${threads} thread(s), ${backend.simd()}: ${peak?.toFixed(1) ?? 'n/a'} GFLOP/s`);
    for (const s of SHAPES) {
      const p = params(s, rng);
      const reps = repsFor(s, threads);
      const ours: number[] = [];
      const theirs: number[] = [];
      // TensorFlow.js runs on one thread in Node: compared on the square products at 1 thread.
      const withTfjs = tfjs && threads === 1 && s.op === 'square';
      const tfjsTimes: number[] = [];
      let refOk = true;
      for (let round = 0; round < ROUNDS; round++) {
        ours.push(...timeGptkit(backend, p, reps));
        if (withTfjs) tfjsTimes.push(...tfjs.matmulTimes(s.m, s.n, s.k, p.transA, p.transB, Math.max(3, Math.round(reps / 8))));
        const ref = refOk ? timeReference(s, threads, reps) : null;
        if (ref) {
          theirs.push(...ref.times);
          if (!blasLogged) {
            log(`reference BLAS: ${ref.blas}`);
            if (isFallbackBlas(ref.blas)) log(`WARNING: the reference OpenBLAS runs a generic fallback kernel on this CPU; its figures (and every ratio here) are not a fair comparison. Create the venv (${VENV_HINT}) for a current OpenBLAS.`);
          }
          blasLogged = true;
          refBlas = ref.blas;
        } else {
          refOk = false;
        }
      }
      const rate = (seconds: number) => s.gemv ? (s.k * s.n * 4) / seconds / 1e9 : (2 * s.m * s.n * s.k) / seconds / 1e9;
      const round1 = (x: number) => Number(x.toFixed(1));
      emit({
        name: s.gemv ? 'gemv' : 'gemm',
        shape: [s.m, s.n, s.k],
        trans: s.trans,
        threads,
        value: round1(rate(median(ours))),
        unit: s.gemv ? 'GB/s' : 'GFLOP/s',
        ref: 'numpy-openblas',
        ref_blas: theirs.length ? refBlas : null,
        ref_value: theirs.length ? round1(rate(median(theirs))) : null,
        ...(s.config ? { config: s.config } : {}),
        op: s.op,
        simd: backend.simd(),
        ...(s.gemv ? {} : { peak_gflops: peak ? round1(peak) : null, of_peak: peak ? Number((rate(median(ours)) / peak).toFixed(3)) : null }),
      });
      if (s.op === 'square' && threads === 1) {
        emit({
          name: 'gemm', shape: [s.m, s.n, s.k], trans: s.trans, threads, value: round1(rate(median(ours))), unit: 'GFLOP/s',
          ref: 'tfjs-wasm', ref_value: withTfjs ? round1(rate(median(tfjsTimes))) : null, op: s.op, simd: backend.simd(),
        });
      }
    }
  }
}
