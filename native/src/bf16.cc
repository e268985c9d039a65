// The addon's bf16 functions: the switch between the hardware and the emulated bf16 GEMM, and
// rounding a buffer to bf16 in place (the outputs of GEMMs under bf16 autocast).
#include "bf16.h"
#include "common.h"

namespace gptkit {
namespace {

// bf16Native() → whether bf16 GEMMs use vdpbf16ps now; bf16Native(false | true) switches it off or
// back on (on only where the CPU has it) and returns the new state.
Napi::Value Bf16Native(const Napi::CallbackInfo& info) {
  if (info.Length() > 0) set_bf16_dot_allowed(bool_arg(info, 0));
  return Napi::Boolean::New(info.Env(), bf16_dot_enabled());
}

Napi::Value Bf16Supported(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cpu_has_bf16_dot()); }

// roundBf16(x, offset, n): x[offset .. offset + n) rounded to the nearest bf16 in place.
Napi::Value RoundBf16(const Napi::CallbackInfo& info) {
  size_t len = 0;
  float* x = f32_arg(info, 0, "roundBf16", &len);
  const int64_t off = int_arg(info, 1), n = int_arg(info, 2);
  if (off < 0 || n < 0 || (uint64_t)(off + n) > len)
    throw Napi::RangeError::New(info.Env(), "roundBf16: range [" + std::to_string(off) + ", " + std::to_string(off + n) +
                                                ") is outside the buffer of " + std::to_string(len) + " floats");
  float* p = x + off;
  if (n < (1 << 16)) {
    round_bf16_inplace(p, n);
  } else {
    parallel_for(n, [&](int64_t b, int64_t e) { round_bf16_inplace(p + b, e - b); });
  }
  return info.Env().Undefined();
}

}  // namespace

void register_bf16(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16Native", Napi::Function::New(env, Bf16Native));
  exports.Set("bf16Supported", Napi::Function::New(env, Bf16Supported));
  exports.Set("roundBf16", Napi::Function::New(env, RoundBf16));
}

}  // namespace gptkit
