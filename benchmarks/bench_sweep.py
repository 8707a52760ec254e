"""Benchmark the fused sweep (advcert.kernels.sweep.sweep) against dgemm and plain numpy.

    .venv/bin/python benchmarks/bench_sweep.py [--N 200000] [--m 20000] [--d 32] [--repeats 3]

Prints, from one process (absolute times drift on a shared machine, ratios less so):

* the machine's dgemm rate (numpy, 2 threads, n = 3000) before and after the sweeps;
* the fused sweep's effective GFLOP/s (4 d flops per point-neuron pair: two length-d dot
  products) and its ratio to dgemm (target >= 0.6): each repeat is timed between two dgemm
  runs and the median of the per-repeat ratios is reported, because on a shared machine a
  dgemm measured once drifts by 2-4x within a minute;
* the same per core, in thread CPU time (one thread, BLAS on one thread): what the kernel
  costs when the other jobs on the machine are taken out of the picture;
* a plain chunked numpy version (perf-notes §5 (a): 64-row chunks,
  S = Xc W^T, S0 = Xc W0^T, two masked products) on N/--numpy-fraction points, and the
  speed-up of the sweep over it per point-neuron pair (target >= 5);
* the extra peak memory of the sweep (ru_maxrss growth) against the N×m array it avoids;
* the cold JIT cost (fresh NUMBA_CACHE_DIR, in a subprocess) and the warm start (cache hit);
* the exponent p of time ~ (N m d)^p from a fit over four sizes (target: close to 1).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from advcert import sphere  # noqa: E402
from advcert.kernels import sweep  # noqa: E402


def dgemm_rate(n: int = 3000, reps: int = 3) -> float:
    A = np.random.default_rng(0).standard_normal((n, n))
    B = np.random.default_rng(1).standard_normal((n, n))
    A @ B
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        A @ B
        ts.append(time.perf_counter() - t)
    return 2 * n**3 / float(np.median(ts)) / 1e9


def interleaved_ratio(fn, flops: float, reps: int) -> tuple[float, float]:
    """Median over ``reps`` of (flops / time of fn) / (mean dgemm rate just before and after it),
    and the median time of fn."""
    ratios, ts = [], []
    before = dgemm_rate(reps=1)
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
        after = dgemm_rate(reps=1)
        ratios.append(flops / ts[-1] / 1e9 / ((before + after) / 2))
        before = after
    return float(np.median(ratios)), float(np.median(ts))


def per_core_ratio(fn, flops: float, reps: int) -> float:
    """Best (flops / thread CPU time of fn) over the best one-thread dgemm rate, both on one thread."""
    from threadpoolctl import threadpool_limits

    from advcert.kernels import threads

    A = np.random.default_rng(0).standard_normal((1500, 1500))
    saved = threads.numba_threads
    threads.numba_threads = lambda: 1
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            A @ A
            g, k = [], []
            for _ in range(reps):
                t = time.thread_time()
                A @ A
                g.append(2 * 1500**3 / (time.thread_time() - t))
                t = time.thread_time()
                fn()
                k.append(flops / (time.thread_time() - t))
    finally:
        threads.numba_threads = saved
    return max(k) / max(g)


def network(m: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = np.where(rng.integers(0, 2, m) == 1, 1.0, -1.0) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / np.sqrt(m)
    b = rng.standard_normal(m) / np.sqrt(m)
    W = W0.copy()
    W[:, -1] += rng.standard_normal(m) * m ** (-2 / 3)
    return a, W0, b, W


def numpy_sweep(X, a, W0, b, W, chunk: int = 64):
    f = np.empty(X.shape[0])
    g = np.empty(X.shape[0])
    for i in range(0, X.shape[0], chunk):
        Xc = X[i:i + chunk]
        S = Xc @ W.T
        S0 = Xc @ W0.T
        f[i:i + chunk] = np.maximum(S + b, 0) @ a
        g[i:i + chunk] = np.where(S0 + b >= 0, S - S0, 0) @ a
    return f, g


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_growth_mib(fn) -> float | None:
    """Peak resident memory added by fn() (Linux: reset VmHWM through clear_refs, read it back)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return None
    before = _status_kib("VmRSS")
    fn()
    peak = _status_kib("VmHWM")
    if before is None or peak is None:
        return None
    return max(0, peak - before) / 1024


def timed(fn, reps: int) -> float:
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


_JIT_SNIPPET = """
import time
t = time.perf_counter()
import numpy as np
from advcert.kernels import sweep
X = np.full((8, 3), 0.5); a = np.ones(4); W0 = np.ones((4, 3)) / 4; b = np.zeros(4)
P = sweep.pack(a, W0, b, W0)
sweep.sweep(P, X)
print(time.perf_counter() - t)
"""


