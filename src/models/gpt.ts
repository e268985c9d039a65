// GPT: one decoder-only Transformer whose config covers three generations.
//   GPT-1: post-LayerNorm blocks (x = LN(x + f(x))), learned positions, GELU, no final LN.
//   GPT-2: pre-LayerNorm blocks (x = x + f(LN(x))), a final LN, residual projections initialised
//          with std 0.02/√(2·n_layer), input and output embeddings tied.
//   GPT-3: GPT-2 blocks whose attention alternates dense and locally banded (window) layers.
// Parameter names mirror Hugging Face's GPT-2 (`transformer.h.0.attn.c_attn.weight`), so a real
// GPT-2 checkpoint loads name for name (Linear weights are (out, in); interop/ transposes Conv1D).
import { Tensor, noGrad, allocBuffer } from '../tensor/tensor.ts';
import { backend } from '../backend/index.ts';
import * as op from '../tensor/ops.ts';
import type { I32 } from '../backend/backend.ts';
import { Module } from '../nn/module.ts';
import { Embedding, LayerNorm, Linear, MultiHeadAttention, MLP, Dropout } from '../nn/layers.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';

export interface GptConfig {
  vocabSize: number;
  blockSize: number; // context length
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** 'pre' (GPT-2/3) or 'post' (GPT-1) LayerNorm placement. */
  norm: 'pre' | 'post';
  tieEmbeddings: boolean;
  /** Dropout on embeddings, residual branches and attention probabilities. */
  dropout: number;
  bias: boolean;
  layerNormEps: number;
  /** 'dense' everywhere, or 'alternating' dense / banded-sparse layers (GPT-3). */
  attention: 'dense' | 'alternating';
  /** Band width of the sparse layers (keys a query sees, itself included). */
  window: number;
  /** Scale residual projections' init by 1/√(2·n_layer) (GPT-2). */
  scaledResidInit: boolean;
}

const base: Omit<GptConfig, 'vocabSize' | 'blockSize' | 'nLayer' | 'nHead' | 'nEmbd'> = {
  norm: 'pre', tieEmbeddings: true, dropout: 0, bias: true, layerNormEps: 1e-5,
  attention: 'dense', window: 256, scaledResidInit: true,
};

const gpt2 = (nLayer: number, nHead: number, nEmbd: number): GptConfig => ({ ...base, vocabSize: 50257, blockSize: 1024, nLayer, nHead, nEmbd, dropout: 0.1 });
const gpt3 = (nLayer: number, nHead: number, nEmbd: number): GptConfig => ({ ...base, vocabSize: 50257, blockSize: 2048, nLayer, nHead, nEmbd, attention: 'alternating', window: 256 });

/** Published sizes, plus small ones that train on a laptop CPU in minutes. */
export const presets: Record<string, GptConfig> = {
  gpt1: { ...base, vocabSize: 40478, blockSize: 512, nLayer: 12, nHead: 12, nEmbd: 768, norm: 'post', dropout: 0.1, scaledResidInit: false },
  gpt2: gpt2(12, 12, 768),
  'gpt2-medium': gpt2(24, 16, 1024),
  'gpt2-large': gpt2(36, 20, 1280),
  'gpt2-xl': gpt2(48, 25, 1600),
  'gpt3-125m': gpt3(12, 12, 768),
  'gpt3-350m': gpt3(24, 16, 1024),
  'gpt3-760m': gpt3(24, 16, 1536),
  // The paper lists 24 heads of 128 for XL, which does not multiply to its d_model of 2048; we keep
  // d_head = 128 (16 heads), as GPT-Neo 1.3B did. 13B's d_model is printed 5140; 40 × 128 = 5120.
  'gpt3-1.3b': gpt3(24, 16, 2048),
  'gpt3-2.7b': gpt3(32, 32, 2560),
  'gpt3-6.7b': gpt3(32, 32, 4096),
  'gpt3-13b': gpt3(40, 40, 5120),
  'gpt3-175b': gpt3(96, 96, 12288),
  // Small presets (vocabulary set by the tokenizer at train time).
  nano: { ...base, vocabSize: 512, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64 },
  tiny: { ...base, vocabSize: 512, blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128 },
  small: { ...base, vocabSize: 4096, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384 },
};

const keys = Object.keys({ ...base, vocabSize: 0, blockSize: 0, nLayer: 0, nHead: 0, nEmbd: 0 }) as (keyof GptConfig)[];

