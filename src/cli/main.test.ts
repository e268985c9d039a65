import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './main.ts';
import { parseFlags, withConfigFile } from './flags.ts';
import { readConfigFile } from './config-file.ts';
import { pretrainFlags } from './pretrain.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    return { code: await fn(), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('--help lists every command with its summary', async () => {
  const r = await capture(() => main(['--help']));
  assert.equal(r.code, 0);
  for (const c of ['pretrain', 'sample', 'score', 'export', 'ladder', 'tokenizer', 'tokenize', 'world', 'data']) assert.match(r.out, new RegExp(`^  ${c} +\\S`, 'm'));
});

test('user mistakes print one line, no stack trace, exit 1 or 2', async () => {
  const unknown = await capture(() => main(['pretrian']));
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'pretrian'/);
  const flag = await capture(() => main(['pretrain', '--data', 'x', '--out', 'y', '--stepz', '3']));
  assert.equal(flag.code, 1);
  assert.match(flag.err, /^gptkit pretrain: Unknown option '--stepz'/);
  assert.doesNotMatch(flag.err, /\n\s+at /);
  const num = await capture(() => main(['sample', '--model', 'm', '--max-tokens', 'many']));
  assert.match(num.err, /--max-tokens: expected a number, got 'many'/);
});

test('config files: keys as flags or config names; command-line flags win; bad keys named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ 'batch-size': 4, lr: 0.01, data: ['a.txt'] }));
  const p = parseFlags(['--lr', '0.5'], pretrainFlags);
  const v = withConfigFile(p, readConfigFile(file, pretrainFlags));
  assert.equal(v.batchSize, 4);
  assert.equal(v.lr, 0.5);
  assert.deepEqual(v.data, [join(dir, 'a.txt')], "paths in a config file are relative to the file's folder");
  assert.equal(v.steps, 1000, 'defaults fill the rest');
  writeFileSync(file, JSON.stringify({ batchSize: 'four' }));
  assert.throws(() => readConfigFile(file, pretrainFlags), /key 'batchSize' must be a number, got "four"/);
  writeFileSync(file, JSON.stringify({ bogus: 1 }));
  assert.throws(() => readConfigFile(file, pretrainFlags), /unknown key 'bogus'/);
  const multi = parseFlags(['--data', 'a', 'b', '--steps', '3'], pretrainFlags);
  assert.deepEqual(multi.values.data, ['a', 'b']);
});
