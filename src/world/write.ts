// Writes a world to disk in the contract shared with data/ (see README "The world's files"):
// JSONL files streamed through a small buffer (memory stays bounded for any size) into the output's
// staging folder, then manifest.json with every file's record and byte counts; the whole world
// replaces the previous one in one transaction (util/output.ts). Same seed and size → byte-identical files.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/fs.ts';
import { OutputDir, asOutput, legacyByNames, type OutputOptions } from '../util/output.ts';
import type { World } from './model.ts';
import { referenceDocuments } from './corpus.ts';
import { crawlDocuments } from './crawl.ts';
import { SPLITS, TASK_NAMES, taskSplits } from './tasks.ts';
import { instructExamples } from './instruct.ts';
import { preferenceRecords } from './preferences.ts';
import { DEFAULT_NOISE } from './labeler.ts';

export const GENERATOR = 'gptkit-world/3';

export interface WorldProgress { file: string; records: number; bytes: number; done: boolean }
export type ProgressFn = (p: WorldProgress) => void;
export interface FileStats { records: number; bytes: number }

export interface Manifest {
  seed: number;
  size: string;
  generator: string;
  files: Record<string, FileStats>;
  preference_k: number;
  labeler_noise: number;
}

const FLUSH_BYTES = 1 << 20;
const REPORT_EVERY = 10000;

/** A JSONL file written through a buffer, counting records and UTF-8 bytes. */
class JsonlWriter {
  private fd: number;
  private buf: string[] = [];
  private pending = 0;
  records = 0;
  bytes = 0;
  constructor(path: string, private rel: string, private onProgress?: ProgressFn) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
  }
  write(obj: unknown): void {
    const line = JSON.stringify(obj) + '\n';
    this.buf.push(line);
    this.pending += line.length;
    this.records++;
    if (this.pending >= FLUSH_BYTES) this.flush();
    if (this.records % REPORT_EVERY === 0) this.onProgress?.({ file: this.rel, records: this.records, bytes: this.bytes + Buffer.byteLength(this.buf.join('')), done: false });
  }
  private flush(): void {
    if (!this.buf.length) return;
    const data = Buffer.from(this.buf.join(''), 'utf8');
    writeSync(this.fd, data);
    this.bytes += data.length;
    this.buf = [];
    this.pending = 0;
  }
  close(): FileStats {
    this.flush();
    closeSync(this.fd);
    this.onProgress?.({ file: this.rel, records: this.records, bytes: this.bytes, done: true });
    return { records: this.records, bytes: this.bytes };
  }
}

/** Every file of the contract, relative to the world directory, in the order they are written. */
export function worldFiles(): string[] {
  return [
    'corpus/reference.jsonl', 'crawl/crawl.jsonl', 'answers/crawl.jsonl',
    ...TASK_NAMES.flatMap((t) => SPLITS.map((s) => `tasks/${t}/${s}.jsonl`)),
    'instruct/sft_train.jsonl', 'instruct/sft_validation.jsonl',
    'instruct/prompts_train.jsonl', 'instruct/prompts_validation.jsonl', 'instruct/prompts_test.jsonl',
    'instruct/preferences_train.jsonl', 'instruct/preferences_validation.jsonl',
    'manifest.json',
  ];
}

function writeAll(w: World, tmp: string, onProgress?: ProgressFn): Manifest {
  const files: Record<string, FileStats> = {};
  const open = (rel: string) => new JsonlWriter(join(tmp, rel), rel, onProgress);
  const one = (rel: string, records: Iterable<unknown>) => {
    const out = open(rel);
    for (const r of records) out.write(r);
    files[rel] = out.close();
  };

  one('corpus/reference.jsonl', (function* () { for (const d of referenceDocuments(w)) yield { id: d.id, source: d.source, text: d.text }; })());
  const crawl = open('crawl/crawl.jsonl'), answers = open('answers/crawl.jsonl');
  for (const d of crawlDocuments(w)) { crawl.write({ id: d.id, text: d.text }); answers.write(d.answer); }
  files['crawl/crawl.jsonl'] = crawl.close();
  files['answers/crawl.jsonl'] = answers.close();

  for (const task of TASK_NAMES) {
    const splits = taskSplits(w, task);
    for (const s of SPLITS) one(`tasks/${task}/${s}.jsonl`, splits[s]);
  }

  const p = w.preset;
  const sft = (split: 'train' | 'validation', n: number) => (function* () { for (const ex of instructExamples(w, `sft:${split}`, split, n)) yield { messages: ex.messages, category: ex.category }; })();
  const prompts = (split: 'train' | 'validation' | 'test', n: number) => (function* () { for (const ex of instructExamples(w, `prompts:${split}`, split, n)) yield { messages: ex.messages.slice(0, -1), category: ex.category }; })();
  one('instruct/sft_train.jsonl', sft('train', p.sftTrain));
  one('instruct/sft_validation.jsonl', sft('validation', p.sftValidation));
  one('instruct/prompts_train.jsonl', prompts('train', p.promptsTrain));
  one('instruct/prompts_validation.jsonl', prompts('validation', p.promptsEval));
  one('instruct/prompts_test.jsonl', prompts('test', p.promptsEval));
  one('instruct/preferences_train.jsonl', preferenceRecords(w, 'train', p.prefsTrain));
  one('instruct/preferences_validation.jsonl', preferenceRecords(w, 'validation', p.prefsValidation));

  return { seed: w.seed, size: w.size, generator: GENERATOR, files, preference_k: p.k, labeler_noise: DEFAULT_NOISE };
}

const WORLD_ENTRIES = new Set(['manifest.json', 'corpus', 'crawl', 'answers', 'tasks', 'instruct']);
/** A world written before output markers existed. */
const legacyWorld: OutputOptions['legacy'] = legacyByNames(['manifest.json'], (n) => WORLD_ENTRIES.has(n));

/** Open a folder as a world's output (see util/output.ts for what is refused). */
export function openWorldDir(dir: string, opts: Omit<OutputOptions, 'kind' | 'legacy'> = {}): OutputDir {
  return OutputDir.open(dir, { ...opts, kind: 'world', legacy: legacyWorld });
}

/** Write the whole world to `dir` (one transaction; a path replaces a world gptkit wrote there). Returns the manifest. */
export function writeWorld(w: World, dir: string | OutputDir, onProgress?: ProgressFn): Manifest {
  let manifest: Manifest | undefined;
  asOutput(dir, 'world', legacyWorld).commitSync((tmp) => {
    manifest = writeAll(w, tmp, onProgress);
    writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  }, { replaceAll: true });
  return manifest!;
}
