"""The exact sup-norm prover of the enclosure checks of Lemma 6.4 and Claim 6.3.

The verifier's own method, different from the builders' Arb-ball branch and bound
(advcert/poly/certify.py): Descartes' rule of signs with bisection, the
Vincent-Collins-Akritas scheme, on exact integer polynomials. It proves or refutes
sup_{x in [a, b]} |P(x) - c| <= U; past its depth and node budget it gives up, and the
check fails as "not proved", never as "holds".
"""

from __future__ import annotations

from flint import fmpq, fmpq_poly, fmpz_poly

from .numbers import _fmt


# Bisection depth and node budget of the Descartes prover: past them the prover gives
# up and the check FAILS as "not proved" (never as "holds").
MAX_DEPTH = 80
MAX_NODES = 20000
WORK_UNITS = 1 << 32
"""Budget of one :func:`prove_sup_abs` call, in word operations of the Taylor shifts: a node
of degree D with B-bit coefficients costs about (D+1)^2 (B + 64)/64 (about two nanoseconds
each), so one sup-norm proof stops within seconds whatever the degree and the size of the
coefficients; past it the proof gives up and the check FAILS as "not proved"."""

_SHIFT = fmpz_poly([1, 1])


def _variations(coeffs) -> tuple[int, int]:
    """Sign variations of a coefficient list (zeros skipped) and the sign of the first
    non-zero coefficient (0 for the zero list)."""
    v, last, first = 0, 0, 0
    for c in coeffs:
        if c == 0:
            continue
        s = 1 if c > 0 else -1
        if last == 0:
            first = s
        elif s != last:
            v += 1
        last = s
    return v, first


