"""The minimax sign polynomial (Lemma 6.4's role) and Eremenko–Yuditskii's optimum.

References:

* A. Eremenko, P. Yuditskii, "Uniform approximation of sgn(x) by polynomials and entire
  functions", J. Anal. Math. 101 (2007) 313-324 (arXiv:math/0604324), Theorem 1:
  lim_m √m ((1+a)/(1-a))^m L_m(a) = (1-a)/√(π a), L_m the least deviation at degree 2m+1.
  The paper states no numerical value; the constant is pinned below by Richardson
  extrapolation of an independent 60-digit minimax computation.
* The published exact pair: N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express:
  Optimal Matrix Sign Methods and Their Application to the Muon Algorithm", arXiv:2505.16932
  (2025), §4.2 ("We briefly describe the solution for d = 3"): the odd cubic of least deviation
  from 1 on [ℓ, u] is p(x) = β p_NS(αx), p_NS(x) = (3/2)x − (1/2)x³, α = √(3/(u² + ℓu + ℓ²)),
  β = 4/(2 + ℓu(ℓ + u)α³), and by their Theorem 4.1 (eq. 10) its error is 1 − p(ℓ) (the same
  polynomial, up to scaling, as J. Chen and E. Chow, "A stable scaling of Newton-Schulz for
  improving the sign function computation of a Hermitian matrix", ANL/MCS-P5059-0114, 2014).
  With u = 1 that is the least deviation of a degree-3 polynomial from sgn on [−1, −ℓ] ∪ [ℓ, 1]:
  at ℓ = 1/4 it is 0.29874410062122352810606499790…
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import fmpq, fmpq_poly

from advcert.poly import certify
from advcert.poly.minimax import (eremenko_yuditskii_degree, eremenko_yuditskii_error, exact_polynomial,
                                  minimax_degree, minimax_sign_polynomial, minimax_step, remez_sign)
from advcert.poly.step import claim63_alpha


def _err50(p: fmpq_poly, x) -> mpmath.mpf:
    """1 - p(x) at 50 digits from the exact coefficients (independent of the Remez form)."""
    cs = [mpmath.mpf(int(c.p)) / int(c.q) for c in p.coeffs()]
    return 1 - mpmath.polyval(cs[::-1], x)


def _independent_minimax(a: Fraction, degree: int, dps: int = 60) -> mpmath.mpf:
    """The least deviation of an odd polynomial of ``degree`` from sgn on [−1, −a] ∪ [a, 1], by a
    Remez exchange sharing nothing with ``remez_sign``: every step in mpmath at ``dps`` digits, the
    basis x·T_k(s) in monomial coefficients of s = (2x² − 1 − a²)/(1 − a²), and the new reference
    = both ends and the m interior roots of de/dx (exactly m, as an odd error curve on [a, 1]
    must have, Polar Express Lemma A.2), bracketed on an mpmath grid and refined by findroot."""
    m = (degree - 1) // 2
    with mpmath.workdps(dps):
        a = mpmath.mpf(a.numerator) / a.denominator
        a2 = a * a
        sig = (1 + a2) / (1 - a2)

        def x_of(s):
            return mpmath.sqrt(((1 - a2) * s + 1 + a2) / 2)

        def horner(cs, s):
            out = mpmath.mpf(0)
            for c in reversed(cs):
                out = out * s + c
            return out

        T = [[mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]]
        for k in range(2, m + 1):
            nxt = [mpmath.mpf(0)] + [2 * c for c in T[k - 1]]
            for j, c in enumerate(T[k - 2]):
                nxt[j] -= c
            T.append(nxt)
        ref = [-mpmath.cos(mpmath.pi * i / (m + 1)) for i in range(m + 2)]
        grid = [-mpmath.cos(mpmath.pi * i / (20 * (m + 2))) for i in range(20 * (m + 2) + 1)]
        for _ in range(40):
            A = mpmath.matrix(m + 2, m + 2)
            for i, s in enumerate(ref):
                for k in range(m + 1):
                    A[i, k] = x_of(s) * horner(T[k], s)
                A[i, m + 1] = (-1) ** i
            sol = mpmath.lu_solve(A, mpmath.matrix([1] * (m + 2)))
            R = [sum((sol[k] * T[k][j] for k in range(j, m + 1) if j < len(T[k])), mpmath.mpf(0)) for j in range(m + 1)]
            dR = [j * R[j] for j in range(1, m + 1)] + [mpmath.mpf(0)]
            # e = 1 − x R(s): de/dx ∝ G(s) = R(s) + 2(s + σ)R'(s), σ = (1 + a²)/(1 − a²)
            G = [R[j] + 2 * sig * dR[j] + (2 * dR[j - 1] if j else 0) for j in range(m + 1)]
            vals = [horner(G, s) for s in grid]
            roots = [mpmath.findroot(lambda s: horner(G, s), (grid[i], grid[i + 1]), solver="anderson")
                     for i in range(len(grid) - 1) if vals[i] * vals[i + 1] < 0]
            ref = [mpmath.mpf(-1)] + roots + [mpmath.mpf(1)]
            assert len(ref) == m + 2, "the error curve must have exactly m interior extrema"
            es = [1 - x_of(s) * horner(R, s) for s in ref]
            assert all(es[i] * es[i + 1] < 0 for i in range(m + 1))
            hi, lo = max(abs(e) for e in es), min(abs(e) for e in es)
            if hi - lo <= hi * mpmath.mpf(10) ** (-(dps // 2)):
                return +lo  # equioscillation to dps/2 digits: lo <= L <= hi (de la Vallée Poussin)
        raise AssertionError("the independent Remez did not converge")


def _polar_express_cubic_error(ell: Fraction) -> mpmath.mpf:
    """Amsel et al. (arXiv:2505.16932) §4.2 at u = 1: 1 − β p_NS(αℓ), written out here."""
    with mpmath.workdps(60):
        l = mpmath.mpf(ell.numerator) / ell.denominator
        al = mpmath.sqrt(3 / (1 + l + l * l))
        be = 4 / (2 + l * (l + 1) * al ** 3)
        return 1 - be * (mpmath.mpf(3) / 2 * al * l - (al * l) ** 3 / 2)


def test_published_degree_3_pair_pins_both_minimax_computations():
    with mpmath.workdps(60):
        pe = _polar_express_cubic_error(Fraction(1, 4))
        assert abs(pe - mpmath.mpf("0.298744100621223528106064997903306750619603762833")) < mpmath.mpf(10) ** -45
        for ell in (Fraction(1, 4), Fraction(1, 10), Fraction(1, 1000)):
            pe = _polar_express_cubic_error(ell)
            assert abs(_independent_minimax(ell, 3) - pe) < pe * mpmath.mpf(10) ** -28
            r = remez_sign(ell, 3)
            # remez_sign's float locator resolves |e| to ~1e-16 absolute: 1e-13 relative here
            assert abs(r.levelled - pe) < pe * 1e-13 and abs(r.max_error - pe) < pe * 1e-13


@pytest.mark.parametrize("a", [Fraction(1, 4), Fraction(1, 10)])
def test_ey_constant_by_richardson_on_an_independent_minimax(a):
    # Theorem 1 says L_m(a)/EY_m(a) → 1; the computed ratios behave as 1 − c/m + O(m^{-3/2})
    # (c ≈ 1.0 at a = 1/4, 2.1 at a = 1/10), so 2 r_32 − r_16 removes the 1/m term and leaves
    # the O(m^{-3/2}) remainder: 0.9965 at a = 1/4, 0.987 at a = 1/10. The tolerance 1.5e-2
    # excludes a constant (1 − a)/√(πa) wrong by a factor 1.03 either way, at both a
    ratios = []
    for m in (16, 32):
        L = _independent_minimax(a, 2 * m + 1)
        ratios.append(L / eremenko_yuditskii_error(a, 2 * m + 1))
        r = remez_sign(a, 2 * m + 1)
        # de la Vallée Poussin brackets L; remez_sign stops at a spread of max(1e-10·E, 2^-46)
        # (its float locator), and its located maxima sit below the true ones by ~1e-16
        assert r.levelled <= L <= r.max_error + mpmath.mpf(10) ** -15
        assert r.max_error - r.levelled <= max(L * 1e-9, mpmath.mpf(2) ** -46)
    r16, r32 = ratios
    assert r16 < r32 < 1
    assert abs((2 * r32 - r16) - 1) < 1.5e-2


def test_minimax_degree_at_the_headline_against_an_independent_minimax():
    # η = γ/8 = 1/16, ε1 = ε/(3n) = 1/300 (the headline): the least odd degree reaching ε1
    eta, eps1 = Fraction(1, 16), Fraction(1, 300)
    n, _ = minimax_degree(eta, eps1)
    third = mpmath.mpf(1) / 300
    assert _independent_minimax(eta, n) <= third < _independent_minimax(eta, n - 2)
    assert n <= eremenko_yuditskii_degree(eta, eps1)  # the asymptotic form overestimates here (ratio < 1)


def test_ey_value_pinned_to_theorem_1():
    # Theorem 1's closed form at a = 1/4, degree 21 (m = 10), written out independently:
    # (3/4)/sqrt(10π/4) · (3/5)^10 = 0.267618... · 0.0060466... = 0.00161819...
    with mpmath.workdps(50):
        expected = mpmath.mpf(3) / 4 / mpmath.sqrt(10 * mpmath.pi / 4) * (mpmath.mpf(3) / 5) ** 10
        got = eremenko_yuditskii_error(Fraction(1, 4), 21)
        assert abs(got - expected) < mpmath.mpf(10) ** -45
    assert abs(float(got) - 0.00161819) < 1e-8
    # an even degree behaves as the odd degree below it (the best approximant of sgn is odd)
    assert eremenko_yuditskii_error(Fraction(1, 4), 22) == got


def test_ey_asymptotics_against_remez():
    # Theorem 1 is a limit: the true least deviation over the asymptotic form tends to 1
    a = Fraction(1, 4)
    ratios = [float(remez_sign(a, 2 * m + 1).levelled / eremenko_yuditskii_error(a, 2 * m + 1)) for m in (4, 16)]
    assert all(0.8 < r < 1.05 for r in ratios)
    assert abs(ratios[1] - 1) < abs(ratios[0] - 1)  # closer at the larger m


def test_ey_degree_is_least():
    eta, eps1 = Fraction(1, 16), Fraction(1, 300)
    n = eremenko_yuditskii_degree(eta, eps1)
    assert n == 77  # the "optimum (77)" of issue 14, now computed
    assert eremenko_yuditskii_error(eta, n) <= mpmath.mpf(1) / 300 < eremenko_yuditskii_error(eta, n - 2)


def test_minimax_degree_against_equioscillation_at_50_digits():
    eta, eps1 = Fraction(1, 4), Fraction(1, 100)
    ms = minimax_sign_polynomial(eta, eps1)
    n = ms.degree
    assert ms.enclosure.hi <= eps1
    with mpmath.workdps(50):
        # degree n reaches ε1: the stored polynomial, re-evaluated at 50 digits on a dense grid
        xs = [mpmath.mpf(1) / 4 + mpmath.mpf(3) / 4 * i / 3000 for i in range(3001)]
        dense = max(abs(_err50(ms.poly, x)) for x in xs)
        assert dense <= mpmath.mpf(ms.enclosure.hi.numerator) / ms.enclosure.hi.denominator
        # degree n - 2 cannot (de la Vallée Poussin): an exact rounded candidate of degree n - 2
        # has m + 2 = (n - 1)/2 + 1 points where its error alternates in sign with |e| > ε1
        low = remez_sign(eta, n - 2)
        stored, _ = exact_polynomial(low)
        errs = [_err50(stored, x) for x in low.reference]
        assert len(errs) == (n - 2 - 1) // 2 + 2
        assert all(errs[i] * errs[i + 1] < 0 for i in range(len(errs) - 1))
        assert min(abs(e) for e in errs) > mpmath.mpf(1) / 100
        # and the levelled errors at degree n are equal to 1e-9 relative (equioscillation)
        top = [abs(_err50(ms.poly, x)) for x in ms.remez.reference]
        assert (max(top) - min(top)) / max(top) < 1e-9


def test_minimax_against_discrete_lp():
    # an independent method: the discrete minimax problem as an LP (HiGHS) on a dense grid
    from scipy.optimize import linprog

    eta, n = 0.25, 11
    x = 0.25 + 0.75 * (1 - np.cos(np.pi * np.arange(3000) / 2999)) / 2
    V = np.stack([x ** (2 * k + 1) for k in range((n + 1) // 2)], axis=1)
    k = V.shape[1]
    # variables (c, E): minimise E s.t. |1 - V c| <= E
    A = np.vstack([np.hstack([-V, -np.ones((len(x), 1))]), np.hstack([V, -np.ones((len(x), 1))])])
    b = np.concatenate([-np.ones(len(x)), np.ones(len(x))])
    res = linprog(np.r_[np.zeros(k), 1.0], A_ub=A, b_ub=b, bounds=[(None, None)] * k + [(0, None)], method="highs")
    assert res.status == 0
    assert abs(res.fun - float(remez_sign(Fraction(1, 4), n).levelled)) < 1e-6 * res.fun


def test_planted_bad_polynomial_rejected():
    eta, eps1 = Fraction(1, 4), Fraction(1, 100)
    ms = minimax_sign_polynomial(eta, eps1)
    bad = ms.poly + fmpq_poly([0, 0, 0, fmpq(1, 20)])  # x³/20 moves p by up to 1/20 on [η, 1]
    enc = certify.sup_abs_error(bad, 1, eta, 1)
    assert enc.lo > eps1
    low, _ = exact_polynomial(remez_sign(eta, ms.degree - 2))
    assert certify.sup_abs_error(low, 1, eta, 1).lo > eps1


def test_headline_minimax_within_1_2_of_ey():
    # build.py: η = γ/8, ε1 = ε/(3n) with γ = 1/2, ε = 1/10, n = 10
    eta, eps1 = Fraction(1, 2) / 8, Fraction(1, 10) / 30
    ms = minimax_sign_polynomial(eta, eps1)
    assert ms.enclosure.hi <= eps1
    assert ms.degree <= 1.2 * ms.ey_degree
    assert ms.degree % 2 == 1 and all(c == 0 for c in ms.poly.coeffs()[0::2])
    # Claim 6.3's composition and its z-Chebyshev float form agree with the exact q
    step = minimax_step(ms, claim63_alpha(Fraction(1, 20), eta))
    z = [Fraction(-1), Fraction(-1, 3), Fraction(7, 10), Fraction(99, 100), Fraction(1)]
    exact = [float(Fraction(str(step.poly(fmpq(v.numerator, v.denominator))))) for v in z]
    assert np.allclose(step(np.array([float(v) for v in z])), exact, atol=1e-9)
    with pytest.raises(AttributeError):
        step.cheb_b
