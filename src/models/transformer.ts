// The Transformer of "Attention Is All You Need" (Vaswani et al., 2017): an encoder–decoder.
//   embeddings  one table shared by source, target and the pre-softmax projection; scaled by √d,
//               plus sinusoidal positions PE(pos, 2i) = sin(pos/10000^(2i/d)), PE(pos, 2i+1) = cos(…),
//               then dropout
//   encoder     N post-LN blocks: x = LN(x + SelfAttn(x)), x = LN(x + FFN(x)); padding keys masked
//   decoder     N post-LN blocks: causal self-attention, then attention over the encoder output
//               (K, V from the memory, padding masked), then the FFN (ReLU), each followed by LN
//   loss        cross-entropy with label smoothing ε = 0.1 over the target tokens
// Decoding (greedy and beam search, batched) computes the encoder output once, projects each
// decoder layer's cross-attention K/V from it once, and keeps a KV cache for decoder self-attention.
// Parameter names follow torch.nn.Transformer's layer names where the layers match (`self_attn`,
// `norm1`…); q/k/v are fused as in gptkit's other attention (`c_attn` = torch's in_proj).
import { Tensor, noGrad } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { crossAttention } from '../tensor/attention.ts';
import type { I32 } from '../backend/backend.ts';
import { Module } from '../nn/module.ts';
import { Embedding, LayerNorm, MultiHeadAttention, CrossAttention, MLP, Dropout } from '../nn/layers.ts';
import { KVCache, ModuleList } from './gpt.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';

export interface TransformerConfig {
  vocabSize: number;
  /** Longest source or target sequence (rows of the sinusoid table). */
  blockSize: number;
  /** Layers in the encoder and in the decoder (the paper's N). */
  nLayer: number;
  nHead: number;
  /** d_model. */
  nEmbd: number;
  /** d_ff. */
  dFf: number;
  dropout: number;
  labelSmoothing: number;
  layerNormEps: number;
}

const base = { dropout: 0.1, labelSmoothing: 0.1, layerNormEps: 1e-5 };
/** The paper's base and big models (Table 3), and small ones for the world's translation task. */
export const transformerPresets: Record<string, TransformerConfig> = {
  'transformer-base': { ...base, vocabSize: 37000, blockSize: 256, nLayer: 6, nHead: 8, nEmbd: 512, dFf: 2048 },
  'transformer-big': { ...base, vocabSize: 37000, blockSize: 256, nLayer: 6, nHead: 16, nEmbd: 1024, dFf: 4096, dropout: 0.3 },
  'transformer-world-nano': { ...base, vocabSize: 512, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64, dFf: 256 },
  'transformer-world-tiny': { ...base, vocabSize: 1024, blockSize: 96, nLayer: 3, nHead: 4, nEmbd: 128, dFf: 512 },
};

const keys = Object.keys(transformerPresets['transformer-base']) as (keyof TransformerConfig)[];

