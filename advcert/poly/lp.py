"""Claim 6.3's q found directly: the polynomial of least Lemma 6.6 cost meeting its conclusions.

Lemma 6.2 uses of q only Claim 6.3's two conclusions, |q - 1| <= ε1 on I_in and |q| <= ε1 on
I_out; Lemma 6.6 then pays for q through C(q) = c Σ_j (j + 1)^{1.75} |q_j|
(``advcert.poly.complexity.complexity``, the project's one definition). Both conclusions are
linear in the monomial coefficients and C(q) is linear in |q_j|, so with q_j = q⁺_j - q⁻_j
(q^± >= 0) the least-cost q of degree <= D on a finite grid is a linear programme:

    minimise  Σ_j w_j (q⁺_j + q⁻_j),   w_j = c (j + 1)^{1.75}
    subject to |Σ_j q_j z^j - 1| <= (1 - θ) ε1 at grid points z of I_in,
               |Σ_j q_j z^j|     <= (1 - θ) ε1 at grid points z of I_out.

It is solved in float64 by scipy's HiGHS (a candidate only), for D = 1, 2, ... up to
``max_degree``; the least-cost solution found (ties to the lower degree) is rounded to the
dyadic grid 2^-B and then **certified exactly** on the full intervals by
``advcert.poly.certify.sup_abs_error(q, 1, *I_in)`` and ``(q, 0, *I_out)``, the calls
``advcert.build`` makes for claim-6.3/in and /out. A failed certificate (the grid missed a
ripple between points, or rounding) halves the slack: θ doubles and the grid doubles, a
bounded number of times, then an error says so. Lemma 6.4's p1 and Claim 6.3's α are not used.
"""

from __future__ import annotations

import dataclasses

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np
from flint import fmpq, fmpq_poly

from advcert.poly import certify
from advcert.poly.certify import SupEnclosure
from advcert.poly.complexity import complexity, log2_mid
from advcert.poly.zform import ZStep, cheb_z

GRID_BITS = 48


def lemma66_weights(c: float = 2.0) -> Callable[[int], np.ndarray]:
    """w_j = c (j + 1)^{1.75}: C(q) = Σ_j w_j |q_j| (Lemma 6.6, ``complexity.complexity``)."""
    return lambda D: float(c) * (np.arange(D + 1) + 1.0) ** 1.75


@dataclass(frozen=True, eq=False)
class LPStep:
    """q of least C(q) meeting Claim 6.3's conclusions, certified on I_in and I_out (exact).

    ``step`` is the StepLike value (route "lp") for Lemma 6.2 / Lemma 6.6; ``enc_in`` and
    ``enc_out`` enclose sup_{I_in} |q - 1| and sup_{I_out} |q|, both <= ε1 (``.hi``)."""

    step: ZStep
    inside: tuple[Fraction, Fraction]
    outside: tuple[Fraction, Fraction]
    eps1: Fraction
    c: Fraction
    theta: float
    grid_points: int
    enc_in: SupEnclosure
    enc_out: SupEnclosure
    lp_cost: float  # the float LP objective at the chosen degree (an estimate of C(q))
    costs: tuple[tuple[int, float], ...]  # (degree, LP cost) of every feasible degree tried
    tries: int
    seconds: float

    @property
    def poly(self) -> fmpq_poly:
        return self.step.poly

    @property
    def degree(self) -> int:
        return self.step.degree

    @property
    def coefficients(self) -> tuple[Fraction, ...]:
        return self.step.coefficients

    @property
    def log2_complexity(self) -> float:
        """log2 C(q) of the stored q (Arb ball midpoint; Lemma 6.6)."""
        return log2_mid(complexity(self.coefficients, self.c))

    @property
    def log2_max_coefficient(self) -> float:
        return math.log2(float(max(abs(v) for v in self.coefficients)))


def lemma66_eps_weights(eps2: Fraction, c: float = 2.0) -> Callable[[int], np.ndarray]:
    """w_j = c^j (1 + (√(ln(1/ε2)/j))^j), w_0 = 2: C(q, ε2) = Σ_j w_j |q_j| (Lemma 6.6,
    ``complexity.complexity_eps``), linear in |q_j| for a fixed ε2 (float64; an LP objective)."""
    L = math.log(1 / float(eps2))

    def w(D: int) -> np.ndarray:
        j = np.arange(1, D + 1, dtype=np.float64)
        return np.concatenate([[2.0], float(c) ** j * (1 + np.exp(j / 2 * np.log(L / j)))])

    return w


def cheb_grid(a: Fraction, b: Fraction, n: int) -> np.ndarray:
    """n Chebyshev-clustered points on [a, b], ends included (float64, LP constraints only)."""
    a, b = float(a), float(b)
    if n <= 1 or a == b:
        return np.array([a, b][: max(1, n)])
    return (a + b) / 2 - (b - a) / 2 * np.cos(np.pi * np.arange(n) / (n - 1))


