// Shared by the N-API side of the addon: simd.h (SIMD level, thread pool) and helpers to read typed
// arrays out of N-API arguments.
#pragma once
#include <napi.h>
#include "simd.h"
#include <cstdint>
#include <cstddef>
#include <functional>
#include <string>

namespace gptkit {

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
void register_peak(Napi::Env env, Napi::Object exports);
void register_qlinear(Napi::Env env, Napi::Object exports);
void register_bf16(Napi::Env env, Napi::Object exports);

}  // namespace gptkit
