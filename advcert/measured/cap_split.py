"""Theorem 5.3's sup over the cap B_2(x0, rho) ∩ X bounded by input-space branch and bound.

The neuron splits of :mod:`advcert.measured.crown` cannot close the sandwich on wide nets: at
m = 4096 hundreds of neurons are unstable on a cap of radius 0.2, each adding its chord's slack
(docs/perf-notes.md §9). Splitting the cap itself shrinks
every pre-activation range at once. Cells are boxes in gnomonic coordinates around the cap's
axis, bisected best-first; each is bounded by plain CROWN over the box's own image, and on the
cap's rim, where the loss peaks and a box overhangs the cap, over its part in the cap (a cut
box, and Lagrangian duality for the ball), with rounding accounted for as in
:mod:`advcert.measured.crown`; and, above the goal, also by the DC vertex bound (f = f_+ - f_-
with f_+ exact at the corners of a polytope around the cell: the comment above ``_DC_MU``). The
result is a sound-bound of the builder; the verifier re-derives neuron-split leaves only, so these
cells are not written into certificates.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from advcert import sphere
from advcert.kernels import relaxation
from advcert.kernels import threads
from advcert.kernels.threads import blas_single_thread
from advcert.measured import reference
from advcert.measured.balls import (_SQRT3, _TINY, _U, _badd, _bdot_self, _bexact, _bsqrt, _bsub, _rad, _upper,
                                   row_norms, sum_radius)
from advcert.measured.crown import PointBound, _crown_rows
from advcert.measured.network import TwoLayerNet
from advcert.measured.perturbation import (Domain, _cap_constants, _linmax_float, _linmax_up, cap_abs_bound,
                                           make_domain)

# Gnomonic coordinates. Let Q be an orthonormal frame of R^{d-1} with Q e_0 = p/|p| (the
# cap's axis). A direction v with <v, Q e_0> > 0 has coordinates u = (Q^T v)[1:] / (Q^T v)[0]
# in R^{d-2}, |u| = tan angle(v, axis), and v = Q (1, u) / sqrt(1 + |u|^2). The cap of angular
# radius theta < pi/2 is the ball |u| <= tan theta, inside the box [-T, T]^{d-2}, T >= tan theta.
# Boxes are bisected along their longest side, so the leaves of the tree tile the root box and
# their cells cover the cap. The map u -> v is 1-Lipschitz from the Euclidean u-plane to the
# sphere's geodesic distance (its derivative has singular values 1/(1 + |u|^2) and
# 1/sqrt(1 + |u|^2)), so the cell of the box [l, h] lies in the cap of angular radius |h - l|/2
# around the image of its centre: the domain of that leaf's CROWN bound. The frame is orthonormal
# to ~1e-15 in float; every angle is inflated by 1e-9 relatively plus 1e-10, far above that.

_ANGLE_REL = 1e-9
_ANGLE_ABS = 1e-10


def _cap_frame(p: np.ndarray) -> np.ndarray:
    """An orthonormal frame Q of R^{d-1} (columns) with Q e_0 = p / |p| (Householder)."""
    k = p.shape[0]
    e = p / np.linalg.norm(p)
    v = e.copy()
    v[0] -= 1.0
    nv = float(v @ v)
    if nv < 1e-30:
        return np.eye(k)
    return np.eye(k) - 2.0 * np.outer(v, v) / nv


def _chart(Q: np.ndarray, U: np.ndarray):
    """The directions v = Q (1, u) / ||Q (1, u)|| of the gnomonic points u (rows), and the norms ||Q (1, u)||."""
    w = np.concatenate([np.ones((U.shape[0], 1)), U], axis=1) @ Q.T
    n = np.linalg.norm(w, axis=1)
    return w / n[:, None], n


def _cell_domains(Q: np.ndarray, L: np.ndarray, H: np.ndarray, T: float | None = None) -> Domain:
    """Caps covering the cells of the gnomonic boxes [L_i, H_i] (rows), as a batched Domain.

    With ``T`` only the part of each box inside the ball |u| <= T (the cap's points) is covered:
    there |u - c|^2 = |u|^2 - 2 <u, c> + |c|^2 <= T^2 + |c|^2 + 2 sum_k max(-l_k c_k, -h_k c_k),
    which is far below the half-diagonal for boxes that overhang the ball (the root, the rim).
    """
    uc = 0.5 * (L + H)
    r2 = 0.25 * np.einsum("ij,ij->i", H - L, H - L)
    if T is not None:
        r2 = np.minimum(r2, T * T + np.einsum("ij,ij->i", uc, uc) + 2.0 * np.maximum(-L * uc, -H * uc).sum(axis=1))
    r = np.sqrt(np.maximum(r2, 0.0)) * (1.0 + _ANGLE_REL) + _ANGLE_ABS
    q = _chart(Q, uc)[0]
    kappa = np.cos(np.minimum(r, math.pi)) - 1e-12  # q is unit to ~1e-16: 1e-12 covers it
    X = np.concatenate([q, np.full((q.shape[0], 1), 0.5)], axis=1)
    p2 = _bdot_self(q)
    return Domain("cap", X, 0.0, kappa, kappa <= -_upper(_bsqrt(p2)), p2)


# The box's own image. Let u range over the box [l, h] (centre c, half-widths h_k) and v = Q (1, u) /
# ||Q (1, u)||, Q the float frame taken as exact numbers. Then <w, v> = N(u) / D(u) with N(u) = <Q^T w, (1, u)>
# = <w, Q (1, c)> + sum_k (Q^T w)_{k+1} (u_k - c_k), so N(u) lies within n_i <w, q_i> ± sum_k |Q^T w|_{k+1} h_k,
# q_i = Q (1, c) / n_i the cell's centre and n_i its norm, both as the cap's domain computes them; and D(u)^2 =
# (1, u)^T Q^T Q (1, u) lies within (1 ± e_Q) ||(1, u)||^2, e_Q >= ||Q^T Q - I||_2, ||(1, u)||^2 within 1 + sum_k
# dist(0, [l_k, h_k])^2 and 1 + sum_k max(l_k^2, h_k^2). The float steps err by at most ~d^1.5 u relatively (the
# products Q^T w and Q (1, c), the normalisation, the sums), far below the kernels' BOX_EPS = 1e-11, and the
# half-widths are rounded up so that [c - h, c + h] contains [l, h]. These ranges, and the sup of a linear function
# over the box (_boxmax_up), replace the covering cap's, which never tightened a bound at d = 10 (its closed forms
# remain for ``CapSplit(box=False)``). On the rim, where a box overhangs the ball |u| <= T, only its part in the
# ball is in the cap: the box is first cut to it (_trim_to_ball), then bounded over it by duality (_ball_dual), and
# D(u)^2 <= (1 + e_Q)(1 + T^2) there.

_BOX_REL = 1e-12


def _frame_error(Q: np.ndarray) -> float:
    """A float >= ||Q^T Q - I||_2 for the float frame Q (its Frobenius norm, with the roundings of Q^T Q)."""
    k = Q.shape[0]
    E = Q.T @ Q - np.eye(k)
    return float(np.sqrt(np.sum(E * E))) * 1.01 + 1.02 * k * k * _U + _TINY


def _box_rows(Q: np.ndarray, L: np.ndarray, H: np.ndarray, eq: float, tb: float) -> np.ndarray:
    """Per box the constants of the kernel's box ranges (relaxation.cell_multipliers): [n_i, sum_k h_k, D_lo, D_hi,
    rim, T^2, sum_k max(|l_k|, |h_k|), 1/(2T), h_0 .. h_(k-1), l_0 .., h_0 ..], with the same centres and norms as
    :func:`_cell_domains` (see the comment above :func:`_frame_error`); ``rim`` marks boxes that overhang the ball
    |u| <= T = ``tb``, whose part in the ball is bounded by :func:`_ball_dual`."""
    uc = 0.5 * (L + H)
    h = 0.5 * (H - L) * (1.0 + _BOX_REL) + _BOX_REL * np.abs(uc) + _TINY
    n = _chart(Q, uc)[1]
    gap = np.maximum(np.maximum(L, 0.0), np.maximum(-H, 0.0))
    lo2 = 1.0 + np.einsum("ij,ij->i", gap, gap)
    far2 = np.maximum(L * L, H * H).sum(axis=1)
    rim = far2 > tb * tb
    hi2 = 1.0 + np.minimum(far2, tb * tb * (1.0 + _BOX_REL))  # only the box's points in the ball are in the cap
    dlo = np.sqrt(lo2 * (1.0 - eq)) * (1.0 - _BOX_REL)
    dhi = np.sqrt(hi2 * (1.0 + eq)) * (1.0 + _BOX_REL)
    B = uc.shape[0]
    cols = [n, h.sum(axis=1) * (1.0 + _BOX_REL), dlo, dhi, rim.astype(np.float64),
            np.full(B, tb * tb * (1.0 + _BOX_REL)),
            np.maximum(np.abs(L), np.abs(H)).sum(axis=1) * (1.0 + _BOX_REL), np.full(B, 0.5 / tb)]
    return np.ascontiguousarray(np.concatenate([np.stack(cols, axis=1), h, L, H], axis=1))


def _trim_to_ball(L: np.ndarray, H: np.ndarray, tb: float):
    """The boxes [L_i, H_i] cut to a box that still holds their part in the ball |u| <= tb (rows meeting the ball).

    On the rim a child of a bisection overhangs the ball, and along a coordinate k its part in the ball ends at
    |u_k| = sqrt(tb^2 - sum_{j != k} dist(0, [l_j, h_j])^2): cutting there loses no point of the cap (the leaves
    still cover it) and narrows every range and sup over the box.
    """
    gap = np.maximum(np.maximum(L, 0.0), np.maximum(-H, 0.0))
    g2 = gap * gap
    # the float sums err by at most (k + 2) u tb^2 (they are below tb^2 on rows meeting the ball): 1e-12 tb^2 covers
    # it for k < 4000, before the root (whose relative error is large where its argument is tiny)
    rest = np.maximum(tb * tb * (1.0 + 1e-12) - (g2.sum(axis=1)[:, None] - g2), 0.0)
    ext = np.sqrt(rest) * (1.0 + 1e-12)
    return np.maximum(L, -ext), np.minimum(H, ext)


def _ball_dual(g0: np.ndarray, g: np.ndarray, L: np.ndarray, H: np.ndarray, tb2, mu: np.ndarray) -> np.ndarray:
    """Rigorous float upper bound of sup{g0_i + <g_i, u> : u in [L_i, H_i], |u|^2 <= tb2} for the multipliers mu_i > 0.

    Weak duality: <g, u> <= <g, u> - mu |u|^2 + mu tb2 on the ball, and the sup over the box of the separable
    concave part is sum_k (g_k^2 / (4 mu) - mu dist(g_k / (2 mu), [l_k, h_k])^2). The float distance is rounded
    down by 4u of its terms; every other rounding is below relaxation.BOX_EPS of the terms' magnitudes. The
    kernels' ``_ball_tighten`` (per neuron) and ``box_numerator_up`` (per cell) evaluate the same bound.
    """
    eps = relaxation.BOX_EPS
    t = g * (0.5 / mu)[:, None]
    dd = np.maximum(np.maximum(L - t, t - H), 0.0)
    dd = np.maximum(dd - (4.0 * _U * (np.abs(L) + np.abs(H) + np.abs(t)) + _TINY), 0.0)
    p1 = g * g * (0.25 / mu)[:, None]
    p2 = mu[:, None] * dd * dd
    mt = mu * tb2
    val = g0 + ((p1 - p2).sum(axis=1) + mt)
    return val + (eps * ((p1 + p2).sum(axis=1) + mt + np.abs(g0)) + _TINY)


#: the multiples of ||g|| / (2 T) tried as the ball's multiplier in the linear sups (one call per cell batch, so more
#: of them than the kernel's relaxation.BALL_MU per neuron)
_LIN_MU = (0.35, 0.5, 0.7, 1.0, 1.4)


def _box_numerator_reference(lv: np.ndarray, L: np.ndarray, H: np.ndarray, boxv: np.ndarray,
                             mus=_LIN_MU) -> np.ndarray:
    """Per row a float >= sup of lv_0 + <lv_{1:}, u> over the box [L_i, H_i] (its part in the ball on the rim, by
    :func:`_ball_dual`), before lv's own roundings: the numpy reference of relaxation.box_numerator_up."""
    k = L.shape[1]
    uc = 0.5 * (L + H)
    N = lv[:, 0] + np.einsum("ij,ij->i", lv[:, 1:], uc) + np.einsum("ij,ij->i", np.abs(lv[:, 1:]), boxv[:, 8 : 8 + k])
    rim = np.flatnonzero(boxv[:, 4] > 0.0)
    if rim.size:
        g = lv[rim, 1:]
        gn = np.linalg.norm(g, axis=1)
        ok = gn > 0.0
        rim, g, gn = rim[ok], g[ok], gn[ok]
        for f in mus:
            N[rim] = np.minimum(N[rim], _ball_dual(lv[rim, 0], g, L[rim], H[rim], boxv[rim, 5], f * gn * boxv[rim, 7]))
    return N


