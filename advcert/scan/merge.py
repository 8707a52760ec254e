"""Merge a scan's shards into ``scan.json``: every shard re-checked, then the table and the laws.

Before anything is aggregated, every shard file is read again and re-checked (its canonical
SHA-256, the record schema, that it is the shard of the task it is filed under:
:func:`advcert.scan.shards.read_shard`); one bad file stops the merge with the fix.

``scan.json`` has three parts: ``config`` (what was measured), ``results`` (the table per
instance, value and width, the smallest working widths, the fits beside the theorem's rates and
widths) and ``provenance`` (producer, scheduler, shard hashes, timings). ``config`` and
``results`` depend on the tasks only: the same scan on any scheduler gives the same two parts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from advcert import certificate
from advcert.errors import InputError
from advcert.scan import laws
from advcert.scan.config import ScanConfig, to_json
from advcert.scan.shards import VALUES, Task, read_shard, shard_path, task_key

FORMAT = "advcert-scan"
VERSION = 1


def collect(out: str | Path, tasks: list[Task]) -> list[tuple[Task, dict]]:
    """Every task's record, each re-checked; InputError naming the first bad or missing shard."""
    pairs = []
    for t in tasks:
        path = shard_path(out, t)
        rec, why = read_shard(path, t)
        if rec is None:
            raise InputError(f"shard {path} is {why}" if why == "missing" else f"shard {path}: {why}",
                             "rerun the same scan command: it redoes missing or bad shards")
        pairs.append((t, rec))
    return pairs


def _stat(vals: list) -> dict:
    v = [x for x in vals if x is not None]
    return {"mean": float(np.mean(v)) if v else None, "min": min(v) if v else None, "max": max(v) if v else None}


def _theorem(recs: list[dict]) -> tuple[dict, dict]:
    """The theorem's numbers of one instance and link: those equal in every shard, and the others by width."""
    same, by_m = {}, {}
    keys = sorted({k for r in recs for k in r["theorem"]})
    for k in keys:
        vals = {r["task"]["m"]: r["theorem"].get(k) for r in recs}
        distinct = {None if v is None else round(v, 9) for v in vals.values()}
        if len(distinct) == 1:
            same[k] = next(iter(vals.values()))
        else:
            by_m[k] = {str(m): vals[m] for m in sorted(vals)}
    return same, by_m


def _rows(name: str, link: str, recs: list[dict], seeds: int) -> list[dict]:
    rows = []
    for value in VALUES[link]:
        for m in sorted({r["task"]["m"] for r in recs}):
            at = sorted((r for r in recs if r["task"]["m"] == m), key=lambda r: r["task"]["seed_index"])
            if len(at) != seeds:
                raise InputError(f"instance {name!r}, link {link}, m = {m}: {len(at)} shards for {seeds} seeds",
                                 "rerun the same scan command")
            e = [r["values"][value] for r in at]
            vals = [x["value"] for x in e]
            tb = [x["theorem_bound"] for x in e if x["theorem_bound"] is not None]
            labels = {x["label"] for x in e}
            rows.append({"instance": name, "link": link, "value": value, "m": m,
                         "label": e[0]["label"] if len(labels) == 1 else "mixed",
                         "rigorous": all(x["rigorous"] for x in e), "values": vals, "thresholds": [x["threshold"] for x in e],
                         "passes": [x["passes"] for x in e], "verdicts": [x["verdict"] for x in e],
                         "pass_all": all(x["passes"] for x in e), **_stat(vals),
                         "theorem_bound": float(np.mean(tb)) if tb else None})
    return rows


def _law(rows: list[dict], theorem: dict) -> dict:
    """Working width, fit and extrapolation of one value of one instance (rows of every width)."""
    passes = {r["m"]: r["passes"] for r in rows}
    width = laws.working_width(passes)
    law = laws.fit({r["m"]: r["values"] for r in rows})
    threshold = float(np.median([t for r in rows for t in r["thresholds"] if t is not None]))
    value = rows[0]["value"]
    key = laws.THEOREM_WIDTH.get(value)
    rate = laws.THEOREM_RATE.get(value)
    # the label where the link starts to hold, since a value can turn rigorous with the width (the
    # sound sup-norm covers of math-spec §13 prove <= eps/3 only from some m on); the largest width
    # when it never holds
    at = next((r for r in rows if r["m"] == width["m_work"]), rows[-1])
    return {"label": at["label"], "rigorous": at["rigorous"], "threshold": threshold, **width,
            "fit": law, "theorem_rate": rate, "rate_note": laws.RATE_NOTE.get(value),
            "exponent_minus_rate": None if law is None or rate is None else law["exponent"] - rate,
            "log10_m_extrapolated": laws.extrapolate(law, threshold) if width["m_work"] is None else None,
            "theorem_width_key": key, "log10_m_theorem": theorem.get(key) if key else None}


