// The SIMD level, the thread pool's interface and the per-path kernel tables, free of N-API: the
// math (gemm_driver.h, kernels_paths.cc, attention_paths.cc) depends on this header only, so a
// standalone program (native/test/simd_check.cc) can run every path without Node.
#pragma once
#include <cstdint>
#include <functional>

namespace gptkit {

// Code paths, best last. Kernels branch on simd_level() once per call, never per element.
enum class Simd : int { Portable = 0, Neon = 1, Avx2 = 2, Avx512 = 3 };

// The level in force (addon.cc: the best the CPU has, lowered by GPTKIT_SIMD or setSimd).
Simd simd_level();
// Whether this CPU can run a path, and its name (simd.cc).
bool cpu_supports(Simd s);
const char* simd_name(Simd s);

// Fixed partitioning: task i of n always runs the same work, so results do not depend on timing.
// fn(begin, end) is called on contiguous ranges covering [0, n), one per thread. Calls from several
// JS threads are serialised.
void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);
int num_threads();

}  // namespace gptkit
