"""Certified nearest-neighbour distances of a data set: Definition 3.4 (γ-separability).

``delta_sq`` is the exact minimum of ||x_i - x_j||^2 over the stored (binary64) points,
taken as exact dyadic rationals. Floats only *locate* candidate pairs; every reported
distance is recomputed exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class NearestPair:
    """Exact minimum squared distance of a point set and one pair attaining it (Def. 3.4)."""

    delta_sq: Fraction
    pair: tuple[int, int]


def exact_sq_dist(x: np.ndarray, i: int, j: int) -> Fraction:
    """||x_i - x_j||^2 exactly, from the binary64 values."""
    s = Fraction(0)
    for a, b in zip(x[i].tolist(), x[j].tolist()):
        diff = Fraction(a) - Fraction(b)
        s += diff * diff
    return s


def certified_min_distance(x: np.ndarray) -> NearestPair:
    """Exact min_{i != j} ||x_i - x_j||^2 of the rows of x (Definition 3.4).

    Floats rank the pairs; a pair is re-checked exactly whenever its float distance could
    be the minimum once rounding (bounded by a generous 64·d·u relative slack) is allowed.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    if n < 2:
        raise ValueError("separation needs at least two points")
    diff = x[:, None, :] - x[None, :, :]
    sq = np.einsum("ijk,ijk->ij", diff, diff)
    iu = np.triu_indices(n, 1)
    vals = sq[iu]
    slack = 64 * (d + 2) * np.finfo(np.float64).eps
    cutoff = vals.min() * (1 + slack) / (1 - slack) + 4 * np.finfo(np.float64).tiny
    best: NearestPair | None = None
    for k in np.flatnonzero(vals <= cutoff):
        i, j = int(iu[0][k]), int(iu[1][k])
        e = exact_sq_dist(x, i, j)
        if best is None or e < best.delta_sq:
            best = NearestPair(e, (i, j))
    assert best is not None
    return best
