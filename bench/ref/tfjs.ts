// TensorFlow.js as a GEMM reference: what a JavaScript user would otherwise reach for on a CPU. The
// WebAssembly backend (XNNPACK, SIMD) is tfjs's fastest that installs from npm alone (tfjs-node's
// install downloads libtensorflow); in Node it runs on one thread.
import { log } from '../harness.ts';

export interface TfjsRef {
  backend: string;
  /** Seconds per product of `reps` timed runs of op(A)·op(B) (after a 50 ms warm-up). */
  matmulTimes(m: number, n: number, k: number, transA: boolean, transB: boolean, reps: number): number[];
}

let loaded: Promise<TfjsRef | null> | null = null;

/** The reference, or null (with a line on stderr saying how to install it). */
export function loadTfjs(): Promise<TfjsRef | null> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<TfjsRef | null> {
  let tf: typeof import('@tensorflow/tfjs-core');
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-wasm');
  } catch {
    log('reference skipped: TensorFlow.js is not installed (npm install --no-save @tensorflow/tfjs-core@4 @tensorflow/tfjs-backend-wasm@4)');
    return null;
  }
  if (!(await tf.setBackend('wasm'))) {
    log('reference skipped: the TensorFlow.js WebAssembly backend failed to initialise');
    return null;
  }
  await tf.ready();
  return {
    backend: 'tfjs-wasm',
    matmulTimes(m, n, k, transA, transB, reps) {
      const a = tf.randomUniform(transA ? [k, m] : [m, k], -1, 1);
      const b = tf.randomUniform(transB ? [n, k] : [k, n], -1, 1);
      const product = () => {
        const c = tf.matMul(a, b, transA, transB);
        c.dataSync(); // the product runs when its result is read
        c.dispose();
      };
      const end = performance.now() + 50;
      for (let i = 0; i < 3 || performance.now() < end; i++) product();
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = process.hrtime.bigint();
        product();
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      a.dispose();
      b.dispose();
      return times;
    },
  };
}
