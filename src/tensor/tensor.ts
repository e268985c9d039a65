// Tensor: a contiguous row-major Float32Array plus a shape, and the reverse-mode tape.
//
// Autograd is a tape: an op whose inputs need gradients pushes one backward closure; backward()
// runs them in reverse. Gradients accumulate (+=) so fan-out just works. Parameters keep their
// `grad` across backward() calls (gradient accumulation) until zeroGrad().
//
// Memory: inside `scope(fn)` every tensor an op creates draws its buffers from a pool keyed by
// length and gives them back when the scope ends, so a training step reuses the same buffers
// step after step instead of churning the garbage collector. Anything that must outlive the
// scope is copied out (`.item()`, `.toArray()`, `clone()` outside the scope).
import type { QuantFormat } from '../backend/backend.ts';
import { ShapeError } from '../util/errors.ts';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

// ---------------------------------------------------------------------------------------------
// Buffer pool and scopes.

/**
 * Free buffers by exact length. A training step asks for the same lengths every time, so its second
 * step allocates nothing. Work whose shapes vary (evaluation over prompts of every length, RLHF
 * batches) would otherwise leave a list behind for every length it ever saw: the free bytes are held
 * to at most max(MIN_CAP, 2 × the most ever in use at once), evicting the lengths used least recently.
 */
class BufferPool {
  private free = new Map<number, Float32Array[]>();
  /** Last use of each length (a counter, not a clock). */
  private used = new Map<number, number>();
  private tick = 0;
  bytesHeld = 0;
  private inUse = 0;
  private peakInUse = 0;
  static readonly MIN_CAP = 256 * 2 ** 20;

  take(n: number): Float32Array {
    this.used.set(n, ++this.tick);
    this.inUse += n * 4;
    if (this.inUse > this.peakInUse) this.peakInUse = this.inUse;
    const list = this.free.get(n);
    if (list && list.length) {
      const b = list.pop()!;
      this.bytesHeld -= b.byteLength;
      return b;
    }
    return new Float32Array(n);
  }

  give(b: Float32Array): void {
    this.inUse = Math.max(0, this.inUse - b.byteLength);
    let list = this.free.get(b.length);
    if (!list) this.free.set(b.length, (list = []));
    list.push(b);
    this.bytesHeld += b.byteLength;
    if (this.bytesHeld > this.cap()) this.evict();
  }

  cap(): number {
    return Math.max(BufferPool.MIN_CAP, 2 * this.peakInUse);
  }

  /** Drop whole lengths, least recently used first, until the free bytes fit the cap again. */
  private evict(): void {
    const cap = this.cap();
    const lengths = [...this.free.keys()].sort((a, b) => (this.used.get(a) ?? 0) - (this.used.get(b) ?? 0));
    for (const n of lengths) {
      if (this.bytesHeld <= cap) break;
      const list = this.free.get(n)!;
      this.bytesHeld -= list.length * n * 4;
      this.free.delete(n);
      this.used.delete(n);
    }
  }

  clear(): void {
    this.free.clear();
    this.used.clear();
    this.bytesHeld = 0;
  }
}

const pool = new BufferPool();

class Scope {
  owned = new Set<Float32Array>();
}

const scopes: Scope[] = [];

/** Allocate a buffer: pooled (uninitialised contents) inside a scope, fresh (zeros) outside. */
export function allocBuffer(n: number, zero = false): Float32Array {
  const s = scopes[scopes.length - 1];
  if (!s) return new Float32Array(n);
  const b = pool.take(n);
  if (zero) b.fill(0);
  s.owned.add(b);
  return b;
}

/** Give a scope-owned buffer back to the pool early (no-op for memory allocated outside scopes). */
function releaseBuffer(b: Float32Array): void {
  for (let i = scopes.length - 1; i >= 0; i--) {
    if (scopes[i].owned.delete(b)) {
      pool.give(b);
      return;
    }
  }
}

/**
 * Run fn with pooled buffers: every tensor created inside is invalid once fn returns (its buffers
 * go back to the pool). Parameters and their gradients are created outside scopes and are kept.
 */
export function scope<T>(fn: () => T): T {
  const s = new Scope();
  const mark = tape.length;
  scopes.push(s);
  try {
    return fn();
  } finally {
    scopes.pop();
    for (const b of s.owned) pool.give(b);
    // Forget what this scope recorded (its buffers are gone), not what an outer one did.
    if (tape.length > mark) tape.length = mark;
  }
}

/** Drop every pooled buffer (e.g. after changing model size). */
export function clearBufferPool(): void {
  pool.clear();
}

export function bufferPoolBytes(): number {
  return pool.bytesHeld;
}

// ---------------------------------------------------------------------------------------------
// Tape and grad mode.

type BackwardFn = () => void;
interface TapeEntry {
  fn: BackwardFn;
  out: Tensor | null;
}
const tape: TapeEntry[] = [];
let gradEnabled = true;

/** Run fn without recording anything on the tape (inference, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Record a backward closure if any input needs a gradient; returns whether the output needs one.
 * Once the closure has run, nothing reads `out`'s gradient again, so backward() hands that buffer
 * back to the pool at once: later closures reuse it and peak memory drops.
 */
