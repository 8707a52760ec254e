"""The two-layer network near initialisation and the pseudo-network W* of Lemma 6.5.

Section 3: f_W(x) = Σ_r a_r relu(<W_r, x> + b_r) with a_r uniform on {±m^{-1/3}} and
W0, b with iid N(0, 1/m) entries; only W moves. The pseudo-network is
g_W(x) = Σ_r a_r <W_r - W0_r, x> 1{<W0_r, x> + b_r >= 0} (no f_W0 term, math-spec §1).

Lemma 6.5's construction [D/G, math-spec §6, AZLL's e_d trick with x_d = 1/2]:

    W*_r = W0_r + c_r e_d,   c_r = (2/(m a_r)) Σ_i y_i h(√m <x_i, W0_r>, √m b_r),

with h from Lemma 6.6 for φ = q. On X, <W*_r - W0_r, x> = c_r/2, so
g_{W*}(x) = (1/m) Σ_r Σ_i y_i h(·) 1{u_r(x) >= 0}: an average of m iid terms with mean
f*(x) ± n ε2 and range <= n C_h. Hence the theorem's radius R = 2 n C_h: m^{2/3} |c_r| <= R.

Rows of W0 are neurons (the paper's columns W_r); arrays are (m, d) float64. Seeds come from
``numpy.random.SeedSequence``: the network uses the stream SeedSequence(seed,
spawn_key=(STREAM_NETWORK,)), so the same root seed can also drive the data without the two
sharing random numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from advcert import kernels, seeds
from advcert.errors import InputError
from advcert.features import Features, h_eval

#: spawn keys of the random streams this module draws from (registered in advcert.seeds)
STREAM_NETWORK = seeds.STREAMS["network-init"]
STREAM_POINTS = seeds.STREAMS["lemma65-points"]


def stream(seed: int, key: int) -> np.random.SeedSequence:
    """The SeedSequence of one random stream under the root seed (the initialisation of
    Section 3 uses STREAM_NETWORK, the sampled points of Lemma 6.5's checks STREAM_POINTS)."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(key),))


@dataclass(frozen=True, eq=False)
class Network:
    """The initialisation (a, W0, b) of Section 3 at width m (a frozen, b frozen)."""

    m: int
    d: int
    seed: int
    a: np.ndarray = field(repr=False)
    W0: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)


def initialise(m: int, d: int, seed: int) -> Network:
    """Draw a_r ∈ {±m^{-1/3}}, W0 and b with N(0, 1/m) entries (Section 3, footnote 6)."""
    if m < 1:
        raise InputError(f"width m must be >= 1, got {m}", "pass --m with a positive integer")
    if d < 2:
        raise InputError(f"X needs d >= 2, got d = {d}", "use points with at least 2 coordinates")
    sa, sw, sb = stream(seed, STREAM_NETWORK).spawn(3)
    sd = 1.0 / math.sqrt(m)
    a = np.where(np.random.default_rng(sa).integers(0, 2, size=m) == 1, 1.0, -1.0) * m ** (-1.0 / 3.0)
    W0 = np.random.default_rng(sw).standard_normal((m, d)) * sd
    b = np.random.default_rng(sb).standard_normal(m) * sd
    return Network(m=m, d=d, seed=int(seed), a=a, W0=W0, b=b)


@dataclass(frozen=True, eq=False)
class PseudoNetwork:
    """W* = W0 + c e_d of Lemma 6.5 for data (X, y) and h (Lemma 6.6).

    ``sum_yh[r]`` = Σ_i y_i h(√m <x_i, W0_r>, √m b_r); ``h_err`` bounds (estimate) the float
    error of each such sum; ``h_fallback`` is the fraction of h values recomputed in Arb.
    """

    net: Network
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
    def radius(self) -> float:
        """Measured R = m^{2/3} ||W* - W0||_{2,∞} = m^{2/3} max_r |c_r| (Lemma 6.5)."""
        return float(self.net.m ** (2.0 / 3.0) * np.max(np.abs(self.c))) if self.c.size else 0.0


def _h_float_compiled(feat: Features, a: np.ndarray, beta: np.ndarray):
    return kernels.h_values(feat.kappa, float(feat.B_t), a, beta)


def w_star(net: Network, X: np.ndarray, y: np.ndarray, feat: Features) -> PseudoNetwork:
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


