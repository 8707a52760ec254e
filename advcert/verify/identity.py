"""Lemma 6.6 re-derived: the identity E[1{<u,x>+β>=0} h(<w*,u>, β)] = q(z) ± eps2 and h's range.

docs/certificate.md, "The Lemma 6.6 checks"; the mathematics is math-spec §5.1. The h of the
certificate is h(a, β) = 1{|a| <= B_t} Σ_i (q_i/P̃_i) He_i(a) ω_i(β), ω_i(β) = sign(He_{i−1}(−β))
(ω_0 = 1), with the dyadic P̃_i and B_t of ``lemma-6.6``'s details. With
P_i = (2π)^{-1} ∫ |He_{i−1}(t)| e^{−t²} dt (P_0 = 1/2) and p = details.h.precision_bits:

* ``lemma-6.6``: every P_i is proved within 2^-p relative of P̃_i, here, by an own method
  (Arb's certified root isolation of He_{i−1}, and the closed-form antiderivative of
  He_k e^{−t²} solved from Q′ − 2tQ + c = He_k); each piece Z of the stored subdivision of
  [−1, 1] must carry exactly the enclosure [−b(Z), b(Z)],
  b(Z) = 2^-p Σ|q_i| M^i + Σ (|q_i|/P̃_i) √(2 i! Φ(−B_t)), M = max_Z |z|, rounded up by at most
  2^-20 relative; value = the largest b(Z), bound = eps2.
* ``lemma-6.6/range``: C_h = Σ (|q_i|/P̃_i) Ĥe_i(B_t) exactly; sound-bound: log2 C_h <= value
  and bound <= log2 C(q, eps2) (Arb); estimate: the witness's |h(a*, β*)|, evaluated exactly,
  is >= 2^value, and C_h really exceeds the bound (else the builder hid a proof).

Work is bounded before it starts (:data:`MAX_IDENTITY_WORK`, :data:`MAX_PIECES`).
"""

from __future__ import annotations

import json
from pathlib import Path

from flint import arb, arb_poly, fmpq, fmpz_poly
from flint import ctx as flint_ctx

from .constants import _arb_precision, _complexity_balls, _eps2
from .context import _check_estimate, _Ctx, _settle
from .numbers import _fmt, _number, _rat
from .report import Refused, _Fail

MAX_PIECES = 4096
"""Budget: the most pieces of [−1, 1] in ``lemma-6.6``."""

MAX_PRECISION_BITS = 4096
"""Budget: the largest ``precision_bits`` (the relative accuracy claimed for every P̃_i)."""

MAX_B_T = 1024
"""The largest truncation point read (|a| > 40 already has Gaussian mass below 2^-1150)."""

MAX_IDENTITY_WORK = 2**35
"""Budget: (D + 1)³ (p + 64) for re-deriving the P_i of degree D at p bits (the headline: 2^32.1)."""

_TIGHT = fmpq(1, 2**20)  # how much wider than the re-derived enclosure a stored one may be


def _he(k: int) -> list[fmpz_poly]:
    x = fmpz_poly([0, 1])
    out = [fmpz_poly([1]), x]
    for j in range(1, k):
        out.append(x * out[j] - j * out[j - 1])
    return out[: k + 1]


def _antiderivative(he: fmpz_poly) -> tuple[list[fmpq], fmpq]:
    """Q, c with (Q e^{−t²})′ + c e^{−t²} = He_k e^{−t²}, i.e. Q′ − 2tQ + c = He_k, degree by degree."""
    h = [fmpq(v) for v in he.coeffs()]
    k = len(h) - 1
    Q = [fmpq(0)] * (k + 2)
    for j in range(k, 0, -1):
        # the coefficient of t^j: (j + 1) Q_{j+1} − 2 Q_{j−1} = h_j
        Q[j - 1] = ((j + 1) * Q[j + 1] - h[j]) / 2
    return Q, h[0] - Q[1]


