"""advcert scan (issue 12): config, seeds, shards and their re-check, laws, resume, Dask, plots, and the page.

The end-to-end scans are tiny (the two-point instance, widths 2^8..2^10, one seed, the w-star
link: about a second a shard once warm); the Dask one runs on a 2-worker LocalCluster.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import linregress as stats_linregress

from advcert import certificate
from advcert.cli import main
from advcert.errors import InputError
from advcert.scan import config, laws, merge, shards
from advcert.scan.execute import train_values

ROOT = Path(__file__).resolve().parent.parent
SCANS = ROOT / "certificates" / "scans"
PAGE = ROOT / "docs" / "theory-vs-practice.md"
TINY = ["scan", "--instance", "small", "--m", "2^8..2^10", "--seeds", "1", "--links", "w-star", "--quiet"]


# ---------------------------------------------------------------------------------------------
# config and seeds
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, want", [("2^10..2^16", tuple(2**e for e in range(10, 17))),
                                        ("2^8..2^12:2", (256, 1024, 4096)), ("4096,1024", (1024, 4096)),
                                        ("2^10,3000", (1024, 3000))])
def test_parse_widths(text, want):
    assert config.parse_widths(text) == want


@pytest.mark.parametrize("text", ["2^x", "2^10..3^12", "2^12..2^10", "", "0", "2^30"])
def test_parse_widths_refuses(text):
    with pytest.raises(InputError):
        config.parse_widths(text)


def test_seeds_are_spawned_from_one_seed_sequence():
    kids = np.random.SeedSequence(7).spawn(3)
    assert config.seed_values(7, 3) == tuple(int(k.generate_state(1)[0]) for k in kids)
    assert config.seed_values(7, 2) == config.seed_values(7, 3)[:2]  # more seeds never move the first ones


def test_task_keys_depend_on_the_task_only():
    cfg = config.make_config({"instances": {"a": {"kind": "small"}, "b": {"kind": "small"}}, "m": "2^8..2^9", "seeds": 2})
    ts = shards.tasks_at(cfg)
    assert len(ts) == 8 and len({shards.task_key(t) for t in ts}) == 4  # the same instance under two names
    again = shards.tasks_at(config.make_config({"instances": {"z": {"kind": "small"}}, "m": "2^9", "seeds": 2}))
    assert {shards.task_key(t) for t in again} <= {shards.task_key(t) for t in ts}


def test_toml_config(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('m = "2^8..2^9"\nseeds = 2\nlinks = ["w-star", "train"]\n'
                 '[instances.pair]\nkind = "small"\n'
                 '[instances.mid]\ngamma = "0.5"\neps = "0.5"\nn = 4\nd = 4\nrho = "1/20"\n')
    cfg = config.make_config(config.load_toml(str(p)))
    assert [s.name for s in cfg.instances] == ["pair", "mid"]
    assert cfg.instances[1].gamma == Fraction(1, 2) and cfg.instances[1].kind == "synthetic"
    assert cfg.links == ("w-star", "train") and cfg.widths == (256, 512)


@pytest.mark.parametrize("extra", [["--m", "2^x"], ["--links", "w-star,nope"], ["--scheduler", "yarn"],
                                   ["--instance", "synthetic", "--gamma", "0.5"], ["--config", "/nonexistent.toml"],
                                   ["--sandwich-budget", "0"], ["--search", "bisect", "--bisect-rounds", "x"]])
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, extra):
    out = tmp_path / "out"
    args = ["scan", "--m", "2^8", "--out", str(out)] + (["--instance", "small"] if "--instance" not in extra else [])
    status = main(args + extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("advcert: error:")
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# laws
# ---------------------------------------------------------------------------------------------


def test_working_width_bracket_and_monotonicity():
    w = laws.working_width({256: [False, False], 512: [True, False], 1024: [True, True], 2048: [True, True]})
    assert (w["m_work"], w["m_fail"], w["m_first"], w["monotone"]) == (1024, 512, 1024, True)
    w = laws.working_width({256: [True], 512: [False], 1024: [True]})
    assert (w["m_work"], w["m_fail"], w["m_first"], w["monotone"]) == (1024, 512, 256, False)
    w = laws.working_width({256: [False], 512: [False]})
    assert w["m_work"] is None and w["m_fail"] == 512
    assert laws.working_width({256: [True], 512: [True]})["below_grid"]


def test_fit_recovers_the_exponent_and_extrapolates():
    ms = [2**e for e in range(8, 15)]
    vals = {m: [3.0 * m ** (-1 / 6), 2.9 * m ** (-1 / 6)] for m in ms}
    law = laws.fit(vals)
    assert law["exponent"] == pytest.approx(-1 / 6, abs=1e-9)
    assert law["ci95"][0] <= -1 / 6 <= law["ci95"][1] + 1e-12
    # the pooled constant is the geometric mean sqrt(3 * 2.9): it reaches 0.3 at m = (sqrt(8.7)/0.3)^6
    assert laws.extrapolate(law, 0.3) == pytest.approx(6 * math.log10(math.sqrt(8.7) / 0.3), abs=1e-9)
    assert laws.extrapolate({"exponent": 0.1, "intercept": 0.0}, 0.3) is None
    assert laws.fit({256: [None], 512: [0.1]}) is None  # one resolved width: no law


def test_bisect_narrows_in_log_m():
    passes = {256: [False], 4096: [True]}
    assert laws.bisect_width(passes) == 1024
    assert laws.bisect_width({1024: [False], 1100: [True]}) is None


def test_grid_law_exponents():
    rows = [{"n": n, "d": d, "eps": e, "m_work": 7 * n**2 * d ** 0.5 * e**-1}
            for n in (5, 10, 20) for d in (4, 8) for e in (0.1, 0.2)]
    g = laws.grid_law(rows)
    assert g["exponents"]["n"] == pytest.approx(2) and g["exponents"]["d"] == pytest.approx(0.5)
    assert g["exponents"]["eps"] == pytest.approx(1)
    assert all(lo == pytest.approx(hi, abs=1e-6) for lo, hi in g["ci95"].values())  # an exact law: no spread
    theory = laws.grid_law([{**r, "log10_m_theorem": math.log10(r["m_work"]) + 100} for r in rows], "log10_m_theorem")
    assert theory["exponents"] == pytest.approx(g["exponents"])  # log10 widths give the same exponents


def test_grid_law_interval_is_the_t_interval_of_the_slope():
    rng = np.random.default_rng(3)
    ns = [4, 5, 6, 8, 10, 13, 16, 20]
    rows = [{"n": n, "d": 8, "eps": 0.1, "m_work": n**1.5 * math.exp(rng.normal(0, 0.3))} for n in ns]
    g = laws.grid_law(rows + [{"n": 30, "d": 8, "eps": 0.1, "m_work": None}])  # an unreached row stays out
    ref = stats_linregress(np.log(ns), np.log([r["m_work"] for r in rows]))
    half = 2.4469118511449692 * ref.stderr  # t_{0.975} with 6 degrees of freedom
    assert set(g["exponents"]) == {"n"} and g["dof"] == 6 and g["rows"] == 8
    assert g["exponents"]["n"] == pytest.approx(ref.slope, rel=1e-9)
    assert g["ci95"]["n"] == pytest.approx([ref.slope - half, ref.slope + half], rel=1e-9)


def test_train_values_read_the_checks():
    doc = {"instance": {"eps": "1/10"}, "constants": {"D_used": {"value": "245"}},
           "checks": [{"id": "theorem-4.1", "value": "1/20", "bound": "1/10", "label": "sound-bound", "verdict": "holds",
                       "details": {"min_L_A": 0.04, "robust_loss_upper_best": "1/20", "drift_best": 3.0,
                                   "schedule": {"R_train": 10.0, "log10_m_theorem_5_1_at_R_train": 14.2,
                                                "T_theorem": 400}}},
                      {"id": "theorem-5.2", "value": 0.2, "bound": 0.25, "label": "estimate", "verdict": "observed",
                       "details": {}}]}
    values, theorem = train_values(doc, 1024)
    assert values["theorem-4.1"] == {"value": 0.05, "threshold": 0.1, "passes": True, "label": "sound-bound",
                                     "verdict": "holds", "rigorous": True, "theorem_bound": None}
    assert values["theorem-4.1/min_L_A"]["passes"] and not values["theorem-4.1/min_L_A"]["rigorous"]
    assert values["train/drift"]["passes"] and values["theorem-5.2"]["passes"]
    assert theorem["log10_m_theorem_5_1_at_R_train"] == 14.2 and theorem["D_used"] == 245


# ---------------------------------------------------------------------------------------------
# end to end: limit + resume on the process pool, the same numbers from Dask, re-check, plot
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """A 3-shard scan stopped after one shard (--limit 1) and restarted; mtimes of the first kept."""
    out = tmp_path_factory.mktemp("scan") / "pool"
    assert main(TINY + ["--out", str(out), "--limit", "1"]) == 0
    first = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.json")}
    assert len(first) == 1 and not (out / "scan.json").exists()
    assert main(TINY + ["--out", str(out)]) == 0
    return out, first


@pytest.mark.slow
def test_interrupted_scan_resumes_without_redoing_shards(resumed):
    out, first = resumed
    doc = merge.read(out / "scan.json")
    files = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.json")}
    assert len(files) == 3 and all(files[k] == v for k, v in first.items())
    assert doc["provenance"]["timing"]["shards_run"] == 2
    law = doc["results"]["instances"]["two-point"]["links"]["w-star"]["laws"]
    assert law["theorem-5.3"]["rigorous"] and law["theorem-5.3"]["m_work"] == 256  # holds at every width here
    assert law["theorem-5.3"]["log10_m_theorem"] > 60  # the theorem asks for 10^62
    assert main(TINY + ["--out", str(out)]) == 0  # a finished scan reruns nothing
    assert merge.read(out / "scan.json")["provenance"]["timing"]["shards_run"] == 0


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning")
def test_dask_local_cluster_gives_the_same_numbers(resumed, tmp_path):
    pytest.importorskip("distributed")
    out, _ = resumed
    assert main(TINY + ["--out", str(tmp_path / "dask"), "--scheduler", "local:2"]) == 0
    a, b = merge.read(out / "scan.json"), merge.read(tmp_path / "dask" / "scan.json")
    assert merge.numbers(a) == merge.numbers(b)
    assert b["provenance"]["scheduler"] == "local:2"


@pytest.mark.slow
def test_merge_rechecks_every_shard(resumed, tmp_path):
    out, _ = resumed
    path = sorted((out / "shards").glob("*.json"))[0]
    rec = json.loads(path.read_text())
    assert shards.problem(rec) is None
    rec["values"]["theorem-5.3"]["value"] = 0.0  # an edit the hash catches
    assert "sha256" in shards.problem(rec)
    resealed = certificate.seal({**rec, "key": "0" * 64})  # a consistent record filed under another task
    task = next(t for t in shards.tasks_at(config.make_config({"instances": {"x": {"kind": "small"}}, "m": "2^8..2^10"}))
                if shards.shard_path(out, t).name == path.name)
    assert "another task" in shards.problem(resealed, task)
    bad = tmp_path / "copy"
    (bad / "shards").mkdir(parents=True)
    for p in (out / "shards").glob("*.json"):
        (bad / "shards" / p.name).write_bytes(p.read_bytes())
    (bad / "shards" / path.name).write_text(certificate.dumps({**rec, "sha256": "0" * 64}))
    with pytest.raises(InputError, match="sha256"):
        merge.collect(bad, [task])


@pytest.mark.slow
def test_plot_draws_a_scan_file(resumed, tmp_path):
    out, _ = resumed
    png = tmp_path / "s.png"
    assert main(["plot", str(out / "scan.json"), "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# the page and the shipped scans agree
# ---------------------------------------------------------------------------------------------


#: the page's column headers (docs/theory-vs-practice.md) and what each shows
HEADERS = {"theorem's width": "theorem", "works from": "working", "fails at": "fail", "fitted exponent": "exponent",
           "theorem's exponent": "rate", "fit reaches it at": "extrapolated", "theorem": "q_theorem", "working": "q_used",
           # the instance grid: each instance's n, d, ε; the law's instance count, exponents [95 % interval], residual
           "n": "inst_n", "d": "inst_d", "ε": "inst_eps", "instances fitted": "g_rows", "a (n^a)": "g_n",
           "b (d^b)": "g_d", "c (ε^-c)": "g_eps", "rms residual (ln)": "g_rms"}
#: quantity rows: (scan entry, link) -> theorem key, used key
QUANTITIES = {"degree": ("D_paper_claim63", "D_used"), "steps": ("T_theorem", "steps_done")}


def _page_rows() -> list[tuple[str, list[str], list[str]]]:
    """(scan file, column ids, cells) of every table row that follows a line naming a shipped scan file."""
    rows, current, header = [], None, None
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            current = None
        elif not line.startswith("|"):
            header = None
            if m := re.search(r"from `certificates/scans/([\w.-]+\.json)`", line, re.I):
                current = m.group(1)
        elif current and not set(line) <= set("|-: "):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = [HEADERS.get(c.lower()) for c in cells]
            else:
                rows.append((current, header, cells))
    return rows


def _number(cell: str) -> tuple[float, str, int] | None:
    """A cell's number, its form (``pow2``, ``pow10``, ``int``, ``dec``) and shown decimals; None for words and dashes."""
    c = cell.replace("−", "-").replace("`", "").replace("> ", "").strip()
    if m := re.fullmatch(r"2\^(\d+)", c):
        return 2.0 ** int(m.group(1)), "pow2", 0
    if m := re.fullmatch(r"10\^(-?\d+)(\.(\d+))?", c):
        return float(m.group(0)[3:]), "pow10", len(m.group(3) or "")  # its log10: 10^1008.9 is no float
    if re.fullmatch(r"[+-]?\d+", c):
        return float(c), "int", 0
    if m := re.fullmatch(r"[+-]?\d+\.(\d+)", c):
        return float(c), "dec", len(m.group(1))
    return None


