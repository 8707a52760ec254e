"""Sound sup-norms over all of X, re-derived cap by cap from the network witness and the stored
cover (docs/certificate.md, "The sup-norm covers"; math-spec §13): sup_X |g_{W*} − f*| of
Lemma 6.5 (check lemma-6.5), sup_X |f_{W*} − g_{W*}| of Theorem 5.1 (theorem-5.1/chain), and
Lemma 6.5's radius m^{2/3} ‖W* − W0‖_{2,∞} ≤ R (lemma-6.5/radius), exactly.

The cover is a tiling of the cube-sphere: X = {((√3/2) p/‖p‖, 1/2)} for p on the surface of
[−1, 1]^{d−1}, each face cut into dyadic boxes. The verifier checks that the stored boxes
tile every face, then walks the tree of their ancestors: a neuron whose pre-activation
keeps its sign on a box keeps it on every sub-box, so each node examines only the neurons
its parent left unresolved, and the resolved ones are summed once into the node's
aggregates (integers). Every quantity is an integer or a rational; the only roundings are
the norm bounds (64 extra bits) and the outward grid of the pre-activation ranges. The work
(boxes, neuron evaluations) is bounded before and while it runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flint import arb, fmpq, fmpq_poly

from .constants import _arb_precision
from .context import _Ctx, _expect, _rigorous_numbers, _settle
from .identity import _c_h, _read_h
from .numbers import _fmt, _number, _rat, _short
from .report import Refused, _Fail
from .witness import Network

MAX_CAPS = 1 << 18
"""Budget: the most boxes of one stored cover."""
MAX_LEVEL = 40
"""Budget: the deepest dyadic level of a box (its side is 2^(1-level))."""
MAX_CAP_WORK = 1 << 27
"""Budget: neuron evaluations of one cover's walk (each node examines its parent's unresolved neurons)."""
MAX_SUP_DIM = 5
"""The largest d for which a cover is accepted (the cube-sphere of S^{d-2})."""
NORM_BITS = 64
"""Extra bits of the norm bounds ν_lo ≤ (2/√3)‖p‖ ≤ ν_hi on a box."""
GRID_BITS = 64
"""Extra bits of the grid onto which pre-activation ranges are rounded outward."""

KINDS = ("g-fstar", "f-g")
"""What a cover bounds: sup|g_{W*} − f*| (Lemma 6.5) or sup|f_{W*} − g_{W*}| (Theorem 5.1)."""


@dataclass(frozen=True)
class Box:
    """One dyadic box of a cube face (a cap of X): face f = 2j + (p_j < 0), level L, the
    index of each free coordinate t_i ∈ [(2 idx_i − 2^L)/2^L, (2 idx_i + 2 − 2^L)/2^L], and
    the stored upper bound of the sup-norm on it."""

    face: int
    level: int
    idx: tuple
    bound: fmpq


def _parse_cover(det: dict, d: int, where: str) -> list[Box]:
    cov = det.get("cover")
    if not isinstance(cov, dict) or cov.get("scheme") != "cube-sphere" or not isinstance(cov.get("boxes"), list):
        raise _Fail(f"{where}.cover must be {{'scheme': 'cube-sphere', 'boxes': [...]}} (docs/certificate.md, The sup-norm covers)")
    if cov.get("norm_bits", NORM_BITS) != NORM_BITS:
        raise _Fail(f"{where}.cover.norm_bits = {_short(cov.get('norm_bits'))}, but the recipe's norm bounds carry {NORM_BITS} bits")
    boxes = cov["boxes"]
    if len(boxes) > MAX_CAPS:
        raise Refused(f"{where}.cover has {len(boxes)} boxes, beyond this verifier's budget of {MAX_CAPS}",
                      "see docs/certificate.md, Budgets")
    k = d - 1
    out = []
    for j, b in enumerate(boxes):
        w = f"{where}.cover.boxes[{j}]"
        if not (isinstance(b, list) and len(b) == 4 and type(b[0]) is int and type(b[1]) is int
                and isinstance(b[2], list) and all(type(i) is int for i in b[2])):
            raise _Fail(f"{w} is not [face, level, [index...], bound]")
        f, L, idx = b[0], b[1], tuple(b[2])
        if not 0 <= f < 2 * k:
            raise _Fail(f"{w}: face {f} is not in 0..{2 * k - 1}")
        if not 0 <= L <= MAX_LEVEL:
            raise _Fail(f"{w}: level {L} is not in 0..{MAX_LEVEL}")
        if len(idx) != k - 1 or not all(0 <= i < (1 << L) for i in idx):
            raise _Fail(f"{w}: the index {_short(str(list(idx)))} is not {k - 1} integers in 0..2^{L}-1")
        out.append(Box(f, L, idx, _rat(b[3], f"{w}[3]")))
    return out


def tiling_gap(boxes: list[Box], d: int) -> str | None:
    """Why the boxes do not tile every face of the cube [−1, 1]^{d−1}, or None.

    Dyadic boxes either nest or are disjoint; boxes of which none contains another, whose
    volumes add up to each face's, tile it (their union is closed and of full measure)."""
    k = d - 1
    for f in range(2 * k):
        mine = [b for b in boxes if b.face == f]
        if not mine:
            return f"face {f} has no box: part of X is not covered"
        seen = {(b.level, b.idx) for b in mine}
        if len(seen) != len(mine):
            return f"face {f} has a box twice"
        for b in mine:
            for up in range(1, b.level + 1):
                if (b.level - up, tuple(i >> up for i in b.idx)) in seen:
                    return f"a box of face {f} at level {b.level} lies inside another box"
        top = max(b.level for b in mine)
        vol = sum(1 << ((k - 1) * (top - b.level)) for b in mine)
        if vol != 1 << ((k - 1) * top):
            return f"the boxes of face {f} cover {vol}/{1 << ((k - 1) * top)} of it: part of X is not covered"
    return None


