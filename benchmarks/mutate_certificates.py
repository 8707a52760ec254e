"""Mutation test of the independent verifier (advcert/verify/) on real certificates.

    .venv/bin/python benchmarks/mutate_certificates.py CERT.json [CERT.json ...]
        [--all-digits] [--limit N] [--seed S]

For each certificate, every field is mutated in turn: each number (last digit, doubling),
digits of each rational string (by default the first and last digit of the numerator and
the last of the denominator; every digit with --all-digits), sign flips, label
upgrades/downgrades, verdict flips, relation flips, id edits, deletion of each check, of
each key and of the last element of each array, swaps of the first two array elements,
the seed, the points, the hash; and, for a certificate with a network witness
(objects.network), edits of the witness: raw byte flips of the .npz and array-level edits
re-written as valid .npz files (a flipped low or high bit of a weight, swapped rows, a
sign, float32, Fortran order, a missing or extra member, NaN, a wrong shape). Each
mutation is verified twice:

* A: hash kept. Every mutation must be rejected (the hash covers the whole document).
* B: sha256 recomputed after the mutation, so only the mathematics and the contract's
  consistency rules can catch it.

In B a mutation falls in one of three classes, decided by this script independently of
the verifier (Fractions and mpmath, not advcert.verify's code):

* excluded: the field carries no claim (provenance, timings, words for people, estimate
  numbers that are not re-run, details the contract does not define); listed with why; or
  the independent reference cannot decide it (a Theorem 5.3 leaf bound within 1e-35 of
  the recipe's exact value);
* still true: the mutated certificate is still a true certificate (a wider enclosure, a
  lower witness bound that the witness still attains, a data edit that leaves every
  claimed quantity unchanged, a log2 within its 3-decimal rounding, a Theorem 5.3 leaf
  whose edited parameters or bound still satisfy the recipe, a witness edit the claims do
  not see); accepting it is right, rejecting it would be over-strict (counted and shown);
  the Theorem 5.3 recipe is evaluated here in numpy float64 and, within 1e-11 of the
  stored bound, again in mpmath at 60 digits (not with advcert.verify's integer code);
* must reject: everything else. The target is 100 %; every miss is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import re
import sys
import time
import zipfile
from pathlib import Path
from dataclasses import dataclass
from fractions import Fraction as F
from typing import Callable

import mpmath
import numpy as np

from advcert import verify as V

RATIONAL = re.compile(r"^(0|-?[1-9][0-9]*)(/[1-9][0-9]*)?$")
LABELS = ("exact", "enclosure", "sound-bound", "estimate")
VERDICTS = ("holds", "fails", "observed", "violated", "vacuous", "infeasible")

# details keys that the contract (docs/certificate.md) defines; others carry no claim
CONTRACT_DETAILS = {
    "definition-3.4/on-X": {"tau_plus", "tau_minus"},
    "definition-3.4": {"delta_sq", "pair", "delta"},
    "lemma-6.4/coefficients": {"log2_value", "log2_bound"},
    "claim-6.3/coefficients": {"log2_value", "log2_bound"},
    "lemma-6.4": {"interval", "witness"},
    "claim-6.3/in": {"interval", "witness"},
    "claim-6.3/out": {"interval", "witness", "delta_lo"},
    "lemma-6.2": {"per_point"},
    "theorem-5.3": {"domain", "rho", "upper", "per_point"},
    "theorem-4.1": {"robust", "witness"},
}
ROBUST_KEYS = {"domain", "rho", "upper", "per_point"}
BOUNDED_CONSTANTS = ("complexity_c", "eps2", "log2_C_q", "log2_C_q_eps2")
SUP_CHECKS = {"lemma-6.4": ("p1", 1), "claim-6.3/in": ("q", 1), "claim-6.3/out": ("q", 0)}


@dataclass
class Mutation:
    path: tuple
    kind: str
    apply: Callable[[], None]
    undo: Callable[[], None]


def fmt_path(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# ------------------------------------------------------------------ mutation makers


def set_value(parent, key, new) -> tuple[Callable, Callable]:
    old = parent[key]

    def apply():
        parent[key] = new

    def undo():
        parent[key] = old

    return apply, undo


def delete_key(parent: dict, key) -> tuple[Callable, Callable]:
    old = parent[key]

    def apply():
        del parent[key]

    def undo():
        parent[key] = old

    return apply, undo


def delete_index(parent: list, i: int) -> tuple[Callable, Callable]:
    old = parent[i]

    def apply():
        del parent[i]

    def undo():
        parent.insert(i, old)

    return apply, undo


def swap01(parent: list) -> tuple[Callable, Callable]:
    def apply():
        parent[0], parent[1] = parent[1], parent[0]

    return apply, apply


def digit_edits(s: str, all_digits: bool) -> list[str]:
    num, _, den = s.partition("/")
    positions = [i for i, ch in enumerate(s) if ch.isdigit()]
    if not all_digits:
        npos = [i for i in positions if i < len(num)]
        dpos = [i for i in positions if i > len(num)]
        positions = sorted({npos[0], npos[-1], *([dpos[-1]] if dpos else [])})
    out = []
    for i in positions:
        new = str((int(s[i]) + 1) % 10)
        cand = s[:i] + new + s[i + 1:]
        if cand != s:
            out.append(cand)
    out.append(s[1:] if s.startswith("-") else "-" + s)
    return out


def float_edits(v: float) -> list[float]:
    out = []
    r = repr(v)
    mant, e, exp = r.partition("e")
    idx = max(i for i, ch in enumerate(mant) if ch.isdigit())
    for delta in (1, -1):
        d = (int(mant[idx]) + delta) % 10
        cand = float(mant[:idx] + str(d) + mant[idx + 1:] + e + exp)
        if math.isfinite(cand) and cand != v:
            out.append(cand)
    out.append(v * 2 if v != 0 else 1.0)
    return out


def mutations(doc: dict, all_digits: bool) -> list[Mutation]:
    muts: list[Mutation] = []

    def add(path, kind, pair):
        muts.append(Mutation(path, kind, *pair))

    def walk(node, path):
        if isinstance(node, dict):
            for k in list(node):
                v = node[k]
                p = path + (k,)
                leaf(node, k, v, p)
                add(p, "delete key", delete_key(node, k))
                walk(v, p)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                p = path + (i,)
                leaf(node, i, v, p)
                walk(v, p)
            if node:
                add(path + (len(node) - 1,), "delete last element", delete_index(node, len(node) - 1))
            if len(node) >= 2 and node[0] != node[1]:
                add(path + (0,), "swap first two elements", swap01(node))

    def leaf(parent, key, v, p):
        last = p[-1]
        if isinstance(v, bool):
            add(p, "flip bool", set_value(parent, key, not v))
        elif isinstance(v, int):
            add(p, "int + 1", set_value(parent, key, v + 1))
            if v > 0:
                add(p, "int - 1", set_value(parent, key, v - 1))
        elif isinstance(v, float):
            for new in float_edits(v):
                add(p, f"float {v!r} -> {new!r}", set_value(parent, key, new))
        elif isinstance(v, str):
            if last == "label":
                for new in LABELS:
                    if new != v:
                        add(p, f"label {v} -> {new}", set_value(parent, key, new))
            elif last == "verdict":
                for new in VERDICTS:
                    if new != v:
                        add(p, f"verdict {v} -> {new}", set_value(parent, key, new))
            elif last == "relation":
                add(p, "relation flip", set_value(parent, key, "<=" if v == ">=" else ">="))
            elif last == "sha256":
                add(p, "hash edit", set_value(parent, key, ("0" if v[0] != "0" else "1") + v[1:]))
            elif RATIONAL.match(v):
                for new in digit_edits(v, all_digits):
                    add(p, "rational digit/sign", set_value(parent, key, new))
            else:
                add(p, "text edit", set_value(parent, key, v + "x"))
        elif v is None:
            add(p, "null -> 0", set_value(parent, key, 0))

    walk(doc, ())
    for i, c in enumerate(doc["checks"]):
        add(("checks", i, f"<{c['id']}>"), "delete check", delete_index(doc["checks"], i))
    return muts


# --------------------------------------------------- independent classification (B)


def log2_fraction(x: F) -> float:
    p, q = x.numerator, x.denominator
    sp, sq = max(p.bit_length() - 64, 0), max(q.bit_length() - 64, 0)
    return math.log2(p >> sp) + sp - math.log2(q >> sq) - sq


def horner(cs, x):
    acc = F(0)
    for c in reversed(cs):
        acc = acc * x + c
    return acc


def data_signature(doc: dict):
    """The quantities of the instance that the claims use (contract, 'Data-dependent')."""
    inst = doc["instance"]
    try:
        X = [[F(v) for v in row] for row in inst["points"]]
        taus = [sum(v * v for v in row) - 1 for row in X]
        n = len(X)
        d2 = min(sum((a - b) ** 2 for a, b in zip(X[i], X[j])) for i in range(n) for j in range(i + 1, n))
        sep = next(c for c in doc["checks"] if c["id"] == "definition-3.4")
        i, j = sep["details"]["pair"]
        pair_ok = i != j and sum((a - b) ** 2 for a, b in zip(X[i], X[j])) == d2
        return (inst["n"], inst["d"], n, tuple(len(r) for r in X), max(abs(t) for t in taus),
                max(F(0), max(taus)), max(F(0), -min(taus)), all(r[-1] == F(1, 2) for r in X),
                d2, pair_ok, tuple(abs(F(y)) for y in inst["labels"]))
    except (TypeError, ValueError, IndexError, KeyError, StopIteration):
        return None


def sup_function(doc, cid):
    name, c = SUP_CHECKS[cid]
    cs = [F(x) for x in doc["objects"][name]["coefficients"]]
    return lambda w: abs(horner(cs, w) - c)


def _strings_at(doc, path) -> list[str]:
    """The string at path in doc (after a mutation), if any."""
    node = doc
    try:
        for p in path:
            node = node[p]
    except (KeyError, IndexError, TypeError):
        return []
    return [node] if isinstance(node, str) else []


# ------------------------------------------- the measured plane: an independent reference


def witness_arrays(raw: bytes, names, m: int, d: int):
    """(a, W0, b, W) as numpy arrays when the .npz meets the contract, else None."""
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            out = []
            for name, shape in zip(names, ((m,), (m, d), (m,), (m, d))):
                arr = z[name]
                if arr.dtype != np.dtype("<f8") or arr.shape != shape or not np.all(np.isfinite(arr)):
                    return None
                if arr.ndim == 2 and min(shape) > 1 and not arr.flags.c_contiguous:
                    return None  # stored in Fortran order
                out.append(np.array(arr))
            return tuple(out)
    except Exception:  # noqa: BLE001 - any unreadable witness must be rejected
        return None


def strict_rational(s) -> F | None:
    if not isinstance(s, str) or not RATIONAL.match(s):
        return None
    x = F(s)
    return x if str(x) == s else None


def parse_leaf(v, m: int):
    """An independent strict reading of a leaf (docs/certificate.md); None when malformed."""
    if not isinstance(v, dict) or not {"sigma", "splits", "alpha", "beta", "bound"} <= set(v):
        return None
    if type(v["sigma"]) is not int or v["sigma"] not in (1, -1):
        return None
    out = {"sigma": v["sigma"]}
    for key in ("splits", "alpha", "beta"):
        lst = v[key]
        if not isinstance(lst, list):
            return None
        dct = {}
        for e in lst:
            if not (isinstance(e, list) and len(e) == 2 and type(e[0]) is int and 0 <= e[0] < m) or e[0] in dct:
                return None
            if key == "splits":
                if type(e[1]) is not int or e[1] not in (1, -1):
                    return None
                dct[e[0]] = e[1]
            else:
                x = strict_rational(e[1])
                if x is None:
                    return None
                dct[e[0]] = x
        out[key] = dct
    if any(not 0 <= x <= 1 for x in out["alpha"].values()) or any(x < 0 for x in out["beta"].values()):
        return None
    if set(out["beta"]) != set(out["splits"]):
        return None
    out["bound"] = strict_rational(v["bound"])
    return out if out["bound"] is not None else None


def is_tree(leaves) -> bool:
    """The contract's complete split tree, recursively (a separate implementation)."""
    if not leaves:
        return False
    if len(leaves) == 1 and not leaves[0]:
        return True
    if any(not lf for lf in leaves):
        return False
    common = set(leaves[0]).intersection(*leaves[1:])
    if not common:
        return False
    r = min(common)
    plus = [{k: v for k, v in lf.items() if k != r} for lf in leaves if lf[r] > 0]
    minus = [{k: v for k, v in lf.items() if k != r} for lf in leaves if lf[r] < 0]
    return is_tree(plus) and is_tree(minus)


