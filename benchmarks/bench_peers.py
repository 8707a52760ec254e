"""advcert side by side with its peers, in one run (not part of the test suite).

1. Certified sup-norm (Lemma 6.4's sign polynomial p1, sup over [eta, 1] of |p1 - 1|): advcert's
   Arb certifier against Sollya's ``supnorm`` (CPU seconds, the same polynomial and interval).
2. Sound l2-ball bounds of Theorem 5.3's sup over B_2(x_i, rho) of |f_W - y_i| (the ball that
   contains the cap): advcert's CROWN and alpha-CROWN against auto_LiRPA's CROWN and
   CROWN-Optimized, 18 settings (d in {3, 8, 10}, m in {64, 512, 4096}, rho in {0.05, 0.2}):
   milliseconds per point and the bounds' ratio; advcert's cap CROWN beside them.
3. The sandwich at m = 4096, rho = 0.2: the attack (APGD + random search + the relaxations'
   maximisers) below, the input-space split of the cap
   (:func:`advcert.measured.cap_split.cap_split_bound`) above; median bound/attack and
   (bound - L0)/(attack - L0), L0 = |f(x0) - y|; auto_LiRPA's alpha-CROWN on the ball beside.
4. (``--time-law``) the sandwich at d = 8 and 10 against the split's time budget.
5. Where the split is loose at d = 10: its worst cells after ``--barrier-budget`` seconds against the
   convex barrier (the triangle LP of every undecided neuron over sampled points of the cell, scipy's
   HiGHS), the loss sampled there, the sum of the chords' gaps against what the undecided
   neurons' kinks actually add, and the DC vertex bound alone (docs/perf-notes.md §9).

The peers run in their own environments through subprocesses (never imported here):
auto_LiRPA through the interpreter in ``--lirpa-python`` (default /work/peers/lirpa/bin/python,
or $ADVCERT_LIRPA_PYTHON), Sollya through the ``sollya`` on PATH. A missing peer is reported and
its columns left empty; advcert's columns run anyway. The machine is shared: read the ratios
(measured in this one run), not the absolute times.

    python benchmarks/bench_peers.py            # everything (several minutes)
    python benchmarks/bench_peers.py --quick    # fewer points, m <= 512 in the table
    python benchmarks/bench_peers.py --skip supnorm,table,sandwich --time-law 1,4,16   # the sandwich against time
    python benchmarks/bench_peers.py --skip supnorm,table,sandwich --barrier-budget 4  # table 5 after 4 s a point
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advcert import sphere  # noqa: E402
from advcert.measured.attacks import AttackConfig, attack_network  # noqa: E402
from advcert.measured.cap_split import CapSplit, cap_split_bound, cell_dc_bound, cell_points, cell_ranges  # noqa: E402
from advcert.measured.crown import crown_bounds  # noqa: E402
from advcert.measured import reference  # noqa: E402
from advcert.measured.network import plain  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sandwich as sandwich_bench  # noqa: E402  (one timer for both benchmarks)

HERE = Path(__file__).resolve().parent
LIRPA_HELPER = HERE / "peers" / "lirpa_bounds.py"


def _net(rng, m, d, move=0.5):
    # the paper's initialisation (Section 3), moved like a trained net (as bench_sandwich.py)
    a = rng.choice([-1.0, 1.0], m) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / math.sqrt(m)
    b = rng.standard_normal(m) / math.sqrt(m)
    return a, W0 + move * rng.standard_normal((m, d)) / math.sqrt(m), b


def _problem(m, d, n, seed):
    rng = np.random.default_rng([m, d, seed])
    a, W, b = _net(rng, m, d)
    X = sphere.sample_uniform(rng, n, d)
    y = reference.f_value(plain(a, W, b), X) + rng.uniform(-0.1, 0.1, n)  # near the fit: the loss's variation matters
    return a, W, b, X, y


def _sandwich_problem(d, n, m=4096, rho=0.2):
    # the sandwich's points at m = 4096: the net, L0 = |f(x_i) - y_i| and the attack below the bound (tables 3, 4)
    a, W, b, X, y = _problem(m, d, n, 2)
    net = plain(a, W, b)
    L0 = np.abs(reference.f_value(net, X) - y)
    atk = attack_network(net, X, y, rho, seed=d, config=AttackConfig(restarts=8, steps=100, random_points=256))
    return a, W, b, X, y, net, L0, atk


def _best(fn, repeat=7):
    return sandwich_bench._best(fn, repeat)


# ---------------------------------------------------------------------------------------
# peers: detection and subprocess calls
# ---------------------------------------------------------------------------------------


def lirpa_python(path):
    """The auto_LiRPA interpreter and its versions, or (None, why)."""
    exe = path or os.environ.get("ADVCERT_LIRPA_PYTHON") or "/work/peers/lirpa/bin/python"
    if not Path(exe).exists():
        return None, f"no interpreter at {exe} (pass --lirpa-python)"
    r = subprocess.run([exe, "-c", "import auto_LiRPA, torch, sys; print(auto_LiRPA.__version__, torch.__version__, "
                        "sys.version.split()[0])"], capture_output=True, text=True)
    if r.returncode:
        return None, f"{exe} cannot import auto_LiRPA: {r.stderr.strip().splitlines()[-1] if r.stderr else r.returncode}"
    v = r.stdout.split()
    return exe, f"auto_LiRPA {v[0]} (torch {v[1]}, Python {v[2]})"


def run_lirpa(exe, a, W, b, X, rho):
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "p.npz"), os.path.join(tmp, "o.json")
        np.savez(src, a=a, W=W, b=b, X=X, rho=rho)
        r = subprocess.run([exe, str(LIRPA_HELPER), src, dst], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"auto_LiRPA helper failed: {r.stderr.strip()[-400:]}")
        with open(dst) as fh:
            return json.load(fh)


def sollya_version():
    exe = shutil.which("sollya")
    if exe is None:
        return None, "sollya is not on PATH (apt-get install sollya)"
    r = subprocess.run([exe, "--version"], capture_output=True, text=True)
    words = (r.stdout.strip().splitlines() or ["sollya"])[0].split()
    return exe, " ".join(w for w in words[:4] if w not in ("This", "is"))  # "sollya 8.0"


def _sollya_poly(poly) -> str:
    # the exact coefficients of a python-flint fmpq_poly as a Sollya polynomial (Horner, rationals)
    cs = [Fraction(int(c.p), int(c.q)) for c in poly.coeffs()]
    out = "0"
    for c in reversed(cs):
        out = f"({c.numerator}/{c.denominator}) + x*({out})"
    return out


def run_sollya(exe, poly, lo: Fraction, hi: Fraction, acc_bits: int = 40):
    """Sollya's supnorm(p1, 1, [lo, hi], absolute, 2^-acc): its enclosure and CPU seconds."""
    script = (f"prec = 300!;\ndisplay = decimal!;\np = {_sollya_poly(poly)};\n"
              f"r = supnorm(p, 1, [{lo.numerator}/{lo.denominator}; {hi.numerator}/{hi.denominator}], absolute, "
              f"2^(-{acc_bits}));\nprint(r);\nquit;\n")
    with tempfile.NamedTemporaryFile("w", suffix=".sollya", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([exe, path], capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(path)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip()[-200:], cpu


# ---------------------------------------------------------------------------------------
# the three tables
# ---------------------------------------------------------------------------------------


def bench_supnorm(exe, note):
    from advcert.poly import certify, sgn

    print(f"\n1. certified sup over [eta, 1] of |p1 - 1| (Lemma 6.4): advcert vs Sollya supnorm   [{note}]")
    print(f"   {'eta':>6s} {'eps1':>9s} {'degree':>6s} {'advcert CPU s':>14s} {'Sollya CPU s':>13s} {'Sollya/advcert':>15s}")
    for eta, eps1 in ((Fraction(1, 16), Fraction(1, 300)), (Fraction(1, 32), Fraction(1, 1000))):
        p1 = sgn.sign_polynomial(eta, eps1)
        t = time.process_time()
        res = certify.sup_abs_error(p1.poly, 1, eta, 1)
        t_ours = time.process_time() - t
        if exe is None:
            print(f"   {float(eta):6.4f} {float(eps1):9.2e} {p1.degree:6d} {t_ours:14.3f} {'-':>13s} {'-':>15s}")
            continue
        enc, t_s = run_sollya(exe, p1.poly, eta, Fraction(1))
        print(f"   {float(eta):6.4f} {float(eps1):9.2e} {p1.degree:6d} {t_ours:14.3f} {t_s:13.3f} {t_s / t_ours:14.1f}x"
              f"   (advcert [{float(res.lo):.12g}, {float(res.hi):.12g}], Sollya {enc[:60]})")


def _ours_alpha(net, X, y, rho):
    # alpha-CROWN on the ball for all points at once (Frank-Wolfe on alpha, 40 steps), no branching
    return crown_bounds(net, X, y, rho, domain="ball", alpha_iters=40)


def bench_table(exe, note, quick):
    print(f"\n2. sound bounds of sup over B_2(x_i, rho) of |f_W - y_i|: ms per point, and bound ratio   [{note}]")
    print("   (ratio = advcert / auto_LiRPA of the same method's bound of |f - y|; cap = advcert's CROWN on the cap)")
    hdr = (f"   {'d':>2s} {'m':>5s} {'rho':>5s} | {'CROWN ours':>10s} {'LiRPA':>8s} {'speed':>6s} {'ratio':>7s} | "
           f"{'aCROWN ours':>11s} {'LiRPA':>8s} {'speed':>6s} {'ratio':>7s} | {'cap CROWN':>9s} {'cap/ball':>8s}")
    print(hdr)
    worst = {"crown": math.inf, "alpha": math.inf, "cap": 0.0}
    n = 16 if quick else 64
    for d in (3, 8, 10):
        for m in ((64, 512) if quick else (64, 512, 4096)):
            for rho in (0.05, 0.2):
                a, W, b, X, y = _problem(m, d, n, 1)
                net = plain(a, W, b)
                crown_bounds(net, X[:2], y[:2], rho, domain="ball")
                t_c = _best(lambda: crown_bounds(net, X, y, rho, domain="ball")) / n
                cb = crown_bounds(net, X, y, rho, domain="ball")
                t_cap = _best(lambda: crown_bounds(net, X, y, rho, domain="cap")) / n
                k = n
                t_a = _best(lambda: _ours_alpha(net, X, y, rho)) / n
                ab = _ours_alpha(net, X, y, rho)
                row = f"   {d:2d} {m:5d} {rho:5.2f} | {t_c * 1e3:10.4f} "
                try:
                    lp = run_lirpa(exe, a, W, b, X, rho) if exe is not None else None
                except RuntimeError as e:
                    print(f"   {d:2d} {m:5d} {rho:5.2f} | auto_LiRPA failed: {str(e)[-120:]}")
                    lp = None
                if lp is not None:
                    lc = lp["CROWN"]
                    la = lp["CROWN-Optimized"]
                    lcb = np.maximum(np.array(lc["upper"]) - y, y - np.array(lc["lower"]))
                    lab = np.maximum(np.array(la["upper"]) - y, y - np.array(la["lower"]))
                    sc, sa = lc["seconds_per_point"] / t_c, la["seconds_per_point"] / t_a
                    worst["crown"], worst["alpha"] = min(worst["crown"], sc), min(worst["alpha"], sa)
                    row += (f"{lc['seconds_per_point'] * 1e3:8.4f} {sc:5.2f}x {np.median(cb / lcb):7.4f} | "
                            f"{t_a * 1e3:11.4f} {la['seconds_per_point'] * 1e3:8.4f} {sa:5.2f}x "
                            f"{np.median(ab / lab[:k]):7.4f} | ")
                else:
                    row += f"{'-':>8s} {'-':>6s} {'-':>7s} | {t_a * 1e3:11.4f} {'-':>8s} {'-':>6s} {'-':>7s} | "
                worst["cap"] = max(worst["cap"], t_cap / t_c)
                print(row + f"{t_cap * 1e3:9.4f} {t_cap / t_c:7.2f}x", flush=True)
    return worst


def bench_sandwich(exe, quick):
    m, rho = 4096, 0.2
    n = 4 if quick else 10
    from advcert.kernels.threads import numba_threads

    print(f"\n3. the sandwich on the cap at m = {m}, rho = {rho}: medians over {n} points; target bound/attack <= 1.02, "
          f"(bound - L0)/(attack - L0) <= 1.5, <= 1 s per point (the split on {numba_threads()} kernel threads)")
    print(f"   {'d':>2s} | {'CROWN/atk':>9s} {'split/atk':>9s} {'var CROWN':>9s} {'var split':>9s} {'s/pt':>6s} "
          f"{'cells':>6s} | {'LiRPA aCROWN ball/atk':>21s} {'var':>6s}")
    out = {}
    for d in (3, 8, 10):
        a, W, b, X, y, net, L0, atk = _sandwich_problem(d, n, m, rho)
        up, low, secs, cells, cr = [], [], [], [], []
        for i in range(n):
            pb = cap_split_bound(net, X[i], y[i], rho, lower=float(atk.values[i]), split=CapSplit(time_budget=0.95, max_cells=10**6))
            up.append(pb.upper)
            low.append(max(pb.lower, atk.values[i]))
            secs.append(pb.seconds)
            cells.append(pb.nodes)
            cr.append(pb.crown)
        up, low, cr = map(np.array, (up, low, cr))
        r_c, r_s = np.median(cr / low), np.median(up / low)
        v_c, v_s = np.median((cr - L0) / (low - L0)), np.median((up - L0) / (low - L0))
        row = (f"   {d:2d} | {r_c:9.4f} {r_s:9.4f} {v_c:9.3f} {v_s:9.3f} {np.median(secs):6.2f} {int(np.median(cells)):6d} | ")
        if exe is not None:
            la = run_lirpa(exe, a, W, b, X, rho)["CROWN-Optimized"]
            lab = np.maximum(np.array(la["upper"]) - y, y - np.array(la["lower"]))
            row += f"{np.median(lab / low):21.4f} {np.median((lab - L0) / (low - L0)):6.3f}"
        print(row, flush=True)
        out[d] = (r_s, v_s, float(np.median(secs)))
    return out


def bench_time_law(budgets, n=3):
    """How the sandwich closes with the split's time budget (m = 4096, rho = 0.2, d = 8 and 10), with the DC vertex
    bound (the default) and with CROWN cells only (``CapSplit(dc=False)``), in the same run."""
    m, rho = 4096, 0.2
    print(f"\n4. the sandwich against the split's time budget, m = {m}, rho = {rho}, {n} points (ranges over the "
          f"points); the split with the DC vertex bound, and with CROWN cells only")
    for d in (8, 10):
        _, _, _, X, y, net, L0, atk = _sandwich_problem(d, n, m, rho)
        for tb in budgets:
            for dc in (True, False):
                r = []
                for i in range(n):
                    pb = cap_split_bound(net, X[i], y[i], rho, lower=float(atk.values[i]),
                                         split=CapSplit(time_budget=tb, max_cells=10**9, dc=dc))
                    low = max(pb.lower, atk.values[i])
                    r.append((pb.upper / low, (pb.upper - L0[i]) / (low - L0[i]), pb.nodes))
                r = np.array(r)
                print(f"   d = {d:2d}, {tb:5.1f} s, {'DC   ' if dc else 'CROWN'}: bound/attack {r[:, 0].min():.3f}-"
                      f"{r[:, 0].max():.3f}, (bound - L0)/(attack - L0) {r[:, 1].min():.3f}-{r[:, 1].max():.3f}, cells "
                      f"{int(r[:, 2].min())}-{int(r[:, 2].max())}", flush=True)


def _triangle_lp(Z, a, y, sg, ranges=None):
    # max over the convex hull of the rows of Z (pre-activations at points of one cell) of sg (f - y), every neuron
    # that changes sign over its range relaxed by its triangle: the tightest relaxation of one neuron at a time (the
    # convex barrier, Salman et al. 2019). ranges = (neurons, low, high) widens the sampled ranges to those
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, diags, hstack

    lo, hi = Z.min(axis=0), Z.max(axis=0)
    if ranges is not None:
        idx, rl, rh = ranges
        lo[idx], hi[idx] = np.minimum(lo[idx], rl), np.maximum(hi[idx], rh)
    und = np.flatnonzero((hi > 0) & (lo < 0))
    s_a = sg * a
    fixed = Z[:, lo >= 0] @ s_a[lo >= 0]
    up = s_a[und] > 0  # s <= the chord u (z - l) / (u - l) where the net adds the neuron, s >= z where it subtracts
    l, u = lo[und], hi[und]
    k = np.where(up, -u / (u - l), 1.0)
    A = hstack([csr_matrix(Z[:, und].T * k[:, None]), diags(np.where(up, 1.0, -1.0))]).tocsr()
    rhs = np.where(up, -u * l / (u - l), 0.0)
    eq = csr_matrix(np.concatenate([np.ones(Z.shape[0]), np.zeros(und.size)])[None, :])
    res = linprog(-np.concatenate([fixed, s_a[und]]), A_ub=A, b_ub=rhs, A_eq=eq, b_eq=[1.0], bounds=(0, None),
                  method="highs")
    if not res.success:
        raise RuntimeError(f"HiGHS did not solve a cell's triangle LP: {res.message}")
    return -res.fun - sg * y


def _cell_samples(rng, x0, rho, lo, hi, inner=3000):
    # points of one cell for an inner hull: inside points, the box's corners pulled into the ball |u| <= T, and points
    # of the rim (the hull's extreme points are what the LP sees)
    k = lo.size
    U = lo + (hi - lo) * rng.random((4 * inner, k))
    cor = lo + (hi - lo) * rng.integers(0, 2, (2 ** min(k, 8), k))
    _, inside = cell_points(x0, rho, U)
    _, cin = cell_points(x0, rho, cor)
    U = U[inside][:inner]
    T = math.sqrt(float(np.max(np.einsum("ij,ij->i", U, U)))) if len(U) else float(np.max(np.abs(hi)))
    cor[~cin] *= (T / np.linalg.norm(cor[~cin], axis=1))[:, None]
    rim = lo + (hi - lo) * rng.random((20 * inner, k))
    rim *= (T / np.linalg.norm(rim, axis=1))[:, None]
    rim = rim[np.all((rim >= lo) & (rim <= hi), axis=1)][:500]
    return cell_points(x0, rho, np.concatenate([U, cor, rim]))[0]


def bench_barrier(d=10, n=3, budget=1.0, worst=5):
    """Where CROWN's cells are loose: the worst cells of the split with CROWN cells only (``CapSplit(dc=False)``)
    after ``budget`` seconds a point against the convex barrier (the triangle LP), the loss sampled there, the
    chords' gaps, the undecided neurons' true nonlinearity and the DC vertex bound alone, at m = 4096, rho = 0.2
    (docs/perf-notes.md §9)."""
    m, rho = 4096, 0.2
    print(f"\n5. the CROWN split's {worst} worst cells a point after {budget:g} s against the convex barrier: d = {d}, "
          f"m = {m}, rho = {rho}, {n} points; ranges over the cells, each over the attack value")
    legend = (
        "bound: the split's sound bound on the cell. LP: the triangle relaxation of every undecided neuron",
        "(the best of one neuron at a time) over the hull of up to 3 756 points of the cell, with the split's",
        "ranges / the sampled ones; both are below the barrier over the whole cell. sampled: the loss at those",
        "points (an estimate). chords: the sum of |a_r| (-l u)/(u - l) over the undecided neurons. nonlinear:",
        "the range of their sum less its best affine fit (sampled). DC vertex: the split's DC vertex bound alone",
        "on the cell (a sound-bound; cap_split.cell_dc_bound)",
    )
    print("\n".join("   " + line for line in legend))
    rng = np.random.default_rng(5)
    a, W, b, X, y, net, L0, atk = _sandwich_problem(d, n, m, rho)
    out = []
    for i in range(n):
        # CROWN cells only: the barrier is a statement about relaxations of one neuron at a time
        pb = cap_split_bound(net, X[i], y[i], rho, lower=float(atk.values[i]),
                             split=CapSplit(time_budget=budget, max_cells=10**9, dc=False))
        A = max(pb.lower, float(atk.values[i]))
        cells = pb.cells
        rows = []
        for j in np.argsort(-cells.bound)[:worst]:
            lo, hi = cells.lo[j], cells.hi[j]
            pts = _cell_samples(rng, X[i], rho, lo, hi)
            Z = pts @ W.T + b
            rg = cell_ranges(net, X[i], rho, lo, hi)
            lp_split = max(_triangle_lp(Z, a, y[i], sg, rg) for sg in (1.0, -1.0))
            lp_true = max(_triangle_lp(Z, a, y[i], sg) for sg in (1.0, -1.0))
            idx, rl, rh = rg
            un = (rl < 0) & (rh > 0)
            chords = float(np.sum(np.abs(a[idx[un]]) * (-rl[un] * rh[un]) / (rh[un] - rl[un])))
            g = np.maximum(Z[:, idx[un]], 0.0) @ a[idx[un]]
            B = np.concatenate([pts, np.ones((pts.shape[0], 1))], axis=1)
            res = g - B @ np.linalg.lstsq(B, g, rcond=None)[0]
            loss = float(np.max(np.abs(reference.f_value(net, pts) - y[i])))
            vertex = cell_dc_bound(net, X[i], y[i], rho, lo, hi)
            rows.append((cells.bound[j], lp_split, lp_true, loss, chords, res.max() - res.min(), vertex, un.sum()))
        r = np.array(rows)
        r[:, :7] /= A

        def span(c, f="{:.3f}"):
            return f"{f.format(r[:, c].min())}-{f.format(r[:, c].max())}"

        print(f"   point {i}: split bound {pb.upper / A:.4f} ({pb.nodes} cells) | cells: bound {span(0)}, LP "
              f"{span(1)} / {span(2)}, sampled {span(3)} | chords {span(4, '{:.2f}')}, nonlinear {span(5)}, "
              f"undecided {span(7, '{:.0f}')} | DC vertex {span(6)}", flush=True)
        out.append(r)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer points and widths")
    ap.add_argument("--lirpa-python", default=None, help="the interpreter of auto_LiRPA's own environment")
    ap.add_argument("--skip", default="", help="comma-separated tables to skip: supnorm, table, sandwich, barrier")
    ap.add_argument("--time-law", default="", metavar="S,S,...",
                    help="also table 4: the sandwich at these split time budgets in seconds (e.g. 1,4,16; minutes)")
    ap.add_argument("--barrier-budget", type=float, default=1.0, metavar="S",
                    help="table 5: the split's time budget per point before its worst cells are read (default 1)")
    args = ap.parse_args(argv)
    if not args.barrier_budget > 0:
        ap.error(f"--barrier-budget must be a positive number of seconds, got {args.barrier_budget}")
    skip = set(filter(None, args.skip.split(",")))
    lx, lnote = lirpa_python(args.lirpa_python)
    sx, snote = sollya_version()
    print(f"peers: {lnote}; {snote}")
    print("the machine may be shared: ratios are measured in this one run")
    if "supnorm" not in skip:
        bench_supnorm(sx, snote)
    worst = bench_table(lx, lnote, args.quick) if "table" not in skip else None
    sand = bench_sandwich(lx, args.quick) if "sandwich" not in skip else None
    if args.time_law:
        bench_time_law([float(v) for v in args.time_law.split(",")])
    barrier = bench_barrier(n=2 if args.quick else 3, budget=args.barrier_budget) if "barrier" not in skip else None
    print("\nsummary")
    if worst is not None and lx is not None:
        print(f"   CROWN: auto_LiRPA time / ours, worst setting {worst['crown']:.2f}x (target >= 1)  "
              f"{'OK' if worst['crown'] >= 1 else 'MISSED'}")
        print(f"   alpha-CROWN: auto_LiRPA time / ours, worst setting {worst['alpha']:.2f}x (target >= 2)  "
              f"{'OK' if worst['alpha'] >= 2 else 'MISSED'}")
    if worst is not None:
        print(f"   cap CROWN / ball CROWN time, worst setting {worst['cap']:.2f}x (target <= 1.5)  "
              f"{'OK' if worst['cap'] <= 1.5 else 'MISSED'}")
    if sand is not None:
        for d, (r, v, s) in sand.items():
            ok = r <= 1.02 and v <= 1.5 and s <= 1.0
            print(f"   sandwich d = {d:2d}: bound/attack {r:.4f}, (bound - L0)/(attack - L0) {v:.3f}, {s:.2f} s/pt  "
                  f"{'OK' if ok else 'MISSED'}")
    if barrier is not None:
        wall = ", ".join(f"{float(r[:, 2].max()):.3f}" for r in barrier)
        print(f"   d = 10 after {args.barrier_budget:g} s: the convex barrier (sampled ranges) on each point's worst "
              f"cells reaches {wall} of the attack;\n   where it is above 1.02, no relaxation of one neuron at a time "
              f"meets bound/attack <= 1.02 on the cells the split reached")
        rows = np.concatenate(barrier)
        low = int(np.sum(rows[:, 6] < rows[:, 3]))  # a bound below a sampled loss would be unsound
        print(f"   the DC vertex bound reaches {rows[:, 6].max():.3f} on those cells; below the sampled loss on "
              f"{low} of {len(rows)} {'(OK)' if low == 0 else '(UNSOUND: an error in the DC vertex bound)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
