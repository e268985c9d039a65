// GPT-3's quality classifier (Brown et al. 2020, appendix A): logistic regression on hashed word
// features, trained with high-quality reference text as positives and raw crawl as negatives;
// a crawl document is kept when a Pareto(α) draw exceeds 1 − score, so mostly high scores pass
// but some low-scoring text does too (α = 9 in the paper).
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
import { wordHashes, combine32 } from './hashing.ts';

export const CLASSIFIER_FORMAT = 'gptkit-quality-classifier';

/** Hashed unigram+bigram features of one document; the returned arrays are reused by the next call. */
export class FeatureExtractor {
  readonly bits: number;
  private words: Int32Array = new Int32Array(1024);
  private buckets: Int32Array = new Int32Array(2048);
  private idx: Int32Array = new Int32Array(2048);
  private val: Float32Array = new Float32Array(2048);

  constructor(bits: number) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 30) throw new ConfigError(`classifier bits: expected an integer in [1, 30], got ${bits}`);
    this.bits = bits;
  }

  extract(bytes: Uint8Array, start: number, end: number): { idx: Int32Array; val: Float32Array; n: number } {
    const w = wordHashes(bytes, start, end, this.words);
    this.words = w.hashes;
    const nw = w.count;
    const total = nw === 0 ? 0 : 2 * nw - 1;
    if (this.buckets.length < total) {
      const size = Math.max(total, this.buckets.length * 2);
      this.buckets = new Int32Array(size);
      this.idx = new Int32Array(size);
      this.val = new Float32Array(size);
    }
    const shift = 32 - this.bits;
    const b = this.buckets;
    const words = w.hashes;
    for (let i = 0; i < nw; i++) b[i] = words[i] >>> shift;
    for (let i = 1; i < nw; i++) b[nw + i - 1] = combine32(words[i - 1], words[i]) >>> shift;
    const sorted = b.subarray(0, total).sort();
    let n = 0;
    let sumSq = 0;
    for (let i = 0; i < total; ) {
      let j = i + 1;
      while (j < total && sorted[j] === sorted[i]) j++;
      this.idx[n] = sorted[i];
      this.val[n++] = j - i;
      sumSq += (j - i) * (j - i);
      i = j;
    }
    const inv = sumSq > 0 ? 1 / Math.sqrt(sumSq) : 0;
    for (let i = 0; i < n; i++) this.val[i] *= inv;
    return { idx: this.idx, val: this.val, n };
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

export const defaultTrainOptions: Readonly<TrainOptions> = Object.freeze({ epochs: 4, learningRate: 0.5, l2: 1e-6, seed: 0 });

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

/** GPT-3's keep rule: keep when a Pareto(α) draw (numpy's Lomax: (1−u)^(−1/α) − 1) exceeds 1 − score. */
export function paretoKeep(score: number, alpha: number, rng: Rng): boolean {
  const draw = Math.pow(1 - rng.next(), -1 / alpha) - 1;
  return draw > 1 - score;
}

export interface ClassifierHeader {
  format: typeof CLASSIFIER_FORMAT;
  version: 1;
  bits: number;
  bias: number;
  /** Free-form facts about training (documents, epochs, …) kept for the report. */
  training: Record<string, unknown>;
}

export class QualityClassifier {
  readonly header: ClassifierHeader;
  readonly weights: Float32Array;
  private readonly features: FeatureExtractor;

  constructor(header: ClassifierHeader, weights: Float32Array) {
    if (weights.length !== 2 ** header.bits) throw new ConfigError(`QualityClassifier: expected 2^${header.bits} weights, got ${weights.length}`);
    this.header = header;
    this.weights = weights;
    this.features = new FeatureExtractor(header.bits);
  }

  /** Train on texts: positives are reference quality, negatives raw crawl; classes weighted equally. */
  static train(positives: string[], negatives: string[], bits: number, opts: TrainOptions): QualityClassifier {
    if (!positives.length || !negatives.length) throw new ConfigError(`classifier training needs positive and negative documents, got ${positives.length} and ${negatives.length}`);
    const fx = new FeatureExtractor(bits);
    const enc = new TextEncoder();
    const examples: SparseExample[] = [];
    const total = positives.length + negatives.length;
    const add = (texts: string[], label: number): void => {
      const weight = total / (2 * texts.length);
      for (const t of texts) {
        const bytes = enc.encode(t);
        const f = fx.extract(bytes, 0, bytes.length);
        examples.push({ idx: f.idx.slice(0, f.n), val: f.val.slice(0, f.n), label, weight });
      }
    };
    add(positives, 1);
    add(negatives, 0);
    const { weights, bias } = trainLogistic(examples, 2 ** bits, opts);
    return new QualityClassifier(
      { format: CLASSIFIER_FORMAT, version: 1, bits, bias, training: { positives: positives.length, negatives: negatives.length, ...opts } },
      weights,
    );
  }

  /** P(reference quality) for the UTF-8 text in bytes[start, end). */
  scoreBytes(bytes: Uint8Array, start: number, end: number): number {
    const { idx, val, n } = this.features.extract(bytes, start, end);
    let z = this.header.bias;
    for (let i = 0; i < n; i++) z += this.weights[idx[i]] * val[i];
    return sigmoid(z);
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
    if (typeof header.bias !== 'number' || !Number.isFinite(header.bias)) throw new FileFormatError(path, `header.bias: expected a finite number, found ${JSON.stringify(header.bias)}`);
    const training = header.training ?? {};
    if (typeof training !== 'object' || training === null) throw new FileFormatError(path, 'header.training: expected an object');
    const expected = 8 + Number(n) + 4 * 2 ** bits;
    if (buf.length !== expected) throw new FileFormatError(path, `expected ${expected} bytes for 2^${bits} float32 weights, found ${buf.length}`);
    const weights = new Float32Array(2 ** bits);
    weights.set(new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + Number(n), buf.byteOffset + expected)));
    return new QualityClassifier({ format: CLASSIFIER_FORMAT, version: 1, bits, bias: header.bias, training: training as Record<string, unknown> }, weights);
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
