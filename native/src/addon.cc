// The addon's entry: the SIMD level in force and its override, the thread pool, argument helpers
// (CPU feature detection is in simd.cc).
// Context-aware (NODE_API_MODULE): worker threads may load it; only the thread pool is shared.
#include "common.h"
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#include <cstdlib>

namespace gptkit {

// ---------------------------------------------------------------------------------------------
// SIMD level: detected once; GPTKIT_SIMD (or setSimd) may lower it for tests.

static Simd best_simd() {
  for (Simd s : {Simd::Avx512, Simd::Avx2, Simd::Neon})
    if (cpu_supports(s)) return s;
  return Simd::Portable;
}

static std::atomic<int> g_simd{-1};

Simd simd_level() {
  int v = g_simd.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(best_simd());
    g_simd.store(v);
  }
  return static_cast<Simd>(v);
}

// ---------------------------------------------------------------------------------------------
// Thread pool: persistent workers. A job is cut into one contiguous range per thread, always the
// same ranges for a given thread count (so results are the same bits run after run), but any
// thread may run any range: each claims the next unclaimed one. A worker the OS has descheduled
// (two vCPUs shared with other processes) then costs nothing, because the caller runs its range.
// Workers spin briefly after a job before sleeping: decoding issues small jobs back to back, and
// waking a sleeping thread costs 50–200 µs on a VM.

namespace {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

struct Pool {
  static constexpr int kSpin = 2000;  // pause iterations (tens of µs) before a worker sleeps

  std::vector<std::thread> workers;
  std::mutex m;
  std::condition_variable cv_start;
  std::atomic<const std::function<void(int64_t, int64_t)>*> job{nullptr};
  std::atomic<int64_t> n{0};
  int nthreads = 1;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> next{0};       // next range to claim
  std::atomic<int> finished{0};   // ranges done
  std::atomic<int> active{0};     // workers inside the current job (the caller waits for 0 to return)
  std::atomic<int> sleepers{0};
  std::atomic<bool> quit{false};
  std::mutex call_mutex;  // one parallel_for at a time (several JS threads may call)

  void range(int t, int64_t* b, int64_t* e) const {
    const int64_t count = n.load(std::memory_order_relaxed);
    int64_t per = count / nthreads, rem = count % nthreads;
    *b = t * per + (t < rem ? t : rem);
    *e = *b + per + (t < rem ? 1 : 0);
  }

  // Claim and run ranges until none is left.
  void drain(const std::function<void(int64_t, int64_t)>& fn) {
    for (int c; (c = next.fetch_add(1)) < nthreads;) {
      int64_t b, e;
      range(c, &b, &e);
      if (b < e) fn(b, e);
      finished.fetch_add(1);
    }
  }

  // `seen` starts at the generation current when the worker was made, so a worker added by
  // resize() after earlier jobs does not mistake the last finished job for a new one.
  void worker(uint64_t seen) {
    for (;;) {
      uint64_t g;
      int spins = 0;
      while ((g = generation.load()) == seen && !quit.load()) {
        if (++spins < kSpin) {
          cpu_relax();
          continue;
        }
        // Sleep. The caller bumps `generation` and then looks at `sleepers` (both seq_cst), and
        // notifies under the mutex, so a job posted while we decide to sleep is never missed.
        std::unique_lock<std::mutex> lk(m);
        sleepers++;
        cv_start.wait(lk, [&] { return quit.load() || generation.load() != seen; });
        sleepers--;
        spins = 0;
      }
      if (quit.load()) return;
      seen = g;
      active.fetch_add(1);
      auto* f = job.load();
      // The job may already be over (the caller ran every range): then there is nothing to claim.
      if (f && generation.load() == g) drain(*f);
      active.fetch_sub(1);
    }
  }

  void resize(int threads) {
    std::lock_guard<std::mutex> call(call_mutex);
    stop();
    nthreads = threads < 1 ? 1 : threads;
    quit.store(false);
    for (int t = 1; t < nthreads; t++) workers.emplace_back([this, g = generation.load()] { worker(g); });
  }

  void stop() {
    quit.store(true);
    {
      std::lock_guard<std::mutex> lk(m);
    }
    cv_start.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
  }

