#!/usr/bin/env node
// Builds the native addon with node-gyp during `npm install`. A failed build must not fail the
// install: gptkit then runs on its TypeScript kernels and says so once. `--verbose` shows the
// compiler output and exits non-zero on failure (for `npm run build:native`).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const verbose = process.argv.includes('--verbose');
if (process.env.GPTKIT_SKIP_NATIVE === '1') {
  console.log('gptkit: GPTKIT_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.log('gptkit: node-gyp not installed; skipping the native addon (TypeScript kernels will be used)');
  process.exit(0);
}
// Build against this Node's own headers when they are installed beside it, so nothing is downloaded.
const args = [gyp, 'rebuild', '--jobs=max'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const t0 = Date.now();
const r = spawnSync(process.execPath, args, { stdio: verbose ? 'inherit' : 'pipe', encoding: 'utf8' });
if (r.status === 0) {
  console.log(`gptkit: native addon built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  buildMpi();
  process.exit(0);
}
/**
 * The MPI addon (native/mpi: data-parallel training under mpirun), only where MPI's compiler wrapper
 * exists; its failure never fails the install (gptkit then trains single-process).
 */
function buildMpi() {
  if (spawnSync('mpicxx', ['--showme:version'], { stdio: 'ignore' }).status !== 0) return;
  const m = spawnSync(process.execPath, [...args, '--directory', 'native/mpi'], { stdio: verbose ? 'inherit' : 'pipe', encoding: 'utf8' });
  console.log(m.status === 0 ? 'gptkit: MPI addon built (data-parallel training: gptkit pretrain --ranks N)' : 'gptkit: the MPI addon failed to build; training runs single-process (npm run build:native shows why)');
}

console.log('gptkit: the native addon failed to build; gptkit will run on its TypeScript kernels (slow).');
if (!verbose) {
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l)).slice(0, 10).join('\n');
  if (tail) console.log(tail);
  console.log('Run `npm run build:native` to see the full compiler output.');
}
process.exit(verbose ? 1 : 0);
