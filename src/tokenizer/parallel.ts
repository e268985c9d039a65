// Encoding large inputs on worker threads. The text is cut at points where the pre-tokens do not
// change (pretokenize.ts lastSafeCut) and never inside an allowed special token, so the ids are
// exactly tokenizer.encode(text). Each worker gets the tokenizer once, packed into typed arrays.
// Below `minChunk` characters per thread the text is encoded on the calling thread: a worker
// pays about a second to start (TypeScript loader, tokenizer build, cold cache), as much as
// encoding several megabytes.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Tokenizer, type TokenizerSpec, type EncodeOptions } from './bpe.ts';
import { lastSafeCut } from './pretokenize.ts';

export interface ParallelOptions extends EncodeOptions {
  /** Worker threads (default: the number of cores). */
  threads?: number;
  /** Smallest piece of text worth a worker, in characters (default 8 Mi). */
  minChunk?: number;
}

export interface PackedSpec {
  bytes: Uint8Array;
  offsets: Int32Array; // token id → start in bytes; offsets[id] === offsets[id+1] for special ids
  merges: Int32Array; // a0 b0 a1 b1 …
  specialTokens: Record<string, number>;
}

export interface ChunkRequest {
  index: number;
  text: string;
  allowedSpecial?: string[];
}

export function packSpec(spec: TokenizerSpec): PackedSpec {
  const offsets = new Int32Array(spec.tokens.length + 1);
  for (let id = 0; id < spec.tokens.length; id++) offsets[id + 1] = offsets[id] + (spec.tokens[id]?.length ?? 0);
  const bytes = new Uint8Array(offsets[spec.tokens.length]);
  spec.tokens.forEach((t, id) => { if (t) bytes.set(t, offsets[id]); });
  return { bytes, offsets, merges: Int32Array.from(spec.merges.flat()), specialTokens: spec.specialTokens };
}

export function unpackSpec(p: PackedSpec): TokenizerSpec {
  const tokens: (Uint8Array | undefined)[] = [];
  const special = new Set(Object.values(p.specialTokens));
  for (let id = 0; id + 1 < p.offsets.length; id++) tokens.push(special.has(id) ? undefined : p.bytes.subarray(p.offsets[id], p.offsets[id + 1]));
  const merges: [number, number][] = [];
  for (let k = 0; k < p.merges.length; k += 2) merges.push([p.merges[k], p.merges[k + 1]]);
  return { tokens, merges, specialTokens: p.specialTokens };
}

/** Cut points splitting text into about `parts` pieces that encode independently. */
export function safeCuts(text: string, parts: number, specials: readonly string[]): number[] {
  const cuts: number[] = [0];
  for (let k = 1; k < parts; k++) {
    let p = lastSafeCut(text, Math.floor((text.length * k) / parts));
    for (let moved = true; moved && p > 0;) {
      moved = false;
      for (const s of specials) {
        const at = text.lastIndexOf(s, p - 1);
        if (at >= 0 && at + s.length > p) { p = lastSafeCut(text, at); moved = true; }
      }
    }
    if (p > cuts[cuts.length - 1]) cuts.push(p);
  }
  cuts.push(text.length);
  return cuts;
}

/** tokenizer.encode(text, options), on worker threads when the text is large. */
export async function encodeParallel(tokenizer: Tokenizer, text: string, options: ParallelOptions = {}): Promise<number[]> {
  const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
  const minChunk = options.minChunk ?? 1 << 23;
  const workers = Math.min(threads, Math.floor(text.length / minChunk));
  if (workers <= 1) return tokenizer.encode(text, options);
  const allowed = options.allowedSpecial === 'all' ? [...tokenizer.specialTokens.keys()] : options.allowedSpecial ? [...options.allowedSpecial] : [];
  for (const name of allowed) tokenizer.tokenId(name);
  const cuts = safeCuts(text, workers * 4, allowed);
  const results: Int32Array[] = new Array(cuts.length - 1);
  const packed = packSpec(tokenizer.toSpec());
  const pool = Array.from({ length: workers }, () => new Worker(new URL('./encode-worker.mjs', import.meta.url), { workerData: packed }));
  try {
    let next = 0;
    await Promise.all(pool.map((worker) => new Promise<void>((resolve, reject) => {
      const send = (): void => {
        if (next >= results.length) { resolve(); return; }
        const index = next++;
        const req: ChunkRequest = { index, text: text.slice(cuts[index], cuts[index + 1]), allowedSpecial: allowed };
        worker.postMessage(req);
      };
      worker.on('message', (msg: { index: number; ids: Int32Array }) => { results[msg.index] = msg.ids; send(); });
      worker.on('error', reject);
      send();
    })));
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  const out: number[] = [];
  for (const ids of results) for (let k = 0; k < ids.length; k++) out.push(ids[k]);
  return out;
}
