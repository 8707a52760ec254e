"""The independent checker of advcert certificates (format version 1).

Written from the contract in ``docs/certificate.md``, not from the builders: this module
imports nothing from ``advcert`` and no numpy or numba, so a bug in a builder cannot
confirm itself here. Every ``exact``, ``enclosure`` and ``sound-bound`` check is re-derived
with exact rational arithmetic (python-flint ``fmpq``/``fmpz_poly``), by a different method
from the builder's: sup-norm enclosures are proved with Descartes' rule of signs and
bisection (the Vincent-Collins-Akritas scheme) on exact integer polynomials, where the
builder uses Arb balls; the Theorem 5.3 robust-loss bound (``theorem-5.3``,
``theorem-4.1``) is recomputed leaf by leaf from the network witness (an .npz read with
the standard library) in integers and rationals, where the builder uses float64 balls;
Lemma 6.6's complexity constants are proved in Arb.

Exit codes of :func:`run`: 0 every check re-derived and agrees and the hash matches;
1 the certificate is readable but something does not hold or does not match;
2 the file cannot be read as a certificate.
"""

from __future__ import annotations

import array
import ast
import hashlib
import io
import json
import math
import operator
import re
import struct
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Callable, TextIO

import jsonschema
from flint import arb, fmpq, fmpq_mat, fmpq_poly, fmpz_poly
from flint import ctx as flint_ctx

FORMAT = "advcert-certificate"
VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "certificate.schema.json"

RIGOROUS_LABELS = ("exact", "enclosure", "sound-bound")
RIGOROUS_VERDICTS = ("holds", "fails")
ESTIMATE_VERDICTS = ("observed", "violated", "vacuous", "infeasible")

# Bisection depth and node budget of the Descartes prover: past them the prover gives
# up and the check FAILS as "not proved" (never as "holds").
MAX_DEPTH = 80
MAX_NODES = 20000

_RATIONAL = re.compile(r"^(0|-?[1-9][0-9]*)(/[1-9][0-9]*)?$")
_TAU_BOUND = fmpq(1, 2**40)
_SHIFT = fmpz_poly([1, 1])

