"""Definition 3.2's perturbation set B_2(x0, rho) ∩ X, and the l2 ball around it, for Theorem 5.3's bound.

Two closed forms that every sound bound of :mod:`advcert.measured.crown` and
:mod:`advcert.measured.cap_split` is made of, batched over centres and rounded outward:

* the sup of a linear function <Lambda, x> over the set (on the ball <Lambda, x0> + rho ||Lambda||;
  on the cap Lambda_d / 2 + sqrt3/2 ||Lambda'|| cos(max(0, phi - theta)), phi the angle between
  Lambda' and the cap's axis, theta the cap's radius);
* the exact range of each pre-activation z_r(x) = <W_r, x> + b_r over the set.

The rounding model (float balls with a-priori error bounds) is the one stated in
:mod:`advcert.measured.crown` and implemented in :mod:`advcert.measured.balls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from advcert.errors import InputError
from advcert.kernels import relaxation
from advcert.measured.balls import (_SQRT3, _TINY, _U, _badd, _bdot_self, _bexact, _bmul, _bsqrt, _bsub, _clip0,
                                    _lower, _rad, _rowdot, _upper, RowNorms, row_norms)

#: below this many rows the cap's per-row ball arithmetic runs in numpy rather than in its compiled
#: passes (equal bit for bit): a command that bounds a few domains at a time (``build``'s Theorem 5.3
#: check) is spared their compilation, 2 s of a cold build (perf-notes §8)
COMPILED_ROWS = 32


def rho_upper(rho) -> float:
    """The least binary64 number >= rho (a Fraction, str, int or float); caps grow with rho."""
    r = Fraction(rho) if not isinstance(rho, float) else Fraction(rho)
    if r < 0:
        raise InputError(f"rho must be >= 0, got {rho}", "pass the radius rho of Definition 3.2")
    f = float(r)
    if Fraction(f) < r:
        f = float(np.nextafter(f, np.inf))
    return f


# ---------------------------------------------------------------------------------------
# the domain: the l2 ball around x0, or the cap B_2(x0, rho) ∩ X (batched over centres)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Domain:
    """The sets a sup is taken over (Definition 3.2's B_2(x0, rho) ∩ X, or the ball around it).

    One entry per centre (rows of ``x0``, shape (P, d)). ``kind`` 'ball':
    {x in R^d : ||x - x0|| <= rho}. ``kind`` 'cap': {x in X : ||x - x0|| <= rho} with
    X = {||x|| = 1, x_d = 1/2}; for x = (sqrt3/2 v, 1/2) this is the spherical cap
    {v in S^{d-2} : <v, p> >= kappa}, p = x0[:d-1], kappa = (3/4 + ||p||^2 +
    (x0_d - 1/2)^2 - rho^2) / sqrt3 (exact even when x0 is off X by rounding). ``kappa`` is
    a float <= the exact value, so the cap used contains the true one; ``whole`` means the
    constraint is void (the whole of X). ``p2`` is a ball (mid, rad) of ||p||^2.
    """

    kind: str
    x0: np.ndarray  # (P, d)
    rho: float  # a float >= the exact radius
    kappa: np.ndarray  # (P,)
    whole: np.ndarray  # (P,) bool
    p2: tuple  # ball of ||p||^2, each (P,)

    @property
    def d(self) -> int:
        return int(self.x0.shape[1])

    def take(self, rows) -> "Domain":
        """The domains of the centres ``rows`` (an index array; repeats allowed)."""
        return Domain(self.kind, self.x0[rows], self.rho, self.kappa[rows], self.whole[rows],
                      (self.p2[0][rows], self.p2[1][rows]))


def make_domain(x0, rho, kind: str = "cap") -> Domain:
    """The domain(s) of the sup in Theorem 5.3 for centre(s) x0: 'cap' (B_2(x0, rho) ∩ X) or 'ball'.

    ``x0`` is one centre (d,) or several (P, d).
    """
    X = np.array(np.atleast_2d(x0), dtype=np.float64, copy=True)
    if X.ndim != 2 or X.shape[1] < 2 or not np.all(np.isfinite(X)):
        raise InputError(f"a centre must be a finite vector with d >= 2 entries, got shape {np.shape(x0)}", "pass data points x_i")
    r = rho_upper(rho)
    P = X.shape[0]
    if kind not in ("cap", "ball"):
        raise InputError(f"unknown domain {kind!r}", "use 'cap' (B_2(x, rho) ∩ X) or 'ball' (the l2 ball)")
    p2 = _bdot_self(X[:, :-1])
    if kind == "ball":
        return Domain("ball", X, r, np.zeros(P), np.zeros(P, dtype=bool), p2)
    if X.shape[1] < 3:
        raise InputError("the cap bound needs d >= 3 (X is two points when d = 2)", "use domain='ball'")
    if P < COMPILED_ROWS:
        kappa, p_hi = _kappa_reference(X, r, p2)
    else:
        kappa, p_hi = np.empty(P), np.empty(P)
        relaxation.cap_kappa(np.ascontiguousarray(X[:, -1]), p2[0], p2[1], r, kappa, p_hi)
    empty = kappa > p_hi
    if np.any(empty):
        i = int(np.flatnonzero(empty)[0])
        raise InputError(
            f"the cap B_2(x, {float(rho)}) ∩ X is empty for centre {X[i].tolist()}",
            "the centre must lie on (or very near) X = {||x|| = 1, x_d = 1/2}",
        )
    return Domain("cap", X, r, kappa, kappa <= -p_hi, p2)


def _kappa_reference(X: np.ndarray, r: float, p2):
    """:func:`make_domain`'s kappa and upper bound of ||p|| in numpy ball arithmetic (the reference of
    :func:`advcert.kernels.relaxation.cap_kappa`; Definition 3.2's cap as {v : <v, p> >= kappa})."""
    P = X.shape[0]
    xd = X[:, -1]
    hm = xd - 0.5
    # exact whenever 1/4 <= x0_d <= 1 (Sterbenz); otherwise one rounding
    h = (hm, np.where((xd >= 0.25) & (xd <= 1.0), 0.0, 2.0 * _U * np.abs(hm)))
    num = _badd((np.full(P, 0.75), np.zeros(P)), p2)
    num = _badd(num, _bmul(h, h))
    num = _bsub(num, _bmul(_bexact(np.full(P, r)), _bexact(np.full(P, r))))
    s3 = _bsqrt(_bexact(3.0))
    km = num[0] / s3[0]
    kr = _rad((num[1] + np.abs(num[0]) * s3[1] / s3[0]) / s3[0] * (1.0 + 8.0 * _U) + 2.0 * _U * np.abs(km))
    kappa = _lower((km, kr))
    p_hi = _upper(_bsqrt(p2))
    return kappa, p_hi


def _capmax_up(t, n2, kappa, p2, whole) -> np.ndarray:
    """Rigorous float upper bound of sup{<u, v> : ||v|| = 1, <v, p> >= kappa}, elementwise.

    Inputs are balls of t = <u, p>, n2 = ||u||^2, p2 = ||p||^2 and exact floats kappa,
    broadcast together. The sup is ||u|| when the angle phi between u and p is <= the cap
    radius theta, else ||u|| cos(phi - theta) = (t kappa + sqrt(P^2 - kappa^2)
    sqrt(||u||^2 P^2 - t^2)) / P^2. ||u|| bounds both, so it is kept wherever phi > theta
    is not certain.
    """
    nu = _bsqrt(n2)
    nu_hi = _upper(nu)
    kap = (np.asarray(kappa, dtype=np.float64), 0.0)
    out = (_upper(t) < _lower(_bmul(kap, nu))) & ~np.asarray(whole) & (_lower(p2) > 0.0)
    if not np.any(out):
        return np.broadcast_to(nu_hi, np.broadcast_shapes(np.shape(nu_hi), np.shape(t[0]))).copy()
    sa = _bsqrt(_clip0(_bsub(p2, _bmul(kap, kap))))  # P^2 - kappa^2 >= 0 on a proper cap
    sq = _bsqrt(_clip0(_bsub(_bmul(n2, p2), _bmul(t, t))))  # Cauchy-Schwarz: >= 0
    num_hi = _upper(_badd(_bmul(t, kap), _bmul(sa, sq)))
    p2_lo = np.maximum(_lower(p2), 2.0**-1000)
    p2_hi = _upper(p2)
    val_hi = np.where(num_hi >= 0, num_hi / p2_lo, num_hi / p2_hi)
    val_hi = np.nextafter(val_hi + 2.0 * _U * np.abs(val_hi), np.inf)
    return np.where(out, np.minimum(val_hi, nu_hi), nu_hi)


def _capmax_rows(t, n2, kappa, p2, whole) -> np.ndarray:
    """:func:`_capmax_up` for rows paired one to one (Theorem 5.3's closed form on caps), in one compiled pass
    (:func:`advcert.kernels.relaxation.capmax_up`, equal to it bit for bit): the ball operations of the
    reference cost a numpy call each, which at small m is most of a cap bound's time."""
    if np.shape(t[0])[0] < COMPILED_ROWS:
        return _capmax_up(t, n2, kappa, p2, whole)
    out = np.empty(t[0].shape[0])

    def vec(v, dtype=np.float64):
        v = np.asarray(v)
        return v if v.shape == out.shape and v.dtype == dtype and v.flags.c_contiguous else \
            np.ascontiguousarray(np.broadcast_to(v, out.shape), dtype=dtype)

    relaxation.capmax_up(*(vec(v) for v in (t[0], t[1], n2[0], n2[1], kappa, p2[0], p2[1])), vec(whole, np.bool_), out)
    return out


def cap_abs_bound(d: int) -> np.ndarray:
    """Floats >= |x_j| at every point of X (|x_j| <= sqrt3/2, x_d = 1/2): the weights of a ball radius in a linear sup."""
    xmax = np.full(d, 0.5 * _SQRT3 * (1.0 + 4.0 * _U))
    xmax[-1] = 0.5
    return xmax


def _linmax_up(dom: Domain, L: np.ndarray, Lrad: np.ndarray | None = None) -> np.ndarray:
    """Rigorous upper bound of sup over domain i of <Lambda_i, x>, Lambda_i in the ball L_i ± Lrad_i (rows paired)."""
    if dom.kind == "ball":
        base = _rowdot(L, dom.x0)
        rn = _bmul(_bexact(np.full(L.shape[0], dom.rho)), _bsqrt(_bdot_self(L)))
        tot = _badd(base, rn)
        xmax = np.abs(dom.x0) + dom.rho * (1.0 + 4.0 * _U)  # |x_j| <= |x0_j| + rho on the ball
    else:
        cm = _capmax_rows(_rowdot(L[:, :-1], dom.x0[:, :-1]), _bdot_self(L[:, :-1]), dom.kappa, dom.p2, dom.whole)
        s3h = (0.5 * _SQRT3, _rad(_U * _SQRT3))
        tot = _badd(_bmul(s3h, (cm, np.zeros_like(cm))), (0.5 * L[:, -1], np.zeros(L.shape[0])))
        xmax = cap_abs_bound(dom.d)[None, :]
    if Lrad is not None:
        extra = np.einsum("ij,ij->i", Lrad, np.broadcast_to(xmax, Lrad.shape))
        tot = (tot[0], _rad(tot[1] + extra * (1.0 + dom.d * _U * 2)))
    return _upper(tot)


def _linmax_float(dom: Domain, L: np.ndarray):
    """sup over domain i of <Lambda_i, x> (rows paired, float) and the maximisers."""
    if dom.kind == "ball":
        nl = np.linalg.norm(L, axis=1)
        xs = dom.x0 + dom.rho * L / np.where(nl > 0, nl, 1.0)[:, None]
        return np.einsum("ij,ij->i", L, dom.x0) + dom.rho * nl, xs
    p = dom.x0[:, :-1]
    P = np.sqrt(dom.p2[0])
    pn = p / P[:, None]
    U = L[:, :-1]
    nu = np.linalg.norm(U, axis=1)
    t = np.einsum("ij,ij->i", U, pn)
    c = np.clip(dom.kappa / P, -1.0, 1.0)
    c = np.where(dom.whole, -1.0, c)
    s = np.sqrt(np.maximum(0.0, 1.0 - c * c))
    out = t < c * nu
    val = np.where(out, t * c + s * np.sqrt(np.maximum(nu * nu - t * t, 0.0)), nu)
    vstar = np.where((nu > 0)[:, None], U / np.where(nu > 0, nu, 1.0)[:, None], pn)
    if np.any(out):
        w = U[out] - t[out, None] * pn[out]
        wn = np.linalg.norm(w, axis=1)
        w = np.where(wn[:, None] > 0, w / np.where(wn > 0, wn, 1.0)[:, None], 0.0)
        vstar[out] = c[out, None] * pn[out] + s[out, None] * w
    xs = np.empty_like(L)
    xs[:, :-1] = 0.5 * _SQRT3 * vstar
    xs[:, -1] = 0.5
    return 0.5 * L[:, -1] + 0.5 * _SQRT3 * val, xs


def _single(dom: Domain, k: int) -> Domain:
    if dom.x0.shape[0] != 1:
        raise InputError("this function takes the domain of one centre", "pass make_domain(x_i, rho)")
    return dom.take(np.zeros(k, dtype=np.int64))


def linear_max(dom: Domain, L: np.ndarray):
    """sup over the domain of <Lambda, x> for rows Lambda of L (float), with the maximisers.

    Closed forms (Theorem 5.3's B_2(x, rho) ∩ X, or the ball around it): on the ball
    <Lambda, x0> + rho ||Lambda||; on the cap Lambda_d / 2 + sqrt3/2 * sup over the
    spherical cap of <Lambda', v>. ``dom`` is the domain of one centre.
    """
    L = np.atleast_2d(np.asarray(L, dtype=np.float64))
    return _linmax_float(_single(dom, L.shape[0]), L)


def linear_max_upper(dom: Domain, L: np.ndarray, Lrad: np.ndarray | None = None) -> np.ndarray:
    """Rigorous float upper bound of sup over the domain of <Lambda, x>, Lambda in the ball L ± Lrad."""
    L = np.atleast_2d(np.asarray(L, dtype=np.float64))
    return _linmax_up(_single(dom, L.shape[0]), L, None if Lrad is None else np.atleast_2d(Lrad))


# ---------------------------------------------------------------------------------------
# the network and its pre-activation ranges
# ---------------------------------------------------------------------------------------


def _ranges(dom: Domain, W: np.ndarray, b: np.ndarray, w2=None):
    """Rigorous lo, hi (P, m): lo <= inf over domain i of z_r, hi >= sup (z_r = <W_r, x> + b_r).

    ``w2`` is a :class:`RowNorms` for the domain's kind, a ball of the squared row norms, or None.
    """
    P = dom.x0.shape[0]
    m, d = W.shape
    nrm = w2 if isinstance(w2, RowNorms) else row_norms(W, b, dom.kind, w2)
    if dom.kind == "ball":
        Wb = np.concatenate([W, b[:, None]], axis=1)
        Xb = np.concatenate([dom.x0, np.ones((P, 1))], axis=1)
        nx, nwb = np.linalg.norm(Xb, axis=1), nrm.nw
        z = Xb @ Wb.T
        rn = nrm.root[1] * (dom.rho * (1.0 + 4.0 * _U))  # >= rho ||W_r||, (m,)
        # one error term: the dot products' (Cauchy-Schwarz, float norms within (d+3)u) and z -+ rn +- err's roundings
        err = np.multiply.outer(nx * ((d + 1) * _U * 1.03), nwb) + 4.0 * _U * (np.abs(z) + rn) + (d + 2) * _TINY
        return z - rn - err, z + rn + err
    return _cap_ranges(dom, W, b, nrm)


def _cap_constants(dom: Domain) -> np.ndarray:
    """:func:`_cap_constants_reference` in one compiled pass (:func:`advcert.kernels.relaxation.cap_constants`,
    equal to it bit for bit): the ball operations cost a numpy call each, most of a small cap bound's time."""
    P, d = dom.x0.shape
    if P < COMPILED_ROWS:
        return _cap_constants_reference(dom)
    out = np.empty((P, 10))
    relaxation.cap_constants(np.linalg.norm(dom.x0[:, :-1], axis=1), np.ascontiguousarray(dom.kappa, dtype=np.float64),
                             np.ascontiguousarray(dom.whole, dtype=np.bool_), np.ascontiguousarray(dom.p2[0]),
                             np.ascontiguousarray(dom.p2[1]), d, out)
    return out


def _cap_constants_reference(dom: Domain) -> np.ndarray:
    """The per-centre constants of the cap ranges (Theorem 5.3 relaxation), (P, 10), in the order of
    :func:`advcert.kernels.relaxation.cap_multipliers`: ||p|| (d - 1) u 1.02 (the radius of t = <p, W_r'> per
    unit ||W_r'||), kappa, whether the cap is proper, the relative radius of ||p||^2, sqrt(P^2 - kappa^2) from
    above, inv and dlt with num / P^2 <= num inv + |num| dlt for every P^2 in its ball (dlt also carries the
    roundings), d 2^-1000, |kappa|, ||p||^2."""
    P, d = dom.x0.shape
    kap, (p2m, p2r) = dom.kappa, dom.p2
    proper = ~dom.whole & (_lower(dom.p2) > 0.0)
    sa = _upper(_bsqrt(_clip0(_bsub(dom.p2, _bmul((kap, 0.0), (kap, 0.0))))))  # sqrt(P^2 - kappa^2), (P,)
    p2_lo = np.maximum(_lower(dom.p2), 2.0**-1000)
    inv = 1.0 / np.maximum(p2m, p2_lo)
    dlt = np.maximum(1.0 / p2_lo - inv, inv - 1.0 / _upper(dom.p2)) + 8.0 * _U * inv
    return np.stack([np.linalg.norm(dom.x0[:, :-1], axis=1) * ((d - 1) * _U * 1.02), kap, proper.astype(np.float64),
                     p2r / np.where(p2m > 0, p2m, 1.0), sa, inv, dlt, np.full(P, d * _TINY), np.abs(kap), p2m],
                    axis=1)


def _cap_ranges(dom: Domain, W: np.ndarray, b: np.ndarray, nrm: RowNorms):
    """:func:`_ranges` on caps: W_rd/2 + b_r ± sqrt3/2 sup over the cap of <±W_r', v> (:func:`_capmax_up`), in plain
    float with one a-priori error term per step (the P x m part is most of the cost): t = <p, W_r'> within tr; G =
    ||W_r'||^2 ||p||^2 - t^2 within eg; sqrt(G) <= sqrt(max(G~ + eg, 0)) (1 + 2u); the numerator within tr |kappa|
    plus 4u of its terms. The two signs share everything but the sign of t kappa."""
    m, d = W.shape
    Wh, p = W[:, :-1], dom.x0[:, :-1]
    t = p @ Wh.T
    rows = _cap_constants(dom)
    tr = np.multiply.outer(rows[:, 0], nrm.nw) + d * _TINY
    (n2, (nu_lo, nu_hi)), kap, (p2m, p2r) = (nrm.w2, nrm.root), dom.kappa, dom.p2
    proper = (rows[:, 2] > 0.0)[:, None]
    kn = np.where(kap[:, None] >= 0, kap[:, None] * nu_lo, kap[:, None] * nu_hi)
    kn -= 2.0 * _U * np.abs(kn)  # <= kappa |u|: "t < kappa |u|" below is then certain
    out_hi = ((t + tr) < kn) & proper
    out_lo = ((tr - t) < kn) & proper
    up, dn = np.broadcast_to(nu_hi, t.shape), np.broadcast_to(nu_hi, t.shape)
    if np.any(out_hi) or np.any(out_lo):
        nP = np.multiply.outer(p2m, n2[0])
        tt = t * t
        g = nP - tt
        rp, rn = rows[:, 3], n2[1] / np.where(n2[0] > 0, n2[0], 1.0)  # relative radii
        rel = np.add.outer(rp + 3.0 * _U, rn) + np.multiply.outer(rp, rn)
        eg = (nP * rel + (2.0 * np.abs(t) + tr) * tr + 3.0 * _U * tt) * (1.0 + 16.0 * _U) + _TINY
        eg[:, n2[0] <= 0] = np.inf  # a zero row norm with a radius: no relative form (never in practice)
        B = rows[:, 4:5] * (np.sqrt(np.maximum(g + eg, 0.0)) * (1.0 + 2.0 * _U))
        A = t * kap[:, None]
        err = tr * rows[:, 8:9] + 4.0 * _U * (np.abs(A) + B) + _TINY
        inv, dlt = rows[:, 5:6], rows[:, 6:7]
        C = B + err
        for sign, out in ((1.0, out_hi), (-1.0, out_lo)):
            num = C + A if sign > 0 else C - A
            val = num * inv + np.abs(num) * dlt + _TINY
            res = np.where(out, np.minimum(val, nu_hi), nu_hi)
            up, dn = (res, dn) if sign > 0 else (up, res)
    # W_rd/2 + b_r is one rounding from exact; sqrt3/2 is within u sqrt3 of its float
    cm = 0.5 * W[:, -1] + b
    cr = 2.0 * _U * np.abs(cm)
    s3 = 0.5 * _SQRT3 * (1.0 + 4.0 * _U)
    hu, hd = s3 * up, s3 * dn
    hi = (cm + cr) + hu
    hi += 4.0 * _U * (np.abs(hi) + hu) + _TINY
    lo = (cm - cr) - hd
    lo -= 4.0 * _U * (np.abs(lo) + hd) + _TINY
    return lo, hi


def preactivation_bounds(W, b, dom: Domain) -> tuple[np.ndarray, np.ndarray]:
    """Rigorous float lo <= inf_D z_r and hi >= sup_D z_r, z_r(x) = <W_r, x> + b_r (Thm 5.3 relaxation).

    Exact ranges of a linear map over the domain, rounded outward: on the ball
    z_r(x0) ∓ rho ||W_r||; on the cap W_rd/2 + b_r ± sqrt3/2 * sup_cap <±W_r', v>.
    For the domain of one centre returns (m,) arrays, else (P, m).
    """
    lo, hi = _ranges(dom, np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return (lo[0], hi[0]) if dom.x0.shape[0] == 1 else (lo, hi)
