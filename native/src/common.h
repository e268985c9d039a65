// Shared by every kernel file of the addon: the SIMD level in force, the thread pool, and helpers to
// read typed arrays out of N-API arguments.
#pragma once
#include <napi.h>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <string>

namespace gptkit {

// Code paths, best last. Kernels branch on simd_level() once per call, never per element.
enum class Simd : int { Portable = 0, Neon = 1, Avx2 = 2, Avx512 = 3 };

Simd simd_level();
bool cpu_supports(Simd s);
const char* simd_name(Simd s);

// Fixed partitioning: task i of n always runs the same work, so results do not depend on timing.
// fn(task, thread) is called once for every task in [0, n); tasks are split into contiguous
// ranges, one per thread. Calls from several JS threads are serialised.
void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);
int num_threads();

// Typed-array access. Throws a JS TypeError naming the argument if the type is wrong.
float* f32_arg(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len = nullptr);
float* f32_arg_or_null(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len = nullptr);
int32_t* i32_arg(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len = nullptr);
int32_t* i32_arg_or_null(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len = nullptr);
double num_arg(const Napi::CallbackInfo& info, size_t i);
int64_t int_arg(const Napi::CallbackInfo& info, size_t i);
bool bool_arg(const Napi::CallbackInfo& info, size_t i);

// Each kernel family registers its functions on the addon's exports.
void register_gemm(Napi::Env env, Napi::Object exports);
void register_attention(Napi::Env env, Napi::Object exports);
void register_kernels(Napi::Env env, Napi::Object exports);

}  // namespace gptkit
