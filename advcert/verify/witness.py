"""The network witness of objects.network (docs/certificate.md, "The network witness"): the
two-layer ReLU net f_W(x) = sum_r a_r relu(<W_r, x> + b_r) of Section 3, read from an .npz
with the standard library only (zipfile, and the .npy header by ast.literal_eval), every
entry as its exact binary64 value.

A witness that does not hash to objects.network.sha256 or cannot be read fails (exit 1);
a missing one that a rigorous check (Theorem 5.3, Theorem 4.1) needs makes the certificate
unverifiable (exit 2).
"""

from __future__ import annotations

import array
import ast
import hashlib
import io
import math
import operator
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from flint import fmpq

from .context import RIGOROUS_LABELS, _Ctx
from .report import Unreadable, _Fail

NETWORK_CHECKS = ("theorem-5.3", "theorem-4.1")
"""Checks whose rigorous form is a claim about the network of objects.network."""


_NPY_MAGIC = b"\x93NUMPY"
_NETWORK_ROLES = ("a", "W0", "b", "W")
_WITNESS_FIX = "keep the .npz next to the certificate (objects.network.path is relative to its folder), or rebuild both"


class _MissingWitness(Unreadable):
    """A rigorous check needs the network witness and it cannot be found (exit status 2)."""


@dataclass(frozen=True)
class Network:
    """The two-layer ReLU net f_W(x) = sum_r a_r relu(<W_r, x> + b_r) of the witness (Section 3).

    Exact binary64 values as integers over one power-of-two denominator each:
    a_r = ``ai[r]`` / ``Da``; W_r = ``Wi[r]`` / ``Du`` (row tuples), b_r = ``bi[r]`` / ``Du``.
    ``W0`` is checked for its shape only (no claim re-derived here uses it); ``sha256`` of
    the .npz bytes.
    """

    m: int
    d: int
    sha256: str
    Da: int
    ai: tuple
    Du: int
    Wi: tuple
    bi: tuple

    def a(self, r: int) -> fmpq:
        return fmpq(self.ai[r], self.Da)

    def row(self, r: int) -> list[fmpq]:
        """[W_r..., b_r] as exact rationals."""
        return [fmpq(v, self.Du) for v in self.Wi[r]] + [fmpq(self.bi[r], self.Du)]


def _float_ints(*datas) -> tuple[list[list[int]], int]:
    """Exact integers over one power-of-two denominator for arrays of binary64 numbers."""
    ratios = [list(map(float.as_integer_ratio, data)) for data in datas]
    D = max((max(map(operator.itemgetter(1), rs), default=1) for rs in ratios), default=1)
    e = D.bit_length()
    return [[p << (e - q.bit_length()) for p, q in rs] for rs in ratios], D


