"""A read-only install with a read-only HOME still runs the kernels (numba's cache falls back)."""

from __future__ import annotations

import os
import shutil
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


def test_the_fallback_folder_is_kept_for_the_next_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    first = numba_cache_dir(str(blocker), str(blocker), {}, tmp=str(tmp_path))
    second = numba_cache_dir(str(blocker), str(blocker), {}, tmp=str(tmp_path))
    assert first == second == str(tmp_path / f"advcert-numba-{os.getuid()}")
    assert stat.S_IMODE(os.stat(first).st_mode) & 0o077 == 0


def test_a_fallback_folder_others_may_write_is_not_used(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    planted = tmp_path / f"advcert-numba-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)  # anyone could plant pickles that numba would load
    got = numba_cache_dir(str(blocker), str(blocker), {}, tmp=str(tmp_path))
    assert got != str(planted) and stat.S_IMODE(os.stat(got).st_mode) & 0o077 == 0


def test_a_linked_fallback_folder_is_not_used(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    (tmp_path / f"advcert-numba-{os.getuid()}").symlink_to(target)
    got = numba_cache_dir(str(blocker), str(blocker), {}, tmp=str(tmp_path))
    assert got not in (str(target), str(tmp_path / f"advcert-numba-{os.getuid()}"))


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


def _unwritable_install(tmp_path: Path) -> Path:
    # a copy of the package whose kernels' __pycache__ cannot be made (a file is in the way):
    # unwritable even for root, who may write read-only folders
    site = tmp_path / "site"
    shutil.copytree(ROOT / "advcert", site / "advcert", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "advcert" / "kernels" / "__pycache__").write_text("not a folder")
    return site


def test_a_second_run_with_no_writable_place_loads_the_compiled_kernels(tmp_path):
    # a read-only install and HOME: the second process loads the kernels the first one compiled
    blocker = tmp_path / "file"
    blocker.write_text("x")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    site = _unwritable_install(tmp_path)
    env = dict(os.environ, HOME=str(blocker), XDG_CACHE_HOME=str(blocker), PYTHONPATH=str(site), TMPDIR=str(tmp))
    env.pop("NUMBA_CACHE_DIR", None)
    code = ("import advcert.kernels, os, numpy as np; from advcert.kernels import hermite; "
            "hermite.h_values(np.ones(3), 2.0, np.zeros(4), np.zeros(4)); "
            "s = hermite._h_kernel.stats; print(os.environ['NUMBA_CACHE_DIR'], sum(s.cache_hits.values()))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                           cwd=str(tmp_path), timeout=300) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr
    (dir1, hits1), (dir2, hits2) = (r.stdout.split() for r in runs)
    assert dir1 == dir2 == str(tmp / f"advcert-numba-{os.getuid()}")
    assert (int(hits1), int(hits2)) == (0, 1)
