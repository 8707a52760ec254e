"""Terminal tables and matplotlib figures, made from certificate files (never recomputed).

Numbers are shown with their labels; an estimate is never printed as if it held.
"""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
from flint import fmpq, fmpq_poly

from advcert.certificate import write_atomic
from advcert.errors import InputError
from advcert.poly.sgn import chebyshev_x
from advcert.rational import log2

_MARK = {"holds": "holds", "fails": "FAILS", "observed": "observed", "violated": "VIOLATED",
         "vacuous": "vacuous", "infeasible": "infeasible"}


def fmt(value) -> str:
    """A short human form of a certificate number (rational string or float)."""
    if isinstance(value, str):
        try:
            x = Fraction(value)
        except ValueError:
            return value
        if x.denominator == 1 and abs(x) < 10**6:
            return str(x.numerator)
        if x == 0:
            return "0"
        lg = log2(abs(x))
        if abs(lg) > 1000:  # beyond float range: show the exponent
            return f"{'-' if x < 0 else ''}2^{lg:.1f}"
        return f"{float(x):.6g}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def rows(doc: dict) -> list[tuple[str, str, str, str, str, str]]:
    out = []
    for c in doc.get("checks", []):
        if "enclosure" in c:
            val = f"[{fmt(c['enclosure']['lo'])}, {fmt(c['enclosure']['hi'])}]"
        else:
            val = fmt(c.get("value"))
        out.append((c["id"], c.get("claim", ""), f"{val} {c.get('relation', '')} {fmt(c.get('bound'))}",
                    c["label"], _MARK.get(c["verdict"], c["verdict"]), f"{c.get('seconds', 0):.2f}"))
    return out


def print_table(doc: dict, stream) -> None:
    """The checks as a table (id, claim, value vs bound, label, verdict, seconds)."""
    from rich.console import Console
    from rich.table import Table

    probe = Console(file=stream)
    # a pipe or file has no width: use a wide page rather than wrapping claims word by word
    console = Console(file=stream, highlight=False, width=max(120, probe.width) if probe.is_terminal else 200)
    inst = doc.get("instance", {})
    title = (f"advcert certificate: n={inst.get('n')} d={inst.get('d')} γ={fmt(inst.get('gamma'))} "
             f"ε={fmt(inst.get('eps'))} ρ={fmt(inst.get('rho'))} seed={inst.get('seed')}")
    table = Table(title=title, show_lines=False)
    for name, kw in (("check", {"no_wrap": True}), ("claim", {"ratio": 1, "min_width": 30}),
                     ("value vs bound", {"no_wrap": True}), ("label", {"no_wrap": True}),
                     ("verdict", {"no_wrap": True}), ("s", {"justify": "right", "no_wrap": True})):
        table.add_column(name, **kw)
    for r in rows(doc):
        style = "red" if r[4] in ("FAILS", "VIOLATED") else None
        table.add_row(*r, style=style)
    console.print(table)
    consts = doc.get("constants", {})
    if consts:
        bits = [f"{k}={fmt(v.get('value'))} ({v.get('label')})" for k, v in consts.items()]
        console.print("constants: " + "; ".join(bits))


