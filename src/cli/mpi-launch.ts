// `--ranks N` of the training commands: the same command again under `mpirun -np N` (train/distributed.ts).
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../util/errors.ts';
import type { FlagSpec } from './flags.ts';

export const ranksFlag: FlagSpec = {
  type: 'number', range: { min: 1, int: true }, default: 1,
  help: 'data-parallel processes: runs this command under mpirun -np N (each rank takes its share of every batch; gradients summed by MPI). Same as launching `mpirun -np N npx gptkit …` yourself, which also spans hosts with a hostfile',
};

/**
 * `--ranks N`: this same command again under `mpirun -np N` (without --ranks), each rank with its
 * share of the cores for its kernels. mpirun ends every rank when one dies, and says which.
 */
export async function runUnderMpi(command: string, ranks: number, argv: string[]): Promise<number> {
  if (spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new ConfigError('--ranks needs MPI\'s mpirun on the PATH', 'apt-get install openmpi-bin libopenmpi-dev, then npm run build:native (builds gptkit\'s MPI addon)');
  }
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ranks') { i++; continue; }
    if (argv[i].startsWith('--ranks=')) continue;
    rest.push(argv[i]);
  }
  const threads = process.env.GPTKIT_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / ranks)));
  const bin = fileURLToPath(new URL('../../bin/gptkit.mjs', import.meta.url));
  const root = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  const args = [...root, '--oversubscribe', '--bind-to', 'none', '-np', String(ranks), '-x', `GPTKIT_THREADS=${threads}`, process.execPath, bin, command, ...rest];
  const child = spawn('mpirun', args, { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}
