import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardWriter, TokenShards, dtypeFor, type ShardTokenizer } from './shards.ts';
import { Rng } from '../util/rng.ts';
import { FileFormatError, GptkitError } from '../util/errors.ts';

// A byte-level tokenizer: ids 0–255 are bytes, 256 is end-of-text.
const bytesTok: ShardTokenizer = { name: 'bytes', vocabSize: 257, eotToken: 256, encode: (t) => Array.from(Buffer.from(t, 'utf8')) };

function decodeStream(shards: TokenShards): number[] {
  const all: number[] = [];
  shards.index.shards.forEach((s, i) => all.push(...shards.read(i, 0, s.tokens)));
  return all;
}

test('writer: documents followed by end-of-text, split into shards, uint16 little-endian + index', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-shards-'));
  const w = new ShardWriter(dir, bytesTok, 10);
  const docs = ['hello', 'wörld', '', 'a longer document here'];
  for (const d of docs) w.add(d);
  const index = w.finish();
  const expected = docs.flatMap((d) => [...Buffer.from(d), 256]);
  assert.equal(index.dtype, 'uint16');
  assert.deepEqual(index.shards.map((s) => s.tokens), [10, 10, 10, expected.length - 30]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')), index);
  const raw = readFileSync(join(dir, 'shard_00000.bin'));
  assert.equal(raw.length, 20);
  assert.equal(raw.readUInt16LE(10), 256); // 'hello' then eot at token 5
  const shards = TokenShards.open(dir);
  assert.deepEqual(decodeStream(shards), expected);
  assert.equal(shards.totalTokens, expected.length);
  assert.equal(shards.index.documents, 4);
  shards.close();
});

test('uint32 when the vocabulary does not fit 16 bits; out-of-range ids are errors', () => {
  assert.equal(dtypeFor(65536), 'uint16');
  assert.equal(dtypeFor(65537), 'uint32');
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-shards32-'));
  const big: ShardTokenizer = { name: 'big', vocabSize: 100000, eotToken: 99999, encode: (t) => [70000 + t.length, 3] };
  const w = new ShardWriter(dir, big);
  w.add('abc');
  w.finish();
  const s = TokenShards.open(dir);
  assert.equal(s.index.dtype, 'uint32');
  assert.deepEqual(Array.from(s.read(0, 0, 3)), [70003, 3, 99999]);
  s.close();
  const bad = new ShardWriter(dir, { ...bytesTok, encode: () => [300] });
  assert.throws(() => bad.add('x'), (e: unknown) => e instanceof GptkitError && /id 300 outside \[0, 257\)/.test(e.message));
  assert.throws(() => new ShardWriter(dir, { ...bytesTok, eotToken: 257 }), /outside the vocabulary/);
});

test('random windows are seeded, inside one shard, block+1 long and uniform over starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-shardsr-'));
  // Tokens are their own positions mod 256 so a window shows where it came from.
  const tok: ShardTokenizer = { name: 'count', vocabSize: 300, eotToken: 299, encode: (t) => Array.from({ length: Number(t) }, (_, i) => i % 256) };
  const w = new ShardWriter(dir, tok, 64);
  w.add('200');
  w.finish();
  const s = TokenShards.open(dir);
  const a = Array.from({ length: 50 }, () => null).map(function (this: Rng) { return Array.from(s.randomWindow(this, 8)); }, new Rng(4));
  const b = Array.from({ length: 50 }, () => null).map(function (this: Rng) { return Array.from(s.randomWindow(this, 8)); }, new Rng(4));
  assert.deepEqual(a, b);
  for (const win of a) {
    assert.equal(win.length, 9);
    // Consecutive within a window unless it spans the end-of-text at position 200.
    for (let i = 1; i < 9; i++) if (win[i] !== 299 && win[i - 1] !== 299) assert.equal(win[i], (win[i - 1] + 1) % 256);
  }
  const counts = new Map<number, number>();
  const rng = new Rng(1);
  for (let i = 0; i < 20000; i++) {
    const first = s.randomWindow(rng, 60)[0];
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  // 4 shards of 64, 64, 64, 9 tokens: starts 0–3 in each of the first three, none in the last.
  assert.deepEqual([...counts.keys()].sort((x, y) => x - y), [0, 1, 2, 3, 64, 65, 66, 67, 128, 129, 130, 131]);
  const p = 1 / 12;
  for (const c of counts.values()) assert.ok(Math.abs(c / 20000 - p) < 4 * Math.sqrt((p * (1 - p)) / 20000), `count ${c}`);
  assert.throws(() => s.randomWindow(rng, 100), /holds 101 tokens/);
  s.close();
});

test('sequential windows resume exactly from a saved position and wrap into the next epoch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-shardss-'));
  const w = new ShardWriter(dir, bytesTok, 25);
  for (let i = 0; i < 6; i++) w.add(`document number ${i}`);
  w.finish();
  const s = TokenShards.open(dir);
  const r = s.sequential(7);
  const first = Array.from({ length: 5 }, () => Array.from(r.next()));
  const saved = r.position();
  const rest = Array.from({ length: 30 }, () => Array.from(r.next()));
  const resumed = s.sequential(7, saved);
  assert.deepEqual(Array.from({ length: 30 }, () => Array.from(resumed.next())), rest);
  assert.deepEqual(first[1].slice(0, 1), first[0].slice(7, 8)); // windows overlap by one token
  assert.ok(r.position().epoch >= 1);
  assert.deepEqual(first[0], Array.from(s.read(0, 0, 8)));
  s.close();
});

test('open validates the index and shard sizes, naming the file and field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gptkit-shardsv-'));
  assert.throws(() => TokenShards.open(dir), /no shard index/);
  const w = new ShardWriter(dir, bytesTok, 16);
  w.add('some text to shard');
  const index = w.finish();
  const put = (patch: object): void => writeFileSync(join(dir, 'index.json'), JSON.stringify({ ...index, ...patch }));
  put({ dtype: 'int8' });
  assert.throws(() => TokenShards.open(dir), (e: unknown) => e instanceof FileFormatError && /index.json: dtype: expected 'uint16' or 'uint32', found "int8"/.test(e.message));
  put({ eot_token: 999 });
  assert.throws(() => TokenShards.open(dir), /eot_token: expected an integer in \[0, 257\)/);
  put({ shards: [{ file: '../x.bin', tokens: 1 }] });
  assert.throws(() => TokenShards.open(dir), /shards\[0\].file/);
  put({});
  truncateSync(join(dir, 'shard_00000.bin'), 10);
  assert.throws(() => TokenShards.open(dir), /shard_00000.bin: expected 32 bytes \(16 uint16 tokens\), found 10/);
});
