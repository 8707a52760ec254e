"""Lemma 6.6: the constants P_i, the function h, and the Mehler identity it rests on.

The construction in advcert.measured.h is a reconstruction [D]; these tests prove its parts
against independent computations: mpmath quadrature for P_i, a 2-D quadrature and a Monte
Carlo estimate of E[1{<u,x>+β>=0} h(<w*,u>, β)], Arb for h, and mpmath for C(φ).
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import arb, ctx
from scipy.special import ndtr

from advcert.measured import h as F
from advcert.poly.complexity import (
    complexity,
    complexity_eps,
    eps2_for_lemma65,
    log2_mid,
    log2_upper,
)

CUBIC = (Fraction(1, 10), Fraction(-1, 2), Fraction(1), Fraction(7, 10))  # design.md §2's probe


@pytest.fixture(scope="module")
def cubic():
    return F.build_features(CUBIC, Fraction(1, 1000))


def _contains(ball: arb, x: mpmath.mpf) -> bool:
    old = ctx.prec
    ctx.prec = 300
    try:
        # x is known to 80 digits; a cached P_i can be more accurate than that (its radius
        # below 1e-80), so compare with the 80-digit value widened by its own rounding
        return ball.overlaps(arb(mpmath.nstr(x, 80)) + arb(0, "1e-78"))
    finally:
        ctx.prec = old


# ---------------------------------------------------------------------------------------
# P_i
# ---------------------------------------------------------------------------------------


def test_P_closed_forms():
    P = F.hermite_P(3, 128)
    with mpmath.workdps(80):
        assert _contains(P[0], mpmath.mpf(1) / 2)
        assert _contains(P[1], 1 / (2 * mpmath.sqrt(mpmath.pi)))
        assert _contains(P[2], 1 / (2 * mpmath.pi))
        # P_3 = (2π)^-1 ∫ |t² - 1| e^{-t²} dt, by mpmath split at the roots ±1
        p3 = mpmath.quad(lambda t: abs(t * t - 1) * mpmath.exp(-t * t), [-mpmath.inf, -1, 1, mpmath.inf])
        p3 /= 2 * mpmath.pi
        assert _contains(P[3], p3)
        assert abs(float(p3) - 0.21377) < 1e-5  # math-spec §5's value


@pytest.mark.parametrize("i", [4, 7, 12])
def test_P_against_mpmath_quadrature(i):
    """P_i = ∫ |He_{i-1}| ϕ² by mpmath, split at the roots of He_{i-1} (independent code)."""
    P = F.hermite_P(i, 96)
    with mpmath.workdps(70):
        k = i - 1
        roots = sorted(mpmath.polyroots([mpmath.mpf(int(c)) for c in reversed(F.hermite_he(k).coeffs())],
                                        maxsteps=200, extraprec=400))
        pts = [-mpmath.inf] + [mpmath.re(r) for r in roots] + [mpmath.inf]
        he = lambda t: mpmath.polyval([int(c) for c in reversed(F.hermite_he(k).coeffs())], t)  # noqa: E731
        ref = mpmath.quad(lambda t: abs(he(t)) * mpmath.exp(-t * t), pts) / (2 * mpmath.pi)
        rel = abs(mpmath.mpf(P[i].mid().str(60, radius=False)) / ref - 1)
        assert rel < mpmath.mpf(10) ** -30  # the requested 96 bits, and more
        # the enclosure holds the reference, up to the reference's own ~1e-60 error
        lo = mpmath.mpf(P[i].lower().str(70, radius=False)) - mpmath.mpf(10) ** -55
        hi = mpmath.mpf(P[i].upper().str(70, radius=False)) + mpmath.mpf(10) ** -55
        assert lo <= ref <= hi


def test_P_growth_and_accuracy():
    P = F.hermite_P(60, 100)
    for i, p in enumerate(P):
        assert p > 0
        assert p.rel_accuracy_bits() >= 100
        if i >= 2:
            # P_i ≈ √((i-1)!) up to a modest factor (math-spec §5)
            r = float((p / arb.fac_ui(i - 1).sqrt()).mid())
            assert 0.02 < r < 1.0


def test_P_partition_is_a_lower_bound():
    """Any partition of the line gives Σ|ΔJ| <= ∫|He_k|ψ; a coarse one must fall below P."""
    k = 6
    Q, c = F._antiderivatives(k)
    P = F.hermite_P(k + 1, 80)[k + 1]
    with mpmath.workdps(40):
        def J(t):
            q = mpmath.polyval([mpmath.mpf(int(v.p)) / int(v.q) for v in reversed(Q[k].coeffs())], t)
            return q * mpmath.exp(-t * t) + mpmath.mpf(c[k].numerator) / c[k].denominator * mpmath.sqrt(mpmath.pi) / 2 * (1 + mpmath.erf(t))
        # roots shifted by 0.05: a wrong partition
        roots = [mpmath.re(r) + mpmath.mpf("0.05") for r in mpmath.polyroots(
            [int(v) for v in reversed(F.hermite_he(k).coeffs())], maxsteps=100, extraprec=200)]
        J_inf = mpmath.mpf(c[k].numerator) / c[k].denominator * mpmath.sqrt(mpmath.pi)
        pts = [mpmath.mpf(0)] + [J(r) for r in sorted(roots)] + [J_inf]
        wrong = sum(abs(pts[j + 1] - pts[j]) for j in range(len(pts) - 1)) / (2 * mpmath.pi)
        assert wrong < float(P.lower().mid())


def test_antiderivative_exact():
    """d/dt [Q_k ψ + c_k (√π/2)(1 + erf t)] = He_k ψ, i.e. Q_k' - 2t Q_k + c_k = He_k exactly."""
    from flint import fmpq_poly

    Q, c = F._antiderivatives(40)
    t = fmpq_poly([0, 1])
    for k in range(41):
        lhs = Q[k].derivative() - 2 * t * Q[k] + fmpq_poly([c[k].numerator]) / c[k].denominator
        assert lhs == fmpq_poly(F.hermite_he(k))


