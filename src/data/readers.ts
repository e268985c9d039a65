// Document readers: .txt, JSONL and Parquet, each optionally gzipped (.gz). They stream: memory is
// bounded by one read chunk (JSONL, paragraph text) or one Parquet row group, never by file size.
// A malformed record (bad JSON, missing or non-string text field) is reported with its file and
// line (row for Parquet) through `onMalformed` and skipped, or thrown as a FileFormatError when
// `onError` is 'fail'; it is never dropped silently.
import { createReadStream, readdirSync, statSync, readFileSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createGunzip, gunzipSync } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import type { Readable } from 'node:stream';
import { ConfigError, FileFormatError } from '../util/errors.ts';

export interface Doc {
  id: string;
  text: string;
}

export type InputFormat = 'txt' | 'jsonl' | 'parquet';

export interface Malformed {
  file: string;
  /** 1-based line (JSONL, text) or row (Parquet). */
  line: number;
  message: string;
}

export interface ReadOptions {
  /** Format of every file; by default from the extension (.txt, .jsonl/.ndjson/.json, .parquet, each ± .gz). */
  format?: InputFormat;
  /** JSONL/Parquet field (column) holding the text. */
  textField?: string;
  /** JSONL/Parquet field holding the id; when absent a record's id is `file:line`. */
  idField?: string;
  /** .txt: one document per file, or one per blank-line-separated paragraph. */
  txtMode?: 'file' | 'paragraph';
  onError?: 'skip' | 'fail';
  /** Called for every malformed record that is skipped (required with onError 'skip'). */
  onMalformed?: (m: Malformed) => void;
}

interface Resolved {
  textField: string;
  idField: string;
  txtMode: 'file' | 'paragraph';
  fail: boolean;
  report: (m: Malformed) => void;
}

const EXTENSIONS: Record<string, InputFormat> = { '.txt': 'txt', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'jsonl', '.parquet': 'parquet' };

/** The format and gzip-ness a file name implies, or null when its extension is not a known one. */
export function formatOf(path: string): { format: InputFormat; gzip: boolean } | null {
  const gzip = path.endsWith('.gz');
  const base = gzip ? path.slice(0, -3) : path;
  const dot = base.lastIndexOf('.');
  const format = dot >= 0 ? EXTENSIONS[base.slice(dot).toLowerCase()] : undefined;
  return format ? { format, gzip } : null;
}

/** Expand directories (recursively, sorted) into the files with a known extension. */
export function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new FileFormatError(p, 'no such file or directory');
    }
    if (st.isDirectory()) {
      const names = readdirSync(p).sort();
      out.push(...expandPaths(names.map((n) => join(p, n)).filter((q) => statSync(q).isDirectory() || formatOf(q) !== null)));
    } else {
      out.push(p);
    }
  }
  return out;
}

/** Stream the documents of every file in order. */
export async function* readDocuments(paths: string[], opts: ReadOptions = {}): AsyncGenerator<Doc> {
  const onError = opts.onError ?? 'fail';
  if (onError === 'skip' && !opts.onMalformed) throw new ConfigError("readDocuments: onError 'skip' needs an onMalformed callback, so skipped records are reported");
  const r: Resolved = {
    textField: opts.textField ?? 'text',
    idField: opts.idField ?? 'id',
    txtMode: opts.txtMode ?? 'file',
    fail: onError === 'fail',
    report: opts.onMalformed ?? (() => {}),
  };
  for (const file of expandPaths(paths)) {
    const kind = formatOf(file);
    const format = opts.format ?? kind?.format;
    if (!format) throw new FileFormatError(file, `unknown extension: expected one of ${Object.keys(EXTENSIONS).join(', ')} (optionally .gz), or set the format`);
    const gzip = kind?.gzip ?? file.endsWith('.gz');
    if (format === 'jsonl') yield* readJsonl(file, gzip, r);
    else if (format === 'txt') yield* r.txtMode === 'file' ? readWholeText(file, gzip) : readParagraphs(file, gzip);
    else yield* readParquet(file, gzip, r);
  }
}

