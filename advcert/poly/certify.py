"""Rigorous sup-norms of polynomial errors (used by Lemma 6.4 and Claim 6.3).

``sup_abs_error(P, c, a, b)`` encloses s = max_{x in [a, b]} |P(x) - c| for an exact
rational polynomial P: it returns rationals lo <= s <= hi.

Method: Arb-ball branch and bound over centred (Taylor-shifted) forms. For a piece
[m - h, m + h], the coefficients t_j of P(m + t) are computed in ball arithmetic at a
precision chosen from the coefficient sizes, and

    max_{|t| <= h} |P(m + t) - c| <= |t_0 - c| + Σ_{j>=1} |t_j| h^j,

while |P(m) - c| (lower end of its ball) is attained, so it bounds s from below. The
piece with the largest upper bound is split until that bound is within ``rel_tol`` of the
best lower bound. Ball Horner on the monomial form over an interval is never used: its
radius explodes by 2^77..2^156 at these degrees (perf-notes §3).

The independent verifier re-proves each upper bound by a different, exact method.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from fractions import Fraction

from flint import arb, arb_poly, ctx, fmpq, fmpq_poly

from advcert.rational import log2, round_down, round_up  # noqa: F401  (re-exported: the bounds' short forms)


@dataclass(frozen=True)
class SupEnclosure:
    """lo <= max_{x in [a, b]} |P(x) - c| <= hi, with |P(witness) - c| >= lo."""

    lo: Fraction
    hi: Fraction
    witness: Fraction
    interval: tuple[Fraction, Fraction]
    pieces: int
    precision: int
    seconds: float


def _arb_to_fraction(x: arb) -> Fraction:
    """The exact value of a point arb (an upper() or lower() endpoint) as a Fraction."""
    man, exp = x.mid().man_exp()
    man, exp = int(man), int(exp)
    return Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)


def _upper(x: arb) -> Fraction:
    return _arb_to_fraction(x.upper())


def _lower(x: arb) -> Fraction:
    return _arb_to_fraction(x.lower())


def sup_abs_error(
    poly: fmpq_poly,
    target: Fraction,
    a: Fraction,
    b: Fraction,
    *,
    rel_tol: Fraction = Fraction(1, 1 << 8),
    max_pieces: int = 50_000,
) -> SupEnclosure:
    """Enclose max_{x in [a, b]} |poly(x) - target| (the error certificates of Lemma 6.4 and
    Claim 6.3). Returns exact rationals; see the module docstring for the method."""
    a, b, target = Fraction(a), Fraction(b), Fraction(target)
    if not a <= b:
        raise ValueError(f"empty interval [{a}, {b}]")
    t0 = time.perf_counter()
    coeffs = poly.coeffs() or [fmpq(0)]  # the zero polynomial has no coefficients in flint
    size = sum(abs(Fraction(int(c.p), int(c.q))) for c in coeffs) or Fraction(1)
    scale = max(abs(a), abs(b), Fraction(1))
    # enough bits that rounding in the shifted coefficients stays far below the error sizes
    # we resolve (2^-64 against values ~1e-4 and a 2^-8 tolerance): log2 Σ|c_j| |x|^j plus a margin.
    prec = max(128, int(log2(size) + len(coeffs) * log2(scale)) + 64)
    old = ctx.prec
    ctx.prec = prec
    try:
        p_arb = arb_poly([arb(fmpq(int(c.p), int(c.q))) for c in coeffs])
        c_arb = arb(fmpq(target.numerator, target.denominator))

        def piece(lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction, Fraction]:
            m = (lo + hi) / 2
            h = (hi - lo) / 2
            m_arb = arb(fmpq(m.numerator, m.denominator))
            shifted = p_arb(arb_poly([m_arb, 1])).coeffs() or [arb(0)]
            a0 = shifted[0] - c_arb
            h_arb = arb(fmpq(h.numerator, h.denominator))
            b1 = shifted[1] if len(shifted) > 1 else arb(0)
            c2 = shifted[2] if len(shifted) > 2 else arb(0)
            # the quadratic part is maximised exactly (ends and vertex); only the cubic and
            # higher terms are bounded crudely, which prunes pieces far sooner near ripples
            hp = h_arb * h_arb
            tail = arb(0)
            for t in shifted[3:]:
                hp = hp * h_arb
                tail += abs(t) * hp
            quad = max(_upper(abs(a0 + b1 * h_arb + c2 * h_arb * h_arb)),
                       _upper(abs(a0 - b1 * h_arb + c2 * h_arb * h_arb)))
            if h > 0:
                if c2.contains(0):
                    quad = max(quad, _upper(abs(a0) + abs(b1) * h_arb + abs(c2) * h_arb * h_arb))
                elif not (abs(b1) > 2 * abs(c2) * h_arb):  # the vertex may lie inside
                    quad = max(quad, _upper(abs(a0 - b1 * b1 / (4 * c2))))
            return _lower(abs(a0)), quad + _upper(tail), m

        best_lo, witness = Fraction(-1), a
        heap: list[tuple[Fraction, Fraction, Fraction, Fraction]] = []
        for x in (a, b):  # endpoints are often where the sup sits
            lo_x, _, _ = piece(x, x)
            if lo_x > best_lo:
                best_lo, witness = lo_x, x
        start = 8 if b > a else 1
        edges = [a + (b - a) * i / start for i in range(start + 1)]
        count = 0
        for lo, hi in zip(edges, edges[1:]):
            lo_v, up, m = piece(lo, hi)
            count += 1
            if lo_v > best_lo:
                best_lo, witness = lo_v, m
            heapq.heappush(heap, (-up, lo, hi, m))
        if b == a:
            heap = [(-best_lo, a, a, a)]
        while True:
            neg_up, lo, hi, _ = heap[0]
            up = -neg_up
            if up <= best_lo * (1 + rel_tol) or count >= max_pieces:
                break
            heapq.heappop(heap)
            mid = (lo + hi) / 2
            for l2, h2 in ((lo, mid), (mid, hi)):
                lo_v, up2, m = piece(l2, h2)
                count += 1
                if lo_v > best_lo:
                    best_lo, witness = lo_v, m
                if up2 > best_lo:
                    heapq.heappush(heap, (-up2, l2, h2, m))
            if not heap:
                break
        hi_bound = -heap[0][0] if heap else best_lo
        hi_bound = max(hi_bound, best_lo)
    finally:
        ctx.prec = old
    return SupEnclosure(
        lo=max(best_lo, Fraction(0)),
        hi=hi_bound,
        witness=witness,
        interval=(a, b),
        pieces=count,
        precision=prec,
        seconds=time.perf_counter() - t0,
    )
