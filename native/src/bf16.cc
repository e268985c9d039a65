// The addon's bf16 switch: whether bf16 GEMMs use the hardware (vdpbf16ps) or the emulated path.
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

}  // namespace

void register_bf16(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16Native", Napi::Function::New(env, Bf16Native));
  exports.Set("bf16Supported", Napi::Function::New(env, Bf16Supported));
}

}  // namespace gptkit
