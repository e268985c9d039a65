import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readHfGpt2Dir, writeHfGpt2Dir, isHfGpt2Dir, hfConfigToShape, shapeToHfConfig, gpt2ParamShapes, transpose2d,
  HfGpt2Error, type HfGpt2ErrorKind, type GptShape, type ParamTensor,
} from './hf-gpt2.ts';
import { readSafetensors, writeSafetensors, toFloat32, fromFloat32, type SafeTensor } from './safetensors.ts';
import { ConfigError } from '../util/errors.ts';

const GOLDEN = new URL('../../tests/golden/interop/', import.meta.url).pathname;
const TINY = join(GOLDEN, 'tiny-gpt2');
const tmp = mkdtempSync(join(tmpdir(), 'gptkit-hf-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const goldenConfig = () => JSON.parse(readFileSync(join(TINY, 'config.json'), 'utf8')) as Record<string, unknown>;
const goldenTensors = () => readSafetensors(join(TINY, 'model.safetensors')).tensors;

const TINY_SHAPE: GptShape = {
  vocabSize: 37, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, layerNormEps: 1e-5,
  dropout: { resid: 0.1, embd: 0.1, attn: 0.1 },
};

let dirCounter = 0;
/** A fresh HF-style directory holding the given tensors and config. */
function makeDir(tensors: Map<string, SafeTensor>, config: unknown = goldenConfig()): string {
  const dir = join(tmp, `d${dirCounter++}`);
  mkdirSync(dir);
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

function expectKind(kind: HfGpt2ErrorKind, fn: () => unknown, messagePart?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HfGpt2Error, `expected HfGpt2Error, got ${e}`);
    assert.equal(e.kind, kind, `wrong kind for message: ${e.message}`);
    if (messagePart) assert.match(e.message, messagePart);
    return true;
  });
}

function assertSameParams(a: Map<string, ParamTensor>, b: Map<string, ParamTensor>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, t] of a) assert.deepEqual(b.get(name), t, name);
}

test('the hub-layout golden imports with gptkit names, shapes and config', () => {
  const { shape, tensors } = readHfGpt2Dir(TINY);
  assert.deepEqual(shape, TINY_SHAPE);
  assert.deepEqual([...tensors.keys()], [...gpt2ParamShapes(shape).keys()]);
  for (const [name, want] of gpt2ParamShapes(shape)) assert.deepEqual(tensors.get(name)!.shape, want, name);
  const raw = goldenTensors();
  assert.deepEqual(tensors.get('transformer.wte.weight')!.data, raw.get('wte.weight')!.data);
  assert.deepEqual(tensors.get('transformer.h.1.ln_2.bias')!.data, raw.get('h.1.ln_2.bias')!.data);
  assert.ok(!tensors.has('transformer.h.0.attn.bias'), 'causal-mask buffers are not parameters');
});

test('imported Conv1D weights act as (out, in) Linear weights: W·x + b equals torch\'s x @ W_conv1d + b', () => {
  const { tensors } = readHfGpt2Dir(TINY);
  const checks = JSON.parse(readFileSync(join(GOLDEN, 'tiny-gpt2-conv1d.json'), 'utf8')) as Record<string, { x: number[]; y: number[] }>;
  assert.equal(Object.keys(checks).length, 4);
  for (const [prefix, { x, y }] of Object.entries(checks)) {
    const w = tensors.get(`${prefix}.weight`)!;
    const b = tensors.get(`${prefix}.bias`)!.data;
    const [out, inp] = w.shape;
    assert.equal(inp, x.length);
    assert.equal(out, y.length);
    for (let o = 0; o < out; o++) {
      let acc = b[o];
      for (let i = 0; i < inp; i++) acc += w.data[o * inp + i] * x[i];
      assert.ok(Math.abs(acc - y[o]) < 1e-5, `${prefix}[${o}]: ${acc} vs ${y[o]}`);
    }
  }
});

