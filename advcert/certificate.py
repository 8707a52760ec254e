"""The certificate file: canonical JSON, its hash, provenance and the atomic write.

Format: docs/certificate.md. The hash is SHA-256 over the canonical form (sorted keys,
compact separators, shortest round-trip floats, no NaN). The verifier (advcert.verify)
re-implements reading and hashing on its own; this module serves the builders.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
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


def write_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    """Write via a temporary file in the same folder and os.replace: never a partial file.

    Raises InputError (one line, names the fix) when the folder is missing or not
    writable, or the disk is full; the temporary file is removed in every case.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist", "create it or pass another --out")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
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
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror or exc}", "free some space or pass another --out") from None
        raise


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


def write_with_witness(out: str | os.PathLike, doc: dict, witness: bytes | None, witness_name: str | None) -> None:
    """Write a certificate and the witness it names next to it, the witness first.

    A certificate must never name a file that is not there, so the witness lands before the
    certificate; both writes are atomic (:func:`write_atomic`).
    """
    out = Path(out)
    if witness is not None:
        write_atomic(out.parent / witness_name, witness)
    write_atomic(out, dumps(doc))
