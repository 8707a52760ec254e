"""The independent checker of advcert certificates (format version 1).

Written from the contract in ``docs/certificate.md``, not from the builders: this module
imports nothing from ``advcert`` and no numpy or numba, so a bug in a builder cannot
confirm itself here. Every ``exact``, ``enclosure`` and ``sound-bound`` check is re-derived
with exact rational arithmetic (python-flint ``fmpq``/``fmpz_poly``), by a different method
from the builder's: sup-norm enclosures are proved with Descartes' rule of signs and
bisection (the Vincent-Collins-Akritas scheme) on exact integer polynomials, where the
builder uses Arb balls.

Exit codes of :func:`run`: 0 every check re-derived and agrees and the hash matches;
1 the certificate is readable but something does not hold or does not match;
2 the file cannot be read as a certificate.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import jsonschema
from flint import fmpq, fmpq_poly, fmpz_poly

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

    def __init__(self, doc: dict):
        self.doc = doc
        self.failed: set[str] = set()
        self.inst: dict | None = None
        self.params: dict | None = None
        self.p1: fmpq_poly | None = None
        self.q: fmpq_poly | None = None
        self.checks: dict[str, dict] = {}
        self.lemma_6_2_value: fmpq | None = None

    _PART_OF = {"inst": "instance", "params": "parameters", "p1": "objects", "q": "objects"}

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


KNOWN_CONSTANTS: dict[str, Callable[[_Ctx], fmpq]] = {
    "D_used": _const_d_used,
    "log2_coef_bound_p1": _const_log2_coef_bound_p1,
}
"""Constants with a rigorous label that this verifier re-derives: D_used is the degree of
p1 (= the degree of q); log2_coef_bound_p1 = 4 D_used, the exponent of Lemma 6.4's
coefficient bound 2^{4D}. A rigorous constant not listed here is rejected, like an
unknown rigorous check: a label that nobody checks would vouch for nothing."""


def _part_constants(ctx: _Ctx) -> str:
    consts = ctx.doc["constants"]
    for name, c in consts.items():
        if c["label"] == "estimate":
            if isinstance(c["value"], float) and not math.isfinite(c["value"]):
                raise _Fail(f"constants.{name}.value is not finite")
            continue
        got = _rat(c["value"], f"constants.{name}.value")
        rederive = KNOWN_CONSTANTS.get(name)
        if rederive is None:
            raise _Fail(
                f"cannot re-derive constant {name} (label {c['label']}); this verifier knows: {', '.join(KNOWN_CONSTANTS)}"
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


# --- the checks


@dataclass(frozen=True)
class _Spec:
    label: str
    relation: str
    rederive: Callable[[_Ctx, dict], str]


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
    value = _number(c["value"], f"{c['id']}.value")
    certified = ctx.lemma_6_2_value
    if value is not None and certified is not None and value > certified:
        raise _Fail(
            f"the attack reached {_fmt(value)}, above the certified upper bound {_fmt(certified)} of lemma-6.2: the certificate contradicts itself"
        )
    return msg


KNOWN_CHECKS: dict[str, _Spec] = {
    "definition-3.4/on-X": _Spec("exact", "<=", _check_on_x),
    "definition-3.4": _Spec("enclosure", ">=", _check_separability),
    "lemma-6.4/odd": _Spec("exact", "<=", _check_odd),
    "lemma-6.4/coefficients": _Spec("exact", "<=", _check_p1_coefficients),
    "lemma-6.4": _Spec("enclosure", "<=", _check_lemma_6_4),
    "claim-6.3/definition": _Spec("exact", "<=", _check_q_definition),
    "claim-6.3/coefficients": _Spec("exact", "<=", _check_q_coefficients),
    "claim-6.3/in": _Spec("enclosure", "<=", _check_q_in),
    "claim-6.3/out": _Spec("enclosure", "<=", _check_q_out),
    "lemma-6.2": _Spec("sound-bound", "<=", _check_lemma_6_2),
    "lemma-6.2/attack": _Spec("estimate", "<=", _check_attack),
}
"""The checks of format version 1 (docs/certificate.md, "The foundation checks"); all
are required."""


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
    missing = [k for k in KNOWN_CHECKS if k not in seen]
    if missing:
        raise _Fail(f"check {missing[0]} is missing (format version 1 requires {', '.join(KNOWN_CHECKS)})")
    known = [c["id"] for c in ctx.doc["checks"] if c["id"] in KNOWN_CHECKS]
    if known != list(KNOWN_CHECKS):
        k = next(i for i, (a, b) in enumerate(zip(known, KNOWN_CHECKS)) if a != b)
        raise _Fail(f"the checks are not in chain order: {known[k]} comes where {list(KNOWN_CHECKS)[k]} belongs")
    ctx.checks = {c["id"]: c for c in ctx.doc["checks"]}
    return f"{len(ctx.doc['checks'])} checks, in chain order, all known or estimates"


def _run_check(ctx: _Ctx, c: dict) -> str:
    spec = KNOWN_CHECKS.get(c["id"])
    if spec is None:
        if c["label"] in RIGOROUS_LABELS:
            raise _Fail(f"cannot re-derive check {c['id']}; this verifier knows: {', '.join(KNOWN_CHECKS)}")
        return _check_estimate(ctx, c)
    if c["label"] != spec.label:
        if spec.label == "estimate":
            raise _Fail(f"label {c['label']!r}, but this check is an estimate by the contract: it cannot be re-derived")
        raise _Fail(f"label {c['label']!r}, but the contract defines this check as {spec.label!r}")
    if c["relation"] != spec.relation:
        raise _Fail(f"relation {c['relation']!r}, but the contract's claim is value {spec.relation} bound")
    if spec.label in RIGOROUS_LABELS and c["verdict"] not in RIGOROUS_VERDICTS:
        raise _Fail(f"a {spec.label} check must say 'holds' or 'fails', not {c['verdict']!r}")
    if spec.label != "enclosure" and "enclosure" in c:
        raise _Fail(f"an {spec.label} check carries an enclosure")
    return spec.rederive(ctx, c)


_PARTS: tuple[tuple[str, Callable[[_Ctx], str]], ...] = (
    ("sha256", _part_sha256),
    ("instance", _part_instance),
    ("parameters", _part_parameters),
    ("objects", _part_objects),
    ("constants", _part_constants),
    ("checks", _part_check_list),
)

_ERRORS = (_Fail, ArithmeticError, ValueError, TypeError, KeyError, IndexError, RecursionError)


def verify_document(doc: dict, *, stop_at_first_failure: bool = False) -> Report:
    """Re-derive every claim of a certificate document (docs/certificate.md).

    Order: format and version, JSON Schema, the SHA-256 of the canonical form, the
    instance, parameters and objects, the list of checks, then each check in document
    order: exact / enclosure / sound-bound checks are re-derived with exact arithmetic
    (Definition 3.4, Lemma 6.4, Claim 6.3, Lemma 6.2 of Zhang et al. 2020), estimates
    are listed and their verdicts checked for consistency, not re-run.
    """
    try:
        _check_readable(doc)
    except Unreadable as e:
        return Report(False, (), f"format: {e}", readable=False)
    return _verify(doc, stop_at_first_failure)


def _verify(doc: dict, stop_at_first_failure: bool) -> Report:
    """verify_document after the format, version and schema have been checked."""
    ctx = _Ctx(doc)
    results: list[CheckResult] = []
    first: str | None = None

    def record(ident: str, fn, label=None) -> None:
        nonlocal first
        t0 = time.perf_counter()
        try:
            msg, status = fn(), None
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
    """``advcert verify FILE [--estimates]``: re-check a certificate; returns the exit status.

    0: every check re-derived and agrees and the hash matches (one line per part, then
    ``verify: OK``); 1: readable, but something does not hold or does not match (one
    line naming the first failing check or field); 2: not readable as a certificate
    (one line with the problem and the fix).
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
    report = _verify(doc, stop_at_first_failure=False)
    if not report.ok:
        one_line = " ".join(report.first_failure.split())
        print(f"verify: FAIL {one_line}", file=err)
        return 1
    for r in report.results:
        what = "estimate, not re-run" if r.status == "estimate" else "re-derived"
        label = r.label or "-"
        print(f"  {r.id:<24} {label:<12} {what:<21} {r.seconds:7.3f} s  {r.message if r.status != 'estimate' else ''}".rstrip(), file=stream)
        if estimates and r.status == "estimate":
            print(f"  {'':<24} {'':<12} no estimate re-runner for {r.id}", file=stream)
    n = len(doc["checks"])
    print(f"verify: OK ({n} checks, {time.perf_counter() - t0:.2f} s)", file=stream)
    return 0
