"""advcert.theory: each closed-form constant against an independent hand computation.

The hand computations use only ``math``, ``fractions`` and plain mpmath arithmetic, never the
formulas under test; the reference numbers are math-spec §11's headline (γ = 1/2, ε = 1/10,
n = 10, ρ = 1/20, d = 8) and toy case (γ = 2, ε = 3/5, n = 2, ρ = 1/20), and the constants of
the shipped certificates/headline.json.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from advcert import theory as T
from advcert.measured.h import abs_hermite, build_features
from advcert.poly.complexity import complexity, log2_mid

HEADLINE = json.loads((Path(__file__).parent.parent / "certificates" / "headline.json").read_text())
CONST = HEADLINE["constants"]
Q = [Fraction(c) for c in HEADLINE["objects"]["q"]["coefficients"]]
LOG2_10 = math.log2(10)


def _value(name):
    v = CONST[name]["value"]
    return float(Fraction(v)) if isinstance(v, str) else v


def test_degrees_headline_and_toy():
    # Claim 6.3: 48 ln 4800 at the headline, 12 ln 160 at the toy case (math-spec §11)
    assert T.degree_claim63(Fraction(1, 2), Fraction(1, 10), 10) == pytest.approx(48 * math.log(4800), rel=1e-14)
    assert round(T.degree_claim63(Fraction(1, 2), Fraction(1, 10), 10), 3) == 406.866 == _value("D_paper_claim63")
    assert T.degree_claim63(Fraction(2), Fraction(3, 5), 2) == pytest.approx(12 * math.log(160), rel=1e-14)
    assert round(T.degree_claim63(Fraction(2), Fraction(3, 5), 2), 1) == 60.9
    # Lemma 6.4's reading: 48 ln 9600 (η = 1/16, ε1 = 1/300) and 12 ln 80 (η = 1/4, ε1 = 1/10)
    assert round(T.degree_lemma64(Fraction(1, 16), Fraction(1, 300)), 3) == 440.137 == _value("D_paper_lemma64")
    assert T.degree_lemma64(Fraction(1, 4), Fraction(1, 10)) == pytest.approx(12 * math.log(80), rel=1e-14)


def test_degree_bounds_enclosed_in_arb():
    # claim-6.3/degree and lemma-6.4/degree compare these enclosures with the degree used
    import flint

    prec = flint.ctx.prec
    cases = [(T.degree_claim63_enclosure(Fraction(1, 2), Fraction(1, 10), 10), 48, 4800),
             (T.degree_claim63_enclosure(Fraction(2), Fraction(3, 5), 2), 12, 160),
             (T.degree_lemma64_enclosure(Fraction(1, 16), Fraction(1, 300)), 48, 9600),
             (T.degree_lemma64_enclosure(Fraction(1, 4), Fraction(1, 10)), 12, 80)]
    with mpmath.workdps(60):
        for (lo, hi), a, b in cases:
            hand = a * mpmath.log(b)
            assert mpmath.mpf(lo.numerator) / lo.denominator < hand < mpmath.mpf(hi.numerator) / hi.denominator
            assert (hi - lo) / lo < Fraction(1, 10**10)
    assert flint.ctx.prec == prec  # the global precision is restored
    # a tiny ε: 2^-2000 is far below binary64, the enclosure is still exact
    lo, hi = T.degree_claim63_enclosure(Fraction(1, 2), Fraction(1, 2**2000), 10)
    with mpmath.workdps(60):
        hand = 48 * (mpmath.log(480) + 2000 * mpmath.log(2))
        assert mpmath.mpf(lo.numerator) / lo.denominator < hand < mpmath.mpf(hi.numerator) / hi.denominator
    with pytest.raises(ValueError, match="no Arb evaluation"):
        T.enclose("eps2", eps=Fraction(1, 10), n=10, C_q=Fraction(3))


def test_q_coefficient_bound_exact_and_log():
    alpha = Fraction(699, 800)  # 1 - 1/800 - 1/8
    hand = Fraction(2) ** (6 * 245 - 1) / (1 - alpha) + Fraction(1, 2)
    assert T.q_coefficient_bound(245, alpha) == hand
    lg = T.evaluate_log10("q_coef_bound", D=245, alpha=alpha) * LOG2_10
    assert round(float(lg), 3) == _value("log2_coef_bound_q") == 1471.986
    # the paper's degree 407: about 2^2444 (math-spec §11)
    b407 = T.q_coefficient_bound(407, alpha)
    assert round(math.log2(b407.numerator) - math.log2(b407.denominator)) == 2444


def test_complexities_against_mpmath_and_the_certificate():
    a = [abs(v) for v in Q]
    with mpmath.workdps(60):
        hand = 2 * mpmath.fsum(mpmath.power(j + 1, mpmath.mpf(7) / 4) * mpmath.mpf(x.numerator) / x.denominator
                               for j, x in enumerate(a))
        hand_log2 = float(mpmath.log(hand, 2))
    got = float(T.evaluate_log10("C_q", c=2, D=len(a) - 1, a=a) * LOG2_10)
    assert got == pytest.approx(hand_log2, abs=1e-10)
    assert got <= _value("log2_C_q") <= got + 2 ** -20  # the certificate's sound upper bound, 2^-24 grid
    eps2 = Fraction(CONST["eps2"]["value"])
    L = math.log(1 / float(eps2))
    with mpmath.workdps(60):
        hand_e = 2 * a[0] + mpmath.fsum(2 ** j * (1 + (L / j) ** (j / 2)) * mpmath.mpf(x.numerator) / x.denominator
                                        for j, x in enumerate(a) if j)
    got_e = float(T.evaluate_log10("C_q_eps2", c=2, D=len(a) - 1, a=a, eps2=eps2) * LOG2_10)
    assert got_e == pytest.approx(float(mpmath.log(hand_e, 2)), abs=1e-9)
    assert got_e <= _value("log2_C_q_eps2") <= got_e + 2 ** -20
    # ε2 = min(ε/(9n), 1/(2C(q))): the certificate stores a dyadic just below 1/(2C(q))
    e2 = T.evaluate("eps2", eps=Fraction(1, 10), n=10, C_q=hand)
    assert float(e2) == pytest.approx(1 / (2 * float(hand)), rel=1e-12)
    assert float(eps2) <= float(e2) <= float(eps2) * (1 + 2 ** -6)
    # the toy case: C(q)/c = 2^10.4 (math-spec §11)
    with pytest.raises(ValueError, match="not rational"):
        T.evaluate_exact("C_q", c=2, D=2, a=[1, 1, 1])
    assert T.evaluate_exact("C_q", c=3, D=1, a=[Fraction(1, 2), 0]) == Fraction(3, 2)


def test_toy_C_h_formula_is_the_sum_the_build_evaluates(toy_doc):
    q = [Fraction(c) for c in toy_doc["objects"]["q"]["coefficients"]]
    assert len(q) - 1 == 23
    assert round(log2_mid(complexity(q, 1)), 1) == 10.4  # math-spec §11: C(q) = 2^10.4·c
    feat = build_features(q, Fraction(1, 100))
    a = [abs(v) for v in q]
    H = [abs_hermite(i, feat.B_t) for i in range(len(q))]
    P = [mpmath.mpf(str(p.lower().mid().str(40, radius=False))) for p in feat.P]
    lg = float(T.evaluate_log10("C_h", D=len(q) - 1, a=a, H=H, P=P, dps=40) * LOG2_10)
    assert lg == pytest.approx(float(feat.log2_C_h), abs=1e-6)  # the build's upper end on a 2^-24 grid
    # exact: the same sum with exact H and rational P is a rational
    exact = T.evaluate_exact("C_h", D=2, a=[1, 2, 3], H=[1, Fraction(3), Fraction(10)], P=[Fraction(1, 2), 2, 5])
    assert exact == 2 + 3 + 6


def test_widths_headline_against_the_certificate_and_hand():
    lch = _value("log2_C_h")
    w = T.chain_widths(10, 8, Fraction(1, 10), lch)
    log10_R = math.log10(20) + lch * math.log10(2)
    assert w.log10_R == pytest.approx(log10_R, abs=1e-10)
    assert w.log10_m_thm51 == pytest.approx(6 * (math.log10(3 / 0.1) + 2 * log10_R), abs=1e-9)
    assert round(w.log10_m_thm51, 1) == 1390.7
    for key in ("log10_m_thm51", "log10_m_hoeffding", "log10_m_required"):
        assert getattr(w, key) == pytest.approx(_value(key), abs=1e-9)
    # Hoeffding + net: m = 162 n² C_h² (ln(2/δ) + (d−1) ln(√3 m²))/ε², iterated by hand in log10
    base = math.log10(162 * 100) + 2 * lch * math.log10(2) - 2 * math.log10(0.1)
    lm = 0.0
    for _ in range(80):
        lm = base + math.log10(math.log(200) + 7 * (math.log(math.sqrt(3)) + 2 * lm * math.log(10)))
    assert w.log10_m_hoeffding == pytest.approx(lm, abs=1e-9)
    assert w.log10_m_discretisation == pytest.approx(math.log10(9 * 10 * 8 / 0.1) + lch * math.log10(2), abs=1e-9)
    assert w.log10_m_required == max(w.log10_m_thm51, w.log10_m_hoeffding, w.log10_m_discretisation)


def test_width_without_the_hypothesis_is_1179_6():
    # math-spec §11's worked example: ε2 = ε/(9n) = 1/900, ignoring ε2 < 1/C(q)
    feat = build_features(Q, Fraction(1, 900))
    w = T.chain_widths(10, 8, Fraction(1, 10), float(feat.log2_C_h))
    assert w.log10_m_thm51 == pytest.approx(_value("log10_m_thm51_eps2_plain"), abs=1e-9)
    assert round(w.log10_m_thm51, 1) == 1179.6


def test_hoeffding_failure_against_plain_floats():
    m, n, d, eps, C_h = 10**4, 1, 3, 0.5, 2.0
    hand = math.log10(2 * (1 + math.sqrt(3) * m**2) ** (d - 1) * math.exp(-m * eps**2 / (162 * n**2 * C_h**2)))
    assert T.log10_hoeffding_failure(m, n, d, eps, 1.0) == pytest.approx(hand, abs=1e-12)
    # far beyond binary64: e^{-10^300} is an ordinary number in log scale
    assert T.log10_hoeffding_failure(10**310, 1, 3, 0.5, 1.0) < -1e300


def test_exact_T_step_size_and_gao():
    assert T.evaluate_exact("T", c_T=1, R=3, eps=Fraction(1, 10)) == 900
    assert T.evaluate_exact("T", c_T=2, R=Fraction(1, 2), eps=Fraction(1, 2)) == 2
    assert T.evaluate_exact("eta_step", c_eta=1, eps=Fraction(1, 10), m=1000) == Fraction(1, 100)
    assert T.evaluate_exact("gao_width", eps=Fraction(1, 10), d=8, c_G=1) == 10**8
    assert T.log10_gao_width(Fraction(1, 10), 8, c_G=Fraction(1, 2)) == pytest.approx(4.0, abs=1e-12)
    assert T.evaluate_exact("M0", m_51=5, m_H=7, m_disc=Fraction(13, 2)) == 7
    assert T.formula("gao_width").hidden_constants == ("c_G",)
    assert T.formula("m_thm51").hidden_constants == ("C51",)
    with pytest.raises(ValueError, match="needs"):
        T.evaluate("R", n=10)


def _from_parsed(expr: sp.Expr) -> sp.Expr:
    """Map parse_latex's symbols (``C_{51}``, ``a_{j}``, ``e``) back to theory's."""
    rep = {}
    by_name = {s.name: s for s in T.SYMBOLS.values()}
    for s in expr.atoms(sp.Symbol):
        name = re.sub(r"[{}\\ ]", "", s.name)
        m = re.fullmatch(r"([aHP])_(.+)", name)
        if m:
            rep[s] = T.SEQUENCES[m.group(1)][sp.sympify(m.group(2), locals={"j": T._j})]
        elif name == "e":
            rep[s] = sp.E
        elif name == "j":
            rep[s] = T._j
        else:
            rep[s] = by_name[name]
    out = expr.xreplace(rep)
    return out.replace(lambda x: isinstance(x, sp.Function) and str(x.func) in ("max", "min"),
                       lambda x: (sp.Max if str(x.func) == "max" else sp.Min)(*x.args))


@pytest.mark.parametrize("name", sorted(T.FORMULAS))
def test_latex_parses_back(name):
    from sympy.parsing.latex import parse_latex

    f = T.FORMULAS[name]
    back = _from_parsed(parse_latex(T.latex(f)))
    assert sp.simplify(back - f.expr) == 0, (T.latex(f), back)
    assert T.text(f).startswith(f"{name} = ") and T.text(f, pretty=True)
