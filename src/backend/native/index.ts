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
import { ConfigError } from '../../util/errors.ts';

/** The raw addon: functions registered by native/src/*.cc. */
export type Addon = Record<string, (...args: any[]) => any>;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const addonPath = join(root, 'build', 'Release', 'gptkit.node');

let loaded: { backend: Backend | null; addon: Addon | null; error: string } | null = null;

export function loadAddon(): Addon | null {
  return loadNative().addon;
}

/** An environment setting, with an empty value read as unset (as `VAR= cmd` means "not set" to most tools). */
function setting(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Load the addon and apply GPTKIT_THREADS / GPTKIT_BF16 / GPTKIT_SIMD. A bad value of these is the
 * user's mistake, thrown as a ConfigError naming the variable, never a quiet fall back to the slow
 * TypeScript kernels; only an addon that cannot load falls back (with `error` saying why).
 */
export function loadNative(): { backend: Backend | null; addon: Addon | null; error: string } {
  if (loaded) return loaded;
  const threads = setting('GPTKIT_THREADS');
  const n = Number(threads);
  if (threads !== undefined && (!Number.isInteger(n) || n < 1)) throw new ConfigError(`GPTKIT_THREADS must be a positive integer, got '${threads}'`);
  const bf16 = setting('GPTKIT_BF16');
  if (bf16 !== undefined && bf16 !== 'emulate' && bf16 !== 'native') throw new ConfigError(`GPTKIT_BF16 must be 'emulate' or 'native', got '${bf16}'`);
  const simd = setting('GPTKIT_SIMD');
  if (!existsSync(addonPath)) {
    loaded = { backend: null, addon: null, error: `${addonPath} not found` };
    return loaded;
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (e) {
    loaded = { backend: null, addon: null, error: (e as Error).message };
    return loaded;
  }
  if (threads !== undefined) addon.setThreads(n);
  if (bf16 === 'emulate') addon.bf16Native(false);
  if (simd !== undefined && !addon.setSimd(simd)) {
    throw new ConfigError(`GPTKIT_SIMD=${simd} is not supported on this CPU (have: ${addon.simdLevels().join(', ')})`);
  }
  if (bf16 === 'native' && !addon.bf16Native(true)) {
    throw new ConfigError(`GPTKIT_BF16=native needs AVX512_BF16 and the avx512 path (this CPU: ${addon.bf16Supported() ? 'has it, but GPTKIT_SIMD lowered the path' : 'has no AVX512_BF16'})`);
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
  return loaded;
}
