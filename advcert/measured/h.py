"""Lemma 6.6 (= Allen-Zhu–Li–Liang Lemma 6.2): turning an indicator into a function.

For a polynomial φ(z) = Σ_i α_i z^i and ε2 > 0 we build h: R² → R with

    |E_{u~N(0,I), β~N(0,1)}[1{<u, x> + β >= 0} h(<w*, u>, β)] - φ(<w*, x>)| <= ε2

for all unit vectors w*, x (math-spec §5, a reconstruction [D] proved by the tests):

* Mehler: A = <w*, u>, B = <u, x> are standard normals with correlation z = <w*, x>, and
  E[He_i(A) | B] = z^i He_i(B), He_i the probabilists' Hermite polynomials.
* Half line: E[He_i(B) 1{B >= -t}] = He_{i-1}(-t) ϕ(t) (i >= 1), so with the weight
  ω_i(β) = sign(He_{i-1}(-β)) (ω_0 = 1), E[He_i(A) ω_i(β) 1{B + β >= 0}] = z^i P_i,
  P_i = ∫ |He_{i-1}(t)| ϕ(t)² dt > 0  (P_0 = 1/2, P_1 = 1/(2√π), P_2 = 1/(2π)).
* h(a, β) = 1{|a| <= B_t} Σ_i (α_i / P_i) He_i(a) ω_i(β). Without the truncation the
  expectation is φ(z) exactly; the truncation costs <= Σ_i (|α_i|/P_i) √(2 i! Φ(-B_t))
  (Cauchy–Schwarz), and B_t is the least point of a 1/64 grid that makes this <= 0.9 ε2.
  The P_i are computed to relative accuracy ε2 / (10 Σ|α_i|), which costs the other
  0.1 ε2, so the two together are <= ε2. h itself is defined with dyadic P̃_i (the
  enclosures' midpoints, rounded), proved within 2^-p relative of P_i, so that a certificate
  can carry exactly the h it speaks of (math-spec §5.1; advcert.measured.identity encloses
  its identity and range).
* sup |h| <= C_h := Σ_i (|α_i|/P_i) Ĥe_i(B_t), Ĥe the Hermite polynomial with absolute
  coefficients (Ĥe_{k+1} = B Ĥe_k + k Ĥe_{k-1}). Cramér's inequality
  |He_i(a)| <= 1.086435 √(i!) e^{a²/4} [R: Indritz 1961; checked by the tests] gives a
  second bound; both are reported.

Numerics. P_i: the integral of |He_{i-1}| ψ, ψ(t) = e^{-t²}, splits at the roots of
He_{i-1}; on each piece the antiderivative is closed form,
J_k(t) = ∫_{-∞}^t He_k ψ = Q_k(t) ψ(t) + c_k (√π/2)(1 + erf t) with
Q_k = -He_{k-1}/2 - (k-1) Q_{k-2}/2 and c_k = -(k-1) c_{k-2}/2 (integration by parts).
The roots come from the Golub–Welsch eigenvalues and are refined by Newton in Arb; any
partition gives Σ |ΔJ| <= ∫|He_k| ψ, and a certified bracket of each root bounds what the
partition misses, so every P_i is an *enclosure*. The working precision is chosen from the
coefficient sizes (the target accuracy plus the cancellation of the monomial form).

Float evaluation of h: with h̃_i = He_i / √(i!) (a stable normalised recurrence) and
κ_i = α_i √(i!) / P_i, h = Σ κ_i h̃_i(a) ω_i(β). Float64 is safe when Σ_i |κ_i| (i + 1)
max_{j<=i} |h̃_j(a)| · 2^-53 is small against the tolerance; the evaluator computes that
a-posteriori estimate per point and recomputes the points that fail it (and points where a
sign ω_i is not decided in float) in Arb. With |α_i| ~ 2^110 (the paper's headline) the
estimate is ~2^118 · 2^-53 · e^{a²/4} in absolute terms, i.e. relative ~1e-10 of |h|;
with O(1) coefficients float64 is accurate to ~1e-13 absolute.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import numpy as np
from flint import arb, arb_poly, ctx, fmpq, fmpq_poly, fmpz_poly
from scipy.linalg import eigh_tridiagonal
from scipy.special import ndtr

from advcert.poly.complexity import as_arb, log2_upper, precision

#: Indritz's sharp constant in Cramér's inequality |He_n(x)| e^{-x²/4} <= K √(n!), rounded up.
CRAMER_K = Fraction(1086436, 10**6)

#: grid of the truncation point B_t
B_GRID = 64

_U = 2.0**-53


# one Arb precision context and one exact rational -> ball conversion for the package
_precision = precision
_arb_q = as_arb


# ---------------------------------------------------------------------------------------
# Hermite polynomials and the constants P_i
# ---------------------------------------------------------------------------------------

_HE: list[fmpz_poly] = [fmpz_poly([1]), fmpz_poly([0, 1])]


def hermite_he(k: int) -> fmpz_poly:
    """He_k, the probabilists' Hermite polynomial (integer coefficients; Lemma 6.6)."""
    x = fmpz_poly([0, 1])
    while len(_HE) <= k:
        j = len(_HE) - 1
        _HE.append(x * _HE[j] - j * _HE[j - 1])
    return _HE[k]


