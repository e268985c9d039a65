import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpe, learnMerges, countPreTokens, type TrainProgress } from './train.ts';
import { readTexts } from './corpus.ts';
import { preTokenize } from './pretokenize.ts';
import { VARIED_TEXTS } from './test-corpus.ts';
import { Rng } from '../util/rng.ts';

/** Textbook BPE: recount every pair over every word after each merge. Slow, obviously right. */
function referenceMerges(counts: Map<string, number>, maxMerges: number, minFrequency: number): [number, number][] {
  const enc = new TextEncoder();
  const words = [...counts].map(([w, c]) => ({ syms: [...enc.encode(w)], count: c }));
  const merges: [number, number][] = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, number>();
    for (const { syms, count } of words) for (let i = 0; i + 1 < syms.length; i++) {
      const k = `${syms[i]},${syms[i + 1]}`;
      pairs.set(k, (pairs.get(k) ?? 0) + count);
    }
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) { best = [a, b]; bestCount = c; }
    }
    if (!best || bestCount < minFrequency) break;
    const z = 256 + merges.length;
    merges.push(best);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === best[0] && w.syms[i + 1] === best[1]) { out.push(z); i++; } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return merges;
}

test('incremental training learns exactly the merges of textbook BPE (ties to the smaller pair)', async () => {
  const counts = await countPreTokens(VARIED_TEXTS);
  assert.deepEqual(learnMerges(counts, 300, 2), referenceMerges(counts, 300, 2));
  assert.deepEqual(learnMerges(counts, 300, 1), referenceMerges(counts, 300, 1));
  // Repetitive words stress overlapping pairs (aaaa, abab) and word-internal neighbours.
  const rng = new Rng(4);
  const words = new Map<string, number>();
  for (let k = 0; k < 200; k++) words.set(Array.from({ length: 1 + rng.int(12) }, () => 'aab'[rng.int(3)]).join(''), 1 + rng.int(5));
  assert.deepEqual(learnMerges(words, 60, 1), referenceMerges(words, 60, 1));
});

test('trainBpe: ids are bytes, then merges, then specials; deterministic; special tokens are not learned', async () => {
  const texts = VARIED_TEXTS.map((t) => t + '<|endoftext|>');
  const a = await trainBpe(texts, { vocabSize: 400, specialTokens: ['<|endoftext|>', '<|pad|>'], minFrequency: 1 });
  const b = await trainBpe(texts, { vocabSize: 400, specialTokens: ['<|endoftext|>', '<|pad|>'], minFrequency: 1 });
  assert.equal(a.vocabSize, 400);
  assert.deepEqual(a.merges, b.merges);
  assert.deepEqual(a.tokenBytes(65), Uint8Array.of(65));
  assert.equal(a.tokenId('<|endoftext|>'), 398);
  assert.equal(a.tokenId('<|pad|>'), 399);
  const learned = new TextDecoder().decode(a.decodeBytes(a.merges.map((_, r) => 256 + r)));
  assert.ok(!learned.includes('<|endoftext|>'), 'the special token text was not learned as merges');
  for (const t of VARIED_TEXTS) assert.equal(a.decode(a.encode(t)), t);
  // Trained merges compress: fewer tokens than bytes on the training text.
  const all = VARIED_TEXTS.join('');
  assert.ok(a.encode(all).length < new TextEncoder().encode(all).length * 0.75);
});

test('training stops early when no pair occurs minFrequency times; progress is reported', async () => {
  const progress: TrainProgress[] = [];
  const tok = await trainBpe(['abc abc abc xyz'], { vocabSize: 1000, minFrequency: 2, onProgress: (p) => progress.push(p) });
  // " abc" ×2 and "abc" ×1: pairs ab, bc (×3), " a" (×2) qualify; then "abc", " abc".
  assert.ok(tok.vocabSize < 270, `vocabSize ${tok.vocabSize}`);
  assert.ok(progress.some((p) => p.phase === 'count' && p.distinct === 3));
  // Counting reports every 2^20 characters.
  const counted: TrainProgress[] = [];
  await trainBpe(['ab '.repeat(400_000), 'cd '.repeat(400_000)], { vocabSize: 260, onProgress: (p) => counted.push(p) });
  assert.deepEqual(counted.filter((p) => p.phase === 'count').map((p) => p.phase === 'count' && p.chars), [1_200_000, 2_400_000, 2_400_000]);
  assert.deepEqual(counted.filter((p) => p.phase === 'merge').map((p) => p.phase === 'merge' && p.merges), [4]);
});

test('bad options are ConfigErrors', async () => {
  await assert.rejects(trainBpe(['x'], { vocabSize: 100 }), /vocabSize: expected an integer ≥ 256/);
  await assert.rejects(trainBpe(['x'], { vocabSize: 300, specialTokens: ['a', 'a'] }), /specialTokens: expected distinct non-empty strings/);
});

test('streaming files (.txt in small chunks, .jsonl) trains the same as the texts in memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-train-'));
  const txt = join(dir, 'a.txt');
  const jsonl = join(dir, 'b.jsonl');
  const body = VARIED_TEXTS.slice(0, 8).join('\n').repeat(5);
  writeFileSync(txt, body);
  writeFileSync(jsonl, VARIED_TEXTS.slice(8).map((text) => JSON.stringify({ text, id: 1 })).join('\r\n') + '\n\n');
  const chunks: string[] = [];
  for await (const t of readTexts([txt], 64)) chunks.push(t);
  assert.ok(chunks.length > 5, `${chunks.length} chunks`);
  assert.equal(chunks.join(''), body);
  assert.deepEqual(chunks.flatMap(preTokenize), preTokenize(body));
  // A file with no whitespace cannot be cut: it comes whole, however small the chunks.
  const word = join(dir, 'word.txt');
  writeFileSync(word, 'x'.repeat(300));
  const wordChunks: string[] = [];
  for await (const t of readTexts([word], 64)) wordChunks.push(t);
  assert.deepEqual(wordChunks, ['x'.repeat(300)]);
  const fromFiles = await trainBpe(readTexts([txt, jsonl], 64), { vocabSize: 500 });
  const fromMemory = await trainBpe([body, ...VARIED_TEXTS.slice(8)], { vocabSize: 500 });
  assert.deepEqual(fromFiles.merges, fromMemory.merges);
});

test('corpus errors name the file and line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-corpus-'));
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"text": "ok"}\n{"text": 3}\n');
  await assert.rejects(trainBpe(readTexts([bad]), { vocabSize: 300 }), /bad.jsonl: line 2: expected an object with a string "text" field/);
  writeFileSync(bad, '{"text": "ok"}\n{oops\n');
  await assert.rejects(trainBpe(readTexts([bad]), { vocabSize: 300 }), /bad.jsonl: line 2: not valid JSON/);
  await assert.rejects(trainBpe(readTexts([join(dir, 'missing.txt')]), { vocabSize: 300 }), /missing.txt: no such file/);
  await assert.rejects(trainBpe(readTexts([dir]), { vocabSize: 300 }), /gptkit-corpus-\w+: cannot read \(EISDIR/);
});
