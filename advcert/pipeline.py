"""From a config to a sealed certificate: the whole chain of the proof, both planes, in order.

* :func:`build_certificate`: the certified plane (:mod:`advcert.chain`), then the measured plane at
  width m: Lemma 6.6's h, Lemma 6.5's W*, Theorem 5.1's coupling and Theorem 5.3's robust loss of
  f_{W*} bracketed by attack and sound bound;
* :func:`train_certificate`: the certified plane, then Algorithm 1 from the random initialisation
  with the checks of Theorems 5.2 and 4.1.

Plain functions over frozen configs (:mod:`advcert.config`): no argv, no files. Each returns a
:class:`~advcert.chain.Built` — the sealed document and the bytes of its network witness — and
the caller decides where both go (:func:`advcert.certificate.write_with_witness`).
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import numpy as np

from advcert import certificate, gap, seeds
from advcert.chain import Built, certified_chain, document, instance_for
from advcert.checks import below_theorem_width
from advcert.config import BuildConfig, TrainConfig
from advcert.data.instance import Instance, synthetic
from advcert.errors import InputError
from advcert.limits import network_bytes, refuse_memory
from advcert.progress import Stages, bar

from advcert.checks.measured import random_feature_checks
from advcert.measured.coupling import Options
from advcert.checks.robust import theorem_5_3_check
from advcert.checks.training import Effort, theorem_4_1_check, theorem_5_2_check
from advcert.measured.algorithm1 import Algorithm1Config, schedule, train
from advcert.measured.network import initialise


def network_object(witness: bytes, name: str, m: int, description: str, **extra) -> dict:
    """``objects.network`` of a certificate: the witness file's name (relative to the certificate), hash and width."""
    return {"path": name, "sha256": hashlib.sha256(witness).hexdigest(), "m": int(m),
            "arrays": ["a", "W0", "b", "W"], **extra, "description": description}


def build_certificate(config: BuildConfig, *, instance: Instance | None = None, argv: list[str] | None = None,
                      quiet: bool = True, witness_name: str = "network.npz") -> Built:
    """Every link with an explicit object, Definition 3.4 to Theorem 5.3, as a sealed certificate.

    ``config.measured`` False stops after Lemma 6.2 (as :func:`advcert.chain.build_certificate`).
    ``instance`` overrides the synthetic set of ``config``; ``witness_name`` is the file name,
    relative to the certificate's folder, under which the caller stores ``Built.witness``.
    """
    built = _build(config, instance, argv, quiet, witness_name)
    if not config.gap:
        return built
    return Built(doc=gap.add_to_document(built.doc, gap.gap_table(built.doc)), witness=built.witness)


def _build(config: BuildConfig, instance, argv, quiet, witness_name) -> Built:
    inst = instance if instance is not None else instance_for(config)
    if config.measured and config.m is not None:
        refuse_memory(network_bytes(config.m, inst.d), f"the measured plane at m = {config.m}", "pass a smaller --m")
    stages = Stages(total=6 if config.measured else 4, quiet=quiet)
    chain = certified_chain(inst, config, stages)
    if not config.measured:
        return Built(doc=document(chain, config, argv))
    with stages.stage("Lemmas 6.6, 6.5 and Theorem 5.1: random features and W* near initialisation"):
        rf = random_feature_checks(inst.points, inst.labels, inst.eps, chain.q, m=config.m, seed=inst.seed,
                                   options=Options(c=config.complexity_c, C51=float(config.C51)))
        pseudo = rf.pseudo
        witness = certificate.network_witness(pseudo.net.a, pseudo.net.W0, pseudo.net.b, pseudo.W)
        net = network_object(witness, witness_name, pseudo.net.m,
                             "the initialisation (a, W0, b) and W = W* of Lemma 6.5, float64, rows W_r")
    with stages.stage("Theorem 5.3: robust loss of f_W* between attack and sound bound"):
        t53 = theorem_5_3_check(pseudo.net.a, pseudo.W, pseudo.net.b, inst.points, inst.labels, inst.rho, inst.eps,
                                seed=seeds.seed_sequence(inst.seed, "attack"), time_budget=config.sandwich_budget)
        need = rf.constants.get("log10_m_required", {}).get("value")
        t53 = below_theorem_width(t53, need, int(pseudo.net.m))
    doc = document(chain, config, argv, checks=list(rf.checks) + [t53], constants=rf.constants, network=net)
    return Built(doc=doc, witness=witness)


def _train_instance(config: TrainConfig) -> Instance:
    return synthetic(config.n, config.d, config.rho, config.gamma, config.eps, config.seed)


