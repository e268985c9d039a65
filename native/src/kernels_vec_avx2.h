// AVX2 + FMA primitives for kernels_body.h: 8 float lanes; tails go through a small stack buffer
// (AVX2's masked loads are slow on some CPUs and fault-free only for in-bounds lanes anyway).
// Included by kernels_paths.cc inside `namespace avx2` with AVX2 + FMA enabled for every function here.

constexpr int W = 8;
typedef __m256 V;

static inline V vzero() { return _mm256_setzero_ps(); }
static inline V vset(float a) { return _mm256_set1_ps(a); }
static inline V vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
// The first n (< W) lanes from p, the others `fill`; nothing past p + n is touched.
static inline V vload_n(const float* p, int64_t n, float fill) {
  alignas(32) float buf[8];
  for (int64_t i = 0; i < 8; i++) buf[i] = i < n ? p[i] : fill;
  return _mm256_load_ps(buf);
}
static inline void vstore_n(float* p, V v, int64_t n) {
  alignas(32) float buf[8];
  _mm256_store_ps(buf, v);
  for (int64_t i = 0; i < n; i++) p[i] = buf[i];
}

static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
static inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }   // a·b + c
static inline V vfnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c − a·b
static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }  // b when either is NaN
static inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
static inline V vsqrt(V a) { return _mm256_sqrt_ps(a); }
static inline float vhsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float vhmax(V a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// e^x, the same algorithm as the AVX-512 path (see kernels_vec_avx512.h).
static inline V vexp(V x) {
  const V tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654475f), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
  x = _mm256_max_ps(_mm256_set1_ps(-87.33654475f), x);
  V n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  V y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(tiny, y);
}

// x·scale where dropoutKeep(seed, idx0 + lane) holds, else 0 (the hash of backend.ts, lane-wise).
static inline V vdropout(V x, uint32_t idx0, const kern::DropoutConsts& k) {
  __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int32_t)idx0), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i h = _mm256_xor_si256(_mm256_set1_epi32((int32_t)k.seed),
                               _mm256_mullo_epi32(idx, _mm256_set1_epi32((int32_t)0x9e3779b9u)));
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32((int32_t)0x85ebca6bu));
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32((int32_t)0xc2b2ae35u));
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
  // hash >> 8 < 2^24, so the signed compare is exact.
  __m256i drop = _mm256_cmpgt_epi32(_mm256_set1_epi32(k.threshold), _mm256_srli_epi32(h, 8));
  return _mm256_andnot_ps(_mm256_castsi256_ps(drop), _mm256_mul_ps(x, _mm256_set1_ps(k.scale)));
}

// Σ x² over n floats in float64: each float widened exactly, four accumulators, fixed order.
static inline double vsumsq(const float* x, int64_t n) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 2; j++) {
      __m256 v = _mm256_loadu_ps(x + i + 8 * j);
      __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
      __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
      acc[2 * j] = _mm256_fmadd_pd(lo, lo, acc[2 * j]);
      acc[2 * j + 1] = _mm256_fmadd_pd(hi, hi, acc[2 * j + 1]);
    }
  }
  for (; i < n; i += 8) {
    __m256 v = n - i >= 8 ? _mm256_loadu_ps(x + i) : vload_n(x + i, n - i, 0.0f);
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    acc[0] = _mm256_fmadd_pd(lo, lo, acc[0]);
    acc[1] = _mm256_fmadd_pd(hi, hi, acc[1]);
  }
  __m256d s = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
  __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}
