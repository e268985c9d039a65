// BERT pretraining: the masking and NSP statistics over many draws, and the stage end to end on a
// throwaway corpus (the loss goes down, the checkpoint is a Hugging Face BERT directory, a resumed
// run equals the uninterrupted one to the last bit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainWordPiece } from '../tokenizer/wordpiece.ts';
import { pretrainBertRun, pretrain, type PretrainEvent } from './pretrain.ts';
import { BertPairs, maskTokens, splitSentences } from './pretrain-bert.ts';
import { loadBertDir } from '../interop/hf-bert.ts';
import { Rng } from '../util/rng.ts';

const sp = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4, vocabSize: 100 };

test('masking: 15% of real tokens selected, 80% [MASK] / 10% random / 10% unchanged; [CLS], [SEP], padding never', () => {
  const rng = new Rng(5);
  const B = 8, T = 64;
  let real = 0, selected = 0, masked = 0, random = 0, kept = 0;
  for (let draw = 0; draw < 300; draw++) {
    const ids = new Int32Array(B * T).fill(sp.pad), lengths = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const L = 10 + rng.int(T - 10);
      lengths[b] = L;
      for (let t = 0; t < L; t++) ids[b * T + t] = 5 + rng.int(95);
      ids[b * T] = sp.cls; ids[b * T + (L >> 1)] = sp.sep; ids[b * T + L - 1] = sp.sep;
      real += L - 3;
    }
    const orig = ids.slice();
    const labels = maskTokens(ids, lengths, B, T, sp, rng);
    for (let i = 0; i < B * T; i++) {
      if (labels[i] === -100) { assert.equal(ids[i], orig[i], 'unselected tokens are untouched'); continue; }
      assert.ok(![sp.cls, sp.sep, sp.pad].includes(orig[i]), `special token ${orig[i]} selected`);
      assert.equal(labels[i], orig[i]);
      selected++;
      if (ids[i] === sp.mask) masked++;
      else if (ids[i] === orig[i]) kept++;
      else { random++; assert.ok(ids[i] >= 5, `random replacement ${ids[i]} (was ${orig[i]}) is not an ordinary token`); }
    }
  }
  const near = (x: number, p: number, tol: number, what: string) => assert.ok(Math.abs(x - p) < tol, `${what}: ${x.toFixed(4)} vs ${p}`);
  near(selected / real, 0.15, 0.005, 'selected');
  near(masked / selected, 0.8, 0.01, '[MASK]');
  near(random / selected, 0.1, 0.01, 'random');
  // (A random draw that hits the original token counts as unchanged: 1 in 95, within the tolerance.)
  near(kept / selected, 0.1, 0.01, 'unchanged');
});

test('sentence pairs: [CLS] A [SEP] B [SEP], segments, NSP 50/50, lengths as scheduled', () => {
  const rng = new Rng(1);
  const docs = Array.from({ length: 40 }, (_, d) => Array.from({ length: 3 + rng.int(6) }, (_, s) => Int32Array.from({ length: 2 + rng.int(8) }, () => 5 + ((d * 7 + s) % 95))));
  const pairs = new BertPairs(docs, 16, (k) => (k < 100 ? 16 : 32), sp, 3);
  let random = 0, n = 0;
  for (let k = 0; k < 200; k++) {
    const b = pairs.next();
    assert.equal(b.T, k < 100 ? 16 : 32);
    for (let r = 0; r < b.B; r++) {
      const row: number[] = Array.from(b.ids.subarray(r * b.T, r * b.T + b.lengths[r]));
      const labels = b.targets.subarray(r * b.T, r * b.T + b.lengths[r]);
      const orig: number[] = row.map((t: number, i: number) => (labels[i] === -100 ? t : labels[i]));
      assert.equal(orig[0], sp.cls);
      assert.equal(orig.at(-1), sp.sep);
      assert.equal(orig.filter((t) => t === sp.sep).length, 2);
      const firstSep = orig.indexOf(sp.sep);
      for (let t = 0; t < b.lengths[r]; t++) assert.equal(b.typeIds[r * b.T + t], t > firstSep ? 1 : 0);
      for (let t = b.lengths[r]; t < b.T; t++) assert.equal(b.ids[r * b.T + t], sp.pad);
      random += b.nspLabels[r];
      n++;
    }
  }
  assert.ok(Math.abs(random / n - 0.5) < 0.04, `random next segments: ${random / n}`);
  const s = pairs.state();
  const x = pairs.next();
  pairs.restore(s);
  assert.deepEqual(pairs.next().ids, x.ids, 'restoring the state redraws the same batch');
  assert.deepEqual(splitSentences('One. Two! Three?\nFour 五。六'), ['One.', 'Two!', 'Three?', 'Four 五。', '六']);
});

