"""The rigorous constants of the certificate (docs/certificate.md, "constants").

Lemma 6.6's complexity constants C(q) and C(q, eps2) of the step polynomial q are proved
in Arb ball arithmetic (flint, 192 bits) against their claimed log2 upper bounds, with
eps2 in (0, min(eps/(9n), 1/(2 C(q)))] (math-spec §5's reading of Lemma 6.6); the paper's
degree bounds of Claim 6.3 and Lemma 6.4 are enclosed in Arb (:func:`_paper_degree_ball`, for the
checks claim-6.3/degree and lemma-6.4/degree); D_used and
log2_coef_bound_p1 (Lemma 6.4's coefficient bound 2^{4D}) are re-derived from p1 (on route lp,
D_used from q, and log2_coef_bound_p1 must be absent), and m from objects.network. A rigorous constant this module does not know is rejected.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable

from flint import arb, fmpq
from flint import ctx as flint_ctx

from .context import _Ctx
from .numbers import _fmt, _rat
from .report import _Fail


def _const_d_used(ctx: _Ctx) -> fmpq:
    if ctx.route == "lp":
        return fmpq(ctx.need("q").degree())
    return fmpq(ctx.need("p1").degree())


def _const_log2_coef_bound_p1(ctx: _Ctx) -> fmpq:
    return fmpq(4 * ctx.need("p1").degree())


_ARB_PREC = 192  # bits; a ball's radius is ~2^-180 relative, far below the builders' 2^-24 grid


@contextmanager
def _arb_precision(prec: int = _ARB_PREC):
    """Arb's working precision at ``prec`` bits (default _ARB_PREC) inside, restored after (flint's is global)."""
    old = flint_ctx.prec
    flint_ctx.prec = prec
    try:
        yield
    finally:
        flint_ctx.prec = old


def _complexity_c(ctx: _Ctx) -> fmpq:
    c = ctx.doc["constants"].get("complexity_c")
    if c is None or c["label"] == "estimate":
        raise _Fail("needs the exact constant complexity_c (the c of C(phi) in Lemma 6.6)")
    return _rat(c["value"], "constants.complexity_c.value")


def _complexity_balls(ctx: _Ctx, eps2: fmpq | None):
    """Balls of C(q) = c Σ_j (j+1)^{7/4} |q_j| and, given eps2, of
    C(q, eps2) = Σ_j c^j (1 + (sqrt(ln(1/eps2)/j))^j) |q_j| (the j = 0 factor is 2),
    math-spec §5's reading of Lemma 6.6, for the step polynomial q of objects.q."""
    c = _complexity_c(ctx)
    q = ctx.need("q").coeffs()
    with _arb_precision():
        cc = arb(c)
        seven4 = arb(fmpq(7, 4))
        Cq = cc * sum((arb(abs(a)) * (seven4 * arb(j + 1).log()).exp() for j, a in enumerate(q) if a != 0), arb(0))
        Cqe = None
        if eps2 is not None:
            L = (1 / arb(eps2)).log()
            Cqe = arb(0)
            for j, a in enumerate(q):
                if a == 0:
                    continue
                factor = arb(2) if j == 0 else 1 + ((L / j).log() * j / 2).exp()
                Cqe += arb(abs(a)) * cc ** j * factor
        return Cq, Cqe


def _log2_at_most(x: arb, claim: fmpq, name: str) -> None:
    with _arb_precision():
        if not x > 0:
            raise _Fail(f"constants.{name}: the quantity is not certainly positive, so its log2 is undefined")
        hi = (x.log() / arb(2).log()).upper()
        if not arb(claim) >= hi:
            raise _Fail(f"constants.{name}.value = {_fmt(claim)} is below log2 of the quantity (upper end {hi.mid().str(12, radius=False)})")


def _eps2(ctx: _Ctx) -> fmpq:
    e = ctx.doc["constants"].get("eps2")
    if e is None or e["label"] == "estimate":
        raise _Fail("needs the exact constant eps2")
    return _rat(e["value"], "constants.eps2.value")


def _claim_complexity_c(ctx: _Ctx, value: fmpq) -> None:
    if not value > 0:
        raise _Fail(f"constants.complexity_c.value = {_fmt(value)} is not positive (Lemma 6.6 takes c > 0)")


def _claim_eps2(ctx: _Ctx, value: fmpq) -> None:
    inst = ctx.need("inst")
    cap = inst["eps"] / (9 * inst["n"])
    if not 0 < value <= cap:
        raise _Fail(f"constants.eps2.value = {_fmt(value)} is not in (0, eps/(9n) = {_fmt(cap)}]")
    Cq, _ = _complexity_balls(ctx, None)
    with _arb_precision():
        if not 2 * Cq * arb(value) <= 1:
            raise _Fail(f"constants.eps2.value = {_fmt(value)} is not certainly <= 1/(2 C(q)) (Lemma 6.6 needs eps2 < 1/C(q))")


def _claim_log2_C_q(ctx: _Ctx, value: fmpq) -> None:
    _log2_at_most(_complexity_balls(ctx, None)[0], value, "log2_C_q")


