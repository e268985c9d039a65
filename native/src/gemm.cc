// Placeholder until the gemm kernels land.
#include "common.h"
namespace gptkit {
void register_gemm(Napi::Env, Napi::Object) {}
}  // namespace gptkit
