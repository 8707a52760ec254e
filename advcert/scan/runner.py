"""Run a scan's shards where the user asks, resume what a killed scan left, and merge.

Schedulers (``--scheduler``):

* ``processes:N`` (default ``processes:1``): N = 1 runs the shards in this process, one after
  another: no worker to spawn, so the imports and numba's cache load are paid once for the whole
  scan and the scan costs little more than its builds run warm one by one; N ≥ 2 is a local pool
  of N spawned processes that live for the whole scan, each paying them once, not once per shard;
* ``inline``: the same as ``processes:1`` (the name says what it does);
* ``local:N``: a Dask ``distributed.LocalCluster(n_workers=N, threads_per_worker=1)``;
* ``tcp://HOST:PORT``: a ``distributed.Client`` on a running Dask scheduler.

Every worker returns its shard's record and this process writes it (so a remote cluster needs no
shared folder); a shard whose valid file already exists is never run again. With N local workers
each gets cores/N numba and BLAS threads, so two workers do not fight over the cores.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from advcert import certificate
from advcert.errors import InputError
from advcert.progress import bar
from advcert.scan import laws, merge
from advcert.scan.config import ScanConfig, parse_scheduler
from advcert.scan.execute import run_task
from advcert.scan.plots import plot_scan
from advcert.scan.shards import VALUES, Task, read_shard, shard_path, task_key, tasks_at, write_shard

_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _threads(workers: int) -> int:
    """numba/BLAS threads per local worker: the cores shared out, unless NUMBA_NUM_THREADS is set."""
    if os.environ.get("NUMBA_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["NUMBA_NUM_THREADS"]))
    return max(1, (os.cpu_count() or 1) // max(1, workers))


@contextmanager
def _worker_env(threads: int) -> Iterator[dict]:
    """The environment spawned workers start with: ``threads`` numba/BLAS threads each (read at import)."""
    env = {k: str(threads) for k in _THREAD_VARS}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def executor(scheduler: str):
    """``submit(task, keep) -> future`` on the chosen scheduler, and ``as_completed(futures)``."""
    kind, arg = parse_scheduler(scheduler)
    if kind == "inline" or (kind == "processes" and arg == 1):
        # one local worker: a spawned process would only add its start-up (imports, numba's cache)
        yield _Inline(), _inline_completed
        return
    if kind == "processes":
        with _worker_env(_threads(arg)):
            pool = cf.ProcessPoolExecutor(max_workers=arg, mp_context=multiprocessing.get_context("spawn"))
            try:
                yield _PoolSubmit(pool), cf.as_completed
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        return
    try:
        import distributed
    except ImportError:
        raise InputError(f"--scheduler {scheduler} needs Dask", "pip install 'advcert[scan]'") from None
    with _dask_client(distributed, kind, arg) as client:
        yield _DaskSubmit(client), distributed.as_completed


@contextmanager
def _dask_client(distributed, kind: str, arg):
    if kind == "address":
        try:
            client = distributed.Client(arg, timeout=10)
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler {arg} ({exc})", "start it or check the address") from None
        with client:
            yield client
        return
    with _worker_env(_threads(arg)) as env:
        with distributed.LocalCluster(n_workers=arg, threads_per_worker=1, processes=True, dashboard_address=None,
                                      env=env, silence_logs=40) as cluster, distributed.Client(cluster) as client:
            yield client


class _PoolSubmit:
    def __init__(self, pool: cf.ProcessPoolExecutor):
        self.pool = pool

    def submit(self, task: Task, keep: bool):
        return self.pool.submit(run_task, task, keep)


class _DaskSubmit:
    def __init__(self, client):
        self.client = client

    def submit(self, task: Task, keep: bool):
        return self.client.submit(run_task, task, keep, key=f"shard-{task_key(task)[:24]}", pure=False)


class _Lazy:
    """A future of the inline scheduler: the shard runs when its result is asked for."""

    def __init__(self, task: Task, keep: bool):
        self.task, self.keep = task, keep

    def result(self):
        return run_task(self.task, self.keep)


class _Inline:
    def submit(self, task: Task, keep: bool) -> _Lazy:
        return _Lazy(task, keep)


def _inline_completed(futures):
    yield from futures


def _save(out: Path, task: Task, result) -> None:
    rec, cert_text, witness = result
    path = shard_path(out, task)
    if cert_text is not None:  # the full certificate beside its record, the witness first
        stem = path.with_suffix("")
        certificate.write_with_witness(stem.with_suffix(".cert.json"), json.loads(cert_text), witness, stem.name + ".network.npz")
    write_shard(path, rec)


def run_tasks(cfg: ScanConfig, tasks: list[Task], submit, completed, *, budget: list[int], quiet: bool,
              label: str = "scan") -> int:
    """Run the tasks without a valid shard file; return how many ran. ``budget`` is the shards left under --limit."""
    out = Path(cfg.out)
    missing = _missing(out, tasks)
    todo = list({task_key(t): t for t in missing}.values())  # two instances may name one task
    if budget[0] is not None:
        todo = todo[: budget[0]]
    _say(quiet, f"{label}: {len(tasks)} shards, {len(tasks) - len(missing)} already done, running {len(todo)} "
                f"on {cfg.scheduler}")
    done = 0
    with bar(len(todo), label, quiet) as update:
        futures = {submit.submit(t, cfg.keep_certificates): t for t in todo}
        for fut in completed(list(futures)):
            _save(out, futures[fut], fut.result())
            done += 1
            update(done, description=f"{label}: {done}/{len(todo)} shards")
    if budget[0] is not None:
        budget[0] -= done
    return done


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"advcert: {message}", file=sys.stderr, flush=True)


def _bisect_round(cfg: ScanConfig, tasks: list[Task], extra: dict) -> bool:
    """Add one bisection width per (instance, link, value) bracket; False when every bracket is narrow."""
    pairs = merge.collect(cfg.out, tasks)
    grew = False
    for spec in cfg.instances:
        for link in cfg.links:
            recs = [r for t, r in pairs if t.instance.name == spec.name and t.link == link]
            for value in VALUES[link]:
                passes: dict[int, list[bool]] = {}
                for r in recs:
                    passes.setdefault(r["task"]["m"], []).append(r["values"][value]["passes"])
                mid = laws.bisect_width(passes)
                if mid is not None:
                    key = (spec.name, link)
                    if mid not in extra.get(key, ()):
                        extra[key] = tuple(sorted(set(extra.get(key, ())) | {mid}))
                        grew = True
    return grew


def _missing(out: Path, tasks: list[Task]) -> list[Task]:
    return [t for t in tasks if read_shard(shard_path(out, t), t)[0] is None]


def prepare(cfg: ScanConfig) -> Path:
    """The output folder (its parent must exist) with its ``shards/`` subfolder."""
    out = Path(cfg.out)
    parent = out.resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write the scan into {out}: folder {parent} does not exist", "create it or pass another --out")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file", "pass a folder for the scan")
    if not os.access(parent, os.W_OK) or (out.is_dir() and not os.access(out, os.W_OK)):
        raise InputError(f"cannot write the scan into {out}: not writable", "pass a writable --out folder")
    (out / "shards").mkdir(parents=True, exist_ok=True)
    return out


def scan(cfg: ScanConfig, argv: list[str] | None = None, *, quiet: bool = False) -> dict | None:
    """Run (or resume) a scan and write ``scan.json``; return its document, or None when ``--limit`` stopped it."""
    out = prepare(cfg)
    t0 = time.perf_counter()
    budget = [cfg.limit]
    tasks = tasks_at(cfg)
    extra: dict = {}
    ran = 0
    with executor(cfg.scheduler) as (submit, completed):
        ran += run_tasks(cfg, tasks, submit, completed, budget=budget, quiet=quiet)
        for r in range(cfg.bisect_rounds if cfg.search == "bisect" else 0):
            if _missing(out, tasks) or not _bisect_round(cfg, tasks, extra):
                break
            tasks = tasks_at(cfg, extra)
            ran += run_tasks(cfg, tasks, submit, completed, budget=budget, quiet=quiet, label=f"bisect {r + 1}")
    if _missing(out, tasks):
        _say(quiet, f"stopped after {ran} shards (--limit {cfg.limit}); rerun the same command without --limit to finish")
        return None
    pairs = merge.collect(out, tasks)
    timing = {"seconds_wall": round(time.perf_counter() - t0, 3), "shards_run": ran,
              "seconds_shards": round(sum(r["seconds"] for _, r in pairs), 3)}
    doc = merge.document(cfg, pairs, argv, timing)
    certificate.write_atomic(out / "scan.json", certificate.dumps(doc))
    return doc


def _w(m) -> str:
    if m is None:
        return "-"
    e = math.log2(m)
    return f"2^{int(e)}" if e == int(e) else f"2^{e:.2f}"


def summary_lines(doc: dict) -> list[str]:
    """One line per instance and value: label, working width and bracket, exponent vs rate, theorem width."""
    lines = []
    for name, e in doc["results"]["instances"].items():
        for link, entry in e["links"].items():
            for value, law in entry["laws"].items():
                fit = law["fit"]
                exp = "-" if fit is None else f"{fit['exponent']:+.3f}" + (
                    f" [{fit['ci95'][0]:+.2f}, {fit['ci95'][1]:+.2f}]" if fit["ci95"] else "")
                rate = "" if law["theorem_rate"] is None else f" (theorem {law['theorem_rate']:+.3f})"
                work = _w(law["m_work"]) if law["m_work"] else f"> {_w(law['m_fail'])}"
                if law["m_work"] and law["m_fail"]:
                    work += f" (fails at {_w(law['m_fail'])})"
                elif law["below_grid"]:
                    work += " (grid minimum)"
                thm = "" if law["log10_m_theorem"] is None else f"; theorem 10^{law['log10_m_theorem']:.1f}"
                ext = "" if law["log10_m_extrapolated"] is None else f"; fit reaches it at 10^{law['log10_m_extrapolated']:.1f}"
                lines.append(f"{name} {value} [{law['label']}]: works from {work}; exponent {exp}{rate}{thm}{ext}")
    return lines


def main(cfg: ScanConfig, argv: list[str] | None, *, quiet: bool = False, plot: bool = False) -> int:
    """``advcert scan``: run, merge, print the working widths; 130 on Ctrl-C (finished shards are kept)."""
    try:
        doc = scan(cfg, argv, quiet=quiet)
    except KeyboardInterrupt:
        print(f"advcert: interrupted; finished shards are kept in {Path(cfg.out) / 'shards'}: rerun the same command "
              "to resume", file=sys.stderr)
        return 130
    if doc is None:
        return 0
    for line in summary_lines(doc):
        print(line)
    path = Path(cfg.out) / "scan.json"
    if plot:
        plot_scan(doc, str(path.with_suffix(".png")))
    print(f"advcert: wrote {path}" + (f" and {path.with_suffix('.png')}" if plot else ""))
    return 0
