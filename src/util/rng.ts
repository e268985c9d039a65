// The one random number generator gptkit uses (init, dropout seeds, sampling, data order, world
// generation): xoshiro128** seeded through splitmix32. Same seed → same numbers on every machine.
// Its state is four uint32s, saved in checkpoints so a resumed run draws what it would have drawn.

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [x, (z ^ (z >>> 16)) >>> 0];
}

/** Hash a string label to a uint32 (FNV-1a), for deriving independent streams by name. */
export function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export class Rng {
  private s = new Uint32Array(4);
  private spare: number | null = null; // second Box–Muller normal

  constructor(seed: number = 0) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      const [nx, v] = splitmix32(x);
      x = nx;
      this.s[i] = v;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** A uniformly random uint32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Rng.int: n must be positive, got ${n}`);
    if (n <= 4294967296) {
      // Rejection sampling so every value is equally likely.
      const limit = 4294967296 - (4294967296 % n);
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return x % n;
      }
    }
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Pick one element. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('Rng.pick: empty array');
    return xs[this.int(xs.length)];
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }

  /** An independent generator derived from this one's seed material and a label (does not advance this one). */
  fork(label: string): Rng {
    const h = hashLabel(label);
    const r = new Rng(0);
    for (let i = 0; i < 4; i++) r.s[i] = splitmix32((this.s[i] ^ h ^ Math.imul(i + 1, 0x27d4eb2d)) >>> 0)[1];
    if ((r.s[0] | r.s[1] | r.s[2] | r.s[3]) === 0) r.s[0] = 1;
    return r;
  }

  /** Serializable state (for checkpoints). */
  state(): { s: number[]; spare: number | null } {
    return { s: Array.from(this.s), spare: this.spare };
  }

  /** Continue from a saved state (in place: holders of this generator see the change). */
  setState(st: { s: number[]; spare: number | null }): void {
    if (!st || !Array.isArray(st.s) || st.s.length !== 4) throw new Error('Rng state: expected s to be 4 uint32s');
    for (let i = 0; i < 4; i++) this.s[i] = st.s[i] >>> 0;
    this.spare = st.spare ?? null;
  }

  static fromState(st: { s: number[]; spare: number | null }): Rng {
    const r = new Rng(0);
    r.setState(st);
    return r;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
