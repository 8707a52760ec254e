"""The closed-form constants of the theorems as sympy expressions: one home for every formula.

Each constant of the proof chain (math-spec §§2–9) is a :class:`Formula`: a sympy expression,
the statement of the paper it comes from, and the hidden constants it assumes (math-spec §7's
list: c of Lemma 6.6, C51 of Theorem 5.1, c_T and c_η of Theorem 5.2, c_G of [14], and the
failure probability δ that replaces the constant inside Ω(·)). A formula is

* evaluated **exactly** (:func:`evaluate_exact`, sympy rationals) where its value is rational
  for rational inputs (the paper's coefficient bound of Claim 6.3, T, …);
* evaluated **in log10** (:func:`evaluate_log10`, mpmath at ``dps`` digits after taking the
  logarithm symbolically, so that 10^1390 widths and e^{−10^1000} probabilities are ordinary
  numbers) or directly (:func:`evaluate`);
* enclosed in an **Arb ball** (:func:`enclose`, python-flint) where it is transcendental but
  a rigorous comparison is needed (the paper's degree bounds against the degree used);
* rendered as text (:func:`text`, ``sympy.pretty``/``str``) and as LaTeX (:func:`latex`).

Sequences enter through indexed symbols: ``a[j]`` = |q_j| (the absolute monomial coefficients
of the step polynomial q of Claim 6.3), ``H[i]`` = Ĥe_i(B_t) and ``P[i]`` = P_i of Lemma 6.6's
h (math-spec §5); they are passed as Python sequences. The functions at the end
(:func:`degree_claim63`, :func:`q_coefficient_bound`, :func:`chain_widths`, …) are what the
chain (``advcert.chain``) and the measured plane (``advcert.measured.coupling``) call: they
evaluate these formulas, so each constant has one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Mapping

import flint
import mpmath
import sympy as sp
from flint import arb, fmpq
from sympy.printing.latex import LatexPrinter

from advcert.poly.minimax import eremenko_yuditskii_degree
from advcert.rational import round_down, round_up

#: digits mpmath works at by default; every formula is a sum or product of positive terms
#: (no cancellation), so relative precision does not depend on the size of the value
DPS = 50

# ---------------------------------------------------------------------------------------
# symbols (python name -> sympy symbol; the sympy names render and parse back as LaTeX)
# ---------------------------------------------------------------------------------------

_pos = {"positive": True}
SYMBOLS: dict[str, sp.Symbol] = {
    "gamma": sp.Symbol("gamma", **_pos),  # γ of Definition 3.4
    "eps": sp.Symbol("epsilon", **_pos),  # the target ε
    "n": sp.Symbol("n", integer=True, positive=True),
    "d": sp.Symbol("d", integer=True, positive=True),
    "eta": sp.Symbol("eta", **_pos),  # η of Lemma 6.4 (= γ/8)
    "eps1": sp.Symbol("epsilon_1", **_pos),  # ε1 = ε/(3n)
    "alpha": sp.Symbol("alpha", **_pos),  # α = 1 − ρ²/2 − 2η of Claim 6.3
    "D": sp.Symbol("D", integer=True, positive=True),  # a degree
    "c": sp.Symbol("c", **_pos),  # Lemma 6.6's absolute constant
    "eps2": sp.Symbol("epsilon_2", **_pos),  # Lemma 6.6's accuracy
    "C_q": sp.Symbol("C_q", **_pos),  # C(q) of Definition 6.1
    "C_h": sp.Symbol("C_h", **_pos),  # sup|h| bound of Lemma 6.6
    "R": sp.Symbol("R", **_pos),
    "C51": sp.Symbol("C_51", **_pos),  # the constant in Theorem 5.1's O(R²/m^{1/6})
    "m": sp.Symbol("m", **_pos),  # a width
    "delta": sp.Symbol("delta", **_pos),  # failure probability of the Hoeffding + net bound
    "m_51": sp.Symbol("m_51", **_pos),
    "m_H": sp.Symbol("m_H", **_pos),
    "m_disc": sp.Symbol("m_D", **_pos),
    "c_T": sp.Symbol("c_T", **_pos),
    "c_eta": sp.Symbol("c_eta", **_pos),
    "c_G": sp.Symbol("c_G", **_pos),
}
#: indexed sequences: a[j] = |q_j|, H[i] = Ĥe_i(B_t), P[i] = P_i (math-spec §5)
SEQUENCES: dict[str, sp.IndexedBase] = {name: sp.IndexedBase(name) for name in ("a", "H", "P")}
_j = sp.Symbol("j", integer=True, nonnegative=True)
_BY_SYMBOL = {**{v: k for k, v in SYMBOLS.items()}}


@dataclass(frozen=True)
class Formula:
    """One closed-form constant: ``expr`` in :data:`SYMBOLS` and :data:`SEQUENCES`, the paper's
    ``statement`` it comes from, and the ``hidden_constants`` (python names) it assumes."""

    name: str
    expr: sp.Expr
    statement: str
    hidden_constants: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        """The python names of the scalars and sequences the formula needs, sorted."""
        names = {_BY_SYMBOL[s] for s in self.expr.free_symbols if s in _BY_SYMBOL}
        names |= {b.name for b in self.expr.atoms(sp.IndexedBase)}
        return tuple(sorted(names))


def _build() -> dict[str, Formula]:
    S, A, H, P, j = SYMBOLS, SEQUENCES["a"], SEQUENCES["H"], SEQUENCES["P"], _j
    g, e, n, d, eta, e1, al, D = (S[k] for k in ("gamma", "eps", "n", "d", "eta", "eps1", "alpha", "D"))
    c, e2, Cq, Ch, R, C51, m, dl = (S[k] for k in ("c", "eps2", "C_q", "C_h", "R", "C51", "m", "delta"))
    half = sp.Rational(1, 2)
    fs = [
        Formula("D_claim63", 24 / g * sp.log(48 * n / e),
                "Claim 6.3 / Lemma 6.2: q (and f*) has degree D = (24/γ)·ln(48n/ε)"),
        Formula("D_lemma64", 3 / eta * sp.log(2 / (eta * e1)),
                "Lemma 6.4: p1 has degree D = (3/η)·ln(2/(η·ε1)) (the reconstructed reading, math-spec §2)"),
        Formula("q_coef_bound", 2 ** (6 * D - 1) / (1 - al) + half,
                "Claim 6.3: |q_j| <= 2^{6D−1}/(1−α) + 1/2 (the paper's O(γ^{−1} 2^{6D}), 1 − α = ρ²/2 + 2η)"),
        Formula("C_q", c * sp.Sum((j + 1) ** sp.Rational(7, 4) * A[j], (j, 0, D)),
                "Definition 6.1 / Lemma 6.6: C(q) = c·Σ_j (j+1)^{1.75}|q_j|, a_j = |q_j|", ("c",)),
        Formula("C_q_eps2", 2 * A[0] + sp.Sum(c ** j * (1 + (sp.log(1 / e2) / j) ** (j / 2)) * A[j], (j, 1, D)),
                "Definition 6.1 / Lemma 6.6: C(q, ε2) = Σ_j c^j (1 + (√(ln(1/ε2)/j))^j)|q_j| (j = 0 factor 2)",
                ("c",)),
        Formula("eps2", sp.Min(e / (9 * n), 1 / (2 * Cq)),
                "Lemma 6.5's ε split and Lemma 6.6's hypothesis ε2 < 1/C(q): ε2 = min(ε/(9n), 1/(2C(q))) "
                "(the build rounds the second term down to a dyadic)"),
        Formula("C_h", sp.Sum(A[j] * H[j] / P[j], (j, 0, D)),
                "Lemma 6.6: sup|h| <= C_h = Σ_i |q_i| Ĥe_i(B_t)/P_i, H_i = Ĥe_i(B_t) (math-spec §5 step 5)"),
        Formula("R", 2 * n * Ch, "Lemma 6.5: ||W* − W0||_{2,∞} <= R/m^{2/3} with R = 2n·C_h"),
        Formula("m_thm51", sp.Pow(3 * C51 * R ** 2 / e, 6, evaluate=False),
                "Theorem 5.1: the least m with C51·R²/m^{1/6} <= ε/3", ("C51",)),
        Formula("hoeffding_failure",
                2 * (1 + sp.sqrt(3) * m ** 2) ** (d - 1) * sp.exp(-m * e ** 2 / (162 * n ** 2 * Ch ** 2)),
                "Lemma 6.5: P(sup over a m^{−2}-net of |g_{W*} − E g_{W*}| >= ε/9) <= "
                "|net|·2·exp(−m(ε/9)²/(2n²C_h²)), |net| <= (1 + √3 m²)^{d−1}"),
        Formula("m_hoeffding", 162 * n ** 2 * Ch ** 2 * (sp.log(2 / dl) + (d - 1) * sp.log(sp.sqrt(3) * m ** 2)) / e ** 2,
                "Lemma 6.5: the Hoeffding + net width, the fixed point m = this (failure <= δ)", ("delta",)),
        Formula("m_discretisation", 9 * n * d * Ch / e,
                "Lemma 6.5: the least m with (n C_h/m)·d <= ε/9 (activation flips between net neighbours)"),
        Formula("M0", sp.Max(S["m_51"], S["m_H"], S["m_disc"]),
                "Theorem 5.3: M0, the largest of the Theorem 5.1, Hoeffding + net and discretisation widths"),
        Formula("T", S["c_T"] * R ** 2 / e ** 2, "Theorem 5.2: T = Θ(R²/ε²) steps of Algorithm 1", ("c_T",)),
        Formula("eta_step", S["c_eta"] * e * m ** sp.Rational(-1, 3),
                "Theorem 5.2: step size η = Θ(ε·m^{−1/3}) of Algorithm 1", ("c_eta",)),
        Formula("gao_width", (1 / e) ** (S["c_G"] * d),
                "Gao et al. [14]: width (1/ε)^{Ω(d)} (quadratic ReLU), c_G the exponent's constant", ("c_G",)),
    ]
    return {f.name: f for f in fs}


#: every formula, by name
FORMULAS: dict[str, Formula] = _build()


def formula(name: str | Formula) -> Formula:
    """The formula called ``name`` (a Formula is returned as it is)."""
    if isinstance(name, Formula):
        return name
    try:
        return FORMULAS[name]
    except KeyError:
        raise KeyError(f"no formula {name!r}; known: {', '.join(FORMULAS)}") from None


# ---------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------


def _check_inputs(f: Formula, values: Mapping[str, Any]) -> None:
    missing = [k for k in f.inputs if k not in values]
    if missing:
        raise ValueError(f"formula {f.name} needs {', '.join(missing)}")


def _rational(x) -> sp.Rational:
    if isinstance(x, (int, Fraction)):
        x = Fraction(x)
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        q = Fraction(x)  # the binary64 value exactly
        return sp.Rational(q.numerator, q.denominator)
    if isinstance(x, sp.Rational):
        return x
    raise TypeError(f"exact evaluation needs rationals, got {type(x).__name__}")


def _expand_sums(expr: sp.Expr, seqs: Mapping[str, Any]) -> sp.Expr:
    """Replace each Sum with numeric limits by its terms, indexed symbols by the given values."""
    def expand(s: sp.Sum) -> sp.Expr:
        (var, lo, hi), = s.limits
        if not (lo.is_Integer and hi.is_Integer):
            raise ValueError("a sum's limits must be integers to expand it (give D)")
        terms = []
        for k in range(int(lo), int(hi) + 1):
            t = s.function.xreplace({var: sp.Integer(k)})
            t = t.xreplace({ix: _rational(seqs[ix.base.name][int(ix.indices[0])]) for ix in t.atoms(sp.Indexed)})
            terms.append(t)
        return sp.Add(*terms)

    out = expr.replace(lambda e: isinstance(e, sp.Sum), expand)
    return out.xreplace({ix: _rational(seqs[ix.base.name][int(ix.indices[0])]) for ix in out.atoms(sp.Indexed)})


def evaluate_exact(name: str | Formula, **values) -> Fraction:
    """The formula's value as an exact rational (sympy), for rational inputs and integer degrees.

    Raises ValueError when the value is not rational (a logarithm, a power 7/4, …): use
    :func:`evaluate_log10` there."""
    f = formula(name)
    _check_inputs(f, values)
    seqs = {k: v for k, v in values.items() if k in SEQUENCES}
    subs = {SYMBOLS[k]: _rational(v) for k, v in values.items() if k in SYMBOLS}
    out = _expand_sums(f.expr.xreplace(subs), seqs).doit()
    if not out.is_Rational:
        raise ValueError(f"formula {f.name} is not rational at these inputs ({sp.sstr(out)[:80]}…); "
                         "use evaluate_log10")
    return Fraction(int(out.p), int(out.q))


@lru_cache(maxsize=None)
def _compiled(f: Formula, log: bool):
    """The formula (or its natural log, expanded so that huge factors never meet) as an mpmath
    function of ``f.inputs``."""
    args = f.inputs
    expr = sp.expand_log(sp.log(f.expr), force=True) if log else f.expr
    params = [SEQUENCES[a] if a in SEQUENCES else SYMBOLS[a] for a in args]
    return sp.lambdify(params, expr, modules="mpmath")


def _mp(x):
    if isinstance(x, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(x, int):
        return x  # degrees stay Python ints (range limits, exact powers)
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    if isinstance(x, (list, tuple)):
        return [_mp(v) for v in x]
    return mpmath.mpf(x)


def _call(f: Formula, log: bool, values: Mapping[str, Any]):
    _check_inputs(f, values)
    return _compiled(f, log)(*[_mp(values[a]) for a in f.inputs])


def evaluate(name: str | Formula, *, dps: int = DPS, **values) -> mpmath.mpf:
    """The formula's value in mpmath at ``dps`` digits (inputs: ints, Fractions, floats, mpf; sequences)."""
    f = formula(name)
    with mpmath.workdps(dps):
        return +mpmath.mpf(_call(f, False, values))


