import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, trainBpe, gpt2Tokenizer } from './index.ts';
import { FileFormatError } from '../util/errors.ts';
import { VARIED_TEXTS } from './test-corpus.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'gptkit-tok-'));
const gpt2 = gpt2Tokenizer();
const text = VARIED_TEXTS.join('\n');

test('GPT-2 saved as tokenizer.json and as vocab.json + merges.txt loads back with the same ids', () => {
  const dir = tmp();
  gpt2.save(dir);
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  assert.equal(json.model.type, 'BPE');
  assert.equal(json.pre_tokenizer.type, 'ByteLevel');
  assert.equal(json.model.vocab['Ġthe'], 262); // GPT-2's vocab.json spelling and id
  assert.equal(json.model.merges[0], 'Ġ t');
  assert.deepEqual(json.added_tokens.map((t: { id: number; content: string }) => [t.id, t.content]), [[50256, '<|endoftext|>']]);
  const fromJson = loadTokenizer(dir);
  assert.deepEqual(fromJson.encode(text, { allowedSpecial: 'all' }), gpt2.encode(text, { allowedSpecial: 'all' }));
  assert.equal(fromJson.tokenId('<|endoftext|>'), 50256);

  const dir2 = tmp();
  gpt2.saveVocabMerges(dir2);
  assert.match(readFileSync(join(dir2, 'merges.txt'), 'utf8'), /^#version: 0.2\nĠ t\nĠ a\nh e\n/);
  const fromPair = loadTokenizer(dir2);
  assert.deepEqual(fromPair.encode(text), gpt2.encode(text));
  assert.equal(fromPair.tokenId('<|endoftext|>'), 50256); // found as the one entry no merge makes
  assert.deepEqual(loadTokenizer(join(dir, 'tokenizer.json')).merges.length, 50000);
});

test('a trained tokenizer with special tokens round-trips through tokenizer.json', async () => {
  const tok = await trainBpe(VARIED_TEXTS, { vocabSize: 350, specialTokens: ['<|endoftext|>', '<|im_start|>'] });
  const dir = join(tmp(), 'nested', 'out');
  tok.save(dir);
  const back = loadTokenizer(dir);
  assert.equal(back.vocabSize, tok.vocabSize);
  assert.deepEqual(back.merges, tok.merges);
  assert.deepEqual([...back.specialTokens], [...tok.specialTokens]);
  assert.deepEqual(back.encode(text, { allowedSpecial: 'all' }), tok.encode(text, { allowedSpecial: 'all' }));
});

/** A tiny valid tokenizer.json (256 bytes + "ab"), to break one field at a time. */
function tinyJson(): any {
  const dir = tmp();
  const bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  new (gpt2.constructor as any)({ tokens: [...bytes, Uint8Array.of(97, 98)], merges: [[97, 98]], specialTokens: { '<s>': 257 } }).save(dir);
  return JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
}

function expectJsonError(edit: (j: any) => void, message: RegExp): void {
  const j = tinyJson();
  edit(j);
  const dir = tmp();
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(j));
  assert.throws(() => loadTokenizer(dir), (e) => e instanceof FileFormatError && e.message.includes('tokenizer.json: ') && message.test(e.message), String(message));
}

test('bad tokenizer.json files get errors naming the file and what is wrong', () => {
  expectJsonError((j) => { j.model.type = 'WordPiece'; }, /model.type: expected "BPE", found "WordPiece"/);
  expectJsonError((j) => { j.pre_tokenizer = { type: 'Whitespace' }; }, /pre_tokenizer: expected \{"type": "ByteLevel"\}, found type "Whitespace"/);
  expectJsonError((j) => { j.pre_tokenizer.add_prefix_space = true; }, /pre_tokenizer.add_prefix_space: expected false, found true/);
  expectJsonError((j) => { j.normalizer = { type: 'NFC' }; }, /normalizer: expected null, found an object/);
  expectJsonError((j) => { j.model.continuing_subword_prefix = '##'; }, /model.continuing_subword_prefix: expected none, found "##"/);
  expectJsonError((j) => { delete j.model.vocab['ā']; }, /the vocabulary has a hole: no token has id 1\b/);
  expectJsonError((j) => { j.model.vocab.ab = 'x'; }, /model.vocab\["ab"\]: expected a non-negative integer id, found "x"/);
  expectJsonError((j) => { j.model.vocab.zz = 5; }, /id 5 is given to both/);
  expectJsonError((j) => { j.model.vocab['a€'] = 300; }, /model.vocab\["a€"\] \(id 300\) is not a byte-level symbol: character U\+20AC stands for no byte/);
  expectJsonError((j) => { j.model.merges = ['a b c']; }, /model.merges\[0\]: expected "a b" or \["a", "b"\], found "a b c"/);
  expectJsonError((j) => { j.model.merges = [['a', 'q'], 'x']; }, /model.merges\[0\]: merge makes "aq", which is not in the vocabulary/);
  expectJsonError((j) => { j.model.merges = ['a ✓']; }, /model.merges\[0\]: symbol "✓" is not in the vocabulary/);
  expectJsonError((j) => { j.model.merges = {}; }, /model.merges: expected an array, found an object/);
  expectJsonError((j) => { j.added_tokens = [{ id: 'x' }]; }, /added_tokens\[0\]: expected \{"id": integer, "content": string\}/);
  expectJsonError((j) => { j.added_tokens = {}; }, /added_tokens: expected an array/);
  expectJsonError((j) => { j.model = 3; }, /model: expected an object, found 3/);
  const dir = tmp();
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
  assert.throws(() => loadTokenizer(dir), /tokenizer.json: not valid JSON/);
  writeFileSync(join(dir, 'tokenizer.json'), '[1]');
  assert.throws(() => loadTokenizer(dir), /tokenizer.json: expected a JSON object, found an array/);
  expectJsonError((j) => { j.model.merges = ['a b']; j.model.vocab.ab = 258; j.model.vocab['<s>'] = 257; j.added_tokens[0].id = 999; }, /hole/);
  // The merges in the newer ["a", "b"] form load too.
  const j = tinyJson();
  j.model.merges = [['a', 'b']];
  const ok = tmp();
  writeFileSync(join(ok, 'tokenizer.json'), JSON.stringify(j));
  assert.deepEqual(loadTokenizer(ok).encode('ab'), [256]);
});

test('bad vocab.json / merges.txt and bad paths get errors naming the file and line', () => {
  const dir = tmp();
  gpt2.saveVocabMerges(dir);
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n');
  writeFileSync(join(dir, 'merges.txt'), [...merges.slice(0, 3), 'Ġ t h', ...merges.slice(3)].join('\n'));
  assert.throws(() => loadTokenizer(dir), /merges.txt: line 4: expected two symbols separated by one space, found "Ġ t h"/);
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\r\nĠ t\r\nq\u2603 z\r\n');
  assert.throws(() => loadTokenizer(dir), /merges.txt: line 3: symbol "q☃" is not in the vocabulary/);
  writeFileSync(join(dir, 'vocab.json'), '{"a": 0}');
  assert.throws(() => loadTokenizer(dir), /merges.txt: line 2: symbol "Ġ" is not in the vocabulary/);
  assert.throws(() => loadTokenizer(join(dir, 'nope')), /nope: no such file or directory/);
  const empty = tmp();
  mkdirSync(join(empty, 'sub'));
  assert.throws(() => loadTokenizer(join(empty, 'sub')), /expected tokenizer.json, or vocab.json \+ merges.txt, in this directory/);
});
