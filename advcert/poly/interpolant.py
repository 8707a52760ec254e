"""Lemma 6.2: the robust interpolant f*(x) = Σ_i y_i q(<x_i, x>).

For every j and every x~ in B_2(x_j, ρ) ∩ X, |f*(x~) - y_j| <= ε/3. The proof never
searches over x~: with τ_i = ‖x_i‖² - 1 the rounding of the stored points,

* <x_j, x~> lies in I_in  = [1 - ρ²/2 - τ⁻/2, 1 + τ⁺/2], where |q - 1| <= e_in, and
* <x_i, x~> (i ≠ j) lies in I_out = [-1 - τ⁺/2, 1 - (δ - ρ)²/2 + τ⁺/2], where |q| <= e_out,

so |f*(x~) - y_j| <= |y_j| e_in + Σ_{i≠j} |y_i| e_out (a sound bound once e_in, e_out are
certified upper bounds). The paper's coarser form is n ε1 = ε/3.

The float evaluation goes through the Chebyshev form of q, never the monomial one; it
is used only for the attack, which is an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from advcert.data.instance import Separation
from advcert.poly.step import StepPolynomial


@dataclass(frozen=True)
class Intervals:
    """Where the inner products of Lemma 6.2's proof can fall (exact endpoints)."""

    inside: tuple[Fraction, Fraction]  # I_in: <x_j, x~> for x~ near x_j
    outside: tuple[Fraction, Fraction]  # I_out: <x_i, x~> for x~ near another point
    delta_lo: Fraction


def lemma62_intervals(sep: Separation, rho: Fraction) -> Intervals:
    """I_in and I_out of the module docstring, from exact separation facts."""
    rho = Fraction(rho)
    if sep.delta_lo <= rho:
        raise ValueError("Lemma 6.2 needs δ > ρ (δ > 2ρ under Definition 3.4)")
    inside = (1 - rho * rho / 2 - sep.tau_minus / 2, 1 + sep.tau_plus / 2)
    outside = (-1 - sep.tau_plus / 2, 1 - (sep.delta_lo - rho) ** 2 / 2 + sep.tau_plus / 2)
    return Intervals(inside=inside, outside=outside, delta_lo=sep.delta_lo)


def lemma62_bound(labels: np.ndarray, e_in: Fraction, e_out: Fraction) -> tuple[Fraction, list[Fraction]]:
    """max_j (|y_j| e_in + Σ_{i≠j} |y_i| e_out) and its per-point terms (exact)."""
    ys = [abs(Fraction(float(v))) for v in np.asarray(labels, dtype=np.float64).tolist()]
    total = sum(ys)
    per = [y * e_in + (total - y) * e_out for y in ys]
    return max(per), per


@dataclass(frozen=True, eq=False)
class RobustInterpolant:
    """f* of Lemma 6.2 on a data set, evaluated in float through the stable form of q."""

    points: np.ndarray
    labels: np.ndarray
    step: StepPolynomial

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(x) @ self.points.T
        return self.step(z) @ self.labels

    def value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f*(x) and its gradient in R^d (float; for attacks)."""
        x = np.atleast_2d(x)
        z = x @ self.points.T
        val = self.step(z) @ self.labels
        grad = (self.step.derivative(z) * self.labels) @ self.points
        return val, grad

    def loss_objective(self):
        """|f*(x) - y_j| for the j-th centre, as the attack's objective."""

        def objective(x: np.ndarray, idx: np.ndarray):
            val, grad = self.value_and_grad(x)
            r = val - self.labels[idx]
            s = np.where(r >= 0, 1.0, -1.0)
            return np.abs(r), grad * s[:, None]

        return objective
