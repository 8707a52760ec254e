"""Where the theorem's width goes: Theorem 5.3's M0 recomputed with one ingredient changed at a time.

The width M0 of Theorem 5.3 (math-spec §7) is the largest of the Theorem 5.1 width
(3·C51·R²/ε)^6, the Hoeffding + net width and the discretisation width of Lemma 6.5, with
R = 2n·C_h and C_h the sup|h| bound of Lemma 6.6 for the step polynomial q of Claim 6.3 at
ε2 = min(ε/(9n), 1/(2C(q))). Every ingredient is a formula of :mod:`advcert.theory`. The rows:

1. ``paper``: the paper's construction at the paper's degree D = ⌈(24/γ)·ln(48n/ε)⌉ (Claim 6.3)
   with every |q_j| at the paper's bound 2^{6D−1}/(1−α) + 1/2;
2. ``degree-built``: the degree D_used that Lemma 6.4's construction reaches, coefficients still
   at the paper's bound;
3. ``built``: the coefficients actually built (today's headline number, the certificate's
   ``log10_m_required``);
4. ``minimax``: Lemma 6.4's p1 replaced by the minimax sign polynomial of least degree
   (:func:`advcert.poly.minimax.minimax_sign_polynomial`), composed as in Claim 6.3;
5. ``lp``: q itself replaced by the q of least C(q) that meets Claim 6.3's two conclusions on
   the instance's certified intervals (:func:`advcert.poly.lp.lp_step_polynomial`);
6. ``measured-radius``: the certificate's own q with R replaced by the radius
   m^{2/3}||W* − W0||_{2,∞} measured in its Lemma 6.5 check (only for certificates with a network);
7. ``scan``: the smallest width at which a scan of the instance saw the theorem's conclusion
   hold (optional).

Each row says which statement of the paper it changes, how many orders of magnitude it removes
against the row it modifies (``against``: the previous row for 2–5, the certificate's own route
for 6, row 6 for 7) and its label. The widths rest on the hidden constants C51 and δ and on the
reconstructed Lemma 6.5/6.6 constructions, so every width row is an ``estimate``; the scan row
carries the label of the scan's own law (a sound bound held there, for the seeds it ran).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import mpmath
import numpy as np

from advcert import certificate, theory
from advcert.chain import estimate_degree
from advcert.checks import constant
from advcert.config import MAX_DEGREE
from advcert.data.instance import Instance, certify_separation
from advcert.errors import InputError
from advcert.measured.h import abs_hermite_all, build_features, choose_truncation, hermite_P
from advcert.poly.complexity import complexity, eps2_for_lemma65, log2_mid
from advcert.poly.interpolant import lemma62_intervals
from advcert.poly.lp import LPOptions, lp_step_polynomial
from advcert.poly.minimax import minimax_sign_polynomial, minimax_step
from advcert.poly.sgn import sign_polynomial
from advcert.poly.step import claim63_alpha, step_polynomial
from advcert.rational import from_str, parse_number

#: the rows in table order (``scan`` and ``measured-radius`` only when their inputs are given)
ROWS = ("paper", "degree-built", "built", "minimax", "lp", "measured-radius", "scan")

#: the laws of a scan file whose working width is "the width that works", in order of preference:
#: Theorem 5.3's conclusion L_{A*}(f_{W*}) <= ε (sound bound), then Algorithm 1's (Theorem 4.1)
SCAN_LAWS = ("theorem-5.3", "theorem-4.1")


@dataclass(frozen=True)
class GapRow:
    """One row of the decomposition: ``log10_width`` (log10 of M0, or of the working width),
    ``removed`` = log10 width of row ``against`` minus this one (None for the first row)."""

    name: str
    statement: str
    log10_width: float
    removed: float | None
    against: str | None
    label: str
    note: str
    details: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class GapOptions:
    """The hidden constants the widths assume (math-spec §7): c of Lemma 6.6, C51 of Theorem 5.1,
    δ of the Hoeffding + net bound; ``lp_max_degree`` caps the LP's search (Lemma 6.6 cost trade)."""

    c: Fraction = Fraction(2)
    C51: Fraction = Fraction(1)
    delta: Fraction = Fraction(1, 100)
    lp_max_degree: int = 16


# ---------------------------------------------------------------------------------------
# the width of one q
# ---------------------------------------------------------------------------------------


