// Training text from files, streamed: `.jsonl` files yield the `text` field of each line (one
// document each); any other file is read as UTF-8 text in chunks cut only where the pre-tokens do
// not change (pretokenize.ts lastSafeCut), so a 10 GB file never sits in memory whole.
import { createReadStream } from 'node:fs';
import { FileFormatError } from '../util/errors.ts';
import { lastSafeCut } from './pretokenize.ts';

/** Aim for chunks of about this many code units. */
const CHUNK = 1 << 20;

/** Texts of every file in turn. */
export async function* readTexts(paths: readonly string[], chunkSize = CHUNK): AsyncGenerator<string> {
  for (const path of paths) {
    if (path.endsWith('.jsonl')) yield* readJsonl(path);
    else yield* readTextChunks(path, chunkSize);
  }
}

/** A text file in chunks that pre-tokenize exactly as the whole file would. */
export async function* readTextChunks(path: string, chunkSize = CHUNK): AsyncGenerator<string> {
  let pending = '';
  for await (const part of chunksOf(path, chunkSize)) {
    pending += part;
    if (pending.length < chunkSize) continue;
    const cut = lastSafeCut(pending);
    if (cut === 0) continue; // one enormous word so far: keep reading
    yield pending.slice(0, cut);
    pending = pending.slice(cut);
  }
  if (pending) yield pending;
}

/** The `text` field of every line of a JSONL file (blank lines skipped). */
export async function* readJsonl(path: string): AsyncGenerator<string> {
  let pending = '';
  let n = 0;
  const parse = (raw: string): string | undefined => {
    n++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return undefined;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      throw new FileFormatError(path, `line ${n}: not valid JSON (${(e as Error).message})`);
    }
    const text = (record as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') {
      throw new FileFormatError(path, `line ${n}: expected an object with a string "text" field, found ${JSON.stringify(line.slice(0, 60))}`);
    }
    return text;
  };
  for await (const part of chunksOf(path, CHUNK)) {
    pending += part;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const text = parse(line);
      if (text !== undefined) yield text;
    }
  }
  const text = parse(pending);
  if (text !== undefined) yield text;
}

/** A file's text in decoded pieces; a missing or unreadable file is a FileFormatError. */
async function* chunksOf(path: string, highWaterMark: number): AsyncGenerator<string> {
  try {
    for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark })) yield chunk as string;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FileFormatError(path, err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.message})`);
  }
}
