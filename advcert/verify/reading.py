"""Reading a file as a certificate: JSON without duplicate keys or non-finite numbers,
format and version, the JSON Schema, and the SHA-256 of the canonical form
(docs/certificate.md, "Canonical form and hash" and "Top level").

The schema (advcert/schema/certificate.schema.json) checks structure only; every
arithmetic claim is re-derived by the other modules of this package.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import stat
from pathlib import Path

import jsonschema

from .context import _Ctx
from .numbers import _short
from .report import Unreadable, _Fail, terminal_safe

FORMAT = "advcert-certificate"
VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schema" / "certificate.schema.json"

_REBUILD = "rebuild it with `advcert build`, or restore an unmodified copy"

MAX_CERTIFICATE_BYTES = 64 << 20
"""Budget: the largest certificate file read (64 MiB; the shipped ones are under 5 MiB)."""
MAX_DEPTH = 32
"""Budget: the deepest nesting of JSON arrays and objects (a certificate nests about 12 deep)."""
MAX_INT_DIGITS = 100
"""Budget: the most digits of a JSON integer (counts, indices and seeds; exact values are strings)."""

_KIND = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((what for test, what in _KIND if test(mode)), "not a regular file")


def read_regular(path, limit: int, *, nofollow: bool = False) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Opened with O_NONBLOCK (a FIFO never blocks the open) and, when ``nofollow``, O_NOFOLLOW
    (the last component may not be a symbolic link); the kind and size are taken from the
    opened descriptor (fstat) before a byte is read, and at most ``limit`` + 1 bytes are read,
    so a device, a FIFO, a growing or a huge file costs nothing. Raises OSError (with errno)
    or :class:`ValueError` with the reason in words.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if nofollow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"is {file_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise ValueError(f"has {st.st_size} bytes, more than the {limit} this verifier reads")
        chunks, total = [], 0
        while total <= limit:
            b = os.read(fd, min(1 << 22, limit + 1 - total))
            if not b:
                break
            chunks.append(b)
            total += len(b)
        if total > limit:
            raise ValueError(f"grew past {limit} bytes while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_deep(doc) -> bool:
    """Whether arrays and objects nest deeper than MAX_DEPTH (iterative: no recursion)."""
    stack = [(doc, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((x, depth + 1) for x in v if isinstance(x, (dict, list)))
    return False


def canonical_sha256(doc: dict) -> str:
    """The contract's hash: SHA-256 of the canonical JSON of the document minus ``sha256``."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SCHEMA_VALIDATOR: jsonschema.Draft202012Validator | None = None


def _validator() -> jsonschema.Draft202012Validator:
    global _SCHEMA_VALIDATOR
    if _SCHEMA_VALIDATOR is None:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        _SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(schema)
    return _SCHEMA_VALIDATOR


def _route_note(err) -> str | None:
    """The description of the innermost subschema on the failed error's way through the
    schema's top-level ``allOf`` (the route conditional, docs/certificate.md "Routes"), or
    None for any other error: why a key is required or must be absent on that route."""
    where = list(err.absolute_schema_path)
    if where[:1] != ["allOf"]:
        return None
    node, note = _validator().schema, None
    for k in where:
        if not isinstance(node, (dict, list)):
            break
        if isinstance(node, dict) and isinstance(node.get("description"), str):
            note = node["description"]
        try:
            node = node[k]
        except (KeyError, IndexError, TypeError):
            break
    return note


