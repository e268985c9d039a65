// A KV cache of fixed slots, one per running request, each at its own length: what continuous
// batching needs. generate/'s KVCache keeps one length for the whole batch (ragged prompts are
// left-padded and start together); here requests join and leave between decoding steps, so each
// slot has its own length, and a decoding step attends each row over its own keys.
//
// Layout per layer: k and v are (slots, heads, capacity, headDim), head-major, so the keys one
// query of a decoding step reads are one contiguous run (backend attentionDecode: it also stores the
// step's new keys and values, all rows in one call). The running requests always occupy slots
// 0 … active−1 (a leaving request's slot is filled by moving the last one into it), so a batch is
// a dense run of slots. A prefill attends over its own projection and then stores it (kvStore).
//
// Storage: 'f32', or 'f16' (IEEE half, llama.cpp's default cache type): half the memory and half
// the bytes each decoding step reads, which at 16 rows of `small` are a third of what it reads
// (the weights are the rest); keys and values are rounded to f16 once, when stored.
//
// Memory: 2 · nLayer · slots · capacity · C elements (small, 16 slots: 75 MB in f32; GPT-2 124M at
// 1,024 positions, 16 slots: 1.2 GB).
import type { GPT } from '../models/gpt.ts';
import { backend } from '../backend/index.ts';
import type { I32, KvArray } from '../backend/backend.ts';
import { Tensor, allocBuffer, noGrad, scope } from '../tensor/tensor.ts';
import * as op from '../tensor/ops.ts';
import { ConfigError } from '../util/errors.ts';

export type KvDtype = 'f32' | 'f16';
export const KV_DTYPES: readonly KvDtype[] = ['f32', 'f16'];
/** What gptkit serve and chat store (the SlotCache class itself defaults to f32: generate's bits). */
export const DEFAULT_KV_CACHE: KvDtype = 'f16';

/** What the cache is asked to do in the forward pass now under way. */
type Pass =
  | { kind: 'prefill'; firstSlot: number }
  | { kind: 'decode' };

export class SlotCache {
  /** Filled positions of each slot. */
  readonly lengths: Int32Array;
  readonly nLayer: number;
  readonly nHead: number;
  readonly headDim: number;
  readonly capacity: number;
  /** Per layer, (slots, heads, capacity, headDim): Float32Array for 'f32', f16 bits for 'f16'. */
  readonly k: KvArray[];
  readonly v: KvArray[];
  private pass: Pass = { kind: 'decode' };
  /** Zeros: a prefill stores its prompt from position 0. */
  private readonly zeros: Int32Array;
  /** 0, 1, …: a decoding step's logits are every row's. */
  private readonly rows: Int32Array;
  /**
   * The logits prefill() and decode() return: one buffer for the cache's life, overwritten by the
   * next call. A fresh (rows, vocab) array every step cost ~0.8 ms a step at 16 rows of `small`
   * (256 KB of new memory a step: the first touch of fresh pages is slow in this VM), a cost
   * batch 1 (16 KB) hardly paid.
   */
  private readonly logits: Float32Array;

  constructor(model: GPT, readonly slots: number, capacity = model.config.blockSize, readonly dtype: KvDtype = 'f32') {
    if (!KV_DTYPES.includes(dtype)) throw new ConfigError(`KV cache type must be one of ${KV_DTYPES.join(', ')}, got '${dtype}'`);
    const c = model.config;
    this.nLayer = c.nLayer;
    this.nHead = c.nHead;
    this.headDim = c.nEmbd / c.nHead;
    this.capacity = Math.min(capacity, c.blockSize);
    const n = slots * this.capacity * c.nEmbd;
    const make = (): KvArray => (dtype === 'f16' ? new Uint16Array(n) : new Float32Array(n));
    this.k = Array.from({ length: this.nLayer }, make);
    this.v = Array.from({ length: this.nLayer }, make);
    this.lengths = new Int32Array(slots);
    this.zeros = new Int32Array(slots);
    this.rows = Int32Array.from({ length: slots }, (_, b) => b);
    this.logits = new Float32Array(slots * c.vocabSize);
  }

  /** Move slot `from`'s keys and values into slot `to` (a request left `to`; `from` was the last). */
  moveSlot(from: number, to: number): void {
    if (from === to) return;
    const D = this.headDim, span = this.capacity * D, n = this.lengths[from] * D;
    for (let h = 0; h < this.nHead; h++) {
      const src = (from * this.nHead + h) * span, dst = (to * this.nHead + h) * span;
      for (let l = 0; l < this.nLayer; l++) {
        this.k[l].copyWithin(dst, src, src + n);
        this.v[l].copyWithin(dst, src, src + n);
      }
    }
    this.lengths[to] = this.lengths[from];
    this.lengths[from] = 0;
  }

  /** Called by Block.forwardCached for every layer: store this pass's keys/values and attend. */
  attend(layer: number, qkv: Tensor, nHead: number, window: number, _keyStart: I32 | null): Tensor {
    const [B, Tnew, C3] = qkv.shape;
    const C = C3 / 3, D = C / nHead, cap = this.capacity;
    const out = Tensor.empty([B, Tnew, C]);
    const pass = this.pass;
    if (pass.kind === 'prefill') {
      // The prompt attends over its own keys (its slot is rewritten from position 0), right-padded:
      // causal attention alone keeps every real query off the padding after it. Then it is stored.
      backend().attentionForward({
        batch: B, heads: nHead, tq: Tnew, tk: Tnew, headDim: D,
        q: qkv.data, qOffset: 0, qStrideB: Tnew * C3, qStrideT: C3,
        k: qkv.data, kOffset: C, kStrideB: Tnew * C3, kStrideT: C3,
        v: qkv.data, vOffset: 2 * C, vStrideB: Tnew * C3, vStrideT: C3,
        scale: 1 / Math.sqrt(D), causal: true, window, keyStart: null, keyEnd: null, dropout: 0, seed: 0,
        out: out.data, lse: allocBuffer(B * nHead * Tnew),
      });
      const store = { batch: B, tokens: Tnew, heads: nHead, headDim: D, capacity: cap, src: qkv.data, srcStrideB: Tnew * C3, srcStrideT: C3, firstSlot: pass.firstSlot, start: this.zeros };
      backend().kvStore({ ...store, srcOffset: C, cache: this.k[layer] });
      backend().kvStore({ ...store, srcOffset: 2 * C, cache: this.v[layer] });
    } else {
      // One query per row at its own position lengths[b]; the row's new key and value go there.
      backend().attentionDecode({
        batch: B, heads: nHead, headDim: D, capacity: cap, qkv: qkv.data, k: this.k[layer], v: this.v[layer],
        lengths: this.lengths, window, scale: 1 / Math.sqrt(D), out: out.data,
      });
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
    // Positions are the lengths before this step (read by the embedding, before they grow).
    const logits = this.run(model, tokens.subarray(0, rows), this.lengths.subarray(0, rows), rows, 1, this.rows.subarray(0, rows));
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
