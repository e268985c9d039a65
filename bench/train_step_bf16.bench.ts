// train_step_bf16: a bf16 mixed-precision training step (tensor/autocast.ts: the matrix products in
// bf16 with float32 sums, on AVX512_BF16 where the CPU has it) in tokens/s, against gptkit's float32
// step on the same config in the same run (target ≥ 1.6× on small and gpt2-124m), and against
// PyTorch 2.13 with torch.autocast('cpu', torch.bfloat16) on the same model (eager and torch.compile,
// the best of 1 and 2 threads). gptkit's steps run in their own processes (bench/train_step_worker.ts).
// Where the CPU has vdpbf16ps but the default emulates (it measured slower than FMAs), the forced
// vdpbf16ps step is reported too (`value_forced_native`), so the choice can be checked.
// GPTKIT_TRAIN_STEP_CONFIGS=small (comma-separated) runs only those configs, as in train_step.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, log, runVenvRef, threadEnv } from './harness.ts';
import { configs } from './train_step_worker.ts';
import { cpuModel } from './train_step.bench.ts';
import { loadAddon } from '../src/backend/native/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

function gptkitStep(name: string, steps: number, precision: 'f32' | 'bf16', env: Record<string, string> = {}): { tokens_per_sec: number; rss_mb: number; threads: number; bf16_path: string } | null {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'train_step_worker.ts'), name, String(steps), precision], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  if (r.status !== 0) { log(`train_step_bf16 ${name} ${precision}: worker failed`); return null; }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export async function run(): Promise<void> {
  const only = process.env.GPTKIT_TRAIN_STEP_CONFIGS?.split(',');
  const dot = loadAddon();
  for (const name of ['small', 'gpt2-124m'].filter((n) => !only || only.includes(n))) {
    const c = configs[name];
    const steps = name === 'gpt2-124m' ? 5 : 7;
    const f32 = gptkitStep(name, steps, 'f32');
    const bf16 = gptkitStep(name, steps, 'bf16');
    if (!f32 || !bf16) continue;
    const forced = bf16.bf16_path === 'emulated' && dot?.bf16Supported() ? gptkitStep(name, steps, 'bf16', { GPTKIT_BF16: 'native' }) : null;
    type Ref = { tokens_per_sec: number; rss_mb: number; threads: number; torch: string; mode: string };
    let pt: Ref | null = null;
    for (const threads of [1, 2]) {
      for (const mode of ['eager', 'compile']) {
        const r: Ref | null = runVenvRef(join(here, 'ref', 'train_step_ref.py'), [c.nLayer, c.nHead, c.nEmbd, c.blockSize, c.vocabSize, c.batch, threads, steps, mode, 'bf16'].map(String), threadEnv(threads));
        if (r && (!pt || r.tokens_per_sec > pt.tokens_per_sec)) pt = r;
      }
    }
    const r1 = (x: number) => Number(x.toFixed(1));
    emit({
      name: 'train_step_bf16', config: name, threads: bf16.threads, value: r1(bf16.tokens_per_sec), unit: 'tokens/s',
      ref: 'gptkit-f32', ref_value: r1(f32.tokens_per_sec), ratio: Number((bf16.tokens_per_sec / f32.tokens_per_sec).toFixed(3)), target: 1.6,
      ref_pytorch: pt ? `pytorch-${pt.torch} autocast bf16` : null, ref_pytorch_value: pt ? r1(pt.tokens_per_sec) : null,
      ratio_pytorch: pt ? Number((bf16.tokens_per_sec / pt.tokens_per_sec).toFixed(3)) : null, ref_pytorch_mode: pt?.mode ?? null, ref_pytorch_threads: pt?.threads ?? null,
      bf16_path: bf16.bf16_path,
      ...(forced ? { value_forced_native: r1(forced.tokens_per_sec), bf16_dot_speed: dot!.bf16DotSpeed() } : {}),
      rss_mb: Math.round(bf16.rss_mb), rss_mb_f32: Math.round(f32.rss_mb), ref_pytorch_rss_mb: pt ? Math.round(pt.rss_mb) : null, cpu: cpuModel(),
    });
  }
}