def _numbers(cell: str) -> list[tuple[float, str, int]] | None:
    """``x`` or ``x [lo, hi]`` (a value and its interval) as a list of :func:`_number`; None for words."""
    m = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", cell.strip())
    parts = [_number(p) for p in (m.groups() if m else [cell])]
    return None if any(p is None for p in parts) else parts


def _grid_value(doc: dict, value: str, col: str):
    """A number of the grid-law table: row ``value`` (a link value, or the theorem's widths), column ``col``."""
    if value == "theorem's width":
        law = next(iter(doc["results"]["grid"].values()))["theorem_law"]
    else:
        law = doc["results"]["grid"][value]["law"]
    if col in ("g_n", "g_d", "g_eps"):
        var = col[2:]
        ci = law["ci95"][var]
        return [law["exponents"][var]] + ([] if ci is None else list(ci))
    return {"g_rows": law["rows"], "g_rms": law["rms_residual_log"]}[col]


def page_value(doc: dict, key: str, col: str):
    """The number the page shows in row ``key`` ("instance: value" or "instance: quantity"), column ``col``."""
    name, _, value = key.partition(":")
    value = value.strip().strip("`")
    if name.strip() == "grid":
        return _grid_value(doc, value.replace("` theorem", "").strip("` "), col)
    entry = doc["results"]["instances"][name.strip()]
    if col.startswith("inst_"):
        v = entry["instance"][col[5:]]
        return float(Fraction(v)) if isinstance(v, str) else v
    links = entry["links"]
    if value in QUANTITIES:
        th = {k: v for e in links.values() for k, v in e["theorem"].items()}
        if col == "q_theorem":
            return th.get(QUANTITIES[value][0])
        return th.get(QUANTITIES[value][1])
    link = next(k for k, e in links.items() if value in e["laws"])
    law = links[link]["laws"][value]
    fit = law["fit"] or {}
    return {"theorem": law["log10_m_theorem"],  # the two log10 columns, compared as log10
            "working": law["m_work"] or law["m_fail"], "fail": law["m_fail"], "exponent": fit.get("exponent"),
            "rate": law["theorem_rate"],
            "extrapolated": law["log10_m_extrapolated"]}[col]


