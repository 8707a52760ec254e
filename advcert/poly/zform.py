"""A route-independent float form of the step polynomial q of Claim 6.3 (for Lemma 6.2's f*).

The paper's q carries a stable float form through p1's Chebyshev-in-y coefficients
(``StepPolynomial.cheb_b``, Lemma 6.4's Q in p1(x) = x Q(1 - x²)). That form is stable only
because Lemma 6.4's Q is itself a Chebyshev truncation bounded on y ∈ [-1, 1]; a minimax p1
(Eremenko–Yuditskii's extremal polynomial) or a q found directly (Lemma 6.6's least
C(q)) has no such Q. Every q of Claim 6.3 is bounded by about 1 on z ∈ [-1, 1], so its
Chebyshev coefficients in z are all O(1) and Clenshaw in z is the one form that is stable
for every route. The coefficients are exact (``advcert.poly.sgn.chebyshev_x``) and then
rounded to float64 once: an estimate for attacks, never a certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from flint import fmpq_poly

from advcert.poly.sgn import chebyshev_x, clenshaw


def cheb_z(poly: fmpq_poly) -> np.ndarray:
    """float64 a_j with q(z) ≈ Σ_j a_j T_j(z) on [-1, 1], from the exact coefficients of q
    (Claim 6.3's q; the conversion is exact, only the final rounding is float)."""
    return np.array([float(a) for a in chebyshev_x(poly)] or [0.0])


def eval_cheb_z(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Σ_j a_j T_j(z) by Clenshaw (float64; stable for |z| <= 1)."""
    return clenshaw(np.asarray(z, dtype=np.float64), a)


def deriv_cheb_z(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """d/dz Σ_j a_j T_j(z) (float64), for the attack on Lemma 6.2's f*."""
    da = np.polynomial.chebyshev.chebder(a) if len(a) > 1 else np.zeros(1)
    return clenshaw(np.asarray(z, dtype=np.float64), da if len(da) else np.zeros(1))


@dataclass(frozen=True, eq=False)
class ZStep:
    """A step polynomial q meeting Claim 6.3's conclusions, with the z-Chebyshev float form.

    What Lemma 6.2 (``advcert.poly.interpolant``) and Lemma 6.6 (``advcert.randomfeatures``)
    read of a ``StepPolynomial``: ``poly``, ``coefficients``, ``degree``, ``__call__`` and
    ``derivative`` (float, for attacks). ``route`` names the construction ("minimax": p1 is the
    minimax sign polynomial composed as in Claim 6.3, with ``alpha`` and ``sign`` set; "lp": q is
    found directly, Lemma 6.4's p1 is not used and ``alpha`` and ``sign`` are None).
    ``cheb_b`` (the kernel form x Q(1 - x²) of Lemma 6.4's p1) is deliberately absent: it does
    not exist for "lp" and is ill-conditioned for "minimax"; use ``cheb_z``."""

    poly: fmpq_poly
    route: str
    cheb_z: np.ndarray
    alpha: Fraction | None = None
    sign: object | None = None  # the SignPolynomial of the minimax route

    @property
    def degree(self) -> int:
        return self.poly.degree()

    @property
    def coefficients(self) -> tuple[Fraction, ...]:
        """Exact coefficients of z^0 .. z^D."""
        return tuple(Fraction(int(c.p), int(c.q)) for c in self.poly.coeffs())

    @property
    def cheb_b(self) -> np.ndarray:
        raise AttributeError(f"route {self.route!r}: q has no stable x·Q(1 - x²) form; "
                             "evaluate it through cheb_z (Clenshaw in z)")

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """q(z) in float through the z-Chebyshev form (an estimate, ~1e-15)."""
        return eval_cheb_z(z, self.cheb_z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """q'(z) in float (for attacks: an estimate)."""
        return deriv_cheb_z(z, self.cheb_z)
