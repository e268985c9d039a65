// Fused scaled-dot-product attention (the contract is AttentionParams in src/backend/backend.ts):
// argument checking, SIMD dispatch and threading. The kernels live in attention_impl.h, compiled
// once per SIMD level in attention_paths.cc (AVX-512, AVX2, NEON, portable).
//
// Addon functions (positional; src/backend/native/attention.ts builds the lists):
//   attentionForward(batch, heads, tq, tk, headDim,
//                    q, qOffset, qStrideB, qStrideT, k, kOffset, kStrideB, kStrideT,
//                    v, vOffset, vStrideB, vStrideT, scale, causal, window, keyStart, keyEnd,
//                    dropout, seed, out, lse)
//   attentionBackward(… the same 26 …, dout, dq, dk, dv, betaQ, betaK, betaV)   (beta: 1 adds, 0 writes)
//   attentionDecode(batch, heads, headDim, capacity, qkv, k, v, lengths, window, scale, out)
//   kvStore(batch, tokens, heads, headDim, capacity, src, srcOffset, srcStrideB, srcStrideT, cache, firstSlot, start)
//     (k, v, cache: Float32Array, or Uint16Array of f16 bits; src/kv-cache.ts in backend/ts is the reference)
// Every array length is checked against the shapes before any kernel runs: a bad call throws a
// RangeError naming the op, the array and the shapes; it never reads or writes out of bounds.
#include "common.h"
#include "attention_args.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace gptkit {
namespace {

using attn::Args;

struct Checker {
  const Napi::CallbackInfo& info;
  const char* op;
  std::string shapes;

  [[noreturn]] void fail(const std::string& msg) const {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + msg);
  }

  int64_t count(size_t i, const char* name) const {
    if (!info[i].IsNumber()) fail(std::string(name) + " must be a number");
    double x = info[i].As<Napi::Number>().DoubleValue();
    if (!(x >= 1 && x <= 2147483647.0) || x != std::floor(x))
      fail(std::string(name) + " must be an integer in [1, 2^31), got " + std::to_string(x));
    return (int64_t)x;
  }

  int64_t nonneg(size_t i, const char* name) const {
    if (!info[i].IsNumber()) fail(std::string(name) + " must be a number");
    double x = info[i].As<Napi::Number>().DoubleValue();
    if (!(x >= 0 && x <= 9007199254740991.0) || x != std::floor(x))
      fail(std::string(name) + " must be a non-negative integer, got " + std::to_string(x));
    return (int64_t)x;
  }

  static std::string count_text(long double n) {
    return n < 9.2e18L ? std::to_string((long long)n) : std::string("more than 2^63");
  }

  // A strided (B, T, H·D) operand: returns its pointer moved to the offset, after checking that
  // the last element read, offset + (B−1)·strideB + (T−1)·strideT + H·D − 1, is inside the array.
  const float* strided(size_t i, const char* name, int64_t B, int64_t T, int64_t HD, int64_t* sb, int64_t* st,
                       float** mut = nullptr, size_t mut_index = 0, const char* mut_name = nullptr) const {
    int64_t off = nonneg(i + 1, "offset");
    *sb = nonneg(i + 2, "strideB");
    *st = nonneg(i + 3, "strideT");
    // Operands ≤ 2^31 and strides ≤ 2^53: the sum is computed in long double to rule out overflow.
    long double last = (long double)off + (long double)(B - 1) * *sb + (long double)(T - 1) * *st + HD;
    auto check = [&](size_t idx, const char* what) -> float* {
      size_t len = 0;
      float* p = f32_arg(info, idx, op, &len);
      if (last > (long double)len)
        fail(std::string(what) + " needs " + count_text(last) + " elements (" + shapes + ", offset=" +
             std::to_string(off) + ", strideB=" + std::to_string(*sb) + ", strideT=" + std::to_string(*st) +
             ") but has " + std::to_string(len));
      return p + off;
    };
    const float* p = check(i, name);
    if (mut) *mut = check(mut_index, mut_name);
    return p;
  }

  float* dense(size_t i, const char* name, int64_t need) const {
    size_t len = 0;
    float* p = f32_arg(info, i, op, &len);
    if ((int64_t)len < need)
      fail(std::string(name) + " needs " + std::to_string(need) + " elements (" + shapes + ") but has " +
           std::to_string(len));
    return p;
  }

  const int32_t* bounds(size_t i, const char* name, int64_t B) const {
    size_t len = 0;
    const int32_t* p = i32_arg_or_null(info, i, op, &len);
    if (p && (int64_t)len < B)
      fail(std::string(name) + " needs one entry per batch row (" + std::to_string(B) + ") but has " +
           std::to_string(len));
    return p;
  }
};

