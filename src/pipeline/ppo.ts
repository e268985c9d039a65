// The PPO stage (InstructGPT step 3, PPO-ptx): the policy starts as the SFT model, the value model
// as the reward model, a frozen SFT copy is the KL reference and the RM is frozen. Each iteration
// samples answers to a batch of prompts, scores them, and takes one epoch of minibatch updates;
// with --ptx-coef > 0 every minibatch also takes γ_ptx · the LM loss on pretraining text (8
// sequences per episode, as the paper). The policy's EMA (decay 0.992) is what `out/` holds and what
// evaluation uses.
//
//   out/         the EMA policy (a chat model: what `gptkit judge --model` reads)
//   out/last/    the raw policy + its optimizer state;  out/value/   the value model + its optimizer
//   out/metrics.jsonl   one record per iteration
// Checkpoints are at iteration boundaries, so resuming replays exactly the iterations that were lost.
//
// Data parallel (`gptkit ppo --ranks N`, train/distributed.ts): every rank samples and scores the
// whole batch of episodes (the same episodes on every rank: one random stream over the batch, and
// batched decoding whose padding depends on the batch, so a rank answering half the prompts would
// not answer them as one process does), and each minibatch update is split: a minibatch is cut in
// gradAccum × N equal pieces, each rank takes its own, and the gradients are summed by MPI before
// the step. N ranks take the steps of one process with --grad-accum N, bit for bit with N = 2.
// Only the update phase is shared out; rank 0 alone writes.
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Trainer, type TrainOptions } from '../train/trainer.ts';
import type { Batch, BatchSource } from '../train/batches.ts';
import { RandomWindows } from '../train/batches.ts';
import { openCheckpointDir, loadCheckpoint, loadTrainerState, hasTrainerState } from '../interop/checkpoint.ts';
import type { OutputDir } from '../util/output.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { backend } from '../backend/index.ts';
import { ConfigError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import * as op from '../tensor/ops.ts';
import { readDocuments } from '../data/index.ts';
import type { GPT, GptConfig } from '../models/gpt.ts';
import type { ChatTemplate } from '../rlhf/chat-template.ts';
import { loadChatModel, cloneGpt, saveChatCheckpoint } from '../rlhf/chat-model.ts';
import { readPromptFile } from '../rlhf/records.ts';
import { loadRewardModel, RewardModel, REWARD_MODEL_TYPE } from '../rlhf/reward.ts';
import { rollout, scoreEpisodes, episodeBatch, responseLogprobs, responseValues, explainedVariance, WeightEma, type Episode } from '../rlhf/ppo.ts';
import { policyLoss, valueLoss } from '../rlhf/ppo-losses.ts';
import { resolveData, DEFAULT_WORLD_DIR } from './rlhf-data.ts';
import { resumeSettings, withStageOutput } from './rlhf-loop.ts';
import { mpiWorld, type Communicator } from '../train/distributed.ts';

export interface PpoConfig {
  policy: string; // the SFT model
  reward: string; // the reward model
  prompts: string[]; // prompt JSONL files, or 'world'
  ptx: string[]; // pretraining text (.txt/.jsonl/…), or 'world' (the world's reference corpus)
  world: string;
  out: string;
  iterations: number;
  /** Episodes (prompts) per iteration; InstructGPT 512. */
  batchSize: number;
  /** Episodes per minibatch; InstructGPT 64. */
  minibatch: number;
  /** Pieces a minibatch's gradient is summed over (per rank under mpirun: gradAccum × ranks in all). */
  gradAccum: number;
  maxNewTokens: number;
  /** β of the per-token KL penalty. */
  kl: number;
  ptxCoef: number;
  ptxPerEpisode: number;
  gamma: number;
  lambda: number;
  clip: number;
  valueClip: number;
  lr: number;
  valueLr: number;
  warmupIterations: number;
  gradClip: number;
  emaDecay: number;
  checkpointEvery: number; // iterations
  seed: number;
  resume: boolean;
  force: boolean;
}

export const defaultPpoConfig: Omit<PpoConfig, 'policy' | 'reward' | 'out'> = {
  prompts: ['world'], ptx: ['world'], world: DEFAULT_WORLD_DIR, iterations: 20, batchSize: 32, minibatch: 8, gradAccum: 1, maxNewTokens: 48,
  kl: 0.02, ptxCoef: 27.8, ptxPerEpisode: 8, gamma: 1, lambda: 0.95, clip: 0.2, valueClip: 0.2, lr: 1e-5, valueLr: 1e-5,
  warmupIterations: 10, gradClip: 1, emaDecay: 0.992, checkpointEvery: 1, seed: 1337, resume: false, force: false,
};

export interface IterationStats {
  iteration: number;
  iterations: number;
  reward: number; // mean RM score of the answers
  kl: number; // mean over answers of Σ (log π − log π_SFT)
  entropy: number;
  policyLoss: number;
  valueLoss: number;
  clipFraction: number;
  valueClipFraction: number;
  approxKl: number;
  explainedVariance: number;
  responseLength: number;
  endedFraction: number; // answers that stopped at the end-of-turn token
  ptxLoss: number | null;
  seconds: { rollout: number; scoring: number; update: number };
}

export type PpoEvent =
  | { type: 'start'; config: PpoConfig; model: GptConfig; prompts: number; ptxTokens: number; backend: string; threads: number; resumedFrom: number | null; ranks?: number; mpi?: string }
  | { type: 'chat-tokens'; added: { token: string; id: number }[] }
  | ({ type: 'iteration' } & IterationStats)
  | { type: 'checkpoint'; iteration: number; dir: string }
  | { type: 'done'; iterations: number; dir: string };

/** Documents of the ptx files as one token stream (each followed by <|endoftext|>). */
async function ptxTokens(files: string[], chat: ChatTemplate): Promise<Int32Array> {
  const tok = chat.tokenizer;
  const eot = tok.specialTokens.has('<|endoftext|>') ? tok.tokenId('<|endoftext|>') : chat.endOfTurnId;
  const out: number[] = [];
  for await (const d of readDocuments(files)) { for (const id of tok.encode(d.text)) out.push(id); out.push(eot); }
  return Int32Array.from(out);
}

/** One piece of a minibatch: its episodes as a batch, their pretraining windows, and its place in the iteration. */
type Piece = ReturnType<typeof episodeBatch> & { eps: Episode[]; ptx: Batch | null; index: number };

/**
 * The minibatch the PPO loop is about to step on, in `k` pieces (gradAccum × ranks) that the two
 * Trainers pull in turn, each rank training on its own. Every rank cuts every piece and draws its
 * pretraining windows, so the ptx stream stays one stream on all of them.
 */
class Feed implements BatchSource {
  pieces: Piece[] = [];
  private at = 0;
  private valueAt = 0;
  constructor(readonly ptx: RandomWindows | null, readonly k: number) {}
  load(mb: Episode[], blockSize: number, first: number): void {
    if (mb.length < this.k) throw new ConfigError(`a PPO minibatch of ${mb.length} episodes cannot be cut in ${this.k} pieces (--grad-accum × ranks)`, 'raise --minibatch and --batch-size');
    this.pieces = Array.from({ length: this.k }, (_, i) => {
      const eps = mb.slice(Math.floor((i * mb.length) / this.k), Math.floor(((i + 1) * mb.length) / this.k));
      const p = this.ptx?.next() ?? null; // its arrays are reused by the next draw: copied
      return { ...episodeBatch(eps, blockSize), eps, ptx: p && { ...p, ids: p.ids.slice(), targets: p.targets.slice() }, index: first + i };
    });
    this.at = this.valueAt = 0;
  }
  next(): Batch { return this.pieces[this.at++]; }
  /** The same pieces again, for the value model's step. */
  replay(): Batch { return this.pieces[this.valueAt++]; }
  state(): unknown { return this.ptx ? this.ptx.state() : null; }
  restore(s: unknown): void { if (this.ptx) this.ptx.restore(s); }
}

const flat = (eps: readonly Episode[], k: 'logprobs' | 'advantages' | 'values' | 'returns') => eps.flatMap((e) => [...e[k]]);

export async function ppo(cfgIn: Partial<PpoConfig> & { policy: string; reward: string; out: string }, onEvent: (e: PpoEvent) => void = () => {}): Promise<{ model: GPT; chat: ChatTemplate }> {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultPpoConfig) && !['policy', 'reward', 'out'].includes(k)) throw new ConfigError(`unknown ppo option '${k}'`);
  const canResume = existsSync(join(cfgIn.out, 'last')) && hasTrainerState(join(cfgIn.out, 'last')) && hasTrainerState(join(cfgIn.out, 'value'));
  if (cfgIn.resume && !canResume) throw new ConfigError(`--resume: ${cfgIn.out} holds no PPO run to resume (no last/ and value/ trainer states)`, 'leave out --resume to start a new run there');
  const cfg: PpoConfig = cfgIn.resume ? resumeSettings(cfgIn.out, { ...defaultPpoConfig, policy: cfgIn.policy, reward: cfgIn.reward, out: cfgIn.out }, cfgIn, ['iterations', 'checkpointEvery']) : { ...defaultPpoConfig, ...cfgIn };
  for (const k of ['iterations', 'batchSize', 'minibatch', 'gradAccum', 'maxNewTokens', 'ptxPerEpisode', 'checkpointEvery'] as const) {
    if (!(Number.isInteger(cfg[k]) && cfg[k] >= 1)) throw new ConfigError(`${k} must be a positive integer, got ${cfg[k]}`);
  }
  const comm = mpiWorld();
  const k = cfg.gradAccum * (comm?.size ?? 1);
  if (cfg.batchSize % k || cfg.minibatch % k) {
    throw new ConfigError(`--batch-size ${cfg.batchSize} and --minibatch ${cfg.minibatch} must both be multiples of --grad-accum × ranks (${k}): every minibatch is cut in ${k} equal pieces`, `e.g. --minibatch ${Math.ceil(cfg.minibatch / k) * k}`);
  }
  const prompts = resolveData(cfg.prompts, [], cfg.world, 'prompts').train;
  const ptxFiles = cfg.ptxCoef > 0 ? cfg.ptx.flatMap((p) => (p === 'world' ? [join(cfg.world, 'corpus', 'reference.jsonl')] : [p])) : [];
  // Under mpirun only rank 0 opens --out (rlhf-loop.ts: withStageOutput); the other ranks train alongside.
  return withStageOutput(() => openCheckpointDir(cfg.out, {
    label: `--out ${cfg.out}`, force: cfg.force, update: cfg.resume,
    inputs: [{ flag: '--policy', path: cfg.policy }, { flag: '--reward', path: cfg.reward }, ...prompts.map((path) => ({ flag: '--prompts', path })), ...ptxFiles.map((path) => ({ flag: '--ptx', path }))],
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  }), async (out) => {
    if (out && !cfg.resume && out.existed) out.clear();
    return run(cfg, out, prompts, ptxFiles, out ? onEvent : () => {}, comm);
  });
}

