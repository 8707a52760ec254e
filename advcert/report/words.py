"""The headline of a certificate in words, read from the certificate alone (never recomputed).

What a reader needs first, in two or three lines:

* which rigorous checks hold at paper scale (Definition 3.4, Lemma 6.4, Claim 6.3, Lemma 6.2,
  and Theorem 5.3 / Theorem 4.1 where their sound bound is stored);
* the width that ran (``objects.network.m``) against the width the theorems need (the largest
  ``log10_m_*`` / ``log10_width_required`` the certificate states, Lemma 6.5 and Theorem 5.1),
  and how many orders of magnitude short it is;
* the robust-loss interval [attack, sound bound] of Theorem 5.3 (or of Theorem 4.1 for a
  training certificate), with ε.

The verdict words are the certificate's own (docs/verdicts.md); nothing here decides one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from advcert.rational import log2

RIGOROUS = ("exact", "enclosure", "sound-bound")

# the paper's object behind each check id's first part (docs/lemma-map.md)
_OBJECT = {
    "definition-3.4": "separability",
    "lemma-6.4": "sign polynomial p1",
    "claim-6.3": "step polynomial q",
    "lemma-6.2": "robust interpolant f*",
    "lemma-6.6": "features h",
    "lemma-6.5": "pseudo-network W*",
    "theorem-5.1": "f ≈ g",
    "theorem-5.3": "robust loss of f_W*",
    "theorem-5.2": "Algorithm 1 average",
    "theorem-4.1": "robust loss of the trained f_W",
}


def fmt(value, digits: int = 6) -> str:
    """A short human form of a certificate number (a ``"p/q"`` string, an int or a float)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        try:
            x = Fraction(value)
        except (ValueError, ZeroDivisionError):
            return value
        if x.denominator == 1 and abs(x) < 10**6:
            return str(x.numerator)
        if x == 0:
            return "0"
        lg = log2(abs(x))
        if abs(lg) > 1000:  # beyond float range: show the exponent
            return f"{'-' if x < 0 else ''}2^{lg:.1f}"
        return f"{float(x):.{digits}g}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def as_float(value) -> float | None:
    """A certificate number as a float (None when it is not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(Fraction(value)) if isinstance(value, str) else float(value)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return None


def title_of(check_id: str) -> str:
    """``"lemma-6.4/odd"`` -> ``"Lemma 6.4"``: the statement of the paper a check belongs to."""
    head = check_id.split("/")[0]
    kind, _, num = head.partition("-")
    return f"{kind.capitalize()} {num}" if num else head


def source_name(doc: dict) -> str:
    """The data source of ``instance.source`` in a few words, for titles (Definition 3.4's set)."""
    src = doc.get("instance", {}).get("source") or {}
    if not isinstance(src, dict):
        return str(src)[:60]
    if src.get("name"):
        return str(src["name"])
    if src.get("path"):
        return Path(str(src["path"])).name
    kind = str(src.get("kind", "data"))
    gen = src.get("generator")
    if gen:
        gen = str(gen)
        if len(gen) > 40 and " (" in gen:
            gen = gen.split(" (")[0]
        return f"{kind} ({gen[:60]})"
    return kind


@dataclass(frozen=True)
class Widths:
    """The width that ran and the largest width a theorem needs, as stated in the certificate."""

    m: int | None  # objects.network.m
    log10_needed: float | None
    needed_by: str | None  # where the needed width was read

    @property
    def log10_run(self) -> float | None:
        return None if self.m is None else math.log10(self.m)

    @property
    def orders_short(self) -> float | None:
        if self.log10_needed is None or self.m is None:
            return None
        return self.log10_needed - math.log10(self.m)


_WIDTH_KEYS = ("log10_width_required", "log10_m_required", "log10_m_needed")


def width_requirements(doc: dict) -> list[tuple[str, str, float]]:
    """Every width a link of the chain says it needs: (check id, key, log10 m), in check order.

    Read from each check's ``details`` (one level of nesting, e.g. a training ``schedule``):
    keys ``log10_width_required`` and ``log10_m_*`` (Lemma 6.5, Theorem 5.1, Theorem 5.3). The
    plain ``log10_m`` of a schedule is the width that ran, not one needed.
    """
    out = []
    for c in doc.get("checks", []):
        stack = [c.get("details") or {}]
        while stack:
            det = stack.pop(0)
            for k, v in det.items():
                if isinstance(v, dict) and det is c.get("details"):
                    stack.append(v)
                elif (k == "log10_width_required" or k.startswith("log10_m_")) and isinstance(v, (int, float)) \
                        and not isinstance(v, bool) and math.isfinite(v):
                    out.append((c["id"], k, float(v)))
    return out


def widths(doc: dict) -> Widths:
    """The width that ran against the largest required width (constants first, then the checks)."""
    net = doc.get("objects", {}).get("network") or {}
    m = net.get("m")
    if m is None and "m" in doc.get("constants", {}):
        m = doc["constants"]["m"].get("value")
    m = int(m) if m is not None else None
    best, where = None, None
    const = doc.get("constants", {}).get("log10_m_required")
    if const is not None and as_float(const.get("value")) is not None:
        best, where = as_float(const.get("value")), "constants.log10_m_required"
    for cid, key, v in width_requirements(doc):
        if key in _WIDTH_KEYS and (best is None or v > best):
            best, where = v, f"{cid}: {key}"
    return Widths(m=m, log10_needed=best, needed_by=where)


def _rigorous_line(doc: dict) -> str:
    inst = doc.get("instance", {})
    rig = [c for c in doc.get("checks", []) if c.get("label") in RIGOROUS]
    bad = [c["id"] for c in rig if c.get("verdict") != "holds"]
    titles: list[str] = []
    for c in rig:
        t = title_of(c["id"])
        if t not in titles:
            titles.append(t)
    scale = (f"γ = {fmt(inst.get('gamma'))}, ε = {fmt(inst.get('eps'))}, ρ = {fmt(inst.get('rho'))}, "
             f"n = {inst.get('n')}, d = {inst.get('d')}")
    if not rig:
        return f"Nothing rigorous in this certificate ({scale})."
    if bad:
        return (f"Paper scale ({scale}): {len(bad)} of {len(rig)} rigorous checks FAIL ({', '.join(bad)}); "
                "the chain is not certified.")
    return f"Certified at paper scale ({scale}): all {len(rig)} rigorous checks hold ({', '.join(titles)})."


def _training_line(doc: dict, w: Widths) -> str:
    sched = {}
    for c in doc.get("checks", []):
        if c["id"] in ("theorem-5.2", "theorem-4.1") and isinstance(c.get("details", {}).get("schedule"), dict):
            sched = c["details"]["schedule"]
    steps = sched.get("steps_done")
    line = f"Training: Algorithm 1 ran {steps if steps is not None else '?'} steps at m = {w.m} = 10^{w.log10_run:.1f}"
    if sched.get("interrupted"):
        line += " (interrupted before T)"
    need = sched.get("log10_m_theorem_5_1_at_R_train")
    if isinstance(need, (int, float)):
        line += (f"; Theorem 5.1 at R_train would need m ≥ 10^{need:.1f} "
                 f"({need - w.log10_run:.1f} orders of magnitude short)")
    return line + "; the sound bound below is checked at the width that ran."


def _width_line(doc: dict) -> str | None:
    w = widths(doc)
    if w.m is not None and any(c["id"] == "theorem-4.1" for c in doc.get("checks", [])):
        return _training_line(doc, w)
    if w.m is None:
        return "No measured plane: the certificate holds no network (built with the certified plane only)."
    run = f"the width that ran is m = {w.m} = 10^{w.log10_run:.1f}"
    if w.log10_needed is None:
        return f"Measured plane: {run}; the certificate states no width the theorems need."
    short = w.orders_short
    if short > 0:
        return (f"Measured plane: {run}; the theorems need m ≥ 10^{w.log10_needed:.1f}, "
                f"{short:.1f} orders of magnitude short: they promise nothing at this width (infeasible).")
    return f"Measured plane: {run}; the theorems need m ≥ 10^{w.log10_needed:.1f}, which this width meets."


def robust_interval(doc: dict) -> dict | None:
    """The robust loss of the certificate's network as stored: attack (below), sound bound (above).

    From ``theorem-5.3`` (Theorem 5.3, the network W*) or ``theorem-4.1`` (Theorem 4.1, the best
    iterate of Algorithm 1). Returns {id, lower, upper, eps, verdict, label} or None.
    """
    checks = {c["id"]: c for c in doc.get("checks", [])}
    eps = doc.get("instance", {}).get("eps")
    c = checks.get("theorem-4.1")
    if c is not None:
        det = c.get("details", {})
        return {"id": "theorem-4.1", "lower": as_float(det.get("robust_loss_attack_best")),
                "upper": det.get("robust_loss_upper_best"), "eps": eps, "verdict": c["verdict"],
                "label": c["label"], "where": f"the best iterate t* = {det.get('t_best')}"}
    c = checks.get("theorem-5.3")
    if c is None:
        return None
    det = c.get("details", {})
    if c["label"] == "estimate":
        lower, upper = as_float(c.get("value")), det.get("upper", det.get("upper_float"))
    else:
        lower, upper = as_float(det.get("attack")), c.get("value")
    return {"id": "theorem-5.3", "lower": lower, "upper": upper, "eps": eps, "verdict": c["verdict"],
            "label": c["label"], "where": "W*"}


def _robust_line(doc: dict) -> str | None:
    r = robust_interval(doc)
    if r is None:
        return None
    lo = "-" if r["lower"] is None else fmt(r["lower"], 4)
    hi = "-" if r["upper"] is None else fmt(r["upper"], 4)
    name = title_of(r["id"])
    return (f"Robust loss ({name}, {r['where']}): L_A* ∈ [{lo}, {hi}] (attack, sound bound) against "
            f"ε = {fmt(r['eps'])}: {r['id']} {r['verdict']} ({r['label']}).")


def headline(doc: dict) -> list[str]:
    """The certificate's result in two or three lines of words (docs/verdicts.md for the words).

    Line 1: the rigorous checks at paper scale (Definition 3.4 to Lemma 6.2 and any sound
    Theorem 5.3 / 4.1 bound); line 2: the width that ran against the width the theorems need
    (Lemma 6.5, Theorem 5.1); line 3: the robust-loss interval of Theorem 5.3 or Theorem 4.1.
    """
    lines = [_rigorous_line(doc), _width_line(doc), _robust_line(doc)]
    return [ln for ln in lines if ln]


def infeasible_kind(c: dict) -> str | None:
    """Which of the two senses of ``infeasible`` a record carries (docs/verdicts.md).

    ``"width"``: the theorem needs a width the run did not have (``log10_width_required`` or a
    ``log10_m_*`` in its details), so it does not apply; ``"precision"``: the claim cannot be
    resolved in the arithmetic that ran (``infeasible_note``, Lemma 6.6's ε2 under float64).
    """
    if c.get("verdict") != "infeasible":
        return None
    det = c.get("details") or {}
    if det.get("infeasible_note"):
        return "precision"
    if any(isinstance(det.get(k), (int, float)) for k in _WIDTH_KEYS):
        return "width"
    return None


_KIND_WORDS = {"width": "the theorem does not apply at this width", "precision": "not resolved at this precision"}


def estimate_notes(doc: dict) -> list[tuple[str, str, str]]:
    """Why each estimate says what it says: (check id, verdict, note) from its ``details``.

    The note joins ``reason``, the required against the run width (``log10_width_required``,
    ``log10_width_run``) and ``infeasible_note`` where the certificate stores them.
    """
    out = []
    for c in doc.get("checks", []):
        if c.get("label") != "estimate":
            continue
        det = c.get("details") or {}
        kind = infeasible_kind(c)
        bits = [_KIND_WORDS[kind]] if kind else []
        if det.get("reason"):
            bits.append(str(det["reason"]))
        need = next((det[k] for k in _WIDTH_KEYS if isinstance(det.get(k), (int, float))
                     and not isinstance(det.get(k), bool)), None)
        if need is not None:
            run = det.get("log10_width_run")
            if not isinstance(run, (int, float)) and isinstance(det.get("m"), int) and det["m"] > 0:
                run = math.log10(det["m"])
            run_s = f", ran 10^{run:.1f}" if isinstance(run, (int, float)) else ""
            bits.append(f"width needed 10^{need:.1f}{run_s}")
        if det.get("infeasible_note"):
            bits.append(str(det["infeasible_note"]))
        if c.get("verdict") == "vacuous" and det.get("trivial_note"):
            bits.append(f"the claimed bound is weaker than the trivial bound {det['trivial_note']}")
        if bits:
            out.append((c["id"], str(c.get("verdict")), "; ".join(bits)))
    return out
