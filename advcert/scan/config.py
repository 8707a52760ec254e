"""What a scan asks for, as one frozen value: instances × widths × seeds × links (issue 12).

A scan measures, at a grid of widths m, the links of the proof that depend on m: ``w-star``
(Lemma 6.5's W* and its radius, Theorem 5.1's coupling, Theorem 5.3's robust loss of f_{W*})
and ``train`` (Algorithm 1 with Theorems 5.2 and 4.1). It is configured by flags or by a TOML
file with one table per instance; either way the result is a :class:`ScanConfig`, validated
before anything is written (a bad config is one :class:`~advcert.errors.InputError`).

Seeds: for K seeds the scan spawns ``numpy.random.SeedSequence(root).spawn(K)`` and gives seed k
the integer ``children[k].generate_state(1)[0]``; every instance uses the same K seeds, so a
shard's result depends on its task only, never on where or in which order it ran.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from advcert.config import exact
from advcert.errors import InputError
from advcert.rational import to_str

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with the scan extra
    import tomli as tomllib

LINKS = ("w-star", "train")
SEARCHES = ("grid", "bisect")
KINDS = ("small", "synthetic", "points", "data")
#: widths beyond this would not fit a shard in memory on the machines advcert targets
MAX_WIDTH = 2**26
MAX_SHARDS = 10_000

_POW = re.compile(r"^\s*(\d+)\s*\^\s*(\d+)\s*$")


@dataclass(frozen=True)
class InstanceSpec:
    """One instance of a scan (Definition 3.4's data, ρ, γ, ε), by kind.

    ``small``: the two-point instance of Lemma 6.5's small example (advcert.randomfeatures.SMALL_INSTANCE);
    ``synthetic``: ``n`` points in R^``d`` drawn from ``seed`` (advcert.data.instance.synthetic);
    ``points``: given ``points`` and ``labels``; ``data``: a data set (docs/data.md) by ``data``,
    ``labels_rule``, ``lift`` and ``sample``. The points never depend on the scan's seeds.
    """

    name: str
    kind: str
    eps: Fraction
    gamma: Fraction | None = None
    rho: Fraction = Fraction(1, 20)
    n: int | None = None
    d: int | None = None
    seed: int = 0
    points: tuple[tuple[float, ...], ...] | None = None
    labels: tuple[float, ...] | None = None
    data: str | None = None
    labels_rule: str | None = None
    lift: str = "pad"
    sample: int | None = None


@dataclass(frozen=True)
class TrainOptions:
    """Algorithm 1's knobs for the ``train`` link (advcert.config.TrainConfig; Theorem 5.2's R, T)."""

    R: Fraction = Fraction(1)
    max_steps: int = 1000
    bound_seconds: Fraction = Fraction(2)


@dataclass(frozen=True)
class ScanConfig:
    """A whole scan: what to measure (``instances``, ``widths``, ``seeds``, ``links``, the options
    that change numbers) and how to run it (``scheduler``, ``out``, ``limit``), kept apart so that
    the same numbers come from any scheduler."""

    instances: tuple[InstanceSpec, ...]
    widths: tuple[int, ...]
    seeds: int = 1
    root: int = 0
    links: tuple[str, ...] = ("w-star",)
    search: str = "grid"
    bisect_rounds: int = 3
    sandwich_budget: float = 5.0
    train: TrainOptions = TrainOptions()
    # how to run (never part of the numbers)
    scheduler: str = "processes:1"
    out: str = "scan"
    limit: int | None = None
    keep_certificates: bool = False


def seed_values(root: int, k: int) -> tuple[int, ...]:
    """The K shard seeds: ``SeedSequence(root).spawn(K)``, each as ``generate_state(1)[0]``."""
    return tuple(int(c.generate_state(1)[0]) for c in np.random.SeedSequence(int(root)).spawn(int(k)))


def parse_widths(text: str) -> tuple[int, ...]:
    """Widths from ``2^8..2^22`` (every power of 2; ``2^8..2^22:2`` every second), ``1024,4096`` or ``2^10,3000``."""
    s = str(text).strip()
    try:
        if ".." in s:
            lo, _, rest = s.partition("..")
            hi, _, step = rest.partition(":")
            a, b = _pow(lo), _pow(hi)
            k = int(step) if step else 1
            if not (_POW.match(lo) and _POW.match(hi)) or _POW.match(lo).group(1) != _POW.match(hi).group(1):
                raise ValueError
            base, e0, e1 = int(_POW.match(lo).group(1)), int(_POW.match(lo).group(2)), int(_POW.match(hi).group(2))
            if base < 2 or e1 < e0 or k < 1 or a < 1 or b < a:
                raise ValueError
            widths = tuple(base**e for e in range(e0, e1 + 1, k))
        else:
            widths = tuple(_pow(p) for p in s.split(",") if p.strip())
    except ValueError:
        raise InputError(f"--m {text!r} is not a list of widths", "write for example --m 2^10..2^16 or --m 1024,4096") from None
    if not widths:
        raise InputError(f"--m {text!r} gives no width", "write for example --m 2^10..2^16")
    if min(widths) < 1 or max(widths) > MAX_WIDTH:
        raise InputError(f"--m {text!r} has a width outside [1, 2^26]", "pick widths between 1 and 2^26")
    return tuple(sorted(set(widths)))


def _pow(text: str) -> int:
    m = _POW.match(text)
    if m:
        return int(m.group(1)) ** int(m.group(2))
    if not text.strip().isdigit():
        raise ValueError(text)
    return int(text)


def small_spec(name: str = "two-point") -> InstanceSpec:
    """The two-point instance (γ = 29/10, ε = 99/100, n = 2, d = 3, ρ = 1/50; points fixed)."""
    return InstanceSpec(name=name, kind="small", eps=Fraction(99, 100), gamma=Fraction(29, 10), rho=Fraction(1, 50),
                        n=2, d=3)


def instance_spec(name: str, table: dict) -> InstanceSpec:
    """One instance from a TOML table or from the flags (keys as the fields of :class:`InstanceSpec`)."""
    t = dict(table)
    kind = t.pop("kind", None) or ("data" if "data" in t else "points" if "points" in t else "synthetic")
    if kind == "small":
        spec = small_spec(name)
        unknown = set(t) - {"name"}
        if unknown:
            raise InputError(f"instance {name!r}: the small instance is fixed, got {sorted(unknown)}",
                             "drop those keys or use kind = \"synthetic\"")
        return spec
    if kind not in KINDS:
        raise InputError(f"instance {name!r}: unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
    if "labels" in t and kind == "data":
        t["labels_rule"] = t.pop("labels")
    fields = {f.name for f in dataclasses.fields(InstanceSpec)} - {"name", "kind"}
    unknown = set(t) - fields
    if unknown:
        raise InputError(f"instance {name!r}: unknown keys {sorted(unknown)}", f"use only {', '.join(sorted(fields))}")
    if "eps" not in t:
        raise InputError(f"instance {name!r} has no eps", "give eps, for example eps = \"0.1\"")
    kw: dict = {"name": name, "kind": kind}
    for key in ("eps", "gamma", "rho"):
        if t.get(key) is not None:
            kw[key] = exact(t[key], f"{name}.{key}")
    for key in ("n", "d", "seed", "sample"):
        if t.get(key) is not None:
            kw[key] = _whole(t[key], f"{name}.{key}", 2 if key in ("n", "d", "sample") else 0)
    for key in ("data", "labels_rule", "lift"):
        if t.get(key) is not None:
            kw[key] = str(t[key])
    if kind == "points":
        kw["points"], kw["labels"] = _points(name, t.get("points"), t.get("labels"))
    spec = InstanceSpec(**kw)
    _check_instance(spec)
    return spec


def _whole(v, name: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).strip().isdigit() or int(v) < lo:
        raise InputError(f"{name} must be a whole number >= {lo}, got {v!r}", f"pass for example {max(lo, 2)}")
    return int(v)


def _points(name: str, points, labels):
    try:
        P = tuple(tuple(float(x) for x in row) for row in points)
        y = tuple(float(v) for v in labels)
    except (TypeError, ValueError):
        raise InputError(f"instance {name!r}: points/labels must be a list of rows and a list of numbers",
                         "give points = [[x, y, z], ...] and labels = [1, -1, ...]") from None
    if len(P) < 2 or len(P) != len(y) or len({len(r) for r in P}) != 1 or len(P[0]) < 2:
        raise InputError(f"instance {name!r}: need n >= 2 points of one dimension >= 2 and one label each",
                         "check the points and labels lists")
    if not all(math.isfinite(v) for r in P for v in r) or not all(-1 <= v <= 1 for v in y):
        raise InputError(f"instance {name!r}: points must be finite and labels in [-1, 1]", "fix the lists")
    return P, y


def _check_instance(spec: InstanceSpec) -> None:
    if not (0 < spec.eps < 1):
        raise InputError(f"instance {spec.name!r}: eps must lie strictly between 0 and 1, got {to_str(spec.eps)}",
                         "pass for example eps = \"0.1\"")
    if spec.rho <= 0:
        raise InputError(f"instance {spec.name!r}: rho must be > 0", "pass for example rho = \"0.05\"")
    if spec.gamma is not None and not (0 < spec.gamma < 8):
        raise InputError(f"instance {spec.name!r}: gamma must lie in (0, 8), got {to_str(spec.gamma)}",
                         "pass for example gamma = \"0.5\"")
    if spec.kind in ("synthetic", "points") and spec.gamma is None:
        raise InputError(f"instance {spec.name!r} has no gamma", "give gamma, for example gamma = \"0.5\"")
    if spec.kind == "data" and not spec.data:
        raise InputError(f"instance {spec.name!r} of kind data names no data set", "give data = \"digits\" or a file")


def spec_json(spec: InstanceSpec) -> dict:
    """The instance as JSON values (exact numbers as ``"p/q"``), without its name: what a shard's key hashes."""
    out = {}
    for f in dataclasses.fields(spec):
        v = getattr(spec, f.name)
        if f.name == "name" or v is None:
            continue
        out[f.name] = to_str(v) if isinstance(v, Fraction) else [list(r) for r in v] if f.name == "points" else (
            list(v) if isinstance(v, tuple) else v)
    return out


