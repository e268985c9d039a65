"""Goldens for src/data tests (run with Debian's python3: /usr/bin/python3 src/data/testdata/make_goldens.py).

- lsh_params: datasketch's MinHashLSH._optimal_param (bands, rows minimising 0.5*FP + 0.5*FN area of
  the S-curve), re-implemented with numpy and a fine Simpson rule in place of scipy.integrate.quad.
- logistic: the exact optimum (Newton's method) of L2-regularised logistic regression,
  mean log-loss + l2/2 * |w|^2 (bias not regularised), on a small dense problem that
  classifier.test.ts trains on with Adagrad.
"""
import json
import os
import numpy as np


def area(f, lo, hi, n=20001):
    if hi <= lo:
        return 0.0
    x = np.linspace(lo, hi, n)
    y = f(x)
    h = (hi - lo) / (n - 1)
    return float(h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum()))


def optimal_param(threshold, num_perm, fpw=0.5, fnw=0.5):
    best, opt = float('inf'), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = area(lambda s: 1 - (1 - s ** r) ** b, 0.0, threshold)
            fn = area(lambda s: (1 - s ** r) ** b, threshold, 1.0)
            err = fp * fpw + fn * fnw
            if err < best:
                best, opt = err, (b, r)
    return opt


def logistic_problem():
    rng = np.random.default_rng(7)
    n, d = 300, 6
    x = rng.normal(size=(n, d)).astype(np.float32)
    true_w = np.array([1.5, -2.0, 0.5, 0.0, 1.0, -0.5])
    p = 1 / (1 + np.exp(-(x @ true_w + 0.3)))
    y = (rng.random(n) < p).astype(np.float64)
    return x.astype(np.float64), y


def newton(x, y, l2):
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(xb @ w)))
        g = xb.T @ (p - y) / n + reg * w
        h = (xb.T * (p * (1 - p))) @ xb / n + np.diag(reg)
        w -= np.linalg.solve(h, g)
    p = 1 / (1 + np.exp(-(xb @ w)))
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + l2 / 2 * np.sum(w[:-1] ** 2))
    return w, loss


def main():
    lsh = []
    for t in [0.3, 0.5, 0.7, 0.8, 0.9]:
        for k in [16, 64, 128]:
            b, r = optimal_param(t, k)
            lsh.append({'threshold': t, 'num_perm': k, 'bands': b, 'rows': r})
    x, y = logistic_problem()
    l2 = 0.01
    w, loss = newton(x, y, l2)
    out = {
        'lsh_params': lsh,
        'logistic': {'x': x.round(6).tolist(), 'y': y.astype(int).tolist(), 'l2': l2,
                     'weights': w[:-1].tolist(), 'bias': float(w[-1]), 'loss': loss},
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'goldens.json')
    with open(path, 'w') as f:
        json.dump(out, f)
        f.write('\n')


if __name__ == '__main__':
    main()
