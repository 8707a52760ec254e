"""Every fast kernel against the one plain-numpy reference (advcert.measured.reference), in the
manner of optax's equivalence tests, plus exact rationals, Arb and finite differences.

The kink convention (relu'(0) := 0 for f, the gate 1{u >= 0} for g) is asserted once, in
:func:`test_kink_convention`; the other tests include points exactly on kinks.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.spatial import cKDTree

from advcert import adversary, sphere
from advcert.kernels import ascent, forward, fstar, hermite, relaxation, sweep, threads, update
from advcert.measured import reference as ref
from advcert.measured.attacks import AttackConfig, loss_objective, network_ascent
from advcert.measured.coupling import net
from advcert.measured.h import build_features, h_arb, h_float
from advcert.measured.network import TwoLayerNet


def _network(m, d, seed, move=0.05) -> TwoLayerNet:
    rng = np.random.default_rng(seed)
    a = np.where(rng.integers(0, 2, m) == 1, 1.0, -1.0) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / math.sqrt(m)
    b = rng.standard_normal(m) / math.sqrt(m)
    W = W0 + rng.standard_normal((m, d)) * move / math.sqrt(m)
    return TwoLayerNet(a, W0, b, W)


def _on_kinks(net: TwoLayerNet, X: np.ndarray) -> TwoLayerNet:
    """The same network with b moved so that some points sit exactly on a kink of f (z = 0)
    and others exactly on the gate of g (u = 0): b_r := -<W_r, x_p> computed in float, which
    is exact when W_r x_p is a sum the float product reproduces (one nonzero coordinate)."""
    W, W0, b = net.W.copy(), net.W0.copy(), net.b.copy()
    p = 0
    for r in range(0, min(net.m - 1, 2 * X.shape[0]), 2):
        W[r, 1:] = 0.0
        W0[r + 1, 1:] = 0.0
        b[r] = -(W[r, 0] * X[p, 0])
        b[r + 1] = -(W0[r + 1, 0] * X[p, 0])
        p = (p + 1) % X.shape[0]
    return TwoLayerNet(net.a, W0, b, W)


def _close(got, want, tol=1e-13):
    assert np.max(np.abs(got - want)) <= tol * (1 + np.max(np.abs(want))), np.max(np.abs(got - want))


def test_kink_convention():
    """THE kink convention, asserted once: relu'(0) := 0 in ∇f and in Algorithm 1's W-gradient,
    and the pseudo-network's gate is 1{u >= 0} (so g and ∇g count a neuron with u = 0)."""
    x = np.array([[0.5, 0.0, 0.0]])
    a = np.array([1.0, 2.0])
    W0 = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    W = np.array([[1.0, 0.0, 0.0], [1.5, 0.0, 0.0]])
    b = np.array([-0.5, -0.5])
    net_ = TwoLayerNet(a, W0, b, W)  # neuron 0: z = u = 0 exactly; neuron 1: z = 0.25, u = 0
    for layout in forward.LAYOUTS:
        r = forward.forward(a, W, b, x, W0=W0, D=net_.D, g=True, grad=True, layout=layout)
        assert r.f[0] == 0.5  # relu(0) = 0, relu(0.25) * 2
        assert np.array_equal(r.f_grad[0], 2.0 * W[1])  # relu'(0) = 0: neuron 0 does not count
        assert r.g[0] == 0.5 and np.array_equal(r.g_grad[0], 2.0 * (W[1] - W0[1]))  # gate 1{0 >= 0} = 1
    # Algorithm 1's W-gradient uses the same relu'
    G = update.w_gradient(a, W, b, x, np.array([1.0]))
    assert np.array_equal(G[0], np.zeros(3)) and np.array_equal(G[1], 2.0 * x[0])
    assert np.array_equal(ref.f_grad(net_, x), r.f_grad) and np.array_equal(ref.w_gradient(net_, x, np.ones(1)), G)
    assert ref.g_value(net_, x)[0] == 0.5


