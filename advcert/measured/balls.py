"""Float64 balls (mid, rad) for Theorem 5.3's sound bound (:mod:`advcert.measured.crown`), and the row norms it reuses.

The true value lies in [mid - rad, mid + rad]. Radii follow the standard a-priori error bounds
(Higham, Accuracy and Stability, §3.1: a float dot product of length n is within
n u/(1 - n u) * sum |a_i b_i| of the exact one; one correctly rounded operation is within
u |result|), summed in float and then inflated by 2^-40 relatively plus 2^-1000 absolutely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_U = 2.0**-53  # unit roundoff of binary64
_F = 1.0 + 2.0**-40  # inflation of a radius computed in float (covers < 8000 roundings)
_TINY = 2.0**-1000  # absorbs underflow in a radius
_SQRT3 = math.sqrt(3.0)

def _rad(x):
    # a radius computed in float from non-negative terms, inflated to cover its own rounding
    return np.asarray(x, dtype=np.float64) * _F + _TINY


def _badd(a, b):
    m = a[0] + b[0]
    return m, _rad(a[1] + b[1] + 2.0 * _U * np.abs(m))


def _bsub(a, b):
    m = a[0] - b[0]
    return m, _rad(a[1] + b[1] + 2.0 * _U * np.abs(m))


def _bmul(a, b):
    m = a[0] * b[0]
    return m, _rad(np.abs(a[0]) * b[1] + a[1] * np.abs(b[0]) + a[1] * b[1] + 2.0 * _U * np.abs(m))


def _bexact(x):
    x = np.asarray(x, dtype=np.float64)
    return x, np.zeros_like(x)


def _bsqrt(a):
    # sqrt over [max(m - r, 0), m + r]; |sqrt X - sqrt m| <= r / sqrt m when m > r
    m, r = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in a))
    safe = m > r
    sm = np.sqrt(np.where(safe, m, 1.0))
    mid_safe = sm
    rad_safe = _rad(r / sm * (1.0 + 4.0 * _U) + 2.0 * _U * sm)
    hi = np.sqrt(np.maximum(m + r, 0.0)) * (1.0 + 4.0 * _U)
    mid = np.where(safe, mid_safe, 0.5 * hi)
    rad = np.where(safe, rad_safe, _rad(0.5 * hi + 2.0 * _U * hi))
    return mid, rad


def sum_radius(n: int) -> float:
    """The a-priori factor of a float sum of n products of floats, each also one rounding from its exact
    multiplier (2u), in any order (Higham §3.1), times the Cauchy-Schwarz bound ||k|| ||v|| of the sum of
    |k_r v_r|, whose float norms are within n u (hence 1.02): Theorem 5.3's bound radii."""
    return (n * _U * 1.01 + 2.0 * _U * (1.0 + n * _U * 2)) * 1.02


def column_norms(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Float norms of the columns of [W b]: with ||k_i|| they bound the sums sum_r |k_ir| |[W b]_rj| (Cauchy-Schwarz)
    in Theorem 5.3's radii (:func:`sum_radius`)."""
    return np.sqrt(np.einsum("ij,ij->j", W, W).tolist() + [float(b @ b)])


def _bdot_self(A):
    """Ball of the row-wise squared norms of exact float A (k, n)."""
    n = A.shape[-1]
    m = np.einsum("ij,ij->i", A, A)
    return m, _rad(m * (n * _U * 1.01) + n * _TINY)


def _upper(a) -> np.ndarray:
    """A float >= every value of the ball (the end that a '<=' claim compares)."""
    s = a[0] + a[1]
    return np.nextafter(s + 2.0 * _U * np.abs(s), np.inf)


def _lower(a) -> np.ndarray:
    s = a[0] - a[1]
    return np.nextafter(s - 2.0 * _U * np.abs(s), -np.inf)


def _clip0(a):
    # a ball whose true value is >= 0 (mathematically), intersected with [0, inf)
    lo = np.maximum(a[0] - a[1], 0.0)
    hi = np.maximum(a[0] + a[1], 0.0)
    mid = 0.5 * (lo + hi)
    return mid, _rad(0.5 * (hi - lo) + 2.0 * _U * (np.abs(a[0]) + a[1]))


def _rowdot(A, B):
    """Ball of the row-wise dot products of exact float A, B (k, n)."""
    n = A.shape[-1]
    m = np.einsum("ij,ij->i", A, B)
    s = np.einsum("ij,ij->i", np.abs(A), np.abs(B))
    return m, _rad(s * (n * _U * 1.01) + n * _TINY)


@dataclass(frozen=True, eq=False)
class RowNorms:
    """Per-neuron norms that every chunk's pre-activation ranges reuse (Theorem 5.3 relaxation):
    ``w2`` a ball of ||W_r||^2 (kind 'ball') or ||W_r'||^2 ('cap'), ``root`` floats below and above
    its square root, ``nw`` float norms of [W_r, b_r] or W_r' (for Cauchy-Schwarz radii)."""

    kind: str
    w2: tuple
    root: tuple
    nw: np.ndarray
    wcol: np.ndarray | None = None  # float norms of the columns of [W b] (the bound's Cauchy-Schwarz radii)
    wb: np.ndarray | None = None  # [W b] (kind 'ball'): the matrix the centres [x0, 1] multiply
    cols: np.ndarray | None = None  # (8, m) per-neuron constants of the cap ranges (kind 'cap', fused kernel)


def row_norms(W: np.ndarray, b: np.ndarray, kind: str, w2=None) -> RowNorms:
    """:class:`RowNorms` of the net's first layer for domains of ``kind``."""
    Wh = W if kind == "ball" else W[:, :-1]
    w2 = _bdot_self(Wh) if w2 is None else w2
    r = _bsqrt(w2)
    wb = np.concatenate([W, b[:, None]], axis=1) if kind == "ball" else None
    nw = np.linalg.norm(wb if kind == "ball" else Wh, axis=1)
    wcol = column_norms(W, b)
    root = (_lower(r), _upper(r))
    cols = None
    if kind == "cap":
        # the order of advcert.kernels.relaxation.cap_multipliers: nw, |W_r'| below/above, ||W_r'||^2 and its
        # relative radius, W_rd/2 + b_r and its rounding radius, whether the row is zero
        cm = 0.5 * W[:, -1] + b
        rel = w2[1] / np.where(w2[0] > 0, w2[0], 1.0)
        cols = np.stack([nw, root[0], root[1], w2[0], rel, cm, 2.0 * _U * np.abs(cm),
                         (w2[0] <= 0).astype(np.float64)])
    return RowNorms(kind, w2, root, nw, wcol, wb, cols)