class NetRef:
    """The Theorem 5.3 recipe of docs/certificate.md on one network: float64 first, then
    60-digit mpmath (the contract's algebraic cap formula) when float cannot decide."""

    LD_REL = 1e-15  # numpy longdouble (x87 extended, 64-bit mantissa) first
    MP_ABS = mpmath.mpf(10) ** -35

    def __init__(self, arrays, doc: dict, domain: str):
        self.a, _, self.b, self.W = arrays
        inst = doc["instance"]
        self.X = [[F(v) for v in row] for row in inst["points"]]
        self.y = [F(v) for v in inst["labels"]]
        self.rho = F(inst["rho"])
        self.domain = domain
        self._f, self._mp = {}, {}

    # the sup of a linear function over the domain of point i
    def _geom(self, i, mp: bool):
        x0 = self.X[i]
        if mp:
            p = [mpmath.mpf(v.numerator) / v.denominator for v in x0]
            rho = mpmath.mpf(self.rho.numerator) / self.rho.denominator
            sq = mpmath.sqrt
        else:
            p = [float(v) for v in x0]
            rho = float(self.rho)
            sq = math.sqrt
        P2 = sum(v * v for v in p[:-1])
        N = mpmath.mpf(3) / 4 + P2 + (p[-1] - mpmath.mpf(1) / 2) ** 2 - rho**2 if mp else 0.75 + P2 + (p[-1] - 0.5) ** 2 - rho**2
        return p, P2, N, rho, sq

    def _sup(self, lam, g):
        p, P2, N, rho, sq = g
        if self.domain == "ball":
            return sum(l * v for l, v in zip(lam, p)) + rho * sq(sum(l * l for l in lam))
        u = lam[:-1]
        t = sum(a * b for a, b in zip(u, p[:-1]))
        n2 = sum(a * a for a in u)
        s3 = sq(3)
        if n2 == 0 or s3 * t >= N * sq(n2):
            return lam[-1] / 2 + s3 / 2 * sq(n2)
        return lam[-1] / 2 + (t * N + sq(max(n2 * P2 - t * t, 0) * max(3 * P2 - N * N, 0))) / (2 * P2)

    def empty(self, i) -> bool:
        _, P2, N, _, _ = self._geom(i, True)
        return self.domain == "cap" and N > 0 and N * N > 3 * P2

    def _ranges(self, i, mp: bool):
        cache = self._mp if mp else self._f
        if i not in cache:
            g = self._geom(i, mp)
            _, Wn, Bn = self._net(mp)
            lo, hi = [], []
            for w, bb in zip(Wn, Bn):
                hi.append(self._sup(w, g) + bb)
                lo.append(-self._sup([-v for v in w], g) + bb)
            cache[i] = (g, lo, hi)
        return cache[i]

    def _net(self, mp: bool):
        key = "net_mp" if mp else "net_f"
        if not hasattr(self, key):
            conv = (lambda v: mpmath.mpf(float(v))) if mp else float
            setattr(self, key, ([conv(v) for v in self.a], [[conv(v) for v in row] for row in self.W],
                                [conv(v) for v in self.b]))
        return getattr(self, key)

    def _value(self, i, leaf, mp: bool):
        g, lo, hi = self._ranges(i, mp)
        conv = (lambda v: mpmath.mpf(v.numerator) / v.denominator if isinstance(v, F) else mpmath.mpf(float(v))) if mp else float
        A, Wn, Bn = self._net(mp)
        sg = leaf["sigma"]
        d = len(self.W[0])
        lam = [conv(0.0)] * (d + 1)
        e = conv(0.0)
        for r in range(len(self.a)):
            c = sg * A[r]
            if r in leaf["splits"]:
                k = c + conv(leaf["beta"][r]) if leaf["splits"][r] > 0 else -conv(leaf["beta"][r])
            elif lo[r] >= 0:
                k = c
            elif hi[r] <= 0 or c == 0:
                continue
            elif c > 0:
                s = hi[r] / (hi[r] - lo[r])
                k = c * s
                e += -c * s * lo[r]
            else:
                if r not in leaf["alpha"]:
                    return None  # the contract needs this alpha
                k = c * conv(leaf["alpha"][r])
            if k == 0:
                continue
            Wr = Wn[r]
            for j in range(d):
                lam[j] += k * Wr[j]
            lam[d] += k * Bn[r]
        return self._sup(lam[:d], g) + lam[d] + e - sg * conv(self.y[i])

    # vectorised extended precision: the fast path
    def _ld_setup(self, i):
        if not hasattr(self, "_ld"):
            L = np.longdouble
            self._ld = {"a": np.array(self.a, dtype=L), "W": np.array(self.W, dtype=L), "b": np.array(self.b, dtype=L)}
        key = ("rng", i)
        if key not in self._ld:
            L = np.longdouble
            x0 = np.array([L(v.numerator) / L(v.denominator) for v in self.X[i]], dtype=L)
            rho = L(self.rho.numerator) / L(self.rho.denominator)
            W, b = self._ld["W"], self._ld["b"]
            geo = (x0, rho, np.sum(x0[:-1] ** 2), L(0.75) + np.sum(x0[:-1] ** 2) + (x0[-1] - L(0.5)) ** 2 - rho * rho)
            hi = self._sup_ld(W, geo) + b
            lo = -self._sup_ld(-W, geo) + b
            self._ld[key] = (geo, lo, hi)
        return self._ld[key]

    def _sup_ld(self, Lam, geo):
        """Row-wise sup over the domain of <Lambda_row, x> (longdouble)."""
        x0, rho, P2, N = geo
        if self.domain == "ball":
            return Lam @ x0 + rho * np.sqrt(np.sum(Lam * Lam, axis=-1))
        u = Lam[..., :-1]
        t = u @ x0[:-1]
        n2 = np.sum(u * u, axis=-1)
        s3 = np.sqrt(np.longdouble(3))
        inside = s3 * t >= N * np.sqrt(n2)
        out = (t * N + np.sqrt(np.maximum(n2 * P2 - t * t, 0) * max(3 * P2 - N * N, 0))) / (2 * P2) if P2 > 0 else 0 * t
        return Lam[..., -1] / 2 + np.where(inside, s3 / 2 * np.sqrt(n2), out)

    def _value_ld(self, i, leaf):
        geo, lo, hi = self._ld_setup(i)
        L = np.longdouble
        a, W, b = self._ld["a"], self._ld["W"], self._ld["b"]
        sg = leaf["sigma"]
        c = sg * a
        k = np.where(lo >= 0, c, L(0))
        uns = (lo < 0) & (hi > 0)
        pos = uns & (c > 0)
        s = np.where(pos, hi / np.where(pos, hi - lo, 1), 0)
        k = np.where(pos, c * s, k)
        e = np.sum(np.where(pos, -c * s * lo, 0))
        neg = uns & (c < 0)
        split = np.zeros(len(a), dtype=bool)
        for r, side in leaf["splits"].items():
            split[r] = True
            bt = L(leaf["beta"][r].numerator) / L(leaf["beta"][r].denominator)
            if pos[r]:
                e -= -c[r] * s[r] * lo[r]
            k[r] = c[r] + bt if side > 0 else -bt
        need = np.flatnonzero(neg & ~split)
        for r in need:
            al = leaf["alpha"].get(int(r))
            if al is None:
                return None
            k[r] = c[r] * (L(al.numerator) / L(al.denominator))
        lam = k @ W
        y = L(self.y[i].numerator) / L(self.y[i].denominator)
        return float(self._sup_ld(lam[None, :], geo)[0] + k @ b + e - sg * y)

    def leaf_holds(self, i, leaf) -> bool | None:
        """True: the recipe value is <= the stored bound; False: above it or an alpha is
        missing; None: within the reference's resolution (undecided)."""
        if self.empty(i):
            return True
        vf = self._value_ld(i, leaf)
        if vf is None:
            return False
        B = float(leaf["bound"])
        # extended precision where numpy has it (x86: 64-bit mantissa); wider where longdouble is double
        tol = max(self.LD_REL, 100 * len(self.a) * float(np.finfo(np.longdouble).eps)) * (1 + abs(B))
        if vf < B - tol:
            return True
        if vf > B + tol:
            return False
        with mpmath.workdps(60):
            vm = self._value(i, leaf, True)
            Bm = mpmath.mpf(leaf["bound"].numerator) / leaf["bound"].denominator
            if vm is None:
                return False
            if vm <= Bm - self.MP_ABS:
                return True
            if vm > Bm + self.MP_ABS:
                return False
        return None


