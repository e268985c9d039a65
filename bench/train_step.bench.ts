// train_step: forward + backward + AdamW tokens/s per config, MFU against the GEMM ceiling measured
// in this run, and peak RSS, beside PyTorch CPU at its best of 1 and 2 threads (same model).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, log, runPythonRef, threadEnv, timeIt } from './harness.ts';
import { configs } from './train_step_worker.ts';
import { backend } from '../src/backend/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

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
  for (const [name, c] of Object.entries(configs)) {
    // Measured again beside each config: on a shared machine the ceiling drifts between configs too.
    const ceiling = gemmCeiling();
    log(`gemm ceiling (1024³, ${backend().threads()} threads, ${backend().name}): ${ceiling.toFixed(1)} GFLOP/s`);
    // Medians of this many timed steps (after warm-up); PyTorch's step time varies ±20% run to run here.
    const steps = name === 'gpt2-124m' ? 5 : name === 'small' ? 7 : 11;
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'train_step_worker.ts'), name, String(steps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) { log(`train_step ${name}: worker failed`); continue; }
    const g = JSON.parse(r.stdout.trim().split('\n').pop()!);
    let best: { tokens_per_sec: number; rss_mb: number; threads: number } | null = null;
    for (const threads of [1, 2]) {
      const ref = runPythonRef(join(here, 'ref', 'train_step_ref.py'), [c.nLayer, c.nHead, c.nEmbd, c.blockSize, c.vocabSize, c.batch, threads, steps].map(String), ['torch'], threadEnv(threads));
      if (ref && (!best || ref.tokens_per_sec > best.tokens_per_sec)) best = ref;
    }
    const mfu = (g.flops_per_token * g.tokens_per_sec) / (ceiling * 1e9);
    emit({
      name: 'train_step', config: name, threads: g.threads, value: Number(g.tokens_per_sec.toFixed(1)), unit: 'tokens/s',
      ref: best ? 'pytorch-cpu' : null, ref_value: best ? Number(best.tokens_per_sec.toFixed(1)) : null,
      mfu: Number(mfu.toFixed(3)), gemm_ceiling_gflops: Number(ceiling.toFixed(1)),
      rss_mb: Math.round(g.rss_mb), ref_rss_mb: best ? Math.round(best.rss_mb) : null, ref_threads: best?.threads ?? null, backend: g.backend,
    });
  }
}
