// Continuous batching: requests join the running decode batch at step boundaries and leave it when
// done, so many concurrent streams share each step's matrix products. The engine knows nothing
// about text: token ids in, token ids out (the worker adds decoding and stop strings).
//
// A step: (1) requests cancelled since the last step leave; (2) waiting requests take free slots,
// each prompt is prefilled and samples its first token; (3) every running request decodes one
// token; (4) finished requests leave.
//
// Prompts are right-padded to a power-of-two length and prefilled together, those of one length in
// groups of a power-of-two count holding at most PREFILL_TOKENS positions (16 prompts of 16 tokens:
// one pass of 256 rows, whose products run several times faster per row than 16 passes of 16 rows).
// So forward passes come in few shapes, every one run by warmUp(). That matters because the tensor
// buffer pool keeps buffers per size for good, and fresh memory is slow to touch the first time
// (~8 ms/MB measured in this VM): prompts prefilled together at every (count, length) seen would
// grow the pool without bound and pay that first touch often. Each request samples with its own
// settings and its own random stream (seeded), and a row's logits do not depend on the other rows
// of the batch but through float rounding (a product's kernel depends on its row count, decoding
// alike), so a request's tokens are the same whether it runs alone or beside others (tested greedy).
import type { GPT } from '../models/gpt.ts';
import { Sampler, type SamplingOptions } from '../generate/sampling.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';
import { SlotCache, type KvDtype } from './slot-cache.ts';

export type Id = string;

export type EngineFinishReason = 'eos' | 'length' | 'stop' | 'cancelled' | 'error';

export interface EngineRequest {
  id: Id;
  /** Prompt token ids (at least one). */
  prompt: number[];
  /** Tokens to generate at most; prompt + maxTokens must fit the context. */
  maxTokens: number;
  sampling: SamplingOptions;
  seed: number;
  /** Token ids that end the request (not part of its output). */
  eosIds: number[];
  /** Called with every new token; return true to end the request here ('stop': a stop string). */
  onToken?: (token: number) => boolean | void;
}

export interface Finished {
  id: Id;
  finishReason: EngineFinishReason;
  promptTokens: number;
  completionTokens: number;
  /** Why it ended with 'error'. */
  error?: string;
}

export interface StepReport {
  /** Requests that took a slot this step (prefilled). */
  admitted: number;
  /** Rows of this step's decoding batch. */
  batch: number;
  finished: Finished[];
  /** Wall time of the step, ms. */
  ms: number;
}

interface Running {
  req: EngineRequest;
  sampler: Sampler;
  rng: Rng;
  eos: Set<number>;
  /** The last sampled token, fed to the model next step. */
  pending: number;
  generated: number;
  cancelled: boolean;
  done: Finished | null;
}

export interface EngineOptions {
  /** Slots: requests decoded together at most. */
  maxBatch: number;
  /** KV cache storage (slot-cache.ts): 'f32' (default) or 'f16'. */
  kvDtype?: KvDtype;
}

/** Shortest prefill: prompts are padded up to a power of two from here. */
const MIN_PREFILL = 16;

/** Positions (prompts × padded length) one prefill pass holds at most; a longer prompt goes alone. */
export const PREFILL_TOKENS = 256;

/** How many prompts of padded length t to prefill in one pass, out of n waiting: a power of two. */
export function prefillGroup(n: number, t: number): number {
  let g = 1;
  while (g * 2 <= n && g * 2 * t <= PREFILL_TOKENS) g *= 2;
  return g;
}

/** The padded length a prompt of n tokens is prefilled at (the cache caps it at its capacity). */
export function prefillLength(n: number): number {
  let t = MIN_PREFILL;
  while (t < n) t *= 2;
  return t;
}

export class BatchEngine {
  private readonly cache: SlotCache;
  private readonly slots: Running[] = [];
  private readonly waiting: EngineRequest[] = [];
  private readonly cancelledWaiting: Finished[] = [];
  readonly capacity: number;

  constructor(readonly model: GPT, readonly options: EngineOptions) {
    if (!(Number.isInteger(options.maxBatch) && options.maxBatch >= 1)) throw new ConfigError(`maxBatch must be an integer ≥ 1, got ${options.maxBatch}`);
    this.cache = new SlotCache(model, options.maxBatch, model.config.blockSize, options.kvDtype ?? 'f32');
    this.capacity = this.cache.capacity;
  }

  /**
   * Run every prefill length and every decoding batch size once, on throwaway contents, so the
   * first requests do not pay for first-touched buffers (a request's prefill rewrites its slot from
   * position 0, so what this leaves in the cache is never read).
   */
  warmUp(): void {
    if (!this.idle) throw new ConfigError('warmUp() runs on an idle engine only');
    for (let t = MIN_PREFILL; ; t *= 2) {
      // Every group size a prompt of this length can be prefilled in.
      for (let g = 1; g <= this.options.maxBatch; g *= 2) {
        if (g > 1 && g * t > PREFILL_TOKENS) break;
        this.cache.prefill(this.model, Array.from({ length: g }, () => [0]), 0, t);
      }
      if (t >= this.capacity) break;
    }
    const tokens = new Int32Array(this.options.maxBatch);
    for (let rows = 1; rows <= this.options.maxBatch; rows++) {
      this.cache.lengths.fill(0);
      this.cache.decode(this.model, tokens, rows);
    }
    this.cache.lengths.fill(0);
  }

  get running(): number { return this.slots.length; }
  get queued(): number { return this.waiting.length; }
  get idle(): boolean { return this.slots.length === 0 && this.waiting.length === 0 && this.cancelledWaiting.length === 0; }

