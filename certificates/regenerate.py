"""Remake the reference certificates in this folder: ``python certificates/regenerate.py``.

* headline.json (+ headline.network.npz): ``advcert build --gamma 0.5 --eps 0.1``, the
  paper-scale example of math-spec §11, with the measured plane at the default width.
* small-end-to-end.json: the small instance where the measured chain works
  (advcert.measured.coupling.SMALL_INSTANCE: n = 2 antipodal points in d = 3, γ = 29/10,
  ε = 99/100, ρ = 1/50, m = 2^22). Its network witness is 268 MB, so it is written next to
  the certificate but not kept in git (see README.md); this step takes a few minutes.
* train-regression.json (+ .npz, .png): ``advcert train --gamma 0.5 --eps 0.1 --m 4096 --R 2``,
  the Algorithm 1 regression instance.
* all-links.json (+ all-links.network.npz, 0.5 MB, in git): the antipodal pair of
  antipodal-pair.csv at m = 2^13 on the minimax route, where every link of Theorem 5.3's chain
  holds rigorously (``ALL_LINKS`` below is the command).

Options: ``--only NAME`` (headline, small, train, all-links) to remake one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
#: every step writes here first, so that the source tree stays clean (producer.git.dirty = false) until
#: all of them have run; then the files replace the references in one go
STAGE = os.path.join(HERE, ".regen")


ROOT = os.path.dirname(HERE)


def _in_clean_checkout(argv: list[str], outputs: list[str]) -> None:
    """Run ``advcert *argv`` from the root of a fresh checkout of HEAD, with the paths a user
    would type (so producer.argv is the command that rebuilds the file, and the verifier can
    name it), then move ``outputs`` (paths relative to the root) to STAGE. A checkout per step
    keeps every step's tree clean (producer.git.dirty = false) although each writes in place."""
    work = tempfile.mkdtemp(prefix="advcert-regen-")
    tree = os.path.join(work, "tree")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "--quiet", tree, "HEAD"], check=True)
    try:
        subprocess.run([sys.executable, "-m", "advcert", *argv], check=True, cwd=tree,
                       env={**os.environ, "PYTHONPATH": tree})
        for rel in outputs:
            shutil.move(os.path.join(tree, rel), os.path.join(STAGE, os.path.basename(rel)))
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], check=True)
        shutil.rmtree(work, ignore_errors=True)


def headline() -> None:
    _in_clean_checkout(["build", "--gamma", "0.5", "--eps", "0.1", "--gap", "--out", "certificates/headline.json"],
                       ["certificates/headline.json", "certificates/headline.network.npz"])


def small() -> None:
    import numpy as np

    from advcert import certificate
    from advcert.config import BuildConfig
    from advcert.pipeline import build_certificate
    from advcert.data.instance import Instance
    from advcert.measured.coupling import SMALL_INSTANCE as S

    inst = Instance(points=np.array(S["points"], dtype=float), labels=np.array(S["labels"], dtype=float),
                    rho=S["rho"], gamma=S["gamma"], eps=S["eps"], seed=S["seed"],
                    source={"kind": "synthetic", "generator": "hand-placed antipodal pair, labels ±1 "
                                                               "(advcert.measured.coupling.SMALL_INSTANCE)"})
    cfg = BuildConfig(gamma=S["gamma"], eps=S["eps"], n=S["n"], d=S["d"], rho=S["rho"], seed=S["seed"], m=S["m"])
    argv = ["certificates/regenerate.py", "--only", "small"]
    res = build_certificate(cfg, instance=inst, quiet=False, argv=argv, witness_name="small-end-to-end.network.npz")
    certificate.write_with_witness(os.path.join(STAGE, "small-end-to-end.json"), res.doc, res.witness,
                                   "small-end-to-end.network.npz")
    print(f"advcert: wrote {os.path.join(HERE, 'small-end-to-end.json')}")


def train() -> None:
    _in_clean_checkout(["train", "--gamma", "0.5", "--eps", "0.1", "--m", "4096", "--R", "2",
                        "--out", "certificates/train-regression.json"],
                       [f"certificates/train-regression.{ext}" for ext in ("json", "npz", "png")])


#: the all-links instance (issue 13): the antipodal pair on the minimax route, so that Lemma 6.4's
#: object exists too, at the least width found where every link holds (2^13 at seed 0; 2^12 failed
#: for seeds 0-5, 6144 for seeds 6-11, 2^13 for seeds 1-5)
ALL_LINKS = ["build", "--data", "certificates/antipodal-pair.csv", "--lift", "normalize", "--eps", "0.99",
             "--gamma", "2.9", "--rho", "0.02", "--m", "8192", "--seed", "0", "--poly", "minimax",
             "--out", "certificates/all-links.json", "--quiet"]


def all_links() -> None:
    _in_clean_checkout(ALL_LINKS, ["certificates/all-links.json", "certificates/all-links.network.npz"])


STEPS = {"headline": headline, "small": small, "train": train, "all-links": all_links}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python certificates/regenerate.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(STEPS), action="append", help="remake only this one (repeatable)")
    args = parser.parse_args()
    os.makedirs(STAGE, exist_ok=True)
    for name in args.only or list(STEPS):
        print(f"== {name}", flush=True)
        STEPS[name]()
    for f in sorted(os.listdir(STAGE)):
        os.replace(os.path.join(STAGE, f), os.path.join(HERE, f))
    os.rmdir(STAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
