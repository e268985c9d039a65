import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, gptConfig } from './gpt.ts';
import { quantizeModel } from './quantize.ts';
import { noGrad, scope } from '../tensor/tensor.ts';
import { generate } from '../generate/generate.ts';
import { argmax } from '../generate/sampling.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { saveCheckpoint } from '../interop/checkpoint.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { runCli } from '../cli/test-cli.ts';

const make = () => {
  const m = new GPT(gptConfig('nano', { vocabSize: 96, blockSize: 48, nLayer: 2, nHead: 2, nEmbd: 64, dropout: 0 }), 4).eval();
  for (const [, p] of m.namedParameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += Math.sin(i * 12.9898 + p.data.length) * 0.1;
  return m;
};
const ids = Array.from({ length: 20 }, (_, i) => (i * 37 + 5) % 96);
const logits = (m: GPT) => noGrad(() => scope(() => m.forward(Int32Array.from(ids), 1, ids.length).logits.data.slice()));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((w, x, i) => Math.max(w, Math.abs(x - b[i])), 0);

test('bf16 and q8_0 decoding: logits close to float32, KV-cache decoding consistent, bytes as promised', () => {
  const ref = logits(make());
  const scale = ref.reduce((w, x) => Math.max(w, Math.abs(x)), 0);
  for (const [dtype, tol, ratio] of [['bf16', 0.02, 0.5], ['q8_0', 0.03, 34 / 128]] as const) {
    const m = make();
    const r = quantizeModel(m, dtype);
    assert.equal(r.matrices, 1 + 2 * 4, 'the tied embedding (LM head) and four matrices a block');
    assert.ok(Math.abs(r.bytes / r.f32Bytes - ratio) < 1e-9, `${dtype}: ${r.bytes} of ${r.f32Bytes} bytes`);
    const got = logits(m);
    assert.ok(maxDiff(got, ref) < tol * scale, `${dtype}: max |Δ| ${maxDiff(got, ref)} (logits up to ${scale})`);
    assert.ok(maxDiff(got, ref) > 0, `${dtype}: the narrow weights are what is read`);
    // Decoding step by step (batch rows through qlinear) agrees with the narrow full forward.
    const prompt = ids.slice(0, 6);
    const [g] = generate(m, [prompt, prompt.slice(2)], (l) => argmax(l), { maxTokens: 10 });
    const seq = [...prompt];
    for (let i = 0; i < 10; i++) {
      const l = noGrad(() => scope(() => m.forward(Int32Array.from(seq), 1, seq.length, undefined, { lastOnly: true }).logits.data.slice()));
      seq.push(argmax(l));
    }
    assert.deepEqual(g.tokens, seq.slice(6), dtype);
  }
});

test('training ignores the narrow copy; f32 drops it; q8_0 needs widths that are multiples of 32', () => {
  const m = make(), plain = make();
  quantizeModel(m, 'q8_0');
  const lossOf = (x: GPT) => scope(() => x.forward(Int32Array.from(ids), 1, ids.length, Int32Array.from([...ids.slice(1), 0])).loss!.item());
  assert.equal(lossOf(m), lossOf(plain), 'with gradients recorded, linear reads float32');
  quantizeModel(m, 'f32');
  assert.deepEqual(logits(m), logits(plain));
  const odd = new GPT(gptConfig('nano', { vocabSize: 50, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 40 }), 1);
  assert.throws(() => quantizeModel(odd, 'q8_0'), /multiple of 32.*40/);
  assert.equal(quantizeModel(odd, 'bf16').matrices, 5);
});

test('sample and score --dtype: narrow weights from the command line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-quant-'));
  const tok = await trainBpe(['the fox and the hen went to the river and the market '.repeat(30)], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  const m = new GPT(gptConfig('nano', { vocabSize: tok.vocabSize, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 64 }), 2);
  saveCheckpoint(join(dir, 'ck'), m, { tokenizerJson: { text: tokenizerJsonText(tok.toSpec()) } });
  const score = async (dtype: string) => JSON.parse((await runCli(['score', '--model', join(dir, 'ck'), '--text', 'the fox went to the market', '--json', '--dtype', dtype])).out).total_logprob as number;
  const f32 = await score('f32'), q8 = await score('q8_0'), bf = await score('bf16');
  assert.ok(Math.abs(q8 - f32) < 0.05 * Math.abs(f32) && q8 !== f32, `q8_0 ${q8} vs f32 ${f32}`);
  assert.ok(Math.abs(bf - f32) < 0.02 * Math.abs(f32), `bf16 ${bf} vs f32 ${f32}`);
  const s = await runCli(['sample', '--model', join(dir, 'ck'), '--prompt', 'the fox', '--max-tokens', '5', '--dtype', 'q8_0', '--greedy']);
  assert.equal(s.code, 0, s.err);
  const bad = await runCli(['sample', '--model', join(dir, 'ck'), '--prompt', 'x', '--dtype', 'int4']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /dtype/);
});
