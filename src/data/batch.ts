// The per-document work of the curation pass, on batches of UTF-8 documents: the exact-dedup key,
// the quality score and the MinHash signature. It runs in worker threads (minhash-worker.ts) or
// inline; both give the same bits. A batch is one byte buffer plus offsets, so it moves to a
// worker without copying (its ArrayBuffer is transferred) and the worker never builds strings.
import { Worker } from 'node:worker_threads';
import { normalizedKey } from './hashing.ts';
import { MinHasher, type MinHashParams } from './minhash.ts';
import { QualityClassifier, type ClassifierHeader } from './classifier.ts';

export interface BatchSpec {
  exact: boolean;
  minhash: MinHashParams | null;
  /** Weights in a SharedArrayBuffer, so every worker reads the same memory. */
  classifier: { header: ClassifierHeader; weights: Float32Array } | null;
}

export interface BatchInput {
  bytes: Uint8Array;
  /** Document i is bytes[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array;
}

export interface BatchOutput {
  /** Two uint32 halves of the 64-bit normalised-text hash per document. */
  keys: Uint32Array | null;
  scores: Float32Array | null;
  /** numPerm int32 per document. */
  sigs: Int32Array | null;
  /** Shingles per document (0: no words, never fuzzy-matched). */
  shingles: Int32Array | null;
}

export class BatchState {
  private readonly spec: BatchSpec;
  private readonly hasher: MinHasher | null;
  private readonly classifier: QualityClassifier | null;

  constructor(spec: BatchSpec) {
    this.spec = spec;
    this.hasher = spec.minhash ? new MinHasher(spec.minhash) : null;
    this.classifier = spec.classifier ? new QualityClassifier(spec.classifier.header, spec.classifier.weights) : null;
  }

  process({ bytes, offsets }: BatchInput): BatchOutput {
    const n = offsets.length - 1;
    const keys = this.spec.exact ? new Uint32Array(2 * n) : null;
    const scores = this.classifier ? new Float32Array(n) : null;
    const k = this.hasher?.params.numPerm ?? 0;
    const sigs = this.hasher ? new Int32Array(n * k) : null;
    const shingles = this.hasher ? new Int32Array(n) : null;
    for (let i = 0; i < n; i++) {
      const s = offsets[i];
      const e = offsets[i + 1];
      if (keys) normalizedKey(bytes, s, e, keys, 2 * i);
      if (scores) scores[i] = this.classifier!.scoreBytes(bytes, s, e);
      if (sigs) shingles![i] = this.hasher!.signature(bytes, s, e, sigs, i * k);
    }
    return { keys, scores, sigs, shingles };
  }
}

/** Put classifier weights in shared memory for the workers. */
export function sharedClassifier(clf: QualityClassifier): { header: ClassifierHeader; weights: Float32Array } {
  const weights = new Float32Array(new SharedArrayBuffer(clf.weights.length * 4));
  weights.set(clf.weights);
  return { header: clf.header, weights };
}

/**
 * The worker's entry: register tsx, then import minhash-worker.ts. (Node 20 does not apply
 * `execArgv: ['--import', 'tsx']` hooks to a worker's own .ts entry file, so the registration is
 * done in a small JavaScript bootstrap; tsx is resolved from here, so any working directory works.)
 */
function workerBootstrap(): string {
  // Compiled (the published package): the worker's .js sits beside this file and needs no loader.
  if (import.meta.url.endsWith('.js')) return `import(${JSON.stringify(new URL('./minhash-worker.js', import.meta.url).href)});`;
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./minhash-worker.ts', import.meta.url).href);
  return `import(${api}).then((tsx) => { tsx.register(); return import(${entry}); });`;
}

interface Pending {
  resolve: (o: BatchOutput) => void;
  reject: (e: Error) => void;
}

/**
 * Runs batches on `threads` worker threads (0: inline on this thread). Results come back through
 * one promise per batch; callers await them in submission order, so output order never depends on
 * which worker was faster.
 */
export class BatchPool {
  readonly threads: number;
  private readonly inline: BatchState | null;
  private readonly workers: Worker[] = [];
  private readonly pending: Map<number, Pending>[] = [];
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(spec: BatchSpec, threads: number) {
    this.threads = threads;
    this.inline = threads === 0 ? new BatchState(spec) : null;
    for (let t = 0; t < threads; t++) {
      const w = new Worker(workerBootstrap(), { eval: true, workerData: spec });
      const pending = new Map<number, Pending>();
      w.on('message', (m: { id: number } & BatchOutput) => {
        const p = pending.get(m.id);
        pending.delete(m.id);
        p?.resolve({ keys: m.keys, scores: m.scores, sigs: m.sigs, shingles: m.shingles });
      });
      const fail = (e: Error): void => {
        this.failure ??= e;
        for (const p of pending.values()) p.reject(e);
        pending.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (code !== 0 && !this.closed) fail(new Error(`minhash worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.pending.push(pending);
    }
  }

  /** Process one batch; its buffers are transferred to a worker (unusable here afterwards). */
  process(input: BatchInput): Promise<BatchOutput> {
    if (this.inline) return Promise.resolve(this.inline.process(input));
    if (this.failure) return Promise.reject(this.failure);
    // The least busy worker; ties go to the lowest index.
    let t = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.pending[i].size < this.pending[t].size) t = i;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending[t].set(id, { resolve, reject });
      this.workers[t].postMessage({ id, bytes: input.bytes, offsets: input.offsets }, [input.bytes.buffer as ArrayBuffer, input.offsets.buffer as ArrayBuffer]);
    });
  }

  /** Stop the workers; batches still in flight are abandoned (their promises never settle). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Pack documents' UTF-8 bytes into one fresh (transferable) buffer with offsets. */
export function packBatch(texts: string[], totalBytes: number): BatchInput {
  const buf = Buffer.allocUnsafeSlow(totalBytes);
  const offsets = new Uint32Array(texts.length + 1);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    at += buf.write(texts[i], at, 'utf8');
    offsets[i + 1] = at;
  }
  return { bytes: new Uint8Array(buf.buffer, 0, at), offsets };
}
