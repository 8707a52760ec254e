"""The fused kernels against slow references: numpy, exact rationals, Arb, finite differences.

Also the per-point Theorem 5.1 mechanism (math-spec §7), f* through the Chebyshev form
against exact rational evaluation of a stand-in step polynomial, the ascent on X, and the
deterministic nets' covering radii.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.spatial import cKDTree

from advcert import kernels as K
from advcert import sphere
from advcert.features import build_features, h_arb, h_float
from advcert.randomfeatures import net


def _network(m, d, seed, move=0.05):
    rng = np.random.default_rng(seed)
    a = np.where(rng.integers(0, 2, m) == 1, 1.0, -1.0) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / math.sqrt(m)
    b = rng.standard_normal(m) / math.sqrt(m)
    W = W0 + rng.standard_normal((m, d)) * move / math.sqrt(m)
    return a, W0, b, W


def _reference(X, a, W0, b, W, rm):
    S = X @ W.T + b
    U = X @ W0.T + b
    Dl = X @ (W - W0).T
    f = np.maximum(S, 0) @ a
    g = np.where(U >= 0, Dl, 0) @ a
    f0 = np.maximum(U, 0) @ a
    tb = np.maximum(rm - np.abs(U), 0).sum(1)
    me = np.maximum(np.abs(Dl) - np.abs(U), 0) @ np.abs(a)
    return f, g, f0, tb, me


@pytest.mark.parametrize("m,d,N", [(1, 2, 3), (300, 3, 1000), (1000, 8, 517), (257, 33, 300)])
def test_sweep_matches_numpy(m, d, N):
    a, W0, b, W = _network(m, d, m + d)
    X = sphere.sample_uniform(np.random.default_rng(1), N, d)
    P = K.pack(a, W0, b, W)
    R = 1.7
    s = K.sweep(P, X, R=R)
    ref = _reference(X, a, W0, b, W, R * m ** (-2 / 3))
    for got, want in zip((s.f, s.g, s.f0, s.thm51_sum, s.mechanism), ref):
        assert np.max(np.abs(got - want)) <= 1e-12 * (1 + np.max(np.abs(want)))


def test_sweep_against_exact_rationals():
    """Float sums vs exact Fraction arithmetic on the same binary64 inputs, within the a-priori bound."""
    m, d = 40, 4
    a, W0, b, W = _network(m, d, 3, move=1.0)
    X = sphere.sample_uniform(np.random.default_rng(4), 6, d)
    P = K.pack(a, W0, b, W)
    s = K.sweep(P, X)
    bound = K.sweep_error_bound(P)
    fa = [Fraction(v) for v in a]
    fb = [Fraction(v) for v in b]
    for p in range(X.shape[0]):
        x = [Fraction(v) for v in X[p]]
        f = g = Fraction(0)
        for r in range(m):
            w0 = [Fraction(v) for v in W0[r]]
            w = [Fraction(v) for v in W[r]]
            u = sum(wi * xi for wi, xi in zip(w0, x)) + fb[r]
            z = sum(wi * xi for wi, xi in zip(w, x)) + fb[r]
            dl = sum((wi - vi) * xi for wi, vi, xi in zip(w, w0, x))
            f += fa[r] * max(z, Fraction(0))
            g += fa[r] * dl * (1 if u >= 0 else 0)
        assert abs(Fraction(s.f[p]) - f) <= Fraction(bound)
        assert abs(Fraction(s.g[p]) - g) <= Fraction(bound)


def test_sweep_grad_matches_numpy_and_fd():
    m, d = 500, 5
    a, W0, b, W = _network(m, d, 5)
    X = sphere.sample_uniform(np.random.default_rng(6), 300, d)
    P = K.pack(a, W0, b, W)
    f, g, f0, gf, gg = K.sweep_grad(P, X)
    S = X @ W.T + b
    U = X @ W0.T + b
    assert np.allclose(gf, ((S >= 0) * a) @ W, atol=1e-13)
    assert np.allclose(gg, ((U >= 0) * a) @ (W - W0), atol=1e-13)
    assert np.allclose(f, K.sweep(P, X).f, atol=1e-13)
    # finite differences of f in R^d (f is piecewise linear: use a tiny step)
    h = 1e-7
    for k in range(d):
        e = np.zeros(d)
        e[k] = h
        fd = (K.sweep(P, X[:20] + e).f - K.sweep(P, X[:20] - e).f) / (2 * h)
        assert np.median(np.abs(fd - gf[:20, k])) < 1e-6


def test_theorem51_mechanism_pointwise():
    """|f_W - g_W| <= |f_W0| + m^{-1/3} Σ (R m^{-2/3} - |u_r|)_+ whenever ||W - W0||_{2,inf} <= R/m^{2/3}."""
    m, d = 2000, 6
    a, W0, b, W = _network(m, d, 8, move=3.0)
    X = sphere.sample_uniform(np.random.default_rng(9), 2000, d)
    P = K.pack(a, W0, b, W)
    R = m ** (2 / 3) * float(np.max(np.linalg.norm(W - W0, axis=1)))
    s = K.sweep(P, X, R=R)
    gap = np.abs(s.f - s.g)
    tol = K.sweep_error_bound(P)
    assert np.all(gap <= s.theorem51_bound(m) + tol)
    assert np.all(gap <= s.mechanism_bound() + tol)
    assert np.all(s.mechanism_bound() <= s.theorem51_bound(m) + tol)
    # with a radius below the true one the bound is no longer guaranteed, and it does fail here
    s_small = K.sweep(P, X, R=R / 50)
    assert np.any(gap > s_small.theorem51_bound(m))


# ---------------------------------------------------------------------------------------
# f* through the Chebyshev form, against exact rationals
# ---------------------------------------------------------------------------------------


def _taylor_sign(k):
    """Stand-in p1 (Taylor-only sign polynomial, math-spec §2): p_k(x) = x Σ_{i<=k} c_i y^i.

    Returns (exact coefficients c_i of Q in y, exact Chebyshev coefficients of Q)."""
    c = [Fraction(math.comb(2 * i, i), 4**i) for i in range(k + 1)]
    cheb = [Fraction(0)] * (k + 1)
    for i, ci in enumerate(c):
        # y^i = Σ_j w_ij T_j, w_ij = (2 - [j=0]) C(i, (i+j)/2) / 2^i for j ≡ i (mod 2)
        for j in range(i % 2, i + 1, 2):
            cheb[j] += ci * (2 - (j == 0)) * Fraction(math.comb(i, (i + j) // 2), 2**i)
    return c, cheb


def _q_exact(z: Fraction, c, alpha: Fraction) -> Fraction:
    x = (z - alpha) / 2
    y = 1 - x * x
    Q = Fraction(0)
    for ci in reversed(c):
        Q = Q * y + ci
    return (x * Q + 1) / 2


def test_fstar_against_exact():
    k = 40
    c, cheb = _taylor_sign(k)
    cheb_b = np.array([float(v) for v in cheb])
    alpha = Fraction(3, 4)
    d = 5
    rng = np.random.default_rng(11)
    Xd = sphere.sample_uniform(rng, 3, d)
    y = np.array([1.0, -0.5, 0.25])
    X = sphere.sample_uniform(rng, 25, d)
    val, grad = K.fstar(X, Xd, y, cheb_b, float(alpha))
    bound = K.fstar_error_bound(cheb_b, y, d, 2 * k + 1, 1.0)
    assert bound < 1e-9
    for p in range(X.shape[0]):
        x = [Fraction(v) for v in X[p]]
        exact = sum(Fraction(yi) * _q_exact(sum(Fraction(u) * v for u, v in zip(Xd[i], x)), c, alpha)
                    for i, yi in enumerate(y))
        assert abs(Fraction(val[p]) - exact) <= Fraction(bound)
    # gradient by central differences of the exact value along a coordinate
    h = Fraction(1, 10**7)
    for p in range(3):
        for kk in range(d):
            xp = [Fraction(v) for v in X[p]]
            xm = list(xp)
            xp[kk] += h
            xm[kk] -= h
            fp = sum(Fraction(yi) * _q_exact(sum(Fraction(u) * v for u, v in zip(Xd[i], xp)), c, alpha) for i, yi in enumerate(y))
            fm = sum(Fraction(yi) * _q_exact(sum(Fraction(u) * v for u, v in zip(Xd[i], xm)), c, alpha) for i, yi in enumerate(y))
            assert float((fp - fm) / (2 * h)) == pytest.approx(grad[p, kk], abs=1e-8)


def test_fstar_matches_lead_step_polynomial():
    """The kernel's Clenshaw form agrees with advcert.poly.step.q_float (same Chebyshev data)."""
    step = pytest.importorskip("advcert.poly.step")
    sgn = pytest.importorskip("advcert.poly.sgn")
    s = sgn.sign_polynomial(Fraction(1, 4), Fraction(1, 10))
    q = step.step_polynomial(s, step.claim63_alpha(Fraction(1, 20), Fraction(1, 4)))
    rng = np.random.default_rng(12)
    Xd = sphere.sample_uniform(rng, 2, 3)
    X = sphere.sample_uniform(rng, 200, 3)
    y = np.array([1.0, -1.0])
    val, _ = K.fstar(X, Xd, y, q.cheb_b, float(q.alpha))
    ref = sum(y[i] * step.q_float(X @ Xd[i], q.cheb_b, float(q.alpha)) for i in range(2))
    assert np.max(np.abs(val - ref)) < 1e-13


