// Worker thread for encodeParallel (parallel.ts): builds the tokenizer from the packed spec it is
// started with, then encodes each chunk it is sent and posts the ids back (transferred, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import { Tokenizer } from './bpe.ts';
import { unpackSpec, type PackedSpec, type ChunkRequest } from './parallel.ts';

const tokenizer = new Tokenizer(unpackSpec(workerData as PackedSpec));
parentPort!.on('message', (req: ChunkRequest) => {
  const ids = Int32Array.from(tokenizer.encode(req.text, { allowedSpecial: req.allowedSpecial }));
  parentPort!.postMessage({ index: req.index, ids }, [ids.buffer]);
});
