"""Theorem 5.3's sound upper bound of the robust loss L_{A*}(f_W), re-derived leaf by leaf
from the network witness (docs/certificate.md, "The Theorem 5.3 bound"), for the checks
theorem-5.3 and theorem-4.1 (Theorem 4.1: min_t L_A(f_{W(t)}) <= L_{A*}(f_W) for the
stored best iterate).

The certificate supplies only each leaf's splits, alpha and beta; the split trees are
checked to cover every sign pattern, and every leaf's bound is recomputed with this
package's own ranges and chords in exact rationals (where the builder uses float64 balls),
so a stored bound is accepted only when the re-derived one is no larger. Every cap must be
non-empty (the paper's x_i lies in its own perturbation set); theorem-4.1 also proves the
drift m^(2/3) ||W - W0||_{2,inf} <= R^2/eps of an Algorithm 1 iterate from the witness.
The work is bounded (leaves, leaves · m · (d+1), n · m · (d+1)) before a leaf is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat

from flint import arb, fmpq, fmpq_mat

from .constants import _arb_precision
from .context import _Ctx, _expect, _rigorous_numbers, _settle
from .domains import _GRID_BITS, Domain, linear_sup_up, make_domain, preactivation_ranges
from .numbers import _fmt, _number, _rat, _short
from .report import Refused, _Fail
from .witness import Network

MAX_LEAVES = 1 << 20
"""Budget: the most leaves of one Theorem 5.3 bound, over all points."""
MAX_LEAF_WORK = 1 << 28
"""Budget: (number of leaves) · m · (d + 1), the size of the leaves' exact products."""
MAX_RANGE_WORK = 1 << 27
"""Budget: n · m · (d + 1), the exact pre-activation ranges of every point."""


@dataclass(frozen=True)
class Leaf:
    """One leaf of a point's split tree (Theorem 5.3 bound, details.per_point[i].leaves[j])."""

    sigma: int
    splits: dict
    alpha: dict
    beta: dict
    bound: fmpq


def _rat_list(values: list, where: str) -> list[fmpq]:
    """Many rational strings at once (leaf parameters run to millions): C-level maps on the
    common case 'p/q' in lowest terms; anything else goes through :func:`_rat` for its message."""
    try:
        ns, _, ds = zip(*map(str.partition, values, repeat("/")))
        ni, di = list(map(int, ns)), [int(q) if q else 1 for q in ds]
        canonical = [f"{p}/{q}" if q != 1 else str(p) for p, q in zip(ni, di)]
        if canonical == values and min(di) > 0 and set(map(math.gcd, ni, di)) == {1}:
            return list(map(fmpq, ni, di))
    except (TypeError, ValueError):
        pass
    return [_rat(x, f"{where}[{j}][1]") for j, x in enumerate(values)]


def _pairs(v, where: str, m: int, rational: bool) -> dict:
    if not isinstance(v, list):
        raise _Fail(f"{where} is not a list of [neuron, value] pairs")
    if not v:
        return {}
    if not all(type(e) is list and len(e) == 2 and type(e[0]) is int for e in v):
        j = next(j for j, e in enumerate(v) if not (type(e) is list and len(e) == 2 and type(e[0]) is int))
        raise _Fail(f"{where}[{j}] is not a [neuron, value] pair")
    rs = [e[0] for e in v]
    if min(rs) < 0 or max(rs) >= m:
        j = next(j for j, r in enumerate(rs) if not 0 <= r < m)
        raise _Fail(f"{where}[{j}]: neuron {rs[j]} is not in 0..{m - 1}")
    vals = [e[1] for e in v]
    if rational:
        vals = _rat_list(vals, where)
    elif not all(type(x) is int and x in (1, -1) for x in vals):
        j = next(j for j, x in enumerate(vals) if not (type(x) is int and x in (1, -1)))
        raise _Fail(f"{where}[{j}]: the side of neuron {rs[j]} is {_short(vals[j])}, not 1 or -1")
    out = dict(zip(rs, vals))
    if len(out) != len(rs):
        seen: set = set()
        r = next(r for r in rs if r in seen or seen.add(r))
        raise _Fail(f"{where}: neuron {r} appears twice")
    return out


