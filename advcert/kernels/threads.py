"""THE BLAS-thread limiter, the parallel-work heuristic and THE thread pool of the measured
plane's kernels (Section 3's f_W and g_W, Theorem 5.1's sweep, Lemma 6.2's f*, Lemma 6.6's h,
Definition 3.2's ascent, Algorithm 1's update).

**Parallelism** is Python threads over compiled ``nogil`` kernels, not numba's ``prange``:
each kernel is one serial function over a slice of its work (a range of points or chunks, or
one interleaved group of neuron tiles), and :func:`spread` runs the slices at once on a
shared pool. A ``parallel=True`` kernel costs about twice the compilation of its serial body
(the parfor passes, and every callee typed twice, with an int64 and a uint64 index), and the
serial and parallel variants of a kernel were compiled separately; this way each kernel
compiles once (perf-notes §8). Each item (a point, a chunk, a trajectory, a tile group) is
computed by the same code in the same order whatever the slicing, so the numbers are the
same bit for bit as with ``prange``; as before, only the sums over tile groups of f_W and
g_W depend on the group count (:func:`groups`, the thread count).

**BLAS**: every kernel that calls BLAS from inside a parallel region (the hybrid layouts of
f_W, g_W, the Theorem 5.1 sweep, Algorithm 1's update) must run BLAS on one thread per
kernel thread: unlimited BLAS threads inside kernel threads oversubscribe the cores and are
about 2x slower. The many tiny BLAS calls of L-BFGS-B in the Theorem 5.3 bound are 3-4x
slower with 2 BLAS threads on 2 cores too, so they use the same limiter.

This module does not import numba at module level: the data helpers limit BLAS through
it without loading the compiler.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import scipy.linalg.cython_blas  # noqa: F401  (scipy's BLAS loaded before threadpoolctl looks for libraries)
from threadpoolctl import ThreadpoolController

#: below this many point·neuron·dimension products a kernel runs on one thread: waking the
#: thread pool costs more than the work (milliseconds on a busy 2-core machine)
PARALLEL_WORK = 1 << 21

_CONTROLLER: ThreadpoolController | None = None  # made on first use (10 ms); limiting through it costs 0.2 ms
_DEPTH = 0  # nesting depth: inside a limit, a kernel's own limit is free (Algorithm 1 nests thousands)
_POOL: ThreadPoolExecutor | None = None  # made on first parallel call; a forked child makes its own
_PREFIX = "advcert-kernel"  # the names of the pool's threads


def _forget_pool() -> None:
    global _POOL
    _POOL = None  # the parent's worker threads do not exist in a forked child


os.register_at_fork(after_in_child=_forget_pool)


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
    """The number of threads a parallel kernel of Section 3's network may use: numba's setting
    (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), though the threads are :func:`spread`'s."""
    # numba is imported here, not at the top, so that blas_single_thread stays numba-free
    from numba import get_num_threads

    return max(1, int(get_num_threads()))


def spread(work: Callable[[int], object], parts: int) -> None:
    """Run ``work(0)``, ..., ``work(parts - 1)`` at once, part 0 on the calling thread (the
    kernels of Section 3, Theorem 5.1, Lemmas 6.2 and 6.6, Definition 3.2 and Algorithm 1).

    ``work`` calls a ``nogil`` kernel on its slice; the slices must write disjoint outputs.
    An exception in any part is raised here after every part has finished. Called from one of
    the pool's own threads, the parts run one after the other (waiting there for the pool
    could deadlock it).
    """
    global _POOL
    if parts <= 1 or threading.current_thread().name.startswith(_PREFIX):
        for i in range(max(parts, 0)):
            work(i)
        return
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, numba_threads() - 1), thread_name_prefix=_PREFIX)
    futures = [_POOL.submit(work, i) for i in range(1, parts)]
    try:
        work(0)
    finally:
        for fut in futures:
            fut.exception()  # wait for every part before a failure propagates
    for fut in futures:
        fut.result()


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering range(n), sizes differing by at most one (at most n
    ranges): the static schedule of a parallel loop over points or chunks (Section 3's kernels)."""
    parts = max(1, min(parts, n))
    q, r = divmod(n, parts)
    bounds = [i * q + min(i, r) for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def spread_range(work: Callable[[int, int], object], n: int, parts: int) -> None:
    """``work(lo, hi)`` over the ranges of :func:`split` at once (see :func:`spread`)."""
    ranges = split(n, parts)
    spread(lambda i: work(*ranges[i]), len(ranges) if n else 0)


def parallel(work: int) -> bool:
    """Whether ``work`` point·neuron·dimension products (Section 3's f_W, g_W) are worth a parallel region."""
    return work >= PARALLEL_WORK


def parts(work: int, items: int) -> int:
    """How many slices a loop of ``items`` independent items (points, chunks, trajectories) with
    ``work`` point·neuron·dimension products in all is cut into (Section 3's kernels)."""
    if not parallel(work):
        return 1
    return max(1, min(numba_threads(), items))


def groups(N: int, m: int, d: int, tile: int) -> int:
    """How many threads share the neuron tiles of an (N points, m neurons, d) evaluation
    of Section 3's network: 1 below :data:`PARALLEL_WORK`, else one per thread (at most one per tile)."""
    if not parallel(N * m * d):
        return 1
    return max(1, min(numba_threads(), -(-m // tile)))
