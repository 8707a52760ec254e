"""Lemma 6.4's role filled by the minimax sign polynomial, and Eremenko–Yuditskii's optimum.

Lemma 6.4 asks for an odd p1 with |p1 - sgn| <= ε1 on [-1, -η] ∪ [η, 1]; the paper builds
one by Taylor truncation and Chebyshev compression (``advcert.poly.sgn``). The polynomial of
least deviation from sgn there (unique and odd, by Chebyshev's alternation theorem) reaches ε1
at a far lower degree. A. Eremenko and P. Yuditskii, "Uniform approximation of sgn(x) by
polynomials and entire functions", J. Anal. Math. 101 (2007) 313-324 (arXiv:math/0604324),
Theorem 1: with L_m(a) the least deviation of a polynomial of degree <= 2m+1 from sgn on
X(a) = [-1, -a] ∪ [a, 1],

    lim_{m→∞} √m ((1 + a)/(1 - a))^m L_m(a) = (1 - a)/√(π a).

The paper gives no numerical value; math-spec §10 gives the published exact degree-3 pair
(Amsel et al., arXiv:2505.16932, §4.2) that pins ``remez_sign`` and an independent 60-digit
computation, and the Richardson check of this constant (tests/test_minimax.py).

Construction here (each step a candidate; only the last is a certificate):

1. Remez exchange in mpmath (``dps`` digits) on the even reduction p(x) = x r(x²): r is a
   degree-m polynomial in t = x² ∈ [η², 1], written in the Chebyshev basis of
   s = (2t - 1 - η²)/(1 - η²), and the error 1 - p(x) on [η, 1] must equioscillate at m + 2
   points (the system {x T_k(s(x²))} is a Haar system on [η, 1]).
2. Degree search: from the Eremenko–Yuditskii degree, down while the levelled error of the
   next lower odd degree is <= ε1 and up while it is > ε1.
3. Rounding: the Chebyshev coefficients to dyadics, the exact monomial form of p, then each
   coefficient to the grid 2^-B (as ``advcert.poly.sgn`` does).
4. Certification of the stored polynomial with ``advcert.poly.certify.sup_abs_error(p, 1, η, 1)``,
   the very call ``advcert.build`` makes for check lemma-6.4; if the enclosure's upper end
   exceeds ε1 the next odd degree is tried.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
from flint import fmpq, fmpq_poly

from advcert.poly import certify
from advcert.poly.certify import SupEnclosure
from advcert.poly.sgn import SignPolynomial, chebyshev_y
from advcert.poly.step import step_polynomial
from advcert.poly.zform import ZStep, cheb_z

GRID_BITS = 64
DPS = 50


# ---------------------------------------------------------------------------------------
# Eremenko–Yuditskii (J. Anal. Math. 101 (2007), Theorem 1)
# ---------------------------------------------------------------------------------------


def eremenko_yuditskii_error(eta: Fraction, n: int, *, dps: int = DPS) -> mpmath.mpf:
    """Eremenko–Yuditskii's asymptotic least deviation from sgn on [-1, -η] ∪ [η, 1] at degree n
    (J. Anal. Math. 101 (2007), Theorem 1): with m = ⌊(n - 1)/2⌋ (the best approximant of the odd
    sgn is odd, so degree n behaves as 2m + 1),

        L_m(η) ~ (1 - η)/√(π η m) · ((1 - η)/(1 + η))^m.

    Evaluated in mpmath at ``dps`` digits (it is the asymptotic form, not a bound)."""
    eta = Fraction(eta)
    if not 0 < eta < 1:
        raise ValueError("Eremenko–Yuditskii need 0 < η < 1")
    m = (int(n) - 1) // 2
    if m < 1:
        raise ValueError("the asymptotic form needs degree n >= 3 (m >= 1)")
    with mpmath.workdps(dps):
        a = mpmath.mpf(eta.numerator) / eta.denominator
        return +((1 - a) / mpmath.sqrt(mpmath.pi * a * m) * ((1 - a) / (1 + a)) ** m)


def eremenko_yuditskii_degree(eta: Fraction, eps1: Fraction, *, dps: int = DPS) -> int:
    """The least odd n = 2m + 1 whose Eremenko–Yuditskii asymptotic error (J. Anal. Math. 101
    (2007), Theorem 1) is <= ε1: Lemma 6.4's degree at the asymptotic optimum. Both factors of
    the asymptotic form decrease in m, so the comparison is monotone; it is made in mpmath."""
    eta, eps1 = Fraction(eta), Fraction(eps1)
    if not 0 < eps1 < 1:
        raise ValueError("ε1 must lie in (0, 1)")
    with mpmath.workdps(dps):
        target = mpmath.mpf(eps1.numerator) / eps1.denominator
        a = mpmath.mpf(eta.numerator) / eta.denominator
        # start from the root of the log form, ignoring the √m factor (an underestimate of m)
        rate = mpmath.log((1 + a) / (1 - a))
        m = max(1, int(mpmath.floor(mpmath.log((1 - a) / (mpmath.sqrt(mpmath.pi * a) * target)) / rate)) - 1)

        def ok(k: int) -> bool:
            return eremenko_yuditskii_error(eta, 2 * k + 1, dps=dps) <= target

        while m > 1 and ok(m - 1):
            m -= 1
        while not ok(m):
            m += 1
    return 2 * m + 1


# ---------------------------------------------------------------------------------------
# Remez exchange on the even reduction (Lemma 6.4's p1 as a minimax polynomial)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemezResult:
    """The minimax odd polynomial of degree 2m + 1 for sgn on [-1, -η] ∪ [η, 1] (a candidate).

    p(x) = x Σ_k c_k T_k(s(x²)), s(t) = (2t - 1 - η²)/(1 - η²). ``levelled`` is |E| of the last
    reference (a lower bound on the least deviation by de la Vallée Poussin: the error
    alternates in sign there), ``max_error`` the largest |1 - p| found on [η, 1] (an upper
    estimate); ``reference`` the m + 2 alternation points."""

    eta: Fraction
    degree: int
    coefficients: tuple[mpmath.mpf, ...]
    levelled: mpmath.mpf
    max_error: mpmath.mpf
    reference: tuple[mpmath.mpf, ...]
    errors: tuple[mpmath.mpf, ...]  # 1 - p at the reference points, alternating in sign
    iterations: int
    dps: int


def _mp(x: Fraction) -> mpmath.mpf:
    x = Fraction(x)
    return mpmath.mpf(x.numerator) / x.denominator


def _cheb_sum(c, s):
    """Σ_k c_k T_k(s) by Clenshaw (mpmath)."""
    b1 = b2 = mpmath.mpf(0)
    for ck in reversed(c[1:]):
        b1, b2 = 2 * s * b1 - b2 + ck, b1
    return s * b1 - b2 + c[0]


def _s_of_x(x, a2):
    return (2 * x * x - 1 - a2) / (1 - a2)


def _x_of_s(s, a2):
    return mpmath.sqrt(((1 - a2) * s + 1 + a2) / 2)


def _error(c, x, a2):
    """1 - p(x) for p(x) = x Σ c_k T_k(s(x²))."""
    return 1 - x * _cheb_sum(c, _s_of_x(x, a2))


def _extrema(c, a2, eta_mp, grid: int):
    """Alternating local extrema of 1 - p on [η, 1]: (points, errors), one per sign run.

    The sign runs are located on a float64 grid (Chebyshev-clustered in s; only a locator),
    and each extremum is then refined and evaluated in mpmath."""
    n = grid
    sg = -np.cos(np.pi * np.arange(n) / (n - 1))
    a2f = float(a2)
    xg = np.sqrt(((1 - a2f) * sg + 1 + a2f) / 2)
    cf = np.array([float(v) for v in c])
    eg = 1.0 - xg * np.polynomial.chebyshev.chebval(sg, cf)
    runs: list[list[int]] = []
    for i, e in enumerate(eg):
        if e == 0:
            continue
        if runs and (eg[runs[-1][0]] > 0) == (e > 0):
            runs[-1].append(i)
        else:
            runs.append([i])
    idx = [max(run, key=lambda j: abs(eg[j])) for run in runs]
    inner = np.array([i for i in idx if 0 < i < n - 1], dtype=int)
    located = dict(zip(inner.tolist(), _golden_float(cf, xg[inner - 1], xg[inner + 1], a2f).tolist()))
    pts, errs = [], []
    for i in idx:
        # the located point is a float; its error is evaluated in mpmath (the value moves only
        # to second order in the location, ~1e-16 absolute)
        x = eta_mp if i == 0 else mpmath.mpf(1) if i == n - 1 else mpmath.mpf(located[i])
        pts.append(x)
        errs.append(_error(c, x, a2))
    return pts, errs


def _golden_float(cf: np.ndarray, lo: np.ndarray, hi: np.ndarray, a2f: float, steps: int = 60) -> np.ndarray:
    """Vectorised golden-section search for the maxima of |1 - p| on each [lo_i, hi_i] (float64
    locator only)."""
    def f(x):
        s = (2 * x * x - 1 - a2f) / (1 - a2f)
        return np.abs(1.0 - x * np.polynomial.chebyshev.chebval(s, cf))

    g = (np.sqrt(5.0) - 1) / 2
    lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(steps):
        left = f1 > f2
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        nx1 = np.where(left, hi - g * (hi - lo), x2)
        nx2 = np.where(left, x1, lo + g * (hi - lo))
        x1, x2 = nx1, nx2
        f1, f2 = f(x1), f(x2)
    return np.where(f1 > f2, x1, x2)


def remez_sign(eta: Fraction, degree: int, *, dps: int = DPS, tol: float = 1e-10,
               max_iter: int = 60, grid: int | None = None) -> RemezResult:
    """Minimax odd polynomial of degree ``degree`` (odd) for sgn on [-1, -η] ∪ [η, 1]
    (Lemma 6.4's p1 at its least deviation; Eremenko–Yuditskii's p_m). Remez exchange in mpmath;
    a float-free candidate, certified later on its rounded form.

    The extrema are located in float64, so errors below about 1e-14 are not resolved: there the
    levelled error is a valid but weak lower bound, and the degree search may stop above the
    least degree (math-spec §10, "Limit"); the certification of the stored p1 is unaffected."""
    eta = Fraction(eta)
    degree = int(degree)
    if degree < 1 or degree % 2 == 0:
        raise ValueError("the minimax approximant of the odd sgn is odd: pass an odd degree")
    m = (degree - 1) // 2
    grid = grid or max(400, 24 * (m + 2))
    with mpmath.workdps(dps):
        a = _mp(eta)
        a2 = a * a
        # initial reference: the extrema of T_{m+1} in s
        ref = [_x_of_s(-mpmath.cos(mpmath.pi * i / (m + 1)), a2) for i in range(m + 2)]
        c: list = []
        E = mpmath.mpf(0)
        it = 0
        for it in range(1, max_iter + 1):
            A = mpmath.matrix(m + 2, m + 2)
            rhs = mpmath.matrix(m + 2, 1)
            for i, x in enumerate(ref):
                s = _s_of_x(x, a2)
                t0, t1 = mpmath.mpf(1), s
                for k in range(m + 1):
                    if k == 0:
                        tk = t0
                    elif k == 1:
                        tk = t1
                    else:
                        t0, t1 = t1, 2 * s * t1 - t0
                        tk = t1
                    A[i, k] = x * tk
                A[i, m + 1] = (-1) ** i
                rhs[i] = 1
            sol = mpmath.lu_solve(A, rhs)
            c = [sol[k] for k in range(m + 1)]
            E = sol[m + 1]
            pts, errs = _extrema(c, a2, a, grid)
            while len(pts) > m + 2:  # drop the smaller end: alternation is kept
                if abs(errs[0]) < abs(errs[-1]):
                    pts, errs = pts[1:], errs[1:]
                else:
                    pts, errs = pts[:-1], errs[:-1]
            if len(pts) < m + 2:
                raise RuntimeError(f"Remez lost alternation at degree {degree} (η = {eta}); raise dps or grid")
            hi = max(abs(e) for e in errs)
            lo = min(abs(e) for e in errs)
            ref = pts
            # the float locator places extrema to ~1e-16 in |e| (second order in position), so
            # the spread cannot be resolved below that: for tiny errors the tolerance widens
            if hi - lo <= max(tol * hi, mpmath.mpf(2) ** -46):
                break
        else:
            raise RuntimeError(f"Remez did not converge in {max_iter} exchanges at degree {degree}")
        return RemezResult(eta=eta, degree=degree, coefficients=tuple(c), levelled=lo, max_error=hi,
                           reference=tuple(ref), errors=tuple(errs), iterations=it, dps=dps)


def minimax_degree(eta: Fraction, eps1: Fraction, *, dps: int = DPS, start: int | None = None) -> tuple[int, dict[int, RemezResult]]:
    """The least odd degree whose minimax error for sgn on [-1, -η] ∪ [η, 1] is <= ε1
    (Lemma 6.4's requirement), from Remez runs starting at the Eremenko–Yuditskii degree.
    A degree is rejected when its de la Vallée Poussin lower bound (the levelled error) exceeds
    ε1 and accepted when its largest found error is <= ε1. Returns the degree and the runs."""
    eta, eps1 = Fraction(eta), Fraction(eps1)
    n = start or eremenko_yuditskii_degree(eta, eps1, dps=dps)
    runs: dict[int, RemezResult] = {}

    def run(k: int) -> RemezResult:
        if k not in runs:
            runs[k] = remez_sign(eta, k, dps=dps)
        return runs[k]

    with mpmath.workdps(dps):
        target = _mp(eps1)
        while n > 1 and run(n - 2).max_error <= target:
            n -= 2
        while run(n).max_error > target:
            n += 2
    return n, runs


# ---------------------------------------------------------------------------------------
# exact, certified polynomial
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MinimaxSign:
    """The minimax p1 of Lemma 6.4's role, certified: sup_{[η,1]} |p1 - 1| <= enclosure.hi <= ε1.

    ``sign`` is a :class:`advcert.poly.sgn.SignPolynomial` carrying the stored exact p1, so that
    ``advcert.poly.step.step_polynomial(sign, α)`` composes q as in Claim 6.3 unchanged. Its
    Lemma-6.4-specific fields are filled as follows: taylor_k = 0 and err_taylor = 0 (no Taylor
    step), cheb_d = m (so its degree 2m + 1 is right), err_compress = the certified upper end
    ``enclosure.hi`` (a proved bound, so ``a_priori_error`` stays a proved bound), rounding =
    the rounding bound on [-1, 1], cheb_b = float Chebyshev-in-y coefficients of the stored Q
    (exact conversion; ill-conditioned at large degree, see ``advcert.poly.zform``)."""

    sign: SignPolynomial
    remez: RemezResult
    enclosure: SupEnclosure
    ey_degree: int  # Eremenko–Yuditskii asymptotic optimum for (η, ε1)
    searched: tuple[tuple[int, float, float], ...]  # (degree, levelled, max error) of each Remez run
    seconds: float

    @property
    def degree(self) -> int:
        return self.sign.degree

    @property
    def poly(self) -> fmpq_poly:
        return self.sign.poly

    @property
    def coefficients(self) -> tuple[Fraction, ...]:
        return tuple(Fraction(int(c.p), int(c.q)) for c in self.sign.poly.coeffs())


def _dyadic(x: mpmath.mpf, bits: int) -> Fraction:
    return Fraction(int(mpmath.nint(x * (mpmath.mpf(2) ** bits))), 1 << bits)


def _round_to_grid(p: fmpq_poly, bits: int) -> tuple[fmpq_poly, Fraction]:
    """Each coefficient to the nearest multiple of 2^-bits; the bound it costs on [-1, 1]."""
    scale = 1 << bits
    out, moved = [], 0
    for c in p.coeffs():
        num, den = int(c.p), int(c.q)
        r = (2 * num * scale + den) // (2 * den)
        if Fraction(r, scale) != Fraction(num, den):
            moved += 1
        out.append(fmpq(r, scale))
    return fmpq_poly(out), Fraction(moved, 2 * scale)


def exact_polynomial(remez: RemezResult, *, grid_bits: int = GRID_BITS) -> tuple[fmpq_poly, Fraction]:
    """The stored rational p1 from a Remez candidate, and a bound on sup_{[-1,1]} |stored - candidate|.

    The Chebyshev coefficients are rounded to 2^-(B+8), p = x Σ c_k T_k(s(x²)) is formed exactly
    (Clenshaw over fmpq_poly), then rounded to the grid 2^-B. On [-1, 1], |s(x²)| <= σ =
    (1 + η²)/(1 - η²), so |x T_k(s(x²))| <= T_k(σ), which bounds the first rounding."""
    eta = remez.eta
    a2 = eta * eta
    fine = grid_bits + 8
    with mpmath.workdps(remez.dps):
        cs = [_dyadic(ck, fine) for ck in remez.coefficients]
    # exact: s(x²) = (2x² - 1 - η²)/(1 - η²)
    s = fmpq_poly([fmpq(-(1 + a2).numerator * (1 - a2).denominator, (1 + a2).denominator * (1 - a2).numerator), 0,
                   fmpq(2 * (1 - a2).denominator, (1 - a2).numerator)])
    b1 = fmpq_poly([])
    b2 = fmpq_poly([])
    for ck in reversed(cs[1:]):
        b1, b2 = 2 * s * b1 - b2 + fmpq(ck.numerator, ck.denominator), b1
    r = s * b1 - b2 + fmpq(cs[0].numerator, cs[0].denominator)
    p = fmpq_poly([0, 1]) * r
    stored, moved = _round_to_grid(p, grid_bits)
    # T_k(σ) <= T_m(σ) for k <= m (σ >= 1), and each |δc_k| <= 2^-(fine+1)
    sigma = (1 + a2) / (1 - a2)
    t0, t1 = Fraction(1), sigma
    for _ in range(max(0, len(cs) - 2)):
        t0, t1 = t1, 2 * sigma * t1 - t0
    tmax = t1 if len(cs) > 1 else Fraction(1)
    first_bound = Fraction(len(cs), 1 << (fine + 1)) * tmax
    return stored, moved + first_bound


def minimax_sign_polynomial(eta: Fraction, eps1: Fraction, *, grid_bits: int = GRID_BITS, dps: int = DPS,
                            max_bumps: int = 3) -> MinimaxSign:
    """Lemma 6.4's p1 as the minimax polynomial of least degree reaching ε1, rounded to rationals
    and certified by ``certify.sup_abs_error(p1, 1, η, 1)`` (the lemma-6.4 call of ``advcert.build``).
    The degree is compared with Eremenko–Yuditskii's asymptotic optimum (J. Anal. Math. 2007)."""
    t0 = time.perf_counter()
    eta, eps1 = Fraction(eta), Fraction(eps1)
    if not 0 < eta < 1 or not 0 < eps1 < 1:
        raise ValueError("Lemma 6.4 needs 0 < η < 1 and 0 < ε1 < 1")
    ey = eremenko_yuditskii_degree(eta, eps1, dps=dps)
    n, runs = minimax_degree(eta, eps1, dps=dps, start=ey)
    for _ in range(max_bumps + 1):
        if n not in runs:
            runs[n] = remez_sign(eta, n, dps=dps)
        rem = runs[n]
        stored, rounding = exact_polynomial(rem, grid_bits=grid_bits)
        enc = certify.sup_abs_error(stored, 1, eta, 1)
        if enc.hi <= eps1:
            break
        n += 2  # the rounded polynomial missed ε1 by a hair: one more odd degree
    else:
        raise RuntimeError(f"minimax p1 not certified <= ε1 = {eps1} up to degree {n}")
    q = chebyshev_y(stored)
    sign = SignPolynomial(eta=eta, eps1=eps1, taylor_k=0, cheb_d=(n - 1) // 2, poly=stored,
                          cheb_b=np.array([float(v) for v in q]), err_taylor=Fraction(0),
                          err_compress=enc.hi, rounding=rounding, grid_bits=grid_bits)
    searched = tuple(sorted((k, float(r.levelled), float(r.max_error)) for k, r in runs.items()))
    return MinimaxSign(sign=sign, remez=rem, enclosure=enc, ey_degree=ey, searched=searched,
                       seconds=time.perf_counter() - t0)


def log2_max_coefficient(poly: fmpq_poly) -> float:
    """log2 max_j |p_j| (for reports beside Lemma 6.4's bound 2^{4D})."""
    m = max(abs(Fraction(int(c.p), int(c.q))) for c in poly.coeffs())
    return math.log2(m) if m else float("-inf")


def minimax_step(ms: MinimaxSign, alpha: Fraction) -> ZStep:
    """Claim 6.3's q(z) = (p1((z - α)/2) + 1)/2 with the minimax p1: the exact composition is
    ``advcert.poly.step.step_polynomial`` itself; only the float form changes (z-Chebyshev)."""
    q = step_polynomial(ms.sign, Fraction(alpha))
    return ZStep(poly=q.poly, route="minimax", cheb_z=cheb_z(q.poly), alpha=q.alpha, sign=ms.sign)
