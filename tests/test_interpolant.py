"""Lemma 6.2: the sound bound on |f* - y_j| over the caps, checked by high-precision sampling."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from advcert import sphere
from advcert.data.instance import certify_separation, synthetic
from advcert.poly import certify
from advcert.poly.interpolant import RobustInterpolant, lemma62_bound, lemma62_intervals
from advcert.poly.sgn import sign_polynomial
from advcert.poly.step import claim63_alpha, step_polynomial


@pytest.fixture(scope="module")
def chain():
    gamma, eps, rho = Fraction(1), Fraction(1, 2), Fraction(1, 10)
    inst = synthetic(3, 4, rho, gamma, eps, seed=1)
    sep = certify_separation(inst.points, rho, gamma)
    eps1 = eps / (3 * inst.n)
    eta = gamma / 8
    q = step_polynomial(sign_polynomial(eta, eps1), claim63_alpha(rho, eta))
    iv = lemma62_intervals(sep, rho)
    e_in = certify.sup_abs_error(q.poly, 1, *iv.inside).hi
    e_out = certify.sup_abs_error(q.poly, 0, *iv.outside).hi
    bound, per = lemma62_bound(inst.labels, e_in, e_out)
    return inst, q, bound, per


def _exact_q(q, z):
    with mpmath.workprec(500):
        acc = mpmath.mpf(0)
        for c in reversed(q.poly.coeffs()):
            acc = acc * z + mpmath.mpf(int(c.p)) / int(c.q)
        return acc


def test_bound_is_at_most_eps_over_3(chain):
    inst, q, bound, per = chain
    assert bound <= inst.eps / 3
    assert max(per) == bound


def test_sampled_points_in_the_caps_respect_the_sound_bound(chain):
    inst, q, bound, per = chain
    rng = np.random.default_rng(0)
    for j in range(inst.n):
        pts = sphere.sample_in_cap(rng, inst.points[j], float(inst.rho), 40)
        pts = np.vstack([pts, sphere.project_to_cap(pts * 10, inst.points[j], float(inst.rho))])  # boundary points
        for x in pts:
            with mpmath.workprec(500):
                f = sum(mpmath.mpf(float(inst.labels[i])) * _exact_q(q, mpmath.fsum(mpmath.mpf(float(a)) * mpmath.mpf(float(b)) for a, b in zip(inst.points[i], x)))
                        for i in range(inst.n))
                err = abs(f - mpmath.mpf(float(inst.labels[j])))
            assert err <= mpmath.mpf(per[j].numerator) / per[j].denominator


def test_float_evaluation_matches_exact_q(chain):
    inst, q, _, _ = chain
    z = np.linspace(-1, 1, 57)
    exact = np.array([float(_exact_q(q, mpmath.mpf(float(v)))) for v in z])
    assert np.max(np.abs(q(z) - exact)) < 1e-13
    # and its derivative against a central difference of the exact polynomial
    h = 1e-6
    num = np.array([float((_exact_q(q, mpmath.mpf(float(v)) + h) - _exact_q(q, mpmath.mpf(float(v)) - h)) / (2 * h)) for v in z])
    assert np.max(np.abs(q.derivative(z) - num)) < 1e-5 * max(1.0, np.max(np.abs(num)))


def test_interpolant_gradient_matches_finite_differences(chain):
    inst, q, _, _ = chain
    f = RobustInterpolant(inst.points, inst.labels, q)
    x = sphere.sample_uniform(np.random.default_rng(1), 3, inst.d)
    val, grad = f.value_and_grad(x)
    for k in range(inst.d):
        e = np.zeros(inst.d)
        e[k] = 1e-6
        fd = (f(x + e) - f(x - e)) / 2e-6
        assert np.allclose(grad[:, k], fd, atol=1e-5)
