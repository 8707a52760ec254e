"""One shard = one (instance, width, seed, link) task, and the schema-checked record it leaves.

A shard's file is named by the SHA-256 of its task (canonical JSON), so a scan that is killed
and restarted finds the shards it already has and redoes none of them; a file is only ever
written whole (:func:`advcert.certificate.write_atomic`). The record carries its own SHA-256
over the canonical form (:func:`advcert.certificate.canonical_bytes`, as certificates do), so
the merge can re-check every shard before it aggregates (:func:`read_shard`).

This module knows the tasks and the record format only; running a task through the pipeline
is :mod:`advcert.scan.execute`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from advcert import certificate
from advcert.rational import to_str
from advcert.scan.config import InstanceSpec, ScanConfig, TrainOptions, seed_values, spec_json

FORMAT = "advcert-scan-shard"
#: bumped whenever a value is read differently from the certificates: older shard files are then redone
VERSION = 2

#: the value names each link measures, in the order of the proof
VALUES = {
    "w-star": ("lemma-6.5/radius", "lemma-6.5", "theorem-5.1", "theorem-5.3", "theorem-5.3/attack"),
    "train": ("theorem-4.1", "theorem-4.1/min_L_A", "theorem-5.2", "train/drift"),
}


@dataclass(frozen=True)
class Task:
    """One shard: a link of one instance at width ``m`` under seed number ``seed_index`` (value ``seed``)."""

    link: str
    instance: InstanceSpec
    m: int
    seed_index: int
    seed: int
    sandwich_budget: float = 5.0
    train: TrainOptions = TrainOptions()


def task_json(task: Task) -> dict:
    """The task as JSON: everything that changes its numbers and nothing else (no instance name)."""
    out = {"link": task.link, "instance": spec_json(task.instance), "m": task.m, "seed_index": task.seed_index,
           "seed": task.seed}
    if task.link == "w-star":
        out["sandwich_budget"] = task.sandwich_budget
    else:
        out["train"] = {"R": to_str(task.train.R), "max_steps": task.train.max_steps,
                        "bound_seconds": to_str(task.train.bound_seconds)}
    return out


def task_key(task: Task) -> str:
    """SHA-256 of the task's canonical JSON: the shard's name and identity."""
    body = json.dumps(task_json(task), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def shard_path(out: str | Path, task: Task) -> Path:
    return Path(out) / "shards" / f"{task_key(task)[:24]}.json"


def tasks_at(cfg: ScanConfig, widths_by_link: dict[tuple[str, str], tuple[int, ...]] | None = None) -> list[Task]:
    """The shards of ``cfg``: instances × links × widths × seeds (``widths_by_link`` adds bisection widths).

    Ordered widest last within each instance so a progress bar moves early; the order never
    changes a number.
    """
    seeds = seed_values(cfg.root, cfg.seeds)
    out = []
    for spec in cfg.instances:
        for link in cfg.links:
            widths = sorted(set(cfg.widths) | set((widths_by_link or {}).get((spec.name, link), ())))
            for m in widths:
                for k, s in enumerate(seeds):
                    out.append(Task(link=link, instance=spec, m=m, seed_index=k, seed=s,
                                    sandwich_budget=cfg.sandwich_budget, train=cfg.train))
    return out


_NUM = {"type": ["number", "null"]}
_VALUE = {
    "type": "object",
    "required": ["value", "threshold", "passes", "label", "verdict", "rigorous"],
    "properties": {"value": _NUM, "threshold": {"type": "number"}, "passes": {"type": "boolean"},
                   "label": {"enum": ["exact", "enclosure", "sound-bound", "estimate"]},
                   "verdict": {"type": "string"}, "rigorous": {"type": "boolean"}, "theorem_bound": _NUM},
    "additionalProperties": False,
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version", "key", "task", "instance", "values", "theorem", "certificate", "seconds",
                 "producer", "sha256"],
    "properties": {
        "format": {"const": FORMAT}, "version": {"const": VERSION},
        "key": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "task": {"type": "object", "required": ["link", "instance", "m", "seed_index", "seed"]},
        "instance": {"type": "object", "required": ["n", "d", "rho", "gamma", "eps"]},
        "values": {"type": "object", "additionalProperties": _VALUE},
        "theorem": {"type": "object", "additionalProperties": _NUM},
        "certificate": {"type": "object", "required": ["sha256", "checks", "rigorous"]},
        "seconds": {"type": "number", "minimum": 0},
        "producer": {"type": "object"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
    "additionalProperties": False,
}


def problem(rec, task: Task | None = None) -> str | None:
    """Why ``rec`` is not a valid record (of ``task``), or None: schema, hash, key and value names."""
    try:
        jsonschema.validate(rec, SCHEMA)
    except jsonschema.ValidationError as exc:
        return f"not a scan shard ({exc.message})"
    if certificate.seal(rec)["sha256"] != rec["sha256"]:
        return "its sha256 does not match its content"
    if task is not None and (rec["key"] != task_key(task) or rec["task"] != task_json(task)):
        return "it is the shard of another task"
    link = rec["task"]["link"]
    if link not in VALUES or set(rec["values"]) != set(VALUES[link]):
        return f"its values are not those of link {link!r}"
    return None


def read_shard(path: str | Path, task: Task | None = None) -> tuple[dict | None, str | None]:
    """(record, None) for a valid shard file of ``task``; (None, why) otherwise (missing, torn, edited)."""
    p = Path(path)
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"unreadable ({exc.__class__.__name__})"
    why = problem(rec, task)
    return (None, why) if why else (rec, None)


def write_shard(path: str | Path, rec: dict) -> None:
    """Seal and write one record whole."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    certificate.write_atomic(path, certificate.dumps(certificate.seal(rec)))
