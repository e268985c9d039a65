// The pointwise/row kernels of one SIMD path, as a table of plain functions (kernels_paths.cc builds
// one per path; table_for returns it). kernels.cc picks the table for simd_level() once per call,
// validates the arguments and splits the work across the thread pool; each table function computes
// one contiguous range of rows, columns or elements ([begin, end)) and never allocates, throws or
// touches the pool.
#pragma once
#include "simd.h"
#include <cstdint>

namespace gptkit {
namespace kern {

struct AdamConsts {
  float decay;       // 1 − lr·weightDecay
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float step_size;   // lr / (1 − β1^step)
  float rsqrt_bc2;   // 1 / √(1 − β2^step)
  float eps;
  float grad_scale;
};

struct DropoutConsts {
  uint32_t seed;
  int32_t threshold;  // keep iff hash >> 8 ≥ threshold
  float scale;        // 1 / (1 − p), rounded to float
};

struct Table {
  // Rows [r0, r1) of (rows, cols) matrices.
  void (*layernorm_fwd)(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd,
                        int64_t r0, int64_t r1, int64_t cols, float eps);
  void (*layernorm_bwd_dx)(const float* dout, const float* x, const float* w, const float* mean,
                           const float* rstd, float* dx, int64_t r0, int64_t r1, int64_t cols, bool acc);
  void (*softmax_fwd)(const float* x, float* out, int64_t r0, int64_t r1, int64_t cols);
  void (*softmax_bwd)(const float* out, const float* dout, float* dx, int64_t r0, int64_t r1, int64_t cols);
  void (*ce_fwd)(const float* logits, const int32_t* targets, float* losses, float* lse, int64_t r0, int64_t r1,
                 int64_t vocab, int32_t ignore, float smoothing);
  void (*ce_bwd)(const float* logits, const int32_t* targets, const float* lse, const float* dlosses,
                 float* dlogits, int64_t r0, int64_t r1, int64_t vocab, int32_t ignore, float smoothing);

  // Columns [c0, c1), walking every row in order (reductions over rows stay deterministic).
  void (*layernorm_bwd_dwdb)(const float* dout, const float* x, const float* mean, const float* rstd, float* dw,
                             float* db, int64_t rows, int64_t cols, int64_t c0, int64_t c1);
  void (*sum_rows)(const float* x, float* out, int64_t rows, int64_t cols, int64_t c0, int64_t c1);
  void (*embedding_bwd)(const int32_t* ids, const float* dout, float* dtable, int64_t n, int64_t dim, int64_t c0,
                        int64_t c1);

  // Elements [i0, i1).
  void (*gelu_fwd)(const float* x, float* out, int64_t i0, int64_t i1);
  void (*gelu_bwd)(const float* x, const float* dout, float* dx, int64_t i0, int64_t i1, bool acc);
  void (*adamw)(float* p, const float* g, float* m, float* v, int64_t i0, int64_t i1, const AdamConsts& k);
  void (*add)(const float* a, const float* b, float* out, int64_t i0, int64_t i1);
  void (*mul)(const float* a, const float* b, float* out, int64_t i0, int64_t i1);
  void (*axpy)(float alpha, const float* x, float* y, int64_t i0, int64_t i1);
  void (*scale)(const float* x, float alpha, float* out, int64_t i0, int64_t i1);
  double (*sum_squares)(const float* x, int64_t i0, int64_t i1);
  void (*dropout_fwd)(const float* x, float* out, int64_t i0, int64_t i1, const DropoutConsts& k);
  void (*dropout_bwd)(const float* dout, float* dx, int64_t i0, int64_t i1, const DropoutConsts& k, bool acc);
};

// The table of a SIMD path; a path this build does not compile (another ISA's) gets the portable one.
const Table& table_for(Simd s);

}  // namespace kern
}  // namespace gptkit
