// BERT against Hugging Face transformers' BertForPreTraining: same weights, same padded sentence-pair
// batch → the same MLM and NSP logits, losses and every parameter's gradient (goldens made by
// tests/golden/bert/make_goldens.py in float64), on every backend; presets and parameter counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableBackends, setBackend, backend } from '../backend/index.ts';
import { BertForPreTraining, bertConfig, bertPresets, countBertParams, type BertConfig } from './bert.ts';
import { scope } from '../tensor/tensor.ts';

const dir = join(import.meta.dirname, '..', '..', 'tests', 'golden', 'bert');

interface Golden {
  config: BertConfig;
  B: number;
  T: number;
  lengths: number[];
  ids: number[];
  type_ids: number[];
  mlm_labels: number[];
  nsp_labels: number[];
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

/** max |a − b| / max |b| over the rows kept. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** Only rows of real tokens: HF's padded positions attend with a finite -inf stand-in, gptkit's the same keys, but their outputs are never used. */
function realRows(x: Float32Array, meta: Golden, width: number): Float32Array {
  const out: number[] = [];
  for (let b = 0; b < meta.B; b++) for (let t = 0; t < meta.lengths[b]; t++) out.push(...x.subarray((b * meta.T + t) * width, (b * meta.T + t + 1) * width));
  return Float32Array.from(out);
}

const before = backend();
for (const be of availableBackends()) {
  for (const name of ['bert_tiny', 'bert_tiny_gelu_new']) {
    test(`${name}: MLM/NSP logits, losses and every gradient match transformers (${be.name} backend)`, () => {
      setBackend(be);
      try {
        const { meta, get } = loadGolden(name);
        const model = new BertForPreTraining(bertConfig(meta.config));
        const named = model.namedParameters();
        assert.equal(named.length, meta.tensors.filter((t) => t.name.startsWith('grad.')).length, 'parameter count differs from the golden');
        for (const [n, t] of named) t.data.set(get(n));
        const batch = {
          ids: Int32Array.from(meta.ids), typeIds: Int32Array.from(meta.type_ids), lengths: Int32Array.from(meta.lengths),
          B: meta.B, T: meta.T, mlmLabels: Int32Array.from(meta.mlm_labels), nspLabels: Int32Array.from(meta.nsp_labels),
        };
        const V = meta.config.vocabSize;
        scope(() => {
          const full = model.forward(batch);
          const e = relErr(realRows(full.mlmLogits.data, meta, V), realRows(get('mlm_logits'), meta, V));
          assert.ok(e <= 1e-4, `MLM logits rel err ${e}`);
          assert.ok(relErr(full.nspLogits.data, get('nsp_logits')) <= 1e-4, 'NSP logits');
          assert.ok(Math.abs(full.loss!.item() - get('loss')[0]) <= 1e-4 * get('loss')[0], `loss ${full.loss!.item()} vs ${get('loss')[0]}`);
        });
        model.zeroGrad();
        scope(() => {
          // Training runs the MLM head on the selected positions only: the same loss and gradients.
          const out = model.forward(batch, { selectedOnly: true });
          assert.ok(Math.abs(out.mlmLoss!.item() - get('mlm_loss')[0]) <= 1e-4 * get('mlm_loss')[0]);
          assert.ok(Math.abs(out.nspLoss!.item() - get('nsp_loss')[0]) <= 1e-4 * get('nsp_loss')[0]);
          out.loss!.backward();
        });
        for (const [n, t] of named) {
          // The key bias shifts every score of a query equally, so its true gradient is 0 (HF's is
          // ~1e-17): it is compared absolutely, against float32 noise.
          const e = n.endsWith('key.bias') ? Math.max(...t.grad!.map(Math.abs)) * 1e3 : relErr(t.grad!, get(`grad.${n}`));
          assert.ok(e <= 1e-3, `grad of ${n}: rel err ${e}`);
        }
      } finally {
        setBackend(before);
      }
    });
  }
}

test('presets: BERT-base and BERT-large have the published sizes', () => {
  // BertForPreTraining bert-base-uncased: 110,106,428 parameters (tied decoder counted once).
  assert.equal(countBertParams(bertPresets['bert-base']).total, 110106428);
  assert.ok(Math.abs(countBertParams(bertPresets['bert-large']).total - 335e6) < 5e6);
  const m = new BertForPreTraining(bertConfig('bert-world-nano'));
  assert.equal(m.numParameters(), countBertParams(m.config).total);
  assert.throws(() => bertConfig('bert-tiny', { nHead: 5 }), /divisible/);
  assert.throws(() => bertConfig('nope'), /unknown BERT preset/);
  assert.throws(() => bertConfig('bert-tiny', { foo: 1 } as never), /unknown BERT config key 'foo'/);
});
