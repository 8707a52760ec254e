"""The lower side of Theorem 5.3's sandwich: Definition 3.2's A* attacked on f_W and g_W.

For each data point x_i, the per-point worst case over projected ascent on both sides
±(ŷ - y_i) of the loss (Definition 3.1 with ℓ = |·|) and random search in the cap, for the
network f_W or the pseudo-network g_W of Section 3. Every value is an *estimate*: a LOWER
bound of sup over B_2(x_i, rho) ∩ X of |ŷ - y_i| (the upper bound is
:mod:`advcert.measured.crown`). The ascent is :func:`advcert.adversary.projected_ascent`'s
APGD rule, run by its compiled twin :func:`advcert.kernels.ascent.apgd_trajectories`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from advcert import adversary, seeds, sphere
from advcert.errors import InputError
from advcert.kernels import ascent, forward
from advcert.measured.network import TwoLayerNet

KINDS = ("f", "g")


@dataclass(frozen=True)
class AttackConfig:
    """The attack's effort per cap (Theorem 5.3's A* from below): APGD ``restarts`` uniform
    starts plus the centre, ``steps`` steps each (first step ``step_size``, default rho/2),
    and ``random_points`` uniform points for random search."""

    restarts: int = 8
    steps: int = 100
    random_points: int = 256
    step_size: float | None = None


def _kind(net: TwoLayerNet, kind: str) -> int:
    if kind not in KINDS:
        raise InputError(f"unknown network kind {kind!r}", "use 'f' (the network f_W) or 'g' (the pseudo-network g_W)")
    if kind == "g" and net.W0 is net.W:
        raise InputError("the pseudo-network g_W needs W0", "pass W0 = the initial weights")
    return KINDS.index(kind)


def loss_objective(net: TwoLayerNet, labels, *, kind: str = "f", sign: int = 0) -> adversary.Objective:
    """The objective |ŷ(x) - y_idx| of Definition 3.1's loss for f_W or g_W, with its x-gradient.

    With ``sign`` = +1 or -1 the objective is sign (ŷ(x) - y_idx) instead (one side of the
    absolute value). Section 3's f_W and g_W through :func:`advcert.kernels.forward.forward`
    (no N x m temporaries), with its kink convention; sign(0) = +1 for |·|.
    """
    want_g = _kind(net, kind) == 1
    y = np.ascontiguousarray(labels, dtype=np.float64)
    if sign not in (0, 1, -1):
        raise InputError(f"sign must be 0, 1 or -1, got {sign!r}", "use 0 for |ŷ - y|, +1 or -1 for one side")
    D = net.D if want_g else None

    def objective(x, idx):
        fw = forward.forward(net.a, net.W, net.b, x, W0=net.W0, D=D, g=want_g, grad=True)
        yhat, grad = (fw.g, fw.g_grad) if want_g else (fw.f, fw.f_grad)
        e = yhat - y[np.asarray(idx, dtype=np.int64)]
        s = np.where(e >= 0.0, 1.0, -1.0) if sign == 0 else np.full(e.shape, float(sign))
        return s * e, s[:, None] * grad

    return objective


def network_ascent(net: TwoLayerNet, centres, labels, rho: float, *, seed, kind: str = "f", sign: int = 1,
                   config: AttackConfig = AttackConfig()) -> adversary.AttackResult:
    """:func:`advcert.adversary.projected_ascent` on sign (ŷ - y_i) for f_W or g_W, every step fused.

    Theorem 5.3's adversary A* from below for two-layer ReLU nets (Section 3) and
    pseudo-networks: the same starts (same seed), step rule, schedule and projection as the
    numpy APGD, one parallel trajectory per (centre, start). ``sign`` = 0 attacks |ŷ - y|.
    """
    rho = float(rho)
    c = adversary.check_centres(centres, rho)
    if config.restarts < 0 or config.steps < 0:
        raise InputError("restarts and steps must be >= 0", "pass non-negative counts")
    kid = _kind(net, kind)
    if c.shape[1] != net.d:
        raise InputError(f"points have d = {c.shape[1]} but the network has d = {net.d}",
                         "use the network built for these points")
    n = c.shape[0]
    k = config.restarts + 1
    x0 = adversary.initial_points(c, rho, seed, config.restarts)
    idx = np.repeat(np.arange(n), k)
    theta = sphere.cap_angle(rho)
    y = np.asarray(labels, dtype=np.float64)
    best_val, best_x = ascent.apgd_trajectories(
        x0, c[idx], y[idx], net.a, net.W, net.W0, net.D if kid else net.W, net.b, sigma=float(sign), kind=kid,
        cos_t=math.cos(theta), sin_t=math.sin(theta), whole=theta >= math.pi,
        eta0=adversary.initial_step(rho, config.step_size), steps=int(config.steps),
        checkpoints=adversary.apgd_checkpoints(config.steps))
    rows = adversary.best_per_centre(best_val, n, k)
    return adversary.AttackResult(values=best_val[rows].copy(), points=best_x[rows].copy(),
                                  restarts=config.restarts, steps=config.steps)


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


def _take_better(best_v, best_x, v, x) -> None:
    better = v > best_v
    best_v[better] = v[better]
    best_x[better] = x[better]


def _extra(loss, c, rho, extra_points, best_v, best_x) -> None:
    # candidates from elsewhere (e.g. a relaxation's maximisers), projected onto the cap first
    n = c.shape[0]
    ex = np.asarray(extra_points, dtype=np.float64)
    if ex.ndim == 2:
        ex = ex[:, None, :]
    k = ex.shape[1]
    if not k:
        return
    idx = np.repeat(np.arange(n), k)
    cand = sphere.project_to_cap(ex.reshape(n * k, -1), c[idx], rho)
    v = loss(cand, idx)[0]
    rows = adversary.best_per_centre(v, n, k)
    _take_better(best_v, best_x, v[rows], cand[rows])


def attack_network(net: TwoLayerNet, points, labels, rho: float, *, seed, kind: str = "f",
                   config: AttackConfig = AttackConfig(), extra_points: np.ndarray | None = None) -> NetworkAttack:
    """The per-point worst case over several attacks on |ŷ - y| (Theorem 5.3's A*, from below).

    For each data point x_i: APGD (:func:`network_ascent`) on each side +(ŷ - y_i) and
    -(ŷ - y_i) of the loss, ``config.restarts`` uniform starts plus the centre each; random
    search with ``config.random_points`` uniform points in the cap; and, optionally,
    ``extra_points`` (n, k, d), projected onto the cap first. ``kind`` is 'f' for f_W or 'g'
    for the pseudo-network g_W. Every value is re-evaluated at its point, so ``values[i]``
    is attained at ``points[i]``.
    """
    rho = float(rho)
    c = adversary.check_centres(points, rho)
    y = np.asarray(labels, dtype=np.float64)
    if y.shape != (c.shape[0],):
        raise InputError(f"{y.shape[0] if y.ndim else 1} labels for {c.shape[0]} points", "pass one label per point")
    s_plus, s_minus, s_rand = seeds.as_sequence(seed).spawn(3)
    loss = loss_objective(net, y, kind=kind)
    n = c.shape[0]
    pgd_v = np.full(n, -np.inf)
    pgd_x = c.copy()
    for sign, s in ((1, s_plus), (-1, s_minus)):
        res = network_ascent(net, c, y, rho, seed=s, kind=kind, sign=sign, config=config)
        _take_better(pgd_v, pgd_x, loss(res.points, np.arange(n))[0], res.points)
    rs = adversary.random_search(loss, c, rho, seed=s_rand, count=config.random_points)
    best_v, best_x = pgd_v.copy(), pgd_x.copy()
    _take_better(best_v, best_x, rs.values, rs.points)
    if extra_points is not None:
        _extra(loss, c, rho, extra_points, best_v, best_x)
    # masking: gradient-free search beat gradient ascent by more than rounding noise
    masking = rs.values > pgd_v + 1e-9 * (1.0 + np.abs(pgd_v))
    return NetworkAttack(values=best_v, points=best_x, pgd_values=pgd_v, random_values=rs.values, masking=masking,
                         restarts=config.restarts, steps=config.steps, random_points=config.random_points)
