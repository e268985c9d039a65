// The continuous-batching engine against generate/'s reference decoder: requests that join a
// running batch at different steps, with different prompt lengths and settings, get exactly the
// tokens they get alone; a cancelled request leaves at the next step; seeds reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig, type GptConfig } from '../models/gpt.ts';
import { generate } from '../generate/generate.ts';
import { Sampler } from '../generate/sampling.ts';
import { Rng } from '../util/rng.ts';
import { SlotCache } from './slot-cache.ts';
import { BatchEngine, PREFILL_TOKENS, prefillGroup, prefillLength, type EngineRequest, type Finished } from './engine.ts';

const V = 97;

function model(over: Partial<GptConfig> = {}): GPT {
  return new GPT(gptConfig('nano', { vocabSize: V, blockSize: 48, dropout: 0, ...over }), 7).eval();
}

function prompt(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => (salt * 31 + i * 17 + 5) % V);
}

/** The reference: one request alone through generate/generate.ts, sampled the same way. */
function alone(m: GPT, req: Omit<EngineRequest, 'id'>): number[] {
  const sampler = new Sampler(req.sampling);
  const rng = new Rng(req.seed);
  const [g] = generate(m, [req.prompt], (logits) => sampler.sample(logits, rng).token, { maxTokens: req.maxTokens, eosIds: req.eosIds });
  return g.tokens;
}

/** Run the engine to the end; requests in `later` are submitted at the given step. */
function drive(engine: BatchEngine, reqs: { at: number; req: EngineRequest }[]): { tokens: Map<string, number[]>; finished: Map<string, Finished>; batches: number[] } {
  const tokens = new Map<string, number[]>();
  const finished = new Map<string, Finished>();
  const batches: number[] = [];
  for (let step = 0; step < 1000; step++) {
    for (const { at, req } of reqs) {
      if (at !== step) continue;
      tokens.set(req.id, []);
      engine.submit({ ...req, onToken: (t) => { tokens.get(req.id)!.push(t); return req.onToken?.(t); } });
    }
    if (engine.idle && step > Math.max(...reqs.map((r) => r.at))) break;
    const r = engine.step();
    batches.push(r.batch);
    for (const f of r.finished) finished.set(f.id, f);
  }
  return { tokens, finished, batches };
}

for (const [name, over] of [
  ['pre-LN', {}],
  ['post-LN (GPT-1)', { norm: 'post' as const, tieEmbeddings: false }],
  ['banded layers (GPT-3)', { attention: 'alternating' as const, window: 5 }],
] as const) {
  test(`${name}: requests joining at different steps get the tokens they get alone`, () => {
    const m = model(over);
    const engine = new BatchEngine(m, { maxBatch: 4 });
    const reqs = [
      { at: 0, req: { id: 'a', prompt: prompt(5, 1), maxTokens: 20, sampling: { greedy: true }, seed: 0, eosIds: [] } },
      { at: 0, req: { id: 'b', prompt: prompt(11, 2), maxTokens: 9, sampling: { temperature: 0.9, topK: 20 }, seed: 3, eosIds: [] } },
      { at: 3, req: { id: 'c', prompt: prompt(2, 3), maxTokens: 25, sampling: { temperature: 1.1, topP: 0.9 }, seed: 4, eosIds: [] } },
      { at: 3, req: { id: 'd', prompt: prompt(17, 4), maxTokens: 12, sampling: { greedy: true }, seed: 0, eosIds: [] } },
      // More than the slots: these wait for a request to leave.
      { at: 4, req: { id: 'e', prompt: prompt(8, 5), maxTokens: 10, sampling: { temperature: 0.7 }, seed: 5, eosIds: [] } },
      { at: 5, req: { id: 'f', prompt: prompt(1, 6), maxTokens: 30, sampling: { greedy: true }, seed: 0, eosIds: [] } },
    ];
    const { tokens, finished, batches } = drive(engine, reqs);
    for (const { req } of reqs) {
      assert.deepEqual(tokens.get(req.id), alone(m, req), `request ${req.id}`);
      assert.equal(finished.get(req.id)?.finishReason, 'length');
      assert.equal(finished.get(req.id)?.completionTokens, req.maxTokens);
    }
    assert.equal(Math.max(...batches), 4, 'never more rows than slots');
    assert.ok(engine.idle);
  });
}