def train_certificate(config: TrainConfig, *, instance: Instance | None = None, argv: list[str] | None = None,
                      quiet: bool = True, witness_name: str = "network.npz") -> Built:
    """The certified plane, then Algorithm 1 at width ``config.m`` with ``theorem-5.2`` and ``theorem-4.1``.

    The witness holds (a, W0, b) of the initialisation and W = W(t_best), the best iterate. A Ctrl-C
    during training keeps the best iterate so far; the result says it was interrupted.
    """
    inst = instance if instance is not None else _train_instance(config)
    refuse_memory(network_bytes(config.m, inst.d), f"Algorithm 1 at m = {config.m}", "pass a smaller --m")
    stages = Stages(total=6, quiet=quiet)
    bconf = BuildConfig(eps=config.eps, gamma=inst.gamma, n=inst.n, d=inst.d, rho=inst.rho, seed=config.seed,
                        measured=False)
    chain = certified_chain(inst, bconf, stages)
    net0 = initialise(config.m, inst.d, config.seed)
    opts = Algorithm1Config(eps=config.eps, R=config.R, c_eta=config.c_eta, c_T=config.c_T,
                            max_steps=config.max_steps, loss=config.loss, tau=float(config.tau),
                            attack_steps=config.attack_steps, attack_restarts=config.attack_restarts,
                            adversary=config.adversary, checkpoints=config.checkpoints,
                            gap_points=config.gap_points, crown=config.crown)
    sch = schedule(opts.eps, config.m, opts.R, c_eta=opts.c_eta, c_T=opts.c_T, max_steps=opts.max_steps)
    with stages.stage(f"Algorithm 1: m={config.m}, eta={sch.eta:.4g}, T={sch.T} (theorem: {sch.T_theorem:.4g})"):
        with bar(sch.T, "Algorithm 1", quiet) as update:
            def progress(st) -> None:
                update(st.t, description=f"L_A {st.L_A:.4f} (best {st.best:.4f})  drift {st.drift:.3g}/{sch.R_train:.3g}")

            result = train(net0, inst.points, inst.labels, float(inst.rho), opts, seed=config.seed,
                           callback=progress)
        if result.interrupted:
            stages.say(f"interrupted after {result.steps_done} steps: keeping the best iterate (t = {result.t_best})")
    witness = certificate.network_witness(net0.a, net0.W0, net0.b, result.W_best)
    net = network_object(witness, witness_name, config.m,
                         "the initialisation (a, W0, b) and W = W(t_best), the best iterate of Algorithm 1",
                         t_best=result.t_best)
    with stages.stage("Theorems 5.2 and 4.1: the robust loss of the iterates, attacked and bounded"):
        budget = float(config.bound_seconds)
        c52 = theorem_5_2_check(result, net0, inst.points, inst.labels, inst.rho, inst.eps, seed=config.seed,
                                effort=Effort(time_budget=budget / 2))
        wit = {"file": witness_name, "sha256": net["sha256"], "arrays": ["a", "W0", "b", "W"],
               "network": "f_W with W = W_best"}
        c41 = theorem_4_1_check(result, net0, inst.points, inst.labels, inst.rho, inst.eps, seed=config.seed,
                                witness=wit, effort=Effort(budget, 8, 100))
        # Theorems 5.2 and 4.1 apply from Theorem 5.1's width at the training radius on: below it a miss
        # does not refute them (the same rule and word as build's theorem-5.3)
        need = c41["details"]["schedule"]["log10_m_theorem_5_1_at_R_train"]
        c52, c41 = (below_theorem_width(c, need, config.m) for c in (c52, c41))
    doc = document(chain, config, argv, checks=[c52, c41], network=net)
    return Built(doc=doc, witness=witness)


def attack_certificate(doc: dict, arrays: dict, *, seed=None, domain: str = "cap", restarts: int = 8,
                       steps: int = 100, random_points: int = 256, rel_gap: float = 0.1,
                       time_budget: float = 30.0) -> tuple[dict, list[str]]:
    """Re-run Theorem 5.3's sandwich on a certificate's network; return the new check and the
    contradictions with the stored one (an attack above a stored sound bound, or a lost ``holds``).

    ``arrays`` are the witness's ``a, W0, b, W`` (:func:`advcert.certificate.read_network_witness`);
    ``seed`` defaults to the certificate's root seed (stream ``attack``).
    """
    inst = doc.get("instance") or {}
    try:
        X = np.asarray(inst["points"], dtype=np.float64)
        y = np.asarray(inst["labels"], dtype=np.float64)
        rho, eps = Fraction(inst["rho"]), Fraction(inst["eps"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the certificate's instance lacks a usable {exc}",
                         "pass a certificate written by advcert build") from None
    W = arrays["W"]
    if W.ndim != 2 or W.shape != arrays["W0"].shape or W.shape[1] != X.shape[1]:
        raise InputError(f"network W has shape {W.shape} for points in R^{X.shape[1]}",
                         "pass the witness built for this instance")
    sq = seed if seed is not None else seeds.seed_sequence(int(inst.get("seed", 0)), "attack")
    chk = theorem_5_3_check(arrays["a"], W, arrays["b"], X, y, rho, eps, seed=sq, domain=domain, restarts=restarts,
                            steps=steps, random_points=random_points, rel_gap=rel_gap, time_budget=time_budget)
    # the same verdict rule as the build: below the theorem's width a miss is infeasible, not violated
    need = ((doc.get("constants") or {}).get("log10_m_required") or {}).get("value")
    chk = below_theorem_width(chk, need if isinstance(need, float | int) else None, W.shape[0])
    return chk, contradictions(doc, chk)


def contradictions(doc: dict, chk: dict) -> list[str]:
    """Where a re-run ``theorem-5.3`` contradicts the certificate's (Theorem 5.3: attack <= sup <= bound)."""
    stored = next((c for c in doc.get("checks", []) if c.get("id") == "theorem-5.3"), None)
    if stored is None or stored.get("label") != "sound-bound":
        return []
    try:
        old = [Fraction(p["upper"]) for p in stored["details"]["per_point"]]
    except (KeyError, TypeError, ValueError):
        old = []
    out = [f"point {i}: attack {p['attack']!r} exceeds the certificate's sound bound {float(u)!r}"
           for i, (p, u) in enumerate(zip(chk["details"]["per_point"], old)) if Fraction(p["attack"]) > u]
    if stored.get("verdict") == "holds" and chk["verdict"] != "holds":
        out.append("the certificate's theorem-5.3 'holds' was not reproduced by this run")
    return out
