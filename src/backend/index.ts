// Picks the backend once per process: `GPTKIT_BACKEND=ts|native` forces one; otherwise the native
// addon when it loads, else the TypeScript reference with a one-line notice (printed by cli/, since
// nothing below pipeline/ prints). `GPTKIT_THREADS` sets the native thread count (default: all cores).
import type { Backend } from './backend.ts';
import { tsBackend } from './ts/index.ts';
import { loadNative } from './native/index.ts';
import { ConfigError } from '../util/errors.ts';

export type { Backend } from './backend.ts';

let current: Backend | null = null;
let notice: string | null = null;

/**
 * The choice itself, given GPTKIT_BACKEND and what loading the addon gave: the backend, and the
 * one-line notice to print when falling back.
 */
export function chooseBackend(want: string, native: () => { backend: Backend | null; error: string }): { backend: Backend; notice: string | null } {
  if (want === 'ts') return { backend: tsBackend, notice: null };
  if (want !== '' && want !== 'native') throw new ConfigError(`GPTKIT_BACKEND must be 'ts' or 'native', got '${want}'`);
  const n = native();
  if (n.backend) return { backend: n.backend, notice: null };
  if (want === 'native') throw new ConfigError(`GPTKIT_BACKEND=native but the native addon did not load: ${n.error}`, 'npm run build:native shows why');
  return {
    backend: tsBackend,
    notice: `gptkit: native addon unavailable (${n.error}); running on the TypeScript kernels (slow). Rebuild with: npm run build:native`,
  };
}

function choose(): Backend {
  const c = chooseBackend(process.env.GPTKIT_BACKEND ?? '', loadNative);
  notice = c.notice;
  return c.backend;
}

/** The backend in use (chosen on first call). */
export function backend(): Backend {
  if (!current) current = choose();
  return current;
}

/** Replace the backend for this process (tests run one suite against each backend). */
export function setBackend(b: Backend): void {
  current = b;
}

/** A one-line notice for the CLI to print once (e.g. the addon failed to load), or null. */
export function backendNotice(): string | null {
  backend();
  return notice;
}

/** Every backend that can run here: the reference always, native when it loads. */
export function availableBackends(): Backend[] {
  const native = loadNative().backend;
  return native ? [tsBackend, native] : [tsBackend];
}
