// The Transformer's stage end to end on a small made-up language (words substituted, verb moved to
// the end, as the world's translation task does): it learns to translate (BLEU and exact match on
// held-out pairs), beam search is no worse than greedy, the checkpoint loads, resume is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainSeq2Seq, loadSeq2Seq, scoreTranslations, readPairs, loadPairs, type Seq2SeqEvent } from './seq2seq.ts';
import { Rng } from '../util/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-seq2seq-'));
const lex: Record<string, string> = { cat: 'miro', dog: 'taku', bird: 'seli', sees: 'vanu', likes: 'pola', chases: 'keri', red: 'ruda', small: 'nini' };
const rng = new Rng(4);
function pair() {
  const np = () => { const adj = rng.next() < 0.5 ? rng.pick(['red', 'small']) : null; const n = rng.pick(['cat', 'dog', 'bird']); return [`the ${adj ? adj + ' ' : ''}${n}`, `${lex[n]}${adj ? ' ' + lex[adj] : ''} ka`]; };
  const [s, o] = [np(), np()], v = rng.pick(['sees', 'likes', 'chases']);
  return { source: `${s[0]} ${v} ${o[0]}.`, target: `${s[1]} ${o[1]} ${lex[v]}.` };
}
const file = join(dir, 'pairs.jsonl');
writeFileSync(file, Array.from({ length: 600 }, () => JSON.stringify(pair())).join('\n') + '\n');

test('pairs files: JSONL {source, target}; a bad line names file and line; a file holds out its last 10%', () => {
  const p = loadPairs(file, 'unused');
  assert.equal(p.train.length, 540);
  assert.equal(p.validation.length, 60);
  writeFileSync(join(dir, 'bad.jsonl'), '{"source":"a","target":"b"}\n{"source":"a"}\n');
  assert.throws(() => readPairs(join(dir, 'bad.jsonl')), /bad\.jsonl:2/);
  assert.throws(() => loadPairs('world:translation', join(dir, 'no-world')), (e: Error & { hint?: string }) => /no such task folder/.test(e.message) && /gptkit world generate/.test(e.hint ?? ''));
});

test('seq2seq train learns the language (BLEU > 80 on held-out pairs); beam 4 ≥ greedy; the checkpoint loads', async () => {
  // Peak lr 0.15·64^−0.5·100^−0.5 ≈ 1.9e-3; at 5× that this post-LN model never learns to look at the source.
  const cfg = { task: file, preset: 'transformer-world-nano', model: { blockSize: 32, dropout: 0 }, vocabSize: 300, steps: 400, batchSize: 24, warmupSteps: 100, lr: 0.15, evalEvery: 200, bleuSentences: 60, seed: 3 };
  const ev: Seq2SeqEvent[] = [];
  const r = await trainSeq2Seq({ ...cfg, out: join(dir, 'full') }, (e) => ev.push(e));
  const losses = ev.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);
  assert.ok(losses.at(-1)! < losses[0] / 2, `loss ${losses[0]} → ${losses.at(-1)}`);
  assert.ok(r.bleu !== null && r.bleu > 80, `validation BLEU ${r.bleu}`);
  const { model, tokenizer, config } = loadSeq2Seq(join(dir, 'full'));
  assert.equal((config.validation as { bleu: number }).bleu, r.bleu);
  const val = loadPairs(file, '').validation;
  const greedy = scoreTranslations(model, tokenizer, val, { beam: 1, alpha: 0.6, maxLen: 32, batchSize: 16 });
  const beam = scoreTranslations(model, tokenizer, val, { beam: 4, alpha: 0.6, maxLen: 32, batchSize: 16 });
  assert.ok(Math.abs(greedy.bleu - r.bleu!) < 1e-9, 'the loaded model translates as the trained one');
  assert.ok(beam.bleu >= greedy.bleu - 2, `beam ${beam.bleu} vs greedy ${greedy.bleu}`);
  assert.ok(greedy.exactMatch > 0.5, `exact match ${greedy.exactMatch}`);
});

test('seq2seq resume: a run crashed after its step-20 checkpoint continues with the same losses (dropout on)', async () => {
  const cfg = { task: file, preset: 'transformer-world-nano', model: { blockSize: 32, dropout: 0.1 }, vocabSize: 300, steps: 40, batchSize: 8, warmupSteps: 10, lr: 0.15, evalEvery: 20, bleuSentences: 4, seed: 5 };
  const l = (xs: Seq2SeqEvent[]) => xs.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);
  const full: Seq2SeqEvent[] = [];
  await trainSeq2Seq({ ...cfg, out: join(dir, 'short') }, (e) => full.push(e));
  const out = join(dir, 'crashy');
  const first: Seq2SeqEvent[] = [];
  await assert.rejects(trainSeq2Seq({ ...cfg, checkpointEvery: 20, out }, (e) => { first.push(e); if (e.type === 'step' && e.step === 25) throw new Error('crash'); }), /crash/);
  const rest: Seq2SeqEvent[] = [];
  await trainSeq2Seq({ out, resume: true }, (e) => rest.push(e));
  assert.deepEqual([...l(first).slice(0, 20), ...l(rest)], l(full));
  await assert.rejects(trainSeq2Seq({ out, resume: true, lr: 1 }), /--lr 1 differs from the checkpoint's 0\.15/);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x));
  assert.ok(metrics.some((m) => typeof m.val_bleu === 'number'));
});
