"""Exact polynomials of the certified plane (Lemma 6.4, Claim 6.3, Lemma 6.2).

Coefficients are exact rationals (python-flint ``fmpq_poly``); sup-norms are certified by
Arb-ball branch and bound (``certify``). Nothing here imports numba or evaluates a
monomial form in float64.
"""
