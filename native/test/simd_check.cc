// Cross-check of the addon's SIMD paths against its portable path, without Node: the math files of
// native/src (gemm_paths.h, kernels_paths.cc, attention_paths.cc) are N-API free, so this program
// links them directly. For every SIMD path the CPU runs (NEON under qemu-aarch64 when cross-compiled
// by scripts/check-arm.sh; AVX-512 and AVX2 natively on x86-64) it runs GEMM (all transpose
// combinations, alpha, beta, bias, GEMV, threads), the pointwise/row kernels and attention forward
// and backward on random inputs of awkward sizes (1, primes, odd sizes, larger than a cache block),
// and compares each result with the portable path's within float tolerances. GEMM is also held
// against a float64 reference. Exits 1 on any mismatch.
//
// Usage: simd_check [--expect PATH]...   (fails unless each named path was among those checked)
#include "check.h"

#include "../src/attention_args.h"
#include "../src/gemm_bf16.h"
#include "../src/gemm_paths.h"
#include "../src/kernels_table.h"
#include "../src/peak.h"
#include "../src/qlinear.h"

#include <algorithm>
#include <cstdlib>

namespace gptkit {
// The driver splits large GEMMs across threads; here "threads" are ranges run in turn, which is
// enough to exercise the split (each range is computed independently of the others).
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = std::min<int64_t>(n, 3);
  for (int64_t t = 0; t < parts; t++) fn(n * t / parts, n * (t + 1) / parts);
}
int num_threads() { return 3; }
}  // namespace gptkit

