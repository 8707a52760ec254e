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
from .report import CheckResult, Report, Unreadable, _Fail, terminal_safe
from .witness import _part_network

_PARTS: tuple[tuple[str, Callable[[_Ctx], str]], ...] = (
    ("sha256", _part_sha256),
    ("instance", _part_instance),
    ("parameters", _part_parameters),
    ("objects", _part_objects),
    ("network", _part_network),
    ("constants", _part_constants),
    ("checks", _part_check_list),
)


# Anything else a re-derivation raises on a hostile document fails that part (fail closed):
# a certificate is verified only when every re-derivation returns.
_ERRORS = (_Fail, ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
           MemoryError)


def verify_document(doc: dict, *, stop_at_first_failure: bool = True, base: str | Path | None = None,
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
    rigorous check whose witness is missing, or work beyond the budgets of
    docs/certificate.md, makes the report unreadable (exit status 2).

    The first failed part (hash, instance, parameters, objects, network, constants, the
    check list) always ends the run: nothing is re-derived from a document that is not the
    one its hash seals or whose parts do not hold, so a small forged file costs no more than
    its first failure. ``stop_at_first_failure`` (default) also ends it at the first failed
    check; False re-derives the remaining checks too, for diagnostics. Every message in the
    report is terminal-safe (:func:`advcert.verify.report.terminal_safe`).
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
    refused = False

    def record(ident: str, fn, label=None) -> None:
        nonlocal first, refused
        t0 = time.perf_counter()
        try:
            msg, status = fn(), None
        except Unreadable as e:
            # a missing witness or a budget refusal: the certificate cannot be checked (exit 2)
            msg, status = f"{e.problem}; fix: {e.fix}", "failed"
            refused = first is None
        except _ERRORS as e:
            if isinstance(e, _Fail):
                msg = str(e)
            elif isinstance(e, MemoryError):
                msg = "ran out of memory re-deriving it"
            else:
                msg = f"{type(e).__name__}: {e}"
            status = "failed"
        msg = " ".join(terminal_safe(msg).split())
        if status is None:
            status = "estimate" if label == "estimate" else "re-derived"
        else:
            ctx.failed.add(ident)
            if first is None:
                first = f"{terminal_safe(ident, 80)}: {msg}"
        results.append(CheckResult(ident, status, msg, time.perf_counter() - t0, label))

    for ident, fn in _PARTS:
        record(ident, lambda fn=fn: fn(ctx))
        if first is not None:
            return Report(False, tuple(results), first, readable=not refused)
    # Contract order (the document's own order once the check list holds), so that
    # lemma-6.2 sees whether its enclosures were proved and the attack sees the
    # certified bound.
    order = list(KNOWN_CHECKS)
    ranked = sorted(doc["checks"], key=lambda c: order.index(c["id"]) if c["id"] in KNOWN_CHECKS else len(order))
    for c in ranked:
        record(c["id"], lambda c=c: _run_check(ctx, c), c["label"])
        if first is not None and (stop_at_first_failure or refused):
            break
    return Report(first is None, tuple(results), first, readable=not refused)


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
    shown = terminal_safe(str(path), 300)
    try:
        doc = load(path)
        _check_readable(doc)
        report = _verify(doc, stop_at_first_failure=True, base=Path(path).resolve().parent)
    except Unreadable as e:
        _say(err, f"verify: cannot read {shown}: {e.problem}; fix: {e.fix}")
        return 2
    except (MemoryError, RecursionError) as e:
        what = "ran out of memory" if isinstance(e, MemoryError) else "nests too deeply"
        _say(err, f"verify: cannot read {shown}: it {what}; fix: pass a certificate written by `advcert build`")
        return 2
    if not report.readable:
        _say(err, f"verify: cannot verify {shown}: {report.first_failure}")
        return 2
    if not report.ok:
        _say(err, f"verify: FAIL {report.first_failure}")
        return 1
    for r in report.results:
        what = "estimate, not re-run" if r.status == "estimate" else "re-derived"
        label = r.label or "-"
        _say(stream, f"  {r.id:<24} {label:<12} {what:<21} {r.seconds:7.3f} s  {r.message if r.status != 'estimate' else ''}".rstrip(), False)
        if estimates and r.status == "estimate":
            _say(stream, f"  {'':<24} {'':<12} {r.id}: re-run by advcert.rerun, outside the verifier", False)
    n = len(doc["checks"])
    _say(stream, f"verify: OK ({n} checks, {time.perf_counter() - t0:.2f} s)")
    return 0


def _say(stream: TextIO, line: str, collapse: bool = True) -> None:
    """Print one line, terminal-safe: every character a terminal could act on becomes an
    escape (:func:`terminal_safe`); with ``collapse``, whitespace runs (newlines included)
    first become one space."""
    print(terminal_safe(" ".join(line.split()) if collapse else line), file=stream)
