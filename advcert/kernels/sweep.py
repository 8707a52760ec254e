"""The fused Theorem 5.1 sweep: f_W, g_W, f_W0 and the Theorem 5.1 sums in one pass.

For points x (rows of X), the network (a, W0, b) with weights W of Section 3, and the
pre-activations of :mod:`advcert.kernels.forward` (z_r = s_r + b_r, u_r = s0_r + b_r,
Δ_r = s_r - s0_r, the same kink convention through its ``relu`` and ``g_gate``):

    f_W(x), g_W(x), f_W0(x) = Σ_r a_r relu(u_r)
    T(x) = Σ_r (R m^{-2/3} - |u_r(x)|)_+                     (Theorem 5.1 mechanism)
    E(x) = Σ_r |a_r| (|Δ_r(x)| - |u_r(x)|)_+

so that |f_W(x) - g_W(x)| <= |f_W0(x)| + m^{-1/3} T(x) whenever every |Δ_r(x)| <= R m^{-2/3}
(math-spec §7), and <= |f_W0(x)| + E(x) always (the same argument, per neuron).

Layout (perf-notes §5): threads (:func:`advcert.kernels.threads.spread_range`) over chunks of points (the sweeps have 10^4-10^5
points and one network); for each tile of neurons one single-threaded BLAS product of the
packed tile [W_tile; W0_tile] with the chunk into a buffer that stays in L2, then the
branch-free fused epilogue. No N×m array is ever formed: memory is O((N + m) d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from advcert.kernels import threads
from advcert.kernels.forward import g_gate, relu

_U = 2.0**-53

#: default tile of neurons and chunk of points (buffer chunk × 2·tile doubles = 512 KiB)
TILE = 128
CHUNK = 256


@dataclass(frozen=True, eq=False)
class Packed:
    """A network (a, W0, b) with weights W (Section 3), packed into BLAS-ready neuron tiles.

    ``tiles[t, :tile]`` = W_tile and ``tiles[t, tile:]`` = W0_tile (2 tile × d, one neuron per
    row). The width is padded to a multiple of ``tile`` with neurons that have a = 0 and
    act = 0. ``max_row_norm1`` = max_r (||W_r||_1 + ||W0_r||_1 + |b_r|) feeds the error bound.
    """

    m: int
    d: int
    tile: int
    tiles: np.ndarray
    a: np.ndarray
    b: np.ndarray
    act: np.ndarray
    abs_a_sum: float
    max_row_norm1: float


def pack(a: np.ndarray, W0: np.ndarray, b: np.ndarray, W: np.ndarray, *, tile: int = TILE) -> Packed:
    """Pack validated arrays of the network of Section 3 (rows of W0 and W are neurons) for :func:`sweep`."""
    m, d = W0.shape
    nt = -(-m // tile)
    pad = nt * tile - m

    def padrows(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, np.zeros((pad,) + x.shape[1:])]) if pad else x

    tiles = np.empty((nt, 2 * tile, d))
    tiles[:, :tile] = padrows(W).reshape(nt, tile, d)
    tiles[:, tile:] = padrows(W0).reshape(nt, tile, d)
    norm1 = np.sum(np.abs(W), axis=1) + np.sum(np.abs(W0), axis=1) + np.abs(b)
    return Packed(m=m, d=d, tile=tile, tiles=np.ascontiguousarray(tiles), a=padrows(a), b=padrows(b),
                  act=np.concatenate([np.ones(m), np.zeros(pad)]), abs_a_sum=float(np.sum(np.abs(a))),
                  max_row_norm1=float(np.max(norm1)) if m else 0.0)


# The epilogue loops over neurons outside and points inside: S is (2 tile × chunk), so the
# inner loop is an element-wise update of per-point accumulators. That vectorises without
# fastmath (no floating-point reassociation: each point still sums its neurons in order).


@njit(cache=True, nogil=True, fastmath=False)
def _sweep_kernel(X, tiles, a, b, act, rm, chunk, c0, c1, out):  # pragma: no cover - compiled
    # chunks c0 .. c1 - 1 of the points (one thread's slice)
    N, d = X.shape
    nt = tiles.shape[0]
    T = tiles.shape[1] // 2
    for c in range(c0, c1):
        i0 = c * chunk
        i1 = min(N, i0 + chunk)
        rows = i1 - i0
        XcT = np.ascontiguousarray(X[i0:i1].T)
        S = np.empty((2 * T, rows))
        f = np.zeros(rows)
        g = np.zeros(rows)
        f0 = np.zeros(rows)
        tb = np.zeros(rows)
        me = np.zeros(rows)
        for t in range(nt):
            np.dot(tiles[t], XcT, S)
            base = t * T
            for j in range(T):
                av = a[base + j]
                aa = abs(av)
                bj = b[base + j]
                ac = act[base + j]
                for p in range(rows):
                    s = S[j, p]
                    s0 = S[T + j, p]
                    u = s0 + bj
                    dl = s - s0
                    f[p] += av * relu(s + bj)
                    g[p] += av * (dl * g_gate(u))
                    f0[p] += av * relu(u)
                    tb[p] += max(rm - abs(u), 0.0) * ac
                    me[p] += aa * max(abs(dl) - abs(u), 0.0)
        for p in range(rows):
            out[i0 + p, 0] = f[p]
            out[i0 + p, 1] = g[p]
            out[i0 + p, 2] = f0[p]
            out[i0 + p, 3] = tb[p]
            out[i0 + p, 4] = me[p]


@dataclass(frozen=True)
class Sweep:
    """Per-point sums of one fused sweep (Section 3, Theorem 5.1; all estimates)."""

    f: np.ndarray
    g: np.ndarray
    f0: np.ndarray
    thm51_sum: np.ndarray
    mechanism: np.ndarray

    def theorem51_bound(self, m: int) -> np.ndarray:
        """|f_W0(x)| + m^{-1/3} Σ_r (R m^{-2/3} - |u_r(x)|)_+ per point (Theorem 5.1, §7)."""
        return np.abs(self.f0) + m ** (-1.0 / 3.0) * self.thm51_sum

    def mechanism_bound(self) -> np.ndarray:
        """|f_W0(x)| + Σ_r |a_r| (|Δ_r(x)| - |u_r(x)|)_+ per point (Theorem 5.1, neuron by neuron)."""
        return np.abs(self.f0) + self.mechanism


def sweep(P: Packed, X: np.ndarray, R: float = 0.0, *, chunk: int = CHUNK) -> Sweep:
    """f_W, g_W, f_W0 and the Theorem 5.1 sums at the rows of X in one fused pass (§6-7).

    ``R`` is the radius in ||W - W0||_{2,inf} <= R/m^{2/3} used by the Theorem 5.1 sum.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != P.d:
        raise ValueError(f"points must be an (N, {P.d}) array")
    out = np.zeros((X.shape[0], 5))
    rm = float(R) * P.m ** (-2.0 / 3.0)
    chunk = int(chunk)
    nchunks = -(-X.shape[0] // chunk)
    parts = min(threads.numba_threads(), nchunks)
    with threads.blas_single_thread():
        threads.spread_range(lambda c0, c1: _sweep_kernel(X, P.tiles, P.a, P.b, P.act, rm, chunk, c0, c1, out),
                             nchunks, parts)
    return Sweep(f=out[:, 0], g=out[:, 1], f0=out[:, 2], thm51_sum=out[:, 3], mechanism=out[:, 4])


def sweep_error_bound(P: Packed) -> float:
    """A-priori bound on the float error of each per-point sum f_W, g_W, f_W0 of :func:`sweep`
    at ||x|| = 1 (Section 3 and Theorem 5.1).

    Pre-activations: |δz_r| <= γ_{d+1} (||W_r||_1 + |b_r|), the same for u_r with W0_r, and
    |δΔ_r| <= γ_{d+1} (||W_r||_1 + ||W0_r||_1) (two products and one subtraction; |x_k| <= 1);
    each sum over neurons adds γ_{m'} Σ_r |a_r| |·|. With the padded width m' and
    γ_k = k u/(1 - k u): <= 2 γ_{d+2+m'} Σ_r |a_r| max_r (||W_r||_1 + ||W0_r||_1 + |b_r|).
    """
    k = P.d + 2 + P.a.shape[0]
    gam = k * _U / (1 - k * _U)
    return gam * P.abs_a_sum * P.max_row_norm1 * 2
