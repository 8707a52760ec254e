"""Benchmarks of ``advcert scan`` (issue 12 targets; not part of the test suite).

    PYTHONPATH=$PWD python benchmarks/bench_scan.py [--only overhead|dask|rss] [--json OUT]

1. overhead: the scan (``processes:1``: the shards in the scan's own process) against the same
   builds run warm one by one in this process (target: total ≤ 1.15× the sum); beside it, the
   same scan as a fresh ``python -m advcert scan`` process (its imports and numba's cache load
   included) and ``processes:2`` (a spawned pool of two). Because the load of a shared machine
   moves between runs, ``ratio_processes:1_same_run`` divides each ``processes:1`` scan's wall
   time by the sum of its own shards' times, measured in that same run (scan.json's
   ``provenance.timing``): in this warm process those shards are the builds run warm one by one.
2. dask: a ``LocalCluster`` with 2 workers against 1 worker, the same shards (target ≥ 1.6× the
   throughput), in one run both with the cores shared out (a lone worker gets every core's
   kernel threads) and with one kernel thread per worker.
3. rss: the parent's resident memory over a 50-shard scan (it must not grow with the shards).

The machine is shared, so the numbers are what one run measured, not a property of the code.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from advcert.scan import config, execute, runner, shards


def _cfg(out: str, m: str, seeds: int, scheduler: str, root: int = 0) -> config.ScanConfig:
    return config.make_config({"instances": {"two-point": {"kind": "small"}}, "m": m, "seeds": seeds, "root": root},
                              scheduler=scheduler, out=out)


def _one_by_one(cfg: config.ScanConfig) -> float:
    total = 0.0
    for task in shards.tasks_at(cfg):
        t0 = time.perf_counter()
        execute.build(task)
        total += time.perf_counter() - t0
    return total


def _cold_cli(out: str, m: str, seeds: int) -> float:
    """The same scan as a user runs it: a fresh ``python -m advcert scan`` process, start-up included."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "advcert", "scan", "--instance", "small", "--m", m, "--seeds", str(seeds),
                    "--out", out, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def overhead(tmp: str, repeats: int = 3) -> dict:
    """Alternate the warm one-by-one builds and each way of scanning ``repeats`` times; keep each one's fastest
    (the machine is shared: alternating keeps a change of load from landing on one side only)."""
    m, seeds = "2^10..2^15", 2
    cfg = _cfg(os.path.join(tmp, "x"), m, seeds, "inline")
    execute.build(shards.tasks_at(_cfg(tmp, "2^10", 1, "inline", root=99))[0])  # warm: JIT and caches loaded
    best: dict[str, float] = {}
    same: list[float] = []
    names = ("one_by_one", "processes:1", "cold_cli", "processes:2")
    for r in range(repeats):
        for name in names:
            out = os.path.join(tmp, f"{name.replace(':', '')}-{r}")
            t0 = time.perf_counter()
            if name == "one_by_one":
                wall = _one_by_one(cfg)
            elif name == "cold_cli":
                wall = _cold_cli(out, m, seeds)
            else:
                doc = runner.scan(_cfg(out, m, seeds, name), quiet=True)
                wall = time.perf_counter() - t0
                if name == "processes:1":
                    same.append(wall / doc["provenance"]["timing"]["seconds_shards"])
            best[name] = min(best.get(name, math.inf), wall)
    res = {"shards": len(shards.tasks_at(cfg)), "widths": m, "seeds": seeds, "repeats": repeats,
           "sum_warm_one_by_one_s": round(best["one_by_one"], 3)}
    for name in names[1:]:
        res[f"scan_{name}_s"] = round(best[name], 3)
        res[f"ratio_{name}"] = round(best[name] / best["one_by_one"], 3)
    res["ratio_processes:1_same_run"] = [round(r, 3) for r in same]
    return res


def dask(tmp: str) -> dict:
    """2 workers against 1, twice in one run: with the cores shared out (the scan's default: a
    lone worker gets both cores' kernel threads, so 2 workers can gain only what the kernels'
    own threading loses) and with one kernel thread per worker (NUMBA_NUM_THREADS=1, what a
    cluster of one-core workers sees: the scaling the target is about). Cluster start-up is
    included in every time."""
    # shards of a few seconds each, as a real scan has: with ~1 s shards the cluster's start-up
    # (about 3 s for its worker processes and their imports) is most of what is measured
    m, seeds = "2^14..2^16", 4
    out: dict = {"widths": m, "seeds": seeds}
    saved = os.environ.get("NUMBA_NUM_THREADS")
    for mode, threads in (("shared", saved), ("one_thread", "1")):
        if threads is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = threads
        try:
            for n in (1, 2):
                t0 = time.perf_counter()
                runner.scan(_cfg(os.path.join(tmp, f"dask-{mode}-{n}"), m, seeds, f"local:{n}"), quiet=True)
                out[f"{mode}_local:{n}_s"] = round(time.perf_counter() - t0, 3)
            out[f"{mode}_speedup_2_vs_1"] = round(out[f"{mode}_local:1_s"] / out[f"{mode}_local:2_s"], 3)
        finally:
            if saved is None:
                os.environ.pop("NUMBA_NUM_THREADS", None)
            else:
                os.environ["NUMBA_NUM_THREADS"] = saved
    return out


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss(tmp: str) -> dict:
    cfg = _cfg(os.path.join(tmp, "rss"), "2^8,2^9", 25, "processes:1")
    samples: list[tuple[int, float]] = []
    stop = threading.Event()
    folder = os.path.join(cfg.out, "shards")

    def sample():
        while not stop.is_set():
            n = len(os.listdir(folder)) if os.path.isdir(folder) else 0
            samples.append((n, _rss_mib()))
            time.sleep(0.2)

    start = _rss_mib()
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    runner.scan(cfg, quiet=True)
    stop.set()
    th.join()
    at = {k: max((r for n, r in samples if n <= k), default=None) for k in (5, 25, 50)}
    return {"shards": 50, "rss_before_mib": round(start, 1), "rss_by_5_shards_mib": at[5] and round(at[5], 1),
            "rss_by_25_shards_mib": at[25] and round(at[25], 1), "rss_by_50_shards_mib": at[50] and round(at[50], 1),
            "rss_end_mib": round(_rss_mib(), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("overhead", "dask", "rss"), action="append")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    results = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    tmp = tempfile.mkdtemp(prefix="bench-scan-")
    try:
        for name in args.only or ("overhead", "dask", "rss"):
            results[name] = globals()[name](tmp)
            print(name, json.dumps(results[name]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
