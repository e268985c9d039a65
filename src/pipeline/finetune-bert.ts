// Finetuning a BERT on [CLS] (`gptkit finetune --model BERT_DIR --task …`; cli/finetune.ts sends BERT
// directories here). The same tasks, settings, metrics and checkpoints as GPT-1's finetuning
// (pipeline/finetune.ts), with BERT's input and head instead of GPT-1's transformations: one sequence
// [CLS] a [SEP] (b [SEP]) per example, the pooled [CLS] state → dropout → linear; multiple choice as
// one score per [CLS] context [SEP] choice [SEP]. BERT's recipe for the defaults the caller leaves
// out: lr 3e-5 (of the paper's 5e-5, 3e-5, 2e-5), warmup over 10% of the steps then linear decay,
// batch 32, 3 epochs; no auxiliary LM loss. The output is a Hugging Face BERT directory holding the
// head (`classifier.*`), with "finetune" and "training" in config.json; it resumes exactly.
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BertTaskModel, type BertTaskLayout, type BertBatch } from '../models/bert.ts';
import { Trainer, type TrainOptions } from '../train/trainer.ts';
import type { Batch, BatchSource } from '../train/batches.ts';
import { warmupLinear } from '../optim/schedule.ts';
import { openCheckpointDir, hasTrainerState } from '../interop/checkpoint.ts';
import { loadBertDir, saveBertDir, loadBertTrainerState } from '../interop/hf-bert.ts';
import { loadParams } from '../interop/module-state.ts';
import type { WordPieceTokenizer } from '../tokenizer/wordpiece.ts';
import { loadTask, type Task, type TaskRecord } from '../eval/tasks.ts';
import { layoutOf } from '../eval/transform.ts';
import * as op from '../tensor/ops.ts';
import { noGrad, scope } from '../tensor/tensor.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError, FileFormatError } from '../util/errors.ts';
import { defaultFinetuneConfig, type FinetuneConfig } from './finetune.ts';

/** BERT's finetuning defaults where they differ from GPT-1's. */
export const bertFinetuneDefaults = { lr: 3e-5, warmup: 0.1, auxLm: 0 };

export interface BertExample { seqs: { ids: number[]; typeIds: number[] }[]; label: number }

/** One record → its sequence(s), cut from the end of the longer segment to fit (BERT's truncate_seq_pair). */
export function encodeBertExample(r: TaskRecord, tok: WordPieceTokenizer, labels: string[] | null, blockSize: number): BertExample {
  const where = `${r.file}:${r.line}`;
  const pair = (a: string, b?: string) => {
    const A = tok.encode(a), B = b === undefined ? [] : tok.encode(b);
    const room = blockSize - (b === undefined ? 2 : 3);
    while (A.length + B.length > room) (A.length >= B.length ? A : B).pop();
    const ids = [tok.clsId, ...A, tok.sepId, ...(b === undefined ? [] : [...B, tok.sepId])];
    return { ids, typeIds: ids.map((_, i) => (i > A.length + 1 ? 1 : 0)) };
  };
  const labelOf = (l: string) => {
    const i = labels ? labels.indexOf(l) : -1;
    if (i < 0) throw new FileFormatError(where, `label ${JSON.stringify(l)} is not one of the head's labels ${JSON.stringify(labels)}`);
    return i;
  };
  switch (r.kind) {
    case 'classification': return { seqs: [pair(r.text)], label: labelOf(r.label) };
    case 'entailment': return { seqs: [pair(r.premise, r.hypothesis)], label: labelOf(r.label) };
    case 'similarity': return { seqs: [pair(r.textA, r.textB)], label: labelOf(r.label) };
    case 'multiple_choice': return { seqs: r.choices.map((c) => pair(r.context, c)), label: r.gold };
    default: throw new FileFormatError(where, 'a generative record cannot be finetuned with a classification head');
  }
}