export function transformerConfig(preset: string | TransformerConfig, overrides: Partial<TransformerConfig> = {}): TransformerConfig {
  const start = typeof preset === 'string' ? transformerPresets[preset] : preset;
  if (!start) throw new ConfigError(`unknown Transformer preset '${preset}'`, `one of: ${Object.keys(transformerPresets).join(', ')}`);
  for (const k of Object.keys(overrides)) if (!keys.includes(k as keyof TransformerConfig)) throw new ConfigError(`unknown Transformer config key '${k}'`, `known keys: ${keys.join(', ')}`);
  const c = { ...start, ...overrides };
  for (const k of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd', 'dFf'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new ConfigError(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new ConfigError(`nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (c.nEmbd % 2 !== 0) throw new ConfigError(`nEmbd must be even for sinusoidal positions, got ${c.nEmbd}`);
  for (const k of ['dropout', 'labelSmoothing'] as const) if (!(c[k] >= 0 && c[k] < 1)) throw new ConfigError(`${k} must be in [0, 1), got ${c[k]}`);
  return Object.freeze(c);
}

/** Parameters (shared embedding counted once). */
export function countTransformerParams(c: TransformerConfig): number {
  const C = c.nEmbd, F = c.dFf;
  const attn = 4 * C * C + 4 * C, ffn = 2 * C * F + F + C, ln = 2 * C;
  return c.vocabSize * C + c.nLayer * (attn + ffn + 2 * ln) + c.nLayer * (2 * attn + ffn + 3 * ln);
}

/** (T, C) sinusoidal position table, computed in float64 then stored as float32. */
export function sinusoids(T: number, C: number): Float32Array {
  const pe = new Float32Array(T * C);
  for (let pos = 0; pos < T; pos++) {
    for (let i = 0; i < C; i += 2) {
      const angle = pos / Math.pow(10000, i / C);
      pe[pos * C + i] = Math.sin(angle);
      pe[pos * C + i + 1] = Math.cos(angle);
    }
  }
  return pe;
}

export class EncoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly ffn: MLP;
  readonly norm2: LayerNorm;
  constructor(c: TransformerConfig, rng: Rng) {
    super();
    this.self_attn = this.child('self_attn', new MultiHeadAttention({ nEmbd: c.nEmbd, nHead: c.nHead, dropout: c.dropout }, rng.fork('self_attn')));
    this.norm1 = this.child('norm1', new LayerNorm(c.nEmbd, c.layerNormEps));
    this.ffn = this.child('ffn', new MLP(c.nEmbd, c.dFf, c.dropout, rng.fork('ffn'), { activation: 'relu' }));
    this.norm2 = this.child('norm2', new LayerNorm(c.nEmbd, c.layerNormEps));
  }
  forward(x: Tensor, srcLen: I32): Tensor {
    x = this.norm1.forward(op.add(x, this.self_attn.forward(x, { causal: false, keyEnd: srcLen }))); // (B, S, C)
    return this.norm2.forward(op.add(x, this.ffn.forward(x)));
  }
}

export class DecoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly cross_attn: CrossAttention;
  private readonly crossDrop: Dropout;
  readonly norm2: LayerNorm;
  readonly ffn: MLP;
  readonly norm3: LayerNorm;
  constructor(readonly c: TransformerConfig, rng: Rng) {
    super();
    this.self_attn = this.child('self_attn', new MultiHeadAttention({ nEmbd: c.nEmbd, nHead: c.nHead, dropout: c.dropout }, rng.fork('self_attn')));
    this.norm1 = this.child('norm1', new LayerNorm(c.nEmbd, c.layerNormEps));
    this.cross_attn = this.child('cross_attn', new CrossAttention({ nEmbd: c.nEmbd, nHead: c.nHead, dropout: c.dropout }, rng.fork('cross_attn')));
    this.crossDrop = this.child('cross_dropout', new Dropout(c.dropout, rng.fork('cross_dropout')));
    this.norm2 = this.child('norm2', new LayerNorm(c.nEmbd, c.layerNormEps));
    this.ffn = this.child('ffn', new MLP(c.nEmbd, c.dFf, c.dropout, rng.fork('ffn'), { activation: 'relu' }));
    this.norm3 = this.child('norm3', new LayerNorm(c.nEmbd, c.layerNormEps));
  }
  forward(y: Tensor, memory: Tensor, srcLen: I32): Tensor {
    y = this.norm1.forward(op.add(y, this.self_attn.forward(y, { causal: true }))); // (B, T, C)
    y = this.norm2.forward(op.add(y, this.crossDrop.forward(this.cross_attn.forward(y, memory, srcLen))));
    return this.norm3.forward(op.add(y, this.ffn.forward(y)));
  }
  /** One decoding step over new positions y (B, Tnew, C) with the self-attention cache and precomputed cross K/V (B, S, 2C). */
  step(y: Tensor, cache: KVCache, layer: number, crossKv: Tensor, srcLen: I32): Tensor {
    const sa = this.self_attn.c_proj.forward(cache.attend(layer, this.self_attn.c_attn.forward(y), this.c.nHead, 0, null));
    y = this.norm1.forward(op.add(y, sa));
    const q = this.cross_attn.q_proj.forward(y); // (B, Tnew, C)
    const ca = this.cross_attn.c_proj.forward(crossAttention(q, crossKv, { nHead: this.c.nHead, causal: false, keyEnd: srcLen }));
    y = this.norm2.forward(op.add(y, ca));
    return this.norm3.forward(op.add(y, this.ffn.forward(y)));
  }
}

