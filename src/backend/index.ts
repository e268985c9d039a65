// Picks the backend once per process: `GPTKIT_BACKEND=ts|native` forces one; otherwise the native
// addon when it loads, else the TypeScript reference with a one-line notice (printed by cli/, since
// nothing below pipeline/ prints). `GPTKIT_THREADS` sets the native thread count (default: all cores).
import type { Backend } from './backend.ts';
import { tsBackend } from './ts/index.ts';
import { loadNative } from './native/index.ts';

export type { Backend } from './backend.ts';

let current: Backend | null = null;
let notice: string | null = null;

function choose(): Backend {
  const want = process.env.GPTKIT_BACKEND ?? '';
  if (want === 'ts') return tsBackend;
  if (want !== '' && want !== 'native') {
    throw new Error(`GPTKIT_BACKEND must be 'ts' or 'native', got '${want}'`);
  }
  const native = loadNative();
  if (native.backend) return native.backend;
  if (want === 'native') throw new Error(`GPTKIT_BACKEND=native but the native addon did not load: ${native.error}`);
  notice = `gptkit: native addon unavailable (${native.error}); running on the TypeScript kernels (slow). Rebuild with: npm run build:native`;
  return tsBackend;
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
