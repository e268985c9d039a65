// Batches of next-token prediction windows from a token stream. The position in the data is the
// state of a seeded Rng, so a resumed run draws exactly the batches the uninterrupted run would.
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';

export type TokenArray = Uint16Array | Uint32Array | Int32Array;

export interface Batch {
  ids: Int32Array; // (B, T)
  targets: Int32Array; // (B, T): ids shifted by one
  B: number;
  T: number;
}

/** A source of training batches whose position can be saved and restored. */
export interface BatchSource {
  next(): Batch;
  state(): unknown;
  restore(state: unknown): void;
}

/** Uniformly random windows of T+1 tokens (nanoGPT's get_batch). */
export class RandomWindows implements BatchSource {
  private rng: Rng;
  private readonly ids: Int32Array;
  private readonly targets: Int32Array;
  constructor(private readonly tokens: TokenArray, readonly B: number, readonly T: number, seed: number) {
    if (tokens.length < T + 2) throw new ConfigError(`not enough tokens for a window: have ${tokens.length}, need at least ${T + 2} (block size ${T})`, 'use more data or a smaller block size');
    this.rng = new Rng(seed);
    this.ids = new Int32Array(B * T);
    this.targets = new Int32Array(B * T);
  }

  /** The returned arrays are reused by the next call. */
  next(): Batch {
    const { B, T, tokens } = this;
    for (let b = 0; b < B; b++) {
      const start = this.rng.int(tokens.length - T - 1);
      for (let t = 0; t < T; t++) {
        this.ids[b * T + t] = tokens[start + t];
        this.targets[b * T + t] = tokens[start + t + 1];
      }
    }
    return { ids: this.ids, targets: this.targets, B, T };
  }

  state(): unknown {
    return this.rng.state();
  }

  restore(state: unknown): void {
    this.rng = Rng.fromState(state as ReturnType<Rng['state']>);
  }
}

/** Consecutive non-overlapping windows from the start (deterministic validation loss). */
export class SequentialWindows implements BatchSource {
  private pos = 0;
  constructor(private readonly tokens: TokenArray, readonly B: number, readonly T: number) {
    if (tokens.length < T + 1) throw new ConfigError(`not enough validation tokens: have ${tokens.length}, need at least ${T + 1}`);
  }
  next(): Batch {
    const { B, T, tokens } = this;
    const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      if (this.pos + T + 1 > tokens.length) this.pos = 0;
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = tokens[this.pos + t];
        targets[b * T + t] = tokens[this.pos + t + 1];
      }
      this.pos += T;
    }
    return { ids, targets, B, T };
  }
  reset(): void {
    this.pos = 0;
  }
  state(): unknown {
    return this.pos;
  }
  restore(state: unknown): void {
    this.pos = Number(state);
  }
}