def _parse_leaf(v, where: str, m: int) -> Leaf:
    if not isinstance(v, dict):
        raise _Fail(f"{where} is not an object")
    for key in ("sigma", "splits", "alpha", "beta", "bound"):
        if key not in v:
            raise _Fail(f"{where} has no '{key}'")
    if type(v["sigma"]) is not int or v["sigma"] not in (1, -1):
        raise _Fail(f"{where}.sigma = {_short(v['sigma'])}, not 1 or -1")
    splits = _pairs(v["splits"], f"{where}.splits", m, False)
    alpha = _pairs(v["alpha"], f"{where}.alpha", m, True)
    beta = _pairs(v["beta"], f"{where}.beta", m, True)
    if alpha and not (min(alpha.values()) >= 0 and max(alpha.values()) <= 1):
        r = next(r for r, x in alpha.items() if not 0 <= x <= 1)
        raise _Fail(f"{where}.alpha: alpha_{r} = {_fmt(alpha[r])} is not in [0, 1]")
    for r, x in beta.items():
        if x < 0:
            raise _Fail(f"{where}.beta: beta_{r} = {_fmt(x)} is negative")
        if r not in splits:
            raise _Fail(f"{where}.beta: neuron {r} has a beta but the leaf does not split it")
    missing = [r for r in splits if r not in beta]
    if missing:
        raise _Fail(f"{where}.beta: split neuron {missing[0]} has no beta")
    return Leaf(v["sigma"], splits, alpha, beta, _rat(v["bound"], f"{where}.bound"))


def split_tree_gap(leaves: list[dict]) -> str | None:
    """Why the leaves' splits (neuron -> ±1) do not form a complete split tree, or None.

    A complete tree: one leaf without splits; or a neuron split by every leaf, such that
    the leaves with +1 and those with -1 (that neuron removed) are both complete trees.
    Its leaves then cover every sign pattern, so the leaves' regions cover the domain.
    """
    stack = [(list(range(len(leaves))), ())]
    while stack:
        idx, path = stack.pop()
        where = "the root" if not path else "the branch " + ", ".join(f"z_{r} {'>=' if s > 0 else '<='} 0" for r, s in path)
        done = {r for r, _ in path}
        rest = [[r for r in leaves[j] if r not in done] for j in idx]
        if not idx:
            return f"no leaf covers {where}"
        if len(idx) == 1 and not rest[0]:
            continue
        bare = [j for j, rr in zip(idx, rest) if not rr]
        if bare:
            return f"leaf {bare[0]} ends at {where}, where other leaves split further (not a tree)"
        common = set(rest[0]).intersection(*rest[1:])
        if not common:
            return f"the leaves below {where} share no split neuron (not a tree)"
        r = min(common)
        plus = [j for j in idx if leaves[j][r] > 0]
        minus = [j for j in idx if leaves[j][r] < 0]
        stack.append((minus, path + ((r, -1),)))
        stack.append((plus, path + ((r, 1),)))
    return None


