// Worker entry for the serving engine.
// In the published package the compiled engine-worker.js sits beside this file; in a checkout, tsx is
// registered in this thread (a worker does not inherit its parent's loader hooks) to run the .ts.
import { existsSync } from 'node:fs';
const compiled = new URL('./engine-worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  (await import('tsx/esm/api')).register();
  await import('./engine-worker.ts');
}
