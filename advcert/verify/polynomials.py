"""The certified plane's polynomials and their checks: the sign polynomial p1 of Lemma 6.4,
the step polynomial q of Claim 6.3, and Lemma 6.2's bound on the robust interpolant f*
(docs/certificate.md, "objects", "Routes" and "The foundation checks").

p1's Chebyshev form is expanded with the integer recurrence and compared with its
monomial form; q is recomputed from p1 (on route lp there is no p1: q is read as stored,
and only claim-6.3/in and /out speak of it); every sup-norm enclosure is proved by
:func:`advcert.verify.descartes.prove_sup_abs`. lemma-6.2/attack (an estimate) is checked
against the certified upper bound of lemma-6.2.
"""

from __future__ import annotations

from flint import arb, fmpq, fmpq_poly, fmpz_poly

from .constants import DEGREE_BOUND_PRECISIONS, _arb_precision, _paper_degree_ball
from .context import _Ctx, _check_estimate, _enclosure, _expect, _rigorous_numbers, _settle
from .descartes import prove_sup_abs
from .domains import make_domain
from .numbers import _fmt, _log2, _number, _rat
from .report import Refused, _Fail


MAX_DEGREE = 2048
"""Budget: the highest degree of p1 and q read (the builder's default limit is 1001)."""


def _poly(obj: dict, where: str) -> fmpq_poly:
    if len(obj["coefficients"]) - 1 > MAX_DEGREE:
        raise Refused(f"{where} has {len(obj['coefficients'])} coefficients, beyond this verifier's degree budget of {MAX_DEGREE}",
                      "see docs/certificate.md, Budgets")
    cs = [_rat(c, f"{where}.coefficients[{j}]") for j, c in enumerate(obj["coefficients"])]
    if obj["degree"] != len(cs) - 1:
        raise _Fail(f"{where}.degree = {obj['degree']} but there are {len(cs)} coefficients")
    if len(cs) > 1 and cs[-1] == 0:
        raise _Fail(f"{where}: the leading coefficient is 0, so the degree is not {obj['degree']}")
    return fmpq_poly(cs)


def _chebyshev_to_monomial(b: list[fmpq]) -> fmpq_poly:
    """Sum_j b_j T_j(y) in monomials, with the integer three-term recurrence."""
    y2 = fmpz_poly([0, 2])
    t0, t1 = fmpz_poly([1]), fmpz_poly([0, 1])
    out = fmpq_poly([b[0]])
    for j in range(1, len(b)):
        if j > 1:
            t0, t1 = t1, y2 * t1 - t0
        if b[j] != 0:
            out += fmpq_poly(t1) * b[j]
    return out


def _part_objects(ctx: _Ctx) -> str:
    par = ctx.need("params")
    obj = ctx.doc["objects"]
    if ctx.route == "lp":
        # q was built directly (docs/certificate.md, "Routes"): there is no p1 to compose it
        # from, and claim-6.3/in and /out are proved on the stored q alone
        for present, where in (("p1" in obj, "objects.p1"), ("alpha" in obj["q"], "objects.q.alpha")):
            if present:
                raise _Fail(f"{where} is Lemma 6.4's (or its composition's), which route lp does not use: it must be absent")
        ctx.q = _poly(obj["q"], "objects.q")
        return f"route lp: q of degree {obj['q']['degree']} built directly (no p1)"
    ctx.p1 = p1 = _poly(obj["p1"], "objects.p1")
    ctx.q = _poly(obj["q"], "objects.q")
    D = obj["p1"]["degree"]
    if D != 2 * par["cheb_d"] + 1:
        raise _Fail(f"objects.p1.degree = {D}, but the contract says D_used = 2 cheb_d + 1 = {2 * par['cheb_d'] + 1}")
    qa = _rat(obj["q"]["alpha"], "objects.q.alpha")
    if qa != par["alpha"]:
        raise _Fail(f"objects.q.alpha = {_fmt(qa)}, but parameters.alpha = {_fmt(par['alpha'])}")
    if len(obj["p1"]["chebyshev_y"]) > MAX_DEGREE + 1:
        raise _Fail(f"objects.p1.chebyshev_y has {len(obj['p1']['chebyshev_y'])} entries, more than p1's degree allows")
    b = [_rat(c, f"objects.p1.chebyshev_y[{j}]") for j, c in enumerate(obj["p1"]["chebyshev_y"])]
    ref = fmpq_poly([0, 1]) * _chebyshev_to_monomial(b)(fmpq_poly([1, 0, -1]))
    if ref != p1:
        rc, pc = ref.coeffs(), p1.coeffs()
        j = next(j for j in range(max(len(rc), len(pc)))
                 if (rc[j] if j < len(rc) else 0) != (pc[j] if j < len(pc) else 0))
        raise _Fail(f"objects.p1.chebyshev_y: x*Q(1 - x^2) differs from p1 (first at the coefficient of x^{j})")
    return f"p1 of degree {D} (its Chebyshev form agrees), q of degree {obj['q']['degree']}"