/** A complete config from a preset name and overrides; unknown keys and bad values are errors. */
export function gptConfig(preset: string | GptConfig, overrides: Partial<GptConfig> = {}): GptConfig {
  const start = typeof preset === 'string' ? presets[preset] : preset;
  if (!start) throw new ConfigError(`unknown preset '${preset}'`, `one of: ${Object.keys(presets).join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!keys.includes(k as keyof GptConfig)) throw new ConfigError(`unknown GPT config key '${k}'`, `known keys: ${keys.join(', ')}`);
  }
  const c = { ...start, ...overrides };
  for (const k of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd', 'window'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new ConfigError(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new ConfigError(`nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ConfigError(`dropout must be in [0, 1), got ${c.dropout}`);
  if (c.norm !== 'pre' && c.norm !== 'post') throw new ConfigError(`norm must be 'pre' or 'post', got '${c.norm}'`);
  if (c.attention !== 'dense' && c.attention !== 'alternating') throw new ConfigError(`attention must be 'dense' or 'alternating', got '${c.attention}'`);
  return Object.freeze(c);
}

/** Parameters excluding position embeddings (the N of 6·N FLOPs per token). */
export function countParams(c: GptConfig): { total: number; nonEmbedding: number; positions: number } {
  const C = c.nEmbd, L = c.nLayer;
  const b = c.bias ? 1 : 0;
  const perLayer = 2 * 2 * C + (3 * C * C + 3 * C * b) + (C * C + C * b) + (4 * C * C + 4 * C * b) + (4 * C * C + C * b);
  const wte = c.vocabSize * C;
  const head = c.tieEmbeddings ? 0 : c.vocabSize * C;
  const lnf = c.norm === 'pre' ? 2 * C : 0;
  const positions = c.blockSize * C;
  const nonEmbedding = L * perLayer + lnf;
  return { total: nonEmbedding + wte + head + positions, nonEmbedding, positions };
}

/** Training FLOPs per token (forward + backward): 6·N + 6·n_layer·T·C (attention), N without positions. */
export function flopsPerToken(c: GptConfig, seqLen = c.blockSize): number {
  const p = countParams(c);
  return 6 * (p.total - p.positions) + 6 * c.nLayer * seqLen * c.nEmbd;
}

export class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;
  constructor(readonly cfg: GptConfig, readonly layer: number, rng: Rng) {
    super();
    const projStd = cfg.scaledResidInit ? 0.02 / Math.sqrt(2 * cfg.nLayer) : 0.02;
    this.ln_1 = this.child('ln_1', new LayerNorm(cfg.nEmbd, cfg.layerNormEps));
    this.attn = this.child('attn', new MultiHeadAttention({ nEmbd: cfg.nEmbd, nHead: cfg.nHead, dropout: cfg.dropout, bias: cfg.bias, projStd }, rng.fork('attn')));
    this.ln_2 = this.child('ln_2', new LayerNorm(cfg.nEmbd, cfg.layerNormEps));
    this.mlp = this.child('mlp', new MLP(cfg.nEmbd, 4 * cfg.nEmbd, cfg.dropout, rng.fork('mlp'), { bias: cfg.bias, projStd }));
  }

  /** Banded layers: GPT-3 alternates, starting dense at layer 0. */
  get window(): number {
    return this.cfg.attention === 'alternating' && this.layer % 2 === 1 ? this.cfg.window : 0;
  }

  forward(x: Tensor, keyStart: I32 | null = null): Tensor {
    const mask = { causal: true, window: this.window, keyStart };
    if (this.cfg.norm === 'pre') {
      x = op.add(x, this.attn.forward(this.ln_1.forward(x), mask));
      return op.add(x, this.mlp.forward(this.ln_2.forward(x)));
    }
    x = this.ln_1.forward(op.add(x, this.attn.forward(x, mask)));
    return this.ln_2.forward(op.add(x, this.mlp.forward(x)));
  }

  /**
   * Inference with a KV cache: x (B, Tnew, C) holds the tokens at cache positions [cache.length, +Tnew).
   * Any cache with KVCache's attend() will do (serve's SlotCache keeps its own layout).
   */
  forwardCached(x: Tensor, cache: Pick<KVCache, 'attend'>, keyStart: I32 | null): Tensor {
    const attend = (h: Tensor) => {
      const qkv = this.attn.c_attn.forward(h); // (B, Tnew, 3C)
      return this.attn.c_proj.forward(cache.attend(this.layer, qkv, this.cfg.nHead, this.window, keyStart));
    };
    if (this.cfg.norm === 'pre') {
      x = op.add(x, attend(this.ln_1.forward(x)));
      return op.add(x, this.mlp.forward(this.ln_2.forward(x)));
    }
    x = this.ln_1.forward(op.add(x, attend(x)));
    return this.ln_2.forward(op.add(x, this.mlp.forward(x)));
  }
}

/**
 * Keys and values of every layer for B sequences, up to `capacity` positions: (B, capacity, C)
 * per layer for k and for v. Decoding appends one position per step and attends over all of them.
 */
