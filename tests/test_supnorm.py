"""The sound sup-norms over X of Lemma 6.5 (sup|g_{W*} − f*|) and Theorem 5.1 (sup|f_{W*} − g_{W*}|),
and Lemma 6.5's exact radius (math-spec §13; docs/certificate.md, "The sup-norm covers").

* the builder's bound is at least the value at many points of X, computed in 256-bit Arb
  from the exact binary64 network (d = 3: a dense walk round the circle; d = 4, 5: random
  points of the sphere with rational coordinates), on random small nets;
* the verifier re-derives every box no larger than the builder stored it;
* on a real certificate (the two-point instance at m = 2^10 on route lp, where every link
  holds), planted violations are rejected naming the check: an edited box bound, a box
  removed (part of X uncovered), a sampled lower end above the upper one, a neuron of the
  witness moved past the radius.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from fractions import Fraction

import numpy as np
import pytest
from flint import arb, ctx, fmpq, fmpq_poly

import advcert.verify as V
from advcert import certificate
from advcert.config import BuildConfig
from advcert.data.instance import Instance
from advcert.errors import InputError
from advcert.measured.coupling import SMALL_INSTANCE
from advcert.measured.network import initialise, with_weights
from advcert.measured.supnorm import sup_cover
from advcert.pipeline import build_certificate
from advcert.verify.context import _Ctx


def _q(v: float) -> fmpq:
    p, r = float(v).as_integer_ratio()
    return fmpq(p, r)


def random_net(d: int, m: int, seed: int, scale: float = 3.0):
    """A net of Section 3 with W* = W0 + c e_d (Lemma 6.5's shape), c of Lemma 6.5's size."""
    rng = np.random.default_rng(seed)
    net0 = initialise(m, d, seed)
    W = net0.W0.copy()
    W[:, -1] += rng.standard_normal(m) * scale / m ** (2 / 3)
    return with_weights(net0, W)


def rational_sphere(rng, count: int, k: int) -> list[list[Fraction]]:
    """Points of S^{k-1} with rational coordinates: inverse stereographic images of rational points."""
    out = []
    for _ in range(count):
        t = [Fraction(int(v), 1 << 20) for v in rng.integers(-(1 << 21), 1 << 21, size=k - 1)]
        s = sum(x * x for x in t)
        out.append([2 * x / (1 + s) for x in t] + [(s - 1) / (1 + s)])
    return out


def reference_values(net, X, y, qc, vs) -> tuple[float, float]:
    """max over the points x = ((√3/2) v, 1/2) of |g − f*| and |f − g|, in 256-bit Arb from the
    exact binary64 arrays (lower ends of the balls; a point where a pre-activation's ball holds 0 is skipped)."""
    old = ctx.prec
    ctx.prec = 256
    try:
        s3 = arb(3).sqrt() / 2
        A = [arb(_q(v)) for v in net.a]
        W0 = [[arb(_q(v)) for v in row] for row in net.W0]
        W = [[arb(_q(v)) for v in row] for row in net.W]
        b = [arb(_q(v)) for v in net.b]
        q = [arb(fmpq(c.numerator, c.denominator)) for c in qc]
        best_gf = best_fg = 0.0
        for v in vs:
            x = [s3 * arb(fmpq(t.numerator, t.denominator)) for t in v] + [arb(fmpq(1, 2))]
            g = f = arb(0)
            ok = True
            for r in range(len(A)):
                u = sum((W0[r][t] * x[t] for t in range(len(x))), arb(0)) + b[r]
                w = sum((W[r][t] * x[t] for t in range(len(x))), arb(0)) + b[r]
                if u.contains(0) or w.contains(0):
                    ok = False
                    break
                if u > 0:
                    g += A[r] * (w - u)
                if w > 0:
                    f += A[r] * w
            if not ok:
                continue
            fs = arb(0)
            for xi, yi in zip(X, y):
                z = sum((arb(_q(c)) * x[t] for t, c in enumerate(xi)), arb(0))
                fs += arb(_q(yi)) * sum((c * z ** j for j, c in enumerate(q)), arb(0))
            best_gf = max(best_gf, float(abs(g - fs).lower()))
            best_fg = max(best_fg, float(abs(f - g).lower()))
        return best_gf, best_fg
    finally:
        ctx.prec = old


def verifier_bounds(net, X, y, qc, kind, cv) -> list:
    c = _Ctx({})
    c.network = V.read_witness(certificate.network_witness(net.a, net.W0, net.b, net.W), net.m, net.d)
    c.inst = {"points": [[_q(v) for v in x] for x in X], "labels": [_q(v) for v in y], "d": net.d}
    c.q = fmpq_poly([fmpq(t.numerator, t.denominator) for t in qc])
    boxes = [V.Box(f, L, idx, fmpq(b.numerator, b.denominator)) for f, L, idx, b in cv.boxes]
    assert V.tiling_gap(boxes, net.d) is None
    return list(zip(V.cover_bounds(c, kind, boxes), boxes))


QC = (Fraction(1, 3), Fraction(1, 2), Fraction(-1, 5), Fraction(1, 7))


@pytest.mark.parametrize("d,m,seeds,points", [(3, 48, (0, 1, 2, 3), 1500), (4, 32, (4, 5), 500), (5, 24, (6, 7), 400)])
def test_the_sound_bound_is_above_the_exact_values_and_the_verifier_agrees(d, m, seeds, points):
    rng = np.random.default_rng(100 + d)
    for seed in seeds:
        net = random_net(d, m, seed)
        X = np.array([[0.6, -0.3, 0.5][:0] or list(rng.standard_normal(d - 1)) + [0.0] for _ in range(2)])
        X[:, :-1] *= (np.sqrt(3) / 2) / np.linalg.norm(X[:, :-1], axis=1, keepdims=True)
        X[:, -1] = 0.5
        y = np.array([1.0, -0.5])
        if d == 3:
            vs = []
            for j in range(points):  # a dense walk round the circle, at rational points of it
                t = Fraction(np.tan(np.pi * (j + 0.5) / points - np.pi / 2)).limit_denominator(1 << 24)
                vs.append([(1 - t * t) / (1 + t * t), 2 * t / (1 + t * t)])
        else:
            vs = rational_sphere(rng, points, d - 1)
        ref_gf, ref_fg = reference_values(net, X, y, QC, vs)
        for kind, ref in (("g-fstar", ref_gf), ("f-g", ref_fg)):
            cv = sup_cover(kind, net, X, y, QC, ratio=1.1, max_boxes=3000)
            assert float(cv.upper) >= ref, (kind, d, seed, float(cv.upper), ref)
            assert ref > 0
            for got, box in verifier_bounds(net, X, y, QC, kind, cv):
                assert got <= box.bound, (kind, box)


def test_the_bound_is_not_trivially_loose():
    # the planted gap: a net whose |f - g| is exactly known to vanish (W* = W0) bounds it by ~0
    net0 = initialise(64, 3, 9)
    X, y = np.array([[np.sqrt(3) / 2, 0, 0.5]]), np.array([1.0])
    cv = sup_cover("f-g", net0, X, y, QC, ratio=1.1, max_boxes=400)
    # f_{W0} - g_{W0} = f_{W0}, whose sup is at least its value at any point
    x = np.array([0.0, np.sqrt(3) / 2, 0.5])
    val = abs(float(np.sum(net0.a * np.maximum(net0.W0 @ x + net0.b, 0))))
    assert float(cv.upper) >= val
    assert float(cv.upper) <= 1.5 * max(cv.lower, val)


def test_d_above_5_is_refused_with_a_message():
    net = random_net(6, 8, 0)
    with pytest.raises(InputError, match="d <= 5"):
        sup_cover("f-g", net, np.zeros((1, 6)), np.ones(1), QC)


def test_a_missing_box_and_an_overlap_are_tiling_gaps():
    boxes = [V.Box(f, 1, (i,), fmpq(0)) for f in range(4) for i in (0, 1)]
    assert V.tiling_gap(boxes, 3) is None
    assert "not covered" in V.tiling_gap(boxes[:-1], 3)
    assert "inside another" in V.tiling_gap(boxes + [V.Box(0, 2, (1,), fmpq(0))], 3)


# ----------------------------------------------------------------- the all-links certificate


def reseal(doc: dict) -> dict:
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    doc["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return doc


@pytest.fixture(scope="module")
def allinks():
    S = SMALL_INSTANCE
    inst = Instance(points=np.array(S["points"], dtype=float), labels=np.array(S["labels"], dtype=float),
                    rho=S["rho"], gamma=S["gamma"], eps=S["eps"], seed=S["seed"],
                    source={"kind": "synthetic", "generator": "SMALL_INSTANCE"})
    cfg = BuildConfig(gamma=S["gamma"], eps=S["eps"], n=S["n"], d=S["d"], rho=S["rho"], seed=0, m=1024, poly="lp")
    built = build_certificate(cfg, instance=inst, quiet=True, witness_name="w.npz")
    return built.doc, built.witness


def chk(doc, id_):
    return next(c for c in doc["checks"] if c["id"] == id_)


def test_every_link_holds_and_is_re_derived(allinks):
    doc, wit = allinks
    rep = V.verify_document(doc, witness=wit)
    assert rep.ok, rep.first_failure
    for id_, label in (("lemma-6.5/radius", "exact"), ("lemma-6.5", "sound-bound"), ("theorem-5.1/chain", "sound-bound"),
                       ("theorem-5.3", "sound-bound"), ("lemma-6.2", "sound-bound")):
        c = chk(doc, id_)
        assert (c["label"], c["verdict"]) == (label, "holds"), id_
    for id_ in ("lemma-6.5", "theorem-5.1/chain"):
        det = chk(doc, id_)["details"]
        assert Fraction(det["lower"]) <= Fraction(det["upper"]) <= Fraction(99, 300)


def _fails(doc, wit, id_, *words):
    rep = V.verify_document(reseal(doc), witness=wit)
    assert not rep.ok
    assert rep.first_failure.startswith(id_ + ":"), rep.first_failure
    for w in words:
        assert w in rep.first_failure, rep.first_failure


@pytest.mark.parametrize("id_", ["lemma-6.5", "theorem-5.1/chain"])
def test_an_edited_box_bound_is_rejected(allinks, id_):
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    boxes = chk(doc, id_)["details"]["cover"]["boxes"]
    j = min(range(len(boxes)), key=lambda i: Fraction(boxes[i][3]))  # not the max: the value stays
    b = Fraction(boxes[j][3]) * Fraction(9, 10)
    boxes[j][3] = f"{b.numerator}/{b.denominator}"
    _fails(doc, wit, id_, "not proved")


def test_a_cover_missing_part_of_X_is_rejected(allinks):
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    chk(doc, "lemma-6.5")["details"]["cover"]["boxes"].pop(0)
    _fails(doc, wit, "lemma-6.5", "does not tile X")


def test_a_lower_end_above_the_upper_is_rejected(allinks):
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    chk(doc, "theorem-5.1/chain")["details"]["lower"] = 0.3299
    _fails(doc, wit, "theorem-5.1/chain", "lower")


def test_a_rigorous_label_with_the_estimate_claim_is_rejected(allinks):
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    chk(doc, "lemma-6.5")["claim"] = V.CLAIMS["lemma-6.5"]
    rep = V.verify_document(reseal(doc), witness=wit)
    assert not rep.ok and "contract's statement of lemma-6.5" in rep.first_failure


def _moved_witness(wit: bytes, doc: dict, r: int) -> tuple[bytes, Fraction]:
    arrs = {}
    with zipfile.ZipFile(io.BytesIO(wit)) as zf:
        for name in ("a", "W0", "b", "W"):
            arrs[name] = np.load(io.BytesIO(zf.read(name + ".npy")))
    R = Fraction(chk(doc, "lemma-6.5/radius")["details"]["R"])
    m = arrs["a"].size
    arrs["W"][r, -1] = arrs["W0"][r, -1] + 1.01 * float(R) / m ** (2 / 3)  # past the radius R/m^{2/3}
    raw = certificate.network_witness(arrs["a"], arrs["W0"], arrs["b"], arrs["W"])
    e = max((Fraction(float(w)) - Fraction(float(w0))) ** 2 for w, w0 in zip(arrs["W"][:, -1], arrs["W0"][:, -1]))
    return raw, Fraction(m) ** 4 * e ** 3


def test_a_neuron_moved_past_the_radius_is_rejected(allinks):
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    raw, value = _moved_witness(wit, doc, 7)
    doc["objects"]["network"]["sha256"] = hashlib.sha256(raw).hexdigest()
    _fails(doc, raw, "lemma-6.5/radius", "re-derives")
    # and with the value brought in line, the verdict 'holds' is refuted
    c = chk(doc, "lemma-6.5/radius")
    c["value"] = f"{value.numerator}/{value.denominator}"
    _fails(doc, raw, "lemma-6.5/radius", "exceeds R")


def test_a_witness_moved_off_e_d_is_rejected(allinks):
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    arrs = {}
    with zipfile.ZipFile(io.BytesIO(wit)) as zf:
        for name in ("a", "W0", "b", "W"):
            arrs[name] = np.load(io.BytesIO(zf.read(name + ".npy")))
    arrs["W"][3, 0] += 1e-9
    raw = certificate.network_witness(arrs["a"], arrs["W0"], arrs["b"], arrs["W"])
    doc["objects"]["network"]["sha256"] = hashlib.sha256(raw).hexdigest()
    rep = V.verify_document(reseal(doc), witness=raw)
    assert not rep.ok and "off e_d" in rep.first_failure and rep.first_failure.startswith("lemma-6.5"), rep.first_failure


def test_the_rigorous_claims_are_in_the_contract():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "certificate.md").read_text(encoding="utf-8")
    for id_, claim in V.RIGOROUS_CLAIMS.items():
        assert claim.replace("|", "\\|") in text, id_


def test_a_radius_R_below_2nC_h_of_the_stored_h_is_rejected(allinks):
    # R is re-derived from lemma-6.6's h (exact C_h), so a smaller R that the witness still
    # meets is caught: the radius claim is about the paper's R, not any R the builder likes
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    assert chk(doc, "lemma-6.6")["label"] == "sound-bound"
    c = chk(doc, "lemma-6.5/radius")
    R = Fraction(c["details"]["R"])
    radius6 = Fraction(c["value"])  # m^4 (max ||W*_r - W0_r||^2)^3
    # R is 2 n C_h rounded up on a 2^-24 grid, so 2^-20 below it is under 2 n C_h
    lowered = R * (1 - Fraction(1, 2 ** 20))
    assert lowered ** 6 >= radius6  # still above the witness's radius
    c["details"]["R"] = f"{lowered.numerator}/{lowered.denominator}"
    c["bound"] = str(lowered ** 6) if (lowered ** 6).denominator != 1 else str((lowered ** 6).numerator)
    rep = V.verify_document(reseal(doc), witness=wit)
    assert not rep.ok and "lemma-6.5/radius" in rep.first_failure and "2 n C_h" in rep.first_failure, rep.first_failure


def test_a_missing_witness_names_the_command_that_rebuilds_it(allinks, tmp_path):
    doc = copy.deepcopy(allinks[0])
    doc["producer"]["argv"] = ["build", "--data", "pair.csv", "--m", "1024", "--poly", "lp"]
    rep = V.verify_document(reseal(doc), base=tmp_path)
    assert not rep.readable
    assert "advcert build --data pair.csv --m 1024 --poly lp" in rep.first_failure, rep.first_failure


def test_the_shipped_all_links_certificate_verifies_with_every_link_rigorous():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "certificates" / "all-links.json"
    doc = V.load(path)
    rep = V.verify_document(doc, base=path.parent)
    assert rep.ok, rep.first_failure
    by = {c["id"]: c for c in doc["checks"]}
    for id_ in ("definition-3.4", "claim-6.3/in", "claim-6.3/out", "lemma-6.2", "lemma-6.5/radius", "lemma-6.5",
                "theorem-5.1/chain", "theorem-5.3"):
        assert by[id_]["label"] != "estimate" and by[id_]["verdict"] == "holds", id_
    # not vacuous: the zero network's robust loss is mean |y_i| = 1 > eps
    assert sum(abs(Fraction(y)) for y in doc["instance"]["labels"]) / len(doc["instance"]["labels"]) > Fraction(
        doc["instance"]["eps"])


def test_a_cover_beyond_the_work_budget_is_refused_not_run(allinks, monkeypatch):
    import advcert.verify.supnorm as VS

    doc, wit = allinks
    monkeypatch.setattr(VS, "MAX_CAP_WORK", 1000)
    rep = V.verify_document(doc, witness=wit)
    assert not rep.readable and rep.first_failure.startswith("lemma-6.5:") and "budget" in rep.first_failure
    monkeypatch.setattr(VS, "MAX_CAP_WORK", 1 << 27)
    monkeypatch.setattr(VS, "MAX_CAPS", 3)
    rep = V.verify_document(doc, witness=wit)
    assert not rep.readable and "boxes, beyond" in rep.first_failure


def test_an_upper_end_that_is_not_the_value_is_rejected(allinks):
    doc, wit = copy.deepcopy(allinks[0]), allinks[1]
    chk(doc, "lemma-6.5")["details"]["upper"] = "1/100"
    _fails(doc, wit, "lemma-6.5", "details.upper")
