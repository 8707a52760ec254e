"""``advcert build``: every link of the proof that has an explicit object, in chain order.

Definition 3.4 (separability) → Lemma 6.4 (p1) → Claim 6.3 (q) → Lemma 6.2 (f*),
each checked and written as a check of the certificate (docs/certificate.md).
"""

from __future__ import annotations

import hashlib
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator

import numpy as np

from advcert import certificate, seeds, theory
from advcert.adversary import projected_ascent
from advcert.errors import InputError
from advcert.instance import Instance, certify_separation, synthetic
from advcert.poly import certify
from advcert.poly.interpolant import RobustInterpolant, lemma62_bound, lemma62_intervals
from advcert.poly.sgn import chebyshev_y, sign_polynomial
from advcert.poly.step import claim63_alpha, paper_coefficient_bound, step_polynomial
from advcert.rational import log2, to_str

TAU_LIMIT = Fraction(1, 1 << 40)
# Beyond this the exact build (cost ~ k^2, k ~ D^2) and the certification (~ D^3) take minutes;
# the user must ask for it explicitly with --max-degree.
MAX_DEGREE = 1001


@dataclass(frozen=True)
class BuildConfig:
    """What the user asked for (exact numbers from their decimal strings)."""

    gamma: Fraction
    eps: Fraction
    n: int = 10
    d: int = 8
    rho: Fraction = Fraction(1, 20)
    seed: int = 0
    attack_restarts: int = 8
    attack_steps: int = 60
    max_degree: int = MAX_DEGREE
    measured: bool = True  # the measured plane: random features, W*, Theorems 5.1 and 5.3
    m: int | None = None  # width of the measured plane (None: measured.coupling.default_width)
    sandwich_budget: float = 5.0  # seconds of branch and bound for theorem-5.3


@dataclass(frozen=True, eq=False)
class BuildResult:
    """A sealed certificate and the network witness it names (bytes, or None)."""

    doc: dict
    witness: bytes | None = None


class Progress:
    """Stage lines on stderr (``quiet`` silences them)."""

    def __init__(self, total: int, quiet: bool = False, stream=None):
        self.total, self.quiet, self.count = total, quiet, 0
        self.stream = stream if stream is not None else sys.stderr

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.count += 1
        t0 = time.perf_counter()
        if not self.quiet:
            print(f"advcert: [{self.count}/{self.total}] {name} ...", file=self.stream, flush=True)
        yield
        if not self.quiet:
            print(f"advcert: [{self.count}/{self.total}] {name}: {time.perf_counter() - t0:.2f} s", file=self.stream, flush=True)


def check(id: str, claim: str, relation: str, bound, value, label: str, method: str, seconds: float,
          details: dict | None = None, enclosure: tuple[Fraction, Fraction] | None = None,
          verdict: str | None = None) -> dict:
    """One certificate check; rigorous verdicts are computed here from exact values."""
    if label in ("exact", "enclosure", "sound-bound"):
        ok = Fraction(value) <= Fraction(bound) if relation == "<=" else Fraction(value) >= Fraction(bound)
        verdict = "holds" if ok else "fails"
        bound, value = to_str(Fraction(bound)), to_str(Fraction(value))
    elif verdict is None:
        raise ValueError("an estimate needs an explicit verdict")
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


def _enclosed(enc: certify.SupEnclosure) -> tuple[Fraction, Fraction, Fraction]:
    """Short outward-rounded (lo, hi) and the witness, so certificates stay readable."""
    return certify.round_down(enc.lo, 10), certify.round_up(enc.hi, 10), enc.witness


def _theorem53_at_width(check: dict, constants: dict, m: int) -> dict:
    """Theorem 5.3 promises nothing below its width M0: an estimate that misses ε there is
    ``infeasible`` (the width is stated), not ``violated``."""
    need = constants.get("log10_m_required", {}).get("value")
    if check["label"] == "estimate" and check["verdict"] == "violated" and need is not None and need > math.log10(m):
        check = dict(check, verdict="infeasible")
        check["details"] = dict(check["details"], log10_width_required=need, log10_width_run=round(math.log10(m), 3),
                                reason="the theorem needs m >= M0 (log10 M0 in log10_width_required); "
                                       "at the width that ran it makes no claim, and W* is far from a robust fit")
    return check


def estimate_degree(gamma: Fraction, eps: Fraction, n: int) -> int:
    """The degree Lemma 6.4's construction will need (closed-form sufficient values, §2)."""
    eta, eps1 = float(gamma) / 8, float(eps) / (3 * n)
    k = math.log(2 / (eta * eps1)) / eta**2
    s_k = 2 * math.sqrt(k / math.pi) + 1
    d = math.sqrt(2 * k * math.log(4 * s_k / eps1))
    return int(2 * d + 1)


