"""Definition 3.1's loss class and the objective of Algorithm 1's training adversary A.

Both the compiled training loop (:mod:`advcert.measured.algorithm1`) and the plain-numpy
reference step (:mod:`advcert.measured.reference`) make S(t) through :func:`pgd_points`,
with their own evaluation of f_W and their own ascent step, so the two check each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from advcert import adversary

LOSSES = ("abs", "smooth")



def loss_value(yhat: np.ndarray, y: np.ndarray, loss: str = "abs", tau: float = 0.01) -> np.ndarray:
    """ℓ(ŷ, y) of Definition 3.1: ``abs`` |ŷ - y|, ``smooth`` sqrt((ŷ - y)² + τ²) - τ.

    Both are convex in ŷ, non-negative, 1-Lipschitz and vanish at ŷ = y.
    """
    e = np.asarray(yhat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    if loss == "abs":
        return np.abs(e)
    # e²/(sqrt(e²+τ²)+τ) is sqrt(e²+τ²) - τ without cancellation for small e
    return e * e / (np.sqrt(e * e + tau * tau) + tau)


def loss_slope(yhat: np.ndarray, y: np.ndarray, loss: str = "abs", tau: float = 0.01) -> np.ndarray:
    """A (sub)gradient ℓ'(ŷ, y) in ŷ (Definition 3.1's loss class); sign(0) := +1 for ``abs``."""
    e = np.asarray(yhat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    if loss == "abs":
        return np.where(e >= 0.0, 1.0, -1.0)
    return e / np.sqrt(e * e + tau * tau)


# ---------------------------------------------------------------------------------------
# the training adversary A
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adversary:
    """The training adversary A of Algorithm 1: rho-bounded, A(x, y, f) ∈ B_2(x, rho) ∩ X (Def. 3.2).

    ``kind`` 'pgd': normalised projected ascent of the loss from the data point (plus
    ``restarts`` uniform starts in the cap), ``steps`` steps of length rho·10^{-k/(steps-1)};
    'apgd': :func:`advcert.measured.attacks.network_ascent` on |f - y| (the loss ``abs`` only).
    """

    rho: float
    steps: int = 10
    restarts: int = 0
    kind: str = "pgd"


@dataclass(frozen=True, eq=False)
class Attacked:
    """S(t) made by the adversary at one network (Algorithm 1, step 1).

    ``points`` (n, d) and ``f`` = f_W there; ``loss`` = ℓ(f, y) per point (their mean is
    L_A(f_W)); ``clean_f`` = f_W at the data points (clean loss), from the first evaluation.
    """

    points: np.ndarray
    f: np.ndarray
    loss: np.ndarray
    clean_f: np.ndarray


def pgd_points(c: np.ndarray, y: np.ndarray, adv: Adversary, *, loss: str, tau: float, seed, forward: Callable,
               step: adversary.Step) -> Attacked:
    """The 'pgd' training adversary's S(t): :func:`advcert.adversary.geometric_ascent` on ℓ(f_W(x), y_i)
    (Algorithm 1, Definition 3.2), with ``forward(X, grad) -> (f, grad_x f or None)``."""
    yy = np.repeat(y, adv.restarts + 1)

    def evaluate(x, want_grad):
        f, gx = forward(x, want_grad)
        grad = loss_slope(f, yy, loss, tau)[:, None] * gx if want_grad else None
        return loss_value(f, yy, loss, tau), grad, f

    res = adversary.geometric_ascent(evaluate, c, adv.rho, seed=seed, restarts=adv.restarts, steps=adv.steps,
                                     step=step)
    return Attacked(points=res.points, f=res.aux, loss=res.values, clean_f=res.first_aux)
