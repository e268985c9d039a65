// Placeholder until the attention kernels land.
#include "common.h"
namespace gptkit {
void register_attention(Napi::Env, Napi::Object) {}
}  // namespace gptkit
