"""Theorem 5.3's robust loss L_{A*}(f_W) bracketed: attacks below, sound CROWN/BaB bounds above.

L_{A*}(f_W) = (1/n) Σ_i sup_{x~ in B_2(x_i, rho) ∩ X} |f_W(x~) - y_i|. Per point, the best
of several attacks (:func:`advcert.measured.attacks.attack_network`, an estimate, improved
by the relaxations' maximisers) is a lower end, and the alpha/beta-CROWN branch-and-bound
bound (:func:`advcert.measured.crown.point_bound`, rounding accounted for) an upper end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from advcert.errors import InputError
from advcert.measured.attacks import AttackConfig, NetworkAttack, attack_network
from advcert.measured.crown import Budget, PointBound, nodes_for_seconds, point_bound, rho_upper
from advcert.measured.network import TwoLayerNet


@dataclass(frozen=True)
class SandwichConfig:
    """The effort of Theorem 5.3's sandwich: the attack (restarts, steps, random points per cap)
    and the bound (the domain 'cap' or 'ball', the gap target, seconds and nodes of the
    branch-and-bound, and whether the leaves are kept for the certificate)."""

    domain: str = "cap"
    restarts: int = 8
    steps: int = 100
    random_points: int = 256
    rel_gap: float = 0.1
    time_budget: float = 30.0
    max_nodes: int = 2000
    include_leaves: bool = True


@dataclass(frozen=True, eq=False)
class Bracket:
    """The sandwich at every data point (Theorem 5.3): ``lower[i]`` <= sup of the loss <= ``bounds[i].upper``.

    ``lower[i]`` (an estimate) is the best attack value, raised to the relaxations' maximiser
    on the cap; ``witness[i]`` attains it. ``rho_used`` is the float radius the bound used
    (>= the exact rho).
    """

    attack: NetworkAttack
    bounds: tuple[PointBound, ...]
    lower: np.ndarray
    witness: np.ndarray
    attack_seconds: float
    rho_used: float


#: the safety cap on the branch and bound's wall time, as a multiple of the nominal budget
TIME_CAP_FACTOR = 4.0


def robust_loss_bounds(net: TwoLayerNet, points, labels, rho, *, domain: str = "cap", lower=None,
                       rel_gap: float = 0.1, time_budget: float = 10.0, max_nodes: int = 2000) -> list[PointBound]:
    """:func:`advcert.measured.crown.point_bound` at every data point (Theorem 5.3).

    The nominal ``time_budget`` seconds become a node budget by a fixed cost model
    (:func:`~advcert.measured.crown.nodes_for_seconds`), shared equally by the points and capped by
    ``max_nodes`` per point: the result is the same on every machine. Each point's wall time is
    capped at ``TIME_CAP_FACTOR`` times its share, and a point stopped by that cap says so.
    """
    X = np.atleast_2d(np.asarray(points, dtype=np.float64))
    y = np.asarray(labels, dtype=np.float64)
    n = X.shape[0]
    low = np.zeros(n) if lower is None else np.asarray(lower, dtype=np.float64)
    m, d = net.W.shape
    per_point = min(max_nodes, max(2, nodes_for_seconds(time_budget, m, d) // max(n, 1)))
    budget = Budget(rel_gap=rel_gap, time_budget=TIME_CAP_FACTOR * time_budget / max(n, 1), max_nodes=per_point)
    return [point_bound(net, X[i], y[i], rho, domain=domain, lower=float(low[i]), budget=budget) for i in range(n)]


def bracket(net: TwoLayerNet, points, labels, rho, *, seed, config: SandwichConfig = SandwichConfig()) -> Bracket:
    """Attack, then bound, every data point's sup of |f_W - y_i| over its cap (Theorem 5.3's sandwich)."""
    t0 = time.perf_counter()
    X = np.atleast_2d(np.asarray(points, dtype=np.float64))
    y = np.asarray(labels, dtype=np.float64)
    n = X.shape[0]
    if n == 0:
        raise InputError("no data points", "pass at least one point x_i with its label")
    if y.shape != (n,):
        raise InputError(f"{y.size} labels for {n} points", "pass one label per point")
    atk = attack_network(net, X, y, float(rho), seed=seed,
                         config=AttackConfig(restarts=config.restarts, steps=config.steps,
                                             random_points=config.random_points))
    t_att = time.perf_counter() - t0
    pbs = robust_loss_bounds(net, X, y, rho, domain=config.domain, lower=atk.values, rel_gap=config.rel_gap,
                             time_budget=config.time_budget, max_nodes=config.max_nodes)
    cap = config.domain == "cap"
    # the relaxations' maximisers are attack points too (on X, in the cap)
    lower = np.array([max(atk.values[i], pb.lower) if cap else atk.values[i] for i, pb in enumerate(pbs)])
    # the relaxation's maximiser is the witness only where it beat the attack (else it is the centre)
    witness = np.array([pb.witness if (cap and pb.lower > atk.values[i]) else atk.points[i]
                        for i, pb in enumerate(pbs)])
    return Bracket(attack=atk, bounds=tuple(pbs), lower=lower, witness=witness, attack_seconds=t_att,
                   rho_used=rho_upper(rho))
