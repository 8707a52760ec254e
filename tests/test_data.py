"""Loaders and the lift onto X (§3.2, footnote 5): every bad-data case, points on X exactly
to rounding, distance ratios within the proved bounds, and the ρ translation."""

from __future__ import annotations

import hashlib
import math
import sys
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from advcert.data import loaders as D
from advcert.errors import InputError
from advcert.data.neighbours import certified_min_distance


def _npz(tmp_path, name="d.npz", **arrays):
    p = tmp_path / name
    np.savez(p, **arrays)
    return p


def _csv(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _err(spec, **kw) -> str:
    with pytest.raises(InputError) as ei:
        D.load(str(spec), **kw)
    msg = str(ei.value)
    assert "\n" not in msg  # one line for the CLI
    assert ei.value.fix  # names the fix
    return msg


def on_X_exact(x: np.ndarray) -> float:
    """max_i |‖x_i‖² − 1| computed exactly; also checks x_d = 1/2 exactly."""
    assert np.all(x[:, -1] == 0.5)
    worst = Fraction(0)
    for row in x.tolist():
        t = sum((Fraction(v) ** 2 for v in row), Fraction(0)) - 1
        worst = max(worst, abs(t))
    return float(worst)


# --------------------------------------------------------------------------- bad data


def test_missing_file(tmp_path):
    assert "no such file" in _err(tmp_path / "nope.csv")


def test_empty_files(tmp_path):
    assert "empty" in _err(_csv(tmp_path, ""))
    assert "empty" in _err(_csv(tmp_path, "\n  \n", name="blank.csv"))
    p = tmp_path / "e.npz"
    p.write_bytes(b"")
    assert "empty" in _err(p)


def test_unreadable_npz(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_bytes(b"not a zip at all")
    assert "not a readable .npz" in _err(p)


def test_unknown_extension_and_directory(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("1,2\n")
    assert "unknown file type" in _err(p)
    assert "directory" in _err(tmp_path)


def test_npz_without_X(tmp_path):
    msg = _err(_npz(tmp_path, points=np.eye(3), y=np.zeros(3)))
    assert "no array named X" in msg and "points" in msg


def test_npz_without_y_when_labels_needed(tmp_path):
    p = _npz(tmp_path, X=np.eye(3))
    assert "no array named y" in _err(p)
    ds = D.load(str(p), require_labels=False)
    assert ds.labels is None and ds.points.shape == (3, 5)
    assert D.load(str(p), labels="none").labels is None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_npz_names_the_cell(tmp_path, bad):
    X = np.arange(12.0).reshape(4, 3)
    X[2, 1] = bad
    msg = _err(_npz(tmp_path, X=X, y=np.zeros(4)))
    assert "X[2, 1]" in msg


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity"])
def test_nonfinite_csv_names_line_and_column(tmp_path, cell):
    msg = _err(_csv(tmp_path, f"a,b,y\n1,2,1\n3,{cell},-1\n5,6,1\n"))
    assert "line 3, column 2" in msg


def test_nonfinite_label(tmp_path):
    msg = _err(_csv(tmp_path, "1,2,1\n3,4,nan\n"))
    assert "line 2" in msg and "label" in msg


def test_csv_text_cell(tmp_path):
    msg = _err(_csv(tmp_path, "1,2,1\n3,four,-1\n5,6,1\n"))
    assert "line 2, column 2" in msg and "four" in msg


def test_csv_empty_cell_and_ragged_line(tmp_path):
    assert "line 2, column 1 has an empty cell" in _err(_csv(tmp_path, "1,2,1\n,4,-1\n"))
    msg = _err(_csv(tmp_path, "1,2,1\n3,4\n", name="r.csv"))
    assert "line 2 has 2 columns" in msg


def test_csv_header_allowed_and_header_only(tmp_path):
    ds = D.load(str(_csv(tmp_path, "x1,x2,label\n0,1,1\n1,0,-1\n2,2,1\n")))
    assert ds.points.shape == (3, 4) and ds.labels.tolist() == [1.0, -1.0, 1.0]
    assert "no data lines" in _err(_csv(tmp_path, "x1,x2,label\n", name="h.csv"))
    # a text cell in a header that also holds numbers is not a header
    assert "text cell" in _err(_csv(tmp_path, "x1,2,label\n0,1,1\n1,0,-1\n", name="m.csv"))


def test_csv_single_column(tmp_path):
    assert "need the features then the label" in _err(_csv(tmp_path, "1\n2\n3\n"))


def test_fewer_than_two_points(tmp_path):
    assert "at least 2" in _err(_csv(tmp_path, "1,2,1\n"))
    assert "at least 2" in _err(_npz(tmp_path, X=np.zeros((0, 3)), y=np.zeros(0)))


def test_duplicate_points_name_both_rows(tmp_path):
    msg = _err(_csv(tmp_path, "1,2,1\n3,4,-1\n1,2,-1\n"))
    assert "line 1 and line 3" in msg and "delta = 0" in msg
    X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [2.0, 3.0]])
    assert "row 1 and row 3" in _err(_npz(tmp_path, X=X, y=np.zeros(4)))
    # -0.0 and 0.0 are the same point
    X = np.array([[0.0, 1.0], [-0.0, 1.0], [4.0, 5.0]])
    assert "row 0 and row 1" in _err(_npz(tmp_path, name="z.npz", X=X, y=np.zeros(3)))


@pytest.mark.parametrize(
    "X, y, word",
    [
        (np.arange(5.0), np.zeros(5), "2-D"),
        (np.zeros((3, 2, 2)), np.zeros(3), "2-D"),
        (np.arange(6.0).reshape(3, 2), np.zeros(4), "shape (4,)"),
        (np.arange(6.0).reshape(3, 2), np.zeros((3, 2)), "shape (3, 2)"),
        (np.zeros((3, 0)), np.zeros(3), "no feature"),
        (np.array([["a", "b"], ["c", "d"]]), np.zeros(2), "numeric"),
        (np.arange(6.0).reshape(3, 2), np.array(["a", "b", "c"]), "numeric"),
    ],
)
def test_wrong_shapes(tmp_path, X, y, word):
    assert word in _err(_npz(tmp_path, X=X, y=y))


def test_y_column_vector_is_accepted(tmp_path):
    ds = D.load(str(_npz(tmp_path, X=np.arange(6.0).reshape(3, 2), y=np.array([[1.0], [-1.0], [0.5]]))))
    assert ds.labels.tolist() == [1.0, -1.0, 0.5]


def test_labels_out_of_range(tmp_path):
    p = _csv(tmp_path, "1,2,0\n3,4,3\n5,6,1\n")
    msg = _err(p)
    assert "y = 3" in msg and "line 2" in msg and "binary:K" in msg
    ds = D.load(str(p), labels="binary:3")
    assert ds.labels.tolist() == [-1.0, 1.0, -1.0]
    assert D.load(str(p), require_labels=False).labels is None
    assert D.load(str(p), labels="none").labels is None
    assert "no label equals 7" in _err(p, labels="binary:7")
    assert "unknown --labels" in _err(p, labels="onehot")
    assert "class K" in _err(p, labels="binary:x")


def test_labels_in_range_kept(tmp_path):
    ds = D.load(str(_npz(tmp_path, X=np.arange(6.0).reshape(3, 2), y=np.array([0.25, -1.0, 1.0]))))
    assert ds.labels.tolist() == [0.25, -1.0, 1.0]
    assert not ds.labels.flags.writeable and not ds.points.flags.writeable


def test_digits_needs_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    msg = _err("digits", labels="binary:0")
    assert "pip install 'advcert[data]'" in msg


def test_bad_lift_options(tmp_path):
    p = _csv(tmp_path, "1,2,1\n3,4,-1\n")
    assert "unknown --lift" in _err(p, lift="warp")
    assert "room factor" in _err(p, lift="pad:1")
    assert "room factor" in _err(p, lift="pad:0")


def test_normalize_rejects_zero_rows_and_same_directions(tmp_path):
    msg = _err(_csv(tmp_path, "0,0,1\n3,4,-1\n"), lift="normalize")
    assert "row 0 is the zero vector" in msg
    msg = _err(_csv(tmp_path, "1,2,1\n3,4,-1\n2,4,1\n", name="b.csv"), lift="normalize")
    assert "rows 0 and 2 point in the same direction" in msg


# --------------------------------------------------------------------------- good data


def test_source_records_the_file_hash(tmp_path):
    p = _csv(tmp_path, "1,2,1\n3,4,-1\n5,7,1\n")
    ds = D.load(str(p))
    assert ds.source["kind"] == "file" and ds.source["path"] == str(p)
    assert ds.source["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert ds.raw_dim == 2 and ds.source["rows"] == 3


def test_digits_load():
    pytest.importorskip("sklearn")
    ds = D.load("digits", labels="binary:0")
    assert ds.points.shape == (1797, 66) and ds.raw_dim == 64
    assert int((ds.labels == 1).sum()) == 178  # class 0 has 178 images
    assert ds.source["name"] == "sklearn-digits" and len(ds.source["sha256"]) == 64
    assert on_X_exact(ds.points[::40]) <= 2.0**-50


@pytest.mark.parametrize("lift", ["pad", "pad:0.9", "normalize"])
def test_lift_puts_points_on_X_to_rounding(lift):
    rng = np.random.default_rng(7)
    raw = rng.standard_normal((40, 9)) * 1e3 + 5e3
    pts, L = D.lift_points(raw, lift)
    assert pts.shape == (40, 11 if lift.startswith("pad") else 10)
    assert on_X_exact(pts) <= 2.0**-48  # the certificate asks for ≤ 2⁻⁴⁰


def _exact_dist(a, b) -> float:
    return math.sqrt(float(sum(((Fraction(u) - Fraction(v)) ** 2 for u, v in zip(a, b)), Fraction(0))))


@pytest.mark.parametrize("room", [Fraction(1, 2), Fraction(9, 10)])
def test_pad_distance_ratios_within_proved_bounds(room):
    rng = np.random.default_rng(11)
    raw = rng.standard_normal((25, 6)) * np.array([1, 2, 3, 0.5, 10, 1]) + 100.0
    pts, L = D.lift_points(raw, f"pad:{room}")
    s = L.scale
    hi = 1 / math.sqrt(1 - float(room) ** 2)
    worst = 1.0
    for i in range(25):
        for j in range(i + 1, 25):
            r = _exact_dist(pts[i], pts[j]) / (s * _exact_dist(raw[i], raw[j]))
            assert 1 - 1e-12 <= r <= hi * (1 + 1e-12)
            worst = max(worst, r)
    assert worst > 1 + 1e-6  # the pad coordinate does move distances: ratios are not all kept


def test_pad_keeps_ratios_exactly_for_equidistant_points():
    # points at equal distance from their mean (±e_k, rotated): the pad coordinate is constant,
    # so every distance is scaled by exactly s and all ratios are preserved
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    raw = np.vstack([Q, -Q]) * 3.0 + 7.0
    pts, L = D.lift_points(raw, "pad")
    for i, j, k, m in [(0, 1, 2, 7), (3, 9, 4, 5), (0, 5, 1, 2)]:
        rx = _exact_dist(pts[i], pts[j]) / _exact_dist(pts[k], pts[m])
        rr = _exact_dist(raw[i], raw[j]) / _exact_dist(raw[k], raw[m])
        assert rx == pytest.approx(rr, rel=1e-13)
    assert np.ptp(pts[:, -2]) < 1e-15


def test_delta_on_X_relates_to_raw_delta():
    rng = np.random.default_rng(4)
    raw = rng.integers(0, 17, size=(60, 8)).astype(float)
    raw = np.unique(raw, axis=0)
    pts, L = D.lift_points(raw, "pad")
    dx = math.sqrt(float(certified_min_distance(pts).delta_sq))
    dr = math.sqrt(float(certified_min_distance(raw).delta_sq))
    assert L.scale * dr * (1 - 1e-12) <= dx <= L.scale * dr / math.sqrt(1 - 0.25) * (1 + 1e-12)


def test_normalize_distance_is_chord_of_angle():
    rng = np.random.default_rng(9)
    raw = rng.standard_normal((10, 4))
    pts, _ = D.lift_points(raw, "normalize")
    mpmath.mp.dps = 40
    for i, j in [(0, 1), (2, 7), (3, 9)]:
        a = [mpmath.mpf(v) for v in raw[i]]
        b = [mpmath.mpf(v) for v in raw[j]]
        cos = mpmath.fsum(u * v for u, v in zip(a, b)) / (mpmath.norm(a) * mpmath.norm(b))
        chord = mpmath.sqrt(3) * mpmath.sin(mpmath.acos(cos) / 2)
        assert _exact_dist(pts[i], pts[j]) == pytest.approx(float(chord), rel=1e-13)


def _mp_lift(L: D.Lift, r) -> list:
    """Φ(r) in 60-digit arithmetic, with the lift's own binary64 constants."""
    mpmath.mp.dps = 60
    if L.kind == "normalize":
        v = [mpmath.mpf(float(t)) for t in r]
        nrm = mpmath.norm(v)
        return [mpmath.sqrt(3) / 2 * t / nrm for t in v] + [mpmath.mpf(1) / 2]
    a = [mpmath.mpf(L.scale) * (mpmath.mpf(float(t)) - mpmath.mpf(float(c))) for t, c in zip(r, L.center)]
    pad = mpmath.sqrt(mpmath.mpf(3) / 4 - mpmath.fsum(t * t for t in a))
    return a + [pad, mpmath.mpf(1) / 2]


@pytest.mark.parametrize("lift", ["pad", "pad:0.99", "normalize"])
def test_stored_points_are_close_to_the_exact_image(lift):
    # the rounding allowance of rho_on_X (2⁻³⁰) rests on this (k + 16)·2⁻⁵⁰ bound
    raw = np.random.default_rng(21).standard_normal((40, 64)) * 50 + 100
    pts, L = D.lift_points(raw, lift)
    for i in range(40):
        exact = _mp_lift(L, raw[i])
        err = mpmath.norm([p - mpmath.mpf(float(q)) for p, q in zip(exact, pts[i])])
        assert err <= (64 + 16) * mpmath.mpf(2) ** -50


@pytest.mark.parametrize("lift", ["pad", "pad:0.8", "normalize"])
def test_rho_on_X_covers_raw_perturbations(lift):
    rng = np.random.default_rng(13)
    raw = rng.standard_normal((30, 5)) * 2.0 + np.array([4.0, 0, 0, 0, 0])
    pts, L = D.lift_points(raw, lift)
    rho_raw = Fraction(1, 4)
    bound = D.rho_on_X(L, rho_raw)
    worst = mpmath.mpf(0)
    for i in range(30):
        base = raw[i] - (L.center if L.kind == "pad" else 0)
        dirs = [base / np.linalg.norm(base), -base / np.linalg.norm(base)] + list(rng.standard_normal((6, 5)))
        for u in dirs:
            u = np.asarray(u) / np.linalg.norm(u)
            pert = _mp_lift(L, raw[i] + float(rho_raw) * u * (1 - 1e-12))
            dist = mpmath.norm([p - mpmath.mpf(float(q)) for p, q in zip(pert, pts[i])])
            assert dist <= mpmath.mpf(bound.numerator) / bound.denominator
            worst = max(worst, dist)
    # not vacuous: the radial perturbation of the extreme point reaches a good part of it
    assert worst >= 0.5 * float(bound)
    if L.kind == "pad":  # and the naive s·ρ_raw (no pad distortion) would be wrong
        assert worst > L.scale * float(rho_raw)


def test_rho_on_X_rejects_too_large_radius():
    raw = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    _, L = D.lift_points(raw, "normalize")
    with pytest.raises(InputError, match="origin"):
        D.rho_on_X(L, Fraction(1))
    _, L = D.lift_points(raw, "pad:0.9")
    with pytest.raises(InputError, match="room"):
        D.rho_on_X(L, Fraction(10))


def test_lift_description_is_json_ready():
    import json

    raw = np.random.default_rng(0).standard_normal((5, 3))
    _, L = D.lift_points(raw, "pad")
    doc = json.loads(json.dumps(L.to_json(), allow_nan=False))
    assert doc["map"] == "pad" and doc["room"] == "1/2" and len(doc["center"]) == 3
    assert np.allclose(L.apply(raw), D.lift_points(raw, "pad")[0], rtol=0, atol=0)
