"""Certified nearest neighbours, δ and the points to drop: Definition 3.4, Figure 1, footnote 7.

A training set is γ-separable w.r.t. a ρ-bounded adversary when ‖x_i − x_j‖ ≥ δ for all
i ≠ j and γ ≤ δ(δ − 2ρ) (Definition 3.4). Everything here is about the *stored* binary64
points, read as exact dyadic rationals:

* ``delta_sq`` values are exact (``fractions.Fraction``): every reported squared distance
  is recomputed in integer arithmetic from the float bits.
* Floats only *locate* the pairs worth recomputing. Points are first scaled by an exact
  power of two 2^(−e) so that max|x| < 1 (no overflow). Per block of rows one Gram
  matrix goes through BLAS, D̂_ij = fl(fl(n̂_j − 2Ĝ_ij) + n̂_i), with the rigorous bound

      |D̂_ij − ‖x_i − x_j‖²| ≤ err_i := (2d + 16)·u·(1 + 2⁻¹⁰)·(n̂_i + max_j n̂_j) + (4d + 8)·2⁻¹⁰²¹

  (u = 2⁻⁵³; err_i is itself rounded upwards). Why it holds: any summation order of a
  length-d dot product (BLAS blocking, FMA or not) errs by at most γ_d·Σ|a_k b_k| ≤
  γ_d·√(n_i n_j) ≤ γ_d(n_i + n_j)/2, and n̂_i by γ_d·n_i; the two additions add ≤ 4u
  (n_i + n_j)(1 + O(u)); n versus n̂ and the rounding of err_i are absorbed by 1 + 2⁻¹⁰
  (d ≤ 2²⁰); the absolute term covers underflow of products even with flush-to-zero, and
  coordinates pushed into the subnormal range by the scaling. Every comparison against
  a bound moves the bound one ulp outwards (``nextafter``), which covers the rounding of
  the single operation that formed it.
* A pair is re-checked exactly whenever its lower bound D̂ − err does not exceed the
  smallest upper bound D̂ + err of its competitors, so no pair that could be the minimum
  is skipped. Near-ties are thus decided exactly, never by float ranking.

No n×n×d temporary is formed; the Gram work is done in row blocks of ≤ 2²⁰ entries.

The too-close pairs of a target γ and the fewest points to drop (a minimum vertex cover of
that graph) implement the paper's footnote 7 ("the few too-close points can be excluded").
"""

from __future__ import annotations

import contextlib
import heapq
import math
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational

import numpy as np

from advcert.errors import InputError
from advcert.kernels.threads import blas_single_thread
from advcert.rational import parse_number, sqrt_bounds, to_str

_U = 2.0**-53
_BLOCK_ENTRIES = 1 << 18  # entries per (rows × n) block: 2 MiB, cache-friendly
_SQRT_BITS = 96


@dataclass(frozen=True)
class NearestPair:
    """Exact minimum squared distance of a point set and one pair attaining it (Def. 3.4).

    ``pair`` is the lexicographically smallest (i, j), i < j, attaining the minimum.
    """

    delta_sq: Fraction
    pair: tuple[int, int]


@dataclass(frozen=True)
class Enclosure:
    """A real number known to lie in [lo, hi] (exact rational ends)."""

    lo: Fraction
    hi: Fraction

    def to_json(self) -> dict:
        return {"lo": to_str(self.lo), "hi": to_str(self.hi)}


@dataclass(frozen=True, eq=False)
class NearestNeighbours:
    """Per-point nearest-neighbour distances δ_i² (Definition 3.4, the paper's Figure 1).

    ``delta_sq[i]`` is the exact min_{j≠i} ‖x_i − x_j‖² and ``neighbour[i]`` the smallest
    j attaining it. ``exact_checks`` counts the pairs recomputed exactly.
    """

    delta_sq: tuple[Fraction, ...]
    neighbour: tuple[int, ...]
    exact_checks: int

    def nearest_pair(self) -> NearestPair:
        """The global minimum δ² = min_i δ_i² and its smallest pair (Definition 3.4)."""
        best = min(self.delta_sq)
        pairs = [
            (min(i, j), max(i, j))
            for i, (v, j) in enumerate(zip(self.delta_sq, self.neighbour))
            if v == best
        ]
        return NearestPair(best, min(pairs))


