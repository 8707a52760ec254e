"""Algorithm 1 (adversarial training) and the checks of Theorems 5.2 and 4.1.

Algorithm 1 [P, math-spec §8], full batch, from (a, W0, b):

    for t = 0, ..., T-1:
        S(t) = {(A(x_i, y_i, f_{W(t)}), y_i)}                 the adversary, points held fixed
        W(t+1) = W(t) - eta * grad_W L(f_W, S(t)) at W(t)     a and b frozen

with eta = c_eta * eps * m^{-1/3} and T = min(c_T * R^2 / eps^2, max_steps) (Theorem 5.2;
both the theorem's T and the budget used are reported). What the proof tracks is tracked:
L_A(f_{W(t)}) against the training adversary, the clean loss, the drift
m^{2/3} max_r ||W_r(t) - W0_r|| against R_train = R^2/eps (math-spec §7), the running average
(the left side of Theorem 5.2), and at checkpoints the Theorem 5.1 gap sup |f_W - g_W|
(sampled: a lower bound of the sup) and a plain CROWN sound upper bound of L_{A*}(f_{W(t)}).

Everything is a pure function over explicit arrays (a, W0, b, W): rows of W are the
neurons W_r, as in :mod:`advcert.attack` and :mod:`advcert.bounds`.

Kernels. One evaluation of f_W and grad_x f_W at N points, and one SGD update, are fused
numba kernels in the hybrid layout of perf-notes §5: numba threads take interleaved tiles of
neurons; per tile a single-threaded BLAS product of the points with the tile into an
(N x tile) buffer that stays in cache, then a branch-free epilogue and (for gradients)
a second BLAS product. No N x m or n x m x d array exists; per thread the memory is
O(N (tile + d)), and the update writes W(t+1) row by row with its drift.

The training adversary A (``adversary="pgd"``, the default) is normalised projected
gradient ascent on the caps B_2(x_i, rho) ∩ X of the loss itself: it starts at the data
point (so its first evaluation is the clean loss) plus ``restarts`` points uniform in the
cap, takes ``attack_steps`` tangent steps of geometrically decaying length from rho to
rho/10, projects onto the cap relative to the ORIGINAL centre, and returns per point the
best point it evaluated. It is rho-bounded by construction (up to float rounding of the
projection), so L_A <= L_{A*}. ``adversary="apgd"`` uses :func:`advcert.attack.network_ascent`
instead (its APGD step rule; 2-3x slower: 6.6 vs 3.2 ms per call at n=10, m=4096, d=8, and
483 vs 169 ms at n=100, m=2^14, d=32).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (load scipy's BLAS before threadpoolctl limits it)
from numba import get_num_threads, njit, prange
from threadpoolctl import ThreadpoolController

from advcert import sphere
from advcert.errors import InputError

#: neurons per tile: an (N x 256) buffer for N = 100 is 200 KiB, inside the 1 MiB L2
TILE = 256
LOSSES = ("abs", "smooth")
ADVERSARIES = ("pgd", "apgd")

# ---------------------------------------------------------------------------------------
# the loss class of Definition 3.1
# ---------------------------------------------------------------------------------------


def loss_value(yhat: np.ndarray, y: np.ndarray, loss: str = "abs", tau: float = 0.01) -> np.ndarray:
    """ℓ(ŷ, y) of Definition 3.1: ``abs`` |ŷ - y|, ``smooth`` sqrt((ŷ - y)² + τ²) - τ.

    Both are convex in ŷ, non-negative, 1-Lipschitz and vanish at ŷ = y.
    """
    e = np.asarray(yhat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    if loss == "abs":
        return np.abs(e)
    # e²/(sqrt(e²+τ²)+τ) is sqrt(e²+τ²) - τ without cancellation for small e
    return e * e / (np.sqrt(e * e + tau * tau) + tau)


def loss_slope(yhat: np.ndarray, y: np.ndarray, loss: str = "abs", tau: float = 0.01) -> np.ndarray:
    """A (sub)gradient ℓ'(ŷ, y) in ŷ (Definition 3.1's loss class); sign(0) := +1 for ``abs``."""
    e = np.asarray(yhat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    if loss == "abs":
        return np.where(e >= 0.0, 1.0, -1.0)
    return e / np.sqrt(e * e + tau * tau)


# ---------------------------------------------------------------------------------------
# fused kernels
# ---------------------------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def _eval_group(g, groups, X, W, a, b, tile, want_grad, pf, pg):  # pragma: no cover - compiled
    # thread g's share: interleaved neuron tiles t = g, g + groups, ... into pf[g], pg[g].
    # The epilogue has no reductions (a sequential sum over neurons is latency-bound): the
    # sums over neurons are BLAS products, f += relu(Z) a_tile and grad += C W_tile.
    N, d = X.shape
    m = W.shape[0]
    nt = (m + tile - 1) // tile
    S = np.empty((N, tile))
    C = np.empty((N, tile))
    fv = np.empty(N)
    tmp = np.empty((N, d))
    for p in range(N):
        pf[g, p] = 0.0
    if want_grad:
        for p in range(N):
            for k in range(d):
                pg[g, p, k] = 0.0
    for t in range(g, nt, groups):
        r0 = t * tile
        r1 = min(m, r0 + tile)
        T = r1 - r0
        if T == tile:
            Sb = S
            Cb = C
        else:
            Sb = np.empty((N, T))
            Cb = np.empty((N, T))
        np.dot(X, W[r0:r1].T, Sb)
        for p in range(N):
            for j in range(T):
                z = Sb[p, j] + b[r0 + j]
                # branch-free: random ReLU signs mispredict (perf-notes §5)
                on = 1.0 * (z > 0.0)
                Sb[p, j] = on * z
                Cb[p, j] = a[r0 + j] * on
        np.dot(Sb, a[r0:r1], fv)
        for p in range(N):
            pf[g, p] += fv[p]
        if want_grad:
            np.dot(Cb, W[r0:r1], tmp)
            for p in range(N):
                for k in range(d):
                    pg[g, p, k] += tmp[p, k]


@njit(cache=True, fastmath=False)
def _reduce(groups, want_grad, pf, pg, f_out, g_out):  # pragma: no cover - compiled
    N = f_out.shape[0]
    for p in range(N):
        s = 0.0
        for g in range(groups):
            s += pf[g, p]
        f_out[p] = s
    if want_grad:
        d = g_out.shape[1]
        for p in range(N):
            for k in range(d):
                s = 0.0
                for g in range(groups):
                    s += pg[g, p, k]
                g_out[p, k] = s


@njit(parallel=True, cache=True, fastmath=False)
def _eval_par(X, W, a, b, tile, groups, want_grad, pf, pg, f_out, g_out):  # pragma: no cover - compiled
    # f_W(x_p) = sum_r a_r relu(<W_r, x_p> + b_r) and grad_x f_W(x_p) = sum_r a_r 1{z > 0} W_r
    # (relu'(0) := 0 here: any subgradient serves the ascent)
    for g in prange(groups):
        _eval_group(g, groups, X, W, a, b, tile, want_grad, pf, pg)
    _reduce(groups, want_grad, pf, pg, f_out, g_out)


@njit(cache=True, fastmath=False)
def _eval_ser(X, W, a, b, tile, groups, want_grad, pf, pg, f_out, g_out):  # pragma: no cover - compiled
    for g in range(groups):
        _eval_group(g, groups, X, W, a, b, tile, want_grad, pf, pg)
    _reduce(groups, want_grad, pf, pg, f_out, g_out)


@njit(cache=True, fastmath=False)
def _update_group(g, groups, X, coef, W, W0, a, b, eta, tile, mode, out, drift2):  # pragma: no cover - compiled
    # grad_W L = sum_p coef_p a_r 1{<W_r, x_p> + b_r >= 0} x_p with coef_p = ℓ'_p / n
    # (math-spec §8: relu'(0) := 1, the indicator convention). mode 0: out = the gradient;
    # mode 1: out = W - eta * gradient and drift2[r] = ||out_r - W0_r||².
    N, d = X.shape
    m = W.shape[0]
    nt = (m + tile - 1) // tile
    S = np.empty((N, tile))
    C = np.empty((N, tile))
    Gt = np.empty((tile, d))
    for t in range(g, nt, groups):
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
                Cb[p, j] = cp * a[r0 + j] * (1.0 * (Sb[p, j] + b[r0 + j] >= 0.0))
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


@njit(parallel=True, cache=True, fastmath=False)
def _update_par(X, coef, W, W0, a, b, eta, tile, groups, mode, out, drift2):  # pragma: no cover - compiled
    for g in prange(groups):
        _update_group(g, groups, X, coef, W, W0, a, b, eta, tile, mode, out, drift2)


@njit(cache=True, fastmath=False)
def _update_ser(X, coef, W, W0, a, b, eta, tile, groups, mode, out, drift2):  # pragma: no cover - compiled
    for g in range(groups):
        _update_group(g, groups, X, coef, W, W0, a, b, eta, tile, mode, out, drift2)


@njit(parallel=True, cache=True, fastmath=False)
def _gap_kernel(X, D, W0, a, b, tile, groups, pf, pg, f_out, g_out):  # pragma: no cover - compiled
    # f_W and the pseudo-network g_W(x) = sum_r a_r <D_r, x> 1{<W0_r, x> + b_r >= 0}, D = W - W0
    # (packing D, not W, keeps <D_r, x> free of cancellation); sums over neurons by BLAS
    N, d = X.shape
    m = D.shape[0]
    nt = (m + tile - 1) // tile
    for g in prange(groups):
        S = np.empty((N, tile))
        S0 = np.empty((N, tile))
        fv = np.empty(N)
        for p in range(N):
            pf[g, p] = 0.0
            pg[g, p] = 0.0
        for t in range(g, nt, groups):
            r0 = t * tile
            r1 = min(m, r0 + tile)
            T = r1 - r0
            if T == tile:
                Sb = S
                S0b = S0
            else:
                Sb = np.empty((N, T))
                S0b = np.empty((N, T))
            np.dot(X, D[r0:r1].T, Sb)
            np.dot(X, W0[r0:r1].T, S0b)
            for p in range(N):
                for j in range(T):
                    u = S0b[p, j] + b[r0 + j]
                    dl = Sb[p, j]
                    S0b[p, j] = max(u + dl, 0.0)
                    Sb[p, j] = dl * (1.0 * (u >= 0.0))
            np.dot(S0b, a[r0:r1], fv)
            for p in range(N):
                pf[g, p] += fv[p]
            np.dot(Sb, a[r0:r1], fv)
            for p in range(N):
                pg[g, p] += fv[p]
    for p in range(N):
        s = 0.0
        s2 = 0.0
        for g in range(groups):
            s += pf[g, p]
            s2 += pg[g, p]
        f_out[p] = s
        g_out[p] = s2


@njit(cache=True, fastmath=False)
def _ascent_kernel(x, cen, slope, gx, h, cos_t, sin_t, whole, out):  # pragma: no cover - compiled
    # per row: the unit tangent ascent direction of slope * grad_x f at x (attack.tangent_direction),
    # a step of length h, then sphere.project_to_cap relative to the ORIGINAL centre
    N, d = x.shape
    k = d - 1
    hs = math.sqrt(3.0) / 2.0
    t = np.empty(d)
    c = np.empty(k)
    for i in range(N):
        hn2 = 0.0
        tp = 0.0
        for j in range(k):
            t[j] = slope[i] * gx[i, j]
            hn2 += x[i, j] * x[i, j]
            tp += t[j] * x[i, j]
        tn = 0.0
        for j in range(k):
            t[j] -= tp / hn2 * x[i, j]
            tn += t[j] * t[j]
        tn = math.sqrt(tn)
        sc = h / tn if tn > 0.0 else 0.0
        vn = 0.0
        for j in range(k):
            out[i, j] = x[i, j] + sc * t[j]
            vn += out[i, j] * out[i, j]
        vn = math.sqrt(vn)
        cn = 0.0
        for j in range(k):
            c[j] = cen[i, j]
            cn += c[j] * c[j]
        cn = math.sqrt(cn)
        dot = 0.0
        for j in range(k):
            c[j] /= cn
            out[i, j] /= vn
            dot += out[i, j] * c[j]
        if (not whole) and dot < cos_t:
            wn = 0.0
            for j in range(k):
                out[i, j] -= dot * c[j]
                wn += out[i, j] * out[i, j]
            wn = math.sqrt(wn)
            if wn == 0.0:
                # antipodal to the centre: any orthogonal direction, deterministically
                for j in range(k):
                    out[i, j] = -c[0] * c[j]
                out[i, 0] += 1.0
                wn = 0.0
                for j in range(k):
                    wn += out[i, j] * out[i, j]
                wn = math.sqrt(wn)
                if wn == 0.0:
                    for j in range(k):
                        out[i, j] = 0.0
                    out[i, 1] = 1.0
                    wn = 1.0
            for j in range(k):
                out[i, j] = cos_t * c[j] + sin_t * out[i, j] / wn
        for j in range(k):
            out[i, j] *= hs
        out[i, k] = 0.5


#: below this many point·neuron·dimension products a kernel runs on one thread: waking the
#: thread pool costs more than the work (milliseconds on a busy 2-core machine)
PARALLEL_WORK = 1 << 21


def _groups(N: int, m: int, d: int, tile: int) -> int:
    if N * m * d < PARALLEL_WORK:
        return 1
    return max(1, min(get_num_threads(), -(-m // tile)))


_POOLS: ThreadpoolController | None = None  # made on first use (10 ms); limiting through it costs 0.2 ms


def _blas_one_thread():
    # one BLAS thread per numba thread (perf-notes §5: unlimited BLAS is 2x slower)
    global _POOLS
    if _POOLS is None:
        _POOLS = ThreadpoolController()
    return _POOLS.limit(limits=1, user_api="blas")


def _net(a, W0, b, W):
    a = np.ascontiguousarray(a, dtype=np.float64)
    W0 = np.ascontiguousarray(W0, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    if W0.ndim != 2 or a.shape != (W0.shape[0],) or b.shape != (W0.shape[0],) or W.shape != W0.shape:
        raise InputError(
            f"network arrays have shapes a {a.shape}, W0 {W0.shape}, b {b.shape}, W {W.shape}",
            "pass a (m,), W0 and W (m, d) with row r = W_r, b (m,)",
        )
    for name, arr in (("a", a), ("W0", W0), ("b", b), ("W", W)):
        if not np.all(np.isfinite(arr)):
            raise InputError(f"network array {name} has NaN or infinity", "check the network witness file")
    return a, W0, b, W


def forward(a, W, b, X, *, grad: bool = False, tile: int = TILE) -> tuple[np.ndarray, np.ndarray | None]:
    """f_W(x) = Σ_r a_r relu(<W_r, x> + b_r) at the rows of X, and grad_x f_W if asked (Section 3).

    One fused sweep (no N x m temporaries). The x-gradient uses relu'(0) := 0.
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    with _blas_one_thread():
        return _forward(a, W, b, X, grad, tile)


