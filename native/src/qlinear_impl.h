// One SIMD path's quantized linear kernels (see qlinear.h), for QL_W float lanes, inside namespace
// QL_NS with QL_TARGET on every function. Included by qlinear_paths.cc once per path.
#include <cstring>

namespace gptkit {
namespace qlin {
namespace QL_NS {

constexpr int W = QL_W;
typedef float vf __attribute__((vector_size(4 * W)));
typedef int8_t vb __attribute__((vector_size(W)));
typedef uint16_t vh __attribute__((vector_size(2 * W)));
typedef uint32_t vu __attribute__((vector_size(4 * W)));

/** Rows of x handled together: each weight vector, once expanded, feeds this many products. */
constexpr int MR = 8;

QL_TARGET static inline vf loadf(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
QL_TARGET static inline float hsum(vf v) {
  float s = 0;
  for (int i = 0; i < W; i++) s += v[i];
  return s;
}

/** IEEE half bits → float (normal, subnormal, zero; scales are finite). */
QL_TARGET static inline float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else { float f = (float)mant * (1.0f / 16777216.0f); std::memcpy(&bits, &f, 4); bits |= sign; }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Widening int8 (and bf16) to float32: GCC turns __builtin_convertvector from 8-bit lanes into one
// scalar conversion a lane, so the x86 and NEON paths use the sign-/zero-extending instructions.

/** W weights of a Q8_0 block, from byte offset j within its 32 quants, times the block's scale. */
QL_TARGET static inline vf q8_weights(const uint8_t* quants, int j, float d) {
#if defined(QL_AVX512)
  return (vf)_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(quants + j)))) * d;
#elif defined(QL_AVX2)
  return (vf)_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(quants + j)))) * d;
#elif defined(QL_NEON)
  uint32_t four;
  std::memcpy(&four, quants + j, 4);  // exactly this block's 4 quants: never past the buffer
  const int16x8_t h = vmovl_s8(vreinterpret_s8_u32(vdup_n_u32(four)));
  return (vf)vcvtq_f32_s32(vmovl_s16(vget_low_s16(h))) * d;
#else
  vf w;
  for (int i = 0; i < W; i++) w[i] = (float)(int8_t)quants[j + i];
  return w * d;
#endif
}

QL_TARGET static inline vf bf16_weights(const uint8_t* row, int64_t k) {
#if defined(QL_AVX512)
  return (vf)_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(row + 2 * k))), 16));
#elif defined(QL_AVX2)
  return (vf)_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(row + 2 * k))), 16));
#elif defined(QL_NEON)
  return (vf)vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t*)(row + 2 * k)), 16));
#else
  vh h;
  std::memcpy(&h, row + 2 * k, sizeof h);
  vu u = __builtin_convertvector(h, vu) << 16;
  vf f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

/** Columns [n0, n1) of y for rows [m0, m0 + R) of x, R ≤ MR. */
template <int R>
QL_TARGET static void tile(Format fmt, int64_t m0, int64_t n0, int64_t n1, int64_t N, int64_t K, const float* x, const uint8_t* w, const float* bias, float* y) {
  const int64_t rb = row_bytes(fmt, K);
  for (int64_t n = n0; n < n1; n++) {
    const uint8_t* row = w + n * rb;
    vf acc[R];
    for (int r = 0; r < R; r++) acc[r] = vf{} ;
    if (fmt == Format::Q8_0) {
      for (int64_t b = 0; b < K / 32; b++) {
        const uint8_t* blk = row + b * 34;
        uint16_t dbits;
        std::memcpy(&dbits, blk, 2);
        const float d = half_to_float(dbits);
        for (int j = 0; j < 32; j += W) {
          const vf wv = q8_weights(blk + 2, j, d);
          for (int r = 0; r < R; r++) acc[r] += loadf(x + (m0 + r) * K + b * 32 + j) * wv;
        }
      }
    } else {
      int64_t k = 0;
      for (; k + W <= K; k += W) {
        const vf wv = bf16_weights(row, k);
        for (int r = 0; r < R; r++) acc[r] += loadf(x + (m0 + r) * K + k) * wv;
      }
      for (; k < K; k++) {  // a tail shorter than one vector
        uint32_t u = (uint32_t)(row[2 * k] | (row[2 * k + 1] << 8)) << 16;
        float wk;
        std::memcpy(&wk, &u, 4);
        for (int r = 0; r < R; r++) acc[r][0] += x[(m0 + r) * K + k] * wk;
      }
    }
    const float bn = bias ? bias[n] : 0.f;
    for (int r = 0; r < R; r++) y[(m0 + r) * N + n] = hsum(acc[r]) + bn;
  }
}

QL_TARGET void columns(Format fmt, int64_t M, int64_t n0, int64_t n1, int64_t N, int64_t K, const float* x, const uint8_t* w, const float* bias, float* y) {
  int64_t m = 0;
  for (; m + MR <= M; m += MR) tile<MR>(fmt, m, n0, n1, N, K, x, w, bias, y);
  switch (M - m) {
    case 7: tile<7>(fmt, m, n0, n1, N, K, x, w, bias, y); break;
    case 6: tile<6>(fmt, m, n0, n1, N, K, x, w, bias, y); break;
    case 5: tile<5>(fmt, m, n0, n1, N, K, x, w, bias, y); break;
    case 4: tile<4>(fmt, m, n0, n1, N, K, x, w, bias, y); break;
    case 3: tile<3>(fmt, m, n0, n1, N, K, x, w, bias, y); break;
    case 2: tile<2>(fmt, m, n0, n1, N, K, x, w, bias, y); break;
    case 1: tile<1>(fmt, m, n0, n1, N, K, x, w, bias, y); break;
    default: break;
  }
}

}  // namespace QL_NS
}  // namespace qlin
}  // namespace gptkit