def evaluate_log10(name: str | Formula, *, dps: int = DPS, **values) -> mpmath.mpf:
    """log10 of the (positive) value, from the symbolically expanded logarithm, in mpmath at ``dps``.

    Inputs may be astronomically large (pass them as mpf, e.g. :func:`pow2` of a log2)."""
    f = formula(name)
    with mpmath.workdps(dps):
        return +(mpmath.mpf(mpmath.re(_call(f, True, values))) / mpmath.log(10))


def solve_log10(name: str | Formula, unknown: str = "m", *, iterations: int = 60, start: float = 0.0,
                dps: int = DPS, **values) -> mpmath.mpf:
    """log10 of the fixed point x = formula(x) in ``unknown``, by iteration in log10 x from 10^start
    (used for the Hoeffding + net width, whose right side grows like log x)."""
    f = formula(name)
    with mpmath.workdps(dps):
        lx = mpmath.mpf(start)
        for _ in range(iterations):
            lx = evaluate_log10(f, dps=dps, **{**values, unknown: mpmath.power(10, lx)})
        return lx


def pow2(log2_value) -> mpmath.mpf:
    """2^x as an mpf at the current precision (for inputs known by their log2, like C_h)."""
    return mpmath.power(2, _mp(Fraction(log2_value) if isinstance(log2_value, (int, Fraction)) else log2_value))