/** `out` is null on data-parallel ranks other than 0: they read the run to resume, and write nothing. */
async function run(cfg: PpoConfig, out: OutputDir | null, promptFiles: string[], ptxFiles: string[], onEvent: (e: PpoEvent) => void, comm: Communicator | null): Promise<{ model: GPT; chat: ChatTemplate }> {
  const inOut = (sub = '') => join(cfg.out, sub);
  // Models: the frozen reference and RM; the trained policy and value model (from the run when resuming).
  const sft = loadChatModel(cfg.policy);
  if (sft.added.length && !cfg.resume) onEvent({ type: 'chat-tokens', added: sft.added });
  const chat = sft.chat;
  const ref = sft.model.eval();
  const reward = loadRewardModel(cfg.reward).model.eval();
  if (reward.config.vocabSize !== ref.config.vocabSize) throw new ConfigError(`the reward model's vocabulary (${reward.config.vocabSize}) differs from the policy's (${ref.config.vocabSize})`, 'train the reward model from this SFT model (gptkit rm --model …)');
  const policy = cfg.resume ? loadCheckpoint(inOut('last')).model : cloneGpt(ref, { dropout: 0 });
  const value = cfg.resume ? loadRewardModel(inOut('value')).model : RewardModel.fromLM(reward, cfg.seed, { dropout: 0 }); // head and all
  const ema = new WeightEma(policy, cfg.emaDecay, cfg.resume ? loadCheckpoint(inOut()).model : policy);
  const emaModel = cloneGpt(policy);

  // Data: prompts (left room for the answer) and the pretraining stream.
  const T = policy.config.blockSize;
  const maxPrompt = T - cfg.maxNewTokens - 1;
  if (maxPrompt < 8) throw new ConfigError(`--max-new-tokens ${cfg.maxNewTokens} leaves ${maxPrompt} tokens of the model's ${T} for the prompt`, 'lower --max-new-tokens');
  const prompts = promptFiles.flatMap((f) => readPromptFile(f)).map((r) => { const ids = chat.encodePrompt(r.prompt); return ids.length > maxPrompt ? ids.slice(ids.length - maxPrompt) : ids; });
  if (!prompts.length) throw new ConfigError('no prompts to train on');
  const ptxTok = ptxFiles.length ? await ptxTokens(ptxFiles, chat) : null;
  const k = cfg.gradAccum * (comm?.size ?? 1);
  const feed = new Feed(ptxTok ? new RandomWindows(ptxTok, (cfg.ptxPerEpisode * cfg.minibatch) / k, T, cfg.seed) : null, k);
  const valueFeed = { next: () => feed.replay(), state: () => null, restore: () => {} };

  const mbPerIter = Math.ceil(cfg.batchSize / cfg.minibatch);
  const opts = (lr: number): Partial<TrainOptions> => ({
    steps: cfg.iterations * mbPerIter, gradAccum: cfg.gradAccum, lr, minLr: lr, warmupSteps: cfg.warmupIterations * mbPerIter, weightDecay: 0, gradClip: cfg.gradClip, evalEvery: 0, beta1: 0.9, beta2: 0.95,
  });
  // The iteration's losses and fractions, one slot per piece (a rank fills its own): summed across
  // ranks (a slot plus zeros is the slot), then added up in piece order, as one process does.
  const STATS = ['pl', 'vl', 'clip', 'vclip', 'akl', 'ptx'] as const;
  const pieces = mbPerIter * k;
  const slots = new Float64Array(STATS.length * pieces);
  const put = (name: typeof STATS[number], index: number, x: number) => { slots[STATS.indexOf(name) * pieces + index] = x; };
  const policyTrainer = new Trainer(policy, (b) => {
    const p = b as Piece;
    const pl = policyLoss(responseLogprobs(policy, p), flat(p.eps, 'logprobs'), flat(p.eps, 'advantages'), cfg.clip);
    put('pl', p.index, pl.loss.item()); put('clip', p.index, pl.clipFraction); put('akl', p.index, pl.approxKl);
    if (!p.ptx) return pl.loss;
    const lm = policy.forward(p.ptx.ids, p.ptx.B, p.ptx.T, p.ptx.targets).loss!;
    put('ptx', p.index, lm.item());
    return op.add(pl.loss, op.scale(lm, cfg.ptxCoef));
  }, { train: feed }, opts(cfg.lr), comm);
  const valueTrainer = new Trainer(value, (b) => {
    const p = b as Piece;
    const vl = valueLoss(responseValues(value, p), flat(p.eps, 'values'), flat(p.eps, 'returns'), cfg.valueClip);
    put('vl', p.index, vl.loss.item()); put('vclip', p.index, vl.clipFraction);
    return vl.loss;
  }, { train: valueFeed }, opts(cfg.valueLr), comm);

  let start = 0;
  const mp = out?.file('metrics.jsonl');
  if (cfg.resume) {
    const p = loadTrainerState(inOut('last'), policy), v = loadTrainerState(inOut('value'), value);
    if (p.state.step !== v.state.step) throw new ConfigError(`${cfg.out}: the policy's state is at step ${p.state.step}, the value model's at ${v.state.step} (a checkpoint cut short)`, 'start over with --force');
    policyTrainer.restore(p.state);
    valueTrainer.restore(v.state);
    start = p.state.step / mbPerIter;
    if (mp && existsSync(mp)) writeFileAtomic(mp, readFileSync(mp, 'utf8').split('\n').filter((l) => l && JSON.parse(l).iteration <= start).map((l) => l + '\n').join(''));
  } else if (mp) writeFileAtomic(mp, '');
  out?.own('metrics.jsonl');
  onEvent({
    type: 'start', config: cfg, model: policy.config, prompts: prompts.length, ptxTokens: ptxTok?.length ?? 0, backend: backend().name, threads: backend().threads(), resumedFrom: cfg.resume ? start : null,
    ...(comm ? { ranks: comm.size, mpi: comm.library } : {}),
  });

  const lastDir = out && openCheckpointDir(out.file('last'), { update: true, force: true });
  const valueDir = out && openCheckpointDir(out.file('value'), { update: true, force: true });
  out?.own('last', 'value');
  const training = { ...cfg, policy: resolve(cfg.policy), reward: resolve(cfg.reward), prompts: promptFiles.map((p) => resolve(p)), ptx: ptxFiles.map((p) => resolve(p)), stage: 'ppo' };
  const save = (iteration: number) => {
    if (!out || !lastDir || !valueDir) return;
    saveChatCheckpoint(valueDir, value, chat, { extra: { model_type: REWARD_MODEL_TYPE, training }, trainerState: valueTrainer.state() });
    saveChatCheckpoint(lastDir, policy, chat, { extra: { training }, trainerState: policyTrainer.state(), trainerExtra: { iteration } });
    saveChatCheckpoint(out, ema.copyTo(emaModel), chat, { extra: { training: { ...training, ema: true } } });
    onEvent({ type: 'checkpoint', iteration, dir: out.path });
  };

  const seeds = new Rng(cfg.seed);
  for (let it = start; it < cfg.iterations; it++) {
    slots.fill(0);
    const t0 = performance.now();
    const pick = seeds.fork(`prompts:${it}`);
    const batchPrompts = Array.from({ length: cfg.batchSize }, () => prompts[pick.int(prompts.length)]);
    const samples = rollout(policy, batchPrompts, seeds.fork(`rollout:${it}`), cfg.maxNewTokens, chat.endOfTurnId);
    const t1 = performance.now();
    const { episodes: eps, entropy } = scoreEpisodes(samples, { policy, ref, reward, value }, { beta: cfg.kl, gamma: cfg.gamma, lambda: cfg.lambda });
    const t2 = performance.now();
    const order = seeds.fork(`minibatches:${it}`).shuffle(eps.map((_, i) => i));
    for (let m = 0; m < mbPerIter; m++) {
      const mb = order.slice(m * cfg.minibatch, (m + 1) * cfg.minibatch).map((i) => eps[i]);
      feed.load(mb, T, m * k);
      policyTrainer.runStep(); // throws DivergedError before updating on a NaN
      valueTrainer.runStep();
      ema.update();
    }
    feed.pieces = [];
    comm?.allreduceSum(slots);
    const stats = Object.fromEntries(STATS.map((name, s) => {
      let sum = 0;
      for (let i = 0; i < pieces; i++) sum += slots[s * pieces + i];
      return [name, sum];
    })) as Record<typeof STATS[number], number>;
    const t3 = performance.now();
    const n = pieces;
    const s: IterationStats = {
      iteration: it + 1, iterations: cfg.iterations,
      reward: eps.reduce((a, e) => a + e.score, 0) / eps.length,
      kl: eps.reduce((a, e) => a + e.kl.reduce((x, y) => x + y, 0), 0) / eps.length,
      entropy, policyLoss: stats.pl / n, valueLoss: stats.vl / n, clipFraction: stats.clip / n, valueClipFraction: stats.vclip / n, approxKl: stats.akl / n,
      explainedVariance: explainedVariance(eps),
      responseLength: eps.reduce((a, e) => a + e.response.length, 0) / eps.length,
      endedFraction: eps.filter((e) => e.ended).length / eps.length,
      ptxLoss: feed.ptx ? stats.ptx / n : null,
      seconds: { rollout: (t1 - t0) / 1000, scoring: (t2 - t1) / 1000, update: (t3 - t2) / 1000 },
    };
    onEvent({ type: 'iteration', ...s });
    if (mp) appendFileSync(mp, JSON.stringify({
      iteration: s.iteration, reward: s.reward, kl: s.kl, entropy: s.entropy, policy_loss: s.policyLoss, value_loss: s.valueLoss, clip_fraction: s.clipFraction,
      value_clip_fraction: s.valueClipFraction, approx_kl: s.approxKl, explained_variance: s.explainedVariance, response_length: s.responseLength,
      ended_fraction: s.endedFraction, ptx_loss: s.ptxLoss, rollout_sec: s.seconds.rollout, scoring_sec: s.seconds.scoring, update_sec: s.seconds.update,
    }) + '\n');
    if ((it + 1) % cfg.checkpointEvery === 0 || it + 1 === cfg.iterations) save(it + 1);
  }
  lastDir?.close();
  valueDir?.close();
  onEvent({ type: 'done', iterations: cfg.iterations, dir: out?.path ?? cfg.out });
  return { model: ema.copyTo(emaModel), chat };
}