_REBUILD = "rebuild it with `advcert build`, or restore an unmodified copy"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one re-derivation (a certificate check or a document-level part).

    ``status`` is ``"re-derived"`` (agrees), ``"estimate"`` (listed, not re-run) or
    ``"failed"``.
    """

    id: str
    status: str
    message: str
    seconds: float
    label: str | None = None


@dataclass(frozen=True)
class Report:
    """What :func:`verify_document` found.

    ``ok`` is true only when every part re-derived and agrees. ``readable`` is false when
    the document is not a format-version-1 certificate at all (exit status 2).
    ``first_failure`` is ``"<id>: <why>"`` for the first failing part, in document order.
    """

    ok: bool
    results: tuple[CheckResult, ...]
    first_failure: str | None
    readable: bool = True

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else (1 if self.readable else 2)


class Unreadable(ValueError):
    """The input cannot be read as an advcert certificate (exit status 2)."""

    def __init__(self, problem: str, fix: str):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; {fix}")


class _Fail(Exception):
    """A re-derivation that does not agree with the certificate (exit status 1)."""


# --------------------------------------------------------------------------- numbers


def _fmt(x) -> str:
    """A rational for a message: exact when short, else ~decimal or ~2^log2."""
    s = str(x)
    if len(s) <= 28:
        return s
    x = fmpq(x)
    if x == 0:
        return "0"
    lg = _log2(abs(x))
    if abs(lg) > 900:
        return f"{'-' if x < 0 else ''}~2^{lg:.3f}"
    # messages only; never on a certified path
    return f"~{int(x.p) / int(x.q):.12g}"


def _log2(x: fmpq) -> float:
    """log2 of a positive rational of any size (float, for comparing people's fields)."""
    p, q = int(x.p), int(x.q)
    sp, sq = max(p.bit_length() - 64, 0), max(q.bit_length() - 64, 0)
    return math.log2(p >> sp) + sp - math.log2(q >> sq) - sq


def _rat(s, where: str) -> fmpq:
    """Parse an exact rational string of the contract: ``"p/q"`` or ``"p"``, lowest terms."""
    if not isinstance(s, str) or not _RATIONAL.match(s):
        raise _Fail(f"{where}: expected an exact rational string 'p/q', got {_short(s)}")
    x = fmpq(s)
    if str(x) != s:
        raise _Fail(f"{where}: {_short(s)} is not in lowest terms (write {_short(str(x))})")
    return x


def _dyadic(v, where: str) -> fmpq:
    """The exact binary64 value of a JSON number (the contract's reading of data)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Fail(f"{where}: expected a number, got {_short(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Fail(f"{where}: not a finite number")
    p, q = v.as_integer_ratio()
    return fmpq(p, q)


def _short(v) -> str:
    s = json.dumps(v) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _cmp(a: fmpq, rel: str, b: fmpq) -> bool:
    return a <= b if rel == "<=" else a >= b


# ------------------------------------------------------------------ Descartes prover


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


def _nonnegative_01(G: fmpz_poly) -> tuple[str | None, fmpq, fmpq, int]:
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


def _prove_on(P: fmpq_poly, c: fmpq, U: fmpq, a: fmpq, b: fmpq) -> tuple[str | None, fmpq, fmpq, int, int]:
    H = P(fmpq_poly([a, b - a]))
    total = 0
    for sign, g in ((1, fmpq_poly([U + c]) - H), (-1, fmpq_poly([U - c]) + H)):
        reason, s_lo, s_hi, nodes = _nonnegative_01(g.numer())
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
    ha, hb = _dyadic_hull(a, b)
    if ha.q < a.q or hb.q < b.q:
        reason, *_, nodes = _prove_on(P, c, U, ha, hb)
        total += nodes
        if reason is None:
            return None, total
    reason, x_lo, x_hi, sign, nodes = _prove_on(P, c, U, a, b)
    total += nodes
    if reason is None:
        return None, total
    cmp = f"{shown} > {_fmt(U)}" if sign == 1 else f"{shown} < -{_fmt(U)}"
    if reason == "negative" and x_lo == x_hi:
        return f"{cmp} at {var} = {_fmt(x_lo)}", total
    if reason in ("negative", "root"):
        return f"{cmp} somewhere in [{_fmt(x_lo)}, {_fmt(x_hi)}]", total
    limit = f"depth {MAX_DEPTH}" if reason == "depth" else f"{MAX_NODES} sub-intervals"
    return (
        f"could not prove |{shown}| <= {_fmt(U)}: the Descartes bisection gave up "
        f"({limit}) near {var} in [{_fmt(x_lo)}, {_fmt(x_hi)}]", total
    )


# ------------------------------------------------------------------- the document


def canonical_sha256(doc: dict) -> str:
    """The contract's hash: SHA-256 of the canonical JSON of the document minus ``sha256``."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SCHEMA_VALIDATOR: jsonschema.Draft202012Validator | None = None


def _validator() -> jsonschema.Draft202012Validator:
    global _SCHEMA_VALIDATOR
    if _SCHEMA_VALIDATOR is None:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        _SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(schema)
    return _SCHEMA_VALIDATOR


def _check_readable(doc) -> None:
    """Format, version and schema; raises :class:`Unreadable`."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise Unreadable(
            f"not an advcert certificate (no \"format\": \"{FORMAT}\" at the top level)",
            "pass a certificate written by `advcert build`",
        )
    v = doc.get("version")
    if type(v) is not int or v != VERSION:
        raise Unreadable(
            f"certificate format version {_short(v)} is not supported (this verifier reads version {VERSION})",
            "verify it with the advcert release that wrote it, or rebuild it with this release's `advcert build`",
        )
    errors = list(_validator().iter_errors(doc))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        path = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        msg = err.message.replace("\n", " ")
        if len(msg) > 160:
            msg = msg[:157] + "..."
        raise Unreadable(f"schema violation at {path}: {msg}", f"the file does not follow format version 1 (docs/certificate.md); {_REBUILD}")


class _Ctx:
    """Exact values parsed and derived from the document, filled in part by part."""

    def __init__(self, doc: dict, base: Path | None = None, witness: bytes | None = None):
        self.doc = doc
        self.base = base
        self.witness = witness
        self.network = None
        self.failed: set[str] = set()
        self.inst: dict | None = None
        self.params: dict | None = None
        self.p1: fmpq_poly | None = None
        self.q: fmpq_poly | None = None
        self.checks: dict[str, dict] = {}
        self.lemma_6_2_value: fmpq | None = None

    _PART_OF = {"inst": "instance", "params": "parameters", "p1": "objects", "q": "objects", "network": "network"}

    def need(self, what: str):
        val = getattr(self, what)
        if val is None:
            raise _Fail(f"cannot be re-derived because {self._PART_OF[what]} failed")
        return val


# --- document-level parts


def _part_sha256(ctx: _Ctx) -> str:
    stored = ctx.doc["sha256"]
    got = canonical_sha256(ctx.doc)
    if got != stored:
        raise _Fail(f"the canonical form hashes to {got[:16]}..., the certificate says {stored[:16]}...: it was changed after it was written")
    return "matches the canonical form"


def _part_instance(ctx: _Ctx) -> str:
    inst = ctx.doc["instance"]
    n, d = inst["n"], inst["d"]
    pts, ys = inst["points"], inst["labels"]
    if len(pts) != n:
        raise _Fail(f"instance.points has {len(pts)} rows but n = {n}")
    if len(ys) != n:
        raise _Fail(f"instance.labels has {len(ys)} entries but n = {n}")
    if inst["entropy"] != str(inst["seed"]):
        raise _Fail(
            f"instance.entropy = {_short(inst['entropy'])} is not SeedSequence({inst['seed']}).entropy = '{inst['seed']}'"
        )
    rho = _rat(inst["rho"], "instance.rho")
    gamma = _rat(inst["gamma"], "instance.gamma")
    eps = _rat(inst["eps"], "instance.eps")
    if rho < 0:
        raise _Fail(f"instance.rho = {_fmt(rho)} is negative")
    if gamma <= 0:
        raise _Fail(f"instance.gamma = {_fmt(gamma)} is not positive")
    if eps <= 0:
        raise _Fail(f"instance.eps = {_fmt(eps)} is not positive")
    # Scale every coordinate (a dyadic rational) by one power of two to integers, so
    # norms and distances are exact integer sums.
    ratios = []
    for i, row in enumerate(pts):
        if len(row) != d:
            raise _Fail(f"instance.points[{i}] has {len(row)} coordinates but d = {d}")
        r = []
        for j, v in enumerate(row):
            x = _dyadic(v, f"instance.points[{i}][{j}]")
            r.append((int(x.p), int(x.q)))
        ratios.append(r)
    E = max(q.bit_length() - 1 for r in ratios for _, q in r)
    X = [[p << (E - (q.bit_length() - 1)) for p, q in r] for r in ratios]
    scale = 1 << (2 * E)
    norms = [sum(v * v for v in row) for row in X]
    taus = [fmpq(s - scale, scale) for s in norms]
    on_plane = [ratios[i][d - 1] == (1, 2) for i in range(n)]
    labels = [_dyadic(y, f"instance.labels[{i}]") for i, y in enumerate(ys)]
    for i, y in enumerate(labels):
        if abs(y) > 1:
            raise _Fail(f"instance.labels[{i}] = {ys[i]!r} has |y| > 1")
    best, pair = None, None
    for i in range(n):
        Xi = X[i]
        for j in range(i + 1, n):
            s = 0
            for a, b in zip(Xi, X[j]):
                t = a - b
                s += t * t
            if best is None or s < best:
                best, pair = s, (i, j)
    ctx.inst = {
        "n": n, "d": d, "rho": rho, "gamma": gamma, "eps": eps, "taus": taus,
        "on_plane": on_plane, "labels": labels,
        "delta_sq": None if best is None else fmpq(best, scale), "pair": pair,
        "dist_sq": lambda i, j: fmpq(sum((a - b) ** 2 for a, b in zip(X[i], X[j])), scale),
        "tau_plus": max(fmpq(0), max(taus)), "tau_minus": max(fmpq(0), -min(taus)),
        "points": [[fmpq(pp, q) for pp, q in r] for r in ratios],
    }
    return f"n = {n}, d = {d}, points read as exact binary64 values"


def _part_parameters(ctx: _Ctx) -> str:
    inst = ctx.need("inst")
    par = ctx.doc["parameters"]
    eps1 = inst["eps"] / (3 * inst["n"])
    eta = inst["gamma"] / 8
    alpha = 1 - inst["rho"] ** 2 / 2 - 2 * eta
    for key, want in (("eps1", eps1), ("eta", eta), ("alpha", alpha)):
        got = _rat(par[key], f"parameters.{key}")
        if got != want:
            raise _Fail(f"parameters.{key} = {_fmt(got)}, but the instance gives {_fmt(want)}")
    if not 0 < eta < 1:
        raise _Fail(f"eta = {_fmt(eta)} is not in (0, 1)")
    if not 0 < eps1 < 1:
        raise _Fail(f"eps1 = {_fmt(eps1)} is not in (0, 1)")
    ctx.params = {"eps1": eps1, "eta": eta, "alpha": alpha,
                  "taylor_k": par["taylor_k"], "cheb_d": par["cheb_d"]}
    return f"eps1 = {_fmt(eps1)}, eta = {_fmt(eta)}, alpha = {_fmt(alpha)}"


def _poly(obj: dict, where: str) -> fmpq_poly:
    cs = [_rat(c, f"{where}.coefficients[{j}]") for j, c in enumerate(obj["coefficients"])]
    if obj["degree"] != len(cs) - 1:
        raise _Fail(f"{where}.degree = {obj['degree']} but there are {len(cs)} coefficients")
    if len(cs) > 1 and cs[-1] == 0:
        raise _Fail(f"{where}: the leading coefficient is 0, so the degree is not {obj['degree']}")
    return fmpq_poly(cs)


def _chebyshev_to_monomial(b: list[fmpq]) -> fmpq_poly:
    """Sum_j b_j T_j(y) in monomials, with the integer three-term recurrence."""
    y2 = fmpz_poly([0, 2])
    t0, t1 = fmpz_poly([1]), fmpz_poly([0, 1])
    out = fmpq_poly([b[0]])
    for j in range(1, len(b)):
        if j > 1:
            t0, t1 = t1, y2 * t1 - t0
        if b[j] != 0:
            out += fmpq_poly(t1) * b[j]
    return out


def _part_objects(ctx: _Ctx) -> str:
    par = ctx.need("params")
    obj = ctx.doc["objects"]
    ctx.p1 = p1 = _poly(obj["p1"], "objects.p1")
    ctx.q = _poly(obj["q"], "objects.q")
    D = obj["p1"]["degree"]
    if D != 2 * par["cheb_d"] + 1:
        raise _Fail(f"objects.p1.degree = {D}, but the contract says D_used = 2 cheb_d + 1 = {2 * par['cheb_d'] + 1}")
    qa = _rat(obj["q"]["alpha"], "objects.q.alpha")
    if qa != par["alpha"]:
        raise _Fail(f"objects.q.alpha = {_fmt(qa)}, but parameters.alpha = {_fmt(par['alpha'])}")
    b = [_rat(c, f"objects.p1.chebyshev_y[{j}]") for j, c in enumerate(obj["p1"]["chebyshev_y"])]
    ref = fmpq_poly([0, 1]) * _chebyshev_to_monomial(b)(fmpq_poly([1, 0, -1]))
    if ref != p1:
        rc, pc = ref.coeffs(), p1.coeffs()
        j = next(j for j in range(max(len(rc), len(pc)))
                 if (rc[j] if j < len(rc) else 0) != (pc[j] if j < len(pc) else 0))
        raise _Fail(f"objects.p1.chebyshev_y: x*Q(1 - x^2) differs from p1 (first at the coefficient of x^{j})")
    return f"p1 of degree {D} (its Chebyshev form agrees), q of degree {obj['q']['degree']}"


def _const_d_used(ctx: _Ctx) -> fmpq:
    return fmpq(ctx.need("p1").degree())


def _const_log2_coef_bound_p1(ctx: _Ctx) -> fmpq:
    return fmpq(4 * ctx.need("p1").degree())


# --- Lemma 6.6's complexity constants, re-derived in Arb ball arithmetic (flint)

_ARB_PREC = 192  # bits; a ball's radius is ~2^-180 relative, far below the builders' 2^-24 grid


def _complexity_c(ctx: _Ctx) -> fmpq:
    c = ctx.doc["constants"].get("complexity_c")
    if c is None or c["label"] == "estimate":
        raise _Fail("needs the exact constant complexity_c (the c of C(phi) in Lemma 6.6)")
    return _rat(c["value"], "constants.complexity_c.value")


def _complexity_balls(ctx: _Ctx, eps2: fmpq | None):
    """Balls of C(q) = c Σ_j (j+1)^{7/4} |q_j| and, given eps2, of
    C(q, eps2) = Σ_j c^j (1 + (sqrt(ln(1/eps2)/j))^j) |q_j| (the j = 0 factor is 2),
    math-spec §5's reading of Lemma 6.6, for the step polynomial q of objects.q."""
    c = _complexity_c(ctx)
    q = ctx.need("q").coeffs()
    old = flint_ctx.prec
    flint_ctx.prec = _ARB_PREC
    try:
        cc = arb(c)
        seven4 = arb(fmpq(7, 4))
        Cq = cc * sum((arb(abs(a)) * (seven4 * arb(j + 1).log()).exp() for j, a in enumerate(q) if a != 0), arb(0))
        Cqe = None
        if eps2 is not None:
            L = (1 / arb(eps2)).log()
            Cqe = arb(0)
            for j, a in enumerate(q):
                if a == 0:
                    continue
                factor = arb(2) if j == 0 else 1 + ((L / j).log() * j / 2).exp()
                Cqe += arb(abs(a)) * cc ** j * factor
        return Cq, Cqe
    finally:
        flint_ctx.prec = old


def _log2_at_most(x: arb, claim: fmpq, name: str) -> None:
    old = flint_ctx.prec
    flint_ctx.prec = _ARB_PREC
    try:
        if not x > 0:
            raise _Fail(f"constants.{name}: the quantity is not certainly positive, so its log2 is undefined")
        hi = (x.log() / arb(2).log()).upper()
        if not arb(claim) >= hi:
            raise _Fail(f"constants.{name}.value = {_fmt(claim)} is below log2 of the quantity (upper end {hi.mid().str(12, radius=False)})")
    finally:
        flint_ctx.prec = old


def _eps2(ctx: _Ctx) -> fmpq:
    e = ctx.doc["constants"].get("eps2")
    if e is None or e["label"] == "estimate":
        raise _Fail("needs the exact constant eps2")
    return _rat(e["value"], "constants.eps2.value")


def _claim_complexity_c(ctx: _Ctx, value: fmpq) -> None:
    if not value > 0:
        raise _Fail(f"constants.complexity_c.value = {_fmt(value)} is not positive (Lemma 6.6 takes c > 0)")


def _claim_eps2(ctx: _Ctx, value: fmpq) -> None:
    inst = ctx.need("inst")
    cap = inst["eps"] / (9 * inst["n"])
    if not 0 < value <= cap:
        raise _Fail(f"constants.eps2.value = {_fmt(value)} is not in (0, eps/(9n) = {_fmt(cap)}]")
    Cq, _ = _complexity_balls(ctx, None)
    old = flint_ctx.prec
    flint_ctx.prec = _ARB_PREC
    try:
        if not 2 * Cq * arb(value) <= 1:
            raise _Fail(f"constants.eps2.value = {_fmt(value)} is not certainly <= 1/(2 C(q)) (Lemma 6.6 needs eps2 < 1/C(q))")
    finally:
        flint_ctx.prec = old


def _claim_log2_C_q(ctx: _Ctx, value: fmpq) -> None:
    _log2_at_most(_complexity_balls(ctx, None)[0], value, "log2_C_q")


def _claim_log2_C_q_eps2(ctx: _Ctx, value: fmpq) -> None:
    eps2 = _eps2(ctx)
    if not 0 < eps2 < 1:
        raise _Fail(f"eps2 = {_fmt(eps2)} is not in (0, 1), so C(q, eps2) is undefined")
    _log2_at_most(_complexity_balls(ctx, eps2)[1], value, "log2_C_q_eps2")


BOUNDED_CONSTANTS: dict[str, tuple[tuple[str, ...], Callable[[_Ctx, fmpq], None]]] = {
    "complexity_c": (("exact",), _claim_complexity_c),
    "eps2": (("exact",), _claim_eps2),
    "log2_C_q": (("sound-bound",), _claim_log2_C_q),
    "log2_C_q_eps2": (("sound-bound",), _claim_log2_C_q_eps2),
}
"""Rigorous constants whose claim is an inequality, checked in Arb (Lemma 6.6, math-spec §5):
complexity_c is the construction's parameter c > 0; eps2 is exact and lies in
(0, min(eps/(9n), 1/(2 C(q)))]; log2_C_q and log2_C_q_eps2 are upper bounds of log2 C(q)
and log2 C(q, eps2), q the step polynomial of objects.q."""


def _const_m(ctx: _Ctx) -> fmpq:
    entry = ctx.doc["objects"].get("network")
    if entry is None:
        raise _Fail("constants.m: the width of a network, but there is no objects.network")
    return fmpq(entry["m"])


KNOWN_CONSTANTS: dict[str, Callable[[_Ctx], fmpq]] = {
    "D_used": _const_d_used,
    "log2_coef_bound_p1": _const_log2_coef_bound_p1,
    "m": _const_m,
}
"""Constants with a rigorous label that this verifier re-derives: D_used is the degree of
p1 (= the degree of q); log2_coef_bound_p1 = 4 D_used, the exponent of Lemma 6.4's
coefficient bound 2^{4D}; m = objects.network.m, the rows of the witness (checked by the
network part). A rigorous constant not listed here is rejected, like an unknown rigorous
check: a label that nobody checks would vouch for nothing."""


def _part_constants(ctx: _Ctx) -> str:
    consts = ctx.doc["constants"]
    for name, c in consts.items():
        if c["label"] == "estimate":
            if isinstance(c["value"], float) and not math.isfinite(c["value"]):
                raise _Fail(f"constants.{name}.value is not finite")
            continue
        got = _rat(c["value"], f"constants.{name}.value")
        if name in BOUNDED_CONSTANTS:
            labels, claim = BOUNDED_CONSTANTS[name]
            if c["label"] not in labels:
                raise _Fail(f"constants.{name}: label {c['label']!r}, but the contract defines it as {labels[0]!r}")
            claim(ctx, got)
            continue
        rederive = KNOWN_CONSTANTS.get(name)
        if rederive is None:
            raise _Fail(
                f"cannot re-derive constant {name} (label {c['label']}); this verifier knows: "
                f"{', '.join([*KNOWN_CONSTANTS, *BOUNDED_CONSTANTS])}; label it 'estimate' if it is only reported"
            )
        if c["label"] != "exact":
            raise _Fail(f"constants.{name}: label {c['label']!r}, but it is an exact integer")
        want = rederive(ctx)
        if got != want:
            raise _Fail(f"constants.{name}.value = {_fmt(got)}, but it re-derives to {_fmt(want)}")
    if ctx.need("q").degree() != ctx.need("p1").degree():
        raise _Fail(f"q has degree {ctx.q.degree()}, p1 has degree {ctx.p1.degree()}: D_used is not the degree of both")
    rig = sum(1 for c in consts.values() if c["label"] != "estimate")
    return f"{rig} rigorous constants re-derived, {len(consts) - rig} estimates reported"


# --- the network witness (objects.network): an .npz read without numpy

_NPY_MAGIC = b"\x93NUMPY"
_NETWORK_ROLES = ("a", "W0", "b", "W")
_WITNESS_FIX = "keep the .npz next to the certificate (objects.network.path is relative to its folder), or rebuild both"


class _MissingWitness(Unreadable):
    """A rigorous check needs the network witness and it cannot be found (exit status 2)."""


@dataclass(frozen=True)
class Network:
    """The two-layer ReLU net f_W(x) = sum_r a_r relu(<W_r, x> + b_r) of the witness (Section 3).

    Exact binary64 values as integers over one power-of-two denominator each:
    a_r = ``ai[r]`` / ``Da``; W_r = ``Wi[r]`` / ``Du`` (row tuples), b_r = ``bi[r]`` / ``Du``.
    ``W0`` is checked for its shape only (no claim re-derived here uses it); ``sha256`` of
    the .npz bytes.
    """

    m: int
    d: int
    sha256: str
    Da: int
    ai: tuple
    Du: int
    Wi: tuple
    bi: tuple

    def a(self, r: int) -> fmpq:
        return fmpq(self.ai[r], self.Da)

    def row(self, r: int) -> list[fmpq]:
        """[W_r..., b_r] as exact rationals."""
        return [fmpq(v, self.Du) for v in self.Wi[r]] + [fmpq(self.bi[r], self.Du)]


def _float_ints(*datas) -> tuple[list[list[int]], int]:
    """Exact integers over one power-of-two denominator for arrays of binary64 numbers."""
    ratios = [list(map(float.as_integer_ratio, data)) for data in datas]
    D = max((max(map(operator.itemgetter(1), rs), default=1) for rs in ratios), default=1)
    e = D.bit_length()
    return [[p << (e - q.bit_length()) for p, q in rs] for rs in ratios], D


def read_npy(raw: bytes, name: str) -> tuple[tuple[int, ...], array.array]:
    """Shape and float64 data of one .npy member (format 1.0-3.0, '<f8', C order), with the stdlib only."""
    if raw[:6] != _NPY_MAGIC or len(raw) < 10:
        raise _Fail(f"witness member {name}.npy is not a .npy array (no \\x93NUMPY magic)")
    major = raw[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", raw[8:10]), 10
    elif major in (2, 3) and len(raw) >= 12:
        (hlen,), start = struct.unpack("<I", raw[8:12]), 12
    else:
        raise _Fail(f"witness member {name}.npy has .npy format version {major}, not 1, 2 or 3")
    if hlen > 1 << 16 or start + hlen > len(raw):
        raise _Fail(f"witness member {name}.npy has a header of {hlen} bytes, beyond the file")
    try:
        header = ast.literal_eval(raw[start:start + hlen].decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        raise _Fail(f"witness member {name}.npy has an unreadable header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _Fail(f"witness member {name}.npy: the header is not {{descr, fortran_order, shape}}")
    if header["descr"] != "<f8":
        raise _Fail(f"witness member {name}.npy has dtype {header['descr']!r}; the contract stores float64 '<f8'")
    if header["fortran_order"] is not False:
        raise _Fail(f"witness member {name}.npy is in Fortran order; the contract stores C order")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(k) is int and k >= 0 for k in shape):
        raise _Fail(f"witness member {name}.npy has shape {shape!r}")
    count = math.prod(shape)
    body = raw[start + hlen:]
    if len(body) != 8 * count:
        raise _Fail(f"witness member {name}.npy holds {len(body)} data bytes, shape {shape} needs {8 * count}")
    data = array.array("d")
    data.frombytes(body)
    if sys.byteorder != "little":
        data.byteswap()
    if not all(map(math.isfinite, data)):
        raise _Fail(f"witness member {name}.npy holds NaN or infinity")
    return shape, data


def read_witness(raw: bytes, m: int, d: int, names=_NETWORK_ROLES, sha256: str = "") -> Network:
    """The network of an .npz witness: members a (m,), W0 (m, d), b (m,), W (m, d) (rows W_r)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise _Fail(f"the network witness is not a readable .npz (zip) file: {e}") from None
    arrays = {}
    with zf:
        have = set(zf.namelist())
        for role, name in zip(_NETWORK_ROLES, names):
            member = f"{name}.npy"
            if member not in have:
                raise _Fail(f"the network witness has no member {member} (the array {role}); it holds {', '.join(sorted(have)) or 'nothing'}")
            try:
                body = zf.read(member)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as e:
                raise _Fail(f"witness member {member} cannot be read: {e}") from None
            arrays[role] = read_npy(body, name)
    want = {"a": (m,), "W0": (m, d), "b": (m,), "W": (m, d)}
    for role in _NETWORK_ROLES:
        shape = arrays[role][0]
        if shape != want[role]:
            raise _Fail(f"witness array {role} has shape {shape}, but m = {m}, d = {d} need {want[role]}")

    (ai,), Da = _float_ints(arrays["a"][1])
    (wi, bi), Du = _float_ints(arrays["W"][1], arrays["b"][1])
    Wi = tuple(zip(*[iter(wi)] * d)) if d else tuple(() for _ in range(m))
    return Network(m=m, d=d, sha256=sha256, Da=Da, ai=tuple(ai), Du=Du, Wi=Wi, bi=tuple(bi))


def _network_needed(doc: dict) -> list[str]:
    return [c["id"] for c in doc["checks"] if c["id"] in NETWORK_CHECKS and c["label"] in RIGOROUS_LABELS]


def _part_network(ctx: _Ctx) -> str:
    entry = ctx.doc["objects"].get("network")
    needed = _network_needed(ctx.doc)
    if entry is None:
        if needed:
            raise _Fail(f"check {needed[0]} is labelled rigorous, but objects.network (the witness it is about) is missing")
        return "no network witness (no check needs one)"
    names = entry.get("arrays", list(_NETWORK_ROLES))
    rel = entry["path"]
    if ctx.witness is not None:
        raw, shown = ctx.witness, rel
    else:
        path = Path(rel)
        if not path.is_absolute():
            path = (ctx.base or Path.cwd()) / path
        shown = str(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            why = "does not exist" if isinstance(e, FileNotFoundError) else f"cannot be read ({e.strerror or e})"
            if needed:
                raise _MissingWitness(f"the network witness {shown} {why}, and {needed[0]} needs it", _WITNESS_FIX) from None
            return f"network witness {shown} {why}; no rigorous check needs it"
    got = hashlib.sha256(raw).hexdigest()
    if got != entry["sha256"]:
        raise _Fail(f"objects.network.sha256 = {entry['sha256'][:16]}..., but the witness {shown} hashes to {got[:16]}...: it is not the network the certificate was built with")
    d = ctx.need("inst")["d"]
    ctx.network = read_witness(raw, entry["m"], d, names, got)
    return f"witness {Path(rel).name}: m = {entry['m']}, d = {d}, sha256 matches"


# --- the checks


@dataclass(frozen=True)
class _Spec:
    """What the contract says of one check id: its allowed labels, its relation, how a
    rigorous instance is re-derived and how an estimate is read, and whether every
    certificate must carry it."""

    labels: tuple[str, ...]
    relation: str
    rederive: Callable[[_Ctx, dict], str] | None
    required: bool = True
    estimate: Callable[[_Ctx, dict], str] | None = None


def _rigorous_numbers(c: dict) -> tuple[fmpq, fmpq]:
    return _rat(c["value"], f"{c['id']}.value"), _rat(c["bound"], f"{c['id']}.bound")


def _expect(c: dict, field: str, got: fmpq, want: fmpq) -> None:
    if got != want:
        raise _Fail(f"{field} = {_fmt(got)}, but it re-derives to {_fmt(want)}")


def _settle(c: dict, holds: bool, why_not: str) -> str:
    """Compare the stored verdict with the re-derived truth of the claim."""
    v = c["verdict"]
    if holds and v == "holds":
        return f"{_fmt(fmpq(c['value']))} {c['relation']} {_fmt(fmpq(c['bound']))}"
    if holds:
        raise _Fail(f"the verdict says {v!r}, but the claim holds")
    if v == "holds":
        raise _Fail(f"the verdict says 'holds', but {why_not}")
    raise _Fail(f"the claim does not hold (the certificate says so too): {why_not}")


def _enclosure(c: dict) -> tuple[fmpq, fmpq]:
    e = c["enclosure"]
    lo, hi = _rat(e["lo"], f"{c['id']}.enclosure.lo"), _rat(e["hi"], f"{c['id']}.enclosure.hi")
    if lo > hi:
        raise _Fail(f"enclosure.lo = {_fmt(lo)} > enclosure.hi = {_fmt(hi)}")
    value = _rat(c["value"], f"{c['id']}.value")
    end = hi if c["relation"] == "<=" else lo
    if value != end:
        raise _Fail(f"value = {_fmt(value)} is not the compared end {'hi' if c['relation'] == '<=' else 'lo'} = {_fmt(end)} of the enclosure")
    return lo, hi


def _check_on_x(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    det = c["details"]
    _expect(c, "details.tau_plus", _rat(det["tau_plus"], "details.tau_plus"), inst["tau_plus"])
    _expect(c, "details.tau_minus", _rat(det["tau_minus"], "details.tau_minus"), inst["tau_minus"])
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, _TAU_BOUND)
    _expect(c, "value", value, max(abs(t) for t in inst["taus"]))
    off = [i for i, ok in enumerate(inst["on_plane"]) if not ok]
    if off:
        return _settle(c, False, f"x_d != 1/2 for point {off[0]}")
    return _settle(c, value <= bound, f"max |tau_i| = {_fmt(value)} > 2^-40")


def _check_separability(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    if inst["delta_sq"] is None:
        raise _Fail("delta is undefined with fewer than 2 points")
    det = c["details"]
    d2 = inst["delta_sq"]
    _expect(c, "details.delta_sq", _rat(det["delta_sq"], "details.delta_sq"), d2)
    i, j = det["pair"]
    n = inst["n"]
    if not (i < n and j < n and i != j):
        raise _Fail(f"details.pair = [{i}, {j}] is not a pair of distinct points among {n}")
    if inst["dist_sq"](i, j) != d2:
        raise _Fail(f"details.pair = [{i}, {j}]: ||x_i - x_j||^2 = {_fmt(inst['dist_sq'](i, j))} is not the minimum {_fmt(d2)}")
    dlo, dhi = _rat(det["delta"]["lo"], "details.delta.lo"), _rat(det["delta"]["hi"], "details.delta.hi")
    if not (0 <= dlo <= dhi and dlo * dlo <= d2 <= dhi * dhi):
        raise _Fail(f"details.delta = [{_fmt(dlo)}, {_fmt(dhi)}] does not enclose sqrt({_fmt(d2)})")
    lo, hi = _enclosure(c)
    rho = inst["rho"]
    # delta(delta - 2 rho) = d2 - 2 rho delta with delta = sqrt(d2): both ends by squaring
    # the non-negative sides, so no square root is ever rounded.
    if not (d2 - lo >= 0 and 4 * rho * rho * d2 <= (d2 - lo) ** 2):
        raise _Fail(f"enclosure.lo = {_fmt(lo)} exceeds delta(delta - 2 rho) for delta^2 = {_fmt(d2)}")
    if not (d2 - hi <= 0 or 4 * rho * rho * d2 >= (d2 - hi) ** 2):
        raise _Fail(f"enclosure.hi = {_fmt(hi)} is below delta(delta - 2 rho) for delta^2 = {_fmt(d2)}")
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, inst["gamma"])
    return _settle(c, value >= bound, f"the lower end {_fmt(value)} of delta(delta - 2 rho) is below gamma = {_fmt(bound)}")


def _check_odd(ctx: _Ctx, c: dict) -> str:
    p1 = ctx.need("p1")
    cs = p1.coeffs()
    even = sum(1 for j in range(0, len(cs), 2) if cs[j] != 0)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(0))
    _expect(c, "value", value, fmpq(even))
    return _settle(c, value <= bound, f"p1 has {even} non-zero even coefficients")


def _check_log2(c: dict, value: fmpq, bound: fmpq) -> None:
    det = c["details"]
    for key, x in (("log2_value", value), ("log2_bound", bound)):
        got = det[key]
        if x <= 0:
            if got is not None:
                raise _Fail(f"details.{key} = {got!r}, but log2 of {_fmt(x)} is undefined (null expected)")
            continue
        want = _log2(x)
        # people's numbers: rounding to 3 decimals is allowed, nothing coarser
        if got is None or not abs(got - want) <= 5e-4 + 1e-12 * abs(want):
            raise _Fail(f"details.{key} = {got!r}, but log2 of the value is {want:.6f}")


def _check_p1_coefficients(ctx: _Ctx, c: dict) -> str:
    p1 = ctx.need("p1")
    D = p1.degree()
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(2) ** (4 * D))
    _expect(c, "value", value, max(abs(x) for x in p1.coeffs()))
    _check_log2(c, value, bound)
    return _settle(c, value <= bound, f"max |alpha_j| = {_fmt(value)} > 2^(4 D)")


def _sup_check(ctx: _Ctx, c: dict, P: fmpq_poly, cval: fmpq, name: str, a: fmpq, b: fmpq, var: str) -> str:
    par = ctx.need("params")
    det = c["details"]
    ia, ib = (_rat(x, f"details.interval[{k}]") for k, x in enumerate(det["interval"]))
    if (ia, ib) != (a, b):
        raise _Fail(f"details.interval = [{_fmt(ia)}, {_fmt(ib)}], but it re-derives to [{_fmt(a)}, {_fmt(b)}]")
    lo, hi = _enclosure(c)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, par["eps1"])
    w = _rat(det["witness"], "details.witness")
    if not a <= w <= b:
        raise _Fail(f"details.witness = {_fmt(w)} is outside [{_fmt(a)}, {_fmt(b)}]")
    at_w = abs(P(w) - cval)
    if at_w < lo:
        raise _Fail(f"enclosure.lo = {_fmt(lo)} is not attained: |{name}(witness) - {_fmt(cval)}| = {_fmt(at_w)}")
    why, nodes = prove_sup_abs(P, cval, hi, a, b, name, var)
    if why is not None:
        raise _Fail(f"upper end {_fmt(hi)} not proved: {why}")
    done = _settle(c, value <= bound, f"the certified sup {_fmt(value)} exceeds eps1 = {_fmt(bound)}")
    return f"{done}; the upper end proved by Descartes bisection ({nodes} sub-intervals)"


def _check_lemma_6_4(ctx: _Ctx, c: dict) -> str:
    return _sup_check(ctx, c, ctx.need("p1"), fmpq(1), "p1", ctx.need("params")["eta"], fmpq(1), "x")


def _q_reference(ctx: _Ctx) -> fmpq_poly:
    alpha = ctx.need("params")["alpha"]
    return (ctx.need("p1")(fmpq_poly([-alpha / 2, fmpq(1, 2)])) + 1) / 2


def _check_q_definition(ctx: _Ctx, c: dict) -> str:
    ref = _q_reference(ctx).coeffs()
    stored = [_rat(x, f"objects.q.coefficients[{j}]") for j, x in enumerate(ctx.doc["objects"]["q"]["coefficients"])]
    m = max(len(ref), len(stored))
    ref += [fmpq(0)] * (m - len(ref))
    stored += [fmpq(0)] * (m - len(stored))
    differ = [j for j in range(m) if ref[j] != stored[j]]
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(0))
    _expect(c, "value", value, fmpq(len(differ)))
    first = f" (first at z^{differ[0]})" if differ else ""
    return _settle(c, value <= bound, f"{len(differ)} coefficients of q differ from (p1((z - alpha)/2) + 1)/2{first}")


def _check_q_coefficients(ctx: _Ctx, c: dict) -> str:
    q = ctx.need("q")
    D = ctx.need("p1").degree()
    alpha = ctx.need("params")["alpha"]
    if alpha >= 1:
        raise _Fail(f"alpha = {_fmt(alpha)} >= 1, so the bound 2^(6D-1)/(1 - alpha) is undefined")
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, fmpq(2) ** (6 * D - 1) / (1 - alpha) + fmpq(1, 2))
    _expect(c, "value", value, max(abs(x) for x in q.coeffs()))
    _check_log2(c, value, bound)
    return _settle(c, value <= bound, f"max |q_j| = {_fmt(value)} exceeds the paper's bound")


def _check_q_in(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    rho = inst["rho"]
    a = 1 - rho * rho / 2 - inst["tau_minus"] / 2
    b = 1 + inst["tau_plus"] / 2
    return _sup_check(ctx, c, ctx.need("q"), fmpq(1), "q", a, b, "z")


def _check_q_out(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    if inst["delta_sq"] is None:
        raise _Fail("delta is undefined with fewer than 2 points")
    rho = inst["rho"]
    dlo = _rat(c["details"]["delta_lo"], "details.delta_lo")
    if not dlo > rho:
        raise _Fail(f"details.delta_lo = {_fmt(dlo)} is not > rho = {_fmt(rho)}")
    if not dlo * dlo <= inst["delta_sq"]:
        raise _Fail(f"details.delta_lo = {_fmt(dlo)}, but delta_lo^2 > delta^2 = {_fmt(inst['delta_sq'])}")
    a = -1 - inst["tau_plus"] / 2
    b = 1 - (dlo - rho) ** 2 / 2 + inst["tau_plus"] / 2
    return _sup_check(ctx, c, ctx.need("q"), fmpq(0), "q", a, b, "z")


def _check_lemma_6_2(ctx: _Ctx, c: dict) -> str:
    inst = ctx.need("inst")
    ends = {}
    for key in ("claim-6.3/in", "claim-6.3/out"):
        other = ctx.checks.get(key)
        if other is None or key in ctx.failed:
            raise _Fail(f"cannot be re-derived because {key} failed or is missing")
        ends[key] = _rat(other["enclosure"]["hi"], f"{key}.enclosure.hi")
    e_in, e_out = ends["claim-6.3/in"], ends["claim-6.3/out"]
    ay = [abs(y) for y in inst["labels"]]
    total = sum(ay, fmpq(0))
    per = [ay[j] * e_in + (total - ay[j]) * e_out for j in range(inst["n"])]
    stored = c["details"]["per_point"]
    if len(stored) != len(per):
        raise _Fail(f"details.per_point has {len(stored)} entries, n = {len(per)}")
    for j, (s, want) in enumerate(zip(stored, per)):
        _expect(c, f"details.per_point[{j}]", _rat(s, f"details.per_point[{j}]"), want)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, inst["eps"] / 3)
    _expect(c, "value", value, max(per))
    ctx.lemma_6_2_value = value
    return _settle(c, value <= bound, f"the certified bound {_fmt(value)} exceeds eps/3 = {_fmt(bound)}")


def _number(v, where: str) -> fmpq | None:
    """An estimate's number (JSON float) or rational string, exactly; None for null."""
    if v is None:
        return None
    if isinstance(v, str):
        return _rat(v, where)
    return _dyadic(v, where)


def _check_estimate(ctx: _Ctx, c: dict) -> str:
    """An estimate is listed, not re-run; only its verdict's consistency is checked."""
    if c["verdict"] not in ESTIMATE_VERDICTS:
        raise _Fail(f"an estimate may not say {c['verdict']!r} (only {', '.join(ESTIMATE_VERDICTS)})")
    value = _number(c["value"], f"{c['id']}.value")
    bound = _number(c["bound"], f"{c['id']}.bound")
    if value is not None and bound is not None:
        meets = _cmp(value, c["relation"], bound)
        if c["verdict"] == "observed" and not meets:
            raise _Fail(f"the verdict says 'observed', but value {_fmt(value)} {c['relation']} bound {_fmt(bound)} is false")
        if c["verdict"] == "violated" and meets:
            raise _Fail(f"the verdict says 'violated', but value {_fmt(value)} {c['relation']} bound {_fmt(bound)} holds")
    return "estimate, not re-run"


def _check_attack(ctx: _Ctx, c: dict) -> str:
    msg = _check_estimate(ctx, c)
    bound = _number(c["bound"], f"{c['id']}.bound")
    third = ctx.need("inst")["eps"] / 3
    # a float: eps/3 to within binary64 rounding (the builder divides float(eps) by 3)
    if bound is None or abs(bound - third) > third / 2**50:
        raise _Fail(f"bound = {_fmt(bound) if bound is not None else 'null'}, but the attack is measured against eps/3 = {_fmt(third)}")
    value = _number(c["value"], f"{c['id']}.value")
    certified = ctx.lemma_6_2_value
    if value is not None and certified is not None and value > certified:
        raise _Fail(
            f"the attack reached {_fmt(value)}, above the certified upper bound {_fmt(certified)} of lemma-6.2: the certificate contradicts itself"
        )
    return msg


# --- Theorem 5.3: the sound upper bound of the robust loss of the network

# Extra bits the verifier keeps where it rounds (square roots, the grid of the
# pre-activation ranges, chord slopes): its own slack is ~2^-64 .. 2^-128 of the scale of
# the numbers, far below any float64 builder's rounding margin.
_SQRT_BITS = 64
_GRID_BITS = 128


def _ceil_sqrt(n: int) -> int:
    """The least integer >= sqrt(n), n >= 0."""
    if n < 0:
        raise _Fail(f"square root of a negative number ({n}) in the Theorem 5.3 re-derivation")
    s = math.isqrt(n)
    return s if s * s == n else s + 1


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _common(xs) -> tuple[list[int], int]:
    """Integers u and one denominator D > 0 with xs = u / D exactly (D the lcm of the denominators)."""
    D = 1
    for x in xs:
        q = int(x.q)
        if D % q:
            D = D * q // math.gcd(D, q)
    return [int(x.p) * (D // int(x.q)) for x in xs], D


@dataclass(frozen=True)
class Domain:
    """The set a sup of Theorem 5.3 is taken over, for one centre x0 (exact).

    ``kind`` 'cap': B_2(x0, rho) ∩ X. Every point of X is x = (sqrt3/2 v, 1/2) with
    |v| = 1, and ||x - x0||^2 <= rho^2 reads sqrt3 <v, p> >= N with p = x0[:d-1] and
    N = 3/4 + ||p||^2 + (x0_d - 1/2)^2 - rho^2. ``empty`` when N > 0 and N^2 > 3 ||p||^2.
    ``kind`` 'ball': the l2 ball B_2(x0, rho) in R^d (it contains the cap).
    ``Pi`` = x0 * ``Dp`` (integers), ``P2i`` = ||p||^2 Dp^2, N = ``Nn``/``Nd``.
    """

    kind: str
    x0: tuple
    rho: fmpq
    Pi: tuple
    Dp: int
    P2i: int
    Nn: int
    Nd: int
    empty: bool


def make_domain(kind: str, x0, rho: fmpq) -> Domain:
    """The exact description of B_2(x0, rho) ∩ X ('cap') or B_2(x0, rho) ('ball') (Theorem 5.3)."""
    if kind not in ("cap", "ball"):
        raise _Fail(f"domain {kind!r} is neither 'cap' nor 'ball'")
    Pi, Dp = _common(x0)
    P2i = sum(v * v for v in Pi[:-1])
    h = x0[-1] - fmpq(1, 2)
    N = fmpq(3, 4) + fmpq(P2i, Dp * Dp) + h * h - rho * rho
    empty = kind == "cap" and N > 0 and N * N > 3 * fmpq(P2i, Dp * Dp)
    return Domain(kind, tuple(x0), rho, tuple(Pi), Dp, P2i, int(N.p), int(N.q), empty)


def cap_sup_up(Ti: int, N2i: int, Du: int, dom: Domain) -> tuple[int, int]:
    """(num, den) with num/den >= sup over the cap of <(u, 0), x> = sqrt3/2 sup{<u, v> : |v| = 1, sqrt3 <v, p> >= N}.

    u = u_int / Du, given by Ti = <u_int, p_int> and N2i = ||u_int||^2. When u/|u| lies in
    the cap the sup is sqrt(3 ||u||^2)/2; otherwise its maximiser is on the cap's boundary
    and the sup is (t N + sqrt((||u||^2 P^2 - t^2)(3 P^2 - N^2))) / (2 P^2), t = <u, p>.
    The case is decided exactly (squaring with the signs in hand); only the final square
    root is rounded, up, with 64 extra bits.
    """
    if N2i == 0:
        return 0, 1
    Nn, Nd, Dp, P2i = dom.Nn, dom.Nd, dom.Dp, dom.P2i
    k = _SQRT_BITS
    # sqrt3 t >= N |u|, i.e. 3 Ti^2 Nd^2 against Nn^2 N2i Dp^2 with the signs in hand
    lhs, rhs = 3 * Ti * Ti * Nd * Nd, Nn * Nn * N2i * Dp * Dp
    inside = (Nn <= 0 or lhs >= rhs) if Ti >= 0 else (Nn <= 0 and lhs <= rhs)
    if inside:
        return _ceil_sqrt((3 * N2i) << (2 * k)), (2 * Du) << k
    if P2i == 0:
        raise _Fail("the cap is empty (p = 0 and N > 0)")
    G = N2i * P2i - Ti * Ti  # (||u||^2 P^2 - t^2) Du^2 Dp^2 >= 0 (Cauchy-Schwarz)
    H = 3 * P2i * Nd * Nd - Nn * Nn * Dp * Dp  # (3 P^2 - N^2) Dp^2 Nd^2 >= 0 on a proper cap
    return ((Ti * Nn * Dp) << k) + _ceil_sqrt((G * H) << (2 * k)), (2 * Du * Nd * P2i) << k


def _norm_up(N2i: int, Du: int, rho: fmpq) -> tuple[int, int]:
    """(num, den) >= rho ||u|| for u = u_int / Du with N2i = ||u_int||^2."""
    k = _SQRT_BITS
    return int(rho.p) * _ceil_sqrt(N2i << (2 * k)), (int(rho.q) * Du) << k


def linear_sup_up(lam, dom: Domain) -> fmpq:
    """Upper bound of sup over the domain of <Lambda, x> (Lambda of length d, exact rationals).

    Cap: Lambda_d / 2 + sup over the cap of <(Lambda', 0), x> (:func:`cap_sup_up`); ball:
    <Lambda, x0> + rho ||Lambda||.
    """
    u, Du = _common(lam)
    Pi = dom.Pi
    if dom.kind == "cap":
        us = u[:-1]
        Ti = sum(a * b for a, b in zip(us, Pi))
        num, den = cap_sup_up(Ti, sum(a * a for a in us), Du, dom)
        return lam[-1] / 2 + fmpq(num, den)
    num, den = _norm_up(sum(a * a for a in u), Du, dom.rho)
    return fmpq(sum(a * b for a, b in zip(u, Pi)), Du * dom.Dp) + fmpq(num, den)


def preactivation_ranges(net: Network, dom: Domain) -> tuple[list[int], list[int], int]:
    """(lo, hi, S): lo_r / S <= inf_D z_r and hi_r / S >= sup_D z_r, z_r(x) = <W_r, x> + b_r (Thm 5.3).

    Exact ranges of a linear map over the domain, rounded outward onto the grid 1/S:
    on the cap W_rd/2 + b_r ± sup_cap <(±W_r', 0), x> (:func:`cap_sup_up`, inlined here:
    the two signs share their square roots, and the grid is chosen so that only the
    boundary case divides); on the ball z_r(x0) ± rho ||W_r||.
    """
    Wi, bi, Du, Pi = net.Wi, net.bi, net.Du, dom.Pi
    g, k = _GRID_BITS, _SQRT_BITS
    lo, hi = [], []
    isqrt = math.isqrt
    if dom.kind == "cap":
        S = (2 * Du) << g  # W_rd/2 + b_r = (W_int_rd + 2 b_int_r) / (2 Du) lies on the grid
        P = Pi[:-1]
        Nn, Nd, Dp, P2i = dom.Nn, dom.Nd, dom.Dp, dom.P2i
        A3, B = 3 * Nd * Nd, Nn * Nn * Dp * Dp
        H = 3 * P2i * Nd * Nd - B  # (3 P^2 - N^2) Dp^2 Nd^2
        tn = (Nn * Dp) << k
        div = Nd * P2i
        nonpos = Nn <= 0
        d1 = len(P)
        for Wr, br in zip(Wi, bi):
            Ti = n2 = 0
            for j in range(d1):
                w = Wr[j]
                Ti += w * P[j]
                n2 += w * w
            const = (Wr[d1] + 2 * br) << g
            if n2 == 0:
                hi.append(const)
                lo.append(const)
                continue
            lhs, rhs = A3 * Ti * Ti, B * n2
            # sqrt3 t >= N |u| for t = +Ti (hi) and t = -Ti (lo)
            in_hi = (nonpos or lhs >= rhs) if Ti >= 0 else (nonpos and lhs <= rhs)
            in_lo = (nonpos or lhs >= rhs) if Ti <= 0 else (nonpos and lhs <= rhs)
            if in_hi or in_lo:
                x = (3 * n2) << (2 * k)
                r = isqrt(x)
                sq_in = (r if r * r == x else r + 1) << (g - k)  # sqrt(3 ||u||^2)/(2 Du) on the grid
            if not (in_hi and in_lo):
                if P2i == 0:
                    raise _Fail("the cap is empty (p = 0 and N > 0)")
                x = ((n2 * P2i - Ti * Ti) * H) << (2 * k)
                if x < 0:
                    raise _Fail("square root of a negative number in the Theorem 5.3 ranges")
                r = isqrt(x)
                sq_out = r if r * r == x else r + 1
            hi.append(const + (sq_in if in_hi else -((-((Ti * tn + sq_out) << (g - k))) // div)))
            lo.append(const - (sq_in if in_lo else -((-((-Ti * tn + sq_out) << (g - k))) // div)))
        return lo, hi, S
    S = (Du * dom.Dp) << g  # z_r(x0) = (<W_int_r, x0_int> + b_int_r Dp) / (Du Dp)
    Rn, Rd = int(dom.rho.p), int(dom.rho.q)
    scale = (Rn * dom.Dp) << (g - k)
    for Wr, br in zip(Wi, bi):
        z = (sum(map(operator.mul, Wr, Pi)) + br * dom.Dp) << g
        x = sum(map(operator.mul, Wr, Wr)) << (2 * k)
        r = isqrt(x)
        rn = -((-(scale * (r if r * r == x else r + 1))) // Rd)  # rho ||W_r|| on the grid, up
        hi.append(z + rn)
        lo.append(z - rn)
    return lo, hi, S


@dataclass(frozen=True)
class Leaf:
    """One leaf of a point's split tree (Theorem 5.3 bound, details.per_point[i].leaves[j])."""

    sigma: int
    splits: dict
    alpha: dict
    beta: dict
    bound: fmpq


def _rat_list(values: list, where: str) -> list[fmpq]:
    """Many rational strings at once (leaf parameters run to millions): C-level maps on the
    common case 'p/q' in lowest terms; anything else goes through :func:`_rat` for its message."""
    try:
        ns, _, ds = zip(*map(str.partition, values, repeat("/")))
        ni, di = list(map(int, ns)), [int(q) if q else 1 for q in ds]
        canonical = [f"{p}/{q}" if q != 1 else str(p) for p, q in zip(ni, di)]
        if canonical == values and min(di) > 0 and set(map(math.gcd, ni, di)) == {1}:
            return list(map(fmpq, ni, di))
    except (TypeError, ValueError):
        pass
    return [_rat(x, f"{where}[{j}][1]") for j, x in enumerate(values)]


def _pairs(v, where: str, m: int, rational: bool) -> dict:
    if not isinstance(v, list):
        raise _Fail(f"{where} is not a list of [neuron, value] pairs")
    if not v:
        return {}
    if not all(type(e) is list and len(e) == 2 and type(e[0]) is int for e in v):
        j = next(j for j, e in enumerate(v) if not (type(e) is list and len(e) == 2 and type(e[0]) is int))
        raise _Fail(f"{where}[{j}] is not a [neuron, value] pair")
    rs = [e[0] for e in v]
    if min(rs) < 0 or max(rs) >= m:
        j = next(j for j, r in enumerate(rs) if not 0 <= r < m)
        raise _Fail(f"{where}[{j}]: neuron {rs[j]} is not in 0..{m - 1}")
    vals = [e[1] for e in v]
    if rational:
        vals = _rat_list(vals, where)
    elif not all(type(x) is int and x in (1, -1) for x in vals):
        j = next(j for j, x in enumerate(vals) if not (type(x) is int and x in (1, -1)))
        raise _Fail(f"{where}[{j}]: the side of neuron {rs[j]} is {_short(vals[j])}, not 1 or -1")
    out = dict(zip(rs, vals))
    if len(out) != len(rs):
        seen: set = set()
        r = next(r for r in rs if r in seen or seen.add(r))
        raise _Fail(f"{where}: neuron {r} appears twice")
    return out


def _parse_leaf(v, where: str, m: int) -> Leaf:
    if not isinstance(v, dict):
        raise _Fail(f"{where} is not an object")
    for key in ("sigma", "splits", "alpha", "beta", "bound"):
        if key not in v:
            raise _Fail(f"{where} has no '{key}'")
    if type(v["sigma"]) is not int or v["sigma"] not in (1, -1):
        raise _Fail(f"{where}.sigma = {_short(v['sigma'])}, not 1 or -1")
    splits = _pairs(v["splits"], f"{where}.splits", m, False)
    alpha = _pairs(v["alpha"], f"{where}.alpha", m, True)
    beta = _pairs(v["beta"], f"{where}.beta", m, True)
    if alpha and not (min(alpha.values()) >= 0 and max(alpha.values()) <= 1):
        r = next(r for r, x in alpha.items() if not 0 <= x <= 1)
        raise _Fail(f"{where}.alpha: alpha_{r} = {_fmt(alpha[r])} is not in [0, 1]")
    for r, x in beta.items():
        if x < 0:
            raise _Fail(f"{where}.beta: beta_{r} = {_fmt(x)} is negative")
        if r not in splits:
            raise _Fail(f"{where}.beta: neuron {r} has a beta but the leaf does not split it")
    missing = [r for r in splits if r not in beta]
    if missing:
        raise _Fail(f"{where}.beta: split neuron {missing[0]} has no beta")
    return Leaf(v["sigma"], splits, alpha, beta, _rat(v["bound"], f"{where}.bound"))


def split_tree_gap(leaves: list[dict]) -> str | None:
    """Why the leaves' splits (neuron -> ±1) do not form a complete split tree, or None.

    A complete tree: one leaf without splits; or a neuron split by every leaf, such that
    the leaves with +1 and those with -1 (that neuron removed) are both complete trees.
    Its leaves then cover every sign pattern, so the leaves' regions cover the domain.
    """
    stack = [(list(range(len(leaves))), ())]
    while stack:
        idx, path = stack.pop()
        where = "the root" if not path else "the branch " + ", ".join(f"z_{r} {'>=' if s > 0 else '<='} 0" for r, s in path)
        done = {r for r, _ in path}
        rest = [[r for r in leaves[j] if r not in done] for j in idx]
        if not idx:
            return f"no leaf covers {where}"
        if len(idx) == 1 and not rest[0]:
            continue
        bare = [j for j, rr in zip(idx, rest) if not rr]
        if bare:
            return f"leaf {bare[0]} ends at {where}, where other leaves split further (not a tree)"
        common = set(rest[0]).intersection(*rest[1:])
        if not common:
            return f"the leaves below {where} share no split neuron (not a tree)"
        r = min(common)
        plus = [j for j in idx if leaves[j][r] > 0]
        minus = [j for j in idx if leaves[j][r] < 0]
        stack.append((minus, path + ((r, -1),)))
        stack.append((plus, path + ((r, 1),)))
    return None


def _robust_loss(ctx: _Ctx, c: dict, det: dict, where: str) -> tuple[fmpq, str]:
    """Re-derive the Theorem 5.3 sound upper bound stored in ``det``; returns (mean upper, note)."""
    inst = ctx.need("inst")
    net: Network = ctx.need("network")
    n, m = inst["n"], net.m
    kind = det["domain"]
    rho = _rat(det["rho"], f"{where}.rho")
    if rho != inst["rho"]:
        raise _Fail(f"{where}.rho = {_fmt(rho)}, but instance.rho = {_fmt(inst['rho'])}")
    per = det["per_point"]
    if len(per) != n:
        raise _Fail(f"{where}.per_point has {len(per)} entries, n = {n}")
    uppers, n_leaves, n_empty = [], 0, 0
    for i, pp in enumerate(per):
        wp = f"{where}.per_point[{i}]"
        if not isinstance(pp, dict) or "upper" not in pp or "leaves" not in pp:
            raise _Fail(f"{wp} needs 'upper' and 'leaves'")
        upper = _rat(pp["upper"], f"{wp}.upper")
        if not isinstance(pp["leaves"], list):
            raise _Fail(f"{wp}.leaves is not a list")
        leaves = [_parse_leaf(v, f"{wp}.leaves[{j}]", m) for j, v in enumerate(pp["leaves"])]
        for sigma in (1, -1):
            side = [lf.splits for lf in leaves if lf.sigma == sigma]
            gap = split_tree_gap(side)
            if gap is not None:
                raise _Fail(f"{wp}: the sigma = {sigma:+d} leaves are not a complete split tree: {gap}")
        top = max(lf.bound for lf in leaves)
        if upper < top:
            raise _Fail(f"{wp}.upper = {_fmt(upper)} is below its largest leaf bound {_fmt(top)}")
        uppers.append(upper)
        n_leaves += len(leaves)
        dom = make_domain(kind, inst["points"][i], rho)
        if dom.empty:
            n_empty += 1  # B_2(x_i, rho) ∩ X is empty: its sup is -inf, every bound holds
            continue
        got = leaf_bounds(net, dom, inst["labels"][i], leaves, f"{wp}.leaves")
        for j, (g, lf) in enumerate(zip(got, leaves)):
            if g > lf.bound:
                raise _Fail(
                    f"{wp}.leaves[{j}].bound = {_fmt(lf.bound)}, but the recipe re-derives {_fmt(g)}, larger by "
                    f"{_fmt(g - lf.bound)} (sigma = {lf.sigma:+d}, {len(lf.splits)} splits): the stored bound is not proved"
                )
    mean = sum(uppers, fmpq(0)) / n
    note = f"{n_leaves} leaves re-derived over the {kind}s of {n} points"
    if n_empty:
        note += f" ({n_empty} empty caps)"
    return mean, note


def leaf_bounds(net: Network, dom: Domain, y: fmpq, leaves: list[Leaf], where: str = "leaves") -> list[fmpq]:
    """Sound upper bounds of sup over the domain of sigma (f_W(x) - y), one per leaf (Theorem 5.3).

    Recomputed with this verifier's own ranges (:func:`preactivation_ranges`) and chords;
    only the leaves' splits, alpha and beta are taken from the certificate.

    The recipe (docs/certificate.md): on a leaf, sigma (f(x) - y) <= <Lambda, x> + sum_r k_r b_r
    + sum_r e_r - sigma y on the domain, Lambda = sum_r k_r W_r, with c_r = sigma a_r and
    k_r = c_r + beta_r (split +1), -beta_r (split -1), c_r (lo_r >= 0), 0 (hi_r <= 0),
    c_r s_r with e_r = c_r t_r (unstable, c_r > 0: a line s z + t >= relu on [lo_r, hi_r]),
    c_r alpha_r (unstable, c_r < 0).
    """
    lo, hi, S = preactivation_ranges(net, dom)
    m, d = net.m, net.d
    g = _GRID_BITS
    one = 1 << g
    unstable = [r for r in range(m) if lo[r] < 0 < hi[r]]
    V = sorted(set(unstable).union(*(lf.splits for lf in leaves)))
    a = {r: net.a(r) for r in V}
    pos = {r: j for j, r in enumerate(V)}
    # The leaf-independent part: per side, the coefficients on V of unsplit neurons, the
    # chord constants e_r, and Lambda of the certainly active neurons outside V.
    zero = fmpq(0)
    base_row, e_of, e_all, need_alpha = {}, {}, {}, {}
    for sg in (1, -1):
        row, eo, na = [], {}, []
        for j, r in enumerate(V):
            c = a[r] if sg > 0 else -a[r]
            if lo[r] >= 0:
                row.append(c)
            elif hi[r] <= 0 or c == 0:
                row.append(zero)
            elif c > 0:
                # slope s = hi/(hi - lo) rounded down; t the least intercept keeping s z + t >= relu at lo and hi
                s_int = (hi[r] << g) // (hi[r] - lo[r])
                t_int = max(-s_int * lo[r], (one - s_int) * hi[r])
                row.append(c * fmpq(s_int, one))
                eo[r] = c * fmpq(t_int, S << g)
            else:
                row.append(zero)
                na.append((j, r, c))
        base_row[sg], e_of[sg], need_alpha[sg] = row, eo, na
        e_all[sg] = sum(eo.values(), zero)
    inV = set(V)
    # sum over the certainly active neurons outside V of a_r [W_r, b_r], in integers
    acc = [0] * (d + 1)
    ai, Wi, bi = net.ai, net.Wi, net.bi
    for r in range(m):
        if lo[r] >= 0 and r not in inV:
            ar = ai[r]
            row = Wi[r]
            for t in range(d):
                acc[t] += ar * row[t]
            acc[d] += ar * bi[r]
    base = [fmpq(v, net.Da * net.Du) for v in acc]
    rows, extra = [], []
    for j, lf in enumerate(leaves):
        sg = lf.sigma
        row = list(base_row[sg])
        e = e_all[sg]
        eo = e_of[sg]
        for r, side in lf.splits.items():
            c = a[r] if sg > 0 else -a[r]
            row[pos[r]] = c + lf.beta[r] if side > 0 else -lf.beta[r]
            if r in eo:
                e -= eo[r]
        al = lf.alpha
        for t, r, c in need_alpha[sg]:
            if r in lf.splits:
                continue
            v = al.get(r)
            if v is None:
                raise _Fail(f"{where}[{j}].alpha has no entry for neuron {r}, which is unstable with sigma a_r < 0 on the domain")
            row[t] = c * v
        rows.extend(row)
        extra.append(e)
    if V:
        prod = fmpq_mat(len(leaves), len(V), rows) * fmpq_mat(len(V), d + 1, [x for r in V for x in net.row(r)])
    out = []
    for j, lf in enumerate(leaves):
        sg = lf.sigma
        lam = [base[t] * sg + (prod[j, t] if V else zero) for t in range(d + 1)]
        out.append(linear_sup_up(lam[:d], dom) + lam[d] + extra[j] - sg * y)
    return out


def _check_theorem_5_3(ctx: _Ctx, c: dict) -> str:
    det = c["details"]
    mean, note = _robust_loss(ctx, c, det, "details")
    _expect(c, "details.upper", _rat(det["upper"], "details.upper"), mean)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, ctx.need("inst")["eps"])
    _expect(c, "value", value, mean)
    done = _settle(c, value <= bound, f"the certified robust loss {_fmt(value)} exceeds eps = {_fmt(bound)}")
    return f"{done}; {note}"


def _check_theorem_4_1(ctx: _Ctx, c: dict) -> str:
    det = c["details"]
    wit = det.get("witness")
    net = ctx.need("network")
    if isinstance(wit, dict) and "sha256" in wit and wit["sha256"] != net.sha256:
        raise _Fail(f"details.witness.sha256 = {_short(wit['sha256'])} is not objects.network.sha256: the check is about another network")
    rob = det["robust"]
    mean, note = _robust_loss(ctx, c, rob, "details.robust")
    _expect(c, "details.robust.upper", _rat(rob["upper"], "details.robust.upper"), mean)
    value, bound = _rigorous_numbers(c)
    _expect(c, "bound", bound, ctx.need("inst")["eps"])
    _expect(c, "value", value, mean)
    done = _settle(c, value <= bound, f"the certified robust loss {_fmt(value)} of the stored iterate exceeds eps = {_fmt(bound)}")
    return f"{done}; {note}"


_EST = ("estimate",)
_SOUND_OR_EST = ("sound-bound", "estimate")

KNOWN_CHECKS: dict[str, _Spec] = {
    "definition-3.4/on-X": _Spec(("exact",), "<=", _check_on_x),
    "definition-3.4": _Spec(("enclosure",), ">=", _check_separability),
    "lemma-6.4/odd": _Spec(("exact",), "<=", _check_odd),
    "lemma-6.4/coefficients": _Spec(("exact",), "<=", _check_p1_coefficients),
    "lemma-6.4": _Spec(("enclosure",), "<=", _check_lemma_6_4),
    "claim-6.3/definition": _Spec(("exact",), "<=", _check_q_definition),
    "claim-6.3/coefficients": _Spec(("exact",), "<=", _check_q_coefficients),
    "claim-6.3/in": _Spec(("enclosure",), "<=", _check_q_in),
    "claim-6.3/out": _Spec(("enclosure",), "<=", _check_q_out),
    "lemma-6.2": _Spec(("sound-bound",), "<=", _check_lemma_6_2),
    "lemma-6.2/attack": _Spec(_EST, "<=", None, estimate=_check_attack),
    # the measured plane (optional: a certificate without a network omits them)
    "lemma-6.6": _Spec(_EST, "<=", None, required=False),
    "lemma-6.5/radius": _Spec(_EST, "<=", None, required=False),
    "lemma-6.5": _Spec(_EST, "<=", None, required=False),
    "theorem-5.1": _Spec(_EST, "<=", None, required=False),
    "theorem-5.1/chain": _Spec(_EST, "<=", None, required=False),
    "theorem-5.3": _Spec(_SOUND_OR_EST, "<=", _check_theorem_5_3, required=False),
    "theorem-5.2": _Spec(_EST, "<=", None, required=False),
    "theorem-4.1": _Spec(_SOUND_OR_EST, "<=", _check_theorem_4_1, required=False),
}
"""The checks of format version 1 in chain order (docs/certificate.md, "The foundation
checks" and "The measured plane"). The foundation checks are required; the measured
plane's are optional, but those present keep this order."""

REQUIRED_CHECKS = tuple(k for k, spec in KNOWN_CHECKS.items() if spec.required)

NETWORK_CHECKS = ("theorem-5.3", "theorem-4.1")
"""Checks whose rigorous form is a claim about the network of objects.network."""


def _part_check_list(ctx: _Ctx) -> str:
    seen: dict[str, int] = {}
    for c in ctx.doc["checks"]:
        seen[c["id"]] = seen.get(c["id"], 0) + 1
    dup = [k for k, m in seen.items() if m > 1]
    if dup:
        raise _Fail(f"check {dup[0]} appears {seen[dup[0]]} times")
    for c in ctx.doc["checks"]:
        if c["id"] not in KNOWN_CHECKS and c["label"] in RIGOROUS_LABELS:
            raise _Fail(
                f"cannot re-derive check {c['id']} (label {c['label']}); this verifier knows: {', '.join(KNOWN_CHECKS)}"
            )
    missing = [k for k in REQUIRED_CHECKS if k not in seen]
    if missing:
        raise _Fail(f"check {missing[0]} is missing (format version 1 requires {', '.join(REQUIRED_CHECKS)})")
    known = [c["id"] for c in ctx.doc["checks"] if c["id"] in KNOWN_CHECKS]
    order = [k for k in KNOWN_CHECKS if k in seen]
    if known != order:
        k = next(i for i, (a, b) in enumerate(zip(known, order)) if a != b)
        raise _Fail(f"the checks are not in chain order: {known[k]} comes where {order[k]} belongs")
    ctx.checks = {c["id"]: c for c in ctx.doc["checks"]}
    return f"{len(ctx.doc['checks'])} checks, in chain order, all known or estimates"


def _run_check(ctx: _Ctx, c: dict) -> str:
    spec = KNOWN_CHECKS.get(c["id"])
    if spec is None:
        if c["label"] in RIGOROUS_LABELS:
            raise _Fail(f"cannot re-derive check {c['id']}; this verifier knows: {', '.join(KNOWN_CHECKS)}")
        return _check_estimate(ctx, c)
    label = c["label"]
    if label not in spec.labels:
        if spec.labels == _EST:
            raise _Fail(f"label {label!r}, but this check is an estimate by the contract: it cannot be re-derived")
        raise _Fail(f"label {label!r}, but the contract defines this check as {' or '.join(map(repr, spec.labels))}")
    if c["relation"] != spec.relation:
        raise _Fail(f"relation {c['relation']!r}, but the contract's claim is value {spec.relation} bound")
    if label in RIGOROUS_LABELS and c["verdict"] not in RIGOROUS_VERDICTS:
        raise _Fail(f"a {label} check must say 'holds' or 'fails', not {c['verdict']!r}")
    if label != "enclosure" and "enclosure" in c:
        raise _Fail(f"an {label} check carries an enclosure")
    if label == "estimate":
        return (spec.estimate or _check_estimate)(ctx, c)
    return spec.rederive(ctx, c)


_PARTS: tuple[tuple[str, Callable[[_Ctx], str]], ...] = (
    ("sha256", _part_sha256),
    ("instance", _part_instance),
    ("parameters", _part_parameters),
    ("objects", _part_objects),
    ("network", _part_network),
    ("constants", _part_constants),
    ("checks", _part_check_list),
)

_ERRORS = (_Fail, ArithmeticError, ValueError, TypeError, KeyError, IndexError, RecursionError)


def verify_document(doc: dict, *, stop_at_first_failure: bool = False, base: str | Path | None = None,
                    witness: bytes | None = None) -> Report:
    """Re-derive every claim of a certificate document (docs/certificate.md).

    Order: format and version, JSON Schema, the SHA-256 of the canonical form, the
    instance, parameters, objects and network witness, the list of checks, then each
    check in chain order: exact / enclosure / sound-bound checks are re-derived with
    exact arithmetic (Definition 3.4, Lemma 6.4, Claim 6.3, Lemma 6.2, and Theorem 5.3's
    robust-loss bound for theorem-5.3 and theorem-4.1, of Zhang et al. 2020), estimates
    are listed and their verdicts checked for consistency, not re-run.

    ``base`` is the folder that objects.network.path is relative to (default: the current
    folder); ``witness`` gives the witness's bytes instead of reading that file. A
    rigorous check whose witness is missing makes the report unreadable (exit status 2).
    """
    try:
        _check_readable(doc)
    except Unreadable as e:
        return Report(False, (), f"format: {e}", readable=False)
    return _verify(doc, stop_at_first_failure, None if base is None else Path(base), witness)


def _verify(doc: dict, stop_at_first_failure: bool, base: Path | None = None, witness: bytes | None = None) -> Report:
    """verify_document after the format, version and schema have been checked."""
    ctx = _Ctx(doc, base, witness)
    results: list[CheckResult] = []
    first: str | None = None
    missing: _MissingWitness | None = None

    def record(ident: str, fn, label=None) -> None:
        nonlocal first, missing
        t0 = time.perf_counter()
        try:
            msg, status = fn(), None
        except _MissingWitness as e:
            # exit 2 when nothing failed before: the certificate cannot be checked at all
            msg, status = f"{e.problem}; fix: {e.fix}", "failed"
            ctx.failed.add(ident)
            if first is None:
                missing = e
                first = f"{ident}: {msg}"
        except _ERRORS as e:
            msg = str(e) if isinstance(e, _Fail) else f"{type(e).__name__}: {e}"
            status = "failed"
            ctx.failed.add(ident)
            if first is None:
                first = f"{ident}: {msg}"
        if status is None:
            status = "estimate" if label == "estimate" else "re-derived"
        results.append(CheckResult(ident, status, msg, time.perf_counter() - t0, label))

    for ident, fn in _PARTS:
        record(ident, lambda fn=fn: fn(ctx))
        if missing is not None:
            return Report(False, tuple(results), first, readable=False)
        if first is not None and stop_at_first_failure:
            return Report(False, tuple(results), first)
    # Contract order (the document's own order once the check list holds), so that
    # lemma-6.2 sees whether its enclosures were proved and the attack sees the
    # certified bound.
    order = list(KNOWN_CHECKS)
    ranked = sorted(doc["checks"], key=lambda c: order.index(c["id"]) if c["id"] in KNOWN_CHECKS else len(order))
    for c in ranked:
        record(c["id"], lambda c=c: _run_check(ctx, c), c["label"])
        if first is not None and stop_at_first_failure:
            break
    return Report(first is None, tuple(results), first)


# --------------------------------------------------------------------------- files


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise Unreadable(f"duplicate key {k!r} in a JSON object", f"a certificate never repeats a key; {_REBUILD}")
        out[k] = v
    return out


def _finite_float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):
        raise Unreadable(f"the number {s[:30]} is out of the binary64 range", f"the format holds finite numbers only; {_REBUILD}")
    return v


def _no_constant(s: str):
    raise Unreadable(f"non-finite number {s} in the JSON", f"the format holds finite numbers only; {_REBUILD}")


def load(path) -> dict:
    """Read a certificate file as JSON; raises :class:`Unreadable` with problem and fix."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise Unreadable(f"no such file: {p}", "check the path, or write a certificate with `advcert build`") from None
    except IsADirectoryError:
        raise Unreadable(f"{p} is a directory", "pass the certificate's .json file") from None
    except OSError as e:
        raise Unreadable(f"cannot open {p}: {e.strerror or e}", "check the path and its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"{p} is not UTF-8 text", "pass a JSON certificate written by `advcert build`") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise Unreadable(f"{p} is empty", _REBUILD)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_finite_float, parse_constant=_no_constant)
    except Unreadable:
        raise
    except json.JSONDecodeError as e:
        tail = text[e.pos:].strip() == "" or e.msg.startswith("Unterminated")
        what = "the JSON ends early (the file looks truncated)" if tail else f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
        raise Unreadable(f"{p}: {what}", _REBUILD) from None
    except RecursionError:
        raise Unreadable(f"{p}: the JSON is nested too deeply", "pass a certificate written by `advcert build`") from None
    except ValueError as e:  # e.g. an integer literal over Python's digit limit
        raise Unreadable(f"{p}: unreadable number ({e})", _REBUILD) from None


def run(path, stream: TextIO | None = None, err: TextIO | None = None, estimates: bool = False) -> int:
    """``advcert verify FILE``: re-check a certificate; returns the exit status.

    0: every check re-derived and agrees and the hash matches (one line per part, then
    ``verify: OK``); 1: readable, but something does not hold or does not match (one
    line naming the first failing check or field); 2: not readable as a certificate, or
    a rigorous check's network witness is missing (one line with the problem and the
    fix). ``estimates`` marks the estimates that ``advcert verify --estimates`` re-runs:
    that needs the builders, so advcert.rerun does it after this function, never here.
    """
    stream = sys.stdout if stream is None else stream
    err = sys.stderr if err is None else err
    t0 = time.perf_counter()
    try:
        doc = load(path)
        _check_readable(doc)
    except Unreadable as e:
        print(" ".join(f"verify: cannot read {path}: {e.problem}; fix: {e.fix}".split()), file=err)
        return 2
    report = _verify(doc, stop_at_first_failure=False, base=Path(path).resolve().parent)
    if not report.readable:
        print(" ".join(f"verify: cannot verify {path}: {report.first_failure}".split()), file=err)
        return 2
    if not report.ok:
        one_line = " ".join(report.first_failure.split())
        print(f"verify: FAIL {one_line}", file=err)
        return 1
    for r in report.results:
        what = "estimate, not re-run" if r.status == "estimate" else "re-derived"
        label = r.label or "-"
        print(f"  {r.id:<24} {label:<12} {what:<21} {r.seconds:7.3f} s  {r.message if r.status != 'estimate' else ''}".rstrip(), file=stream)
        if estimates and r.status == "estimate":
            print(f"  {'':<24} {'':<12} {r.id}: re-run by advcert.rerun, outside the verifier", file=stream)
    n = len(doc["checks"])
    print(f"verify: OK ({n} checks, {time.perf_counter() - t0:.2f} s)", file=stream)
    return 0