def results(cfg: ScanConfig, pairs: list[tuple[Task, dict]]) -> dict:
    """The table, the laws per instance and value, the theorem's widths, and the instance-grid law."""
    table, per_instance = [], {}
    for spec in cfg.instances:
        entry = {"instance": None, "links": {}}
        for link in cfg.links:
            recs = [r for t, r in pairs if t.instance.name == spec.name and t.link == link]
            if not recs:
                continue
            entry["instance"] = entry["instance"] or recs[0]["instance"]
            same, by_m = _theorem(recs)
            rows = _rows(spec.name, link, recs, cfg.seeds)
            table += rows
            entry["links"][link] = {
                "theorem": same, "theorem_by_m": by_m,
                "laws": {v: _law([r for r in rows if r["value"] == v], same) for v in VALUES[link]}}
        per_instance[spec.name] = entry
    return {"table": table, "instances": per_instance, "grid": _grid(cfg, per_instance)}


def _grid(cfg: ScanConfig, per_instance: dict) -> dict:
    """For each link value: m_min ∝ n^a d^b ε^{-c} across the instances (issue 12 item 3), where determined."""
    out = {}
    for link in cfg.links:
        for value in VALUES[link]:
            rows = []
            for name, e in per_instance.items():
                law = e["links"].get(link, {}).get("laws", {}).get(value)
                if law is None or e["instance"] is None:
                    continue
                inst = e["instance"]
                rows.append({"instance": name, "n": inst["n"], "d": inst["d"], "eps": float(_frac(inst["eps"])),
                             "m_work": law["m_work"], "m_fail": law["m_fail"], "below_grid": law["below_grid"],
                             "log10_m_theorem": law["log10_m_theorem"]})
            if len(rows) >= 2:
                # instances whose grid never reached the link cannot enter the law: they are listed instead
                out[value] = {"rows": rows, "law": laws.grid_law(rows),
                              "theorem_law": laws.grid_law(rows, "log10_m_theorem"),
                              "unreached": [r["instance"] for r in rows if not r["m_work"]],
                              "below_grid": [r["instance"] for r in rows if r["below_grid"]]}
    return out


def _frac(s) -> float:
    p, _, q = str(s).partition("/")
    return int(p) / int(q or 1)


def document(cfg: ScanConfig, pairs: list[tuple[Task, dict]], argv: list[str] | None, timing: dict) -> dict:
    """The sealed scan.json document."""
    producer = certificate.producer(argv)
    shards = [{"key": task_key(t), "file": str(shard_path("", t)), "sha256": r["sha256"], "seconds": r["seconds"],
               "certificate_sha256": r["certificate"]["sha256"]} for t, r in pairs]
    doc = {"format": FORMAT, "version": VERSION, "config": to_json(cfg), "results": results(cfg, pairs),
           "provenance": {"created": certificate.now(), "producer": producer, "scheduler": cfg.scheduler,
                          "shards": shards, "timing": timing}}
    return certificate.seal(doc)


def numbers(doc: dict) -> dict:
    """What two runs of one scan must agree on: ``config`` and ``results`` (never provenance)."""
    return {"config": doc["config"], "results": doc["results"]}


def read(path: str | Path) -> dict:
    """A scan.json for the tools (plot, tests), its hash checked."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{p} is not a readable scan file ({exc.__class__.__name__})", "pass a scan.json") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise InputError(f"{p} is not an advcert scan file (format {FORMAT}, version {VERSION})",
                         "pass the scan.json that advcert scan wrote")
    if certificate.seal(doc)["sha256"] != doc.get("sha256"):
        raise InputError(f"{p}: its sha256 does not match its content", "rerun the scan to rewrite it")
    return doc


def is_scan(path: str | Path) -> bool:
    """Whether a file is a scan.json (for ``advcert plot``'s dispatch)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def finite(x) -> bool:
    return x is not None and math.isfinite(x)
