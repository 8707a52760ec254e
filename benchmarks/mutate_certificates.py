"""Mutation test of the independent verifier (advcert/verify.py) on real certificates.

    .venv/bin/python benchmarks/mutate_certificates.py CERT.json [CERT.json ...]
        [--all-digits] [--limit N] [--seed S]

For each certificate, every field is mutated in turn: each number (last digit, doubling),
digits of each rational string (by default the first and last digit of the numerator and
the last of the denominator; every digit with --all-digits), sign flips, label
upgrades/downgrades, verdict flips, relation flips, id edits, deletion of each check, of
each key and of the last element of each array, swaps of the first two array elements,
the seed, the points, the hash. Each mutation is verified twice:

* A: hash kept. Every mutation must be rejected (the hash covers the whole document).
* B: sha256 recomputed after the mutation, so only the mathematics and the contract's
  consistency rules can catch it.

In B a mutation falls in one of three classes, decided by this script independently of
the verifier (Fractions and mpmath, not advcert.verify's code):

* excluded: the field carries no claim (provenance, timings, words for people, estimate
  numbers that are not re-run, details the contract does not define); listed with why;
* still true: the mutated certificate is still a true certificate (a wider enclosure, a
  lower witness bound that the witness still attains, a data edit that leaves every
  claimed quantity unchanged, a log2 within its 3-decimal rounding); accepting it is
  right, rejecting it would be over-strict (counted and shown);
* must reject: everything else. The target is 100 %; every miss is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
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
}
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


class Classifier:
    def __init__(self, doc: dict):
        self.doc = doc
        self.sig = data_signature(doc)

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
            if field == "details" and len(path) == 3 and kind == "delete key" and not c["details"]:
                return "deleting an empty details object changes no claim"
        return None

    def still_true(self, path, mutated: dict) -> str | None:
        """Is the mutated certificate still true? Decided with Fractions / mpmath."""
        top = path[0]
        for field in _strings_at(mutated, path):
            if RATIONAL.match(field) and str(F(field)) != field:
                return None  # not in lowest terms: a format error, must be rejected
        if top == "constants" and len(path) == 2:
            return "a reported constant deleted: fewer claims, the rest still true"
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
    base = V.verify_document(doc)
    if not base.ok:
        print(f"{path}: the unmutated certificate does not verify: {base.first_failure}")
        return {}
    cls = Classifier(doc)
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
            repA = V.verify_document(doc, stop_at_first_failure=True)
            stats["A_rejected"] += not repA.ok
            if m.path[0] == "sha256":
                continue
            try:
                doc["sha256"] = V.canonical_sha256(doc)
                repB = V.verify_document(doc, stop_at_first_failure=True)
            finally:
                doc["sha256"] = stored
            if why is not None:
                stats["excluded"] += 1
                excluded_reasons[why] = excluded_reasons.get(why, 0) + 1
                continue
            true_why = cls.still_true(m.path, doc)
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
    secs = time.perf_counter() - t0
    print(f"\n== {path}: {stats['tried']} mutations in {secs:.1f} s")
    pct = lambda a, b: f"{100 * a / b:.2f} %" if b else "n/a"
    print(f"{'variant':<44} {'tried':>7} {'rejected':>9} {'% rejected':>11}")
    print(f"{'A  hash kept (all mutations)':<44} {stats['tried']:>7} {stats['A_rejected']:>9} {pct(stats['A_rejected'], stats['tried']):>11}")
    b_tried = stats["tried"] - sum(1 for m in muts if m.path[0] == "sha256")
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
    args = ap.parse_args(argv)
    bad = 0
    for path in args.certs:
        r = run_one(path, args)
        bad += (not r) or r["misses"] > 0 or r["A_missed"] > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
