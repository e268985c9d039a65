// MinHash-LSH fuzzy dedup (Broder 1997; the GPT-3 paper used Spark's MinHashLSH).
// A document becomes the set of its word n-gram shingles (default 5 words); `numPerm` hash
// functions h_i(x) = a_i·x + b_i mod 2^32 (a_i odd, so each is a permutation of the 32-bit shingle
// hashes) give the signature min_x h_i(x), compared as signed int32 (any fixed total order is a
// permutation). P[sig_a[i] = sig_b[i]] is the Jaccard similarity of the two shingle sets.
// LSH splits the signature into `bands` × `rows`; two documents are candidates when any band is
// identical; candidates are confirmed by the estimated Jaccard (fraction of equal values) and
// joined by union-find. The cluster's root, and the document kept, is its earliest member.
//
// Signatures are stored as their top 16 bits (b-bit minwise hashing, Li & König 2010): half the
// memory, and two different values collide with probability 2^-16, which the estimate corrects for.
import { Rng } from '../util/rng.ts';
import { fmix32, wordHashes } from './hashing.ts';
import { createSimdMinhash, type SimdMinhash } from './minhash-simd.ts';

export interface MinHashParams {
  /** Number of hash functions (signature length). */
  numPerm: number;
  /** Words per shingle. */
  ngram: number;
  /** Seed of the hash family; documents are only comparable under the same seed. */
  seed: number;
}

export const defaultMinHashParams: Readonly<MinHashParams> = Object.freeze({ numPerm: 128, ngram: 5, seed: 1 });

/**
 * Computes signatures; holds scratch buffers, so use one per thread. The permutation loop runs in
 * WebAssembly SIMD (minhash-simd.ts) unless `simd` is false or unsupported; both give the same bits.
 */
export class MinHasher {
  readonly params: MinHashParams;
  /** Whether the SIMD kernel is in use. */
  readonly simd: boolean;
  private readonly mul: Int32Array;
  private readonly add: Int32Array;
  private words: Int32Array = new Int32Array(1024);
  private shingles: Int32Array = new Int32Array(1024);
  private readonly kernel: SimdMinhash | null;
  /** Permutations padded to the kernel's 16 lanes. */
  private readonly padded: number;

  constructor(params: MinHashParams, opts: { simd?: boolean } = {}) {
    this.params = { ...params };
    const rng = new Rng(params.seed).fork('minhash-permutations');
    this.mul = new Int32Array(params.numPerm);
    this.add = new Int32Array(params.numPerm);
    for (let i = 0; i < params.numPerm; i++) {
      this.mul[i] = rng.nextU32() | 1;
      this.add[i] = rng.nextU32() | 0;
    }
    this.kernel = opts.simd === false ? null : createSimdMinhash();
    this.simd = this.kernel !== null;
    this.padded = Math.ceil(params.numPerm / 16) * 16;
    if (this.kernel) {
      this.reserve(0);
      const view = new Int32Array(this.kernel.memory.buffer);
      view.set(this.mul, 0);
      view.set(this.add, this.padded);
    }
  }

  /** Grow the kernel's memory to hold the parameters, the output and n shingles. */
  private reserve(n: number): void {
    const memory = this.kernel!.memory;
    const need = 4 * (3 * this.padded + n);
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  }

  /** Shingle hashes of bytes[start, end): one per window of `ngram` words (one for shorter texts, none without words). */
  shingleHashes(bytes: Uint8Array, start: number, end: number): { hashes: Int32Array; count: number } {
    const w = wordHashes(bytes, start, end, this.words);
    this.words = w.hashes;
    const words = w.hashes;
    const nw = w.count;
    const n = this.params.ngram;
    const count = nw === 0 ? 0 : Math.max(1, nw - n + 1);
    if (this.shingles.length < count) this.shingles = new Int32Array(Math.max(count, this.shingles.length * 2));
    const out = this.shingles;
    for (let s = 0; s < count; s++) {
      const stop = Math.min(s + n, nw);
      let h = 0x2545f491;
      for (let j = s; j < stop; j++) h = (Math.imul(h ^ words[j], 0x9e3779b1) + j - s) | 0;
      out[s] = fmix32(h);
    }
    return { hashes: out, count };
  }

