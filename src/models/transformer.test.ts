// The 2017 Transformer against a PyTorch model built from torch.nn layers (goldens made by
// tests/golden/transformer/make_goldens.py): logits, label-smoothed loss and every gradient, on
// every backend. Decoding: cached steps equal full recomputation, greedy equals argmax of the full
// model, and beam search equals a brute-force search over every output on a tiny model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableBackends, setBackend, backend } from '../backend/index.ts';
import { Transformer, transformerConfig, transformerPresets, countTransformerParams, greedyDecode, beamSearch, lengthPenalty, type TransformerConfig } from './transformer.ts';
import { scope, noGrad } from '../tensor/tensor.ts';

const dir = join(import.meta.dirname, '..', '..', 'tests', 'golden', 'transformer');

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
}

const before = backend();
for (const be of availableBackends()) {
  test(`logits, loss and every gradient match torch.nn's Transformer (${be.name} backend)`, () => {
    setBackend(be);
    try {
      const meta = JSON.parse(readFileSync(join(dir, 'transformer_tiny.json'), 'utf8'));
      const buf = readFileSync(join(dir, 'transformer_tiny.bin'));
      const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      const get = (n: string) => { const t = meta.tensors.find((x: { name: string }) => x.name === n); if (!t) throw new Error(`no ${n}`); return all.subarray(t.offset, t.offset + t.length); };
      const model = new Transformer(transformerConfig(meta.config as TransformerConfig));
      const named = model.namedParameters();
      assert.equal(named.length, meta.tensors.filter((t: { name: string }) => t.name.startsWith('grad.')).length);
      for (const [n, t] of named) t.data.set(get(n));
      const batch = { src: Int32Array.from(meta.src), srcLen: Int32Array.from(meta.src_lens), S: meta.S, tgtIn: Int32Array.from(meta.tgt_in), T: meta.T, B: meta.B, tgtOut: Int32Array.from(meta.tgt_out) };
      scope(() => {
        const { logits, loss } = model.forward(batch);
        const V = meta.config.vocabSize, real = (x: Float32Array) => Array.from({ length: meta.B }, (_, b) => Array.from(x.subarray(b * meta.T * V, (b * meta.T + meta.tgt_lens[b]) * V))).flat();
        assert.ok(relErr(real(logits.data), real(get('logits'))) < 1e-4, `logits rel err ${relErr(real(logits.data), real(get('logits')))}`);
        assert.ok(Math.abs(loss!.item() - get('loss')[0]) < 1e-4 * get('loss')[0], `loss ${loss!.item()} vs ${get('loss')[0]}`);
        loss!.backward();
      });
      for (const [n, t] of named) {
        // As in BERT, a key bias's true gradient is 0 (it shifts a query's scores equally).
        const e = /(c_attn|kv_proj)\.bias$/.test(n) ? keyBiasErr(t.grad!, get(`grad.${n}`), meta.config.nEmbd) : relErr(t.grad!, get(`grad.${n}`));
        assert.ok(e < 1e-3, `grad of ${n}: rel err ${e}`);
      }
    } finally {
      setBackend(before);
    }
  });
}

/** The query and value parts of a fused bias compared relatively, the key part absolutely (≈ 0). */
function keyBiasErr(g: Float32Array, ref: Float32Array, C: number): number {
  const fused = g.length === 3 * C, k0 = fused ? C : 0;
  const keyPart = Math.max(...Array.from(g.subarray(k0, k0 + C), Math.abs)) * 1e3;
  const rest = [...Array.from(g.subarray(0, k0)), ...Array.from(g.subarray(k0 + C))], restRef = [...Array.from(ref.subarray(0, k0)), ...Array.from(ref.subarray(k0 + C))];
  return Math.max(keyPart, relErr(rest, restRef));
}

// A tiny model whose outputs are worth searching: 3 ordinary tokens, so every output up to 4 tokens can be listed.
const PAD = 0, BOS = 1, EOS = 2;
function tinyModel(): Transformer {
  const m = new Transformer(transformerConfig('transformer-world-nano', { vocabSize: 6, nEmbd: 16, nHead: 2, dFf: 32, nLayer: 2, blockSize: 16, dropout: 0 }), 7);
  for (const [, t] of m.namedParameters()) for (let i = 0; i < t.size; i++) t.data[i] *= 2; // seed 7 at this scale: greedy stops at once, the best output does not
  return m.eval();
}
const src = Int32Array.from([3, 4, 5, 3, 4, 0, 0, 5, 5, 4, 3, 3, 3, 0]), srcLen = Int32Array.from([5, 7]);

