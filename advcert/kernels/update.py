"""Algorithm 1's update, fused: W(t+1) = W(t) - η ∇_W L(f_W, S(t)) and its drift from W0.

∂L/∂W_r = Σ_p coef_p a_r relu'(z_r(x_p)) x_p with coef_p = ℓ'(f_W(x_p), y_p)/n and the
kink convention of :mod:`advcert.kernels.forward` (relu'(0) := 0, the same relu' as the
x-gradient the adversary climbs; math-spec §8). Layout: the hybrid of that module (threads
over interleaved neuron tiles, per tile one BLAS product for the pre-activations,
the masked coefficients, and a second BLAS product C^T X for the tile's rows of the
gradient); the new W is written row by row with ||W_r(t+1) - W0_r||², so neither the
gradient nor the n x m pre-activations are ever stored whole.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from advcert.kernels import threads
from advcert.kernels.forward import TILE, f_slope


@njit(cache=True, nogil=True, fastmath=False)
def _update_group(grp, groups, X, coef, W, W0, a, b, eta, tile, mode, out, drift2):  # pragma: no cover - compiled
    # mode 0: out = the gradient; mode 1: out = W - eta * gradient and drift2[r] = ||out_r - W0_r||²
    N, d = X.shape
    m = W.shape[0]
    nt = (m + tile - 1) // tile
    S = np.empty((N, tile))
    C = np.empty((N, tile))
    Gt = np.empty((tile, d))
    for t in range(grp, nt, groups):
        r0 = t * tile
        r1 = min(m, r0 + tile)
        T = r1 - r0
        if T == tile:
            Sb = S
            Cb = C
            Gb = Gt
        else:
            Sb = np.empty((N, T))
            Cb = np.empty((N, T))
            Gb = np.empty((T, d))
        np.dot(X, W[r0:r1].T, Sb)
        for p in range(N):
            cp = coef[p]
            for j in range(T):
                Cb[p, j] = cp * a[r0 + j] * f_slope(Sb[p, j] + b[r0 + j])
        np.dot(Cb.T, X, Gb)
        for j in range(T):
            r = r0 + j
            if mode == 0:
                for k in range(d):
                    out[r, k] = Gb[j, k]
            else:
                s = 0.0
                for k in range(d):
                    w = W[r, k] - eta * Gb[j, k]
                    out[r, k] = w
                    dd = w - W0[r, k]
                    s += dd * dd
                drift2[r] = s


def _spread(G, X, coef, W, W0, a, b, eta, tile, mode, out, drift2) -> None:
    # the G interleaved tile groups at once (advcert.kernels.threads.spread), BLAS on one thread each
    with threads.blas_single_thread():
        threads.spread(lambda grp: _update_group(grp, G, X, coef, W, W0, a, b, eta, tile, mode, out, drift2), G)


def w_gradient(a, W, b, X, coef, *, tile: int = TILE) -> np.ndarray:
    """Σ_p coef_p a_r relu'(z_r(x_p)) x_p for every neuron r: ∇_W of Σ_p coef_p f_W(x_p) (Algorithm 1)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    out = np.empty_like(W)
    G = threads.groups(X.shape[0], W.shape[0], W.shape[1], tile)
    _spread(G, X, np.ascontiguousarray(coef, dtype=np.float64), W, W, a, b, 0.0, int(tile), 0, out, np.empty(0))
    return out


def step(a, W0, b, W, X, coef, eta: float, *, tile: int = TILE) -> tuple[np.ndarray, float]:
    """W - η Σ_p coef_p a_r relu'(z_r(x_p)) x_p and max_r ||W_r(t+1) - W0_r|| (Algorithm 1's update)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    out = np.empty_like(W)
    drift2 = np.empty(W.shape[0])
    G = threads.groups(X.shape[0], W.shape[0], W.shape[1], tile)
    _spread(G, X, np.ascontiguousarray(coef, dtype=np.float64), W, W0, a, b, float(eta), int(tile), 1, out, drift2)
    return out, float(math.sqrt(float(np.max(drift2)))) if drift2.size else 0.0
