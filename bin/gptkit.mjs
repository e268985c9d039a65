#!/usr/bin/env node
// Entry point for `npx gptkit …`. In a checkout it runs the TypeScript sources through tsx (edits take
// effect at once); the published package has no src/ and runs the compiled dist/ (starts faster).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  (await import('tsx/esm/api')).register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../dist/cli/main.js', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