def robust_details(doc: dict):
    """(check index, details of the Theorem 5.3 bound) of every sound-bound network check."""
    out = []
    for k, c in enumerate(doc["checks"]):
        if c.get("label") != "sound-bound":
            continue
        if c.get("id") == "theorem-5.3":
            out.append((k, c.get("details")))
        elif c.get("id") == "theorem-4.1":
            out.append((k, (c.get("details") or {}).get("robust")))
    return out


def point_verdict(ref: NetRef, det, i: int, m: int, cache: dict | None = None):
    """True / False / None (undecided) for point i of a Theorem 5.3 bound."""
    try:
        pp = det["per_point"][i]
        leaves = [parse_leaf(v, m) for v in pp["leaves"]]
        upper = strict_rational(pp["upper"])
    except (TypeError, KeyError, IndexError):
        return False
    if upper is None or not leaves or any(lf is None for lf in leaves):
        return False
    for sg in (1, -1):
        if not is_tree([lf["splits"] for lf in leaves if lf["sigma"] == sg]):
            return False
    if upper < max(lf["bound"] for lf in leaves):
        return False
    undecided = False
    for lf in leaves:
        key = json.dumps([lf["sigma"], sorted(lf["splits"].items()), sorted((r, str(x)) for r, x in lf["alpha"].items()),
                          sorted((r, str(x)) for r, x in lf["beta"].items()), str(lf["bound"])])
        if cache is not None and key in cache:
            got = cache[key]
        else:
            got = ref.leaf_holds(i, lf)
            if cache is not None:
                cache[key] = got
        if got is False:
            return False
        undecided |= got is None
    return None if undecided else True


