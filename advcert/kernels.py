"""Fused numba kernels of the measured plane: f_W, g_W, f* and the Theorem 5.1 bound.

For points x (rows of X), a two-layer ReLU network (a, W0, b) and weights W (Section 3):

    f_W(x)  = Σ_r a_r relu(<W_r, x> + b_r)
    g_W(x)  = Σ_r a_r <W_r - W0_r, x> 1{<W0_r, x> + b_r >= 0}       (pseudo-network)
    f_W0(x) = Σ_r a_r relu(u_r(x)),   u_r(x) = <W0_r, x> + b_r
    T(x)    = Σ_r (R m^{-2/3} - |u_r(x)|)_+                          (Theorem 5.1 mechanism)
    E(x)    = Σ_r |a_r| (|<W_r - W0_r, x>| - |u_r(x)|)_+

so that |f_W(x) - g_W(x)| <= |f_W0(x)| + m^{-1/3} T(x) whenever every |<W_r - W0_r, x>| <=
R m^{-2/3} (math-spec §7), and <= |f_W0(x)| + E(x) always (the same argument, per neuron).

Layout (perf-notes §5, the "hybrid"): numba ``prange`` over chunks of points; for each tile
of neurons one single-threaded BLAS product of the packed tile [(W - W0)_tile; W0_tile]
with the chunk into a buffer that stays in L2, then a branch-free fused epilogue that
accumulates the per-point sums. No N×m array is ever formed: memory is
O((N + m) d). BLAS must run on one thread per numba thread; the wrappers enforce that
with threadpoolctl, after importing scipy's BLAS so that the limit reaches it.

Packing W - W0 (not W) keeps <W_r - W0_r, x> free of the cancellation s - s0.
Float error: each pre-activation is a length-d dot product (error <= d·2^-53 Σ|terms|) and
each per-point sum adds <= m·2^-53 Σ_r |terms| (sequential accumulation over tiles);
:func:`sweep_error_bound` evaluates that a-priori bound. Everything here is an estimate in
the sense of design.md §3.

f* = Σ_i y_i q(<x_i, x>) is evaluated through the Chebyshev form of p1 (Clenshaw in
y = 1 - x², q(z) = (p1((z - α)/2) + 1)/2), never the monomial form; its float error is
bounded in :func:`fstar_error_bound`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (load scipy's BLAS before threadpoolctl limits it)
from numba import njit, prange
from threadpoolctl import threadpool_limits

from advcert import sphere

_U = 2.0**-53

#: default tile of neurons and chunk of points (buffer chunk × 2·tile doubles = 512 KiB)
TILE = 128
CHUNK = 256


@dataclass(frozen=True, eq=False)
class Packed:
    """A network (a, W0, b) and weights W, packed into BLAS-ready neuron tiles.

    ``tiles[t, :tile]`` = (W - W0)_tile and ``tiles[t, tile:]`` = (W0)_tile (2 tile × d, one
    neuron per row); ``wT[t]`` = W_tile^T and ``dT[t]`` = (W - W0)_tile^T (d × tile) for the
    gradients. The width is padded to a multiple of ``tile`` with neurons that have a = 0
    and act = 0.
    """

    m: int
    d: int
    tile: int
    tiles: np.ndarray
    wT: np.ndarray
    dT: np.ndarray
    a: np.ndarray
    b: np.ndarray
    act: np.ndarray
    abs_a_sum: float
    max_row_norm1: float
    max_delta_norm: float


def pack(a: np.ndarray, W0: np.ndarray, b: np.ndarray, W: np.ndarray | None = None, *,
         tile: int = TILE, grads: bool = True) -> Packed:
    """Pack the network of Section 3, (a, W0, b) with weights W (W0 when None), for the sweeps.

    Rows of W0 and W are neurons (the paper's columns W_r).
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    W0 = np.ascontiguousarray(W0, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    m, d = W0.shape
    if a.shape != (m,) or b.shape != (m,):
        raise ValueError("a and b must have one entry per neuron (rows of W0)")
    D = np.zeros_like(W0) if W is None else np.asarray(W, dtype=np.float64) - W0
    if D.shape != W0.shape:
        raise ValueError("W and W0 must have the same shape")
    nt = -(-m // tile)
    pad = nt * tile - m

    def padrows(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, np.zeros((pad,) + x.shape[1:])]) if pad else x

    Dp, W0p = padrows(D), padrows(W0)
    tiles = np.empty((nt, 2 * tile, d))
    tiles[:, :tile] = Dp.reshape(nt, tile, d)
    tiles[:, tile:] = W0p.reshape(nt, tile, d)
    if grads:
        dT = np.ascontiguousarray(Dp.reshape(nt, tile, d).transpose(0, 2, 1))
        wT = np.ascontiguousarray((Dp + W0p).reshape(nt, tile, d).transpose(0, 2, 1))
    else:
        dT = wT = np.zeros((nt, d, 0))
    act = np.concatenate([np.ones(m), np.zeros(pad)])
    Wfull = W0 + D
    return Packed(
        m=m,
        d=d,
        tile=tile,
        tiles=np.ascontiguousarray(tiles),
        wT=wT,
        dT=dT,
        a=padrows(a),
        b=padrows(b),
        act=act,
        abs_a_sum=float(np.sum(np.abs(a))),
        max_row_norm1=float(np.max(np.sum(np.abs(Wfull), axis=1) + np.abs(b))) if m else 0.0,
        max_delta_norm=float(np.max(np.linalg.norm(D, axis=1))) if m else 0.0,
    )


# The epilogues loop over neurons outside and points inside: S is (2 tile × chunk), so the
# inner loop is an element-wise update of per-point accumulators. That vectorises without
# fastmath (no floating-point reassociation: each point still sums its neurons in order),
# and the ReLU masks compile to selects, not branches (perf-notes §5).


@njit(parallel=True, cache=True, fastmath=False)
def _sweep_kernel(X, tiles, a, b, act, rm, chunk, out):  # pragma: no cover - compiled
    N, d = X.shape
    nt = tiles.shape[0]
    T = tiles.shape[1] // 2
    nchunks = (N + chunk - 1) // chunk
    for c in prange(nchunks):
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
                    dl = S[j, p]
                    u = S[T + j, p] + bj
                    z = u + dl
                    on = 1.0 if u >= 0.0 else 0.0
                    f[p] += av * max(z, 0.0)
                    g[p] += av * dl * on
                    f0[p] += av * max(u, 0.0)
                    tb[p] += max(rm - abs(u), 0.0) * ac
                    me[p] += aa * max(abs(dl) - abs(u), 0.0)
        for p in range(rows):
            out[i0 + p, 0] = f[p]
            out[i0 + p, 1] = g[p]
            out[i0 + p, 2] = f0[p]
            out[i0 + p, 3] = tb[p]
            out[i0 + p, 4] = me[p]


@njit(parallel=True, cache=True, fastmath=False)
def _sweep_grad_kernel(X, tiles, wT, dT, a, b, chunk, out, gf, gg):  # pragma: no cover
    N, d = X.shape
    nt = tiles.shape[0]
    T = tiles.shape[1] // 2
    nchunks = (N + chunk - 1) // chunk
    for c in prange(nchunks):
        i0 = c * chunk
        i1 = min(N, i0 + chunk)
        rows = i1 - i0
        XcT = np.ascontiguousarray(X[i0:i1].T)
        S = np.empty((2 * T, rows))
        Cf = np.empty((T, rows))
        Cg = np.empty((T, rows))
        tmp = np.empty((d, rows))
        f = np.zeros(rows)
        g = np.zeros(rows)
        f0 = np.zeros(rows)
        accf = np.zeros((d, rows))
        accg = np.zeros((d, rows))
        for t in range(nt):
            np.dot(tiles[t], XcT, S)
            base = t * T
            for j in range(T):
                av = a[base + j]
                bj = b[base + j]
                for p in range(rows):
                    dl = S[j, p]
                    u = S[T + j, p] + bj
                    z = u + dl
                    on = 1.0 if u >= 0.0 else 0.0
                    onz = 1.0 if z >= 0.0 else 0.0
                    f[p] += av * max(z, 0.0)
                    g[p] += av * dl * on
                    f0[p] += av * max(u, 0.0)
                    Cf[j, p] = av * onz
                    Cg[j, p] = av * on
            np.dot(wT[t], Cf, tmp)
            accf += tmp
            np.dot(dT[t], Cg, tmp)
            accg += tmp
        for p in range(rows):
            out[i0 + p, 0] = f[p]
            out[i0 + p, 1] = g[p]
            out[i0 + p, 2] = f0[p]
            for k in range(d):
                gf[i0 + p, k] = accf[k, p]
                gg[i0 + p, k] = accg[k, p]


@njit(parallel=True, cache=True, fastmath=False)
def _fstar_kernel(X, Xd, y, cb, dcb, alpha, val, grad):  # pragma: no cover - compiled
    N, d = X.shape
    n = Xd.shape[0]
    L = cb.shape[0]
    Ld = dcb.shape[0]
    for p in prange(N):
        v = 0.0
        for k in range(d):
            grad[p, k] = 0.0
        for i in range(n):
            z = 0.0
            for k in range(d):
                z += Xd[i, k] * X[p, k]
            xx = (z - alpha) / 2.0
            yy = 1.0 - xx * xx
            # Clenshaw for Q(yy) and Q'(yy)
            b1 = 0.0
            b2 = 0.0
            for j in range(L - 1, 0, -1):
                b0 = 2.0 * yy * b1 - b2 + cb[j]
                b2 = b1
                b1 = b0
            Q = yy * b1 - b2 + cb[0]
            b1 = 0.0
            b2 = 0.0
            for j in range(Ld - 1, 0, -1):
                b0 = 2.0 * yy * b1 - b2 + dcb[j]
                b2 = b1
                b1 = b0
            dQ = yy * b1 - b2 + dcb[0]
            q = (xx * Q + 1.0) / 2.0
            dq = (Q - 2.0 * xx * xx * dQ) / 4.0  # d/dz of (p1((z-α)/2) + 1)/2
            v += y[i] * q
            for k in range(d):
                grad[p, k] += y[i] * dq * Xd[i, k]
        val[p] = v


@njit(parallel=True, cache=True, fastmath=False)
def _h_kernel(a, beta, kappa, B, val, err, unsure):  # pragma: no cover - compiled
    u = 2.0**-53
    K = kappa.shape[0] - 1
    for p in prange(a.shape[0]):
        x = a[p]
        nb = -beta[p]
        ha_prev = 0.0
        ha = 1.0
        hb_prev = 0.0
        hb = 1.0
        env_a = 1.0
        env_b = 1.0
        total = kappa[0]
        e = abs(kappa[0]) * u
        bad = False
        for i in range(1, K + 1):
            if abs(hb) <= 8.0 * i * u * env_b:
                bad = True
            w = 1.0 if hb > 0.0 else (-1.0 if hb < 0.0 else 0.0)
            si = math.sqrt(i)
            tmp = (x * ha - math.sqrt(i - 1.0) * ha_prev) / si
            ha_prev = ha
            ha = tmp
            env_a = max(env_a, abs(ha))
            if kappa[i] != 0.0:
                total += kappa[i] * ha * w
                e += abs(kappa[i]) * ((i + 1) * env_a + abs(ha)) * u
            if i < K:
                tmp = (nb * hb - math.sqrt(i - 1.0) * hb_prev) / si
                hb_prev = hb
                hb = tmp
                env_b = max(env_b, abs(hb))
        e += K * u * abs(total)
        if abs(x) <= B:
            val[p] = total
            err[p] = e
            unsure[p] = bad
        else:
            val[p] = 0.0
            err[p] = 0.0
            unsure[p] = False


def h_values(kappa: np.ndarray, B: float, a: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """h(a, β) of Lemma 6.6 in float64 with its error estimate and undecided-sign flags.

    The same recurrence and error model as ``advcert.features.h_float`` (the numpy
    reference), compiled: h = 1{|a| <= B} Σ_i κ_i h̃_i(a) sign(h̃_{i-1}(-β)).
    """
    a, beta = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    shape = a.shape
    av = np.ascontiguousarray(a.ravel())
    bv = np.ascontiguousarray(beta.ravel())
    val = np.empty(av.size)
    err = np.empty(av.size)
    uns = np.empty(av.size, dtype=np.bool_)
    _h_kernel(av, bv, np.ascontiguousarray(kappa, dtype=np.float64), float(B), val, err, uns)
    return val.reshape(shape), err.reshape(shape), uns.reshape(shape)


def _threads() -> threadpool_limits:
    # one BLAS thread per numba thread (perf-notes §5: unlimited BLAS is 2x slower)
    return threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class Sweep:
    """Per-point sums of one fused sweep (all estimates; see the module docstring)."""

    f: np.ndarray
    g: np.ndarray
    f0: np.ndarray
    thm51_sum: np.ndarray
    mechanism: np.ndarray

    def theorem51_bound(self, m: int) -> np.ndarray:
        """|f_W0(x)| + m^{-1/3} Σ_r (R m^{-2/3} - |u_r(x)|)_+ per point (Theorem 5.1, §7)."""
        return np.abs(self.f0) + m ** (-1.0 / 3.0) * self.thm51_sum

    def mechanism_bound(self) -> np.ndarray:
        """|f_W0(x)| + Σ_r |a_r| (|Δ_r(x)| - |u_r(x)|)_+ per point (the same, neuron by neuron)."""
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
    with _threads():
        _sweep_kernel(X, P.tiles, P.a, P.b, P.act, rm, int(chunk), out)
    return Sweep(f=out[:, 0], g=out[:, 1], f0=out[:, 2], thm51_sum=out[:, 3], mechanism=out[:, 4])


def sweep_grad(P: Packed, X: np.ndarray, *, chunk: int = CHUNK) -> tuple[np.ndarray, ...]:
    """(f_W, g_W, f_W0, ∇f_W, ∇g_W) at the rows of X (Section 3; gradients in R^d, a.e.,
    with ReLU'(0) := 1 as in Algorithm 1's indicator convention)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    if P.wT.shape[2] == 0:
        raise ValueError("pack(..., grads=True) is needed for gradients")
    N = X.shape[0]
    out = np.zeros((N, 3))
    gf = np.zeros((N, P.d))
    gg = np.zeros((N, P.d))
    with _threads():
        _sweep_grad_kernel(X, P.tiles, P.wT, P.dT, P.a, P.b, int(chunk), out, gf, gg)
    return out[:, 0], out[:, 1], out[:, 2], gf, gg


def sweep_error_bound(P: Packed) -> float:
    """A-priori bound on the float error of each per-point sum of :func:`sweep` at ||x|| = 1
    (the f_W, g_W, f_W0 of Section 3 and Theorem 5.1).

    Pre-activations: |δ| <= γ_{d+1} (||W_r||_1 + |b_r|) (x has |x_k| <= 1); each sum over
    neurons adds γ_m Σ_r |a_r| |·|. With the padded width m' and γ_k = k u/(1 - k u):
    <= (γ_{d+2} + γ_{m'}) Σ_r |a_r| (||W_r||_1 + |b_r|) (a bound for f, g and f_W0 alike).
    """
    k = P.d + 2 + P.a.shape[0]
    gam = k * _U / (1 - k * _U)
    return gam * P.abs_a_sum * P.max_row_norm1 * 2


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
    _fstar_kernel(X, Xd, y, cb, dcb, float(alpha), val, grad)
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


# ---------------------------------------------------------------------------------------
# ascent on X (finding bad points)
# ---------------------------------------------------------------------------------------


def tangent(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Component of grad in the tangent space of X at the rows of x (Section 3.2: x_d = 1/2
    and ||x_{1:d-1}|| = √3/2 are fixed on X)."""
    t = np.array(grad, dtype=np.float64, copy=True)
    t[:, -1] = 0.0
    head = x[:, :-1]
    nrm2 = np.sum(head * head, axis=1, keepdims=True)
    t[:, :-1] -= np.sum(t[:, :-1] * head, axis=1, keepdims=True) / nrm2 * head
    return t


def ascend(objective, X0: np.ndarray, *, steps: int = 30, step0: float = 0.25,
           seed: np.random.SeedSequence | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Projected normalised-gradient ascent on X from the rows of X0, to find points where the
    Lemma 6.5 or Theorem 5.1 errors are large (estimates: lower bounds of the sups).

    ``objective(X) -> (values, grads)`` with grads in R^d. Each point keeps its best value;
    a step that does not improve is undone and its size halved; where the gradient vanishes
    (g_{W*} is piecewise constant on X) a random tangent direction is tried instead.
    Returns (best values, best points); every value was evaluated at its point.
    """
    rng = np.random.default_rng(seed)
    x = sphere.project(np.asarray(X0, dtype=np.float64))
    val, grad = objective(x)
    best_v, best_x = val.copy(), x.copy()
    eta = np.full(x.shape[0], float(step0))
    for _ in range(steps):
        t = tangent(x, grad)
        nt = np.linalg.norm(t, axis=1, keepdims=True)
        flat = nt[:, 0] <= 1e-300
        if np.any(flat):
            r = tangent(x[flat], rng.standard_normal((int(flat.sum()), x.shape[1])))
            t[flat] = r
            nt[flat] = np.linalg.norm(r, axis=1, keepdims=True)
        cand = sphere.project(x + eta[:, None] * t / np.maximum(nt, 1e-300))
        cv, cg = objective(cand)
        up = cv > val
        x[up], val[up], grad[up] = cand[up], cv[up], cg[up]
        eta[~up] *= 0.5
        eta[up] *= 1.2
        better = val > best_v
        best_v[better], best_x[better] = val[better], x[better]
    return best_v, best_x