  /**
   * Write the signature of bytes[start, end) to out[at, at + numPerm); returns the number of
   * shingles (0: no words, the signature is all INT32_MAX and must not be compared).
   */
  signature(bytes: Uint8Array, start: number, end: number, out: Int32Array, at: number): number {
    const { hashes, count } = this.shingleHashes(bytes, start, end);
    const k = this.params.numPerm;
    if (this.kernel) {
      const P = this.padded;
      this.reserve(count);
      const view = new Int32Array(this.kernel.memory.buffer);
      view.set(hashes.subarray(0, count), 3 * P);
      this.kernel.minhash(12 * P, count, 0, 4 * P, P, 8 * P);
      out.set(view.subarray(2 * P, 2 * P + k), at);
      return count;
    }
    // Permutation-outer loop: a_i, b_i and the running minimum stay in registers.
    for (let i = 0; i < k; i++) {
      const a = this.mul[i];
      const b = this.add[i];
      let m = 0x7fffffff;
      for (let j = 0; j < count; j++) {
        const v = (Math.imul(a, hashes[j]) + b) | 0;
        if (v < m) m = v;
      }
      out[at + i] = m;
    }
    return count;
  }
}

/** Exact Jaccard similarity of two sets of shingle hashes (for tests and reports). */
export function jaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const sa = new Set<number>(Array.from(a));
  const sb = new Set<number>(Array.from(b));
  let inter = 0;
  for (const x of sa) if (sb.has(x)) inter++;
  const union = sa.size + sb.size - inter;
  return union === 0 ? 1 : inter / union;
}

// ---- choosing bands × rows -------------------------------------------------------------------

function simpson(f: (x: number) => number, lo: number, hi: number, intervals = 512): number {
  if (hi <= lo) return 0;
  const h = (hi - lo) / intervals;
  let s = f(lo) + f(hi);
  for (let i = 1; i < intervals; i++) s += f(lo + i * h) * (i % 2 ? 4 : 2);
  return (s * h) / 3;
}

/** Area under the S-curve below the threshold (pairs that become candidates but should not). */
export function falsePositiveArea(threshold: number, bands: number, rows: number): number {
  return simpson((s) => 1 - Math.pow(1 - Math.pow(s, rows), bands), 0, threshold);
}

/** Area above the S-curve beyond the threshold (pairs that should be candidates but are not). */
export function falseNegativeArea(threshold: number, bands: number, rows: number): number {
  return simpson((s) => Math.pow(1 - Math.pow(s, rows), bands), threshold, 1);
}

/**
 * The bands × rows (bands·rows ≤ numPerm) minimising fpWeight·FP + fnWeight·FN area, as
 * datasketch's MinHashLSH does.
 */
export function optimalBands(threshold: number, numPerm: number, fpWeight = 0.5, fnWeight = 0.5): { bands: number; rows: number } {
  let best = { bands: 1, rows: 1 };
  let bestErr = Infinity;
  for (let b = 1; b <= numPerm; b++) {
    for (let r = 1; r <= Math.floor(numPerm / b); r++) {
      const err = fpWeight * falsePositiveArea(threshold, b, r) + fnWeight * falseNegativeArea(threshold, b, r);
      if (err < bestErr) {
        bestErr = err;
        best = { bands: b, rows: r };
      }
    }
  }
  return best;
}

// ---- signature store ---------------------------------------------------------------------------

const CHUNK_DOCS = 4096;

/** Append-only store of 16-bit signatures, in fixed chunks so growing never copies. */
export class SignatureStore {
  readonly numPerm: number;
  private chunks: Uint16Array[] = [];
  private emptyFlags: Uint8Array[] = [];
  count = 0;

  constructor(numPerm: number) {
    this.numPerm = numPerm;
  }

  /** Add the signature at sig[at, at+numPerm); `empty` documents (no shingles) never match. Returns its index. */
  add(sig: Int32Array, at: number, empty: boolean): number {
    const idx = this.count++;
    const c = idx / CHUNK_DOCS | 0;
    if (c === this.chunks.length) {
      this.chunks.push(new Uint16Array(CHUNK_DOCS * this.numPerm));
      this.emptyFlags.push(new Uint8Array(CHUNK_DOCS));
    }
    const chunk = this.chunks[c];
    const base = (idx % CHUNK_DOCS) * this.numPerm;
    for (let i = 0; i < this.numPerm; i++) chunk[base + i] = sig[at + i] >>> 16;
    this.emptyFlags[c][idx % CHUNK_DOCS] = empty ? 1 : 0;
    return idx;
  }

  isEmpty(doc: number): boolean {
    return this.emptyFlags[doc / CHUNK_DOCS | 0][doc % CHUNK_DOCS] === 1;
  }

