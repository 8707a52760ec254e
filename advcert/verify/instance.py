"""The data set and the construction's parameters, and Definition 3.4 (gamma-separability)
re-derived from the stored points (docs/certificate.md, "instance", "parameters",
"Data-dependent quantities" and the checks definition-3.4/on-X and definition-3.4).

Every point is read as its exact binary64 value and scaled to integers, so norms,
distances and the separation delta(delta - 2 rho) are decided without rounding.
"""

from __future__ import annotations

from flint import fmpq

from .context import _Ctx, _enclosure, _expect, _rigorous_numbers, _settle
from .numbers import _dyadic, _fmt, _rat, _short
from .report import Refused, _Fail

_TAU_BOUND = fmpq(1, 2**40)
MAX_PAIR_WORK = 1 << 27
"""Budget: n (n - 1)/2 · d, the coordinate operations of the exact minimum distance delta."""


def _part_instance(ctx: _Ctx) -> str:
    inst = ctx.doc["instance"]
    n, d = inst["n"], inst["d"]
    pts, ys = inst["points"], inst["labels"]
    if len(pts) != n:
        raise _Fail(f"instance.points has {len(pts)} rows but n = {n}")
    if len(ys) != n:
        raise _Fail(f"instance.labels has {len(ys)} entries but n = {n}")
    if n * (n - 1) // 2 * d > MAX_PAIR_WORK:
        raise Refused(f"n = {n}, d = {d}: the exact minimum distance takes n(n-1)/2 d = {n * (n - 1) // 2 * d} operations, "
                      f"beyond this verifier's budget of {MAX_PAIR_WORK}", "see docs/certificate.md, Budgets")
    if inst["entropy"] != str(inst["seed"]):
        raise _Fail(
            f"instance.entropy = {_short(inst['entropy'])} is not SeedSequence({inst['seed']}).entropy = '{inst['seed']}'"
        )
    rho = _rat(inst["rho"], "instance.rho")
    gamma = _rat(inst["gamma"], "instance.gamma")
    eps = _rat(inst["eps"], "instance.eps")
    if rho < 0:
        raise _Fail(f"instance.rho = {_fmt(rho)} is negative")
    if gamma <= 0:
        raise _Fail(f"instance.gamma = {_fmt(gamma)} is not positive")
    if eps <= 0:
        raise _Fail(f"instance.eps = {_fmt(eps)} is not positive")
    # Scale every coordinate (a dyadic rational) by one power of two to integers, so
    # norms and distances are exact integer sums.
    ratios = []
    for i, row in enumerate(pts):
        if len(row) != d:
            raise _Fail(f"instance.points[{i}] has {len(row)} coordinates but d = {d}")
        r = []
        for j, v in enumerate(row):
            x = _dyadic(v, f"instance.points[{i}][{j}]")
            r.append((int(x.p), int(x.q)))
        ratios.append(r)
    E = max(q.bit_length() - 1 for r in ratios for _, q in r)
    X = [[p << (E - (q.bit_length() - 1)) for p, q in r] for r in ratios]
    scale = 1 << (2 * E)
    norms = [sum(v * v for v in row) for row in X]
    taus = [fmpq(s - scale, scale) for s in norms]
    on_plane = [ratios[i][d - 1] == (1, 2) for i in range(n)]
    labels = [_dyadic(y, f"instance.labels[{i}]") for i, y in enumerate(ys)]
    for i, y in enumerate(labels):
        if abs(y) > 1:
            raise _Fail(f"instance.labels[{i}] = {ys[i]!r} has |y| > 1")
    best, pair = None, None
    for i in range(n):
        Xi = X[i]
        for j in range(i + 1, n):
            s = 0
            for a, b in zip(Xi, X[j]):
                t = a - b
                s += t * t
            if best is None or s < best:
                best, pair = s, (i, j)
    ctx.inst = {
        "n": n, "d": d, "rho": rho, "gamma": gamma, "eps": eps, "taus": taus,
        "on_plane": on_plane, "labels": labels,
        "delta_sq": None if best is None else fmpq(best, scale), "pair": pair,
        "dist_sq": lambda i, j: fmpq(sum((a - b) ** 2 for a, b in zip(X[i], X[j])), scale),
        "tau_plus": max(fmpq(0), max(taus)), "tau_minus": max(fmpq(0), -min(taus)),
        "points": [[fmpq(pp, q) for pp, q in r] for r in ratios],
    }
    return f"n = {n}, d = {d}, points read as exact binary64 values"


ROUTES = (None, "lp")
"""The values of parameters.route (docs/certificate.md, "Routes"): absent (None), q composed
from Lemma 6.4's sign polynomial p1 as in Claim 6.3; "lp", q built directly (no p1)."""

