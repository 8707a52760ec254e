"""advcert.gap: Theorem 5.3's width decomposed, from the shipped headline certificate and the toy case.

The headline's rows are pinned against the certificate's own constants (the built row is
today's 10^1390.7) and against hand computations of the rows that are simple formulas; the
rows that only relax the construction must fall; the least-complexity q is far below the
paper's construction (the issue estimated 10^148 outside the project: the project's code
measures 10^145.7).
"""

from __future__ import annotations

import copy
import json
import math
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

import advcert.verify as V
from advcert import certificate, gap, theory
from advcert.cli import main
from advcert.measured.h import abs_hermite, abs_hermite_all

HERE = Path(__file__).parent.parent / "certificates"


@pytest.fixture(scope="module")
def headline():
    return certificate.read(HERE / "headline.json")


@pytest.fixture(scope="module")
def rows(headline):
    return {r.name: r for r in gap.gap_table(headline)}


def _scan(instance: dict, m_work: int, law: str = "theorem-5.3", label: str = "sound-bound") -> dict:
    """The part of an ``advcert scan`` scan.json that the gap reads (results.instances.*.links.*.laws)."""
    keep = {k: instance[k] for k in ("n", "d", "gamma", "eps", "rho")}
    return {"format": "advcert-scan", "results": {"instances": {"headline": {
        "instance": keep,
        "links": {"w-star": {"laws": {law: {"m_work": m_work, "m_fail": m_work // 2, "label": label},
                                      "lemma-6.5": {"m_work": None}}}}}}}}


def test_rows_and_order(rows):
    assert list(rows) == ["paper", "degree-built", "built", "minimax", "lp", "measured-radius"]
    for r in rows.values():
        assert r.label == "estimate" and r.statement and r.note
        assert math.isfinite(r.log10_width)


def test_built_row_is_the_certificates_width(rows, headline):
    b = rows["built"]
    assert b.log10_width == pytest.approx(headline["constants"]["log10_m_required"]["value"], abs=1e-9)
    assert round(b.log10_width, 1) == 1390.7
    assert b.details["degree"] == 245 and round(b.details["log2_max_coef"], 1) == 110.3


def test_removed_is_the_difference_and_relaxations_fall(rows):
    order = ["paper", "degree-built", "built", "minimax", "lp"]
    for prev, cur in zip(order, order[1:]):
        assert rows[cur].against == prev
        assert rows[cur].removed == pytest.approx(rows[prev].log10_width - rows[cur].log10_width, abs=1e-9)
        assert rows[cur].removed > 0, f"{cur} should remove orders of magnitude against {prev}"
    assert rows["paper"].removed is None and rows["paper"].against is None
    assert rows["measured-radius"].against == "built" and rows["measured-radius"].removed > 0


def test_lp_row_is_far_below_the_paper(rows):
    lp = rows["lp"]
    assert lp.log10_width <= 200
    assert lp.details["degree"] <= 16 and lp.details["log2_C_q"] <= 16  # the done-when for --poly lp
    assert round(lp.log10_width, 1) == 145.7
    mm = rows["minimax"]
    assert mm.details["degree"] <= 1.2 * 77  # near the Eremenko–Yuditskii optimum at (1/16, 1/300)


def test_paper_row_by_hand(rows):
    # D = ⌈48 ln 4800⌉ = 407, every |q_j| = 2^2441·800/101 + 1/2, C(q) = 2 Σ_j (j+1)^{7/4} |q_j|
    p = rows["paper"].details
    assert p["degree"] == 407 == math.ceil(48 * math.log(4800))
    bound = Fraction(2) ** 2441 * Fraction(800, 101) + Fraction(1, 2)
    with mpmath.workdps(40):
        Cq = 2 * mpmath.mpf(bound.numerator) / bound.denominator * mpmath.fsum(
            mpmath.power(j + 1, mpmath.mpf(7) / 4) for j in range(408))
        assert p["log2_C_q"] == pytest.approx(float(mpmath.log(Cq, 2)), abs=1e-9)
        assert p["log2_eps2"] == pytest.approx(-float(mpmath.log(2 * Cq, 2)), abs=0.05)
    # the paper row's width is Theorem 5.1's (3 R²/ε)^6 at R = 20·C_h
    assert rows["paper"].log10_width == pytest.approx(6 * (math.log10(30) + 2 * p["log10_R"]), abs=1e-6)
    assert p["log10_R"] == pytest.approx(math.log10(20) + p["log2_C_h"] * math.log10(2), abs=1e-9)


def test_measured_radius_row_by_hand(rows, headline):
    radius = next(c for c in headline["checks"] if c["id"] == "lemma-6.5/radius")["details"]["R_measured"]
    hoeff = headline["constants"]["log10_m_hoeffding"]["value"]
    hand = max(6 * (math.log10(3 / 0.1) + 2 * math.log10(radius)), hoeff)
    assert rows["measured-radius"].log10_width == pytest.approx(hand, abs=1e-9)


def test_scan_row(headline, rows):
    scan = _scan(headline["instance"], 4096)
    inst = gap.instance_of(headline)
    sw = gap.scan_width(scan, inst)
    assert sw["log10_m"] == pytest.approx(math.log10(4096)) and sw["label"] == "sound-bound"
    other = copy.deepcopy(scan)
    other["results"]["instances"]["headline"]["instance"]["n"] = 11
    assert gap.scan_width(other, inst) is None
    # the scan row joins the table against the measured radius (no recomputation needed for this check)
    row = gap._row("scan", "s", sw["log10_m"], rows["measured-radius"], sw["label"], sw["note"])
    assert row.removed == pytest.approx(rows["measured-radius"].log10_width - math.log10(4096))


def test_toy_table_into_the_certificate_verifies(toy_doc, tmp_path, capsys):
    rows = gap.gap_table(toy_doc)
    names = [r.name for r in rows]
    assert names == ["paper", "degree-built", "built", "minimax", "lp"]  # certified-only: no measured radius
    by = {r.name: r for r in rows}
    assert by["built"].details["degree"] == 23 and by["paper"].details["degree"] == math.ceil(12 * math.log(160))
    assert by["paper"].log10_width > by["degree-built"].log10_width > by["built"].log10_width > by["lp"].log10_width
    doc = gap.add_to_document(toy_doc, rows)
    assert {f"gap/{n}" for n in names} <= set(doc["constants"])
    assert all(doc["constants"][f"gap/{n}"]["label"] == "estimate" for n in names)
    assert V.verify_document(doc).ok
    # the CLI prints the same table; a missing scan file is the user's error (exit 2)
    path = tmp_path / "toy.json"
    path.write_text(certificate.dumps(toy_doc))
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps(_scan(toy_doc["instance"], 1024, law="theorem-4.1", label="sound-bound")))
    capsys.readouterr()
    assert main(["gap", str(path), "--scan", str(scan)]) == 0
    out = capsys.readouterr().out
    assert "lp" in out and "scan" in out and f"{by['built'].log10_width:.1f}" in out
    assert main(["gap", str(path), "--scan", str(tmp_path / "none.json")]) == 2


def test_gap_constants_format():
    r = gap.GapRow("lp", "Claim 6.3: …", 145.71234, 456.0, "minimax", "estimate", "D = 16")
    c = gap.gap_constants([r])["gap/lp"]
    assert c["value"] == 145.712 and c["label"] == "estimate" and "456.0 orders" in c["note"]
    assert theory.formula("M0").statement.startswith("Theorem 5.3")


def test_one_pass_abs_hermite_against_the_explicit_coefficients():
    # He_k(x) = Σ_m (-1)^m k!/(m! (k-2m)! 2^m) x^{k-2m}, so Ĥe_k(B) drops the signs
    from math import factorial

    B = Fraction(1213, 64)
    want = [sum(Fraction(factorial(k), factorial(m) * factorial(k - 2 * m) * 2 ** m) * B ** (k - 2 * m)
                for m in range(k // 2 + 1)) for k in range(31)]
    assert abs_hermite_all(30, B) == want
    assert abs_hermite_all(0, B) == [1]
    assert abs_hermite(17, B) == want[17]
