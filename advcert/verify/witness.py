"""The network witness of objects.network (docs/certificate.md, "The network witness"): the
two-layer ReLU net f_W(x) = sum_r a_r relu(<W_r, x> + b_r) of Section 3, read from an .npz
with the standard library only (zipfile, and the .npy header by ast.literal_eval), every
entry as its exact binary64 value.

The witness is hostile input: its path must stay inside the certificate's folder, the file
must be a regular file no larger than four float64 arrays of m, d need, and the archive
exactly four stored members whose declared sizes fit their arrays, all checked before a
member is read. A witness that breaks this, does not hash to objects.network.sha256 or
cannot be read fails (exit 1); a missing one that a rigorous check (Lemma 6.5, Theorems 5.1, 5.3 and
4.1) needs, or a width beyond the budget, makes the certificate unverifiable (exit 2).
"""

from __future__ import annotations

import array
import ast
import errno
import hashlib
import io
import math
import operator
import os
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from flint import fmpq

from .context import RIGOROUS_LABELS, _Ctx
from .numbers import _short
from .reading import read_regular
from .report import Refused, _Fail, terminal_safe

NETWORK_CHECKS = ("lemma-6.5/radius", "lemma-6.5", "theorem-5.1/chain", "theorem-5.3", "theorem-4.1")
"""Checks whose rigorous form is a claim about the network of objects.network."""


_NPY_MAGIC = b"\x93NUMPY"
_NETWORK_ROLES = ("a", "W0", "b", "W")
_WITNESS_FIX = "keep the .npz next to the certificate (objects.network.path is relative to its folder), or rebuild both"


class _MissingWitness(Refused):
    """A rigorous check needs the network witness and it cannot be found (exit status 2)."""


@dataclass(frozen=True)
class Network:
    """The two-layer ReLU net f_W(x) = sum_r a_r relu(<W_r, x> + b_r) of the witness (Section 3).

    Exact binary64 values as integers over one power-of-two denominator each:
    a_r = ``ai[r]`` / ``Da``; W_r = ``Wi[r]`` / ``Du`` (row tuples), b_r = ``bi[r]`` / ``Du``.
    W0_r = ``W0i[r]`` / ``D0`` (the initialisation, for theorem-4.1's drift); ``sha256`` of
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
    D0: int = 1
    W0i: tuple = ()

    def a(self, r: int) -> fmpq:
        return fmpq(self.ai[r], self.Da)

    def row(self, r: int) -> list[fmpq]:
        """[W_r..., b_r] as exact rationals."""
        return [fmpq(v, self.Du) for v in self.Wi[r]] + [fmpq(self.bi[r], self.Du)]

    def max_move_squared(self) -> tuple[int, int]:
        """(S, L) with max_r ||W_r - W0_r||² = S / L² exactly, L = max(Du, D0) (both powers of
        two): the (2,∞) distance from the initialisation of Lemma 6.5's radius and Theorem 4.1's drift."""
        L = max(self.Du, self.D0)
        ku, k0 = L // self.Du, L // self.D0
        S = 0
        for Wr, W0r in zip(self.Wi, self.W0i):
            t = 0
            for w, w0 in zip(Wr, W0r):
                e = w * ku - w0 * k0
                t += e * e
            if t > S:
                S = t
        return S, L


def _float_ints(*datas) -> tuple[list[list[int]], int]:
    """Exact integers over one power-of-two denominator for arrays of binary64 numbers."""
    ratios = [list(map(float.as_integer_ratio, data)) for data in datas]
    D = max((max(map(operator.itemgetter(1), rs), default=1) for rs in ratios), default=1)
    e = D.bit_length()
    return [[p << (e - q.bit_length()) for p, q in rs] for rs in ratios], D


def read_npy(raw: bytes, name: str, want: tuple | None = None) -> tuple[tuple[int, ...], array.array]:
    """Shape and float64 data of one .npy member (format 1.0-3.0, '<f8', C order), with the stdlib only.

    ``want``: the shape the contract needs, compared before the data is touched."""
    if raw[:6] != _NPY_MAGIC or len(raw) < 10:
        raise _Fail(f"witness member {name}.npy is not a .npy array (no \\x93NUMPY magic)")
    major = raw[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", raw[8:10]), 10
    elif major in (2, 3) and len(raw) >= 12:
        (hlen,), start = struct.unpack("<I", raw[8:12]), 12
    else:
        raise _Fail(f"witness member {name}.npy has .npy format version {major}, not 1, 2 or 3")
    if hlen > NPY_HEADER_MAX or start + hlen > len(raw):
        raise _Fail(f"witness member {name}.npy has a header of {hlen} bytes, beyond the file")
    try:
        header = ast.literal_eval(raw[start:start + hlen].decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        raise _Fail(f"witness member {name}.npy has an unreadable header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _Fail(f"witness member {name}.npy: the header is not {{descr, fortran_order, shape}}")
    if header["descr"] != "<f8":
        raise _Fail(f"witness member {name}.npy has dtype {_short(header['descr'])}; the contract stores float64 '<f8'")
    if header["fortran_order"] is not False:
        raise _Fail(f"witness member {name}.npy is in Fortran order; the contract stores C order")
    shape = header["shape"]
    if not isinstance(shape, tuple) or len(shape) > 2 or not all(type(k) is int and k >= 0 for k in shape):
        raise _Fail(f"witness member {name}.npy has shape {_short(shape if isinstance(shape, (int, str)) else str(shape))}")
    if want is not None and shape != want:
        raise _Fail(f"witness member {name}.npy has shape {shape}, but m and d need {want}")
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


MAX_ENTRIES = 1 << 24
"""Budget: m (d + 1), the number of binary64 entries of the arrays W and b (and of W0, a)."""
NPY_HEADER_MAX = 4096
"""The longest .npy header read (numpy writes 128 bytes)."""
WITNESS_SLACK = 1 << 16
"""Bytes allowed beyond the arrays' data for the zip and .npy headers."""


