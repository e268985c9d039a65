// train_step: forward + backward + AdamW tokens/s per config, MFU against the GEMM ceiling measured
// in this run (`mfu`) and against the CPU's FMA peak measured in this process (`mfu_peak`, of the
// hardware: src/backend/peak.ts), and peak RSS, beside PyTorch 2.13 (the venv: MKL + oneDNN, SDPA; eager and
// torch.compile, the best of those at 1 and 2 threads) and, as a second column, Debian's PyTorch 1.13.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, log, runPythonRef, runVenvRef, threadEnv, timeIt } from './harness.ts';
import { configs } from './train_step_worker.ts';
import { backend } from '../src/backend/index.ts';
import { measurePeakGflops } from '../src/backend/peak.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** The CPU this ran on (machines differ: every line records it). */
export function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * GFLOP/s of a 1024³ GEMM on all threads: the ceiling MFU is measured against. Best of three
 * rounds, so a moment of load on a shared machine does not lower the ceiling (and raise MFU).
 */
function gemmCeiling(): number {
  const n = 1024;
  const a = new Float32Array(n * n).fill(0.5), b = new Float32Array(n * n).fill(0.25), c = new Float32Array(n * n);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const s = timeIt(() => backend().gemm({ transA: false, transB: false, m: n, n, k: n, alpha: 1, a, aOffset: 0, lda: n, b, bOffset: 0, ldb: n, beta: 0, c, cOffset: 0, ldc: n, bias: null, batch: 1, strideA: 0, strideB: 0, strideC: 0 }), 5, 2);
    best = Math.max(best, (2 * n ** 3) / s / 1e9);
  }
  return best;
}

export async function run(): Promise<void> {
  // GPTKIT_TRAIN_STEP_CONFIGS=gpt2-124m (comma-separated) runs only those configs.
  const only = process.env.GPTKIT_TRAIN_STEP_CONFIGS?.split(',');
  for (const [name, c] of Object.entries(configs)) {
    if (only && !only.includes(name)) continue;
    // Measured again beside each config: on a shared machine the ceiling drifts between configs too.
    const ceiling = gemmCeiling();
    const peak = measurePeakGflops()?.gflops ?? null;
    log(`gemm ceiling (1024³, ${backend().threads()} threads, ${backend().name}): ${ceiling.toFixed(1)} GFLOP/s; FMA peak ${peak?.toFixed(1) ?? 'n/a (no native addon)'} GFLOP/s`);
    // Medians of this many timed steps (after warm-up); PyTorch's step time varies ±20% run to run here.
    const steps = name === 'gpt2-124m' ? 5 : name === 'small' ? 7 : 11;
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'train_step_worker.ts'), name, String(steps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) { log(`train_step ${name}: worker failed`); continue; }
    const g = JSON.parse(r.stdout.trim().split('\n').pop()!);
    type Ref = { tokens_per_sec: number; rss_mb: number; threads: number; torch: string; blas?: string; mode?: string };
    const better = (a: Ref | null, b: Ref | null) => (!a || (b && b.tokens_per_sec > a.tokens_per_sec) ? b : a);
    const args = (threads: number) => [c.nLayer, c.nHead, c.nEmbd, c.blockSize, c.vocabSize, c.batch, threads, steps].map(String);
    let pt2: Ref | null = null, debian: Ref | null = null;
    for (const threads of [1, 2]) {
      for (const mode of ['eager', 'compile']) pt2 = better(pt2, runVenvRef(join(here, 'ref', 'train_step_ref.py'), [...args(threads), mode], threadEnv(threads)));
      debian = better(debian, runPythonRef(join(here, 'ref', 'train_step_ref.py'), args(threads), ['torch'], threadEnv(threads)));
    }
    const mfu = (g.flops_per_token * g.tokens_per_sec) / (ceiling * 1e9);
    const r1 = (x: number) => Number(x.toFixed(1));
    emit({
      name: 'train_step', config: name, threads: g.threads, value: r1(g.tokens_per_sec), unit: 'tokens/s',
      ref: pt2 ? `pytorch-${pt2.torch}` : null, ref_value: pt2 ? r1(pt2.tokens_per_sec) : null,
      ref_blas: pt2?.blas ?? null, ref_mode: pt2?.mode ?? null, ref_threads: pt2?.threads ?? null, ref_rss_mb: pt2 ? Math.round(pt2.rss_mb) : null,
      ref_debian: debian ? `pytorch-${debian.torch}` : null, ref_debian_value: debian ? r1(debian.tokens_per_sec) : null,
      ratio_debian: debian ? Number((g.tokens_per_sec / debian.tokens_per_sec).toFixed(3)) : null, ref_debian_blas: debian?.blas ?? null,
      mfu: Number(mfu.toFixed(3)), gemm_ceiling_gflops: r1(ceiling),
      mfu_peak: peak ? Number(((g.flops_per_token * g.tokens_per_sec) / (peak * 1e9)).toFixed(3)) : null, peak_gflops: peak ? r1(peak) : null, rss_mb: Math.round(g.rss_mb), backend: g.backend, cpu: cpuModel(),
    });
  }
}