test('end-of-sequence ids and onToken stops end a request; maxTokens 0 ends at once', () => {
  const m = model();
  const free = alone(m, { prompt: prompt(4, 9), maxTokens: 12, sampling: { greedy: true }, seed: 0, eosIds: [] });
  const eos = free[5];
  const engine = new BatchEngine(m, { maxBatch: 3 });
  const { tokens, finished } = drive(engine, [
    { at: 0, req: { id: 'eos', prompt: prompt(4, 9), maxTokens: 12, sampling: { greedy: true }, seed: 0, eosIds: [eos] } },
    { at: 0, req: { id: 'stop', prompt: prompt(4, 9), maxTokens: 12, sampling: { greedy: true }, seed: 0, eosIds: [], onToken: (t) => t === free[2] } },
    { at: 1, req: { id: 'zero', prompt: prompt(4, 9), maxTokens: 0, sampling: { greedy: true }, seed: 0, eosIds: [] } },
  ]);
  assert.deepEqual(tokens.get('eos'), free.slice(0, free.indexOf(eos)));
  assert.equal(finished.get('eos')?.finishReason, 'eos');
  assert.deepEqual(tokens.get('stop'), free.slice(0, free.indexOf(free[2]) + 1));
  assert.equal(finished.get('stop')?.finishReason, 'stop');
  assert.deepEqual(tokens.get('zero'), []);
  assert.equal(finished.get('zero')?.finishReason, 'length');
});

test('a cancelled request leaves at the next step and its slot goes to a waiting one', () => {
  const m = model();
  const engine = new BatchEngine(m, { maxBatch: 1 });
  let seen = 0;
  engine.submit({ id: 'long', prompt: prompt(3, 1), maxTokens: 40, sampling: { greedy: true }, seed: 0, eosIds: [], onToken: () => { seen++; } });
  const next = { prompt: prompt(6, 2), maxTokens: 5, sampling: { greedy: true }, seed: 0, eosIds: [] };
  const got: number[] = [];
  engine.submit({ id: 'next', ...next, onToken: (t) => { got.push(t); } });
  engine.step();
  engine.step();
  assert.equal(engine.running, 1);
  assert.equal(engine.queued, 1);
  assert.ok(engine.cancel('long'));
  const r = engine.step();
  assert.deepEqual(r.finished.map((f) => [f.id, f.finishReason]), [['long', 'cancelled']]);
  assert.equal(r.admitted, 1, 'the waiting request took the freed slot in the same step');
  assert.equal(seen, 3);
  while (!engine.idle) engine.step();
  assert.deepEqual(got, alone(m, next));
  // Cancelling a waiting request ends it at the next step without running it.
  engine.submit({ id: 'w1', ...next });
  engine.submit({ id: 'w2', ...next });
  engine.cancel('w2');
  const s = engine.step();
  assert.deepEqual(s.finished.map((f) => [f.id, f.finishReason, f.completionTokens]), [['w2', 'cancelled', 0]]);
  assert.equal(engine.cancel('nope'), false);
});

test('bad requests are refused when submitted, not mid-batch', () => {
  const engine = new BatchEngine(model(), { maxBatch: 2 });
  const ok = { id: 'x', prompt: [1, 2], maxTokens: 4, sampling: {}, seed: 0, eosIds: [] };
  assert.throws(() => engine.submit({ ...ok, prompt: [] }), /at least one token/);
  assert.throws(() => engine.submit({ ...ok, maxTokens: 47 }), /exceed the context of 48/);
  assert.throws(() => engine.submit({ ...ok, prompt: [V] }), /token ids must be integers/);
  assert.throws(() => engine.submit({ ...ok, sampling: { temperature: -1 } }), /temperature/);
  assert.ok(engine.idle);
});

test('prompts are prefilled at power-of-two lengths from 16 (few shapes), capped by the cache', () => {
  assert.deepEqual([1, 16, 17, 31, 32, 33, 200].map(prefillLength), [16, 16, 32, 32, 32, 64, 256]);
  // A prompt whose padded length would pass the context is prefilled at the context's length.
  const m = model();
  const engine = new BatchEngine(m, { maxBatch: 1 });
  const req = { prompt: prompt(40, 8), maxTokens: 6, sampling: { greedy: true }, seed: 0, eosIds: [] };
  const got: number[] = [];
  engine.submit({ id: 'p', ...req, onToken: (t) => { got.push(t); } });
  while (!engine.idle) engine.step();
  assert.deepEqual(got, alone(m, req), 'padded to 48 (the context), not 64');
});

