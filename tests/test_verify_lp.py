"""The verifier on route "lp" (docs/certificate.md, "Routes"): Claim 6.3's step polynomial q
built directly by a linear program, with no sign polynomial p1.

The certificate is the builder's (``advcert build --poly lp``, about 3 s, once per module):
the verifier must accept it, and reject each planted violation naming the part or check.
Every edit is re-sealed with the contract's canonical hash, so the hash never catches it.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from fractions import Fraction

import pytest

import advcert.verify as V
from advcert.chain import build_certificate
from advcert.config import BuildConfig

ROUTE_LP_OMITS = ("lemma-6.4/odd", "lemma-6.4/coefficients", "lemma-6.4", "lemma-6.4/degree",
                  "claim-6.3/definition", "claim-6.3/coefficients")
#: optional foundation checks the builder writes on route lp (tests/test_degree_checks.py)
LP_OPTIONAL = ("claim-6.3/degree",)


@pytest.fixture(scope="module")
def lp() -> dict:
    return build_certificate(BuildConfig(gamma=Fraction(1, 2), eps=Fraction(1, 10), poly="lp", measured=False)).doc


def reseal(doc: dict) -> dict:
    """The contract's canonical hash (docs/certificate.md, "Canonical form and hash")."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    doc["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return doc


def verify(doc: dict) -> V.Report:
    return V.verify_document(reseal(doc))


def check_of(doc, id_):
    return next(c for c in doc["checks"] if c["id"] == id_)


