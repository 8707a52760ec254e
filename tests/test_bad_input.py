"""The bad-input catalogue: every case gets one line naming the problem and the fix, exit
status 2, no traceback, and no file left behind (issue: certificates you can trust)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from advcert.cli import main


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _cases(tmp: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) for each bad input; files they refer to are made here."""
    good_cert = tmp / "inputs" / "good.json"
    (tmp / "inputs").mkdir()
    good_cert.write_text('{"format": "advcert-certificate", "version": 1}')
    trunc = tmp / "inputs" / "truncated.json"
    trunc.write_text('{"format": "advcert-certificate", "version": 1, "checks": [')
    foreign = tmp / "inputs" / "foreign.json"
    foreign.write_text(json.dumps({"hello": "world"}))
    wrongv = tmp / "inputs" / "v99.json"
    wrongv.write_text(json.dumps({"format": "advcert-certificate", "version": 99}))
    binary = tmp / "inputs" / "binary.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    empty_csv = tmp / "inputs" / "empty.csv"
    empty_csv.write_text("")
    text_csv = tmp / "inputs" / "text.csv"
    text_csv.write_text("1,2,0.5\n3,abc,0.1\n")
    nan_csv = tmp / "inputs" / "nan.csv"
    nan_csv.write_text("1,2,0.5\n3,nan,0.1\n")
    dup_csv = tmp / "inputs" / "dup.csv"
    dup_csv.write_text("1,2,0.5\n1,2,0.1\n3,3,0.2\n")
    big_y = tmp / "inputs" / "bigy.csv"
    big_y.write_text("1,2,5\n3,4,7\n")
    one_row = tmp / "inputs" / "one.csv"
    one_row.write_text("1,2,0.5\n")
    no_x = tmp / "inputs" / "nox.npz"
    np.savez(no_x, Z=np.zeros((3, 2)), y=np.zeros(3))
    bad_shape = tmp / "inputs" / "shape.npz"
    np.savez(bad_shape, X=np.zeros((3, 2, 2)), y=np.zeros(3))
    out = str(tmp / "out" / "c.json")
    b = ["build", "--quiet", "--out", out]
    return [
        ("gamma zero", b + ["--gamma", "0", "--eps", "0.1"]),
        ("gamma negative", b + ["--gamma", "-0.5", "--eps", "0.1"]),
        ("gamma text", b + ["--gamma", "half", "--eps", "0.1"]),
        ("gamma too large", b + ["--gamma", "9", "--eps", "0.1"]),
        ("gamma infeasible", b + ["--gamma", "3", "--eps", "0.1", "--d", "3"]),
        ("eps zero", b + ["--gamma", "0.5", "--eps", "0"]),
        ("eps one", b + ["--gamma", "0.5", "--eps", "1"]),
        ("eps negative", b + ["--gamma", "0.5", "--eps", "-0.1"]),
        ("eps inf", b + ["--gamma", "0.5", "--eps", "inf"]),
        ("eps missing", b + ["--gamma", "0.5"]),
        ("rho zero", b + ["--gamma", "0.5", "--eps", "0.1", "--rho", "0"]),
        ("rho >= delta/2", b + ["--gamma", "0.5", "--eps", "0.1", "--rho", "0.9"]),
        ("n one", b + ["--gamma", "0.5", "--eps", "0.1", "--n", "1"]),
        ("n text", b + ["--gamma", "0.5", "--eps", "0.1", "--n", "ten"]),
        ("d one", b + ["--gamma", "0.5", "--eps", "0.1", "--d", "1"]),
        ("seed negative", b + ["--gamma", "0.5", "--eps", "0.1", "--seed", "-1"]),
        ("huge degree", b + ["--gamma", "0.01", "--eps", "0.1"]),
        ("unknown option", b + ["--gamma", "0.5", "--eps", "0.1", "--colour", "red"]),
        ("unwritable folder", ["build", "--quiet", "--gamma", "0.5", "--eps", "0.1", "--out", "/proc/advcert.json"]),
        ("missing folder", ["build", "--quiet", "--gamma", "0.5", "--eps", "0.1", "--out", str(tmp / "nope" / "c.json")]),
        ("labels without data", b + ["--gamma", "0.5", "--eps", "0.1", "--labels", "binary:0"]),
        ("data missing file", b + ["--eps", "0.1", "--data", str(tmp / "missing.csv")]),
        ("data empty csv", b + ["--eps", "0.1", "--data", str(empty_csv)]),
        ("data text cell", b + ["--eps", "0.1", "--data", str(text_csv)]),
        ("data nan", b + ["--eps", "0.1", "--data", str(nan_csv)]),
        ("data duplicate points", b + ["--eps", "0.1", "--data", str(dup_csv)]),
        ("data labels out of range", b + ["--eps", "0.1", "--data", str(big_y)]),
        ("data one point", b + ["--eps", "0.1", "--data", str(one_row)]),
        ("npz without X", b + ["--eps", "0.1", "--data", str(no_x)]),
        ("npz wrong shape", b + ["--eps", "0.1", "--data", str(bad_shape)]),
        ("data with --n", b + ["--eps", "0.1", "--data", str(dup_csv), "--n", "3"]),
        ("verify missing", ["verify", str(tmp / "missing.json")]),
        ("verify truncated", ["verify", str(trunc)]),
        ("verify foreign", ["verify", str(foreign)]),
        ("verify wrong version", ["verify", str(wrongv)]),
        ("verify binary", ["verify", str(binary)]),
        ("verify incomplete", ["verify", str(good_cert)]),
        ("show truncated", ["show", str(trunc)]),
        ("show wrong version", ["show", str(wrongv)]),
        ("plot foreign", ["plot", str(foreign), "--out", str(tmp / "out" / "p.png")]),
        ("separation missing file", ["separation", "--data", str(tmp / "missing.npz"), "--out", str(tmp / "out")]),
    ]