def _integral_half(he: fmpz_poly, k: int, bits: int) -> arb:
    """∫_0^∞ |He_k(t)| e^{−t²} dt at working precision ``bits`` (k >= 1), as a ball."""
    flint_ctx.prec = bits
    reduced = fmpz_poly(he.coeffs()[1:]) if k % 2 else he  # He_k/t for odd k: no root at 0
    roots = [r for r, _ in reduced.complex_roots()] if reduced.degree() > 0 else []
    if any(not r.imag.is_zero() for r in roots) or len(roots) != reduced.degree():
        raise ArithmeticError(f"He_{k}: the roots were not all isolated as simple real roots")
    pos = sorted((r.real for r in roots if r.real > 0), key=lambda b: b.mid())
    if len(pos) != k // 2:
        raise ArithmeticError(f"He_{k}: found {len(pos)} positive roots, expected {k // 2}")
    Q, c = _antiderivative(he)
    Qp = arb_poly([arb(v) for v in Q])
    half_sqrt_pi = arb.pi().sqrt() / 2
    cc = arb(c)

    def J(t: arb) -> arb:
        return Qp(t) * (-(t * t)).exp() + cc * half_sqrt_pi * (1 + t.erf())

    # He_k keeps its sign between consecutive roots, so each piece contributes |ΔJ| exactly
    pts = [J(arb(0))] + [J(t) for t in pos] + [2 * cc * half_sqrt_pi]
    return sum((abs(pts[j + 1] - pts[j]) for j in range(len(pts) - 1)), arb(0))


#: P_{k+1} balls computed in this process, by k: they are constants of mathematics, not of a
#: certificate, so a later certificate (or a re-verification) may reuse an accurate enough one
_P_CACHE: dict[int, arb] = {}


def _P_ball(he: fmpz_poly, k: int, need_bits: int) -> arb:
    """P_{k+1} = (2π)^{-1} ∫ |He_k| e^{−t²} = π^{-1} ∫_0^∞ |He_k| e^{−t²}, relative accuracy >= need_bits."""
    have = _P_CACHE.get(k)
    if have is not None and have.rel_accuracy_bits() >= need_bits:
        return have
    old = flint_ctx.prec
    bits = need_bits + 48 + k // 4
    try:
        for _ in range(3):
            val = _integral_half(he, k, bits) / arb.pi()
            if val.rel_accuracy_bits() >= need_bits:
                _P_CACHE[k] = val
                return val
            bits *= 2
    finally:
        flint_ctx.prec = old
    raise ArithmeticError(f"P_{k + 1}: {need_bits} bits of accuracy not reached")


TABLE_PATH = Path(__file__).with_name("hermite_P.json")
"""The checker's own P_1 .. P_K, computed once by :func:`_P_ball` (:func:`write_table`) and
shipped with it, so that verifying the headline does not repeat ~20 s of root isolation; the
tests recompute entries and compare. Beyond the table (index or precision) :func:`_P_ball`
runs on the fly, within :data:`MAX_IDENTITY_WORK`."""


def write_table(path: Path, K: int, bits: int) -> None:
    """Compute P_1 .. P_K to ``bits`` bits with :func:`_P_ball` and store them as m, e, r with
    P ∈ [(m − r) 2^e, (m + r) 2^e] (integers; docs/certificate.md, "The Lemma 6.6 checks")."""
    he = _he(K)
    rows = []
    for i in range(1, K + 1):
        ball = _P_ball(he[i - 1], i - 1, bits)
        m, e = ball.mid().man_exp()
        r, er = arb(ball.rad()).mid().man_exp()
        # the radius on the midpoint's scale, rounded up (one more unit covers the rounding)
        r_on = (int(r) << max(0, int(er) - int(e))) >> max(0, int(e) - int(er))
        rows.append([str(int(m)), int(e), str(r_on + 1)])
    path.write_text(json.dumps({"format": "advcert-hermite-P", "bits": bits, "first": 1, "P": rows}) + "\n")


_TABLE: list[tuple[int, tuple[arb, ...]]] = []  # the table once read, for this process


def _table() -> tuple[int, tuple[arb, ...]]:
    if not _TABLE:
        _TABLE.append(_read_table())
    return _TABLE[0]