def _check_readable(doc) -> None:
    """Format, version and schema; raises :class:`Unreadable`."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise Unreadable(
            f"not an advcert certificate (no \"format\": \"{FORMAT}\" at the top level)",
            "pass a certificate written by `advcert build`",
        )
    v = doc.get("version")
    if type(v) is not int or v != VERSION:
        raise Unreadable(
            f"certificate format version {_short(v)} is not supported (this verifier reads version {VERSION})",
            "verify it with the advcert release that wrote it, or rebuild it with this release's `advcert build`",
        )
    if _too_deep(doc):  # a document handed in directly has not been through load()
        raise Unreadable(f"the document nests deeper than {MAX_DEPTH} levels", "pass a certificate written by `advcert build`")
    errors = list(_validator().iter_errors(doc))
    if errors:
        # a structural error (an unknown route among them) is reported before what the route
        # conditional asks of the others; of the conditional's, the first in the schema's
        # order (objects before parameters: a missing p1 before its parameters)
        structural = [e for e in errors if list(e.absolute_schema_path)[:1] != ["allOf"]]
        err = jsonschema.exceptions.best_match(structural) if structural else errors[0]
        path = terminal_safe("/".join(str(p) for p in err.absolute_path) or "(top level)", 200)
        if list(err.absolute_path)[-3:] == ["objects", "network", "path"]:
            msg = (f"{_short(err.instance)} is not a path relative to the certificate's folder (no leading /, "
                   "no '.' or '..' component, no backslash or control character, at most 1024 characters)")
        elif err.validator == "not" and err.validator_value == {} and err.absolute_path:
            msg = f"{terminal_safe(str(err.absolute_path[-1]), 80)} must be absent"
        else:
            msg = terminal_safe(err.message.replace("\n", " "), 160)
        note = _route_note(err)
        if note:
            msg += f" ({terminal_safe(note, 300)})"
        raise Unreadable(f"schema violation at {path}: {msg}", f"the file does not follow format version 1 (docs/certificate.md); {_REBUILD}")


def _part_sha256(ctx: _Ctx) -> str:
    stored = ctx.doc["sha256"]
    got = canonical_sha256(ctx.doc)
    if got != stored:
        # exit 1 at once: the caller stops at the first failed part, so a forged file
        # costs no more than this hash
        raise _Fail(f"the canonical form hashes to {got[:16]}..., the certificate says {stored[:16]}...: it was changed after it was written")
    return "matches the canonical form"


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise Unreadable(f"duplicate key {_short(k)} in a JSON object", f"a certificate never repeats a key; {_REBUILD}")
        out[k] = v
    return out


def _bounded_int(s: str) -> int:
    digits = len(s) - (s[:1] == "-")
    if digits > MAX_INT_DIGITS:
        raise Unreadable(f"an integer of {digits} digits in the JSON (this verifier reads at most {MAX_INT_DIGITS})",
                         f"exact values are rational strings; {_REBUILD}")
    return int(s)


def _finite_float(s: str) -> float:
    if len(s) > 1000:
        raise Unreadable(f"a number literal of {len(s)} characters in the JSON", f"the format writes shortest round-trip floats; {_REBUILD}")
    v = float(s)
    if not math.isfinite(v):
        raise Unreadable(f"the number {s[:30]} is out of the binary64 range", f"the format holds finite numbers only; {_REBUILD}")
    return v


def _no_constant(s: str):
    raise Unreadable(f"non-finite number {_short(s)} in the JSON", f"the format holds finite numbers only; {_REBUILD}")


def load(path) -> dict:
    """Read a certificate file as JSON; raises :class:`Unreadable` with problem and fix."""
    p = Path(path)
    try:
        raw = read_regular(p, MAX_CERTIFICATE_BYTES)
    except FileNotFoundError:
        raise Unreadable(f"no such file: {p}", "check the path, or write a certificate with `advcert build`") from None
    except ValueError as e:
        raise Unreadable(f"{p} {e}", "pass the certificate's .json file written by `advcert build`") from None
    except OSError as e:
        why = "it is a directory" if e.errno == errno.EISDIR else (e.strerror or str(e))
        raise Unreadable(f"cannot open {p}: {why}", "check the path and its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"{p} is not UTF-8 text", "pass a JSON certificate written by `advcert build`") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise Unreadable(f"{p} is empty", _REBUILD)
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_finite_float, parse_int=_bounded_int,
                         parse_constant=_no_constant)
    except Unreadable:
        raise
    except json.JSONDecodeError as e:
        tail = text[e.pos:].strip() == "" or e.msg.startswith("Unterminated")
        what = "the JSON ends early (the file looks truncated)" if tail else f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
        raise Unreadable(f"{p}: {what}", _REBUILD) from None
    except RecursionError:
        raise Unreadable(f"{p}: the JSON is nested too deeply", "pass a certificate written by `advcert build`") from None
    except ValueError as e:  # e.g. an integer literal over Python's digit limit
        raise Unreadable(f"{p}: unreadable number ({e})", _REBUILD) from None
    except MemoryError:
        raise Unreadable(f"{p}: the JSON does not fit in memory", "pass a certificate written by `advcert build`") from None
    if _too_deep(doc):
        raise Unreadable(f"{p}: the JSON nests deeper than {MAX_DEPTH} levels", "pass a certificate written by `advcert build`")
    return doc