def text(name: str | Formula, *, pretty: bool = False) -> str:
    """The formula as ``name = expr`` in one line (``str``) or as ``sympy.pretty`` (unicode, several lines)."""
    f = formula(name)
    if pretty:
        return sp.pretty(sp.Eq(sp.Symbol(f.name), f.expr, evaluate=False), use_unicode=True)
    return f"{f.name} = {sp.sstr(f.expr)}"


class _Latex(LatexPrinter):
    """sympy's LaTeX printer with indexed symbols as ``a_{j}`` (not ``{a}_{j}``), so that the
    output reads as in the paper and ``sympy.parsing.latex.parse_latex`` reads it back."""

    def _print_Indexed(self, expr) -> str:
        return f"{expr.base.name}_{{{self._print(expr.indices[0])}}}"


def latex(name: str | Formula) -> str:
    """The formula's expression as LaTeX (``sympy.latex``'s printer; products with ``\\cdot`` and d
    braced, so that the text parses back unambiguously)."""
    settings = {"mul_symbol": "dot", "symbol_names": {SYMBOLS["d"]: "{d}"}}
    return _Latex(settings).doprint(formula(name).expr)


# ---------------------------------------------------------------------------------------
# the constants the chain reports, evaluated from the formulas above
# ---------------------------------------------------------------------------------------


