// Backend.gemm on the native addon: checks the call (the same ShapeError as the reference), then
// passes GemmParams positionally to the addon's `gemm` (argument order documented in native/src/gemm.cc).
import type { Backend, GemmParams } from '../backend.ts';
import type { Addon } from './index.ts';
import { checkGemmParams } from '../ts/gemm.ts';

export function nativeGemm(addon: Addon): Pick<Backend, 'gemm' | 'bf16Path' | 'bf16EmulatedWhy'> {
  const gemm = addon.gemm;
  return {
    gemm(p: GemmParams): void {
      checkGemmParams(p);
      gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.aOffset, p.lda, p.b, p.bOffset, p.ldb, p.beta,
        p.c, p.cOffset, p.ldc, p.bias, p.batch, p.strideA, p.strideB, p.strideC, p.precision === 'bf16', p.roundOutput === true);
    },
    bf16Path: () => (addon.bf16Native() ? 'avx512_bf16' : 'emulated'),
    bf16EmulatedWhy(): string | null {
      if (addon.bf16Native()) return null;
      if (!addon.bf16Supported()) return 'this CPU has no AVX512_BF16';
      if (addon.getSimd() !== 'avx512') return `GPTKIT_SIMD=${addon.getSimd()} lowered the path`;
      const speed = addon.bf16DotSpeed() as { dotGflops: number; fmaGflops: number; pays: boolean };
      if (!speed.pays) return `this CPU's bf16 dot instruction (vdpbf16ps) runs at ${speed.dotGflops.toFixed(0)} GFLOP/s against ${speed.fmaGflops.toFixed(0)} for float32 FMAs on one core, so it would be slower (GPTKIT_BF16=native uses it anyway)`;
      return 'GPTKIT_BF16=emulate switched the bf16 dot off';
    },
  };
}
