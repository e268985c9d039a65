// The addon's `qlinear(format, M, N, K, x, w, bias, y)`: y (M, N) = x (M, K) · Wᵀ + bias with W in
// a narrow format (0: Q8_0, 1: BF16; see qlinear.h), the SIMD path in force. Every buffer is checked
// against what the call would touch before anything runs: a bad call is a RangeError, never a crash.
#include "common.h"
#include "qlinear.h"

namespace gptkit {
namespace {

Napi::Value QLinear(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int64_t fmt = int_arg(info, 0), M = int_arg(info, 1), N = int_arg(info, 2), K = int_arg(info, 3);
  if (fmt != 0 && fmt != 1) throw Napi::RangeError::New(env, "qlinear: format must be 0 (Q8_0) or 1 (BF16)");
  if (M < 0 || N < 0 || K < 1) throw Napi::RangeError::New(env, "qlinear: M, N must be ≥ 0 and K ≥ 1");
  const auto f = static_cast<qlin::Format>(fmt);
  if (f == qlin::Format::Q8_0 && K % 32 != 0) throw Napi::RangeError::New(env, "qlinear: Q8_0 needs K to be a multiple of 32, got " + std::to_string(K));
  size_t xl = 0, yl = 0, bl = 0;
  const float* x = f32_arg(info, 4, "qlinear", &xl);
  if (!info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "qlinear: w must be a Uint8Array");
  Napi::Uint8Array wa = info[5].As<Napi::Uint8Array>();
  const float* bias = f32_arg_or_null(info, 6, "qlinear", &bl);
  float* y = f32_arg(info, 7, "qlinear", &yl);
  const std::string dims = " (M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) + ")";
  if ((int64_t)xl < M * K) throw Napi::RangeError::New(env, "qlinear: x has " + std::to_string(xl) + " elements, needs " + std::to_string(M * K) + dims);
  if ((int64_t)wa.ElementLength() < N * qlin::row_bytes(f, K)) throw Napi::RangeError::New(env, "qlinear: w has " + std::to_string(wa.ElementLength()) + " bytes, needs " + std::to_string(N * qlin::row_bytes(f, K)) + dims);
  if (bias && (int64_t)bl < N) throw Napi::RangeError::New(env, "qlinear: bias has " + std::to_string(bl) + " elements, needs " + std::to_string(N) + dims);
  if ((int64_t)yl < M * N) throw Napi::RangeError::New(env, "qlinear: y has " + std::to_string(yl) + " elements, needs " + std::to_string(M * N) + dims);
  qlin::linear(simd_level(), f, M, N, K, x, wa.Data(), bias, y);
  return env.Undefined();
}

}  // namespace

void register_qlinear(Napi::Env env, Napi::Object exports) {
  exports.Set("qlinear", Napi::Function::New(env, QLinear));
}

}  // namespace gptkit
