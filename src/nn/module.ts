// Module: a node in the model tree with named parameters and children, so a model's parameters
// have stable dotted names (`transformer.h.0.attn.c_attn.weight`) that match the checkpoint files.
import { Tensor } from '../tensor/tensor.ts';
import { Rng } from '../util/rng.ts';

export abstract class Module {
  training = true;
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  private readonly rngs = new Map<string, Rng>();

  protected param(name: string, t: Tensor): Tensor {
    if (!t.isParameter) throw new Error(`param ${name}: use Tensor.parameter`);
    this.ownParams.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Register a random stream (dropout masks) so checkpoints can save and restore it. */
  protected rngStream(name: string, rng: Rng): Rng {
    this.rngs.set(name, rng);
    return rng;
  }

  /** Every random stream with its dotted name (for exact resume). */
  namedRngs(prefix = ''): [string, Rng][] {
    const out: [string, Rng][] = [];
    for (const [n, r] of this.rngs) out.push([prefix + n, r]);
    for (const [n, c] of this.children) out.push(...c.namedRngs(`${prefix}${n}.`));
    return out;
  }

  /** Every parameter with its dotted name, in registration order (deterministic). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, p: string) => {
      for (const [n, t] of m.ownParams) {
        if (seen.has(t)) continue; // tied weights appear once, under their first name
        seen.add(t);
        out.push([p + n, t]);
      }
      for (const [n, c] of m.children) walk(c, `${p}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /** Training mode (dropout on) or evaluation mode, recursively. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const t of this.parameters()) t.zeroGrad();
  }
}

/** N(0, std²) initialised parameter. */
export function normalParam(shape: number[], std: number, rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.normal() * std;
  return Tensor.parameter(d, shape);
}

export function constParam(shape: number[], value: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.parameter(new Float32Array(n).fill(value), shape);
}
