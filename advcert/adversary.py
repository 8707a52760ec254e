"""Definition 3.2's worst case on the caps B_2(x, ρ) ∩ X, from below: THE projected ascent.

A*(x, y, f) = argmax over B_2(x, rho) ∩ X of the loss ℓ(f(x~), y). No algorithm finds this
argmax in general, so everything here is an *estimate*: the best value found is a LOWER
bound of the true sup (the upper bound is :mod:`advcert.measured.crown`).

One step rule for every ascent on X: :func:`cap_step`, a normalised step along the tangent
direction of the gradient (:func:`tangent_direction`), then :func:`advcert.sphere.project_to_cap`
relative to the ORIGINAL centre (never the previous iterate, the bug of ART#85). Two step
size rules use it:

* :func:`projected_ascent`: APGD (Croce & Hein 2020) with momentum, a step that halves at
  checkpoints when progress stalls, restarts uniform in the cap plus one start at the
  centre, and the per-centre worst case over all of them (Theorem 5.3's A*, Lemma 6.2's
  attack on f*);
* :func:`geometric_ascent`: Algorithm 1's training adversary A, steps of geometrically
  decaying length from rho to rho/10 from the data point (plus restarts), keeping each
  trajectory's best point.

:func:`random_search` is the gradient-free baseline. This module is plain numpy (the
certified build uses it for f*); the compiled twins of :func:`cap_step` and of
:func:`projected_ascent` for two-layer nets are in :mod:`advcert.kernels.ascent`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from advcert import seeds, sphere
from advcert.errors import InputError

Objective = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: step(x, grad, eta, centres, rho) -> the points of one ascent step (rows), see :func:`cap_step`
Step = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]


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


def cap_step(x: np.ndarray, grad: np.ndarray, eta: np.ndarray, centres: np.ndarray, rho: float) -> np.ndarray:
    """THE ascent step on caps of X (Definition 3.2): P_cap(x + η t̂), t̂ = :func:`tangent_direction`.

    ``eta`` has one step length per row; ``centres`` are the caps' ORIGINAL centres.
    """
    return sphere.project_to_cap(x + eta[:, None] * tangent_direction(x, grad), centres, rho)


def check_centres(centres: np.ndarray, rho: float) -> np.ndarray:
    """The centres x_i of Definition 3.2's caps as a finite (n, d) float array, d >= 2, and rho >= 0."""
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


def initial_points(c: np.ndarray, rho: float, seed, restarts: int, *, project_centre: bool = True) -> np.ndarray:
    """Starts of the ascents on the caps of Definition 3.2: rows [i k, (i+1) k), k = restarts + 1,
    belong to centre i; the first is the centre (projected onto its cap unless told not to), the
    others uniform in the cap from the stream ``seed``."""
    n, d = c.shape
    k = restarts + 1
    rng = np.random.default_rng(seeds.as_sequence(seed))
    x = np.empty((n * k, d))
    for i in range(n):
        x[i * k] = sphere.project_to_cap(c[i : i + 1], c[i : i + 1], rho)[0] if project_centre else c[i]
        if restarts:
            x[i * k + 1 : (i + 1) * k] = sphere.sample_in_cap(rng, c[i], rho, restarts)
    return x


def initial_step(rho: float, step_size: float | None) -> float:
    """APGD's first step length on a cap of radius rho (Definition 3.2): half the radius by default."""
    return 0.5 * min(rho, math.sqrt(3.0)) if step_size is None else float(step_size)


def apgd_checkpoints(steps: int) -> list[int]:
    """APGD's checkpoints p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), scaled to ``steps``."""
    ps = [0.0, 0.22]
    while ps[-1] < 1.0:
        ps.append(ps[-1] + max(ps[-1] - ps[-2] - 0.03, 0.06))
    out = sorted({int(math.ceil(p * steps)) for p in ps[1:] if p * steps < steps})
    return [c for c in out if c > 0]


def best_per_centre(values: np.ndarray, n: int, k: int) -> np.ndarray:
    """Row index of the best of each centre's k trajectories (rows [i k, (i+1) k) of Definition 3.2's starts)."""
    return np.arange(n) * k + np.argmax(values.reshape(n, k), axis=1)


