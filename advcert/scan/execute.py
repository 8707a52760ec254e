"""Run one shard through the public pipeline and read its links off the certificate's checks.

``w-star`` calls :func:`advcert.pipeline.build_certificate` (Lemma 6.5's W* and radius, Theorem
5.1's coupling, Theorem 5.3's robust loss of f_{W*}); ``train`` calls
:func:`advcert.pipeline.train_certificate` (Algorithm 1, Theorems 5.2 and 4.1). Nothing else of
advcert's measured plane is touched: the values come from the checks by id.

Each value says whether it is **rigorous** (its label is ``sound-bound``, ``enclosure`` or
``exact`` and it passes only when the certificate's verdict is ``holds``) or an **estimate**
(an attack, or a sup over sampled points: a lower bound of the quantity, docs/design.md §3).
The points of an instance never depend on the shard's seed; the seed drives the network, its
W*, the attacks and Algorithm 1 (it is the instance's root seed in the certificate).
"""

from __future__ import annotations

import dataclasses
import math
import time
from fractions import Fraction

import numpy as np

from advcert import certificate
from advcert.checks import RIGOROUS_LABELS
from advcert.config import BuildConfig, DataSpec, TrainConfig
from advcert.data.instance import Instance, instance_from_data, synthetic
from advcert.pipeline import build_certificate, train_certificate
from advcert.scan.config import InstanceSpec
from advcert.scan.shards import FORMAT, VERSION, Task, task_json, task_key

#: the two-point instance of Lemma 6.5's small example: antipodal points of X ⊂ R^3, labels ±1
#: (the same numbers as the measured plane's SMALL_INSTANCE; copied so the scan depends on the pipeline only)
SMALL_POINTS = ((math.sqrt(3) / 2, 0.0, 0.5), (-math.sqrt(3) / 2, 0.0, 0.5))
SMALL_LABELS = (1.0, -1.0)

#: an instance's points are stored in a shard when there are at most this many coordinates
MAX_STORED_COORDINATES = 4096


def resolve(spec: InstanceSpec, seed: int) -> Instance:
    """The instance of ``spec`` (Definition 3.4) with ``seed`` as the root of the measured plane's streams."""
    if spec.kind in ("small", "points"):
        pts, ys = (SMALL_POINTS, SMALL_LABELS) if spec.kind == "small" else (spec.points, spec.labels)
        what = "hand-placed antipodal pair, labels ±1 (the two-point instance)" if spec.kind == "small" else "given points"
        inst = Instance(points=np.array(pts, dtype=np.float64), labels=np.array(ys, dtype=np.float64), rho=spec.rho,
                        gamma=spec.gamma, eps=spec.eps, seed=spec.seed, source={"kind": "synthetic", "generator": what})
    elif spec.kind == "synthetic":
        inst = synthetic(spec.n or 10, spec.d or 8, spec.rho, spec.gamma, spec.eps, spec.seed)
    else:
        inst = instance_from_data(_data(spec), rho=spec.rho, gamma=spec.gamma, eps=spec.eps, seed=spec.seed)
    return dataclasses.replace(inst, seed=int(seed), source={**inst.source, "instance_seed": spec.seed})


def _data(spec: InstanceSpec) -> DataSpec:
    return DataSpec(spec=spec.data, labels=spec.labels_rule, lift=spec.lift, sample=spec.sample)


def _f(x) -> float | None:
    if x is None:
        return None
    try:
        v = float(Fraction(x)) if isinstance(x, str) else float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _value(value, threshold, *, label: str, verdict: str, passes: bool | None = None, theorem_bound=None) -> dict:
    v, t = _f(value), _f(threshold)
    rigorous = label in RIGOROUS_LABELS
    if passes is None:
        passes = v is not None and v <= t
    if rigorous:  # a rigorous link passes only on the certificate's own exact verdict
        passes = bool(passes) and verdict == "holds"
    return {"value": v, "threshold": t, "passes": bool(passes), "label": label, "verdict": verdict,
            "rigorous": rigorous, "theorem_bound": _f(theorem_bound)}


