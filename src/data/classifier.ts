// GPT-3's quality classifier (Brown et al. 2020, appendix A): logistic regression on hashed word
// features, trained with high-quality reference text as positives and raw crawl as negatives;
// a crawl document is kept when a Pareto(α) draw exceeds 1 − score, so mostly high scores pass
// but some low-scoring text does too (α = 9 in the paper).
//
// Two corrections make the scores usable when, unlike Common Crawl, much of the crawl is good:
// - Cross-fitting: GPT-3 scored the same crawl its classifier trained on, so a document's score
//   partly recalls its own label. Two classifiers are trained on complementary folds (split by a
//   one-permutation MinHash, so copies share a fold) and each document is scored by the one that
//   never saw its fold.
// - Calibration: with good text among the negatives, g(x) = P(reference | x) stays well below 1
//   even for perfect text. As Elkan & Noto (2008) show for positive-vs-unlabelled training,
//   P(good | x) = g(x)/c with c = E[g | reference]; the score is min(1, g/c), c being the mean
//   out-of-fold score of the positives. Both are on by default; turned off, this is GPT-3's
//   classifier as published.
//
// Features are word unigrams and bigrams hashed into 2^bits buckets (as Spark's HashingTF), counted
// and L2-normalised so long and short documents score on the same scale. Training is SGD with
// Adagrad step sizes and L2 regularisation applied to the features an example touches.
//
// File format (one file, validated before anything is allocated): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON header, then 2^bits float32 little-endian weights.
import { readFileSync } from 'node:fs';
import { Rng } from '../util/rng.ts';
import { FileFormatError, ConfigError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { wordHashes, combine32, fmix32 } from './hashing.ts';

export const CLASSIFIER_FORMAT = 'gptkit-quality-classifier';

/** Hashed unigram+bigram features of one document; the returned arrays are reused by the next call. */
export class FeatureExtractor {
  readonly bits: number;
  /** Word hashes of the last document extracted (valid until the next call). */
  words: Int32Array = new Int32Array(1024);
  wordCount = 0;
  /** Dense per-bucket counts, all zero between calls. */
  private readonly counts: Int32Array;
  private idx: Int32Array = new Int32Array(2048);
  private val: Float32Array = new Float32Array(2048);

  constructor(bits: number) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 30) throw new ConfigError(`classifier bits: expected an integer in [1, 30], got ${bits}`);
    this.bits = bits;
    this.counts = new Int32Array(2 ** bits);
  }

  /** Distinct buckets (in order of first occurrence) and their L2-normalised counts. */
  extract(bytes: Uint8Array, start: number, end: number): { idx: Int32Array; val: Float32Array; n: number } {
    const w = wordHashes(bytes, start, end, this.words);
    this.words = w.hashes;
    const nw = (this.wordCount = w.count);
    const total = nw === 0 ? 0 : 2 * nw - 1;
    if (this.idx.length < total) {
      const size = Math.max(total, this.idx.length * 2);
      this.idx = new Int32Array(size);
      this.val = new Float32Array(size);
    }
    const shift = 32 - this.bits;
    const words = w.hashes;
    const counts = this.counts;
    const idx = this.idx;
    let n = 0;
    for (let i = 0; i < total; i++) {
      const b = (i < nw ? words[i] : combine32(words[i - nw], words[i - nw + 1])) >>> shift;
      if (counts[b]++ === 0) idx[n++] = b;
    }
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const c = counts[idx[i]];
      sumSq += c * c;
    }
    const inv = sumSq > 0 ? 1 / Math.sqrt(sumSq) : 0;
    for (let i = 0; i < n; i++) {
      this.val[i] = counts[idx[i]] * inv;
      counts[idx[i]] = 0;
    }
    return { idx, val: this.val, n };
  }
}

export interface SparseExample {
  idx: Int32Array;
  val: Float32Array;
  /** 1 = positive (reference quality), 0 = negative. */
  label: number;
  /** Loss weight (class balancing); 1 by default. */
  weight?: number;
}

export interface TrainOptions {
  epochs: number;
  learningRate: number;
  /** λ in mean loss + λ/2·|w|², applied lazily to the features an example touches. */
  l2: number;
  seed: number;
}

