// Weights for decoding in a narrow format (`--dtype bf16|q8_0` of sample, score, chat and serve):
// every matrix a linear layer reads (the blocks' projections and the tied LM head) gets a narrow copy
// that op.linear reads instead of its float32 data whenever no gradient is recorded. Decoding reads
// every weight once per token, so its speed follows the bytes: Q8_0 moves 1.0625 bytes a weight,
// BF16 2, float32 4. The float32 weights stay (the embedding lookup reads rows of them; training
// would need them): this is for inference, on a model that is not trained afterwards.
import type { Module } from '../nn/module.ts';
import { encodeWeights } from '../backend/quant.ts';
import type { QuantFormat } from '../backend/backend.ts';
import { ConfigError } from '../util/errors.ts';

export type ModelDtype = 'f32' | QuantFormat;
export const MODEL_DTYPES: readonly ModelDtype[] = ['f32', 'bf16', 'q8_0'];

export interface QuantizeReport {
  dtype: ModelDtype;
  /** Matrices given a narrow copy. */
  matrices: number;
  /** Bytes decoding reads from weights per token: before (float32) and now. */
  f32Bytes: number;
  bytes: number;
}

/** Give a model's linear-layer matrices a narrow copy (position tables excepted: they are only looked up). */
export function quantizeModel(model: Module, dtype: ModelDtype): QuantizeReport {
  if (!MODEL_DTYPES.includes(dtype)) throw new ConfigError(`dtype must be one of ${MODEL_DTYPES.join(', ')}, got '${dtype}'`);
  const report: QuantizeReport = { dtype, matrices: 0, f32Bytes: 0, bytes: 0 };
  for (const [name, p] of model.namedParameters()) {
    if (p.ndim !== 2 || /(^|\.)wpe\.weight$|position/.test(name)) continue;
    report.f32Bytes += p.size * 4;
    if (dtype === 'f32') {
      p.quantized = null;
      report.bytes += p.size * 4;
      continue;
    }
    if (dtype === 'q8_0' && p.shape[1] % 32 !== 0) {
      throw new ConfigError(`--dtype q8_0 needs every matrix's input width to be a multiple of 32; ${name} is ${p.shape[0]}×${p.shape[1]}`, 'use --dtype bf16 for this model');
    }
    p.quantized = { format: dtype, data: encodeWeights(dtype, p.data) };
    report.matrices++;
    report.bytes += p.quantized.data.length;
  }
  return report;
}
