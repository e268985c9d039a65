import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, gptConfig } from '../models/gpt.ts';
import { noGrad, scope } from '../tensor/tensor.ts';
import { trainBpe } from '../tokenizer/index.ts';
import { Rng } from '../util/rng.ts';
import { FileFormatError } from '../util/errors.ts';
import { dequantizeQ8_0, quantizeQ8_0, openGguf, writeGguf, gguf } from './gguf.ts';
import { exportGguf, loadGgufGpt2, isGgufFile } from './gguf-gpt2.ts';
import { loadModel } from './load.ts';
import { readChatTemplate, CHATML_TEMPLATE } from '../rlhf/chat-template.ts';
import { runCli } from '../cli/test-cli.ts';
import { saveCheckpoint } from './checkpoint.ts';
import { tokenizerJsonText } from '../tokenizer/formats.ts';
import { saveChatCheckpoint } from '../rlhf/chat-model.ts';
import { ChatTemplate } from '../rlhf/chat-template.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-gguf-'));
const texts = ['The fox lives near Dorvale. It likes figs and plums.', 'Once upon a time a baker sold bread by the river.', 'Q: How old is Kaba? A: Kaba is 44.'];
const tok = await trainBpe([texts.join('\n').repeat(20)], { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] });
const model = new GPT(gptConfig('nano', { vocabSize: tok.vocabSize, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 64, dropout: 0 }), 7).eval();

const logitsOf = (m: GPT, ids: number[]) => noGrad(() => scope(() => m.forward(Int32Array.from(ids), 1, ids.length).logits.data.slice()));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((w, x, i) => Math.max(w, Math.abs(x - b[i])), 0);

test('Q8_0: blocks of 32 with an F16 scale; every value within half a step of the original', () => {
  const rng = new Rng(3);
  const x = Float32Array.from({ length: 256 }, () => (rng.next() - 0.5) * 4);
  x.fill(0, 64, 96); // an all-zero block: scale 0, values 0
  const q = quantizeQ8_0(x);
  assert.equal(q.length, (256 / 32) * 34);
  const y = dequantizeQ8_0(q, 256);
  for (let b = 0; b < 8; b++) {
    const amax = Math.max(...x.subarray(b * 32, b * 32 + 32).map(Math.abs));
    const step = amax / 127;
    for (let i = b * 32; i < b * 32 + 32; i++) assert.ok(Math.abs(y[i] - x[i]) <= step * 0.5 + amax * 1e-3, `${i}: ${x[i]} → ${y[i]}`);
  }
  assert.deepEqual([...y.subarray(64, 96)], new Array(32).fill(0));
  assert.throws(() => quantizeQ8_0(new Float32Array(33)), /multiple of 32/);
});

test('export → load: F32 gives identical logits, F16 and Q8_0 close ones; tokenizer and chat template survive', () => {
  const ids = tok.encode(texts[0]);
  const want = logitsOf(model, ids);
  const tolerance = { F32: 0, F16: 2e-3, BF16: 2e-2, Q8_0: 3e-2 } as const;
  for (const dtype of ['F32', 'F16', 'BF16', 'Q8_0'] as const) {
    const path = join(dir, `m-${dtype}.gguf`);
    exportGguf(model, tok, path, { dtype, chatTemplate: dtype === 'F32' ? CHATML_TEMPLATE : undefined });
    assert.ok(isGgufFile(path));
    const g = loadGgufGpt2(path);
    assert.equal(g.dtype, dtype);
    const got = logitsOf(g.model, ids);
    assert.ok(maxDiff(got, want) <= tolerance[dtype], `${dtype}: max |Δlogit| ${maxDiff(got, want)}`);
    for (const t of [...texts, 'unseen words: zebra quartz', '<|im_start|>user\nhi<|im_end|>']) {
      assert.deepEqual(g.tokenizer.encode(t, { allowedSpecial: 'all' }), tok.encode(t, { allowedSpecial: 'all' }), t);
      assert.deepEqual(g.tokenizer.encode(t), tok.encode(t), `${t} (specials as text)`);
    }
    assert.equal(g.chatTemplate, dtype === 'F32' ? CHATML_TEMPLATE : null);
    // Every command's --model takes the file: loadModel and the chat template reader.
    const lm = loadModel(path);
    assert.equal(lm.source, 'gguf');
    assert.ok(maxDiff(logitsOf(lm.model, ids), got) === 0);
    assert.equal(readChatTemplate(path).fromFile, dtype === 'F32');
  }
  const f = openGguf(join(dir, 'm-Q8_0.gguf'));
  try {
    assert.equal(f.version, 3);
    assert.equal(f.metadata.get('general.architecture')!.value, 'gpt2');
    assert.equal(f.metadata.get('general.file_type')!.value, 7);
    assert.equal(f.tensors.get('blk.0.attn_qkv.weight')!.type, 'Q8_0');
    assert.deepEqual(f.tensors.get('blk.0.attn_qkv.weight')!.dims, [64, 192], 'ggml order: [in, out]');
    assert.equal(f.tensors.get('blk.0.attn_norm.weight')!.type, 'F32', 'norms stay F32');
    assert.ok(f.tensors.has('output.weight'), 'the tied output projection is written, as llama.cpp expects');
    for (const t of f.tensors.values()) assert.equal((f.dataStart + t.offset) % 32, 0, `${t.name} aligned`);
  } finally {
    f.close();
  }
});