Args parse(const Napi::CallbackInfo& info, const char* op, bool backward) {
  const size_t want = backward ? 33 : 26;
  if (info.Length() < want)
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected " + std::to_string(want) +
                                               " arguments, got " + std::to_string(info.Length()));
  Checker c{info, op, ""};
  Args a{};
  a.B = c.count(0, "batch");
  a.H = c.count(1, "heads");
  a.tq = c.count(2, "tq");
  a.tk = c.count(3, "tk");
  a.D = c.count(4, "headDim");
  c.shapes = "batch=" + std::to_string(a.B) + ", heads=" + std::to_string(a.H) + ", tq=" + std::to_string(a.tq) +
             ", tk=" + std::to_string(a.tk) + ", headDim=" + std::to_string(a.D);
  const int64_t HD = a.H * a.D;
  float *dq = nullptr, *dk = nullptr, *dv = nullptr;
  a.q = c.strided(5, "q", a.B, a.tq, HD, &a.qsb, &a.qst, backward ? &dq : nullptr, 27, "dq");
  a.k = c.strided(9, "k", a.B, a.tk, HD, &a.ksb, &a.kst, backward ? &dk : nullptr, 28, "dk");
  a.v = c.strided(13, "v", a.B, a.tk, HD, &a.vsb, &a.vst, backward ? &dv : nullptr, 29, "dv");
  a.scale = (float)num_arg(info, 17);
  if (!std::isfinite(a.scale)) c.fail("scale must be finite");
  a.causal = bool_arg(info, 18);
  a.window = c.nonneg(19, "window");
  if (a.window > 0 && !a.causal) c.fail("window > 0 needs causal=true");
  a.key_start = c.bounds(20, "keyStart", a.B);
  a.key_end = c.bounds(21, "keyEnd", a.B);
  double p = num_arg(info, 22);
  if (!(p >= 0 && p < 1)) c.fail("dropout must be in [0, 1), got " + std::to_string(p));
  a.dropout = (float)p;
  a.keep_scale = (float)(1.0 / (1.0 - p));
  a.threshold = (uint32_t)std::floor(p * 16777216.0);
  double seed = num_arg(info, 23);
  if (!(seed >= 0 && seed <= 4294967295.0) || seed != std::floor(seed)) c.fail("seed must be a uint32");
  a.seed = (uint32_t)seed;
  a.out = c.dense(24, "out (B, Tq, H·headDim)", a.B * a.tq * HD);
  a.lse = c.dense(25, "lse (B, H, Tq)", a.B * a.H * a.tq);
  if (backward) {
    a.dout = c.dense(26, "dout (B, Tq, H·headDim)", a.B * a.tq * HD);
    // dq/dk/dv were checked with the offsets and strides of q/k/v above; move them to the offsets.
    a.dq = dq;
    a.dk = dk;
    a.dv = dv;
    bool* acc[3] = {&a.acc_q, &a.acc_k, &a.acc_v};
    const char* names[3] = {"betaQ", "betaK", "betaV"};
    for (int g = 0; g < 3; g++) {
      const double beta = num_arg(info, 30 + g);
      if (beta != 0 && beta != 1) c.fail(std::string(names[g]) + " must be 0 or 1, got " + std::to_string(beta));
      *acc[g] = beta == 1;
    }
  }
  return a;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const Args a = parse(info, "attentionForward", false);
  const attn::Kernels k = attn::kernels_for(simd_level());
  if (a.tq <= attn::kRowPathMaxTq) {
    parallel_for(a.B * a.H * a.tq, [&](int64_t b, int64_t e) { k.forward_rows(a, b, e); });
  } else {
    const int64_t nqb = (a.tq + attn::kBlockQ - 1) / attn::kBlockQ;
    parallel_for(a.B * a.H * nqb, [&](int64_t b, int64_t e) { k.forward_blocks(a, b, e); });
  }
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const Args a = parse(info, "attentionBackward", true);
  const attn::Kernels k = attn::kernels_for(simd_level());
  parallel_for(a.B * a.H, [&](int64_t b, int64_t e) { k.backward_heads(a, b, e); });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// KV-cache decoding over a head-major (slots, H, capacity, D) cache of float32 or f16.

// A cache operand: its data, whether it holds f16 bits, and its length in elements.
struct CacheArg {
  void* data;
  bool f16;
  size_t len;
};

CacheArg cache_arg(const Checker& c, size_t i, const char* name) {
  const Napi::Value v = c.info[i];
  if (!v.IsTypedArray()) c.fail(std::string(name) + " must be a Float32Array or a Uint16Array (f16)");
  const Napi::TypedArray t = v.As<Napi::TypedArray>();
  const napi_typedarray_type ty = t.TypedArrayType();
  if (ty != napi_float32_array && ty != napi_uint16_array) c.fail(std::string(name) + " must be a Float32Array or a Uint16Array (f16)");
  uint8_t* base = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  return {base, ty == napi_uint16_array, t.ElementLength()};
}

