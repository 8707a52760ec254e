"""Lemma 6.6 in ball arithmetic (math-spec §5.1): the builder's enclosures against independent
high-precision references, and the verifier against planted violations."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from fractions import Fraction as F
from types import SimpleNamespace

import mpmath
import pytest
from flint import arb, fmpq

import advcert.verify as V
from advcert.certificate import seal
from advcert.checks import constant
from advcert.checks.measured import _lemma66_checks
from advcert.measured.coupling import Options, lemma66
from advcert.measured.h import build_features, hermite_P
from advcert.measured.identity import c_h_exact, identity_enclosure, range_bound, tail_sum
from advcert.poly.complexity import precision
from advcert.rational import to_str
from advcert.verify import identity as VI

CUBIC = (F(1, 10), F(-1, 2), F(1), F(7, 10))


def _he_mp(i, x):
    h0, h1 = mpmath.mpf(1), x
    if i == 0:
        return h0
    for j in range(1, i):
        h0, h1 = h1, x * h1 - j * h0
    return h1


# ---- the P_i: the verifier's own method against mpmath and against the builder ----------------


def test_verifier_P_matches_mpmath_quadrature():
    he = VI._he(9)
    with mpmath.workdps(60):
        for k in (1, 2, 3, 6, 9):
            roots = sorted({mpmath.mpf(0)} | {r.real for r in mpmath.polyroots(
                [int(v) for v in reversed(he[k].coeffs())], maxsteps=400, extraprec=600)})
            ref = mpmath.quad(lambda t: abs(_he_mp(k, t)) * mpmath.e ** (-t * t), [-mpmath.inf, *roots, mpmath.inf])
            ref /= 2 * mpmath.pi
            ball = VI._P_ball(he[k], k, 150)
            lo, hi = mpmath.mpf(ball.lower().str(60, radius=False)), mpmath.mpf(ball.upper().str(60, radius=False))
            assert lo - mpmath.mpf(10) ** -45 <= ref <= hi + mpmath.mpf(10) ** -45, k
            assert ball.rel_accuracy_bits() >= 150


def test_verifier_and_builder_P_agree():
    """Two methods (Golub–Welsch + Halley brackets; Arb root isolation + the ODE antiderivative)."""
    P = hermite_P(40, 128)
    he = VI._he(40)
    for i in range(2, 41):
        mine = VI._P_ball(he[i - 1], i - 1, 128)
        assert arb.overlaps(mine, P[i]), i
    # He_3 = t³ − 3t: Q = 1 − t²/2 solves Q′ − 2tQ = He_3 (worked by hand), c = 0
    assert VI._antiderivative(he[3]) == ([fmpq(1), fmpq(0), fmpq(-1, 2), fmpq(0), fmpq(0)], fmpq(0))


# ---- the identity: enclosure against a 2-D quadrature of the actual expectation ----------------


def _gl(lo, hi, degree=5):
    """Gauss–Legendre nodes and weights on [lo, hi] at the working precision (mpmath's own)."""
    from mpmath.calculus.quadrature import GaussLegendre

    nodes = GaussLegendre(mpmath.mp).calc_nodes(degree, mpmath.mp.prec)
    half, mid = (hi - lo) / 2, (hi + lo) / 2
    return [(mid + half * x, half * w) for x, w in nodes]


def _expectation_mp(feat, z):
    """E[1{B + β >= 0} h(A, β)] = ∫∫ h(a, t) Φ((z a + t)/√(1 − z²)) ϕ(a) ϕ(t) da dt by mpmath
    Gauss–Legendre on pieces where h is smooth (a in [−B_t, 0], [0, B_t]; t split where some
    He_{i−1}(−t) changes sign, cut at ±13, where ϕ < 10^-36), truncation included; no Mehler."""
    K = feat.degree
    s = mpmath.sqrt(1 - z * z)
    kap = [mpmath.mpf(a.numerator) / a.denominator / (mpmath.mpf(p.numerator) / p.denominator)
           for a, p in zip(feat.alpha, feat.P_used)]
    B = mpmath.mpf(feat.B_t.numerator) / feat.B_t.denominator
    a_nodes = _gl(-B, 0) + _gl(0, B)
    breaks = [-13, -1, 0, 1, 13]  # the roots of He_0, He_1, He_2 (K <= 3)
    t_nodes = [n for t0, t1 in zip(breaks, breaks[1:]) for n in _gl(mpmath.mpf(t0), mpmath.mpf(t1))]
    Ha = [([_he_mp(i, a) for i in range(K + 1)], w * mpmath.npdf(a), a) for a, w in a_nodes]
    total = mpmath.mpf(0)
    for t, wt in t_nodes:
        om = [1] + [mpmath.sign(_he_mp(i - 1, -t)) for i in range(1, K + 1)]
        inner = mpmath.fsum(wa * mpmath.ncdf((z * a + t) / s) * mpmath.fsum(kap[i] * he[i] * om[i] for i in range(K + 1))
                            for he, wa, a in Ha)
        total += wt * mpmath.npdf(t) * inner
    return total


@pytest.mark.slow
@pytest.mark.parametrize("B_t", [None, F(3, 2)])
def test_enclosure_contains_the_quadrature_reference(B_t):
    feat = build_features(CUBIC, F(1, 100))
    if B_t is not None:  # a short truncation: the tail term is then large, and must still cover it
        feat = dataclasses.replace(feat, B_t=B_t)
    enc = identity_enclosure(feat)
    with mpmath.workdps(30):
        for z in (F(-3, 5), F(3, 10), F(9, 10)):
            zm = mpmath.mpf(z.numerator) / z.denominator
            err = _expectation_mp(feat, zm) - sum(mpmath.mpf(a.numerator) / a.denominator * zm ** i
                                                  for i, a in enumerate(CUBIC))
            k = next(k for k, (lo, hi) in enumerate(enc.pieces) if lo <= z <= hi)
            lo, hi = enc.enclosures[k]
            assert float(lo) <= err <= float(hi), (z, err, lo, hi)
            if B_t is not None:
                assert abs(err) > float(hi) / 1000  # the truncation is visible, and the bound is within 10^3 of it


def test_tail_is_cauchy_schwarz_and_bounds_the_truncation():
    feat = build_features(CUBIC, F(1, 100))
    with mpmath.workdps(30):
        B = mpmath.mpf(3) / 2
        for i in range(4):
            l1 = 2 * mpmath.quad(lambda a: abs(_he_mp(i, a)) * mpmath.npdf(a), [B, mpmath.inf])
            assert l1 <= mpmath.sqrt(2 * mpmath.factorial(i) * mpmath.ncdf(-B))
    t = tail_sum(feat.alpha, feat.P_used, feat.B_t, 128)
    assert float(t.upper()) <= float(feat.eps2) * 0.9


def test_range_bound_is_the_exact_sum_and_the_witness_is_a_value_of_h():
    feat = build_features(CUBIC, F(1, 100))
    rb = range_bound(feat, F(2))
    assert 2 ** float(rb.log2_C_h) >= float(c_h_exact(feat)) * (1 - 1e-12)
    with mpmath.workdps(40):
        a = feat.B_t
        direct = sum(mpmath.mpf(x.numerator) / x.denominator / (mpmath.mpf(p.numerator) / p.denominator)
                     * _he_mp(i, mpmath.mpf(a.numerator) / a.denominator) for i, (x, p) in enumerate(zip(CUBIC, feat.P_used)))
        assert abs(direct) <= 2 ** float(rb.log2_C_h)


# ---- a certificate with the two Lemma 6.6 checks, and planted violations ----------------------


def _with_lemma66(base, c=F(2)):
    q = tuple(F(v) for v in base["objects"]["q"]["coefficients"])
    inst = base["instance"]
    opts = Options(c=c)
    l6 = lemma66(q, F(inst["eps"]), len(inst["points"]), opts)
    stand_in = SimpleNamespace(lemma66=l6, options=opts, timings={"features": l6.seconds_features})
    doc = copy.deepcopy(base)
    doc["checks"].extend(_lemma66_checks(stand_in))
    doc["constants"]["eps2"] = constant(to_str(l6.eps2), "exact", "eps2")
    doc["constants"]["complexity_c"] = constant(to_str(c), "exact", "c")
    return seal(doc)


@pytest.fixture(scope="module")
def l66_doc(toy_doc):
    return _with_lemma66(toy_doc)


def test_at_a_larger_c_the_range_is_proved_and_a_forged_bound_is_not(toy_doc):
    """c = 4 (past c_fit = 63/16 at c = 2; ε2 and h are rebuilt at c = 4): the sound side holds."""
    doc = _with_lemma66(toy_doc, F(4))
    rng = next(c for c in doc["checks"] if c["id"] == "lemma-6.6/range")
    assert rng["label"] == "sound-bound" and rng["verdict"] == "holds"
    assert V.verify_document(doc).ok

    def low(ch):
        ch["lemma-6.6/range"]["value"] = to_str(F(ch["lemma-6.6/range"]["value"]) - 1)

    def high(ch):
        ch["lemma-6.6/range"]["bound"] = to_str(F(ch["lemma-6.6/range"]["bound"]) + 1)

    for fn, word in ((low, "below log2 C_h"), (high, "log2 C(q, eps2)")):
        rep = _edit(doc, fn)
        assert not rep.ok and rep.first_failure.startswith("lemma-6.6/range:") and word in rep.first_failure


def _edit(doc, fn):
    d = copy.deepcopy(doc)
    fn({c["id"]: c for c in d["checks"]})
    return V.verify_document(seal(d))


def test_the_lemma66_certificate_verifies(l66_doc):
    rep = V.verify_document(l66_doc)
    assert rep.ok, rep.first_failure
    by = {c["id"]: c for c in l66_doc["checks"]}
    assert by["lemma-6.6"]["label"] == "sound-bound" and by["lemma-6.6"]["verdict"] == "holds"
    # at c = 2 the constructed h is above C(q, eps2): an estimate with a witness, and the c that fits
    rng = by["lemma-6.6/range"]
    assert rng["label"] == "estimate" and rng["verdict"] == "violated"
    assert F(rng["details"]["c_fit"]) > 2 and "witness" in rng["details"]


def _shift_piece(k, by):
    def fn(ch):
        e = ch["lemma-6.6"]["details"]["enclosures"][k]
        ch["lemma-6.6"]["details"]["enclosures"][k] = [to_str(F(x) + by) for x in e]
    return fn


@pytest.mark.parametrize("k", [0, 17])
def test_a_shifted_enclosure_is_rejected(l66_doc, k):
    eps2 = F(l66_doc["constants"]["eps2"]["value"])
    rep = _edit(l66_doc, _shift_piece(k, eps2 / 10))
    assert not rep.ok and rep.first_failure.startswith("lemma-6.6:") and f"enclosures[{k}]" in rep.first_failure


def test_edited_B_t_precision_and_P_are_rejected(l66_doc):
    def bt(ch):
        h = ch["lemma-6.6"]["details"]["h"]
        h["B_t"] = to_str(F(h["B_t"]) - F(1, 64))

    def bits(delta):
        def fn(ch):
            ch["lemma-6.6"]["details"]["h"]["precision_bits"] += delta
        return fn

    def p5(ch):
        P = ch["lemma-6.6"]["details"]["h"]["P"]
        P[5] = to_str(F(P[5]) * (1 + F(1, 2**40)))

    for fn, word in ((bt, "enclosures[0]"), (bits(-1), "precision_bits"), (bits(+1), "precision_bits"),
                     (p5, "P[5]")):
        rep = _edit(l66_doc, fn)
        assert not rep.ok and rep.first_failure.startswith("lemma-6.6:") and word in rep.first_failure, rep.first_failure


def test_a_false_value_or_verdict_is_rejected(l66_doc):
    def value(ch):
        ch["lemma-6.6"]["value"] = "0"

    def witness(ch):
        r = ch["lemma-6.6/range"]
        r["value"] = r["value"] + 1
        r["details"]["witness"]["log2_abs_h_lower"] = r["value"]

    def relabel(ch):
        r = ch["lemma-6.6/range"]
        r.update(label="sound-bound", verdict="holds", value=r["details"]["log2_C_h"],
                 bound=r["details"]["log2_C_q_eps2_lower"])

    for fn, start in ((value, "lemma-6.6:"), (witness, "lemma-6.6/range:"), (relabel, "lemma-6.6/range:")):
        rep = _edit(l66_doc, fn)
        assert not rep.ok and rep.first_failure.startswith(start), rep.first_failure


def test_absurd_work_is_refused_before_it_starts(l66_doc):
    def many(ch):
        d = ch["lemma-6.6"]["details"]
        d["pieces"] = [[to_str(F(-1) + F(2 * k, 5000)), to_str(F(-1) + F(2 * k + 2, 5000))] for k in range(5000)]
        d["enclosures"] = [["-1", "1"]] * 5000

    def bits(ch):
        ch["lemma-6.6"]["details"]["h"]["precision_bits"] = 10**6

    rep = _edit(l66_doc, many)
    assert not rep.ok and not rep.readable and "budget" in rep.first_failure
    rep = _edit(l66_doc, bits)
    assert not rep.ok and "precision_bits" in rep.first_failure


@pytest.mark.slow
def test_headline_lemma66_is_rigorous_and_fast(headline_doc):
    q = tuple(F(c) for c in headline_doc["objects"]["q"]["coefficients"])
    t0 = time.perf_counter()
    l6 = lemma66(q, F(1, 10), 10, Options())
    seconds = time.perf_counter() - t0
    assert seconds <= 30, seconds
    recs = _lemma66_checks(SimpleNamespace(lemma66=l6, options=Options(), timings={"features": l6.seconds_features}))
    ident = recs[0]
    assert ident["label"] == "sound-bound" and ident["verdict"] == "holds"
    assert ident["details"]["h"]["precision_bits"] >= 250
    assert F(ident["value"]) <= l6.eps2


def test_builder_P_used_are_within_their_claimed_precision():
    """The dyadic P̃_i that define h against an independent enclosure (the verifier's method)."""
    feat = build_features(CUBIC + (F(1, 3),) * 8, F(1, 1000))
    he = VI._he(feat.degree)
    for i in range(2, feat.degree + 1):
        ball = VI._P_ball(he[i - 1], i - 1, feat.p_bits + 8)
        pt = fmpq(feat.P_used[i].numerator, feat.P_used[i].denominator)
        with precision(2 * feat.p_bits + 64):
            assert abs(ball - arb(pt)) <= arb(pt) * arb(2) ** -feat.p_bits, i
    assert feat.p_error_bound == sum(abs(a) for a in feat.alpha) / 2**feat.p_bits <= feat.eps2 / 2560


@pytest.mark.slow
def test_headline_lemma66_verifies_independently(headline_doc):
    """The verifier re-derives every piece and proves P_0 .. P_245 at 253 bits from its own table."""
    q = tuple(F(c) for c in headline_doc["objects"]["q"]["coefficients"])
    l6 = lemma66(q, F(1, 10), 10, Options())
    doc = copy.deepcopy(headline_doc)
    doc["checks"].extend(_lemma66_checks(SimpleNamespace(lemma66=l6, options=Options(),
                                                         timings={"features": l6.seconds_features})))
    doc["constants"]["eps2"] = constant(to_str(l6.eps2), "exact", "eps2")
    doc["constants"]["complexity_c"] = constant("2", "exact", "c")
    rep = V.verify_document(seal(doc))
    assert rep.ok, rep.first_failure
    by = {r.id: r for r in rep.results}
    assert by["lemma-6.6"].status == "re-derived" and "P_0..P_245 re-derived to 2^-253" in by["lemma-6.6"].message


@pytest.mark.parametrize("i", [2, 3, 10, 57, 131])
def test_the_checkers_P_table_is_its_own_method(i):
    """advcert/verify/hermite_P.json against a fresh run of the checker's method (slow test: all)."""
    bits, table = VI._table()
    assert bits >= 261 + 4 and len(table) >= 245  # the headline is inside the table
    ball = VI._P_ball(VI._he(i)[i - 1], i - 1, bits)
    assert arb.overlaps(ball, table[i - 1]) and table[i - 1].rel_accuracy_bits() >= bits - 4


def test_write_table_writes_what_the_table_holds(tmp_path):
    bits, table = VI._table()
    VI.write_table(tmp_path / "P.json", 12, 160)
    fresh = json.loads((tmp_path / "P.json").read_text())
    assert fresh["bits"] == 160 and len(fresh["P"]) == 12
    VI.TABLE_PATH, saved = tmp_path / "P.json", VI.TABLE_PATH
    try:
        small = VI._read_table()[1]
    finally:
        VI.TABLE_PATH = saved
    for i, ball in enumerate(small):
        assert arb.overlaps(ball, table[i]) and ball.rel_accuracy_bits() >= 156


@pytest.mark.slow
def test_the_checkers_P_table_is_its_own_method_throughout():
    """Every 8th entry and the last, recomputed at the table's precision (the whole table: ~90 s)."""
    bits, table = VI._table()
    he = VI._he(len(table))
    for i in [*range(2, len(table) + 1, 8), len(table)]:
        assert arb.overlaps(VI._P_ball(he[i - 1], i - 1, bits), table[i - 1]), i
