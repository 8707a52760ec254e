"""Records of Theorems 5.2 and 4.1: what Algorithm 1 reached, bracketed by attack and sound bound.

``theorem-5.2`` (an estimate: the running average against comparators in the R-ball) and
``theorem-4.1`` (min_t L_A ≤ ε, proved through a sound bound of the best iterate's robust loss when
it can be), with the curves Algorithm 1 tracked (docs/training.md). Algorithm 1 itself is
:mod:`advcert.measured.algorithm1`; the Theorem 5.3 sandwich is :mod:`advcert.checks.robust`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from advcert import seeds
from advcert.checks import check
from advcert.checks.robust import theorem_5_3_check
from advcert.measured.algorithm1 import Schedule, Algorithm1Config, TrainResult, clip_to_radius
from advcert.measured.network import TwoLayerNet, with_weights


@dataclass(frozen=True)
class Effort:
    """How hard the checks of Theorems 5.2 and 4.1 bracket L_{A*}: branch-and-bound seconds and
    the attack's restarts and steps (Theorem 5.3's sandwich)."""

    time_budget: float = 10.0
    attack_restarts: int = 4
    attack_steps: int = 60


def _f(x) -> float | None:
    # JSON has no NaN or infinity
    x = float(x)
    return x if math.isfinite(x) else None


def curves(result: TrainResult) -> dict:
    """The tracked quantities of Algorithm 1 as JSON lists (estimates), for the certificate and plots."""
    sch = result.schedule
    return {
        "t": "0..len-1 (W(t) for t = 0..steps_done)",
        "L_A": [float(v) for v in result.L_A],
        "clean": [float(v) for v in result.clean],
        "drift": [float(v) for v in result.drift],
        "average": [float(v) for v in result.average],
        "R_train": sch.R_train,
        "checkpoints": {
            "t": [int(v) for v in result.checkpoints],
            "gap_sampled": [float(v) for v in result.gap],
            "gap_theorem_5_1": [float(v) for v in result.gap_predicted],
            "crown_upper": [_f(v) for v in result.crown_upper],
        },
    }


def _schedule_details(sch: Schedule, config: Algorithm1Config, result: TrainResult) -> dict:
    # the theorem's width for the linearisation error at the training drift radius
    # C51 R_train^2 / m^{1/6} <= eps (math-spec §7), C51 = 1
    log10_m_thm51 = 6.0 * math.log10(sch.R_train**2 / sch.eps)
    return {
        "m": sch.m,
        "eta": sch.eta,
        "c_eta": sch.c_eta,
        "c_T": sch.c_T,
        "R": sch.R,
        "R_train": sch.R_train,
        "T_theorem": sch.T_theorem,
        "log10_T_theorem": math.log10(sch.T_theorem),
        "T_budget": sch.T,
        "max_steps": sch.max_steps,
        "steps_done": result.steps_done,
        "capped": sch.capped,
        "interrupted": result.interrupted,
        "log10_m": math.log10(sch.m),
        "log10_m_theorem_5_1_at_R_train": log10_m_thm51,
        "loss": config.loss,
        "tau": config.tau if config.loss == "smooth" else None,
        "adversary": {"kind": config.adversary, "steps": config.attack_steps, "restarts": config.attack_restarts},
        "training_seconds": result.seconds,
    }


def theorem_5_2_check(result: TrainResult, net: TwoLayerNet, points, labels, rho, eps, *, seed: int,
                      comparators: dict[str, np.ndarray] | None = None, effort: Effort = Effort()) -> dict:
    """The check ``theorem-5.2``: (1/T) Σ_{t<T} L_A(f_{W(t)}) <= L_{A*}(f_{W*}) + ε (estimate).

    Theorem 5.2 holds for every W* with ||W* - W0||_{2,inf} <= R/m^{2/3}. It is tested against
    comparators in that ball: W0 itself, the best iterate clipped row by row to the ball,
    and any given in ``comparators`` (for instance Lemma 6.5's W*; those outside the ball are
    reported and skipped). For each, L_{A*}(f_{W*}) is bracketed: an attack from below and
    a sound CROWN/BaB bound from above (:func:`advcert.checks.robust.theorem_5_3_check`). The claim
    for a comparator is *confirmed* when the average <= its lower end + ε, *refuted* when
    the average > its upper end + ε, else undecided. Verdict: ``violated`` if any is
    refuted, else ``observed`` over the confirmed ones (undecided ones are listed).
    """
    t0 = time.perf_counter()
    sch = result.schedule
    a, W0, b = net.a, net.W0, net.b
    m = net.m
    time_budget, attack_restarts, attack_steps = effort.time_budget, effort.attack_restarts, effort.attack_steps
    radius = sch.R * m ** (-2.0 / 3.0)
    T_done = result.steps_done
    avg = float(np.mean(result.L_A[:T_done])) if T_done else None
    comps: dict[str, np.ndarray] = {"W0": W0,
                                    "W_best clipped to the R-ball": clip_to_radius(W0, result.W_best, radius)}
    comps.update(comparators or {})
    ss = seeds.seed_sequence(seed, "train").spawn(4)[2].spawn(len(comps))
    rows = []
    for (name, Wc), sq in zip(comps.items(), ss):
        r = float(np.max(np.linalg.norm(np.asarray(Wc) - W0, axis=1))) * m ** (2.0 / 3.0)
        row = {"name": name, "radius": r, "within_R": bool(r <= sch.R)}
        if not row["within_R"]:
            row["status"] = "outside the R-ball: Theorem 5.2 at this R says nothing about it"
            rows.append(row)
            continue
        c = theorem_5_3_check(a, Wc, b, points, labels, rho, eps, seed=sq, restarts=attack_restarts,
                              steps=attack_steps, time_budget=time_budget / len(comps), include_leaves=False)
        lo, hi = float(c["details"]["attack"]), float(c["details"]["upper_float"])
        row.update({"robust_loss_attack": lo, "robust_loss_upper": c["details"]["upper"],
                    "robust_loss_upper_float": hi})
        if avg is not None and avg <= lo + float(eps):
            row["status"] = "confirmed"
        elif avg is not None and avg > hi + float(eps):
            row["status"] = "refuted"
        else:
            row["status"] = "undecided"
        rows.append(row)
    refuted = [r for r in rows if r.get("status") == "refuted"]
    confirmed = [r for r in rows if r.get("status") == "confirmed"]
    if avg is None:
        value, bound, verdict = None, None, "vacuous"
        reason = "no update was made (interrupted at once), so the average is empty"
    elif refuted:
        worst = min(refuted, key=lambda r: r["robust_loss_upper_float"])
        value, bound, verdict = avg, worst["robust_loss_upper_float"] + float(eps), "violated"
        reason = f"the average exceeds the sound upper bound of L_A*(f_W*) + eps for W* = {worst['name']}"
    elif confirmed:
        best = min(confirmed, key=lambda r: r["robust_loss_attack"])
        value, bound, verdict = avg, best["robust_loss_attack"] + float(eps), "observed"
        reason = (f"the average is <= (attack lower bound of L_A*(f_W*)) + eps for every confirmed comparator; "
                  f"the tightest is W* = {best['name']}")
    else:
        value, bound, verdict = avg, None, "vacuous"
        reason = "no comparator decided the claim either way (attack and sound bound bracket it)"
    return check(
        "theorem-5.2",
        "(1/T) Σ_{t<T} L_A(f_{W(t)}) ≤ L_{A*}(f_{W*}) + ε for every W* with ‖W* − W0‖_{2,∞} ≤ R/m^{2/3} "
        "(Algorithm 1 with η = c_η ε m^{-1/3}, T = min(c_T R²/ε², budget)); tested on the listed comparators",
        "<=", bound, value, "estimate",
        f"Algorithm 1 (full batch, {result.config.adversary} adversary, {result.config.attack_steps} steps) for "
        f"{T_done} updates; L_A*(f_W*) bracketed per comparator by projected ascent ({attack_restarts}+1 starts x "
        f"{attack_steps} steps + random points) and alpha/beta-CROWN with branch-and-bound",
        time.perf_counter() - t0, verdict=verdict,
        details={"reason": reason, "average": avg, "T_averaged": T_done, "comparators": rows,
                 "schedule": _schedule_details(sch, result.config, result), "curves": curves(result)},
    )


def theorem_4_1_check(result: TrainResult, net: TwoLayerNet, points, labels, rho, eps, *, seed: int,
                      witness: dict | None = None, effort: Effort = Effort(20.0, 8, 100),
                      log10_M0: float | None = None) -> dict:
    """The check ``theorem-4.1``: min_{t∈[T]} L_A(f_{W(t)}) <= ε, with the best iterate bounded soundly.

    Theorem 4.1 is about the training adversary A. Any rho-bounded A has L_A <= L_{A*}, so a
    sound upper bound U of L_{A*}(f_{W(t*)}) for the stored best iterate t* gives
    min_t L_A <= U: when U <= ε the check says ``holds`` with label ``sound-bound`` (U from
    :func:`advcert.checks.robust.theorem_5_3_check`, rounding accounted for; ``details.robust``
    holds every leaf a verifier needs, and ``details.witness`` names the .npz with W_best).
    Otherwise it reports min_t L_A as an estimate: ``observed`` (<= ε), ``vacuous`` (<= ε but
    ε >= mean |y_i|, which the zero function meets), or ``violated``.
    """
    t0 = time.perf_counter()
    sch = result.schedule
    a, W0, b, Wb = net.a, net.W0, net.b, with_weights(net, result.W_best).W
    time_budget, attack_restarts, attack_steps = effort.time_budget, effort.attack_restarts, effort.attack_steps
    y = np.asarray(labels, dtype=np.float64)
    eps_q = Fraction(eps) if not isinstance(eps, float) else Fraction(eps)
    sq = seeds.seed_sequence(seed, "train").spawn(4)[3]
    rob = theorem_5_3_check(a, Wb, b, points, y, rho, eps_q, seed=sq, restarts=attack_restarts, steps=attack_steps,
                            time_budget=time_budget, include_leaves=True)
    upper = Fraction(rob["details"]["upper"])
    mean_abs_y = sum((Fraction(float(v)) for v in np.abs(y)), Fraction(0)) / len(y)
    drift_best = float(np.max(np.linalg.norm(Wb - W0, axis=1))) * W0.shape[0] ** (2.0 / 3.0)
    details = {
        "min_L_A": _f(result.min_L_A),
        "t_best": result.t_best,
        "drift_best": drift_best,
        "robust_loss_attack_best": rob["details"]["attack"],
        "robust_loss_upper_best": rob["details"]["upper"],
        "robust_loss_upper_best_float": rob["details"]["upper_float"],
        "vacuous": bool(eps_q >= mean_abs_y),
        "mean_abs_y": float(mean_abs_y),
        "schedule": _schedule_details(sch, result.config, result),
        "log10_M0": log10_M0,
        "witness": witness,
        "robust": {k: rob["details"][k] for k in ("domain", "rho", "rho_used", "upper", "recipe", "per_point")},
        "chain": "min_{t in [T]} L_A(f_W(t)) <= L_A(f_W(t*)) <= L_A*(f_W(t*)) <= upper (A is rho-bounded)",
    }
    claim = ("min_{t∈[T]} L_A(f_{W(t)}) ≤ ε for Algorithm 1's adversary A; sound route: "
             "L_{A*}(f_{W(t*)}) ≤ upper ≤ ε for the stored best iterate t* (any ρ-bounded A has L_A ≤ L_{A*})")
    if upper <= eps_q:
        details["reason"] = "the sound upper bound of the best iterate's robust loss L_A* is <= eps"
        return check("theorem-4.1", claim, "<=", eps_q, upper, "sound-bound",
                     "Algorithm 1, then alpha/beta-CROWN with branch-and-bound over the caps for W(t*), float64 balls "
                     "with a-priori rounding bounds (advcert.measured.crown)", time.perf_counter() - t0, details=details)
    v = result.min_L_A
    if not math.isfinite(v):
        details["reason"] = "no iterate was evaluated (interrupted at once)"
        return check("theorem-4.1", claim, "<=", float(eps_q), None, "estimate", "Algorithm 1 (not run)",
                     time.perf_counter() - t0, verdict="vacuous", details=details)
    if v <= float(eps_q):
        verdict = "vacuous" if details["vacuous"] else "observed"
        details["reason"] = (f"min_t L_A <= eps against the training adversary (an estimate); the sound bound "
                             f"{float(upper):.6g} of the best iterate is not <= eps")
    else:
        verdict = "violated"
        details["reason"] = f"min_t L_A = {v:.6g} > eps within the {result.steps_done} steps run"
    return check("theorem-4.1", claim, "<=", float(eps_q), v, "estimate",
                 f"Algorithm 1 with the {result.config.adversary} training adversary; "
                 f"min over t = 1..{result.steps_done} of L_A (float64)", time.perf_counter() - t0,
                 verdict=verdict, details=details)


# ---------------------------------------------------------------------------------------
# the picture, from the certificate
# ---------------------------------------------------------------------------------------