def _boxmax_up(Q: np.ndarray, L: np.ndarray, H: np.ndarray, boxv: np.ndarray, Lm: np.ndarray, Lr: np.ndarray):
    """Rigorous upper bound of sup over the image of box i (its part in the ball |u| <= T when it overhangs it) of
    <Lambda_i, x>, x = (sqrt3/2 v, 1/2), Lambda_i in the ball Lm_i ± Lr_i (see the comment above
    :func:`_frame_error`)."""
    eps = relaxation.BOX_EPS
    lv = np.ascontiguousarray(Lm[:, :-1] @ Q)  # Q^T Lambda'
    nl = np.linalg.norm(Lm[:, :-1], axis=1)
    N = np.empty(L.shape[0])
    relaxation.box_numerator_up(lv, np.ascontiguousarray(L), np.ascontiguousarray(H), boxv, _LIN_MU, N)
    N = N + eps * nl * (1.0 + boxv[:, 6] + boxv[:, 1]) + _TINY
    v = np.where(N >= 0.0, N / boxv[:, 2], N / boxv[:, 3])
    v = v + eps * np.abs(v)
    hv = 0.5 * _SQRT3 * v
    hv = hv + eps * np.abs(hv)
    tot = hv + 0.5 * Lm[:, -1] + (Lr @ cap_abs_bound(Lm.shape[1])) * (1.0 + eps)
    return tot + eps * (np.abs(tot) + np.abs(hv) + np.abs(Lm[:, -1])) + _TINY