test('export writes save_pretrained\'s layout and imports back to the same tensors', () => {
  const { shape, tensors } = readHfGpt2Dir(TINY);
  const dir = join(tmp, 'export');
  mkdirSync(dir);
  writeFileSync(join(dir, 'tokenizer.json'), '{"keep":"me"}');
  writeHfGpt2Dir(dir, shape, tensors, { eosTokenId: 36 });
  assert.equal(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), '{"keep":"me"}', 'other files are left alone');
  assert.ok(isHfGpt2Dir(dir));
  const back = readHfGpt2Dir(dir);
  assert.deepEqual(back.shape, shape);
  assertSameParams(tensors, back.tensors);
  // The file itself: prefixed names, Conv1D layout equal to the hub file's, no lm_head, no buffers.
  const written = readSafetensors(join(dir, 'model.safetensors'));
  assert.deepEqual(written.metadata, { format: 'pt' });
  const raw = goldenTensors();
  const params = [...raw.keys()].filter((n) => !/^h\.\d+\.attn\.(masked_)?bias$/.test(n));
  assert.deepEqual([...written.tensors.keys()].sort(), params.map((n) => 'transformer.' + n).sort());
  for (const n of params) assert.deepEqual(written.tensors.get('transformer.' + n), raw.get(n), n);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'gpt2');
  assert.deepEqual(cfg.architectures, ['GPT2LMHeadModel']);
  assert.equal(cfg.activation_function, 'gelu_new');
  assert.equal(cfg.eos_token_id, 36);
  assert.equal(cfg.bos_token_id, undefined);
  assert.deepEqual(Object.keys(cfg), Object.keys(cfg).slice().sort(), 'keys sorted like HF');
});

test('half-precision export stores F16/BF16 and imports to the rounded values', () => {
  const { shape, tensors } = readHfGpt2Dir(TINY);
  for (const dtype of ['F16', 'BF16'] as const) {
    const dir = join(tmp, `export-${dtype}`);
    writeHfGpt2Dir(dir, shape, tensors, { dtype, bosTokenId: 0 });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.torch_dtype, dtype === 'F16' ? 'float16' : 'bfloat16');
    assert.equal(cfg.bos_token_id, 0);
    assert.equal(readSafetensors(join(dir, 'model.safetensors')).tensors.get('transformer.wte.weight')!.dtype, dtype);
    const back = readHfGpt2Dir(dir).tensors;
    for (const [name, t] of tensors) {
      const rounded = toFloat32({ dtype, shape: t.shape, data: fromFloat32(t.data, dtype) });
      assert.deepEqual(back.get(name)!.data, rounded, name);
    }
  }
});

test('prefixed names with a tied lm_head load the same as the hub\'s bare names', () => {
  const raw = goldenTensors();
  const prefixed = new Map([...raw].map(([n, t]) => ['transformer.' + n, t]));
  prefixed.set('lm_head.weight', raw.get('wte.weight')!);
  // Older transformers persisted the causal mask as a BOOL buffer: skipped, whatever its dtype.
  prefixed.set('transformer.h.0.attn.bias', { dtype: 'BOOL', shape: [1, 1, 8, 8], data: new Uint8Array(64).fill(1) });
  assertSameParams(readHfGpt2Dir(TINY).tensors, readHfGpt2Dir(makeDir(prefixed)).tensors);
});

test('sharded weights (model.safetensors.index.json) load', () => {
  const raw = [...goldenTensors()];
  const dir = join(tmp, 'sharded');
  mkdirSync(dir);
  const half = Math.floor(raw.length / 2);
  const shards = [raw.slice(0, half), raw.slice(half)];
  const weightMap: Record<string, string> = {};
  shards.forEach((s, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(join(dir, file), new Map(s));
    for (const [n] of s) weightMap[n] = file;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  copyFileSync(join(TINY, 'config.json'), join(dir, 'config.json'));
  assert.ok(isHfGpt2Dir(dir));
  assertSameParams(readHfGpt2Dir(TINY).tensors, readHfGpt2Dir(dir).tensors);

  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'wte.weight': '../evil.safetensors' } }));
  expectKind('bad-index', () => readHfGpt2Dir(dir), /same directory/);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ shards: [] }));
  expectKind('bad-index', () => readHfGpt2Dir(dir), /weight_map/);
});