def _page_checks() -> list[tuple[str, str, str, tuple, float]]:
    """(file, row, column, (page number, form, decimals), file number) for every numeric cell of the page's tables."""
    out = []
    for file, header, cells in _page_rows():
        doc = merge.read(SCANS / file)
        for col, cell in zip(header[1:], cells[1:]):
            wants = _numbers(cell)
            if col is None or wants is None:
                continue
            got = page_value(doc, cells[0], col)
            gots = got if isinstance(got, list) else [got]
            if len(gots) != len(wants):
                gots = [None] * len(wants)  # the page shows an interval the file does not have, or drops one
            out += [(file, cells[0], col, w, g) for w, g in zip(wants, gots)]
    return out


def test_shipped_scans_are_valid():
    files = sorted(SCANS.glob("*.json"))
    assert files, "no shipped scans"
    for p in files:
        doc = merge.read(p)
        assert doc["results"]["table"]


def test_page_numbers_come_from_the_shipped_scans():
    checks = _page_checks()
    assert len(checks) >= 20, "the page's tables were not found"
    bad = []
    for file, key, col, (want, form, digits), got in checks:
        half = 0.5 * 10.0**-digits + 1e-12
        if got is None:
            ok = False
        elif form == "pow10":
            ok = abs(want - got) <= half
        elif form in ("pow2", "int"):
            ok = want == got if col != "q_theorem" else abs(want - got) <= half
        else:
            ok = abs(want - got) <= half
        if not ok:
            bad.append(f"{file} {key} {col}: page {want:g}, file {got}")
    assert not bad, "\n".join(bad)