def robust_verdict(ref_for, doc: dict, m: int, cache: dict) -> bool | None:
    """Every sound-bound network check of doc still true (the leaves, uppers, mean, rho)?"""
    undecided = False
    inst = doc["instance"]
    for k, det in robust_details(doc):
        c = doc["checks"][k]
        try:
            if det["domain"] not in ("cap", "ball") or strict_rational(det["rho"]) != F(inst["rho"]):
                return False
            if len(det["per_point"]) != inst["n"]:
                return False
            ups = [strict_rational(p["upper"]) for p in det["per_point"]]
            if any(u is None for u in ups):
                return False
            mean = sum(ups, F(0)) / inst["n"]
            if strict_rational(det["upper"]) != mean or strict_rational(c["value"]) != mean:
                return False
            if c["id"] == "theorem-4.1":
                wit = c["details"].get("witness")
                if isinstance(wit, dict) and "sha256" in wit and wit["sha256"] != doc["objects"]["network"]["sha256"]:
                    return False
        except (TypeError, KeyError, AttributeError):
            return False
        ref = ref_for(det["domain"])
        for i in range(inst["n"]):
            got = point_verdict(ref, det, i, m, cache.setdefault((k, i, det["domain"]), {}))
            if got is False:
                return False
            undecided |= got is None
    return None if undecided else True