# The DC vertex bound (docs/perf-notes.md §9). With v in R^{d-1}, z_r = beta N_r . (1, u) + off_r at the point
# beta Q(1, u), N_r = (sqrt(3)/2 W_r') Q. On a cell, f equals f~: the fixed part (linear) plus the undecided
# neurons. For the side sigma, f~ splits into f_+ (the undecided neurons with sigma a_r > 0, and the fixed part) and
# f_- (those with sigma a_r < 0), both convex in v; f_- lies above its minorant sum |a_r| z_r over the neurons
# positive at the cell's centre (a tangent: any choice is a minorant). So sigma (f - y) <= F, convex, and for mu >= 0
# F + mu (<v, p> - kappa) is >= sigma (f - y) on the cap's points and convex: its max over any polytope that holds
# the cell bounds the cell. That polytope: the cone over the box's 2^k corner rays q_k = Q(1, u_k), between the
# points a_k = q_k (1 - 1e-12)/|q_k| (inside the unit ball) and b_k = q_k / <q_k, c> (on the plane <x, c> = 1, |c|
# <= 1): a unit v = sum mu_k q_k of the cone is S_a y with y in conv(a_k), S_a = 1/|y| >= 1, and S_b z with z in
# conv(b_k), S_b <= <v, c> <= 1, so v lies between y and z on its ray. f_+ is taken jointly, through its exact corner
# values, which no relaxation of one neuron at a time does (the convex barrier, perf-notes §9). Every float step is
# within BOX_EPS of its scale (|t_r| <= |N_r|_1 (1 + |u|_1) <= wl1_r u1, gamma <= 2 by the 60-degree check).
_DC_MU = np.concatenate([[0.0], np.geomspace(1e-3, 30.0, 16)])


def _dc_inputs(net: TwoLayerNet, Q: np.ndarray):
    # the per-neuron rows of the DC vertex bound: N_r = (sqrt(3)/2 W_r') Q, off_r = W_rd/2 + b_r, |sqrt(3)/2 W_r'|_1
    Wv = net.W[:, :-1] * (0.5 * math.sqrt(3.0))
    return (np.ascontiguousarray(Wv @ Q), np.ascontiguousarray(net.W[:, -1] * 0.5 + net.b),
            np.ascontiguousarray(np.abs(Wv).sum(axis=1)))


def _dc_fixed(Q: np.ndarray, fm: np.ndarray, fr: np.ndarray):
    # the fixed parts (mid fm, rad fr of (Lambda, const) over x = (sqrt(3)/2 v, 1/2)) as rows over (1, u): at the point
    # beta Q(1, u) the part is beta fixrow . (1, u) + fixc, within fixerr (|x_j| <= sqrt(3) on the polytope) + BOX_EPS
    d = fm.shape[1] - 1
    h = 0.5 * math.sqrt(3.0)
    rows = np.ascontiguousarray((fm[:, : d - 1] * h) @ Q)
    const = np.ascontiguousarray(fm[:, d - 1] * 0.5 + fm[:, d])
    l1 = np.ascontiguousarray(np.abs(fm[:, : d - 1]).sum(axis=1) * h)
    err = (math.sqrt(3.0) * fr[:, : d - 1].sum(axis=1) + 0.5 * fr[:, d - 1] + fr[:, d]) * (1 + 1e-9)
    return rows, const, l1, np.ascontiguousarray(err)


