import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, sampleToken, argmax, logSumExp, tokenLogprob, type SamplingOptions } from './sampling.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError, ShapeError } from '../util/errors.ts';

const logitsOf = (probs: number[]) => Float32Array.from(probs, (p) => Math.log(p));

function randomLogits(rng: Rng, v: number, scale = 3): Float32Array {
  return Float32Array.from({ length: v }, () => rng.normal() * scale);
}

/** Reference log-softmax in float64. */
function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  return Float64Array.from(logits, (x) => x - max - Math.log(sum));
}

/** Reference nucleus by full sort: the smallest most-likely prefix with mass ≥ p. */
function referenceNucleus(probs: ArrayLike<number>, p: number): Set<number> {
  const order = Array.from(probs, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  const kept = new Set<number>();
  let acc = 0;
  for (const i of order) {
    kept.add(i);
    acc += probs[i];
    if (acc >= p) break;
  }
  return kept;
}

function draw(logits: Float32Array, options: SamplingOptions, n: number, seed = 1): number[] {
  const s = new Sampler(options);
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => s.sample(logits, rng).token);
}

/**
 * Pearson chi-square of observed token counts against expected probabilities (tokens outside
 * `expected` must never appear). 13.8 / 16.3 / 18.5 are the 0.999 quantiles for 2 / 3 / 4 degrees of freedom.
 */
function chiSquare(tokens: number[], expected: Map<number, number>): number {
  const counts = new Map<number, number>();
  for (const t of tokens) {
    assert.ok(expected.has(t), `token ${t} should never be drawn`);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  let chi = 0;
  for (const [t, p] of expected) {
    const e = p * tokens.length;
    chi += ((counts.get(t) ?? 0) - e) ** 2 / e;
  }
  return chi;
}

test('greedy picks the argmax (lowest id on ties), reports the log-softmax, and draws nothing', () => {
  const logits = Float32Array.from([0.5, 2, -1, 2, 1.5]);
  assert.equal(argmax(logits), 1);
  const rng = new Rng(3);
  const before = JSON.stringify(rng.state());
  for (const opts of [{ greedy: true }, { temperature: 0 }, { greedy: true, topK: 3, topP: 0.5 }]) {
    const r = sampleToken(logits, rng, { ...opts, logprobs: true });
    assert.equal(r.token, 1);
    assert.ok(Math.abs(r.logprob! - logSoftmax(logits)[1]) < 1e-12);
    assert.equal(r.processedLogprob, 0);
  }
  assert.equal(JSON.stringify(rng.state()), before, 'greedy does not consume randomness');
});

test('top-k = 1 equals greedy, whatever the temperature', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 200; i++) {
    const logits = randomLogits(rng, 1 + rng.int(300));
    const r = sampleToken(logits, rng, { topK: 1, temperature: 0.3 + rng.next() * 3 });
    assert.equal(r.token, argmax(logits));
    assert.equal(r.processedLogprob, 0);
  }
});

test('temperature → 0 approaches greedy, without overflow for tiny temperatures', () => {
  const rng = new Rng(5);
  for (let i = 0; i < 100; i++) {
    const logits = randomLogits(rng, 50);
    for (const temperature of [1e-3, 1e-30, Number.MIN_VALUE]) {
      const r = sampleToken(logits, rng, { temperature, logprobs: true });
      assert.equal(r.token, argmax(logits));
      assert.ok(Number.isFinite(r.logprob!) && Number.isFinite(r.processedLogprob));
    }
  }
});

test('plain sampling and temperature follow softmax(logits / T) (chi-square)', () => {
  const probs = [0.5, 0.25, 0.15, 0.1];
  const logits = logitsOf(probs);
  const exact = new Map(probs.map((p, i) => [i, p]));
  assert.ok(chiSquare(draw(logits, {}, 30000), exact) < 16.3);
  const tempered = probs.map((p) => p ** (1 / 2.5));
  const z = tempered.reduce((a, b) => a + b);
  assert.ok(chiSquare(draw(logits, { temperature: 2.5 }, 30000), new Map(tempered.map((p, i) => [i, p / z]))) < 16.3);
});

test('top-k keeps the k largest, plus ties at the boundary (as HF does)', () => {
  const logits = Float32Array.from([1, 3, 2, 0.5, 2.5]);
  assert.ok(chiSquare(draw(logits, { topK: 2 }, 20000), new Map([[1, Math.exp(3) / (Math.exp(3) + Math.exp(2.5))], [4, Math.exp(2.5) / (Math.exp(3) + Math.exp(2.5))]])) < 10.8);
  const tied = Float32Array.from([3, 2, 2, 1]);
  const z = Math.exp(3) + 2 * Math.exp(2);
  assert.ok(chiSquare(draw(tied, { topK: 2 }, 20000), new Map([[0, Math.exp(3) / z], [1, Math.exp(2) / z], [2, Math.exp(2) / z]])) < 13.8);
  assert.deepEqual(new Set(draw(tied, { topK: 10 }, 2000)), new Set([0, 1, 2, 3]), 'k larger than the vocabulary keeps all');
});

