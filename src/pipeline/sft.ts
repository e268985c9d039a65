// The SFT stage (InstructGPT step 1): a pretrained GPT fine-tuned on demonstrations in the OpenAI
// fine-tuning format, the loss on assistant tokens only. InstructGPT's recipe where it fits a small
// model: cosine decay, residual dropout 0.2, several epochs, the model kept at its best validation
// (InstructGPT chose by RM score; there is no RM yet at this step, so by validation loss).
import { join, resolve } from 'node:path';
import { defaultTrainOptions, Trainer, type TrainOptions } from '../train/trainer.ts';
import { loadCheckpoint, openCheckpointDir } from '../interop/checkpoint.ts';
import type { OutputDir } from '../util/output.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { backend } from '../backend/index.ts';
import { ConfigError } from '../util/errors.ts';
import { ChatTemplate, readChatTemplate } from '../rlhf/chat-template.ts';
import { loadChatModel, cloneGpt, saveChatCheckpoint } from '../rlhf/chat-model.ts';
import { readSftFile, type SftRecord } from '../rlhf/records.ts';
import { encodeSft, padBatch, EpochBatches, sftLoss, type EncodeStats, type SftExample } from '../rlhf/sft.ts';
import { resolveData, DEFAULT_WORLD_DIR } from './rlhf-data.ts';
import { runLoop, canResume, restoreTrainer, resumeSettings, MAY_CHANGE, LAST, type LoopEvent } from './rlhf-loop.ts';
import { withStageOutput } from './rlhf-loop.ts';
import { mpiWorld } from '../train/distributed.ts';
import type { GPT, GptConfig } from '../models/gpt.ts';

export interface SftConfig extends TrainOptions {
  /** The pretrained model: a gptkit checkpoint or a Hugging Face GPT-2 directory. */
  model: string;
  /** JSONL files of {"messages": […]}, or 'world'. */
  data: string[];
  /** Validation files (default: the world's validation split, else valFraction of the data). */
  valData: string[];
  world: string;
  out: string;
  epochs: number;
  batchSize: number;
  dropout: number;
  valFraction: number;
  checkpointEvery: number;
  seed: number;
  resume: boolean;
  /** Replace gptkit's own output in `out` (never other files). */
  force: boolean;
}

export const defaultSftConfig: Omit<SftConfig, 'model' | 'out'> = {
  ...defaultTrainOptions,
  data: ['world'], valData: [], world: DEFAULT_WORLD_DIR, epochs: 4, batchSize: 16, dropout: 0.2, valFraction: 0.05,
  lr: 1e-4, minLr: 1e-5, warmupSteps: 10, weightDecay: 0, evalEvery: 0, checkpointEvery: 0, seed: 1337, resume: false, force: false,
  steps: 0, // 0 = epochs × batches per epoch
};

export type SftEvent =
  | { type: 'start'; config: SftConfig; model: GptConfig; train: EncodeStats; val: EncodeStats; steps: number; stepsPerEpoch: number; backend: string; threads: number; resumedFrom: number | null }
  | { type: 'chat-tokens'; added: { token: string; id: number }[] }
  | LoopEvent
  | { type: 'done'; step: number; dir: string; bestValLoss: number | null };

function trainOptionsOf(c: SftConfig): TrainOptions {
  const o = {} as Record<string, number>;
  for (const k of Object.keys(defaultTrainOptions)) o[k] = (c as unknown as Record<string, number>)[k];
  return o as unknown as TrainOptions;
}

function readAll(files: string[]): SftRecord[] {
  return files.flatMap((f) => readSftFile(f));
}