export class KVCache {
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  /** Positions filled so far (the same for every sequence: ragged prompts are left-padded). */
  length = 0;
  constructor(readonly nLayer: number, readonly batch: number, readonly capacity: number, readonly nEmbd: number) {
    this.k = Array.from({ length: nLayer }, () => new Float32Array(batch * capacity * nEmbd));
    this.v = Array.from({ length: nLayer }, () => new Float32Array(batch * capacity * nEmbd));
  }

  /**
   * `batch` copies of this one-sequence cache, with room for `capacity` positions: the k choices
   * of a multiple-choice question continue one shared context without recomputing it.
   */
  expand(batch: number, capacity = this.capacity): KVCache {
    if (this.batch !== 1) throw new RangeError(`KVCache.expand: only a one-sequence cache can be expanded, this one holds ${this.batch}`);
    if (capacity < this.length) throw new RangeError(`KVCache.expand: capacity ${capacity} is below the ${this.length} positions already cached`);
    const out = new KVCache(this.nLayer, batch, capacity, this.nEmbd);
    const used = this.length * this.nEmbd;
    for (let l = 0; l < this.nLayer; l++) {
      for (let b = 0; b < batch; b++) {
        out.k[l].set(this.k[l].subarray(0, used), b * capacity * this.nEmbd);
        out.v[l].set(this.v[l].subarray(0, used), b * capacity * this.nEmbd);
      }
    }
    out.length = this.length;
    return out;
  }

  /** Append this step's k, v (from qkv (B, Tnew, 3C)) for `layer` and attend its queries over the cache. */
  attend(layer: number, qkv: Tensor, nHead: number, window: number, keyStart: I32 | null): Tensor {
    const [B, Tnew, C3] = qkv.shape;
    const C = C3 / 3;
    const start = this.length;
    if (start + Tnew > this.capacity) throw new RangeError(`KV cache full: ${start} + ${Tnew} positions exceed its capacity of ${this.capacity}`);
    const K = this.k[layer], V = this.v[layer];
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < Tnew; t++) {
        const src = (b * Tnew + t) * C3;
        const dst = (b * this.capacity + start + t) * C;
        K.set(qkv.data.subarray(src + C, src + 2 * C), dst);
        V.set(qkv.data.subarray(src + 2 * C, src + 3 * C), dst);
      }
    }
    const D = C / nHead;
    const out = Tensor.empty([B, Tnew, C]);
    backend().attentionForward({
      batch: B, heads: nHead, tq: Tnew, tk: start + Tnew, headDim: D,
      q: qkv.data, qOffset: 0, qStrideB: Tnew * C3, qStrideT: C3,
      k: K, kOffset: 0, kStrideB: this.capacity * C, kStrideT: C,
      v: V, vOffset: 0, vStrideB: this.capacity * C, vStrideT: C,
      scale: 1 / Math.sqrt(D), causal: true, window, keyStart, keyEnd: null, dropout: 0, seed: 0,
      out: out.data, lse: allocBuffer(B * nHead * Tnew),
    });
    return out;
  }
}

class Transformer extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly drop: Dropout;
  readonly h: Block[] = [];
  readonly ln_f: LayerNorm | null;
  constructor(cfg: GptConfig, rng: Rng) {
    super();
    this.wte = this.child('wte', new Embedding(cfg.vocabSize, cfg.nEmbd, rng.fork('wte')));
    this.wpe = this.child('wpe', new Embedding(cfg.blockSize, cfg.nEmbd, rng.fork('wpe')));
    this.drop = this.child('drop', new Dropout(cfg.dropout, rng.fork('drop')));
    const hs = this.child('h', new ModuleList());
    for (let i = 0; i < cfg.nLayer; i++) this.h.push(hs.add(new Block(cfg, i, rng.fork(`h.${i}`))));
    this.ln_f = cfg.norm === 'pre' ? this.child('ln_f', new LayerNorm(cfg.nEmbd, cfg.layerNormEps)) : null;
  }
}

/** A list of child modules named 0, 1, 2, … */
export class ModuleList extends Module {
  private n = 0;
  add<M extends Module>(m: M): M {
    return this.child(String(this.n++), m);
  }
}

export interface GptForward {
  /** (B, T, vocab), or (B, vocab) with lastOnly. */
  logits: Tensor;
  /** Mean cross-entropy when targets were given. */
  loss: Tensor | null;
}

