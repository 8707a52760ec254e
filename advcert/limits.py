"""Work bounded before it starts: memory needs estimated and refused with the figure.

A request that cannot fit (a width m, a data header, a witness) gets one line naming the bytes
it needs and the bytes this machine has, before any allocation (hostile-input rule of
docs/design.md §4).
"""

from __future__ import annotations

import os

from advcert.errors import InputError

#: the share of physical memory one request may plan to use
MEMORY_SHARE = 0.5


def physical_memory() -> int:
    """Bytes of physical memory (a generous 64 GiB where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 64 << 30


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.3g} GiB"


def refuse_memory(need: float, what: str, fix: str) -> None:
    """Raise InputError when ``need`` bytes exceed this machine's budget (``MEMORY_SHARE`` of its memory)."""
    have = physical_memory() * MEMORY_SHARE
    if need > have:
        raise InputError(f"{what} needs about {_gib(need)} of memory, more than the {_gib(have)} this machine allows",
                         fix)


def network_bytes(m: int, d: int) -> float:
    """Memory of one width-m network of Section 3 with its working copies: a, b and about six m×d arrays."""
    return 8.0 * m * (6 * d + 4)
