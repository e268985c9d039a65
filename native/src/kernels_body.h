// The pointwise/row kernels, written once over the primitives of a kernels_vec_*.h header (W lanes of
// type V: vload/vstore, vload_n/vstore_n for tails, vadd…, vexp, vdropout, vsumsq). kernels_paths.cc
// includes this file once per SIMD path, each time inside its own namespace and after that path's
// primitives, and exports the `table` defined at the bottom. No include guard on purpose.
//
// Every function handles one contiguous range of rows, columns or elements. Reductions inside a row
// use a fixed number of accumulators in a fixed order, so a row's result never depends on which
// thread computed it; reductions over rows walk the rows in order for a range of columns.

static inline V load_w(const float* p, int64_t w, float fill) { return w >= W ? vload(p) : vload_n(p, w, fill); }
static inline void store_w(float* p, V v, int64_t w) {
  if (w >= W)
    vstore(p, v);
  else
    vstore_n(p, v, w);
}

// ---------------------------------------------------------------------------------------------
// Row reductions (four accumulators to hide the add latency).

static inline float row_max(const float* x, int64_t n) {
  V m[4] = {vset(-INFINITY), vset(-INFINITY), vset(-INFINITY), vset(-INFINITY)};
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (int j = 0; j < 4; j++) m[j] = vmax(m[j], vload(x + i + j * W));
  for (; i < n; i += W) m[0] = vmax(m[0], load_w(x + i, n - i, -INFINITY));
  return vhmax(vmax(vmax(m[0], m[1]), vmax(m[2], m[3])));
}

// Max and plain sum of a row in one read (cross-entropy needs Σx for label smoothing).
static inline void row_max_sum(const float* x, int64_t n, float* max_out, float* sum_out) {
  V m[4] = {vset(-INFINITY), vset(-INFINITY), vset(-INFINITY), vset(-INFINITY)};
  V s[4] = {vzero(), vzero(), vzero(), vzero()};
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (int j = 0; j < 4; j++) {
      V v = vload(x + i + j * W);
      m[j] = vmax(m[j], v);
      s[j] = vadd(s[j], v);
    }
  for (; i < n; i += W) {
    m[0] = vmax(m[0], load_w(x + i, n - i, -INFINITY));
    s[0] = vadd(s[0], load_w(x + i, n - i, 0.0f));
  }
  *max_out = vhmax(vmax(vmax(m[0], m[1]), vmax(m[2], m[3])));
  *sum_out = vhsum(vadd(vadd(s[0], s[1]), vadd(s[2], s[3])));
}

static inline float row_sum(const float* x, int64_t n) {
  V s[4] = {vzero(), vzero(), vzero(), vzero()};
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (int j = 0; j < 4; j++) s[j] = vadd(s[j], vload(x + i + j * W));
  for (; i < n; i += W) s[0] = vadd(s[0], load_w(x + i, n - i, 0.0f));
  return vhsum(vadd(vadd(s[0], s[1]), vadd(s[2], s[3])));
}

// Σ e^(x − shift); padding lanes are −∞ so they add e^−∞ = 0.
static inline float row_sum_exp(const float* x, int64_t n, float shift) {
  const V sh = vset(shift);
  V s[4] = {vzero(), vzero(), vzero(), vzero()};
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (int j = 0; j < 4; j++) s[j] = vadd(s[j], vexp(vsub(vload(x + i + j * W), sh)));
  for (; i < n; i += W) s[0] = vadd(s[0], vexp(vsub(load_w(x + i, n - i, -INFINITY), sh)));
  return vhsum(vadd(vadd(s[0], s[1]), vadd(s[2], s[3])));
}

static inline float row_dot(const float* a, const float* b, int64_t n) {
  V s[4] = {vzero(), vzero(), vzero(), vzero()};
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (int j = 0; j < 4; j++) s[j] = vfma(vload(a + i + j * W), vload(b + i + j * W), s[j]);
  for (; i < n; i += W) s[0] = vfma(load_w(a + i, n - i, 0.0f), load_w(b + i, n - i, 0.0f), s[0]);
  return vhsum(vadd(vadd(s[0], s[1]), vadd(s[2], s[3])));
}

