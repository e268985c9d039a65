// The finetuning stage, GPT-1's recipe (Radford et al. 2018, §3.2 and §4.1): a pretrained GPT (a
// gptkit checkpoint or a Hugging Face GPT-2 directory) gets start/delimiter/extract tokens (new
// embedding rows), a linear head on the extract token's final state, and trains on a labelled task
// with L = L_task + λ·L_LM; Adam(W) with lr 6.25e-5, batch 32, 3 epochs, linear warmup over 0.2%
// of training then linear decay to 0, dropout 0.1 before the head. The result is a checkpoint
// directory like pretraining's plus the head, with the task in config.json; it resumes exactly.
// Under mpirun (`gptkit finetune --ranks N`, train/distributed.ts) every rank trains its share of
// each step's batches and rank 0 alone writes: N ranks = one process with --grad-accum N.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openMetricsLog } from '../train/metrics-log.ts';
import type { OutputDir } from '../util/output.ts';
import { GPT, gptConfig, countParams, type GptConfig } from '../models/gpt.ts';
import { GptTaskModel, TASK_TOKENS, packTaskBatch, type TaskBatch, type TaskLayout } from '../models/gpt1-task.ts';
import { Trainer, type StepEvent, type TrainOptions } from '../train/trainer.ts';
import type { BatchSource } from '../train/batches.ts';
import { warmupLinear } from '../optim/schedule.ts';
import { saveCheckpoint, loadTrainerState, openCheckpointDir, hasTrainerState } from '../interop/checkpoint.ts';
import { loadModel } from '../interop/load.ts';
import { loadTaskCheckpoint, taskHeadJson, type TaskHeadInfo } from '../interop/task-checkpoint.ts';
import { Tokenizer, loadTokenizer } from '../tokenizer/index.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { loadTask, type Task, type TaskRecord } from '../eval/tasks.ts';
import { encodeExample, layoutOf, taskTokenIds, type EncodedExample } from '../eval/transform.ts';
import { predictEncoded } from '../eval/head.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import { backend } from '../backend/index.ts';
import { mpiWorld, type Communicator } from '../train/distributed.ts';

export interface FinetuneConfig {
  /** Pretrained model: a gptkit checkpoint or a Hugging Face GPT-2 directory (not needed to resume). */
  model: string;
  /** world:NAME, a JSONL file (all of it trains) or a directory of {train,validation}.jsonl. */
  task: string;
  out: string;
  /** World directory for world:NAME tasks. */
  world: string;
  /** λ of L_task + λ·L_LM (GPT-1: 0.5; 0 = no auxiliary LM loss). */
  auxLm: number;
  lr: number;
  batchSize: number;
  /** Batches of batchSize per optimizer step (per rank under mpirun: a step takes gradAccum × ranks). */
  gradAccum: number;
  epochs: number;
  /** Linear warmup over this fraction of the steps (GPT-1: 0.2%), then linear decay to 0. */
  warmup: number;
  /** Dropout before the head (GPT-1: 0.1). */
  classifierDropout: number;
  /** The model's own dropout (residual, attention, embeddings); null keeps the pretrained model's. */
  dropout: number | null;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  gradClip: number;
  seed: number;
  /** Train on at most the first N examples (0 = all). */
  limit: number;
  /** Validate on at most the first N examples of the validation split (0 = all). */
  valLimit: number;
  /** Checkpoint every N steps (0 = only at the end). */
  checkpointEvery: number;
  /** Continue the run in `out` from its last checkpoint. */
  resume: boolean;
  /** Start over in an `out` that holds an earlier run (only the files gptkit wrote there are replaced). */
  force: boolean;
}

export const defaultFinetuneConfig: Omit<FinetuneConfig, 'model' | 'task' | 'out'> = {
  world: 'runs/main/world', auxLm: 0.5, lr: 6.25e-5, batchSize: 32, gradAccum: 1, epochs: 3, warmup: 0.002, classifierDropout: 0.1, dropout: null,
  weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, gradClip: 1, seed: 0, limit: 0, valLimit: 0, checkpointEvery: 0, resume: false, force: false,
};

