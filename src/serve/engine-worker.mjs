// Worker entry for the serving engine: registers tsx in this thread (a worker does not inherit the
// loader hooks of its parent), then runs the TypeScript worker.
import { register } from 'tsx/esm/api';
register();
await import('./engine-worker.ts');