export const defaultTrainOptions: Readonly<TrainOptions> = Object.freeze({ epochs: 3, learningRate: 0.5, l2: 1e-4, seed: 0 });

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Logistic regression by Adagrad SGD, examples visited in a seeded random order each epoch. */
export function trainLogistic(examples: SparseExample[], dim: number, opts: TrainOptions): { weights: Float32Array; bias: number } {
  const w = new Float64Array(dim);
  const g2 = new Float64Array(dim);
  let bias = 0;
  let biasG2 = 0;
  const eps = 1e-8;
  const rng = new Rng(opts.seed).fork('classifier-train');
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    rng.shuffle(order);
    for (const e of order) {
      const ex = examples[e];
      let z = bias;
      for (let j = 0; j < ex.idx.length; j++) z += w[ex.idx[j]] * ex.val[j];
      const g = (sigmoid(z) - ex.label) * (ex.weight ?? 1);
      for (let j = 0; j < ex.idx.length; j++) {
        const k = ex.idx[j];
        const grad = g * ex.val[j] + opts.l2 * w[k];
        g2[k] += grad * grad;
        w[k] -= (opts.learningRate * grad) / (Math.sqrt(g2[k]) + eps);
      }
      biasG2 += g * g;
      bias -= (opts.learningRate * g) / (Math.sqrt(biasG2) + eps);
    }
  }
  return { weights: Float32Array.from(w), bias };
}

/**
 * Drop features seen in fewer than `minDf` training documents: a feature unique to one crawl
 * document would otherwise learn to recognise that document (it is a training negative and
 * is scored later), rather than anything about quality.
 */
function pruneRare(examples: SparseExample[], dim: number, minDf: number): void {
  const df = new Int32Array(dim);
  for (const ex of examples) for (let j = 0; j < ex.idx.length; j++) df[ex.idx[j]]++;
  for (const ex of examples) {
    let n = 0;
    for (let j = 0; j < ex.idx.length; j++) {
      if (df[ex.idx[j]] < minDf) continue;
      ex.idx[n] = ex.idx[j];
      ex.val[n++] = ex.val[j];
    }
    ex.idx = ex.idx.subarray(0, n);
    ex.val = ex.val.subarray(0, n);
  }
}

/** GPT-3's keep rule: keep when a Pareto(α) draw (numpy's Lomax: (1−u)^(−1/α) − 1) exceeds 1 − score. */
export function paretoKeep(score: number, alpha: number, rng: Rng): boolean {
  const draw = Math.pow(1 - rng.next(), -1 / alpha) - 1;
  return draw > 1 - score;
}

export interface ClassifierHeader {
  format: typeof CLASSIFIER_FORMAT;
  version: 1;
  bits: number;
  /** 1, or 2 for cross-fitted classifiers (classifier f never trained on fold f). */
  folds: number;
  /** One bias per fold. */
  biases: number[];
  /** c in score = min(1, g/c); 1 = uncalibrated. */
  calibration: number;
  /** Free-form facts about training (documents, epochs, …) kept for the report. */
  training: Record<string, unknown>;
}

export interface ClassifierTrainOptions extends TrainOptions {
  bits: number;
  /** Train two classifiers on complementary halves; score each document with the one that never saw it. */
  crossFit: boolean;
  /** Divide by c = mean out-of-fold score of the positives (see the module header). */
  calibrate: boolean;
  /** Ignore features seen in fewer training documents than this. */
  minDf: number;
}

export const defaultClassifierOptions: Readonly<ClassifierTrainOptions> = Object.freeze({ ...defaultTrainOptions, bits: 18, crossFit: true, calibrate: true, minDf: 1 });

/**
 * The fold of a document from its word hashes: one bit of the smallest hash of its word trigrams
 * (a one-permutation MinHash), so exact and near copies share a fold with probability ≥ their
 * Jaccard similarity; otherwise a near copy of a training negative would be scored by the
 * classifier that learned it. (Trigrams rather than words: junk that shares a small vocabulary
 * must still spread over both folds.)
 */
