// The pointwise/row kernels of the native backend (native/src/kernels.cc): the addon takes the
// Backend's positional arguments unchanged. The addon checks every count and array length before it
// touches memory and throws a RangeError/TypeError naming the op; here those become ShapeErrors, the
// typed error the ts backend throws for the same mistakes.
import type { Backend } from '../backend.ts';
import { ShapeError } from '../../util/errors.ts';
import type { Addon } from './index.ts';

type KernelNames = Exclude<keyof Backend, 'name' | 'simd' | 'threads' | 'setThreads' | 'gemm' | 'bf16Path' | 'bf16EmulatedWhy' | 'attentionForward' | 'attentionBackward' | 'attentionDecode' | 'kvStore' | 'qlinear'>;

const kernelNames: readonly KernelNames[] = [
  'layerNormForward', 'layerNormBackward', 'geluForward', 'geluBackward', 'softmaxForward', 'softmaxBackward',
  'crossEntropyForward', 'crossEntropyBackward', 'embeddingForward', 'embeddingBackward', 'adamw',
  'add', 'mul', 'axpy', 'scale', 'sumSquares', 'sumRows', 'dropoutForward', 'dropoutBackward',
];

function asShapeError(e: unknown): unknown {
  return e instanceof RangeError || e instanceof TypeError ? new ShapeError(e.message) : e;
}

/** Wraps one addon function so that its argument errors surface as ShapeErrors. */
function guarded(addon: Addon, name: KernelNames): (...args: unknown[]) => unknown {
  const fn = addon[name];
  if (typeof fn !== 'function') throw new Error(`native addon has no '${name}' kernel (rebuild with npm run build:native)`);
  return (...args: unknown[]) => {
    try {
      return fn(...args);
    } catch (e) {
      throw asShapeError(e);
    }
  };
}

export function nativeKernels(addon: Addon): Pick<Backend, KernelNames> {
  const out: Record<string, unknown> = {};
  for (const name of kernelNames) out[name] = guarded(addon, name);
  return out as Pick<Backend, KernelNames>;
}

/** qlinear: the format by number (0 Q8_0, 1 BF16), the rest positional. */
export function nativeQLinear(addon: Addon): Pick<Backend, 'qlinear'> {
  if (typeof addon.qlinear !== 'function') throw new Error("native addon has no 'qlinear' kernel (rebuild with npm run build:native)");
  return {
    qlinear: (format, M, N, K, x, w, bias, y) => {
      try {
        addon.qlinear(format === 'q8_0' ? 0 : 1, M, N, K, x, w, bias, y);
      } catch (e) {
        throw asShapeError(e);
      }
    },
  };
}
