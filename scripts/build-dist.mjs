#!/usr/bin/env node
// `npm run build` (and `prepack`): compiles src/ to dist/ as ESM JavaScript with .d.ts files
// (tsconfig.build.json: `.ts` imports rewritten to `.js`), then copies what tsc does not emit:
// the worker bootstraps (*.mjs) and the web UI's assets. The published package runs dist/; a
// checkout runs src/ through tsx.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const t0 = Date.now();
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('build: tsc failed');
  process.exit(tsc.status ?? 1);
}
let copied = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'testdata') walk(p);
    } else if (name.endsWith('.mjs') || p.includes(`${join('serve', 'ui')}`)) {
      cpSync(p, join(dist, relative(src, p)));
      copied++;
    }
  }
};
walk(src);
console.log(`build: dist/ compiled in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${copied} assets copied`);