@dataclass(frozen=True)
class _Neurons:
    """The witness as the walk needs it, over one grid 1/S: w'_r = W0_r[:d−1] (over D0),
    κ_r = W0_rd/2 + b_r and Δ_r = <W*_r − W0_r, x> on X (both times S), a_r (over Da)."""

    m: int
    k: int
    D0: int
    S: int
    w: tuple
    kappa: tuple
    delta: tuple
    a: tuple
    Da: int


def _neurons(net: Network) -> _Neurons:
    """Read W* = W0 + c e_d (Lemma 6.5's construction): every other coordinate must agree exactly."""
    d, k = net.d, net.d - 1
    L = max(net.Du, net.D0)
    S = (2 * L) << GRID_BITS
    ku, k0, su, s0 = L // net.Du, L // net.D0, S // net.Du, S // net.D0
    kap, dl = [], []
    for r, (Wr, W0r, br) in enumerate(zip(net.Wi, net.W0i, net.bi)):
        if any(Wr[t] * ku != W0r[t] * k0 for t in range(k)):
            raise _Fail(f"neuron {r}: W*_r − W0_r has a component off e_d, but Lemma 6.5's W* moves neurons along e_d only")
        kap.append(W0r[k] * s0 // 2 + br * su)
        dl.append((Wr[k] * su - W0r[k] * s0) // 2)
    w = tuple(tuple(W0r[:k]) for W0r in net.W0i)
    return _Neurons(net.m, k, net.D0, S, w, tuple(kap), tuple(dl), tuple(net.ai), net.Da)


@dataclass(frozen=True)
class _Geom:
    """One box in integers: N = 2^L, the free coordinates' centre numerators c_i = lo_i + 1
    (over N), the fixed axis j and sign s, and ν_lo, ν_hi over 2^NORM_BITS N."""

    j: int
    s: int
    N: int
    free: tuple
    cen: tuple
    nlo: int
    nhi: int


def _geom(face: int, level: int, idx: tuple, k: int) -> _Geom:
    j, s = face // 2, (1 if face % 2 == 0 else -1)
    N = 1 << level
    free = tuple(i for i in range(k) if i != j)
    lo = [2 * i - N for i in idx]
    hi = [x + 2 for x in lo]
    a = N * N + sum(0 if lo_ < 0 < hi_ else min(lo_ * lo_, hi_ * hi_) for lo_, hi_ in zip(lo, hi))
    b = N * N + sum(max(lo_ * lo_, hi_ * hi_) for lo_, hi_ in zip(lo, hi))
    g = 4 << (2 * NORM_BITS)
    nlo = math.isqrt(g * a // 3)
    x = -((-g * b) // 3)
    nhi = math.isqrt(x)
    nhi += nhi * nhi < x
    return _Geom(j, s, N, free, tuple(x + 1 for x in lo), nlo, nhi)


def _dir_range(lam: tuple, D: int, gm: _Geom) -> tuple[fmpq, fmpq]:
    """[lo, hi] ⊇ {<λ', p>/ν : p in the box} = {(√3/2)<λ', v>}, λ' = lam/D (exact)."""
    lc = gm.s * lam[gm.j] * gm.N + sum(lam[i] * c for i, c in zip(gm.free, gm.cen))
    sp = sum(abs(lam[i]) for i in gm.free)
    hi, lo = lc + sp, lc - sp
    sc = 1 << NORM_BITS
    return (fmpq(lo * sc, D * (gm.nhi if lo >= 0 else gm.nlo)), fmpq(hi * sc, D * (gm.nlo if hi >= 0 else gm.nhi)))


def _u_ranges(nr: _Neurons, gm: _Geom, rs: list, work: list) -> tuple[list, list]:
    """Outward grid ranges ul_r ≤ S·u_r ≤ uh_r on the box for the neurons rs (u_r = <W0_r, x> + b_r)."""
    work[0] += len(rs)
    if work[0] > MAX_CAP_WORK:
        raise Refused(f"a sup-norm cover needs more than {MAX_CAP_WORK} neuron evaluations, beyond this verifier's budget",
                      "see docs/certificate.md, Budgets")
    F = (nr.S // nr.D0) << NORM_BITS
    j, s, N, nlo, nhi = gm.j, gm.s, gm.N, gm.nlo, gm.nhi
    pairs = list(zip(gm.free, gm.cen))
    W, K = nr.w, nr.kappa
    ul, uh = [], []
    if len(pairs) == 1:  # d = 3 (one free axis): the same arithmetic without the inner loop
        (i, c), = pairs
        sN = s * N
        for r in rs:
            w = W[r]
            lc, sp = sN * w[j] + w[i] * c, abs(w[i])
            hi, lo = (lc + sp) * F, (lc - sp) * F
            uh.append(K[r] - ((-hi) // (nlo if hi >= 0 else nhi)))
            ul.append(K[r] + lo // (nhi if lo >= 0 else nlo))
        return ul, uh
    for r in rs:
        w = W[r]
        lc = s * w[j] * N
        sp = 0
        for i, c in pairs:
            lc += w[i] * c
            sp += abs(w[i])
        hi, lo = (lc + sp) * F, (lc - sp) * F
        uh.append(K[r] - ((-hi) // (nlo if hi >= 0 else nhi)))
        ul.append(K[r] + lo // (nhi if lo >= 0 else nlo))
    return ul, uh


def _psi_range(ul: int, uh: int, dl: int) -> tuple[int, int]:
    """[min, max] of ψ(u) = relu(u + Δ) − Δ·1{u ≥ 0} on [ul, uh] (grid integers; one-sided limits at 0)."""
    vals = []
    for u in (ul, uh):
        vals.append(max(u + dl, 0) - (dl if u >= 0 else 0))
    if ul <= -dl <= uh:
        vals.append(-dl if -dl >= 0 else 0)
    if ul < 0 <= uh:
        vals.extend((max(dl, 0), max(dl, 0) - dl))
    return min(vals), max(vals)


def _fstar_range(q: fmpq_poly, pts: list, ys: list, gm: _Geom) -> tuple[fmpq, fmpq]:
    """[lo, hi] ⊇ f*(box) = Σ y_i q(<x_i, x>): <x_i, x> in the box's direction range plus x_id/2,
    q by its exact Taylor expansion at the middle of that range (Lemma 6.2's f*)."""
    lo_t, hi_t = fmpq(0), fmpq(0)
    for (lam, D, zd), y in zip(pts, ys):
        a, b = _dir_range(lam, D, gm)
        zm, hw = (a + b) / 2 + zd, (b - a) / 2
        t = q(fmpq_poly([zm, 1]))
        c = [t[i] for i in range(t.degree() + 1)] if t.degree() >= 0 else [fmpq(0)]
        qlo = qhi = c[0]
        p = fmpq(1)
        for e, ce in enumerate(c[1:], start=1):
            p *= hw
            v = abs(ce) * p
            if e % 2:
                qlo, qhi = qlo - v, qhi + v
            elif ce < 0:
                qlo -= v
            else:
                qhi += v
        lo_t, hi_t = (lo_t + y * qlo, hi_t + y * qhi) if y >= 0 else (lo_t + y * qhi, hi_t + y * qlo)
    return lo_t, hi_t


def _data(ctx: _Ctx) -> list:
    out = []
    for x in ctx.need("inst")["points"]:
        D = 1
        for v in x[:-1]:
            D = D * int(v.q) // math.gcd(D, int(v.q))
        out.append((tuple(int(v.p) * (D // int(v.q)) for v in x[:-1]), D, x[-1] / 2))
    return out


def _walk(nr: _Neurons, kind: str, boxes: list[Box], leaf_fn) -> None:
    """Visit every stored box with its aggregates: the tree of the boxes' ancestors, face by
    face, each node resolving the neurons its parent left unresolved (math-spec §13)."""
    k = nr.k
    work = [0]
    by_face: dict = {}
    for b in boxes:
        by_face.setdefault(b.face, {})[(b.level, b.idx)] = b
    for face, leaves in sorted(by_face.items()):
        inner = set()
        for (L, idx) in leaves:
            for up in range(1, L + 1):
                inner.add((L - up, tuple(i >> up for i in idx)))
        zero = (0,) * k
        stack = [(0, (0,) * (k - 1), list(range(nr.m)), zero, 0)]
        while stack:
            L, idx, rs, lam, c0 = stack.pop()
            gm = _geom(face, L, idx, k)
            ul, uh = _u_ranges(nr, gm, rs, work)
            keep, lam, c0 = _resolve(nr, kind, rs, ul, uh, lam, c0)
            node = leaves.get((L, idx))
            if node is not None:
                leaf_fn(node, gm, lam, c0, keep)
                continue
            if (L, idx) not in inner:
                raise _Fail(f"face {face}: the box at level {L}, index {list(idx)} is neither stored nor split")
            kept = [r for r, _, _ in keep]
            for bits in range(1 << (k - 1)):
                child = tuple(2 * i + ((bits >> t) & 1) for t, i in enumerate(idx))
                stack.append((L + 1, child, kept, lam, c0))


def _resolve(nr: _Neurons, kind: str, rs: list, ul: list, uh: list, lam: tuple, c0: int):
    """Split the neurons rs into resolved ones (added to the aggregates) and unresolved ones
    [(r, ul, uh)]. Aggregates: for g − f*, c0 = Σ a_r Δ_r over the active (λ unused); for
    f − g, λ = Σ a_r w'_r and c0 = Σ a_r (κ_r, Δ_r terms) over the linear classes."""
    A, Dl, K, W = nr.a, nr.delta, nr.kappa, nr.w
    keep = []
    lam = list(lam)
    k = nr.k
    for r, lo, hi in zip(rs, ul, uh):
        if kind == "g-fstar":
            if lo >= 0:
                c0 += A[r] * Dl[r]
            elif hi >= 0:
                keep.append((r, lo, hi))
            continue
        dl = Dl[r]
        if lo >= 0 and lo + dl >= 0:  # ψ = u
            add, c = True, K[r]
        elif hi < 0 and hi + dl <= 0:  # ψ = 0
            continue
        elif hi < 0 and lo + dl >= 0:  # ψ = u + Δ
            add, c = True, K[r] + dl
        elif lo >= 0 and hi + dl <= 0:  # ψ = −Δ
            add, c = False, -dl
        else:
            keep.append((r, lo, hi))
            continue
        c0 += A[r] * c
        if add:
            w = W[r]
            for t in range(k):
                lam[t] += A[r] * w[t]
    return keep, tuple(lam), c0


def cover_bounds(ctx: _Ctx, kind: str, boxes: list[Box]) -> list[fmpq]:
    """The re-derived upper bound of the sup-norm ``kind`` on every box, in the boxes' order."""
    net: Network = ctx.need("network")
    nr = _neurons(net)
    scale = nr.Da * nr.S
    pts, ys, q = _data(ctx), ctx.need("inst")["labels"], ctx.need("q")
    got: dict = {}

    def leaf(b: Box, gm: _Geom, lam, c0, keep) -> None:
        if kind == "g-fstar":
            lo = hi = c0
            for r, _, _ in keep:
                v = nr.a[r] * nr.delta[r]
                lo, hi = lo + min(v, 0), hi + max(v, 0)
            flo, fhi = _fstar_range(q, pts, ys, gm)
            got[id(b)] = max(fmpq(hi, scale) - flo, fhi - fmpq(lo, scale))
            return
        a, bb = _dir_range(lam, nr.Da * nr.D0, gm) if any(lam) else (fmpq(0), fmpq(0))
        lo = hi = c0
        for r, ul, uh in keep:
            p0, p1 = _psi_range(ul, uh, nr.delta[r])
            ar = nr.a[r]
            lo, hi = (lo + ar * p0, hi + ar * p1) if ar >= 0 else (lo + ar * p1, hi + ar * p0)
        got[id(b)] = max(bb + fmpq(hi, scale), -(a + fmpq(lo, scale)))

    _walk(nr, kind, boxes, leaf)
    return [got[id(b)] for b in boxes]


def _sup_check(ctx: _Ctx, c: dict, kind: str) -> str:
    """lemma-6.5 or theorem-5.1/chain as a sound bound: the stored cover tiles X, every box's
    stored bound is at least its re-derived one, value = the largest stored bound, bound = ε/3,
    and the sampled lower end details.lower does not exceed it."""
    inst = ctx.need("inst")
    d = inst["d"]
    if d > MAX_SUP_DIM or d < 3:
        raise _Fail(f"a sound sup-norm cover is defined for 3 <= d <= {MAX_SUP_DIM}, but d = {d}")
    det = c["details"]
    boxes = _parse_cover(det, d, "details")
    if not boxes:
        raise _Fail("details.cover has no box")
    gap = tiling_gap(boxes, d)
    if gap is not None:
        raise _Fail(f"details.cover does not tile X: {gap}")
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, inst["eps"] / 3)
    top = max(b.bound for b in boxes)
    _expect(c, "value", value, top)
    if "upper" in det:
        _expect(c, "details.upper", _number(det["upper"], "details.upper"), value)
    lower = _number(det.get("lower"), "details.lower")
    if lower is None or lower > value:
        raise _Fail(f"details.lower = {_short(det.get('lower'))} (the sampled max, a lower bound of the sup) is missing "
                    f"or above the sound upper bound {_fmt(value)}")
    got = cover_bounds(ctx, kind, boxes)
    for j, (g, b) in enumerate(zip(got, boxes)):
        if g > b.bound:
            raise _Fail(f"details.cover.boxes[{j}] (face {b.face}, level {b.level}) stores {_fmt(b.bound)}, but the box "
                        f"re-derives {_fmt(g)}, larger by {_fmt(g - b.bound)}: the stored bound is not proved")
    done = _settle(c, value <= bound, f"the sound sup-norm bound {_fmt(value)} exceeds eps/3 = {_fmt(bound)}")
    return f"{done}; {len(boxes)} boxes re-derived, sampled lower end {_fmt(lower)}"


def _check_lemma_6_5(ctx: _Ctx, c: dict) -> str:
    return _sup_check(ctx, c, "g-fstar")


def _check_theorem_5_1_chain(ctx: _Ctx, c: dict) -> str:
    return _sup_check(ctx, c, "f-g")


def _check_radius(ctx: _Ctx, c: dict) -> str:
    """lemma-6.5/radius exactly: value = m^4 (max_r ‖W*_r − W0_r‖²)^3, from the witness's
    binary64 W* and W0, against bound = R^6 with R = details.R, the builder's rational upper
    bound of 2 n C_h; R >= 2 n C_h is re-derived from the h that lemma-6.6 stores (its dyadic
    P̃_i and B_t), when that check is rigorous, and is otherwise taken as given."""
    net: Network = ctx.need("network")
    det = c["details"]
    R = _rat(det.get("R"), "details.R") if isinstance(det.get("R"), str) else None
    if R is None or R <= 0:
        raise _Fail("details.R (the radius 2 n C_h, a positive rational string) is missing")
    if det.get("m") != net.m:
        raise _Fail(f"details.m = {_short(det.get('m'))}, but the witness has m = {net.m}")
    S, L = net.max_move_squared()
    R_note = _radius_against_h(ctx, R)
    value, bound = _rigorous_numbers(c)
    want = fmpq(net.m ** 4 * S ** 3, L ** 6)
    _expect(c, "value", value, want)
    _expect(c, "bound", bound, R ** 6)
    with _arb_precision():
        shown = (arb(want) ** arb(fmpq(1, 6))).mid().str(8, radius=False)
    done = _settle(c, value <= bound, f"m^(2/3) ||W* - W0||_(2,inf) = {shown} exceeds R = {_fmt(R)}")
    return f"{done}: m^(2/3) ||W* - W0||_(2,inf) = {shown} <= R = {_fmt(R)}{R_note}"


def _radius_against_h(ctx: _Ctx, R: fmpq) -> str:
    """R >= 2 n C_h, with C_h = Σ (|q_i|/P̃_i) Ĥe_i(B_t) re-derived exactly from the h that
    lemma-6.6 defines (math-spec §5.1), when that check is present and passed; otherwise R
    stays the builder's number, and the message says so."""
    base = ctx.checks.get("lemma-6.6")
    if base is None or "lemma-6.6" in ctx.failed or base.get("label") == "estimate":
        return " (R as stored: no re-derived lemma-6.6 defines h)"
    q = ctx.need("q").coeffs()
    B_t, _p, Pt = _read_h(ctx, base, len(q) - 1)
    need = 2 * ctx.need("inst")["n"] * _c_h(q, Pt, B_t)
    if R < need:
        raise _Fail(f"details.R = {_fmt(R)} is below 2 n C_h = {_fmt(need)} for the h of lemma-6.6 (re-derived)")
    return " (R >= 2 n C_h re-derived from lemma-6.6's h)"
