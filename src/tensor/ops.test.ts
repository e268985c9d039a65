// Every differentiable op's backward against central finite differences, on every backend.
// (The kernels themselves are checked in float64 in src/backend/*.test.ts; this checks the
// wiring: shapes, accumulation, fan-out, broadcasting, partial requiresGrad.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, setBackend, backend } from '../backend/index.ts';
import { Tensor, scope, noGrad, tapeLength, bufferPoolBytes } from './tensor.ts';
import * as op from './ops.ts';
import { selfAttention, crossAttention, attention } from './attention.ts';
import { gradCheck, randParam } from './gradcheck.ts';
import { Rng } from '../util/rng.ts';

const rng = new Rng(42);
/** Σ out ⊙ R for a fixed random R: a scalar whose gradient reaches every output element. */
function project(out: Tensor, seed = 3): Tensor {
  const r = new Rng(seed);
  const R = new Float32Array(out.size);
  for (let i = 0; i < R.length; i++) R[i] = r.normal();
  return op.sum(op.mul(out, new Tensor(R, out.shape)));
}

function ok(res: { worst: number; where: string }, what: string) {
  assert.ok(res.worst <= 1, `${what}: ${res.where} (score ${res.worst.toFixed(2)})`);
}

const original = backend();
for (const be of availableBackends()) {
  const t = (name: string, fn: () => void) => test(`${name} (${be.name})`, () => {
    setBackend(be);
    try { fn(); } finally { setBackend(original); }
  });

  t('linear', () => {
    const x = randParam([2, 3, 5], rng), w = randParam([4, 5], rng), b = randParam([4], rng);
    ok(gradCheck(() => project(op.linear(x, w, b)), [x, w, b]), 'linear');
  });

  t('matmul: batched, shared, transposed', () => {
    const a = randParam([2, 3, 4], rng), b = randParam([2, 4, 5], rng), s = randParam([4, 5], rng), sT = randParam([5, 4], rng), bT = randParam([2, 5, 4], rng);
    ok(gradCheck(() => project(op.matmul(a, b)), [a, b]), 'batched');
    ok(gradCheck(() => project(op.matmul(a, s)), [a, s]), 'shared');
    ok(gradCheck(() => project(op.matmul(a, sT, true)), [a, sT]), 'shared transB');
    ok(gradCheck(() => project(op.matmul(a, bT, true)), [a, bT]), 'batched transB');
  });

  t('add with broadcast, mul, scale, fan-out', () => {
    const a = randParam([3, 2, 4], rng), b = randParam([2, 4], rng), c = randParam([3, 2, 4], rng);
    ok(gradCheck(() => project(op.add(a, b)), [a, b]), 'add broadcast');
    ok(gradCheck(() => project(op.mul(op.scale(a, 0.5), c)), [a, c]), 'mul/scale');
    // a used three times: gradients must accumulate.
    ok(gradCheck(() => project(op.add(op.mul(a, a), a)), [a]), 'fan-out');
  });

  t('gelu, tanh, relu, sigmoid, logSigmoid, softmax', () => {
    const x = randParam([3, 7], rng, 2);
    ok(gradCheck(() => project(op.gelu(x)), [x]), 'gelu');
    ok(gradCheck(() => project(op.tanh(x)), [x]), 'tanh');
    ok(gradCheck(() => project(op.sigmoid(x)), [x]), 'sigmoid');
    ok(gradCheck(() => project(op.logSigmoid(x)), [x]), 'logSigmoid');
    ok(gradCheck(() => project(op.softmax(x)), [x]), 'softmax');
    const y = Tensor.parameter(Float32Array.from([-2, -0.5, 0.3, 1.7]), [4]); // away from the kink
    ok(gradCheck(() => project(op.relu(y)), [y]), 'relu');
  });

  t('layerNorm (all inputs, and input only)', () => {
    const x = randParam([4, 6], rng), w = randParam([6], rng), b = randParam([6], rng);
    ok(gradCheck(() => project(op.layerNorm(x, w, b)), [x, w, b]), 'layerNorm');
    const frozenW = new Tensor(Float32Array.from(w.data), [6]);
    ok(gradCheck(() => project(op.layerNorm(x, frozenW, null)), [x]), 'layerNorm without bias, frozen weight');
  });

  t('embedding with repeated ids', () => {
    const table = randParam([5, 3], rng);
    const ids = Int32Array.from([1, 4, 1, 0, 1, 2]);
    ok(gradCheck(() => project(op.embedding(ids, [2, 3], table)), [table]), 'embedding');
    assert.throws(() => op.embedding(Int32Array.from([5]), [1], table), /id 5 at position 0 is outside \[0, 5\)/);
  });

  t('crossEntropy: mean, ignore index, label smoothing, none', () => {
    const logits = randParam([5, 7], rng, 2);
    const targets = Int32Array.from([3, -100, 0, 6, 2]);
    ok(gradCheck(() => op.crossEntropy(logits, targets), [logits]), 'mean');
    ok(gradCheck(() => op.crossEntropy(logits, targets, { smoothing: 0.1 }), [logits]), 'smoothing');
    ok(gradCheck(() => project(op.crossEntropy(logits, targets, { reduction: 'none' })), [logits]), 'none');
    // Value check against the definition.
    const loss = noGrad(() => scope(() => op.crossEntropy(logits, targets).item()));
    let s = 0;
    for (const [r, tgt] of [[0, 3], [2, 0], [3, 6], [4, 2]]) {
      const row = Array.from(logits.data.subarray(r * 7, r * 7 + 7));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      s += lse - row[tgt];
    }
    assert.ok(Math.abs(loss - s / 4) < 1e-5, `${loss} vs ${s / 4}`);
    assert.throws(() => op.crossEntropy(logits, Int32Array.from([0, 1, 2, 3, 7])), /target 7 at row 4/);
  });

  t('reshape, gatherRows, concatRows, transposeLast2, mean', () => {
    const x = randParam([2, 3, 4], rng), y = randParam([1, 4], rng);
    ok(gradCheck(() => project(op.transposeLast2(op.reshape(x, [6, -1]))), [x]), 'reshape+transpose');
    ok(gradCheck(() => project(op.gatherRows(x, Int32Array.from([5, 0, 5]))), [x]), 'gatherRows');
    ok(gradCheck(() => project(op.concatRows([op.reshape(x, [6, 4]), y])), [x, y]), 'concatRows');
    ok(gradCheck(() => op.mean(op.mul(x, x)), [x]), 'mean');
  });

  t('attention: causal self, banded, padded cross, separate q/k/v', () => {
    const qkv = randParam([2, 5, 12], rng);
    ok(gradCheck(() => project(selfAttention(qkv, { nHead: 2, causal: true })), [qkv]), 'causal');
    ok(gradCheck(() => project(selfAttention(qkv, { nHead: 2, causal: true, window: 2 })), [qkv]), 'banded');
    const q = randParam([2, 3, 4], rng), kv = randParam([2, 5, 8], rng);
    ok(gradCheck(() => project(crossAttention(q, kv, { nHead: 2, causal: false, keyEnd: Int32Array.from([5, 2]) })), [q, kv]), 'cross with padding');
    const k = randParam([2, 5, 4], rng), v = randParam([2, 5, 4], rng);
    ok(gradCheck(() => project(attention(q, k, v, { nHead: 1, causal: true })), [q, k, v]), 'q<k causal');
  });
}