test('prompts that come together are prefilled in groups of one padded length, a power of two ≤ PREFILL_TOKENS positions', () => {
  assert.equal(PREFILL_TOKENS, 256);
  assert.deepEqual([1, 2, 3, 5, 16, 17].map((n) => prefillGroup(n, 16)), [1, 2, 2, 4, 16, 16]);
  assert.deepEqual([1, 3, 9].map((n) => prefillGroup(n, 32)), [1, 2, 8]);
  assert.equal(prefillGroup(5, 256), 1);
  assert.equal(prefillGroup(5, 512), 1, 'a prompt longer than the budget goes alone');
  // Eleven requests at once: lengths padded to 16, 32 and 48 (the context), one with maxTokens 0, in
  // mixed order; each gets the tokens it gets alone, whichever group and slot it was prefilled in.
  const m = model();
  const engine = new BatchEngine(m, { maxBatch: 12 });
  engine.warmUp();
  const lengths = [3, 20, 16, 40, 1, 33, 9, 17, 2, 12, 5];
  const reqs = lengths.map((n, i) => ({ at: 0, req: {
    id: String(i), prompt: prompt(n, i + 20), maxTokens: i === 4 ? 0 : Math.min(8, 48 - n),
    sampling: i % 3 === 2 ? { temperature: 0.8, topK: 10 } : { greedy: true }, seed: i, eosIds: [],
  } }));
  const { tokens, finished } = drive(engine, reqs);
  for (const { req } of reqs) {
    assert.deepEqual(tokens.get(req.id), req.maxTokens === 0 ? [] : alone(m, req), `request ${req.id} (prompt ${req.prompt.length})`);
    assert.equal(finished.get(req.id)?.finishReason, 'length');
  }
  assert.ok(engine.idle);
});

test('warming up leaves the engine as it was: requests after it get the tokens they get alone', () => {
  const m = model();
  const engine = new BatchEngine(m, { maxBatch: 3 });
  engine.warmUp();
  const reqs = [1, 2, 3].map((i) => ({ at: 0, req: { id: String(i), prompt: prompt(3 + i, i), maxTokens: 8, sampling: { greedy: true }, seed: 0, eosIds: [] } }));
  const { tokens } = drive(engine, reqs);
  for (const { req } of reqs) assert.deepEqual(tokens.get(req.id), alone(m, req));
  engine.submit({ ...reqs[0].req });
  assert.throws(() => engine.warmUp(), /idle engine only/);
});

test('an f16 KV cache: logits near the f32 cache\'s, and each request gets the tokens it gets alone on an f16 engine', () => {
  const m = model();
  // The same prompts and tokens through an f32 and an f16 slot cache, 3 rows at different lengths.
  const c32 = new SlotCache(m, 3), c16 = new SlotCache(m, 3, 48, 'f16');
  assert.ok(c16.k[0] instanceof Uint16Array && c32.k[0] instanceof Float32Array);
  let worst = 0;
  const diff = (a: Float32Array, b: Float32Array) => { for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i])); };
  [5, 11, 2].forEach((n, b) => diff(c32.prefill(m, [prompt(n, b)], b, 16).slice(), c16.prefill(m, [prompt(n, b)], b, 16)));
  for (let step = 0; step < 20; step++) {
    const tokens = Int32Array.from([step % V, (step * 7) % V, (step * 13) % V]);
    diff(c32.decode(m, tokens, 3).slice(), c16.decode(m, tokens, 3));
  }
  assert.deepEqual([...c16.lengths], [25, 31, 22]);
  // Stated tolerance: f16 keys and values move this model's logits by < 2e-4 (measured 2.8e-5).
  assert.ok(worst > 0 && worst < 2e-4, `f16 logits differ by ${worst}`);
  const reqs = [
    { at: 0, req: { id: 'a', prompt: prompt(5, 1), maxTokens: 20, sampling: { greedy: true }, seed: 0, eosIds: [] } },
    { at: 2, req: { id: 'b', prompt: prompt(19, 2), maxTokens: 15, sampling: { temperature: 0.9 }, seed: 3, eosIds: [] } },
    { at: 3, req: { id: 'c', prompt: prompt(2, 3), maxTokens: 25, sampling: { greedy: true }, seed: 0, eosIds: [] } },
  ];
  const { tokens } = drive(new BatchEngine(m, { maxBatch: 3, kvDtype: 'f16' }), reqs);
  for (const { req } of reqs) {
    const one = drive(new BatchEngine(m, { maxBatch: 1, kvDtype: 'f16' }), [{ at: 0, req }]).tokens.get(req.id);
    assert.deepEqual(tokens.get(req.id), one, `request ${req.id}`);
    assert.equal(one?.length, req.maxTokens);
  }
});
