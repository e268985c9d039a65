import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { VARIED_TEXTS } from '../tokenizer/test-corpus.ts';
import { main } from './main.ts';

function gptkit(args: string[], input = ''): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/gptkit.mjs', ...args], { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'gptkit-cli-tok-'));
const text = VARIED_TEXTS.join('\n');

test('tokenizer train writes tokenizer.json; tokenize with it prints ids that decode back', () => {
  writeFileSync(join(dir, 'a.txt'), text.repeat(3));
  writeFileSync(join(dir, 'b.jsonl'), VARIED_TEXTS.map((t) => JSON.stringify({ text: t })).join('\n'));
  const out = join(dir, 'tok');
  const r = gptkit(['tokenizer', 'train', '--data', join(dir, 'a.txt'), join(dir, 'b.jsonl'), '--vocab-size', '420', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events[0].event, 'start');
  assert.ok(events.some((e) => e.event === 'progress' && e.phase === 'count'));
  assert.deepEqual(events.at(-1).vocabSize, 420);
  const json = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
  assert.deepEqual(json.added_tokens.map((t: { content: string }) => t.content), ['<|endoftext|>', '<|im_start|>', '<|im_end|>']);

  const enc = gptkit(['tokenize', '--tokenizer', out, '--json'], 'Hello <|im_start|> 😀');
  const ids = JSON.parse(enc.stdout) as number[];
  assert.ok(!ids.includes(418), 'special token not injected from text');
  const dec = gptkit(['tokenize', '--tokenizer', out, '--decode'], JSON.stringify(ids));
  assert.equal(dec.stdout, 'Hello <|im_start|> 😀');
  const allowed = JSON.parse(gptkit(['tokenize', '--tokenizer', out, '--json', '--allow-special'], 'Hello <|im_start|>').stdout);
  assert.equal(allowed.at(-1), 418);
  const human = gptkit(['tokenizer', 'train', '--data', join(dir, 'a.txt'), '--vocab-size', '300', '--out', join(dir, 'tok2'), '--special-tokens', '<|endoftext|>']);
  assert.match(human.stdout, /wrote .*tok2\/tokenizer.json: 300 ids \(256 bytes \+ 43 merges \+ 1 special\)/);
});

test('tokenize --tokenizer gpt2 prints js-tiktoken\'s ids; --threads gives the same', () => {
  const expected = getEncoding('gpt2').encode(text, [], []);
  assert.equal(gptkit(['tokenize', '--tokenizer', 'gpt2'], text).stdout, expected.join(' ') + '\n');
  assert.deepEqual(JSON.parse(gptkit(['tokenize', '--json', '--threads', '2'], text).stdout), expected);
  assert.equal(gptkit(['tokenize', '--decode'], expected.join(', ')).stdout, text);
});

test('mistakes get one clear line and a non-zero exit, never a stack trace', async (t) => {
  const errors: string[] = [];
  const logs: string[] = [];
  t.mock.method(console, 'error', (m: string) => errors.push(m));
  t.mock.method(console, 'log', (m: string) => logs.push(m));
  const cases: [string[], RegExp][] = [
    [['tokenizer', 'train', '--vocab-size', '300', '--out', dir], /--data is required/],
    [['tokenizer', 'train', '--data', 'x.txt', '--out', dir], /--vocab-size is required/],
    [['tokenizer', 'train', '--data', 'x.txt', '--vocab-size', '300'], /--out is required/],
    [['tokenizer', 'train', '--data', join(dir, 'missing.txt'), '--vocab-size', '300', '--out', join(dir, 'o')], /missing.txt: no such file/],
    [['tokenizer', 'fit'], /unknown subcommand 'fit'/],
    [['tokenize', '--tokenizer', join(dir, 'nothing')], /nothing: no such file or directory/],
  ];
  for (const [args, message] of cases) {
    errors.length = 0;
    assert.equal(await main(args), 1, args.join(' '));
    assert.match(errors.join('\n'), message);
    assert.doesNotMatch(errors.join('\n'), /\n\s+at /);
  }
  assert.equal(await main(['tokenizer', 'train', '--help']), 0);
  assert.match(logs.join('\n'), /--vocab-size N\s+total ids/);
  assert.equal(await main(['tokenize', '--help']), 0);
  assert.match(logs.join('\n'), /--allow-special/);
  assert.equal(await main(['tokenizer']), 1);
  assert.equal(await main(['tokenizer', '--help']), 0);
  assert.match(logs.join('\n'), /subcommands:\n  train/);
  const bad = gptkit(['tokenize', '--decode'], '1 x');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /input item 2 is "x", expected an integer token id/);
});

test('tokenizer train --model wordpiece writes tokenizer.json + vocab.txt that tokenize reads', () => {
  writeFileSync(join(dir, 'wp.txt'), text.repeat(3));
  const out = join(dir, 'wp');
  const r = gptkit(['tokenizer', 'train', '--model', 'wordpiece', '--data', join(dir, 'wp.txt'), '--vocab-size', '300', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /WordPiece tokens/);
  const vocab = readFileSync(join(out, 'vocab.txt'), 'utf8').split('\n');
  assert.deepEqual(vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.equal(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')).model.type, 'WordPiece');
  const ids = JSON.parse(gptkit(['tokenize', '--tokenizer', out, '--json'], 'Hello [MASK] world').stdout) as number[];
  assert.ok(!ids.includes(4), 'special token not injected from text');
  assert.equal(gptkit(['tokenize', '--tokenizer', out, '--decode'], JSON.stringify(ids)).stdout.replace(/ /g, ''), 'hello[mask]world');
});
