"""What the independent checker says: one result per part and check, the report, and the
two ways a certificate can be refused.

The exit statuses are the contract's (docs/certificate.md, "Exit status of `advcert
verify`"): :class:`Unreadable` means the file is not a format-version-1 certificate, or a
rigorous check's network witness is missing (exit 2); :class:`_Fail` means a
re-derivation does not agree with the certificate (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE = 2000
"""The longest line the checker prints (characters): a message quoting the file is cut there."""


def terminal_safe(text, limit: int | None = MAX_LINE) -> str:
    """``text`` with every character a terminal could act on written as an escape.

    The one gate between the certificate (hostile input, docs/certificate.md, "The
    certificate is untrusted input") and a terminal: control characters (C0, DEL, C1, so
    ESC and every ANSI sequence), line and paragraph separators and the invisible format
    characters (bidirectional overrides, zero-width marks) become ``\\xNN``, ``\\uNNNN``
    or ``\\UNNNNNNNN``, so a field of the file can never move the cursor, clear the screen,
    start a new line or print a fake ``verify: OK``. Printable text, mathematical symbols
    included, is kept. Idempotent (its output is printable). ``limit`` cuts the result.
    """
    s = text if isinstance(text, str) else str(text)
    if not s.isprintable():
        out = []
        for ch in s:
            if ch.isprintable():
                out.append(ch)
            else:
                o = ord(ch)
                out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
        s = "".join(out)
    if limit is not None and len(s) > limit:
        s = s[:limit - 3] + "..."
    return s


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


class Refused(Unreadable):
    """The certificate asks for more work than this verifier's budget (docs/certificate.md,
    "Budgets"), or a rigorous check's witness is missing: it cannot be verified (exit 2)."""


class _Fail(Exception):
    """A re-derivation that does not agree with the certificate (exit status 1)."""
