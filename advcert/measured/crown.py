"""Sound upper bounds on the robust loss of a two-layer ReLU net (Theorem 5.3), from above.

Theorem 5.3 claims L_{A*}(f_W) = (1/n) sum_i sup_{x~ in B_2(x_i, rho) ∩ X} |f_W(x~) - y_i| <= eps.
An attack (:mod:`advcert.measured.attacks`) bounds each sup from below; this module bounds it from
above, so the true robust loss is bracketed and the gap reported.

The bound is CROWN-style and closed-form. For f_W(x) = sum_r a_r relu(z_r(x)),
z_r(x) = <W_r, x> + b_r, and a domain D (the l2 ball B_2(x0, rho) in R^d, or the cap
B_2(x0, rho) ∩ X itself):

* pre-activation ranges over D are exact for a linear map: l_r, u_r = inf/sup over D of
  z_r (on the ball: z_r(x0) ∓ rho ||W_r||; on the cap: the closed form below);
* for the side sigma (f - y or y - f) with c_r = sigma a_r, each relu is replaced by a line:
  the chord u(z - l)/(u - l) where c_r > 0 and the neuron is unstable (l < 0 < u), a lower
  line alpha_r z (alpha_r in [0, 1], optimised: alpha-CROWN) where c_r < 0, z or 0 where
  the neuron is stable;
* so sigma (f(x) - y) <= <Lambda, x> + c on D, and the sup of a linear function over D has a
  closed form: on the ball <Lambda, x0> + rho ||Lambda||; on the cap (x = (sqrt3/2 v, 1/2),
  v in a spherical cap of S^{d-2}) Lambda_d/2 + sqrt3/2 * ||Lambda'|| cos(max(0, phi - theta)),
  phi the angle between Lambda' and the cap's axis, theta the cap's radius.

Branch-and-bound splits unstable neurons: on a leaf with z_r >= 0 (or <= 0) relu is exact
and the constraint enters through a Lagrange multiplier beta_r >= 0 (beta-CROWN). Any
alpha in [0, 1] and beta >= 0 give a valid bound, and the bound is convex in (alpha, beta),
so they are optimised by L-BFGS-B in float64 and then the bound is RE-EVALUATED with
rounding accounted for (below); only that re-evaluation is reported as a sound-bound.

Rounding. Every reported number is computed in float64 "balls" (mid, rad) with the
standard a-priori error bounds (Higham, Accuracy and Stability, §3.1: a float dot product
of length n is within n u/(1 - n u) * sum |a_i b_i| of the exact one, in any order and with
or without FMA; one correctly rounded operation is within u |result|). Radii are summed in
float and then inflated by 2^-40 relatively (far more than the few thousand roundings they
can suffer) plus 2^-1000 absolutely (underflow). Chords are computed in float and then
their intercept is rounded UP to the smallest value that keeps the line above relu on the
rigorous range, so every line used is valid exactly. The result is an upper bound on the
exact real sup; tests re-check it against 60-digit references and dense sampling.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from advcert import sphere
from advcert.errors import InputError
from advcert.kernels import relaxation
from advcert.kernels.threads import blas_single_thread
from advcert.measured import reference
from advcert.measured.balls import (_TINY, _U, _badd, _bexact, _bsub, _rad, _upper, RowNorms, column_norms, row_norms,
                                    sum_radius)
from advcert.measured.network import TwoLayerNet
from advcert.measured.perturbation import (Domain, _cap_constants, _linmax_float, _linmax_up, _ranges,  # noqa: F401
                                           linear_max, linear_max_upper, make_domain, preactivation_bounds,
                                           rho_upper)

# ---------------------------------------------------------------------------------------
# the relaxation of the net over one domain (the domains: advcert.measured.perturbation)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Relaxed:
    """A two-layer ReLU net f_W(x) = sum_r a_r relu(<W_r, x> + b_r) over one domain (Thm 5.3).

    ``lo``/``hi`` are rigorous float bounds of the pre-activation ranges over the domain
    (lo_r <= inf z_r, hi_r >= sup z_r), so neurons with lo >= 0 are certainly active and
    those with hi <= 0 certainly inactive.
    """

    a: np.ndarray
    W: np.ndarray
    b: np.ndarray
    dom: Domain
    y: float
    lo: np.ndarray
    hi: np.ndarray
    active: np.ndarray  # lo >= 0
    unstable: np.ndarray  # lo < 0 < hi
    slope: np.ndarray  # chord slope on unstable neurons (0 elsewhere)
    intercept: np.ndarray  # rigorous chord intercept on unstable neurons (0 elsewhere)
    source: TwoLayerNet  # the network the relaxation was made from


def _chords(lo, hi):
    """Slope (float in [0, 1]) and a rigorous intercept of a line >= relu on [lo, hi], lo < 0 < hi: s = fl(hi/fl(hi -
    lo)) = s*(1 + delta), |delta| <= 2.01u; s z + t >= relu at lo and hi (enough: relu is convex) once t >= -s* lo +
    2.01u hi, which t = q + 6u (q + hi), q = fl(-s lo), is after its own roundings."""
    s = hi / (hi - lo)
    q = -(s * lo)
    return s, q + 6.0 * _U * (q + hi) + _TINY


def _chord_arrays(lo, hi):
    uns = (lo < 0.0) & (hi > 0.0)
    s, t = _chords(np.where(uns, lo, -1.0), np.where(uns, hi, 1.0))
    return uns, np.where(uns, s, 0.0), np.where(uns, t, 0.0)


def relax(network: TwoLayerNet, x0, y, rho, *, domain: str = "cap") -> Relaxed:
    """The net f_W of Section 3 with its rigorous pre-activation ranges over B_2(x0, rho) (∩ X for 'cap'), Thm 5.3."""
    a, W, b = network.a, network.W, network.b
    dom = make_domain(np.asarray(x0, dtype=np.float64).reshape(1, -1), rho, domain)
    if dom.d != W.shape[1]:
        raise InputError(f"the point has d = {dom.d} but the network has d = {W.shape[1]}", "use the network built for these points")
    lo, hi = _ranges(dom, W, b)
    lo, hi = lo[0], hi[0]
    uns, slope, icpt = _chord_arrays(lo, hi)
    return Relaxed(a=a, W=W, b=b, dom=dom, y=float(y), lo=lo, hi=hi, active=lo >= 0.0, unstable=uns,
                   slope=slope, intercept=icpt, source=network)


# ---------------------------------------------------------------------------------------
# the linear relaxation of one side sigma (f - y) on one leaf
# ---------------------------------------------------------------------------------------


def _coefficients(net: Relaxed, sigma: int, split: np.ndarray, alpha: np.ndarray, beta: np.ndarray):
    """Per-neuron multipliers k_r of z_r(x) and constants e_r: sigma f(x) <= sum k_r z_r(x) + e_r on the leaf.

    Returns (k, e) in float: k = c (active), 0 (inactive), c s (chord, c > 0), c alpha
    (lower line, c < 0), c + beta (split z >= 0), -beta (split z <= 0); e = c t on chords.
    Every line used is exactly valid; the float products are rounded (accounted for by
    :func:`side_bound_upper`).
    """
    c = sigma * net.a
    uns = net.unstable
    free = uns & (split == 0)
    k = np.where(net.active, c, 0.0)
    chord = free & (c > 0)
    k = np.where(chord, c * net.slope, k)
    k = np.where(free & (c < 0), c * np.clip(alpha, 0.0, 1.0), k)
    bt = np.maximum(beta, 0.0)
    k = np.where(uns & (split > 0), c + bt, k)
    k = np.where(uns & (split < 0), -bt, k)
    e = np.where(chord, c * net.intercept, 0.0)
    return k, e


def _side_bound_float(net: Relaxed, sigma: int, split, alpha, beta):
    # float value of the leaf bound and its maximiser x*
    k, e = _coefficients(net, sigma, split, alpha, beta)
    lam = k @ net.W
    val, xs = _linmax_float(net.dom, lam[None, :])
    bound = float(val[0] + k @ net.b + e.sum() - sigma * net.y)
    return bound, xs[0]


def _bound_up(dom: Domain, W, b, K, E, sigma_y, esum=None, wcol=None) -> np.ndarray:
    """Rigorous upper bound, per row i, of sup over domain i of <sum_r K_ir W_r, x> + K_i.b + sum E_i - sigma y_i.

    K, E (P, m) are floats, each one rounded operation (or exact) away from the real
    multipliers of valid lines; their radii 2u|K|, 2u|E| carry that rounding. ``E`` None:
    ``esum`` (P,) are the float dot products sum_r c_r t_r of the chords' exact constants. ``wcol``: the float
    norms of the columns of [W b] (:class:`RowNorms`), computed here when not given.
    """
    m = W.shape[0]
    if E is None:
        # the chord constants given as their row sums (each a dot product of non-negative terms)
        es = (esum, _rad(np.abs(esum) * (m * _U * 1.01) + m * _TINY))
    else:
        Eabs = np.abs(E).sum(axis=1)
        es = (E.sum(axis=1), _rad(Eabs * (m * _U * 1.01) + 2.0 * _U * Eabs * (1.0 + m * _U * 2) + m * _TINY))
    # sum_r |K_ir| |[W b]_rj| <= ||K_i|| ||[W b]_:j|| (Cauchy-Schwarz; float norms within (m+2)u, hence 1.02)
    # carries the sums' rounding (m u 1.01) and the multipliers' own radii 2u|K| without a product
    if wcol is None:
        wcol = column_norms(W, b)
    kw = np.multiply.outer(np.linalg.norm(K, axis=1), wcol)
    kw *= sum_radius(m)
    lam = K @ W
    lam_rad = _rad(kw[:, :-1] + m * _TINY)
    head = _linmax_up(dom, lam, lam_rad)
    kb = (K @ b, _rad(kw[:, -1] + m * _TINY))
    tot = _badd((head, np.zeros_like(head)), kb)
    tot = _badd(tot, es)
    tot = _bsub(tot, _bexact(sigma_y))  # sigma y is exact (sigma = +-1)
    return _upper(tot)


def side_bound_upper(net: Relaxed, sigma: int, split, alpha, beta) -> float:
    """Sound upper bound (float, rounding accounted for) of sup over the leaf of sigma (f_W(x) - y).

    Theorem 5.3 relaxation: sigma f <= <Lambda, x> + c on the leaf, with Lambda = sum_r k_r W_r
    and c = sum_r k_r b_r + e_r - sigma y (the split neurons' Lagrange terms folded into
    k_r); then sup over the domain of <Lambda, x> in closed form.
    """
    k, e = _coefficients(net, sigma, split, alpha, beta)
    return float(_bound_up(net.dom, net.W, net.b, k[None, :], e[None, :], np.array([sigma * net.y]))[0])


def _free_sets(net: Relaxed, sigma: int, split):
    c = sigma * net.a
    uns = net.unstable
    return np.flatnonzero(uns & (split == 0) & (c < 0)), np.flatnonzero(uns & (split != 0))


def optimise_leaf(net: Relaxed, sigma: int, split, alpha, beta, *, maxiter: int = 60):
    """alpha-/beta-CROWN: minimise the (convex) leaf bound over alpha in [0,1], beta >= 0.

    Returns (alpha, beta, float bound, maximiser x*). The float bound is an estimate of
    the sound one; :func:`side_bound_upper` re-evaluates it with rounding accounted for.
    """
    ia, ib = _free_sets(net, sigma, split)
    alpha = np.array(alpha, dtype=np.float64, copy=True)
    beta = np.array(beta, dtype=np.float64, copy=True)
    if ia.size + ib.size == 0:
        bnd, xs = _side_bound_float(net, sigma, split, alpha, beta)
        return alpha, beta, bnd, xs
    c = sigma * net.a
    sgn = np.where(split > 0, 1.0, -1.0)
    W, b = net.W, net.b

    def fun(theta):
        alpha[ia] = theta[: ia.size]
        beta[ib] = theta[ia.size :]
        bnd, xs = _side_bound_float(net, sigma, split, alpha, beta)
        # Danskin: d bound / d k_r = z_r(x*)
        zi = W[ia] @ xs + b[ia]
        zb = W[ib] @ xs + b[ib]
        g = np.concatenate([c[ia] * zi, sgn[ib] * zb])
        return bnd, g

    th0 = np.concatenate([np.clip(alpha[ia], 0, 1), np.maximum(beta[ib], 0)])
    bounds = [(0.0, 1.0)] * ia.size + [(0.0, None)] * ib.size
    res = minimize(fun, th0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
    th = res.x if res.fun <= fun(th0)[0] else th0
    alpha[ia] = np.clip(th[: ia.size], 0.0, 1.0)
    beta[ib] = np.maximum(th[ia.size :], 0.0)
    bnd, xs = _side_bound_float(net, sigma, split, alpha, beta)
    return alpha, beta, bnd, xs


def crown_alpha(net: Relaxed) -> np.ndarray:
    """CROWN's default lower-line slopes: 1 where u >= -l, else 0 (alpha-CROWN's start)."""
    return (net.hi >= -net.lo).astype(np.float64)


# ---------------------------------------------------------------------------------------
# branch-and-bound on one point
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One leaf of the branch-and-bound tree of one side sigma of |f - y| (Theorem 5.3 bound).

    ``splits`` maps neuron -> +1 (z_r >= 0 on the leaf) or -1 (z_r <= 0); ``alpha`` and
    ``beta`` are the relaxation's free parameters on that leaf (neuron -> value, exact
    binary64); ``bound`` is the sound upper bound of sup over the leaf of sigma (f - y).
    """

    sigma: int
    splits: tuple
    alpha: tuple
    beta: tuple
    bound: float