  /** Queue a request; it joins the batch at the next step with a free slot. */
  submit(req: EngineRequest): void {
    if (req.prompt.length === 0) throw new ConfigError('a prompt needs at least one token');
    if (!(Number.isInteger(req.maxTokens) && req.maxTokens >= 0)) throw new ConfigError(`maxTokens must be an integer ≥ 0, got ${req.maxTokens}`);
    if (req.prompt.length + req.maxTokens > this.capacity) {
      throw new ConfigError(`prompt (${req.prompt.length} tokens) + maxTokens (${req.maxTokens}) exceed the context of ${this.capacity} tokens`);
    }
    const V = this.model.config.vocabSize;
    if (req.prompt.some((t) => !(Number.isInteger(t) && t >= 0 && t < V))) throw new ConfigError(`prompt token ids must be integers in [0, ${V})`);
    new Sampler(req.sampling); // validates the settings now, not mid-batch
    this.waiting.push(req);
  }

  /** End a request: a waiting one at once, a running one at the start of the next step. */
  cancel(id: Id): boolean {
    const w = this.waiting.findIndex((r) => r.id === id);
    if (w >= 0) {
      const [req] = this.waiting.splice(w, 1);
      this.cancelledWaiting.push({ id, finishReason: 'cancelled', promptTokens: req.prompt.length, completionTokens: 0 });
      return true;
    }
    const r = this.slots.find((s) => s.req.id === id);
    if (r) r.cancelled = true;
    return Boolean(r);
  }

  step(): StepReport {
    const t0 = performance.now();
    const finished: Finished[] = this.cancelledWaiting.splice(0);
    for (const r of this.slots) if (r.cancelled) r.done = this.finish(r, 'cancelled');
    this.release(finished);
    const admitted = this.admit();
    this.release(finished);
    const batch = this.slots.length;
    if (batch > 0) {
      const tokens = Int32Array.from(this.slots, (r) => r.pending);
      const logits = this.cache.decode(this.model, tokens, batch);
      const V = this.model.config.vocabSize;
      this.slots.forEach((r, b) => this.take(r, logits.subarray(b * V, (b + 1) * V)));
      this.release(finished);
    }
    return { admitted, batch, finished, ms: performance.now() - t0 };
  }

  /**
   * Waiting requests into free slots: the prompts prefilled (grouped by padded length, so a group's
   * slots are consecutive), then each one's first token, in the order they came.
   */
  private admit(): number {
    const free = this.options.maxBatch - this.slots.length;
    if (free <= 0 || this.waiting.length === 0) return 0;
    const reqs = this.waiting.splice(0, free);
    const joined: Running[] = reqs.map((req) => ({
      req, sampler: new Sampler(req.sampling), rng: new Rng(req.seed), eos: new Set(req.eosIds),
      pending: -1, generated: 0, cancelled: false, done: null,
    }));
    for (const r of joined) if (r.req.maxTokens === 0) r.done = this.finish(r, 'length');
    const padded = (r: Running) => Math.min(prefillLength(r.req.prompt.length), this.capacity);
    const order = joined.filter((r) => !r.done).sort((a, b) => padded(a) - padded(b));
    const first = this.slots.length;
    this.slots.push(...order, ...joined.filter((r) => r.done));
    const V = this.model.config.vocabSize;
    const firstLogits = new Map<Running, Float32Array>();
    for (let i = 0; i < order.length;) {
      const t = padded(order[i]);
      let n = 1;
      while (i + n < order.length && padded(order[i + n]) === t) n++;
      const g = prefillGroup(n, t);
      const group = order.slice(i, i + g);
      // The logits buffer is the cache's, rewritten by the next pass: each row copied out.
      const logits = this.cache.prefill(this.model, group.map((r) => r.req.prompt), first + i, t);
      group.forEach((r, b) => firstLogits.set(r, logits.slice(b * V, (b + 1) * V)));
      i += g;
    }
    for (const r of joined) if (!r.done) this.take(r, firstLogits.get(r)!);
    return reqs.length;
  }

  /** Sample a request's next token from its logits row and decide whether it goes on. */
  private take(r: Running, logits: Float32Array): void {
    if (r.done) return;
    let token: number;
    try {
      token = r.sampler.sample(logits, r.rng).token;
    } catch (e) {
      r.done = this.finish(r, 'error', (e as Error).message);
      return;
    }
    if (r.eos.has(token)) { r.done = this.finish(r, 'eos'); return; }
    r.generated++;
    r.pending = token;
    if (r.req.onToken?.(token) === true) { r.done = this.finish(r, 'stop'); return; }
    if (r.generated >= r.req.maxTokens) r.done = this.finish(r, 'length');
  }

  private finish(r: Running, reason: EngineFinishReason, error?: string): Finished {
    const f: Finished = { id: r.req.id, finishReason: reason, promptTokens: r.req.prompt.length, completionTokens: r.generated };
    if (error) f.error = error;
    return f;
  }

  /** Finished requests leave; the last running request moves into each freed slot. */
  private release(out: Finished[]): void {
    for (let s = this.slots.length - 1; s >= 0; s--) {
      const r = this.slots[s];
      if (!r.done) continue;
      out.push(r.done);
      const last = this.slots.length - 1;
      this.cache.moveSlot(last, s);
      this.cache.lengths[last] = 0;
      this.slots[s] = this.slots[last];
      this.slots.pop();
    }
  }
}