// ---------------------------------------------------------------------------------------------
// LayerNorm.

static void layernorm_fwd(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd,
                          int64_t r0, int64_t r1, int64_t cols, float eps) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    const float mu = row_sum(xr, cols) / (float)cols;
    const V vmu = vset(mu);
    V sq = vzero();
    for (int64_t c = 0; c < cols; c += W) {
      // Padding lanes load mu itself, so they add (mu − mu)² = 0.
      V d = vsub(load_w(xr + c, cols - c, mu), vmu);
      sq = vfma(d, d, sq);
    }
    const float rs = 1.0f / std::sqrt(vhsum(sq) / (float)cols + eps);
    const V vrs = vset(rs);
    for (int64_t c = 0; c < cols; c += W) {
      const int64_t n = cols - c;
      V xhat = vmul(vsub(load_w(xr + c, n, 0.0f), vmu), vrs);
      V y = vfma(xhat, load_w(w + c, n, 0.0f), b ? load_w(b + c, n, 0.0f) : vzero());
      store_w(o + c, y, n);
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

// dx (+)= rstd·(dnorm − mean(dnorm) − xhat·mean(dnorm·xhat)), dnorm = dout ⊙ w; acc false writes dx
// without reading it (a fresh gradient buffer holds garbage).
static void layernorm_bwd_dx(const float* dout, const float* x, const float* w, const float* mean,
                             const float* rstd, float* dx, int64_t r0, int64_t r1, int64_t cols, bool acc) {
  for (int64_t r = r0; r < r1; r++) {
    const float* g = dout + r * cols;
    const float* xr = x + r * cols;
    float* d = dx + r * cols;
    const V vmu = vset(mean[r]), vrs = vset(rstd[r]);
    V s1 = vzero(), s2 = vzero();
    for (int64_t c = 0; c < cols; c += W) {
      const int64_t n = cols - c;
      V dnorm = vmul(load_w(g + c, n, 0.0f), load_w(w + c, n, 0.0f));
      V xhat = vmul(vsub(load_w(xr + c, n, 0.0f), vmu), vrs);
      s1 = vadd(s1, dnorm);
      s2 = vfma(dnorm, xhat, s2);
    }
    const V m1 = vset(vhsum(s1) / (float)cols), m2 = vset(vhsum(s2) / (float)cols);
    for (int64_t c = 0; c < cols; c += W) {
      const int64_t n = cols - c;
      V dnorm = vmul(load_w(g + c, n, 0.0f), load_w(w + c, n, 0.0f));
      V xhat = vmul(vsub(load_w(xr + c, n, 0.0f), vmu), vrs);
      V t = vfnma(xhat, m2, vsub(dnorm, m1));
      store_w(d + c, acc ? vfma(vrs, t, load_w(d + c, n, 0.0f)) : vmul(vrs, t), n);
    }
  }
}

// dw[c] += Σ_r dout[r, c]·xhat[r, c], db[c] += Σ_r dout[r, c] (db may be null), rows in order.
static void layernorm_bwd_dwdb(const float* dout, const float* x, const float* mean, const float* rstd, float* dw,
                               float* db, int64_t rows, int64_t cols, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; c += 2 * W) {
    const int64_t n0 = c1 - c, n1 = c1 - c - W;  // lanes left in the first and second vector
    V aw0 = vzero(), aw1 = vzero(), ab0 = vzero(), ab1 = vzero();
    for (int64_t r = 0; r < rows; r++) {
      const float* g = dout + r * cols + c;
      const float* xr = x + r * cols + c;
      const V vmu = vset(mean[r]), vrs = vset(rstd[r]);
      V g0 = load_w(g, n0, 0.0f);
      aw0 = vfma(g0, vmul(vsub(load_w(xr, n0, 0.0f), vmu), vrs), aw0);
      ab0 = vadd(ab0, g0);
      if (n1 > 0) {
        V g1 = load_w(g + W, n1, 0.0f);
        aw1 = vfma(g1, vmul(vsub(load_w(xr + W, n1, 0.0f), vmu), vrs), aw1);
        ab1 = vadd(ab1, g1);
      }
    }
    store_w(dw + c, vadd(load_w(dw + c, n0, 0.0f), aw0), n0);
    if (db) store_w(db + c, vadd(load_w(db + c, n0, 0.0f), ab0), n0);
    if (n1 > 0) {
      store_w(dw + c + W, vadd(load_w(dw + c + W, n1, 0.0f), aw1), n1);
      if (db) store_w(db + c + W, vadd(load_w(db + c + W, n1, 0.0f), ab1), n1);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax and cross-entropy.

static void softmax_fwd(const float* x, float* out, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;  // may be xr: each element is read before it is written
    const V mx = vset(row_max(xr, cols));
    V s = vzero();
    for (int64_t c = 0; c < cols; c += W) {
      const int64_t n = cols - c;
      V e = vexp(vsub(load_w(xr + c, n, -INFINITY), mx));
      s = vadd(s, e);
      store_w(o + c, e, n);
    }
    const V inv = vset(1.0f / vhsum(s));
    for (int64_t c = 0; c < cols; c += W) store_w(o + c, vmul(load_w(o + c, cols - c, 0.0f), inv), cols - c);
  }
}

static void softmax_bwd(const float* out, const float* dout, float* dx, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float* y = out + r * cols;
    const float* g = dout + r * cols;
    float* d = dx + r * cols;
    const V dot = vset(row_dot(g, y, cols));
    for (int64_t c = 0; c < cols; c += W) {
      const int64_t n = cols - c;
      store_w(d + c, vfma(load_w(y + c, n, 0.0f), vsub(load_w(g + c, n, 0.0f), dot), load_w(d + c, n, 0.0f)), n);
    }
  }
}

// loss = lse − (1−s)·x[t] − (s/V)·Σx  (= −Σ q·log p with q = (1−s)·onehot + s/V).
// A vocabulary-wide row is read from memory once: each block of it is scanned twice while it sits in
// L1 (max and Σx, then Σe^(x−max)), and the running sum is rescaled whenever the max grows.
static void ce_fwd(const float* logits, const int32_t* targets, float* losses, float* lse, int64_t r0, int64_t r1,
                   int64_t vocab, int32_t ignore, float smoothing) {
  constexpr int64_t kBlock = 2048;
  for (int64_t r = r0; r < r1; r++) {
    const float* x = logits + r * vocab;
    float mx = -INFINITY, sum_exp = 0.0f;
    double sx = 0;
    for (int64_t b = 0; b < vocab; b += kBlock) {
      const int64_t n = std::min(kBlock, vocab - b);
      float bmax, bsum;
      row_max_sum(x + b, n, &bmax, &bsum);
      sx += bsum;
      if (bmax > mx) {
        sum_exp *= std::exp(mx - bmax);  // e^−∞ = 0 for the first block
        mx = bmax;
      }
      if (mx > -INFINITY) sum_exp += row_sum_exp(x + b, n, mx);  // an all −∞ prefix adds nothing
    }
    const double l = (double)mx + std::log((double)sum_exp);
    lse[r] = (float)l;
    const int32_t t = targets[r];
    // The smoothing term only when smoothing > 0: masked (−∞) logits make Σx = −∞, and 0·∞ is NaN.
    const double smooth = smoothing > 0 ? ((double)smoothing / (double)vocab) * sx : 0.0;
    losses[r] = t == ignore ? 0.0f : (float)(l - (1.0 - smoothing) * x[t] - smooth);
  }
}

// dlogits = dloss·(softmax − q); one read of the row, written in place when dlogits aliases logits.
static void ce_bwd(const float* logits, const int32_t* targets, const float* lse, const float* dlosses,
                   float* dlogits, int64_t r0, int64_t r1, int64_t vocab, int32_t ignore, float smoothing) {
  for (int64_t r = r0; r < r1; r++) {
    const float* x = logits + r * vocab;
    float* d = dlogits + r * vocab;
    const int32_t t = targets[r];
    if (t == ignore) {
      for (int64_t c = 0; c < vocab; c += W) store_w(d + c, vzero(), vocab - c);
      continue;
    }
    const float g = dlosses[r];
    const V vg = vset(g), vl = vset(lse[r]), q = vset(smoothing / (float)vocab);
    int64_t c = 0;
    for (; c + 2 * W <= vocab; c += 2 * W) {
      V e0 = vexp(vsub(vload(x + c), vl)), e1 = vexp(vsub(vload(x + c + W), vl));
      vstore(d + c, vmul(vg, vsub(e0, q)));
      vstore(d + c + W, vmul(vg, vsub(e1, q)));
    }
    for (; c < vocab; c += W) store_w(d + c, vmul(vg, vsub(vexp(vsub(load_w(x + c, vocab - c, 0.0f), vl)), q)), vocab - c);
    d[t] -= g * (1.0f - smoothing);  // the one-hot part, after the row pass (x[t] may be overwritten)
  }
}

// ---------------------------------------------------------------------------------------------
// Column-range reductions over rows.

static void sum_rows(const float* x, float* out, int64_t rows, int64_t cols, int64_t c0, int64_t c1) {
  int64_t c = c0;
  for (; c + 4 * W <= c1; c += 4 * W) {
    V a[4] = {vzero(), vzero(), vzero(), vzero()};
    for (int64_t r = 0; r < rows; r++)
      for (int j = 0; j < 4; j++) a[j] = vadd(a[j], vload(x + r * cols + c + j * W));
    for (int j = 0; j < 4; j++) vstore(out + c + j * W, vadd(vload(out + c + j * W), a[j]));
  }
  for (; c < c1; c += W) {
    const int64_t n = c1 - c;
    V a = vzero();
    for (int64_t r = 0; r < rows; r++) a = vadd(a, load_w(x + r * cols + c, n, 0.0f));
    store_w(out + c, vadd(load_w(out + c, n, 0.0f), a), n);
  }
}

// dtable[ids[i], c0:c1] += dout[i, c0:c1] for i in order: a thread owns its columns of every row.
static void embedding_bwd(const int32_t* ids, const float* dout, float* dtable, int64_t n, int64_t dim, int64_t c0,
                          int64_t c1) {
  for (int64_t i = 0; i < n; i++) {
    const float* g = dout + i * dim;
    float* t = dtable + (int64_t)ids[i] * dim;
    for (int64_t c = c0; c < c1; c += W) store_w(t + c, vadd(load_w(t + c, c1 - c, 0.0f), load_w(g + c, c1 - c, 0.0f)), c1 - c);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise kernels over [i0, i1).

// GELU (tanh form) through 0.5·(1 + tanh u) = σ(2u): one exp, no cancellation near 0.
static void gelu_fwd(const float* x, float* out, int64_t i0, int64_t i1) {
  const V k = vset(0.7978845608028654f), kc = vset(0.7978845608028654f * 0.044715f), one = vset(1.0f);
  for (int64_t i = i0; i < i1; i += W) {
    const V v = load_w(x + i, i1 - i, 0.0f);
    const V u2 = vmul(vset(-2.0f), vmul(v, vfma(kc, vmul(v, v), k)));
    store_w(out + i, vdiv(v, vadd(one, vexp(u2))), i1 - i);
  }
}

// d/dx = s + 2·x·s·(1 − s)·u′, s = σ(2u), u′ = √(2/π)·(1 + 3·0.044715·x²).
static void gelu_bwd(const float* x, const float* dout, float* dx, int64_t i0, int64_t i1, bool acc) {
  const V k = vset(0.7978845608028654f), kc = vset(0.7978845608028654f * 0.044715f), kc3 = vset(3.0f * 0.7978845608028654f * 0.044715f);
  const V one = vset(1.0f), two = vset(2.0f);
  for (int64_t i = i0; i < i1; i += W) {
    const int64_t n = i1 - i;
    const V v = load_w(x + i, n, 0.0f), v2 = vmul(v, v);
    const V s = vdiv(one, vadd(one, vexp(vmul(vset(-2.0f), vmul(v, vfma(kc, v2, k))))));
    const V du = vfma(kc3, v2, k);
    const V grad = vfma(vmul(vmul(two, v), vmul(s, vsub(one, s))), du, s);
    const V g = load_w(dout + i, n, 0.0f);
    store_w(dx + i, acc ? vfma(g, grad, load_w(dx + i, n, 0.0f)) : vmul(g, grad), n);
  }
}

static void adamw(float* p, const float* g, float* m, float* v, int64_t i0, int64_t i1, const kern::AdamConsts& k) {
  const V decay = vset(k.decay), b1 = vset(k.beta1), c1 = vset(k.one_minus_beta1), b2 = vset(k.beta2),
          c2 = vset(k.one_minus_beta2), step = vset(k.step_size), rbc2 = vset(k.rsqrt_bc2), eps = vset(k.eps),
          gs = vset(k.grad_scale);
  for (int64_t i = i0; i < i1; i += W) {
    const int64_t n = i1 - i;
    const V gi = vmul(load_w(g + i, n, 0.0f), gs);
    const V mi = vfma(b1, load_w(m + i, n, 0.0f), vmul(c1, gi));
    const V vi = vfma(b2, load_w(v + i, n, 0.0f), vmul(c2, vmul(gi, gi)));
    const V denom = vfma(vsqrt(vi), rbc2, eps);
    const V pi = vmul(load_w(p + i, n, 0.0f), decay);
    store_w(p + i, vfnma(step, vdiv(mi, denom), pi), n);
    store_w(m + i, mi, n);
    store_w(v + i, vi, n);
  }
}

static void add(const float* a, const float* b, float* out, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i += W) store_w(out + i, vadd(load_w(a + i, i1 - i, 0.0f), load_w(b + i, i1 - i, 0.0f)), i1 - i);
}

static void mul(const float* a, const float* b, float* out, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i += W) store_w(out + i, vmul(load_w(a + i, i1 - i, 0.0f), load_w(b + i, i1 - i, 0.0f)), i1 - i);
}

static void axpy(float alpha, const float* x, float* y, int64_t i0, int64_t i1) {
  const V a = vset(alpha);
  for (int64_t i = i0; i < i1; i += W) store_w(y + i, vfma(a, load_w(x + i, i1 - i, 0.0f), load_w(y + i, i1 - i, 0.0f)), i1 - i);
}

static void scale(const float* x, float alpha, float* out, int64_t i0, int64_t i1) {
  const V a = vset(alpha);
  for (int64_t i = i0; i < i1; i += W) store_w(out + i, vmul(a, load_w(x + i, i1 - i, 0.0f)), i1 - i);
}

static double sum_squares(const float* x, int64_t i0, int64_t i1) { return vsumsq(x + i0, i1 - i0); }

static void dropout_fwd(const float* x, float* out, int64_t i0, int64_t i1, const kern::DropoutConsts& k) {
  for (int64_t i = i0; i < i1; i += W) store_w(out + i, vdropout(load_w(x + i, i1 - i, 0.0f), (uint32_t)i, k), i1 - i);
}

static void dropout_bwd(const float* dout, float* dx, int64_t i0, int64_t i1, const kern::DropoutConsts& k, bool acc) {
  for (int64_t i = i0; i < i1; i += W) {
    const int64_t n = i1 - i;
    const V g = vdropout(load_w(dout + i, n, 0.0f), (uint32_t)i, k);
    store_w(dx + i, acc ? vadd(load_w(dx + i, n, 0.0f), g) : g, n);
  }
}

static const kern::Table table = {
    layernorm_fwd, layernorm_bwd_dx, softmax_fwd, softmax_bwd, ce_fwd,      ce_bwd,       layernorm_bwd_dwdb,
    sum_rows,      embedding_bwd,    gelu_fwd,    gelu_bwd,    adamw,       add,          mul,
    axpy,          scale,            sum_squares, dropout_fwd, dropout_bwd,
};