export type FinetuneEvent =
  | {
    type: 'start'; config: FinetuneConfig; model: GptConfig; params: number; task: string; layout: TaskLayout; labels: string[] | null;
    trainExamples: number; valExamples: number; steps: number; stepsPerEpoch: number; truncated: number; addedTokens: number;
    backend: string; threads: number; resumedFrom: number | null; ranks?: number; mpi?: string;
  }
  | ({ type: 'step'; epoch: number; taskLoss: number; lmLoss: number | null } & StepEvent)
  | { type: 'eval'; step: number; epoch: number; valAcc: number; valExamples: number }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'done'; step: number; dir: string; valAcc: number | null };

/**
 * The tokenizer with GPT-1's three task tokens (reused when it has them already) and how many
 * ids were added.
 */
export function withTaskTokens(tokenizer: Tokenizer): { tokenizer: Tokenizer; added: number } {
  const names = Object.values(TASK_TOKENS);
  const have = names.filter((n) => tokenizer.specialTokens.has(n));
  if (have.length === names.length) return { tokenizer, added: 0 };
  if (have.length) throw new ConfigError(`the tokenizer has some of GPT-1's task tokens (${have.join(', ')}) but not all`);
  const spec = tokenizer.toSpec();
  const specialTokens = { ...spec.specialTokens };
  names.forEach((n, i) => { specialTokens[n] = tokenizer.vocabSize + i; });
  return { tokenizer: new Tokenizer({ ...spec, specialTokens }), added: names.length };
}

/**
 * A task model holding the pretrained weights: every parameter copied, the embedding (and an
 * untied output layer) grown to the new vocabulary — the new rows keep their N(0, 0.02) init.
 */
export function taskModelFrom(base: GPT, vocabSize: number, layout: TaskLayout, nClasses: number, opts: { seed: number; dropout: number | null; classifierDropout: number }): GptTaskModel {
  const cfg = gptConfig(base.config, { vocabSize: Math.max(vocabSize, base.config.vocabSize), dropout: opts.dropout ?? base.config.dropout });
  const model = new GptTaskModel(cfg, layout, nClasses, opts.seed, opts.classifierDropout);
  const from = new Map(base.namedParameters());
  for (const [name, p] of model.namedParameters()) {
    if (name.startsWith('score.')) continue;
    const src = from.get(name);
    if (!src) throw new ConfigError(`the pretrained model has no parameter '${name}'`);
    if (src.size > p.size || src.shape.slice(1).join() !== p.shape.slice(1).join()) throw new ConfigError(`parameter '${name}' has shape [${src.shape}], the task model needs [${p.shape}]`);
    p.data.set(src.data); // rows beyond the old vocabulary keep their fresh init
  }
  return model;
}

/** Shuffled epochs of examples, batchSize at a time; the state restores the exact position. */
class EpochBatches implements BatchSource {
  private rng: Rng;
  private epochStart: ReturnType<Rng['state']>;
  private order: number[] = [];
  epoch = 0;
  private pos = 0;
  constructor(private readonly examples: EncodedExample[], private readonly batchSize: number, seed: number) {
    this.rng = new Rng(seed).fork('finetune-data');
    this.epochStart = this.rng.state();
    this.shuffle();
  }
  private shuffle(): void {
    this.epochStart = this.rng.state();
    this.order = this.rng.shuffle(this.examples.map((_, i) => i));
  }
  next(): TaskBatch {
    if (this.pos >= this.order.length) {
      this.epoch++;
      this.pos = 0;
      this.shuffle();
    }
    const take = this.order.slice(this.pos, this.pos + this.batchSize).map((i) => this.examples[i]);
    this.pos += take.length;
    return packTaskBatch(take.map((e) => e.seqs), take.map((e) => e.label));
  }
  state(): unknown {
    return { epoch: this.epoch, pos: this.pos, rng: this.epochStart };
  }
  restore(s: unknown): void {
    const st = s as { epoch: number; pos: number; rng: ReturnType<Rng['state']> };
    this.rng = Rng.fromState(st.rng);
    this.shuffle();
    this.epoch = st.epoch;
    this.pos = st.pos;
  }
}

/** GPT-1's schedule: linear warmup, then linear decay to 0 at the last step. */
class FinetuneTrainer extends Trainer {
  override lrAt(step: number): number {
    return warmupLinear(step, this.opts.lr, this.opts.warmupSteps, this.opts.steps);
  }
}

function recordsOf(task: Task, split: 'train' | 'validation'): TaskRecord[] | undefined {
  if (task.singleFile) return split === 'train' ? task.splits.test : undefined;
  return task.splits[split];
}