def degree_claim63(gamma: Fraction, eps: Fraction, n: int) -> float:
    """D = (24/γ) ln(48n/ε), the degree stated in Claim 6.3 / Lemma 6.2."""
    return float(evaluate("D_claim63", gamma=Fraction(gamma), eps=Fraction(eps), n=int(n)))


def degree_lemma64(eta: Fraction, eps1: Fraction) -> float:
    """D = (3/η) ln(2/(η ε1)), the best reading of Lemma 6.4's garbled degree (math-spec §2)."""
    return float(evaluate("D_lemma64", eta=Fraction(eta), eps1=Fraction(eps1)))


#: bits of the Arb balls of :func:`enclose`; the ends are then rounded outward to ENCLOSE_DIGITS
#: significant digits, so a ball's radius (~2^-120 relative) never reaches the stored ends
ENCLOSE_PREC = 128
ENCLOSE_DIGITS = 12


def _arb(expr: sp.Expr, env: Mapping[sp.Symbol, arb]) -> arb:
    """The sympy expression as an Arb ball: numbers, symbols, +, ×, integer or rational powers, log."""
    if expr.is_Symbol:
        return env[expr]
    if expr.is_Rational:
        return arb(fmpq(int(expr.p), int(expr.q)))
    args = [_arb(a, env) for a in expr.args]
    if expr.is_Add:
        return sum(args[1:], args[0])
    if expr.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if expr.is_Pow and expr.exp.is_Integer:
        return args[0] ** int(expr.exp)
    if expr.is_Pow and expr.exp.is_Rational:
        return (args[0].log() * args[1]).exp()
    if isinstance(expr, sp.log):
        return args[0].log()
    raise ValueError(f"no Arb evaluation for {type(expr).__name__} ({sp.sstr(expr)[:60]})")


