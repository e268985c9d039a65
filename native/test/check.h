// Shared by the SIMD cross-check (simd_check.cc, check_kernels.cc): a seeded generator and a report
// that counts comparisons and prints the first mismatches. Plain C++17, no Node, no N-API.
#pragma once
#include "../src/simd.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace simd_check {

// splitmix64: the same stream on every platform, so a failure reproduces under qemu and natively.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next() >> 40) * (1.0 / 16777216.0)); }
  int64_t below(int64_t n) { return (int64_t)(next() % (uint64_t)n); }
  std::vector<float> floats(size_t n, float lo = -1.f, float hi = 1.f) {
    std::vector<float> v(n);
    for (float& x : v) x = uniform(lo, hi);
    return v;
  }
};

class Report {
 public:
  explicit Report(const char* path) : path_(path) {}

  // |got − want| ≤ rtol·(|want| + max|want|) + atol for every element (the node tests' assertClose).
  void close(const std::string& what, const float* got, const float* want, size_t n, double rtol, double atol = 0) {
    double big = 0;
    for (size_t i = 0; i < n; i++)
      if (std::isfinite(want[i])) big = std::max(big, (double)std::fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
      const double g = got[i], w = want[i];
      const bool same_special = (std::isnan(g) && std::isnan(w)) || (std::isinf(w) && g == w);
      if (same_special) continue;
      if (!(std::fabs(g - w) <= rtol * (std::fabs(w) + big) + atol)) {
        fail(what + ": element " + std::to_string(i) + " is " + num(g) + ", expected " + num(w) + " (max |expected| " +
             num(big) + ")");
        return;
      }
    }
    passed_++;
  }
  void close(const std::string& what, const std::vector<float>& got, const std::vector<float>& want, double rtol,
             double atol = 0) {
    if (got.size() != want.size()) return fail(what + ": sizes differ");
    close(what, got.data(), want.data(), got.size(), rtol, atol);
  }
  // |got − want| ≤ rtol·|want| + atol for every element: no floor from the largest element, for
  // results that should agree to a few ulp everywhere (the same exp algorithm on both paths).
  void relative(const std::string& what, const std::vector<float>& got, const std::vector<float>& want, double rtol,
                double atol) {
    for (size_t i = 0; i < got.size() && i < want.size(); i++)
      if (!(std::fabs((double)got[i] - want[i]) <= rtol * std::fabs((double)want[i]) + atol))
        return fail(what + ": element " + std::to_string(i) + " is " + num(got[i]) + ", expected " + num(want[i]) +
                    " (relative tolerance " + num(rtol) + ")");
    if (got.size() != want.size()) return fail(what + ": sizes differ");
    passed_++;
  }
  // Bit-for-bit equality (dropout masks, copies, anything that must not round differently).
  void same(const std::string& what, const std::vector<float>& got, const std::vector<float>& want) {
    if (got.size() != want.size() || std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) != 0) {
      for (size_t i = 0; i < got.size() && i < want.size(); i++)
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0)
          return fail(what + ": element " + std::to_string(i) + " is " + num(got[i]) + ", expected exactly " + num(want[i]));
      return fail(what + ": sizes differ");
    }
    passed_++;
  }
  void truth(const std::string& what, bool ok) {
    if (ok) passed_++;
    else fail(what);
  }

  int failures() const { return failures_; }
  int passed() const { return passed_; }

 private:
  void fail(const std::string& msg) {
    if (++failures_ <= 20) std::fprintf(stderr, "MISMATCH [%s] %s\n", path_, msg.c_str());
  }
  static std::string num(double v) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
  }
  const char* path_;
  int failures_ = 0, passed_ = 0;
};

void check_gemm(gptkit::Simd s, Report& r);
void check_kernels(gptkit::Simd s, Report& r);
void check_attention(gptkit::Simd s, Report& r);

}  // namespace simd_check
