"""Tests of the independent certificate checker (advcert/verify/).

The certificates here are made by a small, slow helper in this file from the contract
(docs/certificate.md) and the Taylor-only sign polynomial p_k(x) = x Σ_{i<=k} C(2i,i)/4^i
(1-x^2)^i of math-spec §2, with plain Fractions. p_k is increasing on [-1, 1] (p_k' =
(2k+1) c_k (1-x^2)^k >= 0), so every sup the helper needs is an exact end-point value:
the helper never uses the verifier's method (Descartes bisection) to make its numbers.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import random
import zipfile
from fractions import Fraction as F
from pathlib import Path

import mpmath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint import fmpq, fmpq_poly

import advcert.verify as V


# ----------------------------------------------------------------------------- helper


def rs(x) -> str:
    x = F(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def horner(cs, x):
    acc = F(0)
    for c in reversed(cs):
        acc = acc * x + c
    return acc


def taylor_sign(k: int) -> list[F]:
    """Monomial coefficients of p_k (math-spec §2, Taylor step)."""
    c = [F(math.comb(2 * i, i), 4**i) for i in range(k + 1)]
    out = [F(0)] * (2 * k + 2)
    for m in range(k + 1):
        out[2 * m + 1] = (-1) ** m * sum(c[i] * math.comb(i, m) for i in range(m, k + 1))
    return out


def chebyshev_y(p1: list[F]) -> list[F]:
    """b with p1(x) = x Σ b_j T_j(1 - x^2), via y^i = 2^-i Σ_m C(i,m) T_|i-2m|(y)."""
    # p1/x = Σ_m a_{2m+1} x^{2m} = Σ_m a_{2m+1} (1 - y)^m
    deg = (len(p1) - 2) // 2
    Q = [F(0)] * (deg + 1)
    for m in range(deg + 1):
        a = p1[2 * m + 1]
        for i in range(m + 1):
            Q[i] += a * math.comb(m, i) * (-1) ** i
    b = [F(0)] * (deg + 1)
    for i, c in enumerate(Q):
        for m in range(i + 1):
            b[abs(i - 2 * m)] += c * F(math.comb(i, m), 2**i)
    return b


def step_poly(p1: list[F], alpha: F) -> list[F]:
    """q(z) = (p1((z - alpha)/2) + 1)/2 by the binomial expansion (Claim 6.3)."""
    D = len(p1) - 1
    q = [F(0)] * (D + 1)
    for i, a in enumerate(p1):
        if a == 0:
            continue
        s = a / 2 ** (i + 1)
        for j in range(i + 1):
            q[j] += s * math.comb(i, j) * (-alpha) ** (i - j)
    q[0] += F(1, 2)
    return q


def up(x: F, bits=48) -> F:
    """A short rational a little above x (slack 2^-30 relative)."""
    s = 2**bits
    return F(math.ceil(x * (1 + F(1, 2**30)) * s), s)


def down(x: F, bits=48) -> F:
    s = 2**bits
    return F(math.floor(x * s), s)


def sqrt_bounds(x: F, bits=64):
    r = math.isqrt(math.floor(x * 4**bits))
    return F(r, 2**bits), F(r + 1, 2**bits)


def rehash(doc: dict) -> dict:
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    doc["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return doc


def make_certificate(points, labels, *, rho, gamma, eps, k=None, p1=None, sups_from=None, tight=False) -> dict:
    """A format-version-1 certificate written from the contract with Fractions.

    k: Taylor order (the least k with 1 - p_k(eta) <= eps1/2 when None). p1: use these
    monomial coefficients instead (everything derived from p1 is recomputed) while the
    three sup enclosures are taken from ``sups_from`` (the honest p1), which plants a
    violation that only the sup-norm proofs can catch. tight: enclosure hi = the exact sup.
    """
    n, d = len(points), len(points[0])
    X = [[F(v) for v in row] for row in points]
    Y = [F(y) for y in labels]
    eps1, eta = eps / (3 * n), gamma / 8
    alpha = 1 - rho**2 / 2 - 2 * eta
    if p1 is None:
        if k is None:
            k = 1
            while 1 - horner(taylor_sign(k), eta) > eps1 / 2:
                k += 1
        p1 = taylor_sign(k)
    honest = sups_from if sups_from is not None else p1
    kk = (len(p1) - 2) // 2
    q, q_honest = step_poly(p1, alpha), step_poly(honest, alpha)
    taus = [sum(v * v for v in row) - 1 for row in X]
    tp, tm = max(F(0), max(taus)), max(F(0), -min(taus))
    pairs = [(sum((a - b) ** 2 for a, b in zip(X[i], X[j])), i, j) for i in range(n) for j in range(i + 1, n)]
    d2, pi, pj = min(pairs)
    dlo, dhi = sqrt_bounds(d2)
    D = len(p1) - 1

    def encl(S, w):
        hi = S if tight else up(S)
        lo = min(down(S), S)
        return {"lo": rs(lo), "hi": rs(hi)}, hi, w

    S64 = 1 - horner(honest, eta)
    a_in, b_in = 1 - rho**2 / 2 - tm / 2, 1 + tp / 2
    S_in = 1 - horner(q_honest, a_in)
    a_out, b_out = -1 - tp / 2, 1 - (dlo - rho) ** 2 / 2 + tp / 2
    S_out = horner(q_honest, b_out)
    assert horner(q_honest, a_out) >= 0 and S_out >= 0  # q >= 0 on I_out, so sup|q| = q(b_out)
    e64, hi64, w64 = encl(S64, eta)
    ein, hi_in, w_in = encl(S_in, a_in)
    eout, hi_out, w_out = encl(S_out, b_out)
    per = [abs(Y[j]) * hi_in + sum(abs(Y[i]) for i in range(n) if i != j) * hi_out for j in range(n)]
    v62 = max(per)

    def chk(id_, label, value, bound, verdict=None, rel="<=", details=None, enclosure=None):
        if verdict is None:
            ok = (F(value) <= F(bound)) if rel == "<=" else (F(value) >= F(bound))
            verdict = "holds" if ok else "fails"
        c = {"id": id_, "claim": V.CLAIMS[id_], "relation": rel, "bound": bound, "value": value,
             "label": label, "verdict": verdict, "method": "test helper (Fractions)", "seconds": 0.001,
             "details": details or {}}
        if enclosure is not None:
            c["enclosure"] = enclosure
        return c

    maxp = max(abs(a) for a in p1)
    maxq = max(abs(a) for a in q)
    qbound = F(2) ** (6 * D - 1) / (1 - alpha) + F(1, 2)
    sep_lo, sep_hi = d2 - 2 * rho * dhi, d2 - 2 * rho * dlo
    checks = [
        chk("definition-3.4/on-X", "exact", rs(max(abs(t) for t in taus)), rs(F(1, 2**40)),
            details={"tau_plus": rs(tp), "tau_minus": rs(tm)}),
        chk("definition-3.4", "enclosure", rs(sep_lo), rs(gamma), rel=">=",
            details={"delta_sq": rs(d2), "pair": [pi, pj], "delta": {"lo": rs(dlo), "hi": rs(dhi)}},
            enclosure={"lo": rs(sep_lo), "hi": rs(sep_hi)}),
        chk("lemma-6.4/odd", "exact", "0", "0"),
        chk("lemma-6.4/coefficients", "exact", rs(maxp), rs(F(2) ** (4 * D)),
            details={"log2_value": round(math.log2(maxp), 3), "log2_bound": float(4 * D)}),
        chk("lemma-6.4", "enclosure", e64["hi"], rs(eps1),
            details={"interval": [rs(eta), "1"], "witness": rs(w64)}, enclosure=e64),
        chk("claim-6.3/definition", "exact", "0", "0"),
        chk("claim-6.3/coefficients", "exact", rs(maxq), rs(qbound),
            details={"log2_value": math.log2(maxq), "log2_bound": math.log2(qbound)}),
        chk("claim-6.3/in", "enclosure", ein["hi"], rs(eps1),
            details={"interval": [rs(a_in), rs(b_in)], "witness": rs(w_in)}, enclosure=ein),
        chk("claim-6.3/out", "enclosure", eout["hi"], rs(eps1),
            details={"interval": [rs(a_out), rs(b_out)], "witness": rs(w_out), "delta_lo": rs(dlo)},
            enclosure=eout),
        chk("lemma-6.2", "sound-bound", rs(v62), rs(eps / 3), details={"per_point": [rs(x) for x in per]}),
        chk("lemma-6.2/attack", "estimate", float(v62) / 2, float(eps / 3), verdict="observed",
            details={"restarts": 2, "steps": 10}),
    ]
    doc = {
        "format": "advcert-certificate",
        "version": 1,
        "created": "2026-01-01T00:00:00Z",
        "producer": {"name": "tests/test_verify.py", "version": "0"},
        "instance": {"n": n, "d": d, "rho": rs(rho), "gamma": rs(gamma), "eps": rs(eps), "seed": 7,
                     "entropy": "7", "source": {"kind": "synthetic", "how": "by hand"},
                     "points": [list(map(float, row)) for row in points], "labels": [float(y) for y in labels]},
        "parameters": {"eps1": rs(eps1), "eta": rs(eta), "alpha": rs(alpha), "taylor_k": kk, "cheb_d": kk},
        "objects": {
            "p1": {"degree": D, "coefficients": [rs(a) for a in p1], "chebyshev_y": [rs(b) for b in chebyshev_y(p1)]},
            "q": {"degree": D, "alpha": rs(alpha), "coefficients": [rs(a) for a in q]},
        },
        "constants": {"D_used": {"value": str(D), "label": "exact", "note": "degree of p1"},
                      "D_opt": {"value": 7.5, "label": "estimate", "note": "a float"}},
        "checks": checks,
    }
    return rehash(doc)


# Two instances. EXACT: d = 4 points exactly on X (tau = 0), n = 2, delta^2 = 3.
# FLOAT: d = 3 points at angles 0, 2pi/3, 4pi/3 (binary64, so tau != 0), n = 3.
EXACT = dict(points=[[0.5, 0.5, 0.5, 0.5], [-0.5, -0.5, -0.5, 0.5]], labels=[1.0, -0.5],
             rho=F(1, 20), gamma=F(5, 2), eps=F(3, 5))
_r = math.sqrt(3) / 2
FLOAT = dict(points=[[_r * math.cos(t), _r * math.sin(t), 0.5] for t in (0.0, 2 * math.pi / 3, 4 * math.pi / 3)],
             labels=[0.75, -1.0, 0.3], rho=F(1, 20), gamma=F(2), eps=F(9, 10))


@pytest.fixture(scope="module")
def good() -> dict:
    return make_certificate(**EXACT)


@pytest.fixture(scope="module")
def good_float() -> dict:
    return make_certificate(**FLOAT)


def fresh(doc):
    return copy.deepcopy(doc)


def check_of(doc, id_):
    return next(c for c in doc["checks"] if c["id"] == id_)


def rejected_by_math(doc) -> V.Report:
    """Verify a re-hashed document; it must be rejected, and not by the hash (every check is
    re-derived, for the diagnostics; a failed part still ends the run)."""
    rep = V.verify_document(rehash(doc), stop_at_first_failure=False)
    assert not rep.ok
    assert not rep.first_failure.startswith("sha256"), rep.first_failure
    return rep


def edit_digit(s: str) -> str:
    """A one-character edit of a rational string that keeps it in lowest terms."""
    num, _, den = s.partition("/")
    for pos in range(len(num) - 1, -1, -1):
        if not num[pos].isdigit():
            continue
        for new in "2468013579":
            if new == num[pos] or (pos == 0 and new == "0") or (pos == 1 and num[0] == "-" and new == "0"):
                continue
            cand = num[:pos] + new + num[pos + 1:]
            if math.gcd(int(cand), int(den or 1)) == 1:
                return cand + ("/" + den if den else "")
    raise AssertionError(s)


# ------------------------------------------------------------------------- acceptance


@pytest.mark.parametrize("which", ["exact", "float"])
def test_accepts_correct_certificates(which, good, good_float):
    doc = good if which == "exact" else good_float
    rep = V.verify_document(doc)
    assert rep.ok, rep.first_failure
    assert rep.exit_code == 0
    assert {r.id for r in rep.results} >= set(V.REQUIRED_CHECKS)
    assert [r.status for r in rep.results if r.id == "lemma-6.2/attack"] == ["estimate"]


def test_float_instance_has_rounding_tau(good_float):
    # the FLOAT instance must exercise tau != 0 in I_in / I_out
    on_x = check_of(good_float, "definition-3.4/on-X")
    assert F(on_x["value"]) > 0


def test_accepts_tight_enclosures():
    # hi equal to the exact sup: the Descartes proof must cope with a zero at an end point
    doc = make_certificate(**EXACT, tight=True)
    rep = V.verify_document(doc)
    assert rep.ok, rep.first_failure


def test_checks_must_be_in_chain_order(good):
    doc = fresh(good)
    doc["checks"][0], doc["checks"][1] = doc["checks"][1], doc["checks"][0]
    assert "not in chain order" in rejected_by_math(doc).first_failure
    doc = fresh(good)
    doc["checks"].insert(2, {"id": "extra/sampled", "claim": "?", "relation": "<=", "bound": None, "value": 0.5,
                             "label": "estimate", "verdict": "vacuous", "method": "?", "seconds": 0})
    assert V.verify_document(rehash(doc)).ok  # estimates may sit anywhere


# ------------------------------------------------------------------- edits and plants


def test_one_character_edit_of_p1_is_caught_by_hash_and_by_math(good):
    doc = fresh(good)
    cs = doc["objects"]["p1"]["coefficients"]
    j = 3
    cs[j] = edit_digit(cs[j])
    rep = V.verify_document(doc)
    assert not rep.ok and rep.first_failure.startswith("sha256:")
    rep = rejected_by_math(doc)
    assert rep.first_failure.startswith("objects:") and "chebyshev_y" in rep.first_failure


def test_edit_of_p1_with_consistent_chebyshev_form_is_caught_by_the_claims(good):
    doc = fresh(good)
    p1 = [F(c) for c in doc["objects"]["p1"]["coefficients"]]
    p1[3] = F(edit_digit(rs(p1[3])))
    doc["objects"]["p1"]["coefficients"] = [rs(a) for a in p1]
    doc["objects"]["p1"]["chebyshev_y"] = [rs(b) for b in chebyshev_y(p1)]
    rep = rejected_by_math(doc)
    failed = {r.id for r in rep.results if r.status == "failed"}
    assert "claim-6.3/definition" in failed


def test_one_character_edit_of_a_q_coefficient(good):
    doc = fresh(good)
    cs = doc["objects"]["q"]["coefficients"]
    cs[2] = edit_digit(cs[2])
    rep = rejected_by_math(doc)
    assert rep.first_failure.startswith("claim-6.3/definition:")
    assert "1 coefficients of q differ" in rep.first_failure or "re-derives to 1" in rep.first_failure


def test_upgraded_label_is_rejected(good):
    doc = fresh(good)
    c = check_of(doc, "lemma-6.2/attack")
    c["label"], c["verdict"] = "exact", "holds"
    rep = rejected_by_math(doc)
    assert rep.first_failure.startswith("lemma-6.2/attack:")
    assert "estimate" in rep.first_failure


def test_downgraded_label_is_rejected(good):
    doc = fresh(good)
    c = check_of(doc, "lemma-6.4")
    c["label"], c["verdict"] = "estimate", "observed"
    assert "lemma-6.4" in rejected_by_math(doc).first_failure


@pytest.mark.parametrize("id_", ["definition-3.4/on-X", "definition-3.4", "lemma-6.4", "claim-6.3/out", "lemma-6.2"])
def test_flipped_verdict_is_rejected(good, id_):
    doc = fresh(good)
    check_of(doc, id_)["verdict"] = "fails"
    rep = rejected_by_math(doc)
    assert rep.first_failure.startswith(id_ + ":") and "the claim holds" in rep.first_failure


def test_estimate_may_not_say_holds(good):
    doc = fresh(good)
    check_of(doc, "lemma-6.2/attack")["verdict"] = "holds"
    assert "lemma-6.2/attack" in rejected_by_math(doc).first_failure


def test_estimate_verdict_must_match_its_numbers(good):
    doc = fresh(good)
    check_of(doc, "lemma-6.2/attack")["verdict"] = "violated"
    assert "'violated'" in rejected_by_math(doc).first_failure


def test_attack_above_the_certified_bound_is_a_contradiction(good):
    doc = fresh(good)
    c = check_of(doc, "lemma-6.2/attack")
    c["value"] = float(F(check_of(doc, "lemma-6.2")["value"])) * 1.01
    assert "contradicts itself" in rejected_by_math(doc).first_failure


@pytest.mark.parametrize("id_", list(V.REQUIRED_CHECKS))
def test_deleted_check_is_rejected(good, id_):
    doc = fresh(good)
    doc["checks"] = [c for c in doc["checks"] if c["id"] != id_]
    rep = rejected_by_math(doc)
    assert rep.first_failure.startswith("checks:") and id_ in rep.first_failure and "missing" in rep.first_failure


def test_a_composed_certificate_may_not_claim_route_lp(good):
    # route lp (docs/certificate.md, "Routes") forbids p1 and its parameters: a certificate
    # composed from p1 that says route "lp" is a schema violation naming the first of them
    doc = fresh(good)
    doc["parameters"]["route"] = "lp"
    rep = V.verify_document(rehash(doc))
    assert rep.exit_code == 2 and "schema violation at objects/p1: p1 must be absent" in rep.first_failure


def test_a_composed_certificate_needs_every_foundation_check(good):
    # without a route every foundation check is required, the p1 ones included
    assert V.REQUIRED_CHECKS_BY_ROUTE[None] == V.REQUIRED_CHECKS
    assert set(V.P1_CHECKS) - {"lemma-6.4/degree"} <= set(V.REQUIRED_CHECKS)  # optional: tests/test_degree_checks.py
    assert V.verify_document(good).ok


def test_duplicated_check_is_rejected(good):
    doc = fresh(good)
    doc["checks"].append(copy.deepcopy(doc["checks"][0]))
    assert "appears 2 times" in rejected_by_math(doc).first_failure


def test_unknown_rigorous_check_is_rejected(good):
    doc = fresh(good)
    doc["checks"].append({"id": "theorem-5.1/bound", "claim": "?", "relation": "<=", "bound": "1", "value": "0",
                          "label": "sound-bound", "verdict": "holds", "method": "?", "seconds": 0})
    rep = rejected_by_math(doc)
    assert "cannot re-derive check theorem-5.1/bound" in rep.first_failure
    assert "this verifier knows: definition-3.4/on-X" in rep.first_failure


def test_unknown_estimate_is_listed_not_rerun(good):
    doc = fresh(good)
    doc["checks"].append({"id": "theorem-5.1/sampled", "claim": "?", "relation": "<=", "bound": 0.5, "value": 0.25,
                          "label": "estimate", "verdict": "observed", "method": "?", "seconds": 0})
    rep = V.verify_document(rehash(doc))
    assert rep.ok, rep.first_failure
    assert [r.status for r in rep.results if r.id == "theorem-5.1/sampled"] == ["estimate"]


def _plant_bump(good_doc, scale):
    """p1 + K x ((x^2 - eta^2)(1 - x^2))^2: odd, zero at eta and 1, positive inside."""
    p1 = [F(c) for c in good_doc["objects"]["p1"]["coefficients"]]
    eta = F(EXACT["gamma"]) / 8
    bump = [F(0)] * 10
    # x * (x^2 - eta^2)^2 (1 - x^2)^2, expanded in x^2 = t
    t = fmpq_poly([-fmpq(eta.numerator, eta.denominator) ** 2, 1]) ** 2 * fmpq_poly([1, -1]) ** 2
    for m, c in enumerate(t.coeffs()):
        bump[2 * m + 1] = F(int(c.p), int(c.q)) * scale
    bad = [a + (bump[j] if j < len(bump) else 0) for j, a in enumerate(p1)]
    return bad, bump


def test_planted_interior_violation_only_the_sup_proof_sees(good):
    hi = F(check_of(good, "lemma-6.4")["enclosure"]["hi"])
    bad, bump = _plant_bump(good, 40 * hi / F(1, 100))
    # independent evidence that the plant breaks the bound: an exact grid point
    grid = [F(5, 16) + F(11, 16) * F(i, 200) for i in range(201)]
    assert max(abs(horner(bad, x) - 1) for x in grid) > hi
    honest_p1 = [F(c) for c in good["objects"]["p1"]["coefficients"]]
    doc = make_certificate(**EXACT, p1=bad, sups_from=honest_p1)
    rep = V.verify_document(doc)
    assert not rep.ok
    assert rep.first_failure.startswith("lemma-6.4:"), rep.first_failure
    assert "not proved" in rep.first_failure and "p1 - 1 >" in rep.first_failure
    failed = [r.id for r in rep.results if r.status == "failed"]
    assert failed[0] == "lemma-6.4"
    # nothing else in the chain of p1's own checks objects to the plant
    for ok_id in ("lemma-6.4/odd", "lemma-6.4/coefficients", "claim-6.3/definition", "claim-6.3/coefficients"):
        assert ok_id not in failed


def test_planted_end_point_violation(good):
    p1 = [F(c) for c in good["objects"]["p1"]["coefficients"]]
    eta = EXACT["gamma"] / 8
    K = F(1, 10) / (1 - eta**2)
    bad = list(p1)
    bad[1] -= K * eta**2  # + K x (x^2 - eta^2): zero at the witness eta, p1(1) - 1 = 1/10 > hi
    bad[3] += K
    doc = make_certificate(**EXACT, p1=bad, sups_from=p1)
    rep = V.verify_document(doc)
    assert rep.first_failure.startswith("lemma-6.4:") and "at x = 1" in rep.first_failure


@pytest.mark.parametrize("id_", ["lemma-6.4", "claim-6.3/in", "claim-6.3/out"])
def test_upper_end_below_the_witness_value_is_rejected(good_float, id_):
    doc = fresh(good_float)
    c = check_of(doc, id_)
    lo = F(c["enclosure"]["lo"])
    c["enclosure"]["hi"] = c["value"] = rs(lo * F(999, 1000))
    c["enclosure"]["lo"] = rs(lo * F(998, 1000))
    rep = rejected_by_math(doc)
    assert rep.first_failure.startswith(id_ + ":") and "not proved" in rep.first_failure


@pytest.mark.parametrize("id_", ["lemma-6.4", "claim-6.3/in", "claim-6.3/out"])
def test_lower_end_must_be_attained_at_the_witness(good_float, id_):
    doc = fresh(good_float)
    c = check_of(doc, id_)
    c["enclosure"]["lo"] = c["enclosure"]["hi"]
    assert "not attained" in rejected_by_math(doc).first_failure


def test_wrong_interval_is_rejected(good_float):
    doc = fresh(good_float)
    c = check_of(doc, "claim-6.3/in")
    a, b = c["details"]["interval"]
    c["details"]["interval"] = [rs(F(a) + F(1, 1000)), b]  # narrower: would prove less
    assert "re-derives to" in rejected_by_math(doc).first_failure


def test_delta_lo_must_be_a_lower_bound(good):
    doc = fresh(good)
    c = check_of(doc, "claim-6.3/out")
    c["details"]["delta_lo"] = "2"  # 2^2 > delta^2 = 3? no: 4 > 3
    assert "delta_lo^2 > delta^2" in rejected_by_math(doc).first_failure


def test_separability_enclosure_must_contain_the_truth(good):
    doc = fresh(good)
    c = check_of(doc, "definition-3.4")
    # the truth is 3 - sqrt(3)/10 = 2.8267949...; claim a lower end above it
    c["enclosure"]["lo"] = c["value"] = "2827/1000"
    c["enclosure"]["hi"] = "707/250"
    assert "exceeds delta(delta - 2 rho)" in rejected_by_math(doc).first_failure


def test_pair_must_attain_the_minimum():
    doc = make_certificate(**FLOAT)
    c = check_of(doc, "definition-3.4")
    i, j = c["details"]["pair"]
    c["details"]["pair"] = [i, 3 - i - j]
    rep = V.verify_document(rehash(doc))
    # three nearly equidistant binary64 points: the distances differ in the last bits
    d = [[F(v) for v in row] for row in doc["instance"]["points"]]
    dist = lambda a, b: sum((x - y) ** 2 for x, y in zip(d[a], d[b]))
    assert dist(i, 3 - i - j) != dist(i, j)
    assert "is not the minimum" in rep.first_failure


@pytest.mark.parametrize("field,value,needle", [
    ("eps", "1/2", "parameters.eps1"),
    ("gamma", "3", "parameters.eta"),
    ("rho", "1/10", "parameters.alpha"),
    ("seed", 8, "entropy"),
])
def test_instance_edits_are_caught(good, field, value, needle):
    doc = fresh(good)
    doc["instance"][field] = value
    assert needle in rejected_by_math(doc).first_failure


def test_moved_point_is_caught(good):
    doc = fresh(good)
    doc["instance"]["points"][0][0] = 0.5000001
    rep = rejected_by_math(doc)
    assert rep.first_failure.startswith("definition-3.4/on-X:")


def test_changed_label_is_caught(good):
    doc = fresh(good)
    doc["instance"]["labels"][1] = -0.6
    assert rejected_by_math(doc).first_failure.startswith("lemma-6.2:")


def test_rational_not_in_lowest_terms_is_rejected(good):
    doc = fresh(good)
    doc["parameters"]["eta"] = "10/32"
    assert "lowest terms" in rejected_by_math(doc).first_failure


def test_log2_fields_are_checked(good):
    doc = fresh(good)
    c = check_of(doc, "lemma-6.4/coefficients")
    c["details"]["log2_value"] += 0.01
    assert "log2_value" in rejected_by_math(doc).first_failure


def test_chebyshev_form_must_match_p1(good):
    doc = fresh(good)
    b = doc["objects"]["p1"]["chebyshev_y"]
    b[1] = rs(F(b[1]) + F(1, 2**60))
    assert "chebyshev_y" in rejected_by_math(doc).first_failure


def test_a_failure_the_certificate_admits_is_still_exit_1(good):
    # a certificate whose claim truly fails and says so is readable but does not verify
    doc = make_certificate(**{**EXACT, "gamma": F(29, 10)})  # 2.9 > delta(delta - 2 rho) = 2.83
    assert check_of(doc, "definition-3.4")["verdict"] == "fails"
    rep = V.verify_document(doc)
    assert rep.exit_code == 1 and "the certificate says so too" in rep.first_failure


# ------------------------------------------------------------ the prover on its own


def _reference_sup(cs, c, a, b) -> mpmath.mpf:
    """sup |P - c| on [a, b] at 60 digits: end points and the real roots of P'."""
    with mpmath.workdps(60):
        P = [mpmath.mpf(x.numerator) / x.denominator for x in cs]
        ev = lambda x: abs(mpmath.polyval(P[::-1], x) - mpmath.mpf(c.numerator) / c.denominator)
        A, B = mpmath.mpf(a.numerator) / a.denominator, mpmath.mpf(b.numerator) / b.denominator
        cands = [A, B]
        dP = [i * P[i] for i in range(1, len(P))]
        while len(dP) > 1 and dP[-1] == 0:
            dP.pop()
        if len(dP) > 1:
            for r in mpmath.polyroots(dP[::-1], maxsteps=400, extraprec=400):
                if abs(mpmath.im(r)) < mpmath.mpf(10) ** -40 and A <= mpmath.re(r) <= B:
                    cands.append(mpmath.re(r))
        return max(ev(x) for x in cands)


