"""The rigorous sup-norm enclosure (used by Lemma 6.4 / Claim 6.3) against known values."""

from __future__ import annotations

from fractions import Fraction

import mpmath
from flint import fmpq, fmpq_poly, fmpz_poly
from hypothesis import given, settings
from hypothesis import strategies as st

from advcert.poly.certify import round_down, round_up, sup_abs_error


def test_chebyshev_polynomial_has_sup_one():
    for n in (5, 40, 120):
        t = fmpq_poly(fmpz_poly.chebyshev_t(n))
        enc = sup_abs_error(t, 0, -1, 1, rel_tol=Fraction(1, 4096))
        assert enc.lo <= 1 <= enc.hi
        assert enc.hi - enc.lo <= Fraction(1, 4000)
        loose = sup_abs_error(t, 0, -1, 1)  # default tolerance 2^-8
        assert loose.lo <= 1 <= loose.hi <= loose.lo * (1 + Fraction(1, 256))


def test_quadratic_with_interior_maximum():
    # |x² - x + 1/8| on [0, 1]: max 1/8 at the ends, and |-1/8| at x = 1/2
    p = fmpq_poly([fmpq(1, 8), -1, 1])
    enc = sup_abs_error(p, 0, 0, 1)
    assert enc.lo <= Fraction(1, 8) <= enc.hi
    # shifted target: |x² - x + 1/8 - 1/8| = |x² - x| has its max 1/4 at 1/2, an interior point
    enc2 = sup_abs_error(p, Fraction(1, 8), 0, 1)
    assert enc2.lo <= Fraction(1, 4) <= enc2.hi


@settings(max_examples=30, deadline=None)
@given(coeffs=st.lists(st.integers(-1000, 1000), min_size=2, max_size=30),
       a=st.fractions(-1, 1, max_denominator=64), w=st.fractions(0, 2, max_denominator=64))
def test_enclosure_contains_dense_high_precision_max(coeffs, a, w):
    p = fmpq_poly([fmpq(c, 7) for c in coeffs])
    b = a + w
    enc = sup_abs_error(p, Fraction(1, 3), a, b)
    assert enc.lo <= enc.hi
    with mpmath.workprec(200):
        pts = [mpmath.mpf(a.numerator) / a.denominator + (mpmath.mpf(w.numerator) / w.denominator) * i / 400 for i in range(401)]
        dense = max(abs(sum(mpmath.mpf(c) / 7 * x**j for j, c in enumerate(coeffs)) - mpmath.mpf(1) / 3) for x in pts)
    assert float(dense) <= float(enc.hi) * (1 + 1e-12) + 1e-300
    # the witness attains the lower end
    x = enc.witness
    exact = abs(sum(Fraction(c, 7) * x**j for j, c in enumerate(coeffs)) - Fraction(1, 3))
    assert exact >= enc.lo


def test_short_roundings_are_outward():
    x = Fraction(12345678901, 10**14)
    assert round_up(x, 4) >= x >= round_down(x, 4)
    assert round_up(x, 4) - round_down(x, 4) <= Fraction(2, 10**7)
    assert round_up(Fraction(3), 2) == 3 and round_down(Fraction(3), 2) == 3