def _antiderivatives(K: int) -> tuple[list[fmpq_poly], list[Fraction]]:
    """Q_k, c_k with ∫_{-∞}^t He_k ψ = Q_k ψ + c_k (√π/2)(1 + erf t), k <= K (math-spec §5)."""
    Q = [fmpq_poly([]), fmpq_poly([fmpq(-1, 2)])]
    c = [Fraction(1), Fraction(0)]
    for k in range(2, K + 1):
        Q.append(-fmpq_poly(hermite_he(k - 1)) / 2 - fmpq(k - 1, 2) * Q[k - 2])
        c.append(-Fraction(k - 1, 2) * c[k - 2])
    return Q, c


@lru_cache(maxsize=None)
def _he_abs(k: int) -> arb_poly:
    with _precision(64):
        return arb_poly([abs(v) for v in hermite_he(k).coeffs()])


def _in_s(poly: fmpq_poly | fmpz_poly) -> tuple[int, arb_poly]:
    """Write an even/odd polynomial p(t) as t^par E(t²); returns (par, E) as an arb_poly."""
    cs = poly.coeffs()
    if not cs:
            return 0, arb_poly([])
    par = next(j % 2 for j, v in enumerate(cs) if v != 0) if any(v != 0 for v in cs) else 0
    return par, arb_poly([arb(cs[j]) for j in range(par, len(cs), 2)])


def _eval_sym(par: int, E: arb_poly, xs: list[arb]) -> list[arb]:
    if not xs:
        return []
    s = [x * x for x in xs]
    vals = E.evaluate(s, "iter") if len(s) > 1 else [E(s[0])]
    return [v * x for v, x in zip(vals, xs)] if par else list(vals)


def _on_grid(x: arb, bits: int) -> arb:
    """The midpoint of x rounded down to a multiple of 2^-bits (an exact arb)."""
    m, e = x.mid().man_exp()
    m, e = int(m), int(e)
    if e >= -bits:
        return x.mid()
    return arb(m >> (-bits - e)) * arb(2) ** (-bits)


def _working_bits(target_bits: int, k: int) -> int:
    # monomial Horner on He_k near its roots loses about log2(Ĥe_k / |He_k'|) <= ~1.45 k
    # bits, and the root brackets need about target/2 + 0.3 k more; Arb tracks the rest
    # and the caller doubles the precision if a check fails
    return target_bits + 64 + (8 * k) // 5


def _P_enclosure(k: int, target_bits: int, Q: fmpq_poly, c: Fraction) -> arb:
    """∫ |He_k(t)| e^{-t²} dt as a ball of relative radius <= 2^-target_bits (k >= 1)."""
    bits = _working_bits(target_bits, k)
    for _attempt in range(4):
        with _precision(bits):
            val = _P_attempt(k, target_bits, Q, c)
            if val is not None and val.rel_accuracy_bits() >= target_bits:
                return val
        bits = 2 * bits
    raise ArithmeticError(f"P_{k + 1}: could not reach {target_bits} bits of accuracy")


