"""Figures of a certificate, drawn from the file alone (the stored objects and checks; nothing
is re-certified here, the curves are float64 drawings of the stored exact polynomials).

* the certified plane: Lemma 6.4 (|p1(x) − 1| on [η, 1], η marked), Claim 6.3 (q on [−1, 1];
  its errors |q| on I_out and |q − 1| on I_in on a log axis against the certified sup, the
  enclosure's ``hi``, and ε1);
* the measured plane: the width each link of the chain needs (Lemma 6.5, Theorem 5.1,
  Theorem 5.3) against the width that ran, and the Theorem 5.3 sandwich per point (attack below,
  sound bound above);
* a training certificate (Algorithm 1): the curves of Theorem 5.2, drift against R_train with
  the Theorem 5.1 gap, and the Theorem 4.1 sandwich per point at the best iterate.

Every figure's title names the data source (``instance.source``).
"""

from __future__ import annotations

import io
import math
from fractions import Fraction

import numpy as np
from flint import fmpq, fmpq_poly

from advcert.certificate import write_atomic
from advcert.errors import InputError
from advcert.poly.sgn import chebyshev_x
from advcert.report.words import as_float, fmt, source_name, width_requirements, widths

_FLOOR = 1e-18  # below float64 resolution of these errors: drawn at the axis floor, not as -inf

