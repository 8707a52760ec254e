"""Theorems 5.2 and 4.1 as certificate checks, the witness, the curves and ``advcert train``
(a remnant: the lead moves the records to checks/, the command to cli.py / pipeline.py).

Unchanged in behaviour; Algorithm 1 itself is :mod:`advcert.measured.algorithm1`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import os
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from advcert import certificate, seeds
from advcert._remnant_bounds import theorem_5_3_check
from advcert.build import build_certificate, check
from advcert.certificate import network_witness, write_atomic
from advcert.errors import InputError
from advcert.instance import synthetic
from advcert.measured.algorithm1 import (
    ADVERSARIES,
    LOSSES,
    Schedule,
    StepStats,
    TrainConfig,
    TrainResult,
    clip_to_radius,
    schedule,
    train,
)
from advcert.measured.network import TwoLayerNet, initialise, with_weights
from advcert.rational import parse_number


@dataclass(frozen=True)
class Effort:
    """How hard the checks of Theorems 5.2 and 4.1 bracket L_{A*}: branch-and-bound seconds and
    the attack's restarts and steps (Theorem 5.3's sandwich)."""

    time_budget: float = 10.0
    attack_restarts: int = 4
    attack_steps: int = 60


def save_witness(path, a, W0, b, W_best) -> str:
    """Write the trained network (a, W0, b, W = W_best) as an .npz witness; return its SHA-256.

    Section 3's network f_W with W = W_best (rows W_r), in the one witness format of
    advcert.certificate.network_witness (arrays a, W0, b, W; same arrays, same bytes). The
    write is atomic (advcert.certificate.write_atomic).
    """
    data = network_witness(a, W0, b, W_best)
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def load_witness(path, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Read a witness of :func:`save_witness` (the trained f_W of Theorem 4.1), checking its SHA-256."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"network witness {p} does not exist", "keep the .npz next to its certificate")
    data = p.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise InputError(f"network witness {p} does not match the SHA-256 in the certificate",
                         "use the .npz written together with the certificate")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in ("a", "W0", "b", "W")}


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


def _schedule_details(sch: Schedule, config: TrainConfig, result: TrainResult) -> dict:
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
        "seconds_training": result.seconds,
    }


def theorem_5_2_check(result: TrainResult, net: TwoLayerNet, points, labels, rho, eps, *, seed: int,
                      comparators: dict[str, np.ndarray] | None = None, effort: Effort = Effort()) -> dict:
    """The check ``theorem-5.2``: (1/T) Σ_{t<T} L_A(f_{W(t)}) <= L_{A*}(f_{W*}) + ε (estimate).

    Theorem 5.2 holds for every W* with ||W* - W0||_{2,inf} <= R/m^{2/3}. It is tested against
    comparators in that ball: W0 itself, the best iterate clipped row by row to the ball,
    and any given in ``comparators`` (for instance Lemma 6.5's W*; those outside the ball are
    reported and skipped). For each, L_{A*}(f_{W*}) is bracketed: an attack from below and
    a sound CROWN/BaB bound from above (:func:`advcert._remnant_bounds.theorem_5_3_check`). The claim
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
    :func:`advcert._remnant_bounds.theorem_5_3_check`, rounding accounted for; ``details.robust``
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