# ---------------------------------------------------------------------------------------
# h, compiled
# ---------------------------------------------------------------------------------------


def test_h_kernel_matches_numpy_and_arb():
    rng = np.random.default_rng(13)
    alpha = tuple(Fraction(int(v), 7) for v in rng.integers(-50, 50, size=30))
    feat = build_features(alpha, Fraction(1, 10**4))
    a = np.concatenate([rng.standard_normal(500), rng.uniform(-float(feat.B_t) - 1, float(feat.B_t) + 1, 100)])
    beta = rng.standard_normal(600)
    v1, e1, u1 = K.h_values(feat.kappa, float(feat.B_t), a, beta)
    v2, e2, u2 = h_float(feat, a, beta)
    assert np.array_equal(u1, u2)
    assert np.max(np.abs(v1 - v2) - 1e-12 * np.abs(v2)) <= 1e-13 * (1 + np.max(np.abs(v2)))
    assert np.allclose(e1, e2, rtol=1e-10, atol=0)
    for j in range(0, 600, 37):
        ref = h_arb(feat, a[j], beta[j])
        assert abs(v1[j] - float(ref.mid())) <= e1[j] + float(ref.rad())


# ---------------------------------------------------------------------------------------
# ascent and nets
# ---------------------------------------------------------------------------------------


