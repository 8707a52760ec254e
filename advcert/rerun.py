"""``advcert verify FILE --estimates``: re-run a certificate's estimates from its seeds.

The independent verifier (advcert.verify) re-derives every exact, enclosure and sound-bound
check and never imports builder code; estimates (attacks, samples, training runs) can only
be reproduced by running the builders again. This module does that, after verification:

* the pipeline runs again with the certificate's ``producer.config`` (a build or a training
  run, recorded by every producer: the command line and the Python API alike) on the
  certificate's stored instance (points, labels, ρ, γ, ε, seed), so no data file is needed;
* a certificate from before ``producer.config`` was recorded is rebuilt from its instance
  and, when it has one, its network width;

then every estimate check is compared with its re-run: the drift of its value, a changed
verdict, and whether a network witness came out with the same SHA-256. Floats are expected
to agree to the last bit on the same machine and library versions (``producer.cpu`` and
``producer.packages`` say which); elsewhere small drifts are normal and are reported, not
failed, unless a verdict changes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from advcert.config import BuildConfig, TrainConfig, from_json
from advcert.data.instance import Instance
from advcert.pipeline import build_certificate, train_certificate


@dataclass(frozen=True)
class Drift:
    """One estimate compared with its re-run."""

    id: str
    old: object
    new: object
    verdict_old: str
    verdict_new: str

    @property
    def relative(self) -> float | None:
        try:
            a, b = float(self.old), float(self.new)
        except (TypeError, ValueError):
            return None
        if a == b:
            return 0.0
        scale = max(abs(a), abs(b))
        return abs(a - b) / scale if scale > 0 and math.isfinite(scale) else None


def stored_instance(doc: dict) -> Instance:
    """The instance a certificate certifies, exactly as stored (points, labels, ρ, γ, ε, seed)."""
    ins = doc["instance"]
    return Instance(points=np.array(ins["points"], dtype=float), labels=np.array(ins["labels"], dtype=float),
                    rho=Fraction(ins["rho"]), gamma=Fraction(ins["gamma"]), eps=Fraction(ins["eps"]),
                    seed=int(ins["seed"]), source=dict(ins.get("source", {})))


def stored_config(doc: dict) -> BuildConfig | TrainConfig:
    """``producer.config`` of a certificate, or for one made before it was recorded, the build
    its instance and network width describe."""
    raw = (doc.get("producer") or {}).get("config")
    if raw is not None:
        return from_json(raw)
    inst = stored_instance(doc)
    net = (doc.get("objects") or {}).get("network")
    return BuildConfig(gamma=inst.gamma, eps=inst.eps, n=inst.n, d=inst.d, rho=inst.rho, seed=inst.seed,
                       measured=net is not None, m=int(net["m"]) if net else None)


def _rebuild(doc: dict) -> tuple[dict, bytes | None]:
    """Re-run the pipeline with the certificate's own config on its stored instance."""
    cfg = stored_config(doc)
    inst = stored_instance(doc)
    if isinstance(cfg, TrainConfig):
        built = train_certificate(cfg, instance=inst)
    else:
        built = build_certificate(cfg, instance=inst)
    return built.doc, built.witness


def rerun(doc: dict) -> tuple[list[Drift], list[str]]:
    """Re-run ``doc``'s estimates; return the comparisons and notes (missing or extra checks,
    witness hashes)."""
    new, witness = _rebuild(doc)
    notes: list[str] = []
    old_checks = {c["id"]: c for c in doc.get("checks", [])}
    new_checks = {c["id"]: c for c in new.get("checks", [])}
    drifts = []
    for cid, c in old_checks.items():
        if c.get("label") != "estimate":
            continue
        n = new_checks.get(cid)
        if n is None:
            notes.append(f"{cid}: not produced by the re-run")
            continue
        drifts.append(Drift(cid, c.get("value"), n.get("value"), c.get("verdict"), n.get("verdict")))
    net = doc.get("objects", {}).get("network")
    if net and witness is not None:
        same = hashlib.sha256(witness).hexdigest() == net.get("sha256")
        notes.append(f"network witness: the re-run's SHA-256 {'matches' if same else 'DIFFERS from'} the certificate's")
    return drifts, notes


def report(doc: dict, stream) -> int:
    """Print the comparison; return 0 when every verdict is reproduced, 1 otherwise."""
    drifts, notes = rerun(doc)
    changed = 0
    for d in drifts:
        rel = d.relative
        tag = "same" if rel == 0.0 else (f"drift {rel:.2e} (relative)" if rel is not None else "differs")
        flag = ""
        if d.verdict_old != d.verdict_new:
            changed += 1
            flag = f"  VERDICT {d.verdict_old} -> {d.verdict_new}"
        print(f"  {d.id:24s} estimate re-run: {tag}{flag}", file=stream)
    for note in notes:
        print(f"  {note}", file=stream)
    if changed:
        print(f"verify --estimates: {changed} verdict(s) not reproduced", file=stream)
        return 1
    print(f"verify --estimates: {len(drifts)} estimate(s) re-run, every verdict reproduced", file=stream)
    return 0


__all__ = ["Drift", "rerun", "report"]
