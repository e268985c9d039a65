// The kernel interface. Everything above `tensor/` computes through one `Backend`; there are two:
// `ts` (plain TypeScript, the reference, runs anywhere) and `native` (the C++ addon: SIMD + threads).
// A kernel promises the same results on every backend up to float rounding, and the same bits on
// one backend for a given thread count (fixed work partitioning, no atomics in reductions).
//
// Conventions:
// - Arrays are row-major Float32Array (ids Int32Array). "(R, C)" is a shape in elements.
// - An `…Offset` is an element offset into the array it follows; every kernel honours it.
// - Backward kernels ACCUMULATE (+=) into gradient buffers unless the comment says "writes".
// - Kernels never allocate per call beyond small scratch, and never keep references to inputs.

export type F32 = Float32Array;
export type I32 = Int32Array;

/** C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] (+ bias broadcast over rows), for b < batch. */
export interface GemmParams {
  transA: boolean; // op(A) = Aᵀ: A is stored (k, m) with leading dimension lda
  transB: boolean; // op(B) = Bᵀ: B is stored (n, k) with leading dimension ldb
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: F32; aOffset: number; lda: number;
  b: F32; bOffset: number; ldb: number;
  beta: 0 | 1; // 0: C is overwritten (its old contents may be NaN); 1: C is accumulated into
  c: F32; cOffset: number; ldc: number;
  /** Optional (n): added to every row of C after the product. */
  bias: F32 | null;
  batch: number; // ≥ 1
  strideA: number; // element stride between batches (ignored when batch = 1)
  strideB: number;
  strideC: number;
  /**
   * 'bf16' (mixed precision): op(A) and op(B) are rounded to bfloat16 (round to nearest even, denormals
   * to zero), multiplied exactly and summed in float32 — AVX512_BF16's vdpbf16ps where the CPU has it
   * (`bf16Path()`), else emulated. Default 'f32'.
   */
  precision?: GemmPrecision;
  /** Round each batch's C to bfloat16 once its sum is complete (a product's output under bf16 autocast). */
  roundOutput?: boolean;
}

export type GemmPrecision = 'f32' | 'bf16';

/**
 * Fused scaled-dot-product attention, no T×T matrix stored (memory O(T) per head: `lse`).
 *
 * Layout: q[b, t, h, d] = q[qOffset + b·qStrideB + t·qStrideT + h·headDim + d], likewise k and v,
 * so q, k, v can be read straight out of a fused (B, T, 3·C) projection without any transpose.
 * out is (B, Tq, H·headDim) contiguous; lse is (B, H, Tq), the log-sum-exp of each query's scaled
 * scores (−Infinity for a query that sees no key; its output row is 0).
 *
 * Masks (all combine): key j is visible to query i iff
 *   causal → j ≤ i + (tk − tq)                       (queries are the last tq positions: KV-cache decoding)
 *   window > 0 → j > i + (tk − tq) − window          (local band, GPT-3's sparse layers; needs causal)
 *   keyStart → j ≥ keyStart[b]                       (left padding: batched generation)
 *   keyEnd → j < keyEnd[b]                           (right padding: BERT batches)
 * Dropout on the attention probabilities is decided by `dropoutKeep(seed, idx)` below with
 * idx = ((b·H + h)·tq + i)·tk + j (uint32 wrap-around), recomputed in backward: nothing stored.
 */
export interface AttentionParams {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  headDim: number;
  q: F32; qOffset: number; qStrideB: number; qStrideT: number;
  k: F32; kOffset: number; kStrideB: number; kStrideT: number;
  v: F32; vOffset: number; vStrideB: number; vStrideT: number;
  scale: number;
  causal: boolean;
  window: number;
  keyStart: I32 | null;
  keyEnd: I32 | null;
  dropout: number; // probability of dropping, 0 ≤ p < 1
  seed: number; // uint32
}

export interface AttentionForward extends AttentionParams {
  out: F32; // (B, Tq, H·headDim), written
  lse: F32; // (B, H, Tq), written
}