def _arb_fraction(x: arb) -> Fraction:
    m, e = x.man_exp()  # an exact point (lower() and upper() have radius 0)
    return Fraction(int(m)) * Fraction(2) ** int(e)


def enclose(name: str | Formula, **values) -> tuple[Fraction, Fraction]:
    """Rational (lo, hi) with lo <= formula <= hi, from an Arb ball at ENCLOSE_PREC bits, the ends
    rounded outward to ENCLOSE_DIGITS significant digits. Rational inputs only (no sums)."""
    f = formula(name)
    _check_inputs(f, values)
    old = flint.ctx.prec
    flint.ctx.prec = ENCLOSE_PREC  # flint's precision is global: restored below
    try:
        env = {SYMBOLS[k]: arb(fmpq(Fraction(v).numerator, Fraction(v).denominator)) for k, v in values.items()}
        ball = _arb(f.expr, env)
        if not ball.is_finite():
            raise ValueError(f"formula {f.name} is not finite at these inputs")
        lo, hi = _arb_fraction(ball.lower()), _arb_fraction(ball.upper())
    finally:
        flint.ctx.prec = old
    return round_down(lo, ENCLOSE_DIGITS), round_up(hi, ENCLOSE_DIGITS)


def degree_claim63_enclosure(gamma: Fraction, eps: Fraction, n: int) -> tuple[Fraction, Fraction]:
    """(lo, hi) around (24/γ) ln(48n/ε), Claim 6.3's degree (for the check claim-6.3/degree)."""
    return enclose("D_claim63", gamma=Fraction(gamma), eps=Fraction(eps), n=int(n))