@pytest.mark.parametrize("layout", forward.LAYOUTS)
@pytest.mark.parametrize("m,d,N", [(1, 2, 3), (45, 4, 6), (300, 7, 37), (257, 33, 20)])
def test_forward_equals_reference(layout, m, d, N, monkeypatch):
    if N > 10:
        monkeypatch.setattr(threads, "PARALLEL_WORK", 0)  # several numba groups, ragged last tile
    net_ = _network(m, d, m + d, move=2.0)
    X = sphere.sample_uniform(np.random.default_rng(1), N, d)
    net_ = _on_kinks(net_, X)
    r = forward.forward(net_.a, net_.W, net_.b, X, W0=net_.W0, D=net_.D, g=True, grad=True, layout=layout, tile=16)
    _close(r.f, ref.f_value(net_, X))
    _close(r.f_grad, ref.f_grad(net_, X))
    _close(r.g, ref.g_value(net_, X))
    _close(r.g_grad, ref.g_grad(net_, X))
    only_f = forward.forward(net_.a, net_.W, net_.b, X, layout=layout, tile=16)
    assert only_f.g is None and only_f.f_grad is None and np.array_equal(only_f.f, r.f)


def test_forward_equals_exact_rationals():
    m, d = 21, 3
    net_ = _network(m, d, 2, move=1.0)
    X = sphere.sample_uniform(np.random.default_rng(3), 9, d)
    r = forward.forward(net_.a, net_.W, net_.b, X, grad=True)
    for p in range(X.shape[0]):
        x = [Fraction(v) for v in X[p]]
        f = Fraction(0)
        g = [Fraction(0)] * d
        for ar, br, wr in zip(net_.a, net_.b, net_.W):
            z = sum((Fraction(w) * xv for w, xv in zip(wr, x)), Fraction(br))
            if z > 0:
                f += Fraction(ar) * z
                g = [gi + Fraction(ar) * Fraction(w) for gi, w in zip(g, wr)]
        assert abs(r.f[p] - float(f)) < 1e-15
        assert np.max(np.abs(r.f_grad[p] - np.array([float(v) for v in g]))) < 1e-15


def test_point_forward_is_the_same_kernel():
    net_ = _network(40, 5, 4, move=1.0)
    X = sphere.sample_uniform(np.random.default_rng(5), 8, 5)
    net_ = _on_kinks(net_, X)
    gr = np.empty(5)
    for kind, val, grad in ((0, ref.f_value(net_, X), ref.f_grad(net_, X)), (1, ref.g_value(net_, X), ref.g_grad(net_, X))):
        for p in range(X.shape[0]):
            v = forward.point_forward(X[p], net_.a, net_.W, net_.W0, net_.D, net_.b, kind, gr)
            assert abs(v - val[p]) <= 1e-14 and np.max(np.abs(gr - grad[p])) <= 1e-14


# ---------------------------------------------------------------------------------------
# the Theorem 5.1 sweep
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("m,d,N", [(1, 2, 3), (300, 3, 1000), (1000, 8, 517), (257, 33, 300)])
def test_sweep_equals_reference(m, d, N):
    net_ = _network(m, d, m + d)
    X = sphere.sample_uniform(np.random.default_rng(1), N, d)
    net_ = _on_kinks(net_, X)
    R = 1.7
    s = sweep.sweep(sweep.pack(net_.a, net_.W0, net_.b, net_.W), X, R=R)
    tb, me = ref.theorem51_sums(net_, X, R)
    for got, want in zip((s.f, s.g, s.f0, s.thm51_sum, s.mechanism),
                         (ref.f_value(net_, X), ref.g_value(net_, X), ref.f0_value(net_, X), tb, me)):
        _close(got, want, 1e-12)


