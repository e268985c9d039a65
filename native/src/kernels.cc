// The pointwise/row kernels of the native backend (LayerNorm, GELU, softmax, cross-entropy,
// embedding, AdamW, vector arithmetic, dropout): argument checking, SIMD dispatch and threading.
//
// - kernels_body.h holds the math once; kernels_paths.cc compiles it once per SIMD path (AVX-512,
//   AVX2+FMA, NEON, portable C++), each with its own primitives (kernels_vec_*.h). simd_level()
//   picks one per call.
// - Every argument is checked before any memory is touched: a bad count or a short array throws a
//   RangeError that names the op, the argument, the length needed and the length found.
// - Work is split by rows, columns or element blocks over the thread pool with fixed contiguous
//   partitioning; every reduction runs in an order that does not depend on the split, so results
//   are the same bits for any thread count. Calls with little work run inline on the caller's
//   thread (decoding calls these one row at a time).
#include "common.h"
#include "kernels_table.h"
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace gptkit {
namespace {

const kern::Table& table() { return kern::table_for(simd_level()); }

// ---------------------------------------------------------------------------------------------
// Work splitting.

// Below this many elements of work a call runs inline: waking a worker costs a few microseconds.
constexpr int64_t kMinParallelWork = 1 << 15;
constexpr int64_t kElementBlock = 4096;  // elementwise work is split in blocks of this many floats
constexpr int64_t kColumnBlock = 64;     // column-range work: a multiple of every path's lane count
constexpr int64_t kSumBlock = 16384;     // sumSquares adds per-block partials in block order

template <class F>
void split(int64_t tasks, int64_t work, const F& fn) {
  if (tasks < 2 || work < kMinParallelWork || num_threads() == 1)
    fn(0, tasks);
  else
    parallel_for(tasks, fn);
}

template <class F>
void split_elements(int64_t n, const F& fn) {
  split((n + kElementBlock - 1) / kElementBlock, n,
        [&](int64_t b, int64_t e) { fn(b * kElementBlock, std::min(e * kElementBlock, n)); });
}

template <class F>
void split_columns(int64_t cols, int64_t work, const F& fn) {
  split((cols + kColumnBlock - 1) / kColumnBlock, work,
        [&](int64_t b, int64_t e) { fn(b * kColumnBlock, std::min(e * kColumnBlock, cols)); });
}

// ---------------------------------------------------------------------------------------------
// Argument checking. Decoding calls these kernels one row at a time, so the checks cost one N-API
// call per argument (napi_get_typedarray_info both type-checks and returns the data pointer) and
// build no strings unless a check fails.

constexpr int64_t kMaxCount = int64_t(1) << 48;  // far above any array; keeps products exact

// How many elements an array argument needs, and the sizes that say why (for the error message).
struct Need {
  int64_t count;
  const char* a;
  int64_t x;
  const char* b;
  int64_t y;
  std::string why() const {
    if (!b) return std::string(a) + " = " + std::to_string(x);
    return std::string(a) + "·" + b + " = " + std::to_string(x) + "·" + std::to_string(y);
  }
};
Need just(const char* a, int64_t x) { return {x, a, x, nullptr, 0}; }
// A product too large for any array (or for int64) needs more than any array has: the check fails.
Need product(const char* a, const char* b, int64_t x, int64_t y) {
  const bool huge = x != 0 && y > kMaxCount / x;
  return {huge ? INT64_MAX : x * y, a, x, b, y};
}

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op, size_t count) : info_(info), env_(info.Env()), op_(op) {
    if (info.Length() < count)
      fail("expected " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }

  [[noreturn]] void fail(const std::string& msg) const { throw Napi::RangeError::New(env_, std::string(op_) + ": " + msg); }

  double number(size_t i, const char* name) const {
    double v;
    if (napi_get_value_double(env_, info_[i], &v) != napi_ok) fail(std::string(name) + " must be a number");
    return v;
  }

  int64_t count(size_t i, const char* name) const {
    double v = number(i, name);
    if (!(v >= 0 && v <= (double)kMaxCount && v == std::floor(v)))
      fail(std::string(name) + " must be a non-negative integer, got " + num_str(v));
    return (int64_t)v;
  }

  // A gradient's beta: 1 accumulates into the output, 0 writes it without reading it.
  bool beta(size_t i) const {
    const double v = number(i, "beta");
    if (v != 0 && v != 1) fail("beta must be 0 or 1, got " + num_str(v));
    return v == 1;
  }

  float* f32(size_t i, const char* name, const Need& need) const {
    return static_cast<float*>(typed(i, name, napi_float32_array, need, false));
  }
  float* f32_or_null(size_t i, const char* name, const Need& need) const {
    return static_cast<float*>(typed(i, name, napi_float32_array, need, true));
  }
  int32_t* i32(size_t i, const char* name, const Need& need) const {
    return static_cast<int32_t*>(typed(i, name, napi_int32_array, need, false));
  }
  // The array's element count, for arguments whose needed length depends on their contents.
  float* f32_any(size_t i, const char* name, size_t* len) const {
    return static_cast<float*>(typed(i, name, napi_float32_array, just("", 0), false, len));
  }

  static std::string num_str(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string((int64_t)v);
    return std::to_string(v);
  }

 private:
  void* typed(size_t i, const char* name, napi_typedarray_type want, const Need& need, bool nullable,
              size_t* len_out = nullptr) const {
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    napi_value v = info_[i];
    if (napi_get_typedarray_info(env_, v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != want) {
      if (nullable && (info_[i].IsNull() || info_[i].IsUndefined())) return nullptr;
      throw Napi::TypeError::New(env_, std::string(op_) + ": " + name + " must be a " +
                                           (want == napi_float32_array ? "Float32Array" : "Int32Array") +
                                           (nullable ? " or null" : ""));
    }
    if ((int64_t)len < need.count)
      fail(std::string(name) + " has " + std::to_string(len) + " elements, needs " + std::to_string(need.count) + " (" +
           need.why() + ")");
    if (len_out) *len_out = len;
    return data;
  }

  const Napi::CallbackInfo& info_;
  napi_env env_;
  const char* op_;
};

// ---------------------------------------------------------------------------------------------
// LayerNorm.

Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Args a(info, "layerNormForward", 9);
  const int64_t rows = a.count(6, "rows"), cols = a.count(7, "cols");
  const Need rc = product("rows", "cols", rows, cols);
  const float* x = a.f32(0, "x", rc);
  const float* w = a.f32(1, "weight", just("cols", cols));
  const float* b = a.f32_or_null(2, "bias", just("cols", cols));
  float* out = a.f32(3, "out", rc);
  float* mean = a.f32(4, "mean", just("rows", rows));
  float* rstd = a.f32(5, "rstd", just("rows", rows));
  const float eps = (float)a.number(8, "eps");
  if (cols == 0 && rows > 0) a.fail("cols must be positive");
  const auto& k = table();
  split(rows, rows * cols, [&](int64_t r0, int64_t r1) { k.layernorm_fwd(x, w, b, out, mean, rstd, r0, r1, cols, eps); });
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "layerNormBackward", 11);
  const int64_t rows = a.count(8, "rows"), cols = a.count(9, "cols");
  const Need rc = product("rows", "cols", rows, cols);
  const float* dout = a.f32(0, "dout", rc);
  const float* x = a.f32(1, "x", rc);
  const float* w = a.f32(2, "weight", just("cols", cols));
  const float* mean = a.f32(3, "mean", just("rows", rows));
  const float* rstd = a.f32(4, "rstd", just("rows", rows));
  float* dx = a.f32(5, "dx", rc);
  float* dw = a.f32(6, "dweight", just("cols", cols));
  float* db = a.f32_or_null(7, "dbias", just("cols", cols));
  const bool acc = a.beta(10);
  const auto& k = table();
  split(rows, rows * cols, [&](int64_t r0, int64_t r1) { k.layernorm_bwd_dx(dout, x, w, mean, rstd, dx, r0, r1, cols, acc); });
  split_columns(cols, rows * cols,
                [&](int64_t c0, int64_t c1) { k.layernorm_bwd_dwdb(dout, x, mean, rstd, dw, db, rows, cols, c0, c1); });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// GELU.

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  Args a(info, "geluForward", 3);
  const int64_t n = a.count(2, "n");
  const float* x = a.f32(0, "x", just("n", n));
  float* out = a.f32(1, "out", just("n", n));
  const auto& k = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { k.gelu_fwd(x, out, i0, i1); });
  return info.Env().Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args a(info, "geluBackward", 5);
  const int64_t n = a.count(3, "n");
  const float* x = a.f32(0, "x", just("n", n));
  const float* dout = a.f32(1, "dout", just("n", n));
  float* dx = a.f32(2, "dx", just("n", n));
  const bool acc = a.beta(4);
  const auto& k = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { k.gelu_bwd(x, dout, dx, i0, i1, acc); });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// Softmax and cross-entropy.

Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxForward", 4);
  const int64_t rows = a.count(2, "rows"), cols = a.count(3, "cols");
  const Need rc = product("rows", "cols", rows, cols);
  const float* x = a.f32(0, "x", rc);
  float* out = a.f32(1, "out", rc);
  const auto& k = table();
  split(rows, rows * cols, [&](int64_t r0, int64_t r1) { k.softmax_fwd(x, out, r0, r1, cols); });
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxBackward", 5);
  const int64_t rows = a.count(3, "rows"), cols = a.count(4, "cols");
  const Need rc = product("rows", "cols", rows, cols);
  const float* out = a.f32(0, "out", rc);
  const float* dout = a.f32(1, "dout", rc);
  float* dx = a.f32(2, "dx", rc);
  const auto& k = table();
  split(rows, rows * cols, [&](int64_t r0, int64_t r1) { k.softmax_bwd(out, dout, dx, r0, r1, cols); });
  return info.Env().Undefined();
}

