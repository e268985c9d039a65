// Fused scaled-dot-product attention as a differentiable op. The kernel reads q, k, v straight
// out of the projections' outputs through strides (no head transposes) and keeps only the
// log-sum-exp per query for backward: memory O(T) per head, never a T×T matrix.
import { backend } from '../backend/index.ts';
import type { AttentionParams, F32, I32 } from '../backend/backend.ts';
import { Tensor, allocBuffer, check, record, shapeStr } from './tensor.ts';

export interface AttentionOptions {
  nHead: number;
  causal: boolean;
  /** > 0: local band of this many keys (GPT-3's sparse layers). */
  window?: number;
  keyStart?: I32 | null;
  keyEnd?: I32 | null;
  dropout?: number;
  seed?: number;
  /** Defaults to 1/√headDim. */
  scale?: number;
}

/** A (B, T, width) tensor holding q, k or v at column `offset` (e.g. a fused qkv projection). */
interface Source {
  t: Tensor;
  offset: number;
}

function run(q: Source, k: Source, v: Source, C: number, opts: AttentionOptions): Tensor {
  const [B, Tq] = q.t.shape;
  const Tk = k.t.dim(1);
  const H = opts.nHead;
  check(C % H === 0, 'attention', () => `width ${C} is not divisible by ${H} heads`);
  const D = C / H;
  const p = opts.dropout ?? 0;
  const params: AttentionParams = {
    batch: B, heads: H, tq: Tq, tk: Tk, headDim: D,
    q: q.t.data, qOffset: q.offset, qStrideB: Tq * q.t.dim(2), qStrideT: q.t.dim(2),
    k: k.t.data, kOffset: k.offset, kStrideB: Tk * k.t.dim(2), kStrideT: k.t.dim(2),
    v: v.t.data, vOffset: v.offset, vStrideB: Tk * v.t.dim(2), vStrideT: v.t.dim(2),
    scale: opts.scale ?? 1 / Math.sqrt(D),
    causal: opts.causal,
    window: opts.window ?? 0,
    keyStart: opts.keyStart ?? null,
    keyEnd: opts.keyEnd ?? null,
    dropout: p,
    seed: (opts.seed ?? 0) >>> 0,
  };
  check(params.window === 0 || params.causal, 'attention', 'a banded window needs causal attention');
  for (const [name, ks] of [['keyStart', params.keyStart], ['keyEnd', params.keyEnd]] as const) {
    check(!ks || ks.length === B, 'attention', () => `${name} must have one entry per batch row (${B}), got ${ks?.length}`);
  }
  const out = Tensor.empty([B, Tq, C]);
  const lse = allocBuffer(B * H * Tq);
  backend().attentionForward({ ...params, out: out.data, lse });
  const inputs = [q.t, k.t, v.t];
  out.requiresGrad = record(inputs, () => {
    if (!out.grad) return;
    // Gradients go to the same places the inputs came from; when q/k/v share one tensor they
    // share its gradient buffer too. A fresh gradient is written, an existing one added to (the
    // kernel writes every element of q, k and v's columns: a shared fused qkv buffer is covered).
    // Inputs that need no gradient get scratch.
    const grads = new Map<Tensor, [F32, 0 | 1]>();
    const grad = (t: Tensor): [F32, 0 | 1] => {
      let g = grads.get(t);
      if (!g) grads.set(t, (g = t.requiresGrad ? t.gradForWrite() : [allocBuffer(t.size), 0]));
      return g;
    };
    const [dq, betaQ] = grad(q.t), [dk, betaK] = grad(k.t), [dv, betaV] = grad(v.t);
    backend().attentionBackward({ ...params, out: out.data, lse, dout: out.grad, dq, dk, dv, betaQ, betaK, betaV });
  }, out);
  return out;
}

/** Self-attention from a fused projection qkv (B, T, 3C) → (B, T, C). */
export function selfAttention(qkv: Tensor, opts: AttentionOptions): Tensor {
  check(qkv.ndim === 3 && qkv.dim(2) % 3 === 0, 'selfAttention', () => `qkv must be (B, T, 3C), got ${shapeStr(qkv.shape)}`);
  const C = qkv.dim(2) / 3;
  return run({ t: qkv, offset: 0 }, { t: qkv, offset: C }, { t: qkv, offset: 2 * C }, C, opts);
}

/** Cross-attention: q (B, Tq, C) against kv (B, Tk, 2C) → (B, Tq, C). */
export function crossAttention(q: Tensor, kv: Tensor, opts: AttentionOptions): Tensor {
  check(q.ndim === 3 && kv.ndim === 3 && kv.dim(2) === 2 * q.dim(2) && kv.dim(0) === q.dim(0), 'crossAttention', () => `q ${shapeStr(q.shape)} and kv ${shapeStr(kv.shape)} must be (B, Tq, C) and (B, Tk, 2C)`);
  const C = q.dim(2);
  return run({ t: q, offset: 0 }, { t: kv, offset: 0 }, { t: kv, offset: C }, C, opts);
}

/** Attention with separate q (B, Tq, C), k and v (B, Tk, C) tensors. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const C = q.dim(2);
  check(k.dim(2) === C && v.dim(2) === C && k.dim(1) === v.dim(1), 'attention', () => `q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)} do not fit`);
  return run({ t: q, offset: 0 }, { t: k, offset: 0 }, { t: v, offset: 0 }, C, opts);
}
