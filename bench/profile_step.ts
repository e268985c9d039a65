// Where a training step's time goes, kernel by kernel: wraps the backend so every call is timed,
// runs a few steps of a train_step config, and prints a table to stderr (milliseconds per step,
// share of the step, GFLOP/s for GEMMs). Not a benchmark (no reference, no JSON lines): a tool
// for deciding what to speed up next.
//   node --import tsx bench/profile_step.ts small [steps] [f32|bf16]
import { timeKernels, kernelTable } from './timed-backend.ts';
import { benchTrainer } from './train_step_worker.ts';
import type { Precision } from '../src/tensor/autocast.ts';

const name = process.argv[2] ?? 'small';
const steps = Number(process.argv[3] ?? 3);
const precision = (process.argv[4] ?? 'f32') as Precision;

const { stats, record, inner } = timeKernels();

const { c, trainer } = benchTrainer(name, precision); // built on the timed backend, which records nothing yet
record(true);
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainer.runStep();
const stepMs = (performance.now() - t0) / steps;
record(false);

const kernelMs = [...stats.values()].reduce((s, v) => s + v.ms, 0) / steps;
const out: string[] = [`${name}: ${stepMs.toFixed(1)} ms/step, ${((c.batch * c.blockSize) / stepMs * 1000).toFixed(0)} tok/s, kernels ${kernelMs.toFixed(1)} ms, outside kernels ${(stepMs - kernelMs).toFixed(1)} ms (${inner.name}, ${inner.threads()} threads)`, ...kernelTable(stats, steps, stepMs)];
process.stderr.write(out.join('\n') + '\n');
