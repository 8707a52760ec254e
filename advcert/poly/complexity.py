"""The complexity measures C(φ, ε) and C(φ) of Lemma 6.6 (= Allen-Zhu–Li–Liang Lemma 6.2).

For φ(z) = Σ_{j<=k} α_j z^j and an absolute constant c > 1 (AZLL's C*, their R set to 1),
math-spec §5 reads

    C(φ, ε) = Σ_j c^j (1 + (√(ln(1/ε)/j))^j) |α_j|      (the j = 0 factor is taken as 2)
    C(φ)    = c Σ_j (j + 1)^{1.75} |α_j|.

The square root's scope and the j = 0 term are ambiguous in the extraction; the reading
above is the one the explicit construction of h (``advcert.measured.h``) produces
(math-spec §12 item 9). ``c`` is a parameter, never a hidden default in formulas.

At the paper's scale these numbers are 2^100 .. 2^700, far outside float64 for c^j with
large j, so everything is computed in Arb ball arithmetic (exponents are unbounded there)
and reported as log2. Each function returns an Arb ball that contains the true value;
``log2_*`` helpers give the midpoint as a float for people and the upper end as a
rational for bounds.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from fractions import Fraction
from typing import Iterator, Sequence

from flint import arb, ctx, fmpq

_PREC = 128  # bits; inputs are exact rationals, so 128 bits gives ~30 correct digits of log2


@contextmanager
def precision(bits: int) -> Iterator[None]:
    """Run a block at Arb working precision ``bits`` and restore the previous one."""
    old = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = old


def as_arb(x: Fraction | int | float | str) -> arb:
    """The exact rational x as an Arb ball (exact when x is dyadic with few bits)."""
    x = Fraction(x)
    return arb(fmpq(x.numerator, x.denominator))


def _check(coefficients: Sequence[Fraction], c: Fraction | float | int) -> None:
    if len(coefficients) == 0:
        raise ValueError("φ needs at least one coefficient")
    if Fraction(c) <= 0:
        raise ValueError("the complexity constant c must be positive (AZLL take c > 1)")


def complexity_eps(coefficients: Sequence[Fraction], eps: Fraction, c: Fraction | float | int = 2) -> arb:
    """Ball containing C(φ, ε) = Σ_j c^j (1 + (√(ln(1/ε)/j))^j)|α_j| (Lemma 6.6, math-spec §5).

    The j = 0 factor (1 + (·)^0) is 2. ``coefficients`` are the exact monomial
    coefficients α_0 .. α_k of φ.
    """
    _check(coefficients, c)
    eps = Fraction(eps)
    if not 0 < eps < 1:
        raise ValueError("C(φ, ε) needs 0 < ε < 1")
    with precision(_PREC):
        cc = as_arb(Fraction(c))
        log_inv = (1 / as_arb(eps)).log()
        total = arb(0)
        for j, a in enumerate(coefficients):
            a = Fraction(a)
            if a == 0:
                continue
            if j == 0:
                factor = arb(2)
            else:
                # (√(L/j))^j = exp((j/2) ln(L/j)); L > 0 since ε < 1
                factor = 1 + ((log_inv / j).log() * j / 2).exp()
            total += as_arb(abs(a)) * cc ** j * factor
        return total


def complexity(coefficients: Sequence[Fraction], c: Fraction | float | int = 2) -> arb:
    """Ball containing C(φ) = c Σ_j (j + 1)^{1.75} |α_j| (Lemma 6.6, math-spec §5)."""
    _check(coefficients, c)
    with precision(_PREC):
        e = as_arb(Fraction(7, 4))
        total = arb(0)
        for j, a in enumerate(coefficients):
            a = Fraction(a)
            if a == 0:
                continue
            total += as_arb(abs(a)) * (e * arb(j + 1).log()).exp()
        return as_arb(Fraction(c)) * total


def log2_ball(x: arb) -> arb:
    """log2 of a positive ball (still a ball)."""
    with precision(_PREC):
        if not x > 0:
            raise ValueError("log2 of a ball that is not positive")
        return x.log() / arb(2).log()


def log2_mid(x: arb) -> float:
    """log2 of a positive ball as a float (its midpoint; for reports)."""
    return float(log2_ball(x).mid())


def upper_rational(x: arb, bits: int = 24) -> Fraction:
    """A rational >= every point of the ball x, on the grid 2^-bits (rounded outward)."""
    with precision(_PREC):
        hi = x.upper()
        scaled = hi * (1 << bits)
        n = int(math.ceil(float(scaled.mid()))) if abs(float(scaled.mid())) < 2**52 else None
        if n is None:
            raise ValueError("upper_rational: value too large for this helper; take log2 first")
        # the float rounding of the midpoint may have gone down: bump until certainly above
        while not (arb(n) >= scaled):
            n += 1
        return Fraction(n, 1 << bits)


def lower_rational(x: arb, bits: int = 24) -> Fraction:
    """A rational <= every point of the ball x, on the grid 2^-bits (rounded outward)."""
    return -upper_rational(-x, bits)


def log2_upper(x: arb, bits: int = 24) -> Fraction:
    """A rational upper bound of log2(x) on the grid 2^-bits (for sound-bound reports)."""
    return upper_rational(log2_ball(x), bits)


def eps2_for_lemma65(coefficients: Sequence[Fraction], eps: Fraction, n: int,
                     c: Fraction | float | int = 2, bits: int = 8) -> Fraction:
    """ε2 = min(ε/(9n), 1/(2 C(q))) rounded down to a dyadic (math-spec §6, the ε split).

    The second term is the hypothesis ε2 < 1/C(φ) of Lemma 6.6. When it is the smaller
    one it is irrational, so a dyadic m·2^-e with about ``bits`` significant bits certainly
    below it is returned (which keeps the hypothesis strict); otherwise ε/(9n) exactly.
    """
    eps = Fraction(eps)
    cap = eps / (9 * n)
    with precision(_PREC):
        inv = 1 / (2 * complexity(coefficients, c))
        if inv.upper() < as_arb(cap):
            # a rational certainly below the ball's lower end
            lo = inv.lower()
            e = -int(math.floor(float((lo.log() / arb(2).log()).mid()))) + bits + 2
            n_ = int(math.floor(float((lo * arb(2) ** e).mid()))) - 1
            while not (arb(n_) <= lo * arb(2) ** e):
                n_ -= 1
            return Fraction(n_, 1 << e)
    return cap
