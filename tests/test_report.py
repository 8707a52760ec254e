"""The reader's side (advcert.report): the headline in words, tables that fit, figures that say
what they show, the Markdown page. Inputs are the stored certificates (Theorem 5.3 at W* in
headline.json, Theorems 5.2 and 4.1 in train-regression.json) and the session fixtures of the
certified plane (Definition 3.4 to Lemma 6.2); the reader never recomputes a verdict.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from advcert import certificate
from advcert.cli import main
from advcert.report import estimate_notes, headline, render_md, robust_interval, show, widths
from advcert.report.html import md_esc
from advcert.report.plots import draw_certified, draw_measured, draw_training, figures

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "certificates"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = set("─│┌┐└┘├┤┬┴┼━┃╭╮╯╰═║")


@pytest.fixture(scope="module")
def head():
    return certificate.read(HERE / "headline.json")


@pytest.fixture(scope="module")
def train():
    return certificate.read(HERE / "train-regression.json")


def _show(doc, **kw) -> str:
    buf = io.StringIO()
    show(doc, buf, **kw)
    return ANSI.sub("", buf.getvalue())


# ---- the headline -------------------------------------------------------------------------


def test_headline_of_the_paper_scale_certificate(head):
    lines = headline(head)
    assert 2 <= len(lines) <= 3
    rig = [c for c in head["checks"] if c["label"] != "estimate"]
    assert f"all {len(rig)} rigorous checks hold" in lines[0]
    assert "m = 16384 = 10^4.2" in lines[1] and "10^1390.7" in lines[1]
    assert "1386.4 orders of magnitude short" in lines[1] and "infeasible" in lines[1]
    assert "[2.598e+32, 2.598e+32]" in lines[2] and "ε = 0.1" in lines[2] and "theorem-5.3 infeasible" in lines[2]


def test_headline_reads_the_certificate_only(head):
    doc = copy.deepcopy(head)
    doc["objects"]["network"]["m"] = 10**6
    doc["constants"]["log10_m_required"]["value"] = 12.0
    for c in doc["checks"]:
        for k in ("log10_width_required", "log10_m_required", "log10_m_needed"):
            if k in c["details"]:
                c["details"][k] = 12.0
    doc["checks"][4]["verdict"] = "fails"
    lines = headline(doc)
    n_rigorous = sum(1 for c in doc["checks"] if c["label"] != "estimate")
    assert f"1 of {n_rigorous} rigorous checks FAIL (lemma-6.4)" in lines[0]
    assert "10^12.0, 6.0 orders of magnitude short" in lines[1]
    w = widths(doc)
    assert w.m == 10**6 and w.log10_needed == 12.0


def test_headline_of_a_training_certificate(train):
    lines = headline(train)
    rigorous = sum(c["label"] != "estimate" for c in train["checks"])
    assert "Theorem 4.1" in lines[0] and f"all {rigorous} rigorous checks hold" in lines[0]
    assert lines[1].startswith("Training: Algorithm 1 ran 400 steps at m = 4096")
    r = robust_interval(train)
    assert r["id"] == "theorem-4.1" and r["verdict"] == "holds"
    # the interval is the certificate's own attack and sound bound, printed to 4 significant digits
    det = next(c for c in train["checks"] if c["id"] == "theorem-4.1")["details"]
    lo, hi = det["robust_loss_attack_best"], float(Fraction(det["robust_loss_upper_best"]))
    assert f"[{lo:.4g}, {hi:.4g}]" in lines[2] and "theorem-4.1 holds (sound-bound)" in lines[2]


def test_headline_without_a_network(headline_doc):
    lines = headline(headline_doc)
    rigorous = sum(1 for c in headline_doc["checks"] if c["label"] != "estimate")
    assert rigorous == 12  # the 10 foundation claims and the two degree checks (docs/certificate.md)
    assert f"all {rigorous} rigorous checks hold" in lines[0]
    assert lines[1].startswith("No measured plane")


def test_estimate_notes_carry_reason_width_and_infeasible_note(head):
    notes = {cid: (v, n) for cid, v, n in estimate_notes(head)}
    assert notes["theorem-5.3"][0] == "infeasible"
    assert "makes no claim" in notes["theorem-5.3"][1] and "width needed 10^1390.7, ran 10^4.2" in notes["theorem-5.3"][1]
    if "lemma-6.6" in notes:  # a certificate made before lemma-6.6 was proved (math-spec §5.1)
        assert "261-bit arithmetic" in notes["lemma-6.6"][1]  # infeasible for precision, not width
    else:  # the constructed h leaves C(q, eps2) at c = 2, and the note says from which c it fits
        assert notes["lemma-6.6/range"][0] == "violated" and "c = 59/16" in notes["lemma-6.6/range"][1]
    assert notes["theorem-5.1"][0] == "vacuous" and "trivial bound" in notes["theorem-5.1"][1]


# ---- tables -------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("plain", [True, False])
def test_show_fits_the_width_and_keeps_every_verdict(head, width, plain):
    text = _show(head, width=width, plain=plain)
    lines = text.splitlines()
    assert max(len(ln) for ln in lines) <= width
    assert lines[0].startswith("Certified at paper scale")  # the headline comes first
    for c in head["checks"]:
        row = next(ln for ln in lines if re.match(rf"^{re.escape(c['verdict'])}\s+{re.escape(c['id'])}\s", ln))
        assert c["label"] in row
    if plain:
        assert not BOX & set(text) and "\x1b" not in text


def test_show_at_200_columns_has_claims_and_seconds(head):
    text = _show(head, width=200, plain=True)
    header = next(ln for ln in text.splitlines() if ln.startswith("verdict"))
    assert header.split() == ["verdict", "check", "label", "value", "vs", "bound", "s", "claim"]
    assert "sup_{x∈[η,1]} |p1(x) − 1| ≤ ε1 = ε/(3n)" in text


def test_show_wide_at_80_prints_every_claim_in_full(head):
    text = _show(head, width=80, plain=False, wide=True)
    flat = " ".join(text.split())
    for c in head["checks"]:
        assert " ".join(c["claim"].split()) in flat, c["id"]
    assert "…" not in text


def test_show_never_reads_certificate_text_as_markup(head):
    doc = copy.deepcopy(head)
    doc["checks"][0]["claim"] = "[bold red]not markup[/bold red] [attack, sound bound]"
    text = _show(doc, width=200, plain=False)
    assert "[bold red]not markup[/bold red] [attack, sound bound]" in text


def test_show_piped_uses_columns_and_plain_text():
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-m", "advcert", "show", str(HERE / "headline.json")], capture_output=True,
                         text=True, env=env, timeout=120, check=True)
    out = res.stdout
    assert "\x1b" not in out and not BOX & set(out)
    assert max(len(ln) for ln in out.splitlines()) <= 80
    assert out.startswith("Certified at paper scale")
    for v in ("holds", "observed", "infeasible", "vacuous"):
        assert re.search(rf"^{v}\s", out, re.M), v
    assert "why the estimates say what they say" in out
    assert all(ln == ln.rstrip() for ln in out.splitlines())


def test_show_cli_accepts_wide_and_quiet(capsys):
    assert main(["show", str(HERE / "train-regression.json"), "--wide", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Certified at paper scale") and "theorem-4.1" in out


# ---- figures ------------------------------------------------------------------------------


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for sf in getattr(fig, "subfigs", []):
        out += _texts(sf)
    if getattr(fig, "_suptitle", None) is not None:
        out.append(fig._suptitle.get_text())
    return out


def test_certified_plane_axes_are_labelled_and_log(head):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 8.5))
    draw_certified(fig, head)
    axes = fig.axes
    assert len(axes) == 4
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    p1, q, out, inn = axes
    assert p1.get_yscale() == out.get_yscale() == inn.get_yscale() == "log"
    assert any("η = 1/16" in t.get_text() for t in p1.get_legend().get_texts())
    for ax, cid in ((p1, "lemma-6.4"), (out, "claim-6.3/out"), (inn, "claim-6.3/in")):
        hi = float(Fraction(next(c for c in head["checks"] if c["id"] == cid)["enclosure"]["hi"]))
        lo_y, hi_y = ax.get_ylim()
        assert lo_y < hi < hi_y  # the certified band is in view
        assert any(f"certified sup ≤ {hi:.4g}" in t.get_text() for t in ax.get_legend().get_texts())
    assert inn.get_xlim()[1] - inn.get_xlim()[0] < 0.01  # I_in drawn on its own axis, not as a sliver
    assert any("synthetic (rejection+repulsion)" in t for t in _texts(fig))
    plt.close(fig)


def test_measured_plane_width_bars_and_sandwich(head):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(14, 4.8))
    draw_measured(fig, head)
    bars, sand = fig.axes
    widths_drawn = sorted(round(p.get_width(), 1) for p in bars.patches)
    assert 1390.7 in widths_drawn and 237.8 in widths_drawn
    assert any(abs(ln.get_xdata()[0] - 4.214) < 0.01 for ln in bars.get_lines())  # the width that ran
    assert bars.get_xlabel() == "log10 m"
    assert sand.get_yscale() == "log" and "point i" == sand.get_xlabel()
    lo, hi = sand.get_ylim()
    assert lo < 0.1 and hi > 2.5e32  # ε and the bounds in one view
    assert any("Measured plane (m = 16384)" in t and "synthetic" in t for t in _texts(fig))
    plt.close(fig)


def test_training_figure_draws_the_curves(train):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(18, 5))
    draw_training(fig, train)
    curves, drift, sand = fig.axes
    assert curves.get_xlabel() == "step t" and curves.get_ylabel() == "loss"
    n_steps = len(next(c for c in train["checks"] if c["id"] == "theorem-5.2")["details"]["curves"]["L_A"])
    assert any(len(ln.get_xdata()) == n_steps for ln in curves.get_lines())
    assert "Theorem 4.1" in sand.get_title()
    assert any("synthetic" in t for t in _texts(fig))
    plt.close(fig)


def test_plot_dispatches_on_training_checks(tmp_path, head, train, capsys):
    for name in ("headline.json", "train-regression.json"):
        out = tmp_path / (name + ".png")
        assert main(["plot", str(HERE / name), "--out", str(out), "--quiet"]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == ""
    assert len(figures(train)) == 1 and len(figures(head)) == 2


def test_plot_of_a_certified_only_certificate(tmp_path, toy_doc):
    assert [c for c, _ in figures(toy_doc)] == ["The certified plane: Lemma 6.4 and Claim 6.3"]


# ---- the Markdown page and the CLI --------------------------------------------------------


def test_markdown_report_escapes_and_embeds(head, tmp_path):
    doc = copy.deepcopy(head)
    doc["checks"][0]["claim"] = "<script>alert(1)</script> | a pipe"
    md = render_md(doc)
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\| a pipe" in md
    assert md.count("](data:image/png;base64,") == 2
    for ln in headline(head):
        assert md_esc(ln.split(":")[0]) in md
    for key in ("git commit", "working tree dirty", "CPU", "package numpy"):
        assert key in md


def test_report_cli_writes_atomically_and_refuses_missing_folder(tmp_path, capsys):
    out = tmp_path / "page"  # no markdown suffix: the citation test would read the name as a document
    assert main(["report", str(HERE / "train-regression.json"), "--format", "md", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert out.read_text().startswith("# advcert certificate")
    assert [p.name for p in tmp_path.iterdir()] == ["page"]  # no temporary file left
    assert main(["report", str(HERE / "headline.json"), "--out", str(tmp_path / "no" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_report_html_provenance_and_escaping(head):
    from advcert.report import render_html

    doc = copy.deepcopy(head)
    doc["producer"]["git"]["commit"] = '"><b>x</b>'
    page = render_html(doc)
    assert "&quot;&gt;&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert json.dumps(head["producer"]["cpu"])[1:-1] in page
    assert "Content-Security-Policy" in page and "<script" not in page


def test_the_vocabulary_is_the_certificates_own(head):
    from advcert.checks import ESTIMATE_VERDICTS
    from advcert.report.html import VERDICTS
    from advcert.report.words import infeasible_kind

    assert VERDICTS == ("holds", "fails", *ESTIMATE_VERDICTS)
    doc = (ROOT / "docs" / "verdicts.md").read_text()
    for w in VERDICTS:
        assert f"**`{w}`**" in doc, w  # each word defined once, in bold
    for w in ("safe", "unsafe", "unknown"):
        assert f"`{w}`" in doc
    kinds = {c["id"]: infeasible_kind(c) for c in head["checks"]}
    assert kinds["theorem-5.3"] == "width" and kinds["lemma-6.4"] is None
    assert kinds["lemma-6.6"] in ("precision", None)  # None once lemma-6.6 is proved (math-spec §5.1)
    assert infeasible_kind({"verdict": "infeasible", "details": {"infeasible_note": "float64 floor"}}) == "precision"


def test_plot_and_report_of_a_route_lp_certificate(tmp_path):
    # route lp has no p1 (Claim 6.3's q is built directly): both readers used to stop with KeyError 'p1'
    cert = tmp_path / "lp.json"
    assert main(["build", "--gamma", "0.5", "--eps", "0.1", "--poly", "lp", "--certified-only", "--quiet",
                 "--out", str(cert)]) == 0
    assert main(["plot", str(cert), "--out", str(tmp_path / "lp.png")]) == 0
    assert (tmp_path / "lp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", str(cert), "--out", str(tmp_path / "lp.html")]) == 0
    page = (tmp_path / "lp.html").read_text(encoding="utf-8")
    assert "Claim 6.3" in page


def test_the_exact_radius_reads_as_a_radius():
    from advcert.report.table import value_vs_bound

    # m^4 (max ||W*_r - W0_r||^2)^3 <= R^6 with m^{2/3} radius 292.5 and R = 1924: the sixth roots
    c = {"id": "lemma-6.5/radius", "label": "exact", "relation": "<=",
         "value": str(Fraction(2925, 10) ** 6), "bound": str(Fraction(1924) ** 6)}
    assert value_vs_bound(c) == "radius 292.5 <= R = 1924"
    huge = dict(c, value=str(Fraction(10) ** 600), bound=str(Fraction(10) ** 606))
    assert value_vs_bound(huge) == "radius 1e+100 <= R = 1e+101"  # beyond float range too
    assert value_vs_bound(dict(c, label="estimate", value=1.5, bound=2.0)) == "1.5 <= 2"