function encodeAll(records: TaskRecord[], tokenizer: Tokenizer, head: TaskHeadInfo, blockSize: number): { examples: EncodedExample[]; truncated: number } {
  const ids = taskTokenIds(tokenizer, head.specialTokens);
  let truncated = 0;
  const examples = records.map((r) => {
    const e = encodeExample(r, tokenizer, head.labels, ids, blockSize);
    if (e.truncated) truncated++;
    return e;
  });
  if (head.layout === 'multiple_choice') {
    const k = examples[0]?.seqs.length;
    const odd = records.findIndex((_, i) => examples[i].seqs.length !== k);
    if (odd >= 0) throw new FileFormatError(`${records[odd].file}:${records[odd].line}`, `has ${examples[odd].seqs.length} choices, the task's first record ${k}`, 'finetuning a multiple-choice head needs the same number of choices in every record');
  }
  return { examples, truncated };
}

function validate(c: FinetuneConfig): void {
  const posInt = (k: keyof FinetuneConfig) => { if (!(Number.isInteger(c[k]) && (c[k] as number) >= 1)) throw new ConfigError(`${k} must be a positive integer, got ${c[k]}`); };
  posInt('batchSize');
  posInt('gradAccum');
  posInt('epochs');
  for (const k of ['limit', 'valLimit', 'checkpointEvery'] as const) if (!(Number.isInteger(c[k]) && c[k] >= 0)) throw new ConfigError(`${k} must be a non-negative integer, got ${c[k]}`);
  if (!(c.lr > 0)) throw new ConfigError(`lr must be positive, got ${c.lr}`);
  if (!(c.auxLm >= 0)) throw new ConfigError(`auxLm (λ) must be ≥ 0, got ${c.auxLm}`);
  if (!(c.warmup >= 0 && c.warmup <= 1)) throw new ConfigError(`warmup is a fraction of the steps in [0, 1], got ${c.warmup}`);
  if (!(c.classifierDropout >= 0 && c.classifierDropout < 1)) throw new ConfigError(`classifierDropout must be in [0, 1), got ${c.classifierDropout}`);
  if (c.dropout !== null && !(c.dropout >= 0 && c.dropout < 1)) throw new ConfigError(`dropout must be in [0, 1), got ${c.dropout}`);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const flagOf = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
/** Settings that do not change what a resumed run computes. */
const FREE_ON_RESUME = new Set(['out', 'resume', 'force', 'checkpointEvery', 'world']);

/**
 * The settings of a resumed run: the checkpoint's own (config.json's "training"); a setting given
 * again must equal it, except those that do not change the run (where checkpoints go, the world path).
 */
function resumeSettings(given: Partial<FinetuneConfig> & { out: string }): FinetuneConfig {
  const path = join(given.out, 'config.json');
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')).training ?? {};
  } catch (e) {
    throw new FileFormatError(path, `cannot read the run's settings: ${(e as Error).message}`);
  }
  const cfg = { ...defaultFinetuneConfig, ...saved } as FinetuneConfig;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined || (k === 'model' && v === '')) continue;
    if (FREE_ON_RESUME.has(k)) {
      (cfg as unknown as Record<string, unknown>)[k] = v;
      continue;
    }
    const now = k === 'model' ? resolve(v as string) : v;
    if (!same(now, saved[k])) throw new ConfigError(`--resume: ${flagOf(k)} ${JSON.stringify(v)} differs from the checkpoint's ${JSON.stringify(saved[k])}`, 'leave it out to keep the run\'s own setting, or start a new run (another --out, or --force)');
  }
  cfg.resume = true;
  cfg.force = false;
  return cfg;
}

/**
 * Finetune a pretrained model on a task. `cfgIn` holds the settings the caller chose; the rest are
 * GPT-1's defaults, or, with `resume`, the checkpoint's own. The output folder is checked before any
 * work (util/output.ts).
 */
