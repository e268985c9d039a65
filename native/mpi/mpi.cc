// gptkit_mpi.node: the few MPI collectives data-parallel training needs, bound from the system's MPI
// library (Debian's OpenMPI). Built beside the main addon only where `mpicxx` exists; gptkit runs
// single-process without it. Every call is made from the JS thread (MPI_THREAD_FUNNELED), blocking.
//   init() → {rank, size}; allreduceSum(Float32Array | Float64Array) in place; barrier(); abort(code);
//   finalize(); version() → the library's version string.
#include <napi.h>
#include <mpi.h>
#include <string>

namespace {

void check(const Napi::Env& env, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Napi::Error::New(env, std::string("MPI ") + what + ": " + std::string(msg, len));
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  int flag = 0;
  MPI_Initialized(&flag);
  if (!flag) {
    int provided = 0;
    check(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "init");
  }
  // Errors come back as return codes (thrown as JS errors), not as an abort of the process.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", rank);
  out.Set("size", size);
  return out;
}

Napi::Value AllreduceSum(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "allreduceSum: expected a Float32Array or Float64Array");
  Napi::TypedArray t = info[0].As<Napi::TypedArray>();
  void* data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  const int n = static_cast<int>(t.ElementLength());
  if (t.TypedArrayType() == napi_float32_array) check(env, MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "allreduce");
  else if (t.TypedArrayType() == napi_float64_array) check(env, MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "allreduce");
  else throw Napi::TypeError::New(env, "allreduceSum: expected a Float32Array or Float64Array");
  return env.Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  check(info.Env(), MPI_Barrier(MPI_COMM_WORLD), "barrier");
  return info.Env().Undefined();
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  MPI_Abort(MPI_COMM_WORLD, info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  int flag = 0;
  MPI_Finalized(&flag);
  if (!flag) MPI_Finalize();
  return info.Env().Undefined();
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  std::string s(v, len);
  const size_t nl = s.find(',');
  return Napi::String::New(info.Env(), nl == std::string::npos ? s : s.substr(0, nl));
}

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allreduceSum", Napi::Function::New(env, AllreduceSum));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("version", Napi::Function::New(env, Version));
  return exports;
}

}  // namespace

NODE_API_MODULE(gptkit_mpi, InitAddon)