function foldOf(words: Int32Array, count: number): number {
  let min = 0x7fffffff;
  const last = count === 0 ? 0 : Math.max(1, count - 2);
  for (let i = 0; i < last; i++) {
    // (Texts of one or two words use the words they have; the array holds stale values past count.)
    const w1 = i + 1 < count ? words[i + 1] : 0;
    const w2 = i + 2 < count ? words[i + 2] : 0;
    const h = fmix32(Math.imul(words[i], 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ w2 ^ 0x5f356495);
    if (h < min) min = h;
  }
  return min & 1;
}

export class QualityClassifier {
  readonly header: ClassifierHeader;
  /** folds × 2^bits weights, fold f at [f·2^bits, (f+1)·2^bits). */
  readonly weights: Float32Array;
  private readonly features: FeatureExtractor;

  constructor(header: ClassifierHeader, weights: Float32Array) {
    if (weights.length !== header.folds * 2 ** header.bits) throw new ConfigError(`QualityClassifier: expected ${header.folds}×2^${header.bits} weights, got ${weights.length}`);
    if (header.biases.length !== header.folds) throw new ConfigError(`QualityClassifier: expected ${header.folds} biases, got ${header.biases.length}`);
    this.header = header;
    this.weights = weights;
    this.features = new FeatureExtractor(header.bits);
  }

  /**
   * Train on texts: positives are reference quality, negatives raw crawl; classes weighted equally.
   * GPT-3 scored the same crawl it trained on; cross-fitting keeps a document's score from
   * being its own memorised label.
   */
  static train(positives: string[], negatives: string[], options: Partial<ClassifierTrainOptions> = {}): QualityClassifier {
    const o = { ...defaultClassifierOptions, ...options };
    if (positives.length < 2 || negatives.length < 2) throw new ConfigError(`classifier training needs at least 2 positive and 2 negative documents, got ${positives.length} and ${negatives.length}`);
    const fx = new FeatureExtractor(o.bits);
    const enc = new TextEncoder();
    const examples: SparseExample[] = [];
    const folds: number[] = [];
    const add = (texts: string[], label: number): void => {
      const weight = (positives.length + negatives.length) / (2 * texts.length);
      for (const t of texts) {
        const bytes = enc.encode(t);
        const f = fx.extract(bytes, 0, bytes.length);
        examples.push({ idx: f.idx.slice(0, f.n), val: f.val.slice(0, f.n), label, weight });
        folds.push(o.crossFit ? foldOf(fx.words, fx.wordCount) : 0);
      }
    };
    add(positives, 1);
    add(negatives, 0);
    const nFolds = o.crossFit ? 2 : 1;
    const dim = 2 ** o.bits;
    const weights = new Float32Array(nFolds * dim);
    const biases: number[] = [];
    for (let f = 0; f < nFolds; f++) {
      // Fold f's classifier trains on the other fold (on everything without cross-fitting); copies, so pruning stays per fold.
      const train = examples.filter((_, i) => nFolds === 1 || folds[i] !== f).map((e) => ({ ...e, idx: e.idx.slice(), val: e.val.slice() }));
      if (o.minDf > 1) pruneRare(train, dim, o.minDf);
      const { weights: w, bias } = trainLogistic(train, dim, o);
      weights.set(w, f * dim);
      biases.push(bias);
    }
    const header: ClassifierHeader = {
      format: CLASSIFIER_FORMAT, version: 1, bits: o.bits, folds: nFolds, biases, calibration: 1,
      training: { positives: positives.length, negatives: negatives.length, epochs: o.epochs, learningRate: o.learningRate, l2: o.l2, seed: o.seed, crossFit: o.crossFit, calibrate: o.calibrate, minDf: o.minDf },
    };
    const clf = new QualityClassifier(header, weights);
    if (o.calibrate) header.calibration = Math.max(1e-6, positives.reduce((s, t) => s + clf.rawScore(t), 0) / positives.length);
    return clf;
  }

  /** g(x): P(reference | x) from the fold's classifier, before calibration. */
  rawScore(text: string): number {
    const bytes = new TextEncoder().encode(text);
    return this.rawScoreBytes(bytes, 0, bytes.length);
  }

  private rawScoreBytes(bytes: Uint8Array, start: number, end: number): number {
    const { idx, val, n } = this.features.extract(bytes, start, end);
    const fold = this.header.folds === 1 ? 0 : foldOf(this.features.words, this.features.wordCount);
    const base = fold << this.header.bits;
    let z = this.header.biases[fold];
    for (let i = 0; i < n; i++) z += this.weights[base + idx[i]] * val[i];
    return sigmoid(z);
  }

  /** The quality score in [0, 1] of the UTF-8 text in bytes[start, end): min(1, g/c). */
  scoreBytes(bytes: Uint8Array, start: number, end: number): number {
    return Math.min(1, this.rawScoreBytes(bytes, start, end) / this.header.calibration);
  }

  scoreText(text: string): number {
    const bytes = new TextEncoder().encode(text);
    return this.scoreBytes(bytes, 0, bytes.length);
  }

  save(path: string): void {
    // Padded with spaces (still valid JSON) so the weights start 8-byte aligned, as in safetensors.
    const raw = JSON.stringify(this.header);
    const json = Buffer.from(raw.padEnd(raw.length + ((8 - (Buffer.byteLength(raw) % 8)) % 8), ' '), 'utf8');
    const out = Buffer.alloc(8 + json.length + this.weights.length * 4);
    out.writeBigUInt64LE(BigInt(json.length), 0);
    json.copy(out, 8);
    const body = new Float32Array(out.buffer, out.byteOffset + 8 + json.length, this.weights.length);
    // Float32Array uses the platform's byte order; every platform Node runs on is little-endian.
    body.set(this.weights);
    writeFileAtomic(path, out);
  }

  static load(path: string): QualityClassifier {
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      throw new FileFormatError(path, `cannot read classifier (${(e as Error).message})`);
    }
    if (buf.length < 8) throw new FileFormatError(path, `expected at least 8 bytes (header length), found ${buf.length}`);
    const n = buf.readBigUInt64LE(0);
    if (n > BigInt(buf.length - 8)) throw new FileFormatError(path, `header length ${n} exceeds the file (${buf.length} bytes)`);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(buf.toString('utf8', 8, 8 + Number(n)));
    } catch (e) {
      throw new FileFormatError(path, `header is not valid JSON (${(e as Error).message})`);
    }
    if (header === null || typeof header !== 'object') throw new FileFormatError(path, 'header: expected a JSON object');
    if (header.format !== CLASSIFIER_FORMAT) throw new FileFormatError(path, `header.format: expected '${CLASSIFIER_FORMAT}', found ${JSON.stringify(header.format)}`);
    if (header.version !== 1) throw new FileFormatError(path, `header.version: expected 1, found ${JSON.stringify(header.version)}`);
    const bits = header.bits;
    if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 30) throw new FileFormatError(path, `header.bits: expected an integer in [1, 30], found ${JSON.stringify(bits)}`);
    const folds = header.folds;
    if (folds !== 1 && folds !== 2) throw new FileFormatError(path, `header.folds: expected 1 or 2, found ${JSON.stringify(folds)}`);
    const biases = header.biases;
    if (!Array.isArray(biases) || biases.length !== folds || !biases.every((b) => typeof b === 'number' && Number.isFinite(b))) throw new FileFormatError(path, `header.biases: expected ${folds} finite numbers, found ${JSON.stringify(biases)}`);
    const cal = header.calibration;
    if (typeof cal !== 'number' || !(cal > 0 && cal <= 1)) throw new FileFormatError(path, `header.calibration: expected a number in (0, 1], found ${JSON.stringify(cal)}`);
    const training = header.training ?? {};
    if (typeof training !== 'object' || training === null) throw new FileFormatError(path, 'header.training: expected an object');
    const count = folds * 2 ** bits;
    const expected = 8 + Number(n) + 4 * count;
    if (buf.length !== expected) throw new FileFormatError(path, `expected ${expected} bytes for ${folds}×2^${bits} float32 weights, found ${buf.length}`);
    const weights = new Float32Array(count);
    weights.set(new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + Number(n), buf.byteOffset + expected)));
    return new QualityClassifier({ format: CLASSIFIER_FORMAT, version: 1, bits, folds, biases: biases as number[], calibration: cal, training: training as Record<string, unknown> }, weights);
  }
}

/** ROC AUC: the probability that a random positive scores above a random negative (ties count half). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && scores[order[j]] === scores[order[i]]) j++;
    const midRank = (i + j + 1) / 2; // average 1-based rank of the tie group
    for (let k = i; k < j; k++) if (labels[order[k]]) {
      pos++;
      rankSum += midRank;
    }
    i = j;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