def _forward(a, W, b, X, grad, tile):
    X = np.ascontiguousarray(X, dtype=np.float64)
    N, d = X.shape
    G = _groups(N, W.shape[0], d, tile)
    pf = np.empty((G, N))
    pg = np.empty((G, N, d)) if grad else np.empty((G, 1, 1))
    f = np.empty(N)
    gx = np.empty((N, d)) if grad else np.empty((1, 1))
    (_eval_par if G > 1 else _eval_ser)(X, W, a, b, int(tile), G, bool(grad), pf, pg, f, gx)
    return f, (gx if grad else None)


def pseudo_gap(a, W0, b, W, X, *, tile: int = TILE) -> tuple[np.ndarray, np.ndarray]:
    """(f_W(x), g_W(x)) at the rows of X: the two sides of Theorem 5.1's sup |f_W - g_W|."""
    a, W0, b, W = _net(a, W0, b, W)
    X = np.ascontiguousarray(X, dtype=np.float64)
    N = X.shape[0]
    D = W - W0
    G = max(1, min(get_num_threads(), -(-W.shape[0] // tile)))
    pf = np.empty((G, N))
    pg = np.empty((G, N))
    f = np.empty(N)
    g = np.empty(N)
    with _blas_one_thread():
        _gap_kernel(X, D, W0, a, b, int(tile), G, pf, pg, f, g)
    return f, g


def loss_and_grad(a, W, b, X, labels, *, loss: str = "abs", tau: float = 0.01,
                  tile: int = TILE) -> tuple[float, np.ndarray]:
    """L(f_W, S) = (1/n) Σ_i ℓ(f_W(x_i), y_i) and its (sub)gradient in W (Algorithm 1, math-spec §8).

    ∂L/∂W_r = (1/n) Σ_i ℓ'(f_W(x_i), y_i) a_r 1{<W_r, x_i> + b_r >= 0} x_i (relu'(0) := 1);
    the points are held fixed (no differentiation through the adversary that made them).
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    with _blas_one_thread():
        f, _ = _forward(a, W, b, X, False, tile)
        coef = loss_slope(f, y, loss, tau) / X.shape[0]
        G = np.empty_like(W)
        groups = _groups(X.shape[0], W.shape[0], W.shape[1], tile)
        (_update_par if groups > 1 else _update_ser)(X, coef, W, W, a, b, 0.0, int(tile), groups, 0, G, np.empty(0))
    return float(np.mean(loss_value(f, y, loss, tau))), G


def sgd_step(a, W0, b, W, X_adv, f_adv, labels, eta: float, *, loss: str = "abs", tau: float = 0.01,
             tile: int = TILE) -> tuple[np.ndarray, float]:
    """One update of Algorithm 1: W - eta * grad_W L(f_W, S(t)), with the drift of the result.

    ``X_adv`` are the adversary's points S(t) (held fixed) and ``f_adv`` = f_W at them (the
    adversary evaluated them already). Returns (W(t+1), max_r ||W_r(t+1) - W0_r||); a, b and
    W are not modified.
    """
    a, W0, b, W = _net(a, W0, b, W)
    with _blas_one_thread():
        return _sgd(a, W0, b, W, X_adv, f_adv, labels, eta, loss, tau, tile)


def _sgd(a, W0, b, W, X_adv, f_adv, labels, eta, loss, tau, tile):
    X = np.ascontiguousarray(X_adv, dtype=np.float64)
    coef = np.ascontiguousarray(loss_slope(f_adv, labels, loss, tau) / X.shape[0])
    out = np.empty_like(W)
    drift2 = np.empty(W.shape[0])
    groups = _groups(X.shape[0], W.shape[0], W.shape[1], tile)
    (_update_par if groups > 1 else _update_ser)(X, coef, W, W0, a, b, float(eta), int(tile), groups, 1, out, drift2)
    return out, float(math.sqrt(float(np.max(drift2)))) if drift2.size else 0.0


# ---------------------------------------------------------------------------------------
# the training adversary A
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adversary:
    """The training adversary A of Algorithm 1: rho-bounded, A(x, y, f) ∈ B_2(x, rho) ∩ X (Def. 3.2).

    ``kind`` 'pgd': normalised projected ascent of the loss from the data point (plus
    ``restarts`` uniform starts in the cap), ``steps`` steps of length rho·10^{-k/(steps-1)};
    'apgd': :func:`advcert.attack.network_ascent` on |f - y| (the loss ``abs`` only).
    """

    rho: float
    steps: int = 10
    restarts: int = 0
    kind: str = "pgd"


@dataclass(frozen=True, eq=False)
class Attacked:
    """S(t) made by the adversary at one network (Algorithm 1, step 1).

    ``points`` (n, d) and ``f`` = f_W there; ``loss`` = ℓ(f, y) per point (their mean is
    L_A(f_W)); ``clean_f`` = f_W at the data points (clean loss), from the first evaluation.
    """

    points: np.ndarray
    f: np.ndarray
    loss: np.ndarray
    clean_f: np.ndarray


def _step_lengths(rho: float, steps: int) -> np.ndarray:
    if steps <= 1:
        return np.full(max(steps, 0), rho)
    return rho * 10.0 ** (-np.arange(steps) / (steps - 1))


def adversary_points(a, W, b, points, labels, adv: Adversary, *, loss: str = "abs", tau: float = 0.01,
                     seed: np.random.SeedSequence | None = None, tile: int = TILE,
                     evaluate: Callable | None = None) -> Attacked:
    """A(S, f_W): the training adversary's points for every (x_i, y_i) (Algorithm 1, Definition 3.2).

    ``evaluate(X, grad)`` -> (f, grad_x f) replaces the fused kernels by the caller's (the
    plain-numpy reference passes its own, and the ascent step then runs through
    :func:`advcert.attack.tangent_direction` and :func:`advcert.sphere.project_to_cap`
    instead of the fused ascent kernel), so the two paths check each other step by step.
    """
    if evaluate is None:
        a = np.ascontiguousarray(a, dtype=np.float64)
        W = np.ascontiguousarray(W, dtype=np.float64)
        b = np.ascontiguousarray(b, dtype=np.float64)
        with _blas_one_thread():
            return _adversary(a, W, b, points, labels, adv, loss, tau, seed,
                              lambda X, grad: _forward(a, W, b, X, grad, tile), True)
    return _adversary(a, W, b, points, labels, adv, loss, tau, seed, evaluate, False)


def _adversary(a, W, b, points, labels, adv, loss, tau, seed, ev, fused) -> Attacked:
    c = np.ascontiguousarray(points, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    n, d = c.shape
    if adv.kind == "apgd":
        from advcert.attack import network_ascent

        if loss != "abs":
            raise InputError("the 'apgd' adversary attacks |f - y| only", "use --loss abs or the 'pgd' adversary")
        res = network_ascent(a, W, b, c, y, adv.rho, seed=seed if seed is not None else 0, sign=0,
                             restarts=adv.restarts, steps=adv.steps)
        f, _ = ev(np.concatenate([res.points, c]), False)
        fx, fc = f[:n], f[n:]
        lx, lc = loss_value(fx, y, loss, tau), loss_value(fc, y, loss, tau)
        # the centre itself is a point of the cap: A never returns less than it
        take = lc > lx
        pts = np.where(take[:, None], c, res.points)
        return Attacked(points=pts, f=np.where(take, fc, fx), loss=np.maximum(lx, lc), clean_f=fc)
    k = adv.restarts + 1
    if k == 1:
        x = c.copy()
    else:
        rng = np.random.default_rng(seed if seed is not None else 0)
        x = np.empty((n * k, d))
        for i in range(n):
            x[i * k] = c[i]
            x[i * k + 1 : (i + 1) * k] = sphere.sample_in_cap(rng, c[i], adv.rho, adv.restarts)
    idx = np.repeat(np.arange(n), k)
    cen = np.ascontiguousarray(c[idx])
    yy = y[idx]
    theta = sphere.cap_angle(adv.rho)
    whole = theta >= math.pi
    f, gx = ev(x, adv.steps > 0)
    clean_f = f[::k].copy()
    val = loss_value(f, yy, loss, tau)
    best_v, best_x, best_f = val.copy(), x.copy(), f.copy()
    xn = np.empty_like(x)
    for s, h in enumerate(_step_lengths(adv.rho, adv.steps)):
        slope = loss_slope(f, yy, loss, tau)
        if fused:
            _ascent_kernel(x, cen, slope, gx, float(h), math.cos(theta), math.sin(theta), whole, xn)
            x, xn = xn, x
        else:
            from advcert.attack import tangent_direction

            x = sphere.project_to_cap(x + h * tangent_direction(x, slope[:, None] * gx), cen, adv.rho)
        f, gx = ev(x, s < adv.steps - 1)
        val = loss_value(f, yy, loss, tau)
        better = val > best_v
        best_v[better], best_x[better], best_f[better] = val[better], x[better], f[better]
    per = best_v.reshape(n, k)
    arg = np.argmax(per, axis=1)
    rows = np.arange(n) * k + arg
    return Attacked(points=best_x[rows], f=best_f[rows], loss=best_v[rows], clean_f=clean_f)


# ---------------------------------------------------------------------------------------
# plain numpy reference (N x m temporaries): for tests and benchmarks only
# ---------------------------------------------------------------------------------------


def reference_forward(a, W, b, X, grad: bool = False):
    """f_W and grad_x f_W of Section 3 in plain numpy (forms the N x m pre-activations): a reference."""
    Z = X @ W.T + b
    f = np.maximum(Z, 0.0) @ a
    return f, ((Z > 0.0) * a) @ W if grad else None


def reference_step(a, W0, b, W, points, labels, eta: float, adv: Adversary, *, loss: str = "abs",
                   tau: float = 0.01, seed=None) -> tuple[np.ndarray, Attacked, float]:
    """One step of Algorithm 1 in plain numpy (N x m temporaries): the reference for the fused step."""
    att = adversary_points(a, W, b, points, labels, adv, loss=loss, tau=tau, seed=seed,
                           evaluate=lambda X, grad: reference_forward(a, W, b, X, grad))
    Xa = att.points
    Z = Xa @ W.T + b
    coef = loss_slope(att.f, labels, loss, tau) / Xa.shape[0]
    G = ((Z >= 0.0) * a * coef[:, None]).T @ Xa
    Wn = W - eta * G
    return Wn, att, float(np.max(np.linalg.norm(Wn - W0, axis=1)))


# ---------------------------------------------------------------------------------------
# schedule and the training loop
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Step size and number of steps of Theorem 5.2 / 4.1 (math-spec §7).

    eta = c_eta * eps * m^{-1/3}; the theorem's T = c_T * R^2 / eps^2 (``T_theorem``, a
    float, possibly astronomical); ``T`` = min(ceil(T_theorem), max_steps) is what runs.
    R_train = R^2 / eps is the drift radius the iterates stay within: m^{2/3} max_r
    ||W_r(t) - W0_r|| <= eta t m^{-1/3} m^{2/3} <= R_train for t <= T_theorem (c_eta = c_T = 1).
    """

    eps: float
    m: int
    R: float
    c_eta: float
    c_T: float
    max_steps: int
    eta: float
    T_theorem: float
    T: int
    R_train: float

    @property
    def capped(self) -> bool:
        return self.T < self.T_theorem


def _exact(x, name: str) -> Fraction:
    # Fractions stay exact (0.1 from the command line is 1/10); floats are their binary64 value
    try:
        q = Fraction(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {x!r}", f"pass a number for {name}") from None
    return q


def schedule(eps, m: int, R=1, *, c_eta=1, c_T=1, max_steps: int = 1000) -> Schedule:
    """Theorem 5.2's eta = c_eta ε m^{-1/3} and T = min(c_T R²/ε², max_steps) (math-spec §7).

    ``T`` is the least integer >= c_T R²/ε², computed exactly from the given numbers
    (Fractions, ints or floats), then capped by ``max_steps``.
    """
    eq, Rq, ce, ct = _exact(eps, "eps"), _exact(R, "R"), _exact(c_eta, "c_eta"), _exact(c_T, "c_T")
    if not (0 < eq < 1):
        raise InputError(f"eps must lie in (0, 1), got {float(eq)}", "pass for example --eps 0.1")
    if not Rq >= 1:
        raise InputError(f"Theorem 5.2 needs R >= 1, got {float(Rq)}", "pass --R 1 or more")
    if m < 1 or max_steps < 0:
        raise InputError("m must be >= 1 and max_steps >= 0", "pass a positive width and step budget")
    if not (ce > 0 and ct > 0):
        raise InputError("c_eta and c_T must be > 0", "pass positive constants, for example 1")
    T_thm = ct * Rq * Rq / (eq * eq)
    T = min(math.ceil(T_thm), int(max_steps))
    return Schedule(eps=float(eq), m=int(m), R=float(Rq), c_eta=float(ce), c_T=float(ct), max_steps=int(max_steps),
                    eta=float(ce * eq) * m ** (-1.0 / 3.0), T_theorem=float(T_thm), T=int(T),
                    R_train=float(Rq * Rq / eq))


@dataclass(frozen=True)
class TrainConfig:
    """Everything Algorithm 1 needs besides the data and the network (math-spec §8)."""

    eps: Fraction | float
    R: Fraction | float = 1
    c_eta: Fraction | float = 1
    c_T: Fraction | float = 1
    max_steps: int = 1000
    loss: str = "abs"
    tau: float = 0.01
    attack_steps: int = 10
    attack_restarts: int = 0
    adversary: str = "pgd"
    checkpoints: int = 20  # evaluations of the Theorem 5.1 gap and the CROWN bound
    gap_points: int = 256  # uniform points of X for the sampled sup |f - g|
    crown: bool = True


@dataclass(frozen=True)
class StepStats:
    """What one step of Algorithm 1 measured at W(t) (passed to the progress callback)."""

    t: int
    L_A: float
    clean: float
    drift: float  # m^{2/3} max_r ||W_r(t) - W0_r||
    best: float
    T: int


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Algorithm 1's record (Theorems 5.2 and 4.1): curves over t = 0..steps and the best iterate.

    ``L_A[t]``, ``clean[t]``, ``drift[t]`` for t = 0..len-1 (W(t) evaluated); ``average[t-1]``
    = (1/t) Σ_{s<t} L_A[s] (Theorem 5.2's left side at T = t). ``t_best`` = argmin over
    t >= 1 (the paper's t ∈ [T]) of L_A, or 0 if no update ran. Checkpoint arrays are
    indexed like ``checkpoints``. ``interrupted`` is True when Ctrl-C stopped the run;
    everything recorded up to then is kept. ``W_last`` is the last iterate made (after an
    interrupt it may be one update past the last one evaluated).
    """

    schedule: Schedule
    config: TrainConfig
    W_best: np.ndarray
    t_best: int
    min_L_A: float
    W_last: np.ndarray
    L_A: np.ndarray
    clean: np.ndarray
    drift: np.ndarray
    average: np.ndarray
    checkpoints: np.ndarray
    gap: np.ndarray
    gap_predicted: np.ndarray
    crown_upper: np.ndarray
    interrupted: bool
    seconds: float

    @property
    def steps_done(self) -> int:
        """Updates made (W(steps_done) is the last iterate)."""
        return max(len(self.L_A) - 1, 0)


def _checkpoint_times(T: int, count: int) -> set[int]:
    if count <= 0:
        return {T}
    return {int(round(T * j / count)) for j in range(count + 1)}


def train(a, W0, b, points, labels, rho: float, config: TrainConfig, *, seed: int,
          callback: Callable[[StepStats], None] | None = None) -> TrainResult:
    """Algorithm 1 from (a, W0, b) on S = {(x_i, y_i)}, with what Theorems 5.2 and 4.1 track.

    Full batch; each step the adversary makes S(t) from f_{W(t)} (no differentiation through
    it), then W(t+1) = W(t) - eta grad_W L(f_W, S(t)); a and b stay frozen. W(T) gets one
    extra adversary call. Randomness (adversary restarts, gap sample) comes from the stream
    ``train`` of ``seed``. ``callback(stats)`` runs after each evaluation; a
    KeyboardInterrupt (from it or from Ctrl-C) stops the run and keeps what was recorded,
    the best iterate included.
    """
    from advcert import seeds

    t_start = time.perf_counter()
    a, W0, b, W = _net(a, W0, b, W0)
    X = np.ascontiguousarray(points, dtype=np.float64)
    y = np.ascontiguousarray(labels, dtype=np.float64)
    n, d = X.shape
    m = W0.shape[0]
    if W0.shape[1] != d or y.shape != (n,):
        raise InputError(f"{n} points in d = {d}, {y.size} labels, network in d = {W0.shape[1]}",
                         "pass one label per point and a network built for these points")
    if config.loss not in LOSSES:
        raise InputError(f"unknown loss {config.loss!r}", f"use one of {', '.join(LOSSES)}")
    if config.adversary not in ADVERSARIES:
        raise InputError(f"unknown adversary {config.adversary!r}", f"use one of {', '.join(ADVERSARIES)}")
    if config.loss == "smooth" and not config.tau > 0:
        raise InputError(f"the smooth loss needs tau > 0, got {config.tau}", "pass for example tau = 0.01")
    sch = schedule(config.eps, m, config.R, c_eta=config.c_eta, c_T=config.c_T, max_steps=config.max_steps)
    adv = Adversary(rho=float(rho), steps=config.attack_steps, restarts=config.attack_restarts, kind=config.adversary)
    # children of the stream "train": 0 adversary, 1 gap sample, 2 and 3 the checks' attacks
    ss_adv, ss_gap = seeds.seed_sequence(seed, "train").spawn(4)[:2]
    adv_seeds = iter(ss_adv.spawn(sch.T + 1)) if (adv.restarts or adv.kind == "apgd") else None
    gap_rng = np.random.default_rng(ss_gap)
    gap_sample = sphere.sample_uniform(gap_rng, config.gap_points, d) if config.gap_points else np.empty((0, d))
    cps = _checkpoint_times(sch.T, config.checkpoints)
    scale = m ** (2.0 / 3.0)

    L_A: list[float] = []
    clean: list[float] = []
    drift: list[float] = [0.0]
    cp_t: list[int] = []
    gap: list[float] = []
    gap_pred: list[float] = []
    crown: list[float] = []
    best = (math.inf, 0, W.copy())
    interrupted = False

    def checkpoint(t: int, Wt: np.ndarray, att: Attacked) -> None:
        Xs = np.concatenate([X, att.points, gap_sample])
        f, g = pseudo_gap(a, W0, b, Wt, Xs)
        cp_t.append(t)
        gap.append(float(np.max(np.abs(f - g))))
        # Theorem 5.1 at the radius actually reached: C51 R²/m^{1/6} with C51 = 1
        gap_pred.append(drift[t] ** 2 * m ** (-1.0 / 6.0))
        if config.crown:
            from advcert.bounds import crown_bounds

            crown.append(float(np.mean(crown_bounds(a, Wt, b, X, y, adv.rho))))
        else:
            crown.append(math.nan)

    try:
        with _blas_one_thread():
            for t in range(sch.T + 1):
                att = adversary_points(a, W, b, X, y, adv, loss=config.loss, tau=config.tau,
                                       seed=next(adv_seeds) if adv_seeds is not None else None)
                L_A.append(float(np.mean(att.loss)))
                clean.append(float(np.mean(loss_value(att.clean_f, y, config.loss, config.tau))))
                if (t >= 1 or sch.T == 0) and L_A[-1] < best[0]:
                    best = (L_A[-1], t, W.copy())
                if t in cps:
                    checkpoint(t, W, att)
                if callback is not None:
                    callback(StepStats(t=t, L_A=L_A[-1], clean=clean[-1], drift=drift[t], best=best[0], T=sch.T))
                if t == sch.T:
                    break
                W_next, dr = _sgd(a, W0, b, W, att.points, att.f, y, sch.eta, config.loss, config.tau, TILE)
                drift.append(dr * scale)
                W = W_next
    except KeyboardInterrupt:
        interrupted = True
    # drift has one entry per iterate made; L_A one per iterate evaluated
    k = len(L_A)
    if best[0] == math.inf and k:
        best = (L_A[0], 0, W0.copy())
    avg = np.cumsum(L_A) / np.arange(1, k + 1) if k else np.empty(0)
    return TrainResult(
        schedule=sch,
        config=config,
        W_best=best[2],
        t_best=int(best[1]),
        min_L_A=float(best[0]),
        W_last=W,
        L_A=np.array(L_A),
        clean=np.array(clean),
        drift=np.array(drift[:k]),
        average=avg,
        checkpoints=np.array(cp_t, dtype=np.int64),
        gap=np.array(gap),
        gap_predicted=np.array(gap_pred),
        crown_upper=np.array(crown),
        interrupted=interrupted,
        seconds=time.perf_counter() - t_start,
    )



# ---------------------------------------------------------------------------------------
# the witness and the checks of Theorems 5.2 and 4.1
# ---------------------------------------------------------------------------------------


def save_witness(path, a, W0, b, W_best) -> str:
    """Write the trained network (a, W0, b, W = W_best) as an .npz witness; return its SHA-256.

    Section 3's network f_W with W = W_best (rows W_r), in the one witness format of
    advcert.certificate.network_witness (arrays a, W0, b, W; same arrays, same bytes). The
    write is atomic (advcert.certificate.write_atomic).
    """
    import hashlib

    from advcert.certificate import network_witness, write_atomic

    data = network_witness(a, W0, b, W_best)
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def load_witness(path, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Read a witness of :func:`save_witness` (the trained f_W of Theorem 4.1), checking its SHA-256."""
    import hashlib
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise InputError(f"network witness {p} does not exist", "keep the .npz next to its certificate")
    data = p.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise InputError(f"network witness {p} does not match the SHA-256 in the certificate",
                         "use the .npz written together with the certificate")
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in ("a", "W0", "b", "W")}


def _f(x) -> float | None:
    # JSON has no NaN or infinity
    x = float(x)
    return x if math.isfinite(x) else None


def _clip_to_radius(W0: np.ndarray, W: np.ndarray, radius: float) -> np.ndarray:
    # the nearest W* with ||W* - W0||_{2,inf} <= radius, row by row
    D = W - W0
    nr = np.linalg.norm(D, axis=1)
    scale = np.where(nr > radius, radius / np.where(nr > 0, nr, 1.0), 1.0)
    # a row scaled in float may land a rounding above the radius: shrink it by 2^-40 more
    scale = np.where(nr > radius, scale * (1.0 - 2.0**-40), 1.0)
    return W0 + D * scale[:, None]


def curves(result: TrainResult) -> dict:
    """The tracked quantities of Algorithm 1 as JSON lists (estimates), for the certificate and plots."""
    sch = result.schedule
    return {
        "t": "0..len-1 (W(t) for t = 0..steps_done)",
        "L_A": [float(v) for v in result.L_A],
        "clean": [float(v) for v in result.clean],
        "drift": [float(v) for v in result.drift],
        "average": [float(v) for v in result.average],
        "R_train": sch.R_train,
        "checkpoints": {
            "t": [int(v) for v in result.checkpoints],
            "gap_sampled": [float(v) for v in result.gap],
            "gap_theorem_5_1": [float(v) for v in result.gap_predicted],
            "crown_upper": [_f(v) for v in result.crown_upper],
        },
    }


def _schedule_details(sch: Schedule, config: TrainConfig, result: TrainResult) -> dict:
    # the theorem's width for the linearisation error at the training drift radius
    # C51 R_train^2 / m^{1/6} <= eps (math-spec §7), C51 = 1
    log10_m_thm51 = 6.0 * math.log10(sch.R_train**2 / sch.eps)
    return {
        "m": sch.m,
        "eta": sch.eta,
        "c_eta": sch.c_eta,
        "c_T": sch.c_T,
        "R": sch.R,
        "R_train": sch.R_train,
        "T_theorem": sch.T_theorem,
        "log10_T_theorem": math.log10(sch.T_theorem),
        "T_budget": sch.T,
        "max_steps": sch.max_steps,
        "steps_done": result.steps_done,
        "capped": sch.capped,
        "interrupted": result.interrupted,
        "log10_m": math.log10(sch.m),
        "log10_m_theorem_5_1_at_R_train": log10_m_thm51,
        "loss": config.loss,
        "tau": config.tau if config.loss == "smooth" else None,
        "adversary": {"kind": config.adversary, "steps": config.attack_steps, "restarts": config.attack_restarts},
        "seconds_training": result.seconds,
    }


def theorem_5_2_check(result: TrainResult, a, W0, b, points, labels, rho, eps, *, seed: int,
                      comparators: dict[str, np.ndarray] | None = None, time_budget: float = 10.0,
                      attack_restarts: int = 4, attack_steps: int = 60) -> dict:
    """The check ``theorem-5.2``: (1/T) Σ_{t<T} L_A(f_{W(t)}) <= L_{A*}(f_{W*}) + ε (estimate).

    Theorem 5.2 holds for every W* with ||W* - W0||_{2,inf} <= R/m^{2/3}. It is tested against
    comparators in that ball: W0 itself, the best iterate clipped row by row to the ball,
    and any given in ``comparators`` (for instance Lemma 6.5's W*; those outside the ball are
    reported and skipped). For each, L_{A*}(f_{W*}) is bracketed: an attack from below and
    a sound CROWN/BaB bound from above (:func:`advcert.bounds.theorem_5_3_check`). The claim
    for a comparator is *confirmed* when the average <= its lower end + ε, *refuted* when
    the average > its upper end + ε, else undecided. Verdict: ``violated`` if any is
    refuted, else ``observed`` over the confirmed ones (undecided ones are listed).
    """
    from advcert import seeds
    from advcert.bounds import theorem_5_3_check
    from advcert.build import check

    t0 = time.perf_counter()
    sch = result.schedule
    a, W0, b, _ = _net(a, W0, b, W0)
    m = W0.shape[0]
    radius = sch.R * m ** (-2.0 / 3.0)
    T_done = result.steps_done
    avg = float(np.mean(result.L_A[:T_done])) if T_done else None
    comps: dict[str, np.ndarray] = {"W0": W0,
                                    "W_best clipped to the R-ball": _clip_to_radius(W0, result.W_best, radius)}
    comps.update(comparators or {})
    ss = seeds.seed_sequence(seed, "train").spawn(4)[2].spawn(len(comps))
    rows = []
    for (name, Wc), sq in zip(comps.items(), ss):
        r = float(np.max(np.linalg.norm(np.asarray(Wc) - W0, axis=1))) * m ** (2.0 / 3.0)
        row = {"name": name, "radius": r, "within_R": bool(r <= sch.R)}
        if not row["within_R"]:
            row["status"] = "outside the R-ball: Theorem 5.2 at this R says nothing about it"
            rows.append(row)
            continue
        c = theorem_5_3_check(a, Wc, b, points, labels, rho, eps, seed=sq, restarts=attack_restarts,
                              steps=attack_steps, time_budget=time_budget / len(comps), include_leaves=False)
        lo, hi = float(c["details"]["attack"]), float(c["details"]["upper_float"])
        row.update({"robust_loss_attack": lo, "robust_loss_upper": c["details"]["upper"],
                    "robust_loss_upper_float": hi})
        if avg is not None and avg <= lo + float(eps):
            row["status"] = "confirmed"
        elif avg is not None and avg > hi + float(eps):
            row["status"] = "refuted"
        else:
            row["status"] = "undecided"
        rows.append(row)
    refuted = [r for r in rows if r.get("status") == "refuted"]
    confirmed = [r for r in rows if r.get("status") == "confirmed"]
    if avg is None:
        value, bound, verdict = None, None, "vacuous"
        reason = "no update was made (interrupted at once), so the average is empty"
    elif refuted:
        worst = min(refuted, key=lambda r: r["robust_loss_upper_float"])
        value, bound, verdict = avg, worst["robust_loss_upper_float"] + float(eps), "violated"
        reason = f"the average exceeds the sound upper bound of L_A*(f_W*) + eps for W* = {worst['name']}"
    elif confirmed:
        best = min(confirmed, key=lambda r: r["robust_loss_attack"])
        value, bound, verdict = avg, best["robust_loss_attack"] + float(eps), "observed"
        reason = (f"the average is <= (attack lower bound of L_A*(f_W*)) + eps for every confirmed comparator; "
                  f"the tightest is W* = {best['name']}")
    else:
        value, bound, verdict = avg, None, "vacuous"
        reason = "no comparator decided the claim either way (attack and sound bound bracket it)"
    return check(
        "theorem-5.2",
        "(1/T) Σ_{t<T} L_A(f_{W(t)}) ≤ L_{A*}(f_{W*}) + ε for every W* with ‖W* − W0‖_{2,∞} ≤ R/m^{2/3} "
        "(Algorithm 1 with η = c_η ε m^{-1/3}, T = min(c_T R²/ε², budget)); tested on the listed comparators",
        "<=", bound, value, "estimate",
        f"Algorithm 1 (full batch, {result.config.adversary} adversary, {result.config.attack_steps} steps) for "
        f"{T_done} updates; L_A*(f_W*) bracketed per comparator by projected ascent ({attack_restarts}+1 starts x "
        f"{attack_steps} steps + random points) and alpha/beta-CROWN with branch-and-bound",
        time.perf_counter() - t0, verdict=verdict,
        details={"reason": reason, "average": avg, "T_averaged": T_done, "comparators": rows,
                 "schedule": _schedule_details(sch, result.config, result), "curves": curves(result)},
    )


def theorem_4_1_check(result: TrainResult, a, W0, b, points, labels, rho, eps, *, seed: int,
                      witness: dict | None = None, time_budget: float = 20.0, attack_restarts: int = 8,
                      attack_steps: int = 100, log10_M0: float | None = None) -> dict:
    """The check ``theorem-4.1``: min_{t∈[T]} L_A(f_{W(t)}) <= ε, with the best iterate bounded soundly.

    Theorem 4.1 is about the training adversary A. Any rho-bounded A has L_A <= L_{A*}, so a
    sound upper bound U of L_{A*}(f_{W(t*)}) for the stored best iterate t* gives
    min_t L_A <= U: when U <= ε the check says ``holds`` with label ``sound-bound`` (U from
    :func:`advcert.bounds.theorem_5_3_check`, rounding accounted for; ``details.robust``
    holds every leaf a verifier needs, and ``details.witness`` names the .npz with W_best).
    Otherwise it reports min_t L_A as an estimate: ``observed`` (<= ε), ``vacuous`` (<= ε but
    ε >= mean |y_i|, which the zero function meets), or ``violated``.
    """
    from advcert import seeds
    from advcert.bounds import theorem_5_3_check
    from advcert.build import check

    t0 = time.perf_counter()
    sch = result.schedule
    a, W0, b, Wb = _net(a, W0, b, result.W_best)
    y = np.asarray(labels, dtype=np.float64)
    eps_q = Fraction(eps) if not isinstance(eps, float) else Fraction(eps)
    sq = seeds.seed_sequence(seed, "train").spawn(4)[3]
    rob = theorem_5_3_check(a, Wb, b, points, y, rho, eps_q, seed=sq, restarts=attack_restarts, steps=attack_steps,
                            time_budget=time_budget, include_leaves=True)
    upper = Fraction(rob["details"]["upper"])
    mean_abs_y = sum((Fraction(float(v)) for v in np.abs(y)), Fraction(0)) / len(y)
    drift_best = float(np.max(np.linalg.norm(Wb - W0, axis=1))) * W0.shape[0] ** (2.0 / 3.0)
    details = {
        "min_L_A": _f(result.min_L_A),
        "t_best": result.t_best,
        "drift_best": drift_best,
        "robust_loss_attack_best": rob["details"]["attack"],
        "robust_loss_upper_best": rob["details"]["upper"],
        "robust_loss_upper_best_float": rob["details"]["upper_float"],
        "vacuous": bool(eps_q >= mean_abs_y),
        "mean_abs_y": float(mean_abs_y),
        "schedule": _schedule_details(sch, result.config, result),
        "log10_M0": log10_M0,
        "witness": witness,
        "robust": {k: rob["details"][k] for k in ("domain", "rho", "rho_used", "upper", "recipe", "per_point")},
        "chain": "min_{t in [T]} L_A(f_W(t)) <= L_A(f_W(t*)) <= L_A*(f_W(t*)) <= upper (A is rho-bounded)",
    }
    claim = ("min_{t∈[T]} L_A(f_{W(t)}) ≤ ε for Algorithm 1's adversary A; sound route: "
             "L_{A*}(f_{W(t*)}) ≤ upper ≤ ε for the stored best iterate t* (any ρ-bounded A has L_A ≤ L_{A*})")
    if upper <= eps_q:
        details["reason"] = "the sound upper bound of the best iterate's robust loss L_A* is <= eps"
        return check("theorem-4.1", claim, "<=", eps_q, upper, "sound-bound",
                     "Algorithm 1, then alpha/beta-CROWN with branch-and-bound over the caps for W(t*), float64 balls "
                     "with a-priori rounding bounds (advcert.bounds)", time.perf_counter() - t0, details=details)
    v = result.min_L_A
    if not math.isfinite(v):
        details["reason"] = "no iterate was evaluated (interrupted at once)"
        return check("theorem-4.1", claim, "<=", float(eps_q), None, "estimate", "Algorithm 1 (not run)",
                     time.perf_counter() - t0, verdict="vacuous", details=details)
    if v <= float(eps_q):
        verdict = "vacuous" if details["vacuous"] else "observed"
        details["reason"] = (f"min_t L_A <= eps against the training adversary (an estimate); the sound bound "
                             f"{float(upper):.6g} of the best iterate is not <= eps")
    else:
        verdict = "violated"
        details["reason"] = f"min_t L_A = {v:.6g} > eps within the {result.steps_done} steps run"
    return check("theorem-4.1", claim, "<=", float(eps_q), v, "estimate",
                 f"Algorithm 1 with the {result.config.adversary} training adversary; "
                 f"min over t = 1..{result.steps_done} of L_A (float64)", time.perf_counter() - t0,
                 verdict=verdict, details=details)


# ---------------------------------------------------------------------------------------
# the picture, from the certificate
# ---------------------------------------------------------------------------------------


def plot_training(doc: dict, out: str) -> None:
    """Training curves from a certificate's ``theorem-5.2`` and ``theorem-4.1`` checks (Theorems 5.2, 4.1).

    Left: L_A, clean loss, running average, CROWN upper bound at checkpoints, the sound bound
    of the best iterate, ε. Right: drift against R_train, sampled Theorem 5.1 gap.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from advcert.certificate import write_atomic

    checks = {c["id"]: c for c in doc["checks"]}
    if "theorem-5.2" not in checks:
        raise InputError("the certificate has no theorem-5.2 check (no training curves)",
                         "pass a certificate written by advcert train")
    cv = checks["theorem-5.2"]["details"]["curves"]
    eps = float(Fraction(doc["instance"]["eps"]))
    L = np.array(cv["L_A"], dtype=float)
    t = np.arange(L.size)
    cp = cv["checkpoints"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax1.plot(t, L, lw=1, label="L_A(f_W(t)) (training adversary)")
    ax1.plot(t, cv["clean"], lw=1, label="clean loss")
    if cv["average"]:
        ax1.plot(np.arange(1, len(cv["average"]) + 1), cv["average"], lw=1, ls="--", label="running average (Thm 5.2)")
    up = [(tt, u) for tt, u in zip(cp["t"], cp["crown_upper"]) if u is not None]
    if up:
        ax1.plot(*zip(*up), "o-", ms=3, lw=0.8, label="sound CROWN bound of L_A*")
    c41 = checks.get("theorem-4.1")
    if c41 is not None:
        det = c41["details"]
        ub = float(Fraction(det["robust_loss_upper_best"]))
        ax1.plot([det["t_best"]], [ub], "*", ms=12, color="tab:green",
                 label=f"sound BaB bound at t* = {det['t_best']}: {ub:.4g}")
    ax1.axhline(eps, color="k", ls=":", lw=1, label="ε")
    ax1.set_xlabel("step t")
    ax1.set_ylabel("loss")
    ax1.set_title("Algorithm 1: robust training loss (Theorems 4.1 and 5.2)")
    ax1.legend(fontsize=8)
    ax2.plot(t, cv["drift"], lw=1, label="drift m^{2/3} max_r ‖W_r − W0_r‖")
    ax2.axhline(cv["R_train"], color="k", ls=":", lw=1, label=f"R_train = R²/ε = {cv['R_train']:.4g}")
    ax2.plot(cp["t"], cp["gap_sampled"], "s-", ms=3, lw=0.8, label="sampled sup |f − g| (Thm 5.1, lower bound)")
    ax2.plot(cp["t"], cp["gap_theorem_5_1"], "^-", ms=3, lw=0.8, label="R_t²/m^{1/6} (Thm 5.1 at the drift reached)")
    ax2.set_yscale("symlog", linthresh=1e-2)
    ax2.set_xlabel("step t")
    ax2.set_title("drift and the Theorem 5.1 gap")
    ax2.legend(fontsize=8)
    inst = doc["instance"]
    m = doc.get("objects", {}).get("network", {}).get("m")
    fig.suptitle(f"advcert train: n={inst['n']} d={inst['d']} m={m} "
                 f"γ={inst['gamma']} ε={inst['eps']} ρ={inst['rho']}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(out, buf.getvalue())


# ---------------------------------------------------------------------------------------
# the command line: advcert train
# ---------------------------------------------------------------------------------------


def add_arguments(parser) -> None:
    """The options of ``advcert train`` (Algorithm 1, Theorems 5.2 and 4.1) on an argparse parser."""

    def _int(name: str, lo: int):
        def parse(text: str) -> int:
            import argparse

            try:
                v = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
            if v < lo:
                raise argparse.ArgumentTypeError(f"{name} must be at least {lo}, got {v}")
            return v

        return parse

    parser.add_argument("--gamma", required=True, help="separability γ of Definition 3.4 (> 0)")
    parser.add_argument("--eps", required=True, help="target robust loss ε, in (0, 1)")
    parser.add_argument("--m", type=_int("--m", 1), required=True, help="width m of the network")
    parser.add_argument("--n", type=_int("--n", 2), default=10, help="number of synthetic points (default 10)")
    parser.add_argument("--d", type=_int("--d", 3), default=8, help="dimension of X ⊂ R^d (default 8)")
    parser.add_argument("--rho", default="0.05", help="perturbation radius ρ (default 0.05)")
    parser.add_argument("--seed", type=_int("--seed", 0), default=0,
                        help="root seed for numpy SeedSequence (default 0)")
    parser.add_argument("--R", default="1",
                        help="Theorem 5.2's radius R >= 1 (default 1): T = c_T R²/ε², R_train = R²/ε")
    parser.add_argument("--max-steps", type=_int("--max-steps", 0), default=1000,
                        help="step budget: T = min(c_T R²/ε², this) (default 1000)")
    parser.add_argument("--loss", choices=LOSSES, default="abs",
                        help="ℓ = |ŷ−y| (abs, default) or √((ŷ−y)²+τ²)−τ (smooth)")
    parser.add_argument("--tau", default="0.01", help="τ of the smooth loss (default 0.01)")
    parser.add_argument("--c-eta", default="1", help="η = c_η·ε·m^(-1/3) (default c_η = 1)")
    parser.add_argument("--c-T", default="1", help="T = c_T·R²/ε² (default c_T = 1)")
    parser.add_argument("--adversary", choices=ADVERSARIES, default="pgd",
                        help="training adversary: fused projected ascent (pgd, default) "
                             "or advcert.attack's APGD (apgd)")
    parser.add_argument("--attack-steps", type=_int("--attack-steps", 0), default=10,
                        help="ascent steps of the training adversary (default 10)")
    parser.add_argument("--attack-restarts", type=_int("--attack-restarts", 0), default=0,
                        help="random starts in each cap besides the data point (default 0)")
    parser.add_argument("--checkpoints", type=_int("--checkpoints", 0), default=20,
                        help="checkpoints for the Theorem 5.1 gap and the CROWN bound (default 20)")
    parser.add_argument("--bound-seconds", default="10",
                        help="time budget of the branch-and-bound for the best iterate (default 10; the comparators "
                             "of Theorem 5.2 get half of it)")
    parser.add_argument("--out", help="certificate path (default "
                                      "advcert-train-gamma<G>-eps<E>-m<M>-n<N>-d<D>-seed<S>.json); "
                                      "the witness .npz and the .png go next to it")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or stage lines on stderr")


def _positive(text: str, name: str, *, lo=None, hi=None, strict_lo: bool = True) -> Fraction:
    from advcert.rational import parse_number

    v = parse_number(text, name)
    if lo is not None and (v <= lo if strict_lo else v < lo):
        raise InputError(f"{name} must be {'>' if strict_lo else '>='} {lo}, got {text}", f"pass a valid {name}")
    if hi is not None and v >= hi:
        raise InputError(f"{name} must be < {hi}, got {text}", f"pass a valid {name}")
    return v


def command(args) -> int:
    """``advcert train``: Algorithm 1 on a synthetic instance; certificate, witness and curves.

    Builds the certified chain for the same instance (advcert.build.build_certificate),
    runs Algorithm 1 from (a, W0, b) = advcert.network.initialise(m, d, seed), appends the checks ``theorem-5.2`` and ``theorem-4.1``,
    stores W_best in an .npz witness whose SHA-256 is in ``objects.network``, re-seals and
    writes the certificate atomically, and draws the training curves from it. Exit 0 when
    every rigorous check holds, 1 otherwise. Ctrl-C during training keeps the best iterate.
    """
    import os
    import sys
    from pathlib import Path

    from advcert import certificate, network
    from advcert.build import build_certificate
    from advcert.data.instance import synthetic

    eps = _positive(args.eps, "--eps", lo=0, hi=1)
    gamma = _positive(args.gamma, "--gamma", lo=0, hi=8)
    rho = _positive(args.rho, "--rho", lo=0)
    R = _positive(args.R, "--R", lo=1, strict_lo=False)
    tau = _positive(args.tau, "--tau", lo=0)
    c_eta = _positive(args.c_eta, "--c-eta", lo=0)
    c_T = _positive(args.c_T, "--c-T", lo=0)
    budget = _positive(args.bound_seconds, "--bound-seconds", lo=0)
    default = f"advcert-train-gamma{args.gamma}-eps{args.eps}-m{args.m}-n{args.n}-d{args.d}-seed{args.seed}.json"
    out = Path(args.out or default)
    folder = out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {out}: folder {folder} does not exist or is not writable",
                         "create it or pass another --out")
    npz = out.with_suffix(".npz")
    png = out.with_suffix(".png")
    quiet = bool(args.quiet)

    def say(msg: str) -> None:
        if not quiet:
            print(f"advcert: {msg}", file=sys.stderr, flush=True)

    inst = synthetic(args.n, args.d, rho, gamma, eps, args.seed)
    say("building the certified chain (Definition 3.4 to Lemma 6.2) ...")
    argv = getattr(args, "argv", None)
    doc = build_certificate(gamma, eps, args.n, args.d, rho, args.seed, argv=argv, quiet=quiet, instance=inst)
    net = network.initialise(args.m, args.d, args.seed)
    a, W0, b = net.a, net.W0, net.b
    cfg = TrainConfig(eps=eps, R=R, c_eta=c_eta, c_T=c_T, max_steps=args.max_steps,
                      loss=args.loss, tau=float(tau), attack_steps=args.attack_steps,
                      attack_restarts=args.attack_restarts, adversary=args.adversary, checkpoints=args.checkpoints)
    sch = schedule(cfg.eps, args.m, cfg.R, c_eta=cfg.c_eta, c_T=cfg.c_T, max_steps=cfg.max_steps)
    say(f"Algorithm 1: m={args.m}, eta={sch.eta:.4g}, T={sch.T} (theorem: {sch.T_theorem:.4g}), "
        f"R_train={sch.R_train:.4g}")
    if quiet:
        result = train(a, W0, b, inst.points, inst.labels, float(rho), cfg, seed=args.seed)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True)) as bar:
            task = bar.add_task("Algorithm 1", total=sch.T)

            def progress(st: StepStats) -> None:
                bar.update(task, completed=st.t,
                           description=f"L_A {st.L_A:.4f} (best {st.best:.4f})  drift {st.drift:.3g}/{sch.R_train:.3g}")

            result = train(a, W0, b, inst.points, inst.labels, float(rho), cfg, seed=args.seed, callback=progress)
    if result.interrupted:
        say(f"interrupted after {result.steps_done} steps: keeping the best iterate (t = {result.t_best})")
    sha = save_witness(npz, a, W0, b, result.W_best)
    witness = {"file": npz.name, "sha256": sha, "arrays": ["a", "W0", "b", "W"], "network": "f_W with W = W_best"}
    say("bounding the robust loss of the best iterate and of the Theorem 5.2 comparators ...")
    c52 = theorem_5_2_check(result, a, W0, b, inst.points, inst.labels, rho, eps, seed=args.seed,
                            time_budget=float(budget) / 2)
    c41 = theorem_4_1_check(result, a, W0, b, inst.points, inst.labels, rho, eps, seed=args.seed, witness=witness,
                            time_budget=float(budget))
    doc = dict(doc)
    doc["objects"] = dict(doc["objects"], network={"path": npz.name, "m": args.m, "sha256": sha,
                                                   "arrays": ["a", "W0", "b", "W"], "t_best": result.t_best,
                                                   "description": "the initialisation (a, W0, b) and W = W(t_best), "
                                                                  "the best iterate of Algorithm 1"})
    doc["checks"] = list(doc["checks"]) + [c52, c41]
    doc.pop("sha256", None)
    doc = certificate.seal(doc)
    certificate.write_atomic(out, certificate.dumps(doc))
    plot_training(doc, str(png))
    bad = [c["id"] for c in doc["checks"] if c["label"] != "estimate" and c["verdict"] != "holds"]
    print(f"advcert: wrote {out}, {npz.name}, {png.name}; theorem-4.1: {c41['verdict']} ({c41['label']}, "
          f"min_t L_A = {result.min_L_A:.4g} at t = {result.t_best}); theorem-5.2: {c52['verdict']}; "
          f"rigorous: {'all hold' if not bad else 'FAILING: ' + ', '.join(bad)}")
    return 0 if not bad else 1
