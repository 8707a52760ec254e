"""Definition 3.4: a data set on X and its γ-separability at ρ; synthetic instances.

An :class:`Instance` holds points on X = {‖x‖ = 1, x_d = 1/2}, labels in [-1, 1], and
the user's exact parameters (ρ, γ, ε). :func:`certify_separation` decides
γ <= δ(δ - 2ρ) *exactly* for the stored binary64 points (taken as exact dyadic
rationals), and records how far they sit from X (τ_i = ‖x_i‖² - 1), which the later
lemmas account for instead of ignoring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from advcert import sphere
from advcert.data.loaders import load, sample_indices
from advcert.data.neighbours import certified_min_distance, drop_close
from advcert.errors import InputError
from advcert.rational import round_down, sqrt_bounds
from advcert.seeds import stream


@dataclass(frozen=True, eq=False)
class Instance:
    """A data set S = {(x_i, y_i)} on X with the user's ρ, γ, ε (Definition 3.4)."""

    points: np.ndarray  # (n, d) float64, rows on X up to rounding
    labels: np.ndarray  # (n,) float64 in [-1, 1]
    rho: Fraction
    gamma: Fraction
    eps: Fraction
    seed: int
    source: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.points.shape[0])

    @property
    def d(self) -> int:
        return int(self.points.shape[1])


@dataclass(frozen=True)
class Separation:
    """Exact separability facts of an instance (Definition 3.4)."""

    delta_sq: Fraction  # exact min_{i≠j} ‖x_i - x_j‖²
    pair: tuple[int, int]
    delta_lo: Fraction  # delta_lo <= δ <= delta_hi
    delta_hi: Fraction
    gamma_max_lo: Fraction  # gamma_max_lo <= δ(δ - 2ρ) <= gamma_max_hi
    gamma_max_hi: Fraction
    holds: bool  # γ <= δ(δ - 2ρ), decided exactly
    tau_plus: Fraction  # max(0, max_i ‖x_i‖² - 1)
    tau_minus: Fraction  # max(0, -min_i ‖x_i‖² + 1)
    last_coordinate_exact: bool  # every x_{i,d} == 1/2 exactly


def gamma_supported(delta_sq: Fraction, rho: Fraction, gamma: Fraction) -> bool:
    """γ <= δ(δ - 2ρ) with δ = sqrt(delta_sq), decided in exact rational arithmetic.

    γ <= δ² - 2ρδ  ⇔  2ρδ <= δ² - γ  ⇔  δ² - γ >= 0 and 4ρ²δ² <= (δ² - γ)².
    """
    slack = delta_sq - gamma
    return slack >= 0 and 4 * rho * rho * delta_sq <= slack * slack


def certify_separation(points: np.ndarray, rho: Fraction, gamma: Fraction) -> Separation:
    """Decide Definition 3.4 for the stored points, exactly."""
    near = certified_min_distance(points)
    lo, hi = sqrt_bounds(near.delta_sq, bits=96)
    taus = []
    for row in np.asarray(points, dtype=np.float64).tolist():
        taus.append(sum(Fraction(v) * Fraction(v) for v in row) - 1)
    rho = Fraction(rho)
    return Separation(
        delta_sq=near.delta_sq,
        pair=near.pair,
        delta_lo=lo,
        delta_hi=hi,
        gamma_max_lo=lo * (lo - 2 * rho) if lo >= 2 * rho else lo * lo - 2 * rho * hi,
        gamma_max_hi=hi * hi - 2 * rho * lo,
        holds=gamma_supported(near.delta_sq, rho, Fraction(gamma)),
        tau_plus=max(Fraction(0), max(taus)),
        tau_minus=max(Fraction(0), -min(taus)),
        last_coordinate_exact=bool(np.all(np.asarray(points)[:, -1] == 0.5)),
    )


def required_delta(rho: float, gamma: float) -> float:
    """The δ with δ(δ - 2ρ) = γ: ρ + sqrt(ρ² + γ)."""
    return rho + math.sqrt(rho * rho + gamma)


def max_min_distance_bound(n: int, d: int) -> float:
    """An upper bound on the min pairwise distance of n points of X ⊂ R^d.

    In v-coordinates (unit sphere of R^{d-1}), Σ_{i,j} ‖v_i - v_j‖² <= 2n², so the min
    squared chord is <= 2n/(n-1) (the simplex bound, attained when n <= d); for n > d,
    Rankin's bound gives <= 2. On X distances are sqrt(3)/2 times chords.
    """
    if d == 2:
        return math.sqrt(3.0) if n <= 2 else 0.0
    chord_sq = 2.0 * n / (n - 1) if n <= d else 2.0
    return math.sqrt(3.0) / 2.0 * math.sqrt(chord_sq)


def _min_dist(x: np.ndarray) -> float:
    g = x @ x.T
    sq = np.diag(g)[:, None] + np.diag(g)[None, :] - 2 * g
    np.fill_diagonal(sq, np.inf)
    return float(np.sqrt(max(sq.min(), 0.0)))


