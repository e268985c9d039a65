// Continuation scoring: against log-likelihoods computed by hand (float64) on a model whose
// logits depend only on the previous token, and, on a random model, the shared-prefix KV-cache
// path against one full forward pass per choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from '../models/gpt.ts';
import { scoreContinuations, scoreContinuationsSeparately } from './score.ts';

const V = 23, C = 16;

/**
 * A GPT whose every block adds nothing (output projections zero) and whose positions are zero:
 * its logits after token t are LN(wte[t]) · wteᵀ, a bigram model we can compute by hand.
 */
function bigramGpt(): GPT {
  const m = new GPT(gptConfig('nano', { vocabSize: V, blockSize: 32, nEmbd: C, nHead: 2, nLayer: 2 }), 3).eval();
  for (const [name, p] of m.namedParameters()) {
    if (/c_proj\.(weight|bias)$/.test(name) || name === 'transformer.wpe.weight') p.data.fill(0);
  }
  return m;
}

/** log p(next | prev) of the bigram model, by hand in float64. */
function handLogprob(m: GPT, prev: number, next: number): number {
  const wte = m.transformer.wte.weight.data;
  const ln = m.transformer.ln_f!;
  const x = Array.from(wte.subarray(prev * C, prev * C + C));
  const mean = x.reduce((a, b) => a + b, 0) / C;
  const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
  const h = x.map((xi, i) => ((xi - mean) / Math.sqrt(v + 1e-5)) * ln.weight.data[i] + ln.bias.data[i]);
  const logits = Array.from({ length: V }, (_, t) => h.reduce((s, hi, i) => s + hi * wte[t * C + i], 0));
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
  return logits[next] - lse;
}

test('scores equal hand-computed log-likelihoods on a bigram model', () => {
  const m = bigramGpt();
  const context = [1, 5, 9, 2];
  const conts = [[3], [7, 8, 1], [4, 4], [22, 0, 11, 6]];
  const want = conts.map((c) => {
    let prev = context[context.length - 1], s = 0;
    for (const t of c) { s += handLogprob(m, prev, t); prev = t; }
    return s;
  });
  const shared = scoreContinuations(m, context, conts);
  const separate = scoreContinuationsSeparately(m, context, conts);
  for (let i = 0; i < conts.length; i++) {
    assert.ok(Math.abs(shared[i].logprob - want[i]) < 1e-4, `choice ${i}: shared ${shared[i].logprob} vs hand ${want[i]}`);
    assert.ok(Math.abs(separate[i].logprob - want[i]) < 1e-4, `choice ${i}: separate ${separate[i].logprob} vs hand ${want[i]}`);
  }
});

test('greedy: a continuation of the bigram model\'s argmax tokens is greedy, another is not', () => {
  const m = bigramGpt();
  const best = (prev: number) => { let b = 0; for (let t = 1; t < V; t++) if (handLogprob(m, prev, t) > handLogprob(m, prev, b)) b = t; return b; };
  const a = best(4), b = best(a);
  const worse = (a + 1) % V;
  const [g, ng] = scoreContinuations(m, [4], [[a, b], [worse, b]]);
  assert.equal(g.greedy, true);
  assert.equal(ng.greedy, false);
});

test('the shared-prefix KV cache gives the scores of one full pass per choice (random model, ragged choices)', () => {
  const m = new GPT(gptConfig('nano', { vocabSize: 97, blockSize: 40, nLayer: 2, nHead: 2, nEmbd: 32 }), 11).eval();
  const context = Array.from({ length: 21 }, (_, i) => (i * 37 + 5) % 97);
  const conts = [[1], [2, 3, 4, 5, 6], [90, 12], [7, 7, 7]];
  const a = scoreContinuations(m, context, conts);
  const b = scoreContinuationsSeparately(m, context, conts);
  for (let i = 0; i < conts.length; i++) {
    assert.ok(Math.abs(a[i].logprob - b[i].logprob) < 1e-4, `choice ${i}: ${a[i].logprob} vs ${b[i].logprob}`);
    assert.equal(a[i].greedy, b[i].greedy);
  }
});

test('a context and continuation longer than the window are refused (the harness truncates first)', () => {
  const m = new GPT(gptConfig('nano', { vocabSize: 97, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 }), 1).eval();
  assert.throws(() => scoreContinuations(m, [1, 2, 3, 4, 5, 6, 7], [[1, 2, 3]]), /exceed the model's context of 8/);
  assert.doesNotThrow(() => scoreContinuations(m, [1, 2, 3, 4, 5, 6], [[1, 2, 3]]));
  assert.throws(() => scoreContinuations(m, [1], [[]]), /no tokens/);
});
