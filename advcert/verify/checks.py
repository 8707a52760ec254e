"""The checks of format version 1 (docs/certificate.md, "Checks", "The foundation checks",
"Routes" and "The measured-plane checks"): each id's labels, relation and re-derivation, the
required ones of each route, the chain order, and the rules every check obeys before its own
re-derivation runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .context import RIGOROUS_LABELS, RIGOROUS_VERDICTS, _check_estimate, _Ctx
from .identity import _check_lemma_6_6, _check_lemma_6_6_range
from .instance import _check_on_x, _check_separability
from .polynomials import (
    _check_attack,
    _check_lemma_6_2,
    _check_lemma_6_4,
    _check_odd,
    _check_p1_coefficients,
    _check_p1_degree,
    _check_q_coefficients,
    _check_q_definition,
    _check_q_degree,
    _check_q_in,
    _check_q_out,
)
from .numbers import _short
from .report import Refused, _Fail
from .robust import _check_theorem_4_1, _check_theorem_5_3
from .supnorm import _check_lemma_6_5, _check_radius, _check_theorem_5_1_chain


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


# The contract's statement of each known check id (docs/certificate.md, "Claims"): the claim
# text a certificate shows next to a verdict is held to it, so the words cannot say more than
# what is re-derived (rewriting lemma-6.2's to "<= eps/1000" is a rejection).
CLAIMS: dict[str, str] = {
    'definition-3.4/on-X': (
        "every stored point has x_d = 1/2 exactly and |‖x_i‖² − 1| ≤ 2^-40 (the rounding τ is carried into Lemma 6.2)"
    ),
    'definition-3.4': (
        "the set is γ-separable at ρ: min_{i≠j} ‖x_i − x_j‖ = δ and γ ≤ δ(δ − 2ρ)"
    ),
    'lemma-6.4/odd': (
        "p1 is odd: it has no non-zero even coefficient, so [−1, −η] follows from [η, 1]"
    ),
    'lemma-6.4/coefficients': (
        "max_j |α_j| ≤ 2^{4D} with D the degree of p1"
    ),
    'lemma-6.4': (
        "sup_{x∈[η,1]} |p1(x) − 1| ≤ ε1 = ε/(3n)"
    ),
    'lemma-6.4/degree': (
        "(3/η)·ln(2/(η·ε1)) ≥ D, the degree of p1: Lemma 6.4's degree bound (the reading of math-spec §2) "
        "holds for the p1 built"
    ),
    'claim-6.3/definition': (
        "q(z) = (p1((z − α)/2) + 1)/2 coefficient by coefficient"
    ),
    'claim-6.3/coefficients': (
        "max_j |q_j| ≤ 2^{6D−1}/(1−α) + 1/2 (the paper's bound, D = deg p1)"
    ),
    'claim-6.3/in': (
        "sup_{z∈I_in} |q(z) − 1| ≤ ε1, I_in = [1 − ρ²/2 − τ⁻/2, 1 + τ⁺/2]"
    ),
    'claim-6.3/out': (
        "sup_{z∈I_out} |q(z)| ≤ ε1, I_out = [−1 − τ⁺/2, 1 − (δ_lo − ρ)²/2 + τ⁺/2]"
    ),
    'claim-6.3/degree': (
        "(24/γ)·ln(48n/ε) ≥ D, the degree of q: Claim 6.3's degree bound (Lemma 6.2's D) holds for the q built"
    ),
    'lemma-6.2': (
        "sup_j sup_{x̃∈B2(x_j,ρ)∩X} |f*(x̃) − y_j| ≤ ε/3, via max_j (|y_j| e_in + Σ_{i≠j} |y_i| e_out)"
    ),
    'lemma-6.2/attack': (
        "best projected-ascent value of |f*(x̃) − y_j| over the caps (a lower bound of the sup; must not exceed lemma-6.2's value)"
    ),
    'lemma-6.6': (
        "sup_{z∈[−1,1]} |E[1{<u,x>+β>=0} h(<w*,u>, β)] − q(z)| <= eps2 for the h of math-spec §5 with the stored "
        "dyadic P_i and B_t (Lemma 6.6 for φ = q); value = the largest piece bound b(Z)"
    ),
    'lemma-6.6/range': (
        "log2 sup|h| <= log2 C(q, eps2) at the certificate's complexity_c (Lemma 6.6's range h: R² → "
        "[−C(q, eps2), C(q, eps2)])"
    ),
    'lemma-6.5/radius': (
        "log2(m^{2/3} ||W* - W0||_{2,inf}) <= log2(R), R = 2 n C_h (Lemma 6.5's radius)"
    ),
    'lemma-6.5': (
        "sup_X |g_{W*}(x) - f*(x)| <= eps/3 (Lemma 6.5); value = max over uniform, net and ascended points (a LOWER bound of the sup)"
    ),
    'theorem-5.1': (
        "sup_X |f_{W*} - g_{W*}| <= C51 R²/m^{1/6} with R = m^{2/3}||W* - W0||_{2,inf} (Theorem 5.1 at the measured radius); value = max over sampled and ascended points (a LOWER bound of the sup)"
    ),
    'theorem-5.1/chain': (
        "sup_X |f_{W*} - g_{W*}| <= eps/3 (what Theorem 5.3's chain needs from Theorem 5.1); value as in theorem-5.1"
    ),
    'theorem-5.3': (
        "L_{A*}(f_W) = (1/n) sum_i sup_{x~ in B2(x_i,rho) ∩ X} |f_W(x~) - y_i| <= eps"
    ),
    'theorem-5.2': (
        "(1/T) Σ_{t<T} L_A(f_{W(t)}) ≤ L_{A*}(f_{W*}) + ε for every W* with ‖W* − W0‖_{2,∞} ≤ R/m^{2/3} (Algorithm 1 with η = c_η ε m^{-1/3}, T = min(c_T R²/ε², budget)); tested on the listed comparators"
    ),
    'theorem-4.1': (
        "min_{t∈[T]} L_A(f_{W(t)}) ≤ ε for Algorithm 1's adversary A; sound route: L_{A*}(f_{W(t*)}) ≤ upper ≤ ε for the stored best iterate t* (any ρ-bounded A has L_A ≤ L_{A*})"
    ),
}


RIGOROUS_CLAIMS: dict[str, str] = {
    'lemma-6.5/radius': (
        "m^4 (max_r ||W*_r - W0_r||²)^3 <= R^6, i.e. m^{2/3} ||W* - W0||_{2,inf} <= R with R = details.R >= 2 n C_h (Lemma 6.5's radius, exact on the binary64 witness)"
    ),
    'lemma-6.5': (
        "sup_X |g_{W*}(x) - f*(x)| <= eps/3 (Lemma 6.5); value = the largest bound of a cover of X by caps (a sound upper bound of the sup), details.lower = the sampled max (a lower bound)"
    ),
    'theorem-5.1/chain': (
        "sup_X |f_{W*} - g_{W*}| <= eps/3 (what Theorem 5.3's chain needs from Theorem 5.1); value = the largest bound of a cover of X by caps (a sound upper bound of the sup), details.lower = the sampled max (a lower bound)"
    ),
}
"""The claims of the checks whose rigorous form states more than their estimate (docs/certificate.md,
"Claims"): a rigorous instance is held to this text, an estimate to CLAIMS, so certificates
written before the sound sup-norms stay verifiable."""


_EST = ("estimate",)
_SOUND_OR_EST = ("sound-bound", "estimate")


KNOWN_CHECKS: dict[str, _Spec] = {
    "definition-3.4/on-X": _Spec(("exact",), "<=", _check_on_x),
    "definition-3.4": _Spec(("enclosure",), ">=", _check_separability),
    "lemma-6.4/odd": _Spec(("exact",), "<=", _check_odd),
    "lemma-6.4/coefficients": _Spec(("exact",), "<=", _check_p1_coefficients),
    "lemma-6.4": _Spec(("enclosure",), "<=", _check_lemma_6_4),
    # optional, so that certificates written before these checks existed still verify; a
    # present one is re-derived like any other
    "lemma-6.4/degree": _Spec(("enclosure",), ">=", _check_p1_degree, required=False),
    "claim-6.3/definition": _Spec(("exact",), "<=", _check_q_definition),
    "claim-6.3/coefficients": _Spec(("exact",), "<=", _check_q_coefficients),
    "claim-6.3/in": _Spec(("enclosure",), "<=", _check_q_in),
    "claim-6.3/out": _Spec(("enclosure",), "<=", _check_q_out),
    "claim-6.3/degree": _Spec(("enclosure",), ">=", _check_q_degree, required=False),
    "lemma-6.2": _Spec(("sound-bound",), "<=", _check_lemma_6_2),
    "lemma-6.2/attack": _Spec(_EST, "<=", None, estimate=_check_attack),
    # the measured plane (optional: a certificate without a network omits them)
    "lemma-6.6": _Spec(_SOUND_OR_EST, "<=", _check_lemma_6_6, required=False),
    "lemma-6.6/range": _Spec(_SOUND_OR_EST, "<=", _check_lemma_6_6_range, required=False,
                             estimate=_check_lemma_6_6_range),
    "lemma-6.5/radius": _Spec(("exact", "estimate"), "<=", _check_radius, required=False),
    "lemma-6.5": _Spec(_SOUND_OR_EST, "<=", _check_lemma_6_5, required=False),
    "theorem-5.1": _Spec(_EST, "<=", None, required=False),
    "theorem-5.1/chain": _Spec(_SOUND_OR_EST, "<=", _check_theorem_5_1_chain, required=False),
    "theorem-5.3": _Spec(_SOUND_OR_EST, "<=", _check_theorem_5_3, required=False),
    "theorem-5.2": _Spec(_EST, "<=", None, required=False),
    "theorem-4.1": _Spec(_SOUND_OR_EST, "<=", _check_theorem_4_1, required=False),
}
"""The checks of format version 1 in chain order (docs/certificate.md, "The foundation
checks" and "The measured plane"). The foundation checks are required (on route lp all but
P1_CHECKS, which are then forbidden), except the two degree checks lemma-6.4/degree and
claim-6.3/degree, which are optional so that earlier certificates still verify; the measured
plane's are optional; those present keep this order."""


