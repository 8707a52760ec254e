"""Algorithm 1 (adversarial training) of Theorems 4.1 and 5.2: the loss class, the adversary, the loop.

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

The evaluations of f_W and grad_x f_W are :func:`advcert.kernels.forward.forward`, the
update is :func:`advcert.kernels.update.step` (both with the one kink convention
relu'(0) := 0). The training adversary A (``adversary="pgd"``, the default) is
:func:`advcert.adversary.geometric_ascent` on the loss itself, its step run by the compiled
:func:`advcert.kernels.ascent.cap_step`; it is rho-bounded by construction, so
L_A <= L_{A*}. ``adversary="apgd"`` uses :func:`advcert.measured.attacks.network_ascent`
instead (APGD's step rule; 2-3x slower).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np

from advcert import adversary, seeds, sphere
from advcert.errors import InputError
from advcert.kernels import ascent, threads, update
from advcert.kernels import forward as fwd
from advcert.measured.attacks import AttackConfig, network_ascent
from advcert.measured.crown import crown_bounds
from advcert.measured.loss import LOSSES, Adversary, Attacked, loss_slope, loss_value, pgd_points
from advcert.measured.network import TwoLayerNet, with_weights

ADVERSARIES = ("pgd", "apgd")

# ---------------------------------------------------------------------------------------
# the objective and the update
# ---------------------------------------------------------------------------------------


def pseudo_gap(net: TwoLayerNet, X) -> tuple[np.ndarray, np.ndarray]:
    """(f_W(x), g_W(x)) at the rows of X: the two sides of Theorem 5.1's sup |f_W - g_W|."""
    r = fwd.forward(net.a, net.W, net.b, X, W0=net.W0, D=net.D, g=True, layout="tiles")
    return r.f, r.g


