// bert_train_step: BertForPreTraining forward + backward + AdamW (MLM on 15% of positions + NSP,
// random tokens, no padding, dropout 0, fp32) in tokens/s and MFU against the GEMM ceiling measured
// in this run, beside transformers' BertForPreTraining on PyTorch 2.13 (the venv) with the same
// config, batch and labels, best of 1 and 2 threads. gptkit runs the MLM head on the selected
// positions only; transformers projects every position (its BertForPreTraining does), so part of
// the ratio is that design choice — MFU counts the same model FLOPs (6·N + attention) for both.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { emit, log, runVenvRef, threadEnv, timeIt, peakRssMb } from './harness.ts';
import { backend } from '../src/backend/index.ts';
import { BertForPreTraining, bertConfig, bertFlopsPerToken } from '../src/models/bert.ts';
import { AdamW, decayGroups } from '../src/optim/adamw.ts';
import { scope } from '../src/tensor/tensor.ts';
import { Rng } from '../src/util/rng.ts';

const here = dirname(fileURLToPath(import.meta.url));
const configs: Record<string, { nLayer: number; nHead: number; nEmbd: number; seq: number; vocabSize: number; batch: number }> = {
  'bert-mini': { nLayer: 4, nHead: 4, nEmbd: 256, seq: 128, vocabSize: 8192, batch: 16 },
  'bert-base': { nLayer: 12, nHead: 12, nEmbd: 768, seq: 128, vocabSize: 30522, batch: 4 },
};

function cpuModel(): string {
  try { return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown'; } catch { return 'unknown'; }
}

function gemmCeiling(): number {
  const n = 1024, a = new Float32Array(n * n).fill(0.5), b = new Float32Array(n * n).fill(0.25), c = new Float32Array(n * n);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const s = timeIt(() => backend().gemm({ transA: false, transB: false, m: n, n, k: n, alpha: 1, a, aOffset: 0, lda: n, b, bOffset: 0, ldb: n, beta: 0, c, cOffset: 0, ldc: n, bias: null, batch: 1, strideA: 0, strideB: 0, strideC: 0 }), 5, 2);
    best = Math.max(best, (2 * n ** 3) / s / 1e9);
  }
  return best;
}

export async function run(): Promise<void> {
  const only = process.env.BERT_BENCH_CONFIGS?.split(',');
  for (const [name, c] of Object.entries(configs)) {
    if (only && !only.includes(name)) continue;
    const ceiling = gemmCeiling();
    const cfg = bertConfig('bert-base', { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, vocabSize: c.vocabSize, blockSize: 512, dropout: 0 });
    const model = new BertForPreTraining(cfg, 1);
    const opt = new AdamW(decayGroups(model.namedParameters(), 0.01), { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-6 });
    const rng = new Rng(1), B = c.batch, T = c.seq;
    const ids = Int32Array.from({ length: B * T }, () => 5 + rng.int(c.vocabSize - 5));
    const typeIds = Int32Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 ? 1 : 0));
    const mlmLabels = Int32Array.from(ids, (t) => (rng.next() < 0.15 ? t : -100));
    const batch = { ids, typeIds, lengths: new Int32Array(B).fill(T), B, T, mlmLabels, nspLabels: Int32Array.from({ length: B }, () => rng.int(2)) };
    const step = () => {
      opt.zeroGrad();
      scope(() => { const l = model.forward(batch, { selectedOnly: true }).loss!; l.item(); l.backward(); });
      opt.step(1);
    };
    const steps = name === 'bert-base' ? 5 : 9;
    const sec = timeIt(step, steps, 2);
    const tps = (B * T) / sec;
    const mfu = (bertFlopsPerToken(cfg, T) * tps) / (ceiling * 1e9);
    let ref: { tokens_per_sec: number; rss_mb: number; threads: number; torch: string } | null = null;
    for (const threads of [1, 2]) {
      const r = runVenvRef(join(here, 'ref', 'bert_train_step_ref.py'), [c.nLayer, c.nHead, c.nEmbd, T, c.vocabSize, B, threads, steps].map(String), threadEnv(threads));
      if (r && (!ref || r.tokens_per_sec > ref.tokens_per_sec)) ref = r;
    }
    if (!ref) log('bert_train_step: the PyTorch reference needs transformers in .venv-ref');
    const r1 = (x: number) => Number(x.toFixed(1));
    emit({
      name: 'bert_train_step', config: name, threads: backend().threads(), value: r1(tps), unit: 'tokens/s',
      ref: ref ? `pytorch-${ref.torch}+transformers` : null, ref_value: ref ? r1(ref.tokens_per_sec) : null, ref_threads: ref?.threads ?? null,
      ref_rss_mb: ref ? Math.round(ref.rss_mb) : null, mfu: Number(mfu.toFixed(3)), ref_mfu: ref ? Number(((bertFlopsPerToken(cfg, T) * ref.tokens_per_sec) / (ceiling * 1e9)).toFixed(3)) : null,
      gemm_ceiling_gflops: r1(ceiling), rss_mb: Math.round(peakRssMb()), batch: B, seq: T, backend: backend().name, cpu: cpuModel(),
    });
  }
}
