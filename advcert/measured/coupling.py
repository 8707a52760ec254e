"""The numbers of Lemma 6.6, Lemma 6.5 and Theorem 5.1 at one width: h, W*, sweeps and ascents.

Given data (X, y) on X, ε, the step polynomial q (Claim 6.3), a width m and a seed,
:func:`measure` builds h (Lemma 6.6), samples the initialisation and W* (Lemma 6.5), sweeps
f_{W*}, g_{W*} and f* over sampled, net and ascended points, and returns every number the
checks ``lemma-6.6``, ``lemma-6.5/radius``, ``lemma-6.5``, ``theorem-5.1`` and
``theorem-5.1/chain`` report (the records are made elsewhere). Everything measured is an
estimate (sampled points, float kernels, quadrature); a sup over sampled and ascended
points is a LOWER bound of the true sup. What is proved sits next to it: the truncation and
P_i bounds of Lemma 6.6, the Hoeffding + net failure bound of Lemma 6.5 at this m, and the
per-point Theorem 5.1 bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from advcert import adversary, seeds, sphere, theory
from advcert.errors import InputError
from advcert.kernels import forward, fstar, sweep
from advcert.measured.h import Features, IdentityCheck, build_features, float_floor, identity_quadrature
from advcert.measured.identity import IdentityEnclosure, RangeBound, identity_enclosure, range_bound
from advcert.measured.network import PseudoNetwork, TwoLayerNet, initialise, w_star
from advcert.measured.supnorm import MAX_SUP_DIM, SupCover, sup_cover
from advcert.poly.complexity import complexity, complexity_eps, eps2_for_lemma65


class StepLike(Protocol):
    """What this module needs of a step polynomial of Claim 6.3: its exact coefficients, and either
    p1's Chebyshev form with α (``advcert.poly.step.StepPolynomial``) or q's own z-Chebyshev form
    ``cheb_z`` (``advcert.poly.zform.ZStep``, the minimax and LP routes)."""

    coefficients: tuple[Fraction, ...]


def _fstar(Z, X, y, step: StepLike):
    # f* through the float form the step polynomial has (Lemma 6.2; kernels.fstar)
    if hasattr(step, "cheb_z"):
        return fstar.fstar_z(Z, X, y, step.cheb_z)
    return fstar.fstar(Z, X, y, step.cheb_b, float(step.alpha))


def _fstar_error(step: StepLike, y, d: int, D: int) -> float:
    if hasattr(step, "cheb_z"):
        return fstar.fstar_z_error_bound(step.cheb_z, y, d, D)
    sign = getattr(step, "sign", None)
    return fstar.fstar_error_bound(step.cheb_b, y, d, D, 1.0 + float(getattr(sign, "a_priori_error", Fraction(1, 10))))


#: largest degree for which the Lemma 6.6 quadrature is attempted: the t-integral splits
#: at ~degree²/2 roots, so the cost grows like degree³ (1.4 s at degree 23, 8 s at 51)
QUAD_MAX_DEGREE = 40

#: A small instance where the measured chain works at a width this machine holds (found by
#: a scan over instances and widths): two antipodal points of X in d = 3
#: with labels ±1, γ = 29/10 (δ = √3, δ(δ - 2ρ) = 2.93), ε = 99/100, ρ = 1/50. q has degree
#: 11. At m = 2^22 (seed 0) sup|g_{W*} - f*| = 0.012 and sup|f_{W*} - g_{W*}| = 0.301, both
#: below ε/3 = 0.33; the gap fell as 0.430, 0.398, 0.345, 0.301 at m = 2^16, 2^18, 2^20,
#: 2^22 (about m^-0.086, slower than m^-1/6: m^{1/6} is not yet large against |Σ y h|).
#: The theorem's own widths here are 10^62.1 (Theorem 5.1 with R = 2nC_h) and 10^13.6
#: (Hoeffding + net).
SMALL_INSTANCE = {
    "gamma": Fraction(29, 10),
    "eps": Fraction(99, 100),
    "rho": Fraction(1, 50),
    "n": 2,
    "d": 3,
    "points": ((math.sqrt(3) / 2, 0.0, 0.5), (-math.sqrt(3) / 2, 0.0, 0.5)),
    "labels": (1.0, -1.0),
    "seed": 0,
    "m": 2**22,
}


def default_width(n: int, degree: int, d: int) -> int:
    """The width m of Lemma 6.5 / Theorem 5.1 the build uses when --m is not given: a power of 2 that keeps this part
    near its ~20 s target on 2 cores (h costs ~n·m·degree, the sweeps ~N·m·(d + 10)).

    The headline (n = 10, degree 245, d = 8) gets 2^14; small instances 2^15.
    """
    budget_h = 1.2e8 / max(1, n * (degree + 1))
    budget_sweep = 1.0e10 / (20000 * (max(d, 3) + 10))
    m = int(min(budget_h, budget_sweep, 2**16))
    return max(2**10, 1 << (m.bit_length() - 1))


@dataclass(frozen=True)
class Options:
    """Knobs of the measured plane (the paper's hidden constants are among them)."""

    c: Fraction = Fraction(2)  # complexity constant of Lemma 6.6 (math-spec §5)
    C51: float = 1.0  # constant in Theorem 5.1's O(R²/m^{1/6})
    # point counts; None scales them with the width so that a sweep stays near
    # POINT_NEURON_BUDGET point-neuron pairs (20000 points at m <= 2^15)
    uniform_points: int | None = None
    net_points: int | None = None  # for d <= 4
    ascent_points: int | None = None
    ascent_steps: int | None = None
    z_grid: tuple[float, ...] = (-0.95, -0.6, -0.2, 0.2, 0.5, 0.8, 0.95)
    delta_fail: float = 0.01  # failure probability used for the Hoeffding width
    sup_boxes: int = 20000  # budget of boxes of each sound sup-norm cover (math-spec §13)
    sup_ratio: float = 1.15  # stop splitting once upper <= sup_ratio * lower


#: point-neuron pairs one uniform (or net) sweep may cost when the counts are automatic
POINT_NEURON_BUDGET = 6.5e8


def resolve(options: Options, m: int) -> Options:
    """Fill in automatic point counts: fewer points at larger widths (the cost is N·m·d)."""
    pts = int(min(20000, max(2000, POINT_NEURON_BUDGET / m)))
    return Options(
        c=options.c,
        C51=options.C51,
        uniform_points=options.uniform_points if options.uniform_points is not None else pts,
        net_points=options.net_points if options.net_points is not None else pts,
        ascent_points=options.ascent_points if options.ascent_points is not None else (48 if m <= 2**16 else 16),
        ascent_steps=options.ascent_steps if options.ascent_steps is not None else (30 if m <= 2**16 else 12),
        z_grid=options.z_grid,
        delta_fail=options.delta_fail,
        sup_boxes=options.sup_boxes,
        sup_ratio=options.sup_ratio,
    )


# ---------------------------------------------------------------------------------------
# deterministic nets on X (d <= 4)
# ---------------------------------------------------------------------------------------


def net(d: int, count: int) -> tuple[np.ndarray, float]:
    """A deterministic net of X for d <= 4 and its covering radius (Euclidean, in R^d), for
    the sup over X in Lemma 6.5 and Theorem 5.1.

    d = 2: X is two points (radius 0). d = 3: ``count`` equally spaced angles on the circle,
    radius √3 sin(π/(2·count)). d = 4: a cube-sphere grid (k×k cells per face, ~``count``
    points); each cell is a geodesic quadrilateral, so the farthest point of a cell from
    its centre is a corner, and the radius is √3 sin(θ/2) for θ the largest centre-corner
    angle (computed in float64 and padded by 1e-12).
    """
    if d == 2:
        return sphere.lift(np.array([[1.0], [-1.0]])), 0.0
    if d == 3:
        th = 2 * math.pi * (np.arange(count) + 0.5) / count
        return sphere.lift(np.stack([np.cos(th), np.sin(th)], axis=1)), math.sqrt(3) * math.sin(math.pi / (2 * count))
    if d == 4:
        k = max(1, int(math.sqrt(count / 6)))
        edges = np.linspace(-1, 1, k + 1)
        mids = (edges[:-1] + edges[1:]) / 2
        pts, worst = [], 0.0
        for axis in range(3):
            for sign in (-1.0, 1.0):
                def face(u: np.ndarray, v: np.ndarray) -> np.ndarray:
                    p = np.empty(u.shape + (3,))
                    rest = [i for i in range(3) if i != axis]
                    p[..., axis] = sign
                    p[..., rest[0]] = u
                    p[..., rest[1]] = v
                    return p / np.linalg.norm(p, axis=-1, keepdims=True)
                U, V = np.meshgrid(mids, mids, indexing="ij")
                c = face(U, V)
                pts.append(c.reshape(-1, 3))
                for du in (0, 1):
                    for dv in (0, 1):
                        cu, cv = np.meshgrid(edges[du:k + du], edges[dv:k + dv], indexing="ij")
                        corner = face(cu, cv)
                        cosang = np.clip(np.sum(corner * c, axis=-1), -1, 1)
                        worst = max(worst, float(np.max(np.arccos(cosang))))
        return sphere.lift(np.concatenate(pts)), math.sqrt(3) * math.sin(worst / 2) + 1e-12
    raise ValueError("deterministic nets are provided for d <= 4 only")


# ---------------------------------------------------------------------------------------
# theory constants of this chain (log scale)
# ---------------------------------------------------------------------------------------

#: the widths and the Hoeffding + net failure bound are formulas of advcert.theory (their one
#: home): R = 2nC_h, (3 C51 R²/ε)^6, the Hoeffding + net fixed point, 9ndC_h/ε and their largest
ChainWidths = theory.ChainWidths
chain_widths = theory.chain_widths
log10_hoeffding_failure = theory.log10_hoeffding_failure


# ---------------------------------------------------------------------------------------
# the measurements
# ---------------------------------------------------------------------------------------


def pack(net: TwoLayerNet) -> sweep.Packed:
    """The network of Section 3 (e.g. with W = W* of Lemma 6.5) packed for the Theorem 5.1 sweep."""
    return sweep.pack(net.a, net.W0, net.b, net.W)


@dataclass(frozen=True, eq=False)
class Lemma66:
    """h of Lemma 6.6 at ε2 (the largest allowed by Lemma 6.5's budget and 1/C(q)), C(q), C(q, ε2),
    the enclosures of its identity on [−1, 1] and its range against C(q, ε2) (math-spec §5.1), the
    float64 floor of a quadrature, and the quadrature itself when float64 can resolve ε2."""

    eps2: Fraction
    Cq: Any
    Cqe: Any
    features: Features
    identity: IdentityEnclosure
    range: RangeBound
    floor: float
    quad: IdentityCheck | None
    seconds_features: float
    seconds_quadrature: float


def lemma66(alpha: tuple[Fraction, ...], eps: Fraction, n: int, options: Options) -> Lemma66:
    """Build h of Lemma 6.6 for φ = q at ε2 = eps2_for_lemma65, enclose its identity and range
    (math-spec §5.1), and estimate the identity by quadrature as well when the degree is
    <= QUAD_MAX_DEGREE and float64's floor is below ε2/100."""
    c_const = Fraction(options.c)
    t0 = time.perf_counter()
    eps2 = eps2_for_lemma65(alpha, eps, n, c_const)
    Cq, Cqe = complexity(alpha, c_const), complexity_eps(alpha, eps2, c_const)
    feat = build_features(alpha, eps2)
    ident = identity_enclosure(feat)
    rng = range_bound(feat, c_const)
    t1 = time.perf_counter()
    floor = float_floor(feat)
    quad = None
    if len(alpha) - 1 <= QUAD_MAX_DEGREE and floor < float(eps2) / 100:
        quad = identity_quadrature(feat, options.z_grid)
    return Lemma66(eps2=eps2, Cq=Cq, Cqe=Cqe, features=feat, identity=ident, range=rng, floor=floor, quad=quad,
                   seconds_features=t1 - t0, seconds_quadrature=time.perf_counter() - t1)


@dataclass(frozen=True, eq=False)
class PointSet:
    """One set of evaluation points of Lemma 6.5 / Theorem 5.1 with the fused sweep and f* there."""

    points: np.ndarray
    sweep: sweep.Sweep
    fstar: np.ndarray


def _evaluate(P: sweep.Packed, Xs, X, y, step: StepLike, R: float) -> PointSet:
    fs, _ = _fstar(Xs, X, y, step)
    return PointSet(points=Xs, sweep=sweep.sweep(P, Xs, R=R), fstar=fs)


def _ascent_objectives(net: TwoLayerNet, X, y, step: StepLike):
    # |g - f*| and |f - g| with their x-gradients (Lemma 6.5 and Theorem 5.1 errors)
    def both(Z):
        r = forward.forward(net.a, net.W, net.b, Z, W0=net.W0, D=net.D, g=True, grad=True)
        return r, _fstar(Z, X, y, step)

    def obj_gf(Z, idx):
        r, (fs, gfs) = both(Z)
        diff = r.g - fs
        return np.abs(diff), np.sign(diff)[:, None] * (r.g_grad - gfs)

    def obj_fg(Z, idx):
        r = forward.forward(net.a, net.W, net.b, Z, W0=net.W0, D=net.D, g=True, grad=True)
        diff = r.f - r.g
        return np.abs(diff), np.sign(diff)[:, None] * (r.f_grad - r.g_grad)

    return obj_gf, obj_fg


def ascended_points(net: TwoLayerNet, X, y, step: StepLike, sets: dict[str, PointSet], options: Options,
                    ss: np.random.SeedSequence) -> np.ndarray:
    """Points where |g_{W*} - f*| and |f_{W*} - g_{W*}| are large: APGD on the whole of X
    (:func:`advcert.adversary.projected_ascent` with rho = √3) from the worst swept points and
    uniform ones (Lemma 6.5, Theorem 5.1; estimates: lower bounds of the sups)."""
    d = X.shape[1]
    allX = np.concatenate([s.points for s in sets.values()])
    all_gf = np.concatenate([np.abs(s.sweep.g - s.fstar) for s in sets.values()])
    all_fg = np.concatenate([np.abs(s.sweep.f - s.sweep.g) for s in sets.values()])
    k = options.ascent_points
    rng_a = np.random.default_rng(ss)
    seeds_a = ss.spawn(2)
    start_gf = np.concatenate([allX[np.argsort(all_gf)[-k // 2:]], sphere.sample_uniform(rng_a, k - k // 2, d)])
    start_fg = np.concatenate([allX[np.argsort(all_fg)[-k // 2:]], sphere.sample_uniform(rng_a, k - k // 2, d)])
    obj_gf, obj_fg = _ascent_objectives(net, X, y, step)
    whole = math.sqrt(3.0)  # the cap of radius √3 is all of X
    out = [adversary.projected_ascent(obj, start, whole, seed=s, restarts=0, steps=options.ascent_steps,
                                      step_size=0.25).points
           for obj, start, s in ((obj_gf, start_gf, seeds_a[0]), (obj_fg, start_fg, seeds_a[1]))]
    return np.concatenate(out)


@dataclass(frozen=True, eq=False)
class Coupling:
    """Everything measured for Lemmas 6.6, 6.5 and Theorem 5.1 at width m (see :func:`measure`).

    ``sets`` maps 'uniform', 'net' (d <= 4) and 'ascent' to their points and sweeps; ``cover``
    is the net's covering radius; ``err_sweep`` and ``err_fstar`` are the a-priori float error
    bounds of the sweep and of f*; ``log10_m_thm51_plain`` is Theorem 5.1's width with
    ε2 = ε/(9n) (:func:`plain_width`).
    """

    n: int
    d: int
    m: int
    eps: Fraction
    options: Options
    lemma66: Lemma66
    pseudo: PseudoNetwork
    widths: ChainWidths
    sets: dict[str, PointSet]
    cover: float | None
    err_sweep: float
    err_fstar: float
    log10_m_thm51_plain: float
    timings: dict[str, float] = field(default_factory=dict)
    sup_gf: SupCover | None = None
    sup_fg: SupCover | None = None
    sup_note: str = ""


def plain_width(l66: Lemma66, n: int, d: int, eps: Fraction, options: Options, widths: ChainWidths) -> float:
    """log10 of Theorem 5.1's width if Lemma 6.6 were used at ε2 = ε/(9n), ignoring its hypothesis
    ε2 < 1/C(q) (math-spec §11's worked example does this: 10^1179 at the headline)."""
    plain = eps / (9 * n)
    if plain > l66.eps2:
        feat_plain = build_features(l66.features.alpha, plain)  # reuses the P_i already computed
        return chain_widths(n, d, float(eps), float(feat_plain.log2_C_h), C51=options.C51,
                            delta=options.delta_fail).log10_m_thm51
    return widths.log10_m_thm51


def _inputs(points, labels, eps):
    X = np.ascontiguousarray(points, dtype=np.float64)
    y = np.ascontiguousarray(labels, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise InputError("points must be (n, d) and labels (n,)", "pass one label per point")
    eps = Fraction(eps)
    if not 0 < eps:
        raise InputError(f"ε must be positive, got {eps}", "pass --eps with a positive number")
    if np.any(np.abs(y) > 1):
        raise InputError("labels must satisfy |y_i| <= 1", "rescale the labels into [-1, 1]")
    return X, y, eps


def measure(points, labels, eps, step: StepLike, *, m: int | None = None, seed: int = 0,
            options: Options = Options()) -> Coupling:
    """Lemma 6.6, Lemma 6.5 and Theorem 5.1 at width m (default :func:`default_width`): h, W*,
    sweeps of f_{W*}, g_{W*}, f* at uniform, net and ascended points (design.md §2)."""
    X, y, eps = _inputs(points, labels, eps)
    n, d = X.shape
    alpha = tuple(Fraction(c) for c in step.coefficients)
    D = len(alpha) - 1
    m = int(default_width(n, D, d) if m is None else m)
    options = resolve(options, m)
    l66 = lemma66(alpha, eps, n, options)
    timings = {"features": l66.seconds_features, "quadrature": l66.seconds_quadrature}
    t0 = time.perf_counter()
    pseudo = w_star(initialise(m, d, seed), X, y, l66.features)
    timings["w_star"] = time.perf_counter() - t0
    widths = chain_widths(n, d, float(eps), float(l66.features.log2_C_h), C51=options.C51, delta=options.delta_fail)
    t0 = time.perf_counter()
    wnet = pseudo.network
    P = pack(wnet)
    s_uni, _s_net, s_asc = seeds.seed_sequence(seed, "lemma65-points").spawn(3)
    sets = {"uniform": _evaluate(P, sphere.sample_uniform(np.random.default_rng(s_uni), options.uniform_points, d),
                                 X, y, step, pseudo.radius)}
    cover = None
    if d <= 4:
        Xn, cover = net(d, options.net_points)
        sets["net"] = _evaluate(P, Xn, X, y, step, pseudo.radius)
    timings["sweep"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sets["ascent"] = _evaluate(P, ascended_points(wnet, X, y, step, sets, options, s_asc), X, y, step, pseudo.radius)
    timings["ascent"] = time.perf_counter() - t0
    err_fstar = _fstar_error(step, y, d, D)
    t0 = time.perf_counter()
    sup_gf, sup_fg, note = sound_sups(wnet, X, y, alpha, eps, sets, options)
    timings["sup_cover"] = time.perf_counter() - t0
    return Coupling(n=n, d=d, m=m, eps=eps, options=options, lemma66=l66, pseudo=pseudo, widths=widths, sets=sets,
                    cover=cover, err_sweep=sweep.sweep_error_bound(P), err_fstar=err_fstar,
                    log10_m_thm51_plain=plain_width(l66, n, d, eps, options, widths), timings=timings,
                    sup_gf=sup_gf, sup_fg=sup_fg, sup_note=note)


#: the widest network for which the sound sup-norm covers are built: the verifier re-derives
#: every box in Python integers (about m·depth neuron evaluations per cover, math-spec §13)
SUP_MAX_WIDTH = 2**18


def sound_sups(net: TwoLayerNet, X, y, alpha, eps: Fraction, sets: dict[str, PointSet], options: Options):
    """The sound covers of sup_X |g_{W*} − f*| (Lemma 6.5) and sup_X |f_{W*} − g_{W*}| (Theorem 5.1),
    started from the sampled maxima (their lower ends), or (None, None, why not)."""
    d, m = net.d, net.m
    if options.sup_boxes <= 0:
        return None, None, "no sound cover: disabled (Options.sup_boxes = 0); the estimate stays"
    if not 3 <= d <= MAX_SUP_DIM:
        return None, None, f"no sound cover: implemented for 3 <= d <= {MAX_SUP_DIM} (d = {d}); the estimate stays"
    if m > SUP_MAX_WIDTH:
        return None, None, f"no sound cover: m = {m} is above {SUP_MAX_WIDTH}, the verifier's budget; the estimate stays"
    low_gf = max(float(np.max(np.abs(s.sweep.g - s.fstar))) for s in sets.values())
    low_fg = max(float(np.max(np.abs(s.sweep.f - s.sweep.g))) for s in sets.values())
    claim = float(eps) / 3
    gf = sup_cover("g-fstar", net, X, y, alpha, lower=low_gf, ratio=options.sup_ratio, max_boxes=options.sup_boxes,
                   claim=claim)
    fg = sup_cover("f-g", net, X, y, alpha, lower=low_fg, ratio=options.sup_ratio, max_boxes=options.sup_boxes,
                   claim=claim)
    return gf, fg, ""
