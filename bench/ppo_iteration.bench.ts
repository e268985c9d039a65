// ppo_iteration: seconds per PPO-ptx iteration on the `small` config (6 layers, 384 wide, context
// 256, a 4,096-token BPE vocabulary trained on the small world) with its phases (rollout, scoring,
// update), 16 episodes of up to 48 tokens, minibatches of 8, 8 pretraining sequences per episode.
// ppo_rollout: the rollout phase's tokens/s against plain batched generation of the same model, each
// iteration's own 16 prompts and the same length, in the same run (the `generate` benchmark's batch-16 path): the RL
// bookkeeping should not slow sampling (ratio ≥ 0.8). Models are freshly initialised: the timing
// does not depend on what they learned, and a random model answers to the full length.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emit, log, median } from './harness.ts';
import { generateWorld, writeWorld } from '../src/world/index.ts';
import { trainBpe, readTexts } from '../src/tokenizer/index.ts';
import { GPT, gptConfig } from '../src/models/gpt.ts';
import { backend } from '../src/backend/index.ts';
import { generate } from '../src/generate/generate.ts';
import { sampleToken } from '../src/generate/sampling.ts';
import { Rng } from '../src/util/rng.ts';
import { ChatTemplate } from '../src/rlhf/chat-template.ts';
import { saveChatCheckpoint } from '../src/rlhf/chat-model.ts';
import { RewardModel, REWARD_MODEL_TYPE } from '../src/rlhf/reward.ts';
import { readPromptFile } from '../src/rlhf/records.ts';
import { ppo, type IterationStats } from '../src/pipeline/ppo.ts';

/** The PPO benchmarks' setup in dir: the small world, a 4,096-token chat tokenizer, a `small` policy saved as dir/sft and a reward model from it as dir/rm. */
export async function ppoBenchFixture(dir: string) {
  const world = join(dir, 'world');
  writeWorld(generateWorld({ seed: 0, size: 'small' }), world);
  const tok = await trainBpe(readTexts([join(world, 'corpus', 'reference.jsonl')]), { vocabSize: 4096, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] });
  const chat = new ChatTemplate(tok);
  const policy = new GPT(gptConfig('small', { vocabSize: tok.vocabSize, dropout: 0 }), 1);
  saveChatCheckpoint(join(dir, 'sft'), policy, chat);
  saveChatCheckpoint(join(dir, 'rm'), RewardModel.fromLM(policy, 2), chat, { extra: { model_type: REWARD_MODEL_TYPE } });
  return { world, tok, chat, policy };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-bench-ppo-'));
  try {
    const { world, chat, policy } = await ppoBenchFixture(dir);

    const B = 16, N = 48;
    const its: IterationStats[] = [];
    await ppo({ policy: join(dir, 'sft'), reward: join(dir, 'rm'), world, prompts: ['world'], ptx: ['world'], out: join(dir, 'ppo'), iterations: 3, batchSize: B, minibatch: 8, maxNewTokens: N, seed: 1 },
      (e) => { if (e.type === 'iteration') { its.push(e); log(`iteration ${e.iteration}: rollout ${e.seconds.rollout.toFixed(2)} s, scoring ${e.seconds.scoring.toFixed(2)} s, update ${e.seconds.update.toFixed(2)} s, ${e.responseLength.toFixed(1)} tokens per answer`); } });
    const timed = its.slice(1); // the first iteration warms up buffers and caches
    const sec = (k: keyof IterationStats['seconds']) => median(timed.map((s) => s.seconds[k]));
    const rolloutTokPerSec = median(timed.map((s) => (s.responseLength * B) / s.seconds.rollout));

    // The same sampling without PPO around it: each timed iteration's own prompts (picked and cut as
    // the stage does), the same length limit, batch 16.
    const all = readPromptFile(join(world, 'instruct', 'prompts_train.jsonl')).map((r) => chat.encodePrompt(r.prompt));
    const maxPrompt = policy.config.blockSize - N - 1;
    const ts: number[] = [];
    for (const s of timed) {
      const pick = new Rng(1).fork(`prompts:${s.iteration - 1}`);
      const prompts = Array.from({ length: B }, () => all[pick.int(all.length)]).map((p) => (p.length > maxPrompt ? p.slice(p.length - maxPrompt) : p));
      const rng = new Rng(s.iteration);
      const t0 = performance.now();
      const g = generate(policy.eval(), prompts, (l) => sampleToken(l, rng, { temperature: 1 }).token, { maxTokens: N });
      ts.push(g.reduce((a, x) => a + x.tokens.length, 0) / ((performance.now() - t0) / 1000));
    }
    const genTokPerSec = median(ts);
    const total = sec('rollout') + sec('scoring') + sec('update');
    const common = { config: 'small', episodes: B, max_new_tokens: N, minibatch: 8, ptx_per_episode: 8, threads: backend().threads(), backend: backend().name };
    emit({ name: 'ppo_iteration', value: Number(total.toFixed(2)), unit: 's', ref: null, ref_value: null, ...common, rollout_sec: Number(sec('rollout').toFixed(2)), scoring_sec: Number(sec('scoring').toFixed(2)), update_sec: Number(sec('update').toFixed(2)) });
    emit({ name: 'ppo_rollout', value: Number(rolloutTokPerSec.toFixed(1)), unit: 'tokens/s', ref: 'generate-batch16-same-model', ref_value: Number(genTokPerSec.toFixed(1)), ...common });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