export async function finetune(cfgIn: Partial<FinetuneConfig> & { out: string }, onEvent: (e: FinetuneEvent) => void = () => {}): Promise<{ model: GptTaskModel; tokenizer: Tokenizer; head: TaskHeadInfo; valAcc: number | null }> {
  for (const k of Object.keys(cfgIn)) {
    if (!(k in defaultFinetuneConfig) && !['model', 'task', 'out'].includes(k)) throw new ConfigError(`unknown finetune option '${k}'`);
  }
  if (cfgIn.resume && !(existsSync(cfgIn.out) && hasTrainerState(cfgIn.out))) {
    throw new ConfigError(`--resume: ${cfgIn.out} holds no checkpoint to resume (no trainer_state/state.json)`, 'leave out --resume to start a new run there');
  }
  if (!cfgIn.resume && !cfgIn.model) throw new ConfigError('no model given', 'pass --model DIR (a gptkit checkpoint or a Hugging Face GPT-2 directory)');
  if (!cfgIn.resume && !cfgIn.task) throw new ConfigError('no task given', 'pass --task world:NAME, a JSONL file or a task directory');
  const cfg: FinetuneConfig = cfgIn.resume ? resumeSettings(cfgIn) : { ...defaultFinetuneConfig, ...cfgIn } as FinetuneConfig;
  validate(cfg);
  const hasCk = existsSync(cfg.out) && hasTrainerState(cfg.out);
  const task = loadTask(cfg.task, { world: cfg.world, splits: ['train', 'validation'] });
  const layout = layoutOf(task.kind);
  const inputs = [...(cfg.model ? [{ flag: '--model', path: cfg.model }] : []), ...(task.source === 'user' ? [{ flag: '--task', path: cfg.task }] : [])];
  /** The task model: the run's own on --resume, else the pretrained one with the new tokens and head (the same seed: the same weights on every rank). */
  const build = (): { model: GptTaskModel; tokenizer: Tokenizer; head: TaskHeadInfo; added: number } => {
    if (cfg.resume) {
      const ck = loadTaskCheckpoint(cfg.out);
      if (ck.head.spec !== cfg.task) throw new ConfigError(`${cfg.out} was finetuned on ${ck.head.spec}, not ${cfg.task}`, 'resume with the same --task, or give another --out');
      return { model: ck.model, head: ck.head, tokenizer: loadTokenizer(cfg.out), added: 0 };
    }
    const base = loadModel(cfg.model);
    const { tokenizer, added } = withTaskTokens(base.tokenizer);
    const first = recordsOf(task, 'train')?.[0];
    const nClasses = task.labels ? task.labels.length : first?.kind === 'multiple_choice' ? first.choices.length : 0;
    const head: TaskHeadInfo = { task: task.name, spec: cfg.task, layout, labels: task.labels, nClasses, classifierDropout: cfg.classifierDropout, specialTokens: TASK_TOKENS };
    return { model: taskModelFrom(base.model, tokenizer.vocabSize, layout, nClasses, cfg), tokenizer, head, added };
  };
  // Under mpirun every rank trains; rank 0 alone opens --out, writes and reports.
  const comm = mpiWorld();
  if (comm && comm.rank > 0) {
    const b = build();
    return train(cfg, null, task, b.model, b.tokenizer, b.head, b.added, () => {}, comm);
  }
  const out = openCheckpointDir(cfg.out, {
    label: `--out ${cfg.out}`, force: cfg.force, update: cfg.resume || !hasCk, inputs,
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  });
  return out.use(async () => {
    if (!cfg.resume && out.existed) out.clear(); // --force: the old run's files go, foreign ones stay
    const b = build();
    return train(cfg, out, task, b.model, b.tokenizer, b.head, b.added, onEvent, comm);
  });
}

