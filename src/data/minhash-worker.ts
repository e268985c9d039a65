// Worker thread entry for BatchPool (batch.ts): receives {id, bytes, offsets}, replies with the
// batch's keys, scores and MinHash signatures, transferring the result buffers back.
import { parentPort, workerData } from 'node:worker_threads';
import { BatchState, type BatchSpec, type BatchInput } from './batch.ts';

const state = new BatchState(workerData as BatchSpec);

parentPort!.on('message', (m: { id: number } & BatchInput) => {
  const out = state.process(m);
  const transfer = [out.keys, out.scores, out.sigs, out.shingles].filter((a) => a !== null).map((a) => a!.buffer as ArrayBuffer);
  parentPort!.postMessage({ id: m.id, ...out }, transfer);
});
