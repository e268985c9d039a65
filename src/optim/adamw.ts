// AdamW (decoupled weight decay, PyTorch's formula) over parameter groups, so LayerNorm weights,
// biases and embeddings can skip decay. Gradient clipping and accumulation averaging are folded
// into one `gradScale` so the update reads each gradient exactly once.
import { backend } from '../backend/index.ts';
import { Tensor } from '../tensor/tensor.ts';
import { ConfigError } from '../util/errors.ts';

export interface ParamGroup {
  params: Tensor[];
  weightDecay: number;
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class AdamW {
  readonly groups: ParamGroup[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  stepCount = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(groups: ParamGroup[], opts: AdamWOptions) {
    this.groups = groups;
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    const all = this.params();
    if (new Set(all).size !== all.length) throw new ConfigError('AdamW: a parameter appears in more than one group');
    this.m = all.map((p) => new Float32Array(p.size));
    this.v = all.map((p) => new Float32Array(p.size));
  }

  params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** One update. gradScale multiplies every gradient first (1/accumulation · clip factor). */
  step(gradScale = 1): void {
    this.stepCount++;
    let i = 0;
    for (const g of this.groups) {
      for (const p of g.params) {
        const grad = p.gradient();
        if (grad) backend().adamw(p.data, grad, this.m[i], this.v[i], p.size, this.lr, this.beta1, this.beta2, this.eps, g.weightDecay, this.stepCount, gradScale);
        i++;
      }
    }
  }

  zeroGrad(): void {
    for (const p of this.params()) p.zeroGrad();
  }

  state(): AdamWState {
    return { step: this.stepCount, m: this.m, v: this.v };
  }

  loadState(s: AdamWState): void {
    if (s.m.length !== this.m.length || s.v.length !== this.v.length) {
      throw new ConfigError(`AdamW state has ${s.m.length} moment tensors, the model has ${this.m.length} parameters`);
    }
    for (let i = 0; i < this.m.length; i++) {
      if (s.m[i].length !== this.m[i].length || s.v[i].length !== this.v[i].length) {
        throw new ConfigError(`AdamW state tensor ${i} has ${s.m[i].length} elements, parameter has ${this.m[i].length}`);
      }
      this.m[i].set(s.m[i]);
      this.v[i].set(s.v[i]);
    }
    this.stepCount = s.step;
  }
}

/**
 * Split named parameters into a decayed group (2-D weight matrices) and an undecayed group
 * (biases, LayerNorm weights, and — unless decayEmbeddings — embeddings), as GPT-2/3 recipes do.
 */
export function decayGroups(named: [string, Tensor][], weightDecay: number, decayEmbeddings = false): ParamGroup[] {
  const decay: Tensor[] = [], noDecay: Tensor[] = [];
  for (const [name, t] of named) {
    const isEmbedding = /(^|\.)(wte|wpe|embed\w*|tok_emb\w*|pos_emb\w*|token_type\w*)(\.|$)/.test(name);
    if (t.ndim >= 2 && (!isEmbedding || decayEmbeddings)) decay.push(t);
    else noDecay.push(t);
  }
  return [{ params: decay, weightDecay }, { params: noDecay, weightDecay: 0 }];
}

/** Global L2 norm of all gradients (after scaling by gradScale). */
export function gradNorm(params: Tensor[], gradScale = 1): number {
  let s = 0;
  for (const p of params) {
    const g = p.gradient();
    if (g) s += backend().sumSquares(g, p.size);
  }
  return Math.sqrt(s) * Math.abs(gradScale);
}

/** The factor that clips the global norm to maxNorm (1 when it is already within). */
export function clipFactor(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || norm <= maxNorm) return 1;
  return maxNorm / (norm + 1e-6);
}