/** `out` is null on data-parallel ranks other than 0: they train alongside, and neither validate nor write. */
async function train(cfg: FinetuneConfig, out: OutputDir | null, task: Task, model: GptTaskModel, tokenizer: Tokenizer, head: TaskHeadInfo, added: number, onEvent: (e: FinetuneEvent) => void, comm: Communicator | null): Promise<{ model: GptTaskModel; tokenizer: Tokenizer; head: TaskHeadInfo; valAcc: number | null }> {
  const trainRecords = recordsOf(task, 'train');
  if (!trainRecords?.length) throw new FileFormatError(cfg.task, 'the task has no train split', 'a task directory needs train.jsonl');
  const train = encodeAll(cfg.limit ? trainRecords.slice(0, cfg.limit) : trainRecords, tokenizer, head, model.config.blockSize);
  const valRecords = recordsOf(task, 'validation');
  const val = valRecords ? encodeAll(cfg.valLimit ? valRecords.slice(0, cfg.valLimit) : valRecords, tokenizer, head, model.config.blockSize) : null;

  // A step takes gradAccum batches on each rank, so an epoch is batchesPerEpoch / (gradAccum × ranks) steps.
  const ranks = comm?.size ?? 1;
  const stepsPerEpoch = Math.ceil(Math.ceil(train.examples.length / cfg.batchSize) / (cfg.gradAccum * ranks));
  const steps = cfg.epochs * stepsPerEpoch;
  const data = new EpochBatches(train.examples, cfg.batchSize, cfg.seed);
  // The two losses of a step, summed over its batches here and then across ranks (two float64
  // terms add the same in either order: two ranks log what one process accumulating over two logs).
  let taskSum = 0, lmSum = 0, hasLm = false;
  const lossOf = (b: unknown) => {
    const r = model.taskLoss(b as TaskBatch, cfg.auxLm);
    taskSum += r.task.item();
    if (r.lm) { lmSum += r.lm.item(); hasLm = true; }
    return r.loss;
  };
  const opts: TrainOptions = {
    steps, gradAccum: cfg.gradAccum, lr: cfg.lr, minLr: 0, warmupSteps: Math.ceil(cfg.warmup * steps), weightDecay: cfg.weightDecay,
    beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, gradClip: cfg.gradClip, evalEvery: 0, evalBatches: 1, precision: 'f32',
  };
  const trainer = new FinetuneTrainer(model, lossOf, { train: data }, opts, comm);

  let resumedFrom: number | null = null;
  if (cfg.resume) {
    const { state } = loadTrainerState(cfg.out, model);
    trainer.restore(state);
    resumedFrom = state.step;
  }
  const metric = out ? openMetricsLog(out, resumedFrom) : () => {};

  onEvent({
    type: 'start', config: cfg, model: model.config, params: countParams(model.config).total + model.score.numParameters(), task: cfg.task, layout: head.layout,
    labels: head.labels, trainExamples: train.examples.length, valExamples: val?.examples.length ?? 0, steps, stepsPerEpoch,
    truncated: train.truncated + (val?.truncated ?? 0), addedTokens: added, backend: backend().name, threads: backend().threads(), resumedFrom,
    ...(comm ? { ranks: comm.size, mpi: comm.library } : {}),
  });

  const tokJson = tokenizerJsonText(tokenizer.toSpec());
  const save = () => {
    if (!out) return;
    saveCheckpoint(out, model, {
      extra: { finetune: taskHeadJson(head), training: { ...cfg, model: resolve(cfg.model), resume: undefined, force: undefined, out: undefined } },
      tokenizerJson: { text: tokJson },
      trainerState: trainer.state(),
    });
    onEvent({ type: 'checkpoint', step: trainer.step, dir: cfg.out });
  };
  const validateNow = (): number | null => {
    if (!out || !val?.examples.length) return null;
    const pred = predictEncoded(model, val.examples);
    const acc = pred.filter((p, i) => p === val.examples[i].label).length / pred.length;
    const epoch = Math.ceil(trainer.step / stepsPerEpoch);
    onEvent({ type: 'eval', step: trainer.step, epoch, valAcc: acc, valExamples: pred.length });
    metric({ step: trainer.step, val_acc: acc });
    return acc;
  };

  let valAcc: number | null = null;
  while (trainer.step < steps) {
    taskSum = 0; lmSum = 0;
    const ev = trainer.runStep(); // throws DivergedError before touching the last checkpoint
    const sums = Float64Array.of(taskSum, lmSum);
    comm?.allreduceSum(sums);
    const taskLoss = sums[0] / (cfg.gradAccum * ranks), lmLoss = hasLm ? sums[1] / (cfg.gradAccum * ranks) : null;
    const epoch = Math.ceil(ev.step / stepsPerEpoch);
    onEvent({ type: 'step', epoch, taskLoss, lmLoss, ...ev });
    metric({ step: ev.step, loss: ev.loss, task_loss: taskLoss, lm_loss: lmLoss, lr: ev.lr, grad_norm: ev.gradNorm, tokens: ev.tokens, tokens_per_sec: ev.tokensPerSec, elapsed_sec: ev.elapsedSec });
    const last = ev.step === steps;
    if (ev.step % stepsPerEpoch === 0) valAcc = validateNow();
    if (cfg.checkpointEvery > 0 && ev.step % cfg.checkpointEvery === 0 && !last) save();
  }
  if (valAcc === null && resumedFrom === steps) valAcc = validateNow();
  save();
  onEvent({ type: 'done', step: trainer.step, dir: cfg.out, valAcc });
  return { model, tokenizer, head, valAcc };
}