// The checks both cross-entropy directions share; targets are checked here too, so a bad target is
// an error rather than a read outside the row.
struct CrossEntropyArgs {
  int64_t rows, vocab;
  const float* logits;
  const int32_t* targets;
  int32_t ignore;
  float smoothing;
};

CrossEntropyArgs cross_entropy_args(const Args& a, size_t rows_at) {
  CrossEntropyArgs c;
  c.rows = a.count(rows_at, "rows");
  c.vocab = a.count(rows_at + 1, "vocab");
  c.logits = a.f32(0, "logits", product("rows", "vocab", c.rows, c.vocab));
  c.targets = a.i32(1, "targets", just("rows", c.rows));
  const double ignore = a.number(rows_at + 2, "ignoreIndex"), s = a.number(rows_at + 3, "smoothing");
  if (ignore != std::floor(ignore) || std::fabs(ignore) > 2147483647.0)
    a.fail("ignoreIndex must be a 32-bit integer, got " + Args::num_str(ignore));
  if (!(s >= 0 && s <= 1)) a.fail("smoothing must be in [0, 1], got " + std::to_string(s));
  c.ignore = (int32_t)ignore;
  c.smoothing = (float)s;
  for (int64_t r = 0; r < c.rows; r++) {
    const int32_t t = c.targets[r];
    if (t != c.ignore && (t < 0 || t >= c.vocab))
      a.fail("targets[" + std::to_string(r) + "] = " + std::to_string(t) + " is outside [0, " + std::to_string(c.vocab) +
             ") and is not the ignore index " + std::to_string(c.ignore));
  }
  return c;
}

Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyForward", 8);
  const CrossEntropyArgs c = cross_entropy_args(a, 4);
  float* losses = a.f32(2, "losses", just("rows", c.rows));
  float* lse = a.f32(3, "lse", just("rows", c.rows));
  const auto& k = table();
  split(c.rows, c.rows * c.vocab, [&](int64_t r0, int64_t r1) {
    k.ce_fwd(c.logits, c.targets, losses, lse, r0, r1, c.vocab, c.ignore, c.smoothing);
  });
  return info.Env().Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyBackward", 9);
  const CrossEntropyArgs c = cross_entropy_args(a, 5);
  const float* lse = a.f32(2, "lse", just("rows", c.rows));
  const float* dlosses = a.f32(3, "dlosses", just("rows", c.rows));
  float* dlogits = a.f32(4, "dlogits", product("rows", "vocab", c.rows, c.vocab));
  const auto& k = table();
  split(c.rows, c.rows * c.vocab, [&](int64_t r0, int64_t r1) {
    k.ce_bwd(c.logits, c.targets, lse, dlosses, dlogits, r0, r1, c.vocab, c.ignore, c.smoothing);
  });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// Embedding.

