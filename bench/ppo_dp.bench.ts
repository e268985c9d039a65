// ppo_dp: `gptkit ppo --ranks 2` (1 kernel thread a rank) against one process with 2 threads, on
// the cores of one machine: seconds per PPO-ptx iteration on `small` (the ppo_iteration setup: 16
// episodes of up to 48 tokens, minibatches of 8, 8 pretraining sequences per episode), by phase.
// Every rank samples and scores the whole batch and the minibatch updates are split
// (pipeline/ppo.ts), so ranks can only speed up the update. Runs alternate (one process, two ranks,
// one, two); each run's first iteration warms up and is left out; the median of the rest.
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emit, log, median } from './harness.ts';
import { cpuModel } from './train_step.bench.ts';
import { ppoBenchFixture } from './ppo_iteration.bench.ts';

const root = join(import.meta.dirname, '..');
type Phases = { rollout: number; scoring: number; update: number; total: number };

export async function run(): Promise<void> {
  if (spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status !== 0) {
    log('ppo_dp: mpirun not found (apt-get install openmpi-bin libopenmpi-dev, then npm run build:native); no figures');
    emit({ name: 'ppo_dp', config: 'small', value: null as unknown as number, unit: 's/iteration', ref: '1 process, 2 threads', ref_value: null, error: 'MPI not installed' });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-bench-ppo-dp-'));
  try {
    const { world } = await ppoBenchFixture(dir);
    const args = ['ppo', '--policy', join(dir, 'sft'), '--reward', join(dir, 'rm'), '--world', world, '--iterations', '3', '--batch-size', '16', '--minibatch', '8', '--max-new-tokens', '48', '--seed', '1', '--json'];
    const its: Record<'one' | 'two', Phases[]> = { one: [], two: [] };
    for (const [i, which] of (['one', 'two', 'one', 'two'] as const).entries()) {
      const env = { ...process.env, GPTKIT_THREADS: which === 'one' ? '2' : '1', OMPI_MCA_btl: 'self,tcp' };
      const r = spawnSync(process.execPath, [join(root, 'bin', 'gptkit.mjs'), ...args, '--out', join(dir, `out${i}`), ...(which === 'two' ? ['--ranks', '2'] : [])], { encoding: 'utf8', env });
      if (r.status !== 0) throw new Error(`ppo_dp: gptkit ppo failed: ${r.stderr.slice(-2000)}`);
      const seconds = r.stdout.split('\n').filter((l) => l.includes('"type":"iteration"')).map((l) => JSON.parse(l).seconds).slice(1);
      for (const s of seconds) its[which].push({ ...s, total: s.rollout + s.scoring + s.update });
      log(`${which === 'one' ? '1 process × 2 threads' : '2 ranks × 1 thread'}: ${seconds.map((s) => `rollout ${s.rollout.toFixed(2)} scoring ${s.scoring.toFixed(2)} update ${s.update.toFixed(2)}`).join('; ')}`);
    }
    const med = (xs: Phases[], k: keyof Phases) => Number(median(xs.map((x) => x[k])).toFixed(2));
    const phases = (xs: Phases[]) => ({ rollout: med(xs, 'rollout'), scoring: med(xs, 'scoring'), update: med(xs, 'update') });
    // Seconds: lower is better, so the ratio (value / ref) below 1 is the speed-up's inverse.
    emit({
      name: 'ppo_dp', config: 'small', ranks: 2, threads_per_rank: 1, episodes: 16, value: med(its.two, 'total'), unit: 's/iteration', ref: '1 process, 2 threads',
      ref_value: med(its.one, 'total'), phases: phases(its.two), ref_phases: phases(its.one), cpu: cpuModel(),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