def _robust_loss(ctx: _Ctx, c: dict, det: dict, where: str) -> tuple[fmpq, str]:
    """Re-derive the Theorem 5.3 sound upper bound stored in ``det``; returns (mean upper, note)."""
    inst = ctx.need("inst")
    net: Network = ctx.need("network")
    n, m = inst["n"], net.m
    kind = det["domain"]
    rho = _rat(det["rho"], f"{where}.rho")
    if rho != inst["rho"]:
        raise _Fail(f"{where}.rho = {_fmt(rho)}, but instance.rho = {_fmt(inst['rho'])}")
    per = det["per_point"]
    if len(per) != n:
        raise _Fail(f"{where}.per_point has {len(per)} entries, n = {n}")
    for i, pp in enumerate(per):
        if not isinstance(pp, dict) or "upper" not in pp or not isinstance(pp.get("leaves"), list):
            raise _Fail(f"{where}.per_point[{i}] needs 'upper' and a list 'leaves'")
    _within_budget(sum(len(pp["leaves"]) for pp in per), n, m, net.d, where)
    # The paper's sets B2(x_i, rho) ∩ X contain x_i; the stored x_i are off X by rounding,
    # and a cap that this leaves empty would make its sup -inf and any bound "hold".
    doms = [make_domain(kind, inst["points"][i], rho) for i in range(n)]
    empty = [i for i, dom in enumerate(doms) if dom.empty]
    if empty:
        raise _Fail(f"{where}: the perturbation set B2(x_{empty[0]}, rho) ∩ X is empty ({len(empty)} of {n} points lie "
                    f"off X by more than rho = {_fmt(rho)}), so its robust loss says nothing: the contract needs every cap "
                    "non-empty")
    uppers, n_leaves = [], 0
    for i, pp in enumerate(per):
        wp = f"{where}.per_point[{i}]"
        upper = _rat(pp["upper"], f"{wp}.upper")
        if not isinstance(pp["leaves"], list):
            raise _Fail(f"{wp}.leaves is not a list")
        leaves = [_parse_leaf(v, f"{wp}.leaves[{j}]", m) for j, v in enumerate(pp["leaves"])]
        for sigma in (1, -1):
            side = [lf.splits for lf in leaves if lf.sigma == sigma]
            gap = split_tree_gap(side)
            if gap is not None:
                raise _Fail(f"{wp}: the sigma = {sigma:+d} leaves are not a complete split tree: {gap}")
        top = max(lf.bound for lf in leaves)
        if upper < top:
            raise _Fail(f"{wp}.upper = {_fmt(upper)} is below its largest leaf bound {_fmt(top)}")
        uppers.append(upper)
        n_leaves += len(leaves)
        dom = doms[i]
        got = leaf_bounds(net, dom, inst["labels"][i], leaves, f"{wp}.leaves")
        for j, (g, lf) in enumerate(zip(got, leaves)):
            if g > lf.bound:
                raise _Fail(
                    f"{wp}.leaves[{j}].bound = {_fmt(lf.bound)}, but the recipe re-derives {_fmt(g)}, larger by "
                    f"{_fmt(g - lf.bound)} (sigma = {lf.sigma:+d}, {len(lf.splits)} splits): the stored bound is not proved"
                )
    mean = sum(uppers, fmpq(0)) / n
    note = f"{n_leaves} leaves re-derived over the {kind}s of {n} points"
    return mean, note


def _within_budget(leaves: int, n: int, m: int, d: int, where: str) -> None:
    """Refuse, before any leaf is read, a bound whose re-derivation exceeds the budgets."""
    for what, got, most in (("leaves", leaves, MAX_LEAVES), ("leaves · m · (d+1)", leaves * m * (d + 1), MAX_LEAF_WORK),
                            ("n · m · (d+1)", n * m * (d + 1), MAX_RANGE_WORK)):
        if got > most:
            raise Refused(f"{where}: {what} = {got} is beyond this verifier's budget of {most}", "see docs/certificate.md, Budgets")


def leaf_bounds(net: Network, dom: Domain, y: fmpq, leaves: list[Leaf], where: str = "leaves") -> list[fmpq]:
    """Sound upper bounds of sup over the domain of sigma (f_W(x) - y), one per leaf (Theorem 5.3).

    Recomputed with this verifier's own ranges (:func:`preactivation_ranges`) and chords;
    only the leaves' splits, alpha and beta are taken from the certificate.

    The recipe (docs/certificate.md): on a leaf, sigma (f(x) - y) <= <Lambda, x> + sum_r k_r b_r
    + sum_r e_r - sigma y on the domain, Lambda = sum_r k_r W_r, with c_r = sigma a_r and
    k_r = c_r + beta_r (split +1), -beta_r (split -1), c_r (lo_r >= 0), 0 (hi_r <= 0),
    c_r s_r with e_r = c_r t_r (unstable, c_r > 0: a line s z + t >= relu on [lo_r, hi_r]),
    c_r alpha_r (unstable, c_r < 0).
    """
    lo, hi, S = preactivation_ranges(net, dom)
    unstable = [r for r in range(net.m) if lo[r] < 0 < hi[r]]
    V = sorted(set(unstable).union(*(lf.splits for lf in leaves)))
    a = {r: net.a(r) for r in V}
    pos = {r: j for j, r in enumerate(V)}
    sides = {sg: _side_terms(sg, V, a, lo, hi, S) for sg in (1, -1)}
    base = _active_outside(net, lo, set(V))
    rows, extra = [], []
    for j, lf in enumerate(leaves):
        row, e = _leaf_row(lf, sides[lf.sigma], a, pos, f"{where}[{j}]")
        rows.extend(row)
        extra.append(e)
    d = net.d
    zero = fmpq(0)
    if V:
        prod = fmpq_mat(len(leaves), len(V), rows) * fmpq_mat(len(V), d + 1, [x for r in V for x in net.row(r)])
    out = []
    for j, lf in enumerate(leaves):
        sg = lf.sigma
        lam = [base[t] * sg + (prod[j, t] if V else zero) for t in range(d + 1)]
        out.append(linear_sup_up(lam[:d], dom) + lam[d] + extra[j] - sg * y)
    return out


