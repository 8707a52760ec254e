"""THE BLAS-thread limiter and the parallel-work heuristic of the measured plane's kernels.

Every numba kernel that calls BLAS from inside a parallel region (the hybrid layouts of
f_W, g_W (Section 3), the Theorem 5.1 sweep, Algorithm 1's update) must run BLAS on one
thread per numba thread: unlimited BLAS threads inside numba threads oversubscribe the
cores and are about 2x slower. The many tiny BLAS calls of L-BFGS-B in the Theorem 5.3
bound are 3-4x slower with 2 BLAS threads on 2 cores too, so they use the same limiter.

This module does not import numba at module level: the data helpers limit BLAS through
it without loading the compiler.
"""

from __future__ import annotations

from contextlib import contextmanager

import scipy.linalg.cython_blas  # noqa: F401  (scipy's BLAS loaded before threadpoolctl looks for libraries)
from threadpoolctl import ThreadpoolController

#: below this many point·neuron·dimension products a kernel runs on one thread: waking the
#: thread pool costs more than the work (milliseconds on a busy 2-core machine)
PARALLEL_WORK = 1 << 21

_CONTROLLER: ThreadpoolController | None = None  # made on first use (10 ms); limiting through it costs 0.2 ms
_DEPTH = 0  # nesting depth: inside a limit, a kernel's own limit is free (Algorithm 1 nests thousands)


@contextmanager
def blas_single_thread():
    """A context in which every BLAS library runs on one thread (see the module docstring;
    used by the kernels of Section 3, Theorem 5.1, Theorem 5.3 and Algorithm 1)."""
    global _CONTROLLER, _DEPTH
    if _DEPTH:
        _DEPTH += 1
        try:
            yield
        finally:
            _DEPTH -= 1
        return
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        _DEPTH = 1
        try:
            yield
        finally:
            _DEPTH = 0


def numba_threads() -> int:
    """The number of numba threads a parallel kernel of Section 3's network may use."""
    # numba is imported here, not at the top, so that blas_single_thread stays numba-free
    from numba import get_num_threads

    return int(get_num_threads())


def parallel(work: int) -> bool:
    """Whether ``work`` point·neuron·dimension products (Section 3's f_W, g_W) are worth a parallel region."""
    return work >= PARALLEL_WORK


def groups(N: int, m: int, d: int, tile: int) -> int:
    """How many numba threads share the neuron tiles of an (N points, m neurons, d) evaluation
    of Section 3's network: 1 below :data:`PARALLEL_WORK`, else one per thread (at most one per tile)."""
    if not parallel(N * m * d):
        return 1
    return max(1, min(numba_threads(), -(-m // tile)))