export interface AttentionBackward extends AttentionParams {
  out: F32;
  lse: F32;
  dout: F32; // (B, Tq, H·headDim)
  // Gradients use the same offsets and strides as q, k, v respectively.
  dq: F32; dk: F32; dv: F32;
  /**
   * Per gradient, 1 (the default) adds to what the array holds; 0 writes over it without reading
   * it, so a fresh gradient buffer needs no zero-fill (keys no query sees, rows that see no key: 0).
   */
  betaQ?: 0 | 1; betaK?: 0 | 1; betaV?: 0 | 1;
}

/** A KV cache's storage: float32, or IEEE half floats as their bits (f16: llama.cpp's default cache type). */
export type KvArray = Float32Array | Uint16Array;

/**
 * KV-cache decoding, one new token per row (serve's slot cache): row b's key and value, from its
 * qkv row, are stored at position lengths[b] of cache slot b; then its query attends over that
 * slot's keys [lo, lengths[b]], lo = max(0, lengths[b] + 1 − window) when window > 0, else 0.
 *
 * Layout: qkv (B, 3·H·headDim), a fused projection's q, k, v per row; the caches k and v are
 * (slots ≥ B, H, capacity, headDim), head-major, so the keys one query reads are one contiguous run;
 * out (B, H·headDim), written. A Uint16Array cache holds f16: the new key and value are rounded to
 * nearest even as they are stored, cached values are widened exactly as they are read, and the
 * arithmetic is float32 as for a Float32Array cache. lengths[b] must be < capacity.
 */
export interface AttentionDecode {
  batch: number;
  heads: number;
  headDim: number;
  capacity: number;
  qkv: F32;
  k: KvArray;
  v: KvArray;
  lengths: I32;
  window: number;
  scale: number;
  out: F32;
}

/**
 * Stores rows into a cache of attentionDecode's layout: src[srcOffset + b·srcStrideB + t·srcStrideT
 * + h·headDim + d] goes to slot firstSlot + b, head h, position start[b] + t (rounded to nearest
 * even for an f16 cache), for b < batch, t < tokens; start[b] + tokens must be ≤ capacity.
 */
export interface KvStore {
  batch: number;
  tokens: number;
  heads: number;
  headDim: number;
  capacity: number;
  src: F32; srcOffset: number; srcStrideB: number; srcStrideT: number;
  cache: KvArray;
  firstSlot: number;
  start: I32;
}

export interface Backend {
  readonly name: 'ts' | 'native';
  /** The code path in use: 'avx512' | 'avx2' | 'neon' | 'portable' for native, 'ts' for ts. */
  simd(): string;
  threads(): number;
  setThreads(n: number): void;

  gemm(p: GemmParams): void;
  /**
   * How bf16 GEMMs run here: 'avx512_bf16' (hardware bf16 pairs, where they beat float32 FMAs) or
   * 'emulated' (the float32 kernels on rounded operands: the same products, slower than float32).
   */
  bf16Path(): 'avx512_bf16' | 'emulated';
  /** Why bf16 GEMMs are emulated here (for the one notice a user sees), or null when they are not. */
  bf16EmulatedWhy(): string | null;

  attentionForward(p: AttentionForward): void;
  attentionBackward(p: AttentionBackward): void;
  attentionDecode(p: AttentionDecode): void;
  kvStore(p: KvStore): void;

  /** x (rows, cols) → out; mean and rstd (rows) written for backward. */
  layerNormForward(x: F32, weight: F32, bias: F32 | null, out: F32, mean: F32, rstd: F32, rows: number, cols: number, eps: number): void;
  /**
   * dx = (beta 0) or += (beta 1) the input gradient; dweight and dbias (may be null) are always
   * accumulated. With beta 0 dx is written without being read: a fresh buffer need not be zeroed.
   */
  layerNormBackward(dout: F32, x: F32, weight: F32, mean: F32, rstd: F32, dx: F32, dweight: F32, dbias: F32 | null, rows: number, cols: number, beta: 0 | 1): void;

  /** GELU, tanh approximation (GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). out may alias x. */
  geluForward(x: F32, out: F32, n: number): void;
  /** dx = (beta 0) or += (beta 1) dout ⊙ gelu′(x). */
  geluBackward(x: F32, dout: F32, dx: F32, n: number, beta: 0 | 1): void;

