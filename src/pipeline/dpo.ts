// The DPO stage: the SFT model trained directly on the preferences (rankings expanded to pairs),
// with a frozen copy of itself as the reference and β = 0.1; no reward model, no sampling. The
// model with the best held-out DPO loss is kept. Compared with PPO-ptx by `gptkit judge`.
import { resolve, join } from 'node:path';
import { defaultTrainOptions, Trainer, type TrainOptions } from '../train/trainer.ts';
import { openCheckpointDir, loadCheckpoint } from '../interop/checkpoint.ts';
import type { OutputDir } from '../util/output.ts';
import { backend } from '../backend/index.ts';
import { ConfigError } from '../util/errors.ts';
import type { GPT, GptConfig } from '../models/gpt.ts';
import type { ChatTemplate } from '../rlhf/chat-template.ts';
import { loadChatModel, cloneGpt, saveChatCheckpoint } from '../rlhf/chat-model.ts';
import { readPreferenceFile } from '../rlhf/records.ts';
import { encodePairs, pairBatch, attachReference, dpoBatchLoss, evaluatePairs, type PreferencePair } from '../rlhf/dpo.ts';
import { EpochBatches } from '../rlhf/sft.ts';
import { resolveData, DEFAULT_WORLD_DIR } from './rlhf-data.ts';
import { runLoop, canResume, restoreTrainer, resumeSettings, MAY_CHANGE, LAST, type LoopEvent } from './rlhf-loop.ts';
import { withStageOutput } from './rlhf-loop.ts';
import { mpiWorld } from '../train/distributed.ts';

export interface DpoConfig extends TrainOptions {
  /** The SFT model: the policy's start and the frozen reference. */
  model: string;
  data: string[];
  valData: string[];
  world: string;
  out: string;
  beta: number;
  epochs: number;
  /** Pairs per micro-batch. */
  batchSize: number;
  dropout: number;
  valFraction: number;
  checkpointEvery: number;
  seed: number;
  resume: boolean;
  force: boolean;
}

export const defaultDpoConfig: Omit<DpoConfig, 'model' | 'out'> = {
  ...defaultTrainOptions,
  data: ['world'], valData: [], world: DEFAULT_WORLD_DIR, beta: 0.1, epochs: 1, batchSize: 8, dropout: 0, valFraction: 0.1,
  lr: 5e-5, minLr: 5e-6, warmupSteps: 10, weightDecay: 0, evalEvery: 0, checkpointEvery: 0, seed: 1337, resume: false, force: false, steps: 0,
};

export type DpoEvent =
  | { type: 'start'; config: DpoConfig; model: GptConfig; trainPairs: number; valPairs: number; steps: number; stepsPerEpoch: number; backend: string; threads: number; resumedFrom: number | null }
  | { type: 'chat-tokens'; added: { token: string; id: number }[] }
  | LoopEvent
  | { type: 'done'; step: number; dir: string; val: { loss: number; accuracy: number; margin: number } | null };

function trainOptionsOf(c: DpoConfig): TrainOptions {
  const o = {} as Record<string, number>;
  for (const k of Object.keys(defaultTrainOptions)) o[k] = (c as unknown as Record<string, number>)[k];
  return o as unknown as TrainOptions;
}

export async function dpo(cfgIn: Partial<DpoConfig> & { model: string; out: string }, onEvent: (e: DpoEvent) => void = () => {}): Promise<{ model: GPT; chat: ChatTemplate }> {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultDpoConfig) && k !== 'model' && k !== 'out') throw new ConfigError(`unknown dpo option '${k}'`);
  if (cfgIn.resume && !canResume(cfgIn.out)) throw new ConfigError(`--resume: ${cfgIn.out} holds no run to resume (no last/trainer_state/state.json)`, 'leave out --resume to start a new run there');
  const cfg: DpoConfig = cfgIn.resume ? resumeSettings(cfgIn.out, { ...defaultDpoConfig, model: cfgIn.model, out: cfgIn.out }, cfgIn, MAY_CHANGE) : { ...defaultDpoConfig, ...cfgIn };
  if (!(cfg.beta > 0)) throw new ConfigError(`beta must be positive, got ${cfg.beta}`);
  if (!(Number.isInteger(cfg.epochs) && cfg.epochs >= 1)) throw new ConfigError(`epochs must be a positive integer, got ${cfg.epochs}`);
  const files = resolveData(cfg.data, cfg.valData, cfg.world, 'preferences');
  // Under mpirun only rank 0 opens --out (rlhf-loop.ts: withStageOutput); the other ranks train alongside.
  return withStageOutput(() => openCheckpointDir(cfg.out, {
    label: `--out ${cfg.out}`, force: cfg.force, update: cfg.resume,
    inputs: [{ flag: '--model', path: cfg.model }, ...[...files.train, ...files.val].map((path) => ({ flag: '--data', path }))],
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  }), async (out) => {
    if (out && !cfg.resume && out.existed) out.clear();
    return run(cfg, out, files, onEvent);
  });
}

