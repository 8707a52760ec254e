"""Initialisation, W* of Lemma 6.5, the chain's theory widths, the witness and the checks."""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from advcert import certificate
from advcert.checks import measured as RF
from advcert import sphere
from advcert.kernels import sweep
from advcert.measured import coupling as C
from advcert.measured import network as N
from advcert.measured import reference as ref
from advcert.errors import InputError
from advcert.measured.h import build_features, h_arb, phi_exact

CUBIC = (Fraction(1, 10), Fraction(-1, 2), Fraction(1), Fraction(7, 10))


def test_initialisation_distribution_and_determinism():
    m, d = 40_000, 4
    net = N.initialise(m, d, seed=3)
    assert np.all(np.abs(np.abs(net.a) - m ** (-1 / 3)) < 1e-15)
    assert abs(np.mean(net.a > 0) - 0.5) < 0.02
    assert net.W0.shape == (m, d) and net.b.shape == (m,)
    # N(0, 1/m): variances within a few standard errors
    for v in (net.W0.ravel(), net.b):
        assert abs(np.mean(v) * math.sqrt(m)) < 5 / math.sqrt(v.size) * 1.0
        assert abs(np.var(v) * m - 1) < 5 * math.sqrt(2 / v.size)
    again = N.initialise(m, d, seed=3)
    assert np.array_equal(net.W0, again.W0) and np.array_equal(net.a, again.a) and np.array_equal(net.b, again.b)
    other = N.initialise(m, d, seed=4)
    assert not np.array_equal(net.W0, other.W0)
    # the network stream does not reuse the root seed's own first draws
    plain = np.random.default_rng(np.random.SeedSequence(3)).standard_normal(10) / math.sqrt(m)
    assert not np.allclose(plain, net.W0.ravel()[:10])


def test_initialise_rejects_bad_sizes():
    with pytest.raises(InputError):
        N.initialise(0, 3, 0)
    with pytest.raises(InputError):
        N.initialise(10, 1, 0)


@pytest.fixture(scope="module")
def small():
    feat = build_features(CUBIC, Fraction(1, 500))
    X = sphere.lift(np.array([[1.0, 0.0], [0.0, 1.0]]))
    y = np.array([0.8, -0.6])
    net = N.initialise(64, 3, seed=1)
    return feat, X, y, net, N.w_star(net, X, y, feat)


def test_w_star_against_slow_reference(small):
    feat, X, y, net, ps = small
    m = net.m
    for r in range(0, m, 7):
        s = sum(float(h_arb(feat, math.sqrt(m) * float(X[i] @ net.W0[r]), math.sqrt(m) * net.b[r]).mid()) * y[i]
                for i in range(2))
        c = 2 * s / (m * net.a[r])
        assert ps.c[r] == pytest.approx(c, rel=1e-11, abs=1e-14)
    W = ps.W
    assert np.array_equal(W[:, :-1], net.W0[:, :-1])
    # on X, <W*_r - W0_r, x> = c_r / 2
    x = sphere.sample_uniform(np.random.default_rng(0), 5, 3)
    assert np.allclose(x @ (W - net.W0).T, ps.c[None, :] / 2, atol=1e-15)


def test_radius_within_theorem(small):
    feat, X, y, net, ps = small
    R_thm = 2 * len(y) * 2.0 ** float(feat.log2_C_h)
    assert 0 < ps.radius <= R_thm
    assert ps.radius == pytest.approx(N.radius(net, ps.W), rel=1e-12)


def test_g_is_an_average_of_h(small):
    """g_{W*}(x) = (1/m) Σ_r Σ_i y_i h(·) 1{u_r(x) >= 0} (math-spec §6)."""
    feat, X, y, net, ps = small
    x = sphere.sample_uniform(np.random.default_rng(2), 50, 3)
    g = sweep.sweep(C.pack(ps.network), x).g
    U = x @ net.W0.T + net.b
    ref = ((U >= 0) * ps.sum_yh[None, :]).sum(1) / net.m
    assert np.allclose(g, ref, atol=1e-13)


