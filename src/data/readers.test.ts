import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readDocuments, formatOf, type Doc, type Malformed, type ReadOptions } from './readers.ts';
import { FileFormatError, ConfigError } from '../util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'gptkit-readers-'));

async function collect(paths: string[], opts: ReadOptions = {}): Promise<Doc[]> {
  const out: Doc[] = [];
  for await (const d of readDocuments(paths, opts)) out.push(d);
  return out;
}

test('formatOf reads the extension, with and without .gz', () => {
  assert.deepEqual(formatOf('a/b.jsonl.gz'), { format: 'jsonl', gzip: true });
  assert.deepEqual(formatOf('b.TXT'), { format: 'txt', gzip: false });
  assert.deepEqual(formatOf('c.parquet'), { format: 'parquet', gzip: false });
  assert.equal(formatOf('d.csv'), null);
});

test('JSONL: text and id fields are configurable, CRLF and blank lines are fine', async () => {
  const p = join(dir, 'custom.jsonl');
  writeFileSync(p, '{"body":"first","key":"a"}\r\n\n{"body":"sécond ünïcode","key":7}\n{"body":"no id"}');
  const docs = await collect([p], { textField: 'body', idField: 'key' });
  assert.deepEqual(docs, [
    { id: 'a', text: 'first' },
    { id: '7', text: 'sécond ünïcode' },
    { id: `${p}:4`, text: 'no id' },
  ]);
});

test('JSONL: malformed lines are reported with file and line, and skipped or fatal', async () => {
  const p = join(dir, 'bad.jsonl');
  writeFileSync(p, ['{"text":"ok 1"}', '{"text": broken', '[1,2]', '{"id":"x"}', '{"text":5}', '{"text":"ok 2"}'].join('\n') + '\n');
  const seen: Malformed[] = [];
  const docs = await collect([p], { onError: 'skip', onMalformed: (m) => seen.push(m) });
  assert.deepEqual(docs.map((d) => d.text), ['ok 1', 'ok 2']);
  assert.deepEqual(seen.map((m) => m.line), [2, 3, 4, 5]);
  assert.ok(seen.every((m) => m.file === p));
  assert.match(seen[0].message, /invalid JSON/);
  assert.match(seen[1].message, /expected a JSON object, found an array/);
  assert.match(seen[2].message, /missing text field 'text'/);
  assert.match(seen[3].message, /is number, expected a string/);
  await assert.rejects(collect([p]), (e: unknown) => e instanceof FileFormatError && e.message.startsWith(`${p}:2: invalid JSON`));
  await assert.rejects(collect([p], { onError: 'skip' }), ConfigError);
});

test('JSONL streams across read chunks and through gzip, byte for byte', async () => {
  // ~3 MB of multi-byte text so lines straddle the 1 MB read chunks.
  const texts: string[] = [];
  for (let i = 0; i < 3000; i++) texts.push(`doc ${i} ` + 'héllo wörld ✓ '.repeat(50 + (i % 37)));
  const body = texts.map((t, i) => JSON.stringify({ id: `d${i}`, text: t })).join('\n') + '\n';
  writeFileSync(join(dir, 'big.jsonl'), body);
  writeFileSync(join(dir, 'big.jsonl.gz'), gzipSync(body));
  for (const name of ['big.jsonl', 'big.jsonl.gz']) {
    const docs = await collect([join(dir, name)]);
    assert.equal(docs.length, texts.length, name);
    assert.ok(docs.every((d, i) => d.text === texts[i] && d.id === `d${i}`), name);
  }
  const gz = join(dir, 'broken.jsonl.gz');
  writeFileSync(gz, gzipSync(body).subarray(0, 5000));
  await assert.rejects(collect([gz]), (e: unknown) => e instanceof FileFormatError && e.message.includes('broken.jsonl.gz'));
});

test('txt: one document per file, or per paragraph; gzip too', async () => {
  const sub = join(dir, 'txt');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'a.txt'), 'Para one line one\nline two\n\n  \nPara two\n\n\nPara three');
  writeFileSync(join(sub, 'b.txt.gz'), gzipSync('Only one'));
  writeFileSync(join(sub, 'ignored.csv'), 'x,y');
  const whole = await collect([sub]);
  assert.deepEqual(whole.map((d) => d.text), ['Para one line one\nline two\n\n  \nPara two\n\n\nPara three', 'Only one']);
  assert.equal(whole[0].id, join(sub, 'a.txt'));
  const paras = await collect([sub], { txtMode: 'paragraph' });
  assert.deepEqual(paras, [
    { id: 'a.txt:1', text: 'Para one line one\nline two' },
    { id: 'a.txt:5', text: 'Para two' },
    { id: 'a.txt:8', text: 'Para three' },
    { id: 'b.txt.gz:1', text: 'Only one' },
  ]);
  await assert.rejects(collect([join(sub, 'ignored.csv')]), /unknown extension/);
  await assert.rejects(collect([join(dir, 'missing.txt')]), /no such file/);
});

test('Parquet: row groups stream, text/id columns by name, gzip, bad rows reported by row', async () => {
  const n = 250;
  const text = Array.from({ length: n }, (_, i) => (i === 100 ? null : `parquet doc ${i} ✓`));
  const id = Array.from({ length: n }, (_, i) => `p${i}`);
  const buf = parquetWriteBuffer({ columnData: [{ name: 'content', data: text, type: 'STRING' }, { name: 'uid', data: id, type: 'STRING' }], rowGroupSize: 64 });
  const p = join(dir, 'docs.parquet');
  writeFileSync(p, new Uint8Array(buf));
  writeFileSync(p + '.gz', gzipSync(new Uint8Array(buf)));
  for (const path of [p, p + '.gz']) {
    const seen: Malformed[] = [];
    const docs = await collect([path], { textField: 'content', idField: 'uid', onError: 'skip', onMalformed: (m) => seen.push(m) });
    assert.equal(docs.length, n - 1);
    assert.deepEqual(docs[150], { id: 'p151', text: 'parquet doc 151 ✓' });
    assert.deepEqual(seen, [{ file: path, line: 101, message: "text field 'content' is null, expected a string" }]);
  }
  await assert.rejects(collect([p]), /no column 'text' \(columns: content, uid\)/);
  const junk = join(dir, 'junk.parquet');
  writeFileSync(junk, 'not parquet at all');
  await assert.rejects(collect([junk]), (e: unknown) => e instanceof FileFormatError && /not a valid Parquet file/.test(e.message));
});
