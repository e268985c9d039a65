// Reference fused attention (the specification the native kernels are tested against).
//
// Forward, per (b, h, i): scores s_j = scale · q_i·k_j over the visible keys j, lse_i = log Σ_j e^{s_j},
// P_ij = e^{s_j − lse_i}, out_i = Σ_j P̃_ij v_j with P̃ = P ⊙ keep / (1 − p) (attention dropout).
// A query that sees no key gets out_i = 0 and lse_i = −Infinity.
//
// Backward (flash-attention style, nothing stored but lse): D_i = Σ_d dO_i·O_i; P recomputed from
// lse; dV_j += Σ_i P̃_ij dO_i; dP_ij = (dO_i·v_j) · keep/(1 − p); dS_ij = P_ij (dP_ij − D_i);
// dQ_i += scale · Σ_j dS_ij k_j; dK_j += scale · Σ_i dS_ij q_i. D_i still equals Σ_j P_ij dP_ij with
// dropout, because O_i already carries the dropout.
//
// Arithmetic is float64 (one score row at a time, per-head float64 dK/dV accumulators), so the only
// float32 rounding is the final store: the reference is more accurate than any fast kernel.
import type { AttentionBackward, AttentionForward, AttentionParams, F32, I32 } from '../backend.ts';
import { dropoutKeep, dropoutThreshold } from '../backend.ts';
import { ShapeError } from '../../util/errors.ts';

// ---------------------------------------------------------------------------------------------
// Validation shared by both backends (the native wrapper calls it too, so both fail the same way).

function describe(p: AttentionParams): string {
  return `batch=${p.batch}, heads=${p.heads}, tq=${p.tq}, tk=${p.tk}, headDim=${p.headDim}`;
}

function checkCount(op: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) {
    throw new ShapeError(`${op}: ${name} must be an integer in [1, 2^31), got ${value}`);
  }
}

function checkStrided(op: string, p: AttentionParams, name: string, arr: F32, offset: number, strideB: number, strideT: number, t: number): void {
  for (const [field, x] of [[`${name}Offset`, offset], [`${name}StrideB`, strideB], [`${name}StrideT`, strideT]] as const) {
    if (!Number.isSafeInteger(x) || x < 0) throw new ShapeError(`${op}: ${field} must be a non-negative integer, got ${x}`);
  }
  if (!(arr instanceof Float32Array)) throw new ShapeError(`${op}: ${name} must be a Float32Array`);
  const last = offset + (p.batch - 1) * strideB + (t - 1) * strideT + p.heads * p.headDim;
  if (last > arr.length) {
    throw new ShapeError(`${op}: ${name} needs ${last} elements (${describe(p)}, ${name}Offset=${offset}, ${name}StrideB=${strideB}, ${name}StrideT=${strideT}) but has ${arr.length}`);
  }
}

function checkDense(op: string, p: AttentionParams, name: string, arr: F32, need: number, shape: string): void {
  if (!(arr instanceof Float32Array)) throw new ShapeError(`${op}: ${name} must be a Float32Array`);
  if (arr.length < need) throw new ShapeError(`${op}: ${name} ${shape} needs ${need} elements (${describe(p)}) but has ${arr.length}`);
}

function checkKeyBounds(op: string, p: AttentionParams, name: string, arr: I32 | null): void {
  if (arr === null) return;
  if (!(arr instanceof Int32Array)) throw new ShapeError(`${op}: ${name} must be an Int32Array or null`);
  if (arr.length < p.batch) throw new ShapeError(`${op}: ${name} needs one entry per batch row (${p.batch}) but has ${arr.length}`);
}