@dataclass(frozen=True)
class PointBound:
    """The sandwich at one data point: sup over the domain of |f_W - y| in [lower, upper].

    ``upper`` is a sound-bound (max over the leaves of both sides); ``crown`` the plain
    CROWN bound at the root (sound); ``lower`` the best loss found at the relaxations'
    maximisers (an estimate, a lower bound of the sup when the domain is the cap) at
    ``witness``; ``complete`` says whether the gap target was met within the budget. ``cells``
    are the leaves of an input-space split (:mod:`advcert.measured.cap_split`), if one was made.
    """

    upper: float
    crown: float
    lower: float
    witness: np.ndarray
    leaves: tuple
    domain: str
    nodes: int
    seconds: float
    complete: bool
    time_capped: bool = False
    cells: tuple = ()


def _loss_at(net: Relaxed, x: np.ndarray) -> float:
    return float(abs(reference.f_value(net.source, x) - net.y))


def _score(net: Relaxed, sigma: int, split) -> np.ndarray:
    # BaBSR-like: how far the relaxation of neuron r can sit from relu, weighted by |a_r|
    lo, hi = net.lo, net.hi
    s = np.where(net.unstable & (split == 0), np.abs(net.a) * (-lo * hi) / np.where(hi - lo > 0, hi - lo, 1.0), -1.0)
    return s


