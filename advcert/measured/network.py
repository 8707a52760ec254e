"""The two-layer network of Section 3 (one validated value), its initialisation, and W* of Lemma 6.5.

Section 3: f_W(x) = Σ_r a_r relu(<W_r, x> + b_r) with a_r uniform on {±m^{-1/3}} and
W0, b with iid N(0, 1/m) entries; only W moves. The pseudo-network is
g_W(x) = Σ_r a_r <W_r - W0_r, x> 1{<W0_r, x> + b_r >= 0} (no f_W0 term, math-spec §1).

Lemma 6.5's construction [D/G, math-spec §6, AZLL's e_d trick with x_d = 1/2]:

    W*_r = W0_r + c_r e_d,   c_r = (2/(m a_r)) Σ_i y_i h(√m <x_i, W0_r>, √m b_r),

with h from Lemma 6.6 for φ = q. On X, <W*_r - W0_r, x> = c_r/2, so
g_{W*}(x) = (1/m) Σ_r Σ_i y_i h(·) 1{u_r(x) >= 0}: an average of m iid terms with mean
f*(x) ± n ε2 and range <= n C_h. Hence the theorem's radius R = 2 n C_h: m^{2/3} |c_r| <= R.

Rows of W0 and W are neurons (the paper's columns W_r); arrays are (m, d) float64. The
initialisation draws from the stream ``network-init`` of :mod:`advcert.seeds`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from advcert import seeds
from advcert.errors import InputError
from advcert.kernels.hermite import h_values
from advcert.measured.h import Features, h_eval


@dataclass(frozen=True, eq=False)
class TwoLayerNet:
    """The network (a, W0, b) of Section 3 with weights W, validated once on construction.

    a (m,), W0 (m, d) with row r = W0_r, b (m,), W (m, d): contiguous float64, finite.
    ``D`` = W - W0 (the pseudo-network's moves, computed on first use). A network given
    without an initialisation is ``TwoLayerNet(a, W, b, W)`` (:func:`plain`): its f_W is the
    same and its g_W is 0.
    """

    a: np.ndarray = field(repr=False)
    W0: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)
    W: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        arrs = {k: np.ascontiguousarray(getattr(self, k), dtype=np.float64) for k in ("a", "W0", "b", "W")}
        a, W0, b, W = arrs["a"], arrs["W0"], arrs["b"], arrs["W"]
        if W0.ndim != 2 or a.shape != (W0.shape[0],) or b.shape != (W0.shape[0],):
            raise InputError(
                f"network arrays have shapes a {a.shape}, W0 {W0.shape}, b {b.shape}",
                "pass a (m,), W0 and W (m, d) with row r = W_r, b (m,)",
            )
        if W.shape != W0.shape:
            raise InputError(f"W has shape {W.shape} but W0 has {W0.shape}",
                             "pass the initial weights of the same network")
        for name, arr in arrs.items():
            if not np.all(np.isfinite(arr)):
                raise InputError(f"network array {name} has NaN or infinity", "check the network witness file")
            object.__setattr__(self, name, arr)

    @property
    def m(self) -> int:
        return int(self.W0.shape[0])

    @property
    def d(self) -> int:
        return int(self.W0.shape[1])

    @cached_property
    def D(self) -> np.ndarray:
        return np.ascontiguousarray(self.W - self.W0)


def plain(a, W, b) -> TwoLayerNet:
    """The network f_W of Section 3 given without an initialisation: W0 := W (so g_W = 0)."""
    W = np.ascontiguousarray(W, dtype=np.float64)
    return TwoLayerNet(a, W, b, W)


def with_weights(net: TwoLayerNet, W) -> TwoLayerNet:
    """The same initialisation (a, W0, b) with other weights W (Section 3: only W moves)."""
    return TwoLayerNet(net.a, net.W0, net.b, W)


def initialise(m: int, d: int, seed: int) -> TwoLayerNet:
    """Draw a_r ∈ {±m^{-1/3}}, W0 and b with N(0, 1/m) entries, W = W0 (Section 3, footnote 6)."""
    if m < 1:
        raise InputError(f"width m must be >= 1, got {m}", "pass --m with a positive integer")
    if d < 2:
        raise InputError(f"X needs d >= 2, got d = {d}", "use points with at least 2 coordinates")
    sa, sw, sb = seeds.seed_sequence(seed, "network-init").spawn(3)
    sd = 1.0 / math.sqrt(m)
    a = np.where(np.random.default_rng(sa).integers(0, 2, size=m) == 1, 1.0, -1.0) * m ** (-1.0 / 3.0)
    W0 = np.random.default_rng(sw).standard_normal((m, d)) * sd
    b = np.random.default_rng(sb).standard_normal(m) * sd
    return TwoLayerNet(a, W0, b, W0)


def radius(net: TwoLayerNet, W: np.ndarray | None = None) -> float:
    """m^{2/3} ||W - W0||_{2,∞}: the R for which W (default net.W) lies in the ball of Theorems 5.1-5.3."""
    Wx = net.W if W is None else np.asarray(W)
    return float(net.m ** (2.0 / 3.0) * np.max(np.linalg.norm(Wx - net.W0, axis=1)))


@dataclass(frozen=True, eq=False)
class PseudoNetwork:
    """W* = W0 + c e_d of Lemma 6.5 for data (X, y) and h (Lemma 6.6).

    ``net`` is the initialisation; ``sum_yh[r]`` = Σ_i y_i h(√m <x_i, W0_r>, √m b_r); ``h_err``
    bounds (estimate) the float error of each such sum; ``h_fallback`` is the fraction of h
    values recomputed in Arb.
    """

    net: TwoLayerNet
    c: np.ndarray = field(repr=False)
    sum_yh: np.ndarray = field(repr=False)
    h_err: float
    h_fallback: float
    seconds: float

    @property
    def W(self) -> np.ndarray:
        W = self.net.W0.copy()
        W[:, -1] += self.c
        return W

    @property
    def network(self) -> TwoLayerNet:
        """(a, W0, b) with W = W* (Lemma 6.5)."""
        return with_weights(self.net, self.W)

    @property
    def radius(self) -> float:
        """Measured R = m^{2/3} ||W* - W0||_{2,∞} = m^{2/3} max_r |c_r| (Lemma 6.5)."""
        return float(self.net.m ** (2.0 / 3.0) * np.max(np.abs(self.c))) if self.c.size else 0.0


def _h_float_compiled(feat: Features, a: np.ndarray, beta: np.ndarray):
    return h_values(feat.kappa, float(feat.B_t), a, beta)


def w_star(net: TwoLayerNet, X: np.ndarray, y: np.ndarray, feat: Features) -> PseudoNetwork:
    """W*_r = W0_r + (2/(m a_r)) Σ_i y_i h(√m <x_i, W0_r>, √m b_r) e_d (Lemma 6.5)."""
    t0 = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != net.d or y.shape != (X.shape[0],):
        raise ValueError("X must be (n, d) with the network's d and y must be (n,)")
    sm = math.sqrt(net.m)
    A = sm * (X @ net.W0.T)  # (n, m): n is small, this is the data-by-neuron table h needs
    beta = sm * net.b
    hv = h_eval(feat, A, np.broadcast_to(beta, A.shape), float_eval=_h_float_compiled)
    s = y @ hv.values
    err = float(np.max(np.abs(y) @ hv.err)) if hv.err.size else 0.0
    c = 2.0 * s / (net.m * net.a)
    return PseudoNetwork(net=net, c=c, sum_yh=s, h_err=err, h_fallback=hv.fallback_fraction,
                         seconds=time.perf_counter() - t0)
