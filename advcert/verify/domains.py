"""The sets a sup of Theorem 5.3 is taken over, and exact upper bounds of linear maps on them
(docs/certificate.md, "The Theorem 5.3 bound": the cap B_2(x_i, rho) ∩ X of the claim, or
the l2 ball B_2(x_i, rho) that contains it).

Everything is decided in integers; the only roundings are upward square roots with 64
extra bits and outward pre-activation ranges on a grid 2^-128 finer than the data's scale,
each of which keeps an upper bound an upper bound.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

from flint import fmpq

from .report import _Fail
from .witness import Network


# Extra bits the verifier keeps where it rounds (square roots, the grid of the
# pre-activation ranges, chord slopes): its own slack is ~2^-64 .. 2^-128 of the scale of
# the numbers, far below any float64 builder's rounding margin.
_SQRT_BITS = 64
_GRID_BITS = 128


def _ceil_sqrt(n: int) -> int:
    """The least integer >= sqrt(n), n >= 0."""
    if n < 0:
        raise _Fail(f"square root of a negative number ({n}) in the Theorem 5.3 re-derivation")
    s = math.isqrt(n)
    return s if s * s == n else s + 1


def _common(xs) -> tuple[list[int], int]:
    """Integers u and one denominator D > 0 with xs = u / D exactly (D the lcm of the denominators)."""
    D = 1
    for x in xs:
        q = int(x.q)
        if D % q:
            D = D * q // math.gcd(D, q)
    return [int(x.p) * (D // int(x.q)) for x in xs], D


@dataclass(frozen=True)
class Domain:
    """The set a sup of Theorem 5.3 is taken over, for one centre x0 (exact).

    ``kind`` 'cap': B_2(x0, rho) ∩ X. Every point of X is x = (sqrt3/2 v, 1/2) with
    |v| = 1, and ||x - x0||^2 <= rho^2 reads sqrt3 <v, p> >= N with p = x0[:d-1] and
    N = 3/4 + ||p||^2 + (x0_d - 1/2)^2 - rho^2. ``empty`` when N > 0 and N^2 > 3 ||p||^2.
    ``kind`` 'ball': the l2 ball B_2(x0, rho) in R^d (it contains the cap).
    ``Pi`` = x0 * ``Dp`` (integers), ``P2i`` = ||p||^2 Dp^2, N = ``Nn``/``Nd``.
    """

    kind: str
    x0: tuple
    rho: fmpq
    Pi: tuple
    Dp: int
    P2i: int
    Nn: int
    Nd: int
    empty: bool


def make_domain(kind: str, x0, rho: fmpq) -> Domain:
    """The exact description of B_2(x0, rho) ∩ X ('cap') or B_2(x0, rho) ('ball') (Theorem 5.3)."""
    if kind not in ("cap", "ball"):
        raise _Fail(f"domain {kind!r} is neither 'cap' nor 'ball'")
    Pi, Dp = _common(x0)
    P2i = sum(v * v for v in Pi[:-1])
    h = x0[-1] - fmpq(1, 2)
    N = fmpq(3, 4) + fmpq(P2i, Dp * Dp) + h * h - rho * rho
    empty = kind == "cap" and N > 0 and N * N > 3 * fmpq(P2i, Dp * Dp)
    return Domain(kind, tuple(x0), rho, tuple(Pi), Dp, P2i, int(N.p), int(N.q), empty)


def cap_sup_up(Ti: int, N2i: int, Du: int, dom: Domain) -> tuple[int, int]:
    """(num, den) with num/den >= sup over the cap of <(u, 0), x> = sqrt3/2 sup{<u, v> : |v| = 1, sqrt3 <v, p> >= N}.

    u = u_int / Du, given by Ti = <u_int, p_int> and N2i = ||u_int||^2. When u/|u| lies in
    the cap the sup is sqrt(3 ||u||^2)/2; otherwise its maximiser is on the cap's boundary
    and the sup is (t N + sqrt((||u||^2 P^2 - t^2)(3 P^2 - N^2))) / (2 P^2), t = <u, p>.
    The case is decided exactly (squaring with the signs in hand); only the final square
    root is rounded, up, with 64 extra bits.
    """
    if N2i == 0:
        return 0, 1
    Nn, Nd, Dp, P2i = dom.Nn, dom.Nd, dom.Dp, dom.P2i
    k = _SQRT_BITS
    # sqrt3 t >= N |u|, i.e. 3 Ti^2 Nd^2 against Nn^2 N2i Dp^2 with the signs in hand
    lhs, rhs = 3 * Ti * Ti * Nd * Nd, Nn * Nn * N2i * Dp * Dp
    inside = (Nn <= 0 or lhs >= rhs) if Ti >= 0 else (Nn <= 0 and lhs <= rhs)
    if inside:
        return _ceil_sqrt((3 * N2i) << (2 * k)), (2 * Du) << k
    if P2i == 0:
        raise _Fail("the cap is empty (p = 0 and N > 0)")
    G = N2i * P2i - Ti * Ti  # (||u||^2 P^2 - t^2) Du^2 Dp^2 >= 0 (Cauchy-Schwarz)
    H = 3 * P2i * Nd * Nd - Nn * Nn * Dp * Dp  # (3 P^2 - N^2) Dp^2 Nd^2 >= 0 on a proper cap
    return ((Ti * Nn * Dp) << k) + _ceil_sqrt((G * H) << (2 * k)), (2 * Du * Nd * P2i) << k


def _norm_up(N2i: int, Du: int, rho: fmpq) -> tuple[int, int]:
    """(num, den) >= rho ||u|| for u = u_int / Du with N2i = ||u_int||^2."""
    k = _SQRT_BITS
    return int(rho.p) * _ceil_sqrt(N2i << (2 * k)), (int(rho.q) * Du) << k


def linear_sup_up(lam, dom: Domain) -> fmpq:
    """Upper bound of sup over the domain of <Lambda, x> (Lambda of length d, exact rationals).

    Cap: Lambda_d / 2 + sup over the cap of <(Lambda', 0), x> (:func:`cap_sup_up`); ball:
    <Lambda, x0> + rho ||Lambda||.
    """
    u, Du = _common(lam)
    Pi = dom.Pi
    if dom.kind == "cap":
        us = u[:-1]
        Ti = sum(a * b for a, b in zip(us, Pi))
        num, den = cap_sup_up(Ti, sum(a * a for a in us), Du, dom)
        return lam[-1] / 2 + fmpq(num, den)
    num, den = _norm_up(sum(a * a for a in u), Du, dom.rho)
    return fmpq(sum(a * b for a, b in zip(u, Pi)), Du * dom.Dp) + fmpq(num, den)


def preactivation_ranges(net: Network, dom: Domain) -> tuple[list[int], list[int], int]:
    """(lo, hi, S): lo_r / S <= inf_D z_r and hi_r / S >= sup_D z_r, z_r(x) = <W_r, x> + b_r (Thm 5.3).

    Exact ranges of a linear map over the domain, rounded outward onto the grid 1/S:
    on the cap W_rd/2 + b_r ± sup_cap <(±W_r', 0), x> (:func:`cap_sup_up`, inlined here:
    the two signs share their square roots, and the grid is chosen so that only the
    boundary case divides); on the ball z_r(x0) ± rho ||W_r||.
    """
    Wi, bi, Du, Pi = net.Wi, net.bi, net.Du, dom.Pi
    g, k = _GRID_BITS, _SQRT_BITS
    lo, hi = [], []
    isqrt = math.isqrt
    if dom.kind == "cap":
        S = (2 * Du) << g  # W_rd/2 + b_r = (W_int_rd + 2 b_int_r) / (2 Du) lies on the grid
        P = Pi[:-1]
        Nn, Nd, Dp, P2i = dom.Nn, dom.Nd, dom.Dp, dom.P2i
        A3, B = 3 * Nd * Nd, Nn * Nn * Dp * Dp
        H = 3 * P2i * Nd * Nd - B  # (3 P^2 - N^2) Dp^2 Nd^2
        tn = (Nn * Dp) << k
        div = Nd * P2i
        nonpos = Nn <= 0
        d1 = len(P)
        for Wr, br in zip(Wi, bi):
            Ti = n2 = 0
            for j in range(d1):
                w = Wr[j]
                Ti += w * P[j]
                n2 += w * w
            const = (Wr[d1] + 2 * br) << g
            if n2 == 0:
                hi.append(const)
                lo.append(const)
                continue
            lhs, rhs = A3 * Ti * Ti, B * n2
            # sqrt3 t >= N |u| for t = +Ti (hi) and t = -Ti (lo)
            in_hi = (nonpos or lhs >= rhs) if Ti >= 0 else (nonpos and lhs <= rhs)
            in_lo = (nonpos or lhs >= rhs) if Ti <= 0 else (nonpos and lhs <= rhs)
            if in_hi or in_lo:
                x = (3 * n2) << (2 * k)
                r = isqrt(x)
                sq_in = (r if r * r == x else r + 1) << (g - k)  # sqrt(3 ||u||^2)/(2 Du) on the grid
            if not (in_hi and in_lo):
                if P2i == 0:
                    raise _Fail("the cap is empty (p = 0 and N > 0)")
                x = ((n2 * P2i - Ti * Ti) * H) << (2 * k)
                if x < 0:
                    raise _Fail("square root of a negative number in the Theorem 5.3 ranges")
                r = isqrt(x)
                sq_out = r if r * r == x else r + 1
            hi.append(const + (sq_in if in_hi else -((-((Ti * tn + sq_out) << (g - k))) // div)))
            lo.append(const - (sq_in if in_lo else -((-((-Ti * tn + sq_out) << (g - k))) // div)))
        return lo, hi, S
    S = (Du * dom.Dp) << g  # z_r(x0) = (<W_int_r, x0_int> + b_int_r Dp) / (Du Dp)
    Rn, Rd = int(dom.rho.p), int(dom.rho.q)
    scale = (Rn * dom.Dp) << (g - k)
    for Wr, br in zip(Wi, bi):
        z = (sum(map(operator.mul, Wr, Pi)) + br * dom.Dp) << g
        x = sum(map(operator.mul, Wr, Wr)) << (2 * k)
        r = isqrt(x)
        rn = -((-(scale * (r if r * r == x else r + 1))) // Rd)  # rho ||W_r|| on the grid, up
        hi.append(z + rn)
        lo.append(z - rn)
    return lo, hi, S
