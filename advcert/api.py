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
from dataclasses import dataclass
from pathlib import Path

from advcert import certificate, pipeline, report, verify
from advcert.chain import Built
from advcert.config import BuildConfig, DataSpec, TrainConfig, exact
from advcert.data import instance_from_data
from advcert.data.instance import Instance

@dataclass(frozen=True, eq=False)
class Certificate:
    """A certificate in a notebook: the sealed document, its network witness (bytes, or None), and
    the reader's views of it — the checks by id, the headline in words, a figure, and an HTML
    representation that Jupyter shows (``_repr_html_``, the page of ``advcert report``)."""

    doc: dict
    witness: bytes | None = None

    @property
    def checks(self) -> dict:
        """The checks by id (docs/certificate.md): each with its label, verdict, value and bound."""
        return {c["id"]: c for c in self.doc["checks"]}

    @property
    def headline(self) -> list[str]:
        """What was certified at paper scale, the width that ran against the theorem's, the robust loss."""
        return report.headline(self.doc)

    def plot(self, path) -> Path:
        """Draw the certificate (the two planes, or a training run's curves) to a PNG at ``path``."""
        report.plot(self.doc, str(path))
        return Path(path)

    def _repr_html_(self) -> str:
        return report.render_html(self.doc)


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
        a :class:`Certificate`: ``doc`` (the certificate, a dict), ``witness`` (the network's .npz
        bytes, or None without the measured plane), ``checks``, ``headline``, ``plot``. Save both with
        :func:`save`.
    """
    cfg = _config(BuildConfig, {"eps": eps, "gamma": gamma, "data": data, **options})
    if instance is None and cfg.data is not None:
        instance = instance_from_data(cfg.data, rho=cfg.rho, gamma=cfg.gamma, eps=cfg.eps, seed=cfg.seed)
    built = pipeline.build_certificate(cfg, instance=instance, argv=[], quiet=quiet)
    return Certificate(built.doc, built.witness)


def train_certificate(*, eps, gamma, m: int, quiet: bool = True, **options) -> Built:
    """Run Algorithm 1 at width ``m`` and certify what it reached (Theorems 5.2 and 4.1).

    Args:
        eps, gamma: as in :func:`build_certificate` (exact).
        m: the width of the network.
        quiet: no progress on stderr.
        **options: any other field of :class:`~advcert.config.TrainConfig` (``R``, ``max_steps``,
            ``n``, ``d``, ``rho``, ``seed``, ``loss``, ...).

    Returns:
        a :class:`Certificate` whose witness holds the best iterate.
    """
    cfg = _config(TrainConfig, {"eps": eps, "gamma": gamma, "m": m, **options})
    built = pipeline.train_certificate(cfg, argv=[], quiet=quiet)
    return Certificate(built.doc, built.witness)


def save(built: Certificate | Built, path) -> Path:
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


def load(path) -> Certificate:
    """Read a certificate for inspection (no verification: use :func:`verify_document` or :func:`verify_file`)."""
    return Certificate(certificate.read(path))


def verify_document(doc):
    """Re-derive every rigorous check of a certificate (a :class:`Certificate` or its document) with the
    independent verifier; returns its Report (``.ok``, ``.first_failure``). A certificate with a network
    needs its witness: it is taken from the :class:`Certificate`, else use :func:`verify_file`."""
    if isinstance(doc, Certificate):
        return verify.verify_document(doc.doc, witness=doc.witness) if doc.witness is not None else \
            verify.verify_document(doc.doc)
    return verify.verify_document(doc)


def verify_file(path) -> int:
    """``advcert verify FILE`` from Python: prints the report and returns the exit status (0, 1 or 2)."""
    return verify.run(str(path))
