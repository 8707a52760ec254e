"""advcert: explicit objects and checkable certificates for the constructive proof of
Zhang, Plevrakis, Du, Li, Song and Arora, "Over-parameterized Adversarial Training: An
Analysis Overcoming the Curse of Dimensionality" (NeurIPS 2020).

Two planes, never mixed:

* the certified plane (exact rationals and Arb balls): separability (Definition 3.4),
  the sign polynomial (Lemma 6.4), the step polynomial (Claim 6.3), the robust
  interpolant f* (Lemma 6.2) and the theorems' constants in log scale;
* the measured plane (float64, sampled, attacked): networks at widths a machine holds.

The public face (docs/api.md) is :mod:`advcert.api`: ``build_certificate``, ``train_certificate``,
``save``, ``load``, ``verify_document``, ``verify_file``, and the values ``BuildConfig``,
``TrainConfig``, ``DataSpec``, ``Instance``. They are loaded on first use, so that
``import advcert`` (and the verifier's process) stays free of numpy and numba.
"""

__version__ = "0.1.0"

_PUBLIC = {
    "build_certificate": "advcert.api", "train_certificate": "advcert.api", "save": "advcert.api",
    "load": "advcert.api", "verify_document": "advcert.api", "verify_file": "advcert.api",
    "Certificate": "advcert.api",
    "BuildConfig": "advcert.config", "TrainConfig": "advcert.config", "DataSpec": "advcert.config",
    "Instance": "advcert.data.instance",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    # PEP 562: the public names are resolved on first access (see the module docstring)
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'advcert' has no attribute {name!r}")
