"""Real data on X: loaders, the lift onto X = {x ∈ R^d : ‖x‖ = 1, x_d = 1/2}, the sample.

Section 3.2 and footnote 5 of the paper put the data on X; Definition 3.4's δ, γ and ρ are
then measured there (docs/data.md proves what the lift does to them). Loaders read ``.npz`` (arrays ``X`` and ``y``), ``.csv`` (numeric; last column y; one
optional all-text header line) or the word ``digits`` (scikit-learn's bundled 8×8 digits,
an optional extra). Bad data raises :class:`advcert.errors.InputError` naming the row or
column.

The lift ``pad`` (default; ``pad:C`` sets the room factor C ∈ (0, 0.99], default 1/2)
----------------------------------------------------------------------------------------
For raw rows r_1..r_n ∈ R^k, let μ be their mean (binary64), a_i = r_i − μ,
M = max_i ‖a_i‖ and s = C·(√3/2)/M. Then

    Φ(r) = ( s·(r − μ),  √(3/4 − s²‖r − μ‖²),  1/2 ) ∈ R^{k+2},

so ‖Φ(r)‖ = 1 and the last coordinate is 1/2: Φ(r_i) ∈ X. This is the paper's footnote 5
(pad a coordinate to reach the norm, then place x_d = 1/2), after centring (distances do
not change under translation, and centring leaves more room). Effect on distances: with
t_i the pad coordinate, ‖Φ(r_i) − Φ(r_j)‖² = s²‖r_i − r_j‖² + (t_i − t_j)² and
|t_i − t_j| ≤ s‖r_i − r_j‖·C/√(1 − C²) (because s‖a_i‖ ≤ C√3/2 and t_i ≥ (√3/2)√(1 − C²)), so

    s·‖r_i − r_j‖ ≤ ‖Φ(r_i) − Φ(r_j)‖ ≤ s·‖r_i − r_j‖ / √(1 − C²)      (= 1.1547·s·… at C = 1/2),

with equality on the left for points at equal distance from μ. No lift can preserve all
distance ratios exactly: three collinear points cannot lie on a sphere. Hence on X

    s·δ_raw ≤ δ ≤ s·δ_raw/√(1 − C²).

Radius ρ. δ, γ and ρ of Definition 3.4 are always those on X. A raw perturbation
‖r̃ − r_i‖ ≤ ρ_raw lands (through Φ) within ρ_X = s·ρ_raw·(√3/2)/√(3/4 − B²) of Φ(r_i),
B = s·(M + ρ_raw) < √3/2; :func:`rho_on_X` returns a rational upper bound of this (plus a
2⁻³⁰ allowance for the rounding of the stored points), so robustness on X at that radius
covers every raw perturbation of size ρ_raw. Conversely every point of B₂(x_i, ρ) ∩ Φ(R^k)
is Φ(r̃) with ‖r̃ − r_i‖ ≤ ρ/s: a radius ρ on X is at most a raw radius ρ/s.

The lift ``normalize``
----------------------
Φ(r) = ((√3/2)·r/‖r‖, 1/2) ∈ R^{k+1}: directions only (no centring; a zero row is an error,
rows with the same direction collide). ‖Φ(r) − Φ(r')‖ = (√3/2)‖r̂ − r̂'‖ = √3·sin(θ/2)
for the angle θ between r and r'. Since ‖â − b̂‖² ≤ ‖a − b‖²/(‖a‖‖b‖), a raw perturbation
ρ_raw < m = min_i ‖r_i‖ moves a point by at most (√3/2)·ρ_raw/√(m(m − ρ_raw)) on X.

The stored points are the binary64 roundings of Φ(r_i), each within (k + 16)·2⁻⁵⁰ of the
exact image (C ≤ 0.99; tested), far inside the 2⁻³⁰ allowance of :func:`rho_on_X` for
k ≤ 2¹⁶. Every certified quantity (δ, γ) is computed exactly from the stored points, so
this rounding never enters a certificate.

The sample ``--sample K --seed S``
-----------------------------------
:func:`sample_indices` is the one way a data set is subsampled: K sorted rows drawn without
replacement from the stream ``seeds.stream(S, "sample")``. ``advcert build --data`` and
``advcert separation`` both call it, so the study describes the set the certificate certifies.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from advcert import seeds
from advcert.errors import InputError
from advcert.limits import refuse_memory
from advcert.rational import parse_number, sqrt_bounds, to_str
from advcert.sphere import HALF_SQRT3

# A CSV cell is binary64 data, read by float() after this check; it is not an exact user
# parameter (rational.parse_number), which would also build 10**e for a cell "1e999999999".
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_NONFINITE = re.compile(r"^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
_ROUNDING_SLACK = Fraction(1, 2**30)


@dataclass(frozen=True, eq=False)
class Lift:
    """The map Φ from raw rows onto X (§3.2; footnote 5). See the module docstring.

    ``kind`` is ``"pad"`` or ``"normalize"``. For ``pad``: ``room`` C, ``scale`` s,
    ``center`` μ and ``max_norm`` M = max‖r_i − μ‖ (binary64). For ``normalize``:
    ``min_norm`` m = min‖r_i‖.
    """

    kind: str
    raw_dim: int
    room: Fraction | None = None
    scale: float | None = None
    center: np.ndarray | None = None
    max_norm: float | None = None
    min_norm: float | None = None

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Φ of new raw rows (same μ, s): points on X to rounding (footnote 5)."""
        raw = np.atleast_2d(np.asarray(raw, dtype=np.float64))
        if raw.shape[1] != self.raw_dim:
            raise InputError(
                f"rows have {raw.shape[1]} features, the lift expects {self.raw_dim}",
                "lift rows of the same data set",
            )
        if self.kind == "normalize":
            nrm = np.linalg.norm(raw, axis=1, keepdims=True)
            out = np.empty((raw.shape[0], raw.shape[1] + 1))
            out[:, :-1] = HALF_SQRT3 * (raw / nrm)
            out[:, -1] = 0.5
            return out + 0.0
        a = (raw - self.center) * self.scale
        out = np.empty((raw.shape[0], raw.shape[1] + 2))
        out[:, :-2] = a
        out[:, -2] = np.sqrt(np.maximum(0.75 - np.einsum("ij,ij->i", a, a), 0.0))
        out[:, -1] = 0.5
        return out + 0.0  # no negative zeros: equal points get equal bytes

    def to_json(self) -> dict:
        """Description for certificates and summaries (floats are the exact binary64 values)."""
        if self.kind == "normalize":
            return {
                "map": "normalize",
                "formula": "x = ((sqrt(3)/2) r/||r||, 1/2)",
                "raw_dim": self.raw_dim,
                "min_norm": self.min_norm,
            }
        c = np.ascontiguousarray(self.center)
        return {
            "map": "pad",
            "formula": "x = (s (r - mu), sqrt(3/4 - s^2 ||r - mu||^2), 1/2), s = C (sqrt(3)/2) / max||r_i - mu||",
            "raw_dim": self.raw_dim,
            "room": to_str(self.room),
            "scale": self.scale,
            "max_norm": self.max_norm,
            "center": c.tolist(),
            "center_sha256": hashlib.sha256(c.tobytes()).hexdigest(),
            "distance_ratio_bounds": ["1", f"1/sqrt(1 - C^2) = {1 / math.sqrt(1 - float(self.room) ** 2):.6g}"],
        }


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set on X (§3.2): points (n, d), labels in [−1, 1] (or None), provenance.

    ``source`` is the certificate's ``instance.source`` object; ``lift`` the map used.
    """

    points: np.ndarray
    labels: np.ndarray | None
    raw_dim: int
    source: dict
    lift: Lift


# --------------------------------------------------------------------------- lifting


def _parse_lift(lift: str) -> tuple[str, Fraction | None]:
    s = str(lift).strip()
    if s == "normalize":
        return "normalize", None
    if s == "pad":
        return "pad", Fraction(1, 2)
    if s.startswith("pad:"):
        c = parse_number(s[4:], "the pad room factor C in --lift pad:C")
        if not (0 < c < 1) or c > Fraction(99, 100):
            raise InputError(
                f"--lift {s}: the room factor C must lie in (0, 0.99]", "use e.g. --lift pad:0.5"
            )
        return "pad", c
    raise InputError(f"unknown --lift {lift!r}", "use pad, pad:C with 0 < C < 1, or normalize")


def _duplicate_rows(x: np.ndarray) -> tuple[int, int] | None:
    order = np.lexsort(x.T[::-1]) if x.shape[1] else np.arange(x.shape[0])
    xs = x[order]
    same = np.all(xs[1:] == xs[:-1], axis=1)
    if not same.any():
        return None
    pairs = [tuple(sorted((int(order[k]), int(order[k + 1])))) for k in np.flatnonzero(same)]
    return min(pairs)


def lift_points(raw: np.ndarray, lift: str = "pad") -> tuple[np.ndarray, Lift]:
    """Map raw rows onto X with the ``pad`` or ``normalize`` lift (§3.2; footnote 5).

    Returns the binary64 points (n, k+2) or (n, k+1) and the :class:`Lift`. See the module
    docstring for the map and its effect on δ and ρ.
    """
    kind, room = _parse_lift(lift)
    raw = np.asarray(raw, dtype=np.float64)
    n, k = raw.shape
    if kind == "normalize":
        nrm = np.linalg.norm(raw, axis=1)
        zero = np.flatnonzero(nrm == 0)
        if zero.size:
            raise InputError(
                f"row {int(zero[0])} is the zero vector, which has no direction",
                "use --lift pad, or remove that row",
            )
        L = Lift("normalize", k, min_norm=float(nrm.min()))
        pts = L.apply(raw)
        dup = _duplicate_rows(pts)
        if dup is not None:
            raise InputError(
                f"rows {dup[0]} and {dup[1]} point in the same direction, so --lift normalize maps them to one point (delta = 0)",
                "use --lift pad, or drop one of them",
            )
        return pts, L
    mu = raw.mean(axis=0)
    a = raw - mu
    M = float(np.sqrt(np.einsum("ij,ij->i", a, a).max()))
    if M == 0.0:
        raise InputError("all rows are equal", "supply at least two distinct points")
    s = float(room) * HALF_SQRT3 / M
    L = Lift("pad", k, room=room, scale=s, center=mu, max_norm=M)
    pts = L.apply(raw)
    dup = _duplicate_rows(pts)
    if dup is not None:
        raise InputError(
            f"rows {dup[0]} and {dup[1]} differ by less than the rounding of the lift and become one point (delta = 0)",
            "drop one of them",
        )
    return pts, L


def rho_on_X(lift: Lift, rho_raw) -> Fraction:
    """A rational ρ on X covering every raw perturbation of norm ≤ ρ_raw (footnote 5 lift).

    Sound for the exact map Φ (module docstring), plus 2⁻³⁰ for the rounding of the stored
    points: ‖Φ(r̃) − x_i‖ ≤ result whenever ‖r̃ − r_i‖ ≤ ρ_raw.
    """
    rho_raw = rho_raw if isinstance(rho_raw, Fraction) else parse_number(str(rho_raw), "rho_raw")
    if rho_raw < 0:
        raise InputError(f"rho_raw must be >= 0, got {to_str(rho_raw)}", "pass a non-negative radius")
    if rho_raw == 0:
        return _ROUNDING_SLACK
    if lift.kind == "normalize":
        m = Fraction(lift.min_norm) * (1 - Fraction(1, 2**30))  # rigorous lower bound of min‖r_i‖
        if rho_raw >= m:
            raise InputError(
                f"rho_raw = {to_str(rho_raw)} reaches the origin (min row norm {lift.min_norm:.6g}), where directions are undefined",
                f"pass rho_raw < {lift.min_norm:.6g} or use --lift pad",
            )
        # (sqrt3/2) rho / sqrt(m (m - rho)) squared = (3/4) rho^2 / (m (m - rho))
        q = Fraction(3, 4) * rho_raw**2 / (m * (m - rho_raw))
        return sqrt_bounds(q, 64)[1] + _ROUNDING_SLACK
    s = Fraction(lift.scale)
    M = Fraction(lift.max_norm) * (1 + Fraction(1, 2**30))  # covers the float norm's rounding
    B = s * (M + rho_raw)
    if B * B >= Fraction(3, 4):
        raise InputError(
            f"rho_raw = {to_str(rho_raw)} can push points beyond the room of the pad lift",
            "pass a smaller rho_raw or a smaller room factor (--lift pad:C)",
        )
    q = s * s * rho_raw**2 * Fraction(3, 4) / (Fraction(3, 4) - B * B)
    return sqrt_bounds(q, 64)[1] + _ROUNDING_SLACK


# --------------------------------------------------------------------------- readers


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _npz_header_bytes(path: Path) -> int:
    """The bytes the arrays of an .npz declare in their headers (read without loading them)."""
    total = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(fh)
                total += int(np.prod(shape, dtype=object)) * dtype.itemsize
    return total


def _read_npz(path: Path, need_y: bool) -> tuple[np.ndarray, np.ndarray | None, str]:
    try:
        refuse_memory(_npz_header_bytes(path), f"{path}", "pass a smaller data file, or --sample from a smaller one")
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            if "X" not in names:
                raise InputError(
                    f"{path} has no array named X (it has: {', '.join(names) or 'none'})",
                    "save it with numpy.savez(path, X=points, y=labels)",
                )
            X = z["X"]
            y = z["y"] if "y" in names else None
    except InputError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(
            f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})",
            "save it with numpy.savez(path, X=points, y=labels)",
        ) from None
    if y is None and need_y:
        raise InputError(
            f"{path} has no array named y (labels)",
            "save it with numpy.savez(path, X=points, y=labels)",
        )
    return X, y, "row"


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    # parsed text takes several times its size in Python objects: refuse before reading
    refuse_memory(8.0 * path.stat().st_size, f"{path}", "pass a smaller CSV, or save the data as .npz")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text", "save the CSV as UTF-8 numeric text") from None
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        if not row or all(not c.strip() for c in row):
            continue
        rows.append([c.strip() for c in row])
        lines.append(reader.line_num)
    if not rows:
        raise InputError(f"{path} is empty", "supply a CSV with one point per line, label last")

    def numeric(c: str) -> bool:
        return bool(_NUMBER.match(c) or _NONFINITE.match(c))

    if not any(numeric(c) for c in rows[0]):  # an all-text first line is a header
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise InputError(f"{path} has a header but no data lines", "add one point per line")
    width = len(rows[0])
    if width < 2:
        raise InputError(
            f"{path} line {lines[0]} has {width} column; need the features then the label y",
            "write each line as x_1,...,x_k,y",
        )
    vals = np.empty((len(rows), width))
    for r, (row, ln) in enumerate(zip(rows, lines)):
        if len(row) != width:
            raise InputError(
                f"{path} line {ln} has {len(row)} columns, line {lines[0]} has {width}",
                "give every line the same number of columns",
            )
        for c, cell in enumerate(row):
            if not numeric(cell):
                what = "an empty cell" if cell == "" else f"text cell {cell[:20]!r}"
                raise InputError(
                    f"{path} line {ln}, column {c + 1} has {what}; the CSV must be numeric",
                    "remove text columns (one all-text header line is allowed)",
                )
            vals[r, c] = float(cell)
    return vals[:, :-1], vals[:, -1], lines


def _read_digits() -> tuple[np.ndarray, np.ndarray, dict]:
    try:
        import sklearn
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError(
            "--data digits needs scikit-learn, which is not installed",
            "pip install 'advcert[data]'",
        ) from None
    bunch = load_digits()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    y = np.ascontiguousarray(bunch.target, dtype=np.int64)
    h = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    src = {
        "kind": "dataset",
        "name": "sklearn-digits",
        "package": "scikit-learn",
        "version": sklearn.__version__,
        "sha256": h,
        "note": "sha256 of X (float64, C order) then y (int64) bytes",
    }
    return X, y.astype(np.float64), src


# --------------------------------------------------------------------------- validation


def _row(i: int, lines: list[int] | None) -> str:
    """A data row as the user sees it: a CSV line number, or a 0-based array row."""
    return f"line {lines[i]}" if lines is not None else f"row {i}"


def _cell(name: str, i: int, c: int, lines: list[int] | None) -> str:
    return f"line {lines[i]}, column {c + 1}" if lines is not None else f"{name}[{i}, {c}]"


def _labels(y: np.ndarray, rule: str | None, require: bool, lines, origin: str):
    if rule is not None and str(rule).strip().lower() == "none":
        return None, "none"
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise InputError(
            f"label y at {_row(int(bad[0]), lines)} of {origin} is {y[bad[0]]!r}",
            "every label must be a finite number",
        )
    if rule is None:
        out = np.flatnonzero(np.abs(y) > 1)
        if out.size:
            if not require:
                return None, "ignored (outside [-1, 1])"
            i = int(out[0])
            raise InputError(
                f"label y = {y[i]:g} at {_row(i, lines)} of {origin} is outside [-1, 1]",
                "pass --labels binary:K (labels='binary:K') to make class K the +1 class",
            )
        return y.astype(np.float64), "as-is"
    rule = str(rule).strip()
    if not rule.startswith("binary:"):
        raise InputError(f"unknown --labels {rule!r}", "use --labels binary:K")
    K = parse_number(rule[len("binary:"):], "the class K in --labels binary:K")
    Kf = float(K)
    hit = (y == Kf) if Fraction(Kf) == K else np.zeros(y.shape, dtype=bool)
    if not hit.any():
        classes = ", ".join(f"{v:g}" for v in np.unique(y)[:12])
        raise InputError(
            f"--labels {rule}: no label equals {to_str(K)} in {origin} (labels: {classes})",
            "pick K among the labels present",
        )
    return np.where(hit, 1.0, -1.0), rule


def _read_spec(spec: str, need_y: bool) -> tuple[np.ndarray, np.ndarray | None, dict, list[int] | None]:
    """The raw arrays of ``spec``, its provenance, and CSV line numbers (None for arrays)."""
    if spec == "digits":
        X, y, source = _read_digits()
        return X, y, source, None
    path = Path(spec)
    if not path.exists():
        raise InputError(f"no such file: {spec}", "check the path, or use --data digits")
    if path.is_dir():
        raise InputError(f"{spec} is a directory", "pass a .npz or .csv file")
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise InputError(
            f"cannot read {spec}: unknown file type {suffix or '(none)'}",
            "use a .npz (arrays X, y) or .csv (last column y) file, or --data digits",
        )
    if path.stat().st_size == 0:
        raise InputError(f"{spec} is empty", "supply a file with at least two points")
    lines = None
    if suffix == ".npz":
        X, y, _ = _read_npz(path, need_y=need_y)
    else:
        X, y, lines = _read_csv(path)
    return X, y, {"kind": "file", "path": spec, "sha256": _sha256(path), "format": suffix[1:]}, lines


def load(spec: str, *, labels: str | None = None, lift: str = "pad",
         require_labels: bool = True) -> Dataset:
    """Load a data set and lift it onto X (§3.2; footnote 5; Definition 3.4 needs δ > 0).

    ``spec``: a ``.npz`` path (arrays X, y), a ``.csv`` path (numeric, last column y, one
    optional all-text header line) or ``digits``. ``labels``: None keeps labels already in
    [−1, 1]; ``binary:K`` maps class K to +1 and the rest to −1; ``none`` drops them.
    With ``require_labels=False`` labels outside [−1, 1] are dropped instead of rejected
    (for studies that need only the points). Raises InputError naming the row or column
    for NaN/inf, duplicate points, wrong shapes, bad labels, fewer than 2 points, empty
    or unreadable files, text cells and a missing X.
    """
    spec = str(spec)
    need_y = require_labels if labels is None else str(labels).strip().lower() != "none"
    X, y, source, lines = _read_spec(spec, need_y)
    origin = "digits" if spec == "digits" else spec
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise InputError(f"X in {origin} has dtype {X.dtype}; it must be numeric", "store X as floats")
    if X.ndim != 2:
        raise InputError(
            f"X in {origin} has shape {X.shape}; it must be 2-D (n points x k features)",
            "reshape X to (n, k), e.g. X.reshape(len(X), -1)",
        )
    n, k = X.shape
    if k < 1:
        raise InputError(f"X in {origin} has no feature columns", "supply at least one feature")
    if n < 2:
        raise InputError(f"{origin} has {n} point(s); separation needs at least 2", "supply more points")
    X = X.astype(np.float64)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, c = (int(v) for v in bad[0])
        raise InputError(
            f"{origin} has {float(X[i, c])!r} at {_cell('X', i, c, lines)}",
            "remove or repair non-finite values",
        )
    if y is not None:
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise InputError(f"y in {origin} has dtype {y.dtype}; it must be numeric", "store y as numbers")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != n:
            raise InputError(
                f"y in {origin} has shape {y.shape} but X has {n} rows",
                "give y one label per row of X, shape (n,)",
            )
        ylab, rule = _labels(y.astype(np.float64), labels, require_labels, lines, origin)
    else:
        ylab, rule = None, "absent"
    X = X + 0.0  # -0.0 == 0.0: make equal points equal bytes before the duplicate check
    dup = _duplicate_rows(X)
    if dup is not None:
        i, j = dup
        raise InputError(
            f"{origin} has duplicate points at {_row(i, lines)} and {_row(j, lines)} (delta = 0)",
            "remove duplicates (delta = 0 allows no gamma > 0)",
        )
    pts, L = lift_points(X, lift)
    pts.setflags(write=False)
    if ylab is not None:
        ylab.setflags(write=False)
    source = {**source, "rows": n, "columns": k, "labels": rule}
    return Dataset(points=pts, labels=ylab, raw_dim=k, source=source, lift=L)


def sample_indices(n: int, sample: int | None, seed: int, *, origin: str = "the data set") -> np.ndarray:
    """The sorted rows that ``--sample K --seed S`` keeps of n points (Definition 3.4's set).

    All rows when ``sample`` is None (or n); otherwise K rows drawn uniformly without
    replacement from ``seeds.stream(seed, "sample")``. Both ``advcert build --data`` and
    ``advcert separation`` take their subset from here, so one seed names one subset.
    """
    if sample is not None and sample < 2:
        raise InputError(f"--sample must be >= 2, got {sample}", "pass --sample K with K >= 2")
    if sample is not None and sample > n:
        raise InputError(f"--sample {sample} exceeds the {n} points of {origin}", f"pass --sample {n} or less")
    if sample is None or sample == n:
        return np.arange(n)
    return np.sort(seeds.stream(seed, "sample").choice(n, size=sample, replace=False))