def _read_table() -> tuple[int, tuple[arb, ...]]:
    try:
        data = json.loads(TABLE_PATH.read_text())
    except (OSError, ValueError):
        return 0, ()
    bits, balls, old = int(data["bits"]), [], flint_ctx.prec
    flint_ctx.prec = 2 * bits  # mid-points of up to 2·bits bits (all of them) convert exactly
    try:
        for m, e, r in data["P"]:
            scale = fmpq(2) ** e if e >= 0 else fmpq(1, 2 ** (-e))
            balls.append(arb(fmpq(int(m)) * scale, fmpq(int(r)) * scale))
    finally:
        flint_ctx.prec = old
    return bits, tuple(balls)


def _P_enclosure(he: list[fmpz_poly], i: int, need_bits: int) -> arb:
    """P_i (i >= 2) to ``need_bits`` relative bits: from the checker's table when it holds them."""
    bits, table = _table()
    if i - 1 < len(table) and need_bits <= bits - 4:
        return table[i - 1]
    return _P_ball(he[i - 1], i - 1, need_bits)


def _read_h(ctx: _Ctx, c: dict, D: int) -> tuple[fmpq, int, list[fmpq]]:
    h = c["details"].get("h")
    if not isinstance(h, dict):
        raise _Fail("details.h is missing (B_t, precision_bits and P define the h this check is about)")
    B_t = _rat(h.get("B_t"), f"{c['id']}.details.h.B_t")
    if not 0 <= B_t <= MAX_B_T:
        raise _Fail(f"details.h.B_t = {_fmt(B_t)} is not in [0, {MAX_B_T}]")
    p = h.get("precision_bits")
    if isinstance(p, bool) or not isinstance(p, int) or not 53 <= p <= MAX_PRECISION_BITS:
        raise _Fail(f"details.h.precision_bits must be an integer in [53, {MAX_PRECISION_BITS}]")
    P = h.get("P")
    if not isinstance(P, list) or len(P) != D + 1:
        raise _Fail(f"details.h.P must list P̃_0 .. P̃_{D} ({D + 1} rationals, D the degree of q)")
    Pt = [_rat(v, f"{c['id']}.details.h.P[{i}]") for i, v in enumerate(P)]
    if any(not v > 0 for v in Pt):
        raise _Fail("details.h.P: every P̃_i must be positive")
    return B_t, p, Pt


def _tail(q: list[fmpq], Pt: list[fmpq], B_t: fmpq, p: int) -> arb:
    old = flint_ctx.prec
    flint_ctx.prec = p + 64
    try:
        phi = (arb(B_t) / arb(2).sqrt()).erfc() / 2
        return sum((arb(abs(a) / Pt[i]) * (2 * arb.fac_ui(i) * phi).sqrt() for i, a in enumerate(q) if a != 0), arb(0))
    finally:
        flint_ctx.prec = old


def _read_pieces(c: dict) -> list[tuple[fmpq, fmpq, fmpq, fmpq]]:
    det = c["details"]
    pieces, encs = det.get("pieces"), det.get("enclosures")
    if not isinstance(pieces, list) or not isinstance(encs, list) or len(pieces) != len(encs) or not pieces:
        raise _Fail("details.pieces and details.enclosures must be lists of the same, non-zero length")
    if len(pieces) > MAX_PIECES:
        raise Refused(f"lemma-6.6 has {len(pieces)} pieces, beyond this verifier's budget of {MAX_PIECES}",
                      "see docs/certificate.md, Budgets")
    out = []
    prev = fmpq(-1)
    for k, (z, e) in enumerate(zip(pieces, encs)):
        if not (isinstance(z, list) and len(z) == 2 and isinstance(e, list) and len(e) == 2):
            raise _Fail(f"details.pieces[{k}] and .enclosures[{k}] must be pairs [lo, hi]")
        lo, hi = _rat(z[0], f"pieces[{k}][0]"), _rat(z[1], f"pieces[{k}][1]")
        if lo != prev or not lo < hi:
            raise _Fail(f"details.pieces[{k}] = [{_fmt(lo)}, {_fmt(hi)}] does not continue the subdivision of [-1, 1] at {_fmt(prev)}")
        prev = hi
        out.append((lo, hi, _rat(e[0], f"enclosures[{k}][0]"), _rat(e[1], f"enclosures[{k}][1]")))
    if prev != 1:
        raise _Fail(f"details.pieces end at {_fmt(prev)}, not at 1: they must cover [-1, 1]")
    return out