  /** Row softmax of x (rows, cols) → out (may alias x). */
  softmaxForward(x: F32, out: F32, rows: number, cols: number): void;
  /** dx += out ⊙ (dout − Σ dout⊙out) per row. */
  softmaxBackward(out: F32, dout: F32, dx: F32, rows: number, cols: number): void;

  /**
   * Softmax cross-entropy from logits (rows, vocab). Writes losses (rows): −Σ_c q_c·log p_c where q is the
   * target one-hot smoothed by `smoothing` (q = (1−s)·onehot + s/vocab); 0 for rows whose target is
   * ignoreIndex. Writes lse (rows), the log-sum-exp of each row. Targets outside [0, vocab) other than
   * ignoreIndex are the caller's error (checked above the backend).
   */
  crossEntropyForward(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number, smoothing: number): void;
  /** WRITES dlogits = dlosses[r]·(softmax − q) (0 on ignored rows); dlogits may alias logits. */
  crossEntropyBackward(logits: F32, targets: I32, lse: F32, dlosses: F32, dlogits: F32, rows: number, vocab: number, ignoreIndex: number, smoothing: number): void;

  /** out[i, :] = table[ids[i], :] for i < n; table is (vocab, dim). */
  embeddingForward(ids: I32, table: F32, out: F32, n: number, dim: number): void;
  /** dtable[ids[i], :] += dout[i, :], deterministic (no races, fixed order per row). */
  embeddingBackward(ids: I32, dout: F32, dtable: F32, n: number, dim: number): void;

  /**
   * One AdamW step over n parameters (decoupled weight decay, PyTorch's formula):
   *   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
   *   p ← p − lr·(m / (1 − β1^step)) / (√(v / (1 − β2^step)) + eps)
   * gradScale multiplies g first (clipping and accumulation averaging folded in).
   */
  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number): void;

  /** out = a + b (out may alias a or b). */
  add(a: F32, b: F32, out: F32, n: number): void;
  /** out = a ⊙ b. */
  mul(a: F32, b: F32, out: F32, n: number): void;
  /** y += alpha · x. */
  axpy(alpha: number, x: F32, y: F32, n: number): void;
  /** out = alpha · x (out may alias x). */
  scale(x: F32, alpha: number, out: F32, n: number): void;
  /** Σ x², accumulated in float64. */
  sumSquares(x: F32, n: number): number;
  /** out[c] += Σ_r x[r, c]  (bias gradients). */
  sumRows(x: F32, out: F32, rows: number, cols: number): void;

  /** out = x ⊙ keep / (1 − p), keep decided by dropoutKeep(seed, i). out may alias x. */
  dropoutForward(x: F32, out: F32, n: number, p: number, seed: number): void;
  /** dx = (beta 0) or += (beta 1) dout ⊙ keep / (1 − p), the same mask as forward (recomputed, not stored). */
  dropoutBackward(dout: F32, dx: F32, n: number, p: number, seed: number, beta: 0 | 1): void;

  /**
   * y (M, N) = x (M, K) · Wᵀ + bias with W stored narrow and read as stored (decoding with
   * quantized weights; native/src/qlinear.h): 'q8_0' rows of K/32 blocks of an F16 scale and 32
   * int8 (ggml's Q8_0), 'bf16' rows of K bfloat16. x and y rows contiguous.
   */
  qlinear(format: QuantFormat, M: number, N: number, K: number, x: F32, w: Uint8Array, bias: F32 | null, y: F32): void;
}

/** Narrow weight formats qlinear reads. */
export type QuantFormat = 'q8_0' | 'bf16';
export const QUANT_FORMATS: readonly QuantFormat[] = ['q8_0', 'bf16'];

/**
 * The dropout decision both backends share, bit for bit: a counter-based hash (murmur3's finaliser
 * over seed and index), so masks are recomputed in backward instead of stored, and the same seed
 * drops the same elements on any backend and thread count.
 */
export function dropoutHash(seed: number, idx: number): number {
  let x = (seed ^ Math.imul(idx, 0x9e3779b9)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Keep element idx iff the top 24 bits of its hash reach the threshold floor(p·2²⁴). */
export function dropoutThreshold(p: number): number {
  return Math.floor(p * 16777216);
}

export function dropoutKeep(seed: number, idx: number, threshold: number): boolean {
  return dropoutHash(seed, idx) >>> 8 >= threshold;
}