def to_json(cfg: ScanConfig) -> dict:
    """What the scan measures, as JSON (the part of scan.json that no scheduler changes)."""
    return {"instances": {s.name: spec_json(s) for s in cfg.instances}, "widths": list(cfg.widths), "seeds": cfg.seeds,
            "root": cfg.root, "seed_values": list(seed_values(cfg.root, cfg.seeds)), "links": list(cfg.links),
            "search": cfg.search, "bisect_rounds": cfg.bisect_rounds, "sandwich_budget": cfg.sandwich_budget,
            "train": {"R": to_str(cfg.train.R), "max_steps": cfg.train.max_steps,
                      "bound_seconds": to_str(cfg.train.bound_seconds)}}


def parse_scheduler(text: str) -> tuple[str, object]:
    """``processes:N`` (a local process pool), ``inline``, ``local:N`` (a Dask LocalCluster) or ``tcp://HOST:PORT``."""
    s = str(text).strip()
    if s == "inline":
        return "inline", None
    for kind in ("processes", "local"):
        if s == kind or s.startswith(kind + ":"):
            n = s.partition(":")[2] or "1"
            if not n.isdigit() or not 1 <= int(n) <= 256:
                raise InputError(f"--scheduler {text!r}: the worker count must be 1 to 256",
                                 f"write for example --scheduler {kind}:2")
            return kind, int(n)
    if re.match(r"^(tcp|tls)://[^\s:/]+:\d+$", s):
        return "address", s
    raise InputError(f"--scheduler {text!r} is not a scheduler",
                     "use processes:N (default processes:1), inline, local:N (Dask LocalCluster) or tcp://HOST:PORT")


