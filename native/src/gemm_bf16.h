// The bf16 GEMM on AVX512_BF16: C = alpha·bf16(op(A))·bf16(op(B)) (+ C) (+ bias), summed in float32
// by vdpbf16ps, which multiplies 16 pairs of bf16 per lane group at twice the float32 FMA rate.
// Where the CPU lacks it, gemm.cc runs the float32 driver with Problem::round_bf16 instead
// (the same operand bits; only the order of the float32 additions differs).
//
// The loop nest is gemm_driver.h's, with the operands packed as bf16 depth pairs: the float32
// packers of gemm_avx512.h fill one panel, which is rounded and interleaved into
//   A panel of r rows: (⌈kc/2⌉, r, 2)   element (p, i) at (p/2)·2r + 2i + p%2
//   B panel:           (⌈kc/2⌉, 32, 2)  element (p, j) at (p/2)·64 + 2j + p%2
// (an odd kc's last pair is padded with zero), so each micro-kernel step broadcasts one 32-bit pair
// of an A row against two vectors of 16 column pairs of B.
#pragma once
#include "bf16.h"
#include "gemm_avx512.h"
#include "gemm_driver.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define GPTKIT_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace gptkit {
namespace gemm {
namespace avx512bf16 {

constexpr int MR = avx512::MR, NR = avx512::NR;
// Cache blocks in elements, as the float32 kernels' (gemm_avx512.h): a bf16 panel holds half the
// bytes, and a longer kc measured no faster here.
constexpr int64_t kMC = 14 * 16, kKC = 512, kNC = 3072;

template <int R>
GPTKIT_AVX512BF16 static void micro(int64_t pairs, const uint16_t* a, const uint16_t* b, const Tile& t) {
  __m512 c0[R], c1[R];
  avx512::start_tile<R>(c0, c1, t);
  for (int64_t p = 0; p < pairs; p++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      int32_t pair;
      std::memcpy(&pair, a + 2 * r, 4);
      const __m512bh ar = (__m512bh)_mm512_set1_epi32(pair);
      c0[r] = _mm512_dpbf16_ps(c0[r], ar, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], ar, b1);
    }
    a += 2 * R;
    b += 2 * NR;
  }
  avx512::store_tile<R>(c0, c1, t);
}

// A float32 panel (kc, w), rows ld floats apart (w ≤ 32), → bf16 depth pairs (⌈kc/2⌉, wpad, 2), the
// columns from w to wpad zero. The source is a staged panel (ld = w), or the operand itself where its
// rows are the depth steps (a transposed A, a B not transposed): then no float32 copy is made.
GPTKIT_AVX512BF16 static void to_pairs(const float* src, int64_t ld, int64_t kc, int w, int wpad, uint16_t* dst) {
  // Lane 2j takes word j (depth p), lane 2j + 1 word 16 + j (depth p + 1).
  alignas(64) static const uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i idx = _mm512_load_si512(kInterleave);
  for (int64_t p = 0; p < kc; p += 2) {
    const float* lo = src + p * ld;
    const float* hi = lo + ld;
    if (p + 2 * kPackAhead + 1 < kc) {  // rows far apart: see kPackAhead
      prefetch_run(lo + 2 * kPackAhead * ld, w);
      prefetch_run(lo + (2 * kPackAhead + 1) * ld, w);
    }
    uint16_t* out = dst + p * wpad;  // pair p/2 starts at (p/2)·2·wpad
    for (int c = 0; c < wpad; c += 16) {
      const int n = std::max(0, std::min(16, w - c));
      const __mmask16 m = n == 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
      const __m512 vlo = _mm512_maskz_loadu_ps(m, lo + c);
      const __m512 vhi = p + 1 < kc ? _mm512_maskz_loadu_ps(m, hi + c) : _mm512_setzero_ps();
      const __m512i v = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(vhi, vlo));
      const int lanes = std::min(16, wpad - c);  // stored: the valid columns and their zero padding
      const __mmask32 sm = lanes == 16 ? (__mmask32)0xffffffffu : (__mmask32)((1u << (2 * lanes)) - 1);
      _mm512_mask_storeu_epi16(out + 2 * c, sm, v);
    }
  }
}

