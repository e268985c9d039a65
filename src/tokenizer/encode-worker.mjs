// Worker entry for encodeParallel.
// In the published package the compiled encode-worker.js sits beside this file; in a checkout, tsx is
// registered in this thread (a worker does not inherit its parent's loader hooks) to run the .ts.
import { existsSync } from 'node:fs';
const compiled = new URL('./encode-worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  (await import('tsx/esm/api')).register();
  await import('./encode-worker.ts');
}