export interface Seq2SeqBatch {
  src: I32; // (B·S), right-padded
  srcLen: I32; // (B)
  S: number;
  tgtIn: I32; // (B·T): BOS + target, right-padded
  T: number;
  B: number;
  /** (B·T): target + EOS, -100 at padding. */
  tgtOut?: I32;
}

/** What decoding needs once per batch: the encoder output's cross-attention K/V for every decoder layer. */
export interface EncodedSource {
  crossKv: Tensor[]; // per decoder layer (B, S, 2C)
  srcLen: I32;
  B: number;
}

export class Transformer extends Module {
  readonly embed: Embedding;
  readonly encoder: EncoderLayer[] = [];
  readonly decoder: DecoderLayer[] = [];
  private readonly drop: Dropout;
  private readonly pe: Tensor;
  constructor(readonly config: TransformerConfig, seed = 1337) {
    super();
    const c = config, rng = new Rng(seed);
    // Embeddings N(0, d^-0.5): scaled by √d they enter the model at unit scale (as fairseq initialises them).
    this.embed = this.child('embed', new Embedding(c.vocabSize, c.nEmbd, rng.fork('embed'), c.nEmbd ** -0.5));
    const enc = this.child('encoder', new ModuleList()), dec = this.child('decoder', new ModuleList());
    for (let i = 0; i < c.nLayer; i++) this.encoder.push(enc.add(new EncoderLayer(c, rng.fork(`encoder.${i}`))));
    for (let i = 0; i < c.nLayer; i++) this.decoder.push(dec.add(new DecoderLayer(c, rng.fork(`decoder.${i}`))));
    this.drop = this.child('dropout', new Dropout(c.dropout, rng.fork('dropout')));
    this.pe = new Tensor(sinusoids(c.blockSize, c.nEmbd), [c.blockSize, c.nEmbd]);
  }

  /** √d·E[ids] + PE[start … start+T), then dropout: (B, T, C). */
  private embedAt(ids: I32, B: number, T: number, start = 0): Tensor {
    const c = this.config;
    if (start + T > c.blockSize) throw new RangeError(`sequence length ${start + T} exceeds the model's ${c.blockSize} positions`);
    const pos = new Tensor(this.pe.data.subarray(start * c.nEmbd, (start + T) * c.nEmbd), [T, c.nEmbd]);
    return this.drop.forward(op.add(op.scale(this.embed.forward(ids, [B, T]), Math.sqrt(c.nEmbd)), pos)); // (B, T, C)
  }

  /** Encoder output (B, S, C). */
  encode(src: I32, B: number, S: number, srcLen: I32): Tensor {
    let x = this.embedAt(src, B, S);
    for (const l of this.encoder) x = l.forward(x, srcLen);
    return x;
  }

  /** Teacher-forced logits (B, T, V) and, with targets, the label-smoothed loss (mean over target tokens). */
  forward(b: Seq2SeqBatch): { logits: Tensor; loss: Tensor | null } {
    const memory = this.encode(b.src, b.B, b.S, b.srcLen);
    let y = this.embedAt(b.tgtIn, b.B, b.T);
    for (const l of this.decoder) y = l.forward(y, memory, b.srcLen);
    const logits = op.linear(y, this.embed.weight, null); // (B, T, V): the shared embedding is the output projection
    const loss = b.tgtOut ? op.crossEntropy(logits, b.tgtOut, { smoothing: this.config.labelSmoothing }) : null;
    return { logits, loss };
  }

  /** Run the encoder once and project every decoder layer's cross-attention K/V from it. */
  encodeSource(src: I32, B: number, S: number, srcLen: I32): EncodedSource {
    return noGrad(() => {
      const memory = this.encode(src, B, S, srcLen);
      return { crossKv: this.decoder.map((l) => l.cross_attn.kv_proj.forward(memory)), srcLen, B };
    });
  }