def complexity_claims(doc: dict) -> bool | None:
    """The Arb-checked constants (complexity_c, eps2, log2_C_q, log2_C_q_eps2) at 50 digits."""
    consts = doc["constants"]
    rig = {k: consts[k] for k in BOUNDED_CONSTANTS if k in consts and consts[k].get("label") != "estimate"}
    if not rig:
        return True
    labels = {"complexity_c": "exact", "eps2": "exact", "log2_C_q": "sound-bound", "log2_C_q_eps2": "sound-bound"}
    if any(v["label"] != labels[k] for k, v in rig.items()):
        return False
    vals = {k: strict_rational(v["value"]) for k, v in rig.items()}
    if any(v is None for v in vals.values()):
        return False
    c = vals.get("complexity_c")
    if c is None or c <= 0:
        return False
    q = [F(x) for x in doc["objects"]["q"]["coefficients"]]
    tiny = mpmath.mpf(10) ** -40
    with mpmath.workdps(50):
        mp = lambda x: mpmath.mpf(x.numerator) / x.denominator
        Cq = mp(c) * sum(abs(mp(a)) * mpmath.mpf(j + 1) ** (mpmath.mpf(7) / 4) for j, a in enumerate(q) if a != 0)
        eps2 = vals.get("eps2")
        need_eps2 = "log2_C_q_eps2" in vals
        if need_eps2 and (eps2 is None or not 0 < eps2 < 1):
            return False
        if "eps2" in vals:
            inst = doc["instance"]
            if not 0 < eps2 <= F(inst["eps"]) / (9 * inst["n"]):
                return False
            slack = 1 - 2 * Cq * mp(eps2)
            if slack < -tiny:
                return False
            if slack <= tiny:
                return None
        checks = []
        if "log2_C_q" in vals:
            checks.append((vals["log2_C_q"], mpmath.log(Cq, 2)))
        if need_eps2:
            L = mpmath.log(1 / mp(eps2))
            Cqe = sum(abs(mp(a)) * mp(c) ** j * (2 if j == 0 else 1 + mpmath.sqrt(L / j) ** j) for j, a in enumerate(q) if a != 0)
            checks.append((vals["log2_C_q_eps2"], mpmath.log(Cqe, 2)))
        for v, truth in checks:
            gap = mp(v) - truth
            if gap < -tiny:
                return False
            if gap <= tiny:
                return None
    return True


def witness_mutations(arrays, names) -> list[tuple[str, Callable[[], bytes | None]]]:
    """Array-level edits of the witness, each written as a valid .npz (None: not applicable)."""
    a, W0, b, W = arrays
    m = len(a)

    def write(arrs: dict, compression=zipfile.ZIP_STORED) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=compression) as zf:
            for name, arr in arrs.items():
                body = io.BytesIO()
                np.lib.format.write_array(body, arr, allow_pickle=False)
                zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), body.getvalue())
        return buf.getvalue()

    def edit(role: str, fn, compression=zipfile.ZIP_STORED, extra=None, drop=None):
        def make():
            arrs = dict(zip(names, (a.copy(), W0.copy(), b.copy(), W.copy())))
            key = names[("a", "W0", "b", "W").index(role)]
            new = fn(arrs[key])
            if new is None:
                return None
            arrs[key] = new
            if drop:
                del arrs[names[("a", "W0", "b", "W").index(drop)]]
            if extra:
                arrs[extra] = np.zeros(3)
            return write(arrs, compression)
        return make

    def bitflip(arr, idx, bit):
        out = arr.copy()
        view = out.reshape(-1).view(np.uint64)
        view[idx] ^= np.uint64(1) << np.uint64(bit)
        return out

    def swap(x, i, j):
        out = x.copy()
        out[[i, j]] = out[[j, i]]
        return out

    r2 = next((r for r in range(1, m) if a[r] != a[0]), None)
    out = [
        ("W[0,0] lowest mantissa bit", edit("W", lambda x: bitflip(x, 0, 0))),
        ("W[0,0] mantissa bit 40", edit("W", lambda x: bitflip(x, 0, 40))),
        ("W[0,0] exponent bit 52", edit("W", lambda x: bitflip(x, 0, 52))),
        ("W[last] sign", edit("W", lambda x: bitflip(x, x.size - 1, 63))),
        ("W rows 0 and r swapped (a_r != a_0)", edit("W", lambda x: None if r2 is None else swap(x, 0, r2))),
        ("a[0] sign", edit("a", lambda x: -x)),
        ("a[0] lowest bit", edit("a", lambda x: bitflip(x, 0, 0))),
        ("b[0] mantissa bit 45", edit("b", lambda x: bitflip(x, 0, 45))),
        ("W0[0,0] changed (no claim uses W0)", edit("W0", lambda x: x * 2)),
        ("W as float32", edit("W", lambda x: x.astype(np.float32))),
        ("W in Fortran order", edit("W", lambda x: np.asfortranarray(x))),
        ("W big-endian", edit("W", lambda x: x.astype(">f8"))),
        ("W one row short", edit("W", lambda x: x[:-1])),
        ("W with a NaN", edit("W", lambda x: np.where(np.arange(x.size).reshape(x.shape) == 1, np.nan, x))),
        ("member W missing", edit("a", lambda x: x, drop="W")),
        ("an extra member", edit("a", lambda x: x, extra="junk")),
        ("deflate-compressed, same arrays", edit("a", lambda x: x, compression=zipfile.ZIP_DEFLATED)),
    ]
    return out


