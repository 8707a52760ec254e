"""The command line as a user meets it: one-line errors, exit codes, no partial files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from advcert.cli import main

BAD_BUILD = [
    (["--gamma", "0", "--eps", "0.1"], "--gamma must be > 0"),
    (["--gamma", "-1", "--eps", "0.1"], "--gamma must be > 0"),
    (["--gamma", "0.5", "--eps", "0"], "--eps must lie strictly between 0 and 1"),
    (["--gamma", "0.5", "--eps", "1"], "--eps must lie strictly between 0 and 1"),
    (["--gamma", "0.5", "--eps", "1.5"], "--eps must lie strictly between 0 and 1"),
    (["--gamma", "abc", "--eps", "0.1"], "--gamma must be a number"),
    (["--gamma", "0.5", "--eps", "nan"], "--eps must be a number"),
    (["--gamma", "0.5", "--eps", "0.1", "--rho", "1"], "too large"),
    (["--gamma", "0.5", "--eps", "0.1", "--rho", "0"], "--rho must be > 0"),
    (["--gamma", "0.5", "--eps", "0.1", "--n", "1"], "--n must be at least 2"),
    (["--gamma", "0.5", "--eps", "0.1", "--d", "1"], "--d must be at least 2"),
    (["--gamma", "0.5", "--eps", "0.1", "--n", "x"], "--n must be a whole number"),
    (["--gamma", "0.5", "--eps", "0.1", "--n", "2.5"], "--n must be a whole number"),
    (["--gamma", "3", "--eps", "0.1", "--n", "10", "--d", "3"], "largest feasible γ"),
    (["--gamma", "0.001", "--eps", "0.1"], "degree about"),
    (["--eps", "0.1"], "--gamma is required"),
    (["--gamma", "0.5"], "--eps"),
    (["--gamma", "0.5", "--eps", "0.1", "--out", "/nonexistent-dir/x.json"], "does not exist"),
]


@pytest.mark.parametrize("args,phrase", BAD_BUILD)
def test_bad_build_input_is_one_line_exit_2_no_file(tmp_path, capsys, args, phrase):
    os.chdir(tmp_path)
    if "--out" not in args:
        args = args + ["--out", str(tmp_path / "c.json")]
    status = main(["build", "--quiet", *args])
    err = capsys.readouterr().err
    assert status == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert phrase in lines[0]
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_unknown_command_and_missing_file(tmp_path, capsys):
    assert main(["frobnicate"]) == 2
    assert main(["show", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_show_rejects_foreign_json(tmp_path, capsys):
    p = tmp_path / "foreign.json"
    p.write_text(json.dumps({"a": 1}))
    assert main(["show", str(p)]) == 2
    assert "not an advcert certificate" in capsys.readouterr().err


def test_build_verify_show_plot_round_trip(tmp_path, capsys):
    out = tmp_path / "toy.json"
    assert main(["build", "--gamma", "2", "--eps", "0.6", "--n", "2", "--d", "3", "--quiet", "--out", str(out)]) == 0
    assert "rigorous: all hold" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert all(c["verdict"] == "holds" for c in doc["checks"] if c["label"] != "estimate")
    assert main(["verify", str(out)]) == 0
    assert main(["show", str(out)]) == 0
    assert "lemma-6.4" in capsys.readouterr().out
    assert main(["plot", str(out), "--out", str(tmp_path / "toy.png")]) == 0
    assert (tmp_path / "toy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a one-character edit of a coefficient must be rejected, naming the problem
    text = out.read_text()
    i = text.index('"coefficients"')
    j = next(k for k in range(i, len(text)) if text[k].isdigit() and text[k] not in "0")
    edited = text[:j] + ("1" if text[j] != "1" else "2") + text[j + 1:]
    bad = tmp_path / "edited.json"
    bad.write_text(edited)
    capsys.readouterr()
    assert main(["verify", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out + captured.err


def test_python_dash_m_and_console_script_agree(tmp_path):
    r = subprocess.run([sys.executable, "-m", "advcert", "build", "--gamma", "0", "--eps", "0.1"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "advcert", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("advcert ")


def test_single_class_data_gets_a_warning(tmp_path, capsys):
    """Lemma 6.2 is trivial when every label is the same (f* ≡ y): the build says so on stderr."""
    (tmp_path / "d.csv").write_text("1,0,1\n0,1,1\n-1,0,1\n")
    out = tmp_path / "c.json"
    assert main(["build", "--data", str(tmp_path / "d.csv"), "--eps", "0.5", "--rho", "0.01", "--certified-only",
                 "--quiet", "--out", str(out)]) == 0
    assert "all 3 points have the label 1" in capsys.readouterr().err


def test_build_train_is_advcert_train_with_the_same_arguments(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["build", "--train", "--gamma", "2", "--eps", "0.6", "--n", "2", "--d", "3", "--m", "32",
                 "--max-steps", "3", "--checkpoints", "1", "--bound-seconds", "0.3", "--quiet", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [c["id"] for c in doc["checks"]][-2:] == ["theorem-5.2", "theorem-4.1"]
    assert doc["producer"]["config"]["kind"] == "TrainConfig" and doc["producer"]["config"]["max_steps"] == 3


def test_train_takes_real_data(tmp_path, capsys):
    """Algorithm 1 on a data file (both classes), certified like a synthetic run; the config records the data."""
    rows = ["1,0,0.2,1", "0,1,0.1,-1", "-1,0,0.3,1", "0,-1,0.0,-1"]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "t.json"
    assert main(["train", "--data", str(tmp_path / "d.csv"), "--eps", "0.5", "--rho", "0.01", "--m", "32",
                 "--max-steps", "3", "--checkpoints", "1", "--bound-seconds", "0.3", "--quiet", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["instance"]["source"]["kind"] == "file" and doc["instance"]["n"] == 4
    assert doc["producer"]["config"]["data"]["spec"] == str(tmp_path / "d.csv")