def test_catalogue_has_at_least_30_cases(tmp_path):
    assert len(_cases(tmp_path)) >= 30


@pytest.mark.parametrize("index", range(41))
def test_bad_input(tmp_path, capsys, index):
    cases = _cases(tmp_path)
    name, argv = cases[index]
    (tmp_path / "out").mkdir()
    before = _files(tmp_path / "inputs")
    status = main(argv)
    captured = capsys.readouterr()
    err = captured.err + captured.out if status == 2 and argv[0] == "verify" else captured.err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert status == 2, (name, status, captured)
    assert len(lines) == 1, (name, err)
    assert "Traceback" not in err
    assert _files(tmp_path / "out") == [], name
    assert _files(tmp_path / "inputs") == before, name


def test_full_disk_leaves_no_file(tmp_path, monkeypatch, capsys):
    real_write = os.write

    def full(fd, data):  # the first write to the certificate's temporary file fails as on a full disk
        raise OSError(errno.ENOSPC, "No space left on device")

    import advcert.certificate as cert

    class FullFile:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cert.os, "fdopen", lambda fd, mode: (os.close(fd), FullFile())[1])
    status = main(["build", "--quiet", "--gamma", "2", "--eps", "0.6", "--n", "2", "--d", "3",
                   "--out", str(tmp_path / "c.json")])
    err = capsys.readouterr().err
    assert status == 2 and "No space left" in err and err.count("\n") == 1
    assert _files(tmp_path) == []
    del real_write, full


def test_sigint_during_build_leaves_no_file(tmp_path):
    # A runner that started us in the background may have SIGINT ignored, and an ignored
    # disposition survives exec: give the child the default back, as a terminal would.
    proc = subprocess.Popen([sys.executable, "-m", "advcert", "build", "--gamma", "0.5", "--eps", "0.1",
                             "--out", str(tmp_path / "c.json")], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # wait for the first progress line, so the interrupt lands inside the build
    first = proc.stderr.readline()
    assert first.startswith("advcert: [1/")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "interrupted" in err and "Traceback" not in err
    assert _files(tmp_path) == []