def _nonnegative_01(G: fmpz_poly, work: list[int] | None = None) -> tuple[str | None, fmpq, fmpq, int]:
    """Prove G(s) >= 0 on [0, 1] (G > 0 on (0, 1) except at bisection points).

    Descartes' rule on (1+t)^D G(1/(1+t)) bounds the number of roots in (0, 1): zero
    sign variations with a positive first coefficient proves positivity, exactly one
    variation proves a simple root, hence a sign change; otherwise the interval is
    halved (Vincent-Collins-Akritas). Returns (reason, s_lo, s_hi, nodes): reason None
    when proved; "negative" (G < 0 at s_lo = s_hi, or on all of (s_lo, s_hi)), "root"
    (a sign change in (s_lo, s_hi)), "depth" or "nodes" (gave up, not proved).
    """
    zero, one = fmpq(0), fmpq(1)
    if G.is_zero():
        return None, zero, one, 0
    cs = G.coeffs()
    if cs[0] < 0:
        return "negative", zero, zero, 0
    if sum(cs) < 0:
        return "negative", one, one, 0
    work = [WORK_UNITS] if work is None else work
    stack = [(G, 0, 0)]
    nodes = 0
    while stack:
        G, lvl, k = stack.pop()
        nodes += 1
        w = fmpq(1, 2**lvl)
        if nodes > MAX_NODES:
            return "nodes", k * w, (k + 1) * w, nodes
        cs = G.coeffs()
        D = len(cs) - 1
        bits = max(int(abs(cs[0])).bit_length(), int(abs(cs[-1])).bit_length(), int(abs(cs[D // 2])).bit_length()) if cs else 0
        work[0] -= (D + 1) ** 2 * (bits + D + 64) // 64
        if work[0] < 0:
            return "work", k * w, (k + 1) * w, nodes
        if D <= 0:
            if cs and cs[0] < 0:
                return "negative", k * w, (k + 1) * w, nodes
            continue
        T = fmpz_poly(cs[::-1])(_SHIFT)
        v, first = _variations(T.coeffs())
        if v == 0:
            if first < 0:
                return "negative", k * w, (k + 1) * w, nodes
            continue
        if v == 1:
            return "root", k * w, (k + 1) * w, nodes
        if lvl >= MAX_DEPTH:
            return "depth", k * w, (k + 1) * w, nodes
        L = fmpz_poly([c << (D - j) for j, c in enumerate(cs)])  # 2^D G(s/2)
        R = L(_SHIFT)  # 2^D G((s+1)/2)
        rc = R.coeffs()
        if rc and rc[0] < 0:
            mid = (2 * k + 1) * w / 2
            return "negative", mid, mid, nodes
        cl, cr = L.content(), R.content()
        if cl > 1:
            L = L / cl
        if cr > 1:
            R = R / cr
        stack.append((R, lvl + 1, 2 * k + 1))
        stack.append((L, lvl + 1, 2 * k))
    return None, zero, one, nodes


def _dyadic_hull(a: fmpq, b: fmpq, bits: int = 64) -> tuple[fmpq, fmpq]:
    """Dyadic a' <= a < b <= b' with b' - b and a - a' below 2^-bits (b - a)."""
    w = b - a
    k = bits + max(0, int(w.q).bit_length() - int(w.p).bit_length() + 1)
    s = 1 << k
    lo = fmpq(int((a * s).floor()), s)
    hi = fmpq(-int((-b * s).floor()), s)
    return lo, hi


def _prove_on(P: fmpq_poly, c: fmpq, U: fmpq, a: fmpq, b: fmpq, work: list[int] | None = None) -> tuple[str | None, fmpq, fmpq, int, int]:
    H = P(fmpq_poly([a, b - a]))
    total = 0
    for sign, g in ((1, fmpq_poly([U + c]) - H), (-1, fmpq_poly([U - c]) + H)):
        reason, s_lo, s_hi, nodes = _nonnegative_01(g.numer(), work)
        total += nodes
        if reason is not None:
            return reason, a + (b - a) * s_lo, a + (b - a) * s_hi, sign, total
    return None, a, b, 0, total


def prove_sup_abs(P: fmpq_poly, c: fmpq, U: fmpq, a: fmpq, b: fmpq, name: str, var: str = "x") -> tuple[str | None, int]:
    """Prove sup_{x in [a, b]} |P(x) - c| <= U exactly (Lemma 6.4 and Claim 6.3 checks).

    The verifier's own method: both U - (P - c) and U + (P - c) are shown
    non-negative on [a, b] by :func:`_nonnegative_01`, applied to the integer polynomial
    obtained from x = a + (b - a) s after clearing denominators (a positive multiple, so
    signs are kept). It first tries a slightly larger interval with short dyadic ends
    (a proof there covers [a, b], with far smaller integers) and falls back to [a, b]
    itself, so every reported failure lies in [a, b]. Returns (None, nodes) when
    proved, else (why not, nodes).
    """
    shown = name if c == 0 else f"{name} - {_fmt(c)}"
    if a == b:
        # a one-point interval (rho = 0 and tau = 0 give I_in = [1, 1])
        if abs(P(a) - c) <= U:
            return None, 0
        return f"|{shown}| > {_fmt(U)} at {var} = {_fmt(a)}", 0
    if a > b:
        return f"the interval [{_fmt(a)}, {_fmt(b)}] is empty", 0
    total = 0
    work = [WORK_UNITS]
    ha, hb = _dyadic_hull(a, b)
    if ha.q < a.q or hb.q < b.q:
        reason, *_, nodes = _prove_on(P, c, U, ha, hb, work)
        total += nodes
        if reason is None:
            return None, total
    if work[0] < 0:
        work[0] = WORK_UNITS // 4  # the hull ran out: [a, b] itself gets a last quarter
    reason, x_lo, x_hi, sign, nodes = _prove_on(P, c, U, a, b, work)
    total += nodes
    if reason is None:
        return None, total
    cmp = f"{shown} > {_fmt(U)}" if sign == 1 else f"{shown} < -{_fmt(U)}"
    if reason == "negative" and x_lo == x_hi:
        return f"{cmp} at {var} = {_fmt(x_lo)}", total
    if reason in ("negative", "root"):
        return f"{cmp} somewhere in [{_fmt(x_lo)}, {_fmt(x_hi)}]", total
    limit = {"depth": f"depth {MAX_DEPTH}", "work": f"work budget of {WORK_UNITS} units"}.get(reason, f"{MAX_NODES} sub-intervals")
    return (
        f"could not prove |{shown}| <= {_fmt(U)}: the Descartes bisection gave up "
        f"({limit}) near {var} in [{_fmt(x_lo)}, {_fmt(x_hi)}]", total
    )
