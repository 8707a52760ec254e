"""THE forward pass of Section 3's network f_W and pseudo-network g_W, with x-gradients.

For a two-layer ReLU network (a, W0, b) with weights W (rows W_r are the paper's W_r):

    s_r(x)  = <W_r, x>,   z_r = s_r + b_r                      (f's pre-activation)
    s0_r(x) = <W0_r, x>,  u_r = s0_r + b_r                     (the initial pre-activation)
    Δ_r(x)  = s_r - s0_r                                        (= <W_r - W0_r, x>)
    f_W(x)  = Σ_r a_r relu(z_r),          ∇_x f_W = Σ_r a_r relu'(z_r) W_r
    g_W(x)  = Σ_r a_r Δ_r 1{u_r >= 0},    ∇_x g_W = Σ_r a_r 1{u_r >= 0} (W_r - W0_r)

**The kink convention** (stated here once; every kernel uses :func:`relu`,
:func:`f_slope` and :func:`g_gate`): relu'(0) := 0, so relu(z) = relu'(z) z; and the
pseudo-network's gate is the indicator 1{u >= 0} of its definition (Section 3). Algorithm 1's
W-gradient a_r relu'(z_r) x (:mod:`advcert.kernels.update`) uses the same relu'.

**The pre-activation form**: a dot product first, then + b_r; Δ_r is the difference of the
two products that z_r and u_r need anyway, so g costs no third product (its error,
<= γ_d (|<|W_r|,|x|>| + |<|W0_r|,|x|>|), is covered by
:func:`advcert.kernels.sweep.sweep_error_bound`; at W = W0 it is exactly 0).

**Layouts**, chosen per shape by :func:`forward`:

* ``rows``: register-blocked rows (4 points per block, every neuron's weights loaded once
  per block, no BLAS): small batches, where a BLAS call costs more than the work;
* ``tiles``: the hybrid of perf-notes §5. Threads (:func:`advcert.kernels.threads.spread`)
  take interleaved tiles of neurons;
  per tile one single-threaded BLAS product of all points with the tile into an (N x tile)
  buffer that stays in cache, a branch-free epilogue, and the sums over neurons as BLAS
  products (f += relu(Z) a_tile, ∇f += C W_tile). No N x m array exists: per thread the
  memory is O(N (tile + d)).

:func:`point_forward` is the one-point form the fused ascent trajectories
(:mod:`advcert.kernels.ascent`) call inside their loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from advcert.kernels import threads

#: neurons per tile: an (N x 256) buffer for N = 100 is 200 KiB, inside the L2 cache
TILE = 256
#: batches below this many points use the register-blocked ``rows`` layout
ROWS_MAX = 8
_R = 4  # points per register block (a compile-time constant: the accumulators stay in registers)

LAYOUTS = ("rows", "tiles")


@njit(inline="always")
def f_slope(z):  # pragma: no cover - compiled
    # relu'(z) with relu'(0) := 0 (the convention of the module docstring); a select, not a branch
    return 1.0 if z > 0.0 else 0.0


@njit(inline="always")
def relu(z):  # pragma: no cover - compiled
    return f_slope(z) * z


@njit(inline="always")
def g_gate(u):  # pragma: no cover - compiled
    # the pseudo-network's gate 1{u >= 0} (Section 3)
    return 1.0 if u >= 0.0 else 0.0


# ---------------------------------------------------------------------------------------
# one point (inside the fused ascent) and register-blocked rows (small batches)
# ---------------------------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def point_forward(x, a, W, W0, D, b, kind, grad):  # pragma: no cover - compiled
    # kind 0: f_W(x) and ∇f into grad; kind 1: g_W(x) and ∇g into grad
    d = x.shape[0]
    m = W.shape[0]
    for j in range(d):
        grad[j] = 0.0
    acc = 0.0
    for r in range(m):
        s = 0.0
        for j in range(d):
            s += W[r, j] * x[j]
        if kind == 0:
            z = s + b[r]
            c = a[r] * f_slope(z)
            acc += a[r] * relu(z)
            for j in range(d):
                grad[j] += c * W[r, j]
        else:
            s0 = 0.0
            for j in range(d):
                s0 += W0[r, j] * x[j]
            gate = g_gate(s0 + b[r])
            c = a[r] * gate
            acc += a[r] * ((s - s0) * gate)
            for j in range(d):
                grad[j] += c * D[r, j]
    return acc


@njit(cache=True, fastmath=False)
def _rows(X, a, W, W0, D, b, want_g, want_grad, f, gf, g, gg):  # pragma: no cover - compiled
    N, d = X.shape
    m = W.shape[0]
    for blk in range((N + _R - 1) // _R):
        i0 = blk * _R
        nr = min(N, i0 + _R) - i0
        xs = np.zeros((_R, d))
        for k in range(nr):
            for j in range(d):
                xs[k, j] = X[i0 + k, j]
        s = np.empty(_R)
        s0 = np.empty(_R)
        c = np.empty(_R)
        accf = np.zeros(_R)
        accg = np.zeros(_R)
        grf = np.zeros((_R, d))
        grg = np.zeros((_R, d))
        for r in range(m):
            for k in range(_R):
                s[k] = 0.0
            for j in range(d):
                w = W[r, j]
                for k in range(_R):
                    s[k] += w * xs[k, j]
            for k in range(_R):
                z = s[k] + b[r]
                accf[k] += a[r] * relu(z)
                c[k] = a[r] * f_slope(z)
            if want_grad:
                for j in range(d):
                    w = W[r, j]
                    for k in range(_R):
                        grf[k, j] += c[k] * w
            if want_g:
                for k in range(_R):
                    s0[k] = 0.0
                for j in range(d):
                    w0 = W0[r, j]
                    for k in range(_R):
                        s0[k] += w0 * xs[k, j]
                for k in range(_R):
                    gate = g_gate(s0[k] + b[r])
                    accg[k] += a[r] * ((s[k] - s0[k]) * gate)
                    c[k] = a[r] * gate
                if want_grad:
                    for j in range(d):
                        dd = D[r, j]
                        for k in range(_R):
                            grg[k, j] += c[k] * dd
        for k in range(nr):
            f[i0 + k] = accf[k]
            g[i0 + k] = accg[k]
            if want_grad:
                for j in range(d):
                    gf[i0 + k, j] = grf[k, j]
                if want_g:
                    for j in range(d):
                        gg[i0 + k, j] = grg[k, j]


# ---------------------------------------------------------------------------------------
# BLAS-tiled hybrid (large batches)
# ---------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, fastmath=False)
def _tiles_group(grp, groups, X, a, W, W0, D, b, tile, want_g, want_grad, pf, pgf, pg, pgg):  # pragma: no cover
    # thread grp's share: interleaved neuron tiles t = grp, grp + groups, ... The epilogue has
    # no reductions (a sequential sum over neurons is latency-bound): the sums are BLAS products.
    N, d = X.shape
    m = W.shape[0]
    nt = (m + tile - 1) // tile
    S = np.empty((N, tile))
    C = np.empty((N, tile))
    S0 = np.empty((N, tile)) if want_g else np.empty((1, 1))
    fv = np.empty(N)
    tmp = np.empty((N, d))
    for p in range(N):
        pf[grp, p] = 0.0
        pg[grp, p] = 0.0
    if want_grad:
        for p in range(N):
            for k in range(d):
                pgf[grp, p, k] = 0.0
                pgg[grp, p, k] = 0.0
    for t in range(grp, nt, groups):
        r0 = t * tile
        r1 = min(m, r0 + tile)
        T = r1 - r0
        if T == tile:
            Sb = S
            Cb = C
            S0b = S0
        else:
            Sb = np.empty((N, T))
            Cb = np.empty((N, T))
            S0b = np.empty((N, T)) if want_g else S0
        np.dot(X, W[r0:r1].T, Sb)
        if want_g:
            np.dot(X, W0[r0:r1].T, S0b)
            # g first: it needs the products s before the f epilogue overwrites them
            for p in range(N):
                for j in range(T):
                    gate = g_gate(S0b[p, j] + b[r0 + j])
                    Cb[p, j] = a[r0 + j] * gate
                    S0b[p, j] = (Sb[p, j] - S0b[p, j]) * gate
            np.dot(S0b, a[r0:r1], fv)
            for p in range(N):
                pg[grp, p] += fv[p]
            if want_grad:
                np.dot(Cb, D[r0:r1], tmp)
                for p in range(N):
                    for k in range(d):
                        pgg[grp, p, k] += tmp[p, k]
        for p in range(N):
            for j in range(T):
                z = Sb[p, j] + b[r0 + j]
                Cb[p, j] = a[r0 + j] * f_slope(z)
                Sb[p, j] = relu(z)
        np.dot(Sb, a[r0:r1], fv)
        for p in range(N):
            pf[grp, p] += fv[p]
        if want_grad:
            np.dot(Cb, W[r0:r1], tmp)
            for p in range(N):
                for k in range(d):
                    pgf[grp, p, k] += tmp[p, k]


@njit(cache=True, nogil=True, fastmath=False)
def _reduce(groups, want_grad, pf, pgf, f, gf):  # pragma: no cover - compiled
    N = f.shape[0]
    for p in range(N):
        s = 0.0
        for grp in range(groups):
            s += pf[grp, p]
        f[p] = s
    if want_grad:
        d = gf.shape[1]
        for p in range(N):
            for k in range(d):
                s = 0.0
                for grp in range(groups):
                    s += pgf[grp, p, k]
                gf[p, k] = s


# ---------------------------------------------------------------------------------------
# the wrapper
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Forward:
    """f_W and, when asked, g_W and the x-gradients at the rows of X (Section 3; estimates).

    ``f_grad``/``g_grad`` are (N, d) or None; ``g`` is None when g_W was not asked for.
    """

    f: np.ndarray
    f_grad: np.ndarray | None
    g: np.ndarray | None
    g_grad: np.ndarray | None


def choose_layout(N: int) -> str:
    """The layout :func:`forward` uses for N points (Section 3's network; see the module docstring)."""
    return "rows" if N < ROWS_MAX else "tiles"


def forward(a, W, b, X, *, W0=None, D=None, g: bool = False, grad: bool = False,
            layout: str | None = None, tile: int = TILE) -> Forward:
    """f_W (and g_W when ``g``) at the rows of X, with x-gradients when ``grad`` (Section 3).

    Arrays are validated, contiguous float64 (:class:`advcert.measured.network.TwoLayerNet`):
    a (m,), W, W0, D = W - W0 (m, d), b (m,); W0 and D are needed only for g. ``layout``
    overrides the per-shape choice (the equivalence tests run both).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    N, d = X.shape
    m = W.shape[0]
    if g and (W0 is None or D is None):
        raise ValueError("g_W needs W0 and D = W - W0")
    want_g, want_grad = bool(g), bool(grad)
    W0k = W0 if want_g else W
    Dk = D if (want_g and want_grad) else W
    layout = choose_layout(N) if layout is None else layout
    f, gv = np.empty(N), np.zeros(N)
    gf = np.empty((N, d)) if want_grad else np.empty((1, 1))
    gg = np.empty((N, d)) if (want_grad and want_g) else np.empty((1, 1))
    if layout == "rows":
        _rows(X, a, W, W0k, Dk, b, want_g, want_grad, f, gf, gv, gg)
    elif layout == "tiles":
        G = threads.groups(N, m, d, tile)
        shape = (G, N, d) if want_grad else (G, 1, 1)
        pf, pg, pgf, pgg = np.empty((G, N)), np.empty((G, N)), np.empty(shape), np.empty(shape)
        tile = int(tile)
        with threads.blas_single_thread():
            threads.spread(lambda grp: _tiles_group(grp, G, X, a, W, W0k, Dk, b, tile, want_g, want_grad,
                                                    pf, pgf, pg, pgg), G)
        _reduce(G, want_grad, pf, pgf, f, gf)
        if want_g:
            _reduce(G, want_grad, pg, pgg, gv, gg)
    else:
        raise ValueError(f"unknown layout {layout!r}; use one of {LAYOUTS}")
    return Forward(f=f, f_grad=gf if want_grad else None, g=gv if want_g else None,
                   g_grad=gg if (want_grad and want_g) else None)
