// The addon's fmaPeak(iterations[, mul, add]) → { flops, checksum, lanes, threads, simd }: the FMA
// loop of peak.h with the SIMD path in force, once on every pool thread; flops and checksum summed
// over the threads. The caller times the call (bench/harness.ts: peakGflops).
#include "common.h"
#include "peak.h"
#include <vector>

namespace gptkit {
namespace {

Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  const int64_t iters = int_arg(info, 0);
  if (iters < 1 || iters > (int64_t)1 << 40) throw Napi::RangeError::New(info.Env(), "fmaPeak: iterations must be in 1 … 2^40");
  // The multiplier and addend come from JS so the compiler cannot fold the loop away.
  const float mul = info.Length() > 1 ? (float)num_arg(info, 1) : 0.5f;
  const float add = info.Length() > 2 ? (float)num_arg(info, 2) : 1.0f;
  const Simd s = simd_level();
  const int n = num_threads();
  std::vector<FmaPeakResult> per(n);
  parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; t++) per[t] = fma_peak(s, iters, mul, add);
  });
  double flops = 0, checksum = 0;
  for (const FmaPeakResult& r : per) flops += r.flops, checksum += r.checksum;
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("flops", flops);
  out.Set("checksum", checksum);
  out.Set("lanes", per[0].lanes);
  out.Set("threads", n);
  out.Set("simd", simd_name(s));
  return out;
}

}  // namespace

void register_peak(Napi::Env env, Napi::Object exports) {
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
}

}  // namespace gptkit