test('bad GGUF files are errors that name the field, never crashes', () => {
  const good = join(dir, 'good.gguf');
  writeGguf(good, [['general.architecture', gguf.str('gpt2')], ['x', gguf.u32(1)]], [{ name: 't', dims: [32, 2], type: 'F32', values: new Float32Array(64) }]);
  const bytes = readFileSync(good);
  const bad = (name: string, b: Uint8Array, re: RegExp) => {
    const p = join(dir, `${name}.gguf`);
    writeFileSync(p, b);
    assert.throws(() => openGguf(p).close(), (e: unknown) => e instanceof FileFormatError && re.test((e as Error).message) && (e as Error).message.includes(p), name);
  };
  bad('magic', Buffer.concat([Buffer.from('GGML'), bytes.subarray(4)]), /not a GGUF file/);
  const v = Buffer.from(bytes); v.writeUInt32LE(7, 4); bad('version', v, /version: .* found 7/);
  bad('truncated-header', bytes.subarray(0, 40), /truncated|needs/);
  bad('truncated-data', bytes.subarray(0, bytes.length - 8), /tensor "t".*run past the end/);
  const count = Buffer.from(bytes); count.writeBigUInt64LE(1n << 40n, 8); bad('tensor-count', count, /beyond any real file/);
  // Header layout: magic, version, two counts (24 bytes); "general.architecture" = "gpt2" (8 + 20 + 4
  // + 8 + 4); "x" = 1u32 (8 + 1 + 4 + 4); tensor "t": name (8 + 1), n_dims (4), dims (16), then its
  // type (u32) and offset (u64).
  const typeAt = 24 + 44 + 17 + 9 + 4 + 16;
  assert.equal(bytes.readUInt32LE(typeAt), 0, 'F32 where the layout says the type is');
  const headerEnd = typeAt + 12;
  const ty = Buffer.from(bytes); ty.writeUInt32LE(12, typeAt); bad('type', ty, /ggml type 12 is not supported/);
  const off = Buffer.from(bytes); off.writeBigUInt64LE(8n, typeAt + 4); bad('offset', off, /offset 8 is not a multiple of the alignment/);
  const dup = join(dir, 'dup.gguf');
  writeGguf(dup, [['k', gguf.u32(1)], ['k', gguf.u32(2)]], []);
  assert.throws(() => openGguf(dup), /metadata "k" appears twice/);
  const arch = join(dir, 'llama.gguf');
  writeGguf(arch, [['general.architecture', gguf.str('llama')]], []);
  assert.throws(() => loadGgufGpt2(arch), /general.architecture: gptkit reads "gpt2" GGUF files, found "llama"/);
  // Random corruption of the header: an error or a file that still reads, never anything else.
  const rng = new Rng(11);
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(bytes);
    for (let k = 0; k < 3; k++) b[rng.int(headerEnd)] = rng.int(256);
    const p = join(dir, 'fuzz.gguf');
    writeFileSync(p, b);
    try {
      const f = openGguf(p);
      f.read('t');
      f.close();
    } catch (e) {
      assert.ok(e instanceof FileFormatError, `fuzz ${i}: ${(e as Error).stack}`);
    }
  }
});

test('gptkit export --format gguf: the file, its guard, and sample reading it back', async () => {
  const ck = join(dir, 'ck');
  saveCheckpoint(ck, model, { tokenizerJson: { text: tokenizerJsonText(tok.toSpec()) } });
  const out = join(dir, 'cli.gguf');
  const r = await runCli(['export', '--model', ck, '--format', 'gguf', '--dtype', 'q8_0', '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /GGUF v3, architecture gpt2, Q8_0/);
  assert.equal(loadGgufGpt2(out).dtype, 'Q8_0');
  const again = await runCli(['export', '--model', ck, '--format', 'gguf', '--out', out]);
  assert.notEqual(again.code, 0);
  assert.match(again.err, /exists.*--force/s);
  assert.equal((await runCli(['export', '--model', ck, '--format', 'gguf', '--out', out, '--force'])).code, 0);
  assert.equal(loadGgufGpt2(out).dtype, 'F32');
  const notGguf = join(dir, 'notes.txt');
  writeFileSync(notGguf, 'my notes');
  const refused = await runCli(['export', '--model', ck, '--format', 'gguf', '--out', notGguf, '--force']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /not a GGUF file: gptkit will not overwrite it/);
  assert.equal(readFileSync(notGguf, 'utf8'), 'my notes');
  const wrongDtype = await runCli(['export', '--model', ck, '--format', 'gguf', '--dtype', 'Q4_0', '--out', join(dir, 'x.gguf')]);
  assert.match(wrongDtype.err, /--format gguf takes F32, F16, BF16, Q8_0/);
  const sampled = await runCli(['sample', '--model', out, '--prompt', 'The fox', '--max-tokens', '5', '--temperature', '0']);
  assert.equal(sampled.code, 0, sampled.err);
  const direct = await runCli(['sample', '--model', ck, '--prompt', 'The fox', '--max-tokens', '5', '--temperature', '0']);
  assert.equal(sampled.out, direct.out, 'an F32 GGUF samples what its checkpoint does');
});

test("a chat model's template goes along: tokenizer_config.json in the HF export, tokenizer.chat_template in the GGUF", async () => {
  const chatDir = join(dir, 'chat');
  const template = CHATML_TEMPLATE;
  saveChatCheckpoint(chatDir, model, new ChatTemplate(tok, template));
  const hf = join(dir, 'chat-hf');
  const r = await runCli(['export', '--model', chatDir, '--out', hf]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /tokenizer_config.json with the chat template/);
  assert.equal(JSON.parse(readFileSync(join(hf, 'tokenizer_config.json'), 'utf8')).chat_template, template);
  assert.equal(readChatTemplate(hf).template, template);
  const g = join(dir, 'chat.gguf');
  assert.equal((await runCli(['export', '--model', chatDir, '--format', 'gguf', '--out', g])).code, 0);
  assert.equal(loadGgufGpt2(g).chatTemplate, template);
});
