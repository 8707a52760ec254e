"""The certified plane, link by link: Definition 3.4 → Lemma 6.4 → Claim 6.3 → Lemma 6.2.

Exact rationals and Arb balls at full paper scale; nothing here loads numba or the measured
plane, so ``advcert build --certified-only`` stays light. :func:`certified_chain` builds and
certifies the objects of one instance; :func:`document` assembles a sealed certificate from
them and whatever the measured plane adds (docs/certificate.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction

from advcert import certificate, seeds, theory
from advcert.adversary import projected_ascent
from advcert.checks import certified as records
from advcert.checks import constant
from advcert.config import BuildConfig, to_json
from advcert.data.instance import Instance, certify_separation, synthetic
from advcert.errors import InputError
from advcert.poly import certify
from advcert.poly.lp import LPOptions, lp_step_polynomial
from advcert.poly.minimax import minimax_sign_polynomial, minimax_step
from advcert.poly.interpolant import RobustInterpolant, lemma62_bound, lemma62_intervals
from advcert.poly.sgn import SignPolynomial, chebyshev_y, sign_polynomial
from advcert.poly.step import StepPolynomial, claim63_alpha, step_polynomial
from advcert.progress import Stages
from advcert.rational import log2, to_str


@dataclass(frozen=True, eq=False)
class Chain:
    """The certified objects of one instance and their check records, in chain order."""

    instance: Instance
    p1: SignPolynomial | None  # None on the LP route, which does not use Lemma 6.4's object
    q: StepPolynomial
    eps1: Fraction
    eta: Fraction
    alpha: Fraction
    checks: tuple[dict, ...]
    constants: dict
    route: str = "paper"


@dataclass(frozen=True, eq=False)
class Built:
    """A sealed certificate and the bytes of the network witness it names (or None)."""

    doc: dict
    witness: bytes | None = None


def estimate_degree(gamma: Fraction, eps: Fraction, n: int) -> int:
    """The degree Lemma 6.4's construction will need (its closed-form sufficient orders, math-spec §2)."""
    eta, eps1 = float(gamma) / 8, float(eps) / (3 * n)
    if not (eta > 0 and eps1 > 0):  # below binary64's range: far beyond any degree a machine builds
        return 10**18
    k = math.log(2 / (eta * eps1)) / eta**2
    s_k = 2 * math.sqrt(k / math.pi) + 1
    d = math.sqrt(2 * k * math.log(4 * s_k / eps1))
    return int(2 * d + 1)


def instance_for(config: BuildConfig) -> Instance:
    """The synthetic instance a config describes (Definition 3.4; real data comes from advcert.data)."""
    if config.gamma is None:
        raise InputError("gamma is required for synthetic data", "pass for example gamma='0.5'")
    return synthetic(config.n, config.d, config.rho, config.gamma, config.eps, config.seed)


#: how the step polynomial q of Claim 6.3 is built (``--poly``)
POLY_ROUTES = ("paper", "minimax", "lp")

#: the certificate's exact numbers are decimal strings; Python (and the verifier) refuse to read
#: integers of more digits than this (sys.get_int_max_str_digits), so a build that needs more is refused
MAX_DIGITS = 4000


def _short(x: Fraction) -> str:
    """A short decimal for messages, also for rationals below binary64's range."""
    f = float(x)
    return f"{f:g}" if f != 0 or x == 0 else f"2^{log2(abs(x)):.0f}"


def _refuse_costly(inst: Instance, max_degree: int) -> None:
    """Refuse, before any work, a build whose degree or exact coefficients are beyond reach (Claim 6.3)."""
    est = estimate_degree(inst.gamma, inst.eps, inst.n)
    if est > max_degree:
        raise InputError(
            f"γ={_short(inst.gamma)}, ε={_short(inst.eps)} need a sign polynomial of degree about "
            f"{est if est < 10**18 else 'infinity (below binary64)'}, "
            f"above the limit {max_degree}",
            "raise --gamma or --eps, or pass --max-degree to allow it (the build and its certification grow like degree^3)",
        )
    alpha = claim63_alpha(inst.rho, inst.gamma / 8)
    digits = est * math.log10(alpha.denominator) if alpha.denominator > 1 else 0
    if digits > MAX_DIGITS:
        raise InputError(
            f"q(z) = (p1((z − α)/2) + 1)/2 would have exact coefficients of about {digits:.0f} digits: α = 1 − ρ²/2 − γ/4 "
            f"has a {len(str(alpha.denominator))}-digit denominator, raised to the degree (about {est})",
            "pass --rho and --gamma with fewer significant digits (for example --rho 0.0123)")


