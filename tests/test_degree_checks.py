"""The paper's degree bounds as checks: claim-6.3/degree and lemma-6.4/degree (docs/certificate.md,
"The foundation checks"; math-spec §2, §3, §12.2).

Claim 6.3 (and Lemma 6.2) state D = (24/γ)·ln(48n/ε); the reconstructed Lemma 6.4 states
D = (3/η)·ln(2/(η·ε1)). Both are logarithms, so each check stores an Arb enclosure of the bound
and compares its lower end with the integer degree of the polynomial built. The references here
are mpmath at 60 digits written out by hand, the degrees of the stored objects, and planted
edits; a genuinely exceeded bound comes from a real, valid but needlessly high-degree p1.
"""

from __future__ import annotations

import copy
import hashlib
import json
from fractions import Fraction

import mpmath
import pytest

import advcert.verify as V
from advcert import chain as chain_mod
from advcert.chain import build_certificate
from advcert.checks import certified as records
from advcert.config import BuildConfig
from advcert.poly.sgn import sign_polynomial

HEADLINE = dict(gamma=Fraction(1, 2), eps=Fraction(1, 10))  # n = 10, math-spec §11
TOY = dict(gamma=Fraction(2), eps=Fraction(3, 5), n=2)  # η = 1/4, ε1 = 1/10
DEGREE_CHECKS = ("lemma-6.4/degree", "claim-6.3/degree")