def _claim_log2_C_q_eps2(ctx: _Ctx, value: fmpq) -> None:
    eps2 = _eps2(ctx)
    if not 0 < eps2 < 1:
        raise _Fail(f"eps2 = {_fmt(eps2)} is not in (0, 1), so C(q, eps2) is undefined")
    _log2_at_most(_complexity_balls(ctx, eps2)[1], value, "log2_C_q_eps2")


BOUNDED_CONSTANTS: dict[str, tuple[tuple[str, ...], Callable[[_Ctx, fmpq], None]]] = {
    "complexity_c": (("exact",), _claim_complexity_c),
    "eps2": (("exact",), _claim_eps2),
    "log2_C_q": (("sound-bound",), _claim_log2_C_q),
    "log2_C_q_eps2": (("sound-bound",), _claim_log2_C_q_eps2),
}
"""Rigorous constants whose claim is an inequality, checked in Arb (Lemma 6.6, math-spec §5):
complexity_c is the construction's parameter c > 0; eps2 is exact and lies in
(0, min(eps/(9n), 1/(2 C(q)))]; log2_C_q and log2_C_q_eps2 are upper bounds of log2 C(q)
and log2 C(q, eps2), q the step polynomial of objects.q."""


DEGREE_BOUND_PRECISIONS = (_ARB_PREC, 1024)
"""Budget: the Arb precisions (bits) at which a paper degree bound is enclosed, in turn, until its
ball lies inside the certificate's enclosure (the builders' ends are 12-digit decimals)."""


def _paper_degree_ball(ctx: _Ctx, which: str, prec: int) -> arb:
    """An Arb ball of a paper's degree bound at ``prec`` bits (math-spec §2, §3): ``"claim-6.3"``,
    (24/γ) ln(48n/ε) with γ, ε, n of the instance; ``"lemma-6.4"``, (3/η) ln(2/(η ε1)) with
    η = γ/8 and ε1 = ε/(3n) as the parameters part re-derived them."""
    with _arb_precision(prec):
        if which == "claim-6.3":
            inst = ctx.need("inst")
            return 24 / arb(inst["gamma"]) * (48 * arb(fmpq(inst["n"])) / arb(inst["eps"])).log()
        par = ctx.need("params")
        eta = arb(par["eta"])
        return 3 / eta * (2 / (eta * arb(par["eps1"]))).log()


def _const_m(ctx: _Ctx) -> fmpq:
    entry = ctx.doc["objects"].get("network")
    if entry is None:
        raise _Fail("constants.m: the width of a network, but there is no objects.network")
    return fmpq(entry["m"])


KNOWN_CONSTANTS: dict[str, Callable[[_Ctx], fmpq]] = {
    "D_used": _const_d_used,
    "log2_coef_bound_p1": _const_log2_coef_bound_p1,
    "m": _const_m,
}
"""Constants with a rigorous label that this verifier re-derives: D_used is the degree of
p1 (= the degree of q; on route lp, the degree of q); log2_coef_bound_p1 = 4 D_used, the exponent of Lemma 6.4's
coefficient bound 2^{4D}; m = objects.network.m, the rows of the witness (checked by the
network part). A rigorous constant not listed here is rejected, like an unknown rigorous
check: a label that nobody checks would vouch for nothing."""


def _part_constants(ctx: _Ctx) -> str:
    consts = ctx.doc["constants"]
    if ctx.route == "lp" and "log2_coef_bound_p1" in consts:
        raise _Fail("constants.log2_coef_bound_p1 is Lemma 6.4's bound for p1, which route lp does not have: it must be absent")
    for name, c in consts.items():
        if c["label"] == "estimate":
            if isinstance(c["value"], float) and not math.isfinite(c["value"]):
                raise _Fail(f"constants.{name}.value is not finite")
            continue
        got = _rat(c["value"], f"constants.{name}.value")
        if name in BOUNDED_CONSTANTS:
            labels, claim = BOUNDED_CONSTANTS[name]
            if c["label"] not in labels:
                raise _Fail(f"constants.{name}: label {c['label']!r}, but the contract defines it as {labels[0]!r}")
            claim(ctx, got)
            continue
        rederive = KNOWN_CONSTANTS.get(name)
        if rederive is None:
            raise _Fail(
                f"cannot re-derive constant {name} (label {c['label']}); this verifier knows: "
                f"{', '.join([*KNOWN_CONSTANTS, *BOUNDED_CONSTANTS])}; label it 'estimate' if it is only reported"
            )
        if c["label"] != "exact":
            raise _Fail(f"constants.{name}: label {c['label']!r}, but it is an exact integer")
        want = rederive(ctx)
        if got != want:
            raise _Fail(f"constants.{name}.value = {_fmt(got)}, but it re-derives to {_fmt(want)}")
    if ctx.route != "lp" and ctx.need("q").degree() != ctx.need("p1").degree():
        raise _Fail(f"q has degree {ctx.q.degree()}, p1 has degree {ctx.p1.degree()}: D_used is not the degree of both")
    rig = sum(1 for c in consts.values() if c["label"] != "estimate")
    return f"{rig} rigorous constants re-derived, {len(consts) - rig} estimates reported"