@dataclass(frozen=True)
class Budget:
    """When the branch-and-bound of Theorem 5.3's bound stops: at upper <= max(lower (1 + rel_gap),
    lower + abs_gap), or after ``max_nodes`` bound evaluations — a count, so the same input gives
    the same leaves on any machine; ``time_budget`` (seconds, None: none) is only a safety cap,
    and a bound stopped by it says so (``PointBound.time_capped``). ``optimise`` runs
    alpha/beta-CROWN on a leaf whose inherited parameters miss the goal."""

    rel_gap: float = 0.1
    abs_gap: float = 1e-9
    time_budget: float | None = None
    max_nodes: int = 2000
    optimise: bool = True


#: a node's cost model, fixed so that a budget in seconds becomes the same node count everywhere:
#: about 5 ms of overhead (leaf optimisation) plus m·(d+2) multiply-adds at 3e6 per ms
_NODE_OVERHEAD_S = 5e-3
_NODE_RATE = 3e9


def nodes_for_seconds(seconds: float, m: int, d: int) -> int:
    """The node budget that a nominal ``seconds`` of branch and bound buys at width m in R^d
    (a deterministic cost model measured on this project's machines; at least 2: both roots)."""
    per_node = _NODE_OVERHEAD_S + m * (d + 2) / _NODE_RATE
    return max(2, int(float(seconds) / per_node))


