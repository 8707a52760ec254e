"""The record of Theorem 5.3's check ``theorem-5.3``: the robust loss of f_W between attack and sound bound.

The numbers come from :func:`advcert.measured.robust_loss.bracket`; this module turns them into the
certificate record of docs/certificate.md, with every leaf an independent verifier re-derives.
"""

from __future__ import annotations

import time
from dataclasses import replace
from fractions import Fraction

import numpy as np

from advcert.checks import check
from advcert.measured.crown import PointBound
from advcert.measured.network import plain
from advcert.measured.robust_loss import Bracket, SandwichConfig, bracket
from advcert.rational import to_str


def _q(x: float) -> str:
    # the exact binary64 value as "p/q"
    return to_str(Fraction(float(x)))


RECIPE = (
    "For point i and side sigma in {+1,-1} (sigma*(f_W(x)-y_i)), every leaf's splits partition the "
    "domain D_i (tree: each split neuron r cuts a node into z_r>=0 and z_r<=0). Per leaf: take any "
    "lo_r <= inf_D z_r, hi_r >= sup_D z_r (z_r(x)=<W_r,x>+b_r); c_r=sigma*a_r. Multipliers k_r and "
    "constants e_r: lo_r>=0: k=c; hi_r<=0: k=0; unstable and split +1: k=c+beta_r; split -1: "
    "k=-beta_r; unstable, unsplit, c>0: any line s z+t >= relu on [lo,hi] (chord), k=c s, e=c t; "
    "c<0: k=c alpha_r (alpha_r in [0,1] as given). Then sigma(f-y) <= sup_D <Lambda,x> + sum k_r b_r "
    "+ sum e_r - sigma y, Lambda=sum k_r W_r. sup over the cap {x in X: ||x-x_i||<=rho} of <Lambda,x> "
    "= Lambda_d/2 + sqrt(3)/2*M, M = sup{<Lambda',v>: ||v||=1, <v,p> >= kappa}, p=x_i[:d-1], "
    "kappa=(3/4+||p||^2+(x_id-1/2)^2-rho^2)/sqrt(3); M=||Lambda'|| if <Lambda',p> >= kappa||Lambda'||, "
    "else (t kappa + sqrt(P^2-kappa^2) sqrt(||Lambda'||^2 P^2 - t^2))/P^2 with t=<Lambda',p>, P=||p||. "
    "On the ball: <Lambda,x_i> + rho||Lambda||. The leaf's bound must be <= its 'bound'; the point's "
    "upper is the max over both sides' leaves; value = mean of the points' uppers."
)


def _point_row(i: int, pb: PointBound, br: Bracket, include_leaves: bool) -> dict:
    # one data point of the theorem-5.3 record: the bracket, the gap and (optionally) every leaf
    atk, att = br.attack, br.lower
    row = {
        "attack": float(att[i]),
        "attack_pgd": float(atk.pgd_values[i]),
        "attack_random": float(atk.random_values[i]),
        "gradient_masking": bool(atk.masking[i]),
        "upper": _q(pb.upper),
        "crown": _q(pb.crown),
        "gap": float(pb.upper - att[i]),
        "ratio": float(pb.upper / att[i]) if att[i] > 0 else None,
        "nodes": pb.nodes,
        "gap_target_met": bool(pb.complete),
        "witness": [float(v) for v in br.witness[i]],
    }
    if include_leaves:
        row["leaves"] = [
            {
                "sigma": lf.sigma,
                "splits": [[r, s] for r, s in lf.splits],
                "alpha": [[r, _q(v)] for r, v in lf.alpha],
                "beta": [[r, _q(v)] for r, v in lf.beta],
                "bound": _q(lf.bound),
            }
            for lf in pb.leaves
        ]
    return row