def _fq(x: F) -> fmpq:
    return fmpq(x.numerator, x.denominator)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cs=st.lists(st.integers(-50, 50), min_size=2, max_size=9),
    c=st.integers(-5, 5),
    a=st.integers(-8, 7),
    width=st.integers(1, 8),
    ratio=st.sampled_from([F(1, 2), F(9, 10), F(99, 100), F(101, 100), F(11, 10), F(2)]),
)
def test_prover_agrees_with_a_high_precision_reference(cs, c, a, width, ratio):
    cs = [F(x, 7) for x in cs]
    A, B, C = F(a, 4), F(a + width, 4), F(c, 3)
    sup = _reference_sup(cs, C, A, B)
    if sup == 0:
        return
    U = F(mpmath.nstr(sup, 40)) * ratio
    why, _ = V.prove_sup_abs(fmpq_poly([_fq(x) for x in cs]), _fq(C), _fq(U), _fq(A), _fq(B), "P")
    if ratio > 1:
        assert why is None, why
    else:
        assert why is not None and "could not prove" not in why


def test_prover_tangency_at_a_dyadic_point_is_proved():
    # U - (P - c) = (x - 1/2)^2 touches 0 at x = 1/2, which the bisection lands on
    P = fmpq_poly([fmpq(3), 0, 0]) - fmpq_poly([fmpq(-1, 2), 1]) ** 2  # 3 - (x - 1/2)^2
    why, _ = V.prove_sup_abs(P, fmpq(0), fmpq(3), fmpq(0), fmpq(1), "P")
    assert why is None


