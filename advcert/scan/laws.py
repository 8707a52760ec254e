"""The width law: where each link starts to hold, how its value falls with m, and against what.

* :func:`working_width`: the smallest grid width from which on the link passes for every seed,
  bracketed by the largest width at which some seed fails (and whether passing is monotone);
* :func:`fit`: least squares of log(value) against log(m), per seed and pooled, with a Student-t
  confidence interval of the exponent over seeds; beside the theorem's rate (Theorem 5.1:
  m^{-1/6} at fixed R, math-spec §7; Lemma 6.5: the Monte-Carlo m^{-1/2} of g_{W*} around its mean,
  math-spec §6, on top of a bias ≤ n·ε2 that does not fall with m);
* :func:`extrapolate`: the width at which the fitted law reaches the threshold, when the grid never does;
* :func:`bisect_width`: the next width of ``--search bisect``, the geometric midpoint of the bracket;
* :func:`grid_law`: m_min ∝ n^a d^b ε^{-c} over an instance grid (issue 12, item 3).

Fits are descriptive statistics of estimates (label ``estimate``); nothing here is a bound.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special  # stdtrit; scipy.stats would cost the scan a third of a second to import

#: the exponent of m each value falls with according to the proof (None: the proof states no rate)
THEOREM_RATE = {"theorem-5.1": -1.0 / 6.0, "lemma-6.5": -0.5, "lemma-6.5/radius": 0.0}
RATE_NOTE = {
    "theorem-5.1": "Theorem 5.1: sup|f_W − g_W| ≤ C R²/m^{1/6} at fixed R (math-spec §7)",
    "lemma-6.5": "Lemma 6.5: g_{W*} is a mean of m i.i.d. terms, its deviation falls like m^{-1/2} "
                 "(plus a bias ≤ n·ε2 that does not fall)",
    "lemma-6.5/radius": "Lemma 6.5: R = m^{2/3}||W* − W0||_{2,∞} ≤ 2nC_h at every m",
}
#: the width the theorem asks for, by value: the key of a shard's ``theorem`` entry (log10)
THEOREM_WIDTH = {"lemma-6.5": "log10_m_hoeffding", "theorem-5.1": "log10_m_thm51", "theorem-5.3": "log10_m_required",
                 "theorem-5.3/attack": "log10_m_required", "theorem-4.1": "log10_m_theorem_5_1_at_R_train",
                 "theorem-4.1/min_L_A": "log10_m_theorem_5_1_at_R_train",
                 "theorem-5.2": "log10_m_theorem_5_1_at_R_train", "train/drift": "log10_m_theorem_5_1_at_R_train"}


def working_width(passes: dict[int, list[bool]]) -> dict:
    """Smallest working width of one link over a grid: ``passes[m]`` holds one verdict per seed.

    ``m_work``: the smallest width from which on every grid width passes for every seed (None if
    the largest fails); ``m_fail``: the largest width at which some seed fails (None if none does),
    so the true threshold lies in (m_fail, m_work] when both exist; ``m_first``: the smallest
    width passing for every seed; ``monotone``: m_first == m_work.
    """
    ms = sorted(passes)
    ok = {m: bool(passes[m]) and all(passes[m]) for m in ms}
    m_work = None
    for m in reversed(ms):
        if not ok[m]:
            break
        m_work = m
    fails = [m for m in ms if not ok[m]]
    first = next((m for m in ms if ok[m]), None)
    return {"m_work": m_work, "m_fail": fails[-1] if fails else None, "m_first": first,
            "monotone": first == m_work, "below_grid": m_work is not None and m_work == ms[0],
            "log2_m_work": math.log2(m_work) if m_work else None}


def _t975(dof: int) -> float:
    """The 97.5 % quantile of Student's t with ``dof`` degrees of freedom (a two-sided 95 % interval)."""
    return float(special.stdtrit(dof, 0.975))


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float | None]:
    """Slope, intercept and the slope's standard error of y ≈ a + b x (None below 3 points)."""
    xm, ym = float(np.mean(x)), float(np.mean(y))
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym))) / sxx
    intercept = ym - slope * xm
    if x.size < 3:
        return slope, intercept, None
    rss = float(np.sum((y - intercept - slope * x) ** 2))
    se = math.sqrt(rss / (x.size - 2) / sxx)
    return slope, intercept, se if math.isfinite(se) else None


