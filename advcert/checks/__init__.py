"""Certificate records: the builder-side mirror of docs/certificate.md (its "checks" and "constants").

One constructor for every check of every link (Definition 3.4 to Theorem 4.1), and the
verdict rules of docs/design.md §3, so that a label and its verdict are decided in one place:

* ``exact``, ``enclosure``, ``sound-bound``: the verdict is computed here from the exact
  value and bound (``holds`` / ``fails``); the numbers are stored as exact rationals;
* ``estimate``: the caller states ``observed`` / ``violated`` / ``vacuous`` / ``infeasible``;
  an estimate can never say ``holds``.

The modules beside this one turn the objects of one plane into records: :mod:`.certified`
(Definition 3.4, Lemma 6.4, Claim 6.3, Lemma 6.2).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from advcert import theory
from advcert.rational import to_str

RIGOROUS_LABELS = ("exact", "enclosure", "sound-bound")
ESTIMATE_VERDICTS = ("observed", "violated", "vacuous", "infeasible")


def check(id: str, claim: str, relation: str, bound, value, label: str, method: str, seconds: float,
          details: dict | None = None, verdict: str | None = None) -> dict:
    """One check record (docs/certificate.md, "checks"); rigorous verdicts are decided here.

    For a rigorous ``label`` the bound and value must be exact (``int``, ``Fraction`` or a
    ``"p/q"`` string) and any ``verdict`` passed is ignored: ``holds`` iff value ``relation``
    bound. For ``enclosure`` the value is the pair (lo, hi) that encloses the quantity, and the
    end that is compared is the conservative one (hi for ``<=``, lo for ``>=``). An estimate
    needs its verdict from the caller, one of ``ESTIMATE_VERDICTS``.
    """
    enclosure = None
    if label == "enclosure":
        enclosure = (Fraction(value[0]), Fraction(value[1]))
        value = enclosure[1] if relation == "<=" else enclosure[0]
    if label in RIGOROUS_LABELS:
        ok = Fraction(value) <= Fraction(bound) if relation == "<=" else Fraction(value) >= Fraction(bound)
        verdict = "holds" if ok else "fails"
        bound, value = to_str(Fraction(bound)), to_str(Fraction(value))
    elif label != "estimate":
        raise ValueError(f"unknown label {label!r}")
    elif verdict not in ESTIMATE_VERDICTS:
        raise ValueError(f"an estimate needs one of the verdicts {ESTIMATE_VERDICTS}, got {verdict!r}")
    out = {
        "id": id,
        "claim": claim,
        "relation": relation,
        "bound": bound,
        "value": value,
        "label": label,
        "verdict": verdict,
        "method": method,
        "seconds": round(float(seconds), 4),
        "details": details or {},
    }
    if enclosure is not None:
        out["enclosure"] = {"lo": to_str(enclosure[0]), "hi": to_str(enclosure[1])}
    return out


def constant(value: Any, label: str, note: str, formula: str | None = None) -> dict:
    """One entry of a certificate's ``constants``: ``{value, label, note}``.

    ``formula`` names the closed form in :mod:`advcert.theory` the value evaluates; its text is
    appended to the note, so that the certificate carries the formula beside the number.
    """
    if formula is not None:
        note = f"{note}; formula: {theory.text(formula)}"
    return {"value": value, "label": label, "note": note}


def json_float(x) -> float:
    """A finite float for an estimate field; a non-finite one is a builder bug, not data."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("non-finite value in a certificate field")
    return x


def below_theorem_width(record: dict, log10_needed: float | None, m: int) -> dict:
    """The verdict rule for an estimate at a width below the theorem's (docs/design.md §3).

    A theorem promises nothing below its width M0, so an estimate that misses its claim there is
    ``infeasible`` with the width stated, not ``violated``: it does not refute the theorem.
    """
    if record["label"] != "estimate" or record["verdict"] != "violated":
        return record
    if log10_needed is None or not log10_needed > math.log10(m):
        return record
    out = dict(record, verdict="infeasible")
    was = record["details"].get("reason")
    out["details"] = dict(record["details"], log10_width_required=log10_needed, log10_width_run=round(math.log10(m), 3),
                          reason=f"the theorem applies from m >= 10^{log10_needed:.1f} on (log10_width_required); at "
                                 f"m = 10^{math.log10(m):.1f} it makes no claim" + (f"; measured: {was}" if was else ""))
    return out
