"""THE plain-numpy reference of Section 3's f_W and g_W, their x-gradients, and Algorithm 1's step.

Slow on purpose: every function forms the N x m pre-activations, in the form and with the
kink convention of :mod:`advcert.kernels.forward` (z = <W, x> + b, u = <W0, x> + b,
Δ = <W, x> - <W0, x>; relu'(0) := 0, the gate 1{u >= 0}). Every fast kernel is tested
against these (tests/test_kernels.py); nothing on a hot path calls them, except the
Theorem 5.3 branch-and-bound's evaluation of f_W at single points.
"""

from __future__ import annotations

import numpy as np

from advcert.adversary import cap_step
from advcert.measured.loss import Adversary, Attacked, loss_slope, pgd_points
from advcert.measured.network import TwoLayerNet


def f_value(net: TwoLayerNet, X: np.ndarray) -> np.ndarray:
    """f_W(x) = Σ_r a_r relu(<W_r, x> + b_r) at the rows of X, or at one point x (Section 3)."""
    X = np.asarray(X, dtype=np.float64)
    # one point through W @ x: the branch-and-bound's witnesses are single points
    Z = net.W @ X + net.b if X.ndim == 1 else X @ net.W.T + net.b
    return np.maximum(Z, 0.0) @ net.a


def f_grad(net: TwoLayerNet, X: np.ndarray) -> np.ndarray:
    """∇_x f_W = Σ_r a_r relu'(z_r) W_r with relu'(0) := 0 at the rows of X (Section 3)."""
    Z = X @ net.W.T + net.b
    return ((Z > 0.0) * net.a) @ net.W


def _parts(net: TwoLayerNet, X: np.ndarray):
    S, S0 = X @ net.W.T, X @ net.W0.T
    return S - S0, S0 + net.b


def g_value(net: TwoLayerNet, X: np.ndarray) -> np.ndarray:
    """g_W(x) = Σ_r a_r <W_r - W0_r, x> 1{<W0_r, x> + b_r >= 0} at the rows of X (Section 3)."""
    Dl, U = _parts(net, X)
    return np.where(U >= 0.0, Dl, 0.0) @ net.a


def g_grad(net: TwoLayerNet, X: np.ndarray) -> np.ndarray:
    """∇_x g_W = Σ_r a_r 1{u_r >= 0} (W_r - W0_r) at the rows of X (Section 3)."""
    _, U = _parts(net, X)
    return ((U >= 0.0) * net.a) @ net.D


def f0_value(net: TwoLayerNet, X: np.ndarray) -> np.ndarray:
    """f_W0(x) = Σ_r a_r relu(u_r(x)) at the rows of X (the initial network of Theorem 5.1)."""
    return np.maximum(X @ net.W0.T + net.b, 0.0) @ net.a


def theorem51_sums(net: TwoLayerNet, X: np.ndarray, R: float) -> tuple[np.ndarray, np.ndarray]:
    """Σ_r (R m^{-2/3} - |u_r|)_+ and Σ_r |a_r| (|Δ_r| - |u_r|)_+ at the rows of X (Theorem 5.1, §7)."""
    Dl, U = _parts(net, X)
    rm = R * net.m ** (-2.0 / 3.0)
    return np.maximum(rm - np.abs(U), 0.0).sum(axis=1), np.maximum(np.abs(Dl) - np.abs(U), 0.0) @ np.abs(net.a)


def w_gradient(net: TwoLayerNet, X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Σ_p coef_p a_r relu'(z_r(x_p)) x_p per neuron (∇_W of Σ_p coef_p f_W(x_p), Algorithm 1), relu'(0) := 0."""
    Z = X @ net.W.T + net.b
    return ((Z > 0.0) * net.a * coef[:, None]).T @ X


def forward(net: TwoLayerNet, X: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(f_W, ∇_x f_W or None) at the rows of X, the evaluator Algorithm 1's adversary takes (Section 3)."""
    Z = X @ net.W.T + net.b  # once for both: the plain step of the benchmarks forms it once too
    return np.maximum(Z, 0.0) @ net.a, (((Z > 0.0) * net.a) @ net.W if grad else None)


def algorithm1_step(net: TwoLayerNet, points, labels, eta: float, adv: Adversary, *, loss: str = "abs",
                    tau: float = 0.01, seed=None) -> tuple[np.ndarray, Attacked, float]:
    """One step of Algorithm 1 in plain numpy: the adversary's S(t) through the numpy ascent
    step (:func:`advcert.adversary.cap_step`), then W - η ∇_W L(f_W, S(t)); with the drift."""
    if adv.kind != "pgd":
        raise ValueError("the reference step runs the 'pgd' training adversary")
    att = pgd_points(np.ascontiguousarray(points, dtype=np.float64), np.asarray(labels, dtype=np.float64), adv,
                     loss=loss, tau=tau, seed=seed, forward=lambda X, grad: forward(net, X, grad), step=cap_step)
    coef = loss_slope(att.f, labels, loss, tau) / att.points.shape[0]
    Wn = net.W - eta * w_gradient(net, att.points, coef)
    return Wn, att, float(np.max(np.linalg.norm(Wn - net.W0, axis=1)))