def witness_limit(m: int, d: int) -> int:
    """The largest witness file accepted for width m and dimension d: the four arrays'
    8 (2m + 2md) = 16 m (d + 1) data bytes plus WITNESS_SLACK for the headers."""
    return 16 * m * (d + 1) + WITNESS_SLACK


def _zip_entries(raw: bytes) -> int:
    """The entry count of the zip's end-of-central-directory record, read before zipfile
    parses anything (a central directory of millions of entries is refused unread)."""
    k = raw.rfind(b"PK\x05\x06", max(0, len(raw) - (22 + 65535)))
    if k < 0 or k + 22 > len(raw):
        raise _Fail("the network witness is not a readable .npz (no zip end-of-central-directory record)")
    disk_entries, total = struct.unpack("<HH", raw[k + 8:k + 12])
    if total == 0xFFFF or disk_entries != total:
        raise _Fail("the network witness is a zip64 or multi-disk archive; the contract stores a plain zip")
    return total


def read_witness(raw: bytes, m: int, d: int, names=_NETWORK_ROLES, sha256: str = "") -> Network:
    """The network of an .npz witness: members a (m,), W0 (m, d), b (m,), W (m, d) (rows W_r).

    Hostile input (docs/certificate.md, "The network witness"): the archive must hold
    exactly the four members, stored (not compressed: no decompression, so no zip bomb),
    unencrypted, each declaring no more bytes than its array and a .npy header need; all of
    that is checked from the zip's directory before a member is read.
    """
    if m * (d + 1) > MAX_ENTRIES:
        raise Refused(f"a witness of m = {m}, d = {d} has {m * (d + 1)} entries per array pair, beyond this "
                      f"verifier's budget of {MAX_ENTRIES}", "see docs/certificate.md, Budgets")
    if len(raw) > witness_limit(m, d):
        raise _Fail(f"the network witness has {len(raw)} bytes; four float64 arrays of m = {m}, d = {d} need at most {witness_limit(m, d)}")
    count = _zip_entries(raw)
    if count != 4:
        raise _Fail(f"the network witness has {count} zip members; the contract stores exactly four (a, W0, b, W)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as e:
        raise _Fail(f"the network witness is not a readable .npz (zip) file: {e}") from None
    want = {"a": (m,), "W0": (m, d), "b": (m,), "W": (m, d)}
    arrays = {}
    with zf:
        infos = zf.infolist()
        have = [i.filename for i in infos]
        members = [f"{name}.npy" for name in names]
        if len(set(members)) != 4:
            raise _Fail(f"objects.network.arrays names a member twice: {', '.join(map(_short, names))}")
        if sorted(have) != sorted(members):
            shown = ", ".join(_short(h) for h in have[:6])
            raise _Fail(f"the network witness holds {shown}; the contract stores exactly {', '.join(members)}")
        for info in infos:
            role = _NETWORK_ROLES[members.index(info.filename)]
            most = 8 * math.prod(want[role]) + NPY_HEADER_MAX + 12
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise _Fail(f"witness member {info.filename} is compressed or encrypted; the contract stores members uncompressed")
            if info.file_size != info.compress_size or info.file_size > most:
                raise _Fail(f"witness member {info.filename} declares {info.file_size} bytes ({info.compress_size} stored); "
                            f"the array {role} of shape {want[role]} needs at most {most}")
        for role, member in zip(_NETWORK_ROLES, members):
            try:
                body = zf.read(member)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error, struct.error, NotImplementedError) as e:
                raise _Fail(f"witness member {member} cannot be read: {e}") from None
            arrays[role] = read_npy(body, member[:-4], want[role])
    (ai,), Da = _float_ints(arrays["a"][1])
    (wi, bi), Du = _float_ints(arrays["W"][1], arrays["b"][1])
    (w0i,), D0 = _float_ints(arrays["W0"][1])
    Wi = tuple(zip(*[iter(wi)] * d)) if d else tuple(() for _ in range(m))
    W0i = tuple(zip(*[iter(w0i)] * d)) if d else tuple(() for _ in range(m))
    return Network(m=m, d=d, sha256=sha256, Da=Da, ai=tuple(ai), Du=Du, Wi=Wi, bi=tuple(bi), D0=D0, W0i=W0i)