// Checks ids against the table's row count, so no id can address memory outside it.
const int32_t* embedding_ids(const Args& a, int64_t n, int64_t dim, size_t table_len, const char* table_name) {
  const int32_t* ids = a.i32(0, "ids", just("n", n));
  if (dim == 0 && n > 0) a.fail("dim must be positive, got 0");
  const int64_t vocab = dim > 0 ? (int64_t)table_len / dim : 0;
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= vocab)
      a.fail("ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is outside [0, " + std::to_string(vocab) +
             ") (" + table_name + " has " + std::to_string(table_len) + " elements, dim " + std::to_string(dim) + ")");
  return ids;
}

Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args a(info, "embeddingForward", 5);
  const int64_t n = a.count(3, "n"), dim = a.count(4, "dim");
  size_t table_len = 0;
  const float* tab = a.f32_any(1, "table", &table_len);
  const int32_t* ids = embedding_ids(a, n, dim, table_len, "table");
  float* out = a.f32(2, "out", product("n", "dim", n, dim));
  split(n, n * dim, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) std::memcpy(out + i * dim, tab + (int64_t)ids[i] * dim, dim * sizeof(float));
  });
  return info.Env().Undefined();
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a(info, "embeddingBackward", 5);
  const int64_t n = a.count(3, "n"), dim = a.count(4, "dim");
  size_t table_len = 0;
  float* dtable = a.f32_any(2, "dtable", &table_len);
  const int32_t* ids = embedding_ids(a, n, dim, table_len, "dtable");
  const float* dout = a.f32(1, "dout", product("n", "dim", n, dim));
  const auto& k = table();
  split_columns(dim, n * dim, [&](int64_t c0, int64_t c1) { k.embedding_bwd(ids, dout, dtable, n, dim, c0, c1); });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// AdamW and vector arithmetic.

Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args a(info, "adamw", 12);
  const int64_t n = a.count(4, "n");
  float* p = a.f32(0, "param", just("n", n));
  const float* g = a.f32(1, "grad", just("n", n));
  float* m = a.f32(2, "m", just("n", n));
  float* v = a.f32(3, "v", just("n", n));
  const double lr = a.number(5, "lr"), beta1 = a.number(6, "beta1"), beta2 = a.number(7, "beta2"),
               eps = a.number(8, "eps"), wd = a.number(9, "weightDecay"), gscale = a.number(11, "gradScale");
  const int64_t step = a.count(10, "step");
  if (step < 1) a.fail("step must be an integer ≥ 1, got 0");
  kern::AdamConsts k;
  k.decay = (float)(1.0 - lr * wd);
  k.beta1 = (float)beta1;
  k.one_minus_beta1 = (float)(1.0 - beta1);
  k.beta2 = (float)beta2;
  k.one_minus_beta2 = (float)(1.0 - beta2);
  k.step_size = (float)(lr / (1.0 - std::pow(beta1, (double)step)));
  k.rsqrt_bc2 = (float)(1.0 / std::sqrt(1.0 - std::pow(beta2, (double)step)));
  k.eps = (float)eps;
  k.grad_scale = (float)gscale;
  const auto& t = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { t.adamw(p, g, m, v, i0, i1, k); });
  return info.Env().Undefined();
}

