"""The compiled kernels of the measured plane (Section 3's f_W and g_W, Lemma 6.2's f*,
Lemma 6.6's h, Theorem 5.1's sums, Definition 3.2's ascent on caps, Theorem 5.3's CROWN
relaxation, Algorithm 1's update).

This package is the only one in advcert that imports numba, and it never imports flint.
Its wrappers take arrays that :class:`advcert.measured.network.TwoLayerNet` has already
validated; the slow references they are tested against are in
:mod:`advcert.measured.reference` (Theorem 5.3's: the numpy ball arithmetic of
:mod:`advcert.measured.crown` and :mod:`advcert.measured.perturbation`). Import the submodules directly: this file imports
nothing, so that :mod:`advcert.kernels.threads` (the BLAS limiter) stays usable without
loading numba.
"""

import os
import stat
import tempfile


def _writable_dir(path: str) -> bool:
    """True when ``path`` is (or can be made) a folder this process may write."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def _private_dir(path: str) -> bool:
    """True when ``path`` is (or was just made) a real folder of this user's that no one else may write."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
            and os.access(path, os.W_OK | os.X_OK))


def numba_cache_dir(package_dir: str, home: str | None, env: dict, tmp: str | None = None) -> str | None:
    """The folder numba should cache compiled kernels in, or None when its own choice works.

    numba caches next to the sources (``__pycache__``) or in the user's cache folder; with a
    read-only install and a read-only HOME it has neither and refuses to compile, so every
    command (``verify`` included) would fail. Then the kernels are cached in
    ``advcert-numba-<uid>`` under the temporary folder (``tmp``, default
    :func:`tempfile.gettempdir`), so that they compile once per boot rather than once per
    run (perf-notes §8), provided that folder is this user's and private: numba's cache holds
    pickles it loads, so a folder someone else can write would run their code. Failing that,
    a fresh private temporary folder: the kernels compile on each run, but they run.
    """
    if env.get("NUMBA_CACHE_DIR"):
        return None
    if _writable_dir(os.path.join(package_dir, "__pycache__")):
        return None
    if home and _writable_dir(os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "numba")):
        return None
    if hasattr(os, "getuid"):
        shared = os.path.join(tmp or tempfile.gettempdir(), f"advcert-numba-{os.getuid()}")
        if _private_dir(shared):
            return shared
    return tempfile.mkdtemp(prefix="advcert-numba-")


# numba reads NUMBA_CACHE_DIR once, when it is first imported: decide before any kernel module does
_CACHE = numba_cache_dir(os.path.dirname(os.path.abspath(__file__)), os.path.expanduser("~") or None, os.environ)
if _CACHE is not None:
    os.environ["NUMBA_CACHE_DIR"] = _CACHE