def _arb_lower(x) -> mpmath.mpf:
    man, exp = x.lower().mid().man_exp()
    return mpmath.mpf((int(man), int(exp)))


def log2_C_h_light(a: Sequence[Fraction], eps2: Fraction) -> float:
    """log2 of C_h = Σ_i |q_i| Ĥe_i(B_t)/P_i (formula ``C_h``) with the P_i to 64 bits only.

    Lemma 6.6's build (:func:`advcert.measured.h.build_features`) computes the P_i to relative
    ε2/(10 Σ|q_i|), thousands of bits for the paper's bound coefficients; the sum itself needs
    no such accuracy. B_t is chosen by the build's own rule (least 1/64-grid point whose truncation
    bound is <= 0.9 ε2, :func:`advcert.measured.h.choose_truncation`)."""
    a = [abs(Fraction(v)) for v in a]
    K = len(a) - 1
    P = hermite_P(K, 64)
    B, _ = choose_truncation(a, P, Fraction(eps2) * 9 / 10)
    with mpmath.workdps(theory.DPS):
        lg = theory.evaluate_log10("C_h", D=K, a=a, H=abs_hermite_all(K, B), P=[_arb_lower(p) for p in P])
        return float(lg / mpmath.log10(2))


@dataclass(frozen=True)
class QWidth:
    """Theorem 5.3's widths for one q (log10), with the intermediate constants."""

    degree: int
    log2_max_coef: float
    log2_C_q: float
    eps2: Fraction
    log2_C_h: float
    widths: theory.ChainWidths


def q_width(coefficients: Sequence[Fraction], eps: Fraction, n: int, d: int, options: GapOptions, *,
            light: bool = False) -> QWidth:
    """ε2 (Lemma 6.5's split with Lemma 6.6's hypothesis), C_h (Lemma 6.6) and the widths of
    Lemma 6.5 and Theorem 5.1 for the step polynomial with these monomial coefficients.

    ``light``: C_h by :func:`log2_C_h_light` (for coefficient vectors too large for the build);
    otherwise by Lemma 6.6's build itself, i.e. the number the certificate reports."""
    q = [Fraction(v) for v in coefficients]
    eps2 = eps2_for_lemma65(q, eps, n, options.c)
    if light:
        lch = log2_C_h_light(q, eps2)
    else:
        lch = float(build_features(q, eps2).log2_C_h)
    widths = theory.chain_widths(n, d, Fraction(eps), lch, C51=options.C51, delta=options.delta)
    top = max(abs(v) for v in q)
    return QWidth(degree=len(q) - 1, log2_max_coef=_log2(top), log2_C_q=log2_mid(complexity(q, options.c)),
                  eps2=eps2, log2_C_h=lch, widths=widths)


def _log2(x: Fraction) -> float:
    return math.log2(x.numerator) - math.log2(x.denominator) if x > 0 else float("-inf")


def _q_note(w: QWidth) -> str:
    return (f"D = {w.degree}, log2 max|q_j| = {w.log2_max_coef:.1f}, log2 C(q) = {w.log2_C_q:.1f}, "
            f"log2 ε2 = {_log2(w.eps2):.1f}, log2 C_h = {w.log2_C_h:.1f}, log10 R = {w.widths.log10_R:.1f}; "
            f"log10 widths: Thm 5.1 {w.widths.log10_m_thm51:.1f}, Hoeffding + net {w.widths.log10_m_hoeffding:.1f}, "
            f"discretisation {w.widths.log10_m_discretisation:.1f}")


def _q_details(w: QWidth) -> dict:
    return {"degree": w.degree, "log2_max_coef": w.log2_max_coef, "log2_C_q": w.log2_C_q,
            "log2_eps2": _log2(w.eps2), "log2_C_h": w.log2_C_h, "log10_R": w.widths.log10_R,
            "log10_m_thm51": w.widths.log10_m_thm51, "log10_m_hoeffding": w.widths.log10_m_hoeffding,
            "log10_m_discretisation": w.widths.log10_m_discretisation}


def _row(name: str, statement: str, value: float, against: GapRow | None, label: str, note: str,
         details: dict | None = None) -> GapRow:
    return GapRow(name=name, statement=statement, log10_width=float(value),
                  removed=None if against is None else float(against.log10_width - value),
                  against=None if against is None else against.name, label=label, note=note, details=details or {})


