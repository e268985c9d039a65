// Hugging Face BERT directories: one saved by transformers (tests/golden/bert/hf, the golden's
// weights) loads and gives transformers' logits; BertModel files (bare names, no heads) load with
// initialised heads; bad files are refused naming the tensor; gptkit export writes a directory back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadBertDir, isBertDir } from './hf-bert.ts';
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import { scope } from '../tensor/tensor.ts';

const golden = join(import.meta.dirname, '..', '..', 'tests', 'golden', 'bert');
const hf = join(golden, 'hf');

function goldenLogits() {
  const meta = JSON.parse(readFileSync(join(golden, 'bert_tiny.json'), 'utf8'));
  const buf = readFileSync(join(golden, 'bert_tiny.bin'));
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const t = meta.tensors.find((x: { name: string }) => x.name === 'nsp_logits');
  return { meta, nsp: all.subarray(t.offset, t.offset + t.length) };
}

test('a transformers BertForPreTraining directory loads and gives its logits', () => {
  assert.ok(isBertDir(hf));
  const { model, tokenizer, heads } = loadBertDir(hf);
  assert.equal(heads, 'loaded');
  assert.equal(tokenizer.vocabSize, 50);
  const { meta, nsp } = goldenLogits();
  model.eval();
  scope(() => {
    const out = model.forward({ ids: Int32Array.from(meta.ids), typeIds: Int32Array.from(meta.type_ids), lengths: Int32Array.from(meta.lengths), B: meta.B, T: meta.T });
    for (let i = 0; i < nsp.length; i++) assert.ok(Math.abs(out.nspLogits.data[i] - nsp[i]) < 1e-4, `nsp ${i}`);
  });
});

test('BertModel files (bare names, no heads) load; a missing or misshapen tensor is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-hfbert-'));
  copyFileSync(join(hf, 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(hf, 'vocab.txt'), join(dir, 'vocab.txt'));
  const { tensors } = readSafetensors(join(hf, 'model.safetensors'));
  const bare = new Map([...tensors].filter(([n]) => n.startsWith('bert.')).map(([n, t]) => [n.slice(5), t]));
  writeSafetensors(join(dir, 'model.safetensors'), bare);
  const a = loadBertDir(dir), b = loadBertDir(hf);
  assert.equal(a.heads, 'initialised');
  assert.deepEqual(a.model.bert.encoder.layer[1].output.dense.weight.data, b.model.bert.encoder.layer[1].output.dense.weight.data);
  bare.delete('encoder.layer.1.output.dense.weight');
  writeSafetensors(join(dir, 'model.safetensors'), bare);
  assert.throws(() => loadBertDir(dir), /missing tensor 'bert\.encoder\.layer\.1\.output\.dense\.weight'/);
  mkdirSync(join(dir, 'x'));
  writeFileSync(join(dir, 'x', 'config.json'), JSON.stringify({ model_type: 'bert', vocab_size: 50, hidden_size: 24, num_hidden_layers: 2, num_attention_heads: 3, intermediate_size: 37, hidden_act: 'relu' }));
  assert.throws(() => loadBertDir(join(dir, 'x')), /hidden_act.*relu/);
});

test('gptkit export --model BERT_DIR writes a BertForPreTraining directory that loads back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-hfbert-export-'));
  const r = spawnSync(process.execPath, ['bin/gptkit.mjs', 'export', '--model', hf, '--out', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
  assert.deepEqual(cfg.architectures, ['BertForPreTraining']);
  const a = loadBertDir(join(dir, 'out')).model.namedParameters(), b = loadBertDir(hf).model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
});
