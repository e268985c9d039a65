// NEON primitives for kernels_body.h: 4 float lanes in a 128-bit register, AArch64 only. Included by
// kernels_paths.cc inside `namespace neon`. The algorithms are those of the AVX-512 path (see
// kernels_vec_avx512.h): the same exp polynomial with FMA, the same dropout hash, Σx² widened to
// float64; tails go through a small stack buffer.

constexpr int W = 4;
typedef float32x4_t V;

static inline V vzero() { return vdupq_n_f32(0.0f); }
static inline V vset(float a) { return vdupq_n_f32(a); }
static inline V vload(const float* p) { return vld1q_f32(p); }
static inline void vstore(float* p, V v) { vst1q_f32(p, v); }
// The first n (< W) lanes from p, the others `fill`; nothing past p + n is touched.
static inline V vload_n(const float* p, int64_t n, float fill) {
  float buf[4];
  for (int64_t i = 0; i < 4; i++) buf[i] = i < n ? p[i] : fill;
  return vld1q_f32(buf);
}
static inline void vstore_n(float* p, V v, int64_t n) {
  float buf[4];
  vst1q_f32(buf, v);
  for (int64_t i = 0; i < n; i++) p[i] = buf[i];
}

static inline V vadd(V a, V b) { return vaddq_f32(a, b); }
static inline V vsub(V a, V b) { return vsubq_f32(a, b); }
static inline V vmul(V a, V b) { return vmulq_f32(a, b); }
static inline V vdiv(V a, V b) { return vdivq_f32(a, b); }
static inline V vfma(V a, V b, V c) { return vfmaq_f32(c, a, b); }   // a·b + c
static inline V vfnma(V a, V b, V c) { return vfmsq_f32(c, a, b); }  // c − a·b
// b when either is NaN, like x86's maxps/minps (FMAX/FMIN would return the NaN).
static inline V vmax(V a, V b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
static inline V vmin(V a, V b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
static inline V vsqrt(V a) { return vsqrtq_f32(a); }
static inline float vhsum(V a) { return vaddvq_f32(a); }
static inline float vhmax(V a) {
  V m = vmax(a, vextq_f32(a, a, 2));
  m = vmax(m, vextq_f32(m, m, 1));
  return vgetq_lane_f32(m, 0);
}

// e^x (see kernels_vec_avx512.h): x > 88 saturates at e^88, x < ln(FLT_MIN) gives 0, NaN stays NaN.
static inline V vexp(V x) {
  const uint32x4_t tiny = vcltq_f32(x, vdupq_n_f32(-87.33654475f));
  x = vminq_f32(vdupq_n_f32(88.0f), x);
  x = vmaxq_f32(vdupq_n_f32(-87.33654475f), x);
  const V n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));  // round to nearest even
  V r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  V y = vdupq_n_f32(1.9875691500e-4f);
  y = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), y, r);
  y = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), y, r);
  y = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), y, r);
  y = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), y, r);
  y = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), y, r);
  y = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), y, vmulq_f32(r, r));
  // n is an integer in [−126, 127]: the conversion is exact, and n + 127 is 2^n's biased exponent.
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  y = vmulq_f32(y, vreinterpretq_f32_s32(e));
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), tiny));
}

// x·scale where dropoutKeep(seed, idx0 + lane) holds, else 0 (the hash of backend.ts, lane-wise).
static inline V vdropout(V x, uint32_t idx0, const kern::DropoutConsts& k) {
  static const uint32_t lanes[4] = {0, 1, 2, 3};
  const uint32x4_t idx = vaddq_u32(vdupq_n_u32(idx0), vld1q_u32(lanes));
  uint32x4_t h = veorq_u32(vdupq_n_u32(k.seed), vmulq_n_u32(idx, 0x9e3779b9u));
  h = veorq_u32(h, vshrq_n_u32(h, 16));
  h = vmulq_n_u32(h, 0x85ebca6bu);
  h = veorq_u32(h, vshrq_n_u32(h, 13));
  h = vmulq_n_u32(h, 0xc2b2ae35u);
  h = veorq_u32(h, vshrq_n_u32(h, 16));
  // hash >> 8 < 2^24, so the signed compare is exact.
  const uint32x4_t keep = vcgeq_s32(vreinterpretq_s32_u32(vshrq_n_u32(h, 8)), vdupq_n_s32(k.threshold));
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(vmulq_n_f32(x, k.scale)), keep));
}

// Σ x² over n floats in float64: each float widened exactly, four accumulators, fixed order.
static inline double vsumsq(const float* x, int64_t n) {
  float64x2_t acc[4] = {vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0)};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 2; j++) {
      const float32x4_t v = vld1q_f32(x + i + 4 * j);
      const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
      acc[2 * j] = vfmaq_f64(acc[2 * j], lo, lo);
      acc[2 * j + 1] = vfmaq_f64(acc[2 * j + 1], hi, hi);
    }
  }
  for (; i < n; i += 4) {
    const float32x4_t v = n - i >= 4 ? vld1q_f32(x + i) : vload_n(x + i, n - i, 0.0f);
    const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
    acc[0] = vfmaq_f64(acc[0], lo, lo);
    acc[1] = vfmaq_f64(acc[1], hi, hi);
  }
  return vaddvq_f64(vaddq_f64(vaddq_f64(acc[0], acc[1]), vaddq_f64(acc[2], acc[3])));
}