import math  # noqa: E402  (kept next to its only user above for readability)


def build_certificate(gamma, eps, n: int = 10, d: int = 8, rho=Fraction(1, 20), seed: int = 0,
                      argv: list[str] | None = None, *, quiet: bool = True, instance: Instance | None = None,
                      config: BuildConfig | None = None) -> dict:
    """The certified plane only (Definition 3.4 to Lemma 6.2), as a sealed document.

    Quick (about a second at the headline); :func:`build` runs the measured plane too."""
    cfg = config or BuildConfig(gamma=Fraction(gamma), eps=Fraction(eps), n=n, d=d, rho=Fraction(rho), seed=seed,
                                measured=False)
    return build(cfg, argv=argv, quiet=quiet, instance=instance).doc


def build(cfg: BuildConfig, *, argv: list[str] | None = None, quiet: bool = True, instance: Instance | None = None,
          witness_name: str = "network.npz") -> BuildResult:
    """Build and check every link of the chain that ``cfg`` asks for.

    ``witness_name`` is the file name (relative to the certificate's folder) under which the
    caller will store ``BuildResult.witness``; it is recorded with its SHA-256."""
    est = estimate_degree(cfg.gamma, cfg.eps, cfg.n if instance is None else instance.n)
    if est > cfg.max_degree:
        raise InputError(
            f"γ={float(cfg.gamma):g}, ε={float(cfg.eps):g} need a sign polynomial of degree about {est}, "
            f"above the limit {cfg.max_degree}",
            "raise --gamma or --eps, or pass --max-degree to allow it (the build and its certification grow like degree^3)",
        )
    progress = Progress(total=7 if cfg.measured else 5, quiet=quiet)
    checks: list[dict] = []

    with progress.stage("Definition 3.4: instance and separability"):
        t0 = time.perf_counter()
        inst = instance or synthetic(cfg.n, cfg.d, cfg.rho, cfg.gamma, cfg.eps, cfg.seed)
        sep = certify_separation(inst.points, inst.rho, inst.gamma)
        dt = time.perf_counter() - t0
        tau = max(sep.tau_plus, sep.tau_minus)
        checks.append(check(
            "definition-3.4/on-X",
            "every stored point has x_d = 1/2 exactly and |‖x_i‖² − 1| ≤ 2^-40 (the rounding τ is carried into Lemma 6.2)",
            "<=", TAU_LIMIT if sep.last_coordinate_exact else Fraction(-1), tau, "exact",
            "exact rational arithmetic on the binary64 points", dt,
            details={"tau_plus": to_str(sep.tau_plus), "tau_minus": to_str(sep.tau_minus),
                     "last_coordinate_exact": sep.last_coordinate_exact}))
        checks.append(check(
            "definition-3.4",
            "the set is γ-separable at ρ: min_{i≠j} ‖x_i − x_j‖ = δ and γ ≤ δ(δ − 2ρ)",
            ">=", inst.gamma, sep.gamma_max_lo, "enclosure",
            "exact min of squared distances (float ranking, exact re-check); δ by integer square root", dt,
            details={"delta_sq": to_str(sep.delta_sq), "pair": list(sep.pair),
                     "delta": {"lo": to_str(sep.delta_lo), "hi": to_str(sep.delta_hi)},
                     "decided_exactly": sep.holds},
            enclosure=(sep.gamma_max_lo, sep.gamma_max_hi)))
        if not sep.holds:
            raise InputError(
                f"the data are not γ-separable: δ(δ−2ρ) ≈ {float(sep.gamma_max_lo):.6g} < γ = {float(inst.gamma):g}",
                "lower --gamma or --rho (or drop close points)")

    eps1 = inst.eps / (3 * inst.n)
    eta = inst.gamma / 8
    alpha = claim63_alpha(inst.rho, eta)

    with progress.stage("Lemma 6.4: sign polynomial p1"):
        t0 = time.perf_counter()
        p1 = sign_polynomial(eta, eps1)
        t_build = time.perf_counter() - t0
        coeffs = [Fraction(int(c.p), int(c.q)) for c in p1.poly.coeffs()]
        even_nonzero = sum(1 for j, c in enumerate(coeffs) if j % 2 == 0 and c != 0)
        checks.append(check("lemma-6.4/odd", "p1 is odd: it has no non-zero even coefficient, so [−1, −η] follows from [η, 1]",
                            "<=", 0, even_nonzero, "exact", "exact coefficient inspection", 0.0))
        max_coef = max(abs(c) for c in coeffs)
        checks.append(check("lemma-6.4/coefficients", "max_j |α_j| ≤ 2^{4D} with D the degree of p1",
                            "<=", Fraction(2) ** (4 * p1.degree), max_coef, "exact", "exact comparison", 0.0,
                            details={"log2_value": round(log2(max_coef), 3), "log2_bound": 4 * p1.degree}))
        enc = certify.sup_abs_error(p1.poly, 1, eta, 1)
        lo, hi, wit = _enclosed(enc)
        checks.append(check(
            "lemma-6.4", "sup_{x∈[η,1]} |p1(x) − 1| ≤ ε1 = ε/(3n)", "<=", eps1, hi, "enclosure",
            f"Arb-ball branch and bound on Taylor-shifted forms ({enc.pieces} pieces, {enc.precision} bits)",
            t_build + enc.seconds,
            details={"interval": [to_str(eta), "1"], "witness": to_str(wit),
                     "a_priori": {"taylor": to_str(certify.round_up(p1.err_taylor, 10)),
                                  "compression": to_str(certify.round_up(p1.err_compress, 10)),
                                  "rounding": to_str(p1.rounding)},
                     "build_seconds": round(t_build, 4)},
            enclosure=(lo, hi)))

    with progress.stage("Claim 6.3: step polynomial q"):
        t0 = time.perf_counter()
        q = step_polynomial(p1, alpha)
        t_q = time.perf_counter() - t0
        checks.append(check("claim-6.3/definition", "q(z) = (p1((z − α)/2) + 1)/2 coefficient by coefficient",
                            "<=", 0, 0, "exact", "exact composition in fmpq_poly", t_q))
        q_coeffs = q.coefficients
        max_q = max(abs(c) for c in q_coeffs)
        paper_q = paper_coefficient_bound(p1.degree, alpha)
        checks.append(check("claim-6.3/coefficients", "max_j |q_j| ≤ 2^{6D−1}/(1−α) + 1/2 (the paper's bound, D = deg p1)",
                            "<=", paper_q, max_q, "exact", "exact comparison", 0.0,
                            details={"log2_value": round(log2(max_q), 3), "log2_bound": round(log2(paper_q), 3)}))
        iv = lemma62_intervals(sep, inst.rho)
        enc_in = certify.sup_abs_error(q.poly, 1, *iv.inside)
        lo_in, e_in, w_in = _enclosed(enc_in)
        checks.append(check(
            "claim-6.3/in", "sup_{z∈I_in} |q(z) − 1| ≤ ε1, I_in = [1 − ρ²/2 − τ⁻/2, 1 + τ⁺/2]", "<=", eps1, e_in,
            "enclosure", f"Arb-ball branch and bound ({enc_in.pieces} pieces)", enc_in.seconds,
            details={"interval": [to_str(iv.inside[0]), to_str(iv.inside[1])], "witness": to_str(w_in)},
            enclosure=(lo_in, e_in)))
        enc_out = certify.sup_abs_error(q.poly, 0, *iv.outside)
        lo_out, e_out, w_out = _enclosed(enc_out)
        checks.append(check(
            "claim-6.3/out", "sup_{z∈I_out} |q(z)| ≤ ε1, I_out = [−1 − τ⁺/2, 1 − (δ_lo − ρ)²/2 + τ⁺/2]", "<=", eps1, e_out,
            "enclosure", f"Arb-ball branch and bound ({enc_out.pieces} pieces)", enc_out.seconds,
            details={"interval": [to_str(iv.outside[0]), to_str(iv.outside[1])], "witness": to_str(w_out),
                     "delta_lo": to_str(iv.delta_lo)},
            enclosure=(lo_out, e_out)))

    with progress.stage("Lemma 6.2: robust interpolant f*"):
        t0 = time.perf_counter()
        bound, per = lemma62_bound(inst.labels, e_in, e_out)
        checks.append(check(
            "lemma-6.2", "sup_j sup_{x̃∈B2(x_j,ρ)∩X} |f*(x̃) − y_j| ≤ ε/3, via max_j (|y_j| e_in + Σ_{i≠j} |y_i| e_out)",
            "<=", inst.eps / 3, bound, "sound-bound",
            "exact arithmetic on the certified upper ends e_in, e_out of claim-6.3/in and /out", time.perf_counter() - t0,
            details={"per_point": [to_str(v) for v in per]}))
        t0 = time.perf_counter()
        fstar = RobustInterpolant(inst.points, inst.labels, q)
        res = projected_ascent(fstar.loss_objective(), inst.points, float(inst.rho),
                               seed=[int(v) for v in seeds.seed_sequence(inst.seed, "attack").generate_state(4)],
                               restarts=cfg.attack_restarts, steps=cfg.attack_steps)
        attack_max = float(np.max(res.values))
        sound = float(bound)
        verdict = "observed" if attack_max <= float(inst.eps) / 3 else "violated"
        checks.append(check(
            "lemma-6.2/attack",
            "best projected-ascent value of |f*(x̃) − y_j| over the caps (a lower bound of the sup; must not exceed lemma-6.2's value)",
            "<=", float(inst.eps) / 3, attack_max, "estimate",
            f"APGD-style projected ascent, {res.restarts} restarts + centre, {res.steps} steps, float64 Chebyshev form of q",
            time.perf_counter() - t0, verdict=verdict,
            details={"restarts": res.restarts, "steps": res.steps, "per_point": [float(v) for v in res.values],
                     "sound_bound": sound, "within_sound_bound": attack_max <= sound}))

    measured_constants: dict = {}
    network_obj = None
    witness = None
    if cfg.measured:
        from advcert._remnant_bounds import theorem_5_3_check
        from advcert.certificate import network_witness
        from advcert._remnant_randomfeatures import random_feature_checks

        with progress.stage("Lemmas 6.6, 6.5 and Theorem 5.1: random features and W* near initialisation"):
            rf = random_feature_checks(inst.points, inst.labels, inst.eps, q, m=cfg.m, seed=inst.seed)
            checks.extend(rf.checks)
            measured_constants = rf.constants
            pseudo = rf.pseudo
            witness = network_witness(pseudo.net.a, pseudo.net.W0, pseudo.net.b, pseudo.W)
            network_obj = {"path": witness_name, "sha256": hashlib.sha256(witness).hexdigest(), "m": int(pseudo.net.m),
                           "arrays": ["a", "W0", "b", "W"],
                           "description": "the initialisation (a, W0, b) and W = W* of Lemma 6.5, float64, rows W_r"}
        with progress.stage("Theorem 5.3: robust loss of f_W* between attack and sound bound"):
            t53 = theorem_5_3_check(
                pseudo.net.a, pseudo.W, pseudo.net.b, inst.points, inst.labels, inst.rho, inst.eps,
                seed=seeds.seed_sequence(inst.seed, "attack"), time_budget=cfg.sandwich_budget)
            checks.append(_theorem53_at_width(t53, measured_constants, int(pseudo.net.m)))

    with progress.stage("theory constants"):
        constants = {
            "D_used": {"value": str(p1.degree), "label": "exact", "note": "degree of p1 and q as built (2·cheb_d + 1)"},
            "D_paper_claim63": {"value": round(theory.degree_claim63(inst.gamma, inst.eps, inst.n), 3), "label": "estimate",
                                "note": "(24/γ)·ln(48n/ε), Claim 6.3 / Lemma 6.2"},
            "D_paper_lemma64": {"value": round(theory.degree_lemma64(eta, eps1), 3), "label": "estimate",
                                "note": "(3/η)·ln(2/(η·ε1)), the reconstructed Lemma 6.4 reading"},
            "D_opt": {"value": theory.degree_optimal(eta, eps1), "label": "estimate",
                      "note": "least degree with Eremenko–Yuditskii asymptotic error ≤ ε1 on [η,1]"},
            "log2_max_coef_p1": {"value": round(log2(max_coef), 3), "label": "estimate", "note": "log2 max_j |α_j|"},
            "log2_coef_bound_p1": {"value": str(4 * p1.degree), "label": "exact", "note": "the paper's 2^{4D} at D_used"},
            "log2_max_coef_q": {"value": round(log2(max_q), 3), "label": "estimate", "note": "log2 max_j |q_j|"},
            "log2_coef_bound_q": {"value": round(log2(paper_q), 3), "label": "estimate",
                                  "note": "log2 of 2^{6D−1}/(1−α) + 1/2 at D_used"},
        }

    doc = {
        "format": certificate.FORMAT,
        "version": certificate.VERSION,
        "created": certificate.now(),
        "producer": certificate.producer(argv),
        "instance": {
            "n": inst.n, "d": inst.d,
            "rho": to_str(inst.rho), "gamma": to_str(inst.gamma), "eps": to_str(inst.eps),
            "seed": inst.seed, "entropy": seeds.entropy(inst.seed),
            "source": inst.source,
            "points": inst.points.tolist(),
            "labels": inst.labels.tolist(),
        },
        "parameters": {"eps1": to_str(eps1), "eta": to_str(eta), "alpha": to_str(alpha),
                       "taylor_k": p1.taylor_k, "cheb_d": p1.cheb_d},
        "objects": {
            "p1": {"degree": p1.degree, "coefficients": [to_str(c) for c in coeffs],
                   "chebyshev_y": [to_str(v) for v in chebyshev_y(p1.poly)]},
            "q": {"degree": q.degree, "alpha": to_str(alpha), "coefficients": [to_str(c) for c in q_coeffs]},
        },
        "constants": {**constants, **measured_constants},
        "checks": checks,
    }
    if network_obj is not None:
        doc["objects"]["network"] = network_obj
    return BuildResult(doc=certificate.seal(doc), witness=witness)
