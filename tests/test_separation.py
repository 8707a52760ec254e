"""Definition 3.4 (γ-separability): the certified δ, δ_i, γ_max and drop set against exact
brute force, planted near-ties, and the separation study of digits (the Figure 1 analogue)."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advcert import seeds, sphere
from advcert.cli import main
from advcert.data import load, sample_indices, study
from advcert.data import neighbours as S
from advcert.errors import InputError


# --------------------------------------------------------------------------- references


def brute_sq(x: np.ndarray) -> dict[tuple[int, int], Fraction]:
    """Every ‖x_i − x_j‖², i < j, in Fractions (independent of the integer path)."""
    rows = [[Fraction(v) for v in r] for r in x.tolist()]
    return {
        (i, j): sum(((a - b) ** 2 for a, b in zip(rows[i], rows[j])), Fraction(0))
        for i, j in itertools.combinations(range(len(rows)), 2)
    }


def brute_min(x: np.ndarray) -> tuple[Fraction, tuple[int, int]]:
    sq = brute_sq(x)
    best = min(sq.values())
    return best, min(p for p, v in sq.items() if v == best)


def brute_nn(x: np.ndarray) -> tuple[list[Fraction], list[int]]:
    sq = brute_sq(x)
    n = x.shape[0]
    dist, nbr = [], []
    for i in range(n):
        cands = [(sq[(min(i, j), max(i, j))], j) for j in range(n) if j != i]
        v, j = min(cands)
        dist.append(v)
        nbr.append(j)
    return dist, nbr


def brute_cover_size(n: int, edges) -> int:
    edges = [tuple(e) for e in edges]
    for k in range(n + 1):
        for sub in itertools.combinations(range(n), k):
            s = set(sub)
            if all(a in s or b in s for a, b in edges):
                return k
    raise AssertionError


def near_tie_set(rng: np.random.Generator, offset: float) -> np.ndarray:
    """Two pairs whose squared distances differ by ~1 ulp, far from the origin.

    Float Gram ranking errs by ~u·‖x‖², which here swamps the gap, so only an exact
    re-check can order them.
    """
    d = 5
    base = offset + rng.standard_normal((6, d))
    v = rng.standard_normal(d) * 1e-3
    w = v[::-1].copy()  # same norm up to rounding of the sum
    k = rng.integers(d)
    w[k] = np.nextafter(w[k], np.inf if rng.random() < 0.5 else -np.inf)
    a = base[0]
    b = base[0] + v
    c = base[3]
    e = base[3] + w
    return np.stack([a, base[1], c, b, base[4], e, base[2]])


# --------------------------------------------------------------------------- exactness


def test_exact_sq_dist_reference():
    x = np.array([[0.1, 0.2], [0.3, -0.5]])
    assert S.exact_sq_dist(x, 0, 1) == (Fraction(0.1) - Fraction(0.3)) ** 2 + (
        Fraction(0.2) - Fraction(-0.5)
    ) ** 2


@pytest.mark.parametrize("seed", range(8))
def test_min_distance_equals_brute_force_on_X(seed):
    rng = np.random.default_rng(seed)
    x = sphere.sample_uniform(rng, 40, 6)
    assert brute_min(x) == (lambda r: (r.delta_sq, r.pair))(S.certified_min_distance(x))


@pytest.mark.parametrize("seed", range(30))
def test_planted_near_ties_are_decided_exactly(seed):
    x = near_tie_set(np.random.default_rng(seed), offset=1e3)
    r = S.certified_min_distance(x)
    assert (r.delta_sq, r.pair) == brute_min(x)
    dist, nbr = brute_nn(x)
    nn = S.certified_nearest_neighbours(x)
    assert list(nn.delta_sq) == dist and list(nn.neighbour) == nbr


def test_near_ties_would_fool_float_ranking():
    # the planted sets are hard: float distances pick the wrong pair in some of them
    wrong = 0
    for seed in range(30):
        x = near_tie_set(np.random.default_rng(seed), offset=1e3)
        g = x @ x.T
        nrm = np.diag(g)
        dh = nrm[:, None] + nrm[None, :] - 2 * g
        iu = np.triu_indices(len(x), 1)
        k = int(np.argmin(dh[iu]))
        wrong += (int(iu[0][k]), int(iu[1][k])) != brute_min(x)[1]
    assert wrong >= 3


def test_removing_the_error_bound_is_caught(monkeypatch):
    # a planted bug (no rounding allowance) must produce wrong answers on the near-tie sets
    real = S._Locator.of

    def no_error(x):
        loc = real(x)
        return S._Locator(loc.xs, loc.nh, np.zeros_like(loc.err), loc.e)

    monkeypatch.setattr(S._Locator, "of", staticmethod(no_error))
    bad = 0
    for seed in range(30):
        x = near_tie_set(np.random.default_rng(seed), offset=1e3)
        r = S.certified_min_distance(x)
        bad += (r.delta_sq, r.pair) != brute_min(x)
    assert bad >= 3


def test_exact_ties_pick_the_smallest_pair():
    v = np.array([0.5, 0.25, -0.125])
    x = np.array([[3.0, 1.0, 2.0], [0.0, 0.0, 0.0], [9.0, 9.0, 9.0]])
    x = np.vstack([x, x[2] + v, x[0] + v[::-1], x[1] + v[[1, 0, 2]]])
    r = S.certified_min_distance(x)
    assert r.delta_sq == Fraction(21, 64)
    assert r.pair == (0, 4)
    assert r.pair == brute_min(x)[1]


def test_duplicates_give_zero():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])
    assert S.certified_min_distance(x) == S.NearestPair(Fraction(0), (0, 2))
    nn = S.certified_nearest_neighbours(x)
    assert nn.delta_sq[0] == 0 and nn.neighbour[0] == 2 and nn.neighbour[2] == 0


@given(
    st.integers(2, 7).flatmap(
        lambda n: st.integers(1, 4).flatmap(
            lambda d: st.lists(
                st.lists(
                    st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e-300, 3e-310, -2e-308, 1e300,
                                     -7e299, 0.1, 0.30000000000000004, 2.0**-1074]),
                    min_size=d, max_size=d,
                ),
                min_size=n, max_size=n,
            )
        )
    )
)
@settings(max_examples=150, deadline=None)
def test_property_extreme_magnitudes(rows):
    x = np.array(rows, dtype=np.float64)
    r = S.certified_min_distance(x)
    assert (r.delta_sq, r.pair) == brute_min(x)
    dist, nbr = brute_nn(x)
    nn = S.certified_nearest_neighbours(x)
    assert list(nn.delta_sq) == dist and list(nn.neighbour) == nbr


def test_blocks_do_not_change_the_answer(monkeypatch):
    rng = np.random.default_rng(5)
    x = near_tie_set(rng, 10.0)
    x = np.vstack([x, sphere.sample_uniform(rng, 60, 5) * 10])
    full = S.certified_nearest_neighbours(x)
    monkeypatch.setattr(S, "_BLOCK_ENTRIES", 7 * len(x))  # blocks of 7 rows
    small = S.certified_nearest_neighbours(x)
    assert full.delta_sq == small.delta_sq and full.neighbour == small.neighbour
    assert S.certified_min_distance(x) == full.nearest_pair() == S.NearestPair(*brute_min(x))


def test_per_point_on_X_equals_brute_force():
    x = sphere.sample_uniform(np.random.default_rng(3), 50, 4)
    dist, nbr = brute_nn(x)
    nn = S.certified_nearest_neighbours(x)
    assert list(nn.delta_sq) == dist and list(nn.neighbour) == nbr


@pytest.mark.parametrize(
    "bad, word",
    [
        (np.zeros((1, 3)), "at least two"),
        (np.zeros(4), "2-D"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), "point 0"),
        (np.array([["a"], ["b"]]), "numeric"),
    ],
)
def test_bad_points(bad, word):
    with pytest.raises(InputError, match=word):
        S.certified_min_distance(bad)


# --------------------------------------------------------------------------- γ, ρ


def test_published_delta_for_gamma_half():
    # math-spec §11: δ(δ − 0.1) = 0.5 gives δ = (0.1 + √2.01)/2 = 0.758872
    dn = S.delta_needed(Fraction(1, 20), Fraction(1, 2))
    assert float(dn.hi) - float(dn.lo) < 1e-20
    assert abs(float(dn.lo) - 0.758872) < 5e-7


@pytest.mark.parametrize("seed", range(5))
def test_gamma_max_enclosure_is_tight_and_correct(seed):
    rng = np.random.default_rng(seed)
    D = Fraction(int(rng.integers(1, 10**6)), int(rng.integers(1, 10**6)))
    rho = Fraction(int(rng.integers(0, 1000)), 10**4)
    g = S.gamma_max(D, rho)
    assert g.lo <= g.hi and g.hi - g.lo < Fraction(1, 2**90)
    mpmath.mp.prec = 300
    true = mpmath.sqrt(mpmath.mpf(D.numerator) / D.denominator)
    true = true * (true - 2 * mpmath.mpf(rho.numerator) / rho.denominator)
    lo = mpmath.mpf(g.lo.numerator) / g.lo.denominator
    hi = mpmath.mpf(g.hi.numerator) / g.hi.denominator
    assert lo <= true <= hi
    if g.lo > 0:
        assert S.pair_supports(D, rho, g.lo)
    assert not S.pair_supports(D, rho, g.hi + Fraction(1, 2**80))


def test_pair_supports_boundary_is_inclusive():
    # d = 1/2, ρ = 1/16: d(d − 2ρ) = 3/16 exactly
    D, rho = Fraction(1, 4), Fraction(1, 16)
    assert S.pair_supports(D, rho, Fraction(3, 16))
    assert not S.pair_supports(D, rho, Fraction(3, 16) + Fraction(1, 10**30))
    assert not S.pair_supports(Fraction(1, 100), Fraction(1, 10), Fraction(1, 10**9))  # d < 2ρ


@given(st.fractions(0, 4), st.fractions(0, 1), st.fractions(0, 2).filter(lambda g: g > 0))
@settings(max_examples=200, deadline=None)
def test_pair_supports_matches_high_precision(D, rho, gamma):
    mpmath.mp.prec = 400
    d = mpmath.sqrt(mpmath.mpf(D.numerator) / D.denominator)
    val = d * (d - 2 * mpmath.mpf(rho.numerator) / rho.denominator) - mpmath.mpf(gamma.numerator) / gamma.denominator
    if abs(val) > mpmath.mpf(2) ** -300:
        assert S.pair_supports(D, rho, gamma) == (val >= 0)


# --------------------------------------------------------------------------- drop set


@pytest.mark.parametrize("seed", range(25))
def test_vertex_cover_is_minimum_on_small_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    p = rng.uniform(0.1, 0.7)
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    vc = S.min_vertex_cover(n, np.array(edges, dtype=np.int64).reshape(-1, 2))
    s = set(vc.cover)
    assert all(a in s or b in s for a, b in edges)
    opt = brute_cover_size(n, edges)
    assert vc.exact and len(vc.cover) == opt == vc.lower_bound


@pytest.mark.parametrize("seed", range(10))
def test_greedy_cover_is_labelled_and_bounded(seed):
    rng = np.random.default_rng(100 + seed)
    n = 13
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.45]
    arr = np.array(edges, dtype=np.int64).reshape(-1, 2)
    vc = S.min_vertex_cover(n, arr, max_component=0)  # no branch and bound allowed
    opt = brute_cover_size(n, edges)
    s = set(vc.cover)
    assert all(a in s or b in s for a, b in edges)
    assert vc.lower_bound <= opt <= len(vc.cover)
    if len(vc.cover) != vc.lower_bound:
        assert not vc.exact


def test_odd_cycle_needs_the_search():
    # C5: LP bound 2.5 → 3; the greedy may already hit it, the answer must be 3 and exact
    edges = np.array([(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)])
    vc = S.min_vertex_cover(5, edges)
    assert vc.exact and len(vc.cover) == 3


def brute_close(x, rho, gamma):
    return sorted(p for p, v in brute_sq(x).items() if not S.pair_supports(v, rho, gamma))


@pytest.mark.parametrize("seed", range(6))
def test_close_pairs_and_drop_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    x = sphere.sample_uniform(rng, 14, 4)
    rho, gamma = Fraction(1, 20), Fraction(int(rng.integers(20, 60)), 100)
    pairs = S.close_pairs(x, rho, gamma)
    ref = brute_close(x, rho, gamma)
    assert [tuple(p) for p in pairs.tolist()] == ref
    dr = S.drop_close(x, rho, gamma)
    assert dr.exact and len(dr.dropped_indices) == brute_cover_size(14, ref)
    assert sorted(dr.keep_indices + dr.dropped_indices) == list(range(14))
    kept = x[list(dr.keep_indices)]
    if len(kept) >= 2:
        assert S.pair_supports(brute_min(kept)[0], rho, gamma)


def test_close_pairs_boundary_decided_exactly():
    # pair 0–1 at distance exactly 1/2; with ρ = 1/16, γ = 3/16 is exactly supported
    x = np.array([[0.0, 0.0], [0.5, 0.0], [5.0, 5.0]])
    assert S.close_pairs(x, Fraction(1, 16), Fraction(3, 16)).shape == (0, 2)
    p = S.close_pairs(x, Fraction(1, 16), Fraction(3, 16) + Fraction(1, 2**70))
    assert p.tolist() == [[0, 1]]
    dr = S.drop_close(x, Fraction(1, 16), Fraction(3, 16) + Fraction(1, 2**70))
    assert dr.dropped_indices == (0,) and dr.keep_indices == (1, 2) and dr.exact


def test_drop_rejects_bad_parameters():
    x = np.eye(3)
    with pytest.raises(InputError, match="gamma"):
        S.drop_close(x, Fraction(1, 10), Fraction(0))
    with pytest.raises(InputError, match="rho"):
        S.drop_close(x, Fraction(-1, 10), Fraction(1))
    with pytest.raises(InputError, match="rho"):
        S.drop_close(x, "abc", Fraction(1))


# --------------------------------------------------------------------------- the study


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    return load("digits", labels="binary:0")


def test_decimal_floor():
    for q in [Fraction(1358165, 10**9), Fraction(1, 3), Fraction(12345678), Fraction(1, 1000), Fraction(9999, 10**7)]:
        s = study.decimal_floor(q)
        v = Fraction(s)
        assert v <= q
        digits = s.replace(".", "").lstrip("0")
        assert len(digits.rstrip("0")) <= 4
        # next 4-digit decimal up exceeds q
        e = math.floor(math.log10(v)) - 3
        assert v + Fraction(10) ** e > q


def test_sample_is_seeded():
    a = sample_indices(100, 10, 3)
    assert np.array_equal(a, sample_indices(100, 10, 3))
    assert not np.array_equal(a, sample_indices(100, 10, 4))
    assert len(set(a.tolist())) == 10 and np.all(np.diff(a) > 0)
    # the named stream of advcert.seeds, nothing else
    assert np.array_equal(a, np.sort(seeds.stream(3, "sample").choice(100, 10, replace=False)))
    assert np.array_equal(sample_indices(7, None, 0), np.arange(7))
    assert np.array_equal(sample_indices(7, 7, 5), np.arange(7))
    with pytest.raises(InputError, match="exceeds the 5 points"):
        sample_indices(5, 6, 0)
    with pytest.raises(InputError, match="sample"):
        sample_indices(5, 1, 0)


def _cross_polytope_csv(tmp_path):
    """±e_i in R^6 with labels ±1: every 6-point sample is separable at a γ a build can hold."""
    rows = []
    for i in range(6):
        for sgn in (1, -1):
            rows.append(",".join(str(sgn if k == i else 0) for k in range(6)) + f",{sgn}")
    p = tmp_path / "pts.csv"
    p.write_text("\n".join(rows) + "\n")
    return p


def test_build_and_separation_take_the_same_sample(tmp_path, capsys):
    """One sampling stream: `build --data --sample K --seed S` certifies the set `separation` studies."""
    csv = _cross_polytope_csv(tmp_path)
    common = ["--data", str(csv), "--sample", "6", "--seed", "3"]
    cert = tmp_path / "c.json"
    assert main(["build", "--quiet", *common, "--eps", "0.1", "--rho", "0.01", "--certified-only",
                 "--out", str(cert)]) == 0
    assert main(["separation", *common, "--rho", "0.01", "--out", str(tmp_path / "sep")]) == 0
    capsys.readouterr()
    doc = json.loads(cert.read_text())
    sep = json.loads((tmp_path / "sep" / "separation.json").read_text())
    rows = sep["sample"]["rows"]
    assert doc["instance"]["source"]["sample"] == rows
    points = load(str(csv)).points
    assert doc["instance"]["points"] == points[rows].tolist()  # the same bytes, point by point
    (d34,) = [c for c in doc["checks"] if c["id"] == "definition-3.4"]
    assert d34["details"]["delta_sq"] == sep["delta_sq"]["value"]
    # the test discriminates: the study's former stream, SeedSequence(S), drew another subset
    old = np.sort(np.random.default_rng(np.random.SeedSequence(3)).choice(12, 6, replace=False))
    assert old.tolist() != rows


def test_digits_study_summary(digits, tmp_path):
    rep = study.separation_report(
        digits.points, Fraction(1, 100), gamma=Fraction(1, 100), sample=300, seed=1,
        source=digits.source, lift=digits.lift.to_json(),
    )
    assert list(rep.indices) == sample_indices(digits.points.shape[0], 300, 1).tolist()
    sub = digits.points[list(rep.indices)]
    assert rep.nearest == S.certified_min_distance(sub)
    # γ_max at ρ is the certified lower end; the drop set reaches γ
    assert S.pair_supports(rep.nearest.delta_sq, rep.rho, rep.gamma_max.lo)
    kept = sub[list(rep.drop.keep_indices)]
    assert S.pair_supports(S.certified_min_distance(kept).delta_sq, rep.rho, rep.gamma)
    paths = study.write_separation(rep, tmp_path / "out")
    doc = json.loads(paths[0].read_text())
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Fraction(doc["delta_sq"]["value"]) == rep.nearest.delta_sq
    i, j = doc["delta_sq"]["pair"]
    assert S.exact_sq_dist(digits.points, i, j) == rep.nearest.delta_sq
    assert doc["per_point"]["label"] == "exact" and doc["per_point_float"]["label"] == "estimate"
    for r, v, nb in zip(doc["per_point"]["rows"], doc["per_point"]["delta_sq"], doc["per_point"]["neighbour"]):
        assert S.exact_sq_dist(digits.points, r, nb) == Fraction(v)
    t = doc["target"]
    assert Fraction(t["fraction_dropped"]) == Fraction(t["dropped"], 300)
    assert set(t["dropped_rows"]) <= set(doc["sample"]["rows"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["separation.json", "separation.png"]


def test_command_digits_writes_histogram_and_summary(digits, tmp_path, capsys):
    out = tmp_path / "sep"
    rc = main(["separation", "--data", "digits", "--sample", "500", "--seed", "0", "--out", str(out)])
    assert rc == 0
    doc = json.loads((out / "separation.json").read_text())
    assert doc["n"] == 500 and doc["sample"]["seed"] == 0 and doc["rho"] == "1/100"
    assert (out / "separation.png").stat().st_size > 1000
    assert "delta =" in capsys.readouterr().out


def test_command_rho_raw_is_converted(digits, tmp_path, capsys):
    out = tmp_path / "sep"
    assert main(["separation", "--data", "digits", "--sample", "50", "--rho-raw", "1", "--out", str(out)]) == 0
    doc = json.loads((out / "separation.json").read_text())
    assert doc["rho"] == doc["rho_raw"]["rho_on_X"]
    s = digits.lift.scale
    assert s <= float(Fraction(doc["rho"])) <= s * 1.2  # ρ_X ≈ s·ρ_raw·(1 + small)


def test_study_data_rejects_both_radii():
    with pytest.raises(InputError, match="not both"):
        study.study_data("digits", rho=Fraction(1, 100), rho_raw=Fraction(1))


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--rho", "abc"], "--rho"),
        (["--gamma", "-1"], "gamma"),
        (["--sample", "5000"], "5000"),
        (["--sample", "1"], "sample"),
        (["--seed", "-1"], "seed"),
        (["--lift", "warp"], "lift"),
        (["--rho", "0.1", "--rho-raw", "1"], "rho"),
    ],
)
def test_command_bad_input_leaves_nothing(digits, tmp_path, capsys, argv, word):
    out = tmp_path / "sep"
    assert main(["separation", "--data", "digits", "--out", str(out), *argv]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and word in err[0], err
    assert not out.exists()


def test_write_failure_leaves_nothing(tmp_path, monkeypatch):
    x = sphere.sample_uniform(np.random.default_rng(0), 20, 4)
    rep = study.separation_report(x, Fraction(1, 100))

    def boom(report, fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(study, "_histogram_png", boom)
    with pytest.raises(RuntimeError):
        study.write_separation(rep, tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "separation.json").write_text("previous")
    with pytest.raises(RuntimeError):
        study.write_separation(rep, tmp_path / "old")
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["separation.json"]
    assert (tmp_path / "old" / "separation.json").read_text() == "previous"
