"""Lemma 6.4: the sign polynomial p1.

Construction (math-spec §2, after Frostig–Musco–Musco–Sidford and Sachdeva–Vishnoi):

1. Taylor: sgn x = x (1 - y)^{-1/2} with y = 1 - x^2, truncated at order k,
   p_k(x) = x Σ_{i<=k} c_i y^i with c_i = C(2i, i)/4^i. On [η, 1],
   0 <= 1 - p_k <= E_tr = c_{k+1} (1 - η²)^{k+1} / η.
2. Compression: y^i = E[T_{|D_i|}(y)] for D_i a sum of i fair signs; dropping the
   Chebyshev terms of degree > d costs at most P[|D_i| > d] on [-1, 1], so
   E_cp = Σ_{i=d+1}^{k} c_i P[|D_i| > d]. Equivalently Q is the degree-d Chebyshev
   truncation of the Taylor polynomial Σ c_i y^i, and p1(x) = x Q(1 - x²), degree 2d + 1.

k is the least order with E_tr <= ε1/2 and then d the least with E_cp <= ε1/2, both
decided in exact integer arithmetic. The stored coefficients are the exact ones rounded to
the dyadic grid 2^-B (B = ``grid_bits``), which keeps certificates small; the rounding
moves p1 by at most ``rounding`` on [-1, 1] and, more to the point, every claim about p1
is certified on the stored polynomial itself (``advcert.poly.certify``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from flint import fmpq, fmpq_poly, fmpz_poly

GRID_BITS = 64


@dataclass(frozen=True, eq=False)
class SignPolynomial:
    """p1 of Lemma 6.4: |p1 - sgn| <= ε1 on [-1, -η] ∪ [η, 1] (certified separately)."""

    eta: Fraction
    eps1: Fraction
    taylor_k: int
    cheb_d: int
    poly: fmpq_poly  # the stored p1, exact monomial coefficients
    cheb_b: np.ndarray  # float64 Chebyshev coefficients of Q of the unrounded construction
    err_taylor: Fraction  # a-priori E_tr (exact)
    err_compress: Fraction  # a-priori E_cp (exact)
    rounding: Fraction  # sup_{[-1,1]} |stored - constructed| <= rounding
    grid_bits: int

    @property
    def degree(self) -> int:
        return 2 * self.cheb_d + 1

    @property
    def a_priori_error(self) -> Fraction:
        """E_tr + E_cp + rounding: a proved bound on sup_{[η,1]} |p1 - 1|."""
        return self.err_taylor + self.err_compress + self.rounding

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Float evaluation through the stable Chebyshev form (an estimate, ~1e-15)."""
        x = np.asarray(x, dtype=np.float64)
        return x * clenshaw(1.0 - x * x, self.cheb_b)


def taylor_error(k: int, eta: Fraction) -> Fraction:
    """E_tr(k) = c_{k+1} (1 - η²)^{k+1} / η, exactly (Lemma 6.4, Taylor step)."""
    c = Fraction(math.comb(2 * (k + 1), k + 1), 4 ** (k + 1))
    return c * (1 - eta * eta) ** (k + 1) / eta


def _taylor_error_le(k: int, eta: Fraction, target: Fraction) -> bool:
    """E_tr(k) <= target, decided by one cross-multiplied integer comparison (no gcds)."""
    p, q = eta.numerator, eta.denominator
    lhs = math.comb(2 * (k + 1), k + 1) * (q * q - p * p) ** (k + 1) * q * target.denominator
    rhs = target.numerator * 4 ** (k + 1) * q ** (2 * (k + 1)) * p
    return lhs <= rhs


def least_taylor_order(eta: Fraction, target: Fraction) -> int:
    """Least k with E_tr(k) <= target (E_tr decreases in k)."""
    # Float start from ln E_tr ≈ -ln(π(k+1))/2 + (k+1) ln(1-η²) - ln η, then exact steps.
    e2 = float(eta) ** 2
    lt = math.log(float(target)) + math.log(float(eta))
    k = 0
    for _ in range(4):
        k = max(0, int((lt + 0.5 * math.log(math.pi * (k + 1))) / math.log1p(-e2)) - 1)
    while k > 0 and _taylor_error_le(k - 1, eta, target):
        k -= 1
    while not _taylor_error_le(k, eta, target):
        k += 1
    return k


def _compression_numerator(k: int, d: int) -> int:
    """2^{3k} E_cp(k, d) as an integer (see :func:`compression_error`)."""
    if d >= k:
        return 0
    num = 0
    i, t, u = d + 1, d + 1, 1  # U_{d+1}(d+1) = C(d+1, d+1) = 1
    central = math.comb(2 * i, i)  # C(2i, i)
    c_lo, c_hi = math.comb(i, t - 1), 1  # C(i, t-1), C(i, t)
    while True:
        num += (central * u) << (3 * (k - i) + 1)
        if i == k:
            break
        # Pascal: U_{i+1}(t) = U_i(t) + U_i(t-1) = 2 U_i(t) + C(i, t-1)
        u = 2 * u + c_lo
        # C(i+1, t-1) = C(i, t-1) + C(i, t-2);  C(i+1, t) = C(i, t) + C(i, t-1)
        c_lo, c_hi = c_lo * (i + 1) // (i + 2 - t), c_hi + c_lo
        central = central * 2 * (2 * i + 1) // (i + 1)
        i += 1
        if (i + d) // 2 + 1 == t + 1:
            u -= c_hi
            # shift the pair of binomials one step right along row i: C(i, t), C(i, t+1)
            c_lo, c_hi = c_hi, c_hi * (i - t) // (t + 1)
            t += 1
    return num


