import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer, TokenizerError } from './bpe.ts';
import { trainBpe } from './train.ts';
import { gpt2Tokenizer } from './gpt2.ts';
import { MergeTable, mergeFlat, mergeHeap, NO_RANK } from './merge.ts';
import { VARIED_TEXTS } from './test-corpus.ts';
import { Rng } from '../util/rng.ts';

const gpt2 = gpt2Tokenizer();
const small = await trainBpe(VARIED_TEXTS, { vocabSize: 600, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'], minFrequency: 1 });

const HARD = [
  '', 'a', ' ', '\n\n\n', ' '.repeat(1000), '\t \n'.repeat(300) + 'x', '😀', '👨‍👩‍👧‍👦🇫🇷', '中文字符', 'e\u0301\u0302\u0303',
  '\u0000\u0001\u007f', '\uffff\ufffe\ufeff', '𝐀𝟏𠀋', 'x'.repeat(5000), ...VARIED_TEXTS,
];

test('decode(encode(s)) === s for emoji, CJK, combining marks, control characters and whitespace runs', () => {
  for (const tok of [gpt2, small]) {
    for (const s of HARD) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s.slice(0, 50)));
  }
});

test('a 1 MB single "word" encodes (heap merge path) and round-trips', () => {
  const word = 'ab'.repeat(1 << 19);
  const ids = gpt2.encode(word);
  assert.equal(ids.length, word.length / 2); // GPT-2 has "ab" but no longer run of it
  assert.equal(gpt2.decode(ids), word);
  const mixed = VARIED_TEXTS.join('').replace(/\s/g, '').repeat(200).slice(0, 1 << 20);
  assert.equal(small.decode(small.encode(mixed)), mixed);
});

test('lone surrogates encode as U+FFFD (what TextEncoder does), everything around them is kept', () => {
  for (const tok of [gpt2, small]) {
    assert.equal(tok.decode(tok.encode('a\ud800b')), 'a\ufffdb');
    assert.equal(tok.decode(tok.encode('\udc00 x \ud83d')), '\ufffd x \ufffd');
    assert.deepEqual(tok.encode('\ud800'), tok.encode('\ufffd'));
  }
});

test('random strings of every kind of code unit round-trip (lone surrogates excepted)', () => {
  const rng = new Rng(5);
  for (let k = 0; k < 300; k++) {
    let s = '';
    const n = rng.int(60);
    for (let i = 0; i < n; i++) {
      const r = rng.next();
      s += r < 0.4 ? String.fromCharCode(32 + rng.int(95)) : r < 0.6 ? ' \n\t'[rng.int(3)] : r < 0.9 ? String.fromCharCode(0xa0 + rng.int(0xd800 - 0xa0)) : String.fromCodePoint(0x10000 + rng.int(0x100000));
    }
    assert.equal(gpt2.decode(gpt2.encode(s)), s);
    assert.equal(small.decode(small.encode(s)), s);
  }
});

test('special tokens are never injected by text unless allowed by name', () => {
  const text = 'hi <|endoftext|> and <|im_start|>user';
  const plain = small.encode(text);
  assert.ok(!plain.some((id) => small.isSpecialId(id)), 'no special id without allowedSpecial');
  assert.equal(small.decode(plain), text);
  const eot = small.tokenId('<|endoftext|>');
  const start = small.tokenId('<|im_start|>');
  const some = small.encode(text, { allowedSpecial: ['<|endoftext|>'] });
  assert.deepEqual(some.filter((id) => small.isSpecialId(id)), [eot]);
  const all = small.encode(text, { allowedSpecial: 'all' });
  assert.deepEqual(all.filter((id) => small.isSpecialId(id)), [eot, start]);
  assert.equal(small.decode(all), text);
  assert.deepEqual(small.encode('<|im_end|><|im_end|>', { allowedSpecial: 'all' }), [small.tokenId('<|im_end|>'), small.tokenId('<|im_end|>')]);
});

test('unknown special token names and out-of-range ids are typed errors', () => {
  assert.throws(() => small.encode('x', { allowedSpecial: ['<|nope|>'] }), (e) => e instanceof TokenizerError && /no special token "<\|nope\|>"/.test(e.message));
  assert.throws(() => small.decode([1, 600]), /token id 600 at position 1 is out of range: expected an integer in \[0, 600\)/);
  assert.throws(() => small.decode([1.5]), /token id 1.5 at position 0/);
  assert.throws(() => small.tokenBytes(-1), /token id -1 is out of range/);
});

test('the constructor rejects holes, missing bytes, duplicate tokens and merges that make no token', () => {
  const bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  const ok = { tokens: [...bytes, Uint8Array.of(97, 98)], merges: [[97, 98] as const], specialTokens: { '<s>': 257 } };
  assert.equal(new Tokenizer(ok).vocabSize, 258);
  assert.throws(() => new Tokenizer({ ...ok, specialTokens: { '<s>': 258 } }), /the vocabulary has a hole: no token has id 257/);
  assert.throws(() => new Tokenizer({ ...ok, tokens: [Uint8Array.of(0, 0), ...bytes.slice(1), Uint8Array.of(97, 98)] }), /1 of the 256 bytes have no token \(first: byte 0\)/);
  assert.throws(() => new Tokenizer({ ...ok, tokens: [...bytes, Uint8Array.of(97)] }), /tokens 97 and 256 have the same bytes/);
  assert.throws(() => new Tokenizer({ ...ok, merges: [[97, 99]] }), /merge 0 \(97 99\) makes bytes \[97,99\], which are not a token/);
  assert.throws(() => new Tokenizer({ ...ok, merges: [[97, 257]] }), /merge 0 uses id 257, which is not an ordinary token/);
  assert.throws(() => new Tokenizer({ ...ok, specialTokens: { '<s>': 3 } }), /special token "<s>" has id 3, which is already a ordinary token/);
  assert.throws(() => new Tokenizer({ ...ok, tokens: [...bytes, new Uint8Array(0)] }), /token 256 is empty/);
});

test('flat and heap merges agree on random symbol strings with a dense merge table', () => {
  const rng = new Rng(2);
  // Ids 0..7 are symbols; 40 random merges make ids 8.. (results need not be "real" here).
  const merges: [number, number][] = [];
  const results: number[] = [];
  for (let r = 0; r < 40; r++) { merges.push([rng.int(8 + r), rng.int(8 + r)]); results.push(8 + r); }
  const table = new MergeTable(merges, results);
  assert.equal(table.rank(100, 100), NO_RANK);
  assert.equal(table.size, new Set(merges.map(([a, b]) => `${a},${b}`)).size); // a repeated pair keeps its first rank
  const [a0, b0] = merges[0];
  assert.equal(table.rank(a0, b0), 0);
  for (let k = 0; k < 500; k++) {
    const n = 1 + rng.int(200);
    const a = Int32Array.from({ length: n }, () => rng.int(8));
    const b = a.slice();
    const m1 = mergeFlat(table, a, n, new Int32Array(n));
    const m2 = mergeHeap(table, b, n);
    assert.deepEqual(a.subarray(0, m1), b.subarray(0, m2));
  }
});

test('the pre-token cache gives the same ids as a cold tokenizer', () => {
  const text = VARIED_TEXTS.join(' ').repeat(3);
  const cold = new Tokenizer(gpt2.toSpec());
  assert.deepEqual(gpt2.encode(text), cold.encode(text));
});
