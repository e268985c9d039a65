// Ranges of numeric settings, stated once beside the config they belong to and checked both where a
// flag is parsed (naming --the-flag) and where a library caller hands a config in (naming the key).
import { ConfigError } from './errors.ts';

export interface Range {
  min?: number;
  max?: number;
  /** The bound itself is not allowed (e.g. lr > 0, β1 < 1). */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  int?: boolean;
}

/** `an integer ≥ 1`, `a number in (0, 1)`, … */
export function describeRange(r: Range): string {
  const what = r.int ? 'an integer' : 'a number';
  const lo = r.min !== undefined ? `${r.minExclusive ? '(' : '['}${r.min}` : null;
  const hi = r.max !== undefined ? `${r.max}${r.maxExclusive ? ')' : ']'}` : null;
  if (lo && hi) return `${what} in ${lo}, ${hi}`;
  if (lo) return `${what} ${r.minExclusive ? '>' : '≥'} ${r.min}`;
  if (hi) return `${what} ${r.maxExclusive ? '<' : '≤'} ${r.max}`;
  return what;
}

export function inRange(v: number, r: Range): boolean {
  if (!Number.isFinite(v)) return false;
  if (r.int && !Number.isInteger(v)) return false;
  if (r.min !== undefined && (r.minExclusive ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? v >= r.max : v > r.max)) return false;
  return true;
}

/** Throw a ConfigError naming `name`, the value and the range, unless `v` is in range. */
export function checkRange(name: string, v: unknown, r: Range): void {
  if (typeof v !== 'number' || !inRange(v, r)) throw new ConfigError(`${name} must be ${describeRange(r)}, got ${typeof v === 'number' ? v : JSON.stringify(v)}`);
}

/** Check every key of `values` that has a range (undefined values are skipped). */
export function checkRanges(values: Record<string, unknown>, ranges: Record<string, Range>, name: (key: string) => string = (k) => k): void {
  for (const [k, r] of Object.entries(ranges)) if (values[k] !== undefined) checkRange(name(k), values[k], r);
}

export const positiveInt: Range = { min: 1, int: true };
export const nonNegativeInt: Range = { min: 0, int: true };
export const probability: Range = { min: 0, max: 1 };