def _check_odd(ctx: _Ctx, c: dict) -> str:
    p1 = ctx.need("p1")
    cs = p1.coeffs()
    even = sum(1 for j in range(0, len(cs), 2) if cs[j] != 0)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(0))
    _expect(c, "value", value, fmpq(even))
    return _settle(c, value <= bound, f"p1 has {even} non-zero even coefficients")


def _check_log2(c: dict, value: fmpq, bound: fmpq) -> None:
    det = c["details"]
    for key, x in (("log2_value", value), ("log2_bound", bound)):
        got = det[key]
        if x <= 0:
            if got is not None:
                raise _Fail(f"details.{key} = {got!r}, but log2 of {_fmt(x)} is undefined (null expected)")
            continue
        want = _log2(x)
        # people's numbers: rounding to 3 decimals is allowed, nothing coarser
        if got is None or not abs(got - want) <= 5e-4 + 1e-12 * abs(want):
            raise _Fail(f"details.{key} = {got!r}, but log2 of the value is {want:.6f}")


def _check_p1_coefficients(ctx: _Ctx, c: dict) -> str:
    p1 = ctx.need("p1")
    D = p1.degree()
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(2) ** (4 * D))
    _expect(c, "value", value, max(abs(x) for x in p1.coeffs()))
    _check_log2(c, value, bound)
    return _settle(c, value <= bound, f"max |alpha_j| = {_fmt(value)} > 2^(4 D)")


def _sup_check(ctx: _Ctx, c: dict, P: fmpq_poly, cval: fmpq, name: str, a: fmpq, b: fmpq, var: str) -> str:
    par = ctx.need("params")
    det = c["details"]
    ia, ib = (_rat(x, f"details.interval[{k}]") for k, x in enumerate(det["interval"]))
    if (ia, ib) != (a, b):
        raise _Fail(f"details.interval = [{_fmt(ia)}, {_fmt(ib)}], but it re-derives to [{_fmt(a)}, {_fmt(b)}]")
    lo, hi = _enclosure(c)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, par["eps1"])
    w = _rat(det["witness"], "details.witness")
    if not a <= w <= b:
        raise _Fail(f"details.witness = {_fmt(w)} is outside [{_fmt(a)}, {_fmt(b)}]")
    at_w = abs(P(w) - cval)
    if at_w < lo:
        raise _Fail(f"enclosure.lo = {_fmt(lo)} is not attained: |{name}(witness) - {_fmt(cval)}| = {_fmt(at_w)}")
    why, nodes = prove_sup_abs(P, cval, hi, a, b, name, var)
    if why is not None:
        raise _Fail(f"upper end {_fmt(hi)} not proved: {why}")
    done = _settle(c, value <= bound, f"the certified sup {_fmt(value)} exceeds eps1 = {_fmt(bound)}")
    return f"{done}; the upper end proved by Descartes bisection ({nodes} sub-intervals)"


