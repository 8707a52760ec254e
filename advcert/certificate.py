"""The certificate file: canonical JSON, its hash, provenance and the atomic write.

Format: docs/certificate.md. The hash is SHA-256 over the canonical form (sorted keys,
compact separators, shortest round-trip floats, no NaN). The verifier (advcert.verify)
re-implements reading and hashing on its own; this module serves the builders.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import platform
import signal
import stat
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from advcert import __version__
from advcert.errors import InputError

FORMAT = "advcert-certificate"
VERSION = 1


def canonical_bytes(doc: dict) -> bytes:
    """The canonical serialisation the hash is taken over (everything but ``sha256``)."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def seal(doc: dict) -> dict:
    """Return a copy of ``doc`` with its ``sha256`` set."""
    out = dict(doc)
    out["sha256"] = hashlib.sha256(canonical_bytes(out)).hexdigest()
    return out


def dumps(doc: dict) -> str:
    """The file's text: sorted keys, indented for people (hash unaffected)."""
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


#: files this process has committed (for an honest message after an interrupt)
WRITTEN: list[str] = []


def _check_target(path: Path) -> None:
    """Only a missing path or a regular file may be replaced: never a device, FIFO, folder or link."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", "pass another --out path") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise InputError(f"cannot write {path}: it is {kind}", "pass the path of a new file with --out")


def _stage(path: Path, data: bytes) -> str:
    """Write ``data`` to a fsynced temporary file next to ``path``; return its name."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist", "create it or pass another --out")
    _check_target(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", "pass a writable --out path") from None
    try:
        # mkstemp makes 0600 files; a certificate is meant to be shared, so honour the umask
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        _unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror or exc}", "free some space or pass another --out") from None
        raise
    return tmp


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


@contextlib.contextmanager
def _commit_section(folder: Path):
    """Renames that belong together: one writer at a time in the folder (flock on the folder
    itself, so no lock file is left), and SIGINT/SIGTERM held back until all have landed."""
    fd = os.open(folder, os.O_RDONLY)
    blocked = {signal.SIGINT, signal.SIGTERM}
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            yield
            os.fsync(fd)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    """Write via a temporary file in the same folder and os.replace: never a partial file.

    Raises InputError (one line, names the fix) when the folder is missing or not writable,
    the target is not a regular file, or the disk is full; the temporary file is removed in
    every case.
    """
    path = Path(path)
    tmp = _stage(path, text.encode("utf-8") if isinstance(text, str) else text)
    try:
        with _commit_section(path.parent if str(path.parent) else Path(".")):
            os.replace(tmp, path)
            WRITTEN.append(str(path))
    finally:
        _unlink(tmp)


def _is_certificate(path: Path) -> bool:
    try:
        if path.stat().st_size > 1 << 30:
            return False
        data = path.read_bytes()
        return b'"format": "advcert-certificate"' in data or b'"format":"advcert-certificate"' in data
    except OSError:
        return False