test('noGrad records nothing; scope returns buffers to the pool and reuses them', () => {
  const w = randParam([8, 8], rng), x = randParam([4, 8], rng);
  noGrad(() => scope(() => op.linear(x, w, null)));
  assert.equal(tapeLength(), 0);
  const step = () => scope(() => project(op.gelu(op.linear(x, w, null))).backward());
  step();
  const held = bufferPoolBytes();
  assert.ok(held > 0);
  step();
  assert.equal(bufferPoolBytes(), held, 'a second identical step should draw every buffer from the pool');
  assert.ok(w.grad && w.grad.some((v) => v !== 0), 'parameter gradients survive the scope');
});

test('errors name the op and the shapes', () => {
  const a = Tensor.zeros([2, 3]), b = Tensor.zeros([4, 5]);
  assert.throws(() => op.linear(a, b, null), /linear: input \[2, 3\] has last dim 3, weight \[4, 5\] expects 5/);
  assert.throws(() => op.matmul(a, b), /matmul: inner dims differ/);
  assert.throws(() => op.add(a, Tensor.zeros([2])), /add: cannot broadcast \[2\] onto \[2, 3\]/);
});

test('the buffer pool keeps the free buffers of varying shapes bounded (least recently used lengths go)', async () => {
  const { clearBufferPool } = await import('./tensor.ts');
  clearBufferPool();
  // 400 distinct lengths of 1 MB each, one at a time: 400 MB would stay pooled without a cap.
  for (let i = 0; i < 400; i++) scope(() => Tensor.zeros([262144 + i]));
  assert.ok(bufferPoolBytes() <= 256 * 2 ** 20, `${(bufferPoolBytes() / 2 ** 20).toFixed(0)} MB held`);
  // The lengths in use stay pooled: the same shape again draws from the pool.
  scope(() => Tensor.zeros([262144 + 399]));
  const held = bufferPoolBytes();
  scope(() => Tensor.zeros([262144 + 399]));
  assert.equal(bufferPoolBytes(), held);
  clearBufferPool();
});