def test_shipped_real_data_scans_hold_both_classes():
    """The real-data instance of the page (issue 12 item 6): digits, both classes among the labels."""
    docs = [merge.read(p) for p in sorted(SCANS.glob("digits*.json"))]
    assert docs, "no shipped digits scan"
    for doc in docs:
        for name, spec in doc["config"]["instances"].items():
            assert spec["kind"] == "data" and spec["data"] == "digits"
            labels = doc["results"]["instances"][name]["instance"]["labels"]
            assert min(labels) < 0 < max(labels), f"{name}: one class only"


def test_shipped_grid_has_a_law_with_intervals():
    doc = merge.read(SCANS / "grid.json")
    g = doc["results"]["grid"]["theorem-4.1"]
    assert len(g["rows"]) == len(doc["config"]["instances"]) >= 12
    assert g["law"]["rows"] == len(g["rows"]) - len(g["unreached"])
    assert all(lo <= g["law"]["exponents"][v] <= hi for v, (lo, hi) in g["law"]["ci95"].items())


def test_fit_matches_scipy_linregress_and_t():
    """The per-seed interval and the pooled standard error against scipy.stats (an independent implementation)."""
    from scipy import stats

    rng = np.random.default_rng(5)
    ms = [2**e for e in range(8, 14)]
    vals = {m: [2.0 * m**-0.4 * math.exp(rng.normal(0, 0.1)) for _ in range(3)] for m in ms}
    law = laws.fit(vals)
    x = np.log([m for m in ms for _ in range(3)])
    y = np.log([v for m in ms for v in vals[m]])
    ref = stats.linregress(x, y)
    assert law["exponent"] == pytest.approx(ref.slope, rel=1e-12)
    assert law["intercept"] == pytest.approx(ref.intercept, rel=1e-12)
    per = [stats.linregress(np.log(ms), np.log([vals[m][s] for m in ms])).slope for s in range(3)]
    half = stats.t.ppf(0.975, 2) * np.std(per, ddof=1) / math.sqrt(3)
    assert law["ci95"] == pytest.approx([np.mean(per) - half, np.mean(per) + half], rel=1e-10)
    one = laws.fit({m: [vals[m][0]] for m in ms})  # one seed: the pooled fit's 1.96 stderr
    r1 = stats.linregress(np.log(ms), np.log([vals[m][0] for m in ms]))
    assert one["ci95"] == pytest.approx([r1.slope - 1.96 * r1.stderr, r1.slope + 1.96 * r1.stderr], rel=1e-10)