  void run(int64_t count, const std::function<void(int64_t, int64_t)>& fn) {
    if (count <= 0) return;
    std::lock_guard<std::mutex> call(call_mutex);
    if (nthreads == 1 || count == 1) {
      fn(0, count);
      return;
    }
    n.store(count);
    next.store(0);
    finished.store(0);
    job.store(&fn);
    generation.fetch_add(1);
    if (sleepers.load() > 0) {
      { std::lock_guard<std::mutex> lk(m); }
      cv_start.notify_all();
    }
    drain(fn);
    // Wait for ranges other threads claimed, then for every worker to leave the job, so that the
    // next job's counters cannot be seen by a worker still finishing this one.
    for (int spins = 0; finished.load() != nthreads; spins++) {
      if (spins < kSpin) cpu_relax();
      else std::this_thread::yield();
    }
    job.store(nullptr);
    for (int spins = 0; active.load() != 0; spins++) {
      if (spins < kSpin) cpu_relax();
      else std::this_thread::yield();
    }
  }

  ~Pool() { stop(); }
};

Pool& pool() {
  static Pool* p = [] {
    auto* q = new Pool();  // leaked on purpose: joining threads during static destruction can hang
    int n = (int)std::thread::hardware_concurrency();
    if (const char* env = std::getenv("GPTKIT_THREADS")) n = std::atoi(env);
    q->resize(n < 1 ? 1 : n);
    return q;
  }();
  return *p;
}
}  // namespace

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) { pool().run(n, fn); }
int num_threads() { return pool().nthreads; }

// ---------------------------------------------------------------------------------------------
// Argument helpers.

template <typename T, napi_typedarray_type want>
static T* typed_arg(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len, bool nullable) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) {
    if (len) *len = 0;
    return nullptr;
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want) {
    std::string msg = std::string(op) + ": argument " + std::to_string(i) + " must be a " +
                      (want == napi_float32_array ? "Float32Array" : "Int32Array");
    throw Napi::TypeError::New(info.Env(), msg);
  }
  auto arr = v.As<Napi::TypedArray>();
  if (len) *len = arr.ElementLength();
  auto* base = static_cast<uint8_t*>(arr.ArrayBuffer().Data());
  return reinterpret_cast<T*>(base + arr.ByteOffset());
}

float* f32_arg(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len) {
  return typed_arg<float, napi_float32_array>(info, i, op, len, false);
}
float* f32_arg_or_null(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len) {
  return typed_arg<float, napi_float32_array>(info, i, op, len, true);
}
int32_t* i32_arg(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len) {
  return typed_arg<int32_t, napi_int32_array>(info, i, op, len, false);
}
int32_t* i32_arg_or_null(const Napi::CallbackInfo& info, size_t i, const char* op, size_t* len) {
  return typed_arg<int32_t, napi_int32_array>(info, i, op, len, true);
}
double num_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
int64_t int_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
bool bool_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

// ---------------------------------------------------------------------------------------------
// Exports.

static Napi::Value GetSimd(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), simd_name(simd_level()));
}

static Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  std::string want = info[0].As<Napi::String>().Utf8Value();
  for (Simd s : {Simd::Portable, Simd::Neon, Simd::Avx2, Simd::Avx512}) {
    if (want == simd_name(s)) {
      if (!cpu_supports(s)) return Napi::Boolean::New(info.Env(), false);
      g_simd.store(static_cast<int>(s));
      return Napi::Boolean::New(info.Env(), true);
    }
  }
  return Napi::Boolean::New(info.Env(), false);
}

static Napi::Value SimdLevels(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (Simd s : {Simd::Avx512, Simd::Avx2, Simd::Neon, Simd::Portable})
    if (cpu_supports(s)) out.Set(i++, Napi::String::New(info.Env(), simd_name(s)));
  return out;
}

static Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = (int)int_arg(info, 0);
  if (n < 1 || n > 1024) throw Napi::RangeError::New(info.Env(), "setThreads: expected 1..1024 threads");
  if (n != num_threads()) pool().resize(n);
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("getSimd", Napi::Function::New(env, GetSimd));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd));
  exports.Set("simdLevels", Napi::Function::New(env, SimdLevels));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  register_gemm(env, exports);
  register_attention(env, exports);
  register_kernels(env, exports);
  register_peak(env, exports);
  register_qlinear(env, exports);
  register_bf16(env, exports);
  return exports;
}

}  // namespace gptkit

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return gptkit::Init(env, exports); }
NODE_API_MODULE(gptkit, InitAddon)