def test_sweep_against_exact_rationals():
    """Float sums vs exact Fraction arithmetic on the same binary64 inputs, within the a-priori bound."""
    m, d = 40, 4
    net_ = _network(m, d, 3, move=1.0)
    X = sphere.sample_uniform(np.random.default_rng(4), 6, d)
    P = sweep.pack(net_.a, net_.W0, net_.b, net_.W)
    s = sweep.sweep(P, X)
    bound = sweep.sweep_error_bound(P)
    fa = [Fraction(v) for v in net_.a]
    fb = [Fraction(v) for v in net_.b]
    for p in range(X.shape[0]):
        x = [Fraction(v) for v in X[p]]
        f = g = Fraction(0)
        for r in range(m):
            w0 = [Fraction(v) for v in net_.W0[r]]
            w = [Fraction(v) for v in net_.W[r]]
            u = sum(wi * xi for wi, xi in zip(w0, x)) + fb[r]
            z = sum(wi * xi for wi, xi in zip(w, x)) + fb[r]
            dl = sum((wi - vi) * xi for wi, vi, xi in zip(w, w0, x))
            f += fa[r] * max(z, Fraction(0))
            g += fa[r] * dl * (1 if u >= 0 else 0)
        assert abs(Fraction(s.f[p]) - f) <= Fraction(bound)
        assert abs(Fraction(s.g[p]) - g) <= Fraction(bound)


def test_sweep_at_initialisation_has_no_pseudo_network():
    net_ = _network(70, 5, 3, move=0.0)
    X = sphere.sample_uniform(np.random.default_rng(3), 50, 5)
    s = sweep.sweep(sweep.pack(net_.a, net_.W0, net_.b, net_.W), X)
    r = forward.forward(net_.a, net_.W, net_.b, X, W0=net_.W0, D=net_.D, g=True)
    assert np.all(s.g == 0.0) and np.all(r.g == 0.0)  # Δ = s - s0 is exactly 0 at W = W0 (Section 5)


def test_theorem51_mechanism_pointwise():
    """|f_W - g_W| <= |f_W0| + m^{-1/3} Σ (R m^{-2/3} - |u_r|)_+ whenever ||W - W0||_{2,inf} <= R/m^{2/3}."""
    m, d = 2000, 6
    net_ = _network(m, d, 8, move=3.0)
    X = sphere.sample_uniform(np.random.default_rng(9), 2000, d)
    P = sweep.pack(net_.a, net_.W0, net_.b, net_.W)
    R = m ** (2 / 3) * float(np.max(np.linalg.norm(net_.D, axis=1)))
    s = sweep.sweep(P, X, R=R)
    gap = np.abs(s.f - s.g)
    tol = sweep.sweep_error_bound(P)
    assert np.all(gap <= s.theorem51_bound(m) + tol)
    assert np.all(gap <= s.mechanism_bound() + tol)
    assert np.all(s.mechanism_bound() <= s.theorem51_bound(m) + tol)
    # with a radius below the true one the bound is no longer guaranteed, and it does fail here
    s_small = sweep.sweep(P, X, R=R / 50)
    assert np.any(gap > s_small.theorem51_bound(m))


# ---------------------------------------------------------------------------------------
# Algorithm 1's update
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("force_parallel", [False, True])
def test_update_equals_reference_step(force_parallel, monkeypatch):
    if force_parallel:
        monkeypatch.setattr(threads, "PARALLEL_WORK", 0)
    net_ = _network(45, 4, 6, move=2.0)
    X = sphere.sample_uniform(np.random.default_rng(7), 9, 4)
    net_ = _on_kinks(net_, X)
    coef = np.random.default_rng(8).uniform(-1, 1, 9) / 9
    G = update.w_gradient(net_.a, net_.W, net_.b, X, coef, tile=8)
    _close(G, ref.w_gradient(net_, X, coef), 1e-15)
    Wn, drift = update.step(net_.a, net_.W0, net_.b, net_.W, X, coef, 0.3, tile=8)
    want = net_.W - 0.3 * ref.w_gradient(net_, X, coef)
    _close(Wn, want, 1e-15)
    assert abs(drift - np.max(np.linalg.norm(want - net_.W0, axis=1))) < 1e-15


