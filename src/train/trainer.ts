// The training loop: micro-batches with gradient accumulation, global-norm clipping, AdamW with
// decay groups, warmup + cosine LR, periodic validation, and a NaN/inf guard. It knows nothing of
// text or files: a loss function over batches in, events out. Checkpointing is the caller's
// (train/checkpoint.ts), so "save the last good state" stays one decision in one place.
import { Tensor, scope, noGrad } from '../tensor/tensor.ts';
import { autocast, PRECISIONS, type Precision } from '../tensor/autocast.ts';
import { backend } from '../backend/index.ts';
import { AdamW, decayGroups, gradNorm, clipFactor } from '../optim/adamw.ts';
import { warmupCosine } from '../optim/schedule.ts';
import { Rng } from '../util/rng.ts';
import { GptkitError, ConfigError } from '../util/errors.ts';
import type { Batch, BatchSource } from './batches.ts';
import type { TrainerState } from '../interop/checkpoint.ts';
import type { Communicator } from './distributed.ts';

export interface TrainOptions {
  steps: number;
  gradAccum: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  gradClip: number; // 0 = off
  evalEvery: number; // 0 = never
  evalBatches: number;
  /** Matrix products in 'bf16' mixed precision (tensor/autocast.ts) or 'f32'. */
  precision: Precision;
}

export const defaultTrainOptions: TrainOptions = {
  steps: 1000, gradAccum: 1, lr: 6e-4, minLr: 6e-5, warmupSteps: 100, weightDecay: 0.1,
  beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 1, evalEvery: 100, evalBatches: 8, precision: 'f32',
};

export interface StepEvent {
  step: number; // completed optimizer steps
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number; // processed so far
  tokensPerSec: number;
  elapsedSec: number;
  etaSec: number;
}

/** Thrown when the loss or the gradient stops being finite; the update was not applied. */
export class DivergedError extends GptkitError {
  constructor(readonly step: number, what: string) {
    super('diverged', `training diverged at step ${step}: ${what} is not finite`, 'lower the learning rate or raise warmup; the last good checkpoint was kept');
  }
}

export type { TrainerState };

/** What to tell a user who asks for bf16 where bf16 GEMMs are emulated (once, at the start), or null. */
export function bf16Notice(precision: Precision): string | null {
  const why = precision === 'bf16' ? backend().bf16EmulatedWhy() : null;
  if (why === null) return null;
  return `--precision bf16 is emulated: ${why}; products use bf16-rounded operands in float32 arithmetic — the same numbers as native bf16, but slower than --precision f32`;
}


export interface Trainable {
  namedParameters(): [string, Tensor][];
  namedRngs(): [string, Rng][];
  train(mode?: boolean): unknown;
}

export class Trainer {
  readonly opts: TrainOptions;
  readonly optimizer: AdamW;
  step = 0;
  tokens = 0;
  private elapsed = 0;
  private readonly params: Tensor[];
  /** order[i] = index in the optimizer's (group-ordered) moments of the i-th named parameter. */
  private readonly order: number[];

  constructor(
    readonly model: Trainable,
    readonly lossOf: (batch: Batch) => Tensor,
    readonly data: { train: BatchSource; val?: BatchSource },
    opts: Partial<TrainOptions> = {},
    /**
     * Data parallelism (train/distributed.ts): each optimizer step takes gradAccum × size
     * micro-batches; this rank trains on every size-th of them (its own), and gradients and loss
     * are summed across ranks before the step — the same step one process would take accumulating
     * over all of them (bit for bit with two ranks and no dropout).
     */
    readonly comm: Communicator | null = null,
  ) {
    for (const k of Object.keys(opts)) if (!(k in defaultTrainOptions)) throw new ConfigError(`unknown training option '${k}'`);
    this.opts = { ...defaultTrainOptions, ...opts };
    const o = this.opts;
    if (!(Number.isInteger(o.steps) && o.steps >= 0)) throw new ConfigError(`steps must be a non-negative integer, got ${o.steps}`);
    if (!(Number.isInteger(o.gradAccum) && o.gradAccum >= 1)) throw new ConfigError(`gradAccum must be a positive integer, got ${o.gradAccum}`);
    if (!(o.lr > 0)) throw new ConfigError(`lr must be positive, got ${o.lr}`);
    if (!PRECISIONS.includes(o.precision)) throw new ConfigError(`precision must be one of ${PRECISIONS.join(', ')}, got '${o.precision}'`);
    const named = model.namedParameters();
    this.params = named.map(([, t]) => t);
    this.optimizer = new AdamW(decayGroups(named, o.weightDecay), { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps });
    const pos = new Map(this.optimizer.params().map((t, i) => [t, i]));
    this.order = this.params.map((t) => pos.get(t)!);
  }

  lrAt(step: number): number {
    const o = this.opts;
    return warmupCosine(step, { maxLr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps, totalSteps: o.steps });
  }