test('bad weights are named: missing, unexpected, duplicated, wrongly shaped, wrong dtype, untied head', () => {
  const variant = (edit: (m: Map<string, SafeTensor>) => void) => {
    const m = goldenTensors();
    edit(m);
    return makeDir(m);
  };
  expectKind('missing-tensor', () => readHfGpt2Dir(variant((m) => m.delete('h.1.mlp.c_fc.bias'))), /1 parameter\(s\) missing.*"transformer\.h\.1\.mlp\.c_fc\.bias"$/);
  // A config.json with one layer more than the weights: the whole layer is listed, abbreviated.
  expectKind('missing-tensor', () => readHfGpt2Dir(makeDir(goldenTensors(), { ...goldenConfig(), n_layer: 3 })), /12 parameter\(s\) missing.*"transformer\.h\.2\.ln_1\.weight", .*, …$/);
  expectKind('unexpected-tensor', () => readHfGpt2Dir(variant((m) => m.set('h.2.ln_1.weight', m.get('h.1.ln_1.weight')!))), /"h\.2\.ln_1\.weight".*n_layer=2/);
  expectKind('duplicate-tensor', () => readHfGpt2Dir(variant((m) => m.set('transformer.wte.weight', m.get('wte.weight')!))), /wte\.weight/);
  // A (out, in) Linear-layout c_attn gets a hint about the layout.
  assert.throws(() => readHfGpt2Dir(variant((m) => {
    const w = m.get('h.0.attn.c_attn.weight')!;
    m.set('h.0.attn.c_attn.weight', { dtype: 'F32', shape: [48, 16], data: transpose2d(w.data as Float32Array, 16, 48) });
  })), (e: unknown) => e instanceof HfGpt2Error && e.kind === 'shape-mismatch'
    && /expected shape \[16,48\] \(Conv1D layout: in, out\), found \[48,16\]/.test(e.message) && /Linear layout/.test(e.hint ?? ''));
  expectKind('shape-mismatch', () => readHfGpt2Dir(variant((m) => m.set('wpe.weight', { dtype: 'F32', shape: [4, 16], data: new Float32Array(64) }))),
    /"wpe\.weight": expected shape \[8,16\], found \[4,16\]/);
  expectKind('bad-dtype', () => readHfGpt2Dir(variant((m) => m.set('ln_f.bias', { dtype: 'I32', shape: [16], data: new Int32Array(16) }))), /"ln_f\.bias" is I32/);
  expectKind('untied-lm-head', () => readHfGpt2Dir(variant((m) => {
    const wte = m.get('wte.weight')!.data as Float32Array;
    const head = wte.slice();
    head[5] += 1;
    m.set('lm_head.weight', { dtype: 'F32', shape: [37, 16], data: head });
  })), /element 5/);
  expectKind('untied-lm-head', () => readHfGpt2Dir(variant((m) => m.set('lm_head.weight', { dtype: 'F32', shape: [16], data: new Float32Array(16) }))), /shape \[16\]/);
});

test('missing files are reported, with a hint for pickle-only directories', () => {
  const dir = join(tmp, 'empty');
  mkdirSync(dir);
  expectKind('missing-file', () => readHfGpt2Dir(dir), /no config\.json/);
  copyFileSync(join(TINY, 'config.json'), join(dir, 'config.json'));
  expectKind('missing-file', () => readHfGpt2Dir(dir), /no model\.safetensors/);
  writeFileSync(join(dir, 'pytorch_model.bin'), 'not read');
  assert.throws(() => readHfGpt2Dir(dir), (e: unknown) => e instanceof HfGpt2Error && /pytorch_model\.bin/.test(e.message) && /safe_serialization/.test(e.hint ?? ''));
  assert.equal(isHfGpt2Dir(dir), false);
});

test('isHfGpt2Dir recognises only gpt2 configs with safetensors weights', () => {
  assert.equal(isHfGpt2Dir(TINY), true);
  assert.equal(isHfGpt2Dir(join(tmp, 'nowhere')), false);
  const t = goldenTensors();
  assert.equal(isHfGpt2Dir(makeDir(t, { ...goldenConfig(), model_type: 'bert', architectures: ['BertModel'] })), false);
  assert.equal(isHfGpt2Dir(makeDir(t, '{not json')), false);
  const { model_type: _drop, ...noType } = goldenConfig();
  assert.equal(isHfGpt2Dir(makeDir(t, noType)), true, 'architectures alone identify GPT-2');
});

