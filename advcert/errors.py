"""User-facing errors.

An :class:`InputError` is what the CLI turns into a single line on stderr and exit
status 2. Its message names the problem *and* the fix, in the manner of equinox.
"""


class InputError(ValueError):
    """Bad input from the user: one line, names the problem and how to fix it."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}; {fix}")


class CertificateError(Exception):
    """A certificate file that cannot be read as an advcert certificate."""
