// Task heads on top of a GPT's hidden states (the hook later rungs build on): a classifier on the
// last real token (GPT-1's W_y), and a scalar head (reward model, PPO value function) per token.
import { Tensor } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import type { I32 } from '../backend/backend.ts';
import { Module } from '../nn/module.ts';
import { Linear, Dropout } from '../nn/layers.ts';
import { Rng } from '../util/rng.ts';

/** Rows b·T + lengths[b] − 1 of hidden (B, T, C): the last real token of each sequence → (B, C). */
export function lastTokens(hidden: Tensor, lengths: I32): Tensor {
  const [B, T] = hidden.shape;
  const idx = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    if (!(lengths[b] >= 1 && lengths[b] <= T)) throw new RangeError(`lastTokens: length ${lengths[b]} of sequence ${b} is outside [1, ${T}]`);
    idx[b] = b * T + lengths[b] - 1;
  }
  return op.gatherRows(hidden, idx);
}

/** Linear classifier over a pooled hidden state, with dropout before it (GPT-1: 0.1). */
export class ClassifierHead extends Module {
  readonly proj: Linear;
  private readonly drop: Dropout;
  constructor(nEmbd: number, readonly nClasses: number, rng: Rng, dropout = 0.1) {
    super();
    this.drop = this.child('dropout', new Dropout(dropout, rng.fork('cls_dropout')));
    this.proj = this.child('proj', new Linear(nEmbd, nClasses, rng.fork('cls'), { std: 0.02 }));
  }
  /** pooled (B, C) → logits (B, nClasses). */
  forward(pooled: Tensor): Tensor {
    return this.proj.forward(this.drop.forward(pooled));
  }
}

/** One scalar per position: hidden (…, C) → (…, 1). Reward models read it at the last token. */
export class ScalarHead extends Module {
  readonly proj: Linear;
  constructor(nEmbd: number, rng: Rng) {
    super();
    this.proj = this.child('proj', new Linear(nEmbd, 1, rng.fork('scalar'), { std: 1 / Math.sqrt(nEmbd + 1) }));
  }
  forward(hidden: Tensor): Tensor {
    return this.proj.forward(hidden);
  }
}