def reseal(doc: dict) -> dict:
    """The contract's canonical hash (docs/certificate.md, "Canonical form and hash")."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    doc["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return doc


def verify(doc: dict) -> V.Report:
    return V.verify_document(reseal(doc))


def check_of(doc: dict, id_: str) -> dict:
    return next(c for c in doc["checks"] if c["id"] == id_)


def hand_claim63(gamma, eps, n) -> mpmath.mpf:
    with mpmath.workdps(60):
        return 24 / mpmath.mpf(Fraction(gamma).numerator) * Fraction(gamma).denominator * mpmath.log(
            48 * n * mpmath.mpf(Fraction(eps).denominator) / Fraction(eps).numerator)


def hand_lemma64(eta, eps1) -> mpmath.mpf:
    eta, eps1 = Fraction(eta), Fraction(eps1)
    with mpmath.workdps(60):
        e = mpmath.mpf(eta.numerator) / eta.denominator
        return 3 / e * mpmath.log(2 / (e * mpmath.mpf(eps1.numerator) / eps1.denominator))


@pytest.fixture(scope="module", params=["paper", "minimax", "lp"])
def built(request) -> tuple[str, dict]:
    return request.param, build_certificate(BuildConfig(**HEADLINE, poly=request.param, measured=False)).doc


# ------------------------------------------------------------------------------ accepted


def test_the_degree_checks_hold_and_verify_on_every_route(built):
    route, doc = built
    rep = V.verify_document(doc)
    assert rep.ok, rep.first_failure
    status = {r.id: r.status for r in rep.results}
    deg_q = doc["objects"]["q"]["degree"]
    c63 = check_of(doc, "claim-6.3/degree")
    assert status["claim-6.3/degree"] == "re-derived"
    assert (c63["label"], c63["relation"], c63["verdict"]) == ("enclosure", ">=", "holds")
    assert Fraction(c63["bound"]) == deg_q == c63["details"]["degree"]
    # 48 ln 4800 = 406.8658174510071502608..., enclosed to 12 digits
    lo, hi = Fraction(c63["enclosure"]["lo"]), Fraction(c63["enclosure"]["hi"])
    ref = hand_claim63(**HEADLINE, n=10)
    with mpmath.workdps(60):
        assert mpmath.mpf(lo.numerator) / lo.denominator < ref < mpmath.mpf(hi.numerator) / hi.denominator
    assert hi - lo < Fraction(1, 10**8) and Fraction(c63["value"]) == lo
    if route == "lp":
        assert "lemma-6.4/degree" not in {c["id"] for c in doc["checks"]}
        return
    c64 = check_of(doc, "lemma-6.4/degree")
    assert status["lemma-6.4/degree"] == "re-derived" and c64["verdict"] == "holds"
    assert Fraction(c64["bound"]) == doc["objects"]["p1"]["degree"] == deg_q
    lo, hi = Fraction(c64["enclosure"]["lo"]), Fraction(c64["enclosure"]["hi"])
    ref = hand_lemma64(Fraction(1, 16), Fraction(1, 300))  # 48 ln 9600 = 440.1368821...
    with mpmath.workdps(60):
        assert mpmath.mpf(lo.numerator) / lo.denominator < ref < mpmath.mpf(hi.numerator) / hi.denominator
    # the paper's construction reaches ε1 at 245, the minimax one at 75 (both far below 407 and 440)
    assert deg_q == {"paper": 245, "minimax": 75}[route]


def test_a_certificate_without_the_degree_checks_still_verifies(built):
    # certificates written before the checks existed (certificates/headline.json) lack them
    _, doc = built
    doc = copy.deepcopy(doc)
    doc["checks"] = [c for c in doc["checks"] if c["id"] not in DEGREE_CHECKS]
    assert verify(doc).ok
    assert all(k not in V.REQUIRED_CHECKS_BY_ROUTE[r] for k in DEGREE_CHECKS for r in (None, "lp"))


def test_the_shipped_headline_certificate_verifies_with_its_degree_checks():
    from pathlib import Path

    path = Path(__file__).parent.parent / "certificates" / "headline.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    # regenerated after the checks existed, so it carries both and both hold
    assert {c["id"]: c["verdict"] for c in doc["checks"] if c["id"] in DEGREE_CHECKS} == dict.fromkeys(DEGREE_CHECKS, "holds")
    rep = V.verify_document(doc, base=path.parent)
    assert rep.ok, rep.first_failure


# ------------------------------------------------------------------------ planted edits


@pytest.fixture(scope="module")
def paper() -> dict:
    return build_certificate(BuildConfig(**HEADLINE, measured=False)).doc


@pytest.mark.parametrize("id_", DEGREE_CHECKS)
def test_an_edited_degree_is_rejected(paper, id_):
    doc = copy.deepcopy(paper)
    c = check_of(doc, id_)
    c["bound"] = "200"  # the bound field must be the degree of the stored polynomial (245)
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 1
    assert rep.first_failure.startswith(f"{id_}:") and "bound = 200, but it re-derives to 245" in rep.first_failure


@pytest.mark.parametrize("id_", DEGREE_CHECKS)
def test_an_edited_bound_enclosure_is_rejected(paper, id_):
    # the paper's closed form moved up to 500: the verifier's own Arb ball is not inside
    doc = copy.deepcopy(paper)
    c = check_of(doc, id_)
    c["enclosure"] = {"lo": "500", "hi": "501"}
    c["value"] = "500"
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 1
    assert rep.first_failure.startswith(f"{id_}:") and "does not contain" in rep.first_failure


def test_an_enclosure_too_low_to_decide_contradicts_holds(paper):
    # a valid but wide enclosure [0, 1000] ∋ 406.87 cannot show lo >= 245: 'holds' is refused
    doc = copy.deepcopy(paper)
    c = check_of(doc, "claim-6.3/degree")
    c["enclosure"] = {"lo": "0", "hi": "1000"}
    c["value"] = "0"
    rep = verify(doc)
    assert not rep.ok and rep.first_failure.startswith("claim-6.3/degree:")
    assert "the verdict says 'holds'" in rep.first_failure


@pytest.mark.parametrize("field,value,says", [
    ("verdict", "fails", "the verdict says 'fails', but the claim holds"),
    ("relation", "<=", "relation '<='"),
    ("label", "exact", "label 'exact'"),
])
def test_edited_fields_are_rejected(paper, field, value, says):
    doc = copy.deepcopy(paper)
    c = check_of(doc, "lemma-6.4/degree")
    c[field] = value
    if field == "label":
        del c["enclosure"]
    rep = verify(doc)
    assert not rep.ok and rep.first_failure.startswith("lemma-6.4/degree:"), rep.first_failure
    assert says in rep.first_failure


def test_edited_inputs_and_claim_are_rejected(paper):
    doc = copy.deepcopy(paper)
    check_of(doc, "claim-6.3/degree")["details"]["inputs"]["n"] = "100"
    rep = verify(doc)
    assert not rep.ok and "details.inputs.n = 100, but it re-derives to 10" in rep.first_failure
    doc = copy.deepcopy(paper)
    check_of(doc, "claim-6.3/degree")["claim"] = "(24/γ)·ln(48n/ε) ≥ D, and the paper is optimal"
    rep = verify(doc)
    assert not rep.ok and rep.first_failure.startswith("checks:") and "claim-6.3/degree" in rep.first_failure


def test_out_of_chain_order_is_rejected(paper):
    doc = copy.deepcopy(paper)
    c = check_of(doc, "claim-6.3/degree")
    doc["checks"].remove(c)
    doc["checks"].insert(0, c)
    rep = verify(doc)
    assert not rep.ok and "chain order" in rep.first_failure


def test_lemma_6_4_degree_is_refused_on_route_lp():
    lp = build_certificate(BuildConfig(**HEADLINE, poly="lp", measured=False)).doc
    paper = build_certificate(BuildConfig(**HEADLINE, measured=False)).doc
    doc = copy.deepcopy(lp)
    at = next(i for i, x in enumerate(doc["checks"]) if x["id"] == "claim-6.3/in")
    doc["checks"].insert(at, copy.deepcopy(check_of(paper, "lemma-6.4/degree")))
    rep = verify(doc)
    assert not rep.ok and rep.first_failure.startswith("checks:") and "lemma-6.4/degree" in rep.first_failure


# --------------------------------------------------------------- a bound genuinely exceeded


def test_a_record_above_the_bound_fails():
    enc = (Fraction(406865817451, 10**9), Fraction(406865817452, 10**9))
    r = records.claim_6_3_degree(407, enc, Fraction(1, 2), Fraction(1, 10), 10, 0.0)
    assert (r["verdict"], r["value"], r["bound"]) == ("fails", "406865817451/1000000000", "407")
    assert records.claim_6_3_degree(406, enc, Fraction(1, 2), Fraction(1, 10), 10, 0.0)["verdict"] == "holds"


def test_a_needlessly_high_degree_p1_fails_both_and_the_verifier_says_so(monkeypatch):
    # toy case: the bounds are 12 ln 80 = 52.58 (Lemma 6.4) and 12 ln 160 = 60.90 (Claim 6.3);
    # the paper's construction aimed at ε1/100 is a valid Lemma 6.4 polynomial (its error is far
    # below ε1) of degree 67, above both, so every other check still holds
    monkeypatch.setattr(chain_mod, "sign_polynomial", lambda eta, eps1: sign_polynomial(eta, eps1 / 100))
    doc = build_certificate(BuildConfig(**TOY, measured=False)).doc
    verdicts = {c["id"]: c["verdict"] for c in doc["checks"]}
    assert doc["objects"]["p1"]["degree"] == 67
    assert verdicts["lemma-6.4/degree"] == verdicts["claim-6.3/degree"] == "fails"
    assert all(v in ("holds", "observed") for k, v in verdicts.items() if k not in DEGREE_CHECKS)
    for id_, ref in (("lemma-6.4/degree", hand_lemma64(Fraction(1, 4), Fraction(1, 10))),
                     ("claim-6.3/degree", hand_claim63(**TOY))):
        lo = Fraction(check_of(doc, id_)["value"])
        with mpmath.workdps(60):
            assert mpmath.mpf(lo.numerator) / lo.denominator < ref < 67
    rep = V.verify_document(doc)
    assert not rep.ok and rep.exit_code == 1
    assert rep.first_failure.startswith("lemma-6.4/degree:") and "does not hold" in rep.first_failure
    assert "does not reach the degree 67 of p1" in rep.first_failure
    # and the verifier's 'holds' for it is refused too
    forged = copy.deepcopy(doc)
    check_of(forged, "lemma-6.4/degree")["verdict"] = "holds"
    rep = verify(forged)
    assert not rep.ok and "the verdict says 'holds'" in rep.first_failure
