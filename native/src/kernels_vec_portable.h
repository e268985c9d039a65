// Portable primitives for kernels_body.h: 4 float lanes as a GCC/Clang vector extension type. No
// intrinsics: the compiler maps each op onto the baseline target's 128-bit registers (SSE2 on x86-64,
// NEON on AArch64). 128 bits on purpose: GCC lowers comparisons on wider vectors one lane at a time
// when the target lacks them. Included by kernels_paths.cc inside `namespace portable`; the reference
// the SIMD paths are cross-checked against (native/test/simd_check.cc).

constexpr int W = 4;
typedef float V __attribute__((vector_size(16)));
typedef int32_t VI __attribute__((vector_size(16)));
typedef uint32_t VU __attribute__((vector_size(16)));

static inline V vset(float a) { return V{a, a, a, a}; }
static inline V vzero() { return vset(0.0f); }
static inline V vload(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);  // unaligned
  return v;
}
static inline void vstore(float* p, V v) { std::memcpy(p, &v, sizeof v); }
// The first n (< W) lanes from p, the others `fill`; nothing past p + n is touched.
static inline V vload_n(const float* p, int64_t n, float fill) {
  V v = vset(fill);
  for (int64_t l = 0; l < n; l++) v[l] = p[l];
  return v;
}
static inline void vstore_n(float* p, V v, int64_t n) {
  for (int64_t l = 0; l < n; l++) p[l] = v[l];
}

static inline V vadd(V a, V b) { return a + b; }
static inline V vsub(V a, V b) { return a - b; }
static inline V vmul(V a, V b) { return a * b; }
static inline V vdiv(V a, V b) { return a / b; }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline V vfnma(V a, V b, V c) { return c - a * b; }
// Lane-wise m ? a : b for a comparison mask m (bit operations: SSE2 has no blend).
static inline V vselect(VI m, V a, V b) { return (V)(((VI)a & m) | ((VI)b & ~m)); }
static inline V vmax(V a, V b) { return vselect(a > b, a, b); }  // b when either is NaN, like maxps
static inline V vmin(V a, V b) { return vselect(a < b, a, b); }
static inline V vsqrt(V a) {
  for (int l = 0; l < 4; l++) a[l] = std::sqrt(a[l]);
  return a;
}
static inline float vhsum(V a) { return (a[0] + a[2]) + (a[1] + a[3]); }
static inline float vhmax(V a) {
  float m = a[0];
  for (int l = 1; l < 4; l++) m = a[l] > m ? a[l] : m;
  return m;
}

// e^x, the same algorithm as the SIMD paths (see kernels_vec_avx512.h). NaN stays NaN.
static inline V vexp(V x) {
  const V lo = vset(-87.33654475f), hi = vset(88.0f);
  V xc = vselect(x < lo, lo, x);
  xc = vselect(xc > hi, hi, xc);
  // Adding 1.5·2^23 rounds x·log2e to an integer n (|n| ≤ 127), held in the low mantissa bits.
  const V shifted = xc * 1.44269504088896341f + 12582912.0f;
  const V n = shifted - 12582912.0f;
  const V pow2 = (V)(((VU)shifted - 0x4B400000u + 127u) << 23);  // 2^n from its exponent bits
  V r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  V y = vset(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + (r + 1.0f);
  return (V)((VI)(y * pow2) & ~(x < lo));
}

// x·scale where dropoutKeep(seed, idx0 + lane) holds, else 0 (the hash of backend.ts, lane-wise).
static inline V vdropout(V x, uint32_t idx0, const kern::DropoutConsts& k) {
  const VU idx = idx0 + VU{0, 1, 2, 3};
  VU h = k.seed ^ (idx * 0x9e3779b9u);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return (V)((VI)(x * k.scale) & ((VI)(h >> 8) >= k.threshold));
}

// Σ x² over n floats in float64, eight accumulators in a fixed order.
static inline double vsumsq(const float* x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += (double)x[i + l] * (double)x[i + l];
  for (; i < n; i++) acc[i & 7] += (double)x[i] * (double)x[i];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}