def test_prover_gives_up_on_tangency_at_a_non_dyadic_point():
    # sup = U exactly, touched at x = 1/3: not provable by Descartes bisection, and the
    # verifier must say "could not prove", never "holds"
    P = fmpq_poly([fmpq(3)]) - fmpq_poly([fmpq(-1), 3]) ** 2
    why, _ = V.prove_sup_abs(P, fmpq(0), fmpq(3), fmpq(0), fmpq(1), "P")
    assert why is not None and "could not prove" in why and "depth 80" in why


def test_prover_finds_an_interior_sign_change():
    # P = 1 - 8 (x - 0.37)^2 ... sup |P| on [0, 1] = max(1, |1 - 8*0.63^2|) = 2.1752
    P = fmpq_poly([fmpq(1)]) - 8 * fmpq_poly([fmpq(-37, 100), 1]) ** 2
    why, _ = V.prove_sup_abs(P, fmpq(0), fmpq(2), fmpq(0), fmpq(1), "P")
    assert why is not None and "P < -2" in why
    why, _ = V.prove_sup_abs(P, fmpq(0), fmpq(21753, 10000), fmpq(0), fmpq(1), "P")
    assert why is None


# ------------------------------------------------------------------- files and run()


def run_file(path, estimates=False):
    out, err = io.StringIO(), io.StringIO()
    code = V.run(path, stream=out, err=err, estimates=estimates)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path, doc, name="c.json", indent=2) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc, sort_keys=True, indent=indent, ensure_ascii=False), encoding="utf-8")
    return p


