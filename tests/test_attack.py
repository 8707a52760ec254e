"""Tests of the adversary (Definition 3.2 / Theorem 5.3) against exhaustive references (advcert.adversary,
advcert.measured.attacks; the fused APGD against the numpy one is in tests/test_kernels.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advcert import sphere
from advcert.adversary import AttackResult, projected_ascent, random_search, tangent_direction
from advcert.errors import InputError


def _arc(centre: np.ndarray, rho: float, count: int) -> np.ndarray:
    """Dense exhaustive grid of the cap for d = 3 (an arc of the circle X)."""
    v0 = sphere.to_v(centre[None])[0]
    phi0 = math.atan2(v0[1], v0[0])
    th = sphere.cap_angle(rho)
    phis = phi0 + np.linspace(-th, th, count)
    return sphere.lift(np.stack([np.cos(phis), np.sin(phis)], axis=1))


def _bumps(targets: np.ndarray, heights: np.ndarray, width: float):
    """Smooth multimodal objective sum_k h_k exp(-|x - t_k|^2 / w^2) and its gradient."""

    def objective(x, idx):
        diff = x[:, None, :] - targets[None, :, :]
        e = heights[None, :] * np.exp(-np.sum(diff**2, axis=2) / width**2)
        val = e.sum(axis=1)
        grad = np.einsum("nk,nkd->nd", e, -2.0 * diff / width**2)
        return val, grad

    return objective


def test_known_maximiser_inside_cap_d3():
    # -|x - t|^2 with t on X inside the cap: the sup is 0, attained at t only
    rng = np.random.default_rng(1)
    centres = sphere.sample_uniform(rng, 6, 3)
    rho = 0.3
    targets = np.concatenate([sphere.sample_in_cap(rng, c, 0.8 * rho, 1) for c in centres])

    def objective(x, idx):
        diff = x - targets[idx]
        return -np.sum(diff**2, axis=1), -2.0 * diff

    res = projected_ascent(objective, centres, rho, seed=3, restarts=4, steps=60)
    assert isinstance(res, AttackResult)
    assert np.all(res.values <= 0.0)
    # normalised steps end at the last halved step size (~ rho * 2^-9 here)
    assert np.all(res.values > -1e-7)
    assert np.allclose(res.points, targets, atol=3e-4)


def test_known_maximiser_outside_cap_goes_to_boundary_d3():
    # target outside the cap: the maximiser is the boundary point of the cap nearest to it
    rng = np.random.default_rng(2)
    centres = sphere.sample_uniform(rng, 5, 3)
    rho = 0.2
    th = sphere.cap_angle(rho)
    v0 = sphere.to_v(centres)
    rot = lambda a: np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    vt = np.stack([rot(2.5 * th) @ v for v in v0])
    targets = sphere.lift(vt)
    expected = sphere.lift(np.stack([rot(th) @ v for v in v0]))

    def objective(x, idx):
        diff = x - targets[idx]
        return -np.sum(diff**2, axis=1), -2.0 * diff

    res = projected_ascent(objective, centres, rho, seed=4)
    assert np.allclose(res.points, expected, atol=1e-6)
    dist = np.linalg.norm(res.points - centres, axis=1)
    assert np.all(dist <= rho + 1e-12)


def test_agrees_with_dense_exhaustive_sampling_d3():
    # multimodal objective; dense sampling of the arc is the reference (a lower bound of
    # the sup that is within O(h^2) of it), and the attack can never beat the true sup
    rng = np.random.default_rng(5)
    centres = sphere.sample_uniform(rng, 8, 3)
    rho = 0.4
    targets = sphere.sample_uniform(rng, 40, 3)
    heights = rng.uniform(0.2, 1.0, 40)
    obj = _bumps(targets, heights, 0.15)
    res = projected_ascent(obj, centres, rho, seed=6, restarts=8, steps=80)
    for i, c in enumerate(centres):
        grid = _arc(c, rho, 20001)
        ref = obj(grid, np.zeros(len(grid), dtype=np.int64))[0].max()
        # grid spacing h ~ 4e-5: the sup exceeds ref by at most max|f"| h^2 / 8 ~ 1e-8
        assert res.values[i] <= ref + 1e-8
        assert res.values[i] >= ref - 1e-6
        assert np.linalg.norm(res.points[i] - c) <= rho + 1e-12
        # the reported value is the objective at the reported point
        assert res.values[i] == pytest.approx(obj(res.points[i : i + 1], np.zeros(1, dtype=np.int64))[0][0], abs=1e-15)


def test_linear_objective_matches_closed_form_cap_maximum_d6():
    # sup over the cap of <u, x> has a closed form (v-coordinates: cap of angle theta)
    rng = np.random.default_rng(7)
    d = 6
    centres = sphere.sample_uniform(rng, 10, d)
    u = rng.standard_normal((10, d))
    rho = 0.35
    th = sphere.cap_angle(rho)

    def objective(x, idx):
        return np.sum(u[idx] * x, axis=1), u[idx].copy()

    res = projected_ascent(objective, centres, rho, seed=8, restarts=3, steps=60)
    v0 = sphere.to_v(centres)
    up = u[:, :-1]
    nu = np.linalg.norm(up, axis=1)
    phi = np.arccos(np.clip(np.sum(up * v0, axis=1) / nu, -1, 1))
    exact = u[:, -1] / 2 + math.sqrt(3) / 2 * nu * np.cos(np.maximum(phi - th, 0.0))
    assert np.all(res.values <= exact + 1e-12)
    assert np.allclose(res.values, exact, atol=1e-7)


def test_points_stay_on_X_and_in_cap_and_seed_reproducible():
    rng = np.random.default_rng(9)
    centres = sphere.sample_uniform(rng, 7, 5)
    rho = 0.25
    obj = _bumps(sphere.sample_uniform(rng, 30, 5), rng.uniform(0.1, 1, 30), 0.3)
    r1 = projected_ascent(obj, centres, rho, seed=11)
    r2 = projected_ascent(obj, centres, rho, seed=11)
    r3 = projected_ascent(obj, centres, rho, seed=12)
    assert np.array_equal(r1.values, r2.values) and np.array_equal(r1.points, r2.points)
    assert not np.array_equal(r1.points, r3.points)
    assert np.allclose(np.linalg.norm(r1.points, axis=1), 1.0, atol=1e-14)
    assert np.allclose(r1.points[:, -1], 0.5, atol=1e-15)
    assert np.all(np.linalg.norm(r1.points - centres, axis=1) <= rho + 1e-12)


def test_zero_radius_returns_the_centre():
    rng = np.random.default_rng(10)
    centres = sphere.sample_uniform(rng, 3, 4)
    calls = []

    def objective(x, idx):
        calls.append(len(x))
        return x[:, 0], np.tile([1.0, 0, 0, 0], (len(x), 1))

    res = projected_ascent(objective, centres, 0.0, seed=0, restarts=2, steps=5)
    assert np.allclose(res.points, centres, atol=1e-15)
    assert np.allclose(res.values, centres[:, 0], atol=1e-15)


def test_tangent_direction_is_tangent_and_unit():
    rng = np.random.default_rng(12)
    x = sphere.sample_uniform(rng, 20, 7)
    g = rng.standard_normal((20, 7))
    t = tangent_direction(x, g)
    assert np.allclose(t[:, -1], 0.0)
    assert np.allclose(np.sum(t[:, :-1] * x[:, :-1], axis=1), 0.0, atol=1e-15)
    assert np.allclose(np.linalg.norm(t, axis=1), 1.0)
    # ascent: the direction has a positive component along the gradient
    assert np.all(np.sum(t * g, axis=1) > 0)


def test_bad_input_names_problem_and_fix():
    with pytest.raises(InputError, match="rho"):
        projected_ascent(lambda x, i: (x[:, 0], x), np.array([[0.0, 0.866, 0.5]]), -1.0, seed=0)
    with pytest.raises(InputError, match="centres"):
        projected_ascent(lambda x, i: (x[:, 0], x), np.array([1.0]), 0.1, seed=0)


# --------------------------------------------------------------------------------------
# the adversary for f_W and g_W
# --------------------------------------------------------------------------------------

from advcert.measured.attacks import AttackConfig, attack_network, loss_objective  # noqa: E402
from advcert.measured.network import TwoLayerNet, plain  # noqa: E402


def _random_net(rng, m, d):
    a = rng.choice([-1.0, 1.0], m) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / math.sqrt(m)
    b = rng.standard_normal(m) / math.sqrt(m)
    W = W0 + rng.standard_normal((m, d)) * 0.3 / math.sqrt(m)
    return a, W0, b, W


@pytest.mark.parametrize("n_rows", [3, 4000])  # rows and tiles layouts
def test_loss_kernels_match_numpy_reference(n_rows):
    rng = np.random.default_rng(20)
    m, d = 37, 6
    a, W0, b, W = _random_net(rng, m, d)
    X = sphere.sample_uniform(rng, n_rows, d)
    y = rng.uniform(-1, 1, 5)
    idx = rng.integers(0, 5, n_rows)
    f = np.maximum(X @ W.T + b, 0.0) @ a
    act0 = (X @ W0.T + b) >= 0
    g = (act0 * (X @ (W - W0).T)) @ a
    gradf = ((X @ W.T + b > 0) * a) @ W
    gradg = (act0 * a) @ (W - W0)
    for kind, yhat, grad in (("f", f, gradf), ("g", g, gradg)):
        for sign in (0, 1, -1):
            v, gr = loss_objective(TwoLayerNet(a, W0, b, W), y, kind=kind, sign=sign)(X, idx)
            e = yhat - y[idx]
            s = np.where(e >= 0, 1.0, -1.0) if sign == 0 else float(sign)
            assert np.allclose(v, s * e, atol=1e-14)
            assert np.allclose(gr, s[..., None] * grad if np.ndim(s) else s * grad, atol=1e-14)


def test_network_attack_matches_dense_sampling_d3():
    rng = np.random.default_rng(22)
    for trial in range(10):
        m = 12
        a = rng.choice([-1.0, 1.0], m)
        W = rng.standard_normal((m, 3))
        b = rng.standard_normal(m) * 0.5
        X = sphere.sample_uniform(rng, 3, 3)
        y = rng.uniform(-1, 1, 3)
        rho = 0.5
        res = attack_network(plain(a, W, b), X, y, rho, seed=trial, config=AttackConfig(restarts=8, steps=100))
        for i in range(3):
            grid = _arc(X[i], rho, 20001)
            dense = np.abs(np.maximum(grid @ W.T + b, 0) @ a - y[i]).max()
            lip = np.abs(a) @ np.linalg.norm(W, axis=1)
            h = 2 * sphere.cap_angle(rho) * math.sqrt(3) / 2 / 20000
            # never above the true sup (dense + Lipschitz slack), and finds it on this easy case
            assert res.values[i] <= dense + lip * h + 1e-12
            assert res.values[i] >= dense * (1 - 1e-4) - 1e-9


def test_random_search_beating_ascent_is_flagged_as_masking():
    # f is 0 (zero gradient) on most of the cap and positive on a region away from the
    # centre: ascent from the centre alone is stuck, random search is not
    rng = np.random.default_rng(23)
    d, rho = 4, 0.5
    x0 = sphere.sample_uniform(rng, 1, d)[0]
    u = sphere.sample_in_cap(rng, x0, rho, 1)[0]
    while np.linalg.norm(u - x0) < 0.8 * rho:
        u = sphere.sample_in_cap(rng, x0, rho, 1)[0]
    K = 50.0
    W = np.array([K * u])
    b = np.array([-K * (1 - 0.5 * (0.3 * rho) ** 2)])  # active within 0.3 rho of u
    a = np.array([1.0])
    res = attack_network(plain(a, W, b), x0[None], np.array([0.0]), rho, seed=1,
                         config=AttackConfig(restarts=0, steps=30, random_points=400))
    assert res.pgd_values[0] == 0.0
    assert res.random_values[0] > 0.0
    assert bool(res.masking[0])
    assert res.values[0] == res.random_values[0]
    # and with restarts in the cap, ascent finds the region: no flag
    res2 = attack_network(plain(a, W, b), x0[None], np.array([0.0]), rho, seed=1,
                          config=AttackConfig(restarts=64, steps=60, random_points=64))
    assert not bool(res2.masking[0])
    assert res2.values[0] >= res.random_values[0]


def test_random_search_is_seeded_and_in_cap():
    rng = np.random.default_rng(24)
    X = sphere.sample_uniform(rng, 4, 5)
    obj = lambda x, idx: (x[:, 0], np.zeros_like(x))
    r1 = random_search(obj, X, 0.2, seed=3, count=50)
    r2 = random_search(obj, X, 0.2, seed=3, count=50)
    assert np.array_equal(r1.points, r2.points)
    assert np.all(np.linalg.norm(r1.points - X, axis=1) <= 0.2 + 1e-12)


def test_attack_network_input_errors():
    rng = np.random.default_rng(25)
    a, W0, b, W = _random_net(rng, 5, 4)
    X = sphere.sample_uniform(rng, 2, 4)
    with pytest.raises(InputError, match="W0"):
        attack_network(plain(a, W, b), X, np.zeros(2), 0.1, seed=0, kind="g")
    with pytest.raises(InputError, match="kind"):
        attack_network(TwoLayerNet(a, W0, b, W), X, np.zeros(2), 0.1, seed=0, kind="h")
    with pytest.raises(InputError, match="labels"):
        attack_network(plain(a, W, b), X, np.zeros(3), 0.1, seed=0)
    with pytest.raises(InputError, match="d ="):
        attack_network(plain(a, W[:, :3], b), X, np.zeros(2), 0.1, seed=0)


# --------------------------------------------------------------------------------------
# advcert attack FILE
# --------------------------------------------------------------------------------------

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402

from advcert.cli import main  # noqa: E402


def _write_cert(tmp_path, checks=(), sha=None, network=True):
    rng = np.random.default_rng(30)
    m, d, n = 30, 5, 3
    a, W0, b, W = _random_net(rng, m, d)
    X = sphere.sample_uniform(rng, n, d)
    y = np.maximum(X @ W.T + b, 0) @ a + 0.01
    npz = tmp_path / "net.npz"
    np.savez(npz, a=a, W0=W0, b=b, W=W)
    doc = {
        "format": "advcert-certificate",
        "version": 1,
        "instance": {"n": n, "d": d, "rho": "1/20", "eps": "1/2", "gamma": "1/2", "seed": 3,
                     "points": X.tolist(), "labels": y.tolist()},
        "objects": {},
        "checks": list(checks),
    }
    if network:
        doc["objects"]["network"] = {"path": "net.npz", "sha256": sha or hashlib.sha256(npz.read_bytes()).hexdigest()}
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(doc))
    return path


def _run(argv):
    return main(["attack", *argv])


def test_attack_command_reruns_the_sandwich(tmp_path, capsys):
    path = _write_cert(tmp_path)
    assert _run([str(path), "--restarts", "2", "--steps", "20", "--time-budget", "2"]) == 0
    out = capsys.readouterr().out
    assert "L_A =" in out and "sound-bound" in out and "holds" in out
    assert _run([str(path), "--restarts", "2", "--steps", "20", "--json"]) == 0
    chk = json.loads(capsys.readouterr().out)
    assert chk["id"] == "theorem-5.3" and len(chk["details"]["per_point"]) == 3


def test_attack_command_rejects_a_certificate_whose_sound_bound_is_beaten(tmp_path, capsys):
    # planted: a stored 'sound' upper bound below what the attack finds must be rejected
    fake = {"id": "theorem-5.3", "label": "sound-bound", "verdict": "holds",
            "details": {"per_point": [{"upper": "0"}] * 3}}
    path = _write_cert(tmp_path, checks=[fake])
    assert _run([str(path), "--restarts", "2", "--steps", "20", "--time-budget", "1"]) == 1
    assert "exceeds the certificate's sound bound" in capsys.readouterr().err


def test_attack_command_input_errors(tmp_path, capsys):
    for i, (kw, what) in enumerate(((dict(sha="0" * 64), "sha256"), (dict(network=False), "no network witness"),
                                    (None, "does not exist"))):
        folder = tmp_path / str(i)
        folder.mkdir()
        path = _write_cert(folder, **kw) if kw is not None else folder / "missing.json"
        assert _run([str(path)]) == 2
        err = capsys.readouterr().err
        assert what in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("rho", [1e-8, 1e-6, 1e-3, 0.3])
def test_every_attack_point_lies_in_the_perturbation_set_exactly(rho):
    """Definition 3.2: an attack value is a value at a point of B_2(x_i, rho) ∩ X. At tiny rho the cap
    projection used to land up to 2x outside (a value above the true sup); the exact distance of every
    reported point, in rationals, must be <= rho (issue: trust, second round)."""
    from fractions import Fraction

    from advcert.measured.network import initialise
    from advcert.measured.robust_loss import SandwichConfig, bracket

    rng = np.random.default_rng(7)
    net = initialise(48, 4, 3)
    X = sphere.sample_uniform(rng, 4, 4)
    y = np.array([0.3, -0.2, 0.1, 0.5])
    br = bracket(net, X, y, Fraction(rho), seed=0,
                 config=SandwichConfig(restarts=2, steps=15, random_points=32, time_budget=0.5))
    r2 = Fraction(rho) ** 2
    for pts in (br.witness, br.attack.points):
        for i in range(4):
            d2 = sum((Fraction(float(a)) - Fraction(float(b))) ** 2 for a, b in zip(pts[i], X[i]))
            assert d2 <= r2, (i, float(d2) ** 0.5 / rho)