/** Examples → one right-padded batch (every example's sequences, in order). */
export function packBert(examples: BertExample[], pad: number): BertBatch & Batch {
  const seqs = examples.flatMap((e) => e.seqs);
  const T = Math.max(...seqs.map((s) => s.ids.length)), B = seqs.length;
  const ids = new Int32Array(B * T).fill(pad), typeIds = new Int32Array(B * T), lengths = new Int32Array(B);
  seqs.forEach((s, b) => { ids.set(s.ids, b * T); typeIds.set(s.typeIds, b * T); lengths[b] = s.ids.length; });
  return { ids, typeIds, lengths, B, T, targets: Int32Array.from(examples.map((e) => e.label)) };
}

/** Shuffled epochs; the state (epoch, position, the epoch's shuffle seed) restores the exact position. */
class Epochs implements BatchSource {
  private rng: Rng;
  private epochStart: ReturnType<Rng['state']>;
  private order: number[] = [];
  private epoch = 0;
  private pos = 0;
  constructor(private readonly examples: BertExample[], private readonly batchSize: number, private readonly pad: number, seed: number) {
    this.rng = new Rng(seed).fork('finetune-data');
    this.epochStart = this.rng.state();
    this.shuffle();
  }
  private shuffle(): void {
    this.epochStart = this.rng.state();
    this.order = this.rng.shuffle(this.examples.map((_, i) => i));
  }
  next(): Batch {
    if (this.pos >= this.order.length) { this.epoch++; this.pos = 0; this.shuffle(); }
    const take = this.order.slice(this.pos, this.pos + this.batchSize).map((i) => this.examples[i]);
    this.pos += take.length;
    return packBert(take, this.pad);
  }
  state(): unknown { return { epoch: this.epoch, pos: this.pos, rng: this.epochStart }; }
  restore(s: unknown): void {
    const st = s as { epoch: number; pos: number; rng: ReturnType<Rng['state']> };
    this.rng = Rng.fromState(st.rng);
    this.shuffle();
    this.epoch = st.epoch;
    this.pos = st.pos;
  }
}

class LinearDecayTrainer extends Trainer {
  override lrAt(step: number): number {
    return warmupLinear(step, this.opts.lr, this.opts.warmupSteps, this.opts.steps);
  }
}

/** Predicted class (or choice) of each example, in batches, without dropout. */
export function predictBert(model: BertTaskModel, examples: BertExample[], pad: number, batch = 32): number[] {
  const out: number[] = [];
  model.eval();
  for (let i = 0; i < examples.length; i += batch) {
    noGrad(() => scope(() => {
      const l = model.logits(packBert(examples.slice(i, i + batch), pad));
      const [n, k] = l.shape;
      for (let r = 0; r < n; r++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (l.data[r * k + c] > l.data[r * k + best]) best = c;
        out.push(best);
      }
    }));
  }
  model.train();
  return out;
}

const recordsOf = (task: Task, split: 'train' | 'validation'): TaskRecord[] | undefined =>
  task.singleFile ? (split === 'train' ? task.splits.test : undefined) : task.splits[split];

export type BertFinetuneEvent =
  | { type: 'start'; task: string; layout: BertTaskLayout; labels: string[] | null; trainExamples: number; valExamples: number; steps: number; params: number; resumedFrom: number | null }
  | { type: 'step'; step: number; steps: number; epoch: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number; elapsedSec: number; etaSec: number; tokens: number }
  | { type: 'eval'; step: number; epoch: number; valAcc: number; valExamples: number }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'done'; step: number; dir: string; valAcc: number | null };

