// Loads the C++ addon (build/Release/gptkit.node, built by `npm install`) and wraps it as a Backend.
// Each kernel family has its own wrapper file that turns the interface's parameter objects into the
// addon's positional arguments.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Backend } from '../backend.ts';
import { nativeGemm } from './gemm.ts';
import { nativeAttention } from './attention.ts';
import { nativeKvCache } from './kv-cache.ts';
import { nativeKernels, nativeQLinear } from './kernels.ts';

/** The raw addon: functions registered by native/src/*.cc. */
export type Addon = Record<string, (...args: any[]) => any>;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const addonPath = join(root, 'build', 'Release', 'gptkit.node');

let loaded: { backend: Backend | null; addon: Addon | null; error: string } | null = null;

export function loadAddon(): Addon | null {
  return loadNative().addon;
}

export function loadNative(): { backend: Backend | null; addon: Addon | null; error: string } {
  if (loaded) return loaded;
  if (!existsSync(addonPath)) {
    loaded = { backend: null, addon: null, error: `${addonPath} not found` };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(addonPath) as Addon;
    const threads = process.env.GPTKIT_THREADS;
    if (threads !== undefined) {
      const n = Number(threads);
      if (!Number.isInteger(n) || n < 1) throw new Error(`GPTKIT_THREADS must be a positive integer, got '${threads}'`);
      addon.setThreads(n);
    }
    const bf16 = process.env.GPTKIT_BF16;
    if (bf16 !== undefined && bf16 !== 'emulate' && bf16 !== 'native') throw new Error(`GPTKIT_BF16 must be 'emulate' or 'native', got '${bf16}'`);
    if (bf16 === 'emulate') addon.bf16Native(false);
    const simd = process.env.GPTKIT_SIMD;
    if (simd !== undefined && !addon.setSimd(simd)) {
      throw new Error(`GPTKIT_SIMD=${simd} is not supported on this CPU (have: ${addon.simdLevels().join(', ')})`);
    }
    if (bf16 === 'native' && !addon.bf16Native()) {
      throw new Error(`GPTKIT_BF16=native needs AVX512_BF16 and the avx512 path (this CPU: ${addon.bf16Supported() ? 'has it, but GPTKIT_SIMD lowered the path' : 'has no AVX512_BF16'})`);
    }
    const backend: Backend = {
      name: 'native',
      simd: () => addon.getSimd() as string,
      threads: () => addon.getThreads() as number,
      setThreads: (n: number) => addon.setThreads(n),
      ...nativeGemm(addon),
      ...nativeAttention(addon),
      ...nativeKvCache(addon),
      ...nativeKernels(addon),
      ...nativeQLinear(addon),
    };
    loaded = { backend, addon, error: '' };
  } catch (e) {
    loaded = { backend: null, addon: null, error: (e as Error).message };
  }
  return loaded;
}
