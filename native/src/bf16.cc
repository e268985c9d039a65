// The addon's bf16 switch: whether bf16 GEMMs use the hardware (vdpbf16ps) or the emulated path.
#include "bf16.h"
#include "common.h"

namespace gptkit {
namespace {

// bf16Native() → whether bf16 GEMMs use vdpbf16ps now; bf16Native(false | true | 'auto') switches it
// off, on (only where the CPU has it, paying or not) or back to the default (where it pays), and
// returns the new state.
Napi::Value Bf16Native(const Napi::CallbackInfo& info) {
  if (info.Length() > 0) {
    if (info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "auto") set_bf16_dot_mode(Bf16DotMode::Auto);
    else set_bf16_dot_mode(bool_arg(info, 0) ? Bf16DotMode::On : Bf16DotMode::Off);
  }
  return Napi::Boolean::New(info.Env(), bf16_dot_enabled());
}

Napi::Value Bf16Supported(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cpu_has_bf16_dot()); }

// bf16DotSpeed() → { dotGflops, fmaGflops, pays }: the one-thread measurement behind the default.
Napi::Value Bf16DotSpeedInfo(const Napi::CallbackInfo& info) {
  const Bf16DotSpeed s = bf16_dot_speed();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("dotGflops", s.dot_gflops);
  o.Set("fmaGflops", s.fma_gflops);
  o.Set("pays", bf16_dot_pays());
  return o;
}

}  // namespace

void register_bf16(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16Native", Napi::Function::New(env, Bf16Native));
  exports.Set("bf16Supported", Napi::Function::New(env, Bf16Supported));
  exports.Set("bf16DotSpeed", Napi::Function::New(env, Bf16DotSpeedInfo));
}

}  // namespace gptkit
