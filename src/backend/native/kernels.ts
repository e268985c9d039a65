import type { Backend } from '../backend.ts';
import type { Addon } from './index.ts';
type KernelNames = Exclude<keyof Backend, 'name' | 'simd' | 'threads' | 'setThreads' | 'gemm' | 'attentionForward' | 'attentionBackward'>;
export function nativeKernels(_addon: Addon): Pick<Backend, KernelNames> { throw new Error('native kernels: not written yet'); }