  /** One optimizer step over gradAccum micro-batches. Throws DivergedError before updating on NaN/inf. */
  runStep(): StepEvent {
    const t0 = performance.now();
    const o = this.opts;
    this.model.train(true);
    this.optimizer.zeroGrad();
    let lossSum = 0, tokens = 0;
    const ranks = this.comm?.size ?? 1, rank = this.comm?.rank ?? 0;
    // Micro-batch gradients are computed each on its own and then summed (not accumulated inside
    // the kernels), so the sum is the same whether the micro-batches ran here or on other ranks.
    let done = 0;
    for (let micro = 0; micro < o.gradAccum; micro++) {
      for (let r = 0; r < ranks; r++) {
        // Every rank draws every micro-batch (the data stream stays the same on all) and trains on its own.
        const batch = this.data.train.next();
        tokens += batch.B * batch.T;
        if (r !== rank) continue;
        lossSum += autocast(o.precision, () => scope(() => {
          const loss = this.lossOf(batch);
          const v = loss.item();
          loss.backward();
          return v;
        }));
        if (o.gradAccum > 1) this.stash(done++ === 0);
      }
    }
    if (o.gradAccum > 1) this.params.forEach((p, i) => p.gradBuffer().set(this.accum![i]));
    if (this.comm) lossSum = this.allreduce(lossSum);
    const loss = lossSum / (o.gradAccum * ranks);
    if (!Number.isFinite(loss)) throw new DivergedError(this.step + 1, `the loss (${loss})`);
    const gradScale = 1 / (o.gradAccum * ranks);
    const norm = gradNorm(this.params, gradScale);
    if (!Number.isFinite(norm)) throw new DivergedError(this.step + 1, `the gradient norm (${norm})`);
    const lr = this.lrAt(this.step);
    this.optimizer.lr = lr;
    this.optimizer.step(gradScale * clipFactor(norm, o.gradClip));
    this.step++;
    this.tokens += tokens;
    const dt = (performance.now() - t0) / 1000;
    this.elapsed += dt;
    const perStep = this.elapsed / Math.max(1, this.step - this.startStep);
    return {
      step: this.step, steps: o.steps, loss, lr, gradNorm: norm, tokens: this.tokens,
      tokensPerSec: tokens / dt, elapsedSec: this.elapsed, etaSec: perStep * (o.steps - this.step),
    };
  }

  private startStep = 0;
  private packed: Float32Array | null = null;
  private accum: Float32Array[] | null = null;

  /** Add this micro-batch's gradients to the step's sum (the first one starts it) and clear them for the next. */
  private stash(first: boolean): void {
    this.accum ??= this.params.map((p) => new Float32Array(p.size));
    this.params.forEach((p, i) => {
      const g = p.gradBuffer();
      if (first) this.accum![i].set(g);
      else backend().add(this.accum![i], g, this.accum![i], p.size);
    });
    this.optimizer.zeroGrad();
  }

  /** Seconds the last step spent summing across ranks (packing, allreduce, unpacking). */
  allreduceSec = 0;

  /** Sum the loss and every gradient across ranks (one allreduce of all gradients, packed). */
  private allreduce(lossSum: number): number {
    const t0 = performance.now();
    const comm = this.comm!;
    const total = this.params.reduce((s, p) => s + p.size, 0);
    this.packed ??= new Float32Array(total);
    let o = 0;
    for (const p of this.params) { this.packed.set(p.gradBuffer(), o); o += p.size; }
    comm.allreduceSum(this.packed);
    o = 0;
    for (const p of this.params) { p.gradBuffer().set(this.packed.subarray(o, o + p.size)); o += p.size; }
    const l = Float64Array.of(lossSum);
    comm.allreduceSum(l);
    this.allreduceSec = (performance.now() - t0) / 1000;
    return l[0];
  }

  /** Whether any rank asks to stop (a signal reached it): every rank stops at the same step. */
  agree(flag: boolean): boolean {
    if (!this.comm) return flag;
    const f = Float64Array.of(flag ? 1 : 0);
    this.comm.allreduceSum(f);
    return f[0] > 0;
  }

  /** Mean loss over evalBatches validation batches (no dropout, no gradients). */
  evaluate(batches = this.opts.evalBatches): number {
    const val = this.data.val;
    if (!val) throw new ConfigError('evaluate(): no validation data');
    const saved = val.state();
    this.model.train(false);
    let s = 0;
    for (let i = 0; i < batches; i++) {
      const b = val.next();
      s += autocast(this.opts.precision, () => noGrad(() => scope(() => this.lossOf(b).item())));
    }
    val.restore(saved); // every evaluation sees the same batches
    this.model.train(true);
    return s / batches;
  }

  state(): TrainerState {
    const rngs: Record<string, unknown> = {};
    for (const [n, r] of this.model.namedRngs()) rngs[n] = r.state();
    const o = this.optimizer.state();
    // Moments in the order of namedParameters(), so checkpoints can name them.
    const optimizer = { step: o.step, m: this.order.map((i) => o.m[i]), v: this.order.map((i) => o.v[i]) };
    return { step: this.step, tokens: this.tokens, optimizer, rngs, data: this.data.train.state() };
  }

  restore(s: TrainerState): void {
    const m: Float32Array[] = [], v: Float32Array[] = [];
    this.order.forEach((i, named) => { m[i] = s.optimizer.m[named]; v[i] = s.optimizer.v[named]; });
    this.optimizer.loadState({ step: s.optimizer.step, m, v });
    const rngs = new Map(this.model.namedRngs());
    for (const [n, st] of Object.entries(s.rngs)) {
      const r = rngs.get(n);
      if (!r) throw new ConfigError(`trainer state has a random stream '${n}' the model does not`);
      r.setState(st as ReturnType<Rng['state']>);
    }
    this.data.train.restore(s.data);
    this.step = s.step;
    this.startStep = s.step;
    this.tokens = s.tokens;
  }
}
