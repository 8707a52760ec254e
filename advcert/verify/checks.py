"""The checks of format version 1 (docs/certificate.md, "Checks", "The foundation checks"
and "The measured-plane checks"): each id's labels, relation and re-derivation, the
required ones, the chain order, and the rules every check obeys before its own
re-derivation runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .context import RIGOROUS_LABELS, RIGOROUS_VERDICTS, _check_estimate, _Ctx
from .instance import _check_on_x, _check_separability
from .polynomials import (
    _check_attack,
    _check_lemma_6_2,
    _check_lemma_6_4,
    _check_odd,
    _check_p1_coefficients,
    _check_q_coefficients,
    _check_q_definition,
    _check_q_in,
    _check_q_out,
)
from .report import _Fail
from .robust import _check_theorem_4_1, _check_theorem_5_3


@dataclass(frozen=True)
class _Spec:
    """What the contract says of one check id: its allowed labels, its relation, how a
    rigorous instance is re-derived and how an estimate is read, and whether every
    certificate must carry it."""

    labels: tuple[str, ...]
    relation: str
    rederive: Callable[[_Ctx, dict], str] | None
    required: bool = True
    estimate: Callable[[_Ctx, dict], str] | None = None


_EST = ("estimate",)
_SOUND_OR_EST = ("sound-bound", "estimate")


KNOWN_CHECKS: dict[str, _Spec] = {
    "definition-3.4/on-X": _Spec(("exact",), "<=", _check_on_x),
    "definition-3.4": _Spec(("enclosure",), ">=", _check_separability),
    "lemma-6.4/odd": _Spec(("exact",), "<=", _check_odd),
    "lemma-6.4/coefficients": _Spec(("exact",), "<=", _check_p1_coefficients),
    "lemma-6.4": _Spec(("enclosure",), "<=", _check_lemma_6_4),
    "claim-6.3/definition": _Spec(("exact",), "<=", _check_q_definition),
    "claim-6.3/coefficients": _Spec(("exact",), "<=", _check_q_coefficients),
    "claim-6.3/in": _Spec(("enclosure",), "<=", _check_q_in),
    "claim-6.3/out": _Spec(("enclosure",), "<=", _check_q_out),
    "lemma-6.2": _Spec(("sound-bound",), "<=", _check_lemma_6_2),
    "lemma-6.2/attack": _Spec(_EST, "<=", None, estimate=_check_attack),
    # the measured plane (optional: a certificate without a network omits them)
    "lemma-6.6": _Spec(_EST, "<=", None, required=False),
    "lemma-6.5/radius": _Spec(_EST, "<=", None, required=False),
    "lemma-6.5": _Spec(_EST, "<=", None, required=False),
    "theorem-5.1": _Spec(_EST, "<=", None, required=False),
    "theorem-5.1/chain": _Spec(_EST, "<=", None, required=False),
    "theorem-5.3": _Spec(_SOUND_OR_EST, "<=", _check_theorem_5_3, required=False),
    "theorem-5.2": _Spec(_EST, "<=", None, required=False),
    "theorem-4.1": _Spec(_SOUND_OR_EST, "<=", _check_theorem_4_1, required=False),
}
"""The checks of format version 1 in chain order (docs/certificate.md, "The foundation
checks" and "The measured plane"). The foundation checks are required; the measured
plane's are optional, but those present keep this order."""


REQUIRED_CHECKS = tuple(k for k, spec in KNOWN_CHECKS.items() if spec.required)


def _part_check_list(ctx: _Ctx) -> str:
    seen: dict[str, int] = {}
    for c in ctx.doc["checks"]:
        seen[c["id"]] = seen.get(c["id"], 0) + 1
    dup = [k for k, m in seen.items() if m > 1]
    if dup:
        raise _Fail(f"check {dup[0]} appears {seen[dup[0]]} times")
    for c in ctx.doc["checks"]:
        if c["id"] not in KNOWN_CHECKS and c["label"] in RIGOROUS_LABELS:
            raise _Fail(
                f"cannot re-derive check {c['id']} (label {c['label']}); this verifier knows: {', '.join(KNOWN_CHECKS)}"
            )
    missing = [k for k in REQUIRED_CHECKS if k not in seen]
    if missing:
        raise _Fail(f"check {missing[0]} is missing (format version 1 requires {', '.join(REQUIRED_CHECKS)})")
    known = [c["id"] for c in ctx.doc["checks"] if c["id"] in KNOWN_CHECKS]
    order = [k for k in KNOWN_CHECKS if k in seen]
    if known != order:
        k = next(i for i, (a, b) in enumerate(zip(known, order)) if a != b)
        raise _Fail(f"the checks are not in chain order: {known[k]} comes where {order[k]} belongs")
    ctx.checks = {c["id"]: c for c in ctx.doc["checks"]}
    return f"{len(ctx.doc['checks'])} checks, in chain order, all known or estimates"


def _run_check(ctx: _Ctx, c: dict) -> str:
    spec = KNOWN_CHECKS.get(c["id"])
    if spec is None:
        if c["label"] in RIGOROUS_LABELS:
            raise _Fail(f"cannot re-derive check {c['id']}; this verifier knows: {', '.join(KNOWN_CHECKS)}")
        return _check_estimate(ctx, c)
    label = c["label"]
    if label not in spec.labels:
        if spec.labels == _EST:
            raise _Fail(f"label {label!r}, but this check is an estimate by the contract: it cannot be re-derived")
        raise _Fail(f"label {label!r}, but the contract defines this check as {' or '.join(map(repr, spec.labels))}")
    if c["relation"] != spec.relation:
        raise _Fail(f"relation {c['relation']!r}, but the contract's claim is value {spec.relation} bound")
    if label in RIGOROUS_LABELS and c["verdict"] not in RIGOROUS_VERDICTS:
        raise _Fail(f"a {label} check must say 'holds' or 'fails', not {c['verdict']!r}")
    if label != "enclosure" and "enclosure" in c:
        raise _Fail(f"an {label} check carries an enclosure")
    if label == "estimate":
        return (spec.estimate or _check_estimate)(ctx, c)
    return spec.rederive(ctx, c)
