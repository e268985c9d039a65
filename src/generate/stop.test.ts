import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopMatcher, truncateAtStop } from './stop.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../util/errors.ts';

/** Feed chunks; return everything released, whether it stopped, and the released text per push. */
function stream(stops: string[], chunks: string[]): { text: string; stopped: boolean; stop?: string; pieces: string[] } {
  const m = new StopMatcher(stops);
  const pieces: string[] = [];
  let stop: string | undefined;
  for (const c of chunks) {
    const r = m.push(c);
    pieces.push(r.text);
    if (r.stopped) {
      stop ??= r.stop;
      break;
    }
  }
  const tail = m.flush();
  if (tail) pieces.push(tail);
  return { text: pieces.join(''), stopped: m.stopped, stop, pieces };
}

/** Reference: scan the whole text character by character for the first stop string to complete. */
function reference(stops: string[], text: string): { text: string; stopped: boolean } {
  for (let end = 1; end <= text.length; end++) {
    let best = -1;
    for (const s of stops) {
      if (end >= s.length && text.slice(end - s.length, end) === s) {
        const start = end - s.length;
        if (best < 0 || start < best) best = start;
      }
    }
    if (best >= 0) return { text: text.slice(0, best), stopped: true };
  }
  return { text, stopped: false };
}

test('text with no stop string passes through, holding back only possible starts', () => {
  const m = new StopMatcher(['\n\nUser:']);
  assert.deepEqual(m.push('Hello'), { text: 'Hello', stopped: false });
  assert.deepEqual(m.push(' there\n'), { text: ' there', stopped: false }, 'a newline could start the stop string');
  assert.deepEqual(m.push('\nUs'), { text: '', stopped: false });
  assert.deepEqual(m.push('ed'), { text: '\n\nUsed', stopped: false }, 'released once ruled out');
  assert.equal(m.flush(), '');
  const n = new StopMatcher(['###']);
  n.push('end #');
  assert.equal(n.flush(), '#', 'the end of the stream releases held text');
});

test('a stop string split across chunks stops generation and is never emitted', () => {
  const r = stream(['</s>'], ['The answer is 4', '.<', '/', 's', '> trailing text']);
  assert.deepEqual(r.pieces, ['The answer is 4', '.', '', '', '']);
  assert.equal(r.text, 'The answer is 4.');
  assert.equal(r.stopped, true);
  assert.equal(r.stop, '</s>');
  const m = new StopMatcher(['STOP']);
  m.push('aSTOPb');
  assert.deepEqual(m.push('more'), { text: '', stopped: true }, 'nothing after a stop');
  assert.equal(m.flush(), '');
});

test('overlapping prefixes: "aab" after "aa…" and "ab" vs "aab"', () => {
  assert.equal(stream(['aab'], ['a', 'a', 'a', 'b', 'c']).text, 'a');
  assert.deepEqual(stream(['aab'], ['xaa', 'ac']).text, 'xaaac');
  // Both end at the same place: the longer, earlier-starting match wins, so "x" is all that shows.
  const r = stream(['ab', 'aab'], ['xa', 'ab', 'yy']);
  assert.equal(r.text, 'x');
  assert.equal(r.stop, 'aab');
  // "bc" completes before "abcd" does: stop at the earliest completed match.
  const s = stream(['abcd', 'bc'], ['zab', 'cd']);
  assert.equal(s.text, 'za');
  assert.equal(s.stop, 'bc');
});

test('several stop strings: the first to complete wins, in one chunk or many', () => {
  const stops = ['\nQ:', 'END', '\n\n'];
  assert.deepEqual(truncateAtStop('A: 42\n\nQ: next', stops), { text: 'A: 42', stopped: true, stop: '\n\n' });
  assert.deepEqual(truncateAtStop('A: 42\nQ: next END', stops), { text: 'A: 42', stopped: true, stop: '\nQ:' });
  assert.deepEqual(truncateAtStop('no stop here\n', stops), { text: 'no stop here\n', stopped: false });
});

test('the output never depends on how the text is chunked (random splits vs a reference)', () => {
  const rng = new Rng(12);
  const alphabet = 'ab\nxé😀';
  const chars = [...alphabet];
  for (let trial = 0; trial < 500; trial++) {
    const stops = Array.from({ length: 1 + rng.int(3) }, () => Array.from({ length: 1 + rng.int(4) }, () => rng.pick(chars)).join(''));
    const text = Array.from({ length: rng.int(30) }, () => rng.pick(chars)).join('');
    const want = reference(stops, text);
    // Split between code points (a decoder never yields half a character).
    const points = [...text];
    const chunks: string[] = [];
    for (let i = 0; i < points.length;) {
      const len = 1 + rng.int(5);
      chunks.push(points.slice(i, i + len).join(''));
      i += len;
    }
    const got = stream(stops, chunks);
    assert.equal(got.text, want.text, `stops ${JSON.stringify(stops)} text ${JSON.stringify(text)} chunks ${JSON.stringify(chunks)}`);
    assert.equal(got.stopped, want.stopped);
    for (const s of stops) if (got.stopped) assert.ok(!got.text.includes(s), 'no stop string before the stop point');
  }
});

test('empty stop strings are refused; no stops means everything passes through', () => {
  assert.throws(() => new StopMatcher(['ok', '']), ConfigError);
  assert.deepEqual(stream([], ['a', 'b']), { text: 'ab', stopped: false, stop: undefined, pieces: ['a', 'b'] });
});
