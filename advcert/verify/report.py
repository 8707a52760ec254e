"""What the independent checker says: one result per part and check, the report, and the
two ways a certificate can be refused.

The exit statuses are the contract's (docs/certificate.md, "Exit status of `advcert
verify`"): :class:`Unreadable` means the file is not a format-version-1 certificate, or a
rigorous check's network witness is missing (exit 2); :class:`_Fail` means a
re-derivation does not agree with the certificate (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass


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
