// Finite-difference gradient checking for tests: compares the tape's gradients with central
// differences of a scalar function, on a sample of coordinates of every input.
import { Tensor, noGrad, scope } from './tensor.ts';
import { Rng } from '../util/rng.ts';

export interface GradCheckResult {
  worst: number; // the largest |analytic − numeric| / (atol + rtol·|numeric|) seen; ≤ 1 passes
  where: string;
}

/**
 * f builds a scalar from the inputs. Inputs must be parameters (Tensor.parameter) so their
 * gradients persist. Samples up to `samples` coordinates per input.
 */
export function gradCheck(f: () => Tensor, inputs: Tensor[], opts: { eps?: number; atol?: number; rtol?: number; samples?: number; seed?: number } = {}): GradCheckResult {
  const eps = opts.eps ?? 1e-2, atol = opts.atol ?? 1e-3, rtol = opts.rtol ?? 1e-2;
  const rng = new Rng(opts.seed ?? 7);
  for (const t of inputs) t.zeroGrad();
  scope(() => f().backward());
  const analytic = inputs.map((t) => Float32Array.from(t.gradient() ?? new Float32Array(t.size)));
  const evalF = () => noGrad(() => scope(() => f().item()));
  let worst = 0, where = '';
  inputs.forEach((t, ti) => {
    const n = t.size;
    const idx = n <= (opts.samples ?? 24) ? [...Array(n).keys()] : Array.from({ length: opts.samples ?? 24 }, () => rng.int(n));
    for (const i of idx) {
      const orig = t.data[i];
      t.data[i] = orig + eps;
      const up = evalF();
      t.data[i] = orig - eps;
      const down = evalF();
      t.data[i] = orig;
      const num = (up - down) / (2 * eps);
      const err = Math.abs(analytic[ti][i] - num) / (atol + rtol * Math.abs(num));
      if (err > worst) {
        worst = err;
        where = `input ${ti} [${i}]: analytic ${analytic[ti][i]}, numeric ${num}`;
      }
    }
  });
  return { worst, where };
}

/** A parameter tensor of the given shape filled with N(0, std²) from a seeded Rng. */
export function randParam(shape: number[], rng: Rng, std = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.normal() * std;
  return Tensor.parameter(d, shape);
}