test('top-p keeps exactly the smallest set with mass ≥ p, renormalised (chi-square)', () => {
  const logits = logitsOf([0.4, 0.3, 0.2, 0.1]);
  assert.ok(chiSquare(draw(logits, { topP: 0.65 }, 20000), new Map([[0, 4 / 7], [1, 3 / 7]])) < 10.8);
  assert.ok(chiSquare(draw(logits, { topP: 0.75 }, 20000), new Map([[0, 4 / 9], [1, 3 / 9], [2, 2 / 9]])) < 13.8);
  assert.deepEqual(new Set(draw(logits, { topP: 0.1 }, 1000)), new Set([0]), 'always at least the top token');
  // Ties at the boundary: as few as needed, lowest ids first (10 × 0.1, p = 0.35 → 4 tokens).
  const uniform = new Float32Array(10);
  assert.ok(chiSquare(draw(uniform, { topP: 0.35 }, 20000), new Map([[0, 0.25], [1, 0.25], [2, 0.25], [3, 0.25]])) < 16.3);
});

test('top-k agrees with a full-sort reference for small and large k, random and sorted logits', () => {
  const rng = new Rng(31);
  for (let trial = 0; trial < 40; trial++) {
    const v = 2 + rng.int(3000);
    let logits = randomLogits(rng, v);
    const layout = trial % 4;
    if (layout === 1) logits = logits.sort(); // ascending: the heap's worst case
    if (layout === 2) logits = logits.sort().reverse();
    if (layout === 3) logits = logits.map((x) => Math.round(x)); // many ties
    const k = 1 + (trial % 2 === 0 ? rng.int(Math.min(v, 256)) : rng.int(v));
    const kth = Array.from(logits).sort((a, b) => b - a)[k - 1];
    const probs = Array.from(logSoftmax(logits), Math.exp);
    const mass = probs.reduce((s, p, i) => s + (logits[i] >= kth ? p : 0), 0);
    const s = new Sampler({ topK: k, logprobs: true });
    for (let j = 0; j < 20; j++) {
      const r = s.sample(logits, rng);
      assert.ok(logits[r.token] >= kth, `trial ${trial}: token below the k-th largest`);
      assert.ok(Math.abs(r.logprob! - r.processedLogprob - Math.log(mass)) < 1e-9, `trial ${trial} (k=${k}, V=${v}): kept mass differs`);
    }
  }
});

test('top-p agrees with a full-sort reference on large random vocabularies', () => {
  const rng = new Rng(99);
  for (let trial = 0; trial < 30; trial++) {
    const v = trial < 25 ? 2 + rng.int(2000) : 50257;
    // Round logits to a coarse grid sometimes, so equal probabilities straddle the boundary.
    const coarse = trial % 3 === 0;
    const logits = Float32Array.from(randomLogits(rng, v, 2 + rng.next() * 4), (x) => (coarse ? Math.round(x) : x));
    const topP = 0.05 + rng.next() * 0.9;
    const probs = Array.from(logSoftmax(logits), Math.exp);
    const kept = referenceNucleus(probs, topP);
    const mass = [...kept].reduce((s, i) => s + probs[i], 0);
    const s = new Sampler({ topP, logprobs: true });
    for (let k = 0; k < 50; k++) {
      const r = s.sample(logits, rng);
      assert.ok(kept.has(r.token), `trial ${trial}: token ${r.token} is outside the nucleus`);
      // processed = raw − log(mass of the kept set): the sampler kept exactly that mass.
      assert.ok(Math.abs(r.logprob! - r.processedLogprob - Math.log(mass)) < 1e-9, `trial ${trial}: kept mass differs`);
    }
  }
});

test('top-p with p → 1 keeps every token', () => {
  const rng = new Rng(8);
  for (let trial = 0; trial < 20; trial++) {
    const logits = randomLogits(rng, 200, 1);
    const r = sampleToken(logits, rng, { topP: 1 - 2 ** -52, logprobs: true });
    assert.ok(Math.abs(r.logprob! - r.processedLogprob) < 1e-12, 'nothing was cut');
  }
});

test('min-p keeps tokens with probability ≥ min_p × the top probability', () => {
  const logits = logitsOf([0.5, 0.3, 0.15, 0.05]);
  assert.ok(chiSquare(draw(logits, { minP: 0.25 }, 20000), new Map([[0, 0.5 / 0.95], [1, 0.3 / 0.95], [2, 0.15 / 0.95]])) < 13.8);
  assert.deepEqual(new Set(draw(logits, { minP: 1 }, 1000)), new Set([0]));
});