  newCache(batch: number, capacity: number): KVCache {
    return new KVCache(this.config.nLayer, batch, Math.min(capacity, this.config.blockSize), this.config.nEmbd);
  }

  /** Logits (B, V) of the next token after `ids` (B, one new token each), advancing the cache. */
  decodeStep(ids: I32, enc: EncodedSource, cache: KVCache): Tensor {
    return noGrad(() => {
      let y = this.embedAt(ids, enc.B, 1, cache.length); // (B, 1, C)
      this.decoder.forEach((l, i) => { y = l.step(y, cache, i, enc.crossKv[i], enc.srcLen); });
      cache.length += 1;
      return op.linear(op.reshape(y, [enc.B, this.config.nEmbd]), this.embed.weight, null); // (B, V)
    });
  }
}

export interface DecodeOptions {
  bos: number;
  eos: number;
  /** Tokens never generated (padding, BOS). */
  banned?: number[];
  maxLen: number;
}

/** log-softmax of a (rows, V) buffer row, banned tokens at −∞. */
function logSoftmaxRow(x: Float32Array, r: number, V: number, banned: number[]): Float64Array {
  const out = new Float64Array(V);
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, x[r * V + v]);
  for (const b of banned) out[b] = -Infinity;
  let s = 0;
  for (let v = 0; v < V; v++) if (out[v] !== -Infinity) s += Math.exp(x[r * V + v] - max);
  const lse = max + Math.log(s);
  for (let v = 0; v < V; v++) if (out[v] !== -Infinity) out[v] = x[r * V + v] - lse;
  return out;
}

/** Copy of the row layout `rows` expanded (B·K rows: row b repeated K times) of a (B, …) tensor. */
function repeatRows(t: Tensor, K: number): Tensor {
  const B = t.dim(0), per = t.size / B;
  const out = Tensor.empty([B * K, ...t.shape.slice(1)]);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) out.data.set(t.data.subarray(b * per, (b + 1) * per), (b * K + k) * per);
  return out;
}

/** Reorder a cache's rows: row i takes the old row from[i] (beam search keeps each survivor's history). */
function reorderCache(cache: KVCache, from: number[]): void {
  if (from.every((f, i) => f === i)) return;
  const w = cache.capacity * cache.nEmbd, used = cache.length * cache.nEmbd;
  const scratch = new Float32Array(from.length * used);
  for (const arr of [...cache.k, ...cache.v]) {
    for (let i = 0; i < from.length; i++) scratch.set(arr.subarray(i * w, i * w + used), i * used);
    from.forEach((src, i) => arr.set(scratch.subarray(src * used, (src + 1) * used), i * w));
  }
}

/** The n best entries of lp (ties to the lower id), best first: a beam needs at most 2K continuations of each beam. */
function topN(lp: Float64Array, n: number): number[] {
  const ids: number[] = [];
  for (let v = 0; v < lp.length; v++) {
    if (lp[v] === -Infinity || (ids.length === n && lp[v] <= lp[ids[n - 1]])) continue;
    if (ids.length < n) ids.push(v); else ids[n - 1] = v;
    for (let i = ids.length - 1; i > 0 && lp[ids[i - 1]] < lp[ids[i]]; i--) [ids[i - 1], ids[i]] = [ids[i], ids[i - 1]];
  }
  return ids;
}

/** Greedy decoding of a batch: the most likely token each step until EOS or maxLen (EOS not included). */
export function greedyDecode(model: Transformer, enc: EncodedSource, o: DecodeOptions): number[][] {
  const B = enc.B, V = model.config.vocabSize, banned = o.banned ?? [];
  const cache = model.newCache(B, o.maxLen);
  const out: number[][] = Array.from({ length: B }, () => []);
  const done = new Array(B).fill(false);
  let last = new Int32Array(B).fill(o.bos);
  for (let t = 0; t < o.maxLen && done.some((d) => !d); t++) {
    const logits = model.decodeStep(last, enc, cache);
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const lp = logSoftmaxRow(logits.data, b, V, banned);
      let best = 0;
      for (let v = 1; v < V; v++) if (lp[v] > lp[best]) best = v;
      next[b] = best;
      if (!done[b]) { if (best === o.eos) done[b] = true; else out[b].push(best); }
    }
    last = next;
  }
  return out;
}