def test_lemma65_mean_is_fstar():
    """With n = 1, E g_{W*}(x) = y φ(<x_1, x>) ± ε2: the [D] construction, statistically."""
    feat = build_features(CUBIC, Fraction(1, 500))
    X = sphere.lift(np.array([[0.6, 0.8]]))
    y = np.array([0.8])
    net = N.initialise(200_000, 3, seed=7)
    ps = N.w_star(net, X, y, feat)
    pts = sphere.lift(np.array([[1.0, 0.0], [0.6, 0.8], [-0.6, -0.8], [0.0, -1.0]]))
    U = pts @ net.W0.T + net.b
    Z = (U >= 0) * ps.sum_yh[None, :]
    mean, se = Z.mean(1), Z.std(1) / math.sqrt(net.m)
    g = sweep.sweep(C.pack(ps.network), pts).g
    assert np.allclose(g, mean, atol=1e-9)
    for p in range(4):
        z = Fraction(float(pts[p] @ X[0]))
        target = 0.8 * float(phi_exact(CUBIC, z))
        assert abs(mean[p] - target) <= 5 * se[p] + float(feat.eps2)


def test_chain_widths_worked_example():
    """math-spec §11: R = 2nC_h ≈ 2^324 (C_h = 2^319.6, n = 10) needs m ≈ 10^1179 for ε = 0.1."""
    w = C.chain_widths(10, 8, 0.1, 319.6)
    assert w.log10_R == pytest.approx(97.5, abs=0.1)
    assert w.log10_m_thm51 == pytest.approx(1179, abs=1.0)
    assert w.log10_m_required >= w.log10_m_hoeffding
    # Hoeffding: m ~ 2 n² C_h² ln(net)/ (ε/9)² ≈ 10^(2·96.2 + ...)
    assert 190 < w.log10_m_hoeffding < 210
    # the failure bound at the Hoeffding width is <= δ, and vacuous far below it
    assert C.log10_hoeffding_failure(10 ** 15, 1, 3, 0.5, 1.0) < -2
    assert C.log10_hoeffding_failure(10 ** 4, 10, 8, 0.1, 319.6) > 0


def test_witness_is_deterministic(tmp_path, small):
    feat, X, y, net, ps = small
    p1, p2 = tmp_path / "a.npz", tmp_path / "b.npz"
    other = N.w_star(N.initialise(64, 3, seed=1), X, y, feat)
    p1.write_bytes(certificate.network_witness(ps.net.a, ps.net.W0, ps.net.b, ps.W))
    p2.write_bytes(certificate.network_witness(other.net.a, other.net.W0, other.net.b, other.W))
    h1, h2 = (hashlib.sha256(p.read_bytes()).hexdigest() for p in (p1, p2))
    assert h1 == h2 == hashlib.sha256(p1.read_bytes()).hexdigest()
    with np.load(p1) as z:
        assert np.array_equal(z["W"], ps.W) and np.array_equal(z["a"], net.a)
        assert np.array_equal(z["W0"], net.W0) and np.array_equal(z["b"], net.b)


class _Step:
    """A stand-in for StepPolynomial: q(z) = 1/2 + z/2 (exact coefficients + Chebyshev data).

    With α = 0, p1(x) = x·Q(1 - x²) with Q ≡ 1 gives q(z) = (z/2 + 1)/2 = 1/2 + z/4."""

    coefficients = (Fraction(1, 2), Fraction(1, 4))
    alpha = Fraction(0)
    cheb_b = np.array([1.0])


