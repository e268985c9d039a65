import type { GemmParams } from '../backend.ts';
export function gemm(_p: GemmParams): void { throw new Error('gemm: not written yet'); }