export class GPT extends Module {
  readonly transformer: Transformer;
  readonly lm_head: Linear | null; // null when tied to wte
  private readonly positions: Int32Array; // 0, 1, …, blockSize − 1 (made once, not per step)
  constructor(readonly config: GptConfig, seed = 1337) {
    super();
    this.positions = Int32Array.from({ length: config.blockSize }, (_, i) => i);
    const rng = new Rng(seed);
    this.transformer = this.child('transformer', new Transformer(config, rng.fork('transformer')));
    this.lm_head = config.tieEmbeddings ? null : this.child('lm_head', new Linear(config.nEmbd, config.vocabSize, rng.fork('lm_head'), { bias: false }));
  }

  get lmHeadWeight(): Tensor {
    return this.lm_head ? this.lm_head.weight : this.transformer.wte.weight;
  }

  /**
   * Hidden states after the last block (and final LN): (B, T, C). `positions` (B·T) overrides the
   * default 0…T−1 (left-padded batches); `keyStart` (B) masks the padding keys.
   */
  hidden(ids: I32, B: number, T: number, opts: { positions?: I32; keyStart?: I32 | null } = {}): Tensor {
    const c = this.config;
    if (T > c.blockSize) throw new RangeError(`sequence length ${T} exceeds the model's context of ${c.blockSize} tokens`);
    if (ids.length !== B * T) throw new RangeError(`ids has ${ids.length} tokens, expected B·T = ${B}·${T}`);
    const t = this.transformer;
    const tok = t.wte.forward(ids, [B, T]); // (B, T, C)
    let x: Tensor;
    if (opts.positions) {
      x = op.add(tok, t.wpe.forward(opts.positions, [B, T]));
    } else {
      x = op.add(tok, t.wpe.forward(this.positions.subarray(0, T), [T])); // (T, C) broadcast over B
    }
    x = t.drop.forward(x);
    for (const block of t.h) x = block.forward(x, opts.keyStart ?? null);
    return t.ln_f ? t.ln_f.forward(x) : x;
  }

  /** Logits (and the LM loss when targets (B·T, -100 = ignore) are given). */
  forward(ids: I32, B: number, T: number, targets?: I32, opts: { lastOnly?: boolean; positions?: I32; keyStart?: I32 | null } = {}): GptForward {
    let h = this.hidden(ids, B, T, opts);
    if (opts.lastOnly) {
      const last = new Int32Array(B);
      for (let b = 0; b < B; b++) last[b] = b * T + T - 1;
      h = op.gatherRows(h, last); // (B, C)
    }
    const logits = op.linear(h, this.lmHeadWeight, null); // (B, T, V) or (B, V)
    const loss = targets ? op.crossEntropy(logits, targets) : null;
    return { logits, loss };
  }

  newCache(batch: number, capacity = this.config.blockSize): KVCache {
    return new KVCache(this.config.nLayer, batch, Math.min(capacity, this.config.blockSize), this.config.nEmbd);
  }

  /**
   * Inference step with a KV cache: ids (B, T) are the next T tokens of each sequence; returns the
   * logits of the last position (B, vocab) and advances the cache. `padding[b]` left-pad tokens of
   * sequence b are masked out and its positions start after them.
   */
  decode(ids: I32, B: number, T: number, cache: KVCache, padding: I32 | null = null): Tensor {
    return noGrad(() => {
      const x = this.cachedBlocks(ids, B, T, cache, padding);
      const last = new Int32Array(B);
      for (let b = 0; b < B; b++) last[b] = b * T + T - 1;
      let h = op.gatherRows(x, last); // (B, C)
      if (this.transformer.ln_f) h = this.transformer.ln_f.forward(h);
      return op.linear(h, this.lmHeadWeight, null); // (B, V)
    });
  }

  /** As decode, but the logits of every new position, (B, T, vocab): scoring a continuation reads them all. */
  decodeAll(ids: I32, B: number, T: number, cache: KVCache, padding: I32 | null = null): Tensor {
    return noGrad(() => {
      let x = this.cachedBlocks(ids, B, T, cache, padding); // (B, T, C)
      if (this.transformer.ln_f) x = this.transformer.ln_f.forward(x);
      return op.linear(x, this.lmHeadWeight, null); // (B, T, V)
    });
  }

  /** The blocks over T new tokens per sequence with the cache: (B, T, C) before the final LN. */
  private cachedBlocks(ids: I32, B: number, T: number, cache: KVCache, padding: I32 | null): Tensor {
    const c = this.config, tr = this.transformer;
    if (cache.length + T > c.blockSize) throw new RangeError(`context full: ${cache.length} + ${T} tokens exceed the model's ${c.blockSize}`);
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = Math.max(0, cache.length + t - (padding ? padding[b] : 0));
    let x = op.add(tr.wte.forward(ids, [B, T]), tr.wpe.forward(pos, [B, T]));
    for (const block of tr.h) x = block.forwardCached(x, cache, padding);
    cache.length += T;
    return x;
  }
}