def _check_lemma_6_6(ctx: _Ctx, c: dict) -> str:
    """Re-derive ``lemma-6.6`` (Lemma 6.6's identity, math-spec §5.1)."""
    q = ctx.need("q").coeffs()
    D = len(q) - 1
    eps2 = _eps2(ctx)
    if _rat(c["bound"], "lemma-6.6.bound") != eps2:
        raise _Fail(f"bound = {_fmt(_rat(c['bound'], 'bound'))}, but it must be the constant eps2 = {_fmt(eps2)}")
    B_t, p, Pt = _read_h(ctx, c, D)
    if (D + 1) ** 3 * (p + 64) > MAX_IDENTITY_WORK:
        raise Refused(f"lemma-6.6 at degree {D} and {p} bits is (D+1)³(p+64) = {(D + 1) ** 3 * (p + 64)} work units, "
                      f"beyond this verifier's budget of {MAX_IDENTITY_WORK}", "see docs/certificate.md, Budgets")
    want = _contract_bits(q, eps2)
    if p != want:
        raise _Fail(f"details.h.precision_bits = {p}, but the contract's precision for this q and eps2 is {want} "
                    f"(max(63, L + 8), L = bit length of 10 Σ|q_i|/eps2)")
    pieces = _read_pieces(c)
    # the pieces first: they need no integral, so a forged enclosure costs little
    tail = _tail(q, Pt, B_t, p)
    scale = fmpq(1, 2**p)
    top = fmpq(0)
    with _arb_precision():
        for k, (lo, hi, elo, ehi) in enumerate(pieces):
            M = max(abs(lo), abs(hi))
            s = fmpq(0)
            for a in reversed(q):
                s = s * M + abs(a)
            b = arb(scale * s) + tail
            ok = arb(ehi) >= b and arb(-elo) >= b and arb(ehi) <= b * (1 + arb(_TIGHT)) and arb(-elo) <= b * (1 + arb(_TIGHT))
            if not ok:
                raise _Fail(f"details.enclosures[{k}] = [{_fmt(elo)}, {_fmt(ehi)}] on the piece [{_fmt(lo)}, {_fmt(hi)}] "
                            f"is not the re-derived [-b, b], b = {b.mid().str(12, radius=False)} (2^-p Σ|q_i| M^i plus the "
                            f"Cauchy–Schwarz tail at B_t = {_fmt(B_t)}, p = {p})")
            top = max(top, ehi, -elo)
    value = _rat(c["value"], "lemma-6.6.value")
    if value != top:
        raise _Fail(f"value = {_fmt(value)}, but the largest piece bound is {_fmt(top)}")
    _check_P(Pt, p)
    return _settle(c, value <= eps2, f"the largest piece bound {_fmt(value)} exceeds eps2 = {_fmt(eps2)}") + \
        f" ({len(pieces)} pieces, P_0..P_{D} re-derived to 2^-{p})"


def _contract_bits(q: list[fmpq], eps2: fmpq) -> int:
    """p = max(63, L + 8), L = bitlen(numerator) − bitlen(denominator) of 10 Σ|q_i|/eps2: then
    2^-p Σ|q_i| <= eps2/2560 (docs/certificate.md, "The Lemma 6.6 checks")."""
    s = sum((abs(a) for a in q), fmpq(0))
    if s == 0:
        return 63
    N = 10 * s / eps2
    return max(63, int(N.p).bit_length() - int(N.q).bit_length() + 8)


def _check_P(Pt: list[fmpq], p: int) -> None:
    """Every P_i within 2^-p relative of the stored P̃_i, with P_i enclosed here."""
    he = _he(len(Pt))
    tol = fmpq(1, 2**p)
    old = flint_ctx.prec
    try:
        for i, pt in enumerate(Pt):
            if i == 0:
                ball = arb(fmpq(1, 2))
            elif i == 1:
                flint_ctx.prec = p + 64
                ball = 1 / (2 * arb.pi().sqrt())
            else:
                ball = _P_enclosure(he, i, p + 8)
            flint_ctx.prec = 2 * p + 64
            if not abs(ball - arb(pt)) <= arb(tol) * arb(pt):
                raise _Fail(f"details.h.P[{i}] = {_fmt(pt)} is not within 2^-{p} relative of P_{i} = "
                            f"{ball.mid().str(20, radius=False)} (re-derived)")
    finally:
        flint_ctx.prec = old


