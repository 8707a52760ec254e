"""A read-only install with a read-only HOME still runs the kernels (numba's cache falls back)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from advcert.kernels import numba_cache_dir

ROOT = Path(__file__).resolve().parent.parent


def test_own_choice_is_kept_when_the_install_is_writable(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    assert numba_cache_dir(str(pkg), str(tmp_path), {}) is None


def test_an_explicit_cache_dir_is_respected(tmp_path):
    assert numba_cache_dir("/nonexistent", None, {"NUMBA_CACHE_DIR": str(tmp_path)}) is None


def test_no_writable_place_gives_a_private_temporary_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")  # neither __pycache__ nor ~/.cache can be made under a file
    got = numba_cache_dir(str(blocker), str(blocker), {})
    assert got is not None and os.path.isdir(got) and os.access(got, os.W_OK)
    assert stat.S_IMODE(os.stat(got).st_mode) & 0o077 == 0  # private to this user


def test_kernels_compile_with_no_writable_cache_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = dict(os.environ, HOME=str(blocker), XDG_CACHE_HOME=str(blocker), PYTHONPATH=str(ROOT))
    env.pop("NUMBA_CACHE_DIR", None)
    code = ("import advcert.kernels as k, os; "
            "print(os.environ.get('NUMBA_CACHE_DIR') or 'numba-own'); "
            "from advcert.kernels import hermite")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
