// The primitive layers shared by every model family. Parameter names mirror the published
// checkpoints (`weight`, `bias`), and Linear stores its weight (out, in) like torch.nn.Linear.
import { Tensor } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { selfAttention, crossAttention, type AttentionOptions } from '../tensor/attention.ts';
import type { I32 } from '../backend/backend.ts';
import { Rng } from '../util/rng.ts';
import { Module, normalParam, constParam } from './module.ts';

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng, opts: { bias?: boolean; std?: number } = {}) {
    super();
    this.weight = this.param('weight', normalParam([outFeatures, inFeatures], opts.std ?? 0.02, rng));
    this.bias = opts.bias === false ? null : this.param('bias', constParam([outFeatures], 0));
  }
  forward(x: Tensor): Tensor {
    return op.linear(x, this.weight, this.bias);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly num: number, readonly dim: number, rng: Rng, std = 0.02) {
    super();
    this.weight = this.param('weight', normalParam([num, dim], std, rng));
  }
  forward(ids: I32, shape: readonly number[]): Tensor {
    return op.embedding(ids, shape, this.weight);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param('weight', constParam([dim], 1));
    this.bias = this.param('bias', constParam([dim], 0));
  }
  forward(x: Tensor): Tensor {
    return op.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** Inverted dropout whose masks come from its own seeded stream (reproducible runs). */
export class Dropout extends Module {
  private readonly rng: Rng;
  constructor(readonly p: number, rng: Rng) {
    super();
    this.rng = this.rngStream('rng', rng);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return op.dropout(x, this.p, this.rng.nextU32());
  }
  /** A fresh seed for fused kernels that apply dropout themselves (attention probabilities). */
  nextSeed(): number {
    return this.rng.nextU32();
  }
}

export interface AttentionConfig {
  nEmbd: number;
  nHead: number;
  dropout: number; // on attention probabilities and on the output projection
  bias?: boolean;
  /** std of the output projection's init (GPT-2 scales it by 1/√(2·n_layer)). */
  projStd?: number;
}

/** Multi-head self-attention with a fused q/k/v projection (GPT's c_attn / c_proj). */
export class MultiHeadAttention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  private readonly attnDrop: Dropout;
  private readonly residDrop: Dropout;
  constructor(readonly cfg: AttentionConfig, rng: Rng) {
    super();
    this.c_attn = this.child('c_attn', new Linear(cfg.nEmbd, 3 * cfg.nEmbd, rng, { bias: cfg.bias }));
    this.c_proj = this.child('c_proj', new Linear(cfg.nEmbd, cfg.nEmbd, rng, { bias: cfg.bias, std: cfg.projStd }));
    this.attnDrop = this.child('attn_dropout', new Dropout(cfg.dropout, rng.fork('attn_dropout')));
    this.residDrop = this.child('resid_dropout', new Dropout(cfg.dropout, rng.fork('resid_dropout')));
  }
  forward(x: Tensor, mask: Omit<AttentionOptions, 'nHead' | 'dropout' | 'seed'>): Tensor {
    const qkv = this.c_attn.forward(x); // (B, T, 3C)
    const p = this.training ? this.cfg.dropout : 0;
    const y = selfAttention(qkv, { ...mask, nHead: this.cfg.nHead, dropout: p, seed: p > 0 ? this.attnDrop.nextSeed() : 0 }); // (B, T, C)
    return this.residDrop.forward(this.c_proj.forward(y));
  }
}

/** Encoder-decoder attention: queries from the decoder, keys and values from the encoder. */
export class CrossAttention extends Module {
  readonly q_proj: Linear;
  readonly kv_proj: Linear;
  readonly c_proj: Linear;
  private readonly attnDrop: Dropout;
  constructor(readonly cfg: AttentionConfig, rng: Rng) {
    super();
    this.q_proj = this.child('q_proj', new Linear(cfg.nEmbd, cfg.nEmbd, rng, { bias: cfg.bias }));
    this.kv_proj = this.child('kv_proj', new Linear(cfg.nEmbd, 2 * cfg.nEmbd, rng, { bias: cfg.bias }));
    this.c_proj = this.child('c_proj', new Linear(cfg.nEmbd, cfg.nEmbd, rng, { bias: cfg.bias, std: cfg.projStd }));
    this.attnDrop = this.child('attn_dropout', new Dropout(cfg.dropout, rng.fork('attn_dropout')));
  }
  forward(x: Tensor, memory: Tensor, keyEnd: I32 | null): Tensor {
    const q = this.q_proj.forward(x); // (B, Tq, C)
    const kv = this.kv_proj.forward(memory); // (B, Tk, 2C)
    const p = this.training ? this.cfg.dropout : 0;
    const y = crossAttention(q, kv, { nHead: this.cfg.nHead, causal: false, keyEnd, dropout: p, seed: p > 0 ? this.attnDrop.nextSeed() : 0 });
    return this.c_proj.forward(y);
  }
}

/** Position-wise feed-forward: Linear → GELU (or ReLU) → Linear → dropout (GPT's c_fc / c_proj). */
export class MLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  private readonly drop: Dropout;
  constructor(nEmbd: number, hidden: number, dropout: number, rng: Rng, opts: { bias?: boolean; projStd?: number; activation?: 'gelu' | 'relu' } = {}) {
    super();
    this.c_fc = this.child('c_fc', new Linear(nEmbd, hidden, rng, { bias: opts.bias }));
    this.c_proj = this.child('c_proj', new Linear(hidden, nEmbd, rng, { bias: opts.bias, std: opts.projStd }));
    this.drop = this.child('dropout', new Dropout(dropout, rng.fork('mlp_dropout')));
    this.activation = opts.activation ?? 'gelu';
  }
  private readonly activation: 'gelu' | 'relu';
  forward(x: Tensor): Tensor {
    const h = this.c_fc.forward(x);
    const a = this.activation === 'gelu' ? op.gelu(h) : op.relu(h);
    return this.drop.forward(this.c_proj.forward(a));
  }
}