def test_checks_format_and_verdicts():
    X = sphere.lift(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    y = np.array([1.0, -1.0])
    opts = C.Options(uniform_points=2000, net_points=500, ascent_points=8, ascent_steps=5)
    rep = RF.random_feature_checks(X, y, Fraction(9, 10), _Step(), m=4096, seed=0, options=opts)
    ids = [c["id"] for c in rep.checks]
    assert ids == ["lemma-6.6", "lemma-6.6/range", "lemma-6.5/radius", "lemma-6.5", "theorem-5.1", "theorem-5.1/chain"]
    allowed = {"observed", "violated", "vacuous", "infeasible"}
    # the sound sup-norms and the exact radius (math-spec §13) may carry rigorous labels
    rigorous = {"lemma-6.5/radius": "exact", "lemma-6.5": "sound-bound", "theorem-5.1/chain": "sound-bound"}
    for c in rep.checks:
        assert set(c) == {"id", "claim", "relation", "bound", "value", "label", "verdict", "method", "seconds", "details"}
        if c["id"].startswith("lemma-6.6"):  # proved in ball arithmetic (math-spec §5.1; tests/test_lemma66_rigorous.py)
            assert c["label"] in ("sound-bound", "estimate") and c["relation"] == "<="
            continue
        assert c["relation"] == "<="
        if c["label"] == "estimate":
            assert c["verdict"] in allowed
        else:
            assert c["label"] == rigorous[c["id"]] and c["verdict"] in ("holds", "fails")
    json.dumps({"checks": rep.checks, "constants": rep.constants}, allow_nan=False)
    by = {c["id"]: c for c in rep.checks}
    # q has degree 1, so h is tiny and everything is easy: the measured chain works
    assert by["lemma-6.6"]["verdict"] == "holds"
    assert by["lemma-6.5"]["verdict"] in ("observed", "holds")
    assert by["lemma-6.5/radius"]["verdict"] in ("observed", "holds")
    # the verdict follows the numbers, whatever they are
    for c in rep.checks:
        if c["verdict"] in ("observed", "holds"):
            assert Fraction(c["value"]) <= Fraction(c["bound"])
    # f* here is q(<x1,x>) - q(<x2,x>) = (<x1,x> - <x2,x>)/4: check the sweep used it
    assert Fraction(by["lemma-6.5"]["value"]) < Fraction(3, 10)
    for k, v in rep.constants.items():
        assert set(v) == {"value", "label", "note"}
        if v["label"] != "estimate":
            assert isinstance(v["value"], str)


def test_checks_say_infeasible_when_width_is_out_of_reach():
    """A planted miss: ε so small that ε/3 is below the sampling noise at m = 1024."""
    X = sphere.lift(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    y = np.array([1.0, -1.0])
    opts = C.Options(uniform_points=500, net_points=200, ascent_points=4, ascent_steps=3)
    rep = RF.random_feature_checks(X, y, Fraction(1, 10**4), _Step(), m=1024, seed=0, options=opts)
    by = {c["id"]: c for c in rep.checks}
    assert by["lemma-6.5"]["value"] > by["lemma-6.5"]["bound"]
    assert by["lemma-6.5"]["verdict"] == "infeasible"
    assert by["lemma-6.5"]["details"]["log10_m_required"] > math.log10(1024)


def test_checks_reject_bad_labels():
    X = sphere.lift(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    with pytest.raises(InputError):
        RF.random_feature_checks(X, np.array([2.0, 0.0]), Fraction(1, 2), _Step(), m=64)


def test_sweep_and_numpy_agree_on_w_star(small):
    feat, X, y, net, ps = small
    x = sphere.sample_uniform(np.random.default_rng(5), 100, 3)
    s = sweep.sweep(C.pack(ps.network), x)
    assert np.allclose(s.f, ref.f_value(ps.network, x), atol=1e-12)
    assert np.allclose(s.g, ref.g_value(ps.network, x), atol=1e-12)


def test_small_instance_lemma65_at_moderate_width():
    """The shipped small instance: already at m = 2^16, sup|g_{W*} - f*| is well below ε/3."""
    sgn = pytest.importorskip("advcert.poly.sgn")
    step = pytest.importorskip("advcert.poly.step")
    S = C.SMALL_INSTANCE
    eta = S["gamma"] / 8
    q = step.step_polynomial(sgn.sign_polynomial(eta, S["eps"] / (3 * S["n"])), step.claim63_alpha(S["rho"], eta))
    opts = C.Options(uniform_points=1000, net_points=1000, ascent_points=8, ascent_steps=5)
    rep = RF.random_feature_checks(np.array(S["points"]), np.array(S["labels"]), S["eps"], q, m=2**16,
                                   seed=S["seed"], options=opts)
    by = {c["id"]: c for c in rep.checks}
    assert by["lemma-6.6"]["verdict"] == "holds"
    assert by["lemma-6.5"]["verdict"] in ("observed", "holds")
    assert Fraction(by["lemma-6.5"]["value"]) < S["eps"] / 6