def _c_h(q: list[fmpq], Pt: list[fmpq], B_t: fmpq) -> fmpq:
    """C_h = Σ (|q_i|/P̃_i) Ĥe_i(B_t), Ĥe_{j+1} = B Ĥe_j + j Ĥe_{j−1} (absolute coefficients)."""
    total, h0, h1 = fmpq(0), fmpq(1), B_t
    for i, a in enumerate(q):
        hi = h0 if i == 0 else h1
        if a != 0:
            total += abs(a) / Pt[i] * hi
        if i >= 1:
            h0, h1 = h1, B_t * h1 + i * h0
    return total


def _h_exact(q: list[fmpq], Pt: list[fmpq], B_t: fmpq, a: fmpq, beta: fmpq) -> fmpq:
    """h(a, β) exactly: ω_i(β) = sign(He_{i−1}(−β)) from the exact recurrence."""
    if abs(a) > B_t:
        return fmpq(0)
    total = q[0] / Pt[0]
    ha0, ha1 = fmpq(1), a  # He_{i−1}(a), He_i(a) at i = 1
    hb0, hb1 = fmpq(0), fmpq(1)  # He_{i−2}(−β), He_{i−1}(−β) at i = 1
    for i in range(1, len(q)):
        if i >= 2:
            ha0, ha1 = ha1, a * ha1 - (i - 1) * ha0
            hb0, hb1 = hb1, -beta * hb1 - (i - 2) * hb0
        w = (hb1 > 0) - (hb1 < 0)
        total += q[i] / Pt[i] * ha1 * w
    return total


def _log2_upper(x: fmpq) -> arb:
    with _arb_precision():
        return (arb(x).log() / arb(2).log()).upper()


def _check_lemma_6_6_range(ctx: _Ctx, c: dict) -> str:
    """Re-derive ``lemma-6.6/range`` (h's range against C(q, eps2), math-spec §5.1)."""
    base = ctx.checks.get("lemma-6.6")
    if base is None or "lemma-6.6" in ctx.failed:
        raise _Fail("needs lemma-6.6 (its details define h), which is missing or failed")
    q = ctx.need("q").coeffs()
    B_t, _p, Pt = _read_h(ctx, base, len(q) - 1)
    C_h = _c_h(q, Pt, B_t)
    _, Cqe = _complexity_balls(ctx, _eps2(ctx))
    with _arb_precision():
        log2_cqe = Cqe.log() / arb(2).log()
    if c["label"] == "sound-bound":
        value, bound = _rat(c["value"], "value"), _rat(c["bound"], "bound")
        if C_h > 0 and not arb(value) >= _log2_upper(C_h):
            raise _Fail(f"value = {_fmt(value)} is below log2 C_h (C_h = Σ |q_i|/P̃_i Ĥe_i(B_t), re-derived)")
        if not arb(bound) <= log2_cqe:
            raise _Fail(f"bound = {_fmt(bound)} is not certainly <= log2 C(q, eps2) (re-derived in Arb)")
        return _settle(c, value <= bound, f"log2 C_h <= {_fmt(value)} is above {_fmt(bound)}")
    # an estimate: the builder found no proof; check that there is none to find at this c, and the witness
    if C_h > 0 and not _log2_upper(C_h) > log2_cqe.lower():
        raise _Fail("labelled an estimate, but log2 C_h <= log2 C(q, eps2) is provable: it must be a sound-bound")
    w = c["details"].get("witness")
    value = _number(c["value"], "value")
    if w is not None and value is not None:
        a, beta = _rat(w.get("a"), "witness.a"), _rat(w.get("beta"), "witness.beta")
        hv = abs(_h_exact(q, Pt, B_t, a, beta))
        with _arb_precision():
            below = hv != 0 and arb(value) <= (arb(hv).log() / arb(2).log()).lower()
        if not below:
            raise _Fail(f"value = {_fmt(value)} is not a lower bound of log2 |h(a*, β*)| at the witness (re-derived exactly)")
    return _check_estimate(ctx, c) + "; witness re-derived exactly"