def _rebuild_fix(doc: dict) -> str:
    """The fix for a missing witness: keep it next to the certificate, or rebuild it with the
    command the producer recorded (its seeds make the witness bit for bit the same bytes,
    which the sha256 then confirms)."""
    argv = (doc.get("producer") or {}).get("argv")
    if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv) and argv[0] in ("build", "train"):
        cmd = terminal_safe("advcert " + " ".join(argv), 300)
        return f"{_WITNESS_FIX}; the producer rebuilds it bit for bit with `{cmd}` (producer.argv, run from the folder it was built in)"
    return _WITNESS_FIX


def _network_needed(doc: dict) -> list[str]:
    return [c["id"] for c in doc["checks"] if c["id"] in NETWORK_CHECKS and c["label"] in RIGOROUS_LABELS]


def _witness_file(base: Path, rel: str, limit: int) -> tuple[bytes | None, str, str]:
    """(bytes or None when absent, the path as shown, why absent) of the witness ``rel``.

    ``rel`` (schema-checked: relative, no '.' or '..' component) is resolved with every
    symbolic link followed and must stay inside the certificate's folder ``base``; the file
    is opened without following a link, non-blocking, and must be a regular file of at
    most ``limit`` bytes (:func:`advcert.verify.reading.read_regular`)."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or ".." in rel.split("/") or "\0" in rel:
        raise _Fail(f"objects.network.path = {_short(rel)} is not a path inside the certificate's folder")
    root = os.path.realpath(base)
    real = os.path.realpath(os.path.join(root, rel))
    shown = rel
    if os.path.commonpath([root, real]) != root:
        raise _Fail(f"objects.network.path = {_short(rel)} resolves outside the certificate's folder (a symbolic link?); "
                    "the witness must lie inside it")
    try:
        return read_regular(real, limit, nofollow=True), shown, ""
    except FileNotFoundError:
        return None, shown, "does not exist"
    except ValueError as e:
        raise _Fail(f"the network witness {_short(rel)} {e}") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _Fail(f"the network witness {_short(rel)} is a symbolic link; the contract needs a regular file") from None
        if e.errno in (errno.ENOTDIR, errno.EISDIR):
            raise _Fail(f"the network witness {_short(rel)} is not a regular file") from None
        return None, shown, f"cannot be read ({e.strerror or e})"


def _part_network(ctx: _Ctx) -> str:
    entry = ctx.doc["objects"].get("network")
    needed = _network_needed(ctx.doc)
    if entry is None:
        if needed:
            raise _Fail(f"check {needed[0]} is labelled rigorous, but objects.network (the witness it is about) is missing")
        return "no network witness (no check needs one)"
    names = entry.get("arrays", list(_NETWORK_ROLES))
    d = ctx.need("inst")["d"]
    m = entry["m"]
    if m * (d + 1) > MAX_ENTRIES:
        raise Refused(f"objects.network.m = {m} with d = {d} is a witness of {m * (d + 1)} entries per array pair, beyond "
                      f"this verifier's budget of {MAX_ENTRIES}", "see docs/certificate.md, Budgets")
    limit = witness_limit(m, d)
    rel = entry["path"]
    if ctx.witness is not None:
        raw, shown = ctx.witness, rel
    else:
        raw, shown, why = _witness_file(ctx.base or Path.cwd(), rel, limit)
        if raw is None:
            if needed:
                raise _MissingWitness(f"the network witness {terminal_safe(shown, 200)} {why}, and {needed[0]} needs it",
                                      _rebuild_fix(ctx.doc))
            return f"network witness {terminal_safe(shown, 200)} {why}; no rigorous check needs it"
    if len(raw) > limit:
        raise _Fail(f"the network witness has {len(raw)} bytes; four float64 arrays of m = {m}, d = {d} need at most {limit}")
    got = hashlib.sha256(raw).hexdigest()
    if got != entry["sha256"]:
        raise _Fail(f"objects.network.sha256 = {entry['sha256'][:16]}..., but the witness {_short(shown)} hashes to {got[:16]}...: "
                    "it is not the network the certificate was built with")
    ctx.network = read_witness(raw, m, d, names, got)
    return f"witness {_short(Path(rel).name)}: m = {m}, d = {d}, sha256 matches"
