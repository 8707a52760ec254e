"""``advcert diff A B``: two certificates compared as a regression test of the theorems would.

* the rigorous parts (checks labelled exact / enclosure / sound-bound, the polynomials of Lemma 6.4
  and Claim 6.3, the instance, rigorous constants) must be identical — they are exact numbers;
* estimates (sampled, attacked, float) may drift: each is compared within a relative tolerance,
  and a changed verdict is reported;
* the checks on a network witness (Theorem 5.3, Theorem 4.1) are exact given the witness; when
  the two witnesses differ (their bytes can depend on the CPU, ``producer.cpu``) they are
  compared like estimates and the report says so.

Volatile fields (``created``, every ``seconds``, ``producer``'s provenance) are ignored
(docs/certificate.md, "Volatile fields"), and so is the witness's file name: two certificates
written under different names compare by the witness's hash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

RIGOROUS = ("exact", "enclosure", "sound-bound")
NETWORK_CHECKS = ("theorem-5.3", "theorem-4.1")


@dataclass(frozen=True)
class Difference:
    """One difference between certificate A and B: where, what, and whether it fails the comparison."""

    where: str
    what: str
    fails: bool


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`: every difference found, failing or within tolerance."""

    differences: tuple[Difference, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not any(d.fails for d in self.differences)


#: names of files beside the certificate: where a result is stored, not what it is
_FILE_NAMES = ("path", "file")


def _strip(x):
    """A value without its volatile parts (wall times) and without the witness's file name."""
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if not k.endswith("seconds") and k not in _FILE_NAMES}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def _numbers(a, b, where: str, rtol: float, out: list[Difference]) -> None:
    """Walk two estimate values together; floats within ``rtol`` are equal, anything else must match."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(Difference(f"{where}.{k}", "present in only one certificate", False))
            else:
                _numbers(a[k], b[k], f"{where}.{k}", rtol, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (u, v) in enumerate(zip(a, b)):
            _numbers(u, v, f"{where}[{i}]", rtol, out)
    elif isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        if a != b:
            scale = max(abs(a), abs(b))
            rel = abs(a - b) / scale if scale > 0 and math.isfinite(scale) else math.inf
            out.append(Difference(where, f"{a!r} -> {b!r} (relative {rel:.2e})", rel > rtol))
    elif a != b:
        out.append(Difference(where, f"{_short(a)} -> {_short(b)}", True))


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def compare(a: dict, b: dict, *, rtol: float = 1e-6) -> Comparison:
    """Compare certificate ``b`` with the reference ``a`` (see the module docstring)."""
    out: list[Difference] = []
    for part in ("format", "version", "instance", "parameters", "objects"):
        pa, pb = a.get(part), b.get(part)
        if part == "objects":
            pa = {k: v for k, v in (pa or {}).items() if k != "network"}
            pb = {k: v for k, v in (pb or {}).items() if k != "network"}
        if pa != pb:
            out.append(Difference(part, "differs (a rigorous part)", True))
    net_a = (a.get("objects") or {}).get("network") or {}  # compared by hash, whatever its file name
    net_b = (b.get("objects") or {}).get("network") or {}
    same_witness = net_a.get("sha256") == net_b.get("sha256")
    if not same_witness:
        out.append(Difference("objects.network.sha256", "the network witnesses differ (their checks compared as "
                                                        "estimates)", False))
    for name in sorted(set(a.get("constants", {})) | set(b.get("constants", {}))):
        ca, cb = a.get("constants", {}).get(name), b.get("constants", {}).get(name)
        if ca is None or cb is None:
            out.append(Difference(f"constants.{name}", "present in only one certificate", True))
        elif ca.get("label") in RIGOROUS and ca != cb:
            out.append(Difference(f"constants.{name}", f"{_short(ca.get('value'))} -> {_short(cb.get('value'))}", True))
        elif ca != cb:
            _numbers(ca.get("value"), cb.get("value"), f"constants.{name}", rtol, out)
    checks_a = {c["id"]: c for c in a.get("checks", [])}
    checks_b = {c["id"]: c for c in b.get("checks", [])}
    for cid in sorted(set(checks_a) | set(checks_b), key=lambda k: (k not in checks_a, k)):
        ca, cb = checks_a.get(cid), checks_b.get(cid)
        if ca is None or cb is None:
            out.append(Difference(cid, "present in only one certificate", True))
            continue
        _check(cid, _strip(ca), _strip(cb), same_witness, rtol, out)
    return Comparison(differences=tuple(out))


def _check(cid: str, ca: dict, cb: dict, same_witness: bool, rtol: float, out: list[Difference]) -> None:
    if ca.get("verdict") != cb.get("verdict") or ca.get("label") != cb.get("label"):
        out.append(Difference(cid, f"{ca.get('label')}/{ca.get('verdict')} -> {cb.get('label')}/{cb.get('verdict')}",
                              True))
        return
    exact = ca.get("label") in RIGOROUS and (cid not in NETWORK_CHECKS or same_witness)
    if exact:
        if ca != cb:
            out.append(Difference(cid, "a rigorous check differs", True))
    else:
        _numbers(ca, cb, cid, rtol, out)


def print_comparison(cmp: Comparison, stream, *, limit: int = 40) -> None:
    """One line per difference (failing ones first), then the verdict line."""
    rows = sorted(cmp.differences, key=lambda d: not d.fails)
    for d in rows[:limit]:
        print(f"  {'DIFFERS' if d.fails else 'within '} {d.where}: {d.what}", file=stream)
    if len(rows) > limit:
        print(f"  ... {len(rows) - limit} more", file=stream)
    failing = sum(d.fails for d in cmp.differences)
    if failing:
        print(f"diff: {failing} difference(s) beyond tolerance", file=stream)
    else:
        print(f"diff: same (rigorous parts identical; {len(cmp.differences)} estimate difference(s) within tolerance)",
              file=stream)