def point_bound(net: TwoLayerNet, x0, y, rho, *, domain: str = "cap", lower: float = 0.0,
                budget: Budget = Budget()) -> PointBound:
    """Sound upper bound of sup_{x in B_2(x0, rho) (∩ X)} |f_W(x) - y| by alpha/beta-CROWN and BaB.

    Theorem 5.3's robust loss at one point, from above. ``lower`` is the best attack value
    known (an estimate); branch-and-bound on unstable neurons runs until ``budget`` says stop.
    Leaves whose bound is already below the best known value are not split further.
    """
    with blas_single_thread():
        t0 = time.perf_counter()
        rel = relax(net, x0, y, rho, domain=domain)
        search = _Search(rel, domain == "cap", budget, float(lower), np.array(x0, dtype=np.float64, copy=True),
                         float(rho))
        search.run(t0)
        return search.result(t0, domain)


class _Search:
    # the mutable state of one branch-and-bound (a heap of open leaves, the best value found)

    def __init__(self, net: Relaxed, on_cap: bool, budget: Budget, best: float, witness: np.ndarray,
                 rho_attack: float = 0.0) -> None:
        m = net.W.shape[0]
        self.net, self.on_cap, self.budget = net, on_cap, budget
        self.best, self.witness = best, witness
        self.rho_attack = rho_attack
        self.a0 = crown_alpha(net)
        self.zero = np.zeros(m)
        self.nosplit = np.zeros(m, dtype=np.int8)
        self.crown = max(side_bound_upper(net, s, self.nosplit, self.a0, self.zero) for s in (1, -1))
        self.heap: list = []
        self.done: list = []
        self.nodes = 0
        self.counter = 0
        self.time_capped = False

    def consider(self, x) -> None:
        if self.on_cap:
            # a relaxation's maximiser is an attack point only once it is inside the perturbation set
            # (at small rho the closed form lands just outside: Definition 3.2's set, not the bound's)
            x = sphere.project_to_cap(x[None, :], self.net.dom.x0[:1], self.rho_attack)[0]
            v = _loss_at(self.net, x)
            if v > self.best:
                self.best, self.witness = v, x.copy()

    def target(self) -> float:
        return max(self.best * (1.0 + self.budget.rel_gap), self.best + self.budget.abs_gap)

    def evaluate(self, s, split, al, be, goal: float):
        # inherited parameters first: optimise only when they do not already reach the goal
        fb, xs = _side_bound_float(self.net, s, split, al, be)
        self.nodes += 1
        self.consider(xs)
        if self.budget.optimise and fb > goal:
            al, be, fb2, xs = optimise_leaf(self.net, s, split, al, be)
            self.consider(xs)
            fb = min(fb, fb2)
        return al, be, fb

    def push(self, fb, s, split, al, be) -> None:
        heapq.heappush(self.heap, (-fb, self.counter, s, split, al, be))
        self.counter += 1

    def run(self, t0: float) -> None:
        for s in (1, -1):
            al, be, fb = self.evaluate(s, self.nosplit, self.a0.copy(), self.zero.copy(), self.target())
            self.push(fb, s, self.nosplit.copy(), al, be)
        while self.heap:
            negb, _, s, split, al, be = self.heap[0]
            if -negb <= self.target() or self.nodes >= self.budget.max_nodes:
                break
            if self.budget.time_budget is not None and time.perf_counter() - t0 > self.budget.time_budget:
                self.time_capped = True
                break
            heapq.heappop(self.heap)
            sc = _score(self.net, s, split)
            r = int(np.argmax(sc))
            if -negb <= self.best or sc[r] < 0:
                self.done.append((s, split, al, be))
                continue
            for side in (1, -1):
                child = split.copy()
                child[r] = side
                al_c, be_c = al.copy(), be.copy()
                be_c[r] = 0.0
                al_c, be_c, fb = self.evaluate(s, child, al_c, be_c, self.best)
                self.push(fb, s, child, al_c, be_c)

    def result(self, t0: float, domain: str) -> PointBound:
        net = self.net
        leaves = []
        for s, sp, al, be in [(s, sp, al, be) for (_, _, s, sp, al, be) in self.heap] + self.done:
            ia, ib = _free_sets(net, s, sp)
            leaves.append(Leaf(sigma=int(s), splits=tuple((int(r), int(sp[r])) for r in np.flatnonzero(sp)),
                               alpha=tuple((int(r), float(al[r])) for r in ia),
                               beta=tuple((int(r), float(be[r])) for r in ib),
                               bound=side_bound_upper(net, s, sp, al, be)))
        upper = max(lf.bound for lf in leaves)
        if self.crown < upper:
            # the plain CROWN root (its own two leaves) happens to be tighter: report that one
            leaves = [Leaf(sigma=s, splits=(),
                           alpha=tuple((int(r), float(self.a0[r])) for r in _free_sets(net, s, self.nosplit)[0]),
                           beta=(), bound=side_bound_upper(net, s, self.nosplit, self.a0, self.zero))
                      for s in (1, -1)]
            upper = max(lf.bound for lf in leaves)
        return PointBound(upper=upper, crown=self.crown, lower=self.best, witness=self.witness,
                          leaves=tuple(leaves), domain=domain, nodes=self.nodes,
                          seconds=time.perf_counter() - t0, complete=upper <= self.target(),
                          time_capped=self.time_capped)


