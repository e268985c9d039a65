// Mixed precision, as torch.autocast does it on CPUs: inside `autocast('bf16', fn)` the matrix
// products (linear, matmul) round their operands to bfloat16, sum in float32 (AVX512_BF16's
// vdpbf16ps where the CPU has it: twice the float32 rate) and round their outputs to bfloat16, so
// attention reads bf16 queries, keys and values. Everything else stays float32: LayerNorm, softmax,
// the loss, the residual stream, gradients outside the products, master weights and the optimizer.
// An op takes the precision in force when it runs forward, and its backward keeps it.
import type { GemmPrecision } from '../backend/backend.ts';

export type Precision = GemmPrecision;
export const PRECISIONS: readonly Precision[] = ['f32', 'bf16'];

let current: Precision = 'f32';

/** The precision matrix products use now. */
export function autocastPrecision(): Precision {
  return current;
}

/** Runs fn with matrix products in `precision`, restoring the previous one after (also on a throw). */
export function autocast<T>(precision: Precision, fn: () => T): T {
  const saved = current;
  current = precision;
  try {
    return fn();
  } finally {
    current = saved;
  }
}
