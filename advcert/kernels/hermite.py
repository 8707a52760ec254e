"""The compiled h of Lemma 6.6 (the float evaluator; the numpy twin and the Arb reference are in
:mod:`advcert.measured.h`).

h(a, β) = 1{|a| <= B} Σ_i κ_i h̃_i(a) sign(h̃_{i-1}(-β)), with h̃_i = He_i/√(i!) by the stable
normalised recurrence and the a-posteriori error model of ``advcert.measured.h.h_float``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from advcert.kernels import threads


@njit(cache=True, nogil=True, fastmath=False)
def _h_kernel(a, beta, kappa, B, p0, p1, val, err, unsure):  # pragma: no cover - compiled
    u = 2.0**-53
    K = kappa.shape[0] - 1
    for p in range(p0, p1):  # one thread's slice of the points
        x = a[p]
        nb = -beta[p]
        ha_prev = 0.0
        ha = 1.0
        hb_prev = 0.0
        hb = 1.0
        env_a = 1.0
        env_b = 1.0
        total = kappa[0]
        e = abs(kappa[0]) * u
        bad = False
        for i in range(1, K + 1):
            if abs(hb) <= 8.0 * i * u * env_b:
                bad = True
            w = 1.0 if hb > 0.0 else (-1.0 if hb < 0.0 else 0.0)
            si = math.sqrt(i)
            tmp = (x * ha - math.sqrt(i - 1.0) * ha_prev) / si
            ha_prev = ha
            ha = tmp
            env_a = max(env_a, abs(ha))
            if kappa[i] != 0.0:
                total += kappa[i] * ha * w
                e += abs(kappa[i]) * ((i + 1) * env_a + abs(ha)) * u
            if i < K:
                tmp = (nb * hb - math.sqrt(i - 1.0) * hb_prev) / si
                hb_prev = hb
                hb = tmp
                env_b = max(env_b, abs(hb))
        e += K * u * abs(total)
        if abs(x) <= B:
            val[p] = total
            err[p] = e
            unsure[p] = bad
        else:
            val[p] = 0.0
            err[p] = 0.0
            unsure[p] = False


def h_values(kappa: np.ndarray, B: float, a: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """h(a, β) of Lemma 6.6 in float64 with its error estimate and undecided-sign flags.

    The same recurrence and error model as ``advcert.measured.h.h_float`` (the numpy
    reference), compiled: h = 1{|a| <= B} Σ_i κ_i h̃_i(a) sign(h̃_{i-1}(-β)).
    """
    a, beta = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    shape = a.shape
    av = np.ascontiguousarray(a.ravel())
    bv = np.ascontiguousarray(beta.ravel())
    val = np.empty(av.size)
    err = np.empty(av.size)
    uns = np.empty(av.size, dtype=np.bool_)
    kappa = np.ascontiguousarray(kappa, dtype=np.float64)
    B = float(B)
    threads.spread_range(lambda p0, p1: _h_kernel(av, bv, kappa, B, p0, p1, val, err, uns), av.size,
                         threads.parts(av.size * kappa.size, av.size))
    return val.reshape(shape), err.reshape(shape), uns.reshape(shape)
