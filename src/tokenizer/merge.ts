// The merge table and the byte-pair merge of one pre-token.
//
// A merge (a, b) → c with priority `rank` (its index in merges.txt) is looked up by the pair of
// integer ids in an open-addressing hash table over typed arrays: no strings, no allocation.
// Encoding a pre-token repeatedly merges the adjacent pair of lowest rank, leftmost first, until
// no adjacent pair has a merge — GPT-2's `bpe()` and Hugging Face's BPE model. Short pieces use a
// flat scan (fastest for words); long ones (a 1 MB "word") a heap over a linked list, O(n log n).

const EMPTY = -1;
export const NO_RANK = 0x7fffffff;

export class MergeTable {
  readonly size: number;
  private readonly mask: number;
  private readonly shift: number;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly ranks: Int32Array;
  private readonly results: Int32Array;

  /** merges[r] = [a, b] merged into results[r]; a pair listed twice keeps its first rank. */
  constructor(merges: ArrayLike<readonly [number, number]>, results: ArrayLike<number>) {
    let bits = 4;
    while (1 << bits < merges.length * 2) bits++;
    this.mask = (1 << bits) - 1;
    this.shift = 32 - bits;
    this.left = new Int32Array(1 << bits).fill(EMPTY);
    this.right = new Int32Array(1 << bits);
    this.ranks = new Int32Array(1 << bits);
    this.results = new Int32Array(1 << bits);
    let size = 0;
    for (let r = 0; r < merges.length; r++) {
      const [a, b] = merges[r];
      let h = this.slot(a, b);
      while (this.left[h] !== EMPTY && (this.left[h] !== a || this.right[h] !== b)) h = (h + 1) & this.mask;
      if (this.left[h] !== EMPTY) continue;
      this.left[h] = a;
      this.right[h] = b;
      this.ranks[h] = r;
      this.results[h] = results[r];
      size++;
    }
    this.size = size;
  }

  private slot(a: number, b: number): number {
    return Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca6b) >>> this.shift;
  }

  /** Table slot of the merge (a, b), or -1. */
  find(a: number, b: number): number {
    let h = this.slot(a, b);
    for (;;) {
      const l = this.left[h];
      if (l === a && this.right[h] === b) return h;
      if (l === EMPTY) return -1;
      h = (h + 1) & this.mask;
    }
  }

  /** Rank of the merge (a, b), or NO_RANK. */
  rank(a: number, b: number): number {
    const h = this.find(a, b);
    return h < 0 ? NO_RANK : this.ranks[h];
  }

  /** Token made by the merge (a, b); only for pairs that have one. */
  result(a: number, b: number): number {
    return this.results[this.find(a, b)];
  }
}

/** Pieces up to this many symbols use the flat scan; longer ones the heap. */
export const FLAT_LIMIT = 128;

/**
 * Merge the symbols syms[0, n) in place; returns the new count. Flat O(n²) scan: finds the lowest
 * rank among adjacent pairs, merges it, and re-ranks only the two pairs beside it.
 */
export function mergeFlat(table: MergeTable, syms: Int32Array, n: number, ranks: Int32Array): number {
  for (let i = 0; i + 1 < n; i++) ranks[i] = table.rank(syms[i], syms[i + 1]);
  ranks[n - 1] = NO_RANK;
  while (n > 1) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i + 1 < n; i++) {
      if (ranks[i] < best) { best = ranks[i]; at = i; }
    }
    if (at < 0) break;
    syms[at] = table.result(syms[at], syms[at + 1]);
    syms.copyWithin(at + 1, at + 2, n);
    ranks.copyWithin(at, at + 1, n);
    n--;
    ranks[n - 1] = NO_RANK;
    if (at + 1 < n) ranks[at] = table.rank(syms[at], syms[at + 1]);
    if (at > 0) ranks[at - 1] = table.rank(syms[at - 1], syms[at]);
  }
  return n;
}

/**
 * Same result as mergeFlat, in O(n log n): a min-heap of (rank, position) over a doubly linked list
 * of symbols. Stale heap entries (a neighbour changed since the push) are skipped when popped; a
 * popped pair is current exactly when it still has the rank it was pushed with.
 */
export function mergeHeap(table: MergeTable, syms: Int32Array, n: number): number {
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
  // key = rank · 2^32 + position: exact in a double, orders by rank then leftmost.
  let heap = new Float64Array(Math.max(16, n));
  let size = 0;
  const push = (key: number): void => {
    if (size === heap.length) { const h = new Float64Array(size * 2); h.set(heap); heap = h; }
    let i = size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p] <= key) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap[--size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && heap[c + 1] < heap[c]) c++;
      if (heap[c] >= last) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
    return top;
  };
  const pushPair = (i: number): void => {
    const j = next[i];
    if (j < 0) return;
    const r = table.rank(syms[i], syms[j]);
    if (r !== NO_RANK) push(r * 4294967296 + i);
  };
  for (let i = 0; i + 1 < n; i++) pushPair(i);
  const dead = new Uint8Array(n);
  while (size > 0) {
    const key = pop();
    const r = Math.floor(key / 4294967296);
    const i = key - r * 4294967296;
    const j = next[i];
    if (dead[i] || j < 0 || table.rank(syms[i], syms[j]) !== r) continue;
    syms[i] = table.result(syms[i], syms[j]);
    dead[j] = 1;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    if (prev[i] >= 0) pushPair(prev[i]);
    pushPair(i);
  }
  let m = 0;
  for (let i = 0; i >= 0 && i < n; i = next[i]) syms[m++] = syms[i];
  return m;
}
