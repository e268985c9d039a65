// The pointwise/row kernels of one SIMD path against the portable path (kernels_table.h), on random
// inputs of awkward sizes: every table function, with the ranges split as kernels.cc splits them
// (so ranges that do not start at 0 run too). Tolerances are those of src/backend/kernels.test.ts.
#include "check.h"

#include "../src/kernels_table.h"

#include <algorithm>
#include <cmath>

namespace simd_check {

using gptkit::Simd;
using gptkit::kern::Table;

namespace {

// Row widths: 1, below/at/above one vector of every path, primes, and 2053 > the cross-entropy block.
const int64_t kCols[] = {1, 3, 4, 5, 16, 17, 67, 2053};
// Element counts: the last spans kernels.cc's 4096-element blocks, so a range starts at 4096.
const int64_t kCounts[] = {1, 7, 31, 4099};

// [0, n) as kernels.cc splits it: blocks of `block` run as separate calls.
template <class F>
void in_blocks(int64_t n, int64_t block, const F& fn) {
  for (int64_t i = 0; i < n; i += block) fn(i, std::min(n, i + block));
}

struct Ctx {
  const Table& k;    // the path under test
  const Table& ref;  // portable
  Report& r;
  std::string name;
  Rng rng;
};

void rows_kernels(Ctx& c, int64_t rows, int64_t cols) {
  const std::string at = c.name + " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) + " ";
  const size_t n = (size_t)(rows * cols);
  std::vector<float> x = c.rng.floats(n, -3, 3);
  const std::vector<float> w = c.rng.floats((size_t)cols), b = c.rng.floats((size_t)cols);
  const std::vector<float> dout = c.rng.floats(n), dx0 = c.rng.floats(n);
  for (int with_bias = 0; with_bias < 2; with_bias++) {
    std::vector<float> out(n), mean(rows), rstd(rows), out_r(n), mean_r(rows), rstd_r(rows);
    const float* bias = with_bias ? b.data() : nullptr;
    c.k.layernorm_fwd(x.data(), w.data(), bias, out.data(), mean.data(), rstd.data(), 0, rows, cols, 1e-5f);
    c.ref.layernorm_fwd(x.data(), w.data(), bias, out_r.data(), mean_r.data(), rstd_r.data(), 0, rows, cols, 1e-5f);
    c.r.close(at + "layernorm_fwd out", out, out_r, 1e-6);
    c.r.close(at + "layernorm_fwd mean", mean, mean_r, 1e-6);
    c.r.close(at + "layernorm_fwd rstd", rstd, rstd_r, 1e-6);
    std::vector<float> dx(dx0), dx_r(dx0), dw(w), dw_r(w), db(b), db_r(b);
    c.k.layernorm_bwd_dx(dout.data(), x.data(), w.data(), mean_r.data(), rstd_r.data(), dx.data(), 0, rows, cols, true);
    c.ref.layernorm_bwd_dx(dout.data(), x.data(), w.data(), mean_r.data(), rstd_r.data(), dx_r.data(), 0, rows, cols, true);
    c.r.close(at + "layernorm_bwd_dx", dx, dx_r, 1e-5);
    // Write mode: the old contents (NaN here) are never read.
    std::vector<float> dxw(n, NAN), dxw_r(n, NAN);
    c.k.layernorm_bwd_dx(dout.data(), x.data(), w.data(), mean_r.data(), rstd_r.data(), dxw.data(), 0, rows, cols, false);
    c.ref.layernorm_bwd_dx(dout.data(), x.data(), w.data(), mean_r.data(), rstd_r.data(), dxw_r.data(), 0, rows, cols, false);
    // A one-column row's gradient is 0 up to rounding amplified by rstd ≈ 316, with no accumulated
    // O(1) values to set the scale: an absolute floor, as the node test's ATOL.
    c.r.close(at + "layernorm_bwd_dx write", dxw, dxw_r, 1e-5, 1e-4);
    float* dbp = with_bias ? db.data() : nullptr;
    float* dbp_r = with_bias ? db_r.data() : nullptr;
    in_blocks(cols, 64, [&](int64_t c0, int64_t c1) {
      c.k.layernorm_bwd_dwdb(dout.data(), x.data(), mean_r.data(), rstd_r.data(), dw.data(), dbp, rows, cols, c0, c1);
      c.ref.layernorm_bwd_dwdb(dout.data(), x.data(), mean_r.data(), rstd_r.data(), dw_r.data(), dbp_r, rows, cols, c0, c1);
    });
    c.r.close(at + "layernorm_bwd dw", dw, dw_r, 1e-5);
    c.r.close(at + "layernorm_bwd db", db, db_r, 1e-5);
  }

  // Softmax of moderate values: every element a few ulp from the portable one (this is where an
  // inaccurate exp shows; below, one large logit would hide the small probabilities' errors).
  std::vector<float> e(n), e_r(n);
  c.k.softmax_fwd(x.data(), e.data(), 0, rows, cols);
  c.ref.softmax_fwd(x.data(), e_r.data(), 0, rows, cols);
  c.r.relative(at + "softmax_fwd elementwise", e, e_r, 2e-6, 0);

  // Softmax with a masked (−∞) entry in every row of width > 1, and one large logit.
  for (int64_t i = 0; i < rows; i++) {
    if (cols > 1) x[i * cols + (i * 7) % cols] = -INFINITY;
    x[i * cols] = 40.f;
  }
  std::vector<float> y(n), y_r(n);
  c.k.softmax_fwd(x.data(), y.data(), 0, rows, cols);
  c.ref.softmax_fwd(x.data(), y_r.data(), 0, rows, cols);
  c.r.close(at + "softmax_fwd", y, y_r, 1e-6, 1e-12);
  std::vector<float> sdx(dx0), sdx_r(dx0);
  c.k.softmax_bwd(y_r.data(), dout.data(), sdx.data(), 0, rows, cols);
  c.ref.softmax_bwd(y_r.data(), dout.data(), sdx_r.data(), 0, rows, cols);
  c.r.close(at + "softmax_bwd", sdx, sdx_r, 1e-5);

  // Cross-entropy: logits spread wide (exp over a large range), one ignored row.
  const std::vector<float> logits = c.rng.floats(n, -30, 30);
  std::vector<int32_t> targets(rows);
  for (int64_t i = 0; i < rows; i++) targets[i] = i == 1 ? -100 : (int32_t)c.rng.below(cols);
  const std::vector<float> dl = c.rng.floats((size_t)rows);
  for (float smoothing : {0.f, 0.1f}) {
    const std::string ce = at + "smoothing=" + std::to_string(smoothing) + " ";
    std::vector<float> loss(rows), lse(rows), loss_r(rows), lse_r(rows);
    c.k.ce_fwd(logits.data(), targets.data(), loss.data(), lse.data(), 0, rows, cols, -100, smoothing);
    c.ref.ce_fwd(logits.data(), targets.data(), loss_r.data(), lse_r.data(), 0, rows, cols, -100, smoothing);
    c.r.close(ce + "ce_fwd losses", loss, loss_r, 1e-6, 1e-6);
    c.r.close(ce + "ce_fwd lse", lse, lse_r, 1e-6);
    std::vector<float> dlog(n), dlog_r(n);
    c.k.ce_bwd(logits.data(), targets.data(), lse_r.data(), dl.data(), dlog.data(), 0, rows, cols, -100, smoothing);
    c.ref.ce_bwd(logits.data(), targets.data(), lse_r.data(), dl.data(), dlog_r.data(), 0, rows, cols, -100, smoothing);
    c.r.close(ce + "ce_bwd", dlog, dlog_r, 1e-5, 1e-6);  // dloss·(p − q) with |dloss| ≤ 1
  }

  std::vector<float> sums(w), sums_r(w);
  in_blocks(cols, 64, [&](int64_t c0, int64_t c1) {
    c.k.sum_rows(dout.data(), sums.data(), rows, cols, c0, c1);
    c.ref.sum_rows(dout.data(), sums_r.data(), rows, cols, c0, c1);
  });
  c.r.close(at + "sum_rows", sums, sums_r, 1e-6);

  // Embedding backward: `rows` ids into a table of 5 rows, with repeats.
  std::vector<int32_t> ids(rows);
  for (int64_t i = 0; i < rows; i++) ids[i] = (int32_t)c.rng.below(5);
  const std::vector<float> table0 = c.rng.floats((size_t)(5 * cols));
  std::vector<float> tab(table0), tab_r(table0);
  in_blocks(cols, 64, [&](int64_t c0, int64_t c1) {
    c.k.embedding_bwd(ids.data(), dout.data(), tab.data(), rows, cols, c0, c1);
    c.ref.embedding_bwd(ids.data(), dout.data(), tab_r.data(), rows, cols, c0, c1);
  });
  c.r.close(at + "embedding_bwd", tab, tab_r, 1e-6);
}

void element_kernels(Ctx& c, int64_t n) {
  const std::string at = c.name + " n=" + std::to_string(n) + " ";
  std::vector<float> x = c.rng.floats((size_t)n, -4, 4);
  if (n > 3) x[1] = 100.f, x[2] = -100.f;  // GELU's saturated tails
  const std::vector<float> y = c.rng.floats((size_t)n), d0 = c.rng.floats((size_t)n);
  std::vector<float> o(n), o_r(n);
  auto both = [&](const char* what, double rtol, double atol, auto&& fn) {
    std::vector<float> got(d0), want(d0);
    in_blocks(n, 4096, [&](int64_t i0, int64_t i1) {
      fn(c.k, got.data(), i0, i1);
      fn(c.ref, want.data(), i0, i1);
    });
    c.r.close(at + what, got, want, rtol, atol);
  };
  both("gelu_fwd", 1e-6, 0, [&](const Table& t, float* out, int64_t i0, int64_t i1) { t.gelu_fwd(x.data(), out, i0, i1); });
  both("gelu_bwd", 1e-5, 0,
       [&](const Table& t, float* dx, int64_t i0, int64_t i1) { t.gelu_bwd(x.data(), y.data(), dx, i0, i1, true); });
  {  // write mode over NaN: the old contents are never read
    std::vector<float> got(n, NAN), want(n, NAN);
    in_blocks(n, 4096, [&](int64_t i0, int64_t i1) {
      c.k.gelu_bwd(x.data(), y.data(), got.data(), i0, i1, false);
      c.ref.gelu_bwd(x.data(), y.data(), want.data(), i0, i1, false);
    });
    c.r.close(at + "gelu_bwd write", got, want, 1e-5);
  }
  both("add", 1e-7, 0, [&](const Table& t, float* out, int64_t i0, int64_t i1) { t.add(x.data(), y.data(), out, i0, i1); });
  both("mul", 1e-7, 0, [&](const Table& t, float* out, int64_t i0, int64_t i1) { t.mul(x.data(), y.data(), out, i0, i1); });
  both("axpy", 1e-6, 0, [&](const Table& t, float* out, int64_t i0, int64_t i1) { t.axpy(-0.75f, x.data(), out, i0, i1); });
  both("scale", 1e-7, 0, [&](const Table& t, float* out, int64_t i0, int64_t i1) { t.scale(x.data(), 0.3f, out, i0, i1); });

  // Dropout: the same hash on every path, so the kept set and the values must match exactly.
  for (float p : {0.f, 0.25f, 0.9f}) {
    gptkit::kern::DropoutConsts k{2654435761u, (int32_t)std::floor(p * 16777216.0), (float)(1.0 / (1.0 - p))};
    std::vector<float> f(n), f_r(n), g(d0), g_r(d0), gw(n, NAN), gw_r(n, NAN);
    in_blocks(n, 4096, [&](int64_t i0, int64_t i1) {
      c.k.dropout_fwd(x.data(), f.data(), i0, i1, k);
      c.ref.dropout_fwd(x.data(), f_r.data(), i0, i1, k);
      c.k.dropout_bwd(y.data(), g.data(), i0, i1, k, true);
      c.ref.dropout_bwd(y.data(), g_r.data(), i0, i1, k, true);
      c.k.dropout_bwd(y.data(), gw.data(), i0, i1, k, false);
      c.ref.dropout_bwd(y.data(), gw_r.data(), i0, i1, k, false);
    });
    c.r.same(at + "dropout_fwd p=" + std::to_string(p), f, f_r);
    c.r.close(at + "dropout_bwd p=" + std::to_string(p), g, g_r, 1e-7);
    c.r.same(at + "dropout_bwd write p=" + std::to_string(p), gw, gw_r);
  }

  // AdamW, two steps so m and v are no longer zero.
  gptkit::kern::AdamConsts a{1.f - 1e-2f * 0.1f, 0.9f, 0.1f, 0.95f, 0.05f, 1e-2f / 0.1f, 1.f / std::sqrt(0.05f),
                             1e-8f, 0.5f};
  std::vector<float> p(x), m(n, 0.f), v(n, 0.f), p_r(x), m_r(n, 0.f), v_r(n, 0.f);
  for (int step = 0; step < 2; step++)
    in_blocks(n, 4096, [&](int64_t i0, int64_t i1) {
      c.k.adamw(p.data(), y.data(), m.data(), v.data(), i0, i1, a);
      c.ref.adamw(p_r.data(), y.data(), m_r.data(), v_r.data(), i0, i1, a);
    });
  c.r.close(at + "adamw param", p, p_r, 1e-6);
  c.r.close(at + "adamw m", m, m_r, 1e-6);
  c.r.close(at + "adamw v", v, v_r, 1e-6);

  // Σx² in float64 from exactly widened floats: only the summation order may differ.
  const double sq = c.k.sum_squares(x.data(), 0, n), sq_r = c.ref.sum_squares(x.data(), 0, n);
  c.r.truth(at + "sum_squares " + std::to_string(sq) + " vs " + std::to_string(sq_r),
            std::fabs(sq - sq_r) <= 1e-12 * sq_r);
  const double part = c.k.sum_squares(x.data(), n / 3, n), part_r = c.ref.sum_squares(x.data(), n / 3, n);
  c.r.truth(at + "sum_squares from n/3", std::fabs(part - part_r) <= 1e-12 * part_r);
}

}  // namespace

void check_kernels(Simd s, Report& r) {
  Ctx c{gptkit::kern::table_for(s), gptkit::kern::table_for(Simd::Portable), r, gptkit::simd_name(s), Rng(1234)};
  for (int64_t cols : kCols) rows_kernels(c, 3, cols);
  for (int64_t n : kCounts) element_kernels(c, n);
}

}  // namespace simd_check