def _is_witness(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return sorted(zf.namelist()) == ["W.npy", "W0.npy", "a.npy", "b.npy"]
    except (OSError, zipfile.BadZipFile):
        return False


def write_with_witness(out: str | os.PathLike, doc: dict, witness: bytes | None, witness_name: str | None) -> None:
    """Write a certificate and the witness it names next to it, as one unit.

    Both are staged in full (fsynced temporary files) before either lands; then, with SIGINT and
    SIGTERM held back and the folder locked against a concurrent writer, the witness and then the
    certificate are renamed into place. A full disk, a bad name or an interrupt therefore leaves
    the previous pair (or nothing) and no temporary file; two builds into the same ``--out`` leave
    one build's pair. Only a previous advcert certificate (and an advcert witness) may be replaced.
    """
    out = Path(out)
    if out.suffix != ".json":
        raise InputError(f"--out {out} does not end in .json", "name the certificate NAME.json (its witness and "
                                                               "figures go next to it under the same stem)")
    targets = [(out, dumps(doc).encode("utf-8"), _is_certificate, "an advcert certificate")]
    if witness is not None:
        targets.insert(0, (out.parent / witness_name, witness, _is_witness, "an advcert network witness"))
    for path, _, ok, what in targets:
        _check_target(path)
        if path.exists() and not ok(path):
            raise InputError(f"{path} exists and is not {what}: advcert replaces only its own earlier output",
                             "move it away or pass another --out")
    staged: list[str] = []
    try:
        for path, data, _, _ in targets:
            staged.append(_stage(path, data))
        with _commit_section(out.parent if str(out.parent) else Path(".")):
            for (path, _, _, _), tmp in zip(targets, staged):
                os.replace(tmp, path)
                WRITTEN.append(str(path))
    finally:
        for tmp in staged:
            _unlink(tmp)


def git_state() -> dict:
    """The source tree's commit and whether it had uncommitted changes (None outside git)."""
    here = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def producer(argv: list[str] | None) -> dict:
    """Provenance: versions, git state, command line, CPU (float estimates depend on it)."""
    try:
        import flint

        flint_c = getattr(flint, "__FLINT_VERSION__", None)
    except ImportError:  # pragma: no cover - flint is a hard dependency
        flint_c = None
    packages = {name: _version(name) for name in ("numpy", "scipy", "numba", "python-flint", "mpmath", "sympy")}
    packages["FLINT"] = flint_c
    return {
        "name": "advcert",
        "version": __version__,
        "git": git_state(),
        "argv": list(argv) if argv is not None else list(sys.argv[1:]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu(),
        "packages": packages,
    }


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read(path: str | os.PathLike) -> dict:
    """Load a certificate for the builders' own tools (show, plot); no verification."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"certificate {p} does not exist", "pass the path that advcert build printed")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{p} is not a JSON certificate ({exc.__class__.__name__}: {exc})",
                         "pass a file written by advcert build") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{p} is not an advcert certificate (no \"format\": \"{FORMAT}\")",
                         "pass a file written by advcert build")
    if doc.get("version") != VERSION:
        raise InputError(f"{p} has certificate version {doc.get('version')!r}; this advcert reads version {VERSION}",
                         "rebuild it with this advcert or use the advcert that wrote it")
    return doc


def network_witness(a, W0, b, W) -> bytes:
    """The .npz bytes of a network witness: arrays a, W0, b, W (float64, rows W_r).

    Members have fixed names, order and timestamps and are stored uncompressed, so the same
    network always gives the same bytes and SHA-256 (the certificate records the hash)."""
    import io
    import zipfile

    import numpy as np

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in (("a", a), ("W0", W0), ("b", b), ("W", W)):
            body = io.BytesIO()
            np.lib.format.write_array(body, np.ascontiguousarray(arr, dtype=np.float64), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, body.getvalue())
    return buf.getvalue()


#: a network witness holds four float64 arrays; refuse files larger than this before reading
MAX_WITNESS_BYTES = 8 << 30


def read_network_witness(doc: dict, cert_path, override=None) -> dict:
    """The network witness of a certificate as arrays ``a, W0, b, W`` (rows W_r), its SHA-256 checked.

    The path in ``objects.network.path`` is relative to the certificate's folder and must name a
    regular file inside it; ``override`` (``advcert attack --network``) is the user's own path.
    The one builder-side reader of the format :func:`network_witness` writes.
    """
    import hashlib

    import numpy as np

    entry = (doc.get("objects") or {}).get("network")
    if override is None and not isinstance(entry, dict):
        raise InputError(f"{cert_path} has no network witness (objects.network)", "pass one with --network FILE.npz")
    if override is not None:
        path = Path(override)
    else:
        name = entry.get("path")
        if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
            raise InputError(f"{cert_path}: objects.network.path {name!r} is not a file name inside the certificate's "
                             "folder", "pass the witness with --network FILE.npz")
        path = Path(cert_path).resolve().parent / name
    if not path.is_file():
        raise InputError(f"network witness {path} does not exist or is not a regular file",
                         "pass its path with --network FILE.npz")
    if path.stat().st_size > MAX_WITNESS_BYTES:
        raise InputError(f"network witness {path} has {path.stat().st_size} bytes, more than {MAX_WITNESS_BYTES}",
                         "pass the witness advcert wrote for this certificate")
    data = path.read_bytes()
    want = entry.get("sha256") if isinstance(entry, dict) else None
    if want is not None and hashlib.sha256(data).hexdigest() != want:
        raise InputError(f"network witness {path} does not match the certificate's sha256",
                         "pass the witness the certificate was built with")
    try:
        import io

        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrs = {k: np.array(z[k], dtype=np.float64) for k in ("a", "W0", "b", "W")}
    except KeyError as exc:
        raise InputError(f"network witness {path} lacks array {exc}", "it must hold arrays a, W0, b and W") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"network witness {path} is not a readable .npz ({exc})",
                         "pass the file advcert build wrote") from None
    return arrs