def test_run_ok(tmp_path, good):
    code, out, err = run_file(write(tmp_path, good), estimates=True)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[-1].startswith("verify: OK (11 checks, ")
    assert any("lemma-6.4" in ln and "re-derived" in ln for ln in lines)
    assert any("lemma-6.2/attack" in ln and "estimate, not re-run" in ln for ln in lines)
    assert any("lemma-6.2/attack: re-run by advcert.rerun, outside the verifier" in ln for ln in lines)


def test_run_fail_is_one_line_exit_1(tmp_path, good):
    doc = fresh(good)
    check_of(doc, "lemma-6.4")["verdict"] = "fails"
    code, out, err = run_file(write(tmp_path, rehash(doc)))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("verify: FAIL lemma-6.4: ")


def test_run_one_character_edit_in_the_text(tmp_path, good):
    text = json.dumps(good, sort_keys=True, indent=1)
    s = good["objects"]["p1"]["coefficients"][3]
    assert text.count(f'"{s}"') == 1
    p = tmp_path / "c.json"
    p.write_text(text.replace(f'"{s}"', f'"{edit_digit(s)}"'))
    code, _, err = run_file(p)
    assert code == 1 and err.startswith("verify: FAIL sha256: ")


def _exit2(tmp_path, text: str | None, needle: str):
    p = tmp_path / "x.json"
    if text is not None:
        p.write_text(text, encoding="utf-8")
    code, out, err = run_file(p)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("verify: cannot read ") and "fix:" in err
    assert needle in err, err
    return err


