// One train_step measurement in its own process (so peak RSS belongs to this config alone).
// argv: config name, steps, precision (f32 | bf16, default f32). Prints one JSON line.
import { GPT, gptConfig, flopsPerToken } from '../src/models/gpt.ts';
import { Trainer } from '../src/train/trainer.ts';
import { RandomWindows } from '../src/train/batches.ts';
import { backend } from '../src/backend/index.ts';
import type { Precision } from '../src/tensor/autocast.ts';
import { median, peakRssMb } from './harness.ts';

export const configs: Record<string, { nLayer: number; nHead: number; nEmbd: number; blockSize: number; vocabSize: number; batch: number }> = {
  tiny: { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 128, vocabSize: 512, batch: 32 },
  small: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, vocabSize: 4096, batch: 16 },
  'gpt2-124m': { nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 256, vocabSize: 50257, batch: 4 },
};

/** The benchmark's model and trainer for a config (BENCH.md: random tokens, no dropout), warmed up by two steps. */
export function benchTrainer(name: string, precision: Precision = 'f32'): { c: (typeof configs)[string]; cfg: ReturnType<typeof gptConfig>; trainer: Trainer } {
  const c = configs[name];
  if (!c) throw new Error(`unknown train_step config '${name}' (have: ${Object.keys(configs).join(', ')})`);
  const cfg = gptConfig('tiny', { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, blockSize: c.blockSize, vocabSize: c.vocabSize, dropout: 0 });
  const model = new GPT(cfg);
  const tokens = new Int32Array(100_000);
  for (let i = 0; i < tokens.length; i++) tokens[i] = (i * 2654435761) % c.vocabSize;
  const data = new RandomWindows(tokens, c.batch, c.blockSize, 1);
  const trainer = new Trainer(model, (b) => model.forward(b.ids, b.B, b.T, b.targets).loss!, { train: data }, { steps: 1000, warmupSteps: 1, precision });
  for (let i = 0; i < 2; i++) trainer.runStep();
  return { c, cfg, trainer };
}

if (process.argv[1]?.endsWith('train_step_worker.ts')) {
  const steps = Number(process.argv[3] ?? 5);
  const { c, cfg, trainer } = benchTrainer(process.argv[2], (process.argv[4] ?? 'f32') as Precision);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainer.runStep();
    times.push((performance.now() - t0) / 1000);
  }
  const tps = (c.batch * c.blockSize) / median(times);
  process.stdout.write(JSON.stringify({ tokens_per_sec: tps, flops_per_token: flopsPerToken(cfg, c.blockSize), rss_mb: peakRssMb(), backend: backend().name, threads: backend().threads(), bf16_path: backend().bf16Path() }) + '\n');
}