async function run(cfg: DpoConfig, out: OutputDir | null, files: { train: string[]; val: string[] }, onEvent: (e: DpoEvent) => void): Promise<{ model: GPT; chat: ChatTemplate }> {
  // The reference is always the SFT model; the policy is it, or the run being resumed.
  const ref = loadChatModel(cfg.model);
  if (ref.added.length && !cfg.resume) onEvent({ type: 'chat-tokens', added: ref.added });
  const chat = ref.chat;
  const model = cfg.resume ? loadCheckpoint(join(cfg.out, LAST)).model : cloneGpt(ref.model, { dropout: cfg.dropout });

  let trainRecs = files.train.flatMap((f) => readPreferenceFile(f));
  let valRecs = files.val.flatMap((f) => readPreferenceFile(f));
  if (!valRecs.length && cfg.valFraction > 0) {
    const n = Math.max(1, Math.floor(trainRecs.length * cfg.valFraction));
    valRecs = trainRecs.slice(trainRecs.length - n);
    trainRecs = trainRecs.slice(0, trainRecs.length - n);
  }
  const T = model.config.blockSize;
  const trainPairs = encodePairs(trainRecs, chat, T);
  const valPairs = encodePairs(valRecs, chat, T);
  attachReference(ref.model, trainPairs, T);
  attachReference(ref.model, valPairs, T);

  const train = new EpochBatches<PreferencePair>(trainPairs, cfg.batchSize, cfg.seed, (xs) => pairBatch(xs, T));
  const stepsPerEpoch = Math.ceil(train.batchesPerEpoch / (cfg.gradAccum * (mpiWorld()?.size ?? 1))); // a step takes gradAccum batches on every rank
  const steps = cfg.steps > 0 ? cfg.steps : cfg.epochs * stepsPerEpoch;
  const trainer = new Trainer(model, (b) => dpoBatchLoss(model, b, cfg.beta), { train }, { ...trainOptionsOf(cfg), steps }, mpiWorld());
  let resumedFrom: number | null = null, startBest: number | null = null;
  if (cfg.resume) ({ step: resumedFrom, best: startBest } = restoreTrainer(out, cfg.out, model, trainer));
  onEvent({ type: 'start', config: cfg, model: model.config, trainPairs: trainPairs.length, valPairs: valPairs.length, steps, stepsPerEpoch, backend: backend().name, threads: backend().threads(), resumedFrom });

  const training = { ...cfg, data: files.train.map((p) => resolve(p)), valData: files.val.map((p) => resolve(p)), model: resolve(cfg.model), stage: 'dpo' };
  let lastVal: { loss: number; accuracy: number; margin: number } | null = null;
  runLoop({
    out, trainer,
    evaluate: () => { lastVal = evaluatePairs(model, valPairs, T, cfg.beta); return { ...lastVal, score: -lastVal.loss }; },
    evalEvery: valPairs.length ? (cfg.evalEvery > 0 ? cfg.evalEvery : stepsPerEpoch) : 0,
    checkpointEvery: cfg.checkpointEvery,
    epoch: () => train.epoch,
    save: (dir, o) => saveChatCheckpoint(dir, model, chat, { extra: { training }, ...o }),
    onEvent,
  }, startBest, !cfg.resume);
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, val: lastVal });
  return { model, chat };
}