/** Throws a ShapeError naming the op, the field, what was expected and what was found. */
export function checkAttention(op: string, p: AttentionForward | AttentionBackward, backward: boolean): void {
  for (const f of ['batch', 'heads', 'tq', 'tk', 'headDim'] as const) checkCount(op, f, p[f]);
  checkStrided(op, p, 'q', p.q, p.qOffset, p.qStrideB, p.qStrideT, p.tq);
  checkStrided(op, p, 'k', p.k, p.kOffset, p.kStrideB, p.kStrideT, p.tk);
  checkStrided(op, p, 'v', p.v, p.vOffset, p.vStrideB, p.vStrideT, p.tk);
  if (!Number.isFinite(p.scale)) throw new ShapeError(`${op}: scale must be finite, got ${p.scale}`);
  if (!Number.isInteger(p.window) || p.window < 0) throw new ShapeError(`${op}: window must be a non-negative integer, got ${p.window}`);
  if (p.window > 0 && !p.causal) throw new ShapeError(`${op}: window=${p.window} needs causal=true (the band is measured back from the causal diagonal)`);
  if (!(p.dropout >= 0 && p.dropout < 1)) throw new ShapeError(`${op}: dropout must be in [0, 1), got ${p.dropout}`);
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff) throw new ShapeError(`${op}: seed must be a uint32, got ${p.seed}`);
  checkKeyBounds(op, p, 'keyStart', p.keyStart);
  checkKeyBounds(op, p, 'keyEnd', p.keyEnd);
  const outSize = p.batch * p.tq * p.heads * p.headDim;
  checkDense(op, p, 'out', p.out, outSize, '(B, Tq, H·headDim)');
  checkDense(op, p, 'lse', p.lse, p.batch * p.heads * p.tq, '(B, H, Tq)');
  if (backward) {
    const g = p as AttentionBackward;
    checkDense(op, p, 'dout', g.dout, outSize, '(B, Tq, H·headDim)');
    checkStrided(op, p, 'dq', g.dq, p.qOffset, p.qStrideB, p.qStrideT, p.tq);
    checkStrided(op, p, 'dk', g.dk, p.kOffset, p.kStrideB, p.kStrideT, p.tk);
    checkStrided(op, p, 'dv', g.dv, p.vOffset, p.vStrideB, p.vStrideT, p.tk);
    for (const b of ['betaQ', 'betaK', 'betaV'] as const) {
      const v = g[b];
      if (v !== undefined && v !== 0 && v !== 1) throw new ShapeError(`${op}: ${b} must be 0 or 1, got ${v}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The mask and the dropout index, as the interface defines them.

/**
 * Keys visible to query i of batch row b: the interval [lo, hi) (empty when hi ≤ lo). Every mask of
 * the interface (causal, window, keyStart, keyEnd) cuts an interval, so their combination is one.
 */
export function visibleKeys(p: AttentionParams, b: number, i: number): [number, number] {
  const diag = i + (p.tk - p.tq); // the last key a causal query may see
  let lo = 0;
  let hi = p.tk;
  if (p.causal) hi = Math.min(hi, diag + 1);
  if (p.window > 0) lo = Math.max(lo, diag - p.window + 1);
  if (p.keyStart) lo = Math.max(lo, p.keyStart[b]);
  if (p.keyEnd) hi = Math.min(hi, p.keyEnd[b]);
  return [lo, hi];
}

/** idx = ((b·H + h)·tq + i)·tk + j with uint32 wrap-around, exactly as the native kernel computes it. */
export function dropoutIndex(p: AttentionParams, b: number, h: number, i: number, j: number): number {
  const row = (b * p.heads + h) * p.tq + i; // < 2^53: exact; Math.imul reduces it mod 2^32
  return (Math.imul(row, p.tk) + j) >>> 0;
}

/** keep/(1 − p) for every key of one query row (1 everywhere without dropout). */
function dropoutFactors(p: AttentionParams, b: number, h: number, i: number, lo: number, hi: number, into: Float64Array): void {
  if (p.dropout === 0) {
    into.fill(1, lo, hi);
    return;
  }
  const threshold = dropoutThreshold(p.dropout);
  const inv = 1 / (1 - p.dropout);
  for (let j = lo; j < hi; j++) into[j] = dropoutKeep(p.seed, dropoutIndex(p, b, h, i, j), threshold) ? inv : 0;
}

function dot(a: F32, ao: number, b: F32, bo: number, n: number): number {
  let s = 0;
  for (let d = 0; d < n; d++) s += a[ao + d] * b[bo + d];
  return s;
}

/** Scaled scores of one query row into s[lo, hi); returns their log-sum-exp. */
function scoreRow(p: AttentionParams, qo: number, b: number, h: number, lo: number, hi: number, s: Float64Array): number {
  let max = -Infinity;
  for (let j = lo; j < hi; j++) {
    s[j] = p.scale * dot(p.q, qo, p.k, p.kOffset + b * p.kStrideB + j * p.kStrideT + h * p.headDim, p.headDim);
    if (s[j] > max) max = s[j];
  }
  let sum = 0;
  for (let j = lo; j < hi; j++) sum += Math.exp(s[j] - max);
  return max + Math.log(sum);
}

// ---------------------------------------------------------------------------------------------
// Kernels.

export function attentionForward(p: AttentionForward): void {
  checkAttention('attentionForward', p, false);
  const { heads: H, tq, tk, headDim: D } = p;
  const s = new Float64Array(tk);
  const keep = new Float64Array(tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < p.batch; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < tq; i++) {
        const oo = ((b * tq + i) * H + h) * D;
        const [lo, hi] = visibleKeys(p, b, i);
        if (hi <= lo) {
          p.out.fill(0, oo, oo + D);
          p.lse[(b * H + h) * tq + i] = -Infinity;
          continue;
        }
        const qo = p.qOffset + b * p.qStrideB + i * p.qStrideT + h * D;
        const lse = scoreRow(p, qo, b, h, lo, hi, s);
        dropoutFactors(p, b, h, i, lo, hi, keep);
        acc.fill(0);
        for (let j = lo; j < hi; j++) {
          const w = Math.exp(s[j] - lse) * keep[j];
          if (w === 0) continue;
          const vo = p.vOffset + b * p.vStrideB + j * p.vStrideT + h * D;
          for (let d = 0; d < D; d++) acc[d] += w * p.v[vo + d];
        }
        for (let d = 0; d < D; d++) p.out[oo + d] = acc[d];
        p.lse[(b * H + h) * tq + i] = lse;
      }
    }
  }
}

export function attentionBackward(p: AttentionBackward): void {
  checkAttention('attentionBackward', p, true);
  const { heads: H, tq, tk, headDim: D } = p;
  const s = new Float64Array(tk);
  const keep = new Float64Array(tk);
  const dq = new Float64Array(D);
  const dk = new Float64Array(tk * D); // per head, added to p.dk once the head is done
  const dv = new Float64Array(tk * D);
  // Write mode: clear the gradients first (the ts reference is about clarity, not speed).
  const clear = (g: F32, beta: 0 | 1 | undefined, off: number, sb: number, st: number, T: number) => {
    if (beta !== 0) return;
    for (let b = 0; b < p.batch; b++) for (let t = 0; t < T; t++) g.fill(0, off + b * sb + t * st, off + b * sb + t * st + H * D);
  };
  clear(p.dq, p.betaQ, p.qOffset, p.qStrideB, p.qStrideT, tq);
  clear(p.dk, p.betaK, p.kOffset, p.kStrideB, p.kStrideT, tk);
  clear(p.dv, p.betaV, p.vOffset, p.vStrideB, p.vStrideT, tk);
  for (let b = 0; b < p.batch; b++) {
    for (let h = 0; h < H; h++) {
      dk.fill(0);
      dv.fill(0);
      const kBase = p.kOffset + b * p.kStrideB + h * D;
      const vBase = p.vOffset + b * p.vStrideB + h * D;
      for (let i = 0; i < tq; i++) {
        const lse = p.lse[(b * H + h) * tq + i];
        const [lo, hi] = visibleKeys(p, b, i);
        if (hi <= lo || lse === -Infinity) continue;
        const qo = p.qOffset + b * p.qStrideB + i * p.qStrideT + h * D;
        const oo = ((b * tq + i) * H + h) * D;
        const Di = dot(p.dout, oo, p.out, oo, D);
        for (let j = lo; j < hi; j++) s[j] = p.scale * dot(p.q, qo, p.k, kBase + j * p.kStrideT, D);
        dropoutFactors(p, b, h, i, lo, hi, keep);
        dq.fill(0);
        for (let j = lo; j < hi; j++) {
          const P = Math.exp(s[j] - lse);
          const Pd = P * keep[j];
          const ko = kBase + j * p.kStrideT;
          const vo = vBase + j * p.vStrideT;
          const dP = dot(p.dout, oo, p.v, vo, D) * keep[j];
          const dS = p.scale * P * (dP - Di);
          for (let d = 0; d < D; d++) {
            dv[j * D + d] += Pd * p.dout[oo + d];
            dq[d] += dS * p.k[ko + d];
            dk[j * D + d] += dS * p.q[qo + d];
          }
        }
        for (let d = 0; d < D; d++) p.dq[qo + d] += dq[d];
      }
      for (let j = 0; j < tk; j++) {
        const ko = kBase + j * p.kStrideT;
        const vo = vBase + j * p.vStrideT;
        for (let d = 0; d < D; d++) {
          p.dk[ko + d] += dk[j * D + d];
          p.dv[vo + d] += dv[j * D + d];
        }
      }
    }
  }
}
