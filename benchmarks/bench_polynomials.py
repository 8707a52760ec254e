"""Issue-2 targets: the certified plane at the headline (γ=0.5, ε=0.1, n=10; degree 245).

Prints, measured in one run on this machine:
* each polynomial stage (build p1, certify p1, compose q, certify q on I_in and I_out);
* the ratio of our FLINT divide-and-conquer Chebyshev build to a plain Python-integer
  evaluation of the closed formula (math-spec §2), on the same (k, d);
* the whole ``advcert build`` and ``advcert verify`` wall times (separate processes).

Run:  python benchmarks/bench_polynomials.py
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction


def best_of(fn, repeat=5):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def plain_numerators(k: int, d: int) -> list[int]:
    """The closed formula with Python ints and math.comb: the plain reference."""
    return [sum(math.comb(2 * i, i) * math.comb(i, (i + j) // 2) << (3 * (k - i))
                for i in range(j, k + 1) if (i - j) % 2 == 0) for j in range(d + 1)]


def main() -> None:
    from advcert.data.instance import certify_separation, synthetic
    from advcert.poly import certify, sgn
    from advcert.poly.interpolant import lemma62_intervals
    from advcert.poly.step import claim63_alpha, step_polynomial

    gamma, eps, rho, n = Fraction(1, 2), Fraction(1, 10), Fraction(1, 20), 10
    eta, eps1 = gamma / 8, eps / (3 * n)
    inst = synthetic(n, 8, rho, gamma, eps, seed=0)
    sep = certify_separation(inst.points, rho, gamma)
    iv = lemma62_intervals(sep, rho)

    t_p1, m_p1, p1 = best_of(lambda: sgn.sign_polynomial(eta, eps1))
    t_c1, m_c1, e1 = best_of(lambda: certify.sup_abs_error(p1.poly, 1, eta, 1))
    alpha = claim63_alpha(rho, eta)
    t_q, m_q, q = best_of(lambda: step_polynomial(p1, alpha))
    t_in, m_in, e_in = best_of(lambda: certify.sup_abs_error(q.poly, 1, *iv.inside))
    t_out, m_out, e_out = best_of(lambda: certify.sup_abs_error(q.poly, 0, *iv.outside))
    total = t_p1 + t_c1 + t_q + t_in + t_out

    t_fast, _, fast = best_of(lambda: sgn.chebyshev_numerators(p1.taylor_k, p1.cheb_d), repeat=3)
    t_plain, _, plain = best_of(lambda: plain_numerators(p1.taylor_k, p1.cheb_d), repeat=1)
    assert fast == plain

    print(f"headline: k={p1.taylor_k} d={p1.cheb_d} degree={p1.degree} (paper's Claim 6.3 degree 406.9)")
    print(f"{'stage':34s} {'best s':>8s} {'median s':>9s}  notes")
    print(f"{'Lemma 6.4 build p1 (exact)':34s} {t_p1:8.3f} {m_p1:9.3f}")
    print(f"{'Lemma 6.4 certify sup|p1-1|':34s} {t_c1:8.3f} {m_c1:9.3f}  {e1.pieces} pieces, {e1.precision} bits")
    print(f"{'Claim 6.3 compose q (exact)':34s} {t_q:8.3f} {m_q:9.3f}")
    print(f"{'Claim 6.3 certify I_in':34s} {t_in:8.3f} {m_in:9.3f}  {e_in.pieces} pieces")
    print(f"{'Claim 6.3 certify I_out':34s} {t_out:8.3f} {m_out:9.3f}  {e_out.pieces} pieces")
    print(f"{'polynomial stages total (best)':34s} {total:8.3f}            target <= 0.5 s")
    print(f"Chebyshev numerators: FLINT D&C {t_fast:.3f} s vs plain Python-int formula {t_plain:.3f} s "
          f"-> {t_plain / t_fast:.1f}x")

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "c.json")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "advcert", "build", "--gamma", "0.5", "--eps", "0.1", "--quiet",
                        "--out", out], check=True, stdout=subprocess.DEVNULL)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "advcert", "verify", out], check=True, stdout=subprocess.DEVNULL)
        t_verify = time.perf_counter() - t0
    print(f"advcert build (whole process): {t_build:.2f} s   target <= 30 s")
    print(f"advcert verify (whole process): {t_verify:.2f} s   target <= 10 s")


if __name__ == "__main__":
    main()
