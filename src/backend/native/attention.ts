// Wraps the addon's fused attention (native/src/attention.cc): checks the parameters with the same
// ShapeError messages as the reference, then passes them positionally.
import type { AttentionBackward, AttentionForward, AttentionParams, Backend } from '../backend.ts';
import { checkAttention } from '../ts/attention.ts';
import type { Addon } from './index.ts';

function positional(p: AttentionParams): unknown[] {
  return [
    p.batch, p.heads, p.tq, p.tk, p.headDim,
    p.q, p.qOffset, p.qStrideB, p.qStrideT,
    p.k, p.kOffset, p.kStrideB, p.kStrideT,
    p.v, p.vOffset, p.vStrideB, p.vStrideT,
    p.scale, p.causal, p.window, p.keyStart, p.keyEnd, p.dropout, p.seed,
  ];
}

export function nativeAttention(addon: Addon): Pick<Backend, 'attentionForward' | 'attentionBackward'> {
  return {
    attentionForward(p: AttentionForward): void {
      checkAttention('attentionForward', p, false);
      addon.attentionForward(...positional(p), p.out, p.lse);
    },
    attentionBackward(p: AttentionBackward): void {
      checkAttention('attentionBackward', p, true);
      addon.attentionBackward(...positional(p), p.out, p.lse, p.dout, p.dq, p.dk, p.dv, p.betaQ ?? 1, p.betaK ?? 1, p.betaV ?? 1);
    },
  };
}