export async function sft(cfgIn: Partial<SftConfig> & { model: string; out: string }, onEvent: (e: SftEvent) => void = () => {}): Promise<{ model: GPT; chat: ChatTemplate; bestValLoss: number | null }> {
  for (const k of Object.keys(cfgIn)) if (!(k in defaultSftConfig) && k !== 'model' && k !== 'out') throw new ConfigError(`unknown sft option '${k}'`);
  if (cfgIn.resume && !canResume(cfgIn.out)) throw new ConfigError(`--resume: ${cfgIn.out} holds no run to resume (no last/trainer_state/state.json)`, 'leave out --resume to start a new run there');
  const cfg: SftConfig = cfgIn.resume ? resumeSettings(cfgIn.out, { ...defaultSftConfig, model: cfgIn.model, out: cfgIn.out }, cfgIn, MAY_CHANGE) : { ...defaultSftConfig, ...cfgIn };
  if (!(Number.isInteger(cfg.epochs) && cfg.epochs >= 1)) throw new ConfigError(`epochs must be a positive integer, got ${cfg.epochs}`);
  const files = resolveData(cfg.data, cfg.valData, cfg.world, 'sft');
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

async function run(cfg: SftConfig, out: OutputDir | null, files: { train: string[]; val: string[] }, onEvent: (e: SftEvent) => void): Promise<{ model: GPT; chat: ChatTemplate; bestValLoss: number | null }> {
  const resuming = cfg.resume;
  // The model: the pretrained one (with ChatML tokens and SFT dropout), or the run being resumed.
  let model: GPT, chat: ChatTemplate;
  if (resuming) {
    const last = join(cfg.out, LAST);
    model = loadCheckpoint(last).model;
    chat = new ChatTemplate(loadTokenizer(last), readChatTemplate(last).template);
  } else {
    const cm = loadChatModel(cfg.model);
    if (cm.added.length) onEvent({ type: 'chat-tokens', added: cm.added });
    model = cloneGpt(cm.model, { dropout: cfg.dropout });
    chat = cm.chat;
  }

  // Data.
  let trainRecs = readAll(files.train);
  let valRecs = readAll(files.val);
  if (!valRecs.length && cfg.valFraction > 0) {
    const n = Math.max(1, Math.floor(trainRecs.length * cfg.valFraction));
    valRecs = trainRecs.slice(trainRecs.length - n);
    trainRecs = trainRecs.slice(0, trainRecs.length - n);
  }
  const T = model.config.blockSize;
  const tr = encodeSft(trainRecs, chat, T);
  const va = encodeSft(valRecs, chat, T);
  const train = new EpochBatches<SftExample>(tr.examples, cfg.batchSize, cfg.seed, (xs) => padBatch(xs, T));
  const val = va.examples.length ? new EpochBatches<SftExample>(va.examples, cfg.batchSize, cfg.seed, (xs) => padBatch(xs, T), false) : undefined;
  const stepsPerEpoch = Math.ceil(train.batchesPerEpoch / (cfg.gradAccum * (mpiWorld()?.size ?? 1))); // a step takes gradAccum batches on every rank
  const steps = cfg.steps > 0 ? cfg.steps : cfg.epochs * stepsPerEpoch;
  const trainer = new Trainer(model, (b) => sftLoss(model, b), { train, val }, { ...trainOptionsOf(cfg), steps, evalBatches: val ? val.batchesPerEpoch : 0 }, mpiWorld());

  let resumedFrom: number | null = null, startBest: number | null = null;
  if (resuming) {
    const r = restoreTrainer(out, cfg.out, model, trainer);
    resumedFrom = r.step;
    startBest = r.best;
  }
  onEvent({ type: 'start', config: cfg, model: model.config, train: tr.stats, val: va.stats, steps, stepsPerEpoch, backend: backend().name, threads: backend().threads(), resumedFrom });

  const training = { ...cfg, data: files.train.map((p) => resolve(p)), valData: files.val.map((p) => resolve(p)), model: resolve(cfg.model), stage: 'sft' };
  const best = runLoop({
    out, trainer,
    evaluate: () => { const loss = trainer.evaluate(); return { loss, score: -loss }; },
    evalEvery: val ? (cfg.evalEvery > 0 ? cfg.evalEvery : stepsPerEpoch) : 0,
    checkpointEvery: cfg.checkpointEvery,
    epoch: () => train.epoch,
    save: (dir, o) => saveChatCheckpoint(dir, model, chat, { extra: { training }, ...o }),
    onEvent,
  }, startBest, !resuming);
  const bestValLoss = best === null ? null : -best;
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, bestValLoss });
  return { model, chat, bestValLoss };
}