def compression_error(k: int, d: int) -> Fraction:
    """E_cp(k, d) = Σ_{i=d+1}^{k} c_i P[|D_i| > d], exactly (Lemma 6.4, compression step).

    P[|D_i| > d] = 2 U_i / 2^i with U_i = Σ_{b >= t_i} C(i, b), t_i = ⌊(i+d)/2⌋ + 1;
    U_i and the two binomials next to t_i are carried from i to i+1 by Pascal's rule, so
    one evaluation costs O(k) big-integer steps.
    """
    return Fraction(_compression_numerator(k, d), 1 << (3 * k))


def least_cheb_order(k: int, target: Fraction) -> int:
    """Least d with E_cp(k, d) <= target (E_cp decreases in d, and E_cp(k, k) = 0)."""
    scaled = target * (1 << (3 * k))

    def ok(d: int) -> bool:
        return _compression_numerator(k, d) <= scaled

    # A float model of E_cp (log-space binomial tails) locates d to within one or two; the
    # exact integer test then decides, bracketing outwards only if the model was off.
    guess = _float_least_cheb_order(k, float(target))
    lo, hi = guess, guess
    step = 1
    while lo > 0 and ok(lo):
        lo = max(0, lo - step)
        step *= 2
    step = 1
    while not ok(hi):
        hi = min(k, hi + step)
        step *= 2
    if ok(lo):
        return lo
    while hi - lo > 1:  # invariant: not ok(lo), ok(hi)
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _float_least_cheb_order(k: int, target: float) -> int:
    """Least d with a float64 model of E_cp(k, d) <= target (a guess; decided exactly later)."""
    from scipy.special import bdtrc, gammaln  # scipy.stats would cost a second to import

    i = np.arange(1, k + 1)
    log_c = gammaln(2 * i + 1) - 2 * gammaln(i + 1) - i * math.log(4.0)

    def model(d: int) -> float:
        ii = i[d:]
        if ii.size == 0:
            return 0.0
        t = (ii + d) // 2 + 1
        tail = 2.0 * bdtrc(t - 1, ii, 0.5)  # P[B_i >= t] for B_i ~ Bin(i, 1/2)
        return float(np.sum(np.exp(log_c[d:]) * tail))

    lo, hi = 0, k
    while lo < hi:
        mid = (lo + hi) // 2
        if model(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def chebyshev_numerators(k: int, d: int) -> list[int]:
    """Integers M_j with Q = Σ_{j<=d} (2 - [j=0]) M_j T_j / 2^{3k} (Lemma 6.4).

    With y = (z + 1/z)/2 and T_j(y) = (z^j + z^-j)/2, the Taylor polynomial becomes the
    Laurent polynomial Σ_i c_i 2^-i (z + 1/z)^i, and M_j is 2^{3k} times its z^j
    coefficient. Scaled and times z^k it is S = Σ_i C(2i,i) 2^{3(k-i)} z^{k-i} (1 + z²)^i,
    summed by divide and conquer so that FLINT's fast multiplication does the work:
    G(lo, hi) = z^{hi-mid} G(lo, mid) + (1 + z²)^{mid-lo} G(mid, hi).
    """
    powers: dict[int, fmpz_poly] = {}

    def one_plus_z2(e: int) -> fmpz_poly:
        if e not in powers:
            powers[e] = fmpz_poly([1, 0, 1]) ** e
        return powers[e]

    central = [1] * (k + 1)  # C(2i, i), by the ratio 2(2i-1)/i (math.comb is 100x slower here)
    for i in range(1, k + 1):
        central[i] = central[i - 1] * 2 * (2 * i - 1) // i

    def g(lo: int, hi: int) -> fmpz_poly:
        if hi - lo == 1:
            return fmpz_poly([central[lo] << (3 * (k - lo))])
        mid = (lo + hi) // 2
        return g(lo, mid).left_shift(hi - mid) + one_plus_z2(mid - lo) * g(mid, hi)

    coeffs = g(0, k + 1).coeffs()
    return [int(coeffs[k + j]) if k + j < len(coeffs) else 0 for j in range(d + 1)]


def chebyshev_y(p1: fmpq_poly) -> list[Fraction]:
    """Exact b_j with p1(x) = x Σ_j b_j T_j(1 - x²), for an odd p1 (Lemma 6.4's stable form).

    p1 = x R(x²) for odd p1, so Q(y) = R(1 - y); its Chebyshev coefficients come from
    peeling off leading terms (T_m has leading coefficient 2^{m-1}), exactly.
    """
    coeffs = p1.coeffs()
    if any(c != 0 for c in coeffs[0::2]):
        raise ValueError("chebyshev_y needs an odd polynomial")
    r = fmpq_poly(coeffs[1::2])
    rem = r(fmpq_poly([1, -1]))
    out = [Fraction(0)] * (max(rem.degree(), 0) + 1)
    for m in range(rem.degree(), -1, -1):
        lead = rem.coeffs()[m] if m < len(rem.coeffs()) else 0
        if lead == 0:
            continue
        t_m = fmpq_poly(fmpz_poly.chebyshev_t(m))
        b = lead / (2 ** (m - 1)) if m >= 1 else lead
        out[m] = Fraction(int(b.p), int(b.q))
        rem = rem - b * t_m
    return out


def chebyshev_x(p: fmpq_poly) -> list[Fraction]:
    """Exact a_j with p(x) = Σ_j a_j T_j(x): a well-conditioned form of p on [-1, 1]."""
    rem = fmpq_poly(p)
    out = [Fraction(0)] * (max(rem.degree(), 0) + 1)
    for m in range(rem.degree(), -1, -1):
        cs = rem.coeffs()
        lead = cs[m] if m < len(cs) else 0
        if lead == 0:
            continue
        b = lead / (2 ** (m - 1)) if m >= 1 else lead
        out[m] = Fraction(int(b.p), int(b.q))
        rem = rem - b * fmpq_poly(fmpz_poly.chebyshev_t(m))
    return out


def clenshaw(y: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ_j b_j T_j(y) by Clenshaw's recurrence (stable; float64)."""
    y = np.asarray(y, dtype=np.float64)
    b1 = np.zeros_like(y)
    b2 = np.zeros_like(y)
    for j in range(len(b) - 1, 0, -1):
        b1, b2 = 2.0 * y * b1 - b2 + b[j], b1
    return y * b1 - b2 + b[0]


def _round_to_grid(p: fmpq_poly, bits: int) -> tuple[fmpq_poly, Fraction]:
    """Round each coefficient to the nearest multiple of 2^-bits; return the bound on [-1,1]."""
    scale = 1 << bits
    out = []
    moved = 0
    for c in p.coeffs():
        num, den = int(c.p), int(c.q)
        r = (2 * num * scale + den) // (2 * den)  # nearest integer to c * 2^bits
        out.append(fmpq(r, scale))
        if fmpq(r, scale) != c:
            moved += 1
    # each moved coefficient changes p by <= 2^-(bits+1) |x|^j <= 2^-(bits+1) on [-1, 1]
    return fmpq_poly(out), Fraction(moved, 2 * scale)


def sign_polynomial(eta: Fraction, eps1: Fraction, *, grid_bits: int = GRID_BITS) -> SignPolynomial:
    """Build p1 of Lemma 6.4 for the given η and ε1 (exact; see the module docstring)."""
    eta, eps1 = Fraction(eta), Fraction(eps1)
    if not (0 < eta < 1):
        raise ValueError("Lemma 6.4 needs 0 < η < 1")
    if not (0 < eps1 < 1):
        raise ValueError("Lemma 6.4 needs 0 < ε1 < 1")
    half = eps1 / 2
    k = least_taylor_order(eta, half)
    d = least_cheb_order(k, half)
    m = chebyshev_numerators(k, d)
    weights = [m[0]] + [2 * v for v in m[1:]]  # Chebyshev coefficients × 2^{3k}
    # Q(y) in monomials by Clenshaw over integer polynomials
    y = fmpz_poly([0, 1])
    b1 = fmpz_poly([])
    b2 = fmpz_poly([])
    for j in range(d, 0, -1):
        b1, b2 = 2 * y * b1 - b2 + weights[j], b1
    q_int = y * b1 - b2 + weights[0]
    p_int = fmpz_poly([0, 1]) * q_int(fmpz_poly([1, 0, -1]))
    exact = fmpq_poly(p_int, 1 << (3 * k))
    stored, rounding = _round_to_grid(exact, grid_bits)
    # The float form keeps the *unrounded* construction's b_j = weights_j / 2^{3k} (all of
    # size <= 2): it is within `rounding` of the stored p1 on [-1, 1]. The stored p1's own
    # Chebyshev-in-y coefficients (chebyshev_y) are exact but huge, because the rounding
    # moves Q far away on y < 0, which x in [-1, 1] never reaches.
    cheb_b = np.array([float(Fraction(w, 1 << (3 * k))) for w in weights])
    return SignPolynomial(
        eta=eta,
        eps1=eps1,
        taylor_k=k,
        cheb_d=d,
        poly=stored,
        cheb_b=cheb_b,
        err_taylor=taylor_error(k, eta),
        err_compress=compression_error(k, d),
        rounding=rounding,
        grid_bits=grid_bits,
    )
