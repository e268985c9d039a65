"""numpy/OpenBLAS reference for bench/gemm.bench.ts: times float32 matrix products.

Usage: gemm_ref.py JSON   where JSON is {"reps": R, "cases": [{"m":..,"n":..,"k":..,"trans":"NT"}, ...]}.
A case with "gemv": true times the 1-D product x @ op(B) (numpy's sgemv path) instead.
Prints one JSON line: {"times": [[seconds per rep, ...], ...], "blas": "..."} in case order.
The thread count comes from OPENBLAS_NUM_THREADS, set by the caller.
"""
import json
import sys
import time

import numpy as np


def blas_description():
    """Which BLAS library and kernel numpy runs on, for the log (threadpoolctl when present)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}" for i in infos)
    import ctypes
    import glob
    import os
    # pip's numpy bundles its own OpenBLAS (symbols prefixed scipy_, suffixed 64_); Debian's links libopenblas.so.0.
    bundled = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*.so*"))
    for path, prefix, suffix in [*((b, "scipy_", "64_") for b in bundled), ("libopenblas.so.0", "", "")]:
        try:
            lib = ctypes.CDLL(path)
            config, core = getattr(lib, f"{prefix}openblas_get_config{suffix}"), getattr(lib, f"{prefix}openblas_get_corename{suffix}")
        except (OSError, AttributeError):
            continue
        config.restype = core.restype = ctypes.c_char_p
        return f"{config().decode().strip()} core={core().decode()}"
    return "unknown (threadpoolctl not installed)"


def operands(rng, case):
    m, n, k, trans = case["m"], case["n"], case["k"], case["trans"]
    # Stored as gptkit stores them: A is (m, k) or (k, m) when transposed; B is (k, n) or (n, k).
    a = rng.random((k, m) if trans[0] == "T" else (m, k), dtype=np.float32) * 2 - 1
    b = rng.random((n, k) if trans[1] == "T" else (k, n), dtype=np.float32) * 2 - 1
    a = a.T if trans[0] == "T" else a
    b = b.T if trans[1] == "T" else b
    if case.get("gemv"):
        a = a.reshape(-1)  # the vector: numpy calls sgemv
    return a, b


def time_case(rng, case, reps):
    a, b = operands(rng, case)
    c = np.empty((case["n"],) if case.get("gemv") else (case["m"], case["n"]), dtype=np.float32)
    # Warm-up: at least 3 products and 50 ms, so the BLAS threads are awake and caches are warm
    # (bench/gemm.bench.ts warms gptkit up the same way).
    n, t_end = 0, time.perf_counter() + 0.05
    while n < 3 or time.perf_counter() < t_end:
        np.matmul(a, b, out=c)
        n += 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    return times


def main():
    spec = json.loads(sys.argv[1])
    rng = np.random.default_rng(0)
    times = [time_case(rng, case, spec["reps"]) for case in spec["cases"]]
    print(json.dumps({"times": times, "blas": blas_description()}))


if __name__ == "__main__":
    main()
