// The GPT model against PyTorch: same weights, same tokens → the same logits, loss and gradient of
// every parameter (goldens made by tests/golden/gpt/make_goldens.py in float64), on every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableBackends, setBackend, backend } from '../backend/index.ts';
import { GPT, gptConfig, countParams, presets, flopsPerToken } from './gpt.ts';
import { scope } from '../tensor/tensor.ts';

const dir = join(import.meta.dirname, '..', '..', 'tests', 'golden', 'gpt');

interface Golden {
  config: Record<string, unknown>;
  B: number;
  T: number;
  ids: number[];
  targets: number[];
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

function loadGolden(name: string) {
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Golden;
  const buf = readFileSync(join(dir, `${name}.bin`));
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const get = (n: string) => {
    const t = meta.tensors.find((x) => x.name === n);
    if (!t) throw new Error(`golden ${name} has no tensor ${n}`);
    return all.subarray(t.offset, t.offset + t.length);
  };
  return { meta, get };
}

/** max |a − b| / max |b|: error relative to the tensor's scale. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

const before = backend();
for (const be of availableBackends()) {
  for (const name of ['gpt2_alternating', 'gpt1_post_ln']) {
    test(`${name} matches PyTorch (${be.name} backend)`, () => {
      setBackend(be);
      try {
        const { meta, get } = loadGolden(name);
        const model = new GPT(gptConfig('nano', meta.config as never));
        const named = model.namedParameters();
        assert.equal(named.length, meta.tensors.filter((t) => t.name.startsWith('grad.')).length, 'parameter count differs from the golden');
        for (const [n, t] of named) t.data.set(get(n));
        const ids = Int32Array.from(meta.ids), targets = Int32Array.from(meta.targets);
        scope(() => {
          const { logits, loss } = model.forward(ids, meta.B, meta.T, targets);
          assert.ok(relErr(logits.data, get('logits')) <= 1e-4, `logits rel err ${relErr(logits.data, get('logits'))}`);
          assert.ok(Math.abs(loss!.item() - get('loss')[0]) <= 1e-4 * get('loss')[0], `loss ${loss!.item()} vs ${get('loss')[0]}`);
          loss!.backward();
        });
        for (const [n, t] of named) {
          const e = relErr(t.grad!, get(`grad.${n}`));
          assert.ok(e <= 1e-3, `grad of ${n}: rel err ${e}`);
        }
      } finally {
        setBackend(before);
      }
    });
  }
}

test('parameter counts match the published GPT-2 sizes', () => {
  // GPT-2 small has 124,439,808 parameters (tied head), 85,056,000 excluding token and position embeddings.
  const c = countParams(presets.gpt2);
  assert.equal(c.total, 124439808);
  assert.equal(c.nonEmbedding, 85056000);
  const model = new GPT(gptConfig('tiny'));
  assert.equal(model.numParameters(), countParams(model.config).total);
  assert.ok(flopsPerToken(presets.gpt2, 1024) > 6 * 85e6);
});

test('config errors name the key', () => {
  assert.throws(() => gptConfig('tiny', { nHead: 5 }), /nEmbd \(128\) must be divisible by nHead \(5\)/);
  assert.throws(() => gptConfig('tiny', { nEmbed: 3 } as never), /unknown GPT config key 'nEmbed'/);
  assert.throws(() => gptConfig('gpt5'), /unknown preset 'gpt5'/);
});

test("GPT-3 presets have the paper's parameter counts (within 3%)", () => {
  const paper: Record<string, number> = { 'gpt3-125m': 125e6, 'gpt3-350m': 350e6, 'gpt3-760m': 760e6, 'gpt3-1.3b': 1.3e9, 'gpt3-2.7b': 2.7e9, 'gpt3-6.7b': 6.7e9, 'gpt3-13b': 13.0e9, 'gpt3-175b': 175.0e9 };
  for (const [name, n] of Object.entries(paper)) {
    const got = countParams(presets[name]).total;
    assert.ok(Math.abs(got - n) / n < 0.03, `${name}: ${got} vs ${n}`);
    assert.equal(presets[name].blockSize, 2048);
    assert.equal(presets[name].attention, 'alternating');
  }
});
