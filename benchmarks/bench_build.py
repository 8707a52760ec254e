"""Benchmark the cold and warm headline build (`advcert build --gamma 0.5 --eps 0.1`).

    .venv/bin/python benchmarks/bench_build.py [--rounds 2] [--against /path/to/other/checkout]
                                               [--build-args "--gamma 0.5 --eps 0.1"]

Each round runs, in fresh processes and back to back (the machine is shared and noisy):

* a fixed reference workload (import numpy, then a one-thread 1500^3 dgemm four times), so
  that every time can be read as a ratio to it;
* ``import advcert.pipeline`` (the imports a build pays before any work);
* a cold build (an empty ``NUMBA_CACHE_DIR``: every kernel compiles) and a warm one (the same
  folder: every kernel loads from the cache), with the stage times of the progress lines;
* with ``--against DIR``, the same cold and warm builds of the checkout at DIR, interleaved.

It prints the medians, the ratios to the reference and (with ``--against``) to the other
checkout, the load average, and the targets: cold <= 15 s, warm <= 5 s (perf-notes §8).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_REFERENCE = ("import time; t = time.perf_counter(); import numpy as np; "
              "a = np.ones((1500, 1500)); [a @ a for _ in range(4)]; print(time.perf_counter() - t)")
_STAGE = re.compile(r"\[(\d+)/(\d+)\] ([^:]+).*: ([0-9.]+) s$")


def _env(tree: str, cache: str | None = None, **extra) -> dict:
    env = dict(os.environ, PYTHONPATH=tree, **extra)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    return env


def _timed(cmd: list[str], env: dict, cwd: str) -> tuple[float, str, str]:
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"bench_build: {' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()[-400:]}")
    return wall, out.stdout, out.stderr


def reference(work: str) -> float:
    """Wall time of the fixed reference workload in a fresh process (BLAS on one thread)."""
    wall, _, _ = _timed([sys.executable, "-c", _REFERENCE], _env(ROOT, OPENBLAS_NUM_THREADS="1"), work)
    return wall


def import_time(tree: str, cache: str, work: str) -> float:
    wall, _, _ = _timed([sys.executable, "-c", "import advcert.pipeline"], _env(tree, cache), work)
    return wall


def build(tree: str, cache: str, work: str, args: list[str]) -> tuple[float, dict[str, float]]:
    """Wall time of one ``advcert build`` of the checkout at ``tree`` and its stage times."""
    out = os.path.join(work, "bench.json")
    wall, _, err = _timed([sys.executable, "-m", "advcert", "build", *args, "--out", out], _env(tree, cache), work)
    stages = {}
    for line in err.splitlines():
        m = _STAGE.search(line)
        if m:
            stages[f"{m.group(1)}/{m.group(2)} {m.group(3).strip()}"] = float(m.group(4))
    return wall, stages


def _round(trees: dict[str, str], work: str, args: list[str], res: dict) -> None:
    res["reference"].append(reference(work))
    for name, tree in trees.items():
        cache = tempfile.mkdtemp(prefix="bench-build-numba-", dir=work)
        try:
            cold, cold_st = build(tree, cache, work, args)
            warm, warm_st = build(tree, cache, work, args)
            res[name]["import"].append(import_time(tree, cache, work))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        res[name]["cold"].append(cold)
        res[name]["warm"].append(warm)
        res[name]["cold stages"].append(cold_st)
        res[name]["warm stages"].append(warm_st)
        print(f"  {name}: cold {cold:.2f} s, warm {warm:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    res["reference"].append(reference(work))


def _stage_medians(runs: list[dict[str, float]]) -> str:
    keys = list(runs[0]) if runs else []
    return ", ".join(f"{k} {statistics.median(r.get(k, 0.0) for r in runs):.2f}" for k in keys)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--against", metavar="DIR", help="another checkout's root, measured interleaved")
    ap.add_argument("--build-args", default="--gamma 0.5 --eps 0.1")
    a = ap.parse_args(argv)
    args = shlex.split(a.build_args)
    trees = {"this": ROOT}
    if a.against:
        trees["against"] = os.path.abspath(a.against)
    res: dict = {"reference": []}
    for name in trees:
        res[name] = {"cold": [], "warm": [], "import": [], "cold stages": [], "warm stages": []}
    print(f"advcert build {' '.join(args)}: {a.rounds} rounds, {os.cpu_count()} cores, "
          f"load {' '.join(f'{v:.1f}' for v in os.getloadavg())}; trees {trees}")
    with tempfile.TemporaryDirectory(prefix="bench-build-") as work:
        for r in range(a.rounds):
            print(f"round {r + 1}:", flush=True)
            _round(trees, work, args, res)
    ref = statistics.median(res["reference"])
    print(f"reference workload: {ref:.2f} s (median of {len(res['reference'])})")
    for name, tree in trees.items():
        m = {k: statistics.median(res[name][k]) for k in ("cold", "warm", "import")}
        print(f"{name} ({tree}):")
        print(f"  cold {m['cold']:.2f} s = {m['cold'] / ref:.1f}x reference (target <= 15 s)")
        print(f"  warm {m['warm']:.2f} s = {m['warm'] / ref:.1f}x reference (target <= 5 s)")
        print(f"  cold - warm (kernel compilation) {m['cold'] - m['warm']:.2f} s; "
              f"import advcert.pipeline {m['import']:.2f} s")
        print(f"  cold stages: {_stage_medians(res[name]['cold stages'])}")
        print(f"  warm stages: {_stage_medians(res[name]['warm stages'])}")
    if a.against:
        for k in ("cold", "warm"):
            mine, theirs = (statistics.median(res[t][k]) for t in ("this", "against"))
            print(f"{k}: this / against = {mine / theirs:.2f}")
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
