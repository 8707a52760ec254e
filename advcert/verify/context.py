"""What every check shares: the exact values parsed from the document, and the verdict rules
(docs/certificate.md, "Checks": a rigorous check says holds or fails and its verdict must
be the re-derived truth of its claim; an estimate is listed, not re-run, and only its
verdict's consistency with its own value and bound is checked).
"""

from __future__ import annotations

from pathlib import Path

from flint import fmpq, fmpq_poly

from .numbers import _cmp, _fmt, _number, _rat
from .report import _Fail

RIGOROUS_LABELS = ("exact", "enclosure", "sound-bound")
RIGOROUS_VERDICTS = ("holds", "fails")
ESTIMATE_VERDICTS = ("observed", "violated", "vacuous", "infeasible")


class _Ctx:
    """Exact values parsed and derived from the document, filled in part by part."""

    def __init__(self, doc: dict, base: Path | None = None, witness: bytes | None = None):
        self.doc = doc
        self.base = base
        self.witness = witness
        self.network = None
        self.failed: set[str] = set()
        self.inst: dict | None = None
        self.params: dict | None = None
        # parameters.route: None (q composed from the sign polynomial p1, Claim 6.3) or
        # "lp" (q built directly; no p1), set by the parameters part
        self.route: str | None = None
        self.p1: fmpq_poly | None = None
        self.q: fmpq_poly | None = None
        self.checks: dict[str, dict] = {}
        self.lemma_6_2_value: fmpq | None = None

    _PART_OF = {"inst": "instance", "params": "parameters", "p1": "objects", "q": "objects", "network": "network"}

    def need(self, what: str):
        val = getattr(self, what)
        if val is None:
            raise _Fail(f"cannot be re-derived because {self._PART_OF[what]} failed")
        return val


def _rigorous_numbers(c: dict) -> tuple[fmpq, fmpq]:
    return _rat(c["value"], f"{c['id']}.value"), _rat(c["bound"], f"{c['id']}.bound")


def _expect(c: dict, field: str, got: fmpq, want: fmpq) -> None:
    if got != want:
        raise _Fail(f"{field} = {_fmt(got)}, but it re-derives to {_fmt(want)}")


def _settle(c: dict, holds: bool, why_not: str) -> str:
    """Compare the stored verdict with the re-derived truth of the claim."""
    v = c["verdict"]
    if holds and v == "holds":
        return f"{_fmt(fmpq(c['value']))} {c['relation']} {_fmt(fmpq(c['bound']))}"
    if holds:
        raise _Fail(f"the verdict says {v!r}, but the claim holds")
    if v == "holds":
        raise _Fail(f"the verdict says 'holds', but {why_not}")
    raise _Fail(f"the claim does not hold (the certificate says so too): {why_not}")


def _enclosure(c: dict) -> tuple[fmpq, fmpq]:
    e = c["enclosure"]
    lo, hi = _rat(e["lo"], f"{c['id']}.enclosure.lo"), _rat(e["hi"], f"{c['id']}.enclosure.hi")
    if lo > hi:
        raise _Fail(f"enclosure.lo = {_fmt(lo)} > enclosure.hi = {_fmt(hi)}")
    value = _rat(c["value"], f"{c['id']}.value")
    end = hi if c["relation"] == "<=" else lo
    if value != end:
        raise _Fail(f"value = {_fmt(value)} is not the compared end {'hi' if c['relation'] == '<=' else 'lo'} = {_fmt(end)} of the enclosure")
    return lo, hi


def _check_estimate(ctx: _Ctx, c: dict) -> str:
    """An estimate is listed, not re-run; only its verdict's consistency is checked."""
    if c["verdict"] not in ESTIMATE_VERDICTS:
        raise _Fail(f"an estimate may not say {c['verdict']!r} (only {', '.join(ESTIMATE_VERDICTS)})")
    value = _number(c["value"], f"{c['id']}.value")
    bound = _number(c["bound"], f"{c['id']}.bound")
    if value is not None and bound is not None:
        meets = _cmp(value, c["relation"], bound)
        if c["verdict"] == "observed" and not meets:
            raise _Fail(f"the verdict says 'observed', but value {_fmt(value)} {c['relation']} bound {_fmt(bound)} is false")
        if c["verdict"] == "violated" and meets:
            raise _Fail(f"the verdict says 'violated', but value {_fmt(value)} {c['relation']} bound {_fmt(bound)} holds")
    return "estimate, not re-run"
