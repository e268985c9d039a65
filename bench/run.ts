// `npm run bench [-- NAME …]`: runs every bench/*.bench.ts (or the named ones). Each module exports
// `run(): Promise<void>` and prints its figures with emit() from harness.ts.
import { readdirSync } from 'node:fs';
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
for (const name of want.length ? want : all) {
  process.stderr.write(`== ${name}\n`);
  const mod = await import(pathToFileURL(join(here, `${name}.bench.ts`)).href);
  await mod.run();
}
