"""Claim 6.3 (eq. 2): the step polynomial q(z) = (p1((z - α)/2) + 1)/2.

With η <= δ(δ - 2ρ)/8 and α = 1 - ρ²/2 - 2η, q approximates the step at α:
|q - 1| is small for z in [1 - ρ²/2, 1] (a point and a perturbation of it) and |q| is
small for z in [-1, 1 - (δ - ρ)²/2] (a perturbation against any other data point).
The paper's extraction reads p1(2(z - α)); only the argument (z - α)/2 keeps p1 inside
[-1, 1] and gives the paper's own statement (math-spec §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from flint import fmpq, fmpq_poly

from advcert.poly.sgn import SignPolynomial, clenshaw


@dataclass(frozen=True, eq=False)
class StepPolynomial:
    """q of Claim 6.3 (exact monomial coefficients plus a stable float form)."""

    sign: SignPolynomial
    alpha: Fraction
    poly: fmpq_poly

    @property
    def degree(self) -> int:
        return self.poly.degree()

    @property
    def coefficients(self) -> tuple[Fraction, ...]:
        """Exact coefficients of z^0 .. z^D."""
        return tuple(Fraction(int(c.p), int(c.q)) for c in self.poly.coeffs())

    @property
    def cheb_b(self) -> np.ndarray:
        """Chebyshev coefficients of Q in p1(x) = x Q(1 - x²) (float64, for kernels)."""
        return self.sign.cheb_b

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Float evaluation through the Chebyshev form of p1 (an estimate, ~1e-15)."""
        return q_float(z, self.sign.cheb_b, float(self.alpha))

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """q'(z) in float through the Chebyshev form (for attacks: an estimate)."""
        x = (np.asarray(z, dtype=np.float64) - float(self.alpha)) / 2.0
        y = 1.0 - x * x
        dq = np.polynomial.chebyshev.chebder(self.sign.cheb_b)
        # p1 = x Q(y), p1' = Q(y) - 2 x² Q'(y); q' = p1'((z - α)/2) / 4
        return (clenshaw(y, self.sign.cheb_b) - 2.0 * x * x * clenshaw(y, dq)) / 4.0


def q_float(z: np.ndarray, cheb_b: np.ndarray, alpha: float) -> np.ndarray:
    """q(z) = (p1((z - α)/2) + 1)/2 with p1(x) = x Σ_j b_j T_j(1 - x²) (Claim 6.3, float)."""
    x = (np.asarray(z, dtype=np.float64) - alpha) / 2.0
    return (x * clenshaw(1.0 - x * x, cheb_b) + 1.0) / 2.0


def step_polynomial(sign: SignPolynomial, alpha: Fraction) -> StepPolynomial:
    """Compose p1 into the step polynomial of Claim 6.3, exactly."""
    alpha = Fraction(alpha)
    inner = fmpq_poly([fmpq(-alpha.numerator, 2 * alpha.denominator), fmpq(1, 2)])
    q = (sign.poly(inner) + 1) / 2
    return StepPolynomial(sign=sign, alpha=alpha, poly=q)


def claim63_alpha(rho: Fraction, eta: Fraction) -> Fraction:
    """α = 1 - ρ²/2 - 2η (Claim 6.3)."""
    return 1 - Fraction(rho) ** 2 / 2 - 2 * Fraction(eta)
