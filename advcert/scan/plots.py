"""Pictures of a scan (``advcert plot scan.json``): each link's value against m, and m_min across instances.

Per instance and value, on log–log axes: the seeds' band (min to max) and mean, the failing
widths crossed out, the threshold (ε or ε/3), the theorem's bound where the certificate states
one at each width (Theorem 5.1 at the measured R; Lemma 6.5's radius 2nC_h), the smallest
working width, and the theorem's width — an arrow with its log10 when it is off the chart.
For a grid of instances, m_min against n, d and ε (issue 12, item 3).
"""

from __future__ import annotations

import io
import math

from advcert import certificate
from advcert.scan.shards import VALUES

#: at most this many instances get value panels (the rest are in the grid panels)
MAX_INSTANCES = 6


def _panel(ax, rows: list[dict], law: dict, title: str) -> None:
    ms = [r["m"] for r in rows]
    lo = [r["min"] for r in rows]
    hi = [r["max"] for r in rows]
    mean = [r["mean"] for r in rows]
    ok = [i for i, r in enumerate(rows) if r["mean"] is not None and r["mean"] > 0]
    if not ok:
        ax.set_title(title + " (no positive values)", fontsize=8)
        return
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sel = lambda xs: [xs[i] for i in ok]  # noqa: E731
    ax.fill_between(sel(ms), sel(lo), sel(hi), alpha=0.25, color="C0", label="seeds (min–max)")
    fit = law.get("fit")
    lab = "mean" if fit is None else f"mean; fit m^{fit['exponent']:+.3f}"
    ax.plot(sel(ms), sel(mean), "o-", color="C0", ms=3, label=lab)
    bad = [i for i in ok if not rows[i]["pass_all"]]
    if bad:
        ax.plot([ms[i] for i in bad], [mean[i] for i in bad], "x", color="C3", ms=7, label="fails for a seed")
    ax.axhline(law["threshold"], color="k", ls="--", lw=1, label=f"threshold {law['threshold']:.3g}")
    y0, y1 = min(sel(lo) + [law["threshold"]]), max(sel(hi) + [law["threshold"]])
    ax.set_ylim(y0 / 1.5, y1 * 1.5)
    tb = [(r["m"], r["theorem_bound"]) for r in rows if r["theorem_bound"]]
    if tb:
        if max(v for _, v in tb) <= y1 * 100:
            ax.plot([m for m, _ in tb], [v for _, v in tb], ":", color="C2", label="theorem's bound")
            ax.set_ylim(y0 / 1.5, max(y1, max(v for _, v in tb)) * 1.5)
        else:
            ax.annotate(f"theorem's bound ≈ 10^{math.log10(tb[0][1]):.1f} at m = {tb[0][0]} (off chart)",
                        xy=(0.02, 0.97), xycoords="axes fraction", va="top", fontsize=6, color="C2")
    if law.get("m_work"):
        ax.axvline(law["m_work"], color="C2", lw=1, alpha=0.7, label=f"works from m = {law['m_work']}")
    _theorem_width(ax, law, ms)
    if fit and fit.get("ci95"):
        ax.text(0.02, 0.03, f"exponent CI95 [{fit['ci95'][0]:+.2f}, {fit['ci95'][1]:+.2f}]"
                + ("" if law.get("theorem_rate") is None else f"; theorem {law['theorem_rate']:+.3f}"),
                transform=ax.transAxes, fontsize=6)
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("width m", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=5, loc="upper right")


def _theorem_width(ax, law: dict, ms: list[int]) -> None:
    """The theorem's width: a line when on the chart, else an arrow at the right edge with its log10."""
    lt, le = law.get("log10_m_theorem"), law.get("log10_m_extrapolated")
    right = max(ms) * 1.5
    if lt is not None and 10**min(lt, 300) <= right:
        ax.axvline(10**lt, color="C3", lw=1, ls="-.", label=f"theorem's width 10^{lt:.1f}")
    elif lt is not None:
        ax.annotate(f"theorem's width\nm = 10^{lt:.1f} →", xy=(1.0, 0.5), xycoords="axes fraction",
                    xytext=(0.72, 0.5), textcoords="axes fraction", fontsize=6, color="C3", va="center",
                    arrowprops={"arrowstyle": "->", "color": "C3"})
    if le is not None:
        ax.text(0.98, 0.3, f"fit reaches threshold\nat m ≈ 10^{le:.1f}", transform=ax.transAxes, ha="right",
                fontsize=6, color="C1")


def _grid_panels(fig, grid: dict, top: int, ncols: int, nrows: int) -> None:
    for j, var in enumerate(("n", "d", "eps")[:ncols]):
        ax = fig.add_subplot(nrows, ncols, top * ncols + j + 1)
        for k, (value, g) in enumerate(grid.items()):
            shift = 1.0 + 0.03 * (k - (len(grid) - 1) / 2)  # values side by side, not on top of each other
            pts = [(r[var] * shift, r["m_work"]) for r in g["rows"] if r["m_work"]]
            if pts:
                ax.plot(*zip(*sorted(pts)), "o", color=f"C{k}", label=value, ms=4, alpha=0.7)
            # never reached in the grid: the largest failing width, a lower bound of m_min
            up = [(r[var] * shift, r["m_fail"]) for r in g["rows"] if not r["m_work"] and r["m_fail"]]
            if up:
                ax.plot(*zip(*sorted(up)), "^", color=f"C{k}", mfc="none", ms=5,
                        label=f"{value}: > m (never reached)")
        ax.set_xscale("log")
        ax.set_yscale("log", base=2)
        ax.set_xlabel(var if var != "eps" else "ε", fontsize=7)
        ax.set_ylabel("m_min", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=5)
        ax.set_title(f"smallest working width against {var}", fontsize=8)


def plot_scan(doc: dict, out: str) -> None:
    """Draw a scan document into the PNG ``out`` (written whole)."""
    res = doc["results"]
    panels = []
    for name, e in list(res["instances"].items())[:MAX_INSTANCES]:
        for link, entry in e["links"].items():
            panels.append([(name, link, v, entry["laws"][v]) for v in VALUES[link]])
    grid = {v: g for v, g in res.get("grid", {}).items() if any(r["m_work"] for r in g["rows"])}
    ncols = max([len(p) for p in panels] + [3 if grid else 1])
    nrows = len(panels) + (1 if grid else 0)
    import matplotlib  # half a second to import: only when a picture is drawn, not with every scan

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(3.4 * ncols, 2.9 * max(nrows, 1)))
    for i, row in enumerate(panels):
        for j, (name, link, value, law) in enumerate(row):
            ax = fig.add_subplot(nrows, ncols, i * ncols + j + 1)
            rows = [r for r in res["table"] if r["instance"] == name and r["link"] == link and r["value"] == value]
            _panel(ax, rows, law, f"{name}: {value} [{law['label']}]")
    if grid:
        _grid_panels(fig, grid, len(panels), ncols, nrows)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    certificate.write_atomic(out, buf.getvalue())
