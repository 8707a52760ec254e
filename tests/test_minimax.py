"""The minimax sign polynomial (Lemma 6.4's role) and Eremenko–Yuditskii's optimum.

Reference: A. Eremenko, P. Yuditskii, "Uniform approximation of sgn(x) by polynomials and
entire functions", J. Anal. Math. 101 (2007) 313-324, Theorem 1:
lim_m √m ((1+a)/(1-a))^m L_m(a) = (1-a)/√(π a), L_m the least deviation at degree 2m+1.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import fmpq, fmpq_poly

from advcert.poly import certify
from advcert.poly.minimax import (eremenko_yuditskii_degree, eremenko_yuditskii_error, exact_polynomial,
                                  minimax_sign_polynomial, minimax_step, remez_sign)
from advcert.poly.step import claim63_alpha


def _err50(p: fmpq_poly, x) -> mpmath.mpf:
    """1 - p(x) at 50 digits from the exact coefficients (independent of the Remez form)."""
    cs = [mpmath.mpf(int(c.p)) / int(c.q) for c in p.coeffs()]
    return 1 - mpmath.polyval(cs[::-1], x)


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