def read_npy(raw: bytes, name: str) -> tuple[tuple[int, ...], array.array]:
    """Shape and float64 data of one .npy member (format 1.0-3.0, '<f8', C order), with the stdlib only."""
    if raw[:6] != _NPY_MAGIC or len(raw) < 10:
        raise _Fail(f"witness member {name}.npy is not a .npy array (no \\x93NUMPY magic)")
    major = raw[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", raw[8:10]), 10
    elif major in (2, 3) and len(raw) >= 12:
        (hlen,), start = struct.unpack("<I", raw[8:12]), 12
    else:
        raise _Fail(f"witness member {name}.npy has .npy format version {major}, not 1, 2 or 3")
    if hlen > 1 << 16 or start + hlen > len(raw):
        raise _Fail(f"witness member {name}.npy has a header of {hlen} bytes, beyond the file")
    try:
        header = ast.literal_eval(raw[start:start + hlen].decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        raise _Fail(f"witness member {name}.npy has an unreadable header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _Fail(f"witness member {name}.npy: the header is not {{descr, fortran_order, shape}}")
    if header["descr"] != "<f8":
        raise _Fail(f"witness member {name}.npy has dtype {header['descr']!r}; the contract stores float64 '<f8'")
    if header["fortran_order"] is not False:
        raise _Fail(f"witness member {name}.npy is in Fortran order; the contract stores C order")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(k) is int and k >= 0 for k in shape):
        raise _Fail(f"witness member {name}.npy has shape {shape!r}")
    count = math.prod(shape)
    body = raw[start + hlen:]
    if len(body) != 8 * count:
        raise _Fail(f"witness member {name}.npy holds {len(body)} data bytes, shape {shape} needs {8 * count}")
    data = array.array("d")
    data.frombytes(body)
    if sys.byteorder != "little":
        data.byteswap()
    if not all(map(math.isfinite, data)):
        raise _Fail(f"witness member {name}.npy holds NaN or infinity")
    return shape, data


def read_witness(raw: bytes, m: int, d: int, names=_NETWORK_ROLES, sha256: str = "") -> Network:
    """The network of an .npz witness: members a (m,), W0 (m, d), b (m,), W (m, d) (rows W_r)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise _Fail(f"the network witness is not a readable .npz (zip) file: {e}") from None
    arrays = {}
    with zf:
        have = set(zf.namelist())
        for role, name in zip(_NETWORK_ROLES, names):
            member = f"{name}.npy"
            if member not in have:
                raise _Fail(f"the network witness has no member {member} (the array {role}); it holds {', '.join(sorted(have)) or 'nothing'}")
            try:
                body = zf.read(member)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as e:
                raise _Fail(f"witness member {member} cannot be read: {e}") from None
            arrays[role] = read_npy(body, name)
    want = {"a": (m,), "W0": (m, d), "b": (m,), "W": (m, d)}
    for role in _NETWORK_ROLES:
        shape = arrays[role][0]
        if shape != want[role]:
            raise _Fail(f"witness array {role} has shape {shape}, but m = {m}, d = {d} need {want[role]}")

    (ai,), Da = _float_ints(arrays["a"][1])
    (wi, bi), Du = _float_ints(arrays["W"][1], arrays["b"][1])
    Wi = tuple(zip(*[iter(wi)] * d)) if d else tuple(() for _ in range(m))
    return Network(m=m, d=d, sha256=sha256, Da=Da, ai=tuple(ai), Du=Du, Wi=Wi, bi=tuple(bi))


def _network_needed(doc: dict) -> list[str]:
    return [c["id"] for c in doc["checks"] if c["id"] in NETWORK_CHECKS and c["label"] in RIGOROUS_LABELS]


def _part_network(ctx: _Ctx) -> str:
    entry = ctx.doc["objects"].get("network")
    needed = _network_needed(ctx.doc)
    if entry is None:
        if needed:
            raise _Fail(f"check {needed[0]} is labelled rigorous, but objects.network (the witness it is about) is missing")
        return "no network witness (no check needs one)"
    names = entry.get("arrays", list(_NETWORK_ROLES))
    rel = entry["path"]
    if ctx.witness is not None:
        raw, shown = ctx.witness, rel
    else:
        path = Path(rel)
        if not path.is_absolute():
            path = (ctx.base or Path.cwd()) / path
        shown = str(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            why = "does not exist" if isinstance(e, FileNotFoundError) else f"cannot be read ({e.strerror or e})"
            if needed:
                raise _MissingWitness(f"the network witness {shown} {why}, and {needed[0]} needs it", _WITNESS_FIX) from None
            return f"network witness {shown} {why}; no rigorous check needs it"
    got = hashlib.sha256(raw).hexdigest()
    if got != entry["sha256"]:
        raise _Fail(f"objects.network.sha256 = {entry['sha256'][:16]}..., but the witness {shown} hashes to {got[:16]}...: it is not the network the certificate was built with")
    d = ctx.need("inst")["d"]
    ctx.network = read_witness(raw, entry["m"], d, names, got)
    return f"witness {Path(rel).name}: m = {entry['m']}, d = {d}, sha256 matches"