def solve_lp(inside: tuple[Fraction, Fraction], outside: tuple[Fraction, Fraction], eps1: Fraction, degree: int, *,
             theta: float, points: int, weights: Callable[[int], np.ndarray]) -> tuple[np.ndarray, float] | None:
    """The float LP of the module docstring at one degree (Claim 6.3 on a grid, Lemma 6.6's
    cost): (coefficients q_0..q_D, objective), or None when infeasible."""
    from scipy.optimize import linprog  # scipy.optimize costs ~0.3 s to import

    zi = cheb_grid(*inside, max(16, points // 8))
    zo = cheb_grid(*outside, points)
    V_in = np.vander(zi, degree + 1, increasing=True)
    V_out = np.vander(zo, degree + 1, increasing=True)
    e = (1.0 - theta) * float(eps1)
    V = np.vstack([V_in, V_out])
    target = np.concatenate([np.ones(len(zi)), np.zeros(len(zo))])
    # V(q⁺ - q⁻) <= target + e and -V(q⁺ - q⁻) <= -target + e
    A = np.vstack([np.hstack([V, -V]), np.hstack([-V, V])])
    rhs = np.concatenate([target + e, -target + e])
    w = weights(degree)
    res = linprog(np.concatenate([w, w]), A_ub=A, b_ub=rhs, bounds=(0, None), method="highs")
    if res.status != 0:
        return None
    x = res.x
    return x[: degree + 1] - x[degree + 1:], float(res.fun)


def _to_dyadic_poly(q: np.ndarray, bits: int) -> fmpq_poly:
    """Round float coefficients to the grid 2^-bits, exactly (candidate -> stored rational q)."""
    scale = 1 << bits
    return fmpq_poly([fmpq(int(round(float(v) * scale)), scale) for v in q])


@dataclass(frozen=True)
class LPOptions:
    """How the LP for Claim 6.3's q is set up and retried (see :func:`lp_step_polynomial`)."""

    c: Fraction | int = 2
    max_degree: int = 16
    theta: float = 0.05
    points: int = 2000
    tries: int = 4
    grid_bits: int = GRID_BITS
    tie: float = 1e-3
    weights: Callable[[int], np.ndarray] | None = None


def lp_step_polynomial(inside: Sequence[Fraction], outside: Sequence[Fraction], eps1: Fraction,
                       options: LPOptions | None = None, **overrides) -> LPStep:
    """Claim 6.3's q of least Lemma 6.6 cost C(q) on the given I_in, I_out, certified exactly.

    The LP cost falls slowly but steadily with the degree (on the headline's intervals
    log2 C(q) = 13.7 at the first feasible degree 12, 11.3 at 16, 9.9 at 24), while C(q, ε2)
    and the Lemma 6.6 quadrature grow like c^D: ``max_degree`` (default 16) is the cap on
    that trade; ``weights`` replaces the C(q) objective (e.g. :func:`lemma66_eps_weights`).

    ``theta`` is the relative slack of the LP constraints ((1 - θ) ε1), ``points`` the grid size
    on I_out (I_in gets points/8), ``tie`` the relative cost difference below which the lower
    degree wins. On a failed certificate θ and the grid double (at most ``tries`` rounds).
    These are the fields of :class:`LPOptions`; any may be given by keyword."""
    opt = dataclasses.replace(options or LPOptions(), **overrides)
    c, max_degree, theta, points = opt.c, opt.max_degree, opt.theta, opt.points
    tries, grid_bits, tie, weights = opt.tries, opt.grid_bits, opt.tie, opt.weights
    t0 = time.perf_counter()
    inside = (Fraction(inside[0]), Fraction(inside[1]))
    outside = (Fraction(outside[0]), Fraction(outside[1]))
    eps1, c = Fraction(eps1), Fraction(c)
    if not (inside[0] <= inside[1] and outside[0] <= outside[1] and outside[1] < inside[0]):
        raise ValueError("Claim 6.3 needs I_out to lie below I_in (a gap for the step)")
    if not 0 < eps1 < 1:
        raise ValueError("ε1 must lie in (0, 1)")
    weights = weights or lemma66_weights(float(c))
    last = ""
    for attempt in range(1, tries + 1):
        costs: list[tuple[int, float]] = []
        best: tuple[int, np.ndarray, float] | None = None
        for D in range(1, max_degree + 1):
            sol = solve_lp(inside, outside, eps1, D, theta=theta, points=points, weights=weights)
            if sol is None:
                continue
            qf, cost = sol
            costs.append((D, cost))
            if best is None or cost < best[2] * (1 - tie):
                best = (D, qf, cost)
        if best is None:
            raise RuntimeError(f"no q of degree <= {max_degree} meets Claim 6.3's conclusions at ε1 = {eps1} "
                               f"(θ = {theta}); raise max_degree")
        D, qf, cost = best
        poly = _to_dyadic_poly(qf, grid_bits)
        enc_in = certify.sup_abs_error(poly, 1, *inside)
        enc_out = certify.sup_abs_error(poly, 0, *outside)
        if enc_in.hi <= eps1 and enc_out.hi <= eps1:
            step = ZStep(poly=poly, route="lp", cheb_z=cheb_z(poly))
            return LPStep(step=step, inside=inside, outside=outside, eps1=eps1, c=c, theta=theta,
                          grid_points=points, enc_in=enc_in, enc_out=enc_out, lp_cost=cost,
                          costs=tuple(costs), tries=attempt, seconds=time.perf_counter() - t0)
        last = (f"degree {D}: sup_I_in |q-1| <= {float(enc_in.hi):.6g}, sup_I_out |q| <= {float(enc_out.hi):.6g}, "
                f"ε1 = {float(eps1):.6g}")
        theta, points = min(0.5, 2 * theta), 2 * points
    raise RuntimeError(f"the LP's q failed certification after {tries} rounds ({last}); "
                       "raise tries or theta")