def projected_ascent(objective: Objective, centres: np.ndarray, rho: float, *, seed, restarts: int = 8,
                     steps: int = 60, step_size: float | None = None) -> AttackResult:
    """APGD on the caps B_2(c_i, rho) ∩ X: the adversary A* of Definition 3.2 / Theorem 5.3 from below.

    Returns, per centre, the best value found over ``restarts`` starts uniform in the cap
    plus one start at the centre, each run for ``steps`` APGD steps. ``objective(x, idx)``
    takes points on X (rows of x, shape (N, d)) and the index of the centre each row belongs
    to, and returns ``(values (N,), grads (N, d))``: the values to MAXIMISE and their
    gradients in R^d (only the tangent part is used). ``step_size`` is the initial step
    (Euclidean, in x; default half the cap's radius), halved per trajectory whenever a
    checkpoint shows a stall. Same ``seed`` (anything numpy.random.SeedSequence accepts)
    gives the same result.
    """
    rho = float(rho)
    c = check_centres(centres, rho)
    if restarts < 0 or steps < 0:
        raise InputError("restarts and steps must be >= 0", "pass non-negative counts")
    n = c.shape[0]
    k = restarts + 1
    idx = np.repeat(np.arange(n), k)
    cen = c[idx]
    x = initial_points(c, rho, seed, restarts)
    eta = np.full(n * k, initial_step(rho, step_size))
    val, grad = objective(x, idx)
    val = np.asarray(val, dtype=np.float64)
    best_val, best_x, x_prev = val.copy(), x.copy(), x.copy()
    checkpoints = set(apgd_checkpoints(steps))
    last_cp = 0
    succ = np.zeros(n * k, dtype=np.int64)
    best_at_cp, eta_at_cp = best_val.copy(), eta.copy()
    reduced_last = np.zeros(n * k, dtype=bool)
    for t in range(1, steps + 1):
        z = cap_step(x, grad, eta, cen, rho)
        # APGD momentum 0.75 on the first step-away, then re-project relative to the centre
        mom = 0.0 if t == 1 else 0.25
        x_new = sphere.project_to_cap(x + (1.0 - mom) * (z - x) + mom * (x - x_prev), cen, rho)
        val_new, grad_new = objective(x_new, idx)
        val_new = np.asarray(val_new, dtype=np.float64)
        succ += val_new > val
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
    rows = best_per_centre(best_val, n, k)
    return AttackResult(values=best_val[rows].copy(), points=best_x[rows].copy(), restarts=restarts, steps=steps)


@dataclass(frozen=True, eq=False)
class GeometricAscent:
    """What :func:`geometric_ascent` found per centre (Algorithm 1's adversary A, Definition 3.2).

    ``points``, ``values`` and ``aux`` (whatever the evaluator carries along, e.g. f_W) at the
    best point of each centre; ``first_aux`` is ``aux`` at the centre itself (the first evaluation).
    """

    points: np.ndarray
    values: np.ndarray
    aux: np.ndarray
    first_aux: np.ndarray


def step_lengths(rho: float, steps: int) -> np.ndarray:
    """Algorithm 1's adversary steps rho·10^{-k/(steps-1)}, k = 0..steps-1 (rho down to rho/10)."""
    if steps <= 1:
        return np.full(max(steps, 0), rho)
    return rho * 10.0 ** (-np.arange(steps) / (steps - 1))


def geometric_ascent(evaluate, centres: np.ndarray, rho: float, *, seed, restarts: int, steps: int,
                     step: Step = cap_step) -> GeometricAscent:
    """Normalised projected ascent with step lengths :func:`step_lengths` on the caps of Definition 3.2.

    The training adversary A of Algorithm 1: it starts at the data point (not projected: the
    first evaluation is the clean loss) plus ``restarts`` points uniform in the cap, takes
    ``steps`` steps of :func:`cap_step` (or its compiled twin ``step``), and returns per centre
    the best point it evaluated, so A is rho-bounded by construction (up to float rounding
    of the projection). ``evaluate(x, want_grad) -> (values, grads or None, aux)``.
    """
    c = np.ascontiguousarray(centres, dtype=np.float64)
    n = c.shape[0]
    k = restarts + 1
    x = c.copy() if k == 1 else initial_points(c, rho, seed if seed is not None else 0, restarts,
                                               project_centre=False)
    cen = np.ascontiguousarray(c[np.repeat(np.arange(n), k)])
    val, grad, aux = evaluate(x, steps > 0)
    first_aux = aux[::k].copy()
    best_v, best_x, best_aux = val.copy(), x.copy(), aux.copy()
    for s, h in enumerate(step_lengths(rho, steps)):
        x = step(x, grad, np.full(x.shape[0], float(h)), cen, rho)
        val, grad, aux = evaluate(x, s < steps - 1)
        better = val > best_v
        best_v[better], best_x[better], best_aux[better] = val[better], x[better], aux[better]
    rows = best_per_centre(best_v, n, k)
    return GeometricAscent(points=best_x[rows], values=best_v[rows], aux=best_aux[rows], first_aux=first_aux)


def random_search(objective: Objective, centres: np.ndarray, rho: float, *, seed, count: int = 256) -> AttackResult:
    """Best of ``count`` points uniform in each cap B_2(c_i, rho) ∩ X (Definition 3.2, from below).

    The gradient-free baseline that exposes gradient masking (AutoAttack's lesson): if it
    beats projected ascent, the gradients mislead.
    """
    rho = float(rho)
    c = check_centres(centres, rho)
    n = c.shape[0]
    rng = np.random.default_rng(seeds.as_sequence(seed))
    if count <= 0:
        return AttackResult(values=np.full(n, -np.inf), points=c.copy(), restarts=0, steps=0)
    pts = np.concatenate([sphere.sample_in_cap(rng, c[i], rho, count) for i in range(n)])
    idx = np.repeat(np.arange(n), count)
    val = np.asarray(objective(pts, idx)[0], dtype=np.float64)
    rows = best_per_centre(val, n, count)
    return AttackResult(values=val[rows].copy(), points=pts[rows].copy(), restarts=count, steps=0)
