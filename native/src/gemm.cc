// The addon's `gemm`: argument checking, SIMD dispatch and the batch loop around the driver
// (gemm_driver.h). Arguments, positional (src/backend/native/gemm.ts builds them from GemmParams):
//   0 transA, 1 transB, 2 m, 3 n, 4 k, 5 alpha, 6 a, 7 aOffset, 8 lda, 9 b, 10 bOffset, 11 ldb,
//   12 beta (0|1), 13 c, 14 cOffset, 15 ldc, 16 bias (Float32Array | null), 17 batch,
//   18 strideA, 19 strideB, 20 strideC, 21 bf16 (bool: operands rounded to bfloat16, float32 sums;
//   vdpbf16ps where bf16_dot_enabled(), else the float32 kernels on rounded panels), 22 roundC (bool:
//   each batch's C rounded to bfloat16 once complete)
// Every buffer is checked against the largest element the call would touch before anything runs:
// a bad call is a RangeError naming the operand, the shapes and the buffer length, never a crash.
#include "common.h"
#include "gemm_bf16.h"
#include "gemm_paths.h"

namespace gptkit {
namespace {

using gemm::kernels_for;

struct Args {
  bool ta, tb;
  int64_t m, n, k;
  double alpha;
  float* a; size_t a_len; int64_t a_off, lda;
  float* b; size_t b_len; int64_t b_off, ldb;
  int64_t beta;
  float* c; size_t c_len; int64_t c_off, ldc;
  float* bias; size_t bias_len;
  int64_t batch, stride_a, stride_b, stride_c;
  bool bf16, round_c;
};

std::string shapes(const Args& g) {
  return "m=" + std::to_string(g.m) + " n=" + std::to_string(g.n) + " k=" + std::to_string(g.k) +
         " transA=" + (g.ta ? "true" : "false") + " transB=" + (g.tb ? "true" : "false") +
         " batch=" + std::to_string(g.batch);
}

// One operand stored as (rows, cols) with leading dimension ld at offset off, `batch` times `stride`
// apart. Throws unless every element lies inside a buffer of `len` floats.
void check_operand(const Napi::Env& env, const Args& g, const char* name, int64_t rows, int64_t cols, int64_t off,
                   int64_t ld, int64_t stride, size_t len) {
  const std::string where = std::string("gemm: ") + name;
  if (off < 0 || stride < 0) throw Napi::RangeError::New(env, where + ": offset and batch stride must be ≥ 0");
  if (ld < std::max<int64_t>(1, cols))
    throw Napi::RangeError::New(env, where + ": leading dimension " + std::to_string(ld) + " is less than its row width " +
                                         std::to_string(cols) + " (" + shapes(g) + ")");
  if (rows == 0 || cols == 0) return;
  const __int128 last = (__int128)off + (__int128)(g.batch - 1) * stride + (__int128)(rows - 1) * ld + cols;
  if (last > (__int128)len) {
    throw Napi::RangeError::New(env, where + " (" + std::to_string(rows) + "×" + std::to_string(cols) + ", ld " +
                                         std::to_string(ld) + ", offset " + std::to_string(off) + ", batch stride " +
                                         std::to_string(stride) + ") needs " + std::to_string((long long)last) +
                                         " elements but its buffer has " + std::to_string(len) + " (" + shapes(g) + ")");
  }
}

void check(const Napi::Env& env, const Args& g) {
  if (g.m < 0 || g.n < 0 || g.k < 0) throw Napi::RangeError::New(env, "gemm: m, n, k must be ≥ 0 (" + shapes(g) + ")");
  if (g.batch < 1) throw Napi::RangeError::New(env, "gemm: batch must be ≥ 1 (" + shapes(g) + ")");
  if (g.beta != 0 && g.beta != 1) throw Napi::RangeError::New(env, "gemm: beta must be 0 or 1, got " + std::to_string(g.beta));
  // A and B are not read when k = 0 (C = beta·C + bias), but their leading dimensions are still checked.
  const int64_t kk = g.m == 0 || g.n == 0 ? 0 : g.k;
  check_operand(env, g, "A", g.ta ? kk : g.m, g.ta ? g.m : kk, g.a_off, g.lda, g.stride_a, g.a_len);
  check_operand(env, g, "B", g.tb ? g.n : kk, g.tb ? kk : g.n, g.b_off, g.ldb, g.stride_b, g.b_len);
  check_operand(env, g, "C", g.m, g.n, g.c_off, g.ldc, g.stride_c, g.c_len);
  if (g.bias && g.bias_len < (size_t)g.n)
    throw Napi::RangeError::New(env, "gemm: bias needs n=" + std::to_string(g.n) + " elements but has " +
                                         std::to_string(g.bias_len) + " (" + shapes(g) + ")");
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 23) throw Napi::TypeError::New(env, "gemm: expected 23 arguments, got " + std::to_string(info.Length()));
  Args g;
  g.ta = bool_arg(info, 0);
  g.tb = bool_arg(info, 1);
  g.m = int_arg(info, 2);
  g.n = int_arg(info, 3);
  g.k = int_arg(info, 4);
  g.alpha = num_arg(info, 5);
  g.a = f32_arg(info, 6, "gemm", &g.a_len);
  g.a_off = int_arg(info, 7);
  g.lda = int_arg(info, 8);
  g.b = f32_arg(info, 9, "gemm", &g.b_len);
  g.b_off = int_arg(info, 10);
  g.ldb = int_arg(info, 11);
  g.beta = int_arg(info, 12);
  g.c = f32_arg(info, 13, "gemm", &g.c_len);
  g.c_off = int_arg(info, 14);
  g.ldc = int_arg(info, 15);
  g.bias = f32_arg_or_null(info, 16, "gemm", &g.bias_len);
  g.batch = int_arg(info, 17);
  g.stride_a = int_arg(info, 18);
  g.stride_b = int_arg(info, 19);
  g.stride_c = int_arg(info, 20);
  g.bf16 = bool_arg(info, 21);
  g.round_c = bool_arg(info, 22);
  check(env, g);
  if (g.batch == 1) g.stride_a = g.stride_b = g.stride_c = 0;

