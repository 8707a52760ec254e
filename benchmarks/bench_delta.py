"""Certified δ (Definition 3.4) against a plain numpy reference and the machine's dgemm rate.

    .venv/bin/python benchmarks/bench_delta.py [--repeat 7]

Target (issue 3): δ of all 1797 sklearn digits (lifted to X, d = 66) in <= 1 s with the
rounding accounted for. Every ratio below is measured in this run, on this machine:

* ``certified / numpy``: the certified minimum (BLAS Gram + rigorous error bound + exact
  integer re-check) over an *uncertified* numpy float minimum (same Gram formula, whole
  n×n matrix, no error bound, no exact re-check);
* ``Gram % of dgemm``: the 2n²d flops of the Gram part over the total certified time,
  against a square dgemm measured just before.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from advcert.data import neighbours as S
from advcert import sphere


def _median_time(fn, repeat: int) -> float:
    fn()  # warm-up (BLAS threads, page faults)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def dgemm_gflops(repeat: int) -> float:
    rng = np.random.default_rng(np.random.SeedSequence(0))
    a = rng.standard_normal((2000, 2000))
    b = rng.standard_normal((2000, 2000))
    t = _median_time(lambda: a @ b, repeat)
    return 2 * 2000**3 / t / 1e9


def numpy_reference(x: np.ndarray) -> float:
    """Uncertified float δ²: one Gram matrix, n×n, float minimum (no bound, no re-check)."""
    nrm = np.einsum("ij,ij->i", x, x)
    d2 = nrm[:, None] + nrm[None, :] - 2.0 * (x @ x.T)
    np.fill_diagonal(d2, np.inf)
    return float(d2.min())


def row(name: str, x: np.ndarray, repeat: int, gflops: float) -> None:
    n, d = x.shape
    t_min = _median_time(lambda: S.certified_min_distance(x), repeat)
    t_nn = _median_time(lambda: S.certified_nearest_neighbours(x), max(3, repeat // 2))
    t_ref = _median_time(lambda: numpy_reference(x), repeat)
    r = S.certified_min_distance(x)
    checks = S.certified_nearest_neighbours(x).exact_checks
    flops = 2.0 * n * n * d
    print(
        f"{name:<28} n={n:>5} d={d:>5} | certified δ {t_min * 1e3:8.1f} ms"
        f" | all δ_i {t_nn * 1e3:8.1f} ms ({checks} exact pairs)"
        f" | numpy float δ {t_ref * 1e3:8.1f} ms | certified/numpy {t_min / t_ref:5.2f}"
        f" | Gram {flops / t_min / 1e9:6.1f} GFLOP/s = {100 * flops / t_min / 1e9 / gflops:5.1f}% of dgemm"
        f" | δ = {float(r.delta_sq) ** 0.5:.6g}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    g = dgemm_gflops(args.repeat)
    print(f"dgemm 2000^3: {g:.1f} GFLOP/s (median of {args.repeat})")
    try:
        from advcert.data import load

        digits = np.array(load("digits", require_labels=False).points)
        row("sklearn digits, pad lift", digits, args.repeat, g)
    except Exception as exc:  # scikit-learn is optional
        print(f"digits skipped: {exc}")
    rng = np.random.default_rng(np.random.SeedSequence(1))
    row("uniform on X", sphere.sample_uniform(rng, 4000, 66), args.repeat, g)
    row("uniform on X, CIFAR-sized d", sphere.sample_uniform(rng, 1000, 3074), args.repeat, g)
    t_ok = _median_time(lambda: S.certified_min_distance(digits), args.repeat) if "digits" in locals() else None
    if t_ok is not None:
        print(f"target: digits δ in <= 1 s -> {t_ok:.3f} s ({'met' if t_ok <= 1.0 else 'MISSED'})")


if __name__ == "__main__":
    main()