UNDECIDED = "UNDECIDED"


class Classifier:
    def __init__(self, doc: dict, witness: bytes | None = None):
        self.doc = doc
        self.sig = data_signature(doc)
        self.net = doc["objects"].get("network")
        self.arrays = None
        if self.net is not None and witness is not None:
            self.names = self.net.get("arrays", ["a", "W0", "b", "W"])
            self.arrays = witness_arrays(witness, self.names, self.net["m"], doc["instance"]["d"])
        self._refs: dict = {}
        self._leaf_cache: dict = {}

    def ref_for(self, arrays, doc):
        """NetRef factory by domain for one network (cached for the original arrays only)."""
        refs = self._refs if arrays is self.arrays else {}

        def make(domain):
            if domain not in refs:
                refs[domain] = NetRef(arrays, doc, domain)
            return refs[domain]
        return make

    def network_claims(self, doc: dict, arrays=None) -> bool | None:
        arrays = self.arrays if arrays is None else arrays
        if arrays is None:
            return False
        cache = self._leaf_cache if arrays is self.arrays else {}
        return robust_verdict(self.ref_for(arrays, doc), doc, len(arrays[0]), cache)

    def witness_verdict(self, raw: bytes, doc: dict) -> str | None:
        """Still true (why) / None (must reject) / UNDECIDED for a re-hashed witness edit."""
        arrays = witness_arrays(raw, self.names, self.net["m"], doc["instance"]["d"])
        if arrays is None:
            return None
        if all(np.array_equal(x, y) for k, (x, y) in enumerate(zip(arrays, self.arrays)) if k != 1):
            return "a witness edit that leaves a, b and W unchanged (W0 and packaging carry no claim)"
        if not robust_details(doc):
            return "the network changed, but no rigorous check is about it"
        got = self.network_claims(doc, arrays)
        if got is None:
            return UNDECIDED
        return "every Theorem 5.3 leaf still holds for the edited network" if got else None

    def excluded(self, path, kind) -> str | None:
        top = path[0]
        if top == "producer":
            return "producer: provenance, outside the claims (inside the hash)"
        if top == "created":
            return "created: time stamp, outside the claims (inside the hash)"
        if top == "instance" and len(path) > 1 and path[1] == "source":
            return "instance.source: provenance of the data; the data are the stored points"
        if top == "parameters" and len(path) > 1 and path[1] == "taylor_k":
            return "parameters.taylor_k: how p1 was built; the claims are about the stored p1"
        if top == "objects" and len(path) > 2 and path[1] == "network" and path[2] not in ("path", "sha256", "m", "arrays"):
            return "objects.network keys the contract does not define"
        if top == "constants" and len(path) > 2:
            c = self.doc["constants"].get(path[1])
            if path[2] == "note":
                return "constants.*.note: words for people"
            if c is not None and c["label"] == "estimate" and path[2] == "value":
                return "constants.* labelled estimate: reported, not claims"
        if top == "checks" and len(path) > 2 and isinstance(path[1], int) and kind != "delete check":
            c = self.doc["checks"][path[1]]
            field = path[2]
            if field in ("seconds", "method", "claim"):
                return f"checks.*.{field}: builder time or words for people"
            if c["label"] == "estimate" and field in ("value", "bound", "details"):
                return "estimate numbers: not re-run without --estimates"
            if c["label"] == "estimate" and field == "verdict" and kind.split()[-1] in ("observed", "vacuous", "infeasible"):
                return "estimate verdicts observed/vacuous/infeasible: not told apart without re-running"
            if field == "details" and len(path) > 3 and path[3] not in CONTRACT_DETAILS.get(c["id"], set()):
                return "details the contract does not define"
            rob = path[3:] if c["id"] == "theorem-5.3" else path[4:] if len(path) > 3 and path[3] == "robust" else None
            if field == "details" and rob is not None:
                if c["id"] == "theorem-4.1" and rob and rob[0] not in ROBUST_KEYS:
                    return "details the contract does not define"
                if len(rob) > 2 and rob[0] == "per_point" and rob[2] not in ("upper", "leaves"):
                    return "per-point estimates and notes (attack, crown, gap, ...): no claim"
            if c["id"] == "theorem-4.1" and field == "details" and len(path) > 4 and path[3] == "witness" and path[4] != "sha256":
                return "details.witness: only its sha256 is checked"
            if field == "details" and len(path) == 3 and kind == "delete key" and not c["details"]:
                return "deleting an empty details object changes no claim"
        return None

    def still_true(self, path, mutated: dict) -> str | None:
        """Is the mutated certificate still true? Decided with Fractions / mpmath."""
        top = path[0]
        for field in _strings_at(mutated, path):
            if RATIONAL.match(field) and str(F(field)) != field:
                return None  # not in lowest terms: a format error, must be rejected
        if top == "constants" and len(path) >= 2 and path[1] in BOUNDED_CONSTANTS and not (len(path) > 2 and path[2] == "label"):
            got = complexity_claims(mutated)
            if got is None:
                return UNDECIDED
            return "Lemma 6.6 constants still satisfy their inequalities (mpmath)" if got else None
        if top == "constants" and len(path) == 2:
            return "a reported constant deleted: fewer claims, the rest still true"
        if top == "objects" and len(path) > 2 and path[1] == "network" and path[2] == "arrays" and self.arrays is not None:
            entry = mutated["objects"]["network"]
            names = entry.get("arrays", ["a", "W0", "b", "W"])
            raw = getattr(self, "witness_raw", None)
            if isinstance(names, list) and raw is not None:
                arrs = witness_arrays(raw, names, entry["m"], mutated["instance"]["d"])
                if arrs is not None and all(np.array_equal(x, y) for x, y in zip(arrs, self.arrays)):
                    return "the same arrays under the edited member names"
            return None
        if (top == "checks" and len(path) > 4 and isinstance(path[1], int)
                and self.doc["checks"][path[1]]["id"] in ("theorem-5.3", "theorem-4.1")
                and self.doc["checks"][path[1]]["label"] == "sound-bound" and path[2] == "details"):
            rob = path[3:] if self.doc["checks"][path[1]]["id"] == "theorem-5.3" else path[4:]
            if len(rob) > 2 and rob[0] == "per_point" and rob[2] == "leaves":
                if mutated["checks"][path[1]].get("label") != "sound-bound":
                    return None
                got = self.network_claims(mutated)
                if got is None:
                    return UNDECIDED
                return "the edited leaves still form split trees whose recipe values are below their bounds" if got else None
        if top == "instance" and len(path) > 1 and path[1] in ("points", "labels"):
            sig = data_signature(mutated)
            if sig is not None and sig == self.sig:
                return "data edit that leaves every claimed quantity unchanged (a true certificate of the new data)"
            return None
        if top != "checks" or len(path) < 4 or not isinstance(path[1], int):
            return None
        try:
            c = mutated["checks"][path[1]]
            cid, field = c["id"], path[2]
            if cid in SUP_CHECKS and field == "enclosure" and path[3] == "lo":
                lo, hi = F(c["enclosure"]["lo"]), F(c["enclosure"]["hi"])
                if lo <= hi and lo <= sup_function(mutated, cid)(F(c["details"]["witness"])):
                    return "lower end still attained at the witness"
            if cid in SUP_CHECKS and field == "details" and path[3] == "witness":
                w = F(c["details"]["witness"])
                a, b = (F(x) for x in c["details"]["interval"])
                if a <= w <= b and F(c["enclosure"]["lo"]) <= sup_function(mutated, cid)(w):
                    return "another witness that attains the lower end"
            if cid == "definition-3.4" and field == "enclosure" and path[3] == "hi":
                d2, rho = F(c["details"]["delta_sq"]), F(mutated["instance"]["rho"])
                with mpmath.workdps(100):
                    dd = mpmath.sqrt(mpmath.mpf(d2.numerator) / d2.denominator)
                    truth = dd * (dd - 2 * mpmath.mpf(rho.numerator) / rho.denominator)
                    hi = F(c["enclosure"]["hi"])
                    if mpmath.mpf(hi.numerator) / hi.denominator > truth + mpmath.mpf(10) ** -90:
                        return "wider upper end of the separability enclosure"
            if cid == "definition-3.4" and field == "details" and path[3] == "delta":
                lo, hi, d2 = F(c["details"]["delta"]["lo"]), F(c["details"]["delta"]["hi"]), F(c["details"]["delta_sq"])
                if 0 <= lo <= hi and lo * lo <= d2 <= hi * hi:
                    return "a wider enclosure of delta"
            if cid == "definition-3.4" and field == "details" and path[3] == "pair":
                sig = data_signature(mutated)
                if sig is not None and sig[9] and len(set(c["details"]["pair"])) == 2:
                    return "another pair at the minimum distance"
            if field == "details" and path[3] in ("log2_value", "log2_bound"):
                x = F(c["value"] if path[3] == "log2_value" else c["bound"])
                got = c["details"][path[3]]
                if isinstance(got, (int, float)) and abs(got - log2_fraction(x)) <= 5e-4:
                    return "log2 for people, within its 3-decimal rounding"
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError):
            return None
        return None