# ---------------------------------------------------------------------------------------
# the decomposition
# ---------------------------------------------------------------------------------------


def _bound_q(D: int, alpha: Fraction) -> list[Fraction]:
    """A degree-D coefficient vector with every |q_j| at Claim 6.3's bound 2^{6D−1}/(1−α) + 1/2."""
    return [theory.q_coefficient_bound(D, alpha)] * (D + 1)


def gap_decomposition(instance: Instance, *, q: Sequence[Fraction] | None = None, route: str = "paper",
                      options: GapOptions = GapOptions(), R_measured: float | None = None, m: int | None = None,
                      scan: dict | None = None) -> list[GapRow]:
    """The rows of the module docstring for ``instance`` (Definition 3.4's data, ρ, γ, ε).

    ``q`` is the step polynomial the certificate built by ``route`` (paper, minimax or lp); the
    other routes are rebuilt here. ``R_measured`` (at width ``m``) adds the measured-radius row,
    ``scan`` (see :func:`scan_width`) the working width."""
    n, d, eps = instance.n, instance.d, Fraction(instance.eps)
    eta, eps1 = Fraction(instance.gamma) / 8, eps / (3 * n)
    alpha = claim63_alpha(instance.rho, eta)
    rows: list[GapRow] = []
    qw: dict[str, QWidth] = {}
    # 2 before 1: the build's P_i (accurate) are then reused by the light C_h of row 1
    if route == "paper" and q is not None:
        qw["built"] = q_width(q, eps, n, d, options)
    elif estimate_degree(instance.gamma, eps, n) <= MAX_DEGREE:
        qw["built"] = q_width(step_polynomial(sign_polynomial(eta, eps1), alpha).coefficients, eps, n, d, options)
    D_paper = math.ceil(theory.degree_claim63(instance.gamma, eps, n))
    p = q_width(_bound_q(D_paper, alpha), eps, n, d, options, light=True)
    rows.append(_row("paper", "Claim 6.3 / Lemma 6.2: D = (24/γ)·ln(48n/ε) rounded up, every |q_j| at the bound "
                     "2^{6D−1}/(1−α) + 1/2", p.widths.log10_m_required, None, "estimate",
                     _q_note(p) + " (C_h with P_i to 64 bits)", _q_details(p)))
    if "built" in qw:
        b = qw["built"]
        pd = q_width(_bound_q(b.degree, alpha), eps, n, d, options, light=True)
        rows.append(_row("degree-built", f"Lemma 6.4: the degree built, D_used = {b.degree}, instead of Claim 6.3's "
                         f"D = {D_paper}; every |q_j| still at the paper's bound 2^{{6D−1}}/(1−α) + 1/2",
                         pd.widths.log10_m_required, rows[-1], "estimate",
                         _q_note(pd) + " (C_h with P_i to 64 bits)", _q_details(pd)))
        rows.append(_row("built", "Claim 6.3: the coefficients q_j actually built (max|q_j| measured) instead of "
                         "the paper's bound at D_used", b.widths.log10_m_required, rows[-1], "estimate",
                         _q_note(b), _q_details(b)))
    if route == "minimax" and q is not None:
        mq, extra = q, ""
    else:
        ms = minimax_sign_polynomial(eta, eps1)
        mq = minimax_step(ms, alpha).coefficients
        extra = f"; p1 degree {ms.degree}, Eremenko–Yuditskii optimum {ms.ey_degree}"
    w = qw["minimax"] = q_width(mq, eps, n, d, options)
    rows.append(_row("minimax", "Lemma 6.4: the minimax sign polynomial of least degree reaching ε1 instead of "
                     "the Taylor + Chebyshev construction", w.widths.log10_m_required, rows[-1], "estimate",
                     _q_note(w) + extra, _q_details(w)))
    if route == "lp" and q is not None:
        lq = q
    else:
        iv = lemma62_intervals(certify_separation(instance.points, instance.rho, instance.gamma), instance.rho)
        lq = lp_step_polynomial(iv.inside, iv.outside, eps1,
                                LPOptions(c=options.c, max_degree=options.lp_max_degree)).coefficients
    w = qw["lp"] = q_width(lq, eps, n, d, options)
    rows.append(_row("lp", "Claim 6.3: q of least C(q) meeting Claim 6.3's conclusions |q−1| <= ε1 on I_in and "
                     "|q| <= ε1 on I_out (certified exactly); Lemma 6.4 not used", w.widths.log10_m_required,
                     rows[-1], "estimate", _q_note(w), _q_details(w)))
    own = {"paper": "built"}.get(route, route)
    if R_measured is not None and own in qw and R_measured > 0:
        rows.append(_measured_row(qw[own], R_measured, m, eps, options, next(r for r in rows if r.name == own)))
    if scan is not None:
        against = rows[-1] if rows[-1].name == "measured-radius" else next((r for r in rows if r.name == own), None)
        rows.append(_row("scan", f"{scan['law']} in practice: the least width of the scan at which its "
                         "conclusion held for every seed", scan["log10_m"], against, scan["label"], scan["note"]))
    return rows