def _estimate_verdict(ok: bool, m: int, log10_needed) -> str:
    # below the theorem's width a miss is "infeasible", not a refutation (docs/design.md §3)
    if ok:
        return "observed"
    return "infeasible" if log10_needed is None or math.log10(m) < log10_needed else "violated"


def w_star_values(doc: dict, m: int) -> tuple[dict, dict]:
    """The w-star link's values and the theorem's widths/degrees, from a build certificate's checks."""
    ch = {c["id"]: c for c in doc["checks"]}
    const = {k: _f(v.get("value")) for k, v in doc.get("constants", {}).items()}
    rad, l65, t51, chain, t53 = (ch[k] for k in ("lemma-6.5/radius", "lemma-6.5", "theorem-5.1", "theorem-5.1/chain",
                                                  "theorem-5.3"))
    need = const.get("log10_m_required")
    eps = _f(doc["instance"]["eps"])
    # the exact radius check compares R^6 (details.R is R itself); the estimate compared log2's
    R_thm = _f(rad["details"].get("R")) if rad["label"] == "exact" else 2.0 ** rad["bound"]
    attack = _f(t53["details"].get("attack"))
    values = {
        # the check compares log2's; report R itself, m^{2/3} ||W* - W0||_{2,inf}, against R = 2 n C_h
        "lemma-6.5/radius": _value(rad["details"].get("R_measured"), R_thm, label=rad["label"],
                                   verdict=rad["verdict"], theorem_bound=R_thm),
        "lemma-6.5": _value(l65["value"], l65["bound"], label=l65["label"], verdict=l65["verdict"]),
        "theorem-5.1": _value(t51["value"], chain["bound"], label=t51["label"], verdict=chain["verdict"],
                              theorem_bound=t51["bound"]),
        # the sound upper bound at every width (the check's value is the attack where the bound misses ε);
        # rigorous: it passes only where the certificate's label is sound-bound and its verdict holds
        "theorem-5.3": _value(t53["details"].get("upper"), t53["bound"], label="sound-bound", verdict=t53["verdict"],
                              passes=t53["label"] == "sound-bound" and t53["verdict"] == "holds"),
        "theorem-5.3/attack": _value(attack, eps, label="estimate",
                                     verdict=_estimate_verdict(attack is not None and attack <= eps, m, need)),
    }
    theorem = {k: const.get(k) for k in ("log10_m_required", "log10_m_thm51", "log10_m_hoeffding", "log10_R_theorem",
                                         "D_used", "D_paper_claim63", "D_paper_lemma64", "D_opt")}
    theorem["log10_m_discretisation"] = _f(l65["details"].get("log10_m_discretisation"))
    theorem["log10_bound_theorem_R"] = _f(t51["details"].get("log10_bound_theorem_R"))
    return values, theorem


def train_values(doc: dict, m: int) -> tuple[dict, dict]:
    """The train link's values (Theorems 4.1 and 5.2, the drift) and the theorem's width and steps."""
    ch = {c["id"]: c for c in doc["checks"]}
    const = {k: _f(v.get("value")) for k, v in doc.get("constants", {}).items()}
    c41, c52 = ch["theorem-4.1"], ch["theorem-5.2"]
    det, sch = c41["details"], c41["details"].get("schedule", {})
    eps = _f(doc["instance"]["eps"])
    need = _f(sch.get("log10_m_theorem_5_1_at_R_train"))
    min_la = _f(det.get("min_L_A"))
    drift, r_train = _f(det.get("drift_best")), _f(sch.get("R_train"))
    values = {
        "theorem-4.1": _value(det.get("robust_loss_upper_best"), c41["bound"], label="sound-bound",
                              verdict=c41["verdict"], passes=c41["label"] == "sound-bound" and c41["verdict"] == "holds"),
        "theorem-4.1/min_L_A": _value(min_la, eps, label="estimate",
                                      verdict=_estimate_verdict(min_la is not None and min_la <= eps, m, need)),
        "theorem-5.2": _value(c52["value"], c52["bound"], label=c52["label"], verdict=c52["verdict"],
                              passes=c52["verdict"] == "observed"),
        "train/drift": _value(drift, r_train, label="estimate", theorem_bound=r_train,
                              verdict=_estimate_verdict(drift is not None and r_train is not None and drift <= r_train,
                                                        m, need)),
    }
    theorem = {"log10_m_theorem_5_1_at_R_train": need, "T_theorem": _f(sch.get("T_theorem")),
               "log10_T_theorem": _f(sch.get("log10_T_theorem")), "T_budget": _f(sch.get("T_budget")),
               "steps_done": _f(sch.get("steps_done")), "eta": _f(sch.get("eta")), "R_train": r_train}
    theorem.update({k: const.get(k) for k in ("D_used", "D_paper_claim63", "D_paper_lemma64", "D_opt")})
    return values, theorem