/** GNMT's length penalty ((5 + |Y|) / 6)^α, the paper's with α = 0.6. */
export const lengthPenalty = (len: number, alpha: number) => ((5 + len) / 6) ** alpha;

export interface Hypothesis { tokens: number[]; logProb: number; score: number }

/**
 * Beam search (width K, length penalty α), batched: B·K rows decode together. Each step the best 2K
 * continuations of every live beam are ranked by total log-probability; those ending in EOS become finished
 * hypotheses scored logProb / lp(length incl. EOS), the best K others stay live. A sentence stops
 * when it has K finished hypotheses and none of its live beams could still beat the K-th (a live
 * beam's score is at most logProb / lp(maxLen)); at maxLen the live beams are finished as they are.
 */
export function beamSearch(model: Transformer, enc: EncodedSource, o: DecodeOptions & { beam: number; alpha: number }): Hypothesis[] {
  const B = enc.B, K = o.beam, V = model.config.vocabSize, banned = o.banned ?? [];
  const expanded: EncodedSource = { crossKv: enc.crossKv.map((t) => repeatRows(t, K)), srcLen: Int32Array.from({ length: B * K }, (_, i) => enc.srcLen[Math.floor(i / K)]), B: B * K };
  const cache = model.newCache(B * K, o.maxLen);
  let live = Array.from({ length: B }, () => Array.from({ length: K }, (_, k) => ({ tokens: [] as number[], logProb: k === 0 ? 0 : -Infinity })));
  const finished: Hypothesis[][] = Array.from({ length: B }, () => []);
  const done = new Array(B).fill(false);
  let last = new Int32Array(B * K).fill(o.bos);
  const keepBest = (list: Hypothesis[]) => { list.sort((a, b) => b.score - a.score); list.length = Math.min(list.length, K); };
  for (let t = 0; t < o.maxLen && done.some((d) => !d); t++) {
    const logits = model.decodeStep(last, expanded, cache);
    const from: number[] = [], next = new Int32Array(B * K);
    const nextLive: typeof live = [];
    for (let b = 0; b < B; b++) {
      const cands: { k: number; v: number; lp: number }[] = [];
      if (!done[b]) {
        for (let k = 0; k < K; k++) {
          if (live[b][k].logProb === -Infinity) continue;
          // The best 2K continuations of each beam hold the best 2K of all of them.
          const lp = logSoftmaxRow(logits.data, b * K + k, V, banned);
          for (const v of topN(lp, 2 * K)) cands.push({ k, v, lp: live[b][k].logProb + lp[v] });
        }
        cands.sort((x, y) => y.lp - x.lp || x.k - y.k || x.v - y.v);
      }
      const keep: { tokens: number[]; logProb: number }[] = [];
      for (const c of cands) {
        const tokens = [...live[b][c.k].tokens, c.v];
        if (c.v === o.eos) finished[b].push({ tokens: tokens.slice(0, -1), logProb: c.lp, score: c.lp / lengthPenalty(tokens.length, o.alpha) });
        else if (keep.length < K) {
          keep.push({ tokens, logProb: c.lp });
          from.push(b * K + c.k);
          next[b * K + keep.length - 1] = c.v;
        }
      }
      if (t === o.maxLen - 1) for (const h of keep) finished[b].push({ tokens: h.tokens, logProb: h.logProb, score: h.logProb / lengthPenalty(h.tokens.length, o.alpha) });
      keepBest(finished[b]);
      while (keep.length < K) { keep.push({ tokens: [], logProb: -Infinity }); from.push(b * K); }
      nextLive.push(keep);
      const bestLive = Math.max(...keep.map((h) => h.logProb));
      if (done[b] || bestLive === -Infinity || (finished[b].length >= K && finished[b][K - 1].score >= bestLive / lengthPenalty(o.maxLen, o.alpha))) done[b] = true;
    }
    reorderCache(cache, from);
    live = nextLive;
    last = next;
  }
  return finished.map((f) => f[0] ?? { tokens: [], logProb: -Infinity, score: -Infinity });
}
