import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeParallel, safeCuts, packSpec, unpackSpec } from './parallel.ts';
import { trainBpe } from './train.ts';
import { Tokenizer } from './bpe.ts';
import { VARIED_TEXTS } from './test-corpus.ts';

const tok = await trainBpe(VARIED_TEXTS, { vocabSize: 500, specialTokens: ['<|endoftext|>', '<|im_start|>'] });
const text = VARIED_TEXTS.join('\n<|endoftext|>').repeat(60);

test('worker threads give exactly the ids of encode, special tokens included', async () => {
  const opts = { threads: 2, minChunk: 20_000 };
  assert.deepEqual(await encodeParallel(tok, text, opts), tok.encode(text));
  assert.deepEqual(await encodeParallel(tok, text, { ...opts, allowedSpecial: 'all' }), tok.encode(text, { allowedSpecial: 'all' }));
  // Small inputs stay on this thread.
  assert.deepEqual(await encodeParallel(tok, 'hi there', opts), tok.encode('hi there'));
  await assert.rejects(encodeParallel(tok, text, { ...opts, allowedSpecial: ['<|x|>'] }), /no special token "<\|x\|>"/);
});

test('cuts never fall inside an allowed special token and cover the text in order', () => {
  const t = 'a b<|sp ecial|>c d<|sp ecial|> e f';
  for (let parts = 2; parts < 12; parts++) {
    const cuts = safeCuts(t, parts, ['<|sp ecial|>']);
    assert.equal(cuts[0], 0);
    assert.equal(cuts[cuts.length - 1], t.length);
    for (const c of cuts) {
      for (let at = t.indexOf('<|'); at >= 0; at = t.indexOf('<|', at + 1)) assert.ok(c <= at || c >= at + 12, `cut ${c} inside the special at ${at}`);
    }
    assert.deepEqual(cuts, [...cuts].sort((x, y) => x - y));
  }
});

test('the packed spec (what workers receive) rebuilds the same tokenizer', () => {
  const back = new Tokenizer(unpackSpec(packSpec(tok.toSpec())));
  assert.deepEqual(back.merges, tok.merges);
  assert.deepEqual([...back.specialTokens], [...tok.specialTokens]);
  assert.deepEqual(back.encode(text, { allowedSpecial: 'all' }), tok.encode(text, { allowedSpecial: 'all' }));
});
