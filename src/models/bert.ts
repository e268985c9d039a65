// BERT (Devlin et al., 2018): a bidirectional Transformer encoder pretrained with masked language
// modelling and next-sentence prediction.
//   embeddings   token + segment (A/B) + learned position, then LayerNorm and dropout
//   blocks       post-LN (x = LN(x + f(x))), separate q/k/v projections, GELU (erf form), every query
//                sees every real key: padding is masked per sequence (keyEnd = its length)
//   pooler       tanh(dense(h[CLS])): what NSP and sentence-level finetuning read
//   MLM head     dense → GELU → LayerNorm, then the token embeddings (tied) and a bias
//   NSP head     2-way linear on the pooler
// Parameter names are Hugging Face's BertForPreTraining names (`bert.encoder.layer.0.attention.self.query.weight`,
// `cls.predictions.transform.dense.weight`, …), so a real checkpoint loads name for name.
import { Tensor } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { attention } from '../tensor/attention.ts';
import type { I32 } from '../backend/backend.ts';
import { Module } from '../nn/module.ts';
import { Embedding, LayerNorm, Linear, Dropout } from '../nn/layers.ts';
import { ModuleList } from './gpt.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';

export interface BertConfig {
  vocabSize: number;
  /** Maximum positions (max_position_embeddings). */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** FFN width (4·nEmbd in every published size). */
  intermediateSize: number;
  /** Segment types (2: sentence A and B). */
  typeVocabSize: number;
  /** Dropout on embeddings, residual branches and attention probabilities (BERT: 0.1). */
  dropout: number;
  layerNormEps: number;
  /** 'gelu' = exact erf form (BERT's), 'gelu_new' = GPT-2's tanh form. */
  hiddenAct: 'gelu' | 'gelu_new';
}

const base = { typeVocabSize: 2, dropout: 0.1, layerNormEps: 1e-12, hiddenAct: 'gelu' as const };
const size = (nLayer: number, nHead: number, nEmbd: number, vocabSize = 30522, blockSize = 512): BertConfig =>
  ({ ...base, vocabSize, blockSize, nLayer, nHead, nEmbd, intermediateSize: 4 * nEmbd });

/** The paper's sizes, Google's compact BERTs (Turc et al., 2019), and small ones for the world. */
export const bertPresets: Record<string, BertConfig> = {
  'bert-base': size(12, 12, 768),
  'bert-large': size(24, 16, 1024),
  'bert-tiny': size(2, 2, 128),
  'bert-mini': size(4, 4, 256),
  'bert-small': size(4, 8, 512),
  'bert-medium': size(8, 8, 512),
  // The world's sizes, as GPT's nano and tiny (vocabulary set by the tokenizer at train time).
  'bert-world-nano': size(2, 2, 64, 512, 64),
  'bert-world-tiny': size(4, 4, 128, 512, 128),
};

const keys = Object.keys(size(1, 1, 1)) as (keyof BertConfig)[];

/** A complete config from a preset name (or a config) and overrides; unknown keys and bad values are errors. */
export function bertConfig(preset: string | BertConfig, overrides: Partial<BertConfig> = {}): BertConfig {
  const start = typeof preset === 'string' ? bertPresets[preset] : preset;
  if (!start) throw new ConfigError(`unknown BERT preset '${preset}'`, `one of: ${Object.keys(bertPresets).join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!keys.includes(k as keyof BertConfig)) throw new ConfigError(`unknown BERT config key '${k}'`, `known keys: ${keys.join(', ')}`);
  }
  const c = { ...start, ...overrides };
  if (overrides.nEmbd !== undefined && overrides.intermediateSize === undefined && typeof preset === 'string') c.intermediateSize = 4 * c.nEmbd;
  for (const k of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd', 'intermediateSize', 'typeVocabSize'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new ConfigError(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new ConfigError(`nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ConfigError(`dropout must be in [0, 1), got ${c.dropout}`);
  if (c.hiddenAct !== 'gelu' && c.hiddenAct !== 'gelu_new') throw new ConfigError(`hiddenAct must be 'gelu' or 'gelu_new', got '${c.hiddenAct}'`);
  return Object.freeze(c);
}

/** Parameters of BertForPreTraining (tied decoder counted once); positions separately. */
export function countBertParams(c: BertConfig): { total: number; positions: number } {
  const C = c.nEmbd, F = c.intermediateSize;
  const layer = 4 * (C * C + C) + 2 * 2 * C + (C * F + F) + (F * C + C);
  const embeddings = c.vocabSize * C + c.blockSize * C + c.typeVocabSize * C + 2 * C;
  const heads = (C * C + C) /* pooler */ + (C * C + C + 2 * C + c.vocabSize) /* MLM */ + (2 * C + 2) /* NSP */;
  return { total: embeddings + c.nLayer * layer + heads, positions: c.blockSize * C };
}

/** Training FLOPs per token: 6·N (N without positions) + 6·n_layer·T·C for attention, as GPT's. */
export function bertFlopsPerToken(c: BertConfig, seqLen = c.blockSize): number {
  const p = countBertParams(c);
  return 6 * (p.total - p.positions) + 6 * c.nLayer * seqLen * c.nEmbd;
}

const act = (c: BertConfig, x: Tensor) => (c.hiddenAct === 'gelu' ? op.geluErf(x) : op.gelu(x));

/** A Linear and its LayerNorm after a residual add (HF's BertSelfOutput / BertOutput). */
class DenseLayerNorm extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  private readonly drop: Dropout;
  constructor(inF: number, c: BertConfig, rng: Rng) {
    super();
    this.dense = this.child('dense', new Linear(inF, c.nEmbd, rng.fork('dense')));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(c.nEmbd, c.layerNormEps));
    this.drop = this.child('dropout', new Dropout(c.dropout, rng.fork('dropout')));
  }
  /** LN(dropout(dense(h)) + residual) */
  forward(h: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(op.add(this.drop.forward(this.dense.forward(h)), residual));
  }
}

class SelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  private readonly drop: Dropout;
  constructor(readonly c: BertConfig, rng: Rng) {
    super();
    this.query = this.child('query', new Linear(c.nEmbd, c.nEmbd, rng.fork('query')));
    this.key = this.child('key', new Linear(c.nEmbd, c.nEmbd, rng.fork('key')));
    this.value = this.child('value', new Linear(c.nEmbd, c.nEmbd, rng.fork('value')));
    this.drop = this.child('dropout', new Dropout(c.dropout, rng.fork('dropout')));
  }
  forward(x: Tensor, keyEnd: I32 | null): Tensor {
    const p = this.training ? this.c.dropout : 0;
    return attention(this.query.forward(x), this.key.forward(x), this.value.forward(x), // (B, T, C) each
      { nHead: this.c.nHead, causal: false, keyEnd, dropout: p, seed: p > 0 ? this.drop.nextSeed() : 0 }); // (B, T, C)
  }
}

class Attention extends Module {
  readonly self: SelfAttention;
  readonly output: DenseLayerNorm;
  constructor(c: BertConfig, rng: Rng) {
    super();
    this.self = this.child('self', new SelfAttention(c, rng.fork('self')));
    this.output = this.child('output', new DenseLayerNorm(c.nEmbd, c, rng.fork('output')));
  }
}

export class BertLayer extends Module {
  readonly attention: Attention;
  readonly intermediate: { dense: Linear } & Module;
  readonly output: DenseLayerNorm;
  constructor(readonly c: BertConfig, rng: Rng) {
    super();
    this.attention = this.child('attention', new Attention(c, rng.fork('attention')));
    this.intermediate = this.child('intermediate', new Intermediate(c, rng.fork('intermediate')));
    this.output = this.child('output', new DenseLayerNorm(c.intermediateSize, c, rng.fork('output')));
  }
  forward(x: Tensor, keyEnd: I32 | null): Tensor {
    const a = this.attention.output.forward(this.attention.self.forward(x, keyEnd), x); // (B, T, C)
    const h = act(this.c, this.intermediate.dense.forward(a)); // (B, T, 4C)
    return this.output.forward(h, a); // (B, T, C)
  }
}

class Intermediate extends Module {
  readonly dense: Linear;
  constructor(c: BertConfig, rng: Rng) {
    super();
    this.dense = this.child('dense', new Linear(c.nEmbd, c.intermediateSize, rng.fork('dense')));
  }
}

class Embeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  private readonly drop: Dropout;
  constructor(c: BertConfig, rng: Rng) {
    super();
    this.word_embeddings = this.child('word_embeddings', new Embedding(c.vocabSize, c.nEmbd, rng.fork('word')));
    this.position_embeddings = this.child('position_embeddings', new Embedding(c.blockSize, c.nEmbd, rng.fork('pos')));
    this.token_type_embeddings = this.child('token_type_embeddings', new Embedding(c.typeVocabSize, c.nEmbd, rng.fork('type')));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(c.nEmbd, c.layerNormEps));
    this.drop = this.child('dropout', new Dropout(c.dropout, rng.fork('dropout')));
  }
  forward(ids: I32, typeIds: I32, positions: I32, B: number, T: number): Tensor {
    let x = op.add(this.word_embeddings.forward(ids, [B, T]), this.token_type_embeddings.forward(typeIds, [B, T])); // (B, T, C)
    x = op.add(x, this.position_embeddings.forward(positions, [T])); // (T, C) broadcast over B
    return this.drop.forward(this.LayerNorm.forward(x));
  }
}

