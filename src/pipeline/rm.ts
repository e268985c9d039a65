// The reward-model stage (InstructGPT step 2): the SFT model with a scalar head, trained on K-wise
// rankings (all C(K,2) pairs of a prompt in one batch element), the best model by held-out pairwise
// accuracy kept, then its bias set so demonstrations score 0 on average. On the world's data the
// report puts the held-out accuracy beside the agreement of a second labeler (the world's, with
// independent noise) with the recorded rankings on the same pairs — InstructGPT's 69.6% vs 72.6%.
import { resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTrainOptions, Trainer, type TrainOptions } from '../train/trainer.ts';
import { openCheckpointDir } from '../interop/checkpoint.ts';
import type { OutputDir } from '../util/output.ts';
import { backend } from '../backend/index.ts';
import { ConfigError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import type { GptConfig } from '../models/gpt.ts';
import type { ChatTemplate } from '../rlhf/chat-template.ts';
import { loadChatModel, saveChatCheckpoint } from '../rlhf/chat-model.ts';
import { readPreferenceFile, readSftFile, rankingPairs, type PreferenceRecord } from '../rlhf/records.ts';
import { RewardModel, loadRewardModel, encodeRanked, rankedBatch, rewardLoss, evaluateRanking, meanDemoReward, REWARD_MODEL_TYPE, type RankedExample } from '../rlhf/reward.ts';
import { EpochBatches } from '../rlhf/sft.ts';
import { rankAnswers, DEFAULT_NOISE } from '../world/index.ts';
import { resolveData, worldFile, loadWorld, DEFAULT_WORLD_DIR } from './rlhf-data.ts';
import { runLoop, canResume, restoreTrainer, resumeSettings, MAY_CHANGE, LAST, type LoopEvent } from './rlhf-loop.ts';
import { withStageOutput } from './rlhf-loop.ts';
import { mpiWorld } from '../train/distributed.ts';

export interface RmConfig extends TrainOptions {
  /** The SFT model the reward model starts from. */
  model: string;
  /** Preference JSONL files (K-wise or pairs), or 'world'. */
  data: string[];
  valData: string[];
  /** Demonstrations whose mean reward becomes 0 (default: the world's sft_validation.jsonl, else the best-ranked validation answers). */
  demos: string[];
  world: string;
  out: string;
  epochs: number;
  /** Prompts per micro-batch (each with all its K responses). */
  batchSize: number;
  dropout: number;
  valFraction: number;
  checkpointEvery: number;
  seed: number;
  resume: boolean;
  force: boolean;
}

export const defaultRmConfig: Omit<RmConfig, 'model' | 'out'> = {
  ...defaultTrainOptions,
  data: ['world'], valData: [], demos: [], world: DEFAULT_WORLD_DIR, epochs: 1, batchSize: 8, dropout: 0, valFraction: 0.1,
  lr: 1e-4, minLr: 1e-5, warmupSteps: 10, weightDecay: 0, evalEvery: 0, checkpointEvery: 0, seed: 1337, resume: false, force: false, steps: 0,
};

export interface RmReport {
  /** Held-out pairwise accuracy of the reward model. */
  accuracy: number;
  pairs: number;
  /** A second labeler (independent noise) agreeing with the recorded rankings on the same pairs; null off the world. */
  labelerAgreement: number | null;
  /** Mean reward of the demonstrations before the bias was set (after it: 0). */
  demoMeanBefore: number;
  demos: number;
}

export type RmEvent =
  | { type: 'start'; config: RmConfig; model: GptConfig; trainPrompts: number; valPrompts: number; truncated: number; steps: number; stepsPerEpoch: number; backend: string; threads: number; resumedFrom: number | null }
  | { type: 'chat-tokens'; added: { token: string; id: number }[] }
  | LoopEvent
  | { type: 'done'; step: number; dir: string; report: RmReport };

function trainOptionsOf(c: RmConfig): TrainOptions {
  const o = {} as Record<string, number>;
  for (const k of Object.keys(defaultTrainOptions)) o[k] = (c as unknown as Record<string, number>)[k];
  return o as unknown as TrainOptions;
}

/** How often a second labeler orders a pair as the recorded ranking does. */
export function labelerAgreement(worldDir: string, records: readonly PreferenceRecord[], seed: number): number {
  const w = loadWorld(worldDir);
  const rng = new Rng(seed).fork('second-labeler');
  let agree = 0, pairs = 0;
  for (const r of records) {
    const other = rankAnswers(w, r.prompt, r.responses, { noise: DEFAULT_NOISE, rng });
    const pos = new Map(other.map((i, k) => [i, k]));
    for (const [win, lose] of rankingPairs(r.ranking)) {
      if (pos.get(win)! < pos.get(lose)!) agree++;
      pairs++;
    }
  }
  return agree / Math.max(1, pairs);
}

export async function rm(cfgIn: Partial<RmConfig> & { model: string; out: string }, onEvent: (e: RmEvent) => void = () => {}): Promise<{ model: RewardModel; report: RmReport }> {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultRmConfig) && k !== 'model' && k !== 'out') throw new ConfigError(`unknown rm option '${k}'`);
  if (cfgIn.resume && !canResume(cfgIn.out)) throw new ConfigError(`--resume: ${cfgIn.out} holds no run to resume (no last/trainer_state/state.json)`, 'leave out --resume to start a new run there');
  const cfg: RmConfig = cfgIn.resume ? resumeSettings(cfgIn.out, { ...defaultRmConfig, model: cfgIn.model, out: cfgIn.out }, cfgIn, MAY_CHANGE) : { ...defaultRmConfig, ...cfgIn };
  if (!(Number.isInteger(cfg.epochs) && cfg.epochs >= 1)) throw new ConfigError(`epochs must be a positive integer, got ${cfg.epochs}`);
  const files = resolveData(cfg.data, cfg.valData, cfg.world, 'preferences');
  // World data (named 'world', or, resumed, the world's files): the second labeler can judge it.
  const fromWorld = cfg.data.includes('world') || files.train.every((f) => resolve(f).startsWith(resolve(cfg.world) + '/'));
  const demoFiles = cfg.demos.length ? cfg.demos : fromWorld ? [worldFile(cfg.world, 'sft', 'validation')] : [];
  // Under mpirun only rank 0 opens --out (rlhf-loop.ts: withStageOutput); the other ranks train alongside.
  return withStageOutput(() => openCheckpointDir(cfg.out, {
    label: `--out ${cfg.out}`, force: cfg.force, update: cfg.resume,
    inputs: [{ flag: '--model', path: cfg.model }, ...[...files.train, ...files.val, ...demoFiles].map((path) => ({ flag: '--data', path }))],
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  }), async (out) => {
    if (out && !cfg.resume && out.existed) out.clear();
    return run(cfg, out, files, demoFiles, fromWorld && !cfg.valData.length, onEvent);
  });
}

