// sft_step, rm_step, dpo_step: sequences per second through one optimizer step (forward + backward +
// AdamW + clipping) of each RLHF loss, on the `tiny` train_step config (4 layers, 128 wide, 128 tokens,
// vocabulary 512) with 16 sequences per step, beside TRL 1.13's losses on PyTorch 2.13 at its best of
// 1 and 2 threads (bench/ref/rlhf_step_ref.py, run with .venv-ref's Python; see BENCH.md).
//   sft — the second half of each sequence is the assistant's (loss), the first half masked
//   rm  — 4 prompts × K = 4 responses in gptkit (all 6 pairs of each prompt from one forward each);
//         TRL's RewardTrainer takes the same 16 sequences as 8 chosen/rejected pairs. `pairs_per_sec`
//         says how many comparisons each learns from per second.
//   dpo — 8 pairs, reference log-probabilities precomputed on both sides
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { emit, log, median, threadEnv } from './harness.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { Trainer } from '../src/train/trainer.ts';
import type { Batch } from '../src/train/batches.ts';
import { backend } from '../src/backend/index.ts';
import { Rng } from '../src/util/rng.ts';
import { sftLoss, IGNORE } from '../src/rlhf/sft.ts';
import { RewardModel, rewardLoss, type RankedBatch } from '../src/rlhf/reward.ts';
import { dpoBatchLoss, type PairBatch } from '../src/rlhf/dpo.ts';

const C = { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 128, vocabSize: 512 };
const S = 16, T = C.blockSize, K = 4;
const PYTHON = '.venv-ref/bin/python';

function seqPerSec(model: GPT, loss: (b: Batch) => ReturnType<typeof sftLoss>, batch: Batch, steps: number): number {
  const trainer = new Trainer(model, loss, { train: { next: () => batch, state: () => null, restore: () => {} } }, { steps: steps + 2, warmupSteps: 0, lr: 1e-4, minLr: 1e-4, weightDecay: 0, evalEvery: 0 });
  trainer.runStep();
  trainer.runStep();
  const ts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainer.runStep();
    ts.push((performance.now() - t0) / 1000);
  }
  return S / median(ts);
}

function reference(steps: number): { sft: number; rm: number; dpo: number; threads: number } | null {
  if (!existsSync(PYTHON)) {
    log(`reference skipped: no ${PYTHON} (python3.11 -m venv .venv-ref && .venv-ref/bin/pip install torch==2.13.0 transformers==5.18.0 trl==1.13.0 numpy)`);
    return null;
  }
  let best: { sft: number; rm: number; dpo: number; threads: number } | null = null;
  for (const threads of [1, 2]) {
    const r = spawnSync(PYTHON, ['bench/ref/rlhf_step_ref.py', ...[C.nLayer, C.nHead, C.nEmbd, T, C.vocabSize, S, threads, steps].map(String)], { env: { ...process.env, ...threadEnv(threads) }, encoding: 'utf8' });
    if (r.status !== 0) { log(`reference failed: ${r.stderr.slice(-1500)}`); continue; }
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    if (!best) best = j;
    else best = { sft: Math.max(best.sft, j.sft), rm: Math.max(best.rm, j.rm), dpo: Math.max(best.dpo, j.dpo), threads: j.sft > best.sft ? threads : best.threads };
  }
  return best;
}

export async function run(): Promise<void> {
  const steps = 7;
  const rng = new Rng(0);
  const ids = Int32Array.from({ length: S * T }, () => 1 + rng.int(C.vocabSize - 1));
  const targets = new Int32Array(S * T);
  for (let b = 0; b < S; b++) for (let t = 0; t < T; t++) targets[b * T + t] = t < T / 2 ? IGNORE : ids[b * T + Math.min(t + 1, T - 1)];
  const cfg = gptConfig('tiny', { ...C, dropout: 0 });

  const lm = new GPT(cfg, 1);
  const sft = seqPerSec(lm, (b) => sftLoss(lm, b), { ids, targets, B: S, T }, steps);

  const rmModel = new RewardModel(cfg, 2);
  const rb: RankedBatch = { ids, targets: new Int32Array(0), B: S, T, lengths: new Int32Array(S).fill(T), groups: Array.from({ length: S / K }, (_, g) => ({ offset: g * K, ranking: [0, 1, 2, 3] })) };
  const rm = seqPerSec(rmModel, (b) => rewardLoss(rmModel, b), rb, steps);

  const policy = new GPT(cfg, 3);
  const pb: PairBatch = { ids, targets, B: S, T, refChosen: new Float32Array(S / 2).fill(-50), refRejected: new Float32Array(S / 2).fill(-49) };
  const dpo = seqPerSec(policy, (b) => dpoBatchLoss(policy, b, 0.1), pb, steps);

  const ref = reference(steps);
  const common = { config: 'tiny', batch: S, tokens: T, threads: backend().threads(), backend: backend().name, ref_threads: ref?.threads ?? null };
  const refName = ref ? 'trl-1.13-pytorch-2.13' : null;
  emit({ name: 'sft_step', value: Number(sft.toFixed(2)), unit: 'sequences/s', ref: refName, ref_value: ref ? Number(ref.sft.toFixed(2)) : null, ...common });
  emit({
    name: 'rm_step', value: Number(rm.toFixed(2)), unit: 'sequences/s', ref: refName, ref_value: ref ? Number(ref.rm.toFixed(2)) : null, ...common,
    pairs_per_sec: Number((rm * (K * (K - 1) / 2) / K).toFixed(2)), ref_pairs_per_sec: ref ? Number((ref.rm / 2).toFixed(2)) : null,
  });
  emit({ name: 'dpo_step', value: Number(dpo.toFixed(2)), unit: 'sequences/s', ref: refName, ref_value: ref ? Number(ref.dpo.toFixed(2)) : null, ...common });
}
