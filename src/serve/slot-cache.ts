// A KV cache of fixed slots, one per running request, each at its own length: what continuous
// batching needs. generate/'s KVCache keeps one length for the whole batch (ragged prompts are
// left-padded and start together); here requests join and leave between decoding steps, so each
// slot has its own length, and a decoding step attends each row over its own keys (keyEnd).
//
// Layout per layer: k and v are (slots, capacity, C). The running requests always occupy slots
// 0 … active−1 (a leaving request's slot is filled by moving the last one into it), so a batch
// is a dense run of rows the attention kernel reads through strides, without gathering.
//
// Memory: 2 · nLayer · slots · capacity · C floats (small, 16 slots: 75 MB; GPT-2 124M at 1,024
// positions, 16 slots: 1.2 GB).
import { GPT, KVCache } from '../models/gpt.ts';
import { backend } from '../backend/index.ts';
import type { I32 } from '../backend/backend.ts';
import { Tensor, allocBuffer, noGrad, scope } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';

/** What the cache is asked to do in the forward pass now under way. */
type Pass =
  | { kind: 'prefill'; firstSlot: number }
  | { kind: 'decode' };

export class SlotCache extends KVCache {
  /** Filled positions of each slot. */
  readonly lengths: Int32Array;
  private pass: Pass = { kind: 'decode' };
  private readonly keyStart: Int32Array;
  private readonly keyEnd: Int32Array;
  /**
   * The logits prefill() and decode() return: one buffer for the cache's life, overwritten by the
   * next call. A fresh (rows, vocab) array every step cost ~0.8 ms a step at 16 rows of `small`
   * (256 KB of new memory a step: the first touch of fresh pages is slow in this VM), a cost
   * batch 1 (16 KB) hardly paid.
   */
  private readonly logits: Float32Array;

  constructor(model: GPT, readonly slots: number, capacity = model.config.blockSize) {
    super(model.config.nLayer, slots, Math.min(capacity, model.config.blockSize), model.config.nEmbd);
    this.lengths = new Int32Array(slots);
    this.keyStart = new Int32Array(slots);
    this.keyEnd = new Int32Array(slots);
    this.logits = new Float32Array(slots * model.config.vocabSize);
  }

  /** Move slot `from`'s keys and values into slot `to` (a request left `to`; `from` was the last). */
  moveSlot(from: number, to: number): void {
    if (from === to) return;
    const C = this.nEmbd, n = this.lengths[from] * C;
    const src = from * this.capacity * C, dst = to * this.capacity * C;
    for (let l = 0; l < this.nLayer; l++) {
      this.k[l].copyWithin(dst, src, src + n);
      this.v[l].copyWithin(dst, src, src + n);
    }
    this.lengths[to] = this.lengths[from];
    this.lengths[from] = 0;
  }

  /** Called by Block.forwardCached for every layer: store this pass's keys/values and attend. */
  override attend(layer: number, qkv: Tensor, nHead: number, window: number, _keyStart: I32 | null): Tensor {
    const [B, Tnew, C3] = qkv.shape;
    const C = C3 / 3, D = C / nHead, cap = this.capacity;
    const K = this.k[layer], V = this.v[layer];
    const pass = this.pass;
    const first = pass.kind === 'prefill' ? pass.firstSlot : 0;
    for (let b = 0; b < B; b++) {
      const start = pass.kind === 'prefill' ? 0 : this.lengths[b];
      for (let t = 0; t < Tnew; t++) {
        const src = (b * Tnew + t) * C3;
        const dst = ((first + b) * cap + start + t) * C;
        K.set(qkv.data.subarray(src + C, src + 2 * C), dst);
        V.set(qkv.data.subarray(src + 2 * C, src + 3 * C), dst);
      }
    }
    const out = Tensor.empty([B, Tnew, C]);
    const common = {
      batch: B, heads: nHead, tq: Tnew, headDim: D,
      q: qkv.data, qOffset: 0, qStrideB: Tnew * C3, qStrideT: C3,
      k: K, kOffset: first * cap * C, kStrideB: cap * C, kStrideT: C,
      v: V, vOffset: first * cap * C, vStrideB: cap * C, vStrideT: C,
      scale: 1 / Math.sqrt(D), dropout: 0, seed: 0, out: out.data, lse: allocBuffer(B * nHead * Tnew),
    };
    if (pass.kind === 'prefill') {
      // Right-padded prompts: causal attention alone keeps every real query off the padding after it.
      backend().attentionForward({ ...common, tk: Tnew, causal: true, window, keyStart: null, keyEnd: null });
    } else {
      // One query per row at its own position: row b sees keys [keyStart, lengths[b] + 1).
      let tk = 0;
      for (let b = 0; b < B; b++) {
        const end = this.lengths[b] + 1;
        this.keyEnd[b] = end;
        this.keyStart[b] = window > 0 ? Math.max(0, end - window) : 0;
        if (end > tk) tk = end;
      }
      backend().attentionForward({ ...common, tk, causal: false, window: 0, keyStart: this.keyStart.subarray(0, B), keyEnd: this.keyEnd.subarray(0, B) });
    }
    return out;
  }

  /**
   * Prompts (right-padded to the longest, or to `padTo` if longer) into slots firstSlot … firstSlot +
   * n − 1, which must be empty. Returns the logits at each prompt's last token, (n, vocab) row-major,
   * valid until the next prefill() or decode().
   */
  prefill(model: GPT, prompts: readonly number[][], firstSlot: number, padTo = 0): Float32Array {
    const n = prompts.length;
    const T = Math.min(this.capacity, Math.max(padTo, ...prompts.map((p) => p.length)));
    const ids = new Int32Array(n * T);
    const pos = new Int32Array(n * T);
    const last = new Int32Array(n);
    prompts.forEach((p, b) => {
      ids.set(p, b * T);
      for (let t = 0; t < T; t++) pos[b * T + t] = t;
      last[b] = b * T + p.length - 1;
    });
    this.pass = { kind: 'prefill', firstSlot };
    try {
      const logits = this.run(model, ids, pos, n, T, last);
      prompts.forEach((p, b) => { this.lengths[firstSlot + b] = p.length; });
      return logits;
    } finally {
      this.pass = { kind: 'decode' };
    }
  }

  /**
   * One token for each of the first `rows` slots, at each slot's own position. Returns (rows, vocab)
   * logits, valid until the next prefill() or decode().
   */
  decode(model: GPT, tokens: Int32Array, rows: number): Float32Array {
    const pos = this.lengths.slice(0, rows);
    const last = Int32Array.from({ length: rows }, (_, b) => b);
    const logits = this.run(model, tokens.subarray(0, rows), pos, rows, 1, last);
    for (let b = 0; b < rows; b++) this.lengths[b]++;
    return logits;
  }

  /** GPT.decode's forward with per-row positions and logits gathered at `last`. */
  private run(model: GPT, ids: I32, pos: I32, B: number, T: number, last: I32): Float32Array {
    return scope(() => noGrad(() => {
      const tr = model.transformer;
      let x = op.add(tr.wte.forward(ids, [B, T]), tr.wpe.forward(pos, [B, T])); // (B, T, C)
      for (const block of tr.h) x = block.forwardCached(x, this, null);
      let h = op.gatherRows(x, last); // (B, C)
      if (tr.ln_f) h = tr.ln_f.forward(h);
      const y = op.linear(h, model.lmHeadWeight, null).data; // (B, V), pooled: gone when the scope ends
      const out = this.logits.subarray(0, y.length);
      out.set(y);
      return out;
    }));
  }
}