def jit_cost(fresh: bool) -> float:
    env = dict(os.environ)
    ctx = tempfile.TemporaryDirectory() if fresh else None
    if ctx is not None:
        env["NUMBA_CACHE_DIR"] = ctx.name
    try:
        out = subprocess.run([sys.executable, "-c", _JIT_SNIPPET], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        if ctx is not None:
            ctx.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=200_000)
    ap.add_argument("--m", type=int, default=20_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--numpy-fraction", type=int, default=10, help="numpy runs on N/this points")
    ap.add_argument("--skip-jit", action="store_true")
    args = ap.parse_args(argv)
    N, m, d = args.N, args.m, args.d
    print(f"fused sweep benchmark: N={N} m={m} d={d}, {os.cpu_count()} cores, numba cache "
          f"{os.environ.get('NUMBA_CACHE_DIR', '(default)')}")
    if not args.skip_jit:
        cold = jit_cost(fresh=True)
        warm = jit_cost(fresh=False)
        print(f"JIT: cold process (empty cache) {cold:.2f} s, warm process (cache hit) {warm:.2f} s "
              f"(import + first tiny sweep)")
    rate0 = dgemm_rate()
    a, W0, b, W = network(m, d)
    X = sphere.sample_uniform(np.random.default_rng(2), N, d)
    P = sweep.pack(a, W0, b, W)
    sweep.sweep(P, X[:1000])  # compile or load outside the timing
    grow = peak_growth_mib(lambda: sweep.sweep(P, X))
    ratio, t_sweep = interleaved_ratio(lambda: sweep.sweep(P, X), 4 * d * N * m, args.repeats)
    Nc = max(1, N // 8)
    core = per_core_ratio(lambda: sweep.sweep(P, X[:Nc]), 4 * d * Nc * m, args.repeats)
    Nn = max(1, N // args.numpy_fraction)
    t_np = timed(lambda: numpy_sweep(X[:Nn], a, W0, b, W), max(1, args.repeats - 1))
    rate1 = dgemm_rate()
    rate = (rate0 + rate1) / 2
    # agreement with the reference on the numpy subset
    s = sweep.sweep(P, X[:Nn])
    f_ref, g_ref = numpy_sweep(X[:Nn], a, W0, b, W)
    agree = max(float(np.max(np.abs(s.f - f_ref))), float(np.max(np.abs(s.g - g_ref))))
    gflops = 4 * d * N * m / t_sweep / 1e9
    pairs = N * m / t_sweep
    np_pairs = Nn * m / t_np
    print(f"dgemm: {rate0:.1f} GFLOP/s before, {rate1:.1f} after (mean {rate:.1f})")
    print(f"fused sweep: {t_sweep:.3f} s, {pairs / 1e9:.3f} G pt·neuron/s, {gflops:.1f} eff GFLOP/s "
          f"= {gflops / rate:.2f}x the mean dgemm; median of per-repeat ratios to the dgemm around "
          f"each repeat {ratio:.2f}x (target >= 0.6)")
    print(f"per core (one thread, thread CPU time, {Nc} points): {core:.2f}x one-thread dgemm")
    print(f"numpy chunked on {Nn} points: {t_np:.3f} s, {np_pairs / 1e9:.3f} G pt·neuron/s; "
          f"sweep / numpy = {pairs / np_pairs:.1f}x (target >= 5); max |diff| {agree:.1e}")
    inputs = (X.nbytes + P.tiles.nbytes) / 2**20
    outputs = 5 * N * 8 / 2**20
    bufs = 2 * (2 * P.tile + 6) * sweep.CHUNK * 8 / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    grown = "n/a" if grow is None else f"{grow:.1f} MiB"
    print(f"memory: peak RSS growth during one sweep {grown} (outputs {outputs:.1f} MiB + per-thread "
          f"buffers {bufs:.1f} MiB expected; inputs {inputs:.1f} MiB already resident); process peak "
          f"{peak:.0f} MiB; an N×m float64 array would be {N * m * 8 / 2**20:.0f} MiB")
    # exponent of cost vs N·m·d over four sizes (same d, scaled N and m)
    sizes, times = [], []
    for scale in (1, 2, 4, 8):
        Ns, ms = max(256, N // 8 * scale // 2), max(256, m // 8 * scale)
        a2, W02, b2, W2 = network(ms, d, seed=3)
        P2 = sweep.pack(a2, W02, b2, W2)
        X2 = X[:Ns]
        sweep.sweep(P2, X2[:100])
        sizes.append(Ns * ms * d)
        times.append(timed(lambda: sweep.sweep(P2, X2), args.repeats))
    p = np.polyfit(np.log(sizes), np.log(times), 1)[0]
    print("scaling: " + ", ".join(f"N·m·d={s:.2e}: {t:.3f}s" for s, t in zip(sizes, times))
          + f"; fitted exponent {p:.2f} (target ~1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