def loss_and_grad(net: TwoLayerNet, X, labels, *, loss: str = "abs", tau: float = 0.01) -> tuple[float, np.ndarray]:
    """L(f_W, S) = (1/n) Σ_i ℓ(f_W(x_i), y_i) and its (sub)gradient in W (Algorithm 1, math-spec §8).

    ∂L/∂W_r = (1/n) Σ_i ℓ'(f_W(x_i), y_i) a_r relu'(<W_r, x_i> + b_r) x_i with relu'(0) := 0
    (:mod:`advcert.kernels.forward`); the points are held fixed (no differentiation through
    the adversary that made them).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    with threads.blas_single_thread():
        f = fwd.forward(net.a, net.W, net.b, X, layout="tiles").f
        G = update.w_gradient(net.a, net.W, net.b, X, loss_slope(f, y, loss, tau) / X.shape[0])
    return float(np.mean(loss_value(f, y, loss, tau))), G


def sgd_step(net: TwoLayerNet, X_adv, f_adv, labels, eta: float, *, loss: str = "abs",
             tau: float = 0.01) -> tuple[np.ndarray, float]:
    """One update of Algorithm 1: W - eta * grad_W L(f_W, S(t)), with the drift of the result.

    ``X_adv`` are the adversary's points S(t) (held fixed) and ``f_adv`` = f_W at them (the
    adversary evaluated them already). Returns (W(t+1), max_r ||W_r(t+1) - W0_r||); the
    network is not modified.
    """
    X = np.ascontiguousarray(X_adv, dtype=np.float64)
    coef = np.ascontiguousarray(loss_slope(f_adv, labels, loss, tau) / X.shape[0])
    return update.step(net.a, net.W0, net.b, net.W, X, coef, float(eta))


# ---------------------------------------------------------------------------------------
# the training adversary A
# ---------------------------------------------------------------------------------------


def _compiled_step(rho: float):
    theta = sphere.cap_angle(rho)
    cos_t, sin_t, whole = math.cos(theta), math.sin(theta), theta >= math.pi

    def step(x, grad, eta, cen, _rho):
        return ascent.cap_step(x, grad, eta, cen, cos_t, sin_t, whole)

    return step


def adversary_points(net: TwoLayerNet, points, labels, adv: Adversary, *, loss: str = "abs", tau: float = 0.01,
                     seed: np.random.SeedSequence | None = None, forward: Callable | None = None,
                     step: adversary.Step | None = None) -> Attacked:
    """A(S, f_W): the training adversary's points for every (x_i, y_i) (Algorithm 1, Definition 3.2).

    ``forward(X, grad)`` -> (f, grad_x f or None) and ``step`` replace the compiled kernels
    (:mod:`advcert.measured.reference` passes the plain-numpy ones), so the two paths check
    each other step by step.
    """
    c = np.ascontiguousarray(points, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if forward is None:
        def forward(X, grad):
            r = fwd.forward(net.a, net.W, net.b, X, grad=grad, layout="tiles")
            return r.f, r.f_grad
    if adv.kind == "apgd":
        return _apgd_points(net, c, y, adv, loss, tau, seed, forward)
    with threads.blas_single_thread():
        return pgd_points(c, y, adv, loss=loss, tau=tau, seed=seed, forward=forward,
                          step=step or _compiled_step(adv.rho))


def _apgd_points(net, c, y, adv, loss, tau, seed, forward) -> Attacked:
    if loss != "abs":
        raise InputError("the 'apgd' adversary attacks |f - y| only", "use --loss abs or the 'pgd' adversary")
    n = c.shape[0]
    res = network_ascent(net, c, y, adv.rho, seed=seed if seed is not None else 0, sign=0,
                         config=AttackConfig(restarts=adv.restarts, steps=adv.steps))
    f, _ = forward(np.concatenate([res.points, c]), False)
    fx, fc = f[:n], f[n:]
    lx, lc = loss_value(fx, y, loss, tau), loss_value(fc, y, loss, tau)
    # the centre itself is a point of the cap: A never returns less than it
    take = lc > lx
    pts = np.where(take[:, None], c, res.points)
    return Attacked(points=pts, f=np.where(take, fc, fx), loss=np.maximum(lx, lc), clean_f=fc)


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
class Algorithm1Config:
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
    config: Algorithm1Config
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


def _check_config(config: Algorithm1Config) -> None:
    if config.loss not in LOSSES:
        raise InputError(f"unknown loss {config.loss!r}", f"use one of {', '.join(LOSSES)}")
    if config.adversary not in ADVERSARIES:
        raise InputError(f"unknown adversary {config.adversary!r}", f"use one of {', '.join(ADVERSARIES)}")
    if config.loss == "smooth" and not config.tau > 0:
        raise InputError(f"the smooth loss needs tau > 0, got {config.tau}", "pass for example tau = 0.01")


@dataclass(eq=False)
class _Record:
    # what one run of Algorithm 1 has measured so far (kept whole through a Ctrl-C)
    L_A: list = field(default_factory=list)
    clean: list = field(default_factory=list)
    drift: list = field(default_factory=lambda: [0.0])
    cp_t: list = field(default_factory=list)
    gap: list = field(default_factory=list)
    gap_pred: list = field(default_factory=list)
    crown: list = field(default_factory=list)


def _checkpoint(rec: _Record, t: int, net_t: TwoLayerNet, X, y, att: Attacked, gap_sample, rho: float,
                crown: bool) -> None:
    # Theorem 5.1's gap sampled at the data, the adversary's points and a uniform sample; CROWN's L_A* bound
    f, g = pseudo_gap(net_t, np.concatenate([X, att.points, gap_sample]))
    rec.cp_t.append(t)
    rec.gap.append(float(np.max(np.abs(f - g))))
    # Theorem 5.1 at the radius actually reached: C51 R²/m^{1/6} with C51 = 1
    rec.gap_pred.append(rec.drift[t] ** 2 * net_t.m ** (-1.0 / 6.0))
    rec.crown.append(float(np.mean(crown_bounds(net_t, X, y, rho))) if crown else math.nan)


def train(net: TwoLayerNet, points, labels, rho: float, config: Algorithm1Config, *, seed: int,
          callback: Callable[[StepStats], None] | None = None) -> TrainResult:
    """Algorithm 1 from the initialisation (a, W0, b) of ``net`` on S = {(x_i, y_i)}, with what
    Theorems 5.2 and 4.1 track.

    Full batch; each step the adversary makes S(t) from f_{W(t)} (no differentiation through
    it), then W(t+1) = W(t) - eta grad_W L(f_W, S(t)); a and b stay frozen. W(T) gets one
    extra adversary call. Randomness (adversary restarts, gap sample) comes from the stream
    ``train`` of ``seed``. ``callback(stats)`` runs after each evaluation; a
    KeyboardInterrupt (from it or from Ctrl-C) stops the run and keeps what was recorded,
    the best iterate included.
    """
    t_start = time.perf_counter()
    X = np.ascontiguousarray(points, dtype=np.float64)
    y = np.ascontiguousarray(labels, dtype=np.float64)
    n, d = X.shape
    if net.d != d or y.shape != (n,):
        raise InputError(f"{n} points in d = {d}, {y.size} labels, network in d = {net.d}",
                         "pass one label per point and a network built for these points")
    _check_config(config)
    m, W0 = net.m, net.W0
    sch = schedule(config.eps, m, config.R, c_eta=config.c_eta, c_T=config.c_T, max_steps=config.max_steps)
    adv = Adversary(rho=float(rho), steps=config.attack_steps, restarts=config.attack_restarts, kind=config.adversary)
    # children of the stream "train": 0 adversary, 1 gap sample, 2 and 3 the checks' attacks
    ss_adv, ss_gap = seeds.seed_sequence(seed, "train").spawn(4)[:2]
    adv_seeds = iter(ss_adv.spawn(sch.T + 1)) if (adv.restarts or adv.kind == "apgd") else None
    gap_rng = np.random.default_rng(ss_gap)
    gap_sample = sphere.sample_uniform(gap_rng, config.gap_points, d) if config.gap_points else np.empty((0, d))
    cps = _checkpoint_times(sch.T, config.checkpoints)
    rec = _Record()
    W = W0.copy()
    best = (math.inf, 0, W.copy())
    interrupted = False
    try:
        with threads.blas_single_thread():
            for t in range(sch.T + 1):
                net_t = with_weights(net, W)
                att = adversary_points(net_t, X, y, adv, loss=config.loss, tau=config.tau,
                                       seed=next(adv_seeds) if adv_seeds is not None else None)
                rec.L_A.append(float(np.mean(att.loss)))
                rec.clean.append(float(np.mean(loss_value(att.clean_f, y, config.loss, config.tau))))
                if (t >= 1 or sch.T == 0) and rec.L_A[-1] < best[0]:
                    best = (rec.L_A[-1], t, W.copy())
                if t in cps:
                    _checkpoint(rec, t, net_t, X, y, att, gap_sample, adv.rho, config.crown)
                if callback is not None:
                    callback(StepStats(t=t, L_A=rec.L_A[-1], clean=rec.clean[-1], drift=rec.drift[t], best=best[0],
                                       T=sch.T))
                if t == sch.T:
                    break
                W, dr = sgd_step(net_t, att.points, att.f, y, sch.eta, loss=config.loss, tau=config.tau)
                rec.drift.append(dr * m ** (2.0 / 3.0))
    except KeyboardInterrupt:
        interrupted = True
    # drift has one entry per iterate made; L_A one per iterate evaluated
    k = len(rec.L_A)
    if best[0] == math.inf and k:
        best = (rec.L_A[0], 0, W0.copy())
    return TrainResult(
        schedule=sch, config=config, W_best=best[2], t_best=int(best[1]), min_L_A=float(best[0]), W_last=W,
        L_A=np.array(rec.L_A), clean=np.array(rec.clean), drift=np.array(rec.drift[:k]),
        average=np.cumsum(rec.L_A) / np.arange(1, k + 1) if k else np.empty(0),
        checkpoints=np.array(rec.cp_t, dtype=np.int64), gap=np.array(rec.gap), gap_predicted=np.array(rec.gap_pred),
        crown_upper=np.array(rec.crown), interrupted=interrupted, seconds=time.perf_counter() - t_start)


def clip_to_radius(W0: np.ndarray, W: np.ndarray, radius: float) -> np.ndarray:
    """The nearest W* with ||W* - W0||_{2,inf} <= radius, row by row (a comparator of Theorem 5.2)."""
    D = W - W0
    nr = np.linalg.norm(D, axis=1)
    scale = np.where(nr > radius, radius / np.where(nr > 0, nr, 1.0), 1.0)
    # a row scaled in float may land a rounding above the radius: shrink it by 2^-40 more
    scale = np.where(nr > radius, scale * (1.0 - 2.0**-40), 1.0)
    return W0 + D * scale[:, None]