def _check_lemma_6_4(ctx: _Ctx, c: dict) -> str:
    return _sup_check(ctx, c, ctx.need("p1"), fmpq(1), "p1", ctx.need("params")["eta"], fmpq(1), "x")


_DEGREE_FORMULAS = {"claim-6.3": ("(24/γ)·ln(48n/ε)", ("gamma", "eps", "n")),
                    "lemma-6.4": ("(3/η)·ln(2/(η·ε1))", ("eta", "eps1"))}


def _degree_bound_check(ctx: _Ctx, c: dict, which: str, degree: int, poly: str) -> str:
    """The paper's degree bound (an enclosure of a logarithm) >= the degree of the stored ``poly``."""
    formula, names = _DEGREE_FORMULAS[which]
    src = ctx.need("inst") if which == "claim-6.3" else ctx.need("params")
    det = c["details"]
    if det.get("formula") != formula:
        raise _Fail(f"details.formula = {det.get('formula')!r}, but {c['id']} is {formula}")
    inputs = det.get("inputs")
    if not isinstance(inputs, dict) or sorted(inputs) != sorted(names):
        raise _Fail(f"details.inputs must name exactly {', '.join(names)}")
    for k in names:
        _expect(c, f"details.inputs.{k}", _rat(inputs[k], f"details.inputs.{k}"), fmpq(src[k]))
    if det.get("degree") != degree:
        raise _Fail(f"details.degree = {det.get('degree')!r}, but {poly} has degree {degree}")
    lo, hi = _enclosure(c)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(degree))
    for prec in DEGREE_BOUND_PRECISIONS:
        ball = _paper_degree_ball(ctx, which, prec)
        with _arb_precision(prec):
            inside = ball.lower() >= arb(lo) and ball.upper() <= arb(hi)
        if inside:
            break
    else:
        raise _Fail(f"the enclosure [{_fmt(lo)}, {_fmt(hi)}] does not contain {formula} = {ball.mid().str(15, radius=False)}")
    done = _settle(c, value >= bound, f"{formula} (at least {_fmt(value)}) does not reach the degree {degree} of {poly}")
    return f"{done}; {formula} enclosed in Arb ({prec} bits)"


def _check_p1_degree(ctx: _Ctx, c: dict) -> str:
    return _degree_bound_check(ctx, c, "lemma-6.4", ctx.need("p1").degree(), "p1")


def _check_q_degree(ctx: _Ctx, c: dict) -> str:
    return _degree_bound_check(ctx, c, "claim-6.3", ctx.need("q").degree(), "q")


def _q_reference(ctx: _Ctx) -> fmpq_poly:
    alpha = ctx.need("params")["alpha"]
    return (ctx.need("p1")(fmpq_poly([-alpha / 2, fmpq(1, 2)])) + 1) / 2


def _check_q_definition(ctx: _Ctx, c: dict) -> str:
    ref = _q_reference(ctx).coeffs()
    stored = [_rat(x, f"objects.q.coefficients[{j}]") for j, x in enumerate(ctx.doc["objects"]["q"]["coefficients"])]
    m = max(len(ref), len(stored))
    ref += [fmpq(0)] * (m - len(ref))
    stored += [fmpq(0)] * (m - len(stored))
    differ = [j for j in range(m) if ref[j] != stored[j]]
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(0))
    _expect(c, "value", value, fmpq(len(differ)))
    first = f" (first at z^{differ[0]})" if differ else ""
    return _settle(c, value <= bound, f"{len(differ)} coefficients of q differ from (p1((z - alpha)/2) + 1)/2{first}")


def _check_q_coefficients(ctx: _Ctx, c: dict) -> str:
    q = ctx.need("q")
    D = ctx.need("p1").degree()
    alpha = ctx.need("params")["alpha"]
    if alpha >= 1:
        raise _Fail(f"alpha = {_fmt(alpha)} >= 1, so the bound 2^(6D-1)/(1 - alpha) is undefined")
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(2) ** (6 * D - 1) / (1 - alpha) + fmpq(1, 2))
    _expect(c, "value", value, max(abs(x) for x in q.coeffs()))
    _check_log2(c, value, bound)
    return _settle(c, value <= bound, f"max |q_j| = {_fmt(value)} exceeds the paper's bound")


