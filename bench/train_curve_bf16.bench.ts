// train_curve_bf16: does bf16 mixed precision train as well as float32? `small` (6 × 384, context
// 256, batch 16) is pretrained through the CLI on the embedded world's text for 2,000 steps in float32
// and in bf16 from the same seed, and in float32 from a second seed. The verdict, fixed before any
// run: bf16 is "within noise" when its final validation loss is no further from float32's (same seed)
// than float32's from itself on another seed. Both curves are printed (validation loss every 100 steps).
// The three runs go two at a time, each on half the cores. GPTKIT_CURVE_STEPS shortens the runs and
// GPTKIT_CURVE_BATCH (default 16 sequences of 256 tokens) shrinks the batch; the line records both.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, log } from './harness.ts';
import { cpuModel } from './train_step.bench.ts';
import { trainBpe } from '../src/tokenizer/index.ts';
import { generateWorld } from '../src/world/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

interface Run { precision: 'f32' | 'bf16'; seed: number }
interface Result extends Run { curve: [number, number][]; final: number; seconds: number; bf16Path?: string }

function pretrain(r: Run, dir: string, steps: number, batch: number, threads: number): Promise<Result> {
  const args = [join(root, 'bin', 'gptkit.mjs'), 'pretrain', '--json', '--data', join(dir, 'corpus.jsonl'), '--tokenizer', join(dir, 'tok'),
    '--out', join(dir, `${r.precision}-${r.seed}`), '--preset', 'small', '--dropout', '0', '--batch-size', String(batch), '--steps', String(steps),
    '--warmup-steps', String(Math.round(steps / 20)), '--lr', '1e-3', '--min-lr', '1e-4', '--eval-every', '100', '--eval-batches', '16',
    '--seed', String(r.seed), '--precision', r.precision];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env: { ...process.env, GPTKIT_THREADS: String(threads) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const curve: [number, number][] = [];
    child.stdout.on('data', (d) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const e = JSON.parse(line);
        if (e.type === 'eval') {
          curve.push([e.step, e.valLoss]);
          log(`train_curve_bf16: ${r.precision} seed ${r.seed}: step ${e.step} validation loss ${e.valLoss.toFixed(4)}`);
        }
      }
    });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`pretrain ${r.precision} seed ${r.seed} exited ${code}`));
      resolve({ ...r, curve, final: curve.at(-1)![1], seconds: (performance.now() - t0) / 1000 });
    });
  });
}

export async function run(): Promise<void> {
  const steps = Number(process.env.GPTKIT_CURVE_STEPS ?? 2000);
  const batch = Number(process.env.GPTKIT_CURVE_BATCH ?? 16);
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-bench-curve-'));
  const docs = [...generateWorld({ seed: 1, size: 'medium' }).reference(20_000_000)].map((d) => d.text);
  writeFileSync(join(dir, 'corpus.jsonl'), docs.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  const tok = await trainBpe(docs, { vocabSize: 4096, specialTokens: ['<|endoftext|>'], minFrequency: 1 });
  tok.save(join(dir, 'tok'));
  log(`train_curve_bf16: ${docs.length} documents in ${dir}; ${steps} steps of ${batch} × 256 tokens per run`);
  const threads = Math.max(1, Math.floor(availableParallelism() / 2));
  const queue: Run[] = [{ precision: 'f32', seed: 1 }, { precision: 'bf16', seed: 1 }, { precision: 'f32', seed: 2 }];
  const results: Result[] = [];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) results.push(await pretrain(r, dir, steps, batch, threads));
  };
  await Promise.all([worker(), worker()]);
  const get = (p: string, s: number) => results.find((r) => r.precision === p && r.seed === s)!;
  const f32 = get('f32', 1), bf16 = get('bf16', 1), f32b = get('f32', 2);
  const gap = Math.abs(bf16.final - f32.final), noise = Math.abs(f32b.final - f32.final);
  const r4 = (x: number) => Number(x.toFixed(4));
  emit({
    name: 'train_curve_bf16', config: 'small', steps, batch, value: r4(bf16.final), unit: 'validation loss', ref: 'gptkit-f32', ref_value: r4(f32.final),
    ratio: Number((bf16.final / f32.final).toFixed(4)), gap: r4(gap), noise_f32_seed_to_seed: r4(noise), f32_seed2_value: r4(f32b.final),
    verdict: gap <= noise ? 'within noise' : 'outside noise', seconds: { f32: Math.round(f32.seconds), bf16: Math.round(bf16.seconds), f32_seed2: Math.round(f32b.seconds) },
    threads_per_run: threads, curve_f32: f32.curve.map(([s, l]) => [s, r4(l)]), curve_bf16: bf16.curve.map(([s, l]) => [s, r4(l)]),
    curve_f32_seed2: f32b.curve.map(([s, l]) => [s, r4(l)]), cpu: cpuModel(),
  });
}
