import type { Backend } from '../backend.ts';
import type { Addon } from './index.ts';
export function nativeGemm(_addon: Addon): Pick<Backend, 'gemm'> { throw new Error('native gemm: not written yet'); }
