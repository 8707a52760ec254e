"""The compiled twins of :mod:`advcert.adversary`: one ascent step on caps of X, and whole APGD
trajectories for Section 3's f_W and g_W (Definition 3.2's A*, from below).

* :func:`cap_step` is the twin of ``adversary.cap_step``, the one step of every ascent:
  P_cap(x + η t̂(x, ∇)), t̂ the unit tangent direction of the gradient on X and P_cap the
  projection of :func:`advcert.sphere.project_to_cap` (onto X, then onto the cap around the
  ORIGINAL centre), row by row.
* :func:`apgd_trajectories` runs ``adversary.projected_ascent``'s APGD rule (the same
  starts, step rule, momentum, checkpoint schedule and projection) with every step fused:
  one parallel trajectory per (centre, start), O(m d) work per step through
  :func:`advcert.kernels.forward.point_forward`, no N x m temporaries.

Both are equivalence-tested against the numpy path step by step (tests/test_kernels.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from advcert.kernels import threads
from advcert.kernels.forward import point_forward

_HALF_SQRT3 = 0.8660254037844386


@njit(cache=True, fastmath=False)
def _cap_row(x, cv, cos_t, sin_t, whole, out):  # pragma: no cover - compiled
    # sphere.project_to_cap for one point: onto X, then onto the cap around the unit centre cv (v-coords)
    d = x.shape[0]
    k = d - 1
    nrm = 0.0
    for j in range(k):
        nrm += x[j] * x[j]
    nrm = np.sqrt(nrm)
    if nrm == 0.0:
        for j in range(k):
            out[j] = cv[j] * _HALF_SQRT3
        out[k] = 0.5
        return
    dot = 0.0
    dist2 = 0.0
    for j in range(k):
        out[j] = x[j] / nrm
        dot += out[j] * cv[j]
        dist2 += (out[j] - cv[j]) * (out[j] - cv[j])
    # the chord test of sphere.project_to_cap: no cancellation at small caps
    if (not whole) and dist2 > 2.0 * sin_t * sin_t / (1.0 + cos_t):
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
        out[j] *= _HALF_SQRT3
    out[k] = 0.5


@njit(cache=True, fastmath=False)
def _unit_centre(cen_row, cv):  # pragma: no cover - compiled
    k = cv.shape[0]
    cn = 0.0
    for j in range(k):
        cn += cen_row[j] * cen_row[j]
    cn = np.sqrt(cn)
    for j in range(k):
        cv[j] = cen_row[j] / cn


@njit(cache=True, fastmath=False)
def _tangent_row(x, grad, tv):  # pragma: no cover - compiled
    # adversary.tangent_direction for one point: the unit tangent of grad on X at x (0 where none)
    d = x.shape[0]
    k = d - 1
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
    for j in range(k):
        tv[j] = tv[j] / tn if tn > 0.0 else 0.0


@njit(cache=True, nogil=True, fastmath=False)
def _cap_step_kernel(x, grad, eta, cen, cos_t, sin_t, whole, i0, i1, out):  # pragma: no cover - compiled
    d = x.shape[1]
    for i in range(i0, i1):  # one thread's slice of the rows
        cv = np.empty(d - 1)
        tv = np.empty(d)
        xn = np.empty(d)
        _unit_centre(cen[i], cv)
        _tangent_row(x[i], grad[i], tv)
        for j in range(d):
            xn[j] = x[i, j] + eta[i] * tv[j]
        _cap_row(xn, cv, cos_t, sin_t, whole, out[i])


def cap_step(x: np.ndarray, grad: np.ndarray, eta: np.ndarray, cen: np.ndarray, cos_t: float, sin_t: float,
             whole: bool) -> np.ndarray:
    """P_cap(x + η t̂(x, grad)) row by row: one ascent step on the caps B_2(cen_i, ρ) ∩ X (Definition 3.2).

    ``cos_t``, ``sin_t`` and ``whole`` describe the cap's angle (:func:`advcert.sphere.cap_angle`).
    """
    out = np.empty_like(x)
    x, cen = np.ascontiguousarray(x), np.ascontiguousarray(cen)
    grad, eta = np.ascontiguousarray(grad, dtype=np.float64), np.ascontiguousarray(eta, dtype=np.float64)
    cos_t, sin_t, whole = float(cos_t), float(sin_t), bool(whole)
    threads.spread_range(lambda i0, i1: _cap_step_kernel(x, grad, eta, cen, cos_t, sin_t, whole, i0, i1, out),
                         x.shape[0], threads.parts(x.size * 16, x.shape[0]))
    return out


@njit(cache=True, fastmath=False)
def _side(x, a, W, W0, D, b, yv, sigma, kind, grad):  # pragma: no cover - compiled
    # sigma (ŷ(x) - y) and its x-gradient (sigma = 0: |ŷ - y| with sign(0) := +1)
    e = point_forward(x, a, W, W0, D, b, kind, grad) - yv
    s = sigma
    if sigma == 0.0:
        s = 1.0 if e >= 0.0 else -1.0
    for j in range(x.shape[0]):
        grad[j] *= s
    return s * e


@njit(cache=True, fastmath=False)
def _trajectory(i, X0, cen, ty, a, W, W0, D, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp,
                best_val, best_x):  # pragma: no cover - compiled
    # adversary.projected_ascent's APGD rule from row i of X0, every step fused
    d = X0.shape[1]
    cv = np.empty(d - 1)
    _unit_centre(cen[i], cv)
    x = X0[i].copy()
    xp = x.copy()
    grad = np.empty(d)
    tv = np.empty(d)
    z = np.empty(d)
    xn = np.empty(d)
    val = _side(x, a, W, W0, D, b, ty[i], sigma, kind, grad)
    bv = val
    bx = x.copy()
    eta = eta0
    succ = 0
    best_at_cp = bv
    eta_at_cp = eta
    reduced_last = False
    last_cp = 0
    for t in range(1, steps + 1):
        _tangent_row(x, grad, tv)
        for j in range(d):
            xn[j] = x[j] + eta * tv[j]
        _cap_row(xn, cv, cos_t, sin_t, whole, z)
        mom = 0.0 if t == 1 else 0.25
        for j in range(d):
            xn[j] = x[j] + (1.0 - mom) * (z[j] - x[j]) + mom * (x[j] - xp[j])
        for j in range(d):
            xp[j] = x[j]
        _cap_row(xn, cv, cos_t, sin_t, whole, x)
        vnew = _side(x, a, W, W0, D, b, ty[i], sigma, kind, grad)
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
                val = _side(x, a, W, W0, D, b, ty[i], sigma, kind, grad)
            succ = 0
            best_at_cp = bv
            last_cp = t
    best_val[i] = bv
    for j in range(d):
        best_x[i, j] = bx[j]


@njit(cache=True, nogil=True, fastmath=False)
def _apgd(X0, cen, ty, a, W, W0, D, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp, i0, i1, best_val,
          best_x):  # pragma: no cover - compiled
    for i in range(i0, i1):  # one thread's slice of the trajectories
        _trajectory(i, X0, cen, ty, a, W, W0, D, b, sigma, kind, cos_t, sin_t, whole, eta0, steps, is_cp,
                    best_val, best_x)


def apgd_trajectories(X0, cen, y, a, W, W0, D, b, *, sigma: float, kind: int, cos_t: float, sin_t: float,
                      whole: bool, eta0: float, steps: int, checkpoints) -> tuple[np.ndarray, np.ndarray]:
    """Best value and point of each APGD trajectory from the rows of X0 (Definition 3.2, from below).

    Row i climbs sigma (ŷ - y_i) (sigma = 0: |ŷ - y_i|) for ŷ = f_W (kind 0) or g_W (kind 1) on
    the cap around ``cen[i]``; ``checkpoints`` are the steps where APGD may halve its step.
    """
    n, d = X0.shape
    is_cp = np.zeros(steps + 1, dtype=np.bool_)
    for cp in checkpoints:
        is_cp[cp] = True
    best_val = np.empty(n)
    best_x = np.empty((n, d))
    args = (np.ascontiguousarray(X0), np.ascontiguousarray(cen[:, :-1]), np.ascontiguousarray(y, dtype=np.float64),
            a, W, W0, D, b, float(sigma), int(kind), float(cos_t), float(sin_t), bool(whole), float(eta0), int(steps),
            is_cp)
    threads.spread_range(lambda i0, i1: _apgd(*args, i0, i1, best_val, best_x), n,
                         threads.parts(n * W.size * max(steps, 1) // 2, n))
    return best_val, best_x
