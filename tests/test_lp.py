"""Claim 6.3's q found directly by a linear programme of least Lemma 6.6 cost C(q)."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import fmpq, fmpq_poly

from advcert.poly import certify
from advcert.poly.complexity import complexity, log2_mid
from advcert.poly.lp import lp_step_polynomial

# issue 14's headline intervals (γ = 0.5, ε = 0.1, n = 10, ρ = 0.05)
I_IN = (Fraction("0.99875"), Fraction(1))
I_OUT = (Fraction(-1), Fraction("0.73066"))
EPS1 = Fraction(1, 300)


@pytest.fixture(scope="module")
def headline():
    return lp_step_polynomial(I_IN, I_OUT, EPS1)


def _mp(x: Fraction) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator


def test_headline_certified_and_cheap(headline):
    r = headline
    assert r.enc_in.hi <= EPS1 and r.enc_out.hi <= EPS1
    assert r.log2_complexity <= 16
    assert r.degree <= 16
    assert abs(r.log2_complexity - log2_mid(complexity(r.coefficients, 2))) < 1e-12


def test_errors_at_50_digits(headline):
    r = headline
    cs = [_mp(c) for c in r.coefficients][::-1]
    with mpmath.workdps(50):
        zin = [_mp(I_IN[0]) + (_mp(I_IN[1]) - _mp(I_IN[0])) * i / 4000 for i in range(4001)]
        zout = [_mp(I_OUT[0]) + (_mp(I_OUT[1]) - _mp(I_OUT[0])) * i / 20000 for i in range(20001)]
        e_in = max(abs(mpmath.polyval(cs, z) - 1) for z in zin)
        e_out = max(abs(mpmath.polyval(cs, z)) for z in zout)
    assert e_in <= _mp(r.enc_in.hi) and e_out <= _mp(r.enc_out.hi)
    assert e_in >= _mp(r.enc_in.lo) * (1 - mpmath.mpf(2) ** -6)  # the enclosure is tight
    assert max(e_in, e_out) <= _mp(EPS1)


def test_float_form_matches_exact(headline):
    step = headline.step
    z = [Fraction(-1), Fraction(0), Fraction(1, 2), Fraction(9, 10), Fraction(1)]
    exact = [float(Fraction(str(step.poly(fmpq(v.numerator, v.denominator))))) for v in z]
    assert np.allclose(step(np.array([float(v) for v in z])), exact, atol=1e-12)
    h = 1e-6
    assert abs(step.derivative(np.array([0.9]))[0] - (step(np.array([0.9 + h])) - step(np.array([0.9 - h])))[0] / (2 * h)) < 1e-4
    assert step.alpha is None and step.sign is None and step.route == "lp"


def test_planted_bad_q_rejected(headline):
    bad = headline.poly + fmpq_poly([0, 0, fmpq(1, 50)])  # z²/50 breaks |q| <= ε1 near z = -1
    assert certify.sup_abs_error(bad, 0, *I_OUT).lo > EPS1


def test_failed_certification_raises():
    # constraints at 1.5 ε1: the LP's q cannot certify at ε1, and one round is allowed
    with pytest.raises(RuntimeError, match="certification"):
        lp_step_polynomial(I_IN, I_OUT, EPS1, theta=-0.5, tries=1, max_degree=14)


def test_bad_intervals():
    with pytest.raises(ValueError):
        lp_step_polynomial((Fraction(0), Fraction(1)), (Fraction(-1), Fraction(1, 2)), EPS1)