def _dc_vertex_reference(Q, L, H, cells, neurons, fixed, cap, y, mus):
    """relaxation.dc_vertex_up in numpy (each corner evaluated directly): the DC vertex bound of the cells with boxes
    [L_i, H_i] and undecided neurons cells[i] (the comment above); +inf where a corner is over 60 degrees from the
    centre. neurons = (NQ, off, a, wl1) (:func:`_dc_inputs` and the net's a), fixed = :func:`_dc_fixed`'s four rows,
    cap = (p Q, kappa, |p|_1). The slow reference of Theorem 5.3's DC vertex bound, for tests."""
    NQ, off, a, wl1 = neurons
    fixrow, fixc, fixl1, fixerr = fixed
    caprow, kap, capl1 = cap
    B, k = L.shape
    bits = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(np.float64)
    out = np.empty(B)
    mumax = float(np.max(mus))
    for i in range(B):
        U = np.asarray(cells[i], dtype=np.int64)
        n = U.size
        eps = max(relaxation.BOX_EPS, 4.0 * (n + 600.0) * _U)
        uc = 0.5 * (L[i] + H[i])
        u1 = 1.0 + float(np.sum(np.maximum(np.abs(L[i]), np.abs(H[i]))))
        c = Q @ np.concatenate([[1.0], uc])
        cn = math.sqrt(float(c @ c))
        c = c * ((1.0 - 1e-12) / cn)
        E = np.concatenate([np.ones((2**k, 1)), L[i] + (H[i] - L[i]) * bits], axis=1)  # (1, u_k)
        q = E @ Q.T
        nq = np.sqrt(np.einsum("ij,ij->i", q, q))
        qc = q @ c
        if not np.all(qc >= 0.5 * nq):
            out[i] = np.inf
            continue
        beta, gam = (1.0 - 1e-12) / nq, 1.0 / qc
        T = E @ NQ[U].T  # (corners, n)
        zc = (NQ[U] @ np.concatenate([[1.0], uc])) / cn + off[U]
        best = -np.inf
        for sg in (1.0, -1.0):
            sa = sg * a[U]
            add, tang = sa > 0, (sa < 0) & (zc > 0)
            lrow = sg * fixrow[i] + sa[tang] @ NQ[U[tang]]
            lcon = sg * fixc[i] - sg * y + float(sa[tang] @ off[U[tang]])
            tl = E @ lrow
            vals = []
            for s in (beta, gam):
                z = s[:, None] * T[:, add] + off[U[add]]
                F = np.maximum(z, 0.0) @ sa[add] + (s * tl + lcon)
                g = s * (E @ caprow) - kap
                vals.append((F, g))
            F = np.concatenate([v[0] for v in vals])
            g = np.concatenate([v[1] for v in vals])
            best = max(best, float(np.min(np.max(F[:, None] + g[:, None] * np.asarray(mus)[None, :], axis=0))))
        gmax = float(np.max(gam))
        scale = float(np.sum(np.abs(a[U]) * (wl1[U] * u1 * gmax + np.abs(off[U]))))
        err = eps * (scale + fixl1[i] * u1 * gmax + abs(fixc[i]) + abs(y) + mumax * (capl1 * u1 * gmax + abs(kap)))
        out[i] = best + (err + fixerr[i] + _TINY)
    return out


def _box_corner(Q: np.ndarray, L: np.ndarray, H: np.ndarray, Lm: np.ndarray) -> np.ndarray:
    """The corner of box i where <Lambda_i', Q (1, u)> is largest (float): an attack point of the split."""
    g = Lm[:, :-1] @ Q[:, 1:]
    return np.where(g > 0.0, H, np.where(g < 0.0, L, 0.5 * (L + H)))


@dataclass(frozen=True)
class CapSplit:
    """The input-space split of Theorem 5.3's cap B_2(x0, rho) ∩ X at one point, and when it stops.

    Cells are gnomonic boxes around the cap's axis, bisected best-first (worst bound first),
    ``batch`` at a time; the search stops at upper <= goal, with goal = max(min(lower (1 +
    rel_gap), L0 + (1 + var_gap)(lower - L0)), lower + abs_gap) and L0 = |f(x0) - y| (the
    loss's variation over the set, not its size, is what the gap is measured against), or
    after ``max_cells`` cell bounds (a count: the same leaves on any machine); ``time_budget``
    seconds and ``max_entries`` (the undecided neurons stored over all open cells, 2 bytes
    each below 2^15 neurons, else 4) are only safety caps, and a bound stopped by one says so
    (``PointBound.time_capped``).
    Every stop leaves a sound bound: the max over the leaves. ``box`` bounds each cell over the box's own
    image (its part in the ball |u| <= T on the rim) rather than over the cap that covers it (``False``:
    the covering cap only, for comparison; 7-20x more cells for the same bound at d = 8-10,
    docs/perf-notes.md §9). ``dc`` (with ``box``, at d - 2 <= 8) also bounds every child CROWN leaves above the goal
    by the DC vertex bound (the comment above ``_DC_MU``: f_+ exact at the 2^(d-2) corners, past the single-neuron
    barrier, at about 5x a CROWN cell's cost) and keeps the smaller; ``batch`` (cells bisected a round) defaults to
    256 with it and 1024 without, the faster of each at d = 10 in one second.
    """

    rel_gap: float = 0.01
    var_gap: float = 0.25
    abs_gap: float = 1e-9
    max_cells: int = 20000
    batch: int | None = None
    time_budget: float | None = None
    max_entries: int = 1 << 28
    box: bool = True
    dc: bool = True


