// `minhash`: MB/s of MinHash signatures (word 5-gram shingles, 128 permutations) over synthetic
// crawl text, inline on one thread and on worker threads (the curate pipeline's BatchPool).
// No reference library: the figure is MB/s and peak RSS (BENCH.md).
import { emit, log, median, peakRssMb } from './harness.ts';
import { SyntheticCrawl } from '../src/data/synthetic.ts';
import { BatchPool, BatchState, packBatch, type BatchInput, type BatchSpec } from '../src/data/batch.ts';

const MB = Number(process.env.GPTKIT_BENCH_MINHASH_MB ?? 48);

function makeBatches(): { texts: string[][]; bytes: number } {
  const gen = new SyntheticCrawl(1);
  const texts: string[][] = [];
  let bytes = 0;
  while (bytes < MB * 1e6) {
    const batch: string[] = [];
    let b = 0;
    while (b < 1 << 20) {
      const t = gen.good();
      batch.push(t);
      b += Buffer.byteLength(t);
    }
    texts.push(batch);
    bytes += b;
  }
  return { texts, bytes };
}

function pack(batch: string[]): BatchInput {
  return packBatch(batch, batch.reduce((s, t) => s + Buffer.byteLength(t), 0));
}

export async function run(): Promise<void> {
  const { texts, bytes } = makeBatches();
  const spec: BatchSpec = { exact: false, minhash: { numPerm: 128, ngram: 5, seed: 1 }, classifier: null };
  log(`minhash: ${(bytes / 1e6).toFixed(1)} MB of synthetic crawl text, 128 permutations, 5-gram shingles`);
  // Inline, one thread.
  const inline = new BatchState(spec);
  for (const b of texts) inline.process(pack(b));
  const times: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    for (const b of texts) inline.process(pack(b));
    times.push((performance.now() - t0) / 1000);
  }
  const single = bytes / 1e6 / median(times);
  emit({ name: 'minhash', value: Number(single.toFixed(2)), unit: 'MB/s', ref: null, ref_value: null, threads: 1, mb: Math.round(bytes / 1e6), rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20) });
  // Worker threads, as curate runs it.
  for (const threads of [2]) {
    const pool = new BatchPool(spec, threads);
    try {
      // A whole untimed pass: each worker compiles its code and WebAssembly before the timed ones.
      await Promise.all(texts.map((b) => pool.process(pack(b))));
      const ts: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const t0 = performance.now();
        await Promise.all(texts.map((b) => pool.process(pack(b))));
        ts.push((performance.now() - t0) / 1000);
      }
      const mbs = bytes / 1e6 / median(ts);
      emit({ name: 'minhash', value: Number(mbs.toFixed(2)), unit: 'MB/s', ref: null, ref_value: null, threads, speedup: Number((mbs / single).toFixed(2)), mb: Math.round(bytes / 1e6), rss_mb: Math.round(peakRssMb()) });
    } finally {
      await pool.close();
    }
  }
}