def plot_training(doc: dict, out: str) -> None:
    """Training curves from a certificate's ``theorem-5.2`` and ``theorem-4.1`` checks (Theorems 5.2, 4.1).

    Left: L_A, clean loss, running average, CROWN upper bound at checkpoints, the sound bound
    of the best iterate, ε. Right: drift against R_train, sampled Theorem 5.1 gap.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checks = {c["id"]: c for c in doc["checks"]}
    if "theorem-5.2" not in checks:
        raise InputError("the certificate has no theorem-5.2 check (no training curves)",
                         "pass a certificate written by advcert train")
    cv = checks["theorem-5.2"]["details"]["curves"]
    eps = float(Fraction(doc["instance"]["eps"]))
    L = np.array(cv["L_A"], dtype=float)
    t = np.arange(L.size)
    cp = cv["checkpoints"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax1.plot(t, L, lw=1, label="L_A(f_W(t)) (training adversary)")
    ax1.plot(t, cv["clean"], lw=1, label="clean loss")
    if cv["average"]:
        ax1.plot(np.arange(1, len(cv["average"]) + 1), cv["average"], lw=1, ls="--", label="running average (Thm 5.2)")
    up = [(tt, u) for tt, u in zip(cp["t"], cp["crown_upper"]) if u is not None]
    if up:
        ax1.plot(*zip(*up), "o-", ms=3, lw=0.8, label="sound CROWN bound of L_A*")
    c41 = checks.get("theorem-4.1")
    if c41 is not None:
        det = c41["details"]
        ub = float(Fraction(det["robust_loss_upper_best"]))
        ax1.plot([det["t_best"]], [ub], "*", ms=12, color="tab:green",
                 label=f"sound BaB bound at t* = {det['t_best']}: {ub:.4g}")
    ax1.axhline(eps, color="k", ls=":", lw=1, label="ε")
    ax1.set_xlabel("step t")
    ax1.set_ylabel("loss")
    ax1.set_title("Algorithm 1: robust training loss (Theorems 4.1 and 5.2)")
    ax1.legend(fontsize=8)
    ax2.plot(t, cv["drift"], lw=1, label="drift m^{2/3} max_r ‖W_r − W0_r‖")
    ax2.axhline(cv["R_train"], color="k", ls=":", lw=1, label=f"R_train = R²/ε = {cv['R_train']:.4g}")
    ax2.plot(cp["t"], cp["gap_sampled"], "s-", ms=3, lw=0.8, label="sampled sup |f − g| (Thm 5.1, lower bound)")
    ax2.plot(cp["t"], cp["gap_theorem_5_1"], "^-", ms=3, lw=0.8, label="R_t²/m^{1/6} (Thm 5.1 at the drift reached)")
    ax2.set_yscale("symlog", linthresh=1e-2)
    ax2.set_xlabel("step t")
    ax2.set_title("drift and the Theorem 5.1 gap")
    ax2.legend(fontsize=8)
    inst = doc["instance"]
    m = doc.get("objects", {}).get("network", {}).get("m")
    fig.suptitle(f"advcert train: n={inst['n']} d={inst['d']} m={m} "
                 f"γ={inst['gamma']} ε={inst['eps']} ρ={inst['rho']}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(out, buf.getvalue())


# ---------------------------------------------------------------------------------------
# the command line: advcert train
# ---------------------------------------------------------------------------------------


def add_arguments(parser) -> None:
    """The options of ``advcert train`` (Algorithm 1, Theorems 5.2 and 4.1) on an argparse parser."""

    def _int(name: str, lo: int):
        def parse(text: str) -> int:
            try:
                v = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
            if v < lo:
                raise argparse.ArgumentTypeError(f"{name} must be at least {lo}, got {v}")
            return v

        return parse

    parser.add_argument("--gamma", required=True, help="separability γ of Definition 3.4 (> 0)")
    parser.add_argument("--eps", required=True, help="target robust loss ε, in (0, 1)")
    parser.add_argument("--m", type=_int("--m", 1), required=True, help="width m of the network")
    parser.add_argument("--n", type=_int("--n", 2), default=10, help="number of synthetic points (default 10)")
    parser.add_argument("--d", type=_int("--d", 3), default=8, help="dimension of X ⊂ R^d (default 8)")
    parser.add_argument("--rho", default="0.05", help="perturbation radius ρ (default 0.05)")
    parser.add_argument("--seed", type=_int("--seed", 0), default=0,
                        help="root seed for numpy SeedSequence (default 0)")
    parser.add_argument("--R", default="1",
                        help="Theorem 5.2's radius R >= 1 (default 1): T = c_T R²/ε², R_train = R²/ε")
    parser.add_argument("--max-steps", type=_int("--max-steps", 0), default=1000,
                        help="step budget: T = min(c_T R²/ε², this) (default 1000)")
    parser.add_argument("--loss", choices=LOSSES, default="abs",
                        help="ℓ = |ŷ−y| (abs, default) or √((ŷ−y)²+τ²)−τ (smooth)")
    parser.add_argument("--tau", default="0.01", help="τ of the smooth loss (default 0.01)")
    parser.add_argument("--c-eta", default="1", help="η = c_η·ε·m^(-1/3) (default c_η = 1)")
    parser.add_argument("--c-T", default="1", help="T = c_T·R²/ε² (default c_T = 1)")
    parser.add_argument("--adversary", choices=ADVERSARIES, default="pgd",
                        help="training adversary: fused projected ascent (pgd, default) "
                             "or the APGD of advcert.measured.attacks (apgd)")
    parser.add_argument("--attack-steps", type=_int("--attack-steps", 0), default=10,
                        help="ascent steps of the training adversary (default 10)")
    parser.add_argument("--attack-restarts", type=_int("--attack-restarts", 0), default=0,
                        help="random starts in each cap besides the data point (default 0)")
    parser.add_argument("--checkpoints", type=_int("--checkpoints", 0), default=20,
                        help="checkpoints for the Theorem 5.1 gap and the CROWN bound (default 20)")
    parser.add_argument("--bound-seconds", default="10",
                        help="time budget of the branch-and-bound for the best iterate (default 10; the comparators "
                             "of Theorem 5.2 get half of it)")
    parser.add_argument("--out", help="certificate path (default "
                                      "advcert-train-gamma<G>-eps<E>-m<M>-n<N>-d<D>-seed<S>.json); "
                                      "the witness .npz and the .png go next to it")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or stage lines on stderr")


def _positive(text: str, name: str, *, lo=None, hi=None, strict_lo: bool = True) -> Fraction:
    v = parse_number(text, name)
    if lo is not None and (v <= lo if strict_lo else v < lo):
        raise InputError(f"{name} must be {'>' if strict_lo else '>='} {lo}, got {text}", f"pass a valid {name}")
    if hi is not None and v >= hi:
        raise InputError(f"{name} must be < {hi}, got {text}", f"pass a valid {name}")
    return v


def command(args) -> int:
    """``advcert train``: Algorithm 1 on a synthetic instance; certificate, witness and curves.

    Builds the certified chain for the same instance (advcert.build.build_certificate),
    runs Algorithm 1 from (a, W0, b) = advcert.measured.network.initialise(m, d, seed), appends the checks ``theorem-5.2`` and ``theorem-4.1``,
    stores W_best in an .npz witness whose SHA-256 is in ``objects.network``, re-seals and
    writes the certificate atomically, and draws the training curves from it. Exit 0 when
    every rigorous check holds, 1 otherwise. Ctrl-C during training keeps the best iterate.
    """
    eps = _positive(args.eps, "--eps", lo=0, hi=1)
    gamma = _positive(args.gamma, "--gamma", lo=0, hi=8)
    rho = _positive(args.rho, "--rho", lo=0)
    R = _positive(args.R, "--R", lo=1, strict_lo=False)
    tau = _positive(args.tau, "--tau", lo=0)
    c_eta = _positive(args.c_eta, "--c-eta", lo=0)
    c_T = _positive(args.c_T, "--c-T", lo=0)
    budget = _positive(args.bound_seconds, "--bound-seconds", lo=0)
    default = f"advcert-train-gamma{args.gamma}-eps{args.eps}-m{args.m}-n{args.n}-d{args.d}-seed{args.seed}.json"
    out = Path(args.out or default)
    folder = out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {out}: folder {folder} does not exist or is not writable",
                         "create it or pass another --out")
    npz = out.with_suffix(".npz")
    png = out.with_suffix(".png")
    quiet = bool(args.quiet)

    def say(msg: str) -> None:
        if not quiet:
            print(f"advcert: {msg}", file=sys.stderr, flush=True)

    inst = synthetic(args.n, args.d, rho, gamma, eps, args.seed)
    say("building the certified chain (Definition 3.4 to Lemma 6.2) ...")
    argv = getattr(args, "argv", None)
    doc = build_certificate(gamma, eps, args.n, args.d, rho, args.seed, argv=argv, quiet=quiet, instance=inst)
    net = initialise(args.m, args.d, args.seed)
    a, W0, b = net.a, net.W0, net.b
    cfg = TrainConfig(eps=eps, R=R, c_eta=c_eta, c_T=c_T, max_steps=args.max_steps,
                      loss=args.loss, tau=float(tau), attack_steps=args.attack_steps,
                      attack_restarts=args.attack_restarts, adversary=args.adversary, checkpoints=args.checkpoints)
    sch = schedule(cfg.eps, args.m, cfg.R, c_eta=cfg.c_eta, c_T=cfg.c_T, max_steps=cfg.max_steps)
    say(f"Algorithm 1: m={args.m}, eta={sch.eta:.4g}, T={sch.T} (theorem: {sch.T_theorem:.4g}), "
        f"R_train={sch.R_train:.4g}")
    if quiet:
        result = train(net, inst.points, inst.labels, float(rho), cfg, seed=args.seed)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True)) as bar:
            task = bar.add_task("Algorithm 1", total=sch.T)

            def progress(st: StepStats) -> None:
                bar.update(task, completed=st.t,
                           description=f"L_A {st.L_A:.4f} (best {st.best:.4f})  drift {st.drift:.3g}/{sch.R_train:.3g}")

            result = train(net, inst.points, inst.labels, float(rho), cfg, seed=args.seed, callback=progress)
    if result.interrupted:
        say(f"interrupted after {result.steps_done} steps: keeping the best iterate (t = {result.t_best})")
    sha = save_witness(npz, a, W0, b, result.W_best)
    witness = {"file": npz.name, "sha256": sha, "arrays": ["a", "W0", "b", "W"], "network": "f_W with W = W_best"}
    say("bounding the robust loss of the best iterate and of the Theorem 5.2 comparators ...")
    c52 = theorem_5_2_check(result, net, inst.points, inst.labels, rho, eps, seed=args.seed,
                            effort=Effort(time_budget=float(budget) / 2))
    c41 = theorem_4_1_check(result, net, inst.points, inst.labels, rho, eps, seed=args.seed, witness=witness,
                            effort=Effort(float(budget), 8, 100))
    doc = dict(doc)
    doc["objects"] = dict(doc["objects"], network={"path": npz.name, "m": args.m, "sha256": sha,
                                                   "arrays": ["a", "W0", "b", "W"], "t_best": result.t_best,
                                                   "description": "the initialisation (a, W0, b) and W = W(t_best), "
                                                                  "the best iterate of Algorithm 1"})
    doc["checks"] = list(doc["checks"]) + [c52, c41]
    doc.pop("sha256", None)
    doc = certificate.seal(doc)
    certificate.write_atomic(out, certificate.dumps(doc))
    plot_training(doc, str(png))
    bad = [c["id"] for c in doc["checks"] if c["label"] != "estimate" and c["verdict"] != "holds"]
    print(f"advcert: wrote {out}, {npz.name}, {png.name}; theorem-4.1: {c41['verdict']} ({c41['label']}, "
          f"min_t L_A = {result.min_L_A:.4g} at t = {result.t_best}); theorem-5.2: {c52['verdict']}; "
          f"rigorous: {'all hold' if not bad else 'FAILING: ' + ', '.join(bad)}")
    return 0 if not bad else 1