# ----------------------------------------------------------------------------- main


def run_one(path: str, args) -> dict:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    folder = Path(path).resolve().parent
    raw = None
    if "network" in doc.get("objects", {}):
        wpath = folder / doc["objects"]["network"]["path"]
        raw = wpath.read_bytes() if wpath.is_file() else None
    base = V.verify_document(doc, base=folder)
    if not base.ok:
        print(f"{path}: the unmutated certificate does not verify: {base.first_failure}")
        return {}
    cls = Classifier(doc, raw)
    cls.witness_raw = raw
    muts = mutations(doc, args.all_digits)
    if args.limit and len(muts) > args.limit:
        rng = np.random.default_rng(np.random.SeedSequence(args.seed))
        muts = [muts[i] for i in sorted(rng.choice(len(muts), args.limit, replace=False))]
    stats = {"tried": 0, "A_rejected": 0, "excluded": 0, "still_true_accepted": 0, "still_true_rejected": 0,
             "must": 0, "must_rejected": 0}
    misses, overstrict, excluded_reasons, caught_by, true_reasons = [], [], {}, {}, {}
    stored = doc["sha256"]
    t0 = time.perf_counter()
    for m in muts:
        why = cls.excluded(m.path, m.kind)  # judged on the unmutated document
        m.apply()
        try:
            stats["tried"] += 1
            repA = V.verify_document(doc, stop_at_first_failure=True, base=folder)
            stats["A_rejected"] += not repA.ok
            if m.path[0] == "sha256":
                continue
            try:
                doc["sha256"] = V.canonical_sha256(doc)
                repB = V.verify_document(doc, stop_at_first_failure=True, base=folder)
            finally:
                doc["sha256"] = stored
            if why is not None:
                stats["excluded"] += 1
                excluded_reasons[why] = excluded_reasons.get(why, 0) + 1
                continue
            true_why = cls.still_true(m.path, doc)
            if true_why == UNDECIDED:
                why = "the independent reference cannot decide it (a leaf bound within 1e-35 of the recipe)"
                stats["excluded"] += 1
                excluded_reasons[why] = excluded_reasons.get(why, 0) + 1
                continue
            if true_why is not None:
                true_reasons[true_why] = true_reasons.get(true_why, 0) + 1
                if repB.ok:
                    stats["still_true_accepted"] += 1
                else:
                    stats["still_true_rejected"] += 1
                    overstrict.append((fmt_path(m.path), m.kind, true_why, repB.first_failure))
                continue
            stats["must"] += 1
            if repB.ok:
                misses.append((fmt_path(m.path), m.kind))
            else:
                stats["must_rejected"] += 1
                part = repB.first_failure.split(":", 1)[0]
                caught_by[part] = caught_by.get(part, 0) + 1
        finally:
            m.undo()
    assert V.canonical_sha256(doc) == stored, "a mutation was not undone"
    if raw is not None and cls.arrays is not None:
        witness_muts = list(witness_mutations(cls.arrays, cls.names))
        rng = np.random.default_rng(np.random.SeedSequence([args.seed, 1]))
        for pos in sorted(rng.choice(len(raw), min(args.witness_bytes, len(raw)), replace=False)):
            def flip(pos=int(pos)):
                out = bytearray(raw)
                out[pos] ^= 0x10
                return bytes(out)
            witness_muts.append((f"raw byte {int(pos)} of {len(raw)} flipped", flip))
        for desc, make in witness_muts:
            raw2 = make()
            if raw2 is None or raw2 == raw:
                continue
            wpath = ("objects", "network", f"<witness: {desc}>")
            stats["tried"] += 1
            stats["A_rejected"] += not V.verify_document(doc, stop_at_first_failure=True, witness=raw2).ok
            doc2 = json.loads(json.dumps(doc))
            doc2["objects"]["network"]["sha256"] = hashlib.sha256(raw2).hexdigest()
            doc2["sha256"] = V.canonical_sha256(doc2)
            repB = V.verify_document(doc2, stop_at_first_failure=True, witness=raw2)
            true_why = cls.witness_verdict(raw2, doc2)
            if true_why == UNDECIDED:
                why = "the independent reference cannot decide it (a leaf bound within 1e-35 of the recipe)"
                stats["excluded"] += 1
                excluded_reasons[why] = excluded_reasons.get(why, 0) + 1
            elif true_why is not None:
                true_reasons[true_why] = true_reasons.get(true_why, 0) + 1
                if repB.ok:
                    stats["still_true_accepted"] += 1
                else:
                    stats["still_true_rejected"] += 1
                    overstrict.append((fmt_path(wpath), "witness", true_why, repB.first_failure))
            else:
                stats["must"] += 1
                if repB.ok:
                    misses.append((fmt_path(wpath), "witness"))
                else:
                    stats["must_rejected"] += 1
                    part = repB.first_failure.split(":", 1)[0]
                    caught_by[part] = caught_by.get(part, 0) + 1
    secs = time.perf_counter() - t0
    print(f"\n== {path}: {stats['tried']} mutations in {secs:.1f} s")
    pct = lambda a, b: f"{100 * a / b:.2f} %" if b else "n/a"
    print(f"{'variant':<44} {'tried':>7} {'rejected':>9} {'% rejected':>11}")
    print(f"{'A  hash kept (all mutations)':<44} {stats['tried']:>7} {stats['A_rejected']:>9} {pct(stats['A_rejected'], stats['tried']):>11}")
    b_tried = stats["tried"] - sum(1 for m in muts if m.path[0] == "sha256")  # witness edits have both variants
    print(f"{'B  re-hashed, must reject':<44} {stats['must']:>7} {stats['must_rejected']:>9} {pct(stats['must_rejected'], stats['must']):>11}")
    print(f"{'B  re-hashed, still a true certificate':<44} {stats['still_true_accepted'] + stats['still_true_rejected']:>7} "
          f"{stats['still_true_rejected']:>9}   (accepted: {stats['still_true_accepted']})")
    print(f"{'B  re-hashed, excluded (no claim)':<44} {stats['excluded']:>7}")
    print(f"   (B total {b_tried}; the hash-field mutations have no B variant)")
    print("B rejections by the first failing part:")
    for part, k in sorted(caught_by.items(), key=lambda t: -t[1]):
        print(f"   {part:<28} {k}")
    print("still true after the mutation (checked by this script), and why:")
    for why, k in sorted(true_reasons.items(), key=lambda t: -t[1]):
        print(f"   {k:>5}  {why}")
    print("excluded from B, and why:")
    for why, k in sorted(excluded_reasons.items(), key=lambda t: -t[1]):
        print(f"   {k:>5}  {why}")
    if overstrict:
        print(f"still-true certificates the verifier rejected ({len(overstrict)}; over-strict, not unsound):")
        for p, kind, why, ff in overstrict[:20]:
            print(f"   {p}  [{kind}]  {why}  <- {ff[:120]}")
    if misses:
        print(f"NOT REJECTED ({len(misses)}):")
        for p, kind in misses:
            print(f"   {p}  [{kind}]")
    else:
        print("every must-reject mutation was rejected")
    return {"misses": len(misses), "A_missed": stats["tried"] - stats["A_rejected"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("certs", nargs="+")
    ap.add_argument("--all-digits", action="store_true", help="mutate every digit of every rational string")
    ap.add_argument("--limit", type=int, default=0, help="a random sample of this many mutations per certificate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--witness-bytes", type=int, default=24,
                    help="raw byte flips of the network witness (.npz), besides the array-level edits")
    args = ap.parse_args(argv)
    bad = 0
    for path in args.certs:
        r = run_one(path, args)
        bad += (not r) or r["misses"] > 0 or r["A_missed"] > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
