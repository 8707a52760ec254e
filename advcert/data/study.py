"""The paper's Figure 1 on a data set: the δ_i histogram, δ, γ_max and the drop set.

Definition 3.4 asks ‖x_i − x_j‖ ≥ δ for i ≠ j and γ ≤ δ(δ − 2ρ). Figure 1 of the paper shows
the distribution of the nearest-neighbour distances δ_i of CIFAR-10; :func:`separation_report`
computes the same distribution, exactly, for a (sampled) data set on X (§3.2), with the
certified δ, the largest γ it supports at ρ, and the fewest points to drop for a target γ
(footnote 7). :func:`study_data` is ``advcert separation`` without the command line;
:func:`write_separation` writes its ``separation.json`` and ``separation.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from advcert.data.loaders import load, rho_on_X, sample_indices
from advcert.data.neighbours import (
    DropResult,
    Enclosure,
    NearestNeighbours,
    NearestPair,
    certified_nearest_neighbours,
    check_points,
    check_rho_gamma,
    delta_enclosure,
    drop_close,
    gamma_max,
)
from advcert.errors import InputError
from advcert.rational import round_down, to_decimal, to_str

DEFAULT_RHO = Fraction(1, 100)


@dataclass(frozen=True, eq=False)
class SeparationReport:
    """The δ_i distribution of a (sampled) data set on X, δ, γ_max and the drop set.

    The analogue of the paper's Figure 1 (Definition 3.4). ``indices`` are the rows of
    the input that form the studied set (all rows when not sampled); ``neighbours`` and
    ``drop`` index into that set.
    """

    n: int
    d: int
    rho: Fraction
    gamma: Fraction | None
    indices: tuple[int, ...]
    sample: int | None
    seed: int
    neighbours: NearestNeighbours
    nearest: NearestPair
    delta: Enclosure
    gamma_max: Enclosure
    drop: DropResult | None
    seconds: float
    source: dict = field(default_factory=dict)
    lift: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def separation_report(
    points: np.ndarray,
    rho,
    *,
    gamma=None,
    sample: int | None = None,
    seed: int = 0,
    source: dict | None = None,
    lift: dict | None = None,
    node_limit: int = 20_000,
) -> SeparationReport:
    """δ_i of every studied point, δ, the largest γ at ρ, and the drop set for γ (Def. 3.4).

    With ``sample`` = K, K rows are drawn by :func:`advcert.data.loaders.sample_indices` (the
    stream ``seeds.stream(seed, "sample")``, the same rows ``advcert build --data --sample K
    --seed S`` certifies) and the study is of that set alone: δ_i is the distance to the nearest *sampled* point (the
    paper's Figure 1 measured against the whole CIFAR-10 training set).
    """
    t0 = time.perf_counter()
    x = check_points(points)
    rho, gamma = check_rho_gamma(rho, gamma)
    idx = sample_indices(x.shape[0], sample, seed)
    xs = x[idx]
    nb = certified_nearest_neighbours(xs)
    nearest = nb.nearest_pair()
    drop = drop_close(xs, rho, gamma, node_limit=node_limit) if gamma is not None else None
    return SeparationReport(
        n=int(xs.shape[0]),
        d=int(xs.shape[1]),
        rho=rho,
        gamma=gamma,
        indices=tuple(int(i) for i in idx),
        sample=sample,
        seed=int(seed),
        neighbours=nb,
        nearest=nearest,
        delta=delta_enclosure(nearest.delta_sq),
        gamma_max=gamma_max(nearest.delta_sq, rho),
        drop=drop,
        seconds=time.perf_counter() - t0,
        source=dict(source or {}),
        lift=dict(lift or {}),
    )


def decimal_floor(q: Fraction, digits: int = 4) -> str:
    """The largest decimal with ``digits`` significant digits that is <= q (q > 0), as text.

    For people and for pasting into ``--gamma``: the value is exact and never exceeds q.
    """
    q = Fraction(q)
    if q <= 0:
        raise ValueError("decimal_floor needs q > 0")
    return to_decimal(round_down(q, digits))


def report_json(report: SeparationReport) -> dict:
    """The JSON summary: exact rationals as "p/q" strings, floats only where labelled."""
    nb = report.neighbours
    rows = report.indices
    dist = [math.sqrt(float(v)) for v in nb.delta_sq]
    gm = report.gamma_max
    separable = report.nearest.delta_sq > 4 * report.rho * report.rho
    summary: dict = {
        "format": "advcert-separation",
        "version": 1,
        "definition": "Definition 3.4: ||x_i - x_j|| >= delta for i != j and gamma <= delta(delta - 2 rho)",
        "source": report.source,
        "lift": report.lift,
        "n": report.n,
        "d": report.d,
        "sample": {"size": report.sample, "seed": report.seed, "rows": list(rows)},
        "rho": to_str(report.rho),
        "delta_sq": {
            "value": to_str(report.nearest.delta_sq),
            "label": "exact",
            "pair": [rows[report.nearest.pair[0]], rows[report.nearest.pair[1]]],
            "note": "pair as rows of the input",
        },
        "delta": {**report.delta.to_json(), "label": "enclosure"},
        "separable_at_rho": {"value": bool(separable), "label": "exact", "claim": "delta > 2 rho"},
        "gamma_max": {
            **gm.to_json(),
            "label": "enclosure",
            "claim": "largest gamma with gamma <= delta(delta - 2 rho); every gamma <= lo is supported",
        },
        "per_point": {
            "rows": list(rows),
            "delta_sq": [to_str(v) for v in nb.delta_sq],
            "neighbour": [rows[j] for j in nb.neighbour],
            "label": "exact",
            "exact_checks": nb.exact_checks,
        },
        "per_point_float": {
            "delta": dist,
            "label": "estimate",
            "note": "binary64 sqrt of the exact delta_i^2, for the histogram only",
        },
        "quantiles": {
            "q": [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 1.0],
            "delta": [float(v) for v in np.quantile(dist, [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 1.0])],
            "label": "estimate",
        },
        "seconds": report.seconds,
    }
    if gm.lo > 0:
        summary["gamma_max"]["decimal_floor"] = decimal_floor(gm.lo)
    if report.gamma is not None and report.drop is not None:
        dr = report.drop
        summary["target"] = {
            "gamma": to_str(report.gamma),
            "delta_needed": {**dr.delta_needed.to_json(), "label": "enclosure"},
            "supported_without_dropping": not dr.dropped_indices,
            "close_pairs": dr.close_pairs,
            "dropped_rows": [rows[i] for i in dr.dropped_indices],
            "dropped": len(dr.dropped_indices),
            "fraction_dropped": to_str(Fraction(len(dr.dropped_indices), report.n)),
            "exact": dr.exact,
            "lower_bound": dr.lower_bound,
            "method": dr.method,
            "label": "exact" if dr.exact else "sound-bound",
            "note": (
                "smallest possible set" if dr.exact
                else "greedy set; no set smaller than lower_bound exists"
            ),
        }
    summary.update(report.extra)
    return summary


def _histogram_png(report: SeparationReport, fh) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dist = np.sqrt(np.array([float(v) for v in report.neighbours.delta_sq]))
    fig = Figure(figsize=(6.4, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(dist, bins=min(60, max(10, report.n // 10)), color="0.6", edgecolor="0.3")
    delta = float(report.delta.lo)
    ax.axvline(delta, color="C0", lw=1.5, label=f"δ = min δ_i = {delta:.4g}")
    two_rho = 2 * float(report.rho)
    ax.axvline(two_rho, color="C3", ls="--", lw=1.5, label=f"2ρ = {two_rho:.4g}")
    if report.drop is not None and report.gamma is not None:
        dn = float(report.drop.delta_needed.hi)
        frac = len(report.drop.dropped_indices) / report.n
        ax.axvline(
            dn, color="C2", ls=":", lw=1.8,
            label=f"δ needed for γ = {float(report.gamma):.4g}: {dn:.4g} (drop {100 * frac:.3g}%)",
        )
    ax.set_xlim(left=0.0)
    ax.set_xlabel("δ_i = distance to the nearest other point, on X")
    ax.set_ylabel("number of points")
    src = report.source.get("name") or Path(str(report.source.get("path", "data"))).name
    ax.set_title(f"Nearest-neighbour distances ({src}, n = {report.n}, d = {report.d})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(fh, format="png")


def _new_temp(folder: Path, suffix: str) -> str:
    """Create an empty file with the usual umask-governed mode (mkstemp would force 0600)."""
    while True:
        name = folder / f".separation-{os.getpid()}-{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return str(name)
        except FileExistsError:
            continue


def write_separation(report: SeparationReport, out_dir) -> tuple[Path, Path]:
    """Write ``separation.json`` and ``separation.png`` into out_dir, atomically.

    Both files are written to temporaries in out_dir and moved into place with os.replace;
    on any error the temporaries (and a directory this call created) are removed.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory", "name a directory")
    created = not out.exists()
    tmps: list[str] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(report_json(report), indent=1, allow_nan=False) + "\n"
        targets = (out / "separation.json", out / "separation.png")
        tj = _new_temp(out, ".json.tmp")
        tmps.append(tj)
        with open(tj, "w", encoding="utf-8") as fh:
            fh.write(text)
        tp = _new_temp(out, ".png.tmp")
        tmps.append(tp)
        with open(tp, "wb") as fh:
            _histogram_png(report, fh)
        os.replace(tj, targets[0])
        os.replace(tp, targets[1])
        tmps.clear()
        return targets
    except BaseException:
        for t in tmps:
            try:
                os.unlink(t)
            except OSError:
                pass
        if created:
            try:
                out.rmdir()
            except OSError:
                pass
        raise




def study_data(
    spec: str,
    *,
    rho: Fraction | None = None,
    rho_raw: Fraction | None = None,
    gamma: Fraction | None = None,
    labels: str | None = None,
    lift: str = "pad",
    sample: int | None = None,
    seed: int = 0,
) -> SeparationReport:
    """``advcert separation`` without the command line: load, lift, sample, study (Figure 1).

    ``rho`` is the radius on X (default 1/100); ``rho_raw`` instead a radius in the raw
    data's units, turned into a sound radius on X by :func:`rho_on_X` (Definition 3.4's ρ is
    always on X). Labels are not needed: without ``labels`` any labels outside [−1, 1] are
    ignored. ``sample``/``seed`` pick the same rows as ``advcert build --data``.
    """
    if rho is not None and rho_raw is not None:
        raise InputError("pass --rho or --rho-raw, not both", "drop one of them")
    if seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}", "pass a non-negative seed")
    if gamma is not None and gamma <= 0:
        raise InputError(f"--gamma must be > 0, got {to_str(gamma)}", "pass a positive gamma")
    ds = load(spec, labels=labels, lift=lift, require_labels=labels is not None)
    extra: dict = {}
    if rho_raw is not None:
        rho = rho_on_X(ds.lift, rho_raw)
        extra["rho_raw"] = {
            "value": to_str(rho_raw),
            "rho_on_X": to_str(rho),
            "label": "sound-bound",
            "note": "every raw perturbation of norm <= rho_raw moves the lifted point by <= rho on X",
        }
    rho = DEFAULT_RHO if rho is None else rho
    if rho < 0:
        raise InputError(f"--rho must be >= 0, got {to_str(rho)}", "pass a non-negative radius")
    sample_indices(ds.points.shape[0], sample, seed, origin=spec)  # fail before any work
    rep = separation_report(ds.points, rho, gamma=gamma, sample=sample, seed=seed,
                            source=ds.source, lift=ds.lift.to_json())
    return dataclasses.replace(rep, extra=extra)


def summary_lines(report: SeparationReport) -> list[str]:
    """The few lines ``advcert separation`` prints: n, certified δ, largest γ, drop set."""
    rep, gm = report, report.gamma_max
    i, j = (rep.indices[k] for k in rep.nearest.pair)
    lines = [
        f"n = {rep.n}, d = {rep.d}, rho = {float(rep.rho):.6g}",
        f"delta = {float(rep.delta.lo):.6g} (certified; pair {i}, {j})",
    ]
    if gm.lo > 0:
        lines.append(f"largest gamma supported at rho: {decimal_floor(gm.lo)} (certified lower end)")
    else:
        lines.append("not separable at this rho: delta <= 2 rho")
    if rep.drop is not None:
        k = len(rep.drop.dropped_indices)
        tag = "smallest" if rep.drop.exact else f"greedy, >= {rep.drop.lower_bound} needed"
        lines.append(f"drop {k} of {rep.n} points ({100 * k / rep.n:.3g}%, {tag}) "
                     f"to reach gamma = {float(rep.gamma):.6g}")
    return lines
