"""The theorems' explicit constants, in log scale where they are astronomical.

Lemma 6.4 / Claim 6.3 degree readings, the Eremenko–Yuditskii optimal degree, and the
paper's coefficient bounds. These are reported next to what advcert actually built; they
are float formulas (label ``estimate``) unless an exact value is given.
"""

from __future__ import annotations

import math
from fractions import Fraction

from advcert.poly.minimax import eremenko_yuditskii_degree


def degree_claim63(gamma: Fraction, eps: Fraction, n: int) -> float:
    """D = (24/γ) ln(48n/ε), the degree stated in Claim 6.3 / Lemma 6.2."""
    return 24.0 / float(gamma) * math.log(48.0 * n / float(eps))


def degree_lemma64(eta: Fraction, eps1: Fraction) -> float:
    """D = (3/η) ln(2/(η ε1)), the best reading of Lemma 6.4's garbled degree (math-spec §2)."""
    return 3.0 / float(eta) * math.log(2.0 / (float(eta) * float(eps1)))


def degree_optimal(eta: Fraction, eps1: Fraction) -> int:
    """Least odd degree whose Eremenko–Yuditskii asymptotic error is <= ε1 (computed in mpmath by
    :func:`advcert.poly.minimax.eremenko_yuditskii_degree`, the one home of that formula)."""
    return eremenko_yuditskii_degree(Fraction(eta), Fraction(eps1))