def degree_lemma64_enclosure(eta: Fraction, eps1: Fraction) -> tuple[Fraction, Fraction]:
    """(lo, hi) around (3/η) ln(2/(η ε1)), Lemma 6.4's reconstructed degree (check lemma-6.4/degree)."""
    return enclose("D_lemma64", eta=Fraction(eta), eps1=Fraction(eps1))


def degree_optimal(eta: Fraction, eps1: Fraction) -> int:
    """Least odd degree whose Eremenko–Yuditskii asymptotic error is <= ε1 (computed in mpmath by
    :func:`advcert.poly.minimax.eremenko_yuditskii_degree`, the one home of that formula)."""
    return eremenko_yuditskii_degree(Fraction(eta), Fraction(eps1))


def q_coefficient_bound(degree: int, alpha: Fraction) -> Fraction:
    """The paper's bound on |q_j|, 2^{6D−1}/(1 − α) + 1/2, exactly (Claim 6.3)."""
    return evaluate_exact("q_coef_bound", D=int(degree), alpha=Fraction(alpha))


@dataclass(frozen=True)
class ChainWidths:
    """Widths and probabilities of the Lemma 6.5 / Theorem 5.1 chain, in log10 (math-spec §6-7).

    * ``log10_R`` = log10(2 n C_h), the theorem's radius (formula ``R``);
    * ``log10_m_thm51``: least m with C51 R²/m^{1/6} <= ε/3 (``m_thm51``);
    * ``log10_m_hoeffding``: least m making the Hoeffding + net failure bound <= δ (``m_hoeffding``);
    * ``log10_m_discretisation``: least m with (n C_h/m)·d <= ε/9 (``m_discretisation``);
    * ``log10_m_required``: the largest of the three (``M0``).
    """

    log10_R: float
    log10_m_thm51: float
    log10_m_hoeffding: float
    log10_m_discretisation: float
    log10_m_required: float


def chain_widths(n: int, d: int, eps, log2_C_h, *, C51=1.0, delta=0.01) -> ChainWidths:
    """The widths of Lemma 6.5 and Theorem 5.1 for C_h = 2^log2_C_h (see :class:`ChainWidths`)."""
    with mpmath.workdps(DPS):
        Ch = pow2(log2_C_h)
        lR = evaluate_log10("R", n=int(n), C_h=Ch)
        R = mpmath.power(10, lR)
        l51 = evaluate_log10("m_thm51", C51=C51, R=R, eps=eps)
        lH = solve_log10("m_hoeffding", "m", n=int(n), d=int(d), eps=eps, C_h=Ch, delta=delta)
        ldisc = evaluate_log10("m_discretisation", n=int(n), d=int(d), eps=eps, C_h=Ch)
        lM0 = evaluate_log10("M0", m_51=mpmath.power(10, l51), m_H=mpmath.power(10, lH),
                             m_disc=mpmath.power(10, ldisc))
    return ChainWidths(log10_R=float(lR), log10_m_thm51=float(l51), log10_m_hoeffding=float(lH),
                       log10_m_discretisation=float(ldisc), log10_m_required=float(lM0))


def log10_hoeffding_failure(m, n: int, d: int, eps, log2_C_h) -> float:
    """log10 of the Hoeffding + net failure bound at width m (formula ``hoeffding_failure``).

    A probability bound: values >= 0 mean the bound says nothing at this width."""
    with mpmath.workdps(DPS):
        return float(evaluate_log10("hoeffding_failure", m=m, n=int(n), d=int(d), eps=eps, C_h=pow2(log2_C_h)))


def log10_gao_width(eps, d: int, c_G=1) -> float:
    """log10 of Gao et al. [14]'s width (1/ε)^{c_G·d} (math-spec §9; c_G exposed, default 1)."""
    return float(evaluate_log10("gao_width", eps=eps, d=int(d), c_G=c_G))