# ---------------------------------------------------------------------------------------
# the Mehler step, term by term
# ---------------------------------------------------------------------------------------


def _gl(edges, per=24):
    x, w = np.polynomial.legendre.leggauss(per)
    lo, hi = np.asarray(edges[:-1]), np.asarray(edges[1:])
    return ((lo + hi)[:, None] / 2 + (hi - lo)[:, None] / 2 * x).ravel(), ((hi - lo)[:, None] / 2 * w).ravel()


@pytest.mark.parametrize("i", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("z", [-0.6, 0.3, 0.9])
def test_mehler_term_identity(i, z):
    """E[He_i(A) sign(He_{i-1}(-β)) 1{B+β>=0}] = z^i P_i, by 2-D quadrature (math-spec §5 step 3)."""
    he = np.polynomial.hermite_e.HermiteE.basis(i)
    roots = np.polynomial.hermite_e.HermiteE.basis(i - 1).roots() if i > 1 else np.array([])
    s = math.sqrt(1 - z * z)
    t_edges = np.unique(np.concatenate([[-9.0, 9.0], -roots, np.linspace(-9, 9, 73)]))
    tt, wt = _gl(t_edges, 16)
    ta, wa = _gl(np.linspace(-11, 11, 89), 16)
    om = np.sign(np.polynomial.hermite_e.HermiteE.basis(i - 1)(-tt)) if i > 1 else np.ones_like(tt)
    phi_a = np.exp(-ta**2 / 2) / math.sqrt(2 * math.pi)
    phi_t = np.exp(-tt**2 / 2) / math.sqrt(2 * math.pi)
    inner = (he(ta) * phi_a * wa) @ ndtr((z * ta[:, None] + tt[None, :]) / s)
    val = float(np.sum(om * phi_t * wt * inner))
    P = float(F.hermite_P(i, 64)[i].mid())
    assert val == pytest.approx(z**i * P, abs=2e-9)


def test_without_weight_even_terms_vanish():
    """With ω ≡ 1 the even P_i vanish (math-spec §5 step 4): why h must depend on β."""
    t, w = _gl(np.linspace(-12, 12, 97))
    phi = np.exp(-t**2 / 2) / math.sqrt(2 * math.pi)
    for i in (2, 4, 6):
        g = np.polynomial.hermite_e.HermiteE.basis(i - 1)(-t) * phi
        assert abs(np.sum(g * phi * w)) < 1e-12


# ---------------------------------------------------------------------------------------
# h and the identity of Lemma 6.6
# ---------------------------------------------------------------------------------------


def test_identity_by_quadrature(cubic):
    ic = F.identity_quadrature(cubic, [-0.95, -0.5, 0.0, 0.4, 0.8, 0.95])
    assert ic.resolved
    assert ic.max_error <= float(cubic.eps2)
    # and it is not trivially small: the truncation really costs something at B_t
    assert ic.max_error > 1e-12


def test_identity_by_monte_carlo():
    feat = F.build_features(CUBIC, Fraction(1, 200))
    rng = np.random.default_rng(np.random.SeedSequence(20260))
    d = 5
    for z in (-0.7, 0.2, 0.85):
        w = np.zeros(d)
        w[0] = 1.0
        x = np.zeros(d)
        x[0], x[1] = z, math.sqrt(1 - z * z)
        N = 400_000
        u = rng.standard_normal((N, d))
        beta = rng.standard_normal(N)
        ind = (u @ x + beta >= 0).astype(float)
        vals = ind * feat(u @ w, beta)
        mean, se = vals.mean(), vals.std() / math.sqrt(N)
        target = float(F.phi_exact(CUBIC, Fraction(z)))
        assert abs(mean - target) <= 5 * se + float(feat.eps2)


def test_planted_wrong_P_is_caught(cubic):
    """A 2% error in P_2 (so in κ_2) must show up in the identity check."""
    kappa = cubic.kappa.copy()
    kappa[2] *= 1.02
    bad = F.Features(**{**cubic.__dict__, "kappa": kappa})
    ic = F.identity_quadrature(bad, [-0.9, 0.9])
    assert ic.max_error > 10 * float(cubic.eps2)


def test_truncation_is_least_and_within_budget(cubic):
    budget = cubic.eps2 * Fraction(9, 10)
    assert cubic.truncation_bound <= budget
    assert cubic.p_error_bound <= cubic.eps2 / 10
    just_below = cubic.B_t - Fraction(1, F.B_GRID)
    assert F.truncation_error(cubic.alpha, cubic.P, just_below).upper() > F._arb_q(budget)


def test_sup_h_bounds(cubic):
    a = np.linspace(-float(cubic.B_t), float(cubic.B_t), 4001)
    best = 0.0
    for beta in np.linspace(-4, 4, 81):
        best = max(best, float(np.max(np.abs(cubic(a, np.full_like(a, beta))))))
    assert best <= 2.0 ** float(cubic.log2_C_h)
    assert best <= 2.0 ** float(cubic.log2_C_h_cramer)
    # the bound is within a modest factor of what h attains
    assert best > 2.0 ** float(cubic.log2_C_h) / 64


def test_cramer_inequality():
    """|He_n(x)| e^{-x²/4} <= 1.086436 √(n!) (Indritz), checked for n <= 80 on a fine grid."""
    x = np.linspace(-25, 25, 20001)
    H = F.hermite_normalised_float(x, 80)
    assert np.max(np.abs(H) * np.exp(-x**2 / 4)) <= float(F.CRAMER_K)
    assert np.max(np.abs(H) * np.exp(-x**2 / 4)) >= 1.0  # attained at n = 0: K cannot be below 1


def test_abs_hermite_dominates():
    B = Fraction(37, 8)
    a = np.linspace(-float(B), float(B), 2001)
    for k in range(0, 30):
        he = np.polynomial.hermite_e.HermiteE.basis(k)(a)
        assert np.max(np.abs(he)) <= float(F.abs_hermite(k, B)) * (1 + 1e-12)


def test_h_float_against_arb():
    """Float h with its error estimate vs Arb, for a degree-40 φ with 2^40-size coefficients."""
    rng = np.random.default_rng(7)
    alpha = tuple(Fraction(int(v)) for v in rng.integers(-(2**40), 2**40, size=41))
    feat = F.build_features(alpha, Fraction(1, 2**20))
    a = np.concatenate([rng.standard_normal(60), rng.uniform(-float(feat.B_t), float(feat.B_t), 20)])
    beta = rng.standard_normal(80)
    vals, err, _ = F.h_float(feat, a, beta)
    for x, b, v, e in zip(a, beta, vals, err):
        ref = F.h_arb(feat, x, b)
        assert abs(v - float(ref.mid())) <= e + float(ref.rad())
    hv = F.h_eval(feat, a, beta, rtol=1e-12, atol=0.0)
    for x, b, v in zip(a[:10], beta[:10], hv.values[:10]):
        ref = float(F.h_arb(feat, x, b).mid())
        assert abs(v - ref) <= 1e-12 * max(abs(ref), float(np.sqrt(np.mean(hv.values**2)))) * 10


def test_h_vanishes_outside_truncation(cubic):
    B = float(cubic.B_t)
    assert np.all(cubic(np.array([B + 1e-9, -B - 1.0, 40.0]), np.zeros(3)) == 0.0)


def test_precision_follows_coefficients():
    small = F.precision_bits((Fraction(1), Fraction(1, 2)), Fraction(1, 100))
    big = F.precision_bits((Fraction(2**110), Fraction(1)), Fraction(1, 2**126))
    assert small == 64
    assert big >= 110 + 126 + 3


# ---------------------------------------------------------------------------------------
# C(φ, ε) and C(φ)
# ---------------------------------------------------------------------------------------


def test_complexity_against_mpmath():
    alpha = (Fraction(3, 7), Fraction(-5, 2), Fraction(0), Fraction(11, 3), Fraction(-1, 9))
    eps = Fraction(1, 50)
    with mpmath.workdps(50):
        for c in (1, 2, Fraction(7, 2)):
            cc = mpmath.mpf(Fraction(c).numerator) / Fraction(c).denominator
            L = mpmath.log(50)
            ref = 2 * abs(mpmath.mpf(3) / 7)
            for j, a in list(enumerate(alpha))[1:]:
                av = abs(mpmath.mpf(a.numerator) / a.denominator)
                ref += cc**j * (1 + mpmath.sqrt(L / j) ** j) * av
            ref2 = cc * sum((j + 1) ** mpmath.mpf(1.75) * abs(mpmath.mpf(a.numerator) / a.denominator)
                            for j, a in enumerate(alpha))
            assert log2_mid(complexity_eps(alpha, eps, c)) == pytest.approx(float(mpmath.log(ref, 2)), abs=1e-12)
            assert log2_mid(complexity(alpha, c)) == pytest.approx(float(mpmath.log(ref2, 2)), abs=1e-12)
            assert float(log2_upper(complexity(alpha, c))) >= float(mpmath.log(ref2, 2))


def test_complexity_no_overflow():
    alpha = tuple(Fraction(2**200) for _ in range(300))
    v = log2_mid(complexity_eps(alpha, Fraction(1, 10**6), 10))
    assert 200 + 299 * math.log2(10) < v < 200 + 300 * math.log2(10) + 20


def test_eps2_respects_both_caps():
    alpha = CUBIC
    e2 = eps2_for_lemma65(alpha, Fraction(3, 5), 2, 2)
    C = complexity(alpha, 2)
    assert e2 <= Fraction(3, 5) / 18
    assert F._arb_q(e2) * C < 1  # the hypothesis ε2 < 1/C(φ), strictly
    big = tuple(Fraction(2**60) for _ in range(5))
    e2b = eps2_for_lemma65(big, Fraction(1, 10), 10, 2)
    assert F._arb_q(e2b) * 2 * complexity(big, 2) <= 1


def test_complexity_matches_worked_example():
    """math-spec §11: log2 C(q) = 125.4 / 126.4 / 128.8 and log2 C(q, ε/(9n)) = 114.2 / 228.8 / 700.2."""
    step = pytest.importorskip("advcert.poly.step")
    sgn = pytest.importorskip("advcert.poly.sgn")
    s = sgn.sign_polynomial(Fraction(1, 16), Fraction(1, 300))
    q = step.step_polynomial(s, step.claim63_alpha(Fraction(1, 20), Fraction(1, 16)))
    co = q.coefficients
    for c, a, b in ((1, 125.4, 114.2), (2, 126.4, 228.8), (10, 128.8, 700.2)):
        assert log2_mid(complexity(co, c)) == pytest.approx(a, abs=0.06)
        assert log2_mid(complexity_eps(co, Fraction(1, 900), c)) == pytest.approx(b, abs=0.06)


@pytest.mark.slow
def test_worked_example_h():
    """math-spec §11: at the headline q with ε2 = ε/(9n) = 1/900, B_t = 18.9 and sup|h| <= 2^319.6."""
    step = pytest.importorskip("advcert.poly.step")
    sgn = pytest.importorskip("advcert.poly.sgn")
    s = sgn.sign_polynomial(Fraction(1, 16), Fraction(1, 300))
    q = step.step_polynomial(s, step.claim63_alpha(Fraction(1, 20), Fraction(1, 16)))
    feat = F.build_features(q.coefficients, Fraction(1, 900))
    assert float(feat.B_t) == pytest.approx(18.9, abs=0.05)
    assert float(feat.log2_C_h) == pytest.approx(319.6, abs=0.3)
    assert float(feat.log2_C_h_cramer) < float(feat.log2_C_h)
