"""Lemma 6.6's identity in ball arithmetic: E[1{<u,x>+β>=0} h(<w*,u>, β)] − q(z) on [−1, 1].

For the h of :mod:`advcert.measured.h` (math-spec §5, the dyadic P̃_i it stores), with
A = <w*,u>, B = <u,x> standard normals of correlation z and β independent, Mehler's formula
and the half-line integral give (math-spec §5.1)

    E(z) − q(z) = Σ_i α_i z^i (P_i/P̃_i − 1) − Σ_i (α_i/P̃_i) T_i(z),
    T_i(z) = E[He_i(A) 1{|A| > B_t} ω_i(β) 1{B + β >= 0}],

and |T_i(z)| <= √(2 i! Φ(−B_t)) by Cauchy–Schwarz, for every z. With |P_i/P̃_i − 1| <= 2^-p
(proved by the builder from its Arb enclosures, re-proved by the verifier from its own),
on a piece Z of a subdivision of [−1, 1] with M = max_{z∈Z} |z|,

    |E(z) − q(z)| <= b(Z) := 2^-p Σ_i |α_i| M^i + Σ_i (|α_i|/P̃_i) √(2 i! Φ(−B_t)),

so [−b(Z), b(Z)] encloses E − q on Z, and the largest b(Z) bounds sup_z |E − q|. Every b(Z) is
rounded up to 40 significant bits, so an independent re-derivation in Arb lands inside it.

The range of h (Lemma 6.6's h: R² → [−C(q, ε2), C(q, ε2)]): sup|h| <= C_h =
Σ_i (|α_i|/P̃_i) Ĥe_i(B_t), an exact rational, against C(q, ε2) at the certificate's c; when
C_h is above it, a point (a*, β*) where |h| is evaluated in Arb gives a lower bound of sup|h|.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from flint import arb

from advcert.config import MAX_COMPLEXITY_C
from advcert.measured.h import Features, _upper_q, abs_hermite_all
from advcert.poly.complexity import as_arb, complexity_eps, log2_ball, lower_rational, precision, upper_rational

#: pieces of the uniform subdivision of [−1, 1] (dyadic end points)
PIECES = 32

#: significant bits of each stored b(Z) after rounding up (math-spec §5.1)
ROUND_BITS = 40


@dataclass(frozen=True)
class IdentityEnclosure:
    """Enclosures of E(z) − q(z) on the pieces of [−1, 1] (Lemma 6.6, math-spec §5.1).

    ``pieces[k]`` = (z_lo, z_hi); ``enclosures[k]`` = (−b, b) with E − q in it on the piece;
    ``tail_bound`` bounds the truncation part, ``p_bound`` is 2^-p Σ|α_i| (the P̃_i part at
    |z| = 1); ``sup_bound`` = max_k b, a proved upper bound of sup_{[−1,1]} |E − q|.
    """

    pieces: tuple[tuple[Fraction, Fraction], ...]
    enclosures: tuple[tuple[Fraction, Fraction], ...]
    tail_bound: Fraction
    p_bound: Fraction
    sup_bound: Fraction
    seconds: float


def tail_sum(alpha: Sequence[Fraction], P_used: Sequence[Fraction], B_t: Fraction, bits: int) -> arb:
    """Σ_i (|α_i|/P̃_i) √(2 i! Φ(−B_t)): Cauchy–Schwarz on the truncation terms T_i (math-spec §5.1)."""
    with precision(bits):
        phi = (as_arb(B_t) / arb(2).sqrt()).erfc() / 2
        s = arb(0)
        for i, a in enumerate(alpha):
            if a != 0:
                s += as_arb(abs(Fraction(a)) / Fraction(P_used[i])) * (2 * arb.fac_ui(i) * phi).sqrt()
        return s


def identity_enclosure(feat: Features, pieces: int = PIECES) -> IdentityEnclosure:
    """Enclose E(z) − q(z) on ``pieces`` equal pieces of [−1, 1] for the h of ``feat`` (Lemma 6.6).

    Reuses the builder's P̃_i and their proved accuracy 2^-p (``feat.p_bits``); nothing is
    integrated again. Exact rationals throughout except the tail, an Arb upper bound.
    """
    t0 = time.perf_counter()
    alpha = feat.alpha
    tail = _upper_q(tail_sum(alpha, feat.P_used, feat.B_t, feat.p_bits + 64))
    scale = Fraction(1, 2**feat.p_bits)
    abs_alpha = [abs(a) for a in alpha]
    edges = [Fraction(-1) + Fraction(2 * k, pieces) for k in range(pieces + 1)]
    out_p, out_e = [], []
    for lo, hi in zip(edges, edges[1:]):
        M = max(abs(lo), abs(hi))
        s = Fraction(0)
        for a in reversed(abs_alpha):
            s = s * M + a
        b = _round_up(scale * s + tail)
        out_p.append((lo, hi))
        out_e.append((-b, b))
    p_bound = _round_up(scale * sum(abs_alpha))
    return IdentityEnclosure(pieces=tuple(out_p), enclosures=tuple(out_e), tail_bound=tail, p_bound=p_bound,
                             sup_bound=max(b for _, b in out_e), seconds=time.perf_counter() - t0)


def _round_up(x: Fraction) -> Fraction:
    """x rounded up to ROUND_BITS significant bits (x >= 0)."""
    if x <= 0:
        return Fraction(0)
    e = x.numerator.bit_length() - x.denominator.bit_length() - ROUND_BITS
    unit = Fraction(2) ** e
    return -((-x) // unit) * unit


@dataclass(frozen=True)
class RangeBound:
    """sup|h| against C(q, ε2) at the constant c (Lemma 6.6's range, math-spec §5.1).

    ``log2_C_h`` >= log2 of the exact C_h = Σ (|α_i|/P̃_i) Ĥe_i(B_t); ``log2_C_q_eps2_lower``
    <= log2 C(q, ε2); ``holds`` when the first is <= the second. Otherwise ``witness`` =
    (a*, β*, log2 lower bound of |h(a*, β*)|) and ``c_fit`` the least c on the grid 1/16 with
    C(q, ε2; c) >= C_h for this h (ε2 and h unchanged).
    """

    c: Fraction
    log2_C_h: Fraction
    log2_C_q_eps2_lower: Fraction
    holds: bool
    witness: tuple[Fraction, Fraction, float] | None
    c_fit: Fraction | None
    seconds: float


def c_h_exact(feat: Features) -> Fraction:
    """C_h = Σ_i (|α_i|/P̃_i) Ĥe_i(B_t), exactly: sup_{|a|<=B_t, β} |h(a, β)| <= C_h (§5 item 5)."""
    H = abs_hermite_all(len(feat.alpha) - 1, feat.B_t)
    return sum((abs(a) / feat.P_used[i] * H[i] for i, a in enumerate(feat.alpha) if a != 0), Fraction(0))


def _h_point(feat: Features, a: Fraction, sign: int, bits: int) -> arb:
    """h(a, β) for β beyond every root of He_{i−1} (sign +1: β → −∞, all ω_i = 1; −1: β → +∞,
    ω_i = (−1)^{i−1}), in Arb."""
    with precision(bits):
        A = as_arb(a)
        he_prev, he = arb(0), arb(1)
        total = as_arb(feat.alpha[0] / feat.P_used[0])
        for i in range(1, len(feat.alpha)):
            he_prev, he = he, A * he - (i - 1) * he_prev
            w = 1 if sign > 0 or i % 2 == 1 else -1
            total += as_arb(feat.alpha[i] / feat.P_used[i]) * he * w
        return total


def _witness_beta(feat: Features, sign: int) -> Fraction:
    # a β past every root of He_{i−1}, i <= D (all within 2√D + 1), with the sign the pattern needs
    reach = 2 * int(len(feat.alpha) ** 0.5 + 1) + 2
    return Fraction(-reach if sign > 0 else reach)


def range_bound(feat: Features, c: Fraction) -> RangeBound:
    """sup|h| <= C(q, ε2) at the constant c? The sound side, and a witness when it does not fit (Lemma 6.6)."""
    t0 = time.perf_counter()
    c = Fraction(c)
    with precision(feat.p_bits + 64):
        ch = as_arb(c_h_exact(feat))
        log2_ch = upper_rational(log2_ball(ch)) if ch > 0 else Fraction(-64)
        lower = lower_rational(log2_ball(complexity_eps(feat.alpha, feat.eps2, c)))
    if log2_ch <= lower:
        return RangeBound(c, log2_ch, lower, True, None, None, time.perf_counter() - t0)
    bits = 2 * feat.p_bits + 4 * len(feat.alpha) + 64
    best = None
    for a in (feat.B_t, -feat.B_t, feat.B_t * 7 / 8, -feat.B_t * 7 / 8):
        for sign in (1, -1):
            v = abs(_h_point(feat, a, sign, bits))
            if v.lower() > 0:
                # rounded down to 2^-20, so that the stored float stays below the exact value
                lg = float(lower_rational(log2_ball(v), 20))
                if best is None or lg > best[2]:
                    best = (a, _witness_beta(feat, sign), lg)
    c_fit = c
    with precision(feat.p_bits + 64):
        while c_fit < MAX_COMPLEXITY_C and not lower_rational(log2_ball(complexity_eps(feat.alpha, feat.eps2, c_fit))) >= log2_ch:
            c_fit += Fraction(1, 16)
    return RangeBound(c, log2_ch, lower, False, best, c_fit if c_fit < MAX_COMPLEXITY_C else None, time.perf_counter() - t0)