def _measured_row(own: QWidth, R_measured: float, m: int | None, eps: Fraction, options: GapOptions,
                  against: GapRow) -> GapRow:
    with mpmath.workdps(theory.DPS):
        l51 = float(theory.evaluate_log10("m_thm51", C51=options.C51, R=mpmath.mpf(R_measured), eps=eps))
    w = own.widths
    value = max(l51, w.log10_m_hoeffding, w.log10_m_discretisation)
    at = f" at m = {m}" if m else ""
    note = (f"R measured{at}: {R_measured:.4g} (log10 {math.log10(R_measured):.1f}) against R = 2nC_h = "
            f"10^{w.log10_R:.1f}; Thm 5.1 width 10^{l51:.1f}, Hoeffding + net 10^{w.log10_m_hoeffding:.1f} unchanged; "
            "the measured radius is 2·max_r |Σ_i y_i h(·)| over the m neurons that ran and grows slowly with m")
    return _row("measured-radius", "Lemma 6.5 / Theorem 5.1: the radius m^{2/3}||W* − W0||_{2,∞} measured on the "
                "sampled W* instead of R = 2n·C_h", value, against, "estimate", note,
                {"R_measured": R_measured, "m": m, "log10_m_thm51": l51})


# ---------------------------------------------------------------------------------------
# from a certificate and a scan file
# ---------------------------------------------------------------------------------------


def _frac(x) -> Fraction:
    """A certificate's exact number ("p/q", any length: certificate.read's caller trusts the file's
    size limits) or a short user-style number."""
    if isinstance(x, str) and "/" in x or isinstance(x, int):
        return from_str(str(x))
    return parse_number(str(x), "number")


def scan_width(scan: dict, instance: Instance) -> dict | None:
    """The working width of a scan file (``advcert scan``'s scan.json) for this instance: the first
    of :data:`SCAN_LAWS` with a working width. None when the scan has no such instance or width."""
    want = (instance.n, instance.d, Fraction(instance.gamma), Fraction(instance.eps), Fraction(instance.rho))
    for name, entry in (scan.get("results", {}).get("instances", {}) or {}).items():
        inst = entry.get("instance", {})
        try:
            got = (int(inst["n"]), int(inst["d"]), _frac(inst["gamma"]), _frac(inst["eps"]), _frac(inst["rho"]))
        except (KeyError, TypeError, ValueError, InputError):
            continue
        if got != want:
            continue
        for law_name in SCAN_LAWS:
            for link, law_set in (entry.get("links") or {}).items():
                law = (law_set.get("laws") or {}).get(law_name)
                if law and law.get("m_work"):
                    m_work = float(law["m_work"])
                    label = law.get("label", "estimate")
                    return {"law": law_name, "log10_m": math.log10(m_work), "label": label,
                            "note": f"scan instance {name!r}, link {link}: {law_name} ({label}) held for every seed "
                                    f"from m = {law['m_work']:g} on (it failed at m = {law.get('m_fail')}); "
                                    "the least width in the scan's grid, not a proved minimum"}
    return None