def certified_chain(inst: Instance, config: BuildConfig, stages: Stages) -> Chain:
    """Build and certify Definition 3.4 → Lemma 6.2 for ``inst`` (the certified plane).

    ``config.poly`` picks the step polynomial: ``paper`` (Lemma 6.4's construction composed as in
    Claim 6.3), ``minimax`` (the minimax sign polynomial, composed the same way) or ``lp`` (q of
    least Lemma 6.6 cost found directly; Lemma 6.4's object is then not used). Every route ends in
    the same exact certification of Claim 6.3's conclusions on the instance's intervals.
    """
    if config.poly not in POLY_ROUTES:
        raise InputError(f"unknown --poly {config.poly!r}", f"use one of {', '.join(POLY_ROUTES)}")
    _refuse_costly(inst, config.max_degree if config.poly == "paper" else max(config.max_degree, 1))
    checks: list[dict] = []
    with stages.stage("Definition 3.4: instance and separability"):
        t0 = time.perf_counter()
        sep = certify_separation(inst.points, inst.rho, inst.gamma)
        checks += records.definition_3_4(sep, inst.gamma, time.perf_counter() - t0)
        if not sep.holds:
            raise InputError(
                f"the data are not γ-separable: δ(δ−2ρ) ≈ {float(sep.gamma_max_lo):.6g} < γ = {float(inst.gamma):g}",
                "lower --gamma or --rho (or drop close points)")
    eps1, eta = inst.eps / (3 * inst.n), inst.gamma / 8
    alpha = claim63_alpha(inst.rho, eta)
    iv = lemma62_intervals(sep, inst.rho)
    if config.poly == "lp":
        p1 = None
        with stages.stage("Claim 6.3: step polynomial q of least Lemma 6.6 cost (LP), certified"):
            r = lp_step_polynomial(iv.inside, iv.outside, eps1, LPOptions(c=config.complexity_c))
            q, enc_in, enc_out = r.step, r.enc_in, r.enc_out
            checks += records.claim_6_3_conclusions(
                q, iv, enc_in, enc_out, eps1,
                "; q from a linear program of least Lemma 6.6 cost (Lemma 6.4's p1 is not used)")
            checks.append(_claim_6_3_degree(inst, q.degree))
        constants = _lp_constants(r)
    else:
        with stages.stage(f"Lemma 6.4: sign polynomial p1 ({config.poly})"):
            t0 = time.perf_counter()
            if config.poly == "paper":
                p1 = sign_polynomial(eta, eps1)
                enc, extra = certify.sup_abs_error(p1.poly, 1, eta, 1), {}
            else:
                ms = minimax_sign_polynomial(eta, eps1)
                p1, enc = ms.sign, ms.enclosure
                extra = {"route": "minimax", "levelled_error": float(ms.remez.levelled),
                         "eremenko_yuditskii_degree": ms.ey_degree, "remez_runs": [list(r) for r in ms.searched]}
            checks += records.lemma_6_4(p1, enc, eta, eps1, time.perf_counter() - t0, extra=extra)
            t0 = time.perf_counter()
            checks.append(records.lemma_6_4_degree(p1.degree, theory.degree_lemma64_enclosure(eta, eps1), eta, eps1,
                                                   time.perf_counter() - t0))
        with stages.stage("Claim 6.3: step polynomial q"):
            t0 = time.perf_counter()
            q = step_polynomial(p1, alpha) if config.poly == "paper" else minimax_step(ms, alpha)
            t_q = time.perf_counter() - t0
            enc_in = certify.sup_abs_error(q.poly, 1, *iv.inside)
            enc_out = certify.sup_abs_error(q.poly, 0, *iv.outside)
            paper_q = theory.q_coefficient_bound(p1.degree, alpha)
            checks += records.claim_6_3(q, paper_q, iv, enc_in, enc_out, eps1, t_q)
            checks.append(_claim_6_3_degree(inst, q.degree))
        constants = _constants(inst, p1, q, eta, eps1, paper_q)
    with stages.stage("Lemma 6.2: robust interpolant f*"):
        t0 = time.perf_counter()
        e_in, e_out = records.enclosed(enc_in)[1], records.enclosed(enc_out)[1]
        bound, per = lemma62_bound(inst.labels, e_in, e_out)
        checks.append(records.lemma_6_2(inst.eps, bound, per, time.perf_counter() - t0))
        t0 = time.perf_counter()
        fstar = RobustInterpolant(inst.points, inst.labels, q)
        res = projected_ascent(fstar.loss_objective(), inst.points, float(inst.rho),
                               seed=[int(v) for v in seeds.seed_sequence(inst.seed, "attack").generate_state(4)],
                               restarts=config.attack_restarts, steps=config.attack_steps)
        checks.append(records.lemma_6_2_attack(inst.eps, bound, res, time.perf_counter() - t0))
    return Chain(instance=inst, p1=p1, q=q, eps1=eps1, eta=eta, alpha=alpha, checks=tuple(checks),
                 constants=constants, route=config.poly)


def _claim_6_3_degree(inst: Instance, degree: int) -> dict:
    """claim-6.3/degree on every route: the paper's (24/γ) ln(48n/ε) against the degree of the q built."""
    t0 = time.perf_counter()
    enc = theory.degree_claim63_enclosure(inst.gamma, inst.eps, inst.n)
    return records.claim_6_3_degree(degree, enc, inst.gamma, inst.eps, inst.n, time.perf_counter() - t0)


