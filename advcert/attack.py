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
from dataclasses import dataclass
from typing import Callable

import numpy as np

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
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    k = restarts + 1
    # rows [i*k, (i+1)*k) are the trajectories of centre i; the first one starts at the centre
    idx = np.repeat(np.arange(n), k)
    cen = c[idx]
    x = np.empty((n * k, d))
    for i in range(n):
        x[i * k] = sphere.project_to_cap(c[i : i + 1], c[i : i + 1], rho)[0]
        if restarts:
            x[i * k + 1 : (i + 1) * k] = sphere.sample_in_cap(rng, c[i], rho, restarts)
    radius = min(rho, math.sqrt(3.0))
    eta = np.full(n * k, 0.5 * radius if step_size is None else float(step_size))

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