def build(task: Task):
    """The certificate of ``task`` from the pipeline: (``Built``, instance)."""
    inst = resolve(task.instance, task.seed)
    data = _data(task.instance) if task.instance.kind == "data" else None
    argv = ["scan", "shard", task_key(task)]
    if task.link == "w-star":
        cfg = BuildConfig(eps=inst.eps, gamma=inst.gamma, n=inst.n, d=inst.d, rho=inst.rho, seed=task.seed, data=data,
                          m=task.m, sandwich_budget=task.sandwich_budget)
        return build_certificate(cfg, instance=inst, argv=argv, witness_name="network.npz"), inst
    t = task.train
    cfg = TrainConfig(eps=inst.eps, gamma=inst.gamma, m=task.m, n=inst.n, d=inst.d, rho=inst.rho, seed=task.seed,
                      R=t.R, max_steps=t.max_steps, bound_seconds=t.bound_seconds, data=data)
    return train_certificate(cfg, instance=inst, argv=argv, witness_name="network.npz"), inst


def _interrupted(doc: dict) -> bool:
    """Whether Ctrl-C cut the certificate's training short (Theorem 4.1's check records it)."""
    c41 = next((c for c in doc["checks"] if c["id"] == "theorem-4.1"), {})
    return bool(c41.get("details", {}).get("schedule", {}).get("interrupted"))


def run_task(task: Task, keep_certificate: bool = False) -> tuple[dict, str | None, bytes | None]:
    """Run one shard; return its sealed record and, when asked, the certificate's text and witness bytes.

    Runs anywhere (a pool process or a Dask worker) and writes nothing: the parent writes the
    files, so a remote cluster needs no shared folder.
    """
    t0 = time.perf_counter()
    built, inst = build(task)
    doc = built.doc
    if task.link == "train" and _interrupted(doc):
        # Algorithm 1 keeps its best iterate on Ctrl-C; a scan must not file that as the shard's result
        raise KeyboardInterrupt
    values, theorem = (w_star_values if task.link == "w-star" else train_values)(doc, task.m)
    bad = [c["id"] for c in doc["checks"] if c["label"] != "estimate" and c["verdict"] != "holds"]
    summary = {k: doc["instance"][k] for k in ("n", "d", "rho", "gamma", "eps")}
    if inst.points.size <= MAX_STORED_COORDINATES:
        summary.update(points=doc["instance"]["points"], labels=doc["instance"]["labels"])
    producer = {k: v for k, v in doc["producer"].items() if k not in ("argv", "config")}
    rec = {"format": FORMAT, "version": VERSION, "key": task_key(task), "task": task_json(task), "instance": summary,
           "values": values, "theorem": theorem,
           "certificate": {"sha256": doc["sha256"], "checks": len(doc["checks"]),
                           "rigorous": "all hold" if not bad else "failing: " + ", ".join(bad)},
           "seconds": round(time.perf_counter() - t0, 4), "producer": producer}
    rec = certificate.seal(rec)
    if not keep_certificate:
        return rec, None, None
    return rec, certificate.dumps(doc), built.witness
