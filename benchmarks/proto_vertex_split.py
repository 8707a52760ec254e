"""A prototype of the search, not of the bound: Theorem 5.3's cap split by the DC vertex bound alone.

docs/perf-notes.md §9 (the convex barrier): at d = 10 no relaxation of one neuron at a time meets
bound/attack <= 1.02 on the cells the split reaches in 1 s. The DC vertex bound (f = f_+ - f_-, f_+
exact at the corners of the cell's polytope, f_- under a tangent, the rim by one Lagrange
multiplier; the comment above ``advcert.measured.cap_split._DC_MU``) is not a single-neuron
relaxation. The split takes min(CROWN, DC) on every child above its goal, 256 cells a round
(``CapSplit(dc=True)``, the default). This script instead bisects one cell at a time, strictly
best-first, each bounded by the DC bound alone (:func:`advcert.measured.cap_split.cell_dc_bound`,
sound per cell), and prints bound/attack after a number of cells beside the split with CROWN cells
only at the same number of cells: what the joint bound buys per cell. Minutes: every cell is set up
from all m neurons.

    python benchmarks/proto_vertex_split.py                 # d = 10, 3 points, 1000,4000,16000 cells
    python benchmarks/proto_vertex_split.py --cells 500,2000 --points 1
"""

from __future__ import annotations

import argparse
import heapq
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_peers import _sandwich_problem  # noqa: E402

from advcert.measured.cap_split import (CapSplit, _split_chart, _trim_to_ball, cap_split_bound,  # noqa: E402
                                        cell_dc_bound)
from advcert.measured.perturbation import make_domain  # noqa: E402


def vertex_split(net, x0, y, rho, attack, budgets):
    # best-first bisection along the longest side, children cut to the ball |u| <= T; returns (cells, bound) at each
    # budget (the max over the open and closed leaves) and the seconds taken
    _, T = _split_chart(make_domain(np.asarray(x0, dtype=np.float64), rho, "cap"))
    k = np.asarray(x0).size - 2
    lo, hi = np.full(k, -T), np.full(k, T)
    heap = [(-cell_dc_bound(net, x0, y, rho, lo, hi), 0, lo, hi)]
    nodes, uid, out, t0 = 1, 1, [], time.perf_counter()
    while nodes < budgets[-1] and -heap[0][0] > attack:
        _, _, lo, hi = heapq.heappop(heap)
        ax = int(np.argmax(hi - lo))
        mid = 0.5 * (lo[ax] + hi[ax])
        for side in (0, 1):
            L, H = lo.copy(), hi.copy()
            (H if side == 0 else L)[ax] = mid
            gap = np.maximum(np.maximum(L, 0.0), np.maximum(-H, 0.0))
            if gap @ gap > T * T:
                continue
            L, H = (v[0] for v in _trim_to_ball(L[None], H[None], T))
            heapq.heappush(heap, (-cell_dc_bound(net, x0, y, rho, L, H), uid, L, H))
            uid += 1
            nodes += 1
            if nodes in budgets:
                out.append((nodes, -heap[0][0], time.perf_counter() - t0))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, default=10, help="input dimension (default 10)")
    ap.add_argument("--points", type=int, default=3, help="points of the sandwich problem (default 3)")
    ap.add_argument("--cells", default="1000,4000,16000", metavar="N,N,...", help="cell counts to report")
    args = ap.parse_args(argv)
    try:
        budgets = sorted({int(v) for v in args.cells.split(",")})
    except ValueError:
        ap.error(f"--cells takes whole numbers separated by commas, got {args.cells!r}")
    if args.d < 4 or args.points < 1 or budgets[0] < 2:
        ap.error("need --d >= 4, --points >= 1 and cell counts >= 2")
    rho = 0.2
    a, W, b, X, y, net, L0, atk = _sandwich_problem(args.d, args.points, 4096, rho)
    print(f"d = {args.d}, m = 4096, rho = {rho}: bound/attack after N cells; the DC vertex bound alone (sound), "
          f"the sound split with CROWN cells only (cap_split_bound, dc=False) beside it")
    for i in range(args.points):
        A = float(atk.values[i])
        got = vertex_split(net, X[i], y[i], rho, A, budgets)
        row = ", ".join(f"{n} cells {v / A:.4f} ({t:.0f} s)" for n, v, t in got)
        print(f"   point {i}: DC vertex {row}", flush=True)
        sound = []
        for n in budgets:
            pb = cap_split_bound(net, X[i], y[i], rho, lower=A, split=CapSplit(max_cells=n, rel_gap=0.0, var_gap=0.0,
                                                                                 dc=False))
            sound.append(f"{pb.nodes} cells {pb.upper / max(A, pb.lower):.4f}")
        print(f"            CROWN split {', '.join(sound)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
