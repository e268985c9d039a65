// Backend.gemm on the native addon: checks the call (the same ShapeError as the reference), then
// passes GemmParams positionally to the addon's `gemm` (argument order documented in native/src/gemm.cc).
import type { Backend, GemmParams } from '../backend.ts';
import type { Addon } from './index.ts';
import { checkGemmParams } from '../ts/gemm.ts';

export function nativeGemm(addon: Addon): Pick<Backend, 'gemm' | 'bf16Path'> {
  const gemm = addon.gemm;
  return {
    gemm(p: GemmParams): void {
      checkGemmParams(p);
      gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.aOffset, p.lda, p.b, p.bOffset, p.ldb, p.beta,
        p.c, p.cOffset, p.ldc, p.bias, p.batch, p.strideA, p.strideB, p.strideC, p.precision === 'bf16', p.roundOutput === true);
    },
    bf16Path: () => (addon.bf16Native() ? 'avx512_bf16' : 'emulated'),
  };
}