export function record(inputs: readonly (Tensor | null | undefined)[], backward: BackwardFn, out: Tensor | null = null): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) {
    if (t && t.requiresGrad) {
      tape.push({ fn: backward, out });
      return true;
    }
  }
  return false;
}

export function tapeLength(): number {
  return tape.length;
}

// ---------------------------------------------------------------------------------------------

export class Tensor {
  readonly data: Float32Array;
  readonly shape: Shape;
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  /** Parameters own their gradient memory outright: it outlives scopes (gradient accumulation). */
  isParameter = false;
  /**
   * A narrow copy of this (out, in) weight for decoding (models/quantize.ts): op.linear reads it
   * instead of `data` when no gradient is being recorded. `data` stays the float32 master.
   */
  quantized: { format: QuantFormat; data: Uint8Array } | null = null;

  constructor(data: Float32Array, shape: Shape, requiresGrad = false) {
    const n = sizeOf(shape);
    if (data.length !== n) throw new ShapeError(`Tensor: data has ${data.length} elements but shape ${shapeStr(shape)} needs ${n}`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Dimension d, negative counts from the end. */
  dim(d: number): number {
    const i = d < 0 ? this.shape.length + d : d;
    if (i < 0 || i >= this.shape.length) throw new ShapeError(`dim ${d} out of range for shape ${shapeStr(this.shape)}`);
    return this.shape[i];
  }

  /**
   * zeroGrad() does not clear a buffer: it marks it stale, and the first backward to reach it
   * writes it (GEMM beta 0) or, if it can only accumulate, zero-fills it then. A 124M-parameter
   * model saves a 500 MB fill per step; the contents read as zeros through every accessor below.
   */
  private gradStale = false;

  /** The gradient buffer for accumulating into: allocated (zeroed) on first use, zeroed if stale. */
  gradBuffer(): Float32Array {
    if (!this.grad) this.grad = this.isParameter ? new Float32Array(this.size) : allocBuffer(this.size, true);
    else if (this.gradStale) this.grad.fill(0);
    this.gradStale = false;
    return this.grad;
  }

  /**
   * The gradient buffer for a backward that can either write or accumulate (GEMM beta 0/1,
   * cross-entropy, GELU, LayerNorm): while there is no gradient yet (none allocated, or stale) it
   * comes uninitialised and the caller must write all of it (beta 0); afterwards the caller
   * accumulates (beta 1). Saves a zero-fill and a read of every fresh gradient.
   */
  gradForWrite(): [Float32Array, 0 | 1] {
    if (this.grad && !this.gradStale) return [this.grad, 1];
    if (!this.grad) this.grad = this.isParameter ? new Float32Array(this.size) : allocBuffer(this.size);
    this.gradStale = false;
    return [this.grad, 0];
  }

  /** The gradient accumulated since zeroGrad() (zeros if nothing reached it), or null if never made. */
  gradient(): Float32Array | null {
    return this.grad ? this.gradBuffer() : null;
  }

  zeroGrad(): void {
    if (this.grad) this.gradStale = true;
  }

  item(): number {
    if (this.size !== 1) throw new ShapeError(`item(): tensor has shape ${shapeStr(this.shape)}, not a single element`);
    return this.data[0];
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** A copy that owns fresh (non-pooled) memory and does not require grad. */
  clone(): Tensor {
    return new Tensor(Float32Array.from(this.data), this.shape);
  }

  /** Backpropagate from this scalar (or with an explicit output gradient). Clears the tape. */
  backward(gradOutput?: Float32Array): void {
    if (!this.requiresGrad) throw new ShapeError('backward(): this tensor does not require grad (was it computed under noGrad, or from inputs without grad?)');
    if (!gradOutput && this.size !== 1) throw new ShapeError(`backward(): output has shape ${shapeStr(this.shape)}; pass its gradient explicitly`);
    const g = this.gradBuffer();
    if (gradOutput) {
      if (gradOutput.length !== this.size) throw new ShapeError(`backward(): gradient has ${gradOutput.length} elements, output ${this.size}`);
      g.set(gradOutput);
    } else {
      g[0] = 1;
    }
    for (let i = tape.length - 1; i >= 0; i--) {
      const { fn, out } = tape[i];
      fn();
      if (out && !out.isParameter && out.grad) {
        releaseBuffer(out.grad);
        out.grad = null;
      }
    }
    tape.length = 0;
  }

  static zeros(shape: Shape, requiresGrad = false): Tensor {
    return new Tensor(allocBuffer(sizeOf(shape), true), shape, requiresGrad);
  }

  /** Uninitialised (pooled inside a scope): for op outputs that are fully written. */
  static empty(shape: Shape): Tensor {
    return new Tensor(allocBuffer(sizeOf(shape)), shape);
  }

  static from(values: ArrayLike<number>, shape?: Shape, requiresGrad = false): Tensor {
    return new Tensor(Float32Array.from(values), shape ?? [values.length], requiresGrad);
  }

  static parameter(data: Float32Array, shape: Shape): Tensor {
    const t = new Tensor(data, shape, true);
    t.isParameter = true;
    return t;
  }
}

/** Throws a ShapeError `op: msg` unless cond holds; a message that formats shapes is passed as a function, built only on failure. */
export function check(cond: boolean, op: string, msg: string | (() => string)): asserts cond {
  if (!cond) throw new ShapeError(`${op}: ${typeof msg === 'string' ? msg : msg()}`);
}