  /** Estimated Jaccard similarity, corrected for 16-bit collisions. */
  similarity(a: number, b: number): number {
    const k = this.numPerm;
    const ca = this.chunks[a / CHUNK_DOCS | 0];
    const cb = this.chunks[b / CHUNK_DOCS | 0];
    const ba = (a % CHUNK_DOCS) * k;
    const bb = (b % CHUNK_DOCS) * k;
    let eq = 0;
    for (let i = 0; i < k; i++) if (ca[ba + i] === cb[bb + i]) eq++;
    const c = 1 / 65536;
    return Math.max(0, (eq / k - c) / (1 - c));
  }

  /** A 32-bit key for band `band` (rows rows) of document `doc`. */
  bandKey(doc: number, band: number, rows: number): number {
    const chunk = this.chunks[doc / CHUNK_DOCS | 0];
    const base = (doc % CHUNK_DOCS) * this.numPerm + band * rows;
    let h = Math.imul(band + 1, 0x9e3779b1);
    for (let i = 0; i < rows; i++) h = Math.imul(h ^ chunk[base + i], 0x01000193) + i;
    return fmix32(h) >>> 0;
  }

  bytes(): number {
    return this.chunks.length * CHUNK_DOCS * (this.numPerm * 2 + 1);
  }
}

// ---- clustering --------------------------------------------------------------------------------

/** Union-find whose root is always the smallest index, so "keep the root" keeps the earliest document. */
export class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  union(a: number, b: number): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return ra;
    if (ra < rb) {
      this.parent[rb] = ra;
      return ra;
    }
    this.parent[ra] = rb;
    return rb;
  }
}

export interface ClusterOptions {
  bands: number;
  rows: number;
  /** Candidates are joined when their estimated Jaccard is at least this. */
  threshold: number;
  /** Earlier bucket members examined per document, so one huge bucket stays linear. */
  maxExamined?: number;
}

export interface ClusterResult {
  /** roots[i] = the earliest document of i's cluster (i itself when unique). */
  roots: Int32Array;
  candidatePairs: number;
  confirmedPairs: number;
}

/**
 * Cluster the stored signatures. For each band the documents are radix-sorted by band key; within a
 * run of equal keys each document is compared with earlier members from other clusters.
 */
export function clusterSignatures(store: SignatureStore, opts: ClusterOptions): ClusterResult {
  const n = store.count;
  const uf = new UnionFind(n);
  const maxExamined = opts.maxExamined ?? 64;
  let candidatePairs = 0;
  let confirmedPairs = 0;
  const keys = new Uint32Array(n);
  const idx = new Int32Array(n);
  const keys2 = new Uint32Array(n);
  const idx2 = new Int32Array(n);
  const counts = new Int32Array(65537);
  for (let band = 0; band < opts.bands; band++) {
    let m = 0;
    for (let d = 0; d < n; d++) {
      if (store.isEmpty(d)) continue;
      keys[m] = store.bandKey(d, band, opts.rows);
      idx[m++] = d;
    }
    radixSort(keys, idx, keys2, idx2, m, counts);
    for (let s = 0; s < m; ) {
      let e = s + 1;
      while (e < m && keys[e] === keys[s]) e++;
      for (let j = s + 1; j < e; j++) {
        const doc = idx[j];
        const stop = Math.min(j, s + maxExamined);
        for (let i = s; i < stop; i++) {
          const other = idx[i];
          if (uf.find(other) === uf.find(doc)) continue;
          candidatePairs++;
          if (store.similarity(doc, other) >= opts.threshold) {
            uf.union(doc, other);
            confirmedPairs++;
          }
        }
      }
      s = e;
    }
  }
  const roots = new Int32Array(n);
  for (let d = 0; d < n; d++) roots[d] = uf.find(d);
  return { roots, candidatePairs, confirmedPairs };
}

/** Stable LSD radix sort of keys[0, m) (two 16-bit passes), carrying idx; the result lands in keys/idx. */
function radixSort(keys: Uint32Array, idx: Int32Array, tk: Uint32Array, ti: Int32Array, m: number, counts: Int32Array): void {
  for (const shift of [0, 16]) {
    const [srcK, srcI, dstK, dstI] = shift === 0 ? [keys, idx, tk, ti] : [tk, ti, keys, idx];
    counts.fill(0);
    for (let i = 0; i < m; i++) counts[((srcK[i] >>> shift) & 0xffff) + 1]++;
    for (let i = 0; i < 65536; i++) counts[i + 1] += counts[i];
    for (let i = 0; i < m; i++) {
      const b = (srcK[i] >>> shift) & 0xffff;
      const p = counts[b]++;
      dstK[p] = srcK[i];
      dstI[p] = srcI[i];
    }
  }
}
