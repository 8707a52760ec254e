"""The robust interpolant f* of Lemma 6.2, compiled: f*(x) = Σ_i y_i q(<x_i, x>) and its gradient.

f* is evaluated through a Chebyshev form, never the monomial one: for the paper's q, that of
p1 (Clenshaw in y = 1 - x², q(z) = (p1((z - α)/2) + 1)/2; :func:`fstar`); for a q built directly
or from the minimax p1 (``advcert.poly.zform``), q's own Chebyshev coefficients in z
(:func:`fstar_z`). Their float errors are bounded in :func:`fstar_error_bound` and
:func:`fstar_z_error_bound`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from advcert.kernels import threads

_U = 2.0**-53


def _parts(X: np.ndarray, Xd: np.ndarray, cheb: np.ndarray) -> int:
    # per point and data point: a length-d product and two Clenshaw sums of len(cheb) terms
    return threads.parts(X.shape[0] * Xd.shape[0] * (X.shape[1] + 2 * cheb.shape[0]), X.shape[0])


@njit(cache=True, fastmath=False)
def _clenshaw(t, c):  # pragma: no cover - compiled
    # Σ_j c_j T_j(t) by Clenshaw's recurrence (stable on [-1, 1]); both forms of f* use it
    b1 = 0.0
    b2 = 0.0
    for j in range(c.shape[0] - 1, 0, -1):
        b0 = 2.0 * t * b1 - b2 + c[j]
        b2 = b1
        b1 = b0
    return t * b1 - b2 + c[0]


@njit(cache=True, nogil=True, fastmath=False)
def _fstar_kernel(X, Xd, y, cb, dcb, alpha, p0, p1, val, grad):  # pragma: no cover - compiled
    d = X.shape[1]
    n = Xd.shape[0]
    for p in range(p0, p1):  # one thread's slice of the points
        v = 0.0
        for k in range(d):
            grad[p, k] = 0.0
        for i in range(n):
            z = 0.0
            for k in range(d):
                z += Xd[i, k] * X[p, k]
            xx = (z - alpha) / 2.0
            yy = 1.0 - xx * xx
            Q = _clenshaw(yy, cb)
            dQ = _clenshaw(yy, dcb)
            q = (xx * Q + 1.0) / 2.0
            dq = (Q - 2.0 * xx * xx * dQ) / 4.0  # d/dz of (p1((z-α)/2) + 1)/2
            v += y[i] * q
            for k in range(d):
                grad[p, k] += y[i] * dq * Xd[i, k]
        val[p] = v


@njit(cache=True, nogil=True, fastmath=False)
def _fstar_z_kernel(X, Xd, y, a, da, p0, p1, val, grad):  # pragma: no cover - compiled
    d = X.shape[1]
    n = Xd.shape[0]
    for p in range(p0, p1):  # one thread's slice of the points
        v = 0.0
        for k in range(d):
            grad[p, k] = 0.0
        for i in range(n):
            z = 0.0
            for k in range(d):
                z += Xd[i, k] * X[p, k]
            q = _clenshaw(z, a)
            dq = _clenshaw(z, da)
            v += y[i] * q
            for k in range(d):
                grad[p, k] += y[i] * dq * Xd[i, k]
        val[p] = v


def fstar_z(X: np.ndarray, Xd: np.ndarray, y: np.ndarray, cheb_z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f*(x) = Σ_i y_i q(<x_i, x>) and its gradient (Lemma 6.2), q = Σ_j a_j T_j(z) (Clenshaw in z)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    Xd = np.ascontiguousarray(Xd, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    a = np.ascontiguousarray(cheb_z, dtype=np.float64)
    da = np.polynomial.chebyshev.chebder(a) if a.size > 1 else np.zeros(1)
    da = np.ascontiguousarray(da if da.size else np.zeros(1))
    val = np.empty(X.shape[0])
    grad = np.empty_like(X)
    threads.spread_range(lambda p0, p1: _fstar_z_kernel(X, Xd, y, a, da, p0, p1, val, grad), X.shape[0],
                         _parts(X, Xd, a))
    return val, grad


def fstar_z_error_bound(cheb_z: np.ndarray, y: np.ndarray, d: int, degree: int, sup_q: float = 1.0) -> float:
    """Bound on the float error of :func:`fstar_z` at points of X (Lemma 6.2's f*, an estimate's allowance).

    Clenshaw on [-1, 1]: |δq| <= 2(L+1)² u Σ|a_j|; the argument's |δz| <= (d+1) u moves q by at most
    D² sup|q| (Markov on [-1, 1]).
    """
    L = len(cheb_z)
    dq = 2 * (L + 1) ** 2 * _U * float(np.sum(np.abs(cheb_z)))
    dz = (d + 1) * _U * degree**2 * sup_q
    return float(np.sum(np.abs(y))) * (dq + dz)


def fstar(X: np.ndarray, Xd: np.ndarray, y: np.ndarray, cheb_b: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """f*(x) = Σ_i y_i q(<x_i, x>) and its gradient in R^d (Lemma 6.2), Chebyshev form."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    Xd = np.ascontiguousarray(Xd, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    cb = np.ascontiguousarray(cheb_b, dtype=np.float64)
    dcb = np.polynomial.chebyshev.chebder(cb) if cb.size > 1 else np.zeros(1)
    dcb = np.ascontiguousarray(dcb if dcb.size else np.zeros(1))
    val = np.empty(X.shape[0])
    grad = np.empty_like(X)
    alpha = float(alpha)
    threads.spread_range(lambda p0, p1: _fstar_kernel(X, Xd, y, cb, dcb, alpha, p0, p1, val, grad), X.shape[0],
                         _parts(X, Xd, cb))
    return val, grad


def fstar_error_bound(cheb_b: np.ndarray, y: np.ndarray, d: int, degree: int, sup_p1: float = 1.0) -> float:
    """Bound on the float error of :func:`fstar` (f* of Lemma 6.2) at points of X.

    Clenshaw on [-1, 1]: |δQ| <= 2(L+1)² u Σ|b_j| (a generous form of the classical bound);
    q = (x Q + 1)/2 with |x| <= 1 adds |δQ|/2 + 2u. The argument z = <x_i, x> has
    |δz| <= (d+1) u (unit vectors), moved through |q'| <= D² sup|p1| / 4 (Markov on [-1, 1]).
    """
    L = len(cheb_b)
    dq = 2 * (L + 1) ** 2 * _U * float(np.sum(np.abs(cheb_b)))
    dz = (d + 1) * _U * degree**2 * sup_p1 / 4
    return float(np.sum(np.abs(y))) * (dq / 2 + 2 * _U + dz)
