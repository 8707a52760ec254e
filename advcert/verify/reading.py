"""Reading a file as a certificate: JSON without duplicate keys or non-finite numbers,
format and version, the JSON Schema, and the SHA-256 of the canonical form
(docs/certificate.md, "Canonical form and hash" and "Top level").

The schema (advcert/schema/certificate.schema.json) checks structure only; every
arithmetic claim is re-derived by the other modules of this package.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import jsonschema

from .context import _Ctx
from .numbers import _short
from .report import Unreadable, _Fail

FORMAT = "advcert-certificate"
VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schema" / "certificate.schema.json"

_REBUILD = "rebuild it with `advcert build`, or restore an unmodified copy"


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
    errors = list(_validator().iter_errors(doc))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        path = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        msg = err.message.replace("\n", " ")
        if len(msg) > 160:
            msg = msg[:157] + "..."
        raise Unreadable(f"schema violation at {path}: {msg}", f"the file does not follow format version 1 (docs/certificate.md); {_REBUILD}")


def _part_sha256(ctx: _Ctx) -> str:
    stored = ctx.doc["sha256"]
    got = canonical_sha256(ctx.doc)
    if got != stored:
        raise _Fail(f"the canonical form hashes to {got[:16]}..., the certificate says {stored[:16]}...: it was changed after it was written")
    return "matches the canonical form"


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise Unreadable(f"duplicate key {k!r} in a JSON object", f"a certificate never repeats a key; {_REBUILD}")
        out[k] = v
    return out


def _finite_float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):
        raise Unreadable(f"the number {s[:30]} is out of the binary64 range", f"the format holds finite numbers only; {_REBUILD}")
    return v


def _no_constant(s: str):
    raise Unreadable(f"non-finite number {s} in the JSON", f"the format holds finite numbers only; {_REBUILD}")


def load(path) -> dict:
    """Read a certificate file as JSON; raises :class:`Unreadable` with problem and fix."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise Unreadable(f"no such file: {p}", "check the path, or write a certificate with `advcert build`") from None
    except IsADirectoryError:
        raise Unreadable(f"{p} is a directory", "pass the certificate's .json file") from None
    except OSError as e:
        raise Unreadable(f"cannot open {p}: {e.strerror or e}", "check the path and its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"{p} is not UTF-8 text", "pass a JSON certificate written by `advcert build`") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise Unreadable(f"{p} is empty", _REBUILD)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_finite_float, parse_constant=_no_constant)
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
