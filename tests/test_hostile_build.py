"""Hostile input to the builders (issue: trust, second round): one line, exit 2, no traceback, and
no file left, lost or torn — whatever the arguments, names, signals or races."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from advcert.cli import main

ROOT = Path(__file__).resolve().parent.parent
TOY = ["--gamma", "2", "--eps", "0.6", "--n", "2", "--d", "3"]


def _one_line(capsys, status, want_status=2, phrase=None):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert status == want_status, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    if phrase:
        assert phrase in lines[0], lines[0]
    return lines[0]


BAD_NUMBERS = [
    (["--gamma", "0.5", "--eps", "1e999999999"], "exponent"),
    (["--gamma", "0.5", "--eps", "1e-999999999"], "exponent"),
    (["--gamma", "0.5", "--eps", "0." + "1" * 300], "characters"),
    (["--gamma", "1e-400", "--eps", "0.1"], "degree"),
    (["--gamma", "0.5", "--eps", "0.1", "--rho", "0.0123456789"], "digits"),
    (["--gamma", "0.5", "--eps", "0.1", "--m", str(2**40)], "memory"),
    (["--gamma", "0.5", "--eps", "0.1", "--m", "1" + "0" * 30], "memory"),
    (["--gamma", "0.5", "--eps", "1/0"], "--eps"),
    (["--gamma", "0x10", "--eps", "0.1"], "--gamma must be a number"),
    (["--gamma", "inf", "--eps", "0.1"], "--gamma must be a number"),
    (["--gamma", "0.5", "--eps", "0.1", "--sandwich-budget", "nan"], "--sandwich-budget"),
]


@pytest.mark.parametrize("args,phrase", BAD_NUMBERS)
def test_bad_numbers_are_refused_before_work(tmp_path, capsys, args, phrase):
    os.chdir(tmp_path)
    t0 = time.perf_counter()
    status = main(["build", "--quiet", *args, "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status, phrase=phrase)
    assert time.perf_counter() - t0 < 10
    assert list(tmp_path.iterdir()) == []


def test_out_must_end_in_json(tmp_path, capsys):
    status = main(["build", "--quiet", *TOY, "--certified-only", "--out", str(tmp_path / "c.txt")])
    _one_line(capsys, status, phrase=".json")
    assert list(tmp_path.iterdir()) == []


def test_out_that_is_a_folder(tmp_path, capsys):
    (tmp_path / "c.json").mkdir()
    status = main(["build", "--quiet", *TOY, "--certified-only", "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status, phrase="folder")
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_out_that_is_not_a_certificate_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "c.json").write_text("my notes")
    status = main(["build", "--quiet", *TOY, "--certified-only", "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status, phrase="not an advcert certificate")
    assert (tmp_path / "c.json").read_text() == "my notes"


def test_out_that_is_a_symlink_is_refused(tmp_path, capsys):
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    (tmp_path / "c.json").symlink_to(target)
    status = main(["build", "--quiet", *TOY, "--certified-only", "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status, phrase="link")
    assert target.read_text() == "keep"


def test_out_that_is_a_device_is_refused(capsys):
    status = main(["build", "--quiet", *TOY, "--certified-only", "--out", "/dev/null.json"])
    # /dev is writable for root: the name must still not be a device; /dev/null itself has no .json
    assert status in (0, 2)
    if status == 0:  # a root run could create /dev/null.json as a regular file: remove it
        os.unlink("/dev/null.json")
    capsys.readouterr()
    os.symlink("/dev/null", "/tmp/advcert-devnull.json") if not os.path.lexists("/tmp/advcert-devnull.json") else None
    try:
        status = main(["build", "--quiet", *TOY, "--certified-only", "--out", "/tmp/advcert-devnull.json"])
        _one_line(capsys, status, phrase="link")
    finally:
        os.unlink("/tmp/advcert-devnull.json")


def test_a_name_too_long_leaves_nothing(tmp_path, capsys):
    status = main(["build", "--quiet", *TOY, "--m", "64", "--sandwich-budget", "0.2",
                   "--out", str(tmp_path / ("c" * 250 + ".json"))])
    _one_line(capsys, status)
    assert list(tmp_path.iterdir()) == []


def test_missing_and_readonly_folders(tmp_path, capsys):
    status = main(["build", "--quiet", *TOY, "--certified-only", "--out", str(tmp_path / "no" / "c.json")])
    _one_line(capsys, status, phrase="does not exist")
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        status = main(["build", "--quiet", *TOY, "--certified-only", "--out", str(ro / "c.json")])
        _one_line(capsys, status, phrase="writable")


def test_a_foreign_file_where_the_witness_goes_is_kept(tmp_path, capsys):
    (tmp_path / "c.network.npz").write_bytes(b"not a witness")
    status = main(["build", "--quiet", *TOY, "--m", "64", "--sandwich-budget", "0.2", "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status, phrase="not an advcert network witness")
    assert (tmp_path / "c.network.npz").read_bytes() == b"not a witness"
    assert not (tmp_path / "c.json").exists()


def test_rebuilding_replaces_its_own_pair(tmp_path, capsys):
    out = tmp_path / "c.json"
    for seed in ("0", "1"):
        assert main(["build", "--quiet", *TOY, "--m", "64", "--sandwich-budget", "0.2", "--seed", seed,
                     "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    import hashlib

    assert hashlib.sha256((tmp_path / "c.network.npz").read_bytes()).hexdigest() == doc["objects"]["network"]["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.network.npz"]


def test_train_png_next_to_the_certificate_is_not_a_foreign_file(tmp_path, capsys):
    (tmp_path / "c.png").write_text("a photo")
    status = main(["train", "--quiet", "--gamma", "2", "--eps", "0.6", "--n", "2", "--d", "3", "--m", "32",
                   "--max-steps", "2", "--checkpoints", "1", "--bound-seconds", "0.2", "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status, phrase="not a PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png"]


def _huge_npz(path: Path) -> None:
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", hdr.getvalue())


def test_a_data_header_of_10e6_by_10e6_is_refused_before_allocation(tmp_path, capsys):
    _huge_npz(tmp_path / "huge.npz")
    status = main(["build", "--quiet", "--data", str(tmp_path / "huge.npz"), "--eps", "0.1", "--gamma", "0.5",
                   "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status, phrase="memory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.npz"]


def test_separation_refuses_the_same_header(tmp_path, capsys):
    _huge_npz(tmp_path / "huge.npz")
    status = main(["separation", "--data", str(tmp_path / "huge.npz"), "--out", str(tmp_path)])
    _one_line(capsys, status, phrase="memory")


def test_csv_cells_with_absurd_exponents(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("1e999999999,0,1\n0,1,-1\n")
    status = main(["build", "--quiet", "--data", str(tmp_path / "d.csv"), "--eps", "0.1", "--gamma", "0.5",
                   "--out", str(tmp_path / "c.json")])
    _one_line(capsys, status)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_attack_refuses_a_witness_path_outside_the_folder(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["build", "--quiet", *TOY, "--m", "64", "--sandwich-budget", "0.2", "--out", str(out)]) == 0
    from advcert import certificate

    for bad in ("/etc/passwd", "../c.network.npz", "sub/../../x.npz"):
        doc = json.loads(out.read_text())
        doc["objects"]["network"]["path"] = bad
        (tmp_path / "evil.json").write_text(certificate.dumps(certificate.seal(doc)))
        status = main(["attack", str(tmp_path / "evil.json"), "--restarts", "0", "--steps", "1"])
        _one_line(capsys, status, phrase="inside the certificate's folder")


def _run_and_signal(tmp_path, sig) -> tuple[int, str]:
    code = ("import sys; from advcert.cli import main; "
            "sys.exit(main(['build', '--gamma', '0.5', '--eps', '0.1', '--m', '16384', "
            f"'--sandwich-budget', '30', '--out', {str(tmp_path / 'c.json')!r}]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in p.stderr:  # signal once the measured plane is under way
        seen.append(line)
        if "[5/6]" in line:
            break
    time.sleep(0.5)
    p.send_signal(sig)
    rest = p.stderr.read()
    p.stderr.close()
    p.wait(timeout=120)
    return p.returncode, "".join(seen) + rest


@pytest.mark.slow
@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_build_leaves_no_file_and_no_temporary(tmp_path, sig, status):
    rc, err = _run_and_signal(tmp_path, sig)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert rc == status, err
    assert files == [], files
    assert "Traceback" not in err and "no file was written" in err


def test_two_builds_into_the_same_out_leave_one_consistent_pair(tmp_path):
    import hashlib

    code = ("import sys; from advcert.cli import main; "
            "sys.exit(main(['build', '--quiet', '--gamma', '2', '--eps', '0.6', '--n', '2', '--d', '3', '--m', '256', "
            f"'--sandwich-budget', '0.5', '--seed', sys.argv[1], '--out', {str(tmp_path / 'c.json')!r}]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", code, s], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for s in ("0", "1")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    doc = json.loads((tmp_path / "c.json").read_text())
    assert hashlib.sha256((tmp_path / "c.network.npz").read_bytes()).hexdigest() == doc["objects"]["network"]["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.network.npz"]
