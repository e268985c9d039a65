// The TypeScript reference backend: plain loops, single-threaded, runs anywhere. It is the
// specification the native kernels are tested against, so clarity beats speed here.
import type { Backend } from '../backend.ts';
import { gemm } from './gemm.ts';
import { attentionForward, attentionBackward } from './attention.ts';
import { attentionDecode, kvStore } from './kv-cache.ts';
import * as k from './kernels.ts';
import { qlinear } from './qlinear.ts';

export const tsBackend: Backend = {
  name: 'ts',
  simd: () => 'ts',
  threads: () => 1,
  setThreads: () => {},
  gemm,
  bf16Path: () => 'emulated',
  bf16EmulatedWhy: () => 'the TypeScript kernels have no bf16 arithmetic',
  attentionForward,
  attentionBackward,
  attentionDecode,
  kvStore,
  layerNormForward: k.layerNormForward,
  layerNormBackward: k.layerNormBackward,
  geluForward: k.geluForward,
  geluBackward: k.geluBackward,
  softmaxForward: k.softmaxForward,
  softmaxBackward: k.softmaxBackward,
  crossEntropyForward: k.crossEntropyForward,
  crossEntropyBackward: k.crossEntropyBackward,
  embeddingForward: k.embeddingForward,
  embeddingBackward: k.embeddingBackward,
  adamw: k.adamw,
  add: k.add,
  mul: k.mul,
  axpy: k.axpy,
  scale: k.scale,
  sumSquares: k.sumSquares,
  sumRows: k.sumRows,
  dropoutForward: k.dropoutForward,
  dropoutBackward: k.dropoutBackward,
  qlinear,
};