def cap_split_bound(net: TwoLayerNet, x0, y, rho, *, lower: float = 0.0, split: CapSplit = CapSplit()) -> PointBound:
    """Sound upper bound of sup_{x in B_2(x0, rho) ∩ X} |f_W(x) - y| by input-space branch and bound.

    Theorem 5.3's robust loss at one point, from above: the cap is split into cells (see the
    comment above :func:`_cap_frame`), each bounded by plain CROWN over its box's own image, on the
    rim over the box's part in the cap (see the comment above :func:`_frame_error`; with
    ``CapSplit(box=False)`` over the cap that covers the box). The upper end is the max over
    the open cells (a sound-bound, rounding accounted for); the relaxations' maximisers are
    attack points (``lower``, an estimate). Caps of angular radius >= pi/2 are not split.
    Builder-side only: the verifier re-derives neuron-split leaves, not these cells. Where it is
    loose: each cell's CROWN is near the triangle LP of its undecided neurons, the best of any
    relaxation of one neuron at a time, and at d = 10 that barrier is what a second of CROWN cells
    leaves above the attack; the DC vertex bound (``CapSplit.dc``, the default) goes past it and
    halves the gap at equal time (docs/perf-notes.md §9; :func:`cell_ranges` reads a cell's
    undecided neurons).
    """
    with blas_single_thread():
        t0 = time.perf_counter()
        x0 = np.asarray(x0, dtype=np.float64)
        dom = make_domain(x0, rho, "cap")
        yv = np.array([float(y)])
        W, b = net.W, net.b
        w2 = row_norms(W, b, "cap")
        crown, _ = _crown_rows(dom, net, w2, yv)
        L0 = float(abs(reference.f_value(net, x0[None, :])[0] - float(y)))
        best, witness = max(float(lower), L0), x0.copy()
        chart = _split_chart(dom)
        if chart is None:
            return PointBound(upper=float(crown[0]), crown=float(crown[0]), lower=best, witness=witness, leaves=(),
                              domain="cap", nodes=1, seconds=time.perf_counter() - t0, complete=False)
        Q, T = chart
        search = _CellSearch(net, w2, yv[0], Q, T, dom.d - 2, split, rho)
        search.best, search.witness, search.L0, search.centre = best, witness, L0, x0[None, :]
        search.run(t0)
        upper = min(search.upper(), float(crown[0]))
        return PointBound(upper=upper, crown=float(crown[0]), lower=search.best, witness=search.witness, leaves=(),
                          domain="cap", nodes=search.nodes, seconds=time.perf_counter() - t0,
                          complete=upper <= search.goal(), time_capped=search.time_capped, cells=search.cells())


def _split_chart(dom: Domain, need: bool = False):
    # the frame Q and the half-side T of the root box of the cap's split; None (with need, ValueError) for caps of
    # angular radius near or past pi/2, which are not split
    P = math.sqrt(float(dom.p2[0][0]))
    cos_t = float(dom.kappa[0]) / P
    if dom.whole[0] or cos_t <= 0.05:
        if need:
            raise ValueError("this cap (angular radius over 87 degrees) is not split, so it has no cells: give a "
                             "radius rho below 1.19")
        return None
    T = math.tan(math.acos(min(cos_t, 1.0)) * (1.0 + _ANGLE_REL) + _ANGLE_ABS)
    return _cap_frame(dom.x0[0, :-1]), T


def _one_cell(net: TwoLayerNet, x0, y, rho, lo, hi):
    # a search holding the one open cell [lo, hi] (cell 1) of the split at x0, CROWN-bounded, with its undecided
    # neurons in the pool and, from the kernel, their ranges; (None, None) for the box that misses the cap
    x0 = np.asarray(x0, dtype=np.float64)
    dom = make_domain(x0, rho, "cap")
    Q, T = _split_chart(dom, need=True)
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    ok = lo.shape == (dom.d - 2,) and hi.shape == lo.shape
    if not ok or not np.all(np.isfinite(lo) & np.isfinite(hi) & (lo <= hi)):
        raise ValueError(f"a cell is a box of finite lo <= hi in R^{dom.d - 2} (a CapCell's lo and hi); got shapes "
                         f"{lo.shape} and {hi.shape}")
    search = _CellSearch(net, row_norms(net.W, net.b, "cap"), y, Q, T, dom.d - 2, CapSplit(dc=False), rho)
    search.centre = x0[None, :]
    search.goal = lambda: -math.inf  # the cell stays open, so that its undecided neurons are kept
    out = search.evaluate(lo[None].copy(), hi[None].copy(), np.zeros(1, dtype=np.int64), ranges=True)
    if out is None or search.n < 2:
        return None, None
    return search, out


def cell_ranges(net: TwoLayerNet, x0, rho, lo, hi):
    """The neurons undecided on one cell of :func:`cap_split_bound`'s split, and their pre-activation ranges there.

    Theorem 5.3's cap at x0, the cell of the gnomonic box [lo, hi] (a :class:`CapCell`'s, or any box in the root
    [-T, T]^{d-2}): returns (neurons, low, high), the ranges of w_r . x + b_r over the box's image in the cap as the
    split bounds them (sound, rounding accounted for); every other neuron keeps one sign on the cell. For reading
    where the split's relaxation is loose (benchmarks/bench_peers.py, table 5); returns None for the box that misses
    the cap, and raises ValueError for caps the split does not split.
    """
    with blas_single_thread():
        search, out = _one_cell(net, x0, 0.0, rho, lo, hi)
        if search is None:
            return None
        Cr, _, cc = out
        c0, cn = int(search.pstart[1]), int(search.pcount[1])
        return search.pool[c0 : c0 + cn].astype(np.int64), Cr[0, : cc[0]].copy(), Cr[1, : cc[0]].copy()


def cell_dc_bound(net: TwoLayerNet, x0, y, rho, lo, hi) -> float:
    """The DC vertex bound alone of sup |f - y| over the cap's points in one cell of :func:`cap_split_bound`'s split.

    Theorem 5.3's cap at x0 and the gnomonic box [lo, hi], as :func:`cell_ranges`: the bound the split takes the min
    of with CROWN's (the comment above ``_DC_MU``; a sound-bound, rounding accounted for), +inf for a cell wider
    than 60 degrees or d - 2 > 8, -inf for the box that misses the cap. For reading what the joint bound buys
    against the convex barrier (benchmarks/bench_peers.py, table 5).
    """
    with blas_single_thread():
        search, _ = _one_cell(net, x0, y, rho, lo, hi)
        if search is None:
            return -math.inf
        if not 1 <= search.L.shape[1] <= 8:
            return math.inf
        cell = np.ones(1, dtype=np.int64)
        return float(search._dc_cells(cell, search.pool, search.pstart[cell], search.pcount[cell])[0])