def theorem_5_3_check(a, W, b, points, labels, rho, eps, *, seed, config: SandwichConfig | None = None,
                      **overrides) -> dict:
    """The certificate check ``theorem-5.3``: L_{A*}(f_W) <= eps, bracketed by attack and bound.

    Theorem 5.3: L_{A*}(f_{W*}) = (1/n) sum_i sup_{x~ in B_2(x_i, rho) ∩ X} |f_{W*}(x~) - y_i| <= eps.
    The bracket is :func:`advcert.measured.robust_loss.bracket` with ``config`` (any field of
    :class:`~advcert.measured.robust_loss.SandwichConfig` may also be given by keyword).
    Verdict: ``holds`` (label sound-bound) when the mean upper bound is <= eps; otherwise an
    estimate verdict: ``observed`` when the mean attack value is <= eps, ``vacuous`` when
    moreover eps >= mean |y_i| (the zero function already meets it), ``violated`` when the
    mean attack value exceeds eps. ``details`` holds what an independent verifier needs: the
    domain, every leaf's splits, alpha and beta (exact binary64 as "p/q"), and the recipe.
    """
    cfg = replace(config or SandwichConfig(), **overrides)
    t0 = time.perf_counter()
    rho_q = Fraction(rho) if not isinstance(rho, float) else Fraction(rho)
    eps_q = Fraction(eps) if not isinstance(eps, float) else Fraction(eps)
    net = plain(a, W, b)
    br = bracket(net, points, labels, rho_q, seed=seed, config=cfg)
    atk, att, y, n = br.attack, br.lower, np.asarray(labels, dtype=np.float64), len(br.bounds)
    per = [_point_row(i, pb, br, cfg.include_leaves) for i, pb in enumerate(br.bounds)]
    ups = [Fraction(pb.upper) for pb in br.bounds]
    r_up, t_att = br.rho_used, br.attack_seconds
    upper = sum(ups, Fraction(0)) / n
    attack_mean = float(np.mean(att))
    mean_abs_y = Fraction(sum((Fraction(float(v)) for v in np.abs(y)), Fraction(0))) / n
    if upper <= eps_q:
        label, verdict, value = "sound-bound", "holds", upper
        reason = "the mean of the per-point sound upper bounds is <= eps"
    elif attack_mean <= float(eps_q):
        label, value = "estimate", attack_mean
        if eps_q >= mean_abs_y:
            verdict = "vacuous"
            reason = "only the attack is <= eps, and eps >= mean |y_i|: the zero function already meets it"
        else:
            verdict = "observed"
            reason = f"only the attack is <= eps; the sound upper bound {float(upper):.6g} is not"
    else:
        label, verdict, value = "estimate", "violated", attack_mean
        reason = f"the attack found a robust loss {attack_mean:.6g} > eps"
    return check(
        "theorem-5.3", "L_{A*}(f_W) = (1/n) sum_i sup_{x~ in B2(x_i,rho) ∩ X} |f_W(x~) - y_i| <= eps",
        "<=", eps_q if label != "estimate" else to_str(eps_q), upper if label != "estimate" else value, label,
        (
            f"below: APGD-style projected ascent on both sides of |f-y| ({cfg.restarts}+1 starts x {cfg.steps} steps) + "
            f"{cfg.random_points} random points per cap + the relaxations' maximisers (estimate); above: "
            f"alpha/beta-CROWN over the {cfg.domain} with branch-and-bound on unstable neurons, float64 balls "
            "with a-priori rounding bounds (sound-bound)"
        ),
        time.perf_counter() - t0, verdict=verdict,
        details={
            "reason": reason,
            "domain": cfg.domain,
            "rho": to_str(rho_q),
            "rho_used": _q(r_up),
            "upper": to_str(upper),
            "upper_float": float(upper),
            "attack": attack_mean,
            "gap": float(upper) - attack_mean,
            "max_ratio": max((p["ratio"] for p in per if p["ratio"] is not None), default=None),
            "attack_seconds": t_att,
            "restarts": cfg.restarts,
            "steps": cfg.steps,
            "random_points": cfg.random_points,
            "gradient_masking": int(np.sum(atk.masking)),
            "rel_gap": cfg.rel_gap,
            "node_budget": "nominal seconds turned into a node count by a fixed cost model (deterministic)",
            "time_capped": sum(bool(pb.time_capped) for pb in br.bounds),
            "recipe": RECIPE,
            "per_point": per,
        })
