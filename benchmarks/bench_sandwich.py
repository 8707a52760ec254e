"""Benchmark of the Theorem 5.3 sandwich: attack below, sound bound above.

Prints, all measured in this one run (absolute times drift on a shared machine):

1. the loss kernel (value + gradient of |f_W - y|) against a plain numpy reference and
   against this machine's dgemm rate;
2. the cost of the plain CROWN bound per point as m and d grow (it should be O(m d)) and
   its ratio to a 100-step attack (target: the bound is >= 10x cheaper);
3. the gain of bounding over the cap B_2(x, rho) ∩ X instead of the l2 ball;
4. upper / attack after branch-and-bound for d <= 10 (target <= 1.1);
5. soundness on many random nets, small and wide (m = 4096), neuron trees and split caps: the
   attack never exceeds the bound.

    .venv/bin/python benchmarks/bench_sandwich.py            # full (a few minutes)
    .venv/bin/python benchmarks/bench_sandwich.py --quick    # smaller sizes
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advcert import sphere  # noqa: E402
from advcert.measured.attacks import AttackConfig, attack_network, loss_objective  # noqa: E402
from advcert.measured.cap_split import CapSplit, cap_split_bound  # noqa: E402
from advcert.measured.crown import Budget, crown_bounds, point_bound  # noqa: E402
from advcert.measured.network import plain  # noqa: E402


def _best(fn, repeat=3):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def _init_net(rng, m, d, move=0.5):
    # the paper's initialisation (Section 3) and a W moved from it like a trained/W* net
    a = rng.choice([-1.0, 1.0], m) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / math.sqrt(m)
    b = rng.standard_normal(m) / math.sqrt(m)
    W = W0 + move * rng.standard_normal((m, d)) / math.sqrt(m)
    return a, W0, b, W


def dgemm_rate(n=2000):
    A = np.random.default_rng(0).standard_normal((n, n))
    t = _best(lambda: A @ A, 3)
    return 2 * n**3 / t


def bench_kernel(rate, quick):
    print("\n1. loss kernel |f_W(x) - y| with gradient, N points x m neurons, d = 32")
    rng = np.random.default_rng(1)
    N, m, d = (400, 5000, 32) if quick else (2000, 20000, 32)
    a, W0, b, W = _init_net(rng, m, d)
    X = sphere.sample_uniform(rng, N, d)
    y = rng.uniform(-1, 1, N)
    idx = np.arange(N)
    obj = loss_objective(plain(a, W, b), y)
    obj(X[:8], idx[:8])
    obj(X, idx)

    def numpy_ref():
        out_v = np.empty(N)
        out_g = np.empty((N, d))
        for i in range(0, N, 64):  # chunked: no N x m array
            S = X[i : i + 64] @ W.T + b
            e = np.maximum(S, 0) @ a - y[i : i + 64]
            s = np.where(e >= 0, 1.0, -1.0)
            out_v[i : i + 64] = np.abs(e)
            out_g[i : i + 64] = s[:, None] * (((S > 0) * a) @ W)
        return out_v, out_g

    t_k = _best(lambda: obj(X, idx))
    t_np = _best(numpy_ref)
    v1, g1 = obj(X, idx)
    v2, g2 = numpy_ref()
    assert np.allclose(v1, v2, atol=1e-10) and np.allclose(g1, g2, atol=1e-10)
    flops = 4.0 * N * m * d  # value: 2 m d, gradient: 2 m d
    print(f"   numba kernel {t_k * 1e3:8.1f} ms  {N * m / t_k / 1e9:.3f} G pt.neuron/s  {flops / t_k / 1e9:6.1f} GFLOP/s")
    print(f"   numpy chunks {t_np * 1e3:8.1f} ms  {N * m / t_np / 1e9:.3f} G pt.neuron/s  {flops / t_np / 1e9:6.1f} GFLOP/s")
    print(f"   kernel / numpy speed-up: {t_np / t_k:.2f}x;  kernel at {flops / t_k / rate:.1%} of dgemm ({rate / 1e9:.1f} GFLOP/s)")


def bench_bound_cost(quick):
    print("\n2. plain CROWN bound per point (sound) vs a 100-step attack (8+1 starts x 2 sides + 256 random)")
    rng = np.random.default_rng(2)
    rows = []
    sizes = [(250, 8), (1000, 8), (4000, 8), (1000, 32)] if quick else [(500, 8), (2000, 8), (8000, 8), (32000, 8), (8000, 32)]
    n = 64  # the bound is batched over points; the attack's cost per point does not depend on n
    for m, d in sizes:
        a, W0, b, W = _init_net(rng, m, d)
        X = sphere.sample_uniform(rng, n, d)
        y = rng.uniform(-1, 1, n)
        net = plain(a, W, b)
        crown_bounds(net, X[:1], y[:1], 0.05)
        tb = _best(lambda: crown_bounds(net, X, y, 0.05), 3) / n
        attack_network(net, X[:16], y[:16], 0.05, seed=0, config=AttackConfig(steps=2))  # compile the kernels this size uses
        full = AttackConfig(restarts=8, steps=100, random_points=256)
        ta = _best(lambda: attack_network(net, X[:16], y[:16], 0.05, seed=0, config=full), 1) / 16
        rows.append((m, d, tb, ta))
        print(f"   m={m:6d} d={d:3d}: bound {tb * 1e3:8.3f} ms/pt ({tb / (m * d) * 1e9:6.2f} ns per m*d)   "
              f"attack {ta * 1e3:9.2f} ms/pt   attack/bound = {ta / tb:7.1f}x")
    (m1, d1, t1, _), (m2, d2, t2, _) = rows[-3 if not quick else 1], rows[-2 if not quick else 2]
    print(f"   scaling exponent in m (d={d1}): {math.log(t2 / t1) / math.log(m2 / m1):.2f}  (1 = O(m d))")
    return min(r[3] / r[2] for r in rows)


def bench_cap_gain(quick):
    print("\n3. cap B_2(x, rho) ∩ X vs the l2 ball B_2(x, rho): plain CROWN bounds, mean over points")
    rng = np.random.default_rng(3)
    for d in (3, 5, 10, 32):
        for rho in (0.05, 0.3):
            a, W0, b, W = _init_net(rng, 500, d)
            X = sphere.sample_uniform(rng, 10, d)
            y = np.maximum(X @ W.T + b, 0) @ a
            cap = crown_bounds(plain(a, W, b), X, y, rho, domain="cap")
            ball = crown_bounds(plain(a, W, b), X, y, rho, domain="ball")
            print(f"   d={d:3d} rho={rho:4.2f}: ball/cap = {np.mean(ball / cap):6.2f}  "
                  f"(cap {np.mean(cap):.4g}, ball {np.mean(ball):.4g})")


def bench_bab_ratio(quick):
    print("\n4. after branch-and-bound: upper / attack per point, target <= 1.1 (m = 64, n = 10, rho = 0.1)")
    rng = np.random.default_rng(4)
    worst_all = 0.0
    for d in (3, 5, 8, 10):
        for label in ("fitted", "random"):
            a, W0, b, W = _init_net(rng, 64, d, move=2.0)
            X = sphere.sample_uniform(rng, 10, d)
            y = np.maximum(X @ W.T + b, 0) @ a + 0.05 if label == "fitted" else rng.uniform(-1, 1, 10)
            net = plain(a, W, b)
            atk = attack_network(net, X, y, 0.1, seed=d, config=AttackConfig(restarts=8, steps=100))
            t = time.perf_counter()
            ratios, crown_r, nodes = [], [], 0
            for i in range(10):
                pb = point_bound(net, X[i], y[i], 0.1, lower=atk.values[i],
                                 budget=Budget(rel_gap=0.05, time_budget=2.0 if quick else 5.0))
                low = max(atk.values[i], pb.lower)
                ratios.append(pb.upper / low)
                crown_r.append(pb.crown / low)
                nodes += pb.nodes
            worst_all = max(worst_all, max(ratios))
            print(f"   d={d:3d} {label:6s}: CROWN/attack max {max(crown_r):6.3f}   after BaB max {max(ratios):6.3f} "
                  f"mean {np.mean(ratios):6.3f}   ({nodes} nodes, {time.perf_counter() - t:5.1f} s)")
    return worst_all


def bench_soundness(count):
    print(f"\n5. soundness on {count} random nets (m <= 12, every 100th m = 4096; d in 3..8; cap, ball and, every "
          "5th, the input-space split of the cap, deep on wide nets; and the batched CROWN): attack <= bound")
    rng = np.random.default_rng(5)
    worst = np.inf
    t = time.perf_counter()
    kinds = {"neuron": 0, "split": 0, "wide": 0, "wide split": 0}
    for trial in range(count):
        d = int(rng.integers(3, 9))
        wide = trial % 100 == 99
        m = 4096 if wide else int(rng.integers(1, 13))
        scale = 10.0 ** rng.uniform(-2, 2)
        a = rng.choice([-1.0, 1.0], m) * rng.uniform(0.2, 1.0, m)
        W = rng.standard_normal((m, d)) * scale
        b = rng.standard_normal(m) * 0.5 * scale
        x0 = sphere.sample_uniform(rng, 1, d)
        y = rng.uniform(-1, 1, 1)
        rho = float(rng.choice([0.02, 0.1, 0.3, 0.8, 1.9]))
        kind = "cap" if trial % 4 else "ball"
        net = plain(a, W, b)
        atk = attack_network(net, x0, y, rho, seed=trial, config=AttackConfig(restarts=2, steps=20, random_points=16))
        if kind == "cap" and (trial % 5 == 0 or (wide and (trial // 100) % 2 == 0)):
            # on wide nets a deep split: thousands of cells bounded incrementally from their parents
            cs = CapSplit(max_cells=4000, batch=256) if wide else CapSplit(max_cells=64, batch=8)
            pb = cap_split_bound(net, x0[0], y[0], rho, lower=atk.values[0], split=cs)
            kinds["split"] += 1
            kinds["wide split"] += wide
        else:
            pb = point_bound(net, x0[0], y[0], rho, domain=kind, lower=atk.values[0],
                             budget=Budget(max_nodes=8, optimise=trial % 3 == 0))
            kinds["neuron"] += 1
        kinds["wide"] += wide
        err = 1e-12 * (1.0 + float(np.abs(a) @ (np.linalg.norm(W, axis=1) + np.abs(b))))
        # and the batched plain CROWN of the fused kernel, on the same set
        cb = float(crown_bounds(net, x0, y, rho, domain=kind)[0])
        if cb < max(atk.values[0], pb.lower) - err:
            print(f"   UNSOUND at trial {trial}: attack {max(atk.values[0], pb.lower)!r} > batched CROWN {cb!r}")
            return False
        slack = pb.upper - (max(atk.values[0], pb.lower) - err)
        worst = min(worst, slack / max(pb.upper, 1e-300))
        if slack < 0:
            print(f"   UNSOUND at trial {trial}: attack {atk.values[0]!r} > bound {pb.upper!r}")
            return False
    print(f"   all {count} sound ({kinds['split']} split caps, {kinds['neuron']} neuron trees, {kinds['wide']} with "
          f"m = 4096, {kinds['wide split']} of them split); smallest relative slack {worst:.3g}  ({time.perf_counter() - t:.1f} s)")
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    ap.add_argument("--nets", type=int, default=None, help="random nets in the soundness run (default 10000, quick 1000)")
    ap.add_argument("--soundness-only", action="store_true", help="only the soundness run (table 5)")
    args = ap.parse_args(argv)
    if args.soundness_only:
        return 0 if bench_soundness(args.nets or (1000 if args.quick else 10000)) else 1
    rate = dgemm_rate(1500 if args.quick else 3000)
    print(f"dgemm: {rate / 1e9:.1f} GFLOP/s")
    bench_kernel(rate, args.quick)
    ratio = bench_bound_cost(args.quick)
    bench_cap_gain(args.quick)
    worst = bench_bab_ratio(args.quick)
    ok = bench_soundness(args.nets or (1000 if args.quick else 10000))
    print("\nsummary")
    print(f"   attack / bound cost, smallest over sizes: {ratio:.1f}x   (target >= 10x)  {'OK' if ratio >= 10 else 'MISSED'}")
    print(f"   upper / attack after BaB, worst over d <= 10: {worst:.3f}   (target <= 1.1)  {'OK' if worst <= 1.1 else 'MISSED'}")
    print(f"   soundness: {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
