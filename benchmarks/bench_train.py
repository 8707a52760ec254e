"""One step of Algorithm 1 (adversary + update) at n=100, m=2^14, d=32 with a 10-step attack.

Prints, measured in one run (the machine is shared and noisy; the references interleaved, the fused
steps back to back in blocks before and after the PyTorch run):
  * the fused step's rate in GFLOP/s over its dgemm-equivalent flops, as a ratio to the
    machine's dgemm rate (square matrices, all BLAS threads) -- target >= 0.3x;
  * the same per core: the fused step on one numba thread against one-thread dgemm (less
    sensitive to other jobs holding a core, which starves a 2-thread parallel region);
  * steps/s of the fused step against the plain numpy step (reference.algorithm1_step, which
    forms the n x m pre-activations), and their ratio;
  * with ``--torch PYTHON`` (a Python that has torch, e.g. a separate venv: torch is not a
    dependency of advcert), the same work as plain PyTorch float64 (benchmarks/torch_step.py,
    run with the same thread count right after the fused steps) and the fused step's speed-up
    over it (target >= 2x).

Flop count of one step with s attack steps (the adversary starts at the data points):
evaluations of f and grad_x f at the start and after steps 1..s-1 (2 GEMMs each, 4nmd), a
value-only evaluation after step s (2nmd), and the update (2 GEMMs, 4nmd): (4s + 6) nmd.
The gemv for f (2nm per evaluation) is not counted.

    .venv/bin/python benchmarks/bench_train.py [--n 100] [--m 16384] [--d 32] [--steps 10] [--reps 7]
                                               [--torch /work/venv-torch/bin/python]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (scipy's BLAS loaded before threadpoolctl limits it)

from numba import get_num_threads, set_num_threads
from threadpoolctl import threadpool_limits

from advcert import sphere
from advcert.measured import algorithm1, reference
from advcert.measured.loss import Adversary
from advcert.measured.network import TwoLayerNet


def dgemm_rate(size: int = 2000) -> float:
    """GFLOP/s of one square dgemm with numpy's default BLAS threads."""
    A = np.random.default_rng(1).random((size, size))
    B = np.random.default_rng(2).random((size, size))
    t = time.perf_counter()
    A @ B
    return 2.0 * size**3 / (time.perf_counter() - t) / 1e9


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--m", type=int, default=2**14)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--torch", metavar="PYTHON", help="a Python with torch: also time plain PyTorch float64")
    args = ap.parse_args(argv)
    n, m, d, s = args.n, args.m, args.d, args.steps

    ss = np.random.SeedSequence(20200214)
    rng = np.random.default_rng(ss)
    X = sphere.sample_uniform(rng, n, d)
    y = np.round(rng.uniform(-1, 1, n) * 1024) / 1024
    a = rng.choice([-1.0, 1.0], m) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / np.sqrt(m)
    b = rng.standard_normal(m) / np.sqrt(m)
    # a network some way into training, so activation patterns have moved
    W = W0 + rng.standard_normal((m, d)) * 3 * m ** (-2 / 3) / np.sqrt(d)
    net = TwoLayerNet(a, W0, b, W)
    adv = Adversary(rho=0.05, steps=s)
    eta = 0.1 * m ** (-1 / 3)
    flops = (4 * s + 6) * n * m * d

    def fused():
        att = algorithm1.adversary_points(net, X, y, adv)
        return algorithm1.sgd_step(net, att.points, att.f, y, eta)

    def numpy_step():
        return reference.algorithm1_step(net, X, y, eta, adv)

    # warm-up (numba compiles or loads its cache) and agreement of the two steps
    Wf, df = fused()
    Wr, _, dr = numpy_step()
    dgemm_rate()
    diff = float(np.max(np.abs(Wf - Wr)))

    threads = get_num_threads()

    def one_core():
        set_num_threads(1)
        try:
            t0 = time.perf_counter()
            fused()
            return time.perf_counter() - t0
        finally:
            set_num_threads(threads)

    one_core()  # compiles or loads the one-thread kernels
    t_f, t_r, t_1, g, g1 = [], [], [], [], []
    for _ in range(args.reps):  # the references, interleaved against drifting load
        g.append(dgemm_rate())
        t0 = time.perf_counter()
        numpy_step()
        t_r.append(time.perf_counter() - t0)
        g.append(dgemm_rate())
        t_1.append(one_core())
        with threadpool_limits(limits=1, user_api="blas"):
            g1.append(dgemm_rate())

    def fused_block():
        # back to back, as Algorithm 1 runs them. Not interleaved with the multi-threaded dgemm: OpenBLAS's
        # threads spin for about 0.1 s after a threaded call and take the core of the step's second thread
        # (a step right after a dgemm took 71 ms, back to back 35 ms, measured on this machine)
        time.sleep(0.5)
        fused()
        for _ in range(args.reps):
            t0 = time.perf_counter()
            fused()
            t_f.append(time.perf_counter() - t0)

    fused_block()
    t_torch = None
    if args.torch:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_step.py")
        out = subprocess.run([args.torch, script, "--n", str(n), "--m", str(m), "--d", str(d), "--steps", str(s),
                              "--reps", str(args.reps), "--threads", str(threads)],
                             capture_output=True, text=True, check=True)
        t_torch = float(out.stdout.split()[-2]) / 1e3
        fused_block()  # the fused step again, right after, against drifting load
    tf, tr, gm = float(np.median(t_f)), float(np.median(t_r)), float(np.median(g))
    t1, gm1 = float(np.median(t_1)), float(np.median(g1))
    rate = flops / tf / 1e9
    print(f"Algorithm 1 step, n={n} m={m} d={d}, {s}-step attack; {flops / 1e9:.3f} GFLOP per step (dgemm-equivalent)")
    print(f"  fused step:   {tf * 1e3:8.1f} ms  (median of {args.reps}; min {min(t_f) * 1e3:.1f})  {rate:6.2f} GFLOP/s")
    print(f"  numpy step:   {tr * 1e3:8.1f} ms  (median of {args.reps}; min {min(t_r) * 1e3:.1f})  {flops / tr / 1e9:6.2f} GFLOP/s")
    print(f"  dgemm:        {gm:8.2f} GFLOP/s (median of {len(g)}, 2000^3, default BLAS threads)")
    print(f"  ratio to dgemm rate:   {rate / gm:.2f}x   (target >= 0.3x; {threads} numba threads)")
    print(f"  per core: fused on 1 thread {t1 * 1e3:.1f} ms = {flops / t1 / 1e9:.2f} GFLOP/s, 1-thread dgemm "
          f"{gm1:.2f} GFLOP/s: {flops / t1 / 1e9 / gm1:.2f}x")
    print(f"  steps/s fused / numpy: {1 / tf:.2f} / {1 / tr:.2f} = {tr / tf:.2f}x")
    if t_torch is not None:
        print(f"  plain PyTorch float64 step ({threads} threads): {t_torch * 1e3:.1f} ms (median of {args.reps}); "
              f"fused / torch speed-up {t_torch / tf:.2f}x (target >= 2x)")
    print(f"  max |W_fused - W_numpy| = {diff:.3g}; drift {df:.6g} vs {dr:.6g}")


if __name__ == "__main__":
    main()