def _side_terms(sg: int, V: list[int], a: dict, lo: list[int], hi: list[int], S: int) -> tuple[list, dict, fmpq, list]:
    """The leaf-independent part of side sigma = ``sg`` of the recipe, on the neurons V
    (unstable or split by some leaf): the multipliers k_r of unsplit neurons, the chord
    constants e_r (unstable, c_r > 0) and their sum, and the (position, r, c_r) of the
    unstable neurons with c_r < 0, whose k_r = c_r alpha_r waits for a leaf's alpha."""
    g = _GRID_BITS
    one = 1 << g
    zero = fmpq(0)
    row, eo, na = [], {}, []
    for j, r in enumerate(V):
        c = a[r] if sg > 0 else -a[r]
        if lo[r] >= 0:
            row.append(c)
        elif hi[r] <= 0 or c == 0:
            row.append(zero)
        elif c > 0:
            # slope s = hi/(hi - lo) rounded down; t the least intercept keeping s z + t >= relu at lo and hi
            s_int = (hi[r] << g) // (hi[r] - lo[r])
            t_int = max(-s_int * lo[r], (one - s_int) * hi[r])
            row.append(c * fmpq(s_int, one))
            eo[r] = c * fmpq(t_int, S << g)
        else:
            row.append(zero)
            na.append((j, r, c))
    return row, eo, sum(eo.values(), zero), na


def _active_outside(net: Network, lo: list[int], inV: set[int]) -> list[fmpq]:
    """sum over the certainly active neurons outside V of a_r [W_r, b_r] (summed in integers)."""
    d = net.d
    acc = [0] * (d + 1)
    ai, Wi, bi = net.ai, net.Wi, net.bi
    for r in range(net.m):
        if lo[r] >= 0 and r not in inV:
            ar = ai[r]
            row = Wi[r]
            for t in range(d):
                acc[t] += ar * row[t]
            acc[d] += ar * bi[r]
    return [fmpq(v, net.Da * net.Du) for v in acc]


def _leaf_row(lf: Leaf, side: tuple[list, dict, fmpq, list], a: dict, pos: dict, where: str) -> tuple[list, fmpq]:
    """One leaf's multipliers k_r on V and its constant sum_r e_r: its side's terms with the
    leaf's splits (k_r = c_r + beta_r or -beta_r, no chord) and alphas filled in."""
    base_row, eo, e, need_alpha = side
    sg = lf.sigma
    row = list(base_row)
    for r, s in lf.splits.items():
        c = a[r] if sg > 0 else -a[r]
        row[pos[r]] = c + lf.beta[r] if s > 0 else -lf.beta[r]
        if r in eo:
            e -= eo[r]
    al = lf.alpha
    for t, r, c in need_alpha:
        if r in lf.splits:
            continue
        v = al.get(r)
        if v is None:
            raise _Fail(f"{where}.alpha has no entry for neuron {r}, which is unstable with sigma a_r < 0 on the domain")
        row[t] = c * v
    return row, e


def _robust_verdict(ctx: _Ctx, c: dict, det: dict, where: str, whose: str = "") -> str:
    """The Theorem 5.3 bound of ``det`` (at ``where``) re-derived, its ``upper`` and the
    check's value equal to the re-derived mean, the bound eps, and the verdict settled."""
    mean, note = _robust_loss(ctx, c, det, where)
    _expect(c, f"{where}.upper", _rat(det["upper"], f"{where}.upper"), mean)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, ctx.need("inst")["eps"])
    _expect(c, "value", value, mean)
    done = _settle(c, value <= bound, f"the certified robust loss {_fmt(value)}{whose} exceeds eps = {_fmt(bound)}")
    return f"{done}; {note}"