def _P_attempt(k: int, target_bits: int, Q: fmpq_poly, c: Fraction) -> arb | None:
    # Positive roots only: He_k is even/odd, so its roots are symmetric about 0 (and 0 is
    # an exact root when k is odd).
    p = k // 2
    odd = k % 2 == 1
    r = np.sort(_roots_float(k))[k - p:] if p > 0 else np.zeros(0)
    par_k, Ek = _in_s(hermite_he(k))
    par_k1, Ek1 = _in_s(hermite_he(k - 1))
    xs = [arb(float(t)) for t in r]
    # bracket half-width: δ² Ĥe_k(r) e^{-r²} must be far below P (that ratio is <= ~2^{0.3k})
    delta = arb(2) ** (-(target_bits // 2 + (3 * k + 9) // 10 + 48))
    goal = delta * arb(2) ** -8
    final_grid = target_bits // 2 + (3 * k + 9) // 10 + 64
    # Halley's method (cubic convergence; He_k'' = t He_k' - k He_k from Hermite's
    # equation, so it costs no more than Newton) until the next error, about k² |step|³,
    # is far below δ. Iterates are kept on a dyadic grid just fine enough for the accuracy
    # reached so far: short mantissas make the Horner evaluations cheap.
    grid = 100
    for _it in range(10):
        if not xs:
            break
        f = _eval_sym(par_k, Ek, xs)
        d1 = [k * v for v in _eval_sym(par_k1, Ek1, xs)]
        steps = []
        for x, f0, f1 in zip(xs, f, d1):
            f2 = x * f1 - k * f0
            steps.append(2 * f0 * f1 / (2 * f1 * f1 - f0 * f2))
        worst = max((abs(st).upper() for st in steps), default=arb(0))
        done = bool(k * k * worst * worst * worst < goal)
        grid = final_grid if done else min(final_grid, 3 * grid + 16)
        xs = [_on_grid(x - st, grid) for x, st in zip(xs, steps)]
        if done:
            break
    else:
        return None
    roots_pos = xs
    slack = arb(0)
    if roots_pos:
        # He_k changes sign across [r' - δ, r' + δ] (exact end points, no ball blow-up);
        # k disjoint brackets with a sign change each hold the k roots, one each
        ends = [x - delta for x in roots_pos] + [x + delta for x in roots_pos]
        vals = _eval_sym(par_k, Ek, ends)
        for lo, hi in zip(vals[:p], vals[p:]):
            if not ((lo < 0 and hi > 0) or (lo > 0 and hi < 0)):
                return None
        if not (roots_pos[0] - delta > 0):
            return None
        for x, y in zip(roots_pos, roots_pos[1:]):
            if not (y - x > 2 * delta):
                return None
        # what the approximate partition misses: for |r' - r| <= δ, ∫_{r'}^{r} |g| <= δ² M/2
        # with g = He_k ψ and M >= sup |g'| = sup |(k He_{k-1} - 2 t He_k) ψ| on the bracket;
        # |He_j(t)| <= Ĥe_j(|t|) (absolute coefficients, increasing on [0, ∞)). Both pieces
        # next to a root change, and each positive root has a mirror image.
        with _precision(64):
            habs_k, habs_k1 = _he_abs(k), _he_abs(k - 1)
            tops = [(x + delta).upper() for x in roots_pos]
            a_k = habs_k.evaluate(tops, "iter") if len(tops) > 1 else [habs_k(tops[0])]
            a_k1 = habs_k1.evaluate(tops, "iter") if len(tops) > 1 else [habs_k1(tops[0])]
            for x, t, vk, vk1 in zip(roots_pos, tops, a_k, a_k1):
                lo = (x - delta).lower()
                M = (k * vk1.upper() + 2 * t * vk.upper()) * (-(lo * lo)).exp().upper()
                slack += 2 * delta * delta * M
    # J at the roots, J(t) = Q(t) ψ(t) + c (√π/2)(1 + erf t)
    sq = arb.pi().sqrt()
    par_q, EQ = _in_s(Q)
    cc = _arb_q(c)

    def J(xl: list[arb]) -> list[arb]:
        qv = _eval_sym(par_q, EQ, xl)
        out = []
        for x, qx in zip(xl, qv):
            v = qx * (-(x * x)).exp()
            if c != 0:
                v += cc * sq / 2 * (1 + x.erf())
            out.append(v)
        return out

    Jpos = J(roots_pos)
    Jinf = cc * sq
    # all roots in order: J(-t) = J(t) (odd k), J(∞) - J(t) (even k)
    if odd:
        seq = list(reversed(Jpos)) + J([arb(0)]) + Jpos
    else:
        seq = [Jinf - v for v in reversed(Jpos)] + Jpos
    pts = [arb(0)] + seq + [Jinf]
    # any partition gives Σ |ΔJ| <= ∫ |He_k| ψ (triangle inequality): a lower bound
    lower = sum((abs(pts[j + 1] - pts[j]) for j in range(len(pts) - 1)), arb(0))
    return arb.union(lower.lower(), (lower + slack).upper())


#: P_i computed so far in this process (index -> the most accurate ball): the P_i do not
#: depend on φ, so a later request reuses any ball that is already accurate enough
_P_STORE: dict[int, arb] = {}


def hermite_P(K: int, target_bits: int = 128) -> tuple[arb, ...]:
    """P_0 .. P_K of Lemma 6.6 (math-spec §5 step 4) as Arb balls.

    P_0 = 1/2, P_i = ∫ |He_{i-1}(t)| ϕ(t)² dt = (2π)^{-1} ∫ |He_{i-1}| e^{-t²} for i >= 1.
    Each ball has relative radius <= 2^-target_bits and provably contains the true value
    (see the module docstring). Balls are returned at the working precision used.
    """
    if K < 0:
        raise ValueError("K must be >= 0")
    Q, c = _antiderivatives(max(K, 1))
    with _precision(target_bits + 32):
        out = [arb(1) / 2]
        if K >= 1:
            out.append(1 / (2 * arb.pi().sqrt()))
    for i in range(2, K + 1):
        have = _P_STORE.get(i)
        if have is not None and have.rel_accuracy_bits() >= target_bits:
            out.append(have)
            continue
        k = i - 1
        integral = _P_enclosure(k, target_bits, Q[k], c[k])
        with _precision(_working_bits(target_bits, k)):
            val = integral / (2 * arb.pi())
        _P_STORE[i] = val
        out.append(val)
    return tuple(out)


def _roots_float(k: int) -> np.ndarray:
    """Roots of He_k in float64: eigenvalues of the Jacobi matrix (Golub–Welsch)."""
    if k == 0:
        return np.zeros(0)
    if k == 1:
        return np.zeros(1)
    off = np.sqrt(np.arange(1, k, dtype=np.float64))
    r = eigh_tridiagonal(np.zeros(k), off, eigvals_only=True)
    # one float Newton step on the normalised recurrence (the eigenvalues are only good
    # to ~1e-13 for large k); h̃_k' = √k h̃_{k-1}
    h0, h1 = np.ones_like(r), r.copy()
    for i in range(1, k):
        h0, h1 = h1, (r * h1 - math.sqrt(i) * h0) / math.sqrt(i + 1)
    return r - h1 / (math.sqrt(k) * h0)


def hermite_normalised_float(x: np.ndarray, K: int) -> np.ndarray:
    """h̃_i(x) = He_i(x)/√(i!) for i <= K as a (K+1, len(x)) float array (stable recurrence)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty((K + 1,) + x.shape)
    out[0] = 1.0
    if K >= 1:
        out[1] = x
    for i in range(1, K):
        out[i + 1] = (x * out[i] - math.sqrt(i) * out[i - 1]) / math.sqrt(i + 1)
    return out


def abs_hermite_all(K: int, B: Fraction) -> list[Fraction]:
    """Ĥe_0(B) .. Ĥe_K(B): He_k with every coefficient replaced by its absolute value, at B >= 0.

    sup_{|a| <= B} |He_k(a)| <= Ĥe_k(B) (math-spec §5); Ĥe_{j+1} = B Ĥe_j + j Ĥe_{j-1}, in one
    pass (a sum over k of single values would redo the recurrence K times).
    """
    B = Fraction(B)
    out = [Fraction(1), B][: K + 1]
    for j in range(1, K):
        out.append(B * out[j] + j * out[j - 1])
    return out


def abs_hermite(k: int, B: Fraction) -> Fraction:
    """Ĥe_k(B) alone (see :func:`abs_hermite_all`)."""
    return abs_hermite_all(k, B)[k]


# ---------------------------------------------------------------------------------------
# h itself
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Features:
    """h of Lemma 6.6 for φ = Σ α_i z^i at accuracy ε2 (math-spec §5).

    ``P`` are Arb enclosures of P_i; ``P_used`` are the dyadic rationals P̃_i that define h,
    h = 1{|a| <= B_t} Σ (α_i/P̃_i) He_i(a) ω_i(β), each within 2^-``p_bits`` relative of P_i
    (proved here; math-spec §5.1). ``kappa`` = α_i √(i!)/P̃_i in float64 (for the float
    evaluator, one rounding each). ``truncation_bound`` and ``p_error_bound`` are proved
    upper bounds (rationals) of the two error parts; their sum is <= ε2.
    ``log2_C_h`` / ``log2_C_h_cramer`` are log2 of the two sup|h| bounds (upper ends,
    rationals on a 2^-24 grid), ``log2_complexity_*`` are reported by the caller.
    """

    alpha: tuple[Fraction, ...]
    eps2: Fraction
    target_bits: int
    P: tuple[arb, ...] = field(repr=False)
    P_used: tuple[Fraction, ...] = field(repr=False)
    p_bits: int
    B_t: Fraction
    kappa: np.ndarray = field(repr=False)
    truncation_bound: Fraction
    p_error_bound: Fraction
    log2_C_h: Fraction
    log2_C_h_cramer: Fraction
    log2_sum_abs_alpha: float
    seconds: float

    @property
    def degree(self) -> int:
        return len(self.alpha) - 1

    def __call__(self, a: np.ndarray, beta: np.ndarray) -> np.ndarray:
        return h_eval(self, a, beta).values


def precision_bits(alpha: Sequence[Fraction], eps2: Fraction) -> int:
    """Relative accuracy (bits) the P_i need: ε2 / (10 Σ|α_i|), plus 8 guard bits (§5 step 6)."""
    s = sum(abs(Fraction(a)) for a in alpha)
    if s == 0:
        return 64
    need = Fraction(10) * s / Fraction(eps2)
    return max(64, need.numerator.bit_length() - need.denominator.bit_length() + 1 + 8)


def truncation_error(alpha: Sequence[Fraction], P: Sequence[arb], B: Fraction) -> arb:
    """Σ_i (|α_i|/P_i) √(2 i! Φ(-B)), a bound on what 1{|a| <= B} costs (Lemma 6.6, §5)."""
    with _precision(128):
        phi = (_arb_q(Fraction(B)) / arb(2).sqrt()).erfc() / 2  # Φ(-B)
        s = arb(0)
        for i, a in enumerate(alpha):
            if a == 0:
                continue
            s += _arb_q(abs(Fraction(a))) / P[i] * (2 * arb.fac_ui(i) * phi).sqrt()
        return s


def choose_truncation(alpha: Sequence[Fraction], P: Sequence[arb], budget: Fraction) -> tuple[Fraction, arb]:
    """Least B on the grid 1/64 with truncation_error <= budget (upper end; §5 step 5)."""
    with _precision(192):
        S = arb(0)
        for i, a in enumerate(alpha):
            if a != 0:
                S += _arb_q(abs(Fraction(a))) / P[i] * arb.fac_ui(i).sqrt()
        if S == 0:
            return Fraction(0), arb(0)
        # Φ(-B) <= (budget/S)²/2  <=>  erfc(B/√2) <= (budget/S)²
        t = (_arb_q(Fraction(budget)) / S) ** 2
        # erfc(x) ~ e^{-x²}/(x√π): start from the log form, which never underflows
        lt = -float(t.log().mid())
        x = math.sqrt(max(lt, 1.0))
        for _ in range(50):
            x = math.sqrt(max(lt - math.log(x * math.sqrt(math.pi)), 1e-6))
        B0 = Fraction(max(0, math.floor((x * math.sqrt(2) - 0.5) * B_GRID)), B_GRID)
    B = B0
    # walk down while still fine, then up until fine: the least grid point
    while B > 0 and truncation_error(alpha, P, B - Fraction(1, B_GRID)).upper() <= _arb_q(budget):
        B -= Fraction(1, B_GRID)
    err = truncation_error(alpha, P, B)
    while not (err.upper() <= _arb_q(budget)):
        B += Fraction(1, B_GRID)
        err = truncation_error(alpha, P, B)
    return B, err


def build_features(alpha: Sequence[Fraction], eps2: Fraction) -> Features:
    """Construct h of Lemma 6.6 for φ with exact coefficients ``alpha`` at accuracy ε2.

    P_i to relative ε2/(10 Σ|α_i|) (enclosures), B_t the least 1/64-grid point with
    truncation error <= 0.9 ε2, and the two sup|h| bounds (math-spec §5).
    """
    t0 = time.perf_counter()
    alpha = tuple(Fraction(a) for a in alpha)
    eps2 = Fraction(eps2)
    if not 0 < eps2 < 1:
        raise ValueError("Lemma 6.6 needs 0 < ε2 < 1")
    K = len(alpha) - 1
    bits = precision_bits(alpha, eps2)
    P = hermite_P(K, bits)
    sum_abs = sum(abs(a) for a in alpha)
    # h is defined by dyadic P̃_i (short, so that a certificate can carry them): each ball has
    # relative radius <= 2^-bits, so rounding its midpoint to bits + 8 bits keeps P_i within
    # 2^-(bits-1) relative of P̃_i, which is proved below rather than assumed
    p_bits = bits - 1
    P_used = tuple(_round_sig(p.mid(), bits + 8) for p in P[: K + 1])
    with _precision(bits + 64):
        tol = arb(2) ** -p_bits
        for i, (p, pu) in enumerate(zip(P, P_used)):
            if not abs(p - _arb_q(pu)) <= tol * _arb_q(pu):
                raise ArithmeticError(f"P_{i}: the rounded P̃_i is not within 2^-{p_bits} of the enclosure")
    # with P̃_i in h, E[1·h] = Σ α_i z^i P_i/P̃_i untruncated, so the error is <= 2^-p_bits Σ|α_i|
    p_err_q = sum_abs / Fraction(2) ** p_bits
    if p_err_q > eps2 / 10:
        raise ArithmeticError("P_i not accurate enough for ε2 (precision selection bug)")
    P_arb = tuple(_arb_q(pu) for pu in P_used)
    B, trunc = choose_truncation(alpha, P_arb, eps2 * 9 / 10)
    trunc_q = _upper_q(trunc)
    with _precision(bits + 64):
        ch = arb(0)
        chc = arb(0)
        eB = (_arb_q(B) ** 2 / 4).exp()
        H = abs_hermite_all(K, B)
        for i, a in enumerate(alpha):
            if a == 0:
                continue
            w = _arb_q(abs(a) / P_used[i])
            ch += w * _arb_q(H[i])
            chc += w * _arb_q(CRAMER_K) * arb.fac_ui(i).sqrt() * eB
        if ch == 0:
            ch = arb(1)
            chc = arb(1)
        kappa = np.array(
            [float((_arb_q(a / P_used[i]) * arb.fac_ui(i).sqrt()).mid()) for i, a in enumerate(alpha)],
            dtype=np.float64,
        )
    return Features(
        alpha=alpha,
        eps2=eps2,
        target_bits=bits,
        P=P,
        P_used=P_used,
        p_bits=p_bits,
        B_t=B,
        kappa=kappa,
        truncation_bound=trunc_q,
        p_error_bound=p_err_q,
        log2_C_h=log2_upper(ch),
        log2_C_h_cramer=log2_upper(chc),
        log2_sum_abs_alpha=math.log2(float(sum_abs)) if sum_abs > 0 else float("-inf"),
        seconds=time.perf_counter() - t0,
    )


def _round_sig(x: arb, bits: int) -> Fraction:
    """The exact midpoint x rounded to ``bits`` significant bits (a dyadic Fraction)."""
    m, e = x.mid().man_exp()
    m, e = int(m), int(e)
    sh = max(0, abs(m).bit_length() - bits)
    m = (m + (1 << (sh - 1))) >> sh if sh else m
    return Fraction(m) * Fraction(2) ** (e + sh)


def _upper_q(x: arb) -> Fraction:
    """A rational >= the ball (2^-30 relative granularity), for tiny and huge values alike."""
    hi = x.upper()
    if hi <= 0:
        return Fraction(0)
    m, e = hi.mid().man_exp()
    m, e = int(m), int(e)
    # hi is exactly m 2^e after upper(); keep ~40 significant bits, rounded up
    sh = max(0, m.bit_length() - 40)
    m2 = -((-m) >> sh)
    return Fraction(m2) * (Fraction(2) ** (e + sh))


# ---------------------------------------------------------------------------------------
# evaluating h
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HValues:
    """h at a batch of points, with the float evaluator's a-posteriori error estimate.

    ``err`` is an estimate (not a proof) of |computed - h| per point; points that failed the
    tolerance (or had an undecided sign ω_i) were recomputed in Arb (``fallback`` marks them,
    their ``err`` is the Arb radius).
    """

    values: np.ndarray
    err: np.ndarray
    fallback: np.ndarray

    @property
    def fallback_fraction(self) -> float:
        return float(np.mean(self.fallback)) if self.fallback.size else 0.0


def h_float(feat: Features, a: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """h(a, β) in float64 with an error estimate and an undecided-sign flag (Lemma 6.6).

    Returns (values, err_estimate, unsure). The recurrence for h̃_i = He_i/√(i!) is stable;
    its absolute error after i steps is modelled as (i + 1) 2^-53 max_{j<=i} |h̃_j|
    (checked against Arb by the tests), and ω_i = sign(h̃_{i-1}(-β)) is flagged unsure when
    |h̃_{i-1}(-β)| is within 8 times that error.
    """
    a = np.asarray(a, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    a, beta = np.broadcast_arrays(a, beta)
    a = a.ravel()
    nb = -beta.ravel()
    kap = feat.kappa
    K = len(kap) - 1
    ha_prev = np.zeros_like(a)
    ha = np.ones_like(a)
    hb_prev = np.zeros_like(a)
    hb = np.ones_like(a)
    env_a = np.ones_like(a)
    env_b = np.ones_like(a)
    total = np.full_like(a, kap[0])
    err = np.full_like(a, abs(kap[0]) * _U)
    unsure = np.zeros(a.shape, dtype=bool)
    for i in range(1, K + 1):
        # ω_i = sign(h̃_{i-1}(-β)) is the current hb
        unsure |= np.abs(hb) <= 8.0 * i * _U * env_b
        w = np.sign(hb)
        ha_prev, ha = ha, (a * ha - math.sqrt(i - 1) * ha_prev) / math.sqrt(i)
        np.maximum(env_a, np.abs(ha), out=env_a)
        if kap[i] != 0.0:
            total += kap[i] * ha * w
            err += abs(kap[i]) * ((i + 1) * env_a + np.abs(ha)) * _U
        if i < K:
            hb_prev, hb = hb, (nb * hb - math.sqrt(i - 1) * hb_prev) / math.sqrt(i)
            np.maximum(env_b, np.abs(hb), out=env_b)
    err += K * _U * np.abs(total)
    inside = np.abs(a) <= float(feat.B_t)
    # the grid point B_t is a dyadic, so the float comparison is exact
    total = np.where(inside, total, 0.0)
    err = np.where(inside, err, 0.0)
    unsure &= inside
    shape = np.broadcast_shapes(np.shape(a), np.shape(beta))
    return total.reshape(shape), err.reshape(shape), unsure.reshape(shape)


def h_arb(feat: Features, a: float, beta: float) -> arb:
    """h(a, β) in Arb (the slow reference; a and β are taken as exact binary64 values).

    Uses the same P̃_i (``feat.P_used``) as the float evaluator, so it is the
    same function, evaluated with a rigorous radius: the precision doubles until the
    radius is below 2^-60 max(1, |h|). Raises if a sign ω_i cannot be decided.
    """
    a, beta = float(a), float(beta)
    if abs(a) > float(feat.B_t):
        return arb(0)
    K = feat.degree
    bits = 128 + int(1.5 * K) + int(max(0.0, feat.log2_sum_abs_alpha)) + int(K * math.log2(abs(a) + 2.0))
    for _ in range(5):
        with _precision(bits):
            A, NB = arb(a), arb(-beta)
            he_prev, he = arb(0), arb(1)  # He_{i-1}(a), He_i(a) at i = 0
            ge_prev, ge = arb(0), arb(1)  # He_{i-2}(-β), He_{i-1}(-β) at i = 1
            total = _arb_q(feat.alpha[0] / feat.P_used[0])
            ok = True
            for i in range(1, K + 1):
                he_prev, he = he, A * he - (i - 1) * he_prev
                if i >= 2:
                    ge_prev, ge = ge, NB * ge - (i - 2) * ge_prev
                if feat.alpha[i] == 0:
                    continue
                if ge > 0:
                    w = 1
                elif ge < 0:
                    w = -1
                elif ge.is_zero():
                    w = 0
                else:
                    ok = False
                    break
                total += _arb_q(feat.alpha[i] / feat.P_used[i]) * he * w
            if ok and arb(total.rad()) < arb(2) ** -60 * abs(total).upper().max(arb(1)):
                return total
        bits *= 2
    raise ArithmeticError("h_arb: a sign ω_i could not be decided at 4x the starting precision")


def h_eval(feat: Features, a: np.ndarray, beta: np.ndarray, *, rtol: float = 1e-9,
           atol: float = 1e-12, max_fallback: int = 100_000, float_eval=None) -> HValues:
    """h(a, β) to within rtol·max(|h|, s) + atol per point (estimate), Lemma 6.6.

    s is the root-mean-square of h over the batch: h enters the pseudo-network only through
    averages over neurons, so an error that is small against the batch's typical size is
    small where it matters, even at a point where h itself nearly cancels. Float64 first;
    points whose error estimate exceeds the tolerance, or whose sign ω_i is undecided in
    float, are recomputed in Arb (at most ``max_fallback`` of them, else an error).
    ``float_eval(feat, a, beta) -> (values, err, unsure)`` replaces the numpy evaluator
    (the network uses the compiled one in ``advcert.kernels.hermite``).
    """
    vals, err, unsure = (float_eval or h_float)(feat, a, beta)
    scale = float(np.sqrt(np.mean(vals * vals))) if vals.size else 0.0
    bad = unsure | (err > rtol * np.maximum(np.abs(vals), scale) + atol)
    idx = np.flatnonzero(bad.ravel())
    if idx.size > max_fallback:
        raise ArithmeticError(
            f"h_eval: {idx.size} points need Arb (float64 is not accurate enough for these "
            f"coefficients); raise max_fallback or the tolerance"
        )
    if idx.size:
        av, bv = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(beta, dtype=np.float64))
        av, bv = av.ravel(), bv.ravel()
        fv, fe = vals.ravel().copy(), err.ravel().copy()
        for j in idx:
            r = h_arb(feat, av[j], bv[j])
            fv[j] = float(r.mid())
            fe[j] = float(r.rad()) + abs(fv[j]) * _U
        vals, err = fv.reshape(vals.shape), fe.reshape(err.shape)
    return HValues(values=vals, err=err, fallback=bad)


# ---------------------------------------------------------------------------------------
# the infinite-width identity, by quadrature
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityCheck:
    """max over a z-grid of |E[1{<u,x>+β>=0} h(<w*,u>, β)] - φ(z)| by 2-D quadrature (§5).

    ``errors[j]`` is the quadrature value minus φ(z_j) (φ exact). ``quad_error`` estimates
    the quadrature's own error (difference between two refinements), ``float_floor`` the
    float64 rounding floor 2^-53 Σ|terms|. The check is meaningful only when both are well
    below ε2; otherwise ``resolved`` is False.
    """

    z: np.ndarray
    errors: np.ndarray
    quad_error: float
    float_floor: float
    resolved: bool
    nodes: int
    seconds: float

    @property
    def max_error(self) -> float:
        return float(np.max(np.abs(self.errors)))


def phi_exact(alpha: Sequence[Fraction], z: Fraction) -> Fraction:
    """φ(z) = Σ α_i z^i exactly (Horner over rationals)."""
    s = Fraction(0)
    for a in reversed(alpha):
        s = s * z + a
    return s


def _gl_nodes(edges: np.ndarray, per: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(per)
    lo, hi = edges[:-1], edges[1:]
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def _refine(edges: np.ndarray, width: float) -> np.ndarray:
    out = [edges[:1]]
    for lo, hi in zip(edges[:-1], edges[1:]):
        k = max(1, int(math.ceil((hi - lo) / width)))
        out.append(np.linspace(lo, hi, k + 1)[1:])
    return np.concatenate(out)


def float_floor(feat: Features) -> float:
    """2^-53 Σ_i |κ_i|: the float64 rounding floor of any quadrature of h's expansion."""
    return float(np.sum(np.abs(feat.kappa))) * _U * 4


def identity_quadrature(feat: Features, z_grid: Sequence[float], *, per: int = 10,
                        width: float = 0.5, t_max: float = 9.0) -> IdentityCheck:
    """Check E[1{B + β >= 0} h(A, β)] = φ(z) ± ε2 on a z-grid by 2-D quadrature (Lemma 6.6).

    With A, B standard normals of correlation z and β ~ N(0,1),
    E = ∫∫ h(a, t) Φ((z a + t)/√(1-z²)) ϕ(a) ϕ(t) da dt. The t-integral is split at every
    root of He_{i-1}(-t), i <= K (where ω changes), the a-integral at the grid of width
    ``width`` on [-B_t, B_t]; Gauss–Legendre with ``per`` nodes on each piece, and again
    with the pieces halved to estimate the quadrature error. Mehler's formula is not used:
    this is an independent check of it and of the P_i.
    """
    t0 = time.perf_counter()
    K = feat.degree
    B = float(feat.B_t)
    z_grid = [float(z) for z in z_grid]
    if any(not -1 < z < 1 for z in z_grid):
        raise ValueError("the z-grid must lie inside (-1, 1)")
    roots = [0.0]
    for k in range(1, K):
        off = np.sqrt(np.arange(1, k, dtype=np.float64))
        roots.extend(eigh_tridiagonal(np.zeros(k), off, eigvals_only=True).tolist() if k > 1 else [0.0])
    br = np.unique(np.round(np.array(roots), 14))
    br = br[np.abs(br) < t_max]
    t_edges0 = np.concatenate([[-t_max], br, [t_max]])

    def one(wdt: float) -> tuple[np.ndarray, int]:
        smin = min(math.sqrt(1 - z * z) for z in z_grid)
        wa = min(wdt, max(smin, 0.05))
        a_edges = _refine(np.array([-B, B]) if B > 0 else np.array([-1e-300, 1e-300]), wa)
        ta, wta = _gl_nodes(a_edges, per)
        t_edges = _refine(t_edges0, wa)
        tt, wtt = _gl_nodes(t_edges, per)
        # h̃_i(a) ϕ(a) w_a and Σ_i κ_i ω_i(t) (.) at the t-nodes
        Ha = hermite_normalised_float(ta, K) * (np.exp(-ta * ta / 2) / math.sqrt(2 * math.pi) * wta)
        Hb = hermite_normalised_float(-tt, max(K - 1, 0))
        om = np.ones((K + 1, tt.size))
        if K >= 1:
            om[1:] = np.sign(Hb[:K])
        coef = feat.kappa[:, None] * om  # (K+1, Nt)
        wt = np.exp(-tt * tt / 2) / math.sqrt(2 * math.pi) * wtt
        res = np.empty(len(z_grid))
        for j, z in enumerate(z_grid):
            s = math.sqrt(1 - z * z)
            acc = 0.0
            for c0 in range(0, tt.size, 4096):
                c1 = min(tt.size, c0 + 4096)
                Phi = ndtr((z * ta[:, None] + tt[None, c0:c1]) / s)  # (Na, Nt_chunk)
                M = Ha @ Phi  # (K+1, chunk)
                acc += float(np.sum(np.sum(coef[:, c0:c1] * M, axis=0) * wt[c0:c1]))
            res[j] = acc
        return res, ta.size * tt.size

    coarse, _ = one(width)
    fine, nodes = one(width / 2)
    target = np.array([float(phi_exact(feat.alpha, Fraction(z))) for z in z_grid])
    qerr = float(np.max(np.abs(fine - coarse)))
    floor = float_floor(feat)
    return IdentityCheck(
        z=np.array(z_grid),
        errors=fine - target,
        quad_error=qerr,
        float_floor=floor,
        resolved=bool(max(qerr, floor) < float(feat.eps2) / 10),
        nodes=int(nodes),
        seconds=time.perf_counter() - t0,
    )