def test_an_interrupted_training_is_not_filed_as_a_shard(monkeypatch):
    """Ctrl-C inside Algorithm 1 keeps the best iterate; run_task must raise instead of returning it."""
    from advcert.scan import execute

    doc = {"checks": [{"id": "theorem-4.1", "details": {"schedule": {"interrupted": True}}}]}
    built = type("B", (), {"doc": doc})()
    monkeypatch.setattr(execute, "build", lambda task: (built, None))
    task = shards.tasks_at(config.make_config({"instances": {"x": {"kind": "small"}}, "m": "2^8", "links": "train"}))[0]
    with pytest.raises(KeyboardInterrupt):
        execute.run_task(task)
    assert not execute._interrupted({"checks": [{"id": "theorem-4.1", "details": {"schedule": {"interrupted": False}}}]})


def test_page_labels_come_from_the_shipped_scans():
    # the label column too (a w-star sup turns sound-bound with the width: the page must say so)
    bad, seen = [], 0
    for file, header, cells in _page_rows():
        if len(cells) > 1 and cells[1] in ("exact", "enclosure", "sound-bound", "estimate", "mixed"):
            name, _, value = cells[0].partition(":")
            value = value.strip().strip("`")
            doc = merge.read(SCANS / file)
            if name.strip() == "grid" or name.strip() not in doc["results"]["instances"]:
                continue
            links = doc["results"]["instances"][name.strip()]["links"]
            law = next((e["laws"][value] for e in links.values() if value in e["laws"]), None)
            if law is None:
                continue
            seen += 1
            if law["label"] != cells[1]:
                bad.append(f"{file} {cells[0]}: page {cells[1]}, file {law['label']}")
    assert seen >= 10 and not bad, bad
