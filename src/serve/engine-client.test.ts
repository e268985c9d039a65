// The worker-thread engine seen from the event loop: a model directory that cannot load fails the
// start with its reason; a request the engine refuses ends in onError; text and counts come back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EngineClient, EngineError } from './engine-client.ts';
import { makeTestModel, type TestModel } from './test-model.ts';

let model: TestModel;
let engine: EngineClient;

before(async () => {
  model = await makeTestModel();
  engine = await EngineClient.start({ modelDir: model.dir, maxBatch: 2 });
});

after(async () => {
  await engine?.close();
  model?.remove();
});

test('a model directory that cannot load fails the start, naming why', async () => {
  await assert.rejects(EngineClient.start({ modelDir: '/nonexistent/model', maxBatch: 1 }), (e: unknown) => e instanceof EngineError && e.kind === 'fatal' && /no such model directory/.test(e.message));
});

test('the engine reports the model and generates; a request it refuses ends in onError', async () => {
  assert.equal(engine.info.contextLength, 256);
  assert.equal(engine.info.maxBatch, 2);
  assert.match(engine.info.kernels, /^(native|ts) \S+ ×\d+$/);
  const params = { prompt: [1, 2, 3], maxTokens: 5, sampling: { greedy: true }, seed: 0, stop: [], eosIds: [] };
  const r = await engine.complete(params);
  assert.equal(r.finishReason, 'length');
  assert.equal(r.completionTokens, 5);
  assert.equal(r.promptTokens, 3);
  assert.ok(r.text.length > 0);
  await assert.rejects(engine.complete({ ...params, maxTokens: 300 }), (e: unknown) => e instanceof EngineError && e.kind === 'rejected' && /exceed the context of 256/.test(e.message));
  assert.equal(engine.stats.inFlight, 0);
});

test('after close, generations fail at once instead of hanging', async () => {
  const other = await EngineClient.start({ modelDir: model.dir, maxBatch: 1 });
  await other.close();
  await assert.rejects(other.complete({ prompt: [1], maxTokens: 2, sampling: {}, seed: 0, stop: [], eosIds: [] }), (e: unknown) => e instanceof EngineError && e.kind === 'closed');
});

test('closing the engine in the middle of decoding, again and again, never aborts the process', async () => {
  // worker.terminate() can land inside a native kernel call; the addon must then return quietly
  // instead of throwing a C++ exception it cannot hand to JS (that was a SIGABRT about 1 close in 40).
  for (let i = 0; i < 30; i++) {
    const e = await EngineClient.start({ modelDir: model.dir, maxBatch: 4 });
    const ended: Promise<unknown>[] = [];
    for (let k = 0; k < 4; k++) ended.push(e.complete({ prompt: [1, 2, 3], maxTokens: 200, sampling: { greedy: true }, seed: k, stop: [], eosIds: [] }).catch((err) => err));
    await new Promise((r) => setTimeout(r, (i * 7) % 40));
    await e.close();
    for (const r of await Promise.all(ended)) assert.ok(r instanceof EngineError ? r.kind === 'closed' : 'finishReason' in (r as object), `each generation ends or fails with 'closed', not ${String(r)}`);
  }
});