def plot_certificate(doc: dict, out: str) -> None:
    """Two panels from the certificate's stable float forms: |p1 − 1| on [η, 1] against the
    certified enclosure, and q on [−1, 1] with the certified intervals I_in and I_out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exact = fmpq_poly([fmpq(Fraction(c).numerator, Fraction(c).denominator) for c in doc["objects"]["p1"]["coefficients"]])
    a = np.array([float(v) for v in chebyshev_x(exact)])  # stable on [-1, 1], unlike monomials
    alpha = float(Fraction(doc["objects"]["q"]["alpha"]))
    eta = float(Fraction(doc["parameters"]["eta"]))
    eps1 = float(Fraction(doc["parameters"]["eps1"]))
    checks = {c["id"]: c for c in doc["checks"]}

    def p1(x):
        return np.polynomial.chebyshev.chebval(x, a)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    x = np.linspace(eta, 1.0, 4000)
    ax1.semilogy(x, np.abs(p1(x) - 1.0) + 1e-300, lw=0.8, label="|p1(x) − 1| (float64, Chebyshev form)")
    ax1.axhline(eps1, color="k", ls="--", lw=1, label="ε1 = ε/(3n)")
    if "lemma-6.4" in checks:
        hi = float(Fraction(checks["lemma-6.4"]["enclosure"]["hi"]))
        ax1.axhline(hi, color="tab:green", lw=1, label=f"certified sup ≤ {hi:.4g}")
    ax1.set_xlabel("x")
    ax1.set_title(f"Lemma 6.4: sign polynomial, degree {doc['objects']['p1']['degree']}")
    ax1.legend(fontsize=8, loc="lower left")

    z = np.linspace(-1.0, 1.0, 6000)
    q = (p1((z - alpha) / 2.0) + 1.0) / 2.0
    ax2.plot(z, q, lw=0.8, label="q(z)")
    for cid, color, name in (("claim-6.3/in", "tab:green", "I_in"), ("claim-6.3/out", "tab:red", "I_out")):
        if cid in checks:
            lo, hi = (float(Fraction(v)) for v in checks[cid]["details"]["interval"])
            e = float(Fraction(checks[cid]["enclosure"]["hi"]))
            ax2.axvspan(lo, hi, color=color, alpha=0.12, label=f"{name}: sup error ≤ {e:.3g}")
    ax2.axvline(alpha, color="gray", ls=":", lw=1, label=f"α = {alpha:.5g}")
    ax2.set_xlabel("z = <x_i, x>")
    ax2.set_title("Claim 6.3: step polynomial q")
    ax2.legend(fontsize=8, loc="upper left")
    inst = doc["instance"]
    fig.suptitle(f"advcert: n={inst['n']} d={inst['d']} γ={fmt(inst['gamma'])} ε={fmt(inst['eps'])} ρ={fmt(inst['rho'])}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    write_atomic(out, buf.getvalue())


def plot_training(doc: dict, out: str) -> None:
    """Training curves from a certificate's ``theorem-5.2`` and ``theorem-4.1`` checks (Theorems 5.2, 4.1).

    Left: L_A, clean loss, running average, CROWN upper bound at checkpoints, the sound bound
    of the best iterate, ε. Right: drift against R_train, sampled Theorem 5.1 gap.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checks = {c["id"]: c for c in doc["checks"]}
    if "theorem-5.2" not in checks:
        raise InputError("the certificate has no theorem-5.2 check (no training curves)",
                         "pass a certificate written by advcert train")
    cv = checks["theorem-5.2"]["details"]["curves"]
    eps = float(Fraction(doc["instance"]["eps"]))
    L = np.array(cv["L_A"], dtype=float)
    t = np.arange(L.size)
    cp = cv["checkpoints"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
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
    ax1.set_xlabel("step t")
    ax1.set_ylabel("loss")
    ax1.set_title("Algorithm 1: robust training loss (Theorems 4.1 and 5.2)")
    ax1.legend(fontsize=8)
    ax2.plot(t, cv["drift"], lw=1, label="drift m^{2/3} max_r ‖W_r − W0_r‖")
    ax2.axhline(cv["R_train"], color="k", ls=":", lw=1, label=f"R_train = R²/ε = {cv['R_train']:.4g}")
    ax2.plot(cp["t"], cp["gap_sampled"], "s-", ms=3, lw=0.8, label="sampled sup |f − g| (Thm 5.1, lower bound)")
    ax2.plot(cp["t"], cp["gap_theorem_5_1"], "^-", ms=3, lw=0.8, label="R_t²/m^{1/6} (Thm 5.1 at the drift reached)")
    ax2.set_yscale("symlog", linthresh=1e-2)
    ax2.set_xlabel("step t")
    ax2.set_title("drift and the Theorem 5.1 gap")
    ax2.legend(fontsize=8)
    inst = doc["instance"]
    m = doc.get("objects", {}).get("network", {}).get("m")
    fig.suptitle(f"advcert train: n={inst['n']} d={inst['d']} m={m} "
                 f"γ={inst['gamma']} ε={inst['eps']} ρ={inst['rho']}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(out, buf.getvalue())


def print_sandwich(doc: dict, chk: dict, domain: str, stream) -> None:
    """The per-point table of a re-run ``theorem-5.3`` (Theorem 5.3): attack below, sound bound above."""
    det = chk["details"]
    pts = doc["instance"]["points"]
    m = doc.get("objects", {}).get("network", {}).get("m")
    print(f"theorem 5.3 sandwich, {len(pts)} points, m = {m}, d = {len(pts[0])}, "
          f"rho = {float(Fraction(doc['instance']['rho'])):g}, domain {domain}", file=stream)
    print(f"{'i':>4} {'attack (estimate)':>18} {'upper (sound)':>15} {'gap':>11} {'upper/attack':>13}  masking",
          file=stream)
    for i, p in enumerate(det["per_point"]):
        r = "-" if p["ratio"] is None else f"{p['ratio']:.4f}"
        print(f"{i:4d} {p['attack']:18.8g} {float(Fraction(p['upper'])):15.8g} {p['gap']:11.3g} {r:>13}  "
              f"{'yes' if p['gradient_masking'] else 'no'}", file=stream)
    print(f"L_A = {det['attack']:.8g} (estimate)  <=  L_A* <=  {det['upper_float']:.8g} (sound-bound);  "
          f"eps = {float(Fraction(doc['instance']['eps'])):g}: {chk['verdict']} ({det['reason']})", file=stream)