# --------------------------------------------------------------------------- exact part


def exact_sq_dist(x: np.ndarray, i: int, j: int) -> Fraction:
    """‖x_i − x_j‖² exactly, from the binary64 values (slow reference; Definition 3.4)."""
    s = Fraction(0)
    for a, b in zip(x[i].tolist(), x[j].tolist()):
        diff = Fraction(a) - Fraction(b)
        s += diff * diff
    return s


class _IntPoints:
    """x = A·2^E exactly, rows of A as Python ints (converted on first use).

    E is the exponent of the least significant bit of the smallest non-zero |x|, so every
    coordinate is an integer multiple of 2^E.
    """

    def __init__(self, x: np.ndarray):
        self._x = x
        ax = np.abs(x)
        tiny = float(np.min(ax, where=ax > 0, initial=np.inf))
        # frexp(t) = (m, k) with t = m·2^k, 1/2 <= m < 1: the last of 53 bits is 2^(k−53)
        self.E = math.frexp(tiny)[1] - 53 if math.isfinite(tiny) else 0
        self._rows: dict[int, np.ndarray] = {}

    def row(self, i: int) -> np.ndarray:
        r = self._rows.get(i)
        if r is None:
            mant, expo = np.frexp(self._x[i])
            M = np.ldexp(mant, 53).astype(np.int64)  # exact: mant has <= 53 bits
            sh = np.where(M != 0, expo.astype(np.int64) - 53 - self.E, 0)
            if sh.max(initial=0) <= 9:  # |M| < 2^53: stays below 2^62 in int64
                r = (M << sh).astype(object)
            else:
                r = np.left_shift(M.astype(object), sh.astype(object))
            self._rows[i] = r
        return r

    def sq_dist_num(self, i: int, j: int) -> int:
        """‖x_i − x_j‖² · 4^(−E), an exact integer."""
        diff = self.row(i) - self.row(j)
        return int(diff.dot(diff))

    def to_fraction(self, num: int) -> Fraction:
        e2 = 2 * self.E
        return Fraction(num << e2) if e2 >= 0 else Fraction(num, 1 << -e2)


# --------------------------------------------------------------------------- float locator


def _up(v):
    """One ulp up: covers the round-to-nearest error of the operation that produced v."""
    return np.nextafter(v, np.inf)


def _down(v):
    return np.nextafter(v, -np.inf)


