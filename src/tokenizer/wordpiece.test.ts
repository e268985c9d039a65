// WordPiece against Hugging Face `tokenizers`' BertWordPieceTokenizer (goldens made by
// tests/golden/wordpiece/make_goldens.py): the same ids, segment ids and decoded text on accents,
// Chinese, punctuation, control characters and over-long words; the file formats; training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordPieceTokenizer, bertNormalize, bertPreTokenize, loadWordPiece, parseVocabTxt, parseWordPieceJson, trainWordPiece, isWordPiecePath } from './wordpiece.ts';
import { FileFormatError } from '../util/errors.ts';

const dir = join(import.meta.dirname, '..', '..', 'tests', 'golden', 'wordpiece');
const golden = JSON.parse(readFileSync(join(dir, 'goldens.json'), 'utf8')) as {
  single: { model: 'uncased' | 'cased'; text: string; ids: number[]; decoded: string }[];
  pairs: { a: string; b: string; ids: number[]; type_ids: number[] }[];
};
const vocabTxt = readFileSync(join(dir, 'vocab.txt'), 'utf8');

test('ids match tokenizers on varied text (uncased and cased, from vocab.txt and tokenizer.json)', () => {
  const fromJson = loadWordPiece(dir); // tokenizer.json wins over vocab.txt
  const uncased = parseVocabTxt(vocabTxt, 'vocab.txt');
  const cased = parseVocabTxt(vocabTxt, 'vocab.txt', { lowercase: false, stripAccents: false });
  for (const g of golden.single) {
    const tok = g.model === 'uncased' ? uncased : cased;
    const { ids } = tok.encodePair(g.text);
    assert.deepEqual(ids, g.ids, `${g.model} ${JSON.stringify(g.text)}`);
    assert.equal(tok.decode(ids), g.decoded, `decode ${JSON.stringify(g.text)}`);
    if (g.model === 'uncased') assert.deepEqual(fromJson.encodePair(g.text).ids, g.ids);
  }
});

test('sentence pairs: [CLS] a [SEP] b [SEP] with segment ids as tokenizers', () => {
  const tok = loadWordPiece(join(dir, 'vocab.txt'));
  for (const g of golden.pairs) {
    const e = tok.encodePair(g.a, g.b);
    assert.deepEqual(e.ids, g.ids);
    assert.deepEqual(e.typeIds, g.type_ids);
  }
});

test('normaliser and pre-tokeniser: accents, Chinese, controls, punctuation', () => {
  assert.equal(bertNormalize('Héllo\tWÖRLD\u0007'), 'hello world');
  assert.equal(bertNormalize('中文ab'), ' 中  文 ab');
  assert.equal(bertNormalize('Café', { ...parseVocabTxt(vocabTxt, 'v').options, lowercase: false, stripAccents: false }), 'Café');
  assert.deepEqual(bertPreTokenize("don't stop—now!"), ['don', "'", 't', 'stop', '—', 'now', '!']);
});

test('special-token text stays text unless allowed', () => {
  const tok = parseVocabTxt(vocabTxt, 'vocab.txt');
  assert.ok(!tok.encode('the [MASK] dog').includes(tok.maskId));
  assert.deepEqual(tok.encode('the [MASK] dog', { allowedSpecial: 'all' }), [...tok.encode('the'), tok.maskId, ...tok.encode('dog')]);
});

test('tokenizer.json and vocab.txt round-trip; bad files are refused naming the file', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wp-'));
  try {
    const tok = loadWordPiece(dir);
    tok.save(tmp);
    assert.ok(isWordPiecePath(tmp));
    const again = loadWordPiece(tmp);
    assert.deepEqual(again.vocab, tok.vocab);
    assert.deepEqual(again.options, tok.options);
    assert.deepEqual(parseWordPieceJson(readFileSync(join(tmp, 'tokenizer.json'), 'utf8'), 'x').vocab, tok.vocab);
    assert.equal(readFileSync(join(tmp, 'vocab.txt'), 'utf8'), vocabTxt);
    assert.throws(() => parseWordPieceJson('{"model":{"type":"BPE"}}', 'f.json'), (e: unknown) => e instanceof FileFormatError && /f\.json.*WordPiece/.test((e as Error).message));
    assert.throws(() => parseVocabTxt('a\nb\n', 'v.txt'), /v\.txt.*\[UNK\]/);
    assert.throws(() => parseVocabTxt('[UNK]\na\na\n', 'v.txt'), /twice/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('training: specials first, alphabet with ## forms, merges; deterministic; encodes its corpus without [UNK]', async () => {
  const corpus = ['The cat sat on the mat.', 'The dog sat on the log!', 'Cats and dogs, mats and logs.', '猫和狗'];
  const a = await trainWordPiece(corpus.concat(corpus), { vocabSize: 80, minFrequency: 2 });
  const b = await trainWordPiece(corpus.concat(corpus), { vocabSize: 80, minFrequency: 2 });
  assert.deepEqual(a.vocab, b.vocab);
  assert.deepEqual(a.vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(a.vocab.includes('##t') && a.vocab.includes('the') && a.vocab.includes('猫'));
  assert.ok(a.vocabSize <= 80);
  for (const s of corpus) {
    const ids = a.encode(s);
    assert.ok(!ids.includes(a.tokenId('[UNK]')), s);
    assert.equal(a.decode(ids).replace(/\s/g, ''), bertNormalize(s).replace(/\s/g, ''));
  }
  assert.ok(new WordPieceTokenizer(a.vocab).encode('the cat').length <= 2);
});
