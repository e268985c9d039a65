import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEncoding } from 'js-tiktoken';
import { gpt2Tokenizer, gpt2Spec, recoverMerges, decodeTiktokenRanks } from './gpt2.ts';
import { VARIED_TEXTS } from './test-corpus.ts';
import { Rng } from '../util/rng.ts';

const tiktoken = getEncoding('gpt2');
const gpt2 = gpt2Tokenizer();

test('GPT-2 vocabulary: 50257 ids, 50000 recovered merges, <|endoftext|> = 50256', () => {
  assert.equal(gpt2.vocabSize, 50257);
  assert.equal(gpt2.merges.length, 50000);
  assert.equal(gpt2.tokenId('<|endoftext|>'), 50256);
  // The first merges of GPT-2's merges.txt are "Ġ t", "Ġ a", "h e", "i n", "r e".
  const sym = (id: number) => new TextDecoder().decode(gpt2.tokenBytes(id));
  assert.deepEqual(gpt2.merges.slice(0, 5).map(([a, b]) => `${sym(a)}|${sym(b)}`), [' |t', ' |a', 'h|e', 'i|n', 'r|e']);
});

test('every GPT-2 token round-trips: its bytes merge back into exactly that token', () => {
  for (let id = 0; id < 50256; id++) {
    const ids = gpt2.encodeBytes(gpt2.tokenBytes(id));
    if (ids.length !== 1 || ids[0] !== id) assert.fail(`token ${id} encodes as [${ids}]`);
  }
});

test('ids equal js-tiktoken r50k_base token for token on a varied corpus', () => {
  for (const text of VARIED_TEXTS) assert.deepEqual(gpt2.encode(text), tiktoken.encode(text, [], []), text);
  const all = VARIED_TEXTS.join('\n');
  assert.deepEqual(gpt2.encode(all), tiktoken.encode(all, [], []));
});

test('ids equal js-tiktoken on random mixtures of words, scripts, digits and whitespace', () => {
  const rng = new Rng(11);
  const pieces = VARIED_TEXTS.flatMap((t) => t.split(/(\s+)/));
  for (let k = 0; k < 300; k++) {
    let text = '';
    const n = 1 + rng.int(40);
    for (let i = 0; i < n; i++) text += pieces[rng.int(pieces.length)] + (rng.next() < 0.3 ? ' '.repeat(rng.int(4)) : '');
    assert.deepEqual(gpt2.encode(text), tiktoken.encode(text, [], []), JSON.stringify(text));
  }
});

test('allowed <|endoftext|> is one token, as js-tiktoken with it allowed', () => {
  const text = 'end of doc<|endoftext|>Next doc';
  assert.deepEqual(gpt2.encode(text, { allowedSpecial: 'all' }), tiktoken.encode(text, 'all'));
  assert.deepEqual(gpt2.encode(text), tiktoken.encode(text, [], []));
});

test('recoverMerges refuses ranks whose tokens are not made of two earlier tokens', () => {
  const tokens = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  tokens.push(Uint8Array.of(97, 98, 99)); // "abc" with neither "ab" nor "bc" before it
  assert.throws(() => recoverMerges(tokens), /rank 256: its bytes do not reduce to two earlier tokens \(3 parts\)/);
  assert.throws(() => decodeTiktokenRanks('! 0 YQ== *bad'), /token 1 is not base64/);
  assert.equal(gpt2Spec().tokens.length, 50256);
});
