// One process of the train_dp benchmark: the `small` training step (bench/train_step_worker.ts's
// config and data) with the MPI world when started by mpirun. Prints (rank 0) the median step time,
// tokens/s over all ranks and the all-reduce's share of the step.
import { median } from './harness.ts';
import { configs } from './train_step_worker.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { Trainer } from '../src/train/trainer.ts';
import { RandomWindows } from '../src/train/batches.ts';
import { mpiWorld } from '../src/train/distributed.ts';
import { backend } from '../src/backend/index.ts';

const name = process.argv[2] ?? 'small';
const steps = Number(process.argv[3] ?? 6);
const gradAccum = Number(process.argv[4] ?? 1);
const c = configs[name];
const comm = mpiWorld();
const model = new GPT(gptConfig('tiny', { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, blockSize: c.blockSize, vocabSize: c.vocabSize, dropout: 0 }));
const tokens = new Int32Array(200_000);
for (let i = 0; i < tokens.length; i++) tokens[i] = (i * 2654435761) % c.vocabSize;
const trainer = new Trainer(model, (b) => model.forward(b.ids, b.B, b.T, b.targets).loss!, { train: new RandomWindows(tokens, c.batch, c.blockSize, 1) }, { steps: 1000, warmupSteps: 1, gradAccum }, comm);
for (let i = 0; i < 2; i++) trainer.runStep();
const times: number[] = [], reduce: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  trainer.runStep();
  times.push((performance.now() - t0) / 1000);
  reduce.push(trainer.allreduceSec);
}
const ranks = comm?.size ?? 1;
if ((comm?.rank ?? 0) === 0) {
  const step = median(times);
  process.stdout.write(JSON.stringify({ ranks, threads: backend().threads(), step_sec: step, tokens_per_sec: (ranks * gradAccum * c.batch * c.blockSize) / step, allreduce_share: median(reduce) / step, mpi: comm?.library ?? null }) + '\n');
}
