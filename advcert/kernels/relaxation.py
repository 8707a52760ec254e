"""Theorem 5.3's CROWN relaxation of a two-layer ReLU net, fused: pre-activation ranges, chords, multipliers.

For the rows i of a batch of domains (l2 balls or caps of X, :mod:`advcert.measured.crown`) and the
neurons r of f_W(x) = Σ_r a_r relu(z_r(x)), one pass over the (rows x m) products computes

* the rigorous range [lo_ir, hi_ir] of z_r over domain i (the same float formulas, in the same
  order, as the numpy reference ``advcert.measured.perturbation._ranges``, so the results are equal bit for
  bit and the a-priori rounding analysis written there covers them unchanged), intersected with
  an enclosing range (lo0_r, hi0_r) when one is given;
* the chord (slope, rigorous intercept) of every unstable neuron (``advcert.measured.crown._chords``);
* CROWN's multipliers of z_r for both sides sigma = +-1 of |f - y| (rows i and P + i of ``K``)
  and the chord constants ``Ut`` whose sums with a_r^+ and a_r^- are the bound's constant terms.

The numpy reference makes some thirty passes over (rows x m) temporaries; at m = 4096 they leave
the cache, and the reference ran at 0.77-0.91x auto_LiRPA's CROWN (perf-notes §9). Here the
(rows x m) products come from one BLAS call and every later step stays in registers.

Every float operation is written out in the reference's order; numba does not contract a*b + c
into a fused multiply-add unless fastmath is on, and it is off here.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_U = 2.0**-53
_TINY = 2.0**-1000
_S3 = 0.5 * math.sqrt(3.0) * (1.0 + 4.0 * _U)


@njit(inline="always")
def _fmin(x, y):  # pragma: no cover - compiled
    # numpy.minimum's semantics (a NaN wins), so that every result equals the reference's
    if (x != x) | (y != y):
        return x + y
    return x if x < y else y


@njit(inline="always")
def _fmax(x, y):  # pragma: no cover - compiled
    if (x != x) | (y != y):
        return x + y
    return x if x > y else y


@njit(inline="always")
def _multipliers(i, r, P, lo, hi, a, K, Ut):  # pragma: no cover - compiled
    # CROWN on one neuron: chords where sigma a_r > 0, CROWN's lower line (alpha = [hi >= -lo]) where < 0.
    # Branch-free (both cases computed, then selected): the stable/unstable pattern is random, and
    # mispredicted branches cost more than the chord's few operations. A stable neuron gets the
    # reference's zero slope: (A + 0 a+) + 0 a- is A, with the reference's sign of zero.
    ar = a[r]
    ap = ar if ar > 0.0 else 0.0
    an = ar if ar < 0.0 else 0.0
    A = ar if lo >= 0.0 else 0.0
    uns = (lo < 0.0) & (hi > 0.0)
    s = hi / (hi - lo)
    q = -(s * lo)
    t = q + 6.0 * _U * (q + hi) + _TINY
    sl = s if uns else 0.0
    on = 1.0 if uns & (hi >= -lo) else 0.0
    K[i, r] = (A + sl * ap) + on * an
    K[P + i, r] = -((A + sl * an) + on * ap)
    Ut[i, r] = t if uns else 0.0


@njit(inline="always")
def _row_multipliers(i, P, LO, HI, lo0, hi0, a, K, Ut):  # pragma: no cover - compiled
    # the second loop of a row (the ranges are the first): one loop doing both stops vectorising
    m = LO.shape[0]
    if lo0.shape[0] == m:
        for r in range(m):
            LO[r] = _fmax(LO[r], lo0[r])
            HI[r] = _fmin(HI[r], hi0[r])
    for r in range(m):
        _multipliers(i, r, P, LO[r], HI[r], a, K, Ut)


@njit(cache=True, nogil=True)
def ball_multipliers(Z, nxc, nwb, rn, tiny, a, lo0, hi0, K, Ut):  # pragma: no cover - compiled
    """CROWN's multipliers on l2 balls (Theorem 5.3): Z = [x0_i, 1] [W_r, b_r]^T (rows x m), nxc_i = ||[x0_i, 1]||
    (d + 1) u 1.03, nwb_r = ||[W_r, b_r]||, rn_r >= rho ||W_r||, tiny = (d + 2) 2^-1000; lo0/hi0 empty or (m,)."""
    P, m = Z.shape
    LO, HI = np.empty(m), np.empty(m)
    for i in range(P):
        nx = nxc[i]
        for r in range(m):
            z = Z[i, r]
            err = nx * nwb[r] + 4.0 * _U * (abs(z) + rn[r]) + tiny
            LO[r] = z - rn[r] - err
            HI[r] = z + rn[r] + err
        _row_multipliers(i, P, LO, HI, lo0, hi0, a, K, Ut)


@njit(inline="always")
def _cap_range(t, trx, kap, proper, rp, sa, inv, dlt, dtiny, kabs, p2m, nw, nu_lo, nu_hi, n2m, rnr, cm, cr,
               zero_row):  # pragma: no cover - compiled
    # the rigorous range of z_r over one cap from t = <p, W_r'> (the reference's _cap_ranges, elementwise)
    tr = trx * nw + dtiny
    kn = kap * nu_lo if kap >= 0.0 else kap * nu_hi
    kn = kn - 2.0 * _U * abs(kn)
    out_hi = (t + tr < kn) & proper
    out_lo = (tr - t < kn) & proper
    # both ends computed for every neuron and then selected (branch-free, see _multipliers)
    nP = p2m * n2m
    tt = t * t
    g = nP - tt
    rel = (rp + 3.0 * _U + rnr) + rp * rnr
    eg = (nP * rel + (2.0 * abs(t) + tr) * tr + 3.0 * _U * tt) * (1.0 + 16.0 * _U) + _TINY
    eg = np.inf if zero_row else eg
    B = sa * (math.sqrt(_fmax(g + eg, 0.0)) * (1.0 + 2.0 * _U))
    A = t * kap
    err = tr * kabs + 4.0 * _U * (abs(A) + B) + _TINY
    C = B + err
    nh = C + A
    nl = C - A
    vh = _fmin(nh * inv + abs(nh) * dlt + _TINY, nu_hi)
    vl = _fmin(nl * inv + abs(nl) * dlt + _TINY, nu_hi)
    up = vh if out_hi else nu_hi
    dn = vl if out_lo else nu_hi
    hu = _S3 * up
    hd = _S3 * dn
    hi = (cm + cr) + hu
    hi = hi + (4.0 * _U * (abs(hi) + hu) + _TINY)
    lo = (cm - cr) - hd
    lo = lo - (4.0 * _U * (abs(lo) + hd) + _TINY)
    return lo, hi


#: the relative error allowed for on the box ranges' float steps: far above every rounding of the derivation in
#: ``advcert.measured.cap_split._box_rows`` (each below ~d^1.5 u, a few 1e-15 at the d the split runs at)
BOX_EPS = 1e-11

#: the multiples of ||g|| / (2 T) tried as the ball's Lagrange multiplier mu (any mu >= 0 gives a bound): with two,
#: 0.5 and 1, a bound at d = 10 was 0.7% tighter at equal cells but 0.7% looser at equal time (1 s; the ball's
#: part of the kernel doubles), docs/perf-notes.md §9
BALL_MU = (0.7,)


@njit(inline="always")
def _dist_down(t, lo, hi, tol):  # pragma: no cover - compiled
    # dist(t, [lo, hi]) rounded down: its float steps err by less than tol = 4u (|lo| + |hi| + |t|) + tiny
    return _fmax(_fmax(_fmax(lo - t, t - hi), 0.0) - tol, 0.0)


@njit(inline="always")
def _box_z(nlo, nhi, cm, cr, dli, dhi):  # pragma: no cover - compiled
    # z = sqrt3/2 N(u) / D(u) + (W_rd/2 + b_r) from N in [nlo, nhi] and D(u) = ||Q (1, u)|| in [D_lo, D_hi], dli and
    # dhi the float reciprocals 1/D_lo and 1/D_hi (each within u of the true one); BOX_EPS covers every step
    vlo = nlo * dhi if nlo >= 0.0 else nlo * dli
    vhi = nhi * dli if nhi >= 0.0 else nhi * dhi
    vlo = vlo - BOX_EPS * abs(vlo)
    vhi = vhi + BOX_EPS * abs(vhi)
    hb = _S3 * vhi
    zh = (cm + cr) + hb
    zh = zh + (BOX_EPS * (abs(zh) + abs(hb)) + _TINY)
    lb = _S3 * vlo
    zl = (cm - cr) + lb
    zl = zl - (BOX_EPS * (abs(zl) + abs(lb)) + _TINY)
    return zl, zh


@njit(cache=True, nogil=True)
def cap_multipliers(T, rowv, colv, a, lo0, hi0, K, Ut):  # pragma: no cover - compiled
    """CROWN's multipliers on caps of X (Theorem 5.3): T = p_i W_r'^T (rows x m), p_i the centre's first d - 1
    coordinates; ``rowv`` (rows x 10) and ``colv`` (8 x m: unit-stride loads, so that the loop vectorises) the
    per-row and per-neuron constants that ``advcert.measured.perturbation._cap_ranges`` computes outside its (rows x m)
    part, in the order that ``advcert.measured.perturbation._cap_constants`` writes them."""
    P, m = T.shape
    LO, HI = np.empty(m), np.empty(m)
    for i in range(P):
        trx, kap, proper, rp, sa = rowv[i, 0], rowv[i, 1], rowv[i, 2] > 0.0, rowv[i, 3], rowv[i, 4]
        inv, dlt, dtiny, kabs, p2m = rowv[i, 5], rowv[i, 6], rowv[i, 7], rowv[i, 8], rowv[i, 9]
        for r in range(m):
            LO[r], HI[r] = _cap_range(T[i, r], trx, kap, proper, rp, sa, inv, dlt, dtiny, kabs, p2m, colv[0, r],
                                      colv[1, r], colv[2, r], colv[3, r], colv[4, r], colv[5, r], colv[6, r],
                                      colv[7, r] > 0.0)
        _row_multipliers(i, P, LO, HI, lo0, hi0, a, K, Ut)


@njit(inline="always")
def _ball_tighten(boxv, i, kb, cnt, Qs, NWg, NL, NH, MU, I2, ACP, ACM, SS):  # pragma: no cover - compiled
    # N(u) = <Q^T W_r', (1, u)> over the box's part in the ball |u| <= T: for each sign s and multiplier mu >= 0,
    # sup s N <= s w_0 + mu T^2 + sum_k sup_{u_k in [l_k, h_k]} (s w_k u_k - mu u_k^2), each term
    # w_k^2 / (4 mu) - mu dist(s w_k / (2 mu), [l_k, h_k])^2 with the distance rounded down
    # (advcert.measured.cap_split._ball_dual, the same bound per cell for the linear sups); both signs in one pass
    tb2, sumu, inv2t = boxv[i, 5], boxv[i, 6], boxv[i, 7]
    for f in BALL_MU:
        for j in range(cnt):
            mu = f * Qs[kb + 1, j] * inv2t
            MU[j] = mu
            I2[j] = 0.5 / mu if mu > 0.0 else 0.0
            ACP[j] = 0.0
            ACM[j] = 0.0
            SS[j] = 0.0
        for q in range(kb):
            lq, hq = boxv[i, 8 + kb + q], boxv[i, 8 + 2 * kb + q]
            tol = 4.0 * _U * (abs(lq) + abs(hq)) + _TINY
            for j in range(cnt):
                aa = Qs[q + 1, j]
                t = aa * I2[j]
                tl = tol + 4.0 * _U * abs(t)
                dp = _dist_down(t, lq, hq, tl)
                dm = _dist_down(-t, lq, hq, tl)
                p1 = aa * t * 0.5
                mu = MU[j]
                qp = mu * dp * dp
                qm = mu * dm * dm
                ACP[j] += p1 - qp
                ACM[j] += p1 - qm
                SS[j] += p1 + qp + qm
        for j in range(cnt):
            mu = MU[j]
            if mu > 0.0:
                w0 = Qs[0, j]
                mt = mu * tb2
                slack = BOX_EPS * (SS[j] + mt + abs(w0) + NWg[j] * (1.0 + sumu)) + _TINY
                NH[j] = _fmin(NH[j], (w0 + (ACP[j] + mt)) + slack)
                NL[j] = _fmax(NL[j], (w0 - (ACM[j] + mt)) - slack)


@njit(cache=True, nogil=True)
def cell_multipliers(X, rowv, colr, W, b, a, Pk, ps, pe, fix, rlx, Ck, cs, ccount, boxv, wq, Cr):  # pragma: no cover
    """Theorem 5.3's CROWN relaxation on the cells of an input-space split of a cap, incrementally.

    Cell i (centre X[i], cap constants rowv[i]; ``colr`` the per-neuron constants as m x 8 rows, one cache
    line per gathered neuron) lies inside its parent, whose undecided neurons are the indices
    Pk[ps[i]..pe[i]-1] (two siblings share their parent's). Only those are examined: a neuron stable on the
    parent's cell is stable on every cell inside it. A neuron now active joins the cell's fixed part, one now
    inactive drops out, and the others stay undecided (written to Ck from cs[i] on, ccount[i] of them, and their
    ranges to Cr[:, cs[i]..] when Cr is not empty) and get CROWN's lines. Intersecting each range with the
    parent's as well changed no bound by more than 3e-4 of it at d = 10, and storing the ranges took 6x the
    memory, whose first touch cost more than the kernel (perf-notes §9). Per cell it writes, over the examined
    neurons,

    * fix[i] = (sum a_r W_r, sum a_r b_r, sum a_r^2) over the newly active neurons (the sigma = +1 side;
      sigma = -1 is its negation), length d + 2;
    * rlx[i, side] = (sum k_r W_r, sum k_r b_r + e_r, sum k_r^2, sum |e_r|) over the undecided neurons, k_r and
      e_r the multipliers and chord constants of side sigma (sigma a_r > 0: the chord, e_r = sigma a_r t_r;
      else CROWN's lower line), length d + 3.

    The sums of squares give, by Cauchy-Schwarz with the columns' norms, a-priori bounds of every rounding
    of the float sums (any order), which ``advcert.measured.cap_split`` turns into radii. Costs O(|plist| d),
    not O(m d), per cell: the ranges first (one loop), then the classification and the sums (a second).

    With ``boxv`` non-empty (per cell the layout of ``advcert.measured.cap_split._box_rows``; ``wq`` one record per
    neuron, W_r, a_r, b_r, ||W_r'||, the ball of W_rd/2 + b_r (mid, rad), (Q^T W_r')_0 .. (Q^T W_r')_k and
    ||(Q^T W_r')_{1:}||, gathered in one stride; k = d - 2 >= 1) the ranges are those over the gnomonic box
    itself instead of its covering cap, and for a box that overhangs the ball |u| <= T (a cell on the cap's rim,
    where the loss is largest) over the box's part in the ball, by Lagrangian duality (derivations in
    ``advcert.measured.cap_split``, above ``_frame_error`` and ``_ball_dual``); intersecting them with the cap's
    as well changed no bound at d = 10.
    """
    B, d = X.shape
    mx = 0
    for i in range(B):
        mx = max(mx, pe[i] - ps[i])
    # per cell the examined neurons are first gathered into contiguous scratch, so that the range and the
    # line loops run on unit-stride data and vectorise (gathering inside them made each neuron latency-bound)
    T, Cg, Ag, Bg = np.empty(mx), np.empty((8, mx)), np.empty(mx), np.empty(mx)
    keep_ranges = Cr.shape[1] > 0
    Wl = np.empty((d, mx))
    LO, HI = np.empty(mx), np.empty(mx)
    kf, k0, k1, e0v, e1v = np.empty(mx), np.empty(mx), np.empty(mx), np.empty(mx), np.empty(mx)
    kb = d - 2 if boxv.shape[1] > 0 else 0
    Qs, HW = np.empty((kb + 2, mx)), np.empty(mx)
    NWg, CMg, CRg = np.empty(mx), np.empty(mx), np.empty(mx)
    NL, NH, MU, I2, ACP, ACM, SS = (np.empty(mx), np.empty(mx), np.empty(mx), np.empty(mx), np.empty(mx), np.empty(mx),
                                    np.empty(mx))
    for i in range(B):
        trx, kap, proper, rp, sa = rowv[i, 0], rowv[i, 1], rowv[i, 2] > 0.0, rowv[i, 3], rowv[i, 4]
        inv, dlt, dtiny, kabs, p2m = rowv[i, 5], rowv[i, 6], rowv[i, 7], rowv[i, 8], rowv[i, 9]
        o = ps[i]
        cnt = pe[i] - o
        oc = cs[i]
        if i == 0 or ps[i - 1] != o or pe[i - 1] != pe[i]:  # a sibling just before shares the gathered scratch
            if kb > 0:  # one record per neuron: a few cache lines in one stride, and none of the cap's constants
                for j in range(cnt):
                    r = Pk[o + j]
                    for q in range(d):
                        Wl[q, j] = wq[r, q]
                    Ag[j], Bg[j], NWg[j] = wq[r, d], wq[r, d + 1], wq[r, d + 2]
                    CMg[j], CRg[j] = wq[r, d + 3], wq[r, d + 4]
                    for q in range(kb + 2):
                        Qs[q, j] = wq[r, d + 5 + q]
            else:
                for j in range(cnt):
                    r = Pk[o + j]
                    for q in range(d):
                        Wl[q, j] = W[r, q]
                    for c in range(8):
                        Cg[c, j] = colr[r, c]
                    Ag[j], Bg[j] = a[r], b[r]
        for j in range(cnt):
            T[j] = 0.0
            HW[j] = 0.0
        for q in range(d - 1):
            xq = X[i, q]
            for j in range(cnt):
                T[j] += xq * Wl[q, j]
        for q in range(kb):
            hq = boxv[i, 8 + q]
            for j in range(cnt):
                HW[j] += abs(Qs[q + 1, j]) * hq
        if kb == 0:
            for j in range(cnt):
                LO[j], HI[j] = _cap_range(T[j], trx, kap, proper, rp, sa, inv, dlt, dtiny, kabs, p2m, Cg[0, j],
                                          Cg[1, j], Cg[2, j], Cg[3, j], Cg[4, j], Cg[5, j], Cg[6, j], Cg[7, j] > 0.0)
        else:  # the box's ranges alone: intersecting them with the covering cap's changed no bound at d = 10
            nc, sumh, dli, dhi = boxv[i, 0], boxv[i, 1], 1.0 / boxv[i, 2], 1.0 / boxv[i, 3]
            for j in range(cnt):  # N over the box: n_i t ± (sum_k |Q^T W_r'|_k h_k), within BOX_EPS
                ncen = T[j] * nc
                rad = BOX_EPS * (HW[j] + NWg[j] * (nc + sumh)) + _TINY
                NL[j] = ncen - HW[j] - rad
                NH[j] = ncen + HW[j] + rad
            if boxv[i, 4] > 0.0:
                _ball_tighten(boxv, i, kb, cnt, Qs, NWg, NL, NH, MU, I2, ACP, ACM, SS)
            for j in range(cnt):
                LO[j], HI[j] = _box_z(NL[j], NH[j], CMg[j], CRg[j], dli, dhi)
        for j in range(cnt):
            lo, hi, ar = LO[j], HI[j], Ag[j]
            uns = (lo < 0.0) & (hi > 0.0)
            s = hi / (hi - lo)
            q0 = -(s * lo)
            tc = q0 + 6.0 * _U * (q0 + hi) + _TINY
            on = 1.0 if hi >= -lo else 0.0
            # side +1 has c = a, side -1 has c = -a: the chord where c > 0, CROWN's lower line where c < 0
            pos = ar > 0.0
            k0[j] = (ar * s if pos else ar * on) if uns else 0.0
            k1[j] = (-ar * on if pos else -ar * s) if uns else 0.0
            e0v[j] = ar * tc if uns & pos else 0.0
            e1v[j] = -ar * tc if uns & (not pos) else 0.0
            kf[j] = ar if lo >= 0.0 else 0.0
        # the scalar sums in locals (registers), the vector sums one coordinate at a time
        fb = fq = b0 = q0s = e0s = b1 = q1s = e1s = 0.0
        n = 0
        for j in range(cnt):
            br, xf, x0, x1, e0, e1 = Bg[j], kf[j], k0[j], k1[j], e0v[j], e1v[j]
            fb += xf * br
            fq += xf * xf
            b0 += x0 * br + e0
            q0s += x0 * x0
            e0s += abs(e0)
            b1 += x1 * br + e1
            q1s += x1 * x1
            e1s += abs(e1)
            if (LO[j] < 0.0) & (HI[j] > 0.0):
                Ck[oc + n] = Pk[o + j]
                if keep_ranges:
                    Cr[0, oc + n] = LO[j]
                    Cr[1, oc + n] = HI[j]
                n += 1
        fix[i, d], fix[i, d + 1] = fb, fq
        rlx[i, 0, d], rlx[i, 0, d + 1], rlx[i, 0, d + 2] = b0, q0s, e0s
        rlx[i, 1, d], rlx[i, 1, d + 1], rlx[i, 1, d + 2] = b1, q1s, e1s
        for q in range(d):
            sf = s0 = s1 = 0.0
            for j in range(cnt):
                w = Wl[q, j]
                sf += kf[j] * w
                s0 += k0[j] * w
                s1 += k1[j] * w
            fix[i, q], rlx[i, 0, q], rlx[i, 1, q] = sf, s0, s1
        ccount[i] = n


# ---------------------------------------------------------------------------------------
# the sup of a linear function over caps, per row (advcert.measured.perturbation._capmax_up)
# ---------------------------------------------------------------------------------------
# Scalar forms of advcert.measured.balls' operations, each the same float operations in the same
# order, so that capmax_up equals the numpy reference bit for bit (tests/test_kernels.py).

_F = 1.0 + 2.0**-40


@njit(inline="always")
def _r(x):  # pragma: no cover - compiled
    return x * _F + _TINY


@njit(inline="always")
def _add(am, ar, bm, br):  # pragma: no cover - compiled
    m = am + bm
    return m, _r(ar + br + 2.0 * _U * abs(m))


@njit(inline="always")
def _sub(am, ar, bm, br):  # pragma: no cover - compiled
    m = am - bm
    return m, _r(ar + br + 2.0 * _U * abs(m))


@njit(inline="always")
def _mul(am, ar, bm, br):  # pragma: no cover - compiled
    m = am * bm
    return m, _r(abs(am) * br + ar * abs(bm) + ar * br + 2.0 * _U * abs(m))


@njit(inline="always")
def _sqrt(m, r):  # pragma: no cover - compiled
    hi = math.sqrt(_fmax(m + r, 0.0)) * (1.0 + 4.0 * _U)
    if m > r:
        sm = math.sqrt(m)
        return sm, _r(r / sm * (1.0 + 4.0 * _U) + 2.0 * _U * sm)
    return 0.5 * hi, _r(0.5 * hi + 2.0 * _U * hi)


@njit(inline="always")
def _clip(m, r):  # pragma: no cover - compiled
    lo = _fmax(m - r, 0.0)
    hi = _fmax(m + r, 0.0)
    return 0.5 * (lo + hi), _r(0.5 * (hi - lo) + 2.0 * _U * (abs(m) + r))


@njit(inline="always")
def _up(m, r):  # pragma: no cover - compiled
    s = m + r
    return np.nextafter(s + 2.0 * _U * abs(s), np.inf)


@njit(inline="always")
def _dn(m, r):  # pragma: no cover - compiled
    s = m - r
    return np.nextafter(s - 2.0 * _U * abs(s), -np.inf)


@njit(cache=True, nogil=True)
def capmax_up(tm, tr, n2m, n2r, kap, p2m, p2r, whole, out):  # pragma: no cover - compiled
    """Rigorous float upper bound of sup{<u, v> : ||v|| = 1, <v, p> >= kappa} per row (Theorem 5.3's closed form
    on caps): balls (tm, tr) of t = <u, p>, (n2m, n2r) of ||u||^2, (p2m, p2r) of ||p||^2, exact kappa; the
    reference ``advcert.measured.perturbation._capmax_up`` in one pass (its derivation is written there)."""
    for i in range(tm.shape[0]):
        num, nur = _sqrt(n2m[i], n2r[i])
        nu_hi = _up(num, nur)
        k = kap[i]
        km, kr = _mul(k, 0.0, num, nur)
        o = (_up(tm[i], tr[i]) < _dn(km, kr)) & (not whole[i]) & (_dn(p2m[i], p2r[i]) > 0.0)
        qm, qr = _mul(k, 0.0, k, 0.0)
        am, ar = _sub(p2m[i], p2r[i], qm, qr)
        am, ar = _clip(am, ar)
        sam, sar = _sqrt(am, ar)
        bm, br = _mul(n2m[i], n2r[i], p2m[i], p2r[i])
        cm, cr = _mul(tm[i], tr[i], tm[i], tr[i])
        bm, br = _sub(bm, br, cm, cr)
        bm, br = _clip(bm, br)
        sqm, sqr = _sqrt(bm, br)
        xm, xr = _mul(tm[i], tr[i], k, 0.0)
        ym, yr = _mul(sam, sar, sqm, sqr)
        zm, zr = _add(xm, xr, ym, yr)
        num_hi = _up(zm, zr)
        p2_lo = _fmax(_dn(p2m[i], p2r[i]), 2.0**-1000)
        p2_hi = _up(p2m[i], p2r[i])
        val = num_hi / p2_lo if num_hi >= 0 else num_hi / p2_hi
        val = np.nextafter(val + 2.0 * _U * abs(val), np.inf)
        out[i] = _fmin(val, nu_hi) if o else nu_hi


@njit(cache=True, nogil=True)
def cap_kappa(xd, p2m, p2r, rho, kappa, p_hi):  # pragma: no cover - compiled
    """Per centre, kappa (a float <= (3/4 + ||p||^2 + (x_d - 1/2)^2 - rho^2) / sqrt3) and a float >= ||p|| (Definition
    3.2's cap as {v : <v, p> >= kappa}): ``advcert.measured.perturbation.make_domain``'s ball arithmetic, per row."""
    s3m, s3r = _sqrt(3.0, 0.0)
    rrm, rrr = _mul(rho, 0.0, rho, 0.0)
    for i in range(xd.shape[0]):
        x = xd[i]
        hm = x - 0.5
        hr = 0.0 if (x >= 0.25) & (x <= 1.0) else 2.0 * _U * abs(hm)  # exact in that range (Sterbenz)
        nm, nr = _add(0.75, 0.0, p2m[i], p2r[i])
        qm, qr = _mul(hm, hr, hm, hr)
        nm, nr = _add(nm, nr, qm, qr)
        nm, nr = _sub(nm, nr, rrm, rrr)
        km = nm / s3m
        kr = _r((nr + abs(nm) * s3r / s3m) / s3m * (1.0 + 8.0 * _U) + 2.0 * _U * abs(km))
        kappa[i] = _dn(km, kr)
        pm, pr = _sqrt(p2m[i], p2r[i])
        p_hi[i] = _up(pm, pr)


@njit(cache=True, nogil=True)
def cap_constants(pnorm, kap, whole, p2m, p2r, d, out):  # pragma: no cover - compiled
    """The per-centre constants of the cap ranges (``advcert.measured.perturbation._cap_constants``, where each is
    defined), per row; ``pnorm`` the float norms ||p||."""
    for i in range(pnorm.shape[0]):
        k = kap[i]
        p2_dn = _dn(p2m[i], p2r[i])
        qm, qr = _mul(k, 0.0, k, 0.0)
        am, ar = _sub(p2m[i], p2r[i], qm, qr)
        am, ar = _clip(am, ar)
        sm, sr = _sqrt(am, ar)
        p2_lo = _fmax(p2_dn, 2.0**-1000)
        inv = 1.0 / _fmax(p2m[i], p2_lo)
        dlt = _fmax(1.0 / p2_lo - inv, inv - 1.0 / _up(p2m[i], p2r[i])) + 8.0 * _U * inv
        out[i, 0] = pnorm[i] * ((d - 1) * _U * 1.02)
        out[i, 1] = k
        out[i, 2] = 1.0 if (not whole[i]) & (p2_dn > 0.0) else 0.0
        out[i, 3] = p2r[i] / (p2m[i] if p2m[i] > 0 else 1.0)
        out[i, 4] = _up(sm, sr)
        out[i, 5] = inv
        out[i, 6] = dlt
        out[i, 7] = d * _TINY
        out[i, 8] = abs(k)
        out[i, 9] = p2m[i]


@njit(cache=True, nogil=True)
def copy_spans(src, sstart, count, dst, dstart):  # pragma: no cover - compiled
    """dst[dstart[j] : dstart[j] + count[j]] = src[sstart[j] : sstart[j] + count[j]] for j in order: the cap split's
    pool of undecided neurons (``advcert.measured.cap_split``) filled, and compacted in place (dst is src, spans in
    increasing order of sstart, dstart[j] <= sstart[j]: each forward copy reads ahead of what it writes)."""
    for j in range(sstart.shape[0]):
        s, t, c = sstart[j], dstart[j], count[j]
        for e in range(c):
            dst[t + e] = src[s + e]


@njit(cache=True, nogil=True)
def box_numerator_up(lv, L, H, boxv, mus, out):  # pragma: no cover - compiled
    """Per row a float >= sup of N(u) = lv_0 + <lv_{1:}, u> over the box [L_i, H_i], and over its part in the ball
    |u| <= T when it overhangs it (``boxv`` as ``advcert.measured.cap_split._box_rows``; the ball's dual bound with
    the multipliers mus ||lv_{1:}|| / (2T)) before the roundings of lv itself: the numerator of the cap split's
    linear sups, ``advcert.measured.cap_split._box_numerator_reference`` in one pass."""
    B, k = L.shape
    for i in range(B):
        n = lv[i, 0]
        for q in range(k):
            g = lv[i, q + 1]
            n += g * (0.5 * (L[i, q] + H[i, q])) + abs(g) * boxv[i, 8 + q]
        if boxv[i, 4] > 0.0:
            gn = 0.0
            for q in range(k):
                gn += lv[i, q + 1] * lv[i, q + 1]
            gn = math.sqrt(gn)
            if gn > 0.0:
                tb2, inv2t, w0 = boxv[i, 5], boxv[i, 7], lv[i, 0]
                for f in mus:
                    mu = f * gn * inv2t
                    i2 = 0.5 / mu
                    acc = 0.0
                    ss = 0.0
                    for q in range(k):
                        g, lq, hq = lv[i, q + 1], L[i, q], H[i, q]
                        t = g * i2
                        dd = _dist_down(t, lq, hq, 4.0 * _U * (abs(lq) + abs(hq) + abs(t)) + _TINY)
                        p1 = g * t * 0.5
                        p2 = mu * dd * dd
                        acc += p1 - p2
                        ss += p1 + p2
                    mt = mu * tb2
                    val = (w0 + (acc + mt)) + (BOX_EPS * (ss + mt + abs(w0)) + _TINY)
                    n = _fmin(n, val)
        out[i] = n


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def dc_vertex_up(L, H, Qm, NQ, off, a, wl1, Ck, cs, ccount, fixrow, fixc, fixl1, fixerr, caprow, kap, capl1, y, mus,
                 out):  # pragma: no cover - compiled
    """Per cell a float >= sup of |f - y| over the cap's points whose gnomonic coordinates lie in the box [L_i, H_i]:
    the DC vertex bound of ``advcert.measured.cap_split`` (the comment above ``_dc_vertex_reference``, its numpy
    reference, which this computes over the box's corners in Gray-code order). ``NQ`` holds the rows
    (sqrt(3)/2 W_r') Q of the neurons, ``off`` w_rd/2 + b_r, ``wl1`` sqrt(3)/2 |W_r'|_1; the cell's undecided
    neurons are Ck[cs_i : cs_i + ccount_i], its fixed part fixrow . (1, u) beta + fixc within fixerr + BOX_EPS; the
    cap is <v, p> >= kap with caprow = p Q. A cell wider than 60 degrees from its centre gets +inf (no bound)."""
    B, k = L.shape
    dm1 = Qm.shape[0]
    nc = 1 << k
    nmax = 1
    for i in range(B):
        nmax = max(nmax, ccount[i])
    t = np.empty(nmax)
    ofs = np.empty(nmax)
    aa = np.empty(nmax)
    D = np.empty((k, nmax))
    q = np.empty(dm1)
    ch = np.empty(dm1)
    uc = np.empty(k)
    beta = np.empty(nc)
    gam = np.empty(nc)
    Fi = np.empty((2, nc))
    Fo = np.empty((2, nc))
    gi = np.empty(nc)
    go = np.empty(nc)
    lr = np.empty((2, k + 1))
    lc = np.empty(2)
    tl = np.empty(2)
    dl = np.empty((2, k))
    dcap = np.empty(k)
    mumax = 0.0
    for mu in mus:
        mumax = max(mumax, mu)
    for i in range(B):
        n = ccount[i]
        eps = max(BOX_EPS, 4.0 * (n + 600.0) * _U)  # above every sum of n terms and 2^k Gray-code steps
        u1 = 1.0
        for j in range(k):
            uc[j] = 0.5 * (L[i, j] + H[i, j])
            u1 += max(abs(L[i, j]), abs(H[i, j]))
        # the centre's direction, shrunk so that |c| <= 1 exactly
        cn = 0.0
        for c in range(dm1):
            s = Qm[c, 0]
            for j in range(k):
                s += Qm[c, j + 1] * uc[j]
            ch[c] = s
            cn += s * s
        cn = math.sqrt(cn)
        for c in range(dm1):
            ch[c] = ch[c] * ((1.0 - 1e-12) / cn)
        for c in range(dm1):
            s = Qm[c, 0]
            for j in range(k):
                s += Qm[c, j + 1] * L[i, j]
            q[c] = s
        ok = True
        gmax = 0.0
        for st in range(nc):
            if st > 0:
                j = 0
                while not (st >> j) & 1:
                    j += 1
                w = H[i, j] - L[i, j] if ((st ^ (st >> 1)) >> j) & 1 else L[i, j] - H[i, j]
                for c in range(dm1):
                    q[c] += w * Qm[c, j + 1]
            nq = 0.0
            qc = 0.0
            for c in range(dm1):
                nq += q[c] * q[c]
                qc += q[c] * ch[c]
            nq = math.sqrt(nq)
            if not qc >= 0.5 * nq:
                ok = False
                break
            beta[st] = (1.0 - 1e-12) / nq
            gam[st] = 1.0 / qc
            gmax = max(gmax, gam[st])
        if not ok:
            out[i] = np.inf
            continue
        # the neurons: those the side adds (sigma a_r > 0) exactly at the corners, those it subtracts under the
        # tangent at the centre when positive there (else 0), every one in the error's scale
        for sd in range(2):
            sg = 1.0 if sd == 0 else -1.0
            for j in range(k + 1):
                lr[sd, j] = sg * fixrow[i, j]
            lc[sd] = sg * fixc[i] - sg * y
        scale = 0.0
        nP = 0
        nN = n - 1
        base = cs[i]
        for e in range(n):
            r = Ck[base + e]
            zc = NQ[r, 0]
            for j in range(k):
                zc += NQ[r, j + 1] * uc[j]
            zc = zc / cn + off[r]
            ar = a[r]
            scale += abs(ar) * (wl1[r] * u1 * gmax + abs(off[r]))
            if ar > 0.0:
                slot, tang = nP, 1
                nP += 1
            else:
                slot, tang = nN, 0
                nN -= 1
            if zc > 0.0:
                sa = -ar if tang == 1 else ar
                for j in range(k + 1):
                    lr[tang, j] += sa * NQ[r, j]
                lc[tang] += sa * off[r]
            t0 = NQ[r, 0]
            for j in range(k):
                t0 += NQ[r, j + 1] * L[i, j]
                D[j, slot] = (H[i, j] - L[i, j]) * NQ[r, j + 1]
            t[slot] = t0
            ofs[slot] = off[r]
            aa[slot] = abs(ar)
        tcap = caprow[0]
        for j in range(k):
            tcap += caprow[j + 1] * L[i, j]
            dcap[j] = (H[i, j] - L[i, j]) * caprow[j + 1]
        for sd in range(2):
            s = lr[sd, 0]
            for j in range(k):
                s += lr[sd, j + 1] * L[i, j]
                dl[sd, j] = (H[i, j] - L[i, j]) * lr[sd, j + 1]
            tl[sd] = s
        for st in range(nc):
            # step to the next corner in Gray-code order (one coordinate flips), then the corner's sums; reassociated
            # and contracted freely (fastmath): the a-priori error scale holds for any order of the sums
            sgn = 0.0
            j = 0
            if st > 0:
                while not (st >> j) & 1:
                    j += 1
                sgn = 1.0 if ((st ^ (st >> 1)) >> j) & 1 else -1.0
                tl[0] += sgn * dl[0, j]
                tl[1] += sgn * dl[1, j]
                tcap += sgn * dcap[j]
            bt, gm = beta[st], gam[st]
            pi = 0.0
            po = 0.0
            for e in range(nP):
                te = t[e] + sgn * D[j, e]
                t[e] = te
                pi += aa[e] * max(bt * te + ofs[e], 0.0)
                po += aa[e] * max(gm * te + ofs[e], 0.0)
            ni = 0.0
            no = 0.0
            for e in range(nP, n):
                te = t[e] + sgn * D[j, e]
                t[e] = te
                ni += aa[e] * max(bt * te + ofs[e], 0.0)
                no += aa[e] * max(gm * te + ofs[e], 0.0)
            Fi[0, st] = pi + (bt * tl[0] + lc[0])
            Fo[0, st] = po + (gm * tl[0] + lc[0])
            Fi[1, st] = ni + (bt * tl[1] + lc[1])
            Fo[1, st] = no + (gm * tl[1] + lc[1])
            gi[st] = bt * tcap - kap
            go[st] = gm * tcap - kap
        best = -np.inf
        for sd in range(2):
            bs = np.inf
            for mu in mus:
                mx = -np.inf
                for st in range(nc):
                    mx = max(mx, Fi[sd, st] + mu * gi[st], Fo[sd, st] + mu * go[st])
                bs = min(bs, mx)
            best = max(best, bs)
        err = eps * (scale + fixl1[i] * u1 * gmax + abs(fixc[i]) + abs(y) + mumax * (capl1 * u1 * gmax + abs(kap)))
        out[i] = best + (err + fixerr[i] + _TINY)
