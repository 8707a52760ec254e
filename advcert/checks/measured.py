"""The records of Lemma 6.6, Lemma 6.5 and Theorem 5.1: the measured plane of the random features.

:func:`random_feature_checks` returns the checks ``lemma-6.6``, ``lemma-6.6/range``,
``lemma-6.5/radius``, ``lemma-6.5``, ``theorem-5.1`` and ``theorem-5.1/chain`` in the format
of docs/certificate.md, plus a ``constants`` dict, from the numbers of
:func:`advcert.measured.coupling.measure`.

``lemma-6.6`` is a sound bound: Lemma 6.6's identity for the constructed h, enclosed on the
pieces of [−1, 1] (math-spec §5.1). ``lemma-6.6/range`` is a sound bound when sup|h| <= C_h
fits C(q, ε2), and otherwise an estimate whose value is a point lower bound of sup|h| (as
theorem-5.3 falls back to its attack). The others are estimates, whose verdict is one of
observed / violated / vacuous / infeasible (design.md §3):

* observed: the measured value meets the claim at the width that ran;
* violated: it does not, at a width where the theorem's hypotheses hold;
* vacuous: the claimed bound is weaker than a trivial bound at this size;
* infeasible: the measured value misses the claim and the theorem asks for a width (or an
  arithmetic) no machine holds; the width is stated in log10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from flint import arb, fmpq

from advcert.checks import check, constant, json_float
from advcert.measured.coupling import Coupling, Options, StepLike, log10_hoeffding_failure, measure
from advcert.measured.h import Features
from advcert.measured.network import PseudoNetwork
from advcert.poly.complexity import log2_mid, log2_upper, upper_rational
from advcert.rational import to_str


@dataclass(frozen=True, eq=False)
class RandomFeatureReport:
    """The checks and constants of this part of the chain, and the objects behind them."""

    checks: list[dict[str, Any]]
    constants: dict[str, dict[str, Any]]
    features: Features
    pseudo: PseudoNetwork
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def _check(id_: str, claim: str, relation: str, bound: Any, value: Any, verdict: str,
           method: str, seconds: float, details: dict[str, Any]) -> dict[str, Any]:
    return check(id_, claim, relation, bound, value, "estimate", method, seconds, details=details, verdict=verdict)



#: the contract's statements of the two Lemma 6.6 checks (docs/certificate.md, "Claims")
LEMMA66_CLAIM = ("sup_{z∈[−1,1]} |E[1{<u,x>+β>=0} h(<w*,u>, β)] − q(z)| <= eps2 for the h of math-spec §5 with "
                 "the stored dyadic P_i and B_t (Lemma 6.6 for φ = q); value = the largest piece bound b(Z)")
LEMMA66_RANGE_CLAIM = ("log2 sup|h| <= log2 C(q, eps2) at the certificate's complexity_c (Lemma 6.6's range "
                       "h: R² → [−C(q, eps2), C(q, eps2)])")


def _lemma66_checks(c: Coupling) -> list[dict[str, Any]]:
    """``lemma-6.6`` (sound bound of sup_z |E − q| from interval enclosures) and ``lemma-6.6/range``
    (Lemma 6.6, math-spec §5.1)."""
    l6 = c.lemma66
    eps2, Cq, Cqe, feat, floor, quad, enc = l6.eps2, l6.Cq, l6.Cqe, l6.features, l6.floor, l6.quad, l6.identity
    c_const = Fraction(c.options.c)
    details: dict[str, Any] = {
        "h": {"B_t": to_str(feat.B_t), "precision_bits": feat.p_bits, "P": [to_str(p) for p in feat.P_used]},
        "pieces": [[to_str(lo), to_str(hi)] for lo, hi in enc.pieces],
        "enclosures": [[to_str(lo), to_str(hi)] for lo, hi in enc.enclosures],
        "tail_bound": to_str(enc.tail_bound),
        "p_bound": to_str(enc.p_bound),
        "truncation_bound_cauchy_schwarz": to_str(feat.truncation_bound),
        "log2_C_q": float(log2_mid(Cq)),
        "log2_C_q_eps2": float(log2_mid(Cqe)),
        "float_floor": json_float(floor),
    }
    if quad is not None:
        # an independent estimate beside the proof: 2-D quadrature, no use of Mehler's formula
        details["quadrature"] = {"z_grid": [float(z) for z in quad.z], "errors": [float(e) for e in quad.errors],
                                 "quadrature_error": json_float(quad.quad_error), "nodes": quad.nodes,
                                 "resolved": bool(quad.resolved)}
    ident = check(
        "lemma-6.6", LEMMA66_CLAIM, "<=", eps2, enc.sup_bound, "sound-bound",
        f"(Pd_i: the dyadic P_i that define h) Mehler's formula and the half-line integral: E − q = Σ α_i z^i (P_i/Pd_i − 1) − Σ (α_i/Pd_i) T_i(z); "
        f"|P_i/Pd_i − 1| <= 2^-{feat.p_bits} from Arb enclosures of P_i, |T_i| <= √(2 i! Φ(−B_t)) (Cauchy–Schwarz); "
        f"{len(enc.pieces)} pieces of [−1, 1], each bound rounded up (math-spec §5.1)",
        c.timings["features"] + enc.seconds, details=details)
    return [ident, _range_check(c, c_const)]


def _range_check(c: Coupling, c_const: Fraction) -> dict[str, Any]:
    rb = c.lemma66.range
    details: dict[str, Any] = {"complexity_c": to_str(c_const), "log2_C_h": to_str(rb.log2_C_h),
                               "log2_C_q_eps2_lower": to_str(rb.log2_C_q_eps2_lower),
                               "log2_C_h_cramer": float(c.lemma66.features.log2_C_h_cramer)}
    method = ("sup|h| <= C_h = Σ (|α_i|/Pd_i) Ĥe_i(B_t) (exact rational); C(q, eps2) in Arb at c = complexity_c, "
              "lower end")
    if rb.holds:
        return check("lemma-6.6/range", LEMMA66_RANGE_CLAIM, "<=", rb.log2_C_q_eps2_lower, rb.log2_C_h,
                     "sound-bound", method, rb.seconds, details=details)
    # the proved bound does not fit: the record becomes an estimate whose value is a point lower
    # bound of sup|h| (as theorem-5.3 falls back to its attack), and c_fit says which c would fit
    details["c_fit"] = None if rb.c_fit is None else to_str(rb.c_fit)
    details["reason"] = (f"the proved bound sup|h| <= 2^{float(rb.log2_C_h):.1f} exceeds C(q, eps2) >= "
                         f"2^{float(rb.log2_C_q_eps2_lower):.1f} at c = {to_str(c_const)}; "
                         + (f"it would fit from c = {details['c_fit']} on (same eps2 and h)" if rb.c_fit is not None
                            else "no c <= 64 makes it fit (same eps2 and h)"))
    value: Any = None
    verdict = "infeasible"
    details["infeasible_note"] = "no witness point resolved |h| in the arithmetic that ran; only the proved bound is known"
    if rb.witness is not None:
        del details["infeasible_note"]
        a, beta, lg = rb.witness
        details["witness"] = {"a": to_str(a), "beta": to_str(beta), "log2_abs_h_lower": json_float(lg)}
        value = json_float(lg)
        verdict = "violated" if lg > float(rb.log2_C_q_eps2_lower) else "observed"
        if verdict == "violated":
            details["reason"] += (f"; at the witness |h({float(a):.6g}, {float(beta):g})| >= 2^{lg:.1f}: the constructed "
                                  f"h leaves [−C(q, eps2), C(q, eps2)] at this c (a fact about this h, not about "
                                  f"the lemma, whose c is unspecified)")
    return check("lemma-6.6/range", LEMMA66_RANGE_CLAIM, "<=", json_float(float(rb.log2_C_q_eps2_lower)), value,
                 "estimate", method + "; value = log2 |h(a*, β*)| at the witness, an Arb lower bound of sup|h|",
                 rb.seconds, details=details, verdict=verdict)


#: the claims of the rigorous forms (docs/certificate.md, "Claims"); the estimates keep their old words
RADIUS_CLAIM_EXACT = ("m^4 (max_r ||W*_r - W0_r||²)^3 <= R^6, i.e. m^{2/3} ||W* - W0||_{2,inf} <= R with R = details.R "
                      ">= 2 n C_h (Lemma 6.5's radius, exact on the binary64 witness)")
LEMMA65_CLAIM_SOUND = ("sup_X |g_{W*}(x) - f*(x)| <= eps/3 (Lemma 6.5); value = the largest bound of a cover of X by caps "
                       "(a sound upper bound of the sup), details.lower = the sampled max (a lower bound)")
CHAIN51_CLAIM_SOUND = ("sup_X |f_{W*} - g_{W*}| <= eps/3 (what Theorem 5.3's chain needs from Theorem 5.1); value = the "
                       "largest bound of a cover of X by caps (a sound upper bound of the sup), details.lower = the "
                       "sampled max (a lower bound)")


def radius_upper(n: int, log2_C_h: Fraction) -> Fraction:
    """A rational upper bound of Lemma 6.5's R = 2 n C_h from the builder's upper bound of log2 C_h (Arb)."""
    # upper_rational works below 2^28: scale by an exact power of two first (R reaches 2^380 at the headline)
    e = max(0, math.ceil(log2_C_h) + (2 * n).bit_length() - 24)
    L = arb(fmpq(log2_C_h.numerator, log2_C_h.denominator)) - e
    return upper_rational(arb(2 * n) * arb(2) ** L, bits=24) * Fraction(2) ** e


def max_move_sq(pseudo: PseudoNetwork) -> Fraction:
    """max_r ||W*_r - W0_r||² exactly from the binary64 arrays (Lemma 6.5; W* moves along e_d only)."""
    W, W0 = pseudo.W, pseudo.net.W0
    diff = np.abs(W[:, -1] - W0[:, -1])
    if diff.size == 0:
        return Fraction(0)
    # rounding of the float difference is < 2^-52 relative: every row within 2^-40 of the max is a candidate
    cand = np.nonzero(diff >= diff.max() * (1 - 2.0 ** -40))[0]
    best = Fraction(0)
    for r in cand.tolist():
        e = Fraction(float(W[r, -1])) - Fraction(float(W0[r, -1]))
        best = max(best, e * e)
    return best


def _radius_check(c: Coupling) -> dict[str, Any]:
    n, pseudo, widths, feat, m = c.n, c.pseudo, c.widths, c.lemma66.features, c.m
    R_meas = pseudo.radius
    log2_R_thm = math.log2(2 * n) + float(feat.log2_C_h)
    log2_R_meas = math.log2(R_meas) if R_meas > 0 else -1074.0
    details = {"R_measured": json_float(R_meas), "log10_R_theorem": json_float(widths.log10_R),
               "h_error_estimate": json_float(pseudo.h_err), "h_arb_fallback_fraction": json_float(pseudo.h_fallback),
               "m": int(m)}
    offaxis = bool(np.any(pseudo.W[:, :-1] != pseudo.net.W0[:, :-1]))
    if feat.log2_C_h > 4000 or offaxis:
        return _check(
            "lemma-6.5/radius",
            "log2(m^{2/3} ||W* - W0||_{2,inf}) <= log2(R), R = 2 n C_h (Lemma 6.5's radius)",
            "<=", json_float(log2_R_thm), json_float(log2_R_meas),
            "observed" if log2_R_meas <= log2_R_thm else "violated",
            "W* sampled (float64 h, Arb fallback), max over neurons", c.timings["w_star"], details)
    R = radius_upper(n, feat.log2_C_h)
    details.update({"R": to_str(R), "R_note": ("R >= 2 n C_h with C_h the builder's Arb upper bound of sup|h| "
                                               "(Lemma 6.6); the verifier takes R as given and re-derives the value "
                                               "from the witness"),
                    "log2_R": json_float(log2_R_thm), "log2_R_measured": json_float(log2_R_meas)})
    value = Fraction(m) ** 4 * max_move_sq(pseudo) ** 3
    return check("lemma-6.5/radius", RADIUS_CLAIM_EXACT, "<=", R ** 6, value, "exact",
                 "exact rationals on the binary64 witness: squares of W*_rd - W0_rd, cubed, against R^6",
                 c.timings["w_star"], details=details)


def _lemma65_check(c: Coupling) -> dict[str, Any]:
    n, d, m, eps, pseudo, widths, feat = c.n, c.d, c.m, c.eps, c.pseudo, c.widths, c.lemma66.features
    results = {name: (s.points, s.sweep, s.fstar) for name, s in c.sets.items()}
    err_sweep, err_fstar, cover, timings = c.err_sweep, c.err_fstar, c.cover, c.timings
    per_set = {name: json_float(np.max(np.abs(r[1].g - r[2]))) for name, r in results.items()}
    sup_gf = max(per_set.values())
    eps3 = float(eps) / 3
    m_ok = math.log10(m) >= widths.log10_m_required
    if sup_gf <= eps3:
        v65 = "observed"
    else:
        v65 = "violated" if m_ok else "infeasible"
    hoeff = log10_hoeffding_failure(m, n, d, float(eps), float(feat.log2_C_h))
    details = {
            "per_point_set": per_set,
            "points": {name: int(r[0].shape[0]) for name, r in results.items()},
            "net_covering_radius": None if cover is None else json_float(cover),
            "bias_bound_n_eps2": to_str(n * feat.eps2),
            "float_error_g": json_float(err_sweep + pseudo.h_err),
            "float_error_fstar": json_float(err_fstar),
            "hoeffding_net_log10_failure_at_m": json_float(hoeff),
            "hoeffding_note": ("proved part: P(sup over a m^-2-net of |g - E g| >= eps/9) <= 10^value; "
                               ">= 0 means vacuous at this m"),
            "log10_m_required": json_float(widths.log10_m_required),
            "log10_m_hoeffding": json_float(widths.log10_m_hoeffding),
            "log10_m_discretisation": json_float(widths.log10_m_discretisation),
            "m": int(m),
        }
    sound = _sound(c.sup_gf, eps, details, c.sup_note)
    if sound is not None:
        return check("lemma-6.5", LEMMA65_CLAIM_SOUND, "<=", Fraction(eps) / 3, c.sup_gf.upper, "sound-bound",
                     SOUND_METHOD, c.sup_gf.seconds, details=sound)
    return _check(
        "lemma-6.5",
        "sup_X |g_{W*}(x) - f*(x)| <= eps/3 (Lemma 6.5); value = max over uniform, net and ascended points "
        "(a LOWER bound of the sup)",
        "<=", json_float(eps3), json_float(sup_gf), v65,
        "fused numba sweep of g_{W*} (BLAS tiles) and f* (Chebyshev/Clenshaw form) at sampled points, "
        "then projected ascent from the worst ones",
        timings["sweep"] + timings["ascent"] / 2, details)


def _theorem51_checks(c: Coupling) -> list[dict[str, Any]]:
    m, eps, pseudo, widths, options = c.m, c.eps, c.pseudo, c.widths, c.options
    results = {name: (s.points, s.sweep, s.fstar) for name, s in c.sets.items()}
    net0, R_meas, err_sweep, timings = pseudo.net, pseudo.radius, c.err_sweep, c.timings
    eps3 = float(eps) / 3
    sup_gf = max(json_float(np.max(np.abs(r[1].g - r[2]))) for r in results.values())
    checks = []
    per_set_fg = {name: json_float(np.max(np.abs(r[1].f - r[1].g))) for name, r in results.items()}
    sup_fg = max(per_set_fg.values())
    thm_pp = max(float(np.max(r[1].theorem51_bound(m))) for r in results.values())
    mech_pp = max(float(np.max(r[1].mechanism_bound())) for r in results.values())
    f0_max = max(float(np.max(np.abs(r[1].f0))) for r in results.values())
    log10_bound51 = math.log10(options.C51) + 2 * math.log10(max(R_meas, 1e-300)) - math.log10(m) / 6
    trivial = m ** (-1.0 / 3.0) * float(np.sum(np.linalg.norm(net0.W0, axis=1) + np.abs(net0.b) + np.abs(pseudo.c) / 2))
    # beyond 1e300 the bound is reported as 1e300 (still far above the trivial bound);
    # log10_bound_measured_R in the details has the exact size
    bound51 = 10.0 ** min(log10_bound51, 300.0)
    if bound51 >= trivial:
        v51 = "vacuous"
    else:
        v51 = "observed" if sup_fg <= bound51 else "violated"
    log10_bound51_thm = math.log10(options.C51) + 2 * widths.log10_R - math.log10(m) / 6
    checks.append(_check(
        "theorem-5.1",
        "sup_X |f_{W*} - g_{W*}| <= C51 R²/m^{1/6} with R = m^{2/3}||W* - W0||_{2,inf} (Theorem 5.1 at the "
        "measured radius); value = max over sampled and ascended points (a LOWER bound of the sup)",
        "<=", json_float(bound51), json_float(sup_fg), v51,
        "fused numba sweep of f_{W*} and g_{W*}, then projected ascent on |f - g|",
        timings["sweep"] + timings["ascent"] / 2,
        {
            "per_point_set": per_set_fg,
            "C51": json_float(options.C51),
            "log10_bound_measured_R": json_float(log10_bound51),
            "log10_bound_theorem_R": json_float(log10_bound51_thm),
            "trivial_bound": json_float(trivial),
            "trivial_note": "|f_W - g_W| <= m^{-1/3} Σ_r (||W0_r|| + |b_r| + |c_r|/2) on X, always",
            "max_pointwise_theorem51_bound": json_float(thm_pp),
            "max_pointwise_mechanism_bound": json_float(mech_pp),
            "pointwise_note": ("at each evaluated x, |f - g| <= |f_W0(x)| + m^{-1/3} Σ_r (R m^{-2/3} - |u_r(x)|)_+ "
                               "(math-spec §7) and <= |f_W0(x)| + Σ_r |a_r| (|Δ_r(x)| - |u_r(x)|)_+; "
                               "these hold per point, their max over points is not a sup bound"),
            "max_abs_f_W0": json_float(f0_max),
            "float_error": json_float(err_sweep),
        }))
    v51c = "observed" if sup_fg <= eps3 else ("violated" if math.log10(m) >= widths.log10_m_thm51 else "infeasible")
    w_plain = c.log10_m_thm51_plain
    details = {"log10_m_needed": json_float(widths.log10_m_thm51),
               "note": "width at which C51 (2 n C_h)²/m^{1/6} <= eps/3 with the theorem's R",
               "log10_m_needed_eps2_plain": json_float(w_plain),
               "plain_note": "the same with eps2 = eps/(9n), i.e. without Lemma 6.6's hypothesis eps2 < 1/C(q)",
               "m": int(m),
               "chain_sum_measured": json_float(sup_gf + sup_fg)}
    sound = _sound(c.sup_fg, eps, details, c.sup_note)
    if sound is not None:
        checks.append(check("theorem-5.1/chain", CHAIN51_CLAIM_SOUND, "<=", Fraction(eps) / 3, c.sup_fg.upper,
                            "sound-bound", SOUND_METHOD, c.sup_fg.seconds, details=sound))
        return checks
    checks.append(_check(
        "theorem-5.1/chain",
        "sup_X |f_{W*} - g_{W*}| <= eps/3 (what Theorem 5.3's chain needs from Theorem 5.1); value as in "
        "theorem-5.1",
        "<=", json_float(eps3), json_float(sup_fg), v51c,
        "as theorem-5.1", 0.0, details))
    return checks


SOUND_METHOD = ("branch and bound over a cube-sphere cover of X (math-spec §13): per box, exact constant/linear parts "
                "of the resolved neurons, ranges of the others, f* by q's exact Taylor expansion; float64 sums plus a "
                "proved rounding margin, every box re-derived by the verifier in integers")


def _sound(cv, eps, details: dict[str, Any], note: str) -> dict[str, Any] | None:
    """The details of a sound-bound sup-norm check, or None when the estimate stays: no cover
    (d > 5, too wide, disabled) or a sound bound above eps/3 (math-spec §13)."""
    if cv is None:
        details["sound_note"] = note
        return None
    eps3 = Fraction(eps) / 3
    info = {"sound_upper": to_str(cv.upper), "sound_upper_float": json_float(float(cv.upper)),
            "sound_boxes": len(cv.boxes), "sound_converged": cv.converged}
    if cv.upper > eps3:
        # as theorem-5.3: the rigorous label only where the sound bound proves the claim; else the estimate
        # stays (below the theorem's width a miss refutes nothing) with the sound bound reached beside it
        details.update(info, sound_note=("the sound bound stayed above eps/3 (" + ("converged" if cv.converged else
                                         "budget of boxes spent") + "); the estimate stays"))
        return None
    lower = cv.lower
    return {**details, **info, "lower": json_float(lower), "upper": to_str(cv.upper),
            "ratio_upper_lower": json_float(float(cv.upper) / lower) if lower > 0 else None,
            "explored_boxes": cv.explored, "rounding_margin": json_float(cv.margin),
            "interval_note": "[lower, upper]: lower = the sampled max (points and box centres, an estimate), "
                             "upper = the sound bound (value)",
            "cover": cv.cover()}


def _constants(c: Coupling) -> dict[str, dict[str, Any]]:
    l6, widths, options, m = c.lemma66, c.widths, c.options, c.m
    w_plain = c.log10_m_thm51_plain
    eps2, Cq, Cqe, feat, c_const, R_meas = l6.eps2, l6.Cq, l6.Cqe, l6.features, Fraction(c.options.c), c.pseudo.radius
    return {
        "eps2": constant(to_str(eps2), "exact", "Lemma 6.6 accuracy: min(eps/(9n), 1/(2 C(q))), a dyadic below", "eps2"),
        "complexity_c": constant(to_str(c_const), "exact", "the absolute constant c of C(φ, ε) and C(φ)"),
        "log2_C_q": constant(to_str(log2_upper(Cq)), "sound-bound", "upper bound of log2 C(q) (Arb)", "C_q"),
        "log2_C_q_eps2": constant(to_str(log2_upper(Cqe)), "sound-bound", "upper bound of log2 C(q, eps2) (Arb)", "C_q_eps2"),
        # Reported for people; the rigorous statements about B_t and C_h are the checks
        # lemma-6.6 and lemma-6.6/range, which carry them exactly and are re-derived.
        "h_B_t": constant(json_float(feat.B_t), "estimate", "truncation point of h (least 1/64-grid point whose proved "
                                                  "truncation error fits the budget; exact in lemma-6.6's details)"),
        "log2_C_h": constant(json_float(feat.log2_C_h), "estimate",
                           "log2 of the proved upper bound of sup|h|, Σ(|α_i|/Pd_i) Ĥe_i(B_t) (re-derived "
                           "exactly by the verifier in lemma-6.6/range)", "C_h"),
        "log2_C_h_cramer": constant(json_float(feat.log2_C_h_cramer), "estimate",
                                  "same via Cramér's inequality (constant 1.086436 [R, Indritz 1961])"),
        "log10_R_theorem": constant(json_float(widths.log10_R), "estimate", "log10(2 n C_h), float from the bound above", "R"),
        "log10_m_thm51": constant(json_float(widths.log10_m_thm51), "estimate",
                                "width with C51 R²/m^{1/6} <= eps/3 at the theorem's R", "m_thm51"),
        "log10_m_hoeffding": constant(json_float(widths.log10_m_hoeffding), "estimate",
                                    f"width where the Hoeffding + net bound fails w.p. <= {options.delta_fail}", "m_hoeffding"),
        "log10_m_required": constant(json_float(widths.log10_m_required), "estimate", "largest width of this chain", "M0"),
        "log10_m_thm51_eps2_plain": constant(json_float(w_plain), "estimate",
                                           "log10_m_thm51 with eps2 = eps/(9n), ignoring eps2 < 1/C(q)"),
        "m": constant(str(int(m)), "exact", "the width that ran"),
        "R_measured": constant(json_float(R_meas), "estimate", "m^{2/3} ||W* - W0||_{2,inf} of the sampled W*"),
    }


def random_feature_checks(points: np.ndarray, labels: np.ndarray, eps: Fraction, step: StepLike, *,
                          m: int | None = None, seed: int = 0, options: Options = Options()) -> RandomFeatureReport:
    """Lemma 6.6, Lemma 6.5 and Theorem 5.1 at width m: checks and constants (design.md §2).

    ``points`` (n, d) on X, ``labels`` (n,) in [-1, 1], ``eps`` the target ε, ``step`` the
    step polynomial q of Claim 6.3, ``m`` the width (default coupling.default_width).
    """
    c = measure(points, labels, eps, step, m=m, seed=seed, options=options)
    checks = [*_lemma66_checks(c), _radius_check(c), _lemma65_check(c), *_theorem51_checks(c)]
    return RandomFeatureReport(checks=checks, constants=_constants(c), features=c.lemma66.features, pseudo=c.pseudo,
                               seconds=sum(c.timings.values()), timings=dict(c.timings))

