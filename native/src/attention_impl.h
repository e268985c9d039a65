// The fused attention kernels, written once over GCC/Clang vector extensions and compiled once per
// SIMD level: attention_paths.cc includes this file once per path with ATTN_NS (namespace), ATTN_W
// (floats per vector) and ATTN_TARGET (the function attribute that enables the instruction set).
//
// Forward (flash attention): one task is (batch, head, block of kBlockQ queries). Keys are visited
// in blocks of kBlockK, only those some query of the block can see (causal and banded attention skip
// the rest); an online softmax keeps a running max m, sum l and unnormalised output per query, so no
// score matrix outlives its tile. Scores are kept transposed (keys × queries, computed as K·Qᵀ) so
// K is read in place and only the task's Qᵀ is packed; the softmax runs with one vector lane per
// query. Scratch is O(kBlockQ·headDim + kBlockK·headDim) per thread.
// KV-cache decoding (tq ≤ kRowPathMaxTq) takes a row path instead: one task per query row, scores
// straight from K without packing it (the work is reading K and V once).
//
// Backward (flash attention 2): one task is one (batch, head), so dK and dV are summed in a fixed
// order whatever the thread count. Key blocks outer, query blocks inner: S = Q·Kᵀ and P = e^{S·scale
// − lse} are recomputed, dV += P̃ᵀ·dO, dP = dO·Vᵀ, dS = scale·P⊙(dP·keep − D), dK += dSᵀ·Q, dQ += dS·K
// (dQ summed over key blocks in a per-head scratch, then added to dq once). Scratch is O(tq·headDim)
// per thread (Q, dO and dQ of the head, packed), never O(T²).
//
// Every product is one small GEMM, gemm() below: C (M×N) = or += A·B with A read through two strides
// (so Aᵀ costs nothing) and B's rows contiguous vectors; operands that serve as B are packed with
// headDim padded to a whole number of vectors (any headDim works; the padding is zero).

#ifndef ATTN_NS
#error "attention_impl.h is included by attention_paths.cc with ATTN_NS, ATTN_W and ATTN_TARGET defined"
#endif

