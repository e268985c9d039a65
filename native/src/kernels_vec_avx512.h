// AVX-512 primitives for kernels_body.h: 16 float lanes, masked tails. Included by kernels_paths.cc
// inside `namespace avx512` with AVX-512F/BW/VL/DQ + FMA enabled for every function defined here.
// (The same primitive names exist in kernels_vec_{avx2,neon,portable}.h.)

constexpr int W = 16;
typedef __m512 V;

static inline V vzero() { return _mm512_setzero_ps(); }
static inline V vset(float a) { return _mm512_set1_ps(a); }
static inline V vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
static inline __mmask16 tail_mask(int64_t n) { return (__mmask16)((1u << n) - 1u); }
// The first n (< W) lanes from p, the others `fill`; nothing past p + n is touched.
static inline V vload_n(const float* p, int64_t n, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p);
}
static inline void vstore_n(float* p, V v, int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }

static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
static inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }   // a·b + c
static inline V vfnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c − a·b
static inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }  // b when either is NaN
static inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
static inline V vsqrt(V a) { return _mm512_sqrt_ps(a); }
static inline float vhsum(V a) { return _mm512_reduce_add_ps(a); }
static inline float vhmax(V a) { return _mm512_reduce_max_ps(a); }

// e^x: range reduction x = n·ln2 + r, |r| ≤ ln2/2, Cephes' degree-6 polynomial (~1 ulp), 2^n put into
// the exponent. x > 88 saturates at e^88 (every caller subtracts a row max first or wants a
// saturating sigmoid); x < ln(FLT_MIN) gives 0 (no denormals); NaN stays NaN.
static inline V vexp(V x) {
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654475f), _CMP_LT_OQ);
  x = _mm512_min_ps(_mm512_set1_ps(88.0f), x);
  x = _mm512_max_ps(_mm512_set1_ps(-87.33654475f), x);
  V n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  V y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
  return _mm512_maskz_mov_ps((__mmask16)~tiny, y);
}

// x·scale where dropoutKeep(seed, idx0 + lane) holds, else 0 (the hash of backend.ts, lane-wise).
static inline V vdropout(V x, uint32_t idx0, const kern::DropoutConsts& k) {
  __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int32_t)idx0),
                                 _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  __m512i h = _mm512_xor_si512(_mm512_set1_epi32((int32_t)k.seed),
                               _mm512_mullo_epi32(idx, _mm512_set1_epi32((int32_t)0x9e3779b9u)));
  h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
  h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int32_t)0x85ebca6bu));
  h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 13));
  h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int32_t)0xc2b2ae35u));
  h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
  __mmask16 keep = _mm512_cmpge_epi32_mask(_mm512_srli_epi32(h, 8), _mm512_set1_epi32(k.threshold));
  return _mm512_maskz_mul_ps(keep, x, _mm512_set1_ps(k.scale));
}

// Σ x² over n floats in float64: each float widened exactly, four accumulators, fixed order.
static inline double vsumsq(const float* x, int64_t n) {
  __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int j = 0; j < 2; j++) {
      __m512 v = _mm512_loadu_ps(x + i + 16 * j);
      __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
      __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
      acc[2 * j] = _mm512_fmadd_pd(lo, lo, acc[2 * j]);
      acc[2 * j + 1] = _mm512_fmadd_pd(hi, hi, acc[2 * j + 1]);
    }
  }
  for (; i < n; i += 16) {
    __m512 v = n - i >= 16 ? _mm512_loadu_ps(x + i) : vload_n(x + i, n - i, 0.0f);
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    acc[0] = _mm512_fmadd_pd(lo, lo, acc[0]);
    acc[1] = _mm512_fmadd_pd(hi, hi, acc[1]);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3])));
}
