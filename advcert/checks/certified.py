"""Records of the certified plane: Definition 3.4, Lemma 6.4, Claim 6.3 and Lemma 6.2.

Each function turns objects that were already built and certified (a :class:`Separation`, a
:class:`SignPolynomial` with its sup-norm enclosure, ...) into the checks of docs/certificate.md,
in chain order. No arithmetic of the proof happens here beyond exact comparisons.
"""

from __future__ import annotations

from fractions import Fraction

from advcert.checks import check
from advcert.poly import certify
from advcert.rational import log2, to_str

#: the largest rounding |‖x_i‖² − 1| of a stored point that Lemma 6.2's intervals absorb
TAU_LIMIT = Fraction(1, 1 << 40)


def enclosed(enc: certify.SupEnclosure) -> tuple[Fraction, Fraction, Fraction]:
    """Short outward-rounded (lo, hi) and the witness of a sup enclosure, for readable records."""
    return certify.round_down(enc.lo, 10), certify.round_up(enc.hi, 10), enc.witness


def definition_3_4(sep, gamma: Fraction, seconds: float) -> list[dict]:
    """``definition-3.4/on-X`` and ``definition-3.4`` (γ-separability at ρ, Definition 3.4)."""
    tau = max(sep.tau_plus, sep.tau_minus)
    return [
        check("definition-3.4/on-X",
              "every stored point has x_d = 1/2 exactly and |‖x_i‖² − 1| ≤ 2^-40 (the rounding τ is carried into Lemma 6.2)",
              "<=", TAU_LIMIT if sep.last_coordinate_exact else Fraction(-1), tau, "exact",
              "exact rational arithmetic on the binary64 points", seconds,
              details={"tau_plus": to_str(sep.tau_plus), "tau_minus": to_str(sep.tau_minus),
                       "last_coordinate_exact": sep.last_coordinate_exact}),
        check("definition-3.4", "the set is γ-separable at ρ: min_{i≠j} ‖x_i − x_j‖ = δ and γ ≤ δ(δ − 2ρ)",
              ">=", gamma, (sep.gamma_max_lo, sep.gamma_max_hi), "enclosure",
              "exact min of squared distances (float ranking, exact re-check); δ by integer square root", seconds,
              details={"delta_sq": to_str(sep.delta_sq), "pair": list(sep.pair),
                       "delta": {"lo": to_str(sep.delta_lo), "hi": to_str(sep.delta_hi)},
                       "decided_exactly": sep.holds}),
    ]


def lemma_6_4(p1, enc: certify.SupEnclosure, eta: Fraction, eps1: Fraction, build_seconds: float,
              extra: dict | None = None) -> list[dict]:
    """``lemma-6.4/odd``, ``/coefficients`` and ``lemma-6.4`` (sup_{[η,1]} |p1 − 1| ≤ ε1, Lemma 6.4)."""
    coeffs = p1_coefficients(p1)
    even_nonzero = sum(1 for j, c in enumerate(coeffs) if j % 2 == 0 and c != 0)
    max_coef = max(abs(c) for c in coeffs)
    lo, hi, wit = enclosed(enc)
    return [
        check("lemma-6.4/odd", "p1 is odd: it has no non-zero even coefficient, so [−1, −η] follows from [η, 1]",
              "<=", 0, even_nonzero, "exact", "exact coefficient inspection", 0.0),
        check("lemma-6.4/coefficients", "max_j |α_j| ≤ 2^{4D} with D the degree of p1",
              "<=", Fraction(2) ** (4 * p1.degree), max_coef, "exact", "exact comparison", 0.0,
              details={"log2_value": round(log2(max_coef), 3), "log2_bound": 4 * p1.degree}),
        check("lemma-6.4", "sup_{x∈[η,1]} |p1(x) − 1| ≤ ε1 = ε/(3n)", "<=", eps1, (lo, hi), "enclosure",
              f"Arb-ball branch and bound on Taylor-shifted forms ({enc.pieces} pieces, {enc.precision} bits)",
              build_seconds + enc.seconds,
              details={"interval": [to_str(eta), "1"], "witness": to_str(wit),
                       "a_priori": {"taylor": to_str(certify.round_up(p1.err_taylor, 10)),
                                    "compression": to_str(certify.round_up(p1.err_compress, 10)),
                                    "rounding": to_str(p1.rounding)},
                       "build_seconds": round(build_seconds, 4), **(extra or {})}),
    ]


#: the contract's claims of the two degree checks (docs/certificate.md, "Claims")
CLAIM_6_3_DEGREE = ("(24/γ)·ln(48n/ε) ≥ D, the degree of q: Claim 6.3's degree bound (Lemma 6.2's D) holds for the q built")
LEMMA_6_4_DEGREE = ("(3/η)·ln(2/(η·ε1)) ≥ D, the degree of p1: Lemma 6.4's degree bound (the reading of math-spec §2) "
                    "holds for the p1 built")


def _degree_bound(id: str, claim: str, degree: int, enc: tuple[Fraction, Fraction], formula: str,
                  inputs: dict, seconds: float) -> dict:
    """A paper's closed-form degree bound (transcendental: an Arb enclosure) against the degree used."""
    return check(id, claim, ">=", int(degree), enc, "enclosure",
                 "Arb ball of the closed form (python-flint, 128 bits), ends rounded outward to 12 digits; "
                 "compared exactly with the integer degree", seconds,
                 details={"formula": formula, "inputs": {k: to_str(v) for k, v in inputs.items()},
                          "degree": int(degree)})


