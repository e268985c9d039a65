// BLEU against sacreBLEU 2.6's corpus_bleu on committed cases (tests/golden/bleu/make_goldens.py):
// 13a tokenisation (punctuation, digits, HTML entities), clipping, several references, brevity
// penalty, exp smoothing, empty hypotheses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusBleu, exactMatch, tokenize13a } from './bleu.ts';

const golden = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'tests', 'golden', 'bleu', 'goldens.json'), 'utf8')) as {
  cases: { hyps: string[]; refs: string[][]; score: number; bp: number; sys_len: number; ref_len: number; counts: number[]; totals: number[] }[];
};

test('corpus BLEU equals sacreBLEU on every committed case', () => {
  for (const c of golden.cases) {
    const b = corpusBleu(c.hyps, c.refs);
    assert.deepEqual([b.sysLen, b.refLen], [c.sys_len, c.ref_len], JSON.stringify(c.hyps));
    assert.deepEqual(b.counts, c.counts);
    assert.deepEqual(b.totals, c.totals);
    assert.ok(Math.abs(b.score - c.score) < 1e-9, `${b.score} vs ${c.score} for ${JSON.stringify(c.hyps)}`);
    assert.ok(Math.abs(b.bp - c.bp) < 1e-12);
  }
});

test('13a tokenisation and exact match', () => {
  assert.equal(tokenize13a('Hello, world: 3.14 and 1,000 (yes).'), 'Hello , world : 3.14 and 1,000 ( yes ) .');
  assert.equal(exactMatch(['a b', 'c '], ['a b', 'd']), 0.5);
  assert.throws(() => corpusBleu(['a'], [['a', 'b']]), /2 segments/);
});