@dataclass(frozen=True, eq=False)
class _Locator:
    """Float Gram-matrix bounds of ‖x_i − x_j‖² in units of 4^(−e) (module docstring).

    ``blocks()`` yields (r0, r1, Dhat, err): Dhat the (r1 − r0) × n block of D̂ with +inf
    on the diagonal, err[i] ≥ |D̂_ij − D_ij| for every j of row i.
    """

    xs: np.ndarray
    nh: np.ndarray
    err: np.ndarray
    e: int

    @staticmethod
    def of(x: np.ndarray) -> "_Locator":
        m = float(np.max(np.abs(x)))
        e = math.frexp(m)[1] if m else 0
        xs = np.ldexp(x, -e)
        d = x.shape[1]
        nh = np.einsum("ij,ij->i", xs, xs)
        c = (2 * d + 16) * _U * (1.0 + 2.0**-10)
        tiny = (4 * d + 8) * 2.0**-1022
        err = _up(_up(c * _up(nh + nh.max())) + 2.0 * tiny)
        return _Locator(xs, nh, err, e)

    def blocks(self):
        n, d = self.xs.shape
        # wider blocks for large d, where the Gram product (not memory) dominates
        entries = min(_BLOCK_ENTRIES * max(1, d // 64), 1 << 22)
        b = max(1, min(n, entries // max(n, 1)))
        buf = np.empty((b, n))
        # −2 is a power of two: Σ(−2a_k)b_k obeys the same γ_d·Σ|2a_k b_k| bound as −2Ĝ
        xt = np.ascontiguousarray(-2.0 * self.xs.T) if b < n else None
        # For small d the blocks are memory-bound and a second BLAS thread only contends
        # (measured 3-10x slower on a busy 2-core machine); large d is flop-bound.
        limit = blas_single_thread() if d <= _SINGLE_THREAD_MAX_D else contextlib.nullcontext()
        with limit:
            for r0 in range(0, n, b):
                r1 = min(n, r0 + b)
                D = buf[: r1 - r0]
                if xt is None:  # one block: numpy's A @ A.T takes the (faster) syrk path
                    np.matmul(self.xs, self.xs.T, out=D)
                    D *= -2.0
                else:
                    np.matmul(self.xs[r0:r1], xt, out=D)
                D += self.nh[None, :]
                D += self.nh[r0:r1, None]
                rows = np.arange(r1 - r0)
                D[rows, rows + r0] = np.inf
                yield r0, r1, D, self.err[r0:r1]


_SINGLE_THREAD_MAX_D = 256


def check_points(x) -> np.ndarray:
    """x as a contiguous float64 (n, d) array with n >= 2, d >= 1, finite; else InputError."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise InputError(
            f"points must be a 2-D array (n × d), got shape {x.shape}", "pass one point per row"
        )
    if x.dtype.kind not in "biuf":
        raise InputError(f"points must be numeric, got dtype {x.dtype}", "pass a float array")
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        raise InputError(
            f"separation needs at least two points, got {n}", "supply a data set with n >= 2"
        )
    if x.shape[1] < 1:
        raise InputError("points have no coordinates (d = 0)", "pass an n × d array with d >= 1")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        i, k = (int(v) for v in bad[0])
        raise InputError(
            f"point {i} has a non-finite coordinate {x[i, k]!r} in column {k}",
            "remove or repair that row",
        )
    return x


def certified_min_distance(x: np.ndarray) -> NearestPair:
    """Exact δ² = min_{i≠j} ‖x_i − x_j‖² of the rows of x (Definition 3.4).

    A BLAS Gram matrix with the rigorous error bound of the module docstring locates every
    pair that could attain the minimum; those pairs are recomputed exactly in integers.
    """
    x = check_points(x)
    loc = _Locator.of(x)
    U = np.inf  # a rigorous upper bound of δ² (scaled units), decreasing block by block
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for r0, r1, D, err in loc.blocks():
        U = min(U, float(_up(np.min(_up(D.min(axis=1) + err)))))
        # D_ij >= D̂_ij − err_i > U >= δ² unless D̂_ij <= U + err_i
        ii, jj = np.nonzero(D <= _up(U + err)[:, None])
        keep = (ii + r0) < jj
        ii, jj = ii[keep], jj[keep]
        found.append((ii + r0, jj, D[ii, jj] - err[ii]))
    ii = np.concatenate([f[0] for f in found])
    jj = np.concatenate([f[1] for f in found])
    lower = np.concatenate([f[2] for f in found])
    # early blocks used a larger U; keep what the final U still allows (1 ulp of slack)
    sel = _down(lower) <= U
    ip = _IntPoints(x)
    best: tuple[int, int, int] | None = None
    for i, j in sorted(zip(ii[sel].tolist(), jj[sel].tolist())):
        v = ip.sq_dist_num(i, j)
        if best is None or v < best[0]:
            best = (v, i, j)
    if best is None:  # impossible: the pair attaining U is always a candidate
        raise AssertionError("no candidate pair; the float locator is broken")
    return NearestPair(ip.to_fraction(best[0]), (best[1], best[2]))


def certified_nearest_neighbours(x: np.ndarray) -> NearestNeighbours:
    """Exact δ_i² = min_{j≠i} ‖x_i − x_j‖² for every point (Definition 3.4; Figure 1).

    Per row, every j whose lower bound does not exceed the row's smallest upper bound is
    recomputed exactly, so each δ_i² is exact (not a float estimate).
    """
    x = check_points(x)
    n = x.shape[0]
    loc = _Locator.of(x)
    ip = _IntPoints(x)
    cache: dict[tuple[int, int], int] = {}
    best: list[tuple[int, int] | None] = [None] * n
    for r0, r1, D, err in loc.blocks():
        Ui = _up(D.min(axis=1) + err)  # ≥ δ_i²
        ii, jj = np.nonzero(D <= _up(Ui + err)[:, None])
        for a, j in zip((ii + r0).tolist(), jj.tolist()):
            key = (a, j) if a < j else (j, a)
            v = cache.get(key)
            if v is None:
                v = ip.sq_dist_num(a, j)
                cache[key] = v
            cur = best[a]
            if cur is None or (v, j) < cur:
                best[a] = (v, j)
    if any(b is None for b in best):
        raise AssertionError("a row without candidates; the float locator is broken")
    return NearestNeighbours(
        tuple(ip.to_fraction(b[0]) for b in best),  # type: ignore[index]
        tuple(b[1] for b in best),  # type: ignore[index]
        len(cache),
    )


# --------------------------------------------------------------------------- γ and ρ


def _as_fraction(v, name: str) -> Fraction:
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (int, Rational)):
        return Fraction(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise InputError(f"{name} must be finite, got {v!r}", f"pass a finite {name}")
        return Fraction(v)  # the exact binary64 value
    return parse_number(v, name)


def delta_enclosure(delta_sq: Fraction) -> Enclosure:
    """δ = √(δ²) enclosed between rationals 2⁻⁹⁶-close (Definition 3.4)."""
    lo, hi = sqrt_bounds(Fraction(delta_sq), _SQRT_BITS)
    return Enclosure(lo, hi)


def gamma_max(delta_sq: Fraction, rho) -> Enclosure:
    """Enclosure of the largest γ of Definition 3.4 at radius ρ: γ_max = δ(δ − 2ρ).

    Every γ ≤ ``lo`` is certified; ``hi`` ≤ 0 means the set is not separable at ρ
    (δ ≤ 2ρ up to the 2⁻⁹⁶ enclosure width).
    """
    rho = _as_fraction(rho, "rho")
    d = delta_enclosure(delta_sq)
    return Enclosure(delta_sq - 2 * rho * d.hi, delta_sq - 2 * rho * d.lo)


def delta_needed(rho, gamma) -> Enclosure:
    """δ* = ρ + √(ρ² + γ), the least δ with δ(δ − 2ρ) ≥ γ (Definition 3.4)."""
    rho = _as_fraction(rho, "rho")
    gamma = _as_fraction(gamma, "gamma")
    lo, hi = sqrt_bounds(rho * rho + gamma, _SQRT_BITS)
    return Enclosure(rho + lo, rho + hi)


def pair_supports(dist_sq: Fraction, rho, gamma) -> bool:
    """Exact test of γ ≤ d(d − 2ρ) for d = √dist_sq (Definition 3.4), no square root taken.

    γ ≤ D − 2ρ√D  ⇔  D − γ ≥ 0 and (D − γ)² ≥ 4ρ²D, for ρ ≥ 0.
    """
    rho = _as_fraction(rho, "rho")
    gamma = _as_fraction(gamma, "gamma")
    D = Fraction(dist_sq)
    t = D - gamma
    return t >= 0 and t * t >= 4 * rho * rho * D


def check_rho_gamma(rho, gamma) -> tuple[Fraction, Fraction | None]:
    """ρ >= 0 and γ > 0 (or None) of Definition 3.4 as Fractions; else InputError."""
    rho = _as_fraction(rho, "rho")
    if rho < 0:
        raise InputError(f"rho must be >= 0, got {to_str(rho)}", "pass a non-negative radius")
    if gamma is None:
        return rho, None
    gamma = _as_fraction(gamma, "gamma")
    if gamma <= 0:
        raise InputError(f"gamma must be > 0, got {to_str(gamma)}", "pass a positive gamma")
    return rho, gamma


def _float_outward(q: Fraction, direction: float) -> float:
    f = float(q)
    if direction < 0 and Fraction(f) > q:
        f = math.nextafter(f, -math.inf)
    if direction > 0 and Fraction(f) < q:
        f = math.nextafter(f, math.inf)
    return f


def close_pairs(points: np.ndarray, rho, gamma) -> np.ndarray:
    """All pairs i < j with γ > ‖x_i − x_j‖(‖x_i − x_j‖ − 2ρ), decided exactly (Def. 3.4).

    Pairs the float bounds place clearly on one side of δ*² are classified by them; the
    others are decided by :func:`pair_supports` on the exact squared distance. Returns an
    (m, 2) int64 array sorted lexicographically.
    """
    x = check_points(points)
    rho, gamma = check_rho_gamma(rho, gamma)
    if gamma is None:
        raise InputError("close_pairs needs a target gamma", "pass gamma > 0")
    loc = _Locator.of(x)
    dn = delta_needed(rho, gamma)
    scale = Fraction(2) ** (-2 * loc.e)
    T_lo = _float_outward(dn.lo * dn.lo * scale, -1)
    T_hi = _float_outward(dn.hi * dn.hi * scale, +1)
    ip: _IntPoints | None = None
    out_i: list[np.ndarray] = [np.zeros(0, np.int64)]
    out_j: list[np.ndarray] = [np.zeros(0, np.int64)]
    for r0, r1, D, err in loc.blocks():
        # sure: D_ij <= D̂_ij + err_i < T_lo <= δ*²;  fine: D_ij >= D̂_ij − err_i >= T_hi
        sure_below = _down(T_lo - err)[:, None]
        fine_from = _up(T_hi + err)[:, None]
        ii, jj = np.nonzero(D < fine_from)
        keep = (ii + r0) < jj
        ii, jj = ii[keep], jj[keep]
        sure = D[ii, jj] < sure_below[ii, 0]
        out_i.append(ii[sure] + r0)
        out_j.append(jj[sure])
        ui, uj = ii[~sure] + r0, jj[~sure]
        if ui.size:
            if ip is None:
                ip = _IntPoints(x)
            bad = [
                k
                for k, (a, b) in enumerate(zip(ui.tolist(), uj.tolist()))
                if not pair_supports(ip.to_fraction(ip.sq_dist_num(a, b)), rho, gamma)
            ]
            out_i.append(ui[bad])
            out_j.append(uj[bad])
    pairs = np.stack([np.concatenate(out_i), np.concatenate(out_j)], axis=1).astype(np.int64)
    if pairs.size:
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    return pairs.reshape(-1, 2)


# --------------------------------------------------------------------------- vertex cover


@dataclass(frozen=True)
class VertexCover:
    """A vertex cover of a graph, whether it is proved minimum, and a proved lower bound."""

    cover: tuple[int, ...]
    exact: bool
    lower_bound: int


class _Budget(Exception):
    pass


def _greedy_cover(adj: list[int]) -> int:
    """Max-degree greedy (ties: smallest index), then drop redundant vertices. Bitset out."""
    k = len(adj)
    alive = (1 << k) - 1
    deg = [a.bit_count() for a in adj]
    heap = [(-deg[v], v) for v in range(k) if deg[v]]
    heapq.heapify(heap)
    order: list[int] = []
    cover = 0
    while heap:
        nd, v = heapq.heappop(heap)
        if not (alive >> v) & 1 or -nd != deg[v]:
            continue
        if deg[v] == 0:
            continue
        cover |= 1 << v
        order.append(v)
        alive &= ~(1 << v)
        m = adj[v] & alive
        while m:
            low = m & -m
            u = low.bit_length() - 1
            m ^= low
            deg[u] -= 1
            if deg[u]:
                heapq.heappush(heap, (-deg[u], u))
    for v in reversed(order):  # a vertex whose neighbours are all covered is redundant
        if adj[v] & ~cover == 0:
            cover &= ~(1 << v)
    return cover


def _matching_bound(adj: list[int], alive: int) -> int:
    """Size of a greedy maximal matching among ``alive`` vertices: a vertex-cover lower bound."""
    free = alive
    size = 0
    m = alive
    while m:
        low = m & -m
        v = low.bit_length() - 1
        m ^= low
        if not (free >> v) & 1:
            continue
        nb = adj[v] & free & ~low
        if nb:
            u = (nb & -nb).bit_length() - 1
            free &= ~(low | (1 << u))
            size += 1
    return size


def _exact_cover(adj: list[int], start: int, floor: int, node_limit: int) -> tuple[int, bool, int]:
    """Branch and bound for a minimum vertex cover of one component.

    Degree-0/1 reductions, a maximal-matching bound at every node, and a stop as soon as
    the incumbent reaches ``floor`` (a proved lower bound). Returns (cover bitset, proved,
    nodes used); unproved when ``node_limit`` nodes did not finish the search.
    """
    k = len(adj)
    best = [start, start.bit_count()]
    nodes = [0]

    class _Done(Exception):
        pass

    def rec(alive: int, chosen: int, cnt: int) -> None:
        nodes[0] += 1
        if nodes[0] > node_limit:
            raise _Budget
        changed = True
        while changed:
            changed = False
            m = alive
            while m:
                low = m & -m
                v = low.bit_length() - 1
                m ^= low
                if not (alive >> v) & 1:
                    continue
                nb = adj[v] & alive
                if nb == 0:
                    alive &= ~low
                elif nb & (nb - 1) == 0:  # degree 1: its neighbour is in some minimum cover
                    alive &= ~(low | nb)
                    chosen |= nb
                    cnt += 1
                    changed = True
        if cnt >= best[1]:
            return
        if alive == 0:
            best[0], best[1] = chosen, cnt
            if cnt <= floor:
                raise _Done
            return
        if cnt + _matching_bound(adj, alive) >= best[1]:
            return
        v, dv = -1, -1
        m = alive
        while m:
            low = m & -m
            u = low.bit_length() - 1
            m ^= low
            du = (adj[u] & alive).bit_count()
            if du > dv:
                v, dv = u, du
        nb = adj[v] & alive
        rec(alive & ~(1 << v), chosen | (1 << v), cnt + 1)
        rec(alive & ~nb & ~(1 << v), chosen | nb, cnt + nb.bit_count())

    try:
        rec((1 << k) - 1, 0, 0)
    except _Done:
        return best[0], True, nodes[0]
    except _Budget:
        return best[0], False, nodes[0]
    return best[0], True, nodes[0]


def min_vertex_cover(
    n: int, edges: np.ndarray, *, node_limit: int = 20_000, max_component: int = 400
) -> VertexCover:
    """A smallest set of vertices touching every edge (footnote 7: the points to drop).

    Per connected component: a greedy cover (max degree first, redundant vertices
    removed) and a lower bound, the larger of a maximal matching and ⌈LP⌉, the LP value
    being half a maximum matching of the bipartite double cover (the LP relaxation of
    vertex cover). Equal bounds prove the greedy cover minimum; otherwise components of at
    most ``max_component`` vertices get a branch and bound, all of them sharing
    ``node_limit`` nodes. ``exact`` is True only when every component is proved minimum;
    otherwise the cover may not be the smallest and ``lower_bound`` says how far off it
    can be. Deterministic: components are processed by their smallest vertex.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching

    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    edges = edges[edges[:, 0] != edges[:, 1]]
    if edges.size == 0:
        return VertexCover((), True, 0)
    r = np.concatenate([edges[:, 0], edges[:, 1]])
    c = np.concatenate([edges[:, 1], edges[:, 0]])
    g = csr_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n, n))
    g.sum_duplicates()
    g.sort_indices()
    _, comp = connected_components(g, directed=False)
    # LP relaxation = half a maximum matching of the double cover, additive over components
    match = maximum_bipartite_matching(g, perm_type="column")
    lp_twice = np.bincount(comp[match >= 0], minlength=comp.max() + 1)
    deg = np.diff(g.indptr)
    verts = np.flatnonzero(deg > 0)
    verts = verts[np.argsort(comp[verts], kind="stable")]
    cover: list[int] = []
    exact = True
    lower = 0
    budget = node_limit
    for group in np.split(verts, np.flatnonzero(np.diff(comp[verts])) + 1):
        local = {int(v): t for t, v in enumerate(group.tolist())}
        adj = []
        for v in group.tolist():
            m = 0
            for u in g.indices[g.indptr[v] : g.indptr[v + 1]].tolist():
                m |= 1 << local[u]
            adj.append(m)
        greedy = _greedy_cover(adj)
        lb = max(_matching_bound(adj, (1 << len(adj)) - 1), -(-int(lp_twice[comp[group[0]]]) // 2))
        if greedy.bit_count() == lb:
            best, proved = greedy, True
        elif len(adj) <= max_component and budget > 0:
            best, proved, used = _exact_cover(adj, greedy, lb, budget)
            budget -= used
        else:
            best, proved = greedy, False
        exact &= proved
        lower += best.bit_count() if proved else lb
        m = best
        while m:
            low = m & -m
            cover.append(int(group[low.bit_length() - 1]))
            m ^= low
    return VertexCover(tuple(sorted(cover)), exact, lower)


@dataclass(frozen=True)
class DropResult:
    """Points to drop so the rest is γ-separable at ρ (Definition 3.4; footnote 7).

    ``exact`` is True when ``dropped_indices`` is proved to be a smallest such set
    (minimum vertex cover of the too-close pairs); otherwise it is a greedy cover that may
    not be the smallest, and no set smaller than ``lower_bound`` exists.
    """

    keep_indices: tuple[int, ...]
    dropped_indices: tuple[int, ...]
    exact: bool
    lower_bound: int = 0
    close_pairs: int = 0
    delta_needed: Enclosure | None = None
    method: str = ""


def drop_close(points: np.ndarray, rho, gamma, *, node_limit: int = 20_000) -> DropResult:
    """Smallest set of points whose removal leaves a γ-separable set at ρ (Def. 3.4, fn. 7).

    A pair (i, j) is too close when γ > d_ij(d_ij − 2ρ), decided exactly; the points to
    drop form a minimum vertex cover of that graph (exact when proved, else greedy; see
    ``DropResult.exact``). The kept set is re-checked exactly before returning.
    """
    x = check_points(points)
    rho, gamma = check_rho_gamma(rho, gamma)
    if gamma is None:
        raise InputError("drop_close needs a target gamma", "pass gamma > 0")
    n = x.shape[0]
    pairs = close_pairs(x, rho, gamma)
    vc = min_vertex_cover(n, pairs, node_limit=node_limit)
    dropped = set(vc.cover)
    keep = tuple(i for i in range(n) if i not in dropped)
    if len(keep) >= 2:
        kept = certified_min_distance(x[list(keep)])
        if not pair_supports(kept.delta_sq, rho, gamma):
            raise AssertionError("kept points are not gamma-separable; vertex cover is broken")
    method = (
        "minimum vertex cover of the too-close pairs, proved by branch and bound"
        if vc.exact
        else "greedy vertex cover of the too-close pairs (may not be the smallest)"
    )
    return DropResult(
        keep, tuple(vc.cover), vc.exact, vc.lower_bound, int(len(pairs)),
        delta_needed(rho, gamma), method,
    )