def lemma_6_4_degree(degree: int, enc: tuple[Fraction, Fraction], eta: Fraction, eps1: Fraction,
                     seconds: float) -> dict:
    """``lemma-6.4/degree``: deg p1 <= (3/η) ln(2/(η ε1)), Lemma 6.4's degree (math-spec §2, §12.2)."""
    return _degree_bound("lemma-6.4/degree", LEMMA_6_4_DEGREE, degree, enc, "(3/η)·ln(2/(η·ε1))",
                         {"eta": eta, "eps1": eps1}, seconds)


def claim_6_3_degree(degree: int, enc: tuple[Fraction, Fraction], gamma: Fraction, eps: Fraction, n: int,
                     seconds: float) -> dict:
    """``claim-6.3/degree``: deg q <= (24/γ) ln(48n/ε), the degree of Claim 6.3 and Lemma 6.2 (math-spec §3)."""
    return _degree_bound("claim-6.3/degree", CLAIM_6_3_DEGREE, degree, enc, "(24/γ)·ln(48n/ε)",
                         {"gamma": gamma, "eps": eps, "n": n}, seconds)


def claim_6_3(q, paper_bound: Fraction, iv, enc_in, enc_out, eps1: Fraction, seconds: float) -> list[dict]:
    """``claim-6.3/definition``, ``/coefficients``, ``/in`` and ``/out`` (Claim 6.3's step polynomial)."""
    max_q = max(abs(c) for c in q.coefficients)
    return [
        check("claim-6.3/definition", "q(z) = (p1((z − α)/2) + 1)/2 coefficient by coefficient",
              "<=", 0, 0, "exact", "exact composition in fmpq_poly", seconds),
        check("claim-6.3/coefficients", "max_j |q_j| ≤ 2^{6D−1}/(1−α) + 1/2 (the paper's bound, D = deg p1)",
              "<=", paper_bound, max_q, "exact", "exact comparison", 0.0,
              details={"log2_value": round(log2(max_q), 3), "log2_bound": round(log2(paper_bound), 3)}),
    ] + claim_6_3_conclusions(q, iv, enc_in, enc_out, eps1)


def claim_6_3_conclusions(q, iv, enc_in, enc_out, eps1: Fraction, method: str = "") -> list[dict]:
    """``claim-6.3/in`` and ``/out``: Claim 6.3's two conclusions on the intervals of Lemma 6.2's proof."""
    lo_in, e_in, w_in = enclosed(enc_in)
    lo_out, e_out, w_out = enclosed(enc_out)
    return [
        check("claim-6.3/in", "sup_{z∈I_in} |q(z) − 1| ≤ ε1, I_in = [1 − ρ²/2 − τ⁻/2, 1 + τ⁺/2]", "<=", eps1, (lo_in, e_in),
              "enclosure", f"Arb-ball branch and bound ({enc_in.pieces} pieces){method}", enc_in.seconds,
              details={"interval": [to_str(iv.inside[0]), to_str(iv.inside[1])], "witness": to_str(w_in)}),
        check("claim-6.3/out", "sup_{z∈I_out} |q(z)| ≤ ε1, I_out = [−1 − τ⁺/2, 1 − (δ_lo − ρ)²/2 + τ⁺/2]", "<=", eps1,
              (lo_out, e_out), "enclosure", f"Arb-ball branch and bound ({enc_out.pieces} pieces){method}", enc_out.seconds,
              details={"interval": [to_str(iv.outside[0]), to_str(iv.outside[1])], "witness": to_str(w_out),
                       "delta_lo": to_str(iv.delta_lo)}),
    ]


def lemma_6_2(eps: Fraction, bound: Fraction, per: list[Fraction], seconds: float) -> dict:
    """``lemma-6.2``: the sound bound max_j (|y_j| e_in + Σ_{i≠j} |y_i| e_out) ≤ ε/3 (Lemma 6.2)."""
    return check(
        "lemma-6.2", "sup_j sup_{x̃∈B2(x_j,ρ)∩X} |f*(x̃) − y_j| ≤ ε/3, via max_j (|y_j| e_in + Σ_{i≠j} |y_i| e_out)",
        "<=", eps / 3, bound, "sound-bound",
        "exact arithmetic on the certified upper ends e_in, e_out of claim-6.3/in and /out", seconds,
        details={"per_point": [to_str(v) for v in per]})


def lemma_6_2_attack(eps: Fraction, sound: Fraction, res, seconds: float) -> dict:
    """``lemma-6.2/attack``: projected ascent on |f* − y_j| over the caps, an estimate from below (Lemma 6.2)."""
    attack_max = float(max(res.values))
    verdict = "observed" if attack_max <= float(eps) / 3 else "violated"
    return check(
        "lemma-6.2/attack",
        "best projected-ascent value of |f*(x̃) − y_j| over the caps (a lower bound of the sup; must not exceed lemma-6.2's value)",
        "<=", float(eps) / 3, attack_max, "estimate",
        f"APGD-style projected ascent, {res.restarts} restarts + centre, {res.steps} steps, float64 Chebyshev form of q",
        seconds, verdict=verdict,
        details={"restarts": res.restarts, "steps": res.steps, "per_point": [float(v) for v in res.values],
                 "sound_bound": float(sound), "within_sound_bound": attack_max <= float(sound)})


def p1_coefficients(p1) -> list[Fraction]:
    """The monomial coefficients α_j of Lemma 6.4's p1 as Fractions (lowest degree first)."""
    return [Fraction(int(c.p), int(c.q)) for c in p1.poly.coeffs()]