P1_PARAMETERS = ("alpha", "taylor_k", "cheb_d")
"""The parameters of Lemma 6.4's construction and of Claim 6.3's composition, absent on route lp."""


def _part_parameters(ctx: _Ctx) -> str:
    inst = ctx.need("inst")
    par = ctx.doc["parameters"]
    route = par.get("route")
    if route not in ROUTES:
        raise _Fail(f"parameters.route = {_short(route)}, but format version 1 knows only \"lp\" (or no route)")
    ctx.route = route
    eps1 = inst["eps"] / (3 * inst["n"])
    eta = inst["gamma"] / 8
    if route == "lp":
        stray = [k for k in P1_PARAMETERS if k in par]
        if stray:
            raise _Fail(f"parameters.{stray[0]} is a parameter of Lemma 6.4's p1, which route lp does not use: it must be absent")
        checked = (("eps1", eps1), ("eta", eta))
    else:
        alpha = 1 - inst["rho"] ** 2 / 2 - 2 * eta
        checked = (("eps1", eps1), ("eta", eta), ("alpha", alpha))
    for key, want in checked:
        got = _rat(par[key], f"parameters.{key}")
        if got != want:
            raise _Fail(f"parameters.{key} = {_fmt(got)}, but the instance gives {_fmt(want)}")
    if not 0 < eta < 1:
        raise _Fail(f"eta = {_fmt(eta)} is not in (0, 1)")
    if not 0 < eps1 < 1:
        raise _Fail(f"eps1 = {_fmt(eps1)} is not in (0, 1)")
    if route == "lp":
        ctx.params = {"eps1": eps1, "eta": eta}
        return f"route lp (q built directly, no p1): eps1 = {_fmt(eps1)}, eta = {_fmt(eta)}"
    ctx.params = {"eps1": eps1, "eta": eta, "alpha": alpha,
                  "taylor_k": par["taylor_k"], "cheb_d": par["cheb_d"]}
    return f"eps1 = {_fmt(eps1)}, eta = {_fmt(eta)}, alpha = {_fmt(alpha)}"


def _check_on_x(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    det = c["details"]
    _expect(c, "details.tau_plus", _rat(det["tau_plus"], "details.tau_plus"), inst["tau_plus"])
    _expect(c, "details.tau_minus", _rat(det["tau_minus"], "details.tau_minus"), inst["tau_minus"])
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, _TAU_BOUND)
    _expect(c, "value", value, max(abs(t) for t in inst["taus"]))
    off = [i for i, ok in enumerate(inst["on_plane"]) if not ok]
    if off:
        return _settle(c, False, f"x_d != 1/2 for point {off[0]}")
    return _settle(c, value <= bound, f"max |tau_i| = {_fmt(value)} > 2^-40")


def _check_separability(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    if inst["delta_sq"] is None:
        raise _Fail("delta is undefined with fewer than 2 points")
    det = c["details"]
    d2 = inst["delta_sq"]
    _expect(c, "details.delta_sq", _rat(det["delta_sq"], "details.delta_sq"), d2)
    i, j = det["pair"]
    n = inst["n"]
    if not (i < n and j < n and i != j):
        raise _Fail(f"details.pair = [{i}, {j}] is not a pair of distinct points among {n}")
    if inst["dist_sq"](i, j) != d2:
        raise _Fail(f"details.pair = [{i}, {j}]: ||x_i - x_j||^2 = {_fmt(inst['dist_sq'](i, j))} is not the minimum {_fmt(d2)}")
    dlo, dhi = _rat(det["delta"]["lo"], "details.delta.lo"), _rat(det["delta"]["hi"], "details.delta.hi")
    if not (0 <= dlo <= dhi and dlo * dlo <= d2 <= dhi * dhi):
        raise _Fail(f"details.delta = [{_fmt(dlo)}, {_fmt(dhi)}] does not enclose sqrt({_fmt(d2)})")
    lo, hi = _enclosure(c)
    rho = inst["rho"]
    # delta(delta - 2 rho) = d2 - 2 rho delta with delta = sqrt(d2): both ends by squaring
    # the non-negative sides, so no square root is ever rounded.
    if not (d2 - lo >= 0 and 4 * rho * rho * d2 <= (d2 - lo) ** 2):
        raise _Fail(f"enclosure.lo = {_fmt(lo)} exceeds delta(delta - 2 rho) for delta^2 = {_fmt(d2)}")
    if not (d2 - hi <= 0 or 4 * rho * rho * d2 >= (d2 - hi) ** 2):
        raise _Fail(f"enclosure.hi = {_fmt(hi)} is below delta(delta - 2 rho) for delta^2 = {_fmt(d2)}")
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, inst["gamma"])
    return _settle(c, value >= bound, f"the lower end {_fmt(value)} of delta(delta - 2 rho) is below gamma = {_fmt(bound)}")