def load_toml(path: str) -> dict:
    """A scan's TOML file as a dict (``[instances.NAME]`` tables plus scalar settings)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"scan config {p} does not exist", "pass the path of a TOML file")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{p} is not valid TOML ({exc})", "fix the file (see docs/theory-vs-practice.md)") from None


_SETTINGS = {"m", "seeds", "root", "links", "search", "bisect_rounds", "sandwich_budget", "R", "max_steps",
             "bound_seconds", "instances"}


def make_config(settings: dict, *, scheduler: str = "processes:1", out: str = "scan", limit: int | None = None,
                keep_certificates: bool = False) -> ScanConfig:
    """A validated :class:`ScanConfig` from settings (a TOML file's keys, or the flags turned into them)."""
    unknown = set(settings) - _SETTINGS
    if unknown:
        raise InputError(f"unknown scan settings {sorted(unknown)}", f"use only {', '.join(sorted(_SETTINGS))}")
    tables = settings.get("instances") or {}
    if not isinstance(tables, dict) or not tables or not all(isinstance(v, dict) for v in tables.values()):
        raise InputError("the scan has no instance", "add --instance small, or [instances.NAME] tables to the TOML file")
    instances = tuple(instance_spec(str(k), v) for k, v in tables.items())
    if "m" not in settings:
        raise InputError("the scan has no widths", "pass for example --m 2^10..2^16")
    widths = parse_widths(settings["m"] if isinstance(settings["m"], str) else ",".join(str(w) for w in settings["m"]))
    links = settings.get("links", ["w-star"])
    links = tuple(links.split(",")) if isinstance(links, str) else tuple(links)
    bad = [x for x in links if x not in LINKS] or ([] if links else ["(none)"])
    if bad:
        raise InputError(f"unknown link {bad[0]!r}", f"use {' or '.join(LINKS)} (comma-separated)")
    search = settings.get("search", "grid")
    if search not in SEARCHES:
        raise InputError(f"--search {search!r} is not a search", "use grid or bisect")
    seeds = _whole(settings.get("seeds", 1), "--seeds", 1)
    sandwich = float(settings.get("sandwich_budget", 5.0))
    if not (sandwich > 0 and math.isfinite(sandwich)):
        raise InputError(f"--sandwich-budget must be > 0 seconds, got {sandwich}", "pass for example 5")
    train = TrainOptions(R=exact(settings.get("R", 1), "--R"), max_steps=_whole(settings.get("max_steps", 1000), "--max-steps", 1),
                         bound_seconds=exact(settings.get("bound_seconds", 2), "--bound-seconds"))
    if train.R < 1 or train.bound_seconds <= 0:
        raise InputError("--R must be >= 1 and --bound-seconds > 0", "pass for example --R 1 --bound-seconds 2")
    if "train" in links and any(s.d is not None and s.d < 3 for s in instances):
        raise InputError("the train link needs d >= 3", "raise d or drop the train link")
    parse_scheduler(scheduler)
    if limit is not None and limit < 0:
        raise InputError(f"--limit must be >= 0, got {limit}", "pass a number of shards")
    cfg = ScanConfig(instances=instances, widths=widths, seeds=seeds, root=_whole(settings.get("root", 0), "--root-seed", 0),
                     links=links, search=search, bisect_rounds=_whole(settings.get("bisect_rounds", 3), "--bisect-rounds", 0),
                     sandwich_budget=sandwich, train=train, scheduler=scheduler, out=out, limit=limit,
                     keep_certificates=keep_certificates)
    n = len(instances) * len(widths) * seeds * len(links)
    if n > MAX_SHARDS:
        raise InputError(f"the scan has {n} shards, more than {MAX_SHARDS}", "use fewer widths, seeds or instances")
    names = [s.name for s in instances]
    if len(set(names)) != len(names):
        raise InputError("two instances share a name", "give every [instances.NAME] table its own name")
    return cfg


def settings_from_args(args) -> dict:
    """The settings of ``advcert scan``'s flags: the TOML file's (``--config``), then each flag given on top."""
    settings = load_toml(args.config) if args.config else {}
    flags = {"m": args.m, "seeds": args.seeds, "root": args.root_seed, "links": args.links, "search": args.search,
             "bisect_rounds": args.bisect_rounds, "sandwich_budget": args.sandwich_budget, "R": args.R,
             "max_steps": args.max_steps, "bound_seconds": args.bound_seconds}
    settings.update({k: v for k, v in flags.items() if v is not None})
    table = {k: v for k, v in (("gamma", args.gamma), ("eps", args.eps), ("n", args.n), ("d", args.d),
                               ("rho", args.rho), ("seed", args.instance_seed), ("data", args.data),
                               ("labels", args.labels), ("lift", args.lift), ("sample", args.sample)) if v is not None}
    if args.instance is not None or table:
        kind = args.instance or ("data" if args.data else "synthetic")
        if settings.get("instances"):
            raise InputError("--instance and instance flags describe one instance, the --config file others",
                             "put every instance in the TOML file, or drop --config's instances")
        settings["instances"] = {args.name or ("two-point" if kind == "small" else kind): {"kind": kind, **table}}
    return settings
