"""Definition 3.4: exact separability of synthetic instances."""

from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advcert import sphere
from advcert.errors import InputError
from advcert.data.instance import certify_separation, gamma_supported, max_min_distance_bound, synthetic


@settings(max_examples=200, deadline=None)
@given(dsq=st.fractions(0, 3, max_denominator=10**6), rho=st.fractions(0, 1, max_denominator=1000),
       gamma=st.fractions(0, 3, max_denominator=1000))
def test_gamma_supported_agrees_with_high_precision(dsq, rho, gamma):
    with mpmath.workprec(300):
        d = mpmath.sqrt(mpmath.mpf(dsq.numerator) / dsq.denominator)
        val = d * (d - 2 * mpmath.mpf(rho.numerator) / rho.denominator) - mpmath.mpf(gamma.numerator) / gamma.denominator
    if abs(val) > mpmath.mpf(2) ** -200:
        assert gamma_supported(dsq, rho, gamma) == (val > 0)


def test_exact_boundary_case():
    # δ = 1, ρ = 1/4: δ(δ - 2ρ) = 1/2 exactly
    assert gamma_supported(Fraction(1), Fraction(1, 4), Fraction(1, 2))
    assert not gamma_supported(Fraction(1), Fraction(1, 4), Fraction(1, 2) + Fraction(1, 10**30))


def test_synthetic_headline_instance_is_separable_and_on_X():
    inst = synthetic(10, 8, Fraction(1, 20), Fraction(1, 2), Fraction(1, 10), seed=0)
    sep = certify_separation(inst.points, inst.rho, inst.gamma)
    assert sep.holds and sep.last_coordinate_exact
    assert max(sep.tau_plus, sep.tau_minus) < Fraction(1, 2**40)
    # exact brute force over all pairs
    pts = [[Fraction(v) for v in row] for row in inst.points.tolist()]
    brute = min(sum((a - b) ** 2 for a, b in zip(p, q)) for p, q in itertools.combinations(pts, 2))
    assert sep.delta_sq == brute
    assert sep.delta_lo ** 2 <= brute <= sep.delta_hi ** 2
    assert np.all(np.abs(inst.labels) <= 1)


def test_same_seed_same_instance_other_seed_other_instance():
    a = synthetic(6, 5, Fraction(1, 20), Fraction(1, 2), Fraction(1, 10), seed=3)
    b = synthetic(6, 5, Fraction(1, 20), Fraction(1, 2), Fraction(1, 10), seed=3)
    c = synthetic(6, 5, Fraction(1, 20), Fraction(1, 2), Fraction(1, 10), seed=4)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.points, c.points)


def test_simplex_bound_is_attained_by_the_regular_simplex():
    # n = d points: the simplex in R^{d-1} has squared chords 2n/(n-1)
    n = 5
    e = np.eye(n) - 1.0 / n
    basis = np.linalg.svd(e)[2][: n - 1]
    v = e @ basis.T
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    x = sphere.lift(v)
    sep = certify_separation(x, Fraction(0), Fraction(0))
    assert abs(float(sep.delta_lo) - max_min_distance_bound(n, n)) < 1e-12


@pytest.mark.parametrize("args,phrase", [
    ((10, 3, Fraction(1, 20), Fraction(2)), "largest feasible γ"),
    ((10, 8, Fraction(1), Fraction(1, 2)), "too large"),
    ((3, 2, Fraction(1, 20), Fraction(1, 2)), "only two points"),
])
def test_impossible_requests_say_why(args, phrase):
    with pytest.raises(InputError) as err:
        synthetic(*args, Fraction(1, 10), seed=0)
    assert phrase in str(err.value)
    assert "\n" not in str(err.value)
