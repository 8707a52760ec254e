"""Sound sup-norms over all of X for Lemma 6.5 (sup_X |g_{W*} − f*|) and Theorem 5.1
(sup_X |f_{W*} − g_{W*}|), by branch and bound over a cover of X (math-spec §13).

X = {((√3/2) p/‖p‖, 1/2) : p on the surface of [−1, 1]^{d−1}}; every face of that cube is cut
into dyadic boxes, and on each box every pre-activation u_r(x) = <W0_r, x> + b_r has a range
from the box's corners and norm bounds. Neurons whose range keeps its sign contribute exactly
(a constant to g_{W*}; a linear function or a constant to f_{W*} − g_{W*}); the others are
bounded by their range; f* = Σ y_i q(<x_i, x>) by q's exact Taylor expansion on the range of
<x_i, x>. Boxes are split best-first on their bound until the largest is within ``ratio`` of
the sampled lower end or the budget of boxes is spent.

The search and the neuron sums run in float64 (numpy); each stored bound adds a proved
rounding margin (:func:`rounding_margin`), f*'s part is exact (python-flint), and the
classification of a neuron as resolved demands a margin far above float64's error, so the
independent verifier (advcert/verify/supnorm.py), which recomputes every box in integers,
finds each stored bound no smaller than its own. d > 5 is refused (the estimate stays).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from flint import fmpq, fmpq_poly

from advcert.errors import InputError
from advcert.measured.network import TwoLayerNet
from advcert.rational import to_str

MAX_SUP_DIM = 5
"""The largest d with a sound sup-norm (the cube-sphere of S^{d−2}; 2^{d−2} children per split)."""
NORM_BITS = 64
"""Extra bits of the norm bounds ν_lo ≤ (2/√3)‖p‖ ≤ ν_hi of a box (the verifier's, docs/certificate.md)."""
KINDS = ("g-fstar", "f-g")
#: classification margin, relative to each neuron's scale: far above float64's ~2^-50 error
_TAU = 2.0 ** -40


@dataclass(frozen=True)
class SupCover:
    """A sound bound of one sup-norm over X (math-spec §13): the boxes [face, level, index,
    bound] tiling the cube-sphere, ``upper`` = their largest bound, ``lower`` = the largest
    value met at sampled points and box centres (an estimate), the boxes explored, whether
    the stopping rule (upper ≤ ratio·lower) was met within the budget, and the time."""

    kind: str
    boxes: tuple
    upper: Fraction
    lower: float
    explored: int
    converged: bool
    margin: float
    seconds: float

    def cover(self) -> dict:
        """The ``details.cover`` of docs/certificate.md ("The sup-norm covers")."""
        return {"scheme": "cube-sphere", "norm_bits": NORM_BITS,
                "boxes": [[f, L, list(idx), to_str(b)] for f, L, idx, b in self.boxes]}


def _norm_bounds(lo: np.ndarray, N: int) -> tuple[float, float, fmpq, fmpq]:
    """ν_lo, ν_hi of (2/√3)‖p‖ on a box (float, and exact as the verifier rounds them)."""
    hi = lo + 2
    a = N * N + sum(0 if l_ < 0 < h_ else min(l_ * l_, h_ * h_) for l_, h_ in zip(lo.tolist(), hi.tolist()))
    b = N * N + sum(max(l_ * l_, h_ * h_) for l_, h_ in zip(lo.tolist(), hi.tolist()))
    g = 4 << (2 * NORM_BITS)
    nlo = math.isqrt(g * a // 3)
    x = -((-g * b) // 3)
    nhi = math.isqrt(x)
    nhi += nhi * nhi < x
    den = (1 << NORM_BITS) * N
    return nlo / den, nhi / den, fmpq(nlo, den), fmpq(nhi, den)


@dataclass(frozen=True, eq=False)
class _Net:
    """The witness in the form the boxes use: w' = W0[:, :d−1], κ = W0_d/2 + b, Δ = <W* − W0, x>
    (constant on X: W* moves along e_d), a, and each neuron's scale for the margins."""

    w: np.ndarray
    kappa: np.ndarray
    delta: np.ndarray
    a: np.ndarray
    scale: np.ndarray


def _prepare(net: TwoLayerNet) -> _Net:
    k = net.d - 1
    if np.any(net.W[:, :k] != net.W0[:, :k]):
        raise InputError("W* - W0 has components off e_d", "the sound sup-norm is for Lemma 6.5's W* = W0 + c e_d")
    w = np.ascontiguousarray(net.W0[:, :k])
    kappa = net.W0[:, k] / 2 + net.b
    delta = (net.W[:, k] - net.W0[:, k]) / 2
    scale = np.abs(kappa) + np.abs(w).sum(axis=1) + 2 * np.abs(delta)
    return _Net(w, kappa, delta, net.a, scale)


def rounding_margin(P: _Net) -> float:
    """A proved bound of the float64 error of a box's neuron part: every term is at most
    |a_r|·scale_r in size and is computed with < 20 roundings, and the sums have at most m
    terms, so the error is below (m + 20)·2^-53·Σ_r |a_r| scale_r (Higham, Thm 4.4), which
    2^-30·Σ... exceeds for m <= 2^22; the classification margin 2^-40·scale_r and the
    verifier's outward grids (2^-64 relative) are covered too."""
    return float(2.0 ** -30 * np.sum(np.abs(P.a) * P.scale)) + 1e-300


def _ranges(P: _Net, rs: np.ndarray, j: int, s: int, lo: np.ndarray, N: int, nlo: float, nhi: float):
    free = [i for i in range(P.w.shape[1]) if i != j]
    W = P.w[rs]
    lc = s * W[:, j] * N
    sp = np.zeros(len(rs))
    for t, i in enumerate(free):
        lc = lc + W[:, i] * (lo[t] + 1)
        sp = sp + np.abs(W[:, i])
    hi, low = (lc + sp) / N, (lc - sp) / N
    uh = P.kappa[rs] + np.where(hi >= 0, hi / nlo, hi / nhi)
    ul = P.kappa[rs] + np.where(low >= 0, low / nhi, low / nlo)
    return ul, uh


def _psi_range(ul, uh, dl):
    """[min, max] of ψ(u) = relu(u + Δ) − Δ·1{u ≥ 0} on [ul, uh], vectorised (Theorem 5.1's bracket)."""
    def psi(u):
        return np.maximum(u + dl, 0) - np.where(u >= 0, dl, 0.0)
    cands = [psi(ul), psi(uh)]
    inside = (ul <= -dl) & (-dl <= uh)
    v = np.where(-dl >= 0, -dl, 0.0)
    cands.append(np.where(inside, v, np.nan))
    cross = (ul < 0) & (uh >= 0)
    cands.append(np.where(cross, np.maximum(dl, 0), np.nan))
    cands.append(np.where(cross, np.maximum(dl, 0) - dl, np.nan))
    C = np.stack(cands)
    return np.nanmin(C, axis=0), np.nanmax(C, axis=0)


@dataclass(frozen=True, eq=False)
class _Node:
    """One box in the search, with the neurons its ancestors left unresolved and the aggregates."""

    face: int
    level: int
    idx: tuple
    rs: np.ndarray
    lam: np.ndarray
    c0: float
    bound: float
    value: float


@dataclass(frozen=True, eq=False)
class _Search:
    """The branch and bound of :func:`sup_cover`: one kind, one network, the data, q exactly
    (``q``), in float (``qf``, highest power first) and the data points exactly (``Xi``)."""

    kind: str
    P: _Net
    X: np.ndarray
    y: np.ndarray
    q: fmpq_poly
    k: int
    qf: np.ndarray
    Xi: tuple

    def node(self, face: int, L: int, idx: tuple, rs: np.ndarray, lam: np.ndarray, c0: float) -> _Node:
        P, kind = self.P, self.kind
        j, s, N = face // 2, (1 if face % 2 == 0 else -1), 1 << L
        lo = np.array([2 * i - N for i in idx], dtype=np.int64) if idx else np.zeros(0, dtype=np.int64)
        nlo, nhi, qlo, qhi = _norm_bounds(lo, N)
        ul, uh = _ranges(P, rs, j, s, lo, N, nlo, nhi)
        tau = _TAU * P.scale[rs]
        a, dl = P.a[rs], P.delta[rs]
        pc = np.empty(self.k)
        pc[j] = s
        pc[[i for i in range(self.k) if i != j]] = (lo + 1) / N
        xc = np.concatenate([math.sqrt(3) / 2 * pc / np.linalg.norm(pc), [0.5]])
        uc = P.w[rs] @ xc[:-1] + P.kappa[rs]
        if kind == "g-fstar":
            act = ul >= tau
            keep = ~act & (uh > -tau)
            c0 = c0 + float(np.sum(a[act] * dl[act]))
            v = a[keep] * dl[keep]
            ghi, glo = c0 + float(np.sum(np.maximum(v, 0))), c0 + float(np.sum(np.minimum(v, 0)))
            flo, fhi = self._fstar(j, s, lo, N, qlo, qhi)
            bound = max(ghi - flo, fhi - glo)
            g_c = c0 + float(np.sum(v[uc[keep] >= 0]))
            f_c = float(sum(yi * np.polyval(self.qf, float(xi @ xc)) for xi, yi in zip(self.X, self.y)))
            return _Node(face, L, idx, rs[keep], lam, c0, bound, abs(g_c - f_c))
        A = (ul >= tau) & (ul + dl >= tau)
        Z = (uh <= -tau) & (uh + dl <= -tau)
        Wc = (uh <= -tau) & (ul + dl >= tau) & ~A
        Cc = (ul >= tau) & (uh + dl <= -tau) & ~A
        keep = ~(A | Z | Wc | Cc)
        lin = A | Wc
        lam = lam + a[lin] @ P.w[rs][lin]
        c0 = c0 + float(np.sum(a[lin] * P.kappa[rs][lin]) + np.sum(a[Wc] * dl[Wc]) - np.sum(a[Cc] * dl[Cc]))
        p0, p1 = _psi_range(ul[keep], uh[keep], dl[keep])
        ak = a[keep]
        hi = c0 + float(np.sum(np.where(ak >= 0, ak * p1, ak * p0)))
        low = c0 + float(np.sum(np.where(ak >= 0, ak * p0, ak * p1)))
        dlo, dhi = _dir(lam, j, s, lo, N, nlo, nhi)
        bound = max(dhi + hi, -(dlo + low))
        uk, dk = uc[keep], dl[keep]
        psi_c = np.maximum(uk + dk, 0) - np.where(uk >= 0, dk, 0.0)
        val = float(lam @ xc[:-1]) + c0 + float(np.sum(ak * psi_c))
        return _Node(face, L, idx, rs[keep], lam, c0, bound, abs(val))

    def _fstar(self, j, s, lo, N, qlo: fmpq, qhi: fmpq) -> tuple[float, float]:
        """f* on the box, exactly (q's Taylor expansion at the middle of each <x_i, x> range), outward to float."""
        flo = fhi = fmpq(0)
        sc = fmpq(1)
        for xi, yi in zip(self.Xi, self.y):
            lam = xi[:-1]
            lc = s * lam[j] + sum(lam[i] * fmpq(int(c) + 1, N) for i, c in zip([t for t in range(self.k) if t != j], lo))
            sp = sum(abs(lam[i]) for i in range(self.k) if i != j) * fmpq(1, N)
            h, l_ = lc + sp, lc - sp
            zh = h / (qlo if h >= 0 else qhi)
            zl = l_ / (qhi if l_ >= 0 else qlo)
            zm, hw = (zl + zh) / 2 + xi[-1] / 2, (zh - zl) / 2
            t = self.q(fmpq_poly([zm, 1]))
            c = [t[i] for i in range(t.degree() + 1)] or [fmpq(0)]
            a0 = b0 = c[0]
            p = sc
            for e, ce in enumerate(c[1:], start=1):
                p *= hw
                v = abs(ce) * p
                if e % 2:
                    a0, b0 = a0 - v, b0 + v
                elif ce < 0:
                    a0 -= v
                else:
                    b0 += v
            Y = _q(float(yi))
            flo, fhi = (flo + Y * a0, fhi + Y * b0) if Y >= 0 else (flo + Y * b0, fhi + Y * a0)
        return math.nextafter(_f(flo), -math.inf), math.nextafter(_f(fhi), math.inf)


def _q(v: float) -> fmpq:
    p, r = v.as_integer_ratio()
    return fmpq(p, r)


def _f(x: fmpq) -> float:
    return int(x.p) / int(x.q)


def _dir(lam: np.ndarray, j: int, s: int, lo: np.ndarray, N: int, nlo: float, nhi: float) -> tuple[float, float]:
    """[lo, hi] ⊇ {<λ', p>/ν} on the box (float; the margin covers its rounding)."""
    free = [i for i in range(len(lam)) if i != j]
    lc = s * lam[j] + sum(lam[i] * (lo[t] + 1) / N for t, i in enumerate(free))
    sp = sum(abs(lam[i]) for i in free) / N
    h, l_ = lc + sp, lc - sp
    return (l_ / nhi if l_ >= 0 else l_ / nlo), (h / nlo if h >= 0 else h / nhi)


def sup_cover(kind: str, net: TwoLayerNet, X, y, q_coefficients, *, lower: float = 0.0, ratio: float = 1.15,
              max_boxes: int = 20000, claim: float | None = None) -> SupCover:
    """Branch and bound for sup_X |g_{W*} − f*| (``kind`` 'g-fstar', Lemma 6.5) or
    sup_X |f_{W*} − g_{W*}| (``kind`` 'f-g', Theorem 5.1) over a cube-sphere cover of X
    (math-spec §13). ``lower``: the sampled max already known (the lower end); ``ratio``:
    stop once the largest box bound is within this factor of the lower end; ``max_boxes``:
    the budget of stored boxes; ``claim``: when given (ε/3), splitting goes on past ``ratio``
    while the bound is above the claim and the lower end below it (the verdict is not yet
    decided). Returns the stored cover with its bounds (sound: each is the float bound plus
    :func:`rounding_margin`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    d = net.d
    if not 3 <= d <= MAX_SUP_DIM:
        raise InputError(f"the sound sup-norm over X is implemented for 3 <= d <= {MAX_SUP_DIM}, not d = {d}",
                         "the sampled estimate stays; use d <= 5 for a sound bound")
    t0 = time.perf_counter()
    P = _prepare(net)
    q = fmpq_poly([fmpq(Fraction(c).numerator, Fraction(c).denominator) for c in q_coefficients])
    X = np.asarray(X, dtype=np.float64)
    S = _Search(kind, P, X, np.asarray(y, dtype=np.float64), q, d - 1,
                np.array([float(q[i]) for i in range(q.degree() + 1)][::-1] or [0.0]),
                tuple(tuple(_q(float(v)) for v in x) for x in X))
    k = d - 1
    heap, count, best = [], 0, float(lower)
    allr = np.arange(net.m)
    for face in range(2 * k):
        nd = S.node(face, 0, (0,) * (k - 1), allr, np.zeros(k), 0.0)
        heapq.heappush(heap, (-nd.bound, count, nd))
        count += 1
        best = max(best, nd.value)
    explored, converged = len(heap), False
    while True:
        top = heap[0][2]
        if top.bound <= ratio * best and (claim is None or top.bound <= claim or best > claim):
            converged = True
            break
        if len(heap) + (1 << (k - 1)) - 1 > max_boxes:
            break
        heapq.heappop(heap)
        for bits in range(1 << (k - 1)):
            child = tuple(2 * i + ((bits >> t) & 1) for t, i in enumerate(top.idx))
            nd = S.node(top.face, top.level + 1, child, top.rs, top.lam, top.c0)
            heapq.heappush(heap, (-nd.bound, count, nd))
            count += 1
            explored += 1
            best = max(best, nd.value)
    margin = rounding_margin(P)
    boxes = []
    for _, _, nd in sorted(heap, key=lambda e: (e[2].face, e[2].level, e[2].idx)):
        b = Fraction(math.nextafter(nd.bound + margin, math.inf))
        boxes.append((nd.face, nd.level, nd.idx, b))
    upper = max(b for *_, b in boxes)
    return SupCover(kind=kind, boxes=tuple(boxes), upper=upper, lower=best, explored=explored, converged=converged,
                    margin=margin, seconds=time.perf_counter() - t0)
