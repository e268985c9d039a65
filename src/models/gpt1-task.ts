// GPT-1's finetuning model (Radford et al. 2018, §3.2–3.3): the pretrained GPT plus a linear head
// W_y on the final hidden state of the extract token, trained on L_task + λ·L_LM.
//
// Task-aware input transformations, with start (s), delimiter ($) and extract (e) tokens:
//   classification   s text e                       → head → class logits
//   entailment       s premise $ hypothesis e       → head → class logits
//   similarity       s a $ b e  and  s b $ a e      → the two final states added → head → class logits
//   multiple choice  s context $ answer_i e, each i → head → one score each → softmax over the choices
// The engine knows nothing about text: token ids in, logits and losses out.
import { Tensor } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { GPT, type GptConfig } from './gpt.ts';
import { ClassifierHead, lastTokens } from './heads.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';

export type TaskLayout = 'classification' | 'entailment' | 'similarity' | 'multiple_choice';
export const TASK_LAYOUTS: readonly TaskLayout[] = ['classification', 'entailment', 'similarity', 'multiple_choice'];

/** The three tokens GPT-1 adds to the vocabulary (new embedding rows, trained in finetuning). */
export const TASK_TOKENS = { start: '<|start|>', delimiter: '<|delimiter|>', extract: '<|extract|>' } as const;

export interface TaskTokenIds {
  start: number;
  delimiter: number;
  extract: number;
}

/** Segments (token ids) per layout: [text], [premise, hypothesis], [a, b], [context, answer_1, …]. */
export function segmentCount(layout: TaskLayout): number | null {
  return layout === 'classification' ? 1 : layout === 'multiple_choice' ? null : 2;
}

/** GPT-1's input transformation of one example: the sequences the model reads (1, 1, 2 or k). */
export function transformInputs(layout: TaskLayout, segments: number[][], t: TaskTokenIds): number[][] {
  const want = segmentCount(layout);
  if (want !== null && segments.length !== want) throw new ConfigError(`${layout} takes ${want} segment${want > 1 ? 's' : ''}, got ${segments.length}`);
  if (want === null && segments.length < 3) throw new ConfigError(`multiple_choice takes a context and at least two answers, got ${segments.length} segments`);
  const pair = (a: number[], b: number[]) => [t.start, ...a, t.delimiter, ...b, t.extract];
  switch (layout) {
    case 'classification': return [[t.start, ...segments[0], t.extract]];
    case 'entailment': return [pair(segments[0], segments[1])];
    case 'similarity': return [pair(segments[0], segments[1]), pair(segments[1], segments[0])];
    case 'multiple_choice': return segments.slice(1).map((answer) => pair(segments[0], answer));
  }
}

/** Sequences the model reads per example of a layout (k for multiple choice). */
export function sequencesPerExample(layout: TaskLayout, choices = 0): number {
  return layout === 'similarity' ? 2 : layout === 'multiple_choice' ? choices : 1;
}

/** A batch of transformed examples, right-padded: what taskForward reads. */
export interface TaskBatch {
  /** (B, T) token ids of the B = examples × per-example sequences, right-padded with 0. */
  ids: Int32Array;
  /** (B, T) next-token targets for the auxiliary LM loss, −100 past each sequence's end. */
  targets: Int32Array;
  B: number;
  T: number;
  /** (B) real length of each sequence; its last token is the extract token. */
  lengths: Int32Array;
  /** (examples) the right class or choice. */
  labels: Int32Array;
  examples: number;
}

/** Pack examples (each a group of sequences of equal count) and their labels into a TaskBatch. */
export function packTaskBatch(groups: number[][][], labels: number[]): TaskBatch {
  const seqs = groups.flat();
  const per = groups[0]?.length ?? 0;
  if (groups.some((g) => g.length !== per)) throw new ConfigError('packTaskBatch: every example of a batch needs the same number of sequences');
  const B = seqs.length, T = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T).fill(-100), lengths = new Int32Array(B);
  seqs.forEach((s, b) => {
    ids.set(s, b * T);
    for (let t = 0; t + 1 < s.length; t++) targets[b * T + t] = s[t + 1];
    lengths[b] = s.length;
  });
  return { ids, targets, B, T, lengths, labels: Int32Array.from(labels), examples: groups.length };
}

export interface TaskOutput {
  /** (examples, classes), or (examples, choices) for multiple choice. */
  logits: Tensor;
  /** Mean next-token loss over every real position of every sequence (when asked for). */
  lmLoss: Tensor | null;
}

/** A GPT with GPT-1's task head; its parameters are the GPT's plus `score.proj.{weight,bias}`. */
export class GptTaskModel extends GPT {
  readonly score: ClassifierHead;
  constructor(config: GptConfig, readonly layout: TaskLayout, readonly nClasses: number, seed = 1337, classifierDropout = 0.1) {
    super(config, seed);
    if (layout !== 'multiple_choice' && !(Number.isInteger(nClasses) && nClasses >= 2)) throw new ConfigError(`a ${layout} head needs at least two classes, got ${nClasses}`);
    // Multiple choice scores each (context, answer) sequence with one number.
    this.score = this.child('score', new ClassifierHead(config.nEmbd, layout === 'multiple_choice' ? 1 : nClasses, new Rng(seed).fork('score'), classifierDropout));
  }

  /** Logits of every example of the batch, and the LM loss on its sequences when `lm`. */
  taskForward(batch: TaskBatch, lm: boolean): TaskOutput {
    const { ids, B, T, lengths, examples } = batch;
    const h = this.hidden(ids, B, T); // (B, T, C)
    let pooled = lastTokens(h, lengths); // (B, C): the extract token's final state
    if (this.layout === 'similarity') {
      // GPT-1: both orderings processed independently, their representations added element-wise.
      const first = Int32Array.from({ length: examples }, (_, i) => 2 * i);
      const second = Int32Array.from({ length: examples }, (_, i) => 2 * i + 1);
      pooled = op.add(op.gatherRows(pooled, first), op.gatherRows(pooled, second)); // (examples, C)
    }
    let logits = this.score.forward(pooled); // (examples, classes) or (B, 1)
    if (this.layout === 'multiple_choice') logits = op.reshape(logits, [examples, B / examples]); // (examples, choices)
    const lmLoss = lm ? op.crossEntropy(op.linear(h, this.lmHeadWeight, null), batch.targets) : null;
    return { logits, lmLoss };
  }

  /** L_task + λ·L_LM (GPT-1's L3 = L2 + λ·L1); λ = 0 skips the LM head entirely. */
  taskLoss(batch: TaskBatch, auxLm: number): { loss: Tensor; task: Tensor; lm: Tensor | null } {
    const out = this.taskForward(batch, auxLm > 0);
    const task = op.crossEntropy(out.logits, batch.labels);
    const loss = out.lmLoss ? op.add(task, op.scale(out.lmLoss, auxLm)) : task;
    return { loss, task, lm: out.lmLoss };
  }
}