# ---------------------------------------------------------------------------------------
# ascent on caps: the compiled twins against adversary.py's numpy path
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.0, 0.1, 0.7, 2.0])
def test_cap_step_equals_numpy_step(rho):
    rng = np.random.default_rng(10)
    d = 6
    cen = sphere.sample_uniform(rng, 40, d)
    x = np.concatenate([np.concatenate([sphere.sample_in_cap(rng, c, rho, 1) for c in cen[:30]]), cen[30:]])
    grad = rng.standard_normal((40, d))
    grad[-3:] = 0.0  # no tangent direction: the step stays put
    grad[-5, :-1] = 0.0  # along e_d, normal to X: no tangent part either
    eta = rng.uniform(0.0, 0.5, 40)
    theta = sphere.cap_angle(rho)
    fast = ascent.cap_step(x, grad, eta, cen, math.cos(theta), math.sin(theta), theta >= math.pi)
    slow = adversary.cap_step(x, grad, eta, cen, rho)
    _close(fast, slow, 1e-15)
    assert np.all(np.linalg.norm(fast - cen, axis=1) <= rho + 1e-12)


@pytest.mark.parametrize("kind", ["f", "g"])
def test_fused_apgd_equals_numpy_apgd_step_by_step(kind):
    rng = np.random.default_rng(21)
    net_ = _network(40, 5, 11, move=3.0)
    X = sphere.sample_uniform(rng, 6, 5)
    y = rng.uniform(-1, 1, 6)
    for sign in (1, -1, 0):
        obj = loss_objective(net_, y, kind=kind, sign=sign)
        for steps in (1, 2, 3, 7, 20):
            fused = network_ascent(net_, X, y, 0.25, seed=4, kind=kind, sign=sign,
                                   config=AttackConfig(restarts=2, steps=steps))
            generic = adversary.projected_ascent(obj, X, 0.25, seed=4, restarts=2, steps=steps)
            _close(fused.values, generic.values, 1e-12)
            _close(fused.points, generic.points, 1e-9)


def test_ascent_on_the_whole_of_X_reaches_known_maximum():
    """max over X of <c, x> is c_d/2 + (√3/2)||c_{1:d-1}||; APGD with rho = √3 gets there and never above."""
    d = 6
    c = np.array([0.3, -1.0, 0.5, 0.2, 0.0, 0.7])
    best = c[-1] / 2 + math.sqrt(3) / 2 * np.linalg.norm(c[:-1])

    def obj(Z, idx):
        return Z @ c, np.tile(c, (Z.shape[0], 1))

    X0 = sphere.sample_uniform(np.random.default_rng(14), 16, d)
    res = adversary.projected_ascent(obj, X0, math.sqrt(3.0), seed=15, restarts=0, steps=40, step_size=0.25)
    assert np.all(res.values <= best + 1e-12)
    assert np.max(res.values) >= best - 1e-3
    assert np.allclose(res.points @ c, res.values)
    assert np.allclose(np.linalg.norm(res.points, axis=1), 1.0) and np.allclose(res.points[:, -1], 0.5)


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
    val, grad = fstar.fstar(X, Xd, y, cheb_b, float(alpha))
    bound = fstar.fstar_error_bound(cheb_b, y, d, 2 * k + 1, 1.0)
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
    val, _ = fstar.fstar(X, Xd, y, q.cheb_b, float(q.alpha))
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
    v1, e1, u1 = hermite.h_values(feat.kappa, float(feat.B_t), a, beta)
    v2, e2, u2 = h_float(feat, a, beta)
    assert np.array_equal(u1, u2)
    assert np.max(np.abs(v1 - v2) - 1e-12 * np.abs(v2)) <= 1e-13 * (1 + np.max(np.abs(v2)))
    assert np.allclose(e1, e2, rtol=1e-10, atol=0)
    for j in range(0, 600, 37):
        ref = h_arb(feat, a[j], beta[j])
        assert abs(v1[j] - float(ref.mid())) <= e1[j] + float(ref.rad())