def cell_points(x0, rho, U):
    """The points of X with gnomonic coordinates U (rows) in the split of Theorem 5.3's cap at x0.

    The chart of :func:`cap_split_bound`'s cells (float, for sampling a cell: an estimate's points, never a bound's);
    returns (points, inside), inside marking the rows with |u| <= T, whose points lie in the cap up to rounding.
    Raises ValueError for caps the split does not split.
    """
    dom = make_domain(np.asarray(x0, dtype=np.float64), rho, "cap")
    Q, T = _split_chart(dom, need=True)
    U = np.atleast_2d(np.asarray(U, dtype=np.float64))
    return sphere.lift(_chart(Q, U)[0]), np.einsum("ij,ij->i", U, U) <= T * T


class _CellSearch:
    # the mutable state of one input-space branch and bound, in arrays that grow by doubling (every cell
    # ever made, by id): its box, bound, the ball of its fixed part (the sum of a_r z_r over the neurons
    # active on all of it) and its state (open, a leaf for good, or split); and per open cell the neurons
    # still undecided on it, so that a child examines only its parent's undecided neurons
    # (advcert.kernels.relaxation.cell_multipliers)
    OPEN, DONE, SPLIT = 0, 1, 2

    def __init__(self, net, w2, y, Q, T, k, split: CapSplit, rho) -> None:
        self.net, self.w2, self.y, self.Q = net, w2, float(y), Q
        self.split, self.rho, self.T = split, float(rho), T
        self.tb = T * (1.0 + 1e-9)  # the ball |u| <= tb holds the cap's preimage with the frame's rounding
        m, d = net.W.shape
        self.F = sum_radius(m + 2)  # the radii of the kernel's sums: at most m + 2 products each
        nrm = w2 if w2.cols is not None else row_norms(net.W, net.b, "cap")
        self.cols = np.ascontiguousarray(nrm.cols.T)  # one row per neuron: the kernel gathers neurons
        self.wcol = nrm.wcol  # float norms of the columns of [W b]
        cap = 1024
        self.L, self.H = np.empty((cap, k)), np.empty((cap, k))
        self.bnd = np.empty(cap)
        self.fm, self.fr = np.zeros((cap, d + 1)), np.zeros((cap, d + 1))  # ball of (Lambda, const), sigma = +1
        self.state = np.full(cap, self.SPLIT, dtype=np.int8)
        self.n = 1  # cell 0: the root box, a parent only (its one child is the root cell)
        self.L[0], self.H[0], self.bnd[0] = -T, T, np.inf
        # the undecided neurons of the open cells, as indices (int16 below 2^15 neurons) in one pool: cell c owns
        # pool[pstart[c] .. pstart[c] + pcount[c] - 1] (pcount 0 once closed). Closed cells' entries are garbage until
        # the pool fills up, when it is compacted in place (or doubled when the live part is over half of it). Fresh
        # memory costs a page fault per 4 KB (1-4 us on this kind of machine): per-cell arrays of (index, lo, hi),
        # 24 bytes an entry, spent more time there than the kernel spent bounding the cells
        self.itype = np.int16 if m < 1 << 15 else np.int32
        # reserved, not touched: a page costs only when first written, so a large pool spares the copies of growing
        self.pool = np.empty(max(4 * m, min(1 << 26, split.max_entries)), dtype=self.itype)
        self.pool[:m] = np.arange(m, dtype=self.itype)
        self.pstart, self.pcount = np.zeros(cap, dtype=np.int64), np.zeros(cap, dtype=np.int64)
        self.pcount[0] = m
        self.used = m  # columns of the pool in use, live or garbage
        self.live = m  # entries of open cells
        self.ck = np.empty(0, dtype=self.itype)  # the kernel's output indices, reused from batch to batch
        # the box's own ranges (comment above _frame_error) need the frame's coordinates of each row of W
        self.eq = _frame_error(Q)
        self.box = bool(split.box) and k >= 1 and self.eq < 1e-10 and d <= 256
        if self.box:  # the kernel's per-neuron record (relaxation.cell_multipliers)
            wt = net.W[:, :-1] @ Q
            c = nrm.cols
            self.wq = np.ascontiguousarray(np.concatenate(
                [net.W, net.a[:, None], net.b[:, None], c[0][:, None], c[5][:, None], c[6][:, None], wt,
                 np.linalg.norm(wt[:, 1:], axis=1)[:, None]], axis=1))
        else:
            self.wq = np.empty((m, 0))
        # the DC vertex bound (comment above _DC_MU) on the cells CROWN leaves above the goal: 2^k corners a cell
        self.dc = self.box and split.dc and 1 <= k <= 8
        self.dcn = self.dccap = None  # its inputs, derived at its first use (the cap's from the centre)
        self.batch = split.batch if split.batch is not None else (256 if self.dc else 1024)
        self.nodes = 0
        self.time_capped = False
        self.best, self.witness, self.L0, self.centre = 0.0, None, 0.0, None

    def goal(self) -> float:
        s = self.split
        g = min(self.best * (1.0 + s.rel_gap), self.L0 + (1.0 + s.var_gap) * (self.best - self.L0))
        return max(g, self.best + s.abs_gap)

    def _bounds(self, dom: Domain, fix, rlx, box=None):
        # the sound bound of each side over each cell: sigma * fixed part + the relaxation of the undecided
        # neurons, as balls; sup over the cell's cap of <Lambda, x> in closed form (advcert.measured.perturbation)
        d = dom.d
        P = dom.x0.shape[0]
        out, lam = np.empty((2, P)), np.empty((2, P, d))
        for side, sg in ((0, 1.0), (1, -1.0)):
            r = rlx[:, side]
            rad = np.multiply.outer(np.sqrt(r[:, d + 1]), self.wcol) * self.F
            rad[:, d] += r[:, d + 2] * self.F
            tot = _badd((sg * fix[0], fix[1]), (r[:, : d + 1], _rad(rad)))
            if box is not None:  # the covering cap's closed form never tightened a bound at d = 10
                head = _boxmax_up(self.Q, box[0], box[1], box[2], tot[0][:, :d], tot[1][:, :d])
            else:
                head = _linmax_up(dom, tot[0][:, :d], tot[1][:, :d])
            val = _badd((head, np.zeros(P)), (tot[0][:, d], tot[1][:, d]))
            out[side] = _upper(_bsub(val, _bexact(np.full(P, sg * self.y))))
            lam[side] = tot[0][:, :d]
        return out, lam

    def _grow(self, need: int) -> None:
        cap = self.bnd.size
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for name in ("L", "H", "bnd", "fm", "fr", "state", "pstart", "pcount"):
            old = getattr(self, name)
            arr = np.empty((new,) + old.shape[1:], dtype=old.dtype)
            arr[:cap] = old
            setattr(self, name, arr)

    def evaluate(self, L, H, parents, ranges: bool = False):
        # bound the children boxes [L, H] of the cells ``parents`` (ids) and append them as open or done cells;
        # boxes that miss the ball |u| <= T are dropped (no point of the cap maps into them). With ``ranges`` it
        # returns the undecided neurons' ranges of the kept boxes (as the kernel writes them: columns cs[i] on,
        # ccount[i] of them), for tests
        gap = np.maximum(np.maximum(L, 0.0), np.maximum(-H, 0.0))
        keep = np.einsum("ij,ij->i", gap, gap) <= self.tb**2
        L, H, parents = L[keep], H[keep], parents[keep]
        if self.box:
            L, H = _trim_to_ball(L, H, self.tb)
        B = L.shape[0]
        if not B:
            return
        net = self.net
        d = net.W.shape[1]
        dom = _cell_domains(self.Q, L, H, self.tb)
        # the parents' undecided neurons, read in place from the pool (siblings share them); the children's go to Ck
        Pk = self.pool
        ps = np.ascontiguousarray(self.pstart[parents])
        pe = ps + self.pcount[parents]
        cs = np.concatenate([[0], np.cumsum(pe - ps)]).astype(np.int64)
        if self.ck.shape[0] < cs[-1]:
            self.ck = np.empty(max(int(cs[-1]), 2 * self.ck.shape[0]), dtype=self.itype)
        Ck = self.ck
        Cr = np.empty((2, int(cs[-1]) if ranges else 0))
        fixd, rlx = np.empty((B, d + 2)), np.empty((B, 2, d + 3))
        ccount = np.empty(B, dtype=np.int64)
        X = np.ascontiguousarray(dom.x0)
        rowv = np.zeros((B, 10)) if self.box else _cap_constants(dom)  # the cap's ranges only without the box
        boxv = _box_rows(self.Q, L, H, self.eq, self.tb) if self.box else np.empty((B, 0))

        def part(lo: int, hi: int) -> None:  # the kernel on cells lo..hi-1 (offsets are absolute: disjoint writes)
            relaxation.cell_multipliers(X[lo:hi], rowv[lo:hi], self.cols, net.W, net.b, net.a, Pk, ps[lo:hi],
                                        pe[lo:hi], fixd[lo:hi], rlx[lo:hi], Ck, cs[lo:hi], ccount[lo:hi], boxv[lo:hi],
                                        self.wq, Cr)

        threads.spread_range(part, B, threads.parts(int(cs[-1]) * d * 2, B))
        fix = _badd((self.fm[parents], self.fr[parents]),
                    (fixd[:, : d + 1], _rad(np.multiply.outer(np.sqrt(fixd[:, d + 1]), self.wcol) * self.F)))
        box = (L, H, boxv) if self.box else None
        sides, lam = self._bounds(dom, fix, rlx, box)
        bnd = sides.max(axis=0)
        self.nodes += B
        self._attack(dom, bnd, sides, lam, box)
        i0 = self.n
        self._grow(i0 + B)
        sl = slice(i0, i0 + B)
        self.L[sl], self.H[sl], self.bnd[sl], self.fm[sl], self.fr[sl] = L, H, bnd, fix[0], fix[1]
        if self.dc:  # the children CROWN leaves above the goal get min(CROWN, the DC vertex bound)
            c = np.flatnonzero(bnd > self.goal())
            if c.size:
                bnd = bnd.copy()
                bnd[c] = np.minimum(bnd[c], self._dc_cells(c + i0, Ck, cs[:-1][c], ccount[c]))
                self.bnd[sl] = bnd
        over = bnd > self.goal()
        self.state[sl] = np.where(over, self.OPEN, self.DONE)
        self.pcount[sl] = 0
        self._store(Ck, cs[:-1][over], ccount[over], np.flatnonzero(over) + i0)
        self.n += B
        return (Cr, cs, ccount) if ranges else None

    def _dc_cells(self, cells, Ck, cstart, ccount) -> np.ndarray:
        # the DC vertex bound of these cells (ids), from their boxes and fixed parts and their undecided neurons
        # Ck[cstart_j : cstart_j + ccount_j]
        if self.dccap is None:  # derived once: the neurons' rows, and the cap's row p Q, kappa and |p|_1
            dom0 = make_domain(self.centre[0], self.rho, "cap")
            p = dom0.x0[0, :-1]
            self.dcn = _dc_inputs(self.net, self.Q)
            self.dccap = (np.ascontiguousarray(p @ self.Q), float(dom0.kappa[0]), float(np.abs(p).sum()))
        NQ, off, wl1 = self.dcn
        caprow, kap, capl1 = self.dccap
        fixrow, fixc, fixl1, fixerr = _dc_fixed(self.Q, self.fm[cells], self.fr[cells])
        Ls, Hs = np.ascontiguousarray(self.L[cells]), np.ascontiguousarray(self.H[cells])
        ps, pc = np.ascontiguousarray(cstart), np.ascontiguousarray(ccount)
        out = np.empty(cells.size)

        def part(lo: int, hi: int) -> None:
            relaxation.dc_vertex_up(Ls[lo:hi], Hs[lo:hi], self.Q, NQ, off, self.net.a, wl1, Ck, ps[lo:hi], pc[lo:hi],
                                    fixrow[lo:hi], fixc[lo:hi], fixl1[lo:hi], fixerr[lo:hi], caprow, kap, capl1,
                                    self.y, _DC_MU, out[lo:hi])

        threads.spread_range(part, cells.size, threads.parts(int(pc.sum()) * (1 << Ls.shape[1]) * 4, cells.size))
        return out

    def _attack(self, dom: Domain, bnd, sides, lam, box=None, top: int = 8) -> None:
        # the relaxations' maximisers on the worst cells (over their caps, and their boxes' corners), moved into the
        # perturbation set, are attack points
        pick = np.argsort(-bnd)[:top]
        if not pick.size:
            return
        worse = (sides[1, pick] > sides[0, pick]).astype(np.int64)
        xs = _linmax_float(dom.take(pick), lam[worse, pick])[1]
        if box is not None:
            corner = _box_corner(self.Q, box[0][pick], box[1][pick], lam[worse, pick])
            xs = np.concatenate([xs, sphere.lift(_chart(self.Q, corner)[0])])
        cand = sphere.project_to_cap(xs, np.broadcast_to(self.centre, xs.shape), self.rho)
        v = np.abs(reference.f_value(self.net, cand) - self.y)
        j = int(np.argmax(v))
        if v[j] > self.best:
            self.best, self.witness = float(v[j]), cand[j].copy()

    def run(self, t0: float) -> None:
        self.evaluate(self.L[:1].copy(), self.H[:1].copy(), np.zeros(1, dtype=np.int64))
        self._free([0])
        s = self.split
        while self.nodes < s.max_cells:
            n = self.n
            st, bd = self.state[:n], self.bnd[:n]
            # cells at or below the goal are leaves for good (the goal only rises)
            done = np.flatnonzero((st == self.OPEN) & (bd <= self.goal()))
            st[done] = self.DONE
            self._free(done)
            cand = np.flatnonzero(st == self.OPEN)
            if not cand.size:
                break
            if (s.time_budget is not None and time.perf_counter() - t0 > s.time_budget) or self.live > s.max_entries:
                self.time_capped = True
                break
            if cand.size > self.batch:
                cand = cand[np.argpartition(-bd[cand], self.batch - 1)[: self.batch]]
            L, H = self.L[cand], self.H[cand]
            ax = np.argmax(H - L, axis=1)
            rows = np.arange(cand.size)
            mid = 0.5 * (L[rows, ax] + H[rows, ax])
            # siblings side by side: the kernel gathers their parent's neurons once for both
            L2, H2 = np.repeat(L, 2, axis=0), np.repeat(H, 2, axis=0)
            H2[2 * rows, ax] = mid
            L2[2 * rows + 1, ax] = mid
            self.evaluate(L2, H2, np.repeat(cand, 2))
            self.state[cand] = self.SPLIT
            self._free(cand)  # its children carry what is left

    def _store(self, Ck, starts, counts, cells) -> None:
        # append the open children's undecided neurons (columns starts[j] .. starts[j] + counts[j] - 1 of Ck) to the
        # pool, compacting or growing it first when it is full
        need = int(counts.sum())
        if self.used + need > self.pool.shape[0]:
            self._compact(need)
        dst = self.used + _offsets(counts)
        relaxation.copy_spans(Ck, np.ascontiguousarray(starts, dtype=np.int64), np.ascontiguousarray(counts), self.pool,
                              dst)
        self.pstart[cells] = dst
        self.pcount[cells] = counts
        self.used += need
        self.live += need

    def _compact(self, need: int) -> None:
        # the open cells' columns moved to the front of the pool, in the order they lie in it (in place), or into
        # a pool twice as large when they would fill over half of it
        cells = np.flatnonzero(self.pcount[: self.n] > 0)
        cells = cells[np.argsort(self.pstart[cells], kind="stable")]
        counts = np.ascontiguousarray(self.pcount[cells])
        src = np.ascontiguousarray(self.pstart[cells])
        dst = _offsets(counts)
        if 2 * (self.live + need) > self.pool.shape[0]:
            new = np.empty(2 * max(self.pool.shape[0], self.live + need), dtype=self.itype)
            relaxation.copy_spans(self.pool, src, counts, new, dst)
            self.pool = new
        else:
            relaxation.copy_spans(self.pool, src, counts, self.pool, dst)
        self.pstart[cells] = dst
        self.used = self.live

    def _free(self, cells) -> None:
        cells = np.asarray(cells, dtype=np.int64)
        self.live -= int(self.pcount[cells].sum())
        self.pcount[cells] = 0

    def _leaves(self):
        leaf = np.flatnonzero(self.state[: self.n] != self.SPLIT)
        return self.L[leaf], self.H[leaf], self.bnd[leaf]

    def upper(self) -> float:
        bd = self._leaves()[2]
        return float(np.max(bd)) if bd.size else -math.inf

    def cells(self) -> "CapCells":
        L, H, bd = self._leaves()
        return CapCells(lo=L.copy(), hi=H.copy(), bound=bd.copy())


def _offsets(counts: np.ndarray) -> np.ndarray:
    # where consecutive spans of these lengths start
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


@dataclass(frozen=True)
class CapCell:
    """One leaf of :func:`cap_split_bound` (Theorem 5.3 bound): the gnomonic box [lo, hi] around
    the cap's axis and the sound upper bound of |f_W - y| over its cell."""

    lo: tuple
    hi: tuple
    bound: float


@dataclass(frozen=True, eq=False)
class CapCells:
    """The leaves of :func:`cap_split_bound` (Theorem 5.3 bound) as arrays: the gnomonic boxes [lo_i, hi_i]
    around the cap's axis and the sound upper bounds of |f_W - y| over their cells; iterating gives
    :class:`CapCell` objects."""

    lo: np.ndarray
    hi: np.ndarray
    bound: np.ndarray

    def __len__(self) -> int:
        return int(self.bound.size)

    def __iter__(self):
        for l, h, b_ in zip(self.lo, self.hi, self.bound):
            yield CapCell(lo=tuple(map(float, l)), hi=tuple(map(float, h)), bound=float(b_))
