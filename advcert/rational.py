"""Exact numbers at the edges of the tool.

User numbers are parsed from their decimal string with :class:`fractions.Fraction`
(``--gamma 0.1`` means 1/10, not the binary64 number nearest to it), and exact values are
written to certificates as strings ``"p/q"`` so that no JSON parser can round them.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from advcert.errors import InputError

_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_RATIO = re.compile(r"^[+-]?\d+/\d+$")


#: the longest number and the largest decimal exponent a user may type: Fraction("1e999999999")
#: would build a billion-digit integer before anything could refuse it
MAX_NUMBER_CHARS = 200
MAX_EXPONENT = 400


def parse_number(text: str, name: str) -> Fraction:
    """Parse a user-supplied decimal (``0.05``, ``5e-2``) or ratio (``1/20``) exactly.

    Work is bounded before it starts: at most ``MAX_NUMBER_CHARS`` characters and a decimal
    exponent of at most ``MAX_EXPONENT`` in size.
    """
    s = str(text).strip()
    if len(s) > MAX_NUMBER_CHARS:
        raise InputError(f"{name} has {len(s)} characters, more than {MAX_NUMBER_CHARS}",
                         "write it as a short decimal such as 0.05 or a ratio such as 1/20")
    m = _DECIMAL.match(s)
    if m and m.group(3) and abs(int(m.group(3)[1:])) > MAX_EXPONENT:
        raise InputError(f"{name} has the exponent {m.group(3)[1:]}, beyond ±{MAX_EXPONENT}",
                         "pass a number of sensible size, such as 0.05 or 1e-3")
    if m or _RATIO.match(s):
        try:
            return Fraction(s)
        except (ValueError, ZeroDivisionError):
            pass
    raise InputError(
        f"{name} must be a number, got {text!r}",
        f"write it as a decimal such as 0.05 or a ratio such as 1/20",
    )


def to_str(x: Fraction | int) -> str:
    """``"p/q"`` (or ``"p"`` for integers): the certificate's exact number format."""
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def from_str(s: str) -> Fraction:
    """Inverse of :func:`to_str`."""
    return Fraction(s)


def log2(x: Fraction | int) -> float:
    """log2 of a positive rational of any size (float result, for reporting only)."""
    x = Fraction(x)
    if x <= 0:
        raise ValueError("log2 of a non-positive number")
    p, q = x.numerator, x.denominator
    sp, sq = max(p.bit_length() - 60, 0), max(q.bit_length() - 60, 0)
    return math.log2(p >> sp) + sp - math.log2(q >> sq) - sq


def sqrt_bounds(x: Fraction, bits: int = 96) -> tuple[Fraction, Fraction]:
    """Rational lo <= sqrt(x) <= hi with hi - lo <= 2**-bits * (1 + sqrt(x)), by integer sqrt."""
    if x < 0:
        raise ValueError("sqrt of a negative number")
    scale = 1 << (2 * bits)
    # floor(sqrt(x * 4^bits)) via isqrt of floor(p * 4^bits / q)
    n = (x.numerator * scale) // x.denominator
    r = math.isqrt(n)
    lo = Fraction(r, 1 << bits)
    hi = Fraction(r + 1, 1 << bits)
    return lo, hi


def _round(x: Fraction, digits: int, up: bool) -> Fraction:
    """x rounded to ``digits`` significant decimal digits, towards +inf (up) or -inf."""
    x = Fraction(x)
    if x == 0:
        return x
    if x < 0:
        return -_round(-x, digits, not up)
    e = len(str(x.numerator // x.denominator)) if x >= 1 else -len(str(x.denominator // x.numerator)) + 1
    scale = Fraction(10) ** (digits - e)
    n = x * scale
    n_int = -((-n.numerator) // n.denominator) if up else n.numerator // n.denominator
    return Fraction(n_int) / scale


def round_up(x: Fraction, digits: int = 6) -> Fraction:
    """A short rational >= x (``digits`` significant decimal digits), for readable bounds."""
    return _round(x, digits, True)


def round_down(x: Fraction, digits: int = 6) -> Fraction:
    """A short rational <= x (``digits`` significant decimal digits)."""
    return _round(x, digits, False)


def to_decimal(x: Fraction) -> str:
    """The exact decimal text of a rational whose denominator divides a power of ten (as :func:`round_down` gives)."""
    x = Fraction(x)
    k = 0
    while (x * 10**k).denominator != 1:
        k += 1
        if k > 4 * x.denominator.bit_length() + 4:
            raise ValueError(f"{x} has no finite decimal expansion")
    n = x * 10**k
    sign, digits = ("-" if n < 0 else ""), str(abs(n.numerator))
    if k == 0:
        return sign + digits
    digits = digits.rjust(k + 1, "0")
    return f"{sign}{digits[:-k]}.{digits[-k:]}"