# ---------------------------------------------------------------------------------------
# nets
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("d,count", [(3, 500), (4, 1500)])
def test_net_covering_radius(d, count):
    pts, radius = net(d, count)
    assert np.allclose(np.linalg.norm(pts, axis=1), 1.0) and np.allclose(pts[:, -1], 0.5)
    probe = sphere.sample_uniform(np.random.default_rng(16), 50_000, d)
    dist, _ = cKDTree(pts).query(probe)
    assert np.max(dist) <= radius
    assert np.max(dist) >= radius / 3  # the stated radius is not wildly loose


def test_fstar_z_kernel_matches_exact_rationals():
    """kernels.fstar.fstar_z (q in its own z-Chebyshev form: minimax and LP routes) against f* evaluated
    exactly from q's rational coefficients, value and gradient (Lemma 6.2)."""
    from fractions import Fraction

    from flint import fmpq, fmpq_poly

    from advcert.kernels.fstar import fstar_z, fstar_z_error_bound
    from advcert.poly.zform import cheb_z

    rng = np.random.default_rng(11)
    coeffs = [Fraction(int(v), 64) for v in rng.integers(-64, 64, size=13)]
    poly = fmpq_poly([fmpq(c.numerator, c.denominator) for c in coeffs])
    d, n = 4, 3
    Xd = sphere.sample_uniform(rng, n, d)
    y = np.array([1.0, -0.5, 0.25])
    X = sphere.sample_uniform(rng, 20, d)
    val, grad = fstar_z(X, Xd, y, cheb_z(poly))
    dq = [j * c for j, c in enumerate(coeffs)][1:]
    tol = fstar_z_error_bound(cheb_z(poly), y, d, 12, float(sum(abs(c) for c in coeffs)))
    for p in range(X.shape[0]):
        zs = [Fraction(float(v)) for v in Xd @ X[p]]
        ref_v = sum(Fraction(float(yi)) * sum(c * z**j for j, c in enumerate(coeffs)) for yi, z in zip(y, zs))
        assert abs(float(ref_v) - val[p]) <= tol + 1e-12
        ref_g = sum(float(yi) * float(sum(c * z**j for j, c in enumerate(dq))) * Xd[i] for i, (yi, z) in enumerate(zip(y, zs)))
        assert np.allclose(grad[p], ref_g, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------
# threads: the slicing of a kernel's work never changes a number
# ---------------------------------------------------------------------------------------


def _every_kernel(net_: TwoLayerNet, X: np.ndarray) -> list[np.ndarray]:
    rng = np.random.default_rng(21)
    r = forward.forward(net_.a, net_.W, net_.b, X, W0=net_.W0, D=net_.D, g=True, grad=True, tile=16)
    s = sweep.sweep(sweep.pack(net_.a, net_.W0, net_.b, net_.W, tile=16), X, R=1.0, chunk=8)
    cheb = rng.standard_normal(9)
    fz, gz = fstar.fstar_z(X, X[:5], np.linspace(-1, 1, 5), cheb)
    fb, gb = fstar.fstar(X, X[:5], np.linspace(-1, 1, 5), cheb, 0.25)
    hv, he, hu = hermite.h_values(np.ones(7) / 7, 2.5, rng.standard_normal(50), rng.standard_normal(50))
    theta = sphere.cap_angle(0.3)
    grad = rng.standard_normal(X.shape)
    cs = ascent.cap_step(X, grad, np.full(X.shape[0], 0.1), X, math.cos(theta), math.sin(theta), False)
    bv, bx = ascent.apgd_trajectories(X, X, np.zeros(X.shape[0]), net_.a, net_.W, net_.W0, net_.D, net_.b,
                                      sigma=0.0, kind=1, cos_t=math.cos(theta), sin_t=math.sin(theta),
                                      whole=False, eta0=0.1, steps=6, checkpoints=[2, 4])
    G = update.w_gradient(net_.a, net_.W, net_.b, X, np.linspace(-1, 1, X.shape[0]), tile=16)
    Wn, drift = update.step(net_.a, net_.W0, net_.b, net_.W, X, np.linspace(-1, 1, X.shape[0]), 0.3, tile=16)
    return [r.f, r.f_grad, r.g, r.g_grad, s.f, s.g, s.f0, s.thm51_sum, s.mechanism, fz, gz, fb, gb, hv, he, hu,
            cs, bv, bx, G, Wn, np.array([drift])]


def test_threads_change_no_number(monkeypatch):
    net_ = _network(100, 5, 22, move=2.0)
    X = sphere.sample_uniform(np.random.default_rng(23), 37, 5)
    monkeypatch.setattr(threads, "PARALLEL_WORK", 0)
    monkeypatch.setattr(threads, "numba_threads", lambda: 1)
    one = _every_kernel(net_, X)
    monkeypatch.setattr(threads, "numba_threads", lambda: 3)  # more slices than cores, ragged ones
    three = _every_kernel(net_, X)
    assert threads.groups(37, 100, 5, 16) == 3 and threads.parts(1, 37) == 3
    # f_W, g_W and their gradients sum the tile groups' partial sums: the group count (the
    # thread count, as with prange) moves their last bits, nothing else does
    for u, v in zip(one[:4], three[:4]):
        _close(u, v, 1e-14)
    for i, (u, v) in enumerate(zip(one[4:], three[4:])):
        assert np.array_equal(u, v), i


@pytest.mark.parametrize("n,parts", [(0, 2), (1, 4), (7, 3), (9, 3), (10, 1)])
def test_split_covers_every_item_once(n, parts):
    ranges = threads.split(n, parts)
    assert [i for lo, hi in ranges for i in range(lo, hi)] == list(range(n))
    assert len(ranges) == max(1, min(parts, n)) and all(hi > lo for lo, hi in ranges if n)


def test_spread_runs_every_part_and_raises_a_failing_one():
    seen = []

    def work(i):
        seen.append(i)
        if i == 2:
            raise ValueError("part 2")

    with pytest.raises(ValueError, match="part 2"):
        threads.spread(work, 4)
    assert sorted(seen) == [0, 1, 2, 3]


def test_spread_inside_a_pool_thread_runs_in_turn_rather_than_deadlocking():
    seen = []

    def outer(i):
        threads.spread(lambda j: seen.append((i, j)), 3)

    threads.spread(outer, 2)
    assert sorted(seen) == [(i, j) for i in range(2) for j in range(3)]


@pytest.mark.parametrize("kind", ["ball", "cap"])
def test_crown_multipliers_kernel_equals_reference_bit_for_bit(kind):
    # Theorem 5.3's relaxation: the fused kernel (advcert.kernels.relaxation) against the numpy reference
    # whose rounding analysis certifies the bound; equality makes that analysis cover the kernel too
    from advcert.measured import crown
    from advcert.measured.balls import row_norms
    from advcert.measured.network import plain

    rng = np.random.default_rng(17)
    chords = 0
    for m, d in ((1, 3), (7, 3), (64, 5), (300, 10)):
        net_ = _network(m, d, m + d, move=0.5)
        nw = plain(net_.a, net_.W, net_.b)
        W = nw.W.copy()
        W[0] = 0.0  # a zero row: the cap's relative radius has no form there (the reference's inf)
        b = nw.b.copy()
        b[-1] = 0.0
        nw = plain(nw.a, W, b)
        X = sphere.sample_uniform(rng, 9, d)
        X[0] = sphere.lift(np.eye(d - 1)[:1])[0]  # a centre with exact coordinates
        for rho in (1e-9, 0.05, 0.7, 1.9):
            dom = crown.make_domain(X, rho, kind)
            nrm = row_norms(nw.W, nw.b, kind)
            K1, U1, lo, hi = crown._multipliers_reference(dom, nw, nrm)
            K2, U2 = crown._multipliers_fused(dom, nw, nrm)
            assert np.array_equal(K1, K2) and np.array_equal(U1, U2), (m, d, rho)
            # an enclosing range that cuts some of the rows' ranges (the parent cap of an input split)
            lo0, hi0 = np.quantile(lo, 0.3, axis=0), np.quantile(hi, 0.7, axis=0)
            K3, U3, _, _ = crown._multipliers_reference(dom, nw, nrm, lo0, hi0)
            K4, U4 = crown._multipliers_fused(dom, nw, nrm, lo0, hi0)
            assert np.array_equal(K3, K4) and np.array_equal(U3, U4), (m, d, rho)
            chords += np.count_nonzero(U1)
    assert chords > 1000  # unstable neurons: the chords are exercised


def test_capmax_kernel_equals_reference_bit_for_bit():
    # Theorem 5.3's sup of a linear function over caps: the compiled per-row pass against the numpy ball reference
    from advcert.measured import perturbation as pt
    from advcert.measured.balls import _bdot_self, _rowdot

    rng = np.random.default_rng(18)
    for d in (3, 4, 10):
        X = sphere.sample_uniform(rng, 400, d)
        X[:5] += rng.standard_normal((5, d)) * 1e-9  # centres slightly off X
        L = rng.standard_normal((400, d)) * 10.0 ** rng.uniform(-3, 3, (400, 1))
        L[:40, :-1] = X[:40, :-1] * rng.uniform(0.5, 2.0, (40, 1))  # directions inside the cap: the ||u|| branch
        L[40] = 0.0
        for rho in (1e-6, 0.05, 0.3, 1.0, 1.99):
            dom = pt.make_domain(X, rho, "cap")
            args = (_rowdot(L[:, :-1], dom.x0[:, :-1]), _bdot_self(L[:, :-1]), dom.kappa, dom.p2, dom.whole)
            ref, fast = pt._capmax_up(*args), pt._capmax_rows(*args)
            assert np.array_equal(ref, fast), (d, rho, np.flatnonzero(ref != fast)[:5])


def test_cap_kappa_and_constants_kernels_equal_reference_bit_for_bit():
    # Definition 3.2's cap {v : <v, p> >= kappa} and the per-centre constants of Theorem 5.3's cap ranges
    from advcert.measured import perturbation as pt
    from advcert.measured.balls import _bdot_self

    rng = np.random.default_rng(19)
    for d in (3, 5, 10):
        X = sphere.sample_uniform(rng, 300, d)
        X[:20] += rng.standard_normal((20, d)) * 1e-3  # off X: x_d outside [1/4, 1] needs its rounding radius
        X[20:25, -1] = rng.uniform(-0.2, 0.2, 5)
        for rho in (1e-7, 0.05, 0.4, 1.0, 1.99, 2.5):
            r = pt.rho_upper(rho)
            p2 = _bdot_self(X[:, :-1])
            kr, pr = pt._kappa_reference(X, r, p2)
            kf, pf = np.empty(len(X)), np.empty(len(X))
            relaxation.cap_kappa(np.ascontiguousarray(X[:, -1]), p2[0], p2[1], r, kf, pf)
            assert np.array_equal(kr, kf) and np.array_equal(pr, pf), (d, rho)
            keep = kr <= pr  # the non-empty caps
            if not keep.any():
                continue
            dom = pt.make_domain(X[keep], rho, "cap")
            assert np.array_equal(pt._cap_constants(dom), pt._cap_constants_reference(dom)), (d, rho)