void check_cache(const Checker& c, const CacheArg& a, const char* name, int64_t slots, int64_t H, int64_t cap, int64_t D) {
  const long double need = (long double)slots * H * cap * D;
  if (need > (long double)a.len)
    c.fail(std::string(name) + " needs " + Checker::count_text(need) + " elements (" + c.shapes + ") but has " +
           std::to_string(a.len));
}

Napi::Value AttentionDecode(const Napi::CallbackInfo& info) {
  const char* op = "attentionDecode";
  if (info.Length() < 11)
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected 11 arguments, got " + std::to_string(info.Length()));
  Checker c{info, op, ""};
  attn::DecodeArgs a{};
  a.B = c.count(0, "batch");
  a.H = c.count(1, "heads");
  a.D = c.count(2, "headDim");
  a.cap = c.count(3, "capacity");
  c.shapes = "batch=" + std::to_string(a.B) + ", heads=" + std::to_string(a.H) + ", headDim=" + std::to_string(a.D) +
             ", capacity=" + std::to_string(a.cap);
  a.qkv = c.dense(4, "qkv (B, 3·H·headDim)", a.B * 3 * a.H * a.D);
  const CacheArg k = cache_arg(c, 5, "k"), v = cache_arg(c, 6, "v");
  if (k.f16 != v.f16) c.fail("k and v must hold the same type (both Float32Array or both Uint16Array)");
  check_cache(c, k, "k (slots, H, capacity, headDim)", a.B, a.H, a.cap, a.D);
  check_cache(c, v, "v (slots, H, capacity, headDim)", a.B, a.H, a.cap, a.D);
  a.k = k.data;
  a.v = v.data;
  a.f16 = k.f16;
  a.lengths = c.bounds(7, "lengths", a.B);
  if (!a.lengths) c.fail("lengths must be an Int32Array");
  for (int64_t b = 0; b < a.B; b++)
    if (a.lengths[b] < 0 || a.lengths[b] >= a.cap)
      c.fail("lengths[" + std::to_string(b) + "] = " + std::to_string(a.lengths[b]) + " leaves no room for the new position (" +
             c.shapes + ")");
  a.window = c.nonneg(8, "window");
  a.scale = (float)num_arg(info, 9);
  a.out = c.dense(10, "out (B, H·headDim)", a.B * a.H * a.D);
  const attn::Kernels kern = attn::kernels_for(simd_level());
  parallel_for(a.B * a.H, [&](int64_t b, int64_t e) { kern.decode_heads(a, b, e); });
  return info.Env().Undefined();
}

Napi::Value KvStore(const Napi::CallbackInfo& info) {
  const char* op = "kvStore";
  if (info.Length() < 12)
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected 12 arguments, got " + std::to_string(info.Length()));
  Checker c{info, op, ""};
  attn::StoreArgs a{};
  a.B = c.count(0, "batch");
  a.T = c.count(1, "tokens");
  a.H = c.count(2, "heads");
  a.D = c.count(3, "headDim");
  a.cap = c.count(4, "capacity");
  c.shapes = "batch=" + std::to_string(a.B) + ", tokens=" + std::to_string(a.T) + ", heads=" + std::to_string(a.H) +
             ", headDim=" + std::to_string(a.D) + ", capacity=" + std::to_string(a.cap);
  a.src = c.strided(5, "src", a.B, a.T, a.H * a.D, &a.sb, &a.st);
  const CacheArg cache = cache_arg(c, 9, "cache");
  a.slot0 = c.nonneg(10, "firstSlot");
  check_cache(c, cache, "cache (slots, H, capacity, headDim)", a.slot0 + a.B, a.H, a.cap, a.D);
  a.cache = cache.data;
  a.f16 = cache.f16;
  a.start = c.bounds(11, "start", a.B);
  if (!a.start) c.fail("start must be an Int32Array");
  for (int64_t b = 0; b < a.B; b++)
    if (a.start[b] < 0 || a.start[b] + a.T > a.cap)
      c.fail("start[" + std::to_string(b) + "] = " + std::to_string(a.start[b]) + ": positions [start, start + tokens) must fit the capacity (" +
             c.shapes + ")");
  const attn::Kernels kern = attn::kernels_for(simd_level());
  parallel_for(a.B * a.T, [&](int64_t b, int64_t e) { kern.store_kv(a, b, e); });
  return info.Env().Undefined();
}

}  // namespace

void register_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("attentionDecode", Napi::Function::New(env, AttentionDecode));
  exports.Set("kvStore", Napi::Function::New(env, KvStore));
}

}  // namespace gptkit
