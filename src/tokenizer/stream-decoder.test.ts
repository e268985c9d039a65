import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamDecoder } from './stream-decoder.ts';
import { gpt2Tokenizer } from './gpt2.ts';
import { VARIED_TEXTS } from './test-corpus.ts';

const gpt2 = gpt2Tokenizer();

test('streamed one token at a time, output is only whole characters and adds up to the text', () => {
  for (const text of VARIED_TEXTS) {
    const ids = gpt2.encode(text);
    const stream = new StreamDecoder(gpt2);
    let out = '';
    for (const id of ids) {
      const piece = stream.push(id);
      assert.ok(!piece.includes('\ufffd'), `a partial character leaked at ${JSON.stringify(out)}`);
      out += piece;
    }
    out += stream.flush();
    assert.equal(out, text);
  }
});

test('a token that ends mid-character yields nothing until the character completes', () => {
  const ids = gpt2.encode('😀'); // GPT-2 splits this emoji's 4 bytes over several tokens
  assert.ok(ids.length > 1);
  const stream = new StreamDecoder(gpt2);
  assert.equal(stream.push(ids.slice(0, -1)), '');
  assert.equal(stream.push(ids.slice(-1)), '😀');
  // A stream cut inside a character ends in U+FFFD, and the decoder is then fresh again.
  assert.equal(stream.push(ids[0]), '');
  assert.equal(stream.flush(), '\ufffd');
  assert.equal(stream.push(gpt2.encode('ok')), 'ok');
});