inline void block(const Problem& P, const Kernels& K, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  static void (*const kMicro[MR + 1])(int64_t, const uint16_t*, const uint16_t*, const Tile&) = {
      nullptr,   micro<1>,  micro<2>,  micro<3>,  micro<4>,  micro<5>,  micro<6>, micro<7>,
      micro<8>,  micro<9>,  micro<10>, micro<11>, micro<12>, micro<13>, micro<14>};
  const int64_t kc_step = even_step(P.k, kKC, 2);  // even: a pair never straddles two blocks
  const int64_t mc_step = even_step(i1 - i0, kMC, MR);
  const int64_t nc_step = even_step(j1 - j0, kNC, NR);
  const int64_t kc_even = (kc_step + 1) / 2 * 2;
  PackBuffers& bufs = pack_buffers();
  // The buffers hold floats; a bf16 panel takes half as many.
  uint16_t* pa = reinterpret_cast<uint16_t*>(bufs.get(kBufA, (size_t)(mc_step * kc_even + 1) / 2));
  uint16_t* pb = reinterpret_cast<uint16_t*>(bufs.get(kBufB, (size_t)(kc_even * ((nc_step + NR - 1) / NR * NR) + 1) / 2));
  // Float32 staging where the operand's rows are not the depth steps (A not transposed, B transposed):
  // one B panel, or a whole A block, transposed by the float32 packers' 16×16 in-register transposes.
  float* staged = bufs.get(kBufX, (size_t)kc_step * std::max<int64_t>(NR, mc_step));

  for (int64_t jc = j0; jc < j1; jc += nc_step) {
    const int64_t nc = std::min(nc_step, j1 - jc);
    for (int64_t pc = 0; pc < P.k; pc += kc_step) {
      const int64_t kc = std::min(kc_step, P.k - pc), ke = (kc + 1) / 2 * 2;
      const bool first = pc == 0;
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int w = (int)std::min<int64_t>(NR, nc - jr);
        if (!P.tb) {
          to_pairs(P.b + pc * P.ldb + jc + jr, P.ldb, kc, w, NR, pb + jr * ke);
        } else {
          K.pack_b(P, pc, kc, jc + jr, w, NR, staged);  // transposed 16×16 at a time, zero-padded to NR columns
          to_pairs(staged, NR, kc, NR, NR, pb + jr * ke);
        }
      }
      for (int64_t ic = i0; ic < i1; ic += mc_step) {
        const int64_t mc = std::min(mc_step, i1 - ic);
        if (P.ta) {
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int r = (int)std::min<int64_t>(MR, mc - ir);
            to_pairs(P.a + pc * P.lda + ic + ir, P.lda, kc, r, r, pa + ir * ke);
          }
        } else {
          K.pack_a(P, ic, mc, pc, kc, MR, staged);  // transposed: panels of (kc, r) floats, kc·MR apart
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int r = (int)std::min<int64_t>(MR, mc - ir);
            to_pairs(staged + ir * kc, r, kc, r, r, pa + ir * ke);
          }
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = (int)std::min<int64_t>(MR, mc - ir);
            Tile t = tile_at(P, ic + ir, jc + jr, (int)std::min<int64_t>(NR, nc - jr), first);
            t.round_bf16 = P.round_c && pc + kc == P.k;
            kMicro[mr](ke / 2, pa + ir * ke, pb + jr * ke, t);
          }
        }
      }
    }
  }
}

}  // namespace avx512bf16

// One bf16 product on up to `threads` threads. Needs bf16_dot_enabled().
inline void gemm_one_bf16(const Problem& P0, int threads) {
  if (P0.m == 0 || P0.n == 0) return;
  if (P0.k == 0) {
    scale_only(P0);
    if (P0.round_c) round_c(P0);
    return;
  }
  const Kernels& K = avx512::kernels();
  const Problem P = oriented(P0, K.nr);
  if ((double)P.m * P.n * P.k < kParallelMinMacs) threads = 1;
  split_blocks(P, K.mr, K.nr, threads, [&](const Problem& Q, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    avx512bf16::block(Q, K, i0, i1, j0, j1);
  });
}

}  // namespace gemm
}  // namespace gptkit
#pragma GCC diagnostic pop
#endif  // __x86_64__
