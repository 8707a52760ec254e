"""Verifying a whole certificate, and ``advcert verify FILE``.

The order is the contract's (docs/certificate.md): format, version and schema; the hash
of the canonical form; the instance, parameters, objects, network witness and constants;
the list of checks; then each check in chain order, so that lemma-6.2 sees whether the
enclosures of Claim 6.3 were proved and the attack sees Lemma 6.2's certified bound.

Exit codes of :func:`run`: 0 every check re-derived and agrees and the hash matches;
1 the certificate is readable but something does not hold or does not match;
2 the file cannot be read as a certificate.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, TextIO

from .checks import KNOWN_CHECKS, _part_check_list, _run_check
from .constants import _part_constants
from .context import _Ctx
from .instance import _part_instance, _part_parameters
from .polynomials import _part_objects
from .reading import _check_readable, _part_sha256, load
from .report import CheckResult, Report, Unreadable, _Fail
from .witness import _MissingWitness, _part_network

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