// out = a ∘ b for add and mul (out may alias a or b).
template <bool kMul>
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args a(info, kMul ? "mul" : "add", 4);
  const int64_t n = a.count(3, "n");
  const float* x = a.f32(0, "a", just("n", n));
  const float* y = a.f32(1, "b", just("n", n));
  float* out = a.f32(2, "out", just("n", n));
  const auto& k = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { (kMul ? k.mul : k.add)(x, y, out, i0, i1); });
  return info.Env().Undefined();
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Args a(info, "axpy", 4);
  const int64_t n = a.count(3, "n");
  const float alpha = (float)a.number(0, "alpha");
  const float* x = a.f32(1, "x", just("n", n));
  float* y = a.f32(2, "y", just("n", n));
  const auto& k = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { k.axpy(alpha, x, y, i0, i1); });
  return info.Env().Undefined();
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  Args a(info, "scale", 4);
  const int64_t n = a.count(3, "n");
  const float* x = a.f32(0, "x", just("n", n));
  const float alpha = (float)a.number(1, "alpha");
  float* out = a.f32(2, "out", just("n", n));
  const auto& k = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { k.scale(x, alpha, out, i0, i1); });
  return info.Env().Undefined();
}

// Fixed blocks whose partials are added in block order: the same bits for any thread count.
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info, "sumSquares", 2);
  const int64_t n = a.count(1, "n");
  const float* x = a.f32(0, "x", just("n", n));
  const auto& k = table();
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  double total = 0;
  if (blocks <= 1) {
    total = k.sum_squares(x, 0, n);
  } else {
    std::vector<double> partial(blocks);
    split(blocks, n, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; b++) partial[b] = k.sum_squares(x, b * kSumBlock, std::min((b + 1) * kSumBlock, n));
    });
    for (double s : partial) total += s;
  }
  return Napi::Number::New(info.Env(), total);
}

Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Args a(info, "sumRows", 4);
  const int64_t rows = a.count(2, "rows"), cols = a.count(3, "cols");
  const float* x = a.f32(0, "x", product("rows", "cols", rows, cols));
  float* out = a.f32(1, "out", just("cols", cols));
  const auto& k = table();
  split_columns(cols, rows * cols, [&](int64_t c0, int64_t c1) { k.sum_rows(x, out, rows, cols, c0, c1); });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// Dropout.