def read_scan(path: str | Path) -> dict:
    """A scan file as JSON (no schema check: only the working widths are read)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"scan file {p} does not exist", "pass the scan.json that advcert scan wrote") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{p} is not a JSON scan file ({exc.__class__.__name__})",
                         "pass the scan.json that advcert scan wrote") from None
    if not isinstance(doc, dict) or "results" not in doc:
        raise InputError(f"{p} is not a scan file (no \"results\")", "pass the scan.json that advcert scan wrote")
    return doc


def instance_of(doc: dict) -> Instance:
    """The certificate's instance (Definition 3.4's data, ρ, γ, ε) as an Instance."""
    inst = doc["instance"]
    return Instance(points=np.asarray(inst["points"], dtype=np.float64), labels=np.asarray(inst["labels"], dtype=np.float64),
                    rho=_frac(inst["rho"]), gamma=_frac(inst["gamma"]), eps=_frac(inst["eps"]),
                    seed=int(inst.get("seed", 0)), source=inst.get("source") or {})


def _route(doc: dict) -> str:
    route = doc.get("parameters", {}).get("route")
    if route:
        return route
    for c in doc.get("checks", []):
        if c.get("id") == "lemma-6.4":
            return c.get("details", {}).get("route", "paper")
    return "paper"


def _check(doc: dict, cid: str) -> dict:
    return next((c for c in doc.get("checks", []) if c.get("id") == cid), {})


def gap_table(doc: dict, scan: dict | None = None) -> list[GapRow]:
    """:func:`gap_decomposition` of a certificate: its instance, its q and route, its c and C51, the
    radius its lemma-6.5/radius check measured (when it has a network), and a scan file's working width."""
    inst = instance_of(doc)
    consts = doc.get("constants", {})
    c = _frac(consts["complexity_c"]["value"]) if "complexity_c" in consts else Fraction(2)
    C51 = _check(doc, "theorem-5.1").get("details", {}).get("C51", 1)
    options = GapOptions(c=c, C51=Fraction(C51))
    radius = _check(doc, "lemma-6.5/radius").get("details", {})
    R = radius.get("R_measured")
    q = [_frac(v) for v in doc["objects"]["q"]["coefficients"]]
    sw = scan_width(scan, inst) if scan is not None else None
    return gap_decomposition(inst, q=q, route=_route(doc), options=options,
                             R_measured=float(R) if R is not None else None, m=radius.get("m"), scan=sw)


def gap_constants(rows: Sequence[GapRow]) -> dict[str, dict]:
    """The rows as certificate constants ``gap/<row>``: ``{value: log10 width, label: "estimate", note}``.

    Always labelled ``estimate`` (the verifier re-derives no gap number); a row whose own label
    is rigorous says so in its note."""
    out = {}
    for r in rows:
        removed = "" if r.removed is None else f"; removes {r.removed:.1f} orders of magnitude against {r.against}"
        own = "" if r.label == "estimate" else f" [the scan's law is {r.label}]"
        out[f"gap/{r.name}"] = constant(round(r.log10_width, 3), "estimate",
                                        f"log10 width: {r.statement}{removed}{own}. {r.note}")
    return out


def add_to_document(doc: dict, rows: Sequence[GapRow]) -> dict:
    """A re-sealed copy of ``doc`` with the rows under ``constants`` (see :func:`gap_constants`)."""
    out = dict(doc)
    out["constants"] = {**doc.get("constants", {}), **gap_constants(rows)}
    return certificate.seal(out)


def format_table(rows: Sequence[GapRow], *, wide: bool = False) -> str:
    """The decomposition as a text table: row, log10 width, orders removed (against), label, statement."""
    lines = ["Where Theorem 5.3's width goes (log10 of M0; every width an estimate: C51, δ and c are parameters)",
             f"{'row':<16} {'log10 m':>9} {'removed':>9}  {'against':<15} {'label':<12} statement"]
    for r in rows:
        removed = "" if r.removed is None else f"{r.removed:9.1f}"
        lines.append(f"{r.name:<16} {r.log10_width:9.1f} {removed:>9}  {r.against or '':<15} {r.label:<12} {r.statement}")
        if wide:
            lines.append(f"{'':<16} {r.note}")
    return "\n".join(lines)


def summary(rows: Sequence[GapRow]) -> dict[str, Any]:
    """The rows as plain JSON values (for ``advcert gap --json`` and reports)."""
    return {"rows": [{"name": r.name, "statement": r.statement, "log10_width": r.log10_width, "removed": r.removed,
                      "against": r.against, "label": r.label, "note": r.note, "details": r.details} for r in rows]}