class Encoder extends Module {
  readonly layer: BertLayer[] = [];
  constructor(c: BertConfig, rng: Rng) {
    super();
    const list = this.child('layer', new ModuleList());
    for (let i = 0; i < c.nLayer; i++) this.layer.push(list.add(new BertLayer(c, rng.fork(`layer.${i}`))));
  }
}

class Pooler extends Module {
  readonly dense: Linear;
  constructor(c: BertConfig, rng: Rng) {
    super();
    this.dense = this.child('dense', new Linear(c.nEmbd, c.nEmbd, rng.fork('dense')));
  }
}

/** The encoder (HF's BertModel): embeddings, blocks, pooler. */
export class BertModel extends Module {
  readonly embeddings: Embeddings;
  readonly encoder: Encoder;
  readonly pooler: Pooler;
  private readonly positions: Int32Array;
  constructor(readonly config: BertConfig, rng: Rng) {
    super();
    this.positions = Int32Array.from({ length: config.blockSize }, (_, i) => i);
    this.embeddings = this.child('embeddings', new Embeddings(config, rng.fork('embeddings')));
    this.encoder = this.child('encoder', new Encoder(config, rng.fork('encoder')));
    this.pooler = this.child('pooler', new Pooler(config, rng.fork('pooler')));
  }

  /**
   * Final hidden states (B, T, C) of ids (B·T), right-padded: `lengths[b]` real tokens in row b
   * (null: none padded). typeIds (B·T) are the segments (null: all 0).
   */
  hidden(ids: I32, B: number, T: number, typeIds: I32 | null = null, lengths: I32 | null = null): Tensor {
    const c = this.config;
    if (T > c.blockSize) throw new RangeError(`sequence length ${T} exceeds the model's ${c.blockSize} positions`);
    if (ids.length !== B * T) throw new RangeError(`ids has ${ids.length} tokens, expected B·T = ${B}·${T}`);
    let x = this.embeddings.forward(ids, typeIds ?? new Int32Array(B * T), this.positions.subarray(0, T), B, T);
    for (const layer of this.encoder.layer) x = layer.forward(x, lengths);
    return x;
  }

  /** tanh(dense(h[:, 0])): (B, C), from hidden (B, T, C). */
  pool(h: Tensor): Tensor {
    const [B, T] = h.shape;
    const first = Int32Array.from({ length: B }, (_, b) => b * T);
    return op.tanh(this.pooler.dense.forward(op.gatherRows(h, first))); // (B, C)
  }
}

class PredictionTransform extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  constructor(c: BertConfig, rng: Rng) {
    super();
    this.dense = this.child('dense', new Linear(c.nEmbd, c.nEmbd, rng.fork('dense')));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(c.nEmbd, c.layerNormEps));
  }
}

/** MLM head: transform, then the tied token embeddings and a per-token bias. */
class LMPrediction extends Module {
  readonly transform: PredictionTransform;
  readonly bias: Tensor;
  constructor(c: BertConfig, rng: Rng) {
    super();
    this.transform = this.child('transform', new PredictionTransform(c, rng.fork('transform')));
    this.bias = this.param('bias', Tensor.parameter(new Float32Array(c.vocabSize), [c.vocabSize]));
  }
}

class PreTrainingHeads extends Module {
  readonly predictions: LMPrediction;
  readonly seq_relationship: Linear;
  constructor(c: BertConfig, rng: Rng) {
    super();
    this.predictions = this.child('predictions', new LMPrediction(c, rng.fork('predictions')));
    this.seq_relationship = this.child('seq_relationship', new Linear(c.nEmbd, 2, rng.fork('seq_relationship')));
  }
}

export interface BertBatch {
  ids: I32; // (B·T)
  typeIds: I32; // (B·T)
  lengths: I32; // (B) real tokens per row; the rest is [PAD]
  B: number;
  T: number;
  /** MLM targets (B·T): the original token at selected positions, -100 elsewhere. */
  mlmLabels?: I32;
  /** NSP targets (B): 0 = B follows A, 1 = B is random (HF's convention). */
  nspLabels?: I32;
}

export interface BertPretrainOutput {
  /** (rows, vocab): every position's, or only the selected positions' with `selectedOnly`. */
  mlmLogits: Tensor;
  nspLogits: Tensor; // (B, 2)
  mlmLoss: Tensor | null;
  nspLoss: Tensor | null;
  /** mlmLoss + nspLoss when both labels were given. */
  loss: Tensor | null;
}