# ---------------------------------------------------------------------------------------
# many points
# ---------------------------------------------------------------------------------------


def crown_bounds(net: TwoLayerNet, points, labels, rho, *, domain: str = "cap", chunk: int | None = None,
                 alpha_iters: int = 0) -> np.ndarray:
    """Plain CROWN sound upper bounds of sup over each point's domain of |f_W - y_i| (Thm 5.3).

    No optimisation and no branching: O(m d) per point, batched over chunks of points
    (chunk x m temporaries, never N x m; by default chunk x m is about 2^16, so that the fused kernel's
    product and outputs stay in the L2 cache). Rounding is accounted for, so each entry is a sound-bound. ``alpha_iters`` > 0:
    alpha-CROWN for all points at once (see :func:`_crown_rows`), still without branching.
    """
    a, W, b = net.a, net.W, net.b
    X = np.atleast_2d(np.asarray(points, dtype=np.float64))
    y = np.asarray(labels, dtype=np.float64)
    if X.shape[1] != W.shape[1]:
        raise InputError(f"points have d = {X.shape[1]} but the network has d = {W.shape[1]}", "use the network built for these points")
    w2 = row_norms(W, b, domain)
    out = np.empty(X.shape[0])
    chunk = max(1, 65536 // W.shape[0]) if chunk is None else int(chunk)
    doms = make_domain(X, rho, domain)  # O(N) vectors: once, not per chunk
    with blas_single_thread():  # small products: threads only contend
        for i0 in range(0, X.shape[0], chunk):
            dom = doms.take(np.arange(i0, min(i0 + chunk, X.shape[0])))
            out[i0 : i0 + chunk] = _crown_rows(dom, net, w2, y[i0 : i0 + chunk], alpha_iters=alpha_iters)[0]
    return out


def _crown_rows(dom: Domain, net: TwoLayerNet, w2, y: np.ndarray, lo0=None, hi0=None, want_x: bool = False,
                alpha_iters: int = 0):
    """CROWN sound bounds of sup over each row's domain of |f_W - y_i| (Thm 5.3), batched.

    Both sides sigma = +-1 are stacked as rows 0..P-1 and P..2P-1 (one pass, one product each).
    ``lo0``/``hi0`` (m,): rigorous ranges over a set containing every row's cell (the parent cap),
    intersected with the rows'. ``want_x``: also the float maximisers of the worse side (attack
    candidates). ``alpha_iters`` > 0: alpha-CROWN for every row at once by Frank-Wolfe (the bound is
    convex in alpha, d bound / d alpha_r = c_r z_r(x*) by Danskin, so the best vertex is [z_r(x*) > 0]),
    in float, then re-evaluated soundly; each row keeps the smaller of that and plain CROWN. Plain CROWN
    takes its multipliers from the fused kernel (:func:`_multipliers_fused`), alpha-CROWN from
    :func:`_multipliers_reference`, which also gives the ranges it needs; the two agree bit for bit."""
    a, W, b = net.a, net.W, net.b
    nrm = w2 if isinstance(w2, RowNorms) else row_norms(W, b, dom.kind, w2)
    P = len(y)
    if alpha_iters > 0:
        K, Ut, lo, hi = _multipliers_reference(dom, net, nrm, lo0, hi0)
    else:
        K, Ut = _multipliers_fused(dom, net, nrm, lo0, hi0)
    ap, an = np.maximum(a, 0.0), np.minimum(a, 0.0)
    es = np.concatenate([Ut @ ap, -(Ut @ an)])
    both = dom.take(np.concatenate([np.arange(P), np.arange(P)]))
    sy = np.concatenate([y, -y])
    bnd = _bound_up(both, W, b, K, None, sy, esum=es, wcol=nrm.wcol)
    xs = None
    if alpha_iters > 0:
        uns = (lo < 0.0) & (hi > 0.0)
        c = np.concatenate([np.broadcast_to(a, lo.shape), np.broadcast_to(-a, lo.shape)])
        free = np.concatenate([uns & (a < 0.0), uns & (a > 0.0)])
        Ka, x2 = _alpha_frank_wolfe(both, W, b, K, np.where(free, 0.0, K), free, c, es - sy, alpha_iters)
        bnd = np.minimum(bnd, _bound_up(both, W, b, Ka, None, sy, esum=es, wcol=nrm.wcol))
    elif want_x:
        x2 = _linmax_float(both, K @ W)[1]
    if want_x:
        xs = np.where((bnd[:P] >= bnd[P:])[:, None], x2[:P], x2[P:])
    return np.maximum(bnd[:P], bnd[P:]), xs


def _multipliers_reference(dom: Domain, net: TwoLayerNet, nrm: RowNorms, lo0=None, hi0=None):
    """CROWN's multipliers K (2P, m) of z_r for both sides, the chord constants Ut (P, m), and the ranges lo, hi
    (P, m) they come from, in numpy (the slow reference of :func:`_multipliers_fused`; Theorem 5.3)."""
    a, W, b = net.a, net.W, net.b
    lo, hi = _ranges(dom, W, b, nrm)
    if lo0 is not None:
        lo, hi = np.maximum(lo, lo0), np.minimum(hi, hi0)
    uns = (lo < 0.0) & (hi > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope, icpt = _chords(lo, hi)  # used only where unstable
    Sl = np.where(uns, slope, 0.0)
    On = (uns & (hi >= -lo)).astype(np.float64)  # CROWN's alpha
    A = np.where(lo >= 0.0, a, 0.0)
    ap, an = np.maximum(a, 0.0), np.minimum(a, 0.0)
    # sigma = +1: chords where a > 0, lower lines where a < 0; sigma = -1 the other way round
    K = np.concatenate([A + Sl * ap + On * an, -(A + Sl * an + On * ap)])
    return K, np.where(uns, icpt, 0.0), lo, hi


def _multipliers_fused(dom: Domain, net: TwoLayerNet, nrm: RowNorms, lo0=None, hi0=None):
    """:func:`_multipliers_reference`'s K and Ut (Theorem 5.3) from one BLAS product and one fused pass
    (:mod:`advcert.kernels.relaxation`): no (P, m) temporaries beyond the product and the outputs."""
    a, W, b = net.a, net.W, net.b
    P, d = dom.x0.shape
    m = W.shape[0]
    K, Ut = np.empty((2 * P, m)), np.empty((P, m))
    l0 = np.empty(0) if lo0 is None else np.ascontiguousarray(lo0, dtype=np.float64)
    h0 = np.empty(0) if hi0 is None else np.ascontiguousarray(hi0, dtype=np.float64)
    if dom.kind == "ball":
        wb = nrm.wb if nrm.wb is not None else np.concatenate([W, b[:, None]], axis=1)
        Xb = np.concatenate([dom.x0, np.ones((P, 1))], axis=1)
        nxc = np.linalg.norm(Xb, axis=1) * ((d + 1) * _U * 1.03)
        Z = Xb @ wb.T
        rn = nrm.root[1] * (dom.rho * (1.0 + 4.0 * _U))
        relaxation.ball_multipliers(Z, nxc, nrm.nw, rn, (d + 2) * _TINY, a, l0, h0, K, Ut)
    else:
        cols = nrm.cols if nrm.cols is not None else row_norms(W, b, "cap", nrm.w2).cols
        T = dom.x0[:, :-1] @ W[:, :-1].T
        relaxation.cap_multipliers(T, _cap_constants(dom), cols, a, l0, h0, K, Ut)
    return K, Ut


#: the step lengths a Frank-Wolfe step tries at once (0: stay): P x d work each, Lambda being affine in them
_FW_STEPS = np.concatenate([2.0 ** -np.arange(0.0, 20.0), [0.0]])


def _smoothed_max(dom: Domain, L: np.ndarray, mu: np.ndarray):
    """sup over the ball of <Lambda, x>, rho ||Lambda|| smoothed to rho sqrt(||Lambda||^2 + mu^2), and its maximiser
    (on caps the plain sup): Frank-Wolfe stalls at the kink Lambda = 0, where the optimum often is when m >> d."""
    if dom.kind != "ball":
        return _linmax_float(dom, L)
    nl = np.sqrt(np.einsum("ij,ij->i", L, L) + mu * mu)
    return np.einsum("ij,ij->i", L, dom.x0) + dom.rho * nl, dom.x0 + dom.rho * L / nl[:, None]


def _alpha_frank_wolfe(dom: Domain, W, b, K, K0, free, c, const, iters: int):
    """Frank-Wolfe on alpha (float) from the multipliers K, line search over :data:`_FW_STEPS` on the smoothed
    bound (:func:`_smoothed_max`, mu shrinking as 1/k); returns the multipliers reached and their maximisers."""
    P = K.shape[0]
    rows = np.arange(P)
    lam, kb = K @ W, K @ b
    mu0 = 0.5 * np.linalg.norm(lam, axis=1)
    val, x_s = _smoothed_max(dom, lam, mu0)
    for k in range(iters):
        S = np.where(free, np.where((x_s @ W.T + b) > 0.0, c, 0.0), K0)  # the best vertex
        dl, db = S @ W - lam, S @ b - kb
        g = _FW_STEPS
        cand = (lam[None, :, :] + g[:, None, None] * dl[None, :, :]).reshape(-1, lam.shape[1])
        mu = np.tile(mu0 / (k + 1.0), g.size)
        v, xc = _smoothed_max(dom.take(np.tile(rows, g.size)), cand, mu)
        f = v.reshape(g.size, P) + kb[None, :] + g[:, None] * db[None, :]
        j = np.argmin(f, axis=0)
        gam = g[j]
        K = K + gam[:, None] * (S - K)
        lam, kb = lam + gam[:, None] * dl, kb + gam * db
        x_s = xc.reshape(g.size, P, -1)[j, rows]
    K = np.where(free, np.clip(K, np.minimum(c, 0.0), np.maximum(c, 0.0)), K)  # alpha in [0, 1] despite rounding
    return K, _linmax_float(dom, K @ W)[1]