test('config.json maps to GptShape with HF defaults, and unsupported settings are refused', () => {
  const cfg = goldenConfig();
  assert.deepEqual(hfConfigToShape(cfg), TINY_SHAPE);
  const { n_positions: _np, layer_norm_epsilon: _eps, resid_pdrop: _r, activation_function: _a, ...sparse } = cfg;
  assert.deepEqual(hfConfigToShape({ ...sparse, n_ctx: 8 }), TINY_SHAPE, 'n_ctx stands in for n_positions; HF defaults fill the rest');
  assert.equal(hfConfigToShape({ ...cfg, activation_function: 'gelu_pytorch_tanh', n_inner: 64 }).nEmbd, 16);
  assert.deepEqual(hfConfigToShape(shapeToHfConfig(TINY_SHAPE)), TINY_SHAPE);

  expectKind('unsupported-config', () => hfConfigToShape({ ...cfg, activation_function: 'relu' }, 'x/config.json'), /x\/config\.json: "activation_function": "relu" is not supported/);
  expectKind('unsupported-config', () => hfConfigToShape({ ...cfg, model_type: 'gpt_neo' }), /model_type/);
  expectKind('unsupported-config', () => hfConfigToShape({ ...cfg, n_inner: 48 }), /4 × n_embd = 64/);
  expectKind('unsupported-config', () => hfConfigToShape({ ...cfg, scale_attn_weights: false }));
  expectKind('unsupported-config', () => hfConfigToShape({ ...cfg, scale_attn_by_inverse_layer_idx: true }));
  expectKind('unsupported-config', () => hfConfigToShape({ ...cfg, add_cross_attention: true }));
  const { n_embd: _e, ...noEmbd } = cfg;
  expectKind('bad-config', () => hfConfigToShape(noEmbd), /missing field "n_embd"/);
  expectKind('bad-config', () => hfConfigToShape({ ...cfg, n_layer: '2' }), /"n_layer" must be a positive integer, found "2"/);
  expectKind('bad-config', () => hfConfigToShape({ ...cfg, n_head: 3 }), /divisible/);
  expectKind('bad-config', () => hfConfigToShape({ ...cfg, attn_pdrop: 1.5 }), /probability/);
  expectKind('bad-config', () => hfConfigToShape([1]), /JSON object/);
  expectKind('bad-config', () => readHfGpt2Dir(makeDir(goldenTensors(), '{broken')), /cannot read JSON/);
  expectKind('unsupported-config', () => readHfGpt2Dir(makeDir(goldenTensors(), { ...cfg, activation_function: 'gelu' })));
});

test('writeHfGpt2Dir and gpt2ParamShapes check their inputs', () => {
  const { shape, tensors } = readHfGpt2Dir(TINY);
  const dir = join(tmp, 'bad-export');
  const without = new Map(tensors);
  without.delete('transformer.ln_f.bias');
  expectKind('missing-tensor', () => writeHfGpt2Dir(dir, shape, without), /"transformer\.ln_f\.bias"/);
  const extra = new Map(tensors).set('lm_head.weight', tensors.get('transformer.wte.weight')!);
  expectKind('unexpected-tensor', () => writeHfGpt2Dir(dir, shape, extra), /"lm_head\.weight"/);
  const wrong = new Map(tensors).set('transformer.wpe.weight', { shape: [16, 8], data: new Float32Array(128) });
  expectKind('shape-mismatch', () => writeHfGpt2Dir(dir, shape, wrong), /expected shape \[8,16\], found \[16,8\]/);
  const short = new Map(tensors).set('transformer.wpe.weight', { shape: [8, 16], data: new Float32Array(10) });
  expectKind('shape-mismatch', () => writeHfGpt2Dir(dir, shape, short), /10 values/);
  assert.throws(() => gpt2ParamShapes({ ...shape, nHead: 3 }), ConfigError);
  assert.throws(() => gpt2ParamShapes({ ...shape, nLayer: 0 }), /nLayer must be a positive integer/);
  assert.throws(() => gpt2ParamShapes({ ...shape, layerNormEps: 0 }), /layerNormEps/);
  assert.throws(() => shapeToHfConfig({ ...shape, dropout: { ...shape.dropout, embd: 1 } }), /dropout\.embd/);
});

test('transpose2d matches the naive transpose across tile boundaries', () => {
  const rows = 37, cols = 70;
  const src = Float32Array.from({ length: rows * cols }, (_, i) => i * 0.5 - 3);
  const t = transpose2d(src, rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) assert.equal(t[c * rows + r], src[r * cols + c]);
  assert.deepEqual(transpose2d(t, cols, rows), src);
});