REQUIRED_CHECKS = tuple(k for k, spec in KNOWN_CHECKS.items() if spec.required)
"""The required checks of a certificate without parameters.route: q composed from Lemma 6.4's
sign polynomial p1 as in Claim 6.3 (the paper's and the minimax constructions)."""


P1_CHECKS = ("lemma-6.4/odd", "lemma-6.4/coefficients", "lemma-6.4", "lemma-6.4/degree", "claim-6.3/definition",
             "claim-6.3/coefficients")
"""The checks about p1 and q's composition from it: route lp has no p1, so a route-lp
certificate may not carry them (docs/certificate.md, "Routes")."""


REQUIRED_CHECKS_BY_ROUTE: dict[str | None, tuple[str, ...]] = {
    None: REQUIRED_CHECKS,
    "lp": tuple(k for k in REQUIRED_CHECKS if k not in P1_CHECKS),
}
"""The required checks of each value of parameters.route (None: absent). Route lp, q built
directly by a linear program, keeps Definition 3.4, claim-6.3/in and /out (the same exact
proofs on the stored q), lemma-6.2 and its attack."""


MAX_CHECKS = 256
"""Budget: the most checks in a certificate (format version 1 knows 22 ids)."""


def _part_check_list(ctx: _Ctx) -> str:
    if len(ctx.doc["checks"]) > MAX_CHECKS:
        raise Refused(f"{len(ctx.doc['checks'])} checks, beyond this verifier's budget of {MAX_CHECKS}", "see docs/certificate.md, Budgets")
    seen: dict[str, int] = {}
    for c in ctx.doc["checks"]:
        seen[c["id"]] = seen.get(c["id"], 0) + 1
    dup = [k for k, m in seen.items() if m > 1]
    if dup:
        raise _Fail(f"check {dup[0]} appears {seen[dup[0]]} times")
    if ctx.route == "lp":
        stray = [c["id"] for c in ctx.doc["checks"] if c["id"] in P1_CHECKS]
        if stray:
            raise _Fail(f"check {stray[0]} is about Lemma 6.4's p1, which a route-lp certificate does not have "
                        f"(route lp omits {', '.join(P1_CHECKS)})")
    for c in ctx.doc["checks"]:
        if c["id"] not in KNOWN_CHECKS and c["label"] in RIGOROUS_LABELS:
            raise _Fail(
                f"cannot re-derive check {c['id']} (label {c['label']}); this verifier knows: {', '.join(KNOWN_CHECKS)}"
            )
    for c in ctx.doc["checks"]:
        want = CLAIMS.get(c["id"])
        if c["id"] in RIGOROUS_CLAIMS and c["label"] in RIGOROUS_LABELS:
            want = RIGOROUS_CLAIMS[c["id"]]
        if want is not None and c["claim"] != want:
            raise _Fail(f"check {c['id']}: the claim text {_short(c['claim'])} is not the contract's statement of "
                        f"{c['id']} ({_short(want)}, docs/certificate.md, Claims)")
    required = REQUIRED_CHECKS_BY_ROUTE[ctx.route]
    missing = [k for k in required if k not in seen]
    if missing:
        on = " on route lp" if ctx.route == "lp" else ""
        raise _Fail(f"check {missing[0]} is missing (format version 1 requires {', '.join(required)}{on})")
    known = [c["id"] for c in ctx.doc["checks"] if c["id"] in KNOWN_CHECKS]
    order = [k for k in KNOWN_CHECKS if k in seen]
    if known != order:
        k = next(i for i, (a, b) in enumerate(zip(known, order)) if a != b)
        raise _Fail(f"the checks are not in chain order: {known[k]} comes where {order[k]} belongs")
    ctx.checks = {c["id"]: c for c in ctx.doc["checks"]}
    return f"{len(ctx.doc['checks'])} checks, in chain order, all known or estimates, claims as the contract states them"


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