def _spread(v: np.ndarray, rng: np.random.Generator, iters: int = 600) -> np.ndarray:
    """Push points apart on the sphere (gradient steps on a soft minimum of distances)."""
    v = v.copy()
    for it in range(iters):
        diff = v[:, None, :] - v[None, :, :]
        sq = np.sum(diff * diff, axis=2)
        np.fill_diagonal(sq, np.inf)
        m = sq.min()
        w = np.exp(-(sq - m) * 40.0)
        grad = np.sum(w[:, :, None] * diff, axis=1)
        v += 0.02 * grad / (np.abs(grad).max() + 1e-300)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def synthetic(n: int, d: int, rho: Fraction, gamma: Fraction, eps: Fraction, seed: int) -> Instance:
    """A synthetic γ-separable instance on X (Definition 3.4), by rejection and repulsion.

    Points: uniform on X, accepted one by one if they keep the required distance; if
    rejection stalls, the best configuration is spread by repulsion. Labels: uniform in
    [-1, 1]. Raises InputError when no such set exists, naming the largest feasible γ.
    """
    if d < 2:
        raise InputError(f"--d must be at least 2, got {d}", "X lives in R^d with x_d = 1/2, so use --d 2 or more")
    if n < 2:
        raise InputError(f"--n must be at least 2, got {n}", "separability is about pairs of points; use --n 2 or more")
    if d == 2 and n > 2:
        raise InputError(f"X in d=2 has only two points, (±sqrt(3)/2, 1/2), so --n {n} points cannot be distinct",
                         "use --d 3 or more, or --n 2")
    rho_f, gamma_f = float(rho), float(gamma)
    need = required_delta(rho_f, gamma_f)
    best_possible = max_min_distance_bound(n, d)
    if best_possible <= 2 * rho_f:
        raise InputError(
            f"--rho {float(rho):g} is too large for {n} points in d={d}: separability needs δ > 2ρ = {2 * rho_f:.4g}, "
            f"but no {n} points of X are more than {best_possible:.4g} apart",
            f"use --rho below {best_possible / 2:.4g}",
        )
    if need > best_possible:
        g_max = best_possible * (best_possible - 2 * rho_f)
        raise InputError(
            f"--gamma {float(gamma):g} is impossible for {n} points in d={d} at ρ={rho_f:g}: it needs δ >= {need:.4g}, "
            f"but no {n} points of X are more than {best_possible:.4g} apart, so the largest feasible γ is <= {g_max:.4g}",
            f"lower --gamma, lower --n or raise --d",
        )
    rng = stream(seed, "instance")
    target = need * (1 + 1e-9)
    best_v, best_min = None, -1.0
    for attempt in range(12):
        accepted = np.empty((0, d - 1))
        for _ in range(n):
            cand = rng.standard_normal((256, d - 1))
            cand /= np.linalg.norm(cand, axis=1, keepdims=True)
            if accepted.shape[0]:
                dist = sphere.HALF_SQRT3 * np.linalg.norm(cand[:, None, :] - accepted[None, :, :], axis=2)
                ok = np.flatnonzero(dist.min(axis=1) >= target)
            else:
                ok = np.array([0])
            if ok.size == 0:
                break
            accepted = np.vstack([accepted, cand[ok[0]]])
        if accepted.shape[0] == n:
            best_v = accepted
            break
        fill = rng.standard_normal((n - accepted.shape[0], d - 1))
        v = np.vstack([accepted, fill])
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        v = _spread(v, rng)
        md = _min_dist(sphere.lift(v))
        if md > best_min:
            best_v, best_min = v, md
        if md >= target:
            break
    x = sphere.lift(best_v)
    labels = rng_labels(seed, n)
    inst = Instance(points=x, labels=labels, rho=Fraction(rho), gamma=Fraction(gamma), eps=Fraction(eps), seed=seed,
                    source={"kind": "synthetic", "generator": "rejection+repulsion", "n": n, "d": d})
    sep = certify_separation(x, inst.rho, inst.gamma)
    if not sep.holds:
        got = float(sep.gamma_max_lo)
        raise InputError(
            f"could not generate {n} points in d={d} that are {float(gamma):g}-separable at ρ={rho_f:g} "
            f"(best found γ = {got:.4g}; the simplex/Rankin bound allows at most {best_possible * (best_possible - 2 * rho_f):.4g})",
            "lower --gamma, lower --n or raise --d",
        )
    return inst


def rng_labels(seed: int, n: int) -> np.ndarray:
    """Labels uniform in [-1, 1], rounded to 1/1024 so that they read well and stay exact."""
    y = stream(seed, "labels").uniform(-1.0, 1.0, size=n)
    return np.round(y * 1024.0) / 1024.0


def instance_from_data(spec, *, rho: Fraction, gamma: Fraction | None, eps: Fraction, seed: int) -> Instance:
    """The instance of a real data set (docs/data.md): load and lift onto X, take the ``--sample``,
    choose γ (the largest the points support at ρ, 3 digits, when None), drop close points if asked
    (Definition 3.4), and record every step in ``source``.

    ``spec`` is an :class:`advcert.config.DataSpec`.
    """
    ds = load(spec.spec, labels=spec.labels, lift=spec.lift)
    points, labels = ds.points, ds.labels
    source = dict(ds.source)
    source["lift"] = ds.lift.to_json()
    if spec.sample is not None:
        idx = sample_indices(points.shape[0], spec.sample, seed, origin=spec.spec)
        points, labels = points[idx], labels[idx]
        source["sample"] = [int(i) for i in idx]
    if gamma is None:
        sep = certify_separation(points, rho, Fraction(0))
        if sep.gamma_max_lo <= 0:
            raise InputError(f"the data are not separable at ρ={float(rho):g}: δ <= 2ρ",
                             "lower --rho or use --drop-close with --gamma")
        gamma = round_down(sep.gamma_max_lo, 3)
    if spec.drop_close:
        drop = drop_close(points, rho, gamma)
        keep = list(drop.keep_indices)
        source["dropped"] = {"indices": [int(i) for i in drop.dropped_indices], "smallest": bool(drop.exact),
                             "method": drop.method}
        points, labels = points[keep], labels[keep]
    if points.shape[0] < 2:
        raise InputError("fewer than 2 points remain", "lower --gamma or drop fewer points")
    return Instance(points=np.ascontiguousarray(points), labels=np.ascontiguousarray(labels), rho=rho,
                    gamma=gamma, eps=eps, seed=seed, source=source)