def test_truncated_json(tmp_path, good):
    text = json.dumps(good, indent=1)
    _exit2(tmp_path, text[: len(text) // 2], "truncated")


def test_foreign_json(tmp_path):
    _exit2(tmp_path, '{"a": 1}', "not an advcert certificate")


def test_not_json(tmp_path):
    _exit2(tmp_path, "hello", "not valid JSON")


def test_wrong_version(tmp_path, good):
    doc = fresh(good)
    doc["version"] = 2
    _exit2(tmp_path, json.dumps(rehash(doc)), "version 2 is not supported")


def test_missing_file(tmp_path):
    _exit2(tmp_path, None, "no such file")


def test_schema_violation(tmp_path, good):
    doc = fresh(good)
    del doc["instance"]["labels"]
    _exit2(tmp_path, json.dumps(rehash(doc)), "schema violation at instance")


def test_duplicate_keys_and_non_finite_numbers(tmp_path, good):
    text = json.dumps(good)
    _exit2(tmp_path, text[:-1] + ', "version": 1}', "duplicate key")
    _exit2(tmp_path, text.replace('"seconds": 0.001', '"seconds": NaN', 1), "non-finite")
    _exit2(tmp_path, text.replace('"seconds": 0.001', '"seconds": 1e999', 1), "out of the binary64 range")


def test_schema_is_valid_draft_2020_12():
    import jsonschema

    schema = json.loads(V.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")


# -------------------------------------------------------------- the real builder


@pytest.fixture(scope="module")
def built() -> dict:
    chain = pytest.importorskip("advcert.chain")
    config = pytest.importorskip("advcert.config")
    return chain.build_certificate(config.BuildConfig(gamma=F(1, 2), eps=F(1, 10), measured=False)).doc


@pytest.mark.slow
def test_verifies_a_real_built_certificate(built, tmp_path):
    code, out, err = run_file(write(tmp_path, built))
    assert code == 0, err
    assert out.splitlines()[-1].startswith("verify: OK")


@pytest.mark.slow
def test_one_character_edit_of_a_real_certificate(built, tmp_path):
    text = json.dumps(built, sort_keys=True, indent=1, ensure_ascii=False)
    s = built["objects"]["p1"]["coefficients"][5]
    p = tmp_path / "c.json"
    p.write_text(text.replace(f'"{s}"', f'"{edit_digit(s)}"', 1), encoding="utf-8")
    code, _, err = run_file(p)
    assert code == 1 and err.startswith("verify: FAIL sha256: ")
    doc = json.loads(p.read_text())
    rep = V.verify_document(rehash(doc), stop_at_first_failure=True)
    assert not rep.ok and rep.first_failure.startswith("objects: objects.p1.chebyshev_y")


def test_rigorous_constants_are_re_derived(good):
    doc = fresh(good)
    doc["constants"]["D_used"]["value"] = str(int(doc["constants"]["D_used"]["value"]) + 2)
    assert rejected_by_math(doc).first_failure.startswith("constants: constants.D_used.value")
    doc = fresh(good)
    D = good["objects"]["p1"]["degree"]
    doc["constants"]["log2_coef_bound_p1"] = {"value": str(4 * D), "label": "exact", "note": "4 D"}
    assert V.verify_document(rehash(doc)).ok
    doc["constants"]["log2_coef_bound_p1"]["value"] = str(4 * D + 1)
    assert "log2_coef_bound_p1" in rejected_by_math(doc).first_failure


def test_unknown_rigorous_constant_is_rejected(good):
    doc = fresh(good)
    doc["constants"]["R"] = {"value": "12", "label": "sound-bound", "note": "?"}
    assert "cannot re-derive constant R" in rejected_by_math(doc).first_failure
    doc["constants"]["R"] = {"value": 12.5, "label": "estimate", "note": "?"}
    assert V.verify_document(rehash(doc)).ok


def test_one_point_interval_when_rho_is_zero():
    # rho = 0 and tau = 0 make I_in = [1, 1]; the claim is then a single exact value
    doc = make_certificate(**{**EXACT, "rho": F(0)})
    a, b = check_of(doc, "claim-6.3/in")["details"]["interval"]
    assert a == b == "1"
    assert V.verify_document(doc).ok
    c = check_of(doc, "claim-6.3/in")
    c["enclosure"]["hi"] = c["value"] = c["enclosure"]["lo"] = rs(F(c["enclosure"]["lo"]) / 2)
    assert "not proved" in rejected_by_math(doc).first_failure


def test_deeply_nested_json_is_exit_2(tmp_path):
    _exit2(tmp_path, "[" * 100000 + "]" * 100000, "nested too deeply")


def test_mutation_benchmark_rejects_every_must_reject_mutation(good_float, tmp_path, capsys, monkeypatch):
    # a sample of benchmarks/mutate_certificates.py on the small certificate: the
    # benchmark's own classifier (Fractions, mpmath) decides what must be rejected
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "mutate_certificates.py"
    spec = importlib.util.spec_from_file_location("mutate_certificates", path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mutate_certificates", mod)  # dataclasses look it up
    spec.loader.exec_module(mod)
    cert = write(tmp_path, good_float)
    code = mod.main([str(cert), "--limit", "120", "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "every must-reject mutation was rejected" in out


# ------------------------------------------------- the measured plane: Theorem 5.3


def test_dataset_source_validates(good):
    doc = fresh(good)
    doc["instance"]["source"] = {"kind": "dataset", "name": "sklearn-digits", "package": "scikit-learn",
                                 "lift": {"map": "pad"}, "sample": [4, 9], "dropped": []}
    assert V.verify_document(rehash(doc)).ok
    del doc["instance"]["source"]["name"]
    rep = V.verify_document(rehash(doc))
    assert not rep.readable and "source" in rep.first_failure


def npz_bytes(arrays: dict, version=(1, 0)) -> bytes:
    """A deterministic .npz (numpy in the tests only; the verifier reads it without numpy)."""
    import numpy as np

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            body = io.BytesIO()
            np.lib.format.write_array(body, np.asarray(arr), version=version, allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), body.getvalue())
    return buf.getvalue()


# The reference below is this file's own: 60 digits, the cap maximum by ANGLES
# (|u| cos(max(0, phi - theta))), where the verifier uses an algebraic closed form with
# integers, and exact chords where the verifier rounds.


def _mp(x):
    x = F(x)
    return mpmath.mpf(x.numerator) / x.denominator


def ref_cap(x0, rho):
    p = [_mp(v) for v in x0[:-1]]
    P = mpmath.sqrt(sum(v * v for v in p))
    kappa = (mpmath.mpf(3) / 4 + P**2 + (_mp(x0[-1]) - mpmath.mpf(1) / 2) ** 2 - _mp(rho) ** 2) / mpmath.sqrt(3)
    c = kappa / P
    assert c <= 1  # the cap is not empty
    return p, P, (mpmath.pi if c < -1 else mpmath.acos(c))


def ref_capmax(u, cap):
    """sup over the cap of <(u, 0), x> = sqrt3/2 * |u| cos(max(0, phi - theta))."""
    p, P, theta = cap
    nu = mpmath.sqrt(sum(v * v for v in u))
    if nu == 0:
        return mpmath.mpf(0)
    cos_phi = sum(a * b for a, b in zip(u, p)) / (nu * P)
    phi = mpmath.acos(max(-1, min(1, cos_phi)))
    return mpmath.sqrt(3) / 2 * nu * mpmath.cos(max(0, phi - theta))


def ref_ranges(net, cap):
    a, W, b = net
    lo, hi = [], []
    for Wr, br in zip(W, b):
        u = [_mp(v) for v in Wr[:-1]]
        const = _mp(Wr[-1]) / 2 + _mp(br)
        hi.append(const + ref_capmax(u, cap))
        lo.append(const - ref_capmax([-v for v in u], cap))
    return lo, hi


def ref_leaf(net, cap, ranges, y, leaf) -> mpmath.mpf:
    """The recipe of docs/certificate.md with exact ranges and exact chords, at 60 digits."""
    a, W, b = net
    lo, hi = ranges
    sigma, splits, alpha, beta = leaf["sigma"], dict(leaf["splits"]), dict(leaf["alpha"]), dict(leaf["beta"])
    d = len(W[0])
    lam = [mpmath.mpf(0)] * d
    const = -sigma * _mp(y)
    for r in range(len(a)):
        c = sigma * _mp(a[r])
        if r in splits:
            k = c + _mp(beta[r]) if splits[r] > 0 else -_mp(beta[r])
        elif lo[r] >= 0:
            k = c
        elif hi[r] <= 0:
            k = 0
        elif c > 0:
            s = hi[r] / (hi[r] - lo[r])
            k = c * s
            const += c * (-s * lo[r])
        else:
            k = c * _mp(alpha[r])
        for j in range(d):
            lam[j] += k * _mp(W[r][j])
        const += k * _mp(b[r])
    return lam[-1] / 2 + ref_capmax(lam[:-1], cap) + const


def ref_up(x: mpmath.mpf, rel) -> str:
    """A short rational just above x (x + rel (1 + |x|))."""
    v = x + rel * (1 + abs(x))
    return rs(F(mpmath.nstr(v, 45)) + F(1, 10**44))


NET_INST = dict(points=FLOAT["points"], labels=[0.05, -0.05, 0.0], rho=F(1, 20), gamma=F(2), eps=F(9, 10))


def make_net(m=60, seed=5):
    """a, W0, b, W with half the neurons nearly through a data point (unstable on its cap)."""
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    X = np.array(NET_INST["points"])
    a = np.where(rng.integers(0, 2, m) == 1, 0.05, -0.05)
    W0 = rng.standard_normal((m, 3))
    W = W0 + 0.01 * rng.standard_normal((m, 3))
    b = rng.standard_normal(m) * 0.3
    h = m // 2
    b[:h] = -np.einsum("ij,ij->i", W[:h], X[np.arange(h) % 3]) + 0.01 * rng.standard_normal(h)
    return a, W0, b, W


def hand_leaves(net, i, rng, n_split=2):
    """A complete split tree per side over the first unstable neurons, random alpha and beta,
    and bounds from the reference (returns leaves with 'ref' for the tests)."""
    a, W, b = net
    cap = ref_cap(NET_INST["points"][i], NET_INST["rho"])
    ranges = ref_ranges(net, cap)
    lo, hi = ranges
    unstable = [r for r in range(len(a)) if lo[r] < 0 < hi[r]]
    assert len(unstable) >= n_split + 2
    s1, s2 = unstable[:2]
    leaves = []
    for sigma in (1, -1):
        for splits in ([[s1, 1], [s2, 1]], [[s1, 1], [s2, -1]], [[s1, -1]]):
            sp = dict(splits)
            leaf = {
                "sigma": sigma,
                "splits": splits,
                "alpha": [[r, rs(F(float(rng.uniform(0, 1))))] for r in unstable if sigma * a[r] < 0 and r not in sp],
                "beta": [[r, rs(F(float(rng.uniform(0, 0.2))))] for r in sp],
            }
            leaf["ref"] = ref_leaf(net, cap, ranges, NET_INST["labels"][i], leaf)
            leaves.append(leaf)
    return leaves


@pytest.fixture(scope="module")
def net_case():
    """A certificate with a network witness and a hand-made theorem-5.3 check (reference bounds)."""
    import numpy as np

    a, W0, b, W = make_net()
    net = (a.tolist(), W.tolist(), b.tolist())
    rng = np.random.default_rng(np.random.SeedSequence(9))
    with mpmath.workdps(60):
        per = []
        for i in range(3):
            leaves = hand_leaves(net, i, rng)
            for lf in leaves:
                lf["bound"] = ref_up(lf["ref"], mpmath.mpf(10) ** -30)
            refs = [lf.pop("ref") for lf in leaves]
            per.append({"upper": max((lf["bound"] for lf in leaves), key=F), "leaves": leaves, "refs": refs})
    refs = [p.pop("refs") for p in per]
    base = make_certificate(**NET_INST)
    raw = npz_bytes({"a": a, "W0": W0, "b": b, "W": W})
    mean = sum(F(p["upper"]) for p in per) / 3
    chk = {"id": "theorem-5.3", "claim": V.CLAIMS["theorem-5.3"], "relation": "<=", "bound": base["instance"]["eps"],
           "value": rs(mean), "label": "sound-bound", "verdict": "holds" if mean <= F(9, 10) else "fails",
           "method": "hand-made, 60-digit reference", "seconds": 0.1,
           "details": {"domain": "cap", "rho": "1/20", "rho_used": rs(F(0.05)), "upper": rs(mean), "per_point": per,
                       "recipe": "docs/certificate.md"}}
    doc = fresh(base)
    doc["objects"]["network"] = {"path": "net.npz", "sha256": hashlib.sha256(raw).hexdigest(), "m": len(a)}
    doc["checks"].append(chk)
    return rehash(doc), raw, refs, net


def verify_net(doc, raw):
    return V.verify_document(rehash(doc), witness=raw)


def test_hand_made_network_certificate_verifies(net_case):
    doc, raw, _, _ = net_case
    rep = V.verify_document(doc, witness=raw)
    assert rep.ok, rep.first_failure
    assert check_of(doc, "theorem-5.3")["verdict"] == "holds"
    assert any(r.id == "theorem-5.3" and r.status == "re-derived" for r in rep.results)


def test_leaf_bounds_agree_with_the_60_digit_reference(net_case):
    # the verifier's bound is an upper bound of the exact recipe and within 1e-30 of it
    doc, raw, refs, _ = net_case
    net = V.read_witness(raw, 60, 3)
    det = check_of(doc, "theorem-5.3")["details"]
    with mpmath.workdps(60):
        for i, pp in enumerate(det["per_point"]):
            leaves = [V._parse_leaf(v, "leaf", 60) for v in pp["leaves"]]
            dom = V.make_domain("cap", [_fq(F(v)) for v in doc["instance"]["points"][i]], fmpq(1, 20))
            got = V.leaf_bounds(net, dom, _fq(F(doc["instance"]["labels"][i])), leaves)
            for g, ref in zip(got, refs[i]):
                gm = mpmath.mpf(int(g.p)) / int(g.q)
                assert ref - mpmath.mpf(10) ** -25 <= gm <= ref + mpmath.mpf(10) ** -25, (gm, ref)


def test_reference_leaf_bounds_hold_on_the_sampled_arc(net_case):
    # the recipe itself, on dense samples of each cap (d = 3: an arc) inside each leaf's region
    import numpy as np

    _, _, refs, net = net_case
    doc = net_case[0]
    a, W, b = (np.array(v) for v in net)
    det = check_of(doc, "theorem-5.3")["details"]
    rho = 0.05
    for i, pp in enumerate(det["per_point"]):
        x0 = np.array(doc["instance"]["points"][i])
        y = doc["instance"]["labels"][i]
        th0 = math.atan2(x0[1], x0[0])
        # the arc: |x - x0| <= rho on the circle of radius sqrt3/2 at height 1/2
        half = 2 * math.asin(min(1.0, rho / math.sqrt(3)))
        th = th0 + np.linspace(-half, half, 20001)
        X = np.stack([math.sqrt(3) / 2 * np.cos(th), math.sqrt(3) / 2 * np.sin(th), np.full_like(th, 0.5)], axis=1)
        X = X[np.linalg.norm(X - x0, axis=1) <= rho]
        Z = X @ W.T + b
        f = np.maximum(Z, 0) @ a
        worst = 0.0
        for leaf, ref in zip(pp["leaves"], refs[i]):
            mask = np.ones(len(X), dtype=bool)
            for r, s in leaf["splits"]:
                mask &= (Z[:, r] >= 0) if s > 0 else (Z[:, r] <= 0)
            if mask.any():
                m = float(np.max(leaf["sigma"] * (f[mask] - y)))
                assert m <= float(ref) + 1e-12
                worst = max(worst, m)
        assert float(np.max(np.abs(f - y))) <= float(F(pp["upper"])) + 1e-12
        assert worst > 0


def _mutate_leaf(doc, i=1, j=1):
    return check_of(doc, "theorem-5.3")["details"]["per_point"][i]["leaves"][j]


def test_a_leaf_bound_below_the_recipe_is_rejected(net_case):
    doc, raw, refs, _ = net_case
    with mpmath.workdps(60):
        for rel, ok in ((mpmath.mpf(10) ** -25, True), (-mpmath.mpf(10) ** -25, False)):
            d2 = fresh(doc)
            _mutate_leaf(d2)["bound"] = rs(F(mpmath.nstr(refs[1][1] + rel, 50)))
            rep = verify_net(d2, raw)
            assert rep.ok == ok, rep.first_failure
            if not ok:
                assert rep.first_failure.startswith("theorem-5.3:") and "is not proved" in rep.first_failure


def test_binary64_neighbours_of_the_recipe_value(net_case):
    # the binary64 number just below the exact recipe value (less than one ulp under it) is
    # rejected; the one just above it is accepted
    doc, raw, refs, _ = net_case
    with mpmath.workdps(60):
        exact = F(mpmath.nstr(refs[1][1], 55))
    below = float(exact)
    if F(below) >= exact:
        below = math.nextafter(below, -math.inf)
    above = math.nextafter(below, math.inf)
    assert F(below) < exact <= F(above)
    for value, ok in ((below, False), (above, True)):
        d2 = fresh(doc)
        _mutate_leaf(d2)["bound"] = rs(F(value))
        assert verify_net(d2, raw).ok == ok


def test_deleted_leaf_breaks_the_split_tree(net_case):
    doc, raw, _, _ = net_case
    d2 = fresh(doc)
    del check_of(d2, "theorem-5.3")["details"]["per_point"][0]["leaves"][1]
    rep = verify_net(d2, raw)
    assert "not a complete split tree" in rep.first_failure and "no leaf covers" in rep.first_failure


@pytest.mark.parametrize("edit,needle", [
    (lambda lf: lf["alpha"].pop(), "has no entry for neuron"),
    (lambda lf: lf["beta"].pop(), "has no beta"),
    (lambda lf: lf["alpha"].__setitem__(0, [lf["alpha"][0][0], "3/2"]), "not in [0, 1]"),
    (lambda lf: lf["beta"].__setitem__(0, [lf["beta"][0][0], "-1/8"]), "negative"),
    (lambda lf: lf["beta"].append([59, "1/8"]), "does not split it"),
    (lambda lf: lf["splits"].append([lf["splits"][0][0], -1]), "appears twice"),
    (lambda lf: lf.__setitem__("sigma", 0), "not 1 or -1"),
    (lambda lf: lf["alpha"].__setitem__(0, [lf["alpha"][0][0], "2/4"]), "lowest terms"),
])
def test_malformed_leaves_are_rejected(net_case, edit, needle):
    doc, raw, _, _ = net_case
    d2 = fresh(doc)
    edit(_mutate_leaf(d2))
    rep = verify_net(d2, raw)
    assert not rep.ok and needle in rep.first_failure, rep.first_failure


def test_upper_below_its_leaves_and_wrong_mean_are_rejected(net_case):
    doc, raw, _, _ = net_case
    d2 = fresh(doc)
    pp = check_of(d2, "theorem-5.3")["details"]["per_point"][2]
    pp["upper"] = rs(F(pp["upper"]) - F(1, 10**40))
    assert "below its largest leaf bound" in verify_net(d2, raw).first_failure
    for field in ("value", "details.upper"):
        d2 = fresh(doc)
        c = check_of(d2, "theorem-5.3")
        new = rs(F(c["value"]) + F(1, 10**30))
        if field == "value":
            c["value"] = new
        else:
            c["details"]["upper"] = new
        assert "re-derives to" in verify_net(d2, raw).first_failure


def test_a_higher_upper_is_still_a_true_certificate(net_case):
    doc, raw, _, _ = net_case
    d2 = fresh(doc)
    c = check_of(d2, "theorem-5.3")
    pp = c["details"]["per_point"][0]
    pp["upper"] = rs(F(pp["upper"]) + F(1, 100))
    mean = sum(F(p["upper"]) for p in c["details"]["per_point"]) / 3
    c["value"] = c["details"]["upper"] = rs(mean)
    assert verify_net(d2, raw).ok


def test_witness_byte_change_is_caught_by_its_hash(net_case):
    doc, raw, _, _ = net_case
    bad = bytearray(raw)
    bad[-3] ^= 1  # a low mantissa bit of the last W entry
    rep = V.verify_document(doc, witness=bytes(bad))
    assert rep.first_failure.startswith("network:") and "sha256" in rep.first_failure


def _rewitness(doc, arrays, **kw):
    raw = npz_bytes(arrays, **kw)
    d2 = fresh(doc)
    d2["objects"]["network"]["sha256"] = hashlib.sha256(raw).hexdigest()
    return rehash(d2), raw


def test_swapped_W_rows_are_caught_by_the_mathematics(net_case):
    import numpy as np

    doc, raw, _, _ = net_case
    a, W0, b, W = make_net()
    # neuron 0 and the first neuron with the opposite output weight, both nearly through a data point
    r = next(r for r in range(1, 30) if a[r] != a[0])
    W = W.copy()
    W[[0, r]] = W[[r, 0]]
    d2, raw2 = _rewitness(doc, {"a": a, "W0": W0, "b": b, "W": W})
    rep = V.verify_document(d2, witness=raw2)
    assert rep.first_failure.startswith("theorem-5.3:"), rep.first_failure
    assert np.array_equal(np.sort(W, axis=0), np.sort(make_net()[3], axis=0))


@pytest.mark.parametrize("kind,needle", [
    ("float32", "dtype '<f4'"),
    ("fortran", "Fortran order"),
    ("bigendian", "dtype '>f8'"),
    ("shape", "shape (59, 3)"),
    ("missing", "has 3 zip members"),
    ("nan", "NaN or infinity"),
])
def test_bad_witness_arrays_are_rejected(net_case, kind, needle):
    import numpy as np

    doc, _, _, _ = net_case
    a, W0, b, W = make_net()
    arrays = {"a": a, "W0": W0, "b": b, "W": W}
    if kind == "float32":
        arrays["W"] = W.astype(np.float32)
    elif kind == "fortran":
        arrays["W"] = np.asfortranarray(W)
    elif kind == "bigendian":
        arrays["W"] = W.astype(">f8")
    elif kind == "shape":
        arrays["W"] = W[:-1]
    elif kind == "missing":
        del arrays["W"]
    elif kind == "nan":
        arrays["W"] = W.copy()
        arrays["W"][3, 1] = np.nan
    d2, raw2 = _rewitness(doc, arrays)
    rep = V.verify_document(d2, witness=raw2)
    assert rep.exit_code == 1 and rep.first_failure.startswith("network:") and needle in rep.first_failure, rep.first_failure


def test_witness_reader_matches_numpy_bit_for_bit():
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(11))
    arrs = {"a": rng.standard_normal(7), "W0": rng.standard_normal((7, 4)) * 1e-300, "b": np.zeros(7),
            "W": rng.standard_normal((7, 4)) * 1e300}
    for version in ((1, 0), (2, 0)):
        net = V.read_witness(npz_bytes(arrs, version=version), 7, 4)
        assert [float(net.a(r)) for r in range(7)] == arrs["a"].tolist()
        assert [[float(x) for x in net.row(r)] for r in range(7)] == np.hstack([arrs["W"], arrs["b"][:, None]]).tolist()
        # exactly, not only after rounding back to float
        assert all(F(int(x.p), int(x.q)) == F(v) for r in range(7) for x, v in zip(net.row(r), arrs["W"][r]))
    with pytest.raises(V._Fail, match="not a readable .npz"):
        V.read_witness(b"PK\x03\x04 truncated", 7, 4)


def test_cap_maximum_agrees_with_the_angle_formula():
    # the verifier's integer closed form against |u| cos(max(0, phi - theta)) at 60 digits,
    # on caps from tiny to more than a hemisphere, in d = 3 and d = 6
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(12))
    with mpmath.workdps(60):
        for d in (3, 6):
            for rho in (F(1, 1000), F(1, 20), F(1, 2), F(3, 2)):
                v = rng.standard_normal(d - 1)
                x0 = [float(t) for t in math.sqrt(3) / 2 * v / np.linalg.norm(v)] + [0.5]
                dom = V.make_domain("cap", [_fq(F(t)) for t in x0], _fq(rho))
                cap = ref_cap(x0, rho)
                for _ in range(25):
                    u = rng.standard_normal(d - 1) * 10.0 ** rng.integers(-3, 3)
                    if rng.uniform() < 0.3:  # near the cap's axis or its boundary
                        u = u * 1e-3 + np.array(x0[:-1]) * rng.choice([-1.0, 1.0])
                    uq = [_fq(F(float(t))) for t in u]
                    ui, Du = V._common(uq)
                    Ti = sum(p * q for p, q in zip(ui, dom.Pi))
                    num, den = V.cap_sup_up(Ti, sum(t * t for t in ui), Du, dom)
                    got = mpmath.mpf(num) / den
                    ref = ref_capmax([_mp(float(t)) for t in u], cap)
                    # acos near +-1 costs the reference half its 60 digits: agreement to 1e-25
                    tol = mpmath.mpf(10) ** -25 * (1 + abs(ref))
                    assert ref - tol <= got <= ref + tol, (d, rho, got, ref)


def test_preactivation_ranges_enclose_sampled_values(net_case):
    import numpy as np

    doc, raw, _, net = net_case
    vnet = V.read_witness(raw, 60, 3)
    _, W, b = (np.array(v) for v in net)
    rng = np.random.default_rng(np.random.SeedSequence(13))
    for i, x0 in enumerate(doc["instance"]["points"]):
        dom = V.make_domain("cap", [_fq(F(t)) for t in x0], fmpq(1, 20))
        lo, hi, S = V.preactivation_ranges(vnet, dom)
        # the arc, densely, with its end points (where a linear function often peaks)
        th0 = math.atan2(x0[1], x0[0])
        th = th0 + np.concatenate([np.linspace(-1, 1, 4001), rng.uniform(-1, 1, 1000)]) * 2 * math.asin(0.05 / math.sqrt(3))
        X = np.stack([math.sqrt(3) / 2 * np.cos(th), math.sqrt(3) / 2 * np.sin(th), np.full_like(th, 0.5)], axis=1)
        Z = X @ W.T + b
        assert np.all(Z.min(axis=0) >= np.array([float(F(v, S)) for v in lo]) - 1e-12)
        assert np.all(Z.max(axis=0) <= np.array([float(F(v, S)) for v in hi]) + 1e-12)
        # and the ranges are tight: within 1e-6 of the sampled extremes
        assert np.all(np.array([float(F(v, S)) for v in hi]) - Z.max(axis=0) <= 1e-6)


def _random_tree(rng, free, depth):
    if depth == 0 or not free or rng.uniform() < 0.3:
        return [{}]
    r = int(rng.choice(free))
    rest = [f for f in free if f != r]
    return ([{**lf, r: 1} for lf in _random_tree(rng, rest, depth - 1)]
            + [{**lf, r: -1} for lf in _random_tree(rng, rest, depth - 1)])


def _covers(leaves, neurons) -> bool:
    import itertools

    for signs in itertools.product((1, -1), repeat=len(neurons)):
        pat = dict(zip(neurons, signs))
        if not any(all(pat[r] == s for r, s in lf.items()) for lf in leaves):
            return False
    return True


def test_split_tree_check_against_brute_force_coverage():
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(14))
    for _ in range(300):
        leaves = _random_tree(rng, list(range(6)), 4)
        rng.shuffle(leaves)
        assert V.split_tree_gap(leaves) is None
        assert _covers(leaves, list(range(6)))
        if len(leaves) > 1:
            # any deleted leaf uncovers a sign pattern, and the check must say so
            k = int(rng.integers(len(leaves)))
            rest = leaves[:k] + leaves[k + 1:]
            assert not _covers(rest, list(range(6)))
            assert V.split_tree_gap(rest) is not None
        # random leaf sets: whenever the check accepts, they cover
        junk = [{int(r): int(rng.choice([-1, 1])) for r in rng.choice(6, int(rng.integers(0, 3)), replace=False)}
                for _ in range(int(rng.integers(1, 6)))]
        if V.split_tree_gap(junk) is None:
            assert _covers(junk, list(range(6)))
    assert V.split_tree_gap([]) is not None
    assert "not a tree" in V.split_tree_gap([{}, {0: 1}, {0: -1}])


def test_estimate_theorem_5_3_needs_no_witness(net_case):
    doc, _, _, _ = net_case
    d2 = fresh(doc)
    c = check_of(d2, "theorem-5.3")
    c.update(label="estimate", verdict="observed", value=0.2, bound=0.9)
    rep = V.verify_document(rehash(d2), base="/nonexistent")
    assert rep.ok, rep.first_failure
    assert any(r.id == "network" and "no rigorous check needs it" in r.message for r in rep.results)


def test_rigorous_theorem_5_3_without_network_is_rejected(net_case):
    doc, raw, _, _ = net_case
    d2 = fresh(doc)
    del d2["objects"]["network"]
    assert "objects.network" in verify_net(d2, raw).first_failure


def drift_details(doc, W0, W, R=None):
    """details.schedule and details.drift_best of a sound theorem-4.1 check for the witness
    (W0, W): the drift m^(2/3) ||W - W0||_{2,inf} and a radius R with R^2/eps above it."""
    import numpy as np

    m = W.shape[0]
    drift = float(np.max(np.linalg.norm(W - W0, axis=1))) * m ** (2.0 / 3.0)
    eps = F(doc["instance"]["eps"])
    R = max(1.0, math.sqrt(drift * float(eps)) * 1.01) if R is None else R
    return {"schedule": {"R": R, "R_train": float(F(R) ** 2 / eps), "m": m}, "drift_best": drift}


def theorem_4_1_of(doc):
    """doc with its theorem-5.3 check restated as a sound theorem-4.1 check (same witness)."""
    a, W0, b, W = make_net()
    d2 = fresh(doc)
    c = check_of(d2, "theorem-5.3")
    d2["checks"].remove(c)
    sha = d2["objects"]["network"]["sha256"]
    c41 = dict(c, id="theorem-4.1", claim=V.CLAIMS["theorem-4.1"],
               details={"robust": c["details"], "witness": {"file": "net.npz", "sha256": sha}, **drift_details(doc, W0, W)})
    d2["checks"].append(c41)
    return d2, c41


def test_theorem_4_1_bounds_the_drift_from_W0(net_case):
    import numpy as np

    doc, raw, _, _ = net_case
    d2, c41 = theorem_4_1_of(doc)
    assert verify_net(d2, raw).ok
    a, W0, b, W = make_net()
    # W0 := W (drift 0) and W0 := 0: the reported drift no longer matches the witness
    for W0x in (W, np.zeros_like(W0)):
        d3, raw3 = _rewitness(d2, {"a": a, "W0": W0x, "b": b, "W": W})
        check_of(d3, "theorem-4.1")["details"]["witness"]["sha256"] = d3["objects"]["network"]["sha256"]
        fail = verify_net(d3, raw3).first_failure
        assert fail.startswith("theorem-4.1:") and ("drift_best" in fail or "exceeds R_train" in fail), fail
    # a radius whose R^2/eps is below the true drift: the iterate left Algorithm 1's ball
    drift = c41["details"]["drift_best"]
    R = math.sqrt(drift * float(F(doc["instance"]["eps"]))) * 0.99
    if R >= 1:
        c41["details"].update(drift_details(doc, W0, W, R=R))
        assert "exceeds R_train" in verify_net(d2, raw).first_failure
    c41["details"]["schedule"]["R"] = 0.5
    assert "R >= 1" in verify_net(d2, raw).first_failure
    del c41["details"]["schedule"]
    assert "details.schedule.R" in verify_net(d2, raw).first_failure


def test_theorem_4_1_uses_the_same_re_derivation(net_case):
    doc, raw, _, _ = net_case
    a, W0, b, W = make_net()
    d2 = fresh(doc)
    c = check_of(d2, "theorem-5.3")
    d2["checks"].remove(c)
    sha = d2["objects"]["network"]["sha256"]
    c41 = dict(c, id="theorem-4.1", claim=V.CLAIMS["theorem-4.1"],
               details={"robust": c["details"], "witness": {"file": "net.npz", "sha256": sha}, **drift_details(doc, W0, W)})
    d2["checks"].append(c41)
    assert verify_net(d2, raw).ok
    c41["details"]["witness"]["sha256"] = "0" * 64
    assert "another network" in verify_net(d2, raw).first_failure
    c41["details"]["witness"]["sha256"] = sha
    pp = c41["details"]["robust"]["per_point"][0]["leaves"][0]
    pp["bound"] = rs(F(pp["bound"]) - F(1, 1000))
    assert verify_net(d2, raw).first_failure.startswith("theorem-4.1:")


def test_measured_plane_checks_keep_chain_order(net_case):
    doc, raw, _, _ = net_case
    d2 = fresh(doc)
    base = {"relation": "<=", "bound": 0.1, "value": 0.05, "label": "estimate", "verdict": "observed",
            "method": "m", "seconds": 0.0, "details": {}}

    def est_of(**kw):
        return {**base, "claim": V.CLAIMS.get(kw.get("id"), "c"), **kw}

    d2["checks"].append(est_of(id="theorem-5.2"))
    d2["checks"].insert(len(d2["checks"]) - 2, est_of(id="lemma-6.6"))
    assert verify_net(d2, raw).ok
    d2["checks"].insert(len(d2["checks"]) - 2, est_of(id="lemma-6.5"))
    d2["checks"].append(est_of(id="theorem-5.1"))
    assert "chain order" in verify_net(d2, raw).first_failure
    d2 = fresh(doc)
    d2["checks"].insert(-1, est_of(id="theorem-5.1", label="sound-bound", verdict="holds", value="1/20", bound="1/10"))
    assert "estimate by the contract" in verify_net(d2, raw).first_failure


def test_run_with_a_witness_file(tmp_path, net_case):
    doc, raw, _, _ = net_case
    cert = write(tmp_path, doc)
    (tmp_path / "net.npz").write_bytes(raw)
    code, out, err = run_file(cert)
    assert code == 0 and "theorem-5.3" in out and err == ""
    (tmp_path / "net.npz").write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    code, out, err = run_file(cert)
    assert code == 1 and err.count("\n") == 1 and "objects.network.sha256" in err
    (tmp_path / "net.npz").unlink()
    code, out, err = run_file(cert)
    assert code == 2 and err.count("\n") == 1 and "net.npz does not exist" in err and "fix:" in err


def test_builder_theorem_5_3_check_verifies_and_is_sound(net_case):
    # the real builder (advcert.checks.robust, IN THE TEST ONLY) on the same network: the verifier
    # accepts its leaves, and each stored bound is >= the 60-digit reference of its leaf
    import numpy as np

    bounds = pytest.importorskip("advcert.checks.robust")
    doc, raw, _, net = net_case
    a, W0, b, W = make_net()
    d2 = fresh(doc)
    d2["checks"] = [c for c in d2["checks"] if c["id"] != "theorem-5.3"]
    inst = d2["instance"]
    chk = bounds.theorem_5_3_check(a, W, b, np.array(inst["points"]), np.array(inst["labels"]), F(inst["rho"]),
                                   F(inst["eps"]), seed=0, restarts=2, steps=20, random_points=32, rel_gap=0.0,
                                   time_budget=2.0, max_nodes=40)
    assert chk["label"] == "sound-bound"
    d2["checks"].append(chk)
    rep = verify_net(d2, raw)
    assert rep.ok, rep.first_failure
    with mpmath.workdps(60):
        for i, pp in enumerate(chk["details"]["per_point"]):
            cap = ref_cap(inst["points"][i], F(inst["rho"]))
            ranges = ref_ranges(net, cap)
            for leaf in pp["leaves"]:
                assert _mp(F(leaf["bound"])) >= ref_leaf(net, cap, ranges, inst["labels"][i], leaf)


def test_width_constant_is_re_derived(net_case):
    doc, raw, _, _ = net_case
    d2 = fresh(doc)
    d2["constants"]["m"] = {"value": "60", "label": "exact", "note": "the width"}
    assert verify_net(d2, raw).ok
    d2["constants"]["m"]["value"] = "61"
    assert "re-derives to 60" in verify_net(d2, raw).first_failure
    del d2["objects"]["network"]
    d2["checks"] = [c for c in d2["checks"] if c["id"] != "theorem-5.3"]
    d2["constants"]["m"]["value"] = "60"
    assert "no objects.network" in verify_net(d2, raw).first_failure


def test_attack_bound_is_eps_over_3(good):
    doc = fresh(good)
    check_of(doc, "lemma-6.2/attack")["bound"] = 0.3
    assert "eps/3" in rejected_by_math(doc).first_failure


def _complexity_ref(q, c, eps2=None):
    """C(q) and C(q, eps2) of math-spec §5 at 50 digits (mpmath; the verifier uses Arb)."""
    with mpmath.workdps(50):
        c = _mp(c)
        Cq = c * sum(abs(_mp(a)) * mpmath.mpf(j + 1) ** (mpmath.mpf(7) / 4) for j, a in enumerate(q) if a != 0)
        if eps2 is None:
            return Cq, None
        L = mpmath.log(1 / _mp(eps2))
        Cqe = sum(abs(_mp(a)) * c**j * (2 if j == 0 else 1 + mpmath.sqrt(L / j) ** j) for j, a in enumerate(q) if a != 0)
        return Cq, Cqe


def test_complexity_constants_are_checked_against_mpmath(good):
    q = [F(x) for x in good["objects"]["q"]["coefficients"]]
    inst = good["instance"]
    cap = F(inst["eps"]) / (9 * inst["n"])
    Cq, _ = _complexity_ref(q, 2)
    eps2 = min(cap, F(1, 2 ** (int(mpmath.log(2 * Cq, 2)) + 2)))  # a dyadic below 1/(2 C(q)) when smaller
    _, Cqe = _complexity_ref(q, 2, eps2)
    with mpmath.workdps(50):
        lq, lqe = mpmath.log(Cq, 2), mpmath.log(Cqe, 2)
    doc = fresh(good)

    def const(v, label):
        return {"value": v, "label": label, "note": "test"}

    doc["constants"].update(complexity_c=const("2", "exact"), eps2=const(rs(eps2), "exact"),
                            log2_C_q=const(rs(F(mpmath.nstr(lq + 1e-9, 30))), "sound-bound"),
                            log2_C_q_eps2=const(rs(F(mpmath.nstr(lqe + 1e-9, 30))), "sound-bound"))
    assert V.verify_document(rehash(doc)).ok
    for name, bad, needle in (("log2_C_q", lq - 1e-9, "below log2"), ("log2_C_q_eps2", lqe - 1e-9, "below log2")):
        d2 = fresh(doc)
        d2["constants"][name]["value"] = rs(F(mpmath.nstr(bad, 30)))
        assert needle in rejected_by_math(d2).first_failure
    d2 = fresh(doc)
    d2["constants"]["eps2"]["value"] = rs(cap * 2)
    assert "eps/(9n)" in rejected_by_math(d2).first_failure
    d2 = fresh(doc)
    d2["constants"]["complexity_c"]["value"] = "0"
    assert "not positive" in rejected_by_math(d2).first_failure
    d2 = fresh(doc)
    d2["constants"]["log2_C_q"]["label"] = "exact"
    assert "sound-bound" in rejected_by_math(d2).first_failure
    # a c large enough that 1/(2 C(q)) < eps2: the hypothesis of Lemma 6.6 fails
    d2 = fresh(doc)
    d2["constants"]["complexity_c"]["value"] = str(int(1 / (2 * eps2 * Cq / 2)) + 1)
    d2["constants"]["log2_C_q"]["label"] = "estimate"
    d2["constants"]["log2_C_q"]["value"] = 1.0
    d2["constants"]["log2_C_q_eps2"]["label"] = "estimate"
    d2["constants"]["log2_C_q_eps2"]["value"] = 1.0
    assert "1/(2 C(q))" in rejected_by_math(d2).first_failure


def test_constants_the_verifier_cannot_re_derive_are_named(good):
    doc = fresh(good)
    doc["constants"]["log2_C_h"] = {"value": "378", "label": "sound-bound", "note": "upper bound of log2 sup|h|"}
    assert "cannot re-derive constant log2_C_h" in rejected_by_math(doc).first_failure


def test_mutation_benchmark_on_a_network_certificate(net_case, tmp_path, capsys, monkeypatch):
    # leaf, constant and witness edits (raw bytes and array-level), judged by the
    # benchmark's own reference (numpy longdouble, mpmath), never by advcert.verify
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "mutate_certificates.py"
    spec = importlib.util.spec_from_file_location("mutate_certificates", path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mutate_certificates", mod)
    spec.loader.exec_module(mod)
    doc, raw, _, _ = net_case
    cert = write(tmp_path, doc)
    (tmp_path / "net.npz").write_bytes(raw)
    code = mod.main([str(cert), "--limit", "60", "--seed", "5", "--witness-bytes", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "every must-reject mutation was rejected" in out
    assert "theorem-5.3" in out.split("B rejections by the first failing part:")[1]


def test_ranges_agree_with_the_angle_reference(net_case):
    doc, raw, _, net = net_case
    vnet = V.read_witness(raw, 60, 3)
    with mpmath.workdps(60):
        for i, x0 in enumerate(doc["instance"]["points"]):
            dom = V.make_domain("cap", [_fq(F(t)) for t in x0], fmpq(1, 20))
            lo, hi, S = V.preactivation_ranges(vnet, dom)
            rlo, rhi = ref_ranges(net, ref_cap(x0, F(1, 20)))
            for a_, b_, ra, rb in zip(lo, hi, rlo, rhi):
                lo_m, hi_m = mpmath.mpf(a_) / S, mpmath.mpf(b_) / S
                assert abs(lo_m - ra) <= mpmath.mpf(10) ** -25 and abs(hi_m - rb) <= mpmath.mpf(10) ** -25


def test_ball_domain_leaf_bounds_agree_with_a_reference(net_case):
    # domain 'ball' (B_2(x_i, rho) in R^d, which contains the cap): ranges z(x0) ± rho ||W_r||
    # and sup <Lambda, x> = <Lambda, x0> + rho ||Lambda||, against a 60-digit reference
    doc, raw, _, net = net_case
    a, W, b = net
    vnet = V.read_witness(raw, 60, 3)
    rng = __import__("numpy").random.default_rng(21)
    with mpmath.workdps(60):
        for i, x0 in enumerate(doc["instance"]["points"]):
            X0 = [_mp(v) for v in x0]
            rho = mpmath.mpf(1) / 20
            z = [sum(_mp(w) * x for w, x in zip(Wr, X0)) + _mp(br) for Wr, br in zip(W, b)]
            nw = [mpmath.sqrt(sum(_mp(w) ** 2 for w in Wr)) for Wr in W]
            lo = [zz - rho * n for zz, n in zip(z, nw)]
            hi = [zz + rho * n for zz, n in zip(z, nw)]
            uns = [r for r in range(60) if lo[r] < 0 < hi[r]]
            for sigma in (1, -1):
                leaf = {"sigma": sigma, "splits": [], "beta": [],
                        "alpha": [[r, rs(F(float(rng.uniform(0, 1))))] for r in uns if sigma * a[r] < 0], "bound": "1"}
                al = dict(leaf["alpha"])
                lam = [mpmath.mpf(0)] * 3
                const = -sigma * _mp(doc["instance"]["labels"][i])
                for r in range(60):
                    c = sigma * _mp(a[r])
                    if lo[r] >= 0:
                        k = c
                    elif hi[r] <= 0:
                        k = 0
                    elif c > 0:
                        s = hi[r] / (hi[r] - lo[r])
                        k, const = c * s, const - c * s * lo[r]
                    else:
                        k = c * _mp(al[r])
                    lam = [l + k * _mp(w) for l, w in zip(lam, W[r])]
                    const += k * _mp(b[r])
                ref = sum(l * x for l, x in zip(lam, X0)) + rho * mpmath.sqrt(sum(l * l for l in lam)) + const
                dom = V.make_domain("ball", [_fq(F(t)) for t in x0], fmpq(1, 20))
                (got,) = V.leaf_bounds(vnet, dom, _fq(F(doc["instance"]["labels"][i])), [V._parse_leaf(leaf, "l", 60)])
                gm = mpmath.mpf(int(got.p)) / int(got.q)
                assert ref <= gm + mpmath.mpf(10) ** -50 and gm <= ref + mpmath.mpf(10) ** -25, (gm, ref)