_WIDTH_NAMES = {
    "log10_m_discretisation": "net discretisation",
    "log10_m_hoeffding": "Hoeffding + net",
    "log10_m_required": "largest of the chain",
    "log10_m_needed": "gap ≤ ε/3",
    "log10_m_needed_eps2_plain": "gap ≤ ε/3 if ε2 = ε/(9n)",
    "log10_width_required": "M0",
    "log10_m_theorem_5_1_at_R_train": "Thm 5.1 at R_train",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ticks(n: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


def _png(fig) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _scale(doc: dict) -> str:
    inst = doc.get("instance", {})
    return (f"n = {inst.get('n')}, d = {inst.get('d')}, γ = {fmt(inst.get('gamma'))}, "
            f"ε = {fmt(inst.get('eps'))}, ρ = {fmt(inst.get('rho'))}; data: {source_name(doc)}")


def _cheb(doc: dict, name: str) -> np.ndarray | None:
    """The stored object ``name`` (p1 or q) in Chebyshev form, or None when the certificate
    has none (route lp builds q directly and has no p1, Claim 6.3)."""
    obj = doc["objects"].get(name)
    if obj is None:
        return None
    exact = fmpq_poly([fmpq(Fraction(c).numerator, Fraction(c).denominator) for c in obj["coefficients"]])
    return np.array([float(v) for v in chebyshev_x(exact)])  # stable on [-1, 1], unlike monomials


def _interval(chk: dict) -> tuple[float, float]:
    lo, hi = (float(Fraction(v)) for v in chk["details"]["interval"])
    return lo, hi


def _certified_hi(ax, chk: dict | None, eps1: float, x0: float, x1: float, color: str, top: float) -> None:
    """The certified sup (enclosure hi) as a band up to it, and ε1 as the claim's bound; a log
    y-axis from four decades below the smaller of the two to ``top``."""
    hi = float(Fraction(chk["enclosure"]["hi"])) if chk is not None and "enclosure" in chk else eps1
    bottom = min(hi, eps1) * 1e-4
    if chk is not None and "enclosure" in chk:
        ax.fill_between([x0, x1], bottom, hi, color=color, alpha=0.15, lw=0)
        ax.hlines(hi, x0, x1, color=color, lw=1.8, alpha=0.7, label=f"certified sup ≤ {hi:.4g} ({chk['id']} {chk['verdict']})")
    ax.axhline(eps1, color="k", ls="--", lw=1, label=f"claimed bound ε1 = ε/(3n) = {eps1:.4g}")
    ax.set_ylim(bottom, top)


def _draw_p1(ax1, doc: dict, p1, eta: float, eps1: float, checks: dict) -> None:
    x = np.linspace(0.0, 1.0, 6000)
    ax1.semilogy(x, np.maximum(np.abs(p1(x) - 1.0), _FLOOR), lw=0.8, label="|p1(x) − 1| (float64 drawing)")
    ax1.axvspan(0.0, eta, color="0.85", lw=0, label="|x| < η: no claim")
    eta_s = str(doc["parameters"]["eta"])
    eta_s = f"{eta_s} = {eta:.4g}" if len(eta_s) < 12 and "/" in eta_s else f"{eta:.4g}"
    ax1.axvline(eta, color="tab:purple", lw=1, label=f"η = {eta_s}")
    _certified_hi(ax1, checks.get("lemma-6.4"), eps1, eta, 1.0, "tab:green", top=3.0)
    ax1.set(xlabel="x", ylabel="|p1(x) − 1|  (log)",
            title=f"Lemma 6.4: sign polynomial p1, degree {doc['objects']['p1']['degree']}, on [η, 1]")
    ax1.legend(fontsize=7, loc="upper right")


def _no_p1(ax1, doc: dict) -> None:
    ax1.set_axis_off()
    route = doc["parameters"].get("route", "lp")
    ax1.text(0.5, 0.5, f"Lemma 6.4: no sign polynomial\n(route {route}: q of degree "
             f"{doc['objects']['q']['degree']} was built directly\nand certified by Claim 6.3's checks)",
             ha="center", va="center", fontsize=9, transform=ax1.transAxes)


def draw_certified(fig, doc: dict) -> None:
    """Lemma 6.4 and Claim 6.3 on ``fig`` (a Figure or SubFigure): four labelled panels."""
    a, qa = _cheb(doc, "p1"), _cheb(doc, "q")
    alpha = doc["objects"]["q"].get("alpha")
    alpha = None if alpha is None else float(Fraction(alpha))
    eta = float(Fraction(doc["parameters"]["eta"]))
    eps1 = float(Fraction(doc["parameters"]["eps1"]))
    checks = {c["id"]: c for c in doc.get("checks", [])}

    def p1(x):
        return np.polynomial.chebyshev.chebval(x, a)

    def q(z):
        return np.polynomial.chebyshev.chebval(z, qa)

    (ax1, ax2), (ax3, ax4) = fig.subplots(2, 2)
    if a is None:
        _no_p1(ax1, doc)
    else:
        _draw_p1(ax1, doc, p1, eta, eps1, checks)

    z = np.linspace(-1.0, 1.0, 8000)
    ax2.plot(z, q(z), lw=0.9, label="q(z)")
    for cid, color, name in (("claim-6.3/out", "tab:red", "I_out (q ≈ 0)"), ("claim-6.3/in", "tab:green", "I_in (q ≈ 1)")):
        if cid in checks:
            lo, hi = _interval(checks[cid])
            ax2.axvspan(lo, hi, color=color, alpha=0.15, lw=0, label=name)
    if alpha is not None:
        ax2.axvline(alpha, color="gray", ls=":", lw=1, label=f"α = {alpha:.5g} (the step)")
    if "claim-6.3/in" in checks:  # I_in is a sliver at this scale: point at it
        lo_in = _interval(checks["claim-6.3/in"])[0]
        ax2.annotate("I_in", xy=(lo_in, 1.0), xytext=(lo_in - 0.3, 0.8), fontsize=8, color="tab:green",
                     arrowprops={"arrowstyle": "->", "color": "tab:green"})
    ax2.set(xlabel="z = ⟨x_i, x⟩", ylabel="q(z)", title="Claim 6.3: step polynomial q on [−1, 1]")
    ax2.legend(fontsize=7, loc="upper left")

    for ax, cid, color, err, name in (
            (ax3, "claim-6.3/out", "tab:red", lambda zz: np.abs(q(zz)), "|q(z)| on I_out"),
            (ax4, "claim-6.3/in", "tab:green", lambda zz: np.abs(q(zz) - 1.0), "|q(z) − 1| on I_in")):
        if cid not in checks:
            ax.set_axis_off()
            continue
        lo, hi = _interval(checks[cid])
        zz = np.linspace(lo, hi, 6000)
        ax.semilogy(zz, np.maximum(err(zz), _FLOOR), lw=0.9, color="tab:blue", zorder=3,
                    label=f"{name} (float64 drawing)")
        _certified_hi(ax, checks[cid], eps1, lo, hi, color, top=10 * eps1)
        ax.set_xlim(lo, hi)
        ax.xaxis.set_major_locator(_ticks(4))  # I_in is ~1e-3 wide: few ticks, or their labels collide
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.set(xlabel=f"z ∈ [{lo:.6g}, {hi:.6g}]", ylabel=f"{name.split(' on ')[0]}  (log)",
               title=f"Claim 6.3: {name}")
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Certified plane (paper scale): {_scale(doc)}", fontsize=10)


def draw_measured(fig, doc: dict) -> None:
    """The width gap (Lemma 6.5, Theorem 5.1, Theorem 5.3) and the Theorem 5.3 sandwich on ``fig``."""
    ax1, ax2 = fig.subplots(1, 2)
    w = widths(doc)
    reqs = width_requirements(doc)
    if reqs and w.m is not None:
        labels = [f"{cid}: {_WIDTH_NAMES.get(k, k)}" for cid, k, _ in reqs]
        vals = [v for _, _, v in reqs]
        ypos = np.arange(len(vals))[::-1]
        ax1.barh(ypos, vals, color="tab:orange", alpha=0.8, label="log10(width needed)")
        ax1.axvline(w.log10_run, color="tab:blue", lw=2, label=f"log10(width run) = {w.log10_run:.2f} (m = {w.m})")
        for y, v in zip(ypos, vals):
            ax1.text(v, y, f" 10^{v:.1f} ({v - w.log10_run:.0f} orders short)" if v > w.log10_run else f" 10^{v:.1f}",
                     va="center", fontsize=7)
        ax1.set_yticks(ypos, labels, fontsize=7)
        ax1.set_xlim(0, max(vals + [w.log10_run]) * 1.35)
        ax1.legend(fontsize=7, loc="lower right")
    else:
        ax1.text(0.5, 0.5, "the certificate states no width requirement", ha="center", transform=ax1.transAxes)
    ax1.set(xlabel="log10 m", title="Width needed by each link vs the width that ran")
    c53 = next((c for c in doc.get("checks", []) if c["id"] == "theorem-5.3"), None)
    _sandwich(ax2, c53, (c53 or {}).get("details", {}).get("per_point"), doc, "Theorem 5.3 at W*")
    fig.suptitle(f"Measured plane (m = {w.m}): {_scale(doc)}", fontsize=10)


def _sandwich(ax, chk: dict | None, per_point: list | None, doc: dict, name: str) -> None:
    """Per point i: attack (an estimate, below) and the sound upper bound of sup |f_W − y_i| (above)."""
    if chk is None or not per_point:
        ax.text(0.5, 0.5, "no per-point robust loss in this certificate", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    att = np.array([as_float(p.get("attack")) or 0.0 for p in per_point])
    up = np.array([as_float(p.get("upper", p.get("crown"))) or 0.0 for p in per_point])
    i = np.arange(len(per_point))
    ax.vlines(i, att, up, color="0.5", lw=3, alpha=0.5)
    ax.plot(i, att, "v", color="tab:orange", ms=6, label="attack (estimate, a lower bound)")
    ax.plot(i, up, "^", color="tab:green", ms=6, label="sound upper bound (α,β-CROWN + BaB)")
    eps = as_float(doc.get("instance", {}).get("eps"))
    # the theorem bounds the MEAN over points by ε, not each point
    ax.axhline(float(att.mean()), color="tab:orange", ls=":", lw=1, label=f"mean of attacks = {att.mean():.4g}")
    ax.axhline(float(up.mean()), color="tab:green", ls=":", lw=1, label=f"mean of upper bounds = {up.mean():.4g}")
    if eps is not None:
        ax.axhline(eps, color="k", ls="--", lw=1, label=f"ε = {eps:g} (bounds the mean)")
    vals = np.concatenate([att, up, [eps] if eps else []])
    if np.all(vals > 0):
        # ε and every bound in view: the gap between them is the point of the panel
        ax.set_yscale("log")
        lo, hi = float(vals.min()), float(vals.max())
        ax.set_ylim(lo / 3, hi * 3)
    ratio = max((u / a for a, u in zip(att, up) if a > 0), default=float("nan"))
    ax.text(0.02, 0.02, f"max upper/attack = {ratio:.10g}" if math.isfinite(ratio) else "", transform=ax.transAxes,
            fontsize=7)
    ax.set_xticks(i)
    ax.set(xlabel="point i", ylabel="sup over the cap of |f_W(x̃) − y_i|  (log)",
           title=f"{name}: attack ≤ robust loss ≤ sound bound\n{chk['id']}: {chk['verdict']} ({chk['label']})")
    ax.legend(fontsize=7, loc="best")


def draw_training(fig, doc: dict) -> None:
    """Algorithm 1's curves (Theorem 5.2), drift and the Theorem 5.1 gap, and Theorem 4.1's sandwich."""
    checks = {c["id"]: c for c in doc.get("checks", [])}
    if "theorem-5.2" not in checks:
        raise InputError("the certificate has no theorem-5.2 check (no training curves)",
                         "pass a certificate written by advcert train")
    cv = checks["theorem-5.2"]["details"]["curves"]
    eps = float(Fraction(doc["instance"]["eps"]))
    L = np.array(cv["L_A"], dtype=float)
    t = np.arange(L.size)
    cp = cv["checkpoints"]
    ax1, ax2, ax3 = fig.subplots(1, 3)
    ax1.plot(t, L, lw=1, label="L_A(f_W(t)) (training adversary)")
    ax1.plot(t, cv["clean"], lw=1, label="clean loss")
    if cv["average"]:
        ax1.plot(np.arange(1, len(cv["average"]) + 1), cv["average"], lw=1, ls="--", label="running average (Thm 5.2)")
    up = [(tt, u) for tt, u in zip(cp["t"], cp["crown_upper"]) if u is not None]
    if up:
        ax1.plot(*zip(*up), "o-", ms=3, lw=0.8, label="sound CROWN bound of L_A*")
    c41 = checks.get("theorem-4.1")
    if c41 is not None:
        det = c41["details"]
        ub = float(Fraction(det["robust_loss_upper_best"]))
        ax1.plot([det["t_best"]], [ub], "*", ms=12, color="tab:green",
                 label=f"sound BaB bound at t* = {det['t_best']}: {ub:.4g}")
    ax1.axhline(eps, color="k", ls=":", lw=1, label="ε")
    ax1.set(xlabel="step t", ylabel="loss", title="Algorithm 1: robust training loss (Thms 5.2, 4.1)")
    ax1.legend(fontsize=7)
    ax2.plot(t, cv["drift"], lw=1, label="drift m^{2/3} max_r ‖W_r − W0_r‖")
    ax2.axhline(cv["R_train"], color="k", ls=":", lw=1, label=f"R_train = R²/ε = {cv['R_train']:.4g}")
    ax2.plot(cp["t"], cp["gap_sampled"], "s-", ms=3, lw=0.8, label="sampled sup |f − g| (Thm 5.1, lower bound)")
    ax2.plot(cp["t"], cp["gap_theorem_5_1"], "^-", ms=3, lw=0.8, label="R_t²/m^{1/6} (Thm 5.1 at the drift reached)")
    ax2.set_yscale("symlog", linthresh=1e-2)
    ax2.set(xlabel="step t", ylabel="drift / gap  (symlog)", title="Drift and the Theorem 5.1 gap")
    ax2.legend(fontsize=7)
    robust = (c41 or {}).get("details", {}).get("robust") or {}
    _sandwich(ax3, c41, robust.get("per_point"), doc, f"Theorem 4.1 at t* = {(c41 or {}).get('details', {}).get('t_best')}")
    m = doc.get("objects", {}).get("network", {}).get("m")
    fig.suptitle(f"advcert train (m = {m}): {_scale(doc)}", fontsize=10)


def is_training(doc: dict) -> bool:
    """A training certificate carries Algorithm 1's checks (Theorems 5.2 and 4.1)."""
    return any(c.get("id") in ("theorem-5.2", "theorem-4.1") for c in doc.get("checks", []))


def has_measured(doc: dict) -> bool:
    """The measured plane is present when the certificate holds a network (Lemma 6.5 on)."""
    return bool(doc.get("objects", {}).get("network"))


def figures(doc: dict) -> list[tuple[str, bytes]]:
    """(caption, PNG bytes) per figure of ``doc``: the planes, or the training curves."""
    plt = _pyplot()
    out = []
    if is_training(doc):
        fig = plt.figure(figsize=(18, 5.2), layout="constrained")
        draw_training(fig, doc)
        out.append(("Algorithm 1: Theorems 5.2 and 4.1", _png(fig)))
        return out
    fig = plt.figure(figsize=(13, 8.5), layout="constrained")
    draw_certified(fig, doc)
    out.append(("The certified plane: Lemma 6.4 and Claim 6.3", _png(fig)))
    if has_measured(doc):
        fig = plt.figure(figsize=(14, 4.8), layout="constrained")
        draw_measured(fig, doc)
        out.append(("The measured plane: the width gap and the Theorem 5.3 sandwich", _png(fig)))
    return out


def plot_certificate(doc: dict, out: str, wide: bool = False) -> None:
    """One PNG: the certified plane (Lemma 6.4, Claim 6.3) and, with a network, the measured plane."""
    plt = _pyplot()
    measured = has_measured(doc)
    w = 16 if wide else 13
    fig = plt.figure(figsize=(w, 13.5 if measured else 8.5), layout="constrained")
    if measured:
        top, bottom = fig.subfigures(2, 1, height_ratios=[8.5, 5])
        draw_certified(top, doc)
        draw_measured(bottom, doc)
    else:
        draw_certified(fig, doc)
    write_atomic(out, _png(fig))


def plot_training(doc: dict, out: str, wide: bool = False) -> None:
    """One PNG of a training certificate (Theorems 5.2 and 4.1; see :func:`draw_training`)."""
    plt = _pyplot()
    fig = plt.figure(figsize=(20 if wide else 18, 5.2), layout="constrained")
    draw_training(fig, doc)
    write_atomic(out, _png(fig))


def plot(doc: dict, out: str, wide: bool = False) -> None:
    """``advcert plot``: the training curves for a training certificate, else the two planes."""
    (plot_training if is_training(doc) else plot_certificate)(doc, out, wide=wide)