def test_ascent_reaches_known_maximum():
    """max over X of <c, x> is c_d/2 + (√3/2)||c_{1:d-1}||; ascent gets there and never above."""
    d = 6
    c = np.array([0.3, -1.0, 0.5, 0.2, 0.0, 0.7])
    best = c[-1] / 2 + math.sqrt(3) / 2 * np.linalg.norm(c[:-1])

    def obj(Z):
        return Z @ c, np.tile(c, (Z.shape[0], 1))

    X0 = sphere.sample_uniform(np.random.default_rng(14), 16, d)
    vals, pts = K.ascend(obj, X0, steps=40, seed=np.random.SeedSequence(15))
    assert np.all(vals <= best + 1e-12)
    assert np.max(vals) >= best - 1e-3
    assert np.allclose(pts @ c, vals)
    assert np.allclose(np.linalg.norm(pts, axis=1), 1.0) and np.allclose(pts[:, -1], 0.5)


@pytest.mark.parametrize("d,count", [(3, 500), (4, 1500)])
def test_net_covering_radius(d, count):
    pts, radius = net(d, count)
    assert np.allclose(np.linalg.norm(pts, axis=1), 1.0) and np.allclose(pts[:, -1], 0.5)
    probe = sphere.sample_uniform(np.random.default_rng(16), 50_000, d)
    dist, _ = cKDTree(pts).query(probe)
    assert np.max(dist) <= radius
    assert np.max(dist) >= radius / 3  # the stated radius is not wildly loose