async function run(cfg: RmConfig, out: OutputDir | null, files: { train: string[]; val: string[] }, demoFiles: string[], worldVal: boolean, onEvent: (e: RmEvent) => void): Promise<{ model: RewardModel; report: RmReport }> {
  let model: RewardModel, chat: ChatTemplate;
  if (cfg.resume) {
    ({ model, chat } = loadRewardModel(join(cfg.out, LAST)));
  } else {
    const cm = loadChatModel(cfg.model);
    if (cm.added.length) onEvent({ type: 'chat-tokens', added: cm.added });
    model = RewardModel.fromLM(cm.model, cfg.seed, { dropout: cfg.dropout });
    chat = cm.chat;
  }

  let trainRecs = files.train.flatMap((f) => readPreferenceFile(f));
  let valRecs = files.val.flatMap((f) => readPreferenceFile(f));
  if (!valRecs.length && cfg.valFraction > 0) {
    const n = Math.max(1, Math.floor(trainRecs.length * cfg.valFraction));
    valRecs = trainRecs.slice(trainRecs.length - n);
    trainRecs = trainRecs.slice(0, trainRecs.length - n);
  }
  const T = model.config.blockSize;
  const tr = encodeRanked(trainRecs, chat, T);
  const va = encodeRanked(valRecs, chat, T);
  const train = new EpochBatches<RankedExample>(tr.examples, cfg.batchSize, cfg.seed, (xs) => rankedBatch(xs, T));
  const stepsPerEpoch = Math.ceil(train.batchesPerEpoch / (cfg.gradAccum * (mpiWorld()?.size ?? 1))); // a step takes gradAccum batches on every rank
  const steps = cfg.steps > 0 ? cfg.steps : cfg.epochs * stepsPerEpoch;
  const trainer = new Trainer(model, (b) => rewardLoss(model, b), { train }, { ...trainOptionsOf(cfg), steps }, mpiWorld());

  let resumedFrom: number | null = null, startBest: number | null = null;
  if (cfg.resume) ({ step: resumedFrom, best: startBest } = restoreTrainer(out, cfg.out, model, trainer));
  onEvent({ type: 'start', config: cfg, model: model.config, trainPrompts: tr.examples.length, valPrompts: va.examples.length, truncated: tr.truncated + va.truncated, steps, stepsPerEpoch, backend: backend().name, threads: backend().threads(), resumedFrom });

  const training = { ...cfg, data: files.train.map((p) => resolve(p)), valData: files.val.map((p) => resolve(p)), demos: demoFiles.map((p) => resolve(p)), model: resolve(cfg.model), stage: 'rm' };
  const extra = { model_type: REWARD_MODEL_TYPE, training };
  runLoop({
    out, trainer,
    evaluate: () => { const m = evaluateRanking(model, va.examples, T); return { accuracy: m.accuracy, loss: m.loss, score: m.accuracy }; },
    evalEvery: va.examples.length ? (cfg.evalEvery > 0 ? cfg.evalEvery : stepsPerEpoch) : 0,
    checkpointEvery: cfg.checkpointEvery,
    epoch: () => train.epoch,
    save: (dir, o) => saveChatCheckpoint(dir, model, chat, { extra, ...o }),
    onEvent,
  }, startBest, !cfg.resume);

  // Ranks other than 0 are done: rank 0 sets the bias and writes the report.
  if (!out) return { model, report: { accuracy: NaN, pairs: 0, labelerAgreement: null, demoMeanBefore: 0, demos: 0 } };
  // The best model, its bias set so demonstrations score 0 on average, and the report.
  const best = loadRewardModel(out.path).model;
  const demos = demoFiles.length
    ? demoFiles.flatMap((f) => readSftFile(f)).map((r) => ({ prompt: r.messages.slice(0, -1), answer: r.messages[r.messages.length - 1].content })).filter((d) => d.prompt.length > 0)
    : valRecs.map((r) => ({ prompt: r.prompt, answer: r.responses[r.ranking[0]] }));
  const demoMeanBefore = meanDemoReward(best, chat, demos, T);
  best.shift(-demoMeanBefore);
  const held = evaluateRanking(best, va.examples, T);
  const report: RmReport = {
    accuracy: held.accuracy, pairs: held.pairs,
    labelerAgreement: worldVal ? labelerAgreement(cfg.world, valRecs, cfg.seed) : null,
    demoMeanBefore, demos: demos.length,
  };
  saveChatCheckpoint(out, best, chat, { extra: { ...extra, reward: { demo_mean_before_bias: demoMeanBefore } } });
  out.commitSync((tmp) => writeFileSync(join(tmp, 'reward_report.json'), JSON.stringify(report, null, 2) + '\n'));
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, report });
  return { model: best, report };
}