/** Finetune a BERT directory on a task; `cfgIn` as finetune()'s (λ is not used: BERT has no LM head here). */
export async function finetuneBert(cfgIn: Partial<FinetuneConfig> & { out: string }, onEvent: (e: BertFinetuneEvent) => void = () => {}): Promise<{ model: BertTaskModel; valAcc: number | null }> {
  const hasCk = existsSync(cfgIn.out) && hasTrainerState(cfgIn.out);
  if (cfgIn.resume && !hasCk) throw new ConfigError(`--resume: ${cfgIn.out} holds no checkpoint to resume (no trainer_state/state.json)`, 'leave out --resume to start a new run there');
  let cfg: FinetuneConfig;
  if (cfgIn.resume) {
    const saved = JSON.parse(readFileSync(join(cfgIn.out, 'config.json'), 'utf8')).training as Record<string, unknown>;
    for (const [k, v] of Object.entries(cfgIn)) {
      if (v === undefined || ['out', 'resume', 'force', 'checkpointEvery', 'world'].includes(k)) continue;
      const now = k === 'model' ? resolve(v as string) : v;
      if (JSON.stringify(now) !== JSON.stringify(saved[k])) throw new ConfigError(`--resume: --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} ${JSON.stringify(v)} differs from the checkpoint's ${JSON.stringify(saved[k])}`, "leave it out to keep the run's own setting");
    }
    cfg = { ...defaultFinetuneConfig, ...saved, out: cfgIn.out, resume: true, force: false, world: cfgIn.world ?? (saved.world as string) } as FinetuneConfig;
  } else cfg = { ...defaultFinetuneConfig, ...bertFinetuneDefaults, ...cfgIn } as FinetuneConfig;
  const task = loadTask(cfg.task, { world: cfg.world, splits: ['train', 'validation'] });
  const layout = layoutOf(task.kind) as BertTaskLayout;
  const out = openCheckpointDir(cfg.out, {
    label: `--out ${cfg.out}`, force: cfg.force, update: cfg.resume || !hasCk,
    inputs: [{ flag: '--model', path: cfg.model }, ...(task.source === 'user' ? [{ flag: '--task', path: cfg.task }] : [])],
    existsHint: 'pass --resume to continue that run, or --force to start over (only the files gptkit wrote there are replaced)',
  });
  return out.use(async () => {
    if (!cfg.resume && out.existed) out.clear();
    const base = loadBertDir(cfg.resume ? cfg.out : cfg.model);
    const tok = base.tokenizer;
    const first = recordsOf(task, 'train')?.[0];
    const nClasses = task.labels ? task.labels.length : first?.kind === 'multiple_choice' ? first.choices.length : 0;
    const bcfg = cfg.dropout === null ? base.model.config : { ...base.model.config, dropout: cfg.dropout };
    const model = new BertTaskModel(bcfg, layout, nClasses, cfg.seed, cfg.classifierDropout);
    loadParams(model.bert, new Map([...base.model.bert.namedParameters()].map(([n, t]) => [n, { dtype: 'F32' as const, shape: [...t.shape], data: t.data }])), cfg.model);
    if (cfg.resume) loadParams(model.classifier, new Map([...base.rest].filter(([n]) => n.startsWith('classifier.')).map(([n, t]) => [n.slice('classifier.'.length), t])), join(cfg.out, 'model.safetensors'));

    const trainRecords = recordsOf(task, 'train');
    if (!trainRecords?.length) throw new FileFormatError(cfg.task, 'the task has no train split', 'a task directory needs train.jsonl');
    const enc = (rs: TaskRecord[]) => rs.map((r) => encodeBertExample(r, tok, task.labels, model.config.blockSize));
    const train = enc(cfg.limit ? trainRecords.slice(0, cfg.limit) : trainRecords);
    if (layout === 'multiple_choice' && train.some((e) => e.seqs.length !== nClasses)) throw new FileFormatError(cfg.task, `every record needs ${nClasses} choices (the first record's count)`);
    const valRecords = recordsOf(task, 'validation');
    const val = valRecords ? enc(cfg.valLimit ? valRecords.slice(0, cfg.valLimit) : valRecords) : null;
    const stepsPerEpoch = Math.ceil(train.length / cfg.batchSize), steps = cfg.epochs * stepsPerEpoch;
    const opts: TrainOptions = {
      steps, gradAccum: 1, lr: cfg.lr, minLr: 0, warmupSteps: Math.ceil(cfg.warmup * steps), weightDecay: cfg.weightDecay,
      beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, gradClip: cfg.gradClip, evalEvery: 0, evalBatches: 1, precision: 'f32',
    };
    const lossOf = (b: Batch) => op.crossEntropy(model.logits(b as BertBatch & Batch), b.targets);
    const trainer = new LinearDecayTrainer(model, lossOf, { train: new Epochs(train, cfg.batchSize, tok.padId, cfg.seed) }, opts);
    const metricsPath = out.file('metrics.jsonl');
    let resumedFrom: number | null = null;
    if (cfg.resume) {
      const { state } = loadBertTrainerState(cfg.out, model);
      trainer.restore(state);
      resumedFrom = state.step;
      if (existsSync(metricsPath)) writeFileAtomic(metricsPath, readFileSync(metricsPath, 'utf8').split('\n').filter((l) => l && JSON.parse(l).step <= state.step).map((l) => l + '\n').join(''));
    } else writeFileAtomic(metricsPath, '');
    out.own('metrics.jsonl');
    const metric = (rec: Record<string, unknown>) => appendFileSync(metricsPath, JSON.stringify(rec) + '\n');
    onEvent({ type: 'start', task: cfg.task, layout, labels: task.labels, trainExamples: train.length, valExamples: val?.length ?? 0, steps, params: model.numParameters(), resumedFrom });

    const finetuneInfo = { task: task.name, spec: cfg.task, layout, labels: task.labels, n_classes: nClasses, classifier_dropout: cfg.classifierDropout, head: 'cls' };
    const training = { ...cfg, model: resolve(cfg.model), resume: undefined, force: undefined, out: undefined };
    const save = () => {
      saveBertDir(out, base.model, tok, {
        extra: { architectures: [layout === 'multiple_choice' ? 'BertForMultipleChoice' : 'BertForSequenceClassification'], finetune: finetuneInfo, training },
        extraTensors: model.classifier.namedParameters().map(([n, t]) => [`classifier.${n}`, t]),
        trainerState: trainer.state(), stateModule: model,
      });
      onEvent({ type: 'checkpoint', step: trainer.step, dir: cfg.out });
    };
    const validate = () => {
      if (!val?.length) return null;
      const pred = predictBert(model, val, tok.padId);
      const acc = pred.filter((p, i) => p === val[i].label).length / pred.length;
      onEvent({ type: 'eval', step: trainer.step, epoch: Math.ceil(trainer.step / stepsPerEpoch), valAcc: acc, valExamples: pred.length });
      metric({ step: trainer.step, val_acc: acc });
      return acc;
    };
    let valAcc: number | null = null;
    while (trainer.step < steps) {
      const ev = trainer.runStep();
      onEvent({ type: 'step', epoch: Math.ceil(ev.step / stepsPerEpoch), ...ev });
      metric({ step: ev.step, loss: ev.loss, lr: ev.lr, grad_norm: ev.gradNorm, tokens: ev.tokens, tokens_per_sec: ev.tokensPerSec, elapsed_sec: ev.elapsedSec });
      if (ev.step % stepsPerEpoch === 0) valAcc = validate();
      if (cfg.checkpointEvery > 0 && ev.step % cfg.checkpointEvery === 0 && ev.step !== steps) { syncEncoder(model, base.model); save(); }
    }
    syncEncoder(model, base.model);
    save();
    onEvent({ type: 'done', step: trainer.step, dir: cfg.out, valAcc });
    return { model, valAcc };
  });
}

/** Copy the task model's encoder into the pretraining model that saveBertDir writes. */
function syncEncoder(from: BertTaskModel, to: { bert: BertTaskModel['bert'] }): void {
  const src = new Map(from.bert.namedParameters());
  for (const [n, t] of to.bert.namedParameters()) t.data.set(src.get(n)!.data);
}
