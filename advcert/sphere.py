"""Geometry of the input domain X = {x in R^d : ||x||_2 = 1, x_d = 1/2} (Section 3.2).

Write x = ((sqrt(3)/2) v, 1/2) with v on the unit sphere S^{d-2} of R^{d-1}; then
||x - x'|| = (sqrt(3)/2) ||v - v'||. The perturbation set B_2(z, rho) ∩ X of
Definition 3.2 is, in v-coordinates, the spherical cap of geodesic radius
theta_rho = 2 arcsin(rho / sqrt(3)) around v_z (the whole sphere once rho >= sqrt(3)).

Everything here is float64 and belongs to the *measured* plane. The certified plane
never calls it.
"""

from __future__ import annotations

import math

import numpy as np

HALF_SQRT3 = math.sqrt(3.0) / 2.0


def lift(v: np.ndarray) -> np.ndarray:
    """Map unit vectors v in R^{d-1} (rows) to points of X in R^d."""
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    out = np.empty((v.shape[0], v.shape[1] + 1))
    out[:, :-1] = HALF_SQRT3 * v
    out[:, -1] = 0.5
    return out


def to_v(x: np.ndarray) -> np.ndarray:
    """Inverse of :func:`lift`: the unit vectors v of points of X (rows)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return x[:, :-1] / HALF_SQRT3


def project(z: np.ndarray) -> np.ndarray:
    """Nearest point of X to each row of z (the first d-1 coordinates must not vanish)."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    head = z[:, :-1]
    nrm = np.linalg.norm(head, axis=1, keepdims=True)
    if np.any(nrm == 0.0):
        raise ValueError("cannot project a point whose first d-1 coordinates are all 0 onto X")
    return lift(head / nrm)


def sample_uniform(rng: np.random.Generator, count: int, d: int) -> np.ndarray:
    """``count`` points drawn uniformly (surface measure) from X in R^d."""
    if d < 2:
        raise ValueError("X needs d >= 2")
    g = rng.standard_normal((count, d - 1))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return lift(g)


#: how much the attacks' caps are shrunk (radians, in v-coordinates): a point placed at this angle in
#: binary64 lies inside B_2(z, rho) ∩ X exactly, whatever the rounding of its few operations (~1e-16)
CAP_MARGIN = 2.0**-48


def cap_angle(rho: float) -> float:
    """Geodesic radius in v-coordinates of the cap the attacks search, B_2(z, rho) ∩ X shrunk by
    ``CAP_MARGIN`` (pi when the ball holds all of X; 0 when the cap is below the margin), so that every
    point an attack evaluates is a point of Definition 3.2's perturbation set, even at tiny rho."""
    if rho >= math.sqrt(3.0):
        return math.pi
    return max(0.0, 2.0 * math.asin(rho / math.sqrt(3.0)) - CAP_MARGIN)


def _inside(v: np.ndarray, c: np.ndarray, cos_t: float, sin_t: float) -> np.ndarray:
    # chord test ||v - c||² <= 2(1 - cos t) = 2 sin² t / (1 + cos t): no cancellation at small caps
    return np.sum((v - c) ** 2, axis=1) <= 2.0 * sin_t * sin_t / (1.0 + cos_t)


def project_to_cap(x: np.ndarray, centre: np.ndarray, rho: float) -> np.ndarray:
    """Project rows of x onto X and then onto the caps B_2(centre_i, rho) ∩ X.

    The projection is relative to the *original* point ``centre`` (projecting from the
    previous iterate is the bug of ART#85). Points already inside are returned unchanged
    (up to re-normalisation); points outside go to the nearest boundary point along the
    great circle through the centre.
    """
    v = to_v(project(x))
    c = to_v(np.atleast_2d(centre))
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    theta = cap_angle(rho)
    if theta >= math.pi:
        return lift(v)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    dots = np.sum(v * c, axis=1)
    outside = ~_inside(v, c, cos_t, sin_t)
    if np.any(outside):
        w = v[outside] - dots[outside, None] * c[outside]
        wn = np.linalg.norm(w, axis=1, keepdims=True)
        # a point antipodal to the centre has no preferred great circle: pick any
        # orthogonal direction, deterministically.
        bad = wn[:, 0] == 0.0
        if np.any(bad):
            e = np.zeros_like(w[bad])
            e[:, 0] = 1.0
            e -= np.sum(e * c[outside][bad], axis=1, keepdims=True) * c[outside][bad]
            if np.any(np.linalg.norm(e, axis=1) == 0.0):
                e[:, :] = 0.0
                e[:, 1] = 1.0
            w[bad] = e
            wn[bad] = np.linalg.norm(e, axis=1, keepdims=True)
        v[outside] = cos_t * c[outside] + sin_t * (w / wn)
    return lift(v)


def sample_in_cap(rng: np.random.Generator, centre: np.ndarray, rho: float, count: int) -> np.ndarray:
    """``count`` points uniform (surface measure) in B_2(centre, rho) ∩ X.

    Angle from the centre has density proportional to sin^{k-1}(theta), k = d-2 the
    sphere's dimension; we propose theta ~ theta^{k-1} and accept with (sin t / t)^{k-1}.
    """
    c = to_v(np.atleast_2d(centre))[0]
    c = c / np.linalg.norm(c)
    dim = c.shape[0]  # ambient dimension of v
    theta_max = cap_angle(rho)
    if theta_max >= math.pi:
        return sample_uniform(rng, count, dim + 1)
    k = dim - 1  # dimension of the sphere S^{d-2}
    if k == 0:
        # S^0: two points; the cap holds the centre and, if wide enough, its antipode.
        return lift(np.tile(c, (count, 1)))
    thetas = np.empty(0)
    while thetas.size < count:
        t = theta_max * rng.random(2 * count) ** (1.0 / k)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(t > 0, np.sin(t) / t, 1.0)
        keep = rng.random(t.size) < ratio ** (k - 1)
        thetas = np.concatenate([thetas, t[keep]])
    thetas = thetas[:count]
    g = rng.standard_normal((count, dim))
    g -= (g @ c)[:, None] * c
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    v = np.cos(thetas)[:, None] * c + np.sin(thetas)[:, None] * g
    return lift(v)
