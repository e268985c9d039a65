// Data-parallel training over MPI: N processes (ranks), each training on its share of every global
// batch, gradients summed by MPI_Allreduce before the optimizer step, so every rank takes the same
// step and the weights stay identical. MPI is the system's (Debian's OpenMPI: `mpirun -np N`, also
// across hosts with a hostfile), bound by a small addon built beside the main one where `mpicxx`
// exists (native/mpi/); without it gptkit runs single-process as before.
//
// Why MPI, not Gloo: it is what CPU clusters already run (schedulers launch it, hostfiles describe
// the machines), its launcher starts and tears down the ranks — when one dies mpirun ends the others
// with a message naming it, so no rank hangs — and its allreduce is tuned for the interconnect. Gloo
// needs a rendezvous store and launcher of our own.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../util/errors.ts';

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** Sum across ranks, in place (every rank ends with the sum). */
  allreduceSum(x: Float32Array | Float64Array): void;
  barrier(): void;
  /** The MPI library's name and version. */
  readonly library: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const mpiAddonPath = join(root, 'native', 'mpi', 'build', 'Release', 'gptkit_mpi.node');

/** Launched by an MPI launcher (mpirun / mpiexec / srun with PMI)? Its world size, else null. */
export function launchedRanks(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env.OMPI_COMM_WORLD_SIZE ?? env.PMI_SIZE ?? env.PMIX_SIZE;
  return v === undefined ? null : Number(v);
}

let world: Communicator | null | undefined;

/**
 * The MPI world when this process was started by mpirun with more than one rank; null when it runs
 * alone. A multi-rank launch without the MPI addon is an error (each rank would train alone).
 */
export function mpiWorld(): Communicator | null {
  if (world !== undefined) return world;
  const n = launchedRanks();
  if (n === null || n <= 1) return (world = null);
  if (!existsSync(mpiAddonPath)) {
    throw new ConfigError(`started by mpirun with ${n} ranks, but gptkit's MPI addon is not built (${mpiAddonPath})`,
      'install MPI (apt-get install libopenmpi-dev openmpi-bin) and run npm run build:native');
  }
  const m = createRequire(import.meta.url)(mpiAddonPath) as {
    init(): { rank: number; size: number }; allreduceSum(x: Float32Array | Float64Array): void; barrier(): void; finalize(): void; version(): string;
  };
  const { rank, size } = m.init();
  process.once('exit', () => m.finalize());
  world = { rank, size, allreduceSum: (x) => m.allreduceSum(x), barrier: () => m.barrier(), library: m.version() };
  return world;
}