namespace gptkit {
namespace attn {
namespace ATTN_NS {

constexpr int W = ATTN_W;
typedef float vf __attribute__((vector_size(4 * W)));
typedef int32_t vi __attribute__((vector_size(4 * W)));
typedef uint32_t vu __attribute__((vector_size(4 * W)));

ATTN_TARGET static inline vf ld(const float* p) {
  vf v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
ATTN_TARGET static inline void st_(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
// x − (+0) is x exactly (even −0), so the compiler drops the subtraction and just broadcasts.
ATTN_TARGET static inline vf splat(float x) { return x - vf{}; }
ATTN_TARGET static inline vi iota() {
  vi v;
  for (int w = 0; w < W; w++) v[w] = w;
  return v;
}
ATTN_TARGET static inline float hsum(vf v) {
  float t[W];
  __builtin_memcpy(t, &v, sizeof v);
  for (int half = W / 2; half >= 1; half /= 2)
    for (int x = 0; x < half; x++) t[x] += t[x + half];
  return t[0];
}
ATTN_TARGET static inline float hmax(vf v) {
  float t[W];
  __builtin_memcpy(t, &v, sizeof v);
  for (int half = W / 2; half >= 1; half /= 2)
    for (int x = 0; x < half; x++) t[x] = t[x] > t[x + half] ? t[x] : t[x + half];
  return t[0];
}

// e^x for x ≤ 88 (Cephes expf: 2^n·p(r), |r| ≤ ln2/2, about 1 ulp); 0 below −87.3 and for −∞.
ATTN_TARGET static inline vf vexp(vf x) {
  const vf lo = splat(-87.33654f), hi = splat(88.37626f);
  vf xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const float magic = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer kept in the low bits
  vf t = xc * 1.44269504088896341f + magic;
  vf n = t - magic;
  vi ni = (vi)t - 0x4B400000;
  vf r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  vf y = p * (r * r) + r + 1.0f;
  y = y * (vf)((ni + 127) << 23);
  return x < lo ? vf{} : y;
}

// keep/(1 − p) for the W dropout indices in idx (backend.ts's dropoutKeep).
ATTN_TARGET static inline vf dropout_factor(const Args& a, vu idx) {
  vu x = a.seed ^ (idx * 0x9e3779b9u);
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return (x >> 8) >= a.threshold ? splat(a.keep_scale) : vf{};
}

static inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// ---------------------------------------------------------------------------------------------
// The small GEMM: C[i, n] (=, or += when acc) Σ_k A[i·ars + k·acs] · B[k·ldb + n], N % W == 0.

template <int MR, int NV>
ATTN_TARGET static inline void tile(int64_t K, const float* A, int64_t ars, int64_t acs, const float* B,
                                    int64_t ldb, float* C, int64_t ldc, bool acc) {
  vf c[MR][NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) c[r][v] = acc ? ld(C + r * ldc + v * W) : vf{};
  for (int64_t k = 0; k < K; k++) {
    vf b[NV];
    for (int v = 0; v < NV; v++) b[v] = ld(B + k * ldb + v * W);
    for (int r = 0; r < MR; r++) {
      vf x = splat(A[r * ars + k * acs]);
      for (int v = 0; v < NV; v++) c[r][v] += x * b[v];
    }
  }
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) st_(C + r * ldc + v * W, c[r][v]);
}

// Register blocking: MR rows × NV vectors of accumulators (AVX-512: 6×4 of 32 zmm; AVX2 6×2 of 16
// ymm; 128-bit: 4×2).
constexpr int kMR = W == 4 ? 4 : 6;
constexpr int kNV = W == 16 ? 4 : 2;

template <int NV>
ATTN_TARGET static inline void gemm_cols(int64_t M, int64_t K, const float* A, int64_t ars, int64_t acs,
                                         const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
  int64_t i = 0;
  for (; i + kMR <= M; i += kMR) tile<kMR, NV>(K, A + i * ars, ars, acs, B, ldb, C + i * ldc, ldc, acc);
  const float* Ai = A + i * ars;
  float* Ci = C + i * ldc;
  switch (M - i) {
    case 0: break;
    case 1: tile<1, NV>(K, Ai, ars, acs, B, ldb, Ci, ldc, acc); break;
    case 2: tile<2, NV>(K, Ai, ars, acs, B, ldb, Ci, ldc, acc); break;
    case 3: tile<3, NV>(K, Ai, ars, acs, B, ldb, Ci, ldc, acc); break;
    case 4: tile<(kMR > 4 ? 4 : 1), NV>(K, Ai, ars, acs, B, ldb, Ci, ldc, acc); break;
    default: tile<(kMR > 5 ? 5 : 1), NV>(K, Ai, ars, acs, B, ldb, Ci, ldc, acc); break;
  }
}

ATTN_TARGET static void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t acs,
                             const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
  for (int64_t n = 0; n < N; n += kNV * W) {
    int64_t nv = (N - n) / W < kNV ? (N - n) / W : kNV;
    if (nv == kNV) gemm_cols<kNV>(M, K, A, ars, acs, B + n, ldb, C + n, ldc, acc);
    else if (nv == 1) gemm_cols<1>(M, K, A, ars, acs, B + n, ldb, C + n, ldc, acc);
    else if (nv == 2) gemm_cols<(kNV > 2 ? 2 : 1)>(M, K, A, ars, acs, B + n, ldb, C + n, ldc, acc);
    else gemm_cols<(kNV > 3 ? 3 : 1)>(M, K, A, ars, acs, B + n, ldb, C + n, ldc, acc);
  }
}

// ---------------------------------------------------------------------------------------------
// Packing. Rows of `rows` (D floats each, `stride` apart) → Xᵀ (D × ld) or X (rows × Dp); pads zero.

// Rows of q, k, v, out and dO are a head's D floats, rows H·D (or 3·H·D) floats apart: short runs a
// long way apart, which the hardware prefetcher does not follow from DRAM. Packers fetch ahead.
constexpr int64_t kRowsAhead = 8;

static inline void prefetch_row(const float* p, int64_t D) {
  for (int64_t d = 0; d < D; d += 16) __builtin_prefetch(p + d);
}

// W×W transpose in registers, r[i][j] ← r[j][i]: swap the off-diagonal H×H blocks of every 2H×2H
// block, for H = W/2 down to 1 (two-source shuffles; vpermt2ps on AVX-512).
template <int H, size_t... J>
ATTN_TARGET static inline vf mix_lo(vf a, vf b, std::index_sequence<J...>) {
  return __builtin_shufflevector(a, b, ((J & H) ? W + J - H : J)...);  // a's left half, b's left half
}
template <int H, size_t... J>
ATTN_TARGET static inline vf mix_hi(vf a, vf b, std::index_sequence<J...>) {
  return __builtin_shufflevector(a, b, ((J & H) ? W + J : J + H)...);  // a's right half, b's right half
}
template <int H>
ATTN_TARGET static inline void transpose_block(vf* r) {
  for (int i = 0; i < W; i++)
    if ((i & H) == 0) {
      const vf a = r[i], b = r[i + H];
      r[i] = mix_lo<H>(a, b, std::make_index_sequence<W>{});
      r[i + H] = mix_hi<H>(a, b, std::make_index_sequence<W>{});
    }
  if constexpr (H > 1) transpose_block<H / 2>(r);
}

ATTN_TARGET static void pack_transposed(const float* x, int64_t stride, int64_t rows, int64_t cols_padded,
                                        int64_t D, float* xt, int64_t ldt) {
  const int64_t rw = rows / W * W, dw = D / W * W;  // whole W×W blocks; the rest element by element
  for (int64_t c = 0; c < rw; c += W) {
    for (int64_t u = 0; u < W && c + u + kRowsAhead < rows; u++) prefetch_row(x + (c + u + kRowsAhead) * stride, D);
    for (int64_t d = 0; d < dw; d += W) {
      vf r[W];
      for (int u = 0; u < W; u++) r[u] = ld(x + (c + u) * stride + d);
      transpose_block<W / 2>(r);
      for (int u = 0; u < W; u++) st_(xt + (d + u) * ldt + c, r[u]);
    }
    for (int64_t u = 0; u < W; u++)
      for (int64_t d = dw; d < D; d++) xt[d * ldt + c + u] = x[(c + u) * stride + d];
  }
  for (int64_t c = rw; c < rows; c++)
    for (int64_t d = 0; d < D; d++) xt[d * ldt + c] = x[c * stride + d];
  for (int64_t d = 0; d < D; d++)
    for (int64_t c = rows; c < cols_padded; c++) xt[d * ldt + c] = 0.0f;
}

ATTN_TARGET static void pack_rows(const float* x, int64_t stride, int64_t rows, int64_t rows_padded,
                                  int64_t D, int64_t Dp, float* xp) {
  for (int64_t r = 0; r < rows; r++) {
    if (r + kRowsAhead < rows) prefetch_row(x + (r + kRowsAhead) * stride, D);
    __builtin_memcpy(xp + r * Dp, x + r * stride, D * sizeof(float));
    for (int64_t d = D; d < Dp; d++) xp[r * Dp + d] = 0.0f;
  }
  for (int64_t r = rows; r < rows_padded; r++)
    for (int64_t d = 0; d < Dp; d++) xp[r * Dp + d] = 0.0f;
}

static float* scratch(std::vector<float>& buf, size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// ---------------------------------------------------------------------------------------------
// Forward, blocked: tasks are (b, h, query block) in that order.

// The scores of a block are kept transposed, Sᵀ (keys × queries), and computed as K·Qᵀ: K's rows
// are read in place and only Qᵀ is packed, once per task, instead of transposing every key block.
// The online softmax then runs with one vector lane per query.

// Query rows [i0, i0 + Mp) of head (b, ·): visible-key intervals (empty for rows ≥ tq) into lo/hi.
ATTN_TARGET static void row_intervals(const Args& a, int64_t b, int64_t i0, int64_t M, int64_t Mp, int32_t* lo, int32_t* hi) {
  for (int64_t r = 0; r < Mp; r++) {
    int64_t l = 1, h = 0;
    if (r < M) a.visible(b, i0 + r, &l, &h);
    // Clamp into [0, tk]: the block loop only ever compares key indices j ∈ [0, tk) with them.
    lo[r] = (int32_t)std::min<int64_t>(std::max<int64_t>(l, 0), a.tk);
    hi[r] = (int32_t)std::min<int64_t>(std::max<int64_t>(h, 0), a.tk);
  }
}

ATTN_TARGET static inline vi ldi(const int32_t* p) {
  vi v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// Online-softmax update of W queries (lanes) over the N keys j0.. of one block. st: Sᵀ rows (one per
// key, `ld` apart) holding raw scores, overwritten with the probabilities that multiply V (dropout
// applied). m, l: running max and sum; corr receives the factor the output rows must be scaled by.
ATTN_TARGET static void softmax_block(const Args& a, float* st, int64_t stride, int64_t N, int64_t j0, vi lo, vi hi,
                                      float* m, float* l, float* corr, vu drop_row) {
  vf mx = splat(-INFINITY);
  for (int64_t c = 0; c < N; c++) {
    const int32_t j = (int32_t)(j0 + c);
    vf x = ld(st + c * stride) * a.scale;
    x = (lo <= j) & (hi > j) ? x : splat(-INFINITY);
    st_(st + c * stride, x);
    mx = mx > x ? mx : x;
  }
  const vf m_old = ld(m);
  const vf m_new = m_old > mx ? m_old : mx;
  const vf m_use = m_new == -INFINITY ? vf{} : m_new;  // lanes that saw no key yet: e^{−∞ − 0} = 0
  const vf c_ = vexp(m_old - m_use);
  vf sum = vf{};
  for (int64_t c = 0; c < N; c++) {
    vf p = vexp(ld(st + c * stride) - m_use);
    sum += p;
    if (a.threshold) p *= dropout_factor(a, drop_row + (uint32_t)(j0 + c));
    st_(st + c * stride, p);
  }
  st_(l, ld(l) * c_ + sum);
  st_(m, m_new);
  st_(corr, c_);
}

constexpr int64_t kDiagRows = 16;  // rows (keys or queries) per step where the causal diagonal cuts a block

ATTN_TARGET void forward_blocks(const Args& a, int64_t begin, int64_t end) {
  constexpr int64_t LQ = kBlockQ;  // leading dimension of Qᵀ and Sᵀ
  const int64_t D = a.D, Dp = round_up(D, W), nqb = (a.tq + kBlockQ - 1) / kBlockQ;
  const bool v_in_place = D % W == 0;  // V rows are whole vectors: read them where they are
  thread_local std::vector<float> buf;
  float* qt = scratch(buf, (size_t)(D * LQ + kBlockK * LQ + kBlockK * Dp + LQ * Dp + 3 * LQ + 2 * LQ));
  float* st = qt + D * LQ;
  float* vp = st + kBlockK * LQ;
  float* acc = vp + kBlockK * Dp;
  float* m = acc + LQ * Dp;
  float* l = m + LQ;
  float* corr = l + LQ;
  int32_t* lo = reinterpret_cast<int32_t*>(corr + LQ);
  int32_t* hi = lo + LQ;
  for (int64_t task = begin; task < end; task++) {
    const int64_t b = task / (a.H * nqb), h = task / nqb % a.H, i0 = task % nqb * kBlockQ;
    const int64_t M = std::min(kBlockQ, a.tq - i0), Mp = round_up(M, W);
    const float* k = a.k + b * a.ksb + h * D;
    const float* v = a.v + b * a.vsb + h * D;
    pack_transposed(a.q + b * a.qsb + i0 * a.qst + h * D, a.qst, M, Mp, D, qt, LQ);
    row_intervals(a, b, i0, M, Mp, lo, hi);
    const int64_t jlo = lo[0], jhi = hi[M - 1];  // both grow with i: the block's keys lie in between
    std::fill(m, m + Mp, -INFINITY);
    std::fill(l, l + Mp, 0.0f);
    std::fill(acc, acc + M * Dp, 0.0f);
    const vu drop_lanes = (vu)iota() * (uint32_t)a.tk;
    for (int64_t j0 = jlo; j0 < jhi; j0 += kBlockK) {
      const int64_t N = std::min(kBlockK, jhi - j0);
      // Sᵀ = K·Qᵀ (N × Mp). Where the causal diagonal crosses the block (key j0 + c is seen only by
      // queries i0 + r with r ≥ c − (j0 − i0) − (tk − tq)), key rows are taken kDiagRows at a time
      // and start at the first query vector that can see them; the entries skipped are masked
      // out by softmax_block (it selects −∞ there, whatever the buffer holds).
      const int64_t shift = j0 - i0 - (a.tk - a.tq);  // query row r sees key column c iff c ≤ r − shift
      if (a.causal && shift > -Mp + 1 && shift < N) {
        for (int64_t c0 = 0; c0 < N; c0 += kDiagRows) {
          const int64_t rows = std::min(kDiagRows, N - c0);
          const int64_t q0 = std::max<int64_t>(0, (c0 + shift) / W * W);  // first query vector needed
          if (q0 >= Mp) break;
          gemm(rows, Mp - q0, D, k + (j0 + c0) * a.kst, a.kst, 1, qt + q0, LQ, st + c0 * LQ + q0, LQ, false);
        }
      } else {
        gemm(N, Mp, D, k + j0 * a.kst, a.kst, 1, qt, LQ, st, LQ, false);
      }
      for (int64_t r = 0; r < Mp; r += W)
        softmax_block(a, st + r, LQ, N, j0, ldi(lo + r), ldi(hi + r), m + r, l + r, corr + r,
                      drop_lanes + a.dropout_row(b, h, i0 + r));
      for (int64_t r = 0; r < M; r++)
        if (corr[r] != 1.0f)
          for (int64_t d = 0; d < Dp; d += W) st_(acc + r * Dp + d, ld(acc + r * Dp + d) * corr[r]);
      const float* vb = v + j0 * a.vst;
      int64_t ldv = a.vst;
      if (!v_in_place) {
        pack_rows(vb, a.vst, N, N, D, Dp, vp);
        vb = vp;
        ldv = Dp;
      }
      gemm(M, Dp, N, st, 1, LQ, vb, ldv, acc, Dp, true);  // acc += P̃·V
    }
    for (int64_t r = 0; r < M; r++) {
      float* o = a.out + ((b * a.tq + i0 + r) * a.H + h) * D;
      float* lse = a.lse + (b * a.H + h) * a.tq + i0 + r;
      if (l[r] == 0.0f) {  // no visible key
        std::fill(o, o + D, 0.0f);
        *lse = -INFINITY;
        continue;
      }
      const float inv = 1.0f / l[r];
      for (int64_t d = 0; d < D; d++) o[d] = acc[r * Dp + d] * inv;
      *lse = m[r] + std::log(l[r]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Forward, row by row (decoding): tasks are (b, h, i) in that order.

ATTN_TARGET static float dot(const float* x, const float* y, int64_t D) {
  vf s = vf{};
  int64_t d = 0;
  for (; d + W <= D; d += W) s += ld(x + d) * ld(y + d);
  float t = hsum(s);
  for (; d < D; d++) t += x[d] * y[d];
  return t;
}

ATTN_TARGET void forward_rows(const Args& a, int64_t begin, int64_t end) {
  const int64_t D = a.D, Dp = round_up(D, W);
  thread_local std::vector<float> buf;
  float* s = scratch(buf, (size_t)(round_up(a.tk, W) + Dp));
  float* acc = s + round_up(a.tk, W);
  for (int64_t task = begin; task < end; task++) {
    const int64_t b = task / (a.H * a.tq), h = task / a.tq % a.H, i = task % a.tq;
    float* o = a.out + ((b * a.tq + i) * a.H + h) * D;
    float* lse = a.lse + (b * a.H + h) * a.tq + i;
    int64_t lo, hi;
    a.visible(b, i, &lo, &hi);
    if (hi <= lo) {
      std::fill(o, o + D, 0.0f);
      *lse = -INFINITY;
      continue;
    }
    const float* q = a.q + b * a.qsb + i * a.qst + h * D;
    const float* k = a.k + b * a.ksb + h * D;
    const float* v = a.v + b * a.vsb + h * D;
    // Scores in s[0, n) for keys lo..hi−1, padded with −∞ to whole vectors.
    const int64_t n = hi - lo, np = round_up(n, W);
    float mx = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
      if (j + kRowsAhead < n) prefetch_row(k + (lo + j + kRowsAhead) * a.kst, D);
      s[j] = dot(q, k + (lo + j) * a.kst, D) * a.scale;
      mx = std::max(mx, s[j]);
    }
    for (int64_t j = 0; j < std::min(n, kRowsAhead); j++) prefetch_row(v + (lo + j) * a.vst, D);
    for (int64_t j = n; j < np; j++) s[j] = -INFINITY;
    vf sum = vf{};
    const uint32_t idx0 = a.dropout_row(b, h, i) + (uint32_t)lo;
    for (int64_t j = 0; j < np; j += W) {
      vf p = vexp(ld(s + j) - mx);
      sum += p;
      if (a.threshold) p *= dropout_factor(a, (vu)iota() + (idx0 + (uint32_t)j));
      st_(s + j, p);
    }
    const float l = hsum(sum);
    std::fill(acc, acc + Dp, 0.0f);
    const int64_t Dv = D / W * W;  // whole vectors of a V row; the rest is done by scalars
    for (int64_t j = 0; j < n; j++) {
      if (j + kRowsAhead < n) prefetch_row(v + (lo + j + kRowsAhead) * a.vst, D);
      const float p = s[j];
      if (p == 0.0f) continue;
      const float* vj = v + (lo + j) * a.vst;
      for (int64_t d = 0; d < Dv; d += W) st_(acc + d, ld(acc + d) + p * ld(vj + d));
      for (int64_t d = Dv; d < D; d++) acc[d] += p * vj[d];
    }
    const float inv = 1.0f / l;
    for (int64_t d = 0; d < D; d++) o[d] = acc[d] * inv;
    *lse = mx + std::log(l);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward: tasks are (b, h).

// Turns one row of scores S and of dP = dO·Vᵀ into P̃ (written over S) and dS (written over dP).
ATTN_TARGET static void backward_block_row(const Args& a, float* s, float* dp, int64_t Np, int64_t c0, int64_t c1,
                                           float lse, float Di, uint32_t drop_idx0) {
  const vi lane = iota();
  for (int64_t c = 0; c < Np; c += W) {
    vi col = lane + (int32_t)c;
    vf p = vexp(ld(s + c) * a.scale - lse);
    p = (col >= (int32_t)c0) & (col < (int32_t)c1) ? p : vf{};
    vf g = ld(dp + c);
    vf pd = p;
    if (a.threshold) {
      vf f = dropout_factor(a, (vu)iota() + (drop_idx0 + (uint32_t)c));
      pd = p * f;
      g = g * f;
    }
    st_(s + c, pd);
    st_(dp + c, p * (g - Di) * a.scale);
  }
}

// dst rows (D floats, `stride` apart) = (acc: +=) src rows (Dp apart).
ATTN_TARGET static void store_rows(const float* src, int64_t Dp, float* dst, int64_t stride, int64_t rows, int64_t D,
                                   bool acc) {
  for (int64_t r = 0; r < rows; r++) {
    float* o = dst + r * stride;
    const float* s = src + r * Dp;
    if (r + kRowsAhead < rows)
      for (int64_t d = 0; d < D; d += 16) __builtin_prefetch(o + kRowsAhead * stride + d, 1);
    if (acc)
      for (int64_t d = 0; d < D; d++) o[d] += s[d];
    else
      __builtin_memcpy(o, s, D * sizeof(float));
  }
}

ATTN_TARGET void backward_heads(const Args& a, int64_t begin, int64_t end) {
  const int64_t D = a.D, Dp = round_up(D, W), tq = a.tq;
  const int64_t per_head = 3 * tq * Dp + tq;               // Q, dO, dQ packed; D_i
  const int64_t per_block = 2 * D * kBlockK + 3 * kBlockK * Dp + 2 * kBlockQ * kBlockK;
  thread_local std::vector<float> buf;
  float* qp = scratch(buf, (size_t)(per_head + per_block));
  float* dop = qp + tq * Dp;
  float* dqp = dop + tq * Dp;
  float* Dvec = dqp + tq * Dp;
  float* kt = Dvec + tq;
  float* vt = kt + D * kBlockK;
  float* kp = vt + D * kBlockK;
  float* dkp = kp + kBlockK * Dp;
  float* dvp = dkp + kBlockK * Dp;
  float* S = dvp + kBlockK * Dp;
  float* dP = S + kBlockQ * kBlockK;
  for (int64_t task = begin; task < end; task++) {
    const int64_t b = task / a.H, h = task % a.H;
    const float* q = a.q + b * a.qsb + h * D;
    const float* k = a.k + b * a.ksb + h * D;
    const float* v = a.v + b * a.vsb + h * D;
    const float* lse = a.lse + (b * a.H + h) * tq;
    pack_rows(q, a.qst, tq, tq, D, Dp, qp);
    for (int64_t i = 0; i < tq; i++) {
      const float* go = a.dout + ((b * tq + i) * a.H + h) * D;
      const float* o = a.out + ((b * tq + i) * a.H + h) * D;
      if (i + kRowsAhead < tq) {
        prefetch_row(go + kRowsAhead * a.H * D, D);
        prefetch_row(o + kRowsAhead * a.H * D, D);
      }
      pack_rows(go, D, 1, 1, D, Dp, dop + i * Dp);
      Dvec[i] = dot(go, o, D);
    }
    std::fill(dqp, dqp + tq * Dp, 0.0f);
    int64_t jlo, jhi, unused;
    a.visible(b, 0, &jlo, &unused);
    a.visible(b, tq - 1, &unused, &jhi);
    for (int64_t j0 = jlo; j0 < jhi; j0 += kBlockK) {
      const int64_t N = std::min(kBlockK, jhi - j0), Np = round_up(N, W);
      pack_transposed(k + j0 * a.kst, a.kst, N, Np, D, kt, kBlockK);
      pack_transposed(v + j0 * a.vst, a.vst, N, Np, D, vt, kBlockK);
      pack_rows(k + j0 * a.kst, a.kst, N, Np, D, Dp, kp);
      std::fill(dkp, dkp + Np * Dp, 0.0f);
      std::fill(dvp, dvp + Np * Dp, 0.0f);
      for (int64_t i0 = 0, M; i0 < tq; i0 += M) {
        M = std::min(kBlockQ, tq - i0);
        int64_t first_lo, first_hi, last_hi;
        a.visible(b, i0, &first_lo, &first_hi);
        a.visible(b, i0 + M - 1, &unused, &last_hi);
        // Where the causal diagonal crosses this key block, rows see more keys the lower they are:
        // take such rows kDiagRows at a time, each over just the keys its last row can see.
        if (first_hi < last_hi && first_hi < j0 + N) {
          M = std::min(M, kDiagRows);
          a.visible(b, i0 + M - 1, &unused, &last_hi);
        }
        if (first_lo >= j0 + N) break;  // bounds only grow with i: later blocks see even later keys
        if (last_hi <= j0) continue;
        const int64_t Np = round_up(std::min(N, last_hi - j0), W);  // keys this block of rows needs
        gemm(M, Np, D, qp + i0 * Dp, Dp, 1, kt, kBlockK, S, kBlockK, false);   // S = Q·Kᵀ
        gemm(M, Np, D, dop + i0 * Dp, Dp, 1, vt, kBlockK, dP, kBlockK, false); // dP = dO·Vᵀ
        for (int64_t r = 0; r < M; r++) {
          int64_t lo, hi;
          a.visible(b, i0 + r, &lo, &hi);
          const int64_t c0 = std::max<int64_t>(lo - j0, 0), c1 = std::min(hi - j0, N);
          const float li = lse[i0 + r];
          if (c1 <= c0 || li == -INFINITY) {
            std::fill(S + r * kBlockK, S + r * kBlockK + Np, 0.0f);
            std::fill(dP + r * kBlockK, dP + r * kBlockK + Np, 0.0f);
            continue;
          }
          backward_block_row(a, S + r * kBlockK, dP + r * kBlockK, Np, c0, c1, li, Dvec[i0 + r],
                             a.dropout_row(b, h, i0 + r) + (uint32_t)j0);
        }
        gemm(Np, Dp, M, S, 1, kBlockK, dop + i0 * Dp, Dp, dvp, Dp, true);   // dV += P̃ᵀ·dO
        gemm(Np, Dp, M, dP, 1, kBlockK, qp + i0 * Dp, Dp, dkp, Dp, true);   // dK += dSᵀ·Q
        gemm(M, Dp, Np, dP, kBlockK, 1, kp, Dp, dqp + i0 * Dp, Dp, true);   // dQ += dS·K
      }
      store_rows(dkp, Dp, a.dk + b * a.ksb + j0 * a.kst + h * D, a.kst, N, D, a.acc_k);
      store_rows(dvp, Dp, a.dv + b * a.vsb + j0 * a.vst + h * D, a.vst, N, D, a.acc_v);
    }
    if (!a.acc_k || !a.acc_v) {
      // Written, not added: the keys outside [jlo, jhi), which no query of this row sees, get 0.
      const int64_t lo = std::min(std::max<int64_t>(jlo, 0), a.tk), hi = std::min(std::max(jhi, lo), a.tk);
      for (int64_t j = 0; j < a.tk; j++) {
        if (j >= lo && j < hi) continue;
        if (!a.acc_k) std::fill_n(a.dk + b * a.ksb + j * a.kst + h * D, D, 0.0f);
        if (!a.acc_v) std::fill_n(a.dv + b * a.vsb + j * a.vst + h * D, D, 0.0f);
      }
    }
    store_rows(dqp, Dp, a.dq + b * a.qsb + h * D, a.qst, tq, D, a.acc_q);
  }
}

// ---------------------------------------------------------------------------------------------
// KV-cache decoding over a head-major cache of float or f16 (attention_args.h: DecodeArgs): tasks
// are (b, h). The f32 cache runs forward_rows' arithmetic in forward_rows' order, so decoding gives
// the bits the strided row path gave; an f16 cache widens each key and value exactly as it reads it
// (ATTN_F16: 1 AVX-512F vcvtph2ps/vcvtps2ph, 2 F16C on 256 bits, 0 scalar), products in float32.

#if ATTN_F16 == 1 || ATTN_F16 == 2
#define ATTN_DECODE_TARGET ATTN_F16_TARGET
#else
#define ATTN_DECODE_TARGET ATTN_TARGET
#endif

ATTN_DECODE_TARGET static inline vf ldh(const uint16_t* p) {
#if ATTN_F16 == 1
  // The zero-masking forms: GCC 12's plain ones warn of an uninitialised pass-through operand.
  return (vf)_mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256((const __m256i*)p));
#elif ATTN_F16 == 2
  return (vf)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
#else
  vf v;
  for (int w = 0; w < W; w++) v[w] = f16_to_f32(p[w]);
  return v;
#endif
}

ATTN_DECODE_TARGET static inline void sth(uint16_t* p, vf v) {
#if ATTN_F16 == 1
  _mm256_storeu_si256((__m256i*)p, _mm512_maskz_cvtps_ph(0xffff, (__m512)v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif ATTN_F16 == 2
  _mm_storeu_si128((__m128i*)p, _mm256_cvtps_ph((__m256)v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#else
  for (int w = 0; w < W; w++) p[w] = f32_to_f16(v[w]);
#endif
}

// A cached row of D values into float32 vectors, and a float32 row into the cache.
ATTN_DECODE_TARGET static inline vf ldc(const float* p) { return ld(p); }
ATTN_DECODE_TARGET static inline vf ldc(const uint16_t* p) { return ldh(p); }
static inline float getc(const float* p) { return *p; }
static inline float getc(const uint16_t* p) { return f16_to_f32(*p); }

ATTN_DECODE_TARGET static inline void put_row(float* dst, const float* src, int64_t D) {
  __builtin_memcpy(dst, src, D * sizeof(float));
}
ATTN_DECODE_TARGET static inline void put_row(uint16_t* dst, const float* src, int64_t D) {
  int64_t d = 0;
  for (; d + W <= D; d += W) sth(dst + d, ld(src + d));
  for (; d < D; d++) dst[d] = f32_to_f16(src[d]);
}

template <typename T>
ATTN_DECODE_TARGET static inline float dotc(const float* x, const T* y, int64_t D) {
  vf s = vf{};
  int64_t d = 0;
  for (; d + W <= D; d += W) s += ld(x + d) * ldc(y + d);
  float t = hsum(s);
  for (; d < D; d++) t += x[d] * getc(y + d);
  return t;
}

template <typename T>
static inline void prefetch_cached(const T* p, int64_t D) {
  for (int64_t d = 0; d < D * (int64_t)sizeof(T); d += 64) __builtin_prefetch((const char*)p + d);
}

template <typename T>
ATTN_DECODE_TARGET static void decode_heads_of(const DecodeArgs& a, int64_t begin, int64_t end) {
  const int64_t D = a.D, C = a.H * D, Dp = round_up(D, W), Dv = D / W * W;
  thread_local std::vector<float> buf;
  float* s = scratch(buf, (size_t)(round_up(a.cap, W) + Dp));
  float* acc = s + round_up(a.cap, W);
  for (int64_t task = begin; task < end; task++) {
    const int64_t b = task / a.H, h = task % a.H;
    const int64_t pos = a.lengths[b];
    const int64_t lo = a.window > 0 ? std::max<int64_t>(0, pos + 1 - a.window) : 0;
    const float* q = a.qkv + b * 3 * C + h * D;
    T* kc = (T*)a.k + (b * a.H + h) * a.cap * D;
    T* vc = (T*)a.v + (b * a.H + h) * a.cap * D;
    put_row(kc + pos * D, q + C, D);
    put_row(vc + pos * D, q + 2 * C, D);
    float* o = a.out + b * C + h * D;
    // Scores in s[0, n) for keys lo..pos, padded with −∞ to whole vectors.
    const int64_t n = pos + 1 - lo, np = round_up(n, W);
    float mx = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
      if (j + kRowsAhead < n) prefetch_cached(kc + (lo + j + kRowsAhead) * D, D);
      s[j] = dotc(q, kc + (lo + j) * D, D) * a.scale;
      mx = std::max(mx, s[j]);
    }
    for (int64_t j = 0; j < std::min(n, kRowsAhead); j++) prefetch_cached(vc + (lo + j) * D, D);
    for (int64_t j = n; j < np; j++) s[j] = -INFINITY;
    vf sum = vf{};
    for (int64_t j = 0; j < np; j += W) {
      vf p = vexp(ld(s + j) - mx);
      sum += p;
      st_(s + j, p);
    }
    const float l = hsum(sum);
    std::fill(acc, acc + Dp, 0.0f);
    for (int64_t j = 0; j < n; j++) {
      if (j + kRowsAhead < n) prefetch_cached(vc + (lo + j + kRowsAhead) * D, D);
      const float p = s[j];
      if (p == 0.0f) continue;
      const T* vj = vc + (lo + j) * D;
      for (int64_t d = 0; d < Dv; d += W) st_(acc + d, ld(acc + d) + p * ldc(vj + d));
      for (int64_t d = Dv; d < D; d++) acc[d] += p * getc(vj + d);
    }
    const float inv = 1.0f / l;
    for (int64_t d = 0; d < D; d++) o[d] = acc[d] * inv;
  }
}

// The same task with headDim = NV·W held in registers: the query's NV vectors, the scores of W keys
// at a time (W dot-product vectors summed across lanes together, below), and the output row. It
// does forward_rows' arithmetic in its order, so its bits are decode_heads_of's.
//
// Summing W vectors across lanes at once: hsum halves a vector, lane x += lane x + W/2, then
// x += x + W/4, …; mix_lo/mix_hi (the transposes' shuffles) do one such level for two vectors at
// once, a's sums in the lanes of its half-blocks and b's in the others, so log2(W) levels turn W
// vectors into one whose lane l holds the sum of vector bitrev(l): the keys go in bit-reversed.
static constexpr int bitrev(int x, int w) {
  int r = 0;
  for (int b = 1; b < w; b <<= 1) r = (r << 1) | ((x & b) ? 1 : 0);
  return r;
}

template <int H>
ATTN_DECODE_TARGET static inline void sum_lanes(vf* p) {  // p[0, 2H) → p[0, H)
  for (int i = 0; i < H; i++) {
    const vf x = p[2 * i], y = p[2 * i + 1];
    p[i] = mix_lo<H>(x, y, std::make_index_sequence<W>{}) + mix_hi<H>(x, y, std::make_index_sequence<W>{});
  }
  if constexpr (H > 1) sum_lanes<H / 2>(p);
}

template <int NV>
ATTN_DECODE_TARGET static inline void put_row_regs(float* dst, const float* src) {
  for (int v = 0; v < NV; v++) st_(dst + v * W, ld(src + v * W));
}
template <int NV>
ATTN_DECODE_TARGET static inline void put_row_regs(uint16_t* dst, const float* src) {
  for (int v = 0; v < NV; v++) sth(dst + v * W, ld(src + v * W));
}

template <typename T, int NV>
ATTN_DECODE_TARGET static void decode_heads_regs(const DecodeArgs& a, int64_t begin, int64_t end) {
  constexpr int64_t D = NV * W;
  const int64_t C = a.H * D;
  thread_local std::vector<float> buf;
  float* s = scratch(buf, (size_t)round_up(a.cap, W));
  for (int64_t task = begin; task < end; task++) {
    const int64_t b = task / a.H, h = task % a.H;
    const int64_t pos = a.lengths[b];
    const int64_t lo = a.window > 0 ? std::max<int64_t>(0, pos + 1 - a.window) : 0;
    const float* q = a.qkv + b * 3 * C + h * D;
    T* kc = (T*)a.k + (b * a.H + h) * a.cap * D;
    T* vc = (T*)a.v + (b * a.H + h) * a.cap * D;
    put_row_regs<NV>(kc + pos * D, q + C);
    put_row_regs<NV>(vc + pos * D, q + 2 * C);
    vf qv[NV];
    for (int v = 0; v < NV; v++) qv[v] = ld(q + v * W);
    const int64_t n = pos + 1 - lo, np = round_up(n, W);
    // Rows are fetched a whole pass ahead (DRAM is slow to answer here, ~6–15 GB/s under load): the
    // values while the keys are read, the next task's keys while the values are.
    const T* k0 = kc + lo * D;
    const T* v0 = vc + lo * D;
    int64_t j = 0;
    for (; j + W <= n; j += W) {
      vf part[W];
#pragma GCC unroll 16
      for (int u = 0; u < W; u++) {
        const T* kr = k0 + (j + u) * D;
        if (j + u + kRowsAhead < n) prefetch_cached(kr + kRowsAhead * D, D);
        prefetch_cached(v0 + (j + u) * D, D);
        vf acc = vf{};
        for (int v = 0; v < NV; v++) acc += qv[v] * ldc(kr + v * W);
        part[bitrev(u, W)] = acc;
      }
      sum_lanes<W / 2>(part);
      st_(s + j, part[0] * a.scale);
    }
    for (; j < n; j++) {
      const T* kr = k0 + j * D;
      prefetch_cached(v0 + j * D, D);
      vf acc = vf{};
      for (int v = 0; v < NV; v++) acc += qv[v] * ldc(kr + v * W);
      s[j] = hsum(acc) * a.scale;
    }
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = std::max(mx, s[i]);
    for (int64_t i = n; i < np; i++) s[i] = -INFINITY;
    vf sum = vf{};
    for (int64_t i = 0; i < np; i += W) {
      vf p = vexp(ld(s + i) - mx);
      sum += p;
      st_(s + i, p);
    }
    const float l = hsum(sum);
    vf o[NV];
    for (int v = 0; v < NV; v++) o[v] = vf{};
    // The next task's keys: [its lo, its position], in its own slot and head.
    const T* nk = nullptr;
    int64_t nn = 0;
    if (task + 1 < end) {
      const int64_t b2 = (task + 1) / a.H, h2 = (task + 1) % a.H, pos2 = a.lengths[b2];
      const int64_t lo2 = a.window > 0 ? std::max<int64_t>(0, pos2 + 1 - a.window) : 0;
      nk = (const T*)a.k + ((b2 * a.H + h2) * a.cap + lo2) * D;
      nn = pos2 + 1 - lo2;
    }
    for (int64_t i = 0; i < n; i++) {
      if (i < nn) prefetch_cached(nk + i * D, D);
      const float p = s[i];
      if (p == 0.0f) continue;
      const T* vr = v0 + i * D;
      for (int v = 0; v < NV; v++) o[v] = o[v] + p * ldc(vr + v * W);
    }
    const float inv = 1.0f / l;
    float* out = a.out + b * C + h * D;
    for (int v = 0; v < NV; v++) st_(out + v * W, o[v] * inv);
  }
}

template <typename T>
ATTN_DECODE_TARGET static void decode_heads_for(const DecodeArgs& a, int64_t begin, int64_t end) {
  switch (a.D % W == 0 ? a.D / W : 0) {
    case 1: return decode_heads_regs<T, 1>(a, begin, end);
    case 2: return decode_heads_regs<T, 2>(a, begin, end);
    case 3: return decode_heads_regs<T, 3>(a, begin, end);
    case 4: return decode_heads_regs<T, 4>(a, begin, end);
    case 6: return decode_heads_regs<T, 6>(a, begin, end);
    case 8: return decode_heads_regs<T, 8>(a, begin, end);
    default: return decode_heads_of<T>(a, begin, end);
  }
}

ATTN_DECODE_TARGET void decode_heads(const DecodeArgs& a, int64_t begin, int64_t end) {
  if (a.f16) decode_heads_for<uint16_t>(a, begin, end);
  else decode_heads_for<float>(a, begin, end);
}

template <typename T>
ATTN_DECODE_TARGET static void store_kv_of(const StoreArgs& a, int64_t begin, int64_t end) {
  for (int64_t task = begin; task < end; task++) {
    const int64_t b = task / a.T, t = task % a.T;
    const float* src = a.src + b * a.sb + t * a.st;
    T* dst = (T*)a.cache + ((a.slot0 + b) * a.H * a.cap + a.start[b] + t) * a.D;
    for (int64_t h = 0; h < a.H; h++) put_row(dst + h * a.cap * a.D, src + h * a.D, a.D);
  }
}

ATTN_DECODE_TARGET void store_kv(const StoreArgs& a, int64_t begin, int64_t end) {
  if (a.f16) store_kv_of<uint16_t>(a, begin, end);
  else store_kv_of<float>(a, begin, end);
}

#undef ATTN_DECODE_TARGET

}  // namespace ATTN_NS
}  // namespace attn
}  // namespace gptkit