def rs(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


# ----------------------------------------------------------------------------- accepted


def test_the_lp_certificate_has_the_routes_shape(lp):
    assert lp["parameters"]["route"] == "lp"
    assert not {"alpha", "taylor_k", "cheb_d"} & set(lp["parameters"])
    assert "p1" not in lp["objects"] and "alpha" not in lp["objects"]["q"]
    assert "log2_coef_bound_p1" not in lp["constants"]
    assert [c["id"] for c in lp["checks"] if c["id"] in V.KNOWN_CHECKS and c["id"] not in LP_OPTIONAL] == \
        list(V.REQUIRED_CHECKS_BY_ROUTE["lp"])


def test_the_lp_certificate_verifies(lp):
    rep = V.verify_document(lp)
    assert rep.ok, rep.first_failure
    assert rep.exit_code == 0
    ids = {r.id for r in rep.results}
    assert ids >= set(V.REQUIRED_CHECKS_BY_ROUTE["lp"]) and not ids & set(ROUTE_LP_OMITS)
    assert {r.id: r.status for r in rep.results}["claim-6.3/in"] == "re-derived"
    assert {r.id: r.status for r in rep.results}["lemma-6.2"] == "re-derived"


def test_the_lp_certificate_verifies_from_its_file(lp, tmp_path):
    path = tmp_path / "lp.json"
    path.write_text(json.dumps(lp, indent=1, ensure_ascii=False), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert V.run(path, stream=out, err=err) == 0, err.getvalue()
    assert "route lp" in out.getvalue() and "verify: OK" in out.getvalue()


def test_the_required_checks_depend_on_the_route():
    assert V.REQUIRED_CHECKS_BY_ROUTE[None] == V.REQUIRED_CHECKS
    assert V.P1_CHECKS == ROUTE_LP_OMITS
    assert V.REQUIRED_CHECKS_BY_ROUTE["lp"] == tuple(k for k in V.REQUIRED_CHECKS if k not in ROUTE_LP_OMITS)
    assert set(V.REQUIRED_CHECKS) >= set(ROUTE_LP_OMITS) - {"lemma-6.4/degree"}  # optional, tests/test_degree_checks.py
    assert V.ROUTES == (None, "lp")


# ------------------------------------------------------------------ planted violations


def test_an_edited_q_coefficient_fails_claim_6_3_in(lp):
    doc = copy.deepcopy(lp)
    cs = doc["objects"]["q"]["coefficients"]
    cs[0] = rs(Fraction(cs[0]) + Fraction(1, 50))  # q - 1 moves by 1/50 > eps1 = 1/300 on I_in
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 1
    assert rep.first_failure.startswith("claim-6.3/in:"), rep.first_failure


def test_an_unsealed_q_edit_is_caught_by_the_hash(lp):
    # the same edit without re-sealing: the hash catches it first
    doc = copy.deepcopy(lp)
    doc["objects"]["q"]["coefficients"][0] = rs(Fraction(doc["objects"]["q"]["coefficients"][0]) + Fraction(1, 50))
    rep = V.verify_document(doc)
    assert not rep.ok and rep.first_failure.startswith("sha256:")


@pytest.mark.parametrize("id_", ROUTE_LP_OMITS)
def test_a_p1_check_in_an_lp_certificate_is_rejected(lp, id_):
    doc = copy.deepcopy(lp)
    c = copy.deepcopy(check_of(doc, "claim-6.3/in"))
    c.update(id=id_, claim=V.CLAIMS[id_])
    if id_.endswith("/coefficients"):
        c["details"].update(log2_value=1.0, log2_bound=2.0)  # the schema's shape for these ids
    # schema-valid, at its place in chain order (every p1 check precedes claim-6.3/in), with
    # the contract's claim: only the route forbids it
    doc["checks"].insert(next(i for i, x in enumerate(doc["checks"]) if x["id"] == "claim-6.3/in"), c)
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 1
    assert rep.first_failure.startswith("checks:") and f"check {id_} " in rep.first_failure
    assert "route-lp" in rep.first_failure


@pytest.mark.parametrize("id_", V.REQUIRED_CHECKS_BY_ROUTE["lp"])
def test_a_deleted_lp_check_is_rejected(lp, id_):
    doc = copy.deepcopy(lp)
    doc["checks"] = [c for c in doc["checks"] if c["id"] != id_]
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 1
    assert rep.first_failure.startswith("checks:") and id_ in rep.first_failure and "on route lp" in rep.first_failure


def test_p1_left_in_an_lp_certificate_is_rejected(lp):
    doc = copy.deepcopy(lp)
    doc["objects"]["p1"] = {"degree": 1, "coefficients": ["0", "1"], "chebyshev_y": ["1"]}
    rep = verify(doc)
    assert not rep.ok and not rep.readable and rep.exit_code == 2
    assert "schema violation at objects/p1" in rep.first_failure and "must be absent" in rep.first_failure


@pytest.mark.parametrize("where", ["parameters/alpha", "parameters/taylor_k", "parameters/cheb_d", "objects/q/alpha"])
def test_a_p1_parameter_left_in_an_lp_certificate_is_rejected(lp, where):
    doc = copy.deepcopy(lp)
    *up, key = where.split("/")
    node = doc
    for k in up:
        node = node[k]
    node[key] = 3 if key in ("taylor_k", "cheb_d") else "1/2"
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 2
    assert f"schema violation at {where}: {key} must be absent" in rep.first_failure
    assert 'route is "lp"' in rep.first_failure


def test_removing_the_route_makes_it_a_paper_route_certificate_missing_p1(lp):
    doc = copy.deepcopy(lp)
    del doc["parameters"]["route"]
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 2
    assert "schema violation at objects: 'p1' is a required property" in rep.first_failure
    assert "no parameters.route" in rep.first_failure


@pytest.mark.parametrize("route", ["paper", "minimax", "LP", "", None, 1])
def test_an_unknown_route_is_rejected(lp, route):
    doc = copy.deepcopy(lp)
    doc["parameters"]["route"] = route
    rep = verify(doc)
    assert not rep.ok and rep.exit_code == 2
    assert "schema violation at parameters/route" in rep.first_failure


def test_log2_coef_bound_p1_in_an_lp_certificate_is_rejected(lp):
    for label, value in (("exact", "64"), ("estimate", 64.0)):
        doc = copy.deepcopy(lp)
        doc["constants"]["log2_coef_bound_p1"] = {"value": value, "label": label, "note": "?"}
        rep = verify(doc)
        assert not rep.ok and rep.exit_code == 1
        assert rep.first_failure.startswith("constants:") and "log2_coef_bound_p1" in rep.first_failure


def test_d_used_is_the_degree_of_q(lp):
    doc = copy.deepcopy(lp)
    D = doc["objects"]["q"]["degree"]
    assert doc["constants"]["D_used"]["value"] == str(D)
    doc["constants"]["D_used"]["value"] = str(D + 1)
    rep = verify(doc)
    assert not rep.ok and rep.first_failure.startswith("constants:")
    assert f"re-derives to {D}" in rep.first_failure