test('processors apply in HF order: temperature → top-k → top-p → min-p', () => {
  // Raw [0.6, 0.3, 0.1] with top-p 0.6 keeps {0}; tempered by T=3 first, {0, 1} survive.
  const a = logitsOf([0.6, 0.3, 0.1]);
  assert.deepEqual(new Set(draw(a, { topP: 0.6 }, 2000)), new Set([0]));
  assert.deepEqual(new Set(draw(a, { topP: 0.6, temperature: 3 }, 2000)), new Set([0, 1]));
  // Top-k before top-p: after keeping 2 of [0.4, 0.3, 0.2, 0.1] and renormalising, 0.4/0.7 ≥ 0.5 so only token 0.
  // (Top-p first would keep {0, 1}.)
  const b = logitsOf([0.4, 0.3, 0.2, 0.1]);
  assert.deepEqual(new Set(draw(b, { topK: 2, topP: 0.5 }, 2000)), new Set([0]));
  // Top-p before min-p: p = 0.95 keeps {0,1,2}; min-p 0.35 then cuts 0.15 < 0.35 × 0.5.
  const c = logitsOf([0.5, 0.3, 0.15, 0.05]);
  assert.ok(chiSquare(draw(c, { topP: 0.9, minP: 0.35 }, 20000), new Map([[0, 0.625], [1, 0.375]])) < 10.8);
});

test('same seed, same draws; one rng.next() per sampled token', () => {
  const rng = new Rng(1);
  const logits = randomLogits(rng, 1000);
  const opts = { temperature: 0.8, topK: 40, topP: 0.9 };
  assert.deepEqual(draw(logits, opts, 200, 42), draw(logits, opts, 200, 42));
  assert.notDeepEqual(draw(logits, opts, 200, 42), draw(logits, opts, 200, 43));
  const a = new Rng(7);
  const b = new Rng(7);
  new Sampler(opts).sample(logits, a);
  b.next();
  assert.deepEqual(a.state(), b.state());
});

test('masked (-Infinity) tokens are never drawn; logprob is the raw log-softmax', () => {
  const logits = Float32Array.from([1, -Infinity, 0.5, -Infinity, 2]);
  const ref = logSoftmax(logits);
  const rng = new Rng(4);
  for (const opts of [{ temperature: 1.7 }, {}, { topK: 2 }]) {
    const s = new Sampler({ ...opts, logprobs: true });
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const r = s.sample(logits, rng);
      seen.add(r.token);
      assert.ok(Math.abs(r.logprob! - ref[r.token]) < 1e-12);
    }
    assert.deepEqual(seen, new Set(opts.topK ? [0, 4] : [0, 2, 4]));
  }
  // With every token a candidate at T = 1 the sampler reuses its softmax; the answer is the same.
  const dense = Float32Array.from([0.3, -1, 2, 0.7]);
  const denseRef = logSoftmax(dense);
  for (let i = 0; i < 200; i++) {
    const r = sampleToken(dense, rng, { logprobs: true });
    assert.ok(Math.abs(r.logprob! - denseRef[r.token]) < 1e-12);
  }
  assert.equal(sampleToken(dense, rng).logprob, undefined, 'raw logprobs are opt-in');
  assert.ok(Math.abs(tokenLogprob(logits, 4) - ref[4]) < 1e-12);
  assert.ok(Math.abs(logSumExp(logits) - Math.log(Math.E + Math.exp(0.5) + Math.exp(2))) < 1e-12);
});

test('a Sampler is reusable across vocabulary sizes', () => {
  const s = new Sampler({ topK: 3 });
  const rng = new Rng(2);
  assert.ok(s.sample(logitsOf([0.7, 0.3]), rng).token < 2);
  const big = randomLogits(rng, 5000);
  const top3 = Array.from(big.keys()).sort((x, y) => big[y] - big[x]).slice(0, 3);
  for (let i = 0; i < 100; i++) assert.ok(top3.includes(s.sample(big, rng).token));
  assert.ok(s.sample(logitsOf([0.5, 0.5]), rng).token < 2);
});

test('bad logits and bad options are typed errors', () => {
  const rng = new Rng(0);
  assert.throws(() => sampleToken(new Float32Array(0), rng), ShapeError);
  assert.throws(() => sampleToken(Float32Array.from([0, NaN]), rng), /logit 1 is NaN/);
  assert.throws(() => sampleToken(Float32Array.from([NaN, 0]), rng), /logit 0 is NaN/);
  assert.throws(() => sampleToken(Float32Array.from([-Infinity, 3, Infinity]), rng), /logit 2 is Infinity/);
  assert.throws(() => sampleToken(Float32Array.from([Infinity, 0]), rng), /logit 0 is Infinity/);
  assert.throws(() => sampleToken(Float32Array.from([-Infinity, -Infinity]), rng), /every logit is -Infinity/);
  assert.throws(() => tokenLogprob(Float32Array.from([0, 1]), 2), /outside the vocabulary/);
  assert.throws(() => new Sampler({ temperature: -1 }), ConfigError);
  assert.throws(() => new Sampler({ temperature: Infinity }), /temperature/);
  assert.throws(() => new Sampler({ topK: 1.5 }), /topK/);
  assert.throws(() => new Sampler({ topP: 0 }), /topP/);
  assert.throws(() => new Sampler({ topP: 1.1 }), /topP/);
  assert.throws(() => new Sampler({ minP: -0.1 }), /minP/);
  assert.throws(() => new Sampler({ greedy: 'yes' as unknown as boolean }), /greedy/);
  assert.throws(() => new Sampler({ logprobs: 1 as unknown as boolean }), /logprobs/);
});
