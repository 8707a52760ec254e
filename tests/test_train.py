"""Tests of Algorithm 1 (advcert.measured.algorithm1) and the Theorem 5.2 / 4.1 checks (advcert.checks.training).

References: exact rational arithmetic for f_W and the gradient on small nets, central
finite differences for the smooth loss, the plain-numpy step (reference.algorithm1_step, which
forms the n x m pre-activations) for the fused step, sound CROWN bounds for the
adversary, and a regression instance whose claim is recomputed on every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from advcert.checks import training as RT
from advcert.cli import main
from advcert import certificate, sphere
from advcert.kernels import forward as fwd
from advcert.kernels import threads
from advcert.measured import algorithm1 as A1
from advcert.measured import loss as L
from advcert.measured import reference as ref
from advcert.measured.crown import crown_bounds
from advcert.measured.network import TwoLayerNet, initialise, plain
from advcert.errors import InputError
from advcert.data.instance import synthetic


def _net(m: int, d: int, seed: int, move: float = 0.0):
    rng = np.random.default_rng(seed)
    a = rng.choice([-1.0, 1.0], m) * m ** (-1 / 3)
    W0 = rng.standard_normal((m, d)) / math.sqrt(m)
    b = rng.standard_normal(m) / math.sqrt(m)
    W = W0 + move * rng.standard_normal((m, d)) * m ** (-2 / 3)
    return a, W0, b, W


def _data(n: int, d: int, seed: int):
    rng = np.random.default_rng(seed + 1000)
    return sphere.sample_uniform(rng, n, d), np.round(rng.uniform(-1, 1, n) * 1024) / 1024


@pytest.fixture
def parallel(monkeypatch):
    """Force the multi-threaded kernels even for tiny problems."""
    monkeypatch.setattr(threads, "PARALLEL_WORK", 0)


# ---------------------------------------------------------------------------------------
# Definition 3.1's losses
# ---------------------------------------------------------------------------------------


def test_losses_against_high_precision():
    e = np.array([-1.3, -0.2, -1e-9, 0.0, 3e-12, 0.05, 0.7])
    y = np.full(e.size, 0.25)
    tau = 0.01
    mpmath.mp.dps = 50
    for yh, val, slope in zip(y + e, L.loss_value(y + e, y, "smooth", tau), L.loss_slope(y + e, y, "smooth", tau)):
        ex = mpmath.mpf(yh) - mpmath.mpf(0.25)
        ref = mpmath.sqrt(ex**2 + mpmath.mpf(tau) ** 2) - mpmath.mpf(tau)
        dref = ex / mpmath.sqrt(ex**2 + mpmath.mpf(tau) ** 2)
        assert abs(val - float(ref)) <= 1e-15 * max(1.0, abs(float(ref))) + 1e-300
        assert abs(slope - float(dref)) <= 1e-15
    assert np.array_equal(L.loss_value(y + e, y, "abs"), np.abs(e + y - y))
    assert np.array_equal(L.loss_slope(y + e, y, "abs"), np.where(e >= 0, 1.0, -1.0))


def test_losses_are_in_the_class():
    # convex, non-negative, 1-Lipschitz, zero at yhat = y (Definition 3.1)
    rng = np.random.default_rng(3)
    y = rng.uniform(-1, 1, 400)
    u, v = rng.uniform(-3, 3, (2, 400))
    for loss in ("abs", "smooth"):
        lu, lv = L.loss_value(u, y, loss), L.loss_value(v, y, loss)
        assert np.all(lu >= 0) and np.all(L.loss_value(y, y, loss) == 0)
        assert np.all(np.abs(lu - lv) <= np.abs(u - v) * (1 + 1e-12))
        mid = L.loss_value((u + v) / 2, y, loss)
        assert np.all(mid <= (lu + lv) / 2 + 1e-12)


# ---------------------------------------------------------------------------------------
# kernels against exact arithmetic
# ---------------------------------------------------------------------------------------


def _exact_forward(a, W, b, X):
    F = [Fraction(v) for v in a]
    B = [Fraction(v) for v in b]
    Wq = [[Fraction(v) for v in row] for row in W]
    out, grads = [], []
    for x in X:
        xq = [Fraction(v) for v in x]
        f = Fraction(0)
        g = [Fraction(0)] * len(xq)
        for ar, br, wr in zip(F, B, Wq):
            z = sum((w * xv for w, xv in zip(wr, xq)), br)
            if z > 0:
                f += ar * z
                g = [gi + ar * w for gi, w in zip(g, wr)]
        out.append(f)
        grads.append(g)
    return out, grads


@pytest.mark.parametrize("force_parallel", [False, True])
def test_forward_equals_exact(force_parallel, monkeypatch):
    if force_parallel:
        monkeypatch.setattr(threads, "PARALLEL_WORK", 0)
    a, W0, b, W = _net(45, 4, 0, move=2.0)
    X, _ = _data(6, 4, 0)
    # tile 8: several tiles per thread and a ragged last tile (45 = 5*8 + 5)
    r = fwd.forward(a, W, b, X, grad=True, tile=8, layout="tiles")
    f, g = r.f, r.f_grad
    fe, ge = _exact_forward(a, W, b, X)
    assert np.max(np.abs(f - np.array([float(v) for v in fe]))) < 1e-15
    assert np.max(np.abs(g - np.array([[float(v) for v in r] for r in ge]))) < 1e-15
    r2 = fwd.forward(a, W, b, X, grad=False, tile=8, layout="tiles")
    f2, none = r2.f, r2.f_grad
    assert none is None and np.max(np.abs(f2 - f)) < 1e-15


@pytest.mark.parametrize("force_parallel", [False, True])
def test_gradient_equals_exact(force_parallel, monkeypatch):
    # ∂L/∂W_r = (1/n) Σ_i ℓ'_i a_r 1{z_ri > 0} x_i (relu'(0) := 0), exactly, for the abs loss
    if force_parallel:
        monkeypatch.setattr(threads, "PARALLEL_WORK", 0)
    a, W0, b, W = _net(21, 3, 1, move=1.0)
    X, y = _data(5, 3, 1)
    Lv, G = A1.loss_and_grad(plain(a, W, b), X, y)
    fe, _ = _exact_forward(a, W, b, X)
    n = len(y)
    Ge = np.zeros_like(W)
    for i, x in enumerate(X):
        s = Fraction(1 if fe[i] - Fraction(y[i]) >= 0 else -1, n)
        for r in range(W.shape[0]):
            z = sum((Fraction(w) * Fraction(v) for w, v in zip(W[r], x)), Fraction(b[r]))
            if z > 0:
                for k in range(3):
                    Ge[r, k] += float(s * Fraction(a[r]) * Fraction(x[k]))
    assert np.max(np.abs(G - Ge)) < 1e-16
    Le = sum(abs(v - Fraction(t)) for v, t in zip(fe, y)) / n
    assert abs(Lv - float(Le)) < 1e-15


def test_gradient_against_finite_differences():
    # the smooth loss is C^1 away from ReLU kinks: central differences along random directions
    a, W0, b, W = _net(300, 6, 2, move=3.0)
    X, y = _data(8, 6, 2)
    Lv, G = A1.loss_and_grad(plain(a, W, b), X, y, loss="smooth", tau=0.05)
    rng = np.random.default_rng(5)
    h = 1e-7
    for _ in range(5):
        V = rng.standard_normal(W.shape)
        Zp, Zm, Z = X @ (W + h * V).T + b, X @ (W - h * V).T + b, X @ W.T + b
        assert np.array_equal(Zp > 0, Z > 0) and np.array_equal(Zm > 0, Z > 0), "a kink inside the stencil"

        def Ls(Wx):
            f = ref.f_value(plain(a, Wx, b), X)
            return float(np.mean(L.loss_value(f, y, "smooth", 0.05)))

        fd = (Ls(W + h * V) - Ls(W - h * V)) / (2 * h)
        assert abs(fd - float(np.sum(G * V))) <= 1e-6 * max(1.0, abs(fd))
    assert abs(Lv - Ls(W)) < 1e-15


def test_pseudo_network_gap_against_reference(parallel):
    a, W0, b, W = _net(70, 5, 3, move=4.0)
    X, _ = _data(9, 5, 3)
    f, g = A1.pseudo_gap(TwoLayerNet(a, W0, b, W), X)
    U = X @ W0.T + b
    g_ref = ((X @ (W - W0).T) * (U >= 0)) @ a
    f_ref = ref.f_value(plain(a, W, b), X)
    assert np.max(np.abs(f - f_ref)) < 1e-15 and np.max(np.abs(g - g_ref)) < 1e-15
    # at W = W0 the pseudo-network vanishes exactly and f is f_W0 (Section 5)
    f0, g0 = A1.pseudo_gap(TwoLayerNet(a, W0, b, W0), X)
    assert np.all(g0 == 0.0) and np.max(np.abs(f0 - ref.f_value(plain(a, W0, b), X))) < 1e-15


# ---------------------------------------------------------------------------------------
# one step of Algorithm 1: fused against plain numpy
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("force_parallel,restarts,loss", [(False, 0, "abs"), (True, 2, "smooth"), (False, 3, "abs")])
def test_fused_step_equals_numpy_step(force_parallel, restarts, loss, monkeypatch):
    if force_parallel:
        monkeypatch.setattr(threads, "PARALLEL_WORK", 0)
    a, W0, b, W = _net(600, 7, 4, move=2.0)
    X, y = _data(12, 7, 4)
    adv = L.Adversary(rho=0.1, steps=6, restarts=restarts)
    eta = 0.05 * 600 ** (-1 / 3)
    seed = np.random.SeedSequence(11)
    net = TwoLayerNet(a, W0, b, W)
    att = A1.adversary_points(net, X, y, adv, loss=loss, seed=seed)
    Wn, drift = A1.sgd_step(net, att.points, att.f, y, eta, loss=loss)
    Wr, att_r, drift_r = ref.algorithm1_step(net, X, y, eta, adv, loss=loss, seed=np.random.SeedSequence(11))
    assert np.max(np.abs(att.points - att_r.points)) < 1e-13
    assert np.max(np.abs(att.f - att_r.f)) < 1e-13
    assert np.max(np.abs(att.clean_f - att_r.clean_f)) < 1e-15
    assert np.max(np.abs(Wn - Wr)) < 1e-16 * 100
    assert abs(drift - drift_r) < 1e-15
    # the inputs are not modified (pure functions over explicit state)
    assert np.array_equal(W, _net(600, 7, 4, move=2.0)[3])


def test_adversary_is_rho_bounded_and_below_sound_bound():
    a, W0, b, W = _net(400, 6, 5, move=3.0)
    X, y = _data(10, 6, 5)
    rho = 0.15
    att = A1.adversary_points(plain(a, W, b), X, y, L.Adversary(rho=rho, steps=10, restarts=2),
                                 seed=np.random.SeedSequence(1))
    assert np.max(np.abs(np.linalg.norm(att.points, axis=1) - 1)) < 1e-15
    assert np.all(att.points[:, -1] == 0.5)
    assert np.all(np.linalg.norm(att.points - X, axis=1) <= rho * (1 + 1e-12))
    # it keeps its best point, and it starts at the data point
    clean = L.loss_value(att.clean_f, y)
    assert np.all(att.loss >= clean)
    again = L.loss_value(ref.f_value(plain(a, W, b), att.points), y)
    assert np.max(np.abs(att.loss - again)) < 1e-15
    # a ρ-bounded adversary can never beat a sound upper bound of the worst case
    ub = crown_bounds(plain(a, W, b), X, y, rho)
    assert np.all(att.loss <= ub)
    assert np.any(att.loss > clean + 1e-3)  # and it does attack


def test_apgd_adversary_option():
    a, W0, b, W = _net(200, 5, 6, move=2.0)
    X, y = _data(5, 5, 6)
    att = A1.adversary_points(plain(a, W, b), X, y, L.Adversary(rho=0.1, steps=15, restarts=1, kind="apgd"),
                                 seed=np.random.SeedSequence(2))
    assert np.all(np.linalg.norm(att.points - X, axis=1) <= 0.1 * (1 + 1e-12))
    assert np.all(att.loss >= L.loss_value(att.clean_f, y))
    with pytest.raises(InputError, match="abs"):
        A1.adversary_points(plain(a, W, b), X, y, L.Adversary(rho=0.1, kind="apgd"), loss="smooth")


# ---------------------------------------------------------------------------------------
# the schedule and the loop
# ---------------------------------------------------------------------------------------


def test_schedule_is_exact_and_capped():
    s = A1.schedule(Fraction(1, 10), 4096, 2)
    assert s.T == 400 and s.T_theorem == 400.0 and s.R_train == 40.0
    assert abs(s.eta - 0.1 / 16) < 1e-17
    assert A1.schedule(Fraction(1, 10), 4096, 2, c_T=Fraction(1, 2)).T == 200
    capped = A1.schedule(Fraction(1, 10), 4096, 3, max_steps=50)
    assert capped.T == 50 and capped.T_theorem == 900.0 and capped.capped
    assert A1.schedule(Fraction(1, 3), 8, 1).T == 9
    with pytest.raises(InputError, match="R >= 1"):
        A1.schedule(0.1, 100, Fraction(1, 2))
    with pytest.raises(InputError, match="eps"):
        A1.schedule(1, 100)


def _small_run(max_steps=40, **kw):
    inst = synthetic(6, 5, Fraction(1, 20), Fraction(1, 2), Fraction(1, 5), 3)
    net = initialise(256, 5, 3)
    cfg = A1.Algorithm1Config(eps=Fraction(1, 5), R=2, max_steps=max_steps, checkpoints=4, gap_points=32, **kw)
    return inst, net, cfg


def test_same_seed_same_result():
    inst, net, cfg = _small_run(max_steps=15, attack_restarts=2, crown=False)
    r1 = A1.train(net, inst.points, inst.labels, 0.05, cfg, seed=7)
    r2 = A1.train(net, inst.points, inst.labels, 0.05, cfg, seed=7)
    assert np.array_equal(r1.L_A, r2.L_A) and np.array_equal(r1.W_best, r2.W_best) and np.array_equal(r1.gap, r2.gap)
    r3 = A1.train(net, inst.points, inst.labels, 0.05, cfg, seed=8)
    assert not np.array_equal(r1.L_A, r3.L_A)  # the restarts draw from the seed


def test_drift_obeys_the_step_size_bound():
    # each row moves by <= eta |a_r| max ||x|| = c_eta eps m^{-2/3} per step (math-spec §7)
    inst, net, cfg = _small_run(max_steps=30, crown=False)
    r = A1.train(net, inst.points, inst.labels, 0.05, cfg, seed=1)
    t = np.arange(r.drift.size)
    assert np.all(r.drift <= t * float(cfg.eps) * (1 + 1e-9))
    assert r.drift[-1] > 0
    # the curves line up with t = 0..steps_done and the average is Theorem 5.2's left side
    assert r.L_A.size == r.clean.size == r.drift.size == r.steps_done + 1 == 31
    assert abs(r.average[9] - np.mean(r.L_A[:10])) < 1e-15


def test_ctrl_c_keeps_the_best_iterate():
    inst, net, cfg = _small_run(max_steps=60, crown=False)
    stop_at = 25

    def interrupt(st):
        if st.t == stop_at:
            raise KeyboardInterrupt

    r = A1.train(net, inst.points, inst.labels, 0.05, cfg, seed=2, callback=interrupt)
    assert r.interrupted and r.steps_done == stop_at
    assert r.t_best == 1 + int(np.argmin(r.L_A[1:])) and r.min_L_A == r.L_A[r.t_best]
    # W_best is the iterate W(t_best): replaying the same run for t_best steps ends there
    replay = A1.train(net, inst.points, inst.labels, 0.05,
                         dataclasses.replace(cfg, max_steps=r.t_best), seed=2)
    assert not replay.interrupted and np.array_equal(replay.W_last, r.W_best)
    att = A1.adversary_points(TwoLayerNet(net.a, net.W0, net.b, r.W_best), inst.points, inst.labels, L.Adversary(rho=0.05))
    assert float(np.mean(att.loss)) == r.min_L_A


# ---------------------------------------------------------------------------------------
# the checks: planted violations must be reported as such
# ---------------------------------------------------------------------------------------


def test_untrained_network_violates_theorem_4_1():
    inst, net, cfg = _small_run(max_steps=0, crown=False)
    r = A1.train(net, inst.points, inst.labels, Fraction(1, 20), cfg, seed=0)
    assert r.steps_done == 0 and r.t_best == 0
    c = RT.theorem_4_1_check(r, net, inst.points, inst.labels, Fraction(1, 20), Fraction(1, 50), seed=0,
                                effort=RT.Effort(1.0, 1, 10))
    assert c["label"] == "estimate" and c["verdict"] == "violated" and c["value"] > 1 / 50


def test_inflated_average_violates_theorem_5_2():
    inst, net, cfg = _small_run(max_steps=5, crown=False)
    r = A1.train(net, inst.points, inst.labels, Fraction(1, 20), cfg, seed=0)
    # plant: an average above L_A*(f_W0) + eps for sure (the loss of any point is <= |f| + 1)
    bad = dataclasses.replace(r, L_A=np.full_like(r.L_A, 5.0))
    c = RT.theorem_5_2_check(bad, net, inst.points, inst.labels, Fraction(1, 20), Fraction(1, 5), seed=0,
                                effort=RT.Effort(1.0, 1, 10))
    assert c["label"] == "estimate" and c["verdict"] == "violated" and c["value"] > c["bound"]
    good = RT.theorem_5_2_check(r, net, inst.points, inst.labels, Fraction(1, 20), Fraction(1, 5), seed=0,
                                   effort=RT.Effort(1.0, 1, 10))
    assert good["verdict"] == "observed" and good["value"] <= good["bound"]
    names = [row["name"] for row in good["details"]["comparators"]]
    assert names[0] == "W0" and all(row["within_R"] for row in good["details"]["comparators"])


# ---------------------------------------------------------------------------------------
# the regression instance (Theorem 4.1 at a feasible width), recomputed on every run
# ---------------------------------------------------------------------------------------

#: the math-spec §11 worked example (γ = 0.5, ε = 0.1, n = 10, ρ = 0.05) in d = 8, seed 0, at
#: width m = 4096 and R = 2, so T = R²/ε² = 400 steps and η = ε m^{-1/3} (c_T = c_η = 1)
REGRESSION = dict(n=10, d=8, rho=Fraction(1, 20), gamma=Fraction(1, 2), eps=Fraction(1, 10), seed=0, m=4096, R=2)


@pytest.mark.slow
def test_regression_instance_reaches_eps():
    p = REGRESSION
    inst = synthetic(p["n"], p["d"], p["rho"], p["gamma"], p["eps"], p["seed"])
    net = initialise(p["m"], p["d"], p["seed"])
    cfg = A1.Algorithm1Config(eps=p["eps"], R=p["R"], checkpoints=2, gap_points=64, crown=False)
    r = A1.train(net, inst.points, inst.labels, p["rho"], cfg, seed=p["seed"])
    assert r.schedule.T == 400 and not r.schedule.capped and r.steps_done == 400
    # Theorem 4.1's claim at this width, against the training adversary
    assert r.min_L_A <= float(p["eps"]), r.min_L_A
    # the initial robust loss is far above eps: the claim is not met by doing nothing
    assert r.L_A[0] > 3 * float(p["eps"])
    assert r.drift[-1] <= r.schedule.R_train
    # and the sound route: L_A*(f_W(t*)) <= upper <= eps, rounding accounted for
    c = RT.theorem_4_1_check(r, net, inst.points, inst.labels, p["rho"], p["eps"], seed=p["seed"],
                                effort=RT.Effort(4.0, 2, 40))
    assert c["label"] == "sound-bound" and c["verdict"] == "holds", c["details"]["reason"]
    assert Fraction(c["value"]) <= p["eps"]
    assert c["details"]["robust_loss_attack_best"] <= float(Fraction(c["value"]))


# ---------------------------------------------------------------------------------------
# the witness and the command
# ---------------------------------------------------------------------------------------


def _save(path, a, W0, b, W) -> str:
    data = certificate.network_witness(a, W0, b, W)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _load(path, sha):
    doc = {"objects": {"network": {"path": path.name, "sha256": sha}}}
    return certificate.read_network_witness(doc, path.parent / "c.json")


def test_witness_is_deterministic_and_checked(tmp_path):
    a, W0, b, W = _net(50, 4, 8, move=1.0)
    h1 = _save(tmp_path / "w1.npz", a, W0, b, W)
    h2 = _save(tmp_path / "w2.npz", a, W0, b, W)
    assert h1 == h2 == hashlib.sha256((tmp_path / "w1.npz").read_bytes()).hexdigest()
    z = _load(tmp_path / "w1.npz", h1)
    assert np.array_equal(z["W"], W) and np.array_equal(z["a"], a)
    with np.load(tmp_path / "w1.npz") as plain:  # an ordinary .npz for numpy users
        assert np.array_equal(plain["W0"], W0)
    W2 = W.copy()
    W2[3, 1] = np.nextafter(W2[3, 1], 1.0)
    assert _save(tmp_path / "w3.npz", a, W0, b, W2) != h1
    with pytest.raises(InputError, match="sha256"):
        _load(tmp_path / "w3.npz", h1)


@pytest.mark.slow
def test_command_writes_certificate_witness_and_curves(tmp_path, capsys):
    out = tmp_path / "t.json"
    rc = main(["train", "--gamma", "1", "--eps", "0.2", "--m", "512", "--n", "4", "--d", "5", "--R", "2",
               "--max-steps", "60", "--checkpoints", "3", "--bound-seconds", "2", "--quiet", "--out", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["sha256"] == hashlib.sha256(certificate.canonical_bytes(doc)).hexdigest()
    ids = [c["id"] for c in doc["checks"]]
    assert ids[-2:] == ["theorem-5.2", "theorem-4.1"] and "lemma-6.2" in ids
    net = doc["objects"]["network"]
    assert net["sha256"] == hashlib.sha256((tmp_path / net["path"]).read_bytes()).hexdigest()
    c41 = doc["checks"][-1]
    assert c41["details"]["witness"]["sha256"] == net["sha256"]
    z = _load(tmp_path / net["path"], net["sha256"])
    assert z["W"].shape == (512, 5)
    # the curves in the certificate are what the run measured, in the documented layout
    cv = doc["checks"][-2]["details"]["curves"]
    sch = doc["checks"][-2]["details"]["schedule"]
    assert sch["T_budget"] == 60 and sch["T_theorem"] == 100.0 and sch["capped"]
    assert len(cv["L_A"]) == len(cv["drift"]) == 61 and cv["L_A"][c41["details"]["t_best"]] == c41["details"]["min_L_A"]
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # rigorous labels only where a rigorous verdict is given
    for c in doc["checks"]:
        assert (c["label"] == "estimate") == (c["verdict"] not in ("holds", "fails"))
    assert "theorem-4.1" in capsys.readouterr().out


def test_command_rejects_bad_input(tmp_path, capsys):
    for bad, what in ((["--eps", "1.5"], "--eps"), (["--R", "0.5"], "--R"), (["--c-eta", "0"], "--c-eta"),
                      (["--out", str(tmp_path / "no" / "x.json")], "does not exist")):
        base = ["train", "--gamma", "1", "--eps", "0.2", "--m", "64", "--quiet"]
        assert main(base + bad) == 2
        err = capsys.readouterr().err
        assert what in err and len(err.strip().splitlines()) == 1
