// Portable primitives for kernels_body.h: a "vector" of 8 floats in plain C++ arrays. Every op is a
// fixed 8-iteration loop, which compilers turn into whatever SIMD the baseline target has (SSE2 on
// x86-64, NEON on AArch64) without any intrinsics; eight lanes also keep long row sums as accurate
// as the AVX paths'. Included by kernels.cc inside `namespace portable`. There is no hand-written
// NEON path: it could not be compile-checked where this was written, so ARM runs this one.

constexpr int W = 8;
struct V {
  float v[8];
};

#define GPTKIT_LANES(expr) \
  V r;                     \
  for (int l = 0; l < 8; l++) r.v[l] = (expr); \
  return r

static inline V vset(float a) { GPTKIT_LANES(a); }
static inline V vzero() { return vset(0.0f); }
static inline V vload(const float* p) { GPTKIT_LANES(p[l]); }
static inline void vstore(float* p, V a) {
  for (int l = 0; l < 8; l++) p[l] = a.v[l];
}
// The first n (< W) lanes from p, the others `fill`; nothing past p + n is touched.
static inline V vload_n(const float* p, int64_t n, float fill) { GPTKIT_LANES(l < n ? p[l] : fill); }
static inline void vstore_n(float* p, V a, int64_t n) {
  for (int64_t l = 0; l < n; l++) p[l] = a.v[l];
}

static inline V vadd(V a, V b) { GPTKIT_LANES(a.v[l] + b.v[l]); }
static inline V vsub(V a, V b) { GPTKIT_LANES(a.v[l] - b.v[l]); }
static inline V vmul(V a, V b) { GPTKIT_LANES(a.v[l] * b.v[l]); }
static inline V vdiv(V a, V b) { GPTKIT_LANES(a.v[l] / b.v[l]); }
static inline V vfma(V a, V b, V c) { GPTKIT_LANES(a.v[l] * b.v[l] + c.v[l]); }
static inline V vfnma(V a, V b, V c) { GPTKIT_LANES(c.v[l] - a.v[l] * b.v[l]); }
static inline V vmax(V a, V b) { GPTKIT_LANES(a.v[l] > b.v[l] ? a.v[l] : b.v[l]); }  // b when either is NaN, like maxps
static inline V vmin(V a, V b) { GPTKIT_LANES(a.v[l] < b.v[l] ? a.v[l] : b.v[l]); }
static inline V vsqrt(V a) { GPTKIT_LANES(std::sqrt(a.v[l])); }
static inline float vhsum(V a) {
  return ((a.v[0] + a.v[4]) + (a.v[2] + a.v[6])) + ((a.v[1] + a.v[5]) + (a.v[3] + a.v[7]));
}
static inline float vhmax(V a) {
  float m = a.v[0];
  for (int l = 1; l < 8; l++) m = a.v[l] > m ? a.v[l] : m;
  return m;
}

// e^x for one lane, the same algorithm as the SIMD paths (see kernels_vec_avx512.h).
static inline float exp_lane(float x) {
  if (x < -87.33654475f) return 0.0f;
  if (x != x) return x;  // NaN: the integer conversion below would be undefined
  x = x < 88.0f ? x : 88.0f;
  // Round to nearest by adding 1.5·2^23 (no libm call, no SSE4.1 needed); |x·log2e| < 2^22.
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + (r + 1.0f);
  uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
  float pow2;
  std::memcpy(&pow2, &bits, sizeof pow2);
  return y * pow2;
}

static inline V vexp(V x) { GPTKIT_LANES(exp_lane(x.v[l])); }

static inline uint32_t dropout_hash(uint32_t seed, uint32_t idx) {
  uint32_t h = seed ^ (idx * 0x9e3779b9u);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// x·scale where dropoutKeep(seed, idx0 + lane) holds, else 0 (the hash of backend.ts, lane-wise).
static inline V vdropout(V x, uint32_t idx0, const kern::DropoutConsts& k) {
  GPTKIT_LANES((int32_t)(dropout_hash(k.seed, idx0 + (uint32_t)l) >> 8) >= k.threshold ? x.v[l] * k.scale : 0.0f);
}

#undef GPTKIT_LANES

// Σ x² over n floats in float64, eight accumulators in a fixed order.
static inline double vsumsq(const float* x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += (double)x[i + l] * (double)x[i + l];
  for (; i < n; i++) acc[i & 7] += (double)x[i] * (double)x[i];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}
