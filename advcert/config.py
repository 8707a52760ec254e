"""What a user asks of a build or a training run, as exact frozen values (no argv, no files).

The command line, the Python API and ``advcert verify --estimates`` all meet here: a
:class:`BuildConfig` or :class:`TrainConfig` is recorded in the certificate as
``producer.config`` (docs/certificate.md), and re-running a certificate means calling the
pipeline with the stored config, never replaying an argv.

Numbers are exact: :func:`exact` reads ``str``, ``int`` and ``Fraction`` exactly and a Python
``float`` by its shortest decimal representation, so ``0.1`` means 1/10, as on the command line.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from fractions import Fraction

from advcert.errors import InputError
from advcert.rational import log2, parse_number, to_str

#: Beyond this degree the exact build (cost ~ k², k ~ D²) and its certification (~ D³) take
#: minutes; the user must ask for it explicitly (Lemma 6.4's construction).
MAX_DEGREE = 1001
#: the largest complexity constant c a build accepts (BuildConfig.complexity_c; lemma-6.6/range
#: searches for the fitting c up to the same value)
MAX_COMPLEXITY_C = 64


def exact(value, name: str) -> Fraction:
    """An exact rational from ``str``/``int``/``Fraction``; a ``float`` by its shortest repr (0.1 → 1/10)."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}", "pass a decimal string such as '0.1'")
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{name} must be finite, got {value!r}", "pass a finite number")
        return parse_number(repr(value), name)
    return parse_number(value, name)


def _short(x: Fraction) -> str:
    """``p/q`` when it is short, else its size (an error message must stay one line)."""
    text = to_str(x)
    return text if len(text) <= 24 else f"about 2^{log2(abs(x)):.0f}" if x else "0"


@dataclass(frozen=True)
class DataSpec:
    """Real data instead of a synthetic set (docs/data.md): the file or bundled set and how it is lifted onto X."""

    spec: str
    labels: str | None = None
    lift: str = "pad"
    sample: int | None = None
    drop_close: bool = False


@dataclass(frozen=True)
class BuildConfig:
    """``advcert build``: the instance (Definition 3.4's data, ρ, γ, ε) and the planes to build.

    ``gamma`` may be None only with ``data``: the largest γ the data supports is used.
    ``measured`` adds Lemmas 6.6, 6.5 and Theorems 5.1, 5.3 at width ``m`` (None: a default
    chosen from the instance).
    """

    eps: Fraction
    gamma: Fraction | None = None
    n: int = 10
    d: int = 8
    rho: Fraction = Fraction(1, 20)
    seed: int = 0
    data: DataSpec | None = None
    attack_restarts: int = 8
    attack_steps: int = 60
    max_degree: int = MAX_DEGREE
    poly: str = "paper"
    measured: bool = True
    m: int | None = None
    sandwich_budget: float = 5.0
    gap: bool = False  # add the decomposition of the theorem's width (advcert.gap) as constants gap/<row>
    # the paper's hidden constants (math-spec §5, §7): c > 1 of C(φ, ε) and C(φ) (Definition 6.1), and
    # the constant of Theorem 5.1's O(R²/m^{1/6}); both are recorded with every number that uses them
    complexity_c: Fraction = Fraction(2)
    C51: Fraction = Fraction(1)

    def __post_init__(self):
        # bounded above as well: c^D sets eps2 and with it the bits of every Arb step of Lemma 6.6
        # (c = 64 at degree 245 already asks for ~1500 bits), and C51 enters float estimates
        c = Fraction(self.complexity_c)
        if not 1 < c <= MAX_COMPLEXITY_C:
            raise InputError(f"the complexity constant c must be in (1, {MAX_COMPLEXITY_C}] (Definition 6.1), got {_short(c)}",
                             "pass for example --complexity-c 2")
        if not Fraction(1, 10**6) <= Fraction(self.C51) <= 10**6:
            raise InputError(f"Theorem 5.1's constant must be in [1e-6, 1e6], got {_short(Fraction(self.C51))}",
                             "pass for example --C51 1")


@dataclass(frozen=True)
class TrainConfig:
    """``advcert train``: Algorithm 1 on an instance from (a, W0, b) at width ``m`` (Theorems 5.2, 4.1).

    η = c_eta·ε·m^{-1/3} and T = min(c_T·R²/ε², max_steps) (math-spec §7-8); the adversary makes
    ``attack_steps`` ascent steps from the data point plus ``attack_restarts`` uniform starts per cap;
    ``checkpoints`` evaluations of the Theorem 5.1 gap (on ``gap_points`` uniform points of X) and,
    with ``crown``, of a CROWN bound; ``bound_seconds`` of branch and bound for the best iterate.
    """

    eps: Fraction
    gamma: Fraction | None
    m: int
    n: int = 10
    d: int = 8
    rho: Fraction = Fraction(1, 20)
    seed: int = 0
    R: Fraction = Fraction(1)
    max_steps: int = 1000
    loss: str = "abs"
    tau: Fraction = Fraction(1, 100)
    c_eta: Fraction = Fraction(1)
    c_T: Fraction = Fraction(1)
    adversary: str = "pgd"
    attack_steps: int = 10
    attack_restarts: int = 0
    checkpoints: int = 20
    gap_points: int = 256
    crown: bool = True
    bound_seconds: Fraction = Fraction(10)
    data: DataSpec | None = None  # real data (``gamma`` None: the largest it supports) instead of a synthetic set


def to_json(config) -> dict:
    """A config as JSON values (Fractions as ``"p/q"``), tagged with its kind; inverse of :func:`from_json`."""
    out: dict = {"kind": type(config).__name__}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if isinstance(v, Fraction):
            v = to_str(v)
        elif dataclasses.is_dataclass(v):
            v = to_json(v)
        out[f.name] = v
    return out


_KINDS = {"BuildConfig": BuildConfig, "TrainConfig": TrainConfig, "DataSpec": DataSpec}


def from_json(obj) -> BuildConfig | TrainConfig | DataSpec:
    """Rebuild a config from :func:`to_json`'s output (for example a certificate's ``producer.config``)."""
    if not isinstance(obj, dict) or obj.get("kind") not in _KINDS:
        raise InputError("producer.config is not a BuildConfig or TrainConfig", "rebuild the certificate with this advcert")
    cls = _KINDS[obj["kind"]]
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in obj:
            continue
        v, hint = obj[f.name], hints[f.name]
        if isinstance(v, dict):
            v = from_json(v)
        elif v is not None and (hint is Fraction or Fraction in typing.get_args(hint)):
            v = exact(v, f.name)
        kwargs[f.name] = v
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise InputError(f"producer.config does not describe a {cls.__name__} ({exc})",
                         "rebuild the certificate with this advcert") from None
