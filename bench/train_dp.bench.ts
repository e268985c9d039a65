// train_dp: data-parallel training over MPI (train/distributed.ts) — tokens/s of 2 single-threaded
// ranks (mpirun -np 2, each with its own batch of `small`) against 1 single-threaded process taking
// the same step alone, in the same run (target ≥ 1.8×), and the all-reduce's share of a step.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { emit, log } from './harness.ts';
import { cpuModel } from './train_step.bench.ts';

const here = import.meta.dirname;

function launch(cmd: string, args: string[]): { ranks: number; tokens_per_sec: number; allreduce_share: number; mpi: string | null } | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, GPTKIT_THREADS: '1', OMPI_MCA_btl: 'self,tcp' } });
  if (r.status !== 0) { log(`train_dp: ${cmd} failed: ${r.stderr.slice(-500)}`); return null; }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export async function run(): Promise<void> {
  const worker = [process.execPath, '--import', 'tsx', join(here, 'train_dp_worker.ts'), 'small', '6'];
  const one = launch(worker[0], worker.slice(1));
  const root = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  const two = launch('mpirun', [...root, '--oversubscribe', '--bind-to', 'none', '-np', '2', ...worker]);
  if (!one || !two) return;
  emit({
    name: 'train_dp', config: 'small', ranks: 2, threads_per_rank: 1, value: Number(two.tokens_per_sec.toFixed(1)), unit: 'tokens/s',
    ref: '1 process, 1 thread', ref_value: Number(one.tokens_per_sec.toFixed(1)), allreduce_share: Number(two.allreduce_share.toFixed(4)), mpi: two.mpi, cpu: cpuModel(),
  });
}