namespace simd_check {

using gptkit::Simd;

// ---------------------------------------------------------------------------------------------
// GEMM.

struct GemmCase {
  int64_t m, n, k;
};

// C = alpha·op(A)·op(B) + beta·C + bias in float64, and Σ of the magnitudes of the terms (the scale
// of the rounding error a float result may carry).
static void gemm_reference(const gptkit::gemm::Problem& P, const std::vector<float>& c0, int64_t ldc,
                           std::vector<float>* want, std::vector<double>* scale) {
  for (int64_t i = 0; i < P.m; i++)
    for (int64_t j = 0; j < P.n; j++) {
      double s = 0, mag = 0;
      for (int64_t p = 0; p < P.k; p++) {
        const double x = P.ta ? P.a[p * P.lda + i] : P.a[i * P.lda + p];
        const double y = P.tb ? P.b[j * P.ldb + p] : P.b[p * P.ldb + j];
        s += x * y;
        mag += std::fabs(x * y);
      }
      double v = P.alpha * s, vm = std::fabs(P.alpha) * mag;
      if (P.accumulate) v += c0[i * ldc + j], vm += std::fabs(c0[i * ldc + j]);
      const float bias = P.bias ? P.bias[P.bias_per_row ? i : j] : 0.f;
      v += bias, vm += std::fabs(bias);
      (*want)[i * ldc + j] = (float)v;
      (*scale)[i * ldc + j] = vm;
    }
}

void check_gemm(Simd s, Report& r) {
  namespace gm = gptkit::gemm;
  const gm::Kernels& K = gm::kernels_for(s);
  const gm::Kernels& ref = gm::kernels_for(Simd::Portable);
  // m = 1 and n = 1 run the GEMV kernels (n = 1 by transposition); 13×1 and 40×5 are solved
  // transposed (strided C); k = 300 and 260 are over the kc block of every path but AVX-512's (512),
  // m = 150 over their mc, n = 2100 over nc; 230×70×530 is over AVX-512's mc and kc (224, 512); up to
  // 16 rows with B transposed run AVX-512's dot products, up to 8 AVX2's (8×1500×91 and 11×1500×67 on
  // both threads);
  // 1×1100×130 and 100×100×101 are large enough to be split across threads.
  const GemmCase cases[] = {{1, 1, 1},     {1, 37, 13},   {13, 1, 29},  {2, 3, 1},      {7, 11, 5},
                            {8, 12, 16},   {17, 29, 31},  {9, 25, 300}, {40, 5, 17},    {33, 49, 260},
                            {150, 13, 7},  {3, 2100, 5},  {1, 1100, 130}, {100, 100, 101}, {6, 16, 3},
                            {230, 70, 530},  {8, 1500, 91}, {11, 1500, 67}, {16, 5, 33},
                            {13, 150, 1000}};
  Rng rng(42);
  for (const GemmCase& gc : cases)
    for (int trans = 0; trans < 4; trans++)
      for (int variant = 0; variant < 4; variant++) {
        const bool ta = trans & 1, tb = trans & 2;
        const int64_t m = gc.m, n = gc.n, k = gc.k;
        // Leading dimensions a little wider than the rows, so a read or write past a row shows.
        const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
        const std::vector<float> a = rng.floats((size_t)(ta ? k : m) * lda);
        const std::vector<float> b = rng.floats((size_t)(tb ? n : k) * ldb);
        const std::vector<float> c0 = rng.floats((size_t)m * ldc), bias = rng.floats((size_t)std::max(m, n));
        gm::Problem P{m, n, k, a.data(), lda, ta, b.data(), ldb, tb, nullptr, ldc, 1, 1.f, false, nullptr, false};
        P.alpha = variant == 1 ? -0.5f : 1.f;
        P.accumulate = variant >= 1;
        // Variant 3: a bias per row of C, which Backend.gemm never asks for but the driver supports
        // (and produces itself when it solves a problem transposed).
        P.bias = variant >= 2 ? bias.data() : nullptr;
        P.bias_per_row = variant == 3;
        std::vector<float> want(c0), got(c0), portable(c0);
        std::vector<double> scale(c0.size());
        gemm_reference(P, c0, ldc, &want, &scale);
        P.c = got.data();
        gm::gemm_one(P, K, gptkit::num_threads());
        P.c = portable.data();
        gm::gemm_one(P, ref, 1);
        const std::string what = std::string(gptkit::simd_name(s)) + " gemm m=" + std::to_string(m) + " n=" +
                                 std::to_string(n) + " k=" + std::to_string(k) + " ta=" + std::to_string(ta) +
                                 " tb=" + std::to_string(tb) + " variant=" + std::to_string(variant);
        bool ok = true;
        for (size_t i = 0; i < got.size() && ok; i++) {
          const bool pad = (int64_t)(i % ldc) >= n;  // the column past each row of C: never written
          const double tol = 1e-5 * scale[i] + 1e-30;
          if (pad ? got[i] != c0[i] : !(std::fabs(got[i] - want[i]) <= tol && std::fabs(got[i] - portable[i]) <= tol)) {
            r.truth(what + ": element " + std::to_string(i) + " is " + std::to_string(got[i]) + ", float64 reference " +
                        std::to_string(want[i]) + ", portable " + std::to_string(portable[i]),
                    false);
            ok = false;
          }
        }
        if (ok) r.truth(what, true);
        r.close(what + " (portable vs float64)", portable, want, 1e-5);
      }
}

// Batched decoding's dot products (A·Bᵀ, m ≤ 16) copy a misaligned A to aligned rows first: the bits
// must not depend on where A lies (an aligned A is read in place, a shifted one is copied).
void check_dots_alignment(Simd s, Report& r) {
  namespace gm = gptkit::gemm;
  const gm::Kernels& K = gm::kernels_for(s);
  if (!K.dots) return;
  Rng rng(99);
  for (int64_t k : {384, 800}) {
    const int64_t m = 13, n = 150;
    const std::vector<float> src = rng.floats((size_t)m * k), b = rng.floats((size_t)n * k);
    float* aligned = static_cast<float*>(std::aligned_alloc(64, (size_t)(m * k + 16) * sizeof(float)));
    std::memcpy(aligned, src.data(), src.size() * sizeof(float));
    std::vector<float> shifted_store((size_t)m * k + 1);
    std::memcpy(shifted_store.data() + 1, src.data(), src.size() * sizeof(float));
    std::vector<float> c1((size_t)m * n), c2((size_t)m * n);
    gm::Problem P{m, n, k, aligned, k, false, b.data(), k, true, c1.data(), n, 1, 1.f, false, nullptr, false};
    gm::gemm_one(P, K, 1);
    P.a = shifted_store.data() + 1;
    P.c = c2.data();
    gm::gemm_one(P, K, 1);
    r.truth(std::string(gptkit::simd_name(s)) + " dots: the same bits from an aligned and a shifted A, k=" + std::to_string(k),
            std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
    std::free(aligned);
  }
}

// bf16 GEMM: each level's float32 kernels on rounded panels (Problem::round_bf16, the emulated path)
// and, on AVX-512 with AVX512_BF16, the vdpbf16ps driver, against float64 sums of the rounded
// operands. Odd depths pad the last pair; 1031 spans three kc blocks; the shapes that would run the
// GEMV and dot-product kernels in float32 run the packed path here.
void check_gemm_bf16(Simd s, Report& r) {
  namespace gm = gptkit::gemm;
  const gm::Kernels& K = gm::kernels_for(s);
  const GemmCase cases[] = {{1, 1, 1}, {13, 1, 29}, {7, 11, 5}, {1, 37, 13}, {33, 49, 261}, {230, 70, 530},
                            {150, 13, 1031}, {8, 1500, 91}, {40, 5, 17}};
  Rng rng(43);
  for (const GemmCase& gc : cases)
    for (int trans = 0; trans < 4; trans++)
      for (int variant = 0; variant < 2; variant++) {
        const bool ta = trans & 1, tb = trans & 2;
        const int64_t m = gc.m, n = gc.n, k = gc.k;
        const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
        const std::vector<float> a = rng.floats((size_t)(ta ? k : m) * lda);
        const std::vector<float> b = rng.floats((size_t)(tb ? n : k) * ldb);
        const std::vector<float> c0 = rng.floats((size_t)m * ldc), bias = rng.floats((size_t)std::max(m, n));
        std::vector<float> ar(a), br(b);
        for (float& x : ar) x = gptkit::round_bf16(x);
        for (float& x : br) x = gptkit::round_bf16(x);
        gm::Problem P{m, n, k, a.data(), lda, ta, b.data(), ldb, tb, nullptr, ldc, 1, 1.f, false, nullptr, false};
        P.alpha = variant == 1 ? -0.5f : 1.f;
        P.accumulate = variant == 1;
        P.bias = variant == 1 ? bias.data() : nullptr;
        P.round_c = variant == 1;
        gm::Problem R = P;
        R.a = ar.data();
        R.b = br.data();
        std::vector<float> want(c0);
        std::vector<double> scale(c0.size());
        gemm_reference(R, c0, ldc, &want, &scale);
        auto compare = [&](const std::string& what, const std::vector<float>& got) {
          for (size_t i = 0; i < got.size(); i++) {
            const bool pad = (int64_t)(i % ldc) >= n;
            // Variant 1 rounds C to bf16 (round_c): a bf16 value within half a bf16 step of the sum.
            const double tol = 1e-5 * scale[i] + 1e-30 + (P.round_c ? std::ldexp(std::fabs(want[i]), -8) : 0.0);
            const bool bf16_ok = !P.round_c || got[i] == gptkit::round_bf16(got[i]);
            if (pad ? got[i] != c0[i] : !(std::fabs(got[i] - want[i]) <= tol && bf16_ok)) {
              r.truth(what + ": element " + std::to_string(i) + " is " + std::to_string(got[i]) + ", float64 reference " +
                          std::to_string(want[i]),
                      false);
              return;
            }
          }
          r.truth(what, true);
        };
        const std::string shape = " m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
                                  " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " variant=" + std::to_string(variant);
        std::vector<float> got(c0);
        P.c = got.data();
        P.round_bf16 = true;
        gm::gemm_one(P, K, gptkit::num_threads());
        compare(std::string(gptkit::simd_name(s)) + " bf16 emulated gemm" + shape, got);
#if defined(__x86_64__)
        if (s == Simd::Avx512 && __builtin_cpu_supports("avx512bf16")) {
          std::vector<float> dot(c0);
          P.c = dot.data();
          P.round_bf16 = false;
          gm::gemm_one_bf16(P, gptkit::num_threads());
          compare("avx512_bf16 gemm" + shape, dot);
        }
#endif
      }
}

// ---------------------------------------------------------------------------------------------
// Attention.

struct AttnCase {
  int64_t B, H, tq, tk, D;
  bool causal;
  int64_t window;
  bool padded;  // keyStart/keyEnd per batch row
  float dropout;
};

void check_attention(Simd s, Report& r) {
  namespace at = gptkit::attn;
  const at::Kernels K = at::kernels_for(s), ref = at::kernels_for(Simd::Portable);
  // tq = 70 and 67 span two query/key blocks (kBlockQ = kBlockK = 64); tq ≤ 4 is the decoding shape;
  // head sizes 1, 3, 5 are not a whole vector on any path.
  const AttnCase cases[] = {
      {2, 2, 70, 70, 5, true, 0, false, 0.f},   {1, 3, 3, 37, 8, true, 0, true, 0.f},
      {2, 1, 67, 67, 16, true, 9, false, 0.2f}, {2, 2, 5, 66, 3, false, 0, true, 0.1f},
      {1, 1, 1, 1, 1, true, 0, false, 0.f},     {2, 2, 19, 23, 7, true, 0, true, 0.3f},
  };
  Rng rng(7);
  for (const AttnCase& c : cases) {
    const int64_t HD = c.H * c.D, qst = HD + 2, kst = HD + 1, vst = HD + 3;
    const std::vector<float> q = rng.floats((size_t)(c.B * c.tq * qst), -2, 2);
    const std::vector<float> k = rng.floats((size_t)(c.B * c.tk * kst), -2, 2);
    const std::vector<float> v = rng.floats((size_t)(c.B * c.tk * vst));
    const std::vector<float> dout = rng.floats((size_t)(c.B * c.tq * HD));
    std::vector<int32_t> ks(c.B), ke(c.B);
    for (int64_t b = 0; b < c.B; b++) {
      ks[b] = (int32_t)(b * 2 % c.tk);
      ke[b] = (int32_t)std::max<int64_t>(ks[b] + 1, c.tk - b * 3);
    }
    at::Args a{};
    a.B = c.B, a.H = c.H, a.tq = c.tq, a.tk = c.tk, a.D = c.D;
    a.q = q.data(), a.k = k.data(), a.v = v.data();
    a.qsb = c.tq * qst, a.qst = qst, a.ksb = c.tk * kst, a.kst = kst, a.vsb = c.tk * vst, a.vst = vst;
    a.scale = 1.f / std::sqrt((float)c.D);
    a.causal = c.causal;
    a.window = c.window;
    a.key_start = c.padded ? ks.data() : nullptr;
    a.key_end = c.padded ? ke.data() : nullptr;
    a.dropout = c.dropout;
    a.keep_scale = (float)(1.0 / (1.0 - c.dropout));
    a.threshold = (uint32_t)std::floor(c.dropout * 16777216.0);
    a.seed = 12345;
    const std::string what = std::string(gptkit::simd_name(s)) + " attention B=" + std::to_string(c.B) + " H=" +
                             std::to_string(c.H) + " tq=" + std::to_string(c.tq) + " tk=" + std::to_string(c.tk) +
                             " D=" + std::to_string(c.D) + " window=" + std::to_string(c.window) +
                             " dropout=" + std::to_string(c.dropout) + (c.padded ? " padded" : "");
    // Forward: both the blocked path and the row path (decoding) on the same inputs.
    const int64_t nqb = (c.tq + at::kBlockQ - 1) / at::kBlockQ;
    std::vector<float> out_ref((size_t)(c.B * c.tq * HD)), lse_ref((size_t)(c.B * c.H * c.tq));
    for (int rows = 0; rows < 2; rows++) {
      std::vector<float> out(out_ref.size()), lse(lse_ref.size());
      a.out = out.data(), a.lse = lse.data();
      (rows ? K.forward_rows : K.forward_blocks)(a, 0, rows ? c.B * c.H * c.tq : c.B * c.H * nqb);
      a.out = out_ref.data(), a.lse = lse_ref.data();
      (rows ? ref.forward_rows : ref.forward_blocks)(a, 0, rows ? c.B * c.H * c.tq : c.B * c.H * nqb);
      const std::string how = rows ? " forward_rows" : " forward_blocks";
      r.close(what + how + " out", out, out_ref, 3e-5);
      r.close(what + how + " lse", lse, lse_ref, 3e-5);
    }
    // Backward from the portable forward's out and lse; dq/dk/dv accumulate onto random values.
    a.out = out_ref.data(), a.lse = lse_ref.data(), a.dout = dout.data();
    const std::vector<float> dq0 = rng.floats(q.size()), dk0 = rng.floats(k.size()), dv0 = rng.floats(v.size());
    std::vector<float> dq(dq0), dk(dk0), dv(dv0), dq_ref(dq0), dk_ref(dk0), dv_ref(dv0);
    a.dq = dq.data(), a.dk = dk.data(), a.dv = dv.data();
    K.backward_heads(a, 0, c.B * c.H);
    a.dq = dq_ref.data(), a.dk = dk_ref.data(), a.dv = dv_ref.data();
    ref.backward_heads(a, 0, c.B * c.H);
    r.close(what + " backward dq", dq, dq_ref, 3e-5);
    r.close(what + " backward dk", dk, dk_ref, 3e-5);
    r.close(what + " backward dv", dv, dv_ref, 3e-5);
  }
}

// KV-cache decoding (attentionDecode's decode_heads) and stores (store_kv) over head-major caches of
// float and f16: outputs within float tolerance of the portable path, caches bit for bit (the f16
// conversions round the same way on every path), f16 outputs near the float cache's.
void check_kv_cache(Simd s, Report& r) {
  namespace at = gptkit::attn;
  const at::Kernels K = at::kernels_for(s), ref = at::kernels_for(Simd::Portable);
  struct KvCase {
    int64_t B, H, D, cap, window;
  };
  const KvCase cases[] = {{1, 1, 1, 3, 0}, {3, 2, 7, 37, 0}, {2, 3, 64, 70, 9}, {4, 1, 65, 20, 0}, {5, 6, 16, 130, 0}};
  Rng rng(11);
  for (const KvCase& c : cases) {
    const int64_t C = c.H * c.D, n = (c.B + 1) * c.H * c.cap * c.D;
    const std::vector<float> qkv = rng.floats((size_t)(c.B * 3 * C), -2, 2);
    // The caches hold the same random values, the f16 one rounded; the store below spans f16's
    // subnormals and overflow (kept out of decoding, where infinite keys would make NaN scores).
    std::vector<float> k32 = rng.floats((size_t)n, -2, 2), v32 = rng.floats((size_t)n);
    std::vector<uint16_t> k16(n), v16(n);
    for (int64_t i = 0; i < n; i++) k16[i] = gptkit::attn::f32_to_f16(k32[i]), v16[i] = gptkit::attn::f32_to_f16(v32[i]);
    std::vector<int32_t> lengths(c.B);
    for (int64_t b = 0; b < c.B; b++) lengths[b] = (int32_t)((b * 29 + c.cap - 1) % c.cap);
    const std::string what = std::string(gptkit::simd_name(s)) + " kv cache B=" + std::to_string(c.B) + " H=" +
                             std::to_string(c.H) + " D=" + std::to_string(c.D) + " cap=" + std::to_string(c.cap) +
                             " window=" + std::to_string(c.window);
    std::vector<float> out32;
    for (int f16 = 0; f16 < 2; f16++) {
      at::DecodeArgs a{};
      a.B = c.B, a.H = c.H, a.D = c.D, a.cap = c.cap, a.window = c.window;
      a.qkv = qkv.data(), a.f16 = f16 == 1, a.lengths = lengths.data(), a.scale = 1.f / std::sqrt((float)c.D);
      std::vector<float> kf(k32), vf(v32), kf_ref(k32), vf_ref(v32), out((size_t)(c.B * C)), out_ref(out.size());
      std::vector<uint16_t> kh(k16), vh(v16), kh_ref(k16), vh_ref(v16);
      a.k = f16 ? (void*)kh.data() : (void*)kf.data(), a.v = f16 ? (void*)vh.data() : (void*)vf.data(), a.out = out.data();
      K.decode_heads(a, 0, c.B * c.H);
      a.k = f16 ? (void*)kh_ref.data() : (void*)kf_ref.data(), a.v = f16 ? (void*)vh_ref.data() : (void*)vf_ref.data();
      a.out = out_ref.data();
      ref.decode_heads(a, 0, c.B * c.H);
      const std::string how = what + (f16 ? " f16" : " f32");
      r.close(how + " decode out", out, out_ref, 3e-5);
      if (f16) {
        r.truth(how + " decode stores k", kh == kh_ref);
        r.truth(how + " decode stores v", vh == vh_ref);
        r.close(how + " decode out near the f32 cache's", out, out32, 2e-3);
      } else {
        r.same(how + " decode stores k", kf, kf_ref);
        r.same(how + " decode stores v", vf, vf_ref);
        out32 = out_ref;
      }
      // Stores of T rows into slots 1.. at start[b], values spanning f16's subnormals and overflow.
      const int64_t T = std::min<int64_t>(3, c.cap);
      std::vector<float> src((size_t)(c.B * T * C + 7));
      for (size_t i = 0; i < src.size(); i++) src[i] = rng.uniform(-1, 1) * std::ldexp(1.f, (int)(i % 45) - 27);
      std::vector<int32_t> start(c.B);
      for (int64_t b = 0; b < c.B; b++) start[b] = (int32_t)((b * 5) % (c.cap - T + 1));
      at::StoreArgs st{};
      st.B = c.B, st.T = T, st.H = c.H, st.D = c.D, st.cap = c.cap, st.src = src.data() + 7, st.sb = T * C, st.st = C;
      st.f16 = f16 == 1, st.slot0 = 1, st.start = start.data();
      if (f16) {
        std::vector<uint16_t> got(k16), want(k16);
        st.cache = got.data();
        K.store_kv(st, 0, c.B * T);
        st.cache = want.data();
        ref.store_kv(st, 0, c.B * T);
        r.truth(how + " store", got == want);
      } else {
        std::vector<float> got(k32), want(k32);
        st.cache = got.data();
        K.store_kv(st, 0, c.B * T);
        st.cache = want.data();
        ref.store_kv(st, 0, c.B * T);
        r.same(how + " store", got, want);
      }
    }
  }
}

}  // namespace simd_check

namespace simd_check {

// The FMA peak loop (peak.h): every accumulator lane reaches exactly 2, the FLOP count follows the
// path's width, and the path is wider than portable where it should be.
static void check_peak(Simd s, Report& r) {
  for (int64_t iters : {1, 7, 1000}) {
    const gptkit::FmaPeakResult p = gptkit::fma_peak(s, iters, 0.5f, 1.0f);
    // After one iteration every lane holds 1, after two 1.5, …, after 25 or more exactly 2.
    double lane = 0;
    for (int64_t i = 0; i < iters; i++) lane = (float)(lane * 0.5 + 1.0);
    r.truth("fma_peak checksum after " + std::to_string(iters) + " iterations", p.checksum == lane * p.lanes);
    r.truth("fma_peak flops after " + std::to_string(iters) + " iterations", p.flops == 2.0 * p.lanes * (double)iters);
  }
#if defined(__x86_64__)
  if (s == Simd::Avx512 && __builtin_cpu_supports("avx512bf16")) {
    // vdpbf16ps adds 1·½ + 1·½ = 1 per step: accumulator j (of lanes / 16) ends at j + iters.
    const gptkit::FmaPeakResult d = gptkit::bf16_dot_peak(100);
    const int acc = d.lanes / 16;
    r.truth("bf16_dot_peak checksum", d.checksum == 16.0 * (acc * (acc - 1) / 2 + 100.0 * acc));
    r.truth("bf16_dot_peak flops", d.flops == 4.0 * d.lanes * 100);
    const gptkit::Bf16DotSpeed sp = gptkit::bf16_dot_speed();
    r.truth("bf16_dot_speed measured", sp.dot_gflops > 0 && sp.fma_gflops > 0);
  }
#endif
  const int portable = gptkit::fma_peak(Simd::Portable, 1, 0.5f, 1.0f).lanes;
  r.truth("fma_peak lanes wider than portable", gptkit::fma_peak(s, 1, 0.5f, 1.0f).lanes > portable || s == Simd::Neon);
}

// Quantized linear layers (qlinear.h): each path against portable, both formats, awkward sizes.
static void check_qlinear(Simd s, Report& r) {
  uint32_t seed = 12345;
  auto rnd = [&]() { seed = seed * 1664525u + 1013904223u; return (float)((seed >> 8) & 0xffff) / 32768.f - 1.f; };
  const int64_t sizes[][3] = {{1, 1, 32}, {1, 37, 64}, {3, 19, 96}, {8, 8, 32}, {9, 33, 128}, {16, 70, 64}, {17, 3, 32}};
  for (int f = 0; f < 2; f++) {
    const auto fmt = static_cast<gptkit::qlin::Format>(f);
    for (const auto& sz : sizes) {
      const int64_t M = sz[0], N = sz[1], K = sz[2];
      std::vector<float> x(M * K), bias(N), y(M * N), want(M * N);
      for (float& v : x) v = rnd();
      for (float& v : bias) v = rnd();
      std::vector<uint8_t> w(N * gptkit::qlin::row_bytes(fmt, K));
      for (size_t i = 0; i < w.size(); i++) w[i] = (uint8_t)(rnd() * 127.f);
      if (fmt == gptkit::qlin::Format::Q8_0)  // finite, moderate scales: half bits of 0.001–0.03
        for (int64_t b = 0; b < N * K / 32; b++) { w[b * 34] = (uint8_t)(seed & 0xff); w[b * 34 + 1] = (uint8_t)(0x14 + (seed >> 9) % 8); rnd(); }
      else  // bf16: finite values (exponent byte kept in range)
        for (size_t i = 1; i < w.size(); i += 2) w[i] = (uint8_t)(0x3c + (w[i] % 4)) | (w[i] & 0x80);
      gptkit::qlin::linear(Simd::Portable, fmt, M, N, K, x.data(), w.data(), bias.data(), want.data());
      gptkit::qlin::linear(s, fmt, M, N, K, x.data(), w.data(), bias.data(), y.data());
      r.relative(std::string("qlinear ") + (f ? "bf16" : "q8_0") + " M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K), y, want, 1e-4, 1e-4);
    }
  }
}

}  // namespace simd_check

int main(int argc, char** argv) {
  using gptkit::Simd;
  std::vector<std::string> expect;
  for (int i = 1; i < argc; i++) {
    if (std::string(argv[i]) == "--expect" && i + 1 < argc) {
      expect.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: simd_check [--expect PATH]...\n");
      return 2;
    }
  }
  std::vector<Simd> paths;
  for (Simd s : {Simd::Avx512, Simd::Avx2, Simd::Neon})
    if (gptkit::cpu_supports(s)) paths.push_back(s);
  for (const std::string& e : expect) {
    bool found = false;
    for (Simd s : paths) found = found || e == gptkit::simd_name(s);
    if (!found) {
      std::fprintf(stderr, "simd_check: expected the %s path, but this CPU/build runs only portable%s\n", e.c_str(),
                   paths.empty() ? "" : " and others");
      return 1;
    }
  }
  if (paths.empty()) {
    std::fprintf(stderr, "simd_check: no SIMD path on this CPU/build: nothing to cross-check\n");
    return 1;
  }
  int failures = 0;
  for (Simd s : paths) {
    simd_check::Report r(gptkit::simd_name(s));
    // The dispatch must hand out this path's own kernels, not the portable fallback.
    r.truth("gemm dispatch", &gptkit::gemm::kernels_for(s) != &gptkit::gemm::kernels_for(Simd::Portable));
    r.truth("kernels dispatch", &gptkit::kern::table_for(s) != &gptkit::kern::table_for(Simd::Portable));
    r.truth("attention dispatch",
            gptkit::attn::kernels_for(s).backward_heads != gptkit::attn::kernels_for(Simd::Portable).backward_heads);
    r.truth("kv cache dispatch",
            gptkit::attn::kernels_for(s).decode_heads != gptkit::attn::kernels_for(Simd::Portable).decode_heads);
    simd_check::check_gemm(s, r);
    simd_check::check_dots_alignment(s, r);
    simd_check::check_gemm_bf16(s, r);
    simd_check::check_kernels(s, r);
    simd_check::check_attention(s, r);
    simd_check::check_kv_cache(s, r);
    simd_check::check_peak(s, r);
    simd_check::check_qlinear(s, r);
    std::printf("simd_check: %s vs portable: %d checks passed, %d failed\n", gptkit::simd_name(s), r.passed(),
                r.failures());
    failures += r.failures();
  }
  return failures == 0 ? 0 : 1;
}
