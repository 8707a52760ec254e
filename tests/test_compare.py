"""``advcert diff``: a certificate kept as a regression test of the theorems, the way a user keeps one."""

from __future__ import annotations

import copy
import json

from advcert import certificate
from advcert.cli import main
from advcert.compare import compare


def _write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(certificate.dumps(certificate.seal(doc)))
    return str(p)


def test_a_rebuild_matches_its_reference(tmp_path, capsys):
    args = ["build", "--gamma", "2", "--eps", "0.6", "--n", "2", "--d", "3", "--certified-only", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "ref.json")]) == 0
    assert main(args + ["--out", str(tmp_path / "new.json")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "ref.json"), str(tmp_path / "new.json")]) == 0
    assert "diff: same" in capsys.readouterr().out


def test_a_changed_rigorous_number_fails_and_is_named(toy_doc, tmp_path, capsys):
    bad = copy.deepcopy(toy_doc)
    c = next(c for c in bad["checks"] if c["id"] == "lemma-6.4")
    c["enclosure"]["hi"] = c["enclosure"]["hi"] + "1"
    a, b = _write(tmp_path, "a.json", toy_doc), _write(tmp_path, "b.json", bad)
    assert main(["diff", a, b]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS lemma-6.4" in out


def test_estimate_drift_is_judged_by_the_tolerance(toy_doc):
    drift = copy.deepcopy(toy_doc)
    c = next(c for c in drift["checks"] if c["label"] == "estimate")
    c["value"] = c["value"] * (1 + 1e-9)
    assert compare(toy_doc, drift, rtol=1e-6).ok
    assert not compare(toy_doc, drift, rtol=1e-12).ok


def test_a_changed_verdict_fails_even_for_an_estimate(toy_doc):
    flip = copy.deepcopy(toy_doc)
    c = next(c for c in flip["checks"] if c["label"] == "estimate")
    c["verdict"] = "violated" if c["verdict"] != "violated" else "observed"
    cmp = compare(toy_doc, flip)
    assert not cmp.ok and any(d.where == c["id"] and d.fails for d in cmp.differences)


def test_volatile_fields_are_ignored(toy_doc):
    later = copy.deepcopy(toy_doc)
    later["created"] = "2099-01-01T00:00:00Z"
    for c in later["checks"]:
        c["seconds"] = 1234.5
    later["producer"] = dict(later["producer"], cpu="another CPU")
    assert compare(toy_doc, later).ok


def test_unreadable_input_is_one_line_exit_2(tmp_path, capsys):
    junk = tmp_path / "junk.json"
    junk.write_text(json.dumps({"not": "a certificate"}))
    assert main(["diff", str(junk), str(junk)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def _volatile_free(doc: dict) -> bytes:
    """The document without the fields docs/certificate.md calls volatile."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if not k.endswith("seconds")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    doc = {k: v for k, v in doc.items() if k not in ("created", "sha256")}
    doc["producer"] = {k: v for k, v in doc["producer"].items() if k not in ("git", "argv")}
    return certificate.canonical_bytes(strip(doc))


def test_two_identical_train_runs_give_the_same_certificate(tmp_path):
    """The branch and bound stops on a node count, not a clock: the same run gives the same bytes."""
    outs = []
    for k in ("one", "two"):
        (tmp_path / k).mkdir()
        out = tmp_path / k / "t.json"
        assert main(["train", "--gamma", "1", "--eps", "0.2", "--m", "256", "--n", "4", "--d", "5", "--max-steps", "20",
                     "--bound-seconds", "1", "--checkpoints", "2", "--quiet", "--out", str(out)]) == 0
        outs.append(out)
    a, b = (json.loads(p.read_text()) for p in outs)
    assert _volatile_free(a) == _volatile_free(b)
    assert (outs[0].parent / "t.npz").read_bytes() == (outs[1].parent / "t.npz").read_bytes()
    assert compare(a, b, rtol=0).ok


def test_build_and_attack_use_the_same_verdict_word_for_the_same_network(tmp_path, capsys):
    """Far below the theorem's width a missed robust loss is 'infeasible' in every command."""
    out = tmp_path / "h.json"
    assert main(["build", "--gamma", "0.5", "--eps", "0.1", "--m", "256", "--sandwich-budget", "0.5", "--quiet",
                 "--out", str(out)]) == 0
    built = {c["id"]: c for c in json.loads(out.read_text())["checks"]}["theorem-5.3"]
    capsys.readouterr()
    assert main(["attack", str(out), "--restarts", "1", "--steps", "10", "--time-budget", "0.5", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert built["verdict"] == again["verdict"] == "infeasible"
