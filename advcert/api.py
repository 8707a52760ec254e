"""The Python face of advcert, for notebooks and scripts: build, train, save, load, verify.

Numbers are exact. ``str``, ``int`` and ``Fraction`` are read exactly; a Python ``float`` is read
by its shortest decimal representation, so ``eps=0.1`` means 1/10, exactly as ``--eps 0.1`` on
the command line (not the binary64 number nearest 0.1)::

    import advcert
    built = advcert.build_certificate(gamma="0.5", eps=0.1, measured=False)
    advcert.save(built, "headline.json")
    report = advcert.verify_document(advcert.load("headline.json"))
    assert report.ok

Each function is a thin layer over :mod:`advcert.pipeline` (the chain of the paper, Definition
3.4 to Theorem 4.1) and the independent verifier (:mod:`advcert.verify`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from advcert import certificate, pipeline, verify
from advcert.chain import Built
from advcert.config import BuildConfig, DataSpec, TrainConfig, exact
from advcert.data import instance_from_data
from advcert.data.instance import Instance

_EXACT_FIELDS = ("eps", "gamma", "rho", "R", "tau", "c_eta", "c_T", "bound_seconds")


def _config(cls, values: dict):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)} for {cls.__name__}; known: {', '.join(sorted(names))}")
    vals = {k: (exact(v, k) if k in _EXACT_FIELDS and v is not None else v) for k, v in values.items()}
    return cls(**vals)


def build_certificate(*, eps, gamma=None, data: DataSpec | None = None, instance: Instance | None = None,
                      quiet: bool = True, **options) -> Built:
    """Build the chain (Definition 3.4 to Theorem 5.3) for one instance and return the sealed certificate.

    Args:
        eps: the target robust loss ε in (0, 1), exact (a float by its shortest repr).
        gamma: separability γ of Definition 3.4; with ``data`` it defaults to the largest supported.
        data: real data (a :class:`~advcert.config.DataSpec`) instead of a synthetic set.
        instance: an explicit :class:`~advcert.data.instance.Instance` (overrides both).
        quiet: no progress lines on stderr.
        **options: any other field of :class:`~advcert.config.BuildConfig` (``n``, ``d``, ``rho``,
            ``seed``, ``m``, ``measured``, ``max_degree``, ``sandwich_budget``, ...).

    Returns:
        a :class:`~advcert.chain.Built`: ``doc`` (the certificate, a dict) and ``witness`` (the
        network's .npz bytes, or None without the measured plane). Save both with :func:`save`.
    """
    cfg = _config(BuildConfig, {"eps": eps, "gamma": gamma, "data": data, **options})
    if instance is None and cfg.data is not None:
        instance = instance_from_data(cfg.data, rho=cfg.rho, gamma=cfg.gamma, eps=cfg.eps, seed=cfg.seed)
    return pipeline.build_certificate(cfg, instance=instance, argv=[], quiet=quiet)


def train_certificate(*, eps, gamma, m: int, quiet: bool = True, **options) -> Built:
    """Run Algorithm 1 at width ``m`` and certify what it reached (Theorems 5.2 and 4.1).

    Args:
        eps, gamma: as in :func:`build_certificate` (exact).
        m: the width of the network.
        quiet: no progress on stderr.
        **options: any other field of :class:`~advcert.config.TrainConfig` (``R``, ``max_steps``,
            ``n``, ``d``, ``rho``, ``seed``, ``loss``, ...).

    Returns:
        a :class:`~advcert.chain.Built` whose witness holds the best iterate.
    """
    cfg = _config(TrainConfig, {"eps": eps, "gamma": gamma, "m": m, **options})
    return pipeline.train_certificate(cfg, argv=[], quiet=quiet)


def save(built: Built, path) -> Path:
    """Write a certificate, and its witness as ``<stem>.network.npz`` beside it; return the path.

    The witness name inside the certificate is set to match before the (re-)seal.
    """
    path = Path(path)
    doc = built.doc
    name = None
    if built.witness is not None:
        name = f"{path.stem}.network.npz"
        net = dict(doc["objects"]["network"], path=name)
        doc = certificate.seal({**{k: v for k, v in doc.items() if k != "sha256"},
                                "objects": {**doc["objects"], "network": net}})
    certificate.write_with_witness(path, doc, built.witness, name)
    return path


def load(path) -> dict:
    """Read a certificate for inspection (no verification: use :func:`verify_document` or :func:`verify_file`)."""
    return certificate.read(path)


def verify_document(doc: dict):
    """Re-derive every rigorous check of a certificate with the independent verifier; returns its Report
    (``.ok``, ``.first_failure``, ``.checks``). A document with a network needs :func:`verify_file`."""
    return verify.verify_document(doc)


def verify_file(path) -> int:
    """``advcert verify FILE`` from Python: prints the report and returns the exit status (0, 1 or 2)."""
    return verify.run(str(path))
