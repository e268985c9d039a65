import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT2_SPLIT_REGEX, preTokenize, lastSafeCut, classAt, LETTER, NUMBER, SPACE, OTHER } from './pretokenize.ts';
import { Rng } from '../util/rng.ts';

// Pieces chosen to hit every branch of the regex: contractions (and near misses), a space before
// each class, whitespace runs of every kind, astral letters/numbers/emoji, lone surrogates.
const POOL = [
  'a', 'Z', 'é', 'ß', 'ж', '中', 'ع', 'e\u0301', '𝐀', '𠀋', // letters (𝐀, 𠀋 are astral letters)
  '0', '7', '½', '٣', '𝟏', // numbers (𝟏 is astral)
  ' ', ' ', ' ', '\n', '\t', '\r\n', '\u00a0', '\u3000', '\u2028', '\v', '\f', '\u0085', '\ufeff',
  "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'x", "'r", "'l",
  '.', ',', '!', '-', '"', '<|endoftext|>', '{}', '😀', '👍🏽', '\u0301', '\ud800', '\udfff', '\x00', '\x7f',
];

function randomText(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += POOL[rng.int(POOL.length)];
  return s;
}

function regexSplit(text: string): string[] {
  return [...text.matchAll(GPT2_SPLIT_REGEX)].map((m) => m[0]);
}

test('splits exactly as the GPT-2 regex on random mixtures of every character class', () => {
  const rng = new Rng(3);
  for (let k = 0; k < 3000; k++) {
    const text = randomText(rng, 1 + rng.int(30));
    assert.deepEqual(preTokenize(text), regexSplit(text), JSON.stringify(text));
  }
});

test('splits exactly as the regex on prose, code and whitespace runs', () => {
  const samples = [
    "I'm sure they'll say it's fine; we'd've known. DON'T 'Quote' it's",
    'def f(x):\n    return x ** 2  # square\n\n\n\tindented\t\t\n   \n',
    '{"a": [1, 2.50, -3e10], "b": null}   trailing   ',
    '   leading spaces and    inner     runs\n\n\nend',
    '价格是 100 元。مرحبا بالعالم! Привет, мир… 🙂🙃 x²+y²',
    ' ', '  ', '\n', ' a', '  a', '\n a', ' \n', "'", "''s", " 's", "x's't", '',
  ];
  for (const text of samples) assert.deepEqual(preTokenize(text), regexSplit(text), JSON.stringify(text));
});

test('classes follow \\p{L}, \\p{N}, \\s; surrogate pairs are one code point, lone ones are other', () => {
  assert.equal(classAt('a', 0, 1), LETTER);
  assert.equal(classAt('𝐀', 0, 2), LETTER);
  assert.equal(classAt('𝟏', 0, 2), NUMBER);
  assert.equal(classAt('\u3000', 0, 1), SPACE);
  assert.equal(classAt('😀', 0, 2), OTHER);
  assert.equal(classAt('\ud835x', 0, 2), OTHER);
  assert.equal(classAt('\ud835', 0, 1), OTHER);
});

test('a safe cut never changes the pre-tokens', () => {
  const rng = new Rng(9);
  let cuts = 0;
  for (let k = 0; k < 2000; k++) {
    const text = randomText(rng, 2 + rng.int(40));
    const p = lastSafeCut(text);
    if (p === 0) continue;
    cuts++;
    assert.deepEqual([...preTokenize(text.slice(0, p)), ...preTokenize(text.slice(p))], preTokenize(text), JSON.stringify([text, p]));
  }
  assert.ok(cuts > 1000, `only ${cuts} texts had a cut point`);
  assert.equal(lastSafeCut('nospace'), 0);
  assert.equal(lastSafeCut('a b'), 1);
});