function openStream(file: string, gzip: boolean): Readable {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!gzip) return raw;
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** Lines of a (possibly gzipped) file with 1-based numbers; "\r\n" endings are stripped. */
async function* readLines(file: string, gzip: boolean): AsyncGenerator<[string, number]> {
  let rest: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  const stream = openStream(file, gzip);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      const last = buf.lastIndexOf(10);
      if (last < 0) {
        rest = buf;
        continue;
      }
      // A newline byte never sits inside a multi-byte UTF-8 sequence, so decoding up to it is safe.
      const lines = buf.toString('utf8', 0, last).split('\n');
      rest = buf.subarray(last + 1);
      for (const line of lines) yield [line.endsWith('\r') ? line.slice(0, -1) : line, ++lineNo];
    }
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileFormatError(file, `read failed after line ${lineNo}: ${(e as Error).message}`);
  }
  if (rest.length) {
    const line = rest.toString('utf8');
    yield [line.endsWith('\r') ? line.slice(0, -1) : line, ++lineNo];
  }
}

function malformed(r: Resolved, file: string, line: number, message: string): void {
  if (r.fail) throw new FileFormatError(`${file}:${line}`, message, "to skip malformed records instead: onError 'skip' in a config, --on-error skip on the command line");
  r.report({ file, line, message });
}

async function* readJsonl(file: string, gzip: boolean, r: Resolved): AsyncGenerator<Doc> {
  for await (const [line, no] of readLines(file, gzip)) {
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      malformed(r, file, no, `invalid JSON (${(e as Error).message})`);
      continue;
    }
    const doc = recordToDoc(obj, r, file, no);
    if (doc) yield doc;
  }
}

function recordToDoc(obj: unknown, r: Resolved, file: string, no: number): Doc | null {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    malformed(r, file, no, `expected a JSON object, found ${Array.isArray(obj) ? 'an array' : JSON.stringify(obj)}`);
    return null;
  }
  const rec = obj as Record<string, unknown>;
  const text = rec[r.textField];
  if (typeof text !== 'string') {
    malformed(r, file, no, text === undefined ? `missing text field '${r.textField}'` : `text field '${r.textField}' is ${text === null ? 'null' : typeof text}, expected a string`);
    return null;
  }
  const id = rec[r.idField];
  return { id: typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : `${file}:${no}`, text };
}

async function* readWholeText(file: string, gzip: boolean): AsyncGenerator<Doc> {
  const raw = readFileSync(file);
  let text: string;
  try {
    text = (gzip ? gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    throw new FileFormatError(file, `not a valid gzip file (${(e as Error).message})`);
  }
  yield { id: file, text };
}

async function* readParagraphs(file: string, gzip: boolean): AsyncGenerator<Doc> {
  let para: string[] = [];
  let start = 0;
  const name = basename(file);
  for await (const [line, no] of readLines(file, gzip)) {
    if (line.trim() === '') {
      if (para.length) yield { id: `${name}:${start}`, text: para.join('\n') };
      para = [];
      continue;
    }
    if (!para.length) start = no;
    para.push(line);
  }
  if (para.length) yield { id: `${name}:${start}`, text: para.join('\n') };
}

async function* readParquet(file: string, gzip: boolean, r: Resolved): AsyncGenerator<Doc> {
  // Parquet needs random access (its footer is at the end), so a gzipped file is first inflated
  // to a temporary file, streaming, and read from there.
  let path = file;
  let tmp: string | null = null;
  if (gzip) {
    tmp = mkdtempSync(join(tmpdir(), 'gptkit-parquet-'));
    path = join(tmp, 'data.parquet');
    try {
      await pipeline(createReadStream(file), createGunzip(), createWriteStream(path));
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw new FileFormatError(file, `not a valid gzip file (${(e as Error).message})`);
    }
  }
  try {
    yield* readParquetFile(path, file, r);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

async function* readParquetFile(path: string, file: string, r: Resolved): AsyncGenerator<Doc> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetSchema, parquetReadObjects } = await import('hyparquet');
  const buffer = await asyncBufferFromFile(path);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    throw new FileFormatError(file, `not a valid Parquet file (${(e as Error).message})`);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  if (!columns.includes(r.textField)) throw new FileFormatError(file, `no column '${r.textField}' (columns: ${columns.join(', ')})`, 'set textField to the column holding the text');
  const wanted = columns.includes(r.idField) ? [r.textField, r.idField] : [r.textField];
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file: buffer, metadata, columns: wanted, rowStart, rowEnd });
    for (let i = 0; i < rows.length; i++) {
      const doc = recordToDoc(rows[i], r, file, rowStart + i + 1);
      if (doc) yield doc;
    }
    rowStart = rowEnd;
  }
}
