"""The worst-case adversary A* of Section 3 (Definition 3.2 / Theorem 5.3), attacked from below.

A*(x, y, f) = argmax over B_2(x, rho) ∩ X of the loss ℓ(f(x~), y). No algorithm finds this
argmax in general, so everything here is an *estimate*: the best value found is a LOWER
bound of the true sup (the upper bound lives in :mod:`advcert.bounds`).

The attack is projected gradient ascent on the cap in the manner of APGD (Croce & Hein
2020): normalised gradient steps in the tangent space of X, projection onto the cap
relative to the ORIGINAL centre (never the previous iterate, the bug of ART#85), momentum,
a step size that halves at checkpoints when progress stalls, restarts uniform in the cap
plus one start at the centre itself, and the per-centre worst case over all of them.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit, prange

from advcert import sphere
from advcert.errors import InputError

Objective = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class AttackResult:
    """Best values found by an attack, one per centre (Definition 3.2's A*, from below).

    ``values[i]`` is an estimate: a LOWER bound of sup over the cap of the objective.
    ``points[i]`` lies on X inside B_2(centre_i, rho) and attains ``values[i]`` (the value
    was evaluated at exactly that point).
    """

    values: np.ndarray
    points: np.ndarray
    restarts: int
    steps: int


def _seed_sequence(seed) -> np.random.SeedSequence:
    # accept an int (the root seed of numpy.random.SeedSequence) or a spawned SeedSequence
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def _initial_points(c: np.ndarray, rho: float, seed, restarts: int) -> np.ndarray:
    # rows [i*k, (i+1)*k) start the trajectories of centre i; the first one at the centre
    n, d = c.shape
    k = restarts + 1
    rng = np.random.default_rng(_seed_sequence(seed))
    x = np.empty((n * k, d))
    for i in range(n):
        x[i * k] = sphere.project_to_cap(c[i : i + 1], c[i : i + 1], rho)[0]
        if restarts:
            x[i * k + 1 : (i + 1) * k] = sphere.sample_in_cap(rng, c[i], rho, restarts)
    return x


def _initial_step(rho: float, step_size: float | None) -> float:
    return 0.5 * min(rho, math.sqrt(3.0)) if step_size is None else float(step_size)


def _apgd_checkpoints(steps: int) -> list[int]:
    # APGD's checkpoint schedule p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)
    ps = [0.0, 0.22]
    while ps[-1] < 1.0:
        ps.append(ps[-1] + max(ps[-1] - ps[-2] - 0.03, 0.06))
    out = sorted({int(math.ceil(p * steps)) for p in ps[1:] if p * steps < steps})
    return [c for c in out if c > 0]


def tangent_direction(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Unit ascent directions in the tangent space of X at the rows of x (zero where none).

    X is the sphere of radius sqrt(3)/2 in the plane x_d = 1/2, so its tangent space at x
    is {t : t_d = 0, <t', x'> = 0} with x' the first d-1 coordinates (Section 3.2).
    """
    t = np.array(grad, dtype=np.float64, copy=True)
    t[:, -1] = 0.0
    head = x[:, :-1]
    hn2 = np.einsum("ij,ij->i", head, head)
    t[:, :-1] -= (np.einsum("ij,ij->i", t[:, :-1], head) / hn2)[:, None] * head
    nrm = np.linalg.norm(t, axis=1)
    ok = nrm > 0.0
    t[ok] /= nrm[ok, None]
    t[~ok] = 0.0
    return t


def _check_centres(centres: np.ndarray, rho: float) -> np.ndarray:
    c = np.atleast_2d(np.asarray(centres, dtype=np.float64))
    if c.ndim != 2 or c.shape[1] < 2:
        raise InputError(
            f"centres must be an (n, d) array with d >= 2, got shape {np.shape(centres)}",
            "pass the data points x_i as rows",
        )
    if not np.all(np.isfinite(c)):
        raise InputError("centres contain NaN or infinity", "pass finite points on X")
    if not (rho >= 0.0 and math.isfinite(rho)):
        raise InputError(f"rho must be a finite number >= 0, got {rho!r}", "pass the radius rho of Definition 3.2")
    return c


def projected_ascent(
    objective: Objective,
    centres: np.ndarray,
    rho: float,
    *,
    seed,
    restarts: int = 8,
    steps: int = 60,
    step_size: float | None = None,
) -> AttackResult:
    """Projected gradient ascent on the caps B_2(c_i, rho) ∩ X: the adversary A* from below.

    Definition 3.2 / Theorem 5.3: A*(x, y, f) maximises the loss over B_2(x, rho) ∩ X. This
    returns, per centre, the best value found over ``restarts`` starts uniform in the cap
    plus one start at the centre, each run for ``steps`` APGD-style steps.

    ``objective(x, idx)`` takes points on X (rows of x, shape (N, d)) and the index of the
    centre each row belongs to, and returns ``(values (N,), grads (N, d))``: the values to
    MAXIMISE and their gradients with respect to x in R^d (only the tangent part is used).

    ``step_size`` is the initial step (Euclidean, in x); it defaults to half the cap's
    radius and is halved per trajectory whenever a checkpoint shows a stall.
    Same ``seed`` (anything numpy.random.SeedSequence accepts) gives the same result.
    """
    rho = float(rho)
    c = _check_centres(centres, rho)
    if restarts < 0 or steps < 0:
        raise InputError("restarts and steps must be >= 0", "pass non-negative counts")
    n, d = c.shape
    k = restarts + 1
    idx = np.repeat(np.arange(n), k)
    cen = c[idx]
    x = _initial_points(c, rho, seed, restarts)
    eta = np.full(n * k, _initial_step(rho, step_size))

    val, grad = objective(x, idx)
    val = np.asarray(val, dtype=np.float64)
    best_val = val.copy()
    best_x = x.copy()
    x_prev = x.copy()
    checkpoints = set(_apgd_checkpoints(steps))
    last_cp = 0
    succ = np.zeros(n * k, dtype=np.int64)
    best_at_cp = best_val.copy()
    eta_at_cp = eta.copy()
    reduced_last = np.zeros(n * k, dtype=bool)
    for t in range(1, steps + 1):
        direction = tangent_direction(x, grad)
        z = sphere.project_to_cap(x + eta[:, None] * direction, cen, rho)
        # APGD momentum 0.75 on the first step-away, then re-project relative to the centre
        mom = 0.0 if t == 1 else 0.25
        x_new = sphere.project_to_cap(x + (1.0 - mom) * (z - x) + mom * (x - x_prev), cen, rho)
        val_new, grad_new = objective(x_new, idx)
        val_new = np.asarray(val_new, dtype=np.float64)
        improved = val_new > val
        succ += improved
        x_prev, x, val, grad = x, x_new, val_new, grad_new
        better = val > best_val
        best_val[better] = val[better]
        best_x[better] = x[better]
        if t in checkpoints:
            span = t - last_cp
            # halve on stall: too few successful steps, or no progress since a halving
            stalled = (succ < 0.75 * span) | ((eta == eta_at_cp) & (best_val <= best_at_cp) & ~reduced_last)
            reduced_last = stalled
            eta_at_cp = eta.copy()
            eta[stalled] *= 0.5
            if np.any(stalled):
                # restart halved trajectories from their best point
                x[stalled] = best_x[stalled]
                x_prev[stalled] = best_x[stalled]
                v_re, g_re = objective(x[stalled], idx[stalled])
                val[stalled] = np.asarray(v_re, dtype=np.float64)
                grad = np.array(grad, dtype=np.float64, copy=True)
                grad[stalled] = g_re
            succ[:] = 0
            best_at_cp = best_val.copy()
            last_cp = t
    per = best_val.reshape(n, k)
    arg = np.argmax(per, axis=1)
    rows = np.arange(n) * k + arg
    return AttackResult(values=per[np.arange(n), arg].copy(), points=best_x[rows].copy(), restarts=restarts, steps=steps)


# ---------------------------------------------------------------------------------------
# The adversary for two-layer ReLU nets f_W and pseudo-networks g_W (Section 3, Thm 5.3)
# ---------------------------------------------------------------------------------------

# Rows are processed in blocks of _ROWS so each neuron's weights are loaded once per block:
# 1.3-3x faster than one row at a time and 2-3x faster than chunked numpy (bench_sandwich).
_ROWS = 4


@njit(cache=True, fastmath=False)
def _f_block(blk, X, idx, y, a, W, b, sigma, val, grad):  # pragma: no cover - compiled
    # rows blk*_ROWS.. of: sigma = 0: loss |f_W(x) - y|; sigma = +-1: sigma (f_W(x) - y);
    # and the x-gradient. f_W(x) = sum_r a_r relu(<W_r, x> + b_r)
    N, d = X.shape
    m = W.shape[0]
    i0 = blk * _ROWS
    nr = min(N, i0 + _ROWS) - i0
    z = np.empty(_ROWS)
    c = np.empty(_ROWS)
    acc = np.zeros(_ROWS)
    g = np.zeros((_ROWS, d))
    xs = np.zeros((_ROWS, d))
    for k in range(nr):
        for j in range(d):
            xs[k, j] = X[i0 + k, j]
    for r in range(m):
        for k in range(_ROWS):
            z[k] = b[r]
        for j in range(d):
            w = W[r, j]
            for k in range(_ROWS):
                z[k] += w * xs[k, j]
        for k in range(_ROWS):
            # branch-free: random ReLU signs mispredict (perf-notes §5)
            act = 1.0 * (z[k] > 0.0)
            acc[k] += a[r] * act * z[k]
            c[k] = a[r] * act
        for j in range(d):
            w = W[r, j]
            for k in range(_ROWS):
                g[k, j] += c[k] * w
    for k in range(nr):
        e = acc[k] - y[idx[i0 + k]]
        s = sigma
        if sigma == 0.0:
            s = 1.0 if e >= 0.0 else -1.0
        val[i0 + k] = s * e
        for j in range(d):
            grad[i0 + k, j] = s * g[k, j]


@njit(cache=True, fastmath=False)
def _g_block(blk, X, idx, y, a, D, W0, b, sigma, val, grad):  # pragma: no cover - compiled
    # as _f_block for g_W(x) = sum_r a_r <D_r, x> 1{<W0_r, x> + b_r >= 0}, D = W - W0
    N, d = X.shape
    m = D.shape[0]
    i0 = blk * _ROWS
    nr = min(N, i0 + _ROWS) - i0
    z = np.empty(_ROWS)
    t = np.empty(_ROWS)
    c = np.empty(_ROWS)
    acc = np.zeros(_ROWS)
    g = np.zeros((_ROWS, d))
    xs = np.zeros((_ROWS, d))
    for k in range(nr):
        for j in range(d):
            xs[k, j] = X[i0 + k, j]
    for r in range(m):
        for k in range(_ROWS):
            z[k] = b[r]
            t[k] = 0.0
        for j in range(d):
            w0 = W0[r, j]
            dd = D[r, j]
            for k in range(_ROWS):
                z[k] += w0 * xs[k, j]
                t[k] += dd * xs[k, j]
        for k in range(_ROWS):
            act = 1.0 * (z[k] >= 0.0)
            acc[k] += a[r] * act * t[k]
            c[k] = a[r] * act
        for j in range(d):
            dd = D[r, j]
            for k in range(_ROWS):
                g[k, j] += c[k] * dd
    for k in range(nr):
        e = acc[k] - y[idx[i0 + k]]
        s = sigma
        if sigma == 0.0:
            s = 1.0 if e >= 0.0 else -1.0
        val[i0 + k] = s * e
        for j in range(d):
            grad[i0 + k, j] = s * g[k, j]


# Parallel drivers for big batches; serial ones for small batches, where waking the
# thread pool costs more than the work (it also fights the BLAS threads on 2 cores).
_PARALLEL_WORK = 1 << 18


@njit(parallel=True, cache=True)
def _f_loss_par(X, idx, y, a, W, b, sigma, val, grad):  # pragma: no cover - compiled
    for blk in prange((X.shape[0] + _ROWS - 1) // _ROWS):
        _f_block(blk, X, idx, y, a, W, b, sigma, val, grad)


@njit(cache=True)
def _f_loss_ser(X, idx, y, a, W, b, sigma, val, grad):  # pragma: no cover - compiled
    for blk in range((X.shape[0] + _ROWS - 1) // _ROWS):
        _f_block(blk, X, idx, y, a, W, b, sigma, val, grad)


@njit(parallel=True, cache=True)
def _g_loss_par(X, idx, y, a, D, W0, b, sigma, val, grad):  # pragma: no cover - compiled
    for blk in prange((X.shape[0] + _ROWS - 1) // _ROWS):
        _g_block(blk, X, idx, y, a, D, W0, b, sigma, val, grad)


@njit(cache=True)
def _g_loss_ser(X, idx, y, a, D, W0, b, sigma, val, grad):  # pragma: no cover - compiled
    for blk in range((X.shape[0] + _ROWS - 1) // _ROWS):
        _g_block(blk, X, idx, y, a, D, W0, b, sigma, val, grad)



def _as_net(a, W, b, W0=None):
    from advcert.bounds import network_arrays

    return network_arrays(a, W, b, W0)


def loss_objective(a, W, b, labels, *, W0=None, kind: str = "f", sign: int = 0) -> Objective:
    """The objective |ŷ(x) - y_idx| of Definition 3.1's loss for f_W or g_W, with its gradient.

    With ``sign`` = +1 or -1 the objective is sign * (ŷ(x) - y_idx) instead (one side of
    the absolute value; the loss is the larger side).

    Section 3: f_W(x) = sum_r a_r relu(<W_r, x> + b_r); the pseudo-network (Section 5)
    g_W(x) = sum_r a_r <W_r - W0_r, x> 1{<W0_r, x> + b_r >= 0}. Rows of W are the W_r.
    Returns a function usable by :func:`projected_ascent` (one fused numba sweep, no
    N x m temporaries). At a kink the subgradient with relu'(0) = 0 (f) or the indicator
    convention 1{. >= 0} (g) is used, and sign(0) = +1.
    """
    a, W, b, W0 = _as_net(a, W, b, W0)
    y = np.ascontiguousarray(labels, dtype=np.float64)
    if sign not in (0, 1, -1):
        raise InputError(f"sign must be 0, 1 or -1, got {sign!r}", "use 0 for |ŷ - y|, +1 or -1 for one side")
    sigma = float(sign)
    if kind == "f":

        def objective(x, idx):
            x = np.ascontiguousarray(x, dtype=np.float64)
            val = np.empty(x.shape[0])
            grad = np.empty_like(x)
            kern = _f_loss_par if x.shape[0] * W.size >= _PARALLEL_WORK else _f_loss_ser
            kern(x, np.ascontiguousarray(idx, dtype=np.int64), y, a, W, b, sigma, val, grad)
            return val, grad

    elif kind == "g":
        if W0 is None:
            raise InputError("the pseudo-network g_W needs W0", "pass W0=the initial weights")
        D = np.ascontiguousarray(W - W0)

        def objective(x, idx):
            x = np.ascontiguousarray(x, dtype=np.float64)
            val = np.empty(x.shape[0])
            grad = np.empty_like(x)
            kern = _g_loss_par if x.shape[0] * D.size >= _PARALLEL_WORK else _g_loss_ser
            kern(x, np.ascontiguousarray(idx, dtype=np.int64), y, a, D, W0, b, sigma, val, grad)
            return val, grad

    else:
        raise InputError(f"unknown network kind {kind!r}", "use 'f' (the network f_W) or 'g' (the pseudo-network g_W)")
    return objective


@njit(cache=True, fastmath=False)
def _net_side(x, a, W, W0, b, yv, sigma, kind, grad):  # pragma: no cover - compiled
    # sigma * (yhat(x) - y) and its x-gradient into grad; kind 0: f_W (W), 1: g_W (W = D = W - W0)
    d = x.shape[0]
    m = W.shape[0]
    for j in range(d):
        grad[j] = 0.0
    acc = 0.0
    for r in range(m):
        if kind == 0:
            z = b[r]
            for j in range(d):
                z += W[r, j] * x[j]
            act = 1.0 * (z > 0.0)
            acc += a[r] * act * z
        else:
            z = b[r]
            t = 0.0
            for j in range(d):
                z += W0[r, j] * x[j]
                t += W[r, j] * x[j]
            act = 1.0 * (z >= 0.0)
            acc += a[r] * act * t
        c = a[r] * act
        for j in range(d):
            grad[j] += c * W[r, j]
    e = acc - yv
    s = sigma
    if sigma == 0.0:
        s = 1.0 if e >= 0.0 else -1.0
    for j in range(d):
        grad[j] *= s
    return s * e


@njit(cache=True, fastmath=False)
def _to_cap(x, cv, cos_t, sin_t, whole, out):  # pragma: no cover - compiled
    # sphere.project_to_cap for one point: onto X, then onto the cap around the centre cv (v-coords)
    d = x.shape[0]
    k = d - 1
    nrm = 0.0
    for j in range(k):
        nrm += x[j] * x[j]
    nrm = np.sqrt(nrm)
    if nrm == 0.0:
        for j in range(k):
            out[j] = cv[j] * 0.8660254037844386
        out[k] = 0.5
        return
    dot = 0.0
    for j in range(k):
        out[j] = x[j] / nrm
        dot += out[j] * cv[j]
    if (not whole) and dot < cos_t:
        wn = 0.0
        for j in range(k):
            out[j] -= dot * cv[j]
            wn += out[j] * out[j]
        wn = np.sqrt(wn)
        if wn == 0.0:
            # antipodal: any orthogonal direction, deterministically (as sphere.project_to_cap)
            for j in range(k):
                out[j] = -cv[0] * cv[j]
            out[0] += 1.0
            wn = 0.0
            for j in range(k):
                wn += out[j] * out[j]
            wn = np.sqrt(wn)
            if wn == 0.0:
                for j in range(k):
                    out[j] = 0.0
                out[1] = 1.0
                wn = 1.0
        for j in range(k):
            out[j] = cos_t * cv[j] + sin_t * out[j] / wn
    for j in range(k):
        out[j] *= 0.8660254037844386
    out[k] = 0.5


@njit(cache=True, fastmath=False)
def _trajectory(
    i, X0, tcen, ty, a, W, W0, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp, best_val, best_x
):  # pragma: no cover - compiled
    # APGD trajectory from row i of X0, all steps fused (the same algorithm as projected_ascent).
    T, d = X0.shape
    k = d - 1
    cv = np.empty(k)
    cn = 0.0
    for j in range(k):
        cn += tcen[i, j] * tcen[i, j]
    cn = np.sqrt(cn)
    for j in range(k):
        cv[j] = tcen[i, j] / cn
    x = X0[i].copy()
    xp = x.copy()
    grad = np.empty(d)
    tv = np.empty(d)
    z = np.empty(d)
    xn = np.empty(d)
    val = _net_side(x, a, W, W0, b, ty[i], sigma, kind, grad)
    bv = val
    bx = x.copy()
    eta = eta0
    succ = 0
    best_at_cp = bv
    eta_at_cp = eta
    reduced_last = False
    last_cp = 0
    for t in range(1, steps + 1):
        # tangent direction at x
        hn2 = 0.0
        tp = 0.0
        for j in range(k):
            hn2 += x[j] * x[j]
            tp += grad[j] * x[j]
        tn = 0.0
        for j in range(k):
            tv[j] = grad[j] - tp / hn2 * x[j]
            tn += tv[j] * tv[j]
        tv[k] = 0.0
        tn = np.sqrt(tn)
        if tn > 0.0:
            for j in range(k):
                tv[j] /= tn
        else:
            for j in range(k):
                tv[j] = 0.0
        for j in range(d):
            xn[j] = x[j] + eta * tv[j]
        _to_cap(xn, cv, cos_t, sin_t, whole, z)
        mom = 0.0 if t == 1 else 0.25
        for j in range(d):
            xn[j] = x[j] + (1.0 - mom) * (z[j] - x[j]) + mom * (x[j] - xp[j])
        for j in range(d):
            xp[j] = x[j]
        _to_cap(xn, cv, cos_t, sin_t, whole, x)
        vnew = _net_side(x, a, W, W0, b, ty[i], sigma, kind, grad)
        if vnew > val:
            succ += 1
        val = vnew
        if val > bv:
            bv = val
            for j in range(d):
                bx[j] = x[j]
        if is_cp[t]:
            span = t - last_cp
            stalled = (succ < 0.75 * span) or ((eta == eta_at_cp) and (bv <= best_at_cp) and (not reduced_last))
            reduced_last = stalled
            eta_at_cp = eta
            if stalled:
                eta *= 0.5
                for j in range(d):
                    x[j] = bx[j]
                    xp[j] = bx[j]
                val = _net_side(x, a, W, W0, b, ty[i], sigma, kind, grad)
            succ = 0
            best_at_cp = bv
            last_cp = t
    best_val[i] = bv
    for j in range(d):
        best_x[i, j] = bx[j]


@njit(parallel=True, cache=True)
def _pgd_par(X0, tcen, ty, a, W, W0, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp, best_val, best_x):  # pragma: no cover
    for i in prange(X0.shape[0]):
        _trajectory(i, X0, tcen, ty, a, W, W0, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp, best_val, best_x)


@njit(cache=True)
def _pgd_ser(X0, tcen, ty, a, W, W0, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp, best_val, best_x):  # pragma: no cover
    for i in range(X0.shape[0]):
        _trajectory(i, X0, tcen, ty, a, W, W0, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp, best_val, best_x)



def network_ascent(
    a, W, b, centres, labels, rho: float, *, seed, W0=None, kind: str = "f", sign: int = 1,
    restarts: int = 8, steps: int = 60, step_size: float | None = None,
) -> AttackResult:
    """:func:`projected_ascent` on sign * (ŷ - y_i) for f_W or g_W, every step fused in numba.

    Theorem 5.3's adversary A* from below, specialised to two-layer ReLU nets (Section 3)
    and pseudo-networks (Section 5): the same starts (same seed), step rule, schedule and
    projection as :func:`projected_ascent`, one parallel trajectory per (centre, start),
    O(m d) work per step and no N x m temporaries. ``sign`` = 0 attacks |ŷ - y| directly.
    """
    rho = float(rho)
    c = _check_centres(centres, rho)
    if restarts < 0 or steps < 0:
        raise InputError("restarts and steps must be >= 0", "pass non-negative counts")
    a, W, b, W0 = _as_net(a, W, b, W0)
    if c.shape[1] != W.shape[1]:
        raise InputError(f"points have d = {c.shape[1]} but the network has d = {W.shape[1]}", "use the network built for these points")
    y = np.asarray(labels, dtype=np.float64)
    if kind == "f":
        kid, Wk, W0k = 0, W, W
    elif kind == "g":
        if W0 is None:
            raise InputError("the pseudo-network g_W needs W0", "pass W0=the initial weights")
        kid, Wk, W0k = 1, np.ascontiguousarray(W - W0), W0
    else:
        raise InputError(f"unknown network kind {kind!r}", "use 'f' (the network f_W) or 'g' (the pseudo-network g_W)")
    n, d = c.shape
    k = restarts + 1
    x0 = _initial_points(c, rho, seed, restarts)
    idx = np.repeat(np.arange(n), k)
    theta = sphere.cap_angle(rho)
    whole = theta >= math.pi
    is_cp = np.zeros(steps + 1, dtype=np.bool_)
    for cp in _apgd_checkpoints(steps):
        is_cp[cp] = True
    best_val = np.empty(n * k)
    best_x = np.empty((n * k, d))
    kern = _pgd_par if x0.shape[0] * W.size * max(steps, 1) >= 16 * _PARALLEL_WORK else _pgd_ser
    kern(
        x0, np.ascontiguousarray(c[idx][:, :-1]), np.ascontiguousarray(y[idx]), a, Wk, W0k, b, float(sign), kid,
        math.cos(theta), math.sin(theta), whole, _initial_step(rho, step_size), int(steps), is_cp, best_val, best_x,
    )
    per = best_val.reshape(n, k)
    arg = np.argmax(per, axis=1)
    rows = np.arange(n) * k + arg
    return AttackResult(values=per[np.arange(n), arg].copy(), points=best_x[rows].copy(), restarts=restarts, steps=steps)


@dataclass(frozen=True)
class NetworkAttack:
    """Worst case over several attacks on |ŷ - y| over each cap (Theorem 5.3's A*, from below).

    ``values[i]`` = max of ``pgd_values[i]`` and ``random_values[i]`` (and any extra
    candidates): an estimate, a LOWER bound of sup over B_2(x_i, rho) ∩ X of the loss.
    ``masking[i]`` flags gradient masking: random search beat projected ascent there.
    """

    values: np.ndarray
    points: np.ndarray
    pgd_values: np.ndarray
    random_values: np.ndarray
    masking: np.ndarray
    restarts: int
    steps: int
    random_points: int


def random_search(objective: Objective, centres: np.ndarray, rho: float, *, seed, count: int = 256) -> AttackResult:
    """Best of ``count`` points uniform in each cap B_2(c_i, rho) ∩ X (Definition 3.2, from below).

    The gradient-free baseline that exposes gradient masking (AutoAttack's lesson): if it
    beats projected ascent, the gradients mislead.
    """
    rho = float(rho)
    c = _check_centres(centres, rho)
    n, d = c.shape
    rng = np.random.default_rng(_seed_sequence(seed))
    best_v = np.full(n, -np.inf)
    best_x = c.copy()
    if count <= 0:
        return AttackResult(values=best_v, points=best_x, restarts=0, steps=0)
    pts = np.concatenate([sphere.sample_in_cap(rng, c[i], rho, count) for i in range(n)])
    idx = np.repeat(np.arange(n), count)
    val = np.asarray(objective(pts, idx)[0], dtype=np.float64).reshape(n, count)
    arg = np.argmax(val, axis=1)
    best_v = val[np.arange(n), arg]
    best_x = pts[np.arange(n) * count + arg]
    return AttackResult(values=best_v.copy(), points=best_x.copy(), restarts=count, steps=0)


def attack_network(
    a,
    W,
    b,
    points,
    labels,
    rho: float,
    *,
    seed,
    W0=None,
    kind: str = "f",
    restarts: int = 8,
    steps: int = 100,
    random_points: int = 256,
    step_size: float | None = None,
    extra_points: np.ndarray | None = None,
) -> NetworkAttack:
    """The per-point worst case over several attacks on |ŷ - y| (Theorem 5.3's A*, from below).

    For each data point x_i: projected ascent (:func:`projected_ascent`) on each side
    +(ŷ - y_i) and -(ŷ - y_i) of the loss (Definition 3.1 with ℓ = |·|), ``restarts``
    uniform starts plus the centre each; random search with ``random_points`` uniform
    points in the cap; and, optionally, ``extra_points`` (n, k, d): candidates from
    elsewhere (for instance the maximisers of a bound's relaxation), projected onto the cap
    first. ``kind`` is 'f' for f_W or 'g' for the pseudo-network g_W (needs W0).
    Every value is re-evaluated at its point, so ``values[i]`` is attained at ``points[i]``.
    """
    rho = float(rho)
    c = _check_centres(points, rho)
    y = np.asarray(labels, dtype=np.float64)
    if y.shape != (c.shape[0],):
        raise InputError(f"{y.shape[0] if y.ndim else 1} labels for {c.shape[0]} points", "pass one label per point")
    ss = _seed_sequence(seed)
    s_plus, s_minus, s_rand = ss.spawn(3)
    loss = loss_objective(a, W, b, y, W0=W0, kind=kind)
    n = c.shape[0]
    pgd_v = np.full(n, -np.inf)
    pgd_x = c.copy()
    for sign, s in ((1, s_plus), (-1, s_minus)):
        res = network_ascent(
            a, W, b, c, y, rho, seed=s, W0=W0, kind=kind, sign=sign, restarts=restarts, steps=steps, step_size=step_size
        )
        v = loss(res.points, np.arange(n))[0]
        better = v > pgd_v
        pgd_v[better] = v[better]
        pgd_x[better] = res.points[better]
    rs = random_search(loss, c, rho, seed=s_rand, count=random_points)
    best_v = pgd_v.copy()
    best_x = pgd_x.copy()
    better = rs.values > best_v
    best_v[better] = rs.values[better]
    best_x[better] = rs.points[better]
    if extra_points is not None:
        ex = np.asarray(extra_points, dtype=np.float64)
        if ex.ndim == 2:
            ex = ex[:, None, :]
        k = ex.shape[1]
        if k:
            idx = np.repeat(np.arange(n), k)
            cand = sphere.project_to_cap(ex.reshape(n * k, -1), c[idx], rho)
            v = loss(cand, idx)[0].reshape(n, k)
            arg = np.argmax(v, axis=1)
            vb = v[np.arange(n), arg]
            better = vb > best_v
            best_v[better] = vb[better]
            best_x[better] = cand[(np.arange(n) * k + arg)[better]]
    # masking: gradient-free search beat gradient ascent by more than rounding noise
    tol = 1e-9 * (1.0 + np.abs(pgd_v))
    masking = rs.values > pgd_v + tol
    return NetworkAttack(
        values=best_v,
        points=best_x,
        pgd_values=pgd_v,
        random_values=rs.values,
        masking=masking,
        restarts=restarts,
        steps=steps,
        random_points=random_points,
    )


# ---------------------------------------------------------------------------------------
# CLI: advcert attack FILE
# ---------------------------------------------------------------------------------------


def add_arguments(parser) -> None:
    """Arguments of ``advcert attack FILE``: re-run the Theorem 5.3 sandwich on a certificate's network."""
    parser.add_argument("file", help="a certificate whose objects.network names the network witness (.npz)")
    parser.add_argument("--network", help="the .npz witness (arrays a, W0, b, W); default: the certificate's, "
                                          "relative to its folder")
    parser.add_argument("--seed", type=int, default=None, help="attack seed (default: the certificate's root seed)")
    parser.add_argument("--restarts", type=int, default=8, help="uniform starts per cap and side (default 8)")
    parser.add_argument("--steps", type=int, default=100, help="ascent steps per start (default 100)")
    parser.add_argument("--random-points", type=int, default=256, help="random-search points per cap (default 256)")
    parser.add_argument("--time-budget", type=float, default=30.0, help="branch-and-bound seconds in all (default 30)")
    parser.add_argument("--gap", type=float, default=0.1, help="stop branching at upper <= (1 + GAP) attack (default 0.1)")
    parser.add_argument("--domain", choices=("cap", "ball"), default="cap",
                        help="bound over the cap B2(x, rho) ∩ X (default) or the l2 ball around it")
    parser.add_argument("--json", action="store_true", help="print the theorem-5.3 check as JSON on stdout")


def load_network(doc: dict, cert_path, override=None):
    """The network witness of a certificate: (a, W0, b, W) with rows W_r, its sha256 checked."""
    import hashlib
    from pathlib import Path

    entry = (doc.get("objects") or {}).get("network")
    if override is None and not isinstance(entry, dict):
        raise InputError(f"{cert_path} has no network witness (objects.network)", "pass one with --network FILE.npz")
    if override is not None:
        path = Path(override)
    else:
        if "path" not in entry:
            raise InputError(f"{cert_path}: objects.network has no 'path'", "pass the witness with --network FILE.npz")
        path = Path(entry["path"])
        if not path.is_absolute():
            path = Path(cert_path).resolve().parent / path
    if not path.is_file():
        raise InputError(f"network witness {path} does not exist", "pass its path with --network FILE.npz")
    data = path.read_bytes()
    want = entry.get("sha256") if isinstance(entry, dict) else None
    if want is not None and hashlib.sha256(data).hexdigest() != want:
        raise InputError(f"network witness {path} does not match the certificate's sha256",
                         "pass the witness the certificate was built with")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrs = {k: np.array(z[k], dtype=np.float64) for k in ("a", "W0", "b", "W")}
    except KeyError as exc:
        raise InputError(f"network witness {path} lacks array {exc}", "it must hold arrays a, W0, b and W") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"network witness {path} is not a readable .npz ({exc})", "pass the file advcert build wrote") from None
    return arrs["a"], arrs["W0"], arrs["b"], arrs["W"]


def command(args) -> int:
    """``advcert attack FILE``: re-run the Theorem 5.3 sandwich (attack below, sound bound above).

    Exit 0 when the run agrees with the certificate, 1 when it contradicts it (an attack
    value above a sound upper bound the certificate states, or a sound 'holds' that no
    longer holds), 2 on bad input.
    """
    import json
    from fractions import Fraction

    from advcert import certificate
    from advcert.bounds import theorem_5_3_check
    from advcert.seeds import seed_sequence

    doc = certificate.read(args.file)
    inst = doc.get("instance") or {}
    try:
        X = np.asarray(inst["points"], dtype=np.float64)
        y = np.asarray(inst["labels"], dtype=np.float64)
        rho = Fraction(inst["rho"])
        eps = Fraction(inst["eps"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{args.file}: instance lacks a usable {exc}", "pass a certificate written by advcert build") from None
    a, W0, b, W = load_network(doc, args.file, args.network)
    d = X.shape[1]
    if W.ndim == 2 and W.shape[1] != d and W.shape[0] == d:
        W, W0 = W.T.copy(), W0.T.copy()  # stored as the paper's d x m matrix with columns W_r
    if W.shape != W0.shape or W.ndim != 2 or W.shape[1] != d:
        raise InputError(f"network W has shape {W.shape} for points in R^{d}", "pass the witness built for this instance")
    seed = args.seed if args.seed is not None else seed_sequence(int(inst.get("seed", 0)), "attack")
    chk = theorem_5_3_check(
        a, W, b, X, y, rho, eps, seed=seed, domain=args.domain, restarts=args.restarts, steps=args.steps,
        random_points=args.random_points, rel_gap=args.gap, time_budget=args.time_budget,
    )
    det = chk["details"]
    if args.json:
        print(json.dumps(chk, indent=1, sort_keys=True))
    else:
        print(f"theorem 5.3 sandwich, {X.shape[0]} points, m = {W.shape[0]}, d = {d}, rho = {float(rho):g}, "
              f"domain {args.domain}")
        print(f"{'i':>4} {'attack (estimate)':>18} {'upper (sound)':>15} {'gap':>11} {'upper/attack':>13}  masking")
        for i, p in enumerate(det["per_point"]):
            r = "-" if p["ratio"] is None else f"{p['ratio']:.4f}"
            print(f"{i:4d} {p['attack']:18.8g} {float(Fraction(p['upper'])):15.8g} {p['gap']:11.3g} {r:>13}  "
                  f"{'yes' if p['gradient_masking'] else 'no'}")
        print(f"L_A = {det['attack']:.8g} (estimate)  <=  L_A* <=  {det['upper_float']:.8g} (sound-bound);  "
              f"eps = {float(eps):g}: {chk['verdict']} ({det['reason']})")
    status = 0
    stored = next((c for c in doc.get("checks", []) if c.get("id") == "theorem-5.3"), None)
    if stored is not None and stored.get("label") == "sound-bound":
        try:
            old_pp = [Fraction(p["upper"]) for p in stored["details"]["per_point"]]
        except (KeyError, TypeError, ValueError):
            old_pp = []
        for i, (p, u) in enumerate(zip(det["per_point"], old_pp)):
            if Fraction(p["attack"]) > u:
                print(f"advcert: point {i}: attack {p['attack']!r} exceeds the certificate's sound bound {float(u)!r}",
                      file=sys.stderr)
                status = 1
        if stored.get("verdict") == "holds" and chk["verdict"] != "holds":
            print("advcert: the certificate's theorem-5.3 'holds' was not reproduced by this run", file=sys.stderr)
            status = 1
    return status
