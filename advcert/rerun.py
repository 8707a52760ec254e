"""``advcert verify FILE --estimates``: re-run a certificate's estimates from its seeds.

The independent verifier (advcert.verify) re-derives every exact, enclosure and sound-bound
check and never imports builder code; estimates (attacks, samples, training runs) can only
be reproduced by running the builders again. This module does that, after verification:

* a certificate whose ``producer.argv`` is an ``advcert build`` or ``advcert train`` command
  is rebuilt with the same arguments into a temporary folder;
* any other (for example one made through the Python API) is rebuilt from its stored
  instance (points, labels, ρ, γ, ε, seed) and, when it has one, its network width;

then every estimate check is compared with its re-run: the drift of its value, a changed
verdict, and whether a network witness came out with the same SHA-256. Floats are expected
to agree to the last bit on the same machine and library versions (``producer.cpu`` and
``producer.packages`` say which); elsewhere small drifts are normal and are reported, not
failed, unless a verdict changes.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path


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


def _rebuild(doc: dict, folder: Path) -> tuple[dict, dict[str, str]]:
    """Re-run the command (or the instance) that made ``doc``; return the new document and
    the SHA-256 of each witness it wrote (by role)."""
    import hashlib

    argv = list(doc.get("producer", {}).get("argv") or [])
    out = folder / "rerun.json"
    if argv and argv[0] in ("build", "train"):
        from advcert.cli import main

        clean: list[str] = []
        skip = False
        for a in argv:
            if skip:
                skip = False
                continue
            if a == "--out":
                skip = True
                continue
            if a.startswith("--out="):
                continue
            clean.append(a)
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            status = main(clean + ["--out", str(out), "--quiet"])
        if status not in (0, 1):
            raise RuntimeError(f"re-running {' '.join(clean)} exited with status {status}")
        new = json.loads(out.read_text())
    else:
        import numpy as np

        from advcert.build import BuildConfig, build
        from advcert.certificate import dumps, write_atomic
        from advcert.data.instance import Instance

        ins = doc["instance"]
        inst = Instance(points=np.array(ins["points"], dtype=float), labels=np.array(ins["labels"], dtype=float),
                        rho=Fraction(ins["rho"]), gamma=Fraction(ins["gamma"]), eps=Fraction(ins["eps"]),
                        seed=int(ins["seed"]), source=dict(ins.get("source", {})))
        net = doc.get("objects", {}).get("network")
        cfg = BuildConfig(gamma=inst.gamma, eps=inst.eps, n=inst.n, d=inst.d, rho=inst.rho, seed=inst.seed,
                          measured=net is not None, m=int(net["m"]) if net else None)
        res = build(cfg, instance=inst, witness_name="rerun.network.npz")
        if res.witness is not None:
            write_atomic(folder / "rerun.network.npz", res.witness)
        write_atomic(out, dumps(res.doc))
        new = res.doc
    shas = {}
    net = new.get("objects", {}).get("network")
    if net and (folder / net["path"]).exists():
        shas["network"] = hashlib.sha256((folder / net["path"]).read_bytes()).hexdigest()
    return new, shas


def rerun(doc: dict) -> tuple[list[Drift], list[str]]:
    """Re-run ``doc``'s estimates; return the comparisons and notes (missing or extra checks,
    witness hashes)."""
    with tempfile.TemporaryDirectory(prefix="advcert-rerun-") as tmp:
        new, shas = _rebuild(doc, Path(tmp))
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
    if net and "network" in shas:
        same = shas["network"] == net.get("sha256")
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
