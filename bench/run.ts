// `npm run bench [-- NAME …]`: runs every bench/*.bench.ts (or the named ones). Each module exports
// `run(): Promise<void>` and prints its figures with emit() from harness.ts. Several benchmarks run
// one process each, so peak-memory figures and the thread pool start fresh for every one.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const want = process.argv.slice(2);
for (const w of want) {
  if (!all.includes(w)) {
    process.stderr.write(`bench: unknown benchmark '${w}' (have: ${all.join(', ')})\n`);
    process.exit(2);
  }
}
const names = want.length ? want : all;
if (names.length === 1) {
  const mod = await import(pathToFileURL(join(here, `${names[0]}.bench.ts`)).href);
  await mod.run();
} else {
  let failed = 0;
  for (const name of names) {
    process.stderr.write(`== ${name}\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), name], { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`bench: ${name} failed (exit ${r.status ?? r.signal})\n`);
      failed++;
    }
  }
  if (failed) process.exit(1);
}