kern::DropoutConsts dropout_consts(const Args& a, size_t p_at) {
  const double p = a.number(p_at, "p"), seed = a.number(p_at + 1, "seed");
  if (!(p >= 0 && p < 1)) a.fail("p must be in [0, 1), got " + std::to_string(p));
  if (!(seed >= 0 && seed < 4294967296.0 && seed == std::floor(seed)))
    a.fail("seed must be a uint32, got " + Args::num_str(seed));
  kern::DropoutConsts k;
  k.seed = (uint32_t)seed;
  k.threshold = (int32_t)std::floor(p * 16777216.0);
  k.scale = (float)(1.0 / (1.0 - p));
  return k;
}

Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  Args a(info, "dropoutForward", 5);
  const int64_t n = a.count(2, "n");
  const float* x = a.f32(0, "x", just("n", n));
  float* out = a.f32(1, "out", just("n", n));
  const kern::DropoutConsts d = dropout_consts(a, 3);
  const auto& k = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { k.dropout_fwd(x, out, i0, i1, d); });
  return info.Env().Undefined();
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  Args a(info, "dropoutBackward", 6);
  const int64_t n = a.count(2, "n");
  const float* dout = a.f32(0, "dout", just("n", n));
  float* dx = a.f32(1, "dx", just("n", n));
  const kern::DropoutConsts d = dropout_consts(a, 3);
  const bool acc = a.beta(5);
  const auto& k = table();
  split_elements(n, [&](int64_t i0, int64_t i1) { k.dropout_bwd(dout, dx, i0, i1, d, acc); });
  return info.Env().Undefined();
}

}  // namespace

void register_kernels(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Value (*)(const Napi::CallbackInfo&)> fns[] = {
      {"layerNormForward", LayerNormForward},
      {"layerNormBackward", LayerNormBackward},
      {"geluForward", GeluForward},
      {"geluBackward", GeluBackward},
      {"softmaxForward", SoftmaxForward},
      {"softmaxBackward", SoftmaxBackward},
      {"crossEntropyForward", CrossEntropyForward},
      {"crossEntropyBackward", CrossEntropyBackward},
      {"embeddingForward", EmbeddingForward},
      {"embeddingBackward", EmbeddingBackward},
      {"adamw", AdamW},
      {"add", Binary<false>},
      {"mul", Binary<true>},
      {"axpy", Axpy},
      {"scale", Scale},
      {"sumSquares", SumSquares},
      {"sumRows", SumRows},
      {"dropoutForward", DropoutForward},
      {"dropoutBackward", DropoutBackward},
  };
  for (const auto& f : fns) exports.Set(f.first, Napi::Function::New(env, f.second, f.first));
}

}  // namespace gptkit