def fit(values: dict[int, list[float | None]]) -> dict | None:
    """log(value) = c + k·log(m) by least squares; ``values[m]`` holds one value per seed.

    Only resolved points enter (finite and > 0). ``exponent``/``intercept``: the pooled fit over
    all seeds; ``per_seed``: each seed's own exponent; ``ci95``: mean ± t·sd/√K over the seeds'
    exponents (K ≥ 2), else the pooled fit's ±1.96·stderr where it has one. None below 2 widths.
    """
    ms = sorted(values)
    k = max((len(values[m]) for m in ms), default=0)
    per_seed = []
    for s in range(k):
        pts = [(m, values[m][s]) for m in ms if s < len(values[m]) and _resolved(values[m][s])]
        if len({m for m, _ in pts}) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            per_seed.append(_line(x, y)[0])
    pooled = [(m, v) for m in ms for v in values[m] if _resolved(v)]
    if len({m for m, _ in pooled}) < 2:
        return None
    x, y = np.log([p[0] for p in pooled]), np.log([p[1] for p in pooled])
    slope, intercept, se = _line(x, y)
    if len(per_seed) >= 2:
        sd = float(np.std(per_seed, ddof=1))
        half = _t975(len(per_seed) - 1) * sd / math.sqrt(len(per_seed))
        ci, how = [float(np.mean(per_seed)) - half, float(np.mean(per_seed)) + half], f"t over {len(per_seed)} seeds"
    elif se is not None:
        ci, how = [slope - 1.96 * se, slope + 1.96 * se], "pooled fit, 1.96 stderr"
    else:
        ci, how = None, "none (one seed, two widths)"
    return {"exponent": slope, "intercept": intercept, "per_seed": per_seed, "ci95": ci, "ci_method": how,
            "widths": sorted({m for m, _ in pooled}), "points": len(pooled)}


def _resolved(v) -> bool:
    return v is not None and math.isfinite(v) and v > 0


def extrapolate(law: dict | None, threshold: float | None) -> float | None:
    """log10 of the width where the fitted value reaches ``threshold`` (None if it does not fall)."""
    if law is None or threshold is None or threshold <= 0 or law["exponent"] >= 0:
        return None
    return (math.log(threshold) - law["intercept"]) / law["exponent"] / math.log(10)


def bisect_width(passes: dict[int, list[bool]], min_ratio: float = 2 ** 0.25) -> int | None:
    """The next width of ``--search bisect``: the geometric midpoint of (m_fail, m_work], if wider than ``min_ratio``."""
    w = working_width(passes)
    lo, hi = w["m_fail"], w["m_work"]
    if lo is None or hi is None or hi / lo <= min_ratio:
        return None
    mid = int(round(math.sqrt(lo * hi)))
    return mid if lo < mid < hi and mid not in passes else None


def grid_law(rows: list[dict], key: str = "m_work") -> dict | None:
    """m_min ∝ n^a d^b ε^{-c} by least squares in logs over instances (``rows``: n, d, eps and ``key``).

    Only the variables that vary enter; None when the rows do not determine the exponents. Each
    exponent has a 95 % Student-t interval from the residuals (ordinary least squares, N − p
    degrees of freedom; None when no degree of freedom is left). ``key`` = ``log10_m_theorem``
    fits the theorem's own widths over the same rows (the value is then a log10).
    """
    rows = [r for r in rows if r.get(key)]
    names = [v for v in ("n", "d", "eps") if len({r[v] for r in rows}) >= 2]
    if not names or len(rows) <= len(names):
        return None
    X = np.column_stack([np.ones(len(rows))] + [np.log([float(r[v]) for r in rows]) for v in names])
    y = np.array([float(r[key]) * math.log(10) if key.startswith("log10") else math.log(float(r[key])) for r in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = len(rows) - X.shape[1]
    half = [None] * X.shape[1]
    if dof > 0:
        cov = float(resid @ resid) / dof * np.linalg.pinv(X.T @ X)
        t = _t975(dof)
        half = [t * math.sqrt(max(float(cov[i, i]), 0.0)) for i in range(X.shape[1])]
    sign = {v: -1.0 if v == "eps" else 1.0 for v in names}  # eps reported as c in ε^{-c}
    out = {v: sign[v] * float(c) for v, c in zip(names, coef[1:])}
    ci = {v: None if h is None else sorted([out[v] - h, out[v] + h]) for v, h in zip(names, half[1:])}
    return {"exponents": out, "ci95": ci, "dof": dof, "log_constant": float(coef[0]), "rows": len(rows),
            "rms_residual_log": float(np.sqrt(np.mean(resid**2))), "form": "m_min ∝ n^n d^d ε^(-eps)", "of": key}