def _check_theorem_5_3(ctx: _Ctx, c: dict) -> str:
    return _robust_verdict(ctx, c, c["details"], "details")


def _check_theorem_4_1(ctx: _Ctx, c: dict) -> str:
    det = c["details"]
    wit = det.get("witness")
    net = ctx.need("network")
    if isinstance(wit, dict) and "sha256" in wit and wit["sha256"] != net.sha256:
        raise _Fail(f"details.witness.sha256 = {_short(wit['sha256'])} is not objects.network.sha256: the check is about another network")
    drift = _drift(ctx, det, net)
    done = _robust_verdict(ctx, c, det["robust"], "details.robust", " of the stored iterate")
    return f"{done}; {drift}"


def _drift(ctx: _Ctx, det: dict, net: Network) -> str:
    """Theorem 4.1 is about an iterate W = W(t*) of Algorithm 1 started at W0: every step moves
    W_r by at most eta |a_r| = c_eta eps m^(-2/3), so m^(2/3) ||W - W0||_{2,inf} <= R_train = R^2/eps
    (math-spec §7, R Theorem 5.2's radius >= 1). Proved exactly from the witness's binary64
    W and W0 (squares compared, no square root); ``details.drift_best`` (a float for people)
    must agree with the exact drift, which ties the stored W0 to the builder's report."""
    sch = det.get("schedule")
    if not isinstance(sch, dict) or "R" not in sch or "m" not in sch:
        raise _Fail("details.schedule.R and details.schedule.m (Theorem 5.2's radius and the width) are missing: "
                    "they bound the drift m^(2/3) ||W - W0||_{2,inf} <= R^2/eps of an Algorithm 1 iterate")
    if type(sch["m"]) is not int or sch["m"] != net.m:
        raise _Fail(f"details.schedule.m = {_short(sch['m'])}, but the witness has m = {net.m}")
    R = _number(sch["R"], "details.schedule.R")
    if R is None or not R >= 1:
        raise _Fail(f"details.schedule.R = {_short(sch['R'])}; Theorem 5.2 takes R >= 1")
    eps = ctx.need("inst")["eps"]
    R_train = R * R / eps
    stored = _number(sch.get("R_train"), "details.schedule.R_train")
    if stored is None or abs(stored - R_train) > R_train / 2**50:
        raise _Fail(f"details.schedule.R_train = {_short(sch.get('R_train'))}, but R^2/eps = {_fmt(R_train)}")
    # exact max_r ||W_r - W0_r||^2 = S / L^2 over one power-of-two denominator L
    S, L = net.max_move_squared()
    m = net.m
    Rn, Rd = int(R_train.p), int(R_train.q)
    # m^(2/3) sqrt(S)/L <= Rn/Rd  <=>  m^4 S^3 Rd^6 <= Rn^6 L^6 (both sides >= 0)
    holds = m**4 * S**3 * Rd**6 <= Rn**6 * L**6
    with _arb_precision():
        exact = arb(m) ** arb(fmpq(2, 3)) * arb(fmpq(S, L * L)).sqrt()
    shown = exact.mid().str(8, radius=False)
    if not holds:
        raise _Fail(f"the drift m^(2/3) ||W - W0||_{{2,inf}} = {shown} of the witness exceeds R_train = R^2/eps = "
                    f"{_fmt(R_train)}: W is not an iterate of Algorithm 1 started at the stored W0")
    db = det.get("drift_best")
    if isinstance(db, bool) or not isinstance(db, (int, float)):
        raise _Fail("details.drift_best (m^(2/3) ||W - W0||_{2,inf} of the stored iterate, a float) is missing")
    with _arb_precision():
        close = abs(arb(db) - exact) <= arb(2.0**-30) * (exact + arb(2.0**-1000))
    if not close:
        raise _Fail(f"details.drift_best = {_short(db)}, but the witness's W and W0 give m^(2/3) ||W - W0||_{{2,inf}} = {shown}: "
                    "the stored W0 is not the initialisation the certificate reports")
    return f"drift {shown} <= R_train = {_fmt(R_train)}"

