"""Progress on stderr for long work: stage lines and, on a terminal, a bar (rich).

Progress is never part of a result: it goes to stderr, ``quiet`` silences it, and piped
output gets plain stage lines only.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator


class Stages:
    """Numbered stage lines, ``advcert: [i/N] name ...`` then its time (one per link of the chain)."""

    def __init__(self, total: int, quiet: bool = False, stream=None):
        self.total, self.quiet, self.count = total, quiet, 0
        self.stream = stream if stream is not None else sys.stderr

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.count += 1
        t0 = time.perf_counter()
        self.say(f"[{self.count}/{self.total}] {name} ...")
        yield
        self.say(f"[{self.count}/{self.total}] {name}: {time.perf_counter() - t0:.2f} s")

    def say(self, message: str) -> None:
        if not self.quiet:
            print(f"advcert: {message}", file=self.stream, flush=True)


@contextmanager
def bar(total: int, description: str, quiet: bool = False) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr when it is a terminal; yields ``update(completed, description=None)``.

    Off when ``quiet`` or when stderr is not a TTY, so logs and pipes stay clean.
    """
    if quiet or not sys.stderr.isatty():
        yield lambda completed, description=None: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True)) as p:
        task = p.add_task(description, total=total)

        def update(completed, description=None):
            if description is None:
                p.update(task, completed=completed)
            else:
                p.update(task, completed=completed, description=description)

        yield update
