"""Lemma 6.4: the sign polynomial, against exact brute force and independent references."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advcert.poly import certify, sgn


def brute_compression_error(k: int, d: int) -> Fraction:
    """Σ_{i=d+1}^k c_i P[|D_i| > d] by summing whole binomial rows (slow, obviously right)."""
    total = Fraction(0)
    for i in range(d + 1, k + 1):
        tail = sum(math.comb(i, b) for b in range(i + 1) if abs(2 * b - i) > d)
        total += Fraction(math.comb(2 * i, i), 4**i) * Fraction(tail, 2**i)
    return total


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 70), d=st.integers(0, 75))
def test_compression_error_matches_brute_force(k, d):
    assert sgn.compression_error(k, d) == brute_compression_error(k, d)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 40), d=st.integers(0, 40))
def test_chebyshev_numerators_match_the_closed_formula(k, d):
    # math-spec §2: N_j = Σ_{i>=j, i≡j} (2-[j=0]) C(2i,i) C(i,(i+j)/2) 2^{3(k-i)}; ours omit the (2-[j=0])
    ref = [sum(math.comb(2 * i, i) * math.comb(i, (i + j) // 2) << (3 * (k - i))
               for i in range(j, k + 1) if (i - j) % 2 == 0) for j in range(d + 1)]
    assert sgn.chebyshev_numerators(k, d) == ref


def test_taylor_order_is_least():
    for eta, t in [(Fraction(1, 4), Fraction(1, 20)), (Fraction(1, 16), Fraction(1, 600)), (Fraction(1, 2), Fraction(1, 7))]:
        k = sgn.least_taylor_order(eta, t)
        assert sgn.taylor_error(k, eta) <= t
        assert k == 0 or sgn.taylor_error(k - 1, eta) > t


def test_published_parameters_toy_and_headline():
    # math-spec §2 toy case and §11 worked example (computed there by independent scripts)
    toy = sgn.sign_polynomial(Fraction(1, 4), Fraction(1, 10))
    assert (toy.taylor_k, toy.cheb_d, toy.degree) == (32, 11, 23)
    head = sgn.sign_polynomial(Fraction(1, 16), Fraction(1, 300))
    assert (head.taylor_k, head.cheb_d, head.degree) == (1282, 122, 245)
    assert head.a_priori_error <= Fraction(1, 300)
    assert sgn.compression_error(head.taylor_k, head.cheb_d - 1) > Fraction(1, 600)


def test_taylor_only_polynomial_is_p_k_when_nothing_is_compressed():
    # with d >= k the construction is exactly p_k(x) = x Σ c_i (1-x²)^i
    k = 9
    m = sgn.chebyshev_numerators(k, k)
    weights = [m[0]] + [2 * v for v in m[1:]]
    b = np.array([w / 2 ** (3 * k) for w in weights])
    x = np.linspace(-1, 1, 101)
    y = 1 - x * x
    ref = x * sum(math.comb(2 * i, i) / 4**i * y**i for i in range(k + 1))
    assert np.max(np.abs(x * sgn.clenshaw(y, b) - ref)) < 1e-14


@pytest.fixture(scope="module")
def toy():
    return sgn.sign_polynomial(Fraction(1, 4), Fraction(1, 10))


def test_p1_is_odd_and_its_coefficients_are_dyadic(toy):
    coeffs = toy.poly.coeffs()
    assert all(c == 0 for c in coeffs[0::2])
    assert all(int(c.q) <= 2**toy.grid_bits for c in coeffs)


def _mp_value(poly, x, prec=400):
    with mpmath.workprec(prec):
        acc = mpmath.mpf(0)
        for c in reversed(poly.coeffs()):
            acc = acc * x + mpmath.mpf(int(c.p)) / int(c.q)
        return acc


@pytest.mark.parametrize("eta,eps1", [(Fraction(1, 4), Fraction(1, 10)), (Fraction(1, 8), Fraction(1, 50))])
def test_dense_high_precision_error_stays_below_the_certified_bound(eta, eps1):
    p1 = sgn.sign_polynomial(eta, eps1)
    enc = certify.sup_abs_error(p1.poly, 1, eta, 1)
    assert enc.hi <= eps1
    worst = mpmath.mpf(0)
    with mpmath.workprec(400):
        for x in mpmath.linspace(mpmath.mpf(eta.numerator) / eta.denominator, 1, 1500):
            worst = max(worst, abs(_mp_value(p1.poly, x) - 1))
        # odd symmetry: the mirrored interval has the same error
        assert abs(_mp_value(p1.poly, -mpmath.mpf(3) / 5) + 1) == abs(_mp_value(p1.poly, mpmath.mpf(3) / 5) - 1)
    assert float(worst) <= float(enc.hi) * (1 + 1e-12)
    assert float(worst) >= float(enc.lo) * (1 - 1e-3)  # the enclosure is tight, not just sound


def test_float_chebyshev_form_is_stable_while_monomials_are_not():
    p1 = sgn.sign_polynomial(Fraction(1, 16), Fraction(1, 300))
    xs = np.linspace(-1, 1, 41)
    exact = np.array([float(_mp_value(p1.poly, mpmath.mpf(float(x)), prec=600)) for x in xs])
    assert np.max(np.abs(p1(xs) - exact)) < 1e-12
    mono = np.array([float(c) for c in p1.poly.coeffs()])
    assert np.max(np.abs(np.polynomial.polynomial.polyval(xs, mono) - exact)) > 1.0  # the float64 hazard


def test_planted_bad_coefficient_fails_the_certified_check(toy):
    from flint import fmpq, fmpq_poly

    bad = toy.poly + fmpq_poly([0, 0, 0, fmpq(1, 5)])  # still odd, but off by about 0.2 near x = 1
    enc = certify.sup_abs_error(bad, 1, Fraction(1, 4), 1)
    assert enc.lo > Fraction(1, 10)