/** BertForPreTraining: the encoder with the MLM and NSP heads. */
export class BertForPreTraining extends Module {
  readonly bert: BertModel;
  readonly cls: PreTrainingHeads;
  constructor(readonly config: BertConfig, seed = 1337) {
    super();
    const rng = new Rng(seed);
    this.bert = this.child('bert', new BertModel(config, rng.fork('bert')));
    this.cls = this.child('cls', new PreTrainingHeads(config, rng.fork('cls')));
  }

  /** MLM logits of hidden states h (rows, C): transform, then the tied embeddings + bias → (rows, V). */
  mlmLogits(h: Tensor): Tensor {
    const t = this.cls.predictions.transform;
    const x = t.LayerNorm.forward(act(this.config, t.dense.forward(h))); // (rows, C)
    return op.linear(x, this.bert.embeddings.word_embeddings.weight, this.cls.predictions.bias); // (rows, V)
  }

  /**
   * Both heads and, with labels, the pretraining loss (mean MLM cross-entropy over selected
   * positions + mean NSP cross-entropy, as HF). `selectedOnly` runs the MLM head on the selected
   * positions alone (training: ~15% of the vocabulary projections); the loss is the same.
   */
  forward(b: BertBatch, opts: { selectedOnly?: boolean } = {}): BertPretrainOutput {
    const h = this.bert.hidden(b.ids, b.B, b.T, b.typeIds, b.lengths); // (B, T, C)
    const nspLogits = this.cls.seq_relationship.forward(this.bert.pool(h)); // (B, 2)
    let mlmLogits: Tensor, mlmLoss: Tensor | null = null;
    if (opts.selectedOnly && b.mlmLabels) {
      const rows: number[] = [], targets: number[] = [];
      b.mlmLabels.forEach((t, i) => { if (t !== -100) { rows.push(i); targets.push(t); } });
      if (!rows.length) throw new RangeError('BERT batch has no selected MLM positions');
      mlmLogits = this.mlmLogits(op.gatherRows(h, Int32Array.from(rows))); // (n, V)
      mlmLoss = op.crossEntropy(mlmLogits, Int32Array.from(targets));
    } else {
      mlmLogits = this.mlmLogits(op.reshape(h, [b.B * b.T, this.config.nEmbd])); // (B·T, V)
      if (b.mlmLabels) mlmLoss = op.crossEntropy(mlmLogits, b.mlmLabels);
    }
    const nspLoss = b.nspLabels ? op.crossEntropy(nspLogits, b.nspLabels) : null;
    const loss = mlmLoss && nspLoss ? op.add(mlmLoss, nspLoss) : null;
    return { mlmLogits, nspLogits, mlmLoss, nspLoss, loss };
  }
}

/** Task layouts a [CLS] head serves: one label per sequence, or one score per (context, choice) sequence. */
export type BertTaskLayout = 'classification' | 'entailment' | 'similarity' | 'multiple_choice';

/**
 * BERT finetuned on [CLS] (the paper's §4): the pooled [CLS] state, dropout, a linear head. Sentence
 * pairs ride in one sequence, [CLS] a [SEP] b [SEP]; multiple choice scores each `[CLS] context [SEP]
 * choice [SEP]` with a 1-output head and takes a softmax over the choices (HF's BertForMultipleChoice).
 * Names are HF's: `bert.…`, `classifier.weight`, `classifier.bias`.
 */
export class BertTaskModel extends Module {
  readonly bert: BertModel;
  readonly classifier: Linear;
  private readonly drop: Dropout;
  constructor(readonly config: BertConfig, readonly layout: BertTaskLayout, readonly nClasses: number, seed = 1337, classifierDropout = 0.1) {
    super();
    const rng = new Rng(seed);
    this.bert = this.child('bert', new BertModel(config, rng.fork('bert')));
    this.drop = this.child('dropout', new Dropout(classifierDropout, rng.fork('classifier_dropout')));
    this.classifier = this.child('classifier', new Linear(config.nEmbd, layout === 'multiple_choice' ? 1 : nClasses, rng.fork('classifier')));
  }

  /** Logits (N, nClasses) of N examples; for multiple choice the batch holds N·k sequences, choice-major per example. */
  logits(b: BertBatch): Tensor {
    const pooled = this.bert.pool(this.bert.hidden(b.ids, b.B, b.T, b.typeIds, b.lengths)); // (B, C)
    const out = this.classifier.forward(this.drop.forward(pooled)); // (B, classes) or (B, 1)
    return this.layout === 'multiple_choice' ? op.reshape(out, [b.B / this.nClasses, this.nClasses]) : out;
  }
}