/** log p(tokens … then EOS unless truncated) by full teacher-forced recomputation. */
function fullLogProb(m: Transformer, b: number, tokens: number[], withEos: boolean): number {
  return noGrad(() => scope(() => {
    const tgtIn = [BOS, ...tokens];
    const { logits } = m.forward({ src: src.subarray(b * 7, b * 7 + 7), srcLen: srcLen.subarray(b, b + 1), S: 7, tgtIn: Int32Array.from(tgtIn), T: tgtIn.length, B: 1 });
    const V = 6, targets = [...tokens, ...(withEos ? [EOS] : [])];
    let s = 0;
    targets.forEach((tok, t) => {
      const row = Array.from(logits.data.subarray(t * V, (t + 1) * V)).map((x, v) => (v === PAD || v === BOS ? -Infinity : x));
      const max = Math.max(...row), lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      s += row[tok] - lse;
    });
    return s;
  }));
}

test('beam search equals a brute-force search over every output (wide beam), and width 4 never beats it', () => {
  const m = tinyModel();
  const maxLen = 4, alpha = 0.6;
  for (let b = 0; b < 2; b++) {
    let best = { tokens: [] as number[], score: -Infinity };
    const visit = (prefix: number[]) => {
      // End here with EOS …
      const withEos = fullLogProb(m, b, prefix, true) / lengthPenalty(prefix.length + 1, alpha);
      if (withEos > best.score) best = { tokens: prefix, score: withEos };
      if (prefix.length + 1 === maxLen) { // … or be cut at maxLen without it
        for (const v of [3, 4, 5]) {
          const cut = fullLogProb(m, b, [...prefix, v], false) / lengthPenalty(maxLen, alpha);
          if (cut > best.score) best = { tokens: [...prefix, v], score: cut };
        }
        return;
      }
      for (const v of [3, 4, 5]) visit([...prefix, v]);
    };
    visit([]);
    const enc = m.encodeSource(src, 2, 7, srcLen);
    const wide = beamSearch(m, enc, { bos: BOS, eos: EOS, banned: [PAD, BOS], maxLen, beam: 64, alpha })[b];
    assert.deepEqual(wide.tokens, best.tokens, `sentence ${b}`);
    assert.ok(best.tokens.length > 0, 'a search problem where stopping at once is not the answer');
    assert.ok(Math.abs(wide.score - best.score) < 1e-4, `${wide.score} vs ${best.score}`);
    const four = beamSearch(m, m.encodeSource(src, 2, 7, srcLen), { bos: BOS, eos: EOS, banned: [PAD, BOS], maxLen, beam: 4, alpha })[b];
    assert.ok(four.score <= best.score + 1e-6);
    // Its score is its output's: ended by EOS, or cut at maxLen.
    const ended = four.tokens.length < maxLen;
    const rescored = fullLogProb(m, b, four.tokens, ended) / lengthPenalty(four.tokens.length + (ended ? 1 : 0), alpha);
    assert.ok(Math.abs(four.score - rescored) < 1e-4, `width-4 score ${four.score} vs ${rescored}`);
  }
});

test('greedy decoding with the caches equals the argmax of full recomputation (and misses the best output here)', () => {
  const m = tinyModel();
  const [a, b] = greedyDecode(m, m.encodeSource(src, 2, 7, srcLen), { bos: BOS, eos: EOS, banned: [PAD, BOS], maxLen: 6 });
  for (const [i, got] of [a, b].entries()) {
    const want: number[] = [];
    for (let t = 0; t < 6; t++) {
      const scores = [3, 4, 5, EOS].map((v) => ({ v, s: fullLogProb(m, i, [...want, v], false) }));
      const best = scores.reduce((x, y) => (y.s > x.s ? y : x));
      if (best.v === EOS) break;
      want.push(best.v);
    }
    assert.deepEqual(got, want, `sentence ${i}`);
  }
  assert.deepEqual(a, [], 'greedy ends at once where the searches find a longer, better output');
});

test('presets: the base model has the paper\'s 65M parameters', () => {
  assert.ok(Math.abs(countTransformerParams(transformerPresets['transformer-base']) - 63e6) < 3e6, String(countTransformerParams(transformerPresets['transformer-base'])));
  const m = new Transformer(transformerConfig('transformer-world-nano'));
  assert.equal(m.numParameters(), countTransformerParams(m.config));
  assert.throws(() => transformerConfig('transformer-base', { nHead: 7 }), /divisible/);
});