test('pretrain --arch bert: loss goes down, the checkpoint is a BERT directory, resume is exact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-bert-pretrain-'));
  const corpus = join(dir, 'corpus.jsonl');
  const rng = new Rng(3);
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'home', 'mira', 'lives', 'in', 'dorvale'];
  const sentence = () => Array.from({ length: 4 + rng.int(6) }, () => rng.pick(words)).join(' ') + '.';
  writeFileSync(corpus, Array.from({ length: 60 }, () => JSON.stringify({ text: Array.from({ length: 4 }, sentence).join(' ') })).join('\n') + '\n');
  const tok = await trainWordPiece(readFileSync(corpus, 'utf8').split('\n'), { vocabSize: 120 });
  tok.save(join(dir, 'tok'));
  const base = { preset: 'bert-world-nano', model: { blockSize: 32 }, steps: 8, batchSize: 4, warmupSteps: 2, lr: 2e-3, evalEvery: 4, evalBatches: 2, seed: 11, data: [corpus], tokenizer: join(dir, 'tok') };
  const losses = (ev: PretrainEvent[]) => ev.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

  const full: PretrainEvent[] = [];
  await pretrainBertRun({ ...base, out: join(dir, 'full') }, (e) => full.push(e));
  assert.equal(losses(full).length, 8);
  assert.ok(losses(full)[7] < losses(full)[0], `the loss goes down: ${losses(full)}`);
  const loaded = loadBertDir(join(dir, 'full'));
  assert.equal(loaded.heads, 'loaded');
  assert.equal(loaded.config.model_type, 'bert');
  assert.ok(existsSync(join(dir, 'full', 'vocab.txt')));
  const metrics = readFileSync(join(dir, 'full', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(metrics.some((m) => typeof m.mlm_loss === 'number' && typeof m.nsp_loss === 'number'));
  assert.ok(metrics.some((m) => typeof m.val_loss === 'number'));

  const out = join(dir, 'crashy');
  const first: PretrainEvent[] = [];
  await assert.rejects(pretrainBertRun({ ...base, checkpointEvery: 4, out }, (e) => {
    first.push(e);
    if (e.type === 'step' && e.step === 6) throw new Error('simulated crash');
  }), /simulated crash/);
  const resumed: PretrainEvent[] = [];
  await pretrainBertRun({ out, resume: true, lr: 2e-3 }, (e) => resumed.push(e));
  assert.deepEqual([...losses(first).slice(0, 4), ...losses(resumed)], losses(full), 'losses after resuming equal the uninterrupted run');
  const a = loadBertDir(join(dir, 'full')).model.namedParameters(), b = loadBertDir(out).model.namedParameters();
  a.forEach(([n, t], i) => assert.deepEqual(t.data, b[i][1].data, n));
  await assert.rejects(pretrainBertRun({ out, resume: true, lr: 1e-3 }), /--lr 0\.001 differs from the checkpoint's 0\.002/);
  await assert.rejects(pretrainBertRun({ ...base, tokenizer: 'gpt2', out: join(dir, 'x') }), /WordPiece tokenizer/);
  await assert.rejects(pretrainBertRun({ ...base, preset: 'tiny', out: join(dir, 'y') }), /not a BERT preset/);
  await assert.rejects(pretrain({ ...base, arch: 'bert', out: join(dir, 'z') }), /pretrainBertRun/);
});