  const gemm::Kernels& K = kernels_for(simd_level());
  auto problem = [&](int64_t i) {
    gemm::Problem P;
    P.m = g.m; P.n = g.n; P.k = g.k;
    P.a = g.a + g.a_off + i * g.stride_a; P.lda = g.lda; P.ta = g.ta;
    P.b = g.b + g.b_off + i * g.stride_b; P.ldb = g.ldb; P.tb = g.tb;
    P.c = g.c + g.c_off + i * g.stride_c; P.rsc = g.ldc; P.csc = 1;
    P.alpha = (float)g.alpha;
    P.accumulate = g.beta == 1;
    P.bias = g.bias;
    P.bias_per_row = false;
    P.round_bf16 = g.bf16;
    P.round_c = g.round_c;
    return P;
  };
  const bool bf16_dot = g.bf16 && bf16_dot_enabled();  // never off x86-64
  auto one = [&](const gemm::Problem& P, int threads) {
#if defined(__x86_64__)
    if (bf16_dot) {
      gemm::gemm_one_bf16(P, threads);
      return;
    }
#else
    (void)bf16_dot;
#endif
    gemm::gemm_one(P, K, threads);
  };
  const int threads = num_threads();
  // Batches write disjoint blocks of C when strideC covers one C; then small batches run one per
  // thread (each single-threaded) if together they are worth waking a thread for. Otherwise (few
  // or large batches, or overlapping C, which must accumulate in batch order) they run in turn,
  // each split across threads by gemm_one when large enough.
  const int64_t c_extent = g.m == 0 ? 0 : (g.m - 1) * g.ldc + g.n;
  const bool disjoint = g.stride_c >= c_extent;
  const double macs_each = (double)g.m * g.n * g.k;
  if (threads > 1 && g.batch >= threads && disjoint && macs_each < 64e6 &&
      macs_each * g.batch >= gemm::kParallelMinMacs) {
    parallel_for(g.batch, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) one(problem(i), 1);
    });
  } else {
    for (int64_t i = 0; i < g.batch; i++) one(problem(i), threads);
  }
  return env.Undefined();
}

}  // namespace

void register_gemm(Napi::Env env, Napi::Object exports) { exports.Set("gemm", Napi::Function::New(env, Gemm)); }

}  // namespace gptkit
