"""End to end: the headline certificate, its independent verification and determinism."""

from __future__ import annotations

import copy
import json
from fractions import Fraction

from advcert import certificate, verify
from advcert import pipeline
from advcert.chain import build_certificate
from advcert.config import BuildConfig


def test_headline_rigorous_checks_hold_and_match_the_worked_example(headline_doc):
    checks = {c["id"]: c for c in headline_doc["checks"]}
    for cid in ("definition-3.4", "definition-3.4/on-X", "lemma-6.4", "lemma-6.4/odd", "lemma-6.4/coefficients",
                "claim-6.3/definition", "claim-6.3/coefficients", "claim-6.3/in", "claim-6.3/out", "lemma-6.2"):
        assert checks[cid]["label"] in ("exact", "enclosure", "sound-bound")
        assert checks[cid]["verdict"] == "holds", cid
    # math-spec §11 (independent scripts): D_used = 245, achieved error 1.57e-3
    assert headline_doc["objects"]["p1"]["degree"] == 245
    enc = checks["lemma-6.4"]["enclosure"]
    assert Fraction(enc["lo"]) <= Fraction(157, 100000) <= Fraction(enc["hi"]) + Fraction(1, 10**5)
    attack = checks["lemma-6.2/attack"]
    assert attack["label"] == "estimate" and attack["verdict"] in ("observed", "violated")
    assert attack["value"] <= float(Fraction(checks["lemma-6.2"]["value"]))


def test_independent_verifier_accepts_and_rejects_edits(headline_doc):
    assert verify.verify_document(headline_doc).ok
    text = certificate.dumps(headline_doc)
    i = text.index('"coefficients"') + 30
    j = next(k for k in range(i, len(text)) if text[k] in "23456789")
    edited = json.loads(text[:j] + str(int(text[j]) - 1) + text[j + 1:])
    rep = verify.verify_document(edited)
    assert not rep.ok and "sha256" in (rep.first_failure or "")


def test_verdict_flip_and_deleted_check_are_rejected_even_when_rehashed(headline_doc):
    flipped = copy.deepcopy(headline_doc)
    flipped["checks"][4]["verdict"] = "fails"
    assert not verify.verify_document(certificate.seal(flipped)).ok
    deleted = copy.deepcopy(headline_doc)
    deleted["checks"] = [c for c in deleted["checks"] if c["id"] != "claim-6.3/out"]
    assert not verify.verify_document(certificate.seal(deleted)).ok


def test_same_arguments_give_the_same_certificate_apart_from_created(toy_doc):
    again = build_certificate(BuildConfig(gamma=Fraction(2), eps=Fraction(3, 5), n=2, d=3, measured=False),
                              argv=["build", "--gamma", "2", "--eps", "0.6"]).doc

    def strip(doc):
        doc = copy.deepcopy(doc)
        doc.pop("created"), doc.pop("sha256")
        for c in doc["checks"]:
            c.pop("seconds")
            c["details"].pop("build_seconds", None)
        return certificate.canonical_bytes(doc)

    assert strip(again) == strip(toy_doc)


def test_measured_plane_is_deterministic_too():
    """Same seed, same width: the same network witness (bytes) and the same estimates."""
    cfg = BuildConfig(gamma=Fraction(2), eps=Fraction(3, 5), n=2, d=3, seed=5, m=512, sandwich_budget=1.0)
    one, two = pipeline.build_certificate(cfg), pipeline.build_certificate(cfg)
    assert one.witness == two.witness and one.witness is not None

    def strip(doc):
        doc = copy.deepcopy(doc)
        doc.pop("created"), doc.pop("sha256")
        for c in doc["checks"]:
            c.pop("seconds")
            for k in [k for k in c["details"] if "seconds" in k]:
                c["details"].pop(k)
        return doc

    a, b = strip(one.doc), strip(two.doc)
    for ca, cb in zip(a["checks"], b["checks"]):
        assert ca == cb, ca["id"]
    assert certificate.canonical_bytes(a) == certificate.canonical_bytes(b)


def test_the_hidden_constants_are_options_and_reach_every_number_that_uses_them(tmp_path, capsys):
    import pytest

    from advcert.cli import main
    from advcert.errors import InputError

    # toy: at c = 2 the constructed h does not fit in [-C(q, eps2), C(q, eps2)]; at c = 6 it does
    # (the fitting c is reported as c_fit, 63/16 in the toy case), and eps2 = min(eps/(9n), 1/(2C(q)))
    # changes with c: the certificate's own numbers, re-derived by the verifier, follow the option
    docs = {}
    for c in ("2", "6"):
        out = tmp_path / f"c{c}.json"
        assert main(["build", "--gamma", "2.9", "--eps", "0.99", "--n", "2", "--d", "3", "--rho", "0.02", "--m", "1024",
                     "--complexity-c", c, "--C51", "3/2", "--quiet", "--out", str(out)]) == 0
        docs[c] = json.loads(out.read_text(encoding="utf-8"))
        assert verify.verify_document(docs[c], base=tmp_path).ok
        assert docs[c]["constants"]["complexity_c"]["value"] == c
        assert docs[c]["producer"]["config"]["complexity_c"] == c and docs[c]["producer"]["config"]["C51"] == "3/2"
    rng = {c: next(k for k in d["checks"] if k["id"] == "lemma-6.6/range") for c, d in docs.items()}
    assert (rng["2"]["label"], rng["2"]["verdict"]) == ("estimate", "violated")
    assert (rng["6"]["label"], rng["6"]["verdict"]) == ("sound-bound", "holds")
    t51 = next(k for k in docs["6"]["checks"] if k["id"] == "theorem-5.1")
    assert t51["details"]["C51"] == 1.5
    for bad in (["--complexity-c", "1"], ["--complexity-c", "65"], ["--C51", "0"], ["--C51", "1e400"]):
        assert main(["build", "--gamma", "2.9", "--eps", "0.99", "--certified-only", "--quiet",
                     "--out", str(tmp_path / "x.json"), *bad]) == 2
        assert "must be" in capsys.readouterr().err
    with pytest.raises(InputError):
        BuildConfig(eps=Fraction(1, 10), gamma=Fraction(1, 2), complexity_c=Fraction(1))