def _check_q_in(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    rho = inst["rho"]
    a = 1 - rho * rho / 2 - inst["tau_minus"] / 2
    b = 1 + inst["tau_plus"] / 2
    return _sup_check(ctx, c, ctx.need("q"), fmpq(1), "q", a, b, "z")


def _check_q_out(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    if inst["delta_sq"] is None:
        raise _Fail("delta is undefined with fewer than 2 points")
    rho = inst["rho"]
    dlo = _rat(c["details"]["delta_lo"], "details.delta_lo")
    if not dlo > rho:
        raise _Fail(f"details.delta_lo = {_fmt(dlo)} is not > rho = {_fmt(rho)}")
    if not dlo * dlo <= inst["delta_sq"]:
        raise _Fail(f"details.delta_lo = {_fmt(dlo)}, but delta_lo^2 > delta^2 = {_fmt(inst['delta_sq'])}")
    a = -1 - inst["tau_plus"] / 2
    b = 1 - (dlo - rho) ** 2 / 2 + inst["tau_plus"] / 2
    return _sup_check(ctx, c, ctx.need("q"), fmpq(0), "q", a, b, "z")


def _check_lemma_6_2(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    # the sup is over B2(x_j, rho) ∩ X, which the paper's x_j ∈ X always meets; an empty
    # cap (rho below x_j's rounding distance from X) would make any bound "hold"
    empty = [j for j, x in enumerate(inst["points"]) if make_domain("cap", x, inst["rho"]).empty]
    if empty:
        raise _Fail(f"the perturbation set B2(x_{empty[0]}, rho) ∩ X is empty ({len(empty)} of {inst['n']} points lie off X "
                    f"by more than rho = {_fmt(inst['rho'])}), so the sup over it says nothing: the contract needs every cap "
                    "non-empty")
    ends = {}
    for key in ("claim-6.3/in", "claim-6.3/out"):
        other = ctx.checks.get(key)
        if other is None or key in ctx.failed:
            raise _Fail(f"cannot be re-derived because {key} failed or is missing")
        ends[key] = _rat(other["enclosure"]["hi"], f"{key}.enclosure.hi")
    e_in, e_out = ends["claim-6.3/in"], ends["claim-6.3/out"]
    ay = [abs(y) for y in inst["labels"]]
    total = sum(ay, fmpq(0))
    per = [ay[j] * e_in + (total - ay[j]) * e_out for j in range(inst["n"])]
    stored = c["details"]["per_point"]
    if len(stored) != len(per):
        raise _Fail(f"details.per_point has {len(stored)} entries, n = {len(per)}")
    for j, (s, want) in enumerate(zip(stored, per)):
        _expect(c, f"details.per_point[{j}]", _rat(s, f"details.per_point[{j}]"), want)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, inst["eps"] / 3)
    _expect(c, "value", value, max(per))
    ctx.lemma_6_2_value = value
    return _settle(c, value <= bound, f"the certified bound {_fmt(value)} exceeds eps/3 = {_fmt(bound)}")


def _check_attack(ctx: _Ctx, c: dict) -> str:
    msg = _check_estimate(ctx, c)
    bound = _number(c["bound"], f"{c['id']}.bound")
    third = ctx.need("inst")["eps"] / 3
    # a float: eps/3 to within binary64 rounding (the builder divides float(eps) by 3)
    if bound is None or abs(bound - third) > third / 2**50:
        raise _Fail(f"bound = {_fmt(bound) if bound is not None else 'null'}, but the attack is measured against eps/3 = {_fmt(third)}")
    value = _number(c["value"], f"{c['id']}.value")
    certified = ctx.lemma_6_2_value
    if value is not None and certified is not None and value > certified:
        raise _Fail(
            f"the attack reached {_fmt(value)}, above the certified upper bound {_fmt(certified)} of lemma-6.2: the certificate contradicts itself"
        )
    return msg