def pack(net: Network, W: np.ndarray | None = None, *, grads: bool = True) -> kernels.Packed:
    """The network of Section 3 with weights W (e.g. W* of Lemma 6.5) packed for the kernels."""
    return kernels.pack(net.a, net.W0, net.b, W, grads=grads)


def f_W(net: Network, W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """f_W(x) at the rows of X (Section 3), through the fused sweep."""
    return kernels.sweep(pack(net, W, grads=False), X).f


def g_W(net: Network, W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """g_W(x) at the rows of X (the pseudo-network of Section 3), through the fused sweep."""
    return kernels.sweep(pack(net, W, grads=False), X).g


def radius(net: Network, W: np.ndarray) -> float:
    """m^{2/3} ||W - W0||_{2,∞}: the R for which W lies in the ball of Theorems 5.1-5.3."""
    return float(net.m ** (2.0 / 3.0) * np.max(np.linalg.norm(np.asarray(W) - net.W0, axis=1)))


# ---------------------------------------------------------------------------------------
# theory constants of this chain (log scale)
# ---------------------------------------------------------------------------------------

_LOG10_2 = math.log10(2.0)
_LOG10_E = math.log10(math.e)


@dataclass(frozen=True)
class ChainWidths:
    """Widths and probabilities of the Lemma 6.5 / Theorem 5.1 chain, in log10 (math-spec §6-7).

    * ``log10_R`` = log10(2 n C_h), the theorem's radius;
    * ``log10_m_thm51``: least m with C51 R²/m^{1/6} <= ε/3, i.e. 6 log10(3 C51 R²/ε);
    * ``log10_m_hoeffding``: least m making the Hoeffding + net failure bound <= ``delta``
      (t = ε/9 at every point of a τ-net, τ = m^-2, |net| <= (1 + √3/τ)^{d-1});
    * ``log10_m_discretisation``: least m with (n C_h/m)·d <= ε/9, the g-side net error
      when at most d activation patterns flip between a point and its net neighbour;
    * ``log10_m_required``: the largest of the three.
    """

    log10_R: float
    log10_m_thm51: float
    log10_m_hoeffding: float
    log10_m_discretisation: float
    log10_m_required: float


def log10_hoeffding_failure(m: float, n: int, d: int, eps: float, log2_C_h: float) -> float:
    """log10 of |net|·2 exp(-m (ε/9)² / (2 n² C_h²)) with τ = m^-2 (Lemma 6.5, math-spec §6).

    A probability bound: values >= 0 mean the bound says nothing at this width.
    """
    log10_net = (d - 1) * math.log10(1.0 + math.sqrt(3.0) * float(m) ** 2)
    log10_expo = (math.log10(float(m)) + 2.0 * math.log10(eps / 9.0) - math.log10(2.0 * n * n)
                  - 2.0 * log2_C_h * _LOG10_2)
    expo = 10.0**log10_expo if log10_expo > -300 else 0.0
    return math.log10(2.0) + log10_net - expo * _LOG10_E


def chain_widths(n: int, d: int, eps: float, log2_C_h: float, *, C51: float = 1.0,
                 delta: float = 0.01) -> ChainWidths:
    """The widths this chain asks for, in log10 (Lemma 6.5 and Theorem 5.1; see ChainWidths)."""
    eps = float(eps)
    log10_C_h = log2_C_h * _LOG10_2
    log10_R = math.log10(2 * n) + log10_C_h
    m51 = 6.0 * (math.log10(3.0 * C51 / eps) + 2.0 * log10_R)
    # Hoeffding: m >= 2 n² C_h² (ln(2/δ) + (d-1) ln(1 + √3 m²)) / (ε/9)²; iterate on log m
    base = math.log10(2.0 * n * n) + 2.0 * log10_C_h - 2.0 * math.log10(eps / 9.0)
    lm = base
    for _ in range(60):
        ln_term = math.log(2.0 / delta) + (d - 1) * (math.log(math.sqrt(3.0)) + 2.0 * lm * math.log(10.0))
        lm = base + math.log10(max(ln_term, 1e-300))
    mdisc = math.log10(9.0 * n * d / eps) + log10_C_h
    return ChainWidths(
        log10_R=log10_R,
        log10_m_thm51=m51,
        log10_m_hoeffding=lm,
        log10_m_discretisation=mdisc,
        log10_m_required=max(m51, lm, mdisc),
    )
