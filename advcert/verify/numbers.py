"""The contract's numbers (docs/certificate.md, "Number formats"), read exactly.

Exact rationals are strings "p/q" in lowest terms, data are the exact binary64 values of
JSON numbers, estimates are JSON numbers; every comparison is made on flint ``fmpq``.
Also the short forms in which messages show them.
"""

from __future__ import annotations

import json
import math
import re

from flint import fmpq

from .report import _Fail

_RATIONAL = re.compile(r"^(0|-?[1-9][0-9]*)(/[1-9][0-9]*)?$")

MAX_RATIONAL_CHARS = 1 << 16
"""Budget (docs/certificate.md, "Budgets"): the longest rational string read, in characters.
A coefficient of p1 at the degree budget has about 5,000 digits; a string past this is
refused before it is parsed, so no field can make one number cost minutes."""


def _fmt(x) -> str:
    """A rational for a message: exact when short, else ~decimal or ~2^log2."""
    s = str(x)
    if len(s) <= 28:
        return s
    x = fmpq(x)
    if x == 0:
        return "0"
    lg = _log2(abs(x))
    if abs(lg) > 900:
        return f"{'-' if x < 0 else ''}~2^{lg:.3f}"
    # messages only; never on a certified path
    return f"~{int(x.p) / int(x.q):.12g}"


def _log2(x: fmpq) -> float:
    """log2 of a positive rational of any size (float, for comparing people's fields)."""
    p, q = int(x.p), int(x.q)
    sp, sq = max(p.bit_length() - 64, 0), max(q.bit_length() - 64, 0)
    return math.log2(p >> sp) + sp - math.log2(q >> sq) - sq


def _rat(s, where: str) -> fmpq:
    """Parse an exact rational string of the contract: ``"p/q"`` or ``"p"``, lowest terms."""
    if isinstance(s, str) and len(s) > MAX_RATIONAL_CHARS:
        raise _Fail(f"{where}: a rational of {len(s)} characters, beyond this verifier's budget of {MAX_RATIONAL_CHARS}")
    if not isinstance(s, str) or not _RATIONAL.match(s):
        raise _Fail(f"{where}: expected an exact rational string 'p/q', got {_short(s)}")
    x = fmpq(s)
    if str(x) != s:
        raise _Fail(f"{where}: {_short(s)} is not in lowest terms (write {_short(str(x))})")
    return x


def _dyadic(v, where: str) -> fmpq:
    """The exact binary64 value of a JSON number (the contract's reading of data)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Fail(f"{where}: expected a number, got {_short(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Fail(f"{where}: not a finite number")
    p, q = v.as_integer_ratio()
    return fmpq(p, q)


def _number(v, where: str) -> fmpq | None:
    """An estimate's number (JSON float) or rational string, exactly; None for null."""
    if v is None:
        return None
    if isinstance(v, str):
        return _rat(v, where)
    return _dyadic(v, where)


def _short(v) -> str:
    """A value of the file for a message: at most 40 characters, escaped (repr / JSON with
    ASCII escapes), so no control character of the file reaches a message."""
    if isinstance(v, str):
        s = repr(v[:60])
    elif isinstance(v, (list, dict)):
        s = "[...]" if isinstance(v, list) else "{...}"
        if len(v) <= 8:
            try:
                s = json.dumps(v)
            except (ValueError, TypeError, RecursionError):
                pass
    else:
        s = json.dumps(v) if v is None or isinstance(v, (bool, int, float)) else repr(v)
        if isinstance(v, int) and not isinstance(v, bool) and len(s) > 40:
            s = s[:37] + "..."
    return s if len(s) <= 40 else s[:37] + "..."


def _cmp(a: fmpq, rel: str, b: fmpq) -> bool:
    return a <= b if rel == "<=" else a >= b
