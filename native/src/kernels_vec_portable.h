// Portable primitives for kernels_body.h: one float "lane", plain C++ (what ARM and old x86 run;
// the compiler may still auto-vectorise the elementwise loops). Included by kernels.cc inside
// `namespace portable`. There is no hand-written NEON path: it could not be compile-checked here.

constexpr int W = 1;
typedef float V;

static inline V vzero() { return 0.0f; }
static inline V vset(float a) { return a; }
static inline V vload(const float* p) { return *p; }
static inline void vstore(float* p, V v) { *p = v; }
// With one lane there is never a partial vector; these exist so kernels_body.h compiles unchanged.
static inline V vload_n(const float* p, int64_t n, float fill) { return n > 0 ? *p : fill; }
static inline void vstore_n(float* p, V v, int64_t n) {
  if (n > 0) *p = v;
}

static inline V vadd(V a, V b) { return a + b; }
static inline V vsub(V a, V b) { return a - b; }
static inline V vmul(V a, V b) { return a * b; }
static inline V vdiv(V a, V b) { return a / b; }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline V vfnma(V a, V b, V c) { return c - a * b; }
static inline V vmax(V a, V b) { return a > b ? a : b; }  // b when either is NaN, like maxps
static inline V vmin(V a, V b) { return a < b ? a : b; }
static inline V vsqrt(V a) { return std::sqrt(a); }
static inline float vhsum(V a) { return a; }
static inline float vhmax(V a) { return a; }

// e^x, the same algorithm as the SIMD paths (see kernels_vec_avx512.h).
static inline V vexp(V x) {
  if (x < -87.33654475f) return 0.0f;
  x = vmin(88.0f, x);
  float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + (r + 1.0f);
  if (x != x) return x;  // NaN: the integer conversion below would be undefined
  uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
  float pow2;
  std::memcpy(&pow2, &bits, sizeof pow2);
  return y * pow2;
}

static inline uint32_t dropout_hash(uint32_t seed, uint32_t idx) {
  uint32_t h = seed ^ (idx * 0x9e3779b9u);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static inline V vdropout(V x, uint32_t idx, const kern::DropoutConsts& k) {
  return (int32_t)(dropout_hash(k.seed, idx) >> 8) >= k.threshold ? x * k.scale : 0.0f;
}

static inline double vsumsq(const float* x, int64_t n) {
  double acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; j++) acc[j] += (double)x[i + j] * (double)x[i + j];
  for (; i < n; i++) acc[0] += (double)x[i] * (double)x[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}