def _lp_constants(r) -> dict:
    """The step polynomial's constants on the LP route (Claim 6.3's q found directly; no p1)."""
    return {
        "D_used": constant(str(r.degree), "exact", "degree of q as built (LP route: no p1)"),
        "log2_max_coef_q": constant(round(r.log2_max_coefficient, 3), "estimate", "log2 max_j |q_j|"),
        "lp_log2_C_q": constant(round(r.log2_complexity, 3), "estimate",
                                "log2 C(q) of the stored q (Lemma 6.6's cost that the LP minimises)"),
    }


def _constants(inst: Instance, p1, q, eta: Fraction, eps1: Fraction, paper_q: Fraction) -> dict:
    """The degree and coefficient constants of Lemma 6.4 and Claim 6.3, beside what was built."""
    max_coef = max(abs(c) for c in records.p1_coefficients(p1))
    max_q = max(abs(c) for c in q.coefficients)
    return {
        "D_used": constant(str(p1.degree), "exact", "degree of p1 and q as built (2·cheb_d + 1)"),
        "D_paper_claim63": constant(round(theory.degree_claim63(inst.gamma, inst.eps, inst.n), 3), "estimate",
                                    "(24/γ)·ln(48n/ε), Claim 6.3 / Lemma 6.2", "D_claim63"),
        "D_paper_lemma64": constant(round(theory.degree_lemma64(eta, eps1), 3), "estimate",
                                    "(3/η)·ln(2/(η·ε1)), the reconstructed Lemma 6.4 reading", "D_lemma64"),
        "D_opt": constant(theory.degree_optimal(eta, eps1), "estimate",
                          "least degree with Eremenko–Yuditskii asymptotic error ≤ ε1 on [η,1]"),
        "log2_max_coef_p1": constant(round(log2(max_coef), 3), "estimate", "log2 max_j |α_j|"),
        "log2_coef_bound_p1": constant(str(4 * p1.degree), "exact", "the paper's 2^{4D} at D_used"),
        "log2_max_coef_q": constant(round(log2(max_q), 3), "estimate", "log2 max_j |q_j|"),
        "log2_coef_bound_q": constant(round(log2(paper_q), 3), "estimate", "log2 of 2^{6D−1}/(1−α) + 1/2 at D_used",
                                      "q_coef_bound"),
    }


def document(chain: Chain, config, argv: list[str] | None, *, checks: list[dict] = (), constants: dict | None = None,
             network: dict | None = None) -> dict:
    """The sealed certificate of ``chain`` plus the measured plane's ``checks``, ``constants`` and
    ``objects.network`` (docs/certificate.md); ``config`` is recorded as ``producer.config``."""
    inst, p1, q = chain.instance, chain.p1, chain.q
    producer = certificate.producer(argv)
    objects: dict = {"q": {"degree": q.degree, "coefficients": [to_str(c) for c in q.coefficients]}}
    parameters = {"eps1": to_str(chain.eps1), "eta": to_str(chain.eta), "route": chain.route}
    if p1 is not None:
        objects["p1"] = {"degree": p1.degree, "coefficients": [to_str(c) for c in records.p1_coefficients(p1)],
                         "chebyshev_y": [to_str(v) for v in chebyshev_y(p1.poly)]}
        objects["q"]["alpha"] = to_str(chain.alpha)
        parameters.update(alpha=to_str(chain.alpha), taylor_k=p1.taylor_k, cheb_d=p1.cheb_d)
    if chain.route != "lp":
        # format 1 as before: a sign polynomial composed as in Claim 6.3 (the route is in
        # producer.config and lemma-6.4's details); only a q without p1 changes the objects
        del parameters["route"]
    producer["config"] = to_json(config)
    doc = {
        "format": certificate.FORMAT,
        "version": certificate.VERSION,
        "created": certificate.now(),
        "producer": producer,
        "instance": {
            "n": inst.n, "d": inst.d,
            "rho": to_str(inst.rho), "gamma": to_str(inst.gamma), "eps": to_str(inst.eps),
            "seed": inst.seed, "entropy": seeds.entropy(inst.seed),
            "source": inst.source,
            "points": inst.points.tolist(),
            "labels": inst.labels.tolist(),
        },
        "parameters": parameters,
        "objects": objects,
        "constants": {**chain.constants, **(constants or {})},
        "checks": list(chain.checks) + list(checks),
    }
    if network is not None:
        doc["objects"]["network"] = network
    return certificate.seal(doc)


def build_certificate(config: BuildConfig, *, instance: Instance | None = None, argv: list[str] | None = None,
                      quiet: bool = True) -> Built:
    """The certified plane only (Definition 3.4 to Lemma 6.2) as a sealed certificate, no witness.

    About a second at the headline. ``instance`` overrides the synthetic set of ``config``
    (real data: :func:`advcert.data.instance_from_data`)."""
    inst = instance if instance is not None else instance_for(config)
    chain = certified_chain(inst, config, Stages(total=4, quiet=quiet))
    return Built(doc=document(chain, config, argv))
