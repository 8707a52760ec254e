"""advcert: explicit objects and checkable certificates for Zhang et al. (NeurIPS 2020).

  advcert build --gamma 0.5 --eps 0.1      build the chain and write a certificate
  advcert verify FILE                      re-check it independently
  advcert show FILE                        its headline in words, then its checks
  advcert plot FILE                        its planes (or training curves) as a PNG
  advcert separation --data digits        δ_i histogram (Figure 1), largest γ, points to drop
  advcert train --gamma G --eps E --m M    Algorithm 1, with theorem-4.1 and theorem-5.2 checks
  advcert attack FILE                      re-run the robust-loss sandwich on a certificate's network
  advcert scan --instance small --m 2^10..2^16 --seeds 2   the width law: where each link starts to hold
  advcert report FILE                      one self-contained HTML (or Markdown) page of it
  advcert diff A B                         compare two certificates (rigorous parts identical)
  advcert gap FILE                         where the theorem's width goes, one ingredient at a time
  advcert selftest                         a ~1 s check that the install works

Numbers are read exactly from their decimal strings (0.1 means 1/10).

Verdicts (docs/verdicts.md): a rigorous check (exact, enclosure, sound-bound) says holds or
fails; an estimate says observed (met at this width), violated (missed where the theorem
applies), vacuous (met, but a trivial function meets it too) or infeasible (the theorem does
not apply at this width, or the arithmetic cannot resolve it; the width needed is stated).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from advcert import __version__
from advcert.errors import InputError


class _Terminated(BaseException):
    """SIGTERM, raised where the process is so that ``finally`` blocks run."""


def _terminate(signum, frame):
    raise _Terminated()


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"advcert: error: {message}; see '{self.prog} --help'\n")


def _int(name: str, lo: int | None = None):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if lo is not None and v < lo:
            raise argparse.ArgumentTypeError(f"{name} must be at least {lo}, got {v}")
        return v

    return parse


def _number(args, name: str, *, default: str | None = None, lo=None, hi=None, strict_lo: bool = True):
    """The exact value of option ``name`` (a decimal or p/q string), range-checked."""
    from advcert.rational import parse_number

    text = getattr(args, name.lstrip("-").replace("-", "_"))
    if text is None:
        if default is None:
            return None
        text = default
    v = parse_number(text, name)
    low = lo is not None and (v <= lo if strict_lo else v < lo)
    if lo is not None and hi is not None and (low or v >= hi):
        raise InputError(f"{name} must lie strictly between {lo} and {hi}, got {text}", f"pass for example {name} 0.1")
    if low:
        raise InputError(f"{name} must be {'>' if strict_lo else '>='} {lo}, got {text}", f"pass a valid {name}")
    if hi is not None and v >= hi:
        raise InputError(f"{name} must be < {hi}, got {text}", f"pass a valid {name}")
    return v


def _gamma(args):
    gamma = _number(args, "--gamma", lo=0)
    if gamma is not None and gamma >= 8:
        raise InputError(f"--gamma {args.gamma} is too large: η = γ/8 must be below 1", "pass --gamma below 8")
    return gamma


# ---------------------------------------------------------------------------------------------
# parsers
# ---------------------------------------------------------------------------------------------


def _add_instance_args(p: argparse.ArgumentParser, *, data: bool = True) -> None:
    p.add_argument("--gamma", help="separability γ of Definition 3.4 (> 0); default for --data: the largest the data "
                                   "supports, rounded down to 3 digits")
    p.add_argument("--eps", required=True, help="target robust loss ε, in (0, 1)")
    p.add_argument("--n", type=_int("--n", 2), default=None, help="number of synthetic points (default 10)")
    p.add_argument("--d", type=_int("--d", 2), default=None, help="dimension of X ⊂ R^d (default 8)")
    p.add_argument("--rho", default=None, help="perturbation radius ρ on X (default 0.05)")
    p.add_argument("--seed", type=_int("--seed", 0), default=0, help="root seed for numpy SeedSequence (default 0)")
    if not data:
        return
    g = p.add_argument_group("real data (instead of a synthetic set)")
    g.add_argument("--data", metavar="SPEC", help="a .npz (arrays X, y) or .csv (last column y) file, or 'digits'")
    g.add_argument("--labels", metavar="RULE", help="binary:K gives +1 to class K and -1 to the rest")
    g.add_argument("--lift", default="pad", metavar="MAP", help="pad (default; pad:C) or normalize (docs/data.md)")
    g.add_argument("--sample", type=_int("--sample", 2), default=None, metavar="K",
                   help="use K points drawn without replacement (seeded by --seed)")
    g.add_argument("--drop-close", action="store_true",
                   help="drop the fewest points that keep the rest γ-separable (recorded in the certificate)")


def _add_train_args(p) -> None:
    p.add_argument("--R", default="1", help="Theorem 5.2's radius R >= 1 (default 1): T = c_T R²/ε², R_train = R²/ε")
    p.add_argument("--max-steps", type=_int("--max-steps", 1), default=1000,
                   help="caps the theorem's number of steps: T = min(c_T R²/ε², this) (default 1000; the "
                        "certificate records both)")
    p.add_argument("--loss", choices=("abs", "smooth"), default="abs",
                   help="ℓ = |ŷ−y| (abs, default) or √((ŷ−y)²+τ²)−τ (smooth)")
    p.add_argument("--tau", default="0.01", help="τ of the smooth loss (default 0.01)")
    p.add_argument("--c-eta", default="1", help="η = c_η·ε·m^(-1/3) (default c_η = 1)")
    p.add_argument("--c-T", default="1", help="T = c_T·R²/ε² (default c_T = 1)")
    p.add_argument("--adversary", choices=("pgd", "apgd"), default="pgd",
                   help="training adversary: fused projected ascent (pgd, default) or the APGD of advcert.adversary (apgd)")
    p.add_argument("--attack-steps", type=_int("--attack-steps", 0), default=10,
                   help="ascent steps of the training adversary (default 10)")
    p.add_argument("--attack-restarts", type=_int("--attack-restarts", 0), default=0,
                   help="random starts in each cap besides the data point (default 0)")
    p.add_argument("--checkpoints", type=_int("--checkpoints", 0), default=20,
                   help="checkpoints for the Theorem 5.1 gap and the CROWN bound (default 20)")
    p.add_argument("--bound-seconds", default="10",
                   help="time budget of the branch-and-bound for the best iterate (default 10; the comparators "
                        "of Theorem 5.2 get half of it)")


def _add_separation_parser(sub) -> None:
    """Options of ``advcert separation``: the paper's Figure 1 on a data set (Definition 3.4)."""
    p = sub.add_parser("separation", help="δ_i distribution of a data set (the paper's Figure 1), largest γ",
                       description="Study the nearest-neighbour distances of a data set lifted onto X: a histogram "
                                   "(the paper's Figure 1), the certified δ, the largest γ at ρ, and the fewest "
                                   "points to drop for a target γ.")
    p.add_argument("--data", required=True, metavar="SPEC",
                   help="a .npz (arrays X, y) or .csv (last column y) file, or 'digits'")
    p.add_argument("--labels", default=None, metavar="RULE",
                   help="binary:K makes class K the +1 class (labels are not needed here)")
    p.add_argument("--lift", default="pad", metavar="MAP", help="pad (default; pad:C sets the room factor C), or normalize")
    p.add_argument("--sample", type=_int("--sample", 2), default=None, metavar="K",
                   help="study K points drawn without replacement, the same K as 'advcert build --data' (default: all)")
    p.add_argument("--seed", type=_int("--seed", 0), default=0, metavar="S", help="sampling seed (default 0)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--rho", default=None, metavar="R", help="adversary radius on X (default 1/100)")
    group.add_argument("--rho-raw", default=None, metavar="R",
                       help="adversary radius in the raw data's units; converted to a sound radius on X")
    p.add_argument("--gamma", default=None, metavar="G",
                   help="target gamma: report the smallest set of points to drop to reach it")
    p.add_argument("--out", default=".", metavar="DIR", help="directory for separation.json and separation.png (default .)")


def _add_attack_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a certificate whose objects.network names the network witness (.npz)")
    p.add_argument("--network", help="the .npz witness (arrays a, W0, b, W); default: the certificate's, "
                                     "relative to its folder")
    p.add_argument("--seed", type=_int("--seed", 0), default=None,
                   help="attack seed (default: the certificate's root seed)")
    p.add_argument("--restarts", type=_int("--restarts", 0), default=8, help="uniform starts per cap and side (default 8)")
    p.add_argument("--steps", type=_int("--steps", 0), default=100, help="ascent steps per start (default 100)")
    p.add_argument("--random-points", type=_int("--random-points", 0), default=256,
                   help="random-search points per cap (default 256)")
    p.add_argument("--time-budget", type=float, default=30.0, help="branch-and-bound seconds in all (default 30)")
    p.add_argument("--gap", type=float, default=0.1, help="stop branching at upper <= (1 + GAP) attack (default 0.1)")
    p.add_argument("--domain", choices=("cap", "ball"), default="cap",
                   help="bound over the cap B2(x, rho) ∩ X (default) or the l2 ball around it")
    p.add_argument("--json", action="store_true", help="print the theorem-5.3 check as JSON on stdout")


def _add_scan_parser(sub) -> None:
    """Options of ``advcert scan``: links × widths × seeds × instances, and where to run them (issue 12)."""
    p = sub.add_parser("scan", help="measure each link over widths and seeds: the smallest working width and the law",
                       description="Run the w-star (Lemma 6.5, Theorems 5.1 and 5.3) and train (Algorithm 1, Theorems "
                                   "5.2 and 4.1) links over a grid of widths and seeds, one shard per task, and merge "
                                   "them into DIR/scan.json: the smallest working width of each link, fitted laws "
                                   "beside the theorem's rates and widths. A killed scan resumes where it stopped.")
    p.add_argument("--config", metavar="FILE.toml", help="settings and [instances.NAME] tables (flags given override)")
    p.add_argument("--instance", choices=("small", "synthetic", "data"), help="small: the two-point instance")
    p.add_argument("--name", help="the instance's name in scan.json (default: its kind)")
    for flag in ("--gamma", "--eps", "--rho", "--data", "--labels", "--lift"):
        p.add_argument(flag, default=None)
    for flag in ("--n", "--d", "--sample"):
        p.add_argument(flag, type=_int(flag, 2), default=None)
    p.add_argument("--instance-seed", type=_int("--instance-seed", 0), default=None, help="seed of the points (default 0)")
    p.add_argument("--m", help="widths: 2^10..2^16 (every power of 2), 2^8..2^20:2, or 1024,4096")
    p.add_argument("--seeds", type=_int("--seeds", 1), default=None, help="seeds per width (default 1)")
    p.add_argument("--root-seed", type=_int("--root-seed", 0), default=None, help="SeedSequence root (default 0)")
    p.add_argument("--links", help="w-star, train or w-star,train (default w-star)")
    p.add_argument("--search", choices=("grid", "bisect"), default=None,
                   help="bisect: then narrow each bracket in log m (--bisect-rounds, default 3)")
    p.add_argument("--bisect-rounds", type=_int("--bisect-rounds", 0), default=None)
    p.add_argument("--sandwich-budget", type=float, default=None, help="theorem-5.3 branch-and-bound seconds (default 5)")
    p.add_argument("--R", default=None, help="train: Theorem 5.2's R (default 1)")
    p.add_argument("--max-steps", type=_int("--max-steps", 1), default=None, help="train: step budget (default 1000)")
    p.add_argument("--bound-seconds", default=None, help="train: branch-and-bound seconds (default 2)")
    p.add_argument("--scheduler", default="processes:1",
                   help="processes:N (default processes:1), inline, local:N (Dask LocalCluster) or tcp://HOST:PORT")
    p.add_argument("--out", default="scan", metavar="DIR", help="folder for shards/ and scan.json (default ./scan)")
    p.add_argument("--limit", type=_int("--limit", 0), default=None, help="run at most K new shards, then stop")
    p.add_argument("--keep-certificates", action="store_true", help="also keep each shard's certificate and witness")
    p.add_argument("--plot", action="store_true", help="also draw DIR/scan.png")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="advcert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"advcert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    b = sub.add_parser("build", help="build the proof's objects and write a certificate",
                       description="Build every explicit object of the proof for one data set, check each bound, "
                                   "and write a JSON certificate (docs/certificate.md).")
    _add_instance_args(b)
    b.add_argument("--out", help="certificate path (default: advcert-gamma<G>-eps<E>-n<N>-d<D>-seed<S>.json here)")
    b.add_argument("--max-degree", type=_int("--max-degree", 3), default=None,
                   help="refuse sign polynomials above this degree (default 1001; the cost grows like degree^3)")
    b.add_argument("--m", type=_int("--m", 1), default=None,
                   help="width of the measured plane (default: chosen to keep the build near 30 s)")
    b.add_argument("--poly", choices=("paper", "minimax", "lp"), default="paper",
                   help="how q of Claim 6.3 is built: paper (Lemma 6.4's Taylor + Chebyshev p1, default), minimax "
                        "(the minimax sign polynomial of least degree) or lp (q of least Lemma 6.6 cost, no p1)")
    b.add_argument("--gap", action="store_true",
                   help="add where the theorem's width goes, one ingredient at a time (as advcert gap; ~15 s at the headline)")
    b.add_argument("--certified-only", action="store_true",
                   help="stop after Lemma 6.2 (no random features, W*, Theorems 5.1 and 5.3)")
    b.add_argument("--sandwich-budget", type=float, default=5.0, metavar="S",
                   help="seconds of branch and bound for the theorem-5.3 upper bound (default 5)")
    b.add_argument("--complexity-c", default="2", metavar="C",
                   help="the paper's unspecified constant c in (1, 64] of C(q) and C(q, eps2) (Definition 6.1; default 2): "
                        "it sets eps2, the LP route's cost and lemma-6.6/range's bound")
    b.add_argument("--C51", default="1", metavar="C",
                   help="the constant of Theorem 5.1's O(R^2/m^(1/6)), in [1e-6, 1e6] (default 1; the paper leaves it unspecified)")
    b.add_argument("--train", action="store_true",
                   help="run Algorithm 1 instead of the random-features plane: the same as "
                        "'advcert train' with these arguments (width --m, default 4096)")
    b.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    _add_train_args(b.add_argument_group("Algorithm 1, with --train (as advcert train)"))

    v = sub.add_parser("verify", help="independently re-check a certificate",
                       description="Re-derive every exact, enclosure and sound-bound check with independent code; "
                                   "exit 0 if all hold, 1 naming the first failure, 2 if the file is unreadable.")
    v.add_argument("file")
    v.add_argument("--estimates", action="store_true", help="also re-run the estimates from their seeds")

    s = sub.add_parser("show", help="print the headline in words, then a table of a certificate's checks",
                       description="The headline (what holds at paper scale, the width that ran against the width "
                                   "the theorems need, the robust-loss interval), the checks verdict first, why each "
                                   "estimate says what it says, the constants. Verdicts: docs/verdicts.md.")
    s.add_argument("file")
    s.add_argument("--wide", action="store_true", help="claims and notes in full, enclosures with both ends")
    s.add_argument("--quiet", action="store_true", help="accepted for uniformity (show writes no progress)")

    pl = sub.add_parser("plot", help="draw a certificate: the certified and measured planes, or training curves")
    pl.add_argument("file")
    pl.add_argument("--out", help="PNG path (default: the certificate's name with .png)")
    pl.add_argument("--wide", action="store_true", help="a wider figure")
    pl.add_argument("--quiet", action="store_true", help="do not print the path written")

    rp = sub.add_parser("report", help="one self-contained HTML or Markdown page of a certificate",
                        description="The headline, the figures (embedded), the checks with labels and verdicts, "
                                    "the constants and the provenance, in one file with no external resource.")
    rp.add_argument("file")
    rp.add_argument("--format", choices=("html", "md"), default="html", help="page format (default html)")
    rp.add_argument("--out", help="output path (default: the certificate's name with .html or .md)")
    rp.add_argument("--quiet", action="store_true", help="do not print the path written")

    _add_separation_parser(sub)
    att = sub.add_parser("attack", help="re-run the robust-loss sandwich (Theorem 5.3) on a certificate's network",
                         description="Attack a certificate's network from below (projected ascent + random search) "
                                     "and bound it from above (sound linear relaxation with branch and bound); exit 1 "
                                     "if the re-run contradicts the certificate.")
    _add_attack_args(att)
    _add_scan_parser(sub)
    tr = sub.add_parser("train", help="run Algorithm 1 (adversarial training) and certify what it reached",
                        description="Algorithm 1 of the paper from the random initialisation: full-batch adversarial "
                                    "training with step size c_eta·ε·m^(-1/3); writes a certificate with theorem-5.2 "
                                    "and theorem-4.1, the trained network as an .npz witness, and a PNG of the curves.")
    _add_instance_args(tr)
    tr.add_argument("--m", type=_int("--m", 1), required=True, help="width m of the network")
    _add_train_args(tr)
    tr.add_argument("--out", help="certificate path (default advcert-train-gamma<G>-eps<E>-m<M>-n<N>-d<D>-seed<S>.json); "
                                  "the witness .npz and the .png go next to it")
    tr.add_argument("--quiet", action="store_true", help="no progress bar or stage lines on stderr")
    df = sub.add_parser("diff", help="compare two certificates as a regression test would",
                        description="Compare certificate B with the reference A: rigorous parts must be identical, "
                                    "estimates may drift within --rtol; exit 0 when they agree, 1 otherwise.")
    df.add_argument("a", help="the reference certificate")
    df.add_argument("b", help="the certificate to compare with it")
    df.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance of estimates (default 1e-6)")
    g = sub.add_parser("gap", help="where the theorem's width goes: M0 recomputed with one ingredient changed at a time",
                       description="Theorem 5.3's width for a certificate's instance with the paper's construction, "
                                   "then with the degree and coefficients built, the minimax sign polynomial, the "
                                   "least-complexity q, the measured radius and a scan's working width (advcert.gap).")
    g.add_argument("file")
    g.add_argument("--scan", metavar="SCAN", help="a scan.json of the same instance: adds the width that works")
    g.add_argument("--wide", action="store_true", help="each row's constants (D, max|q_j|, C(q), ε2, C_h, R, widths)")
    sub.add_parser("selftest", help="a quick end-to-end check of this installation")
    for name, p in sub.choices.items():  # --quiet is accepted by every command
        if not any("--quiet" in a.option_strings for a in p._actions):
            p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


# ---------------------------------------------------------------------------------------------
# configs from arguments
# ---------------------------------------------------------------------------------------------


def _build_config(args):
    from advcert.config import MAX_DEGREE, BuildConfig, DataSpec, exact

    eps = _number(args, "--eps", lo=0, hi=1)
    rho = _number(args, "--rho", default="0.05", lo=0)
    gamma = _gamma(args)
    if args.data is None:
        for flag, val in (("--labels", args.labels), ("--sample", args.sample)):
            if val is not None:
                raise InputError(f"{flag} applies to --data only", f"add --data SPEC or drop {flag}")
        if args.drop_close:
            raise InputError("--drop-close applies to --data only", "add --data SPEC or drop --drop-close")
        if gamma is None:
            raise InputError("--gamma is required for synthetic data", "pass for example --gamma 0.5")
        data = None
    elif args.n is not None or args.d is not None:
        raise InputError("--n and --d describe synthetic data; with --data they come from the file",
                         "drop --n/--d, or use --sample K to take K points")
    else:
        data = DataSpec(spec=args.data, labels=args.labels, lift=args.lift, sample=args.sample,
                        drop_close=args.drop_close)
    if not (args.sandwich_budget > 0):
        raise InputError(f"--sandwich-budget must be > 0 seconds, got {args.sandwich_budget}", "pass for example 5")
    return BuildConfig(eps=eps, gamma=gamma, n=args.n or 10, d=args.d or 8, rho=rho, seed=args.seed, data=data,
                       max_degree=args.max_degree or MAX_DEGREE, poly=args.poly, measured=not args.certified_only, m=args.m,
                       gap=args.gap, sandwich_budget=args.sandwich_budget,
                       complexity_c=exact(args.complexity_c, "--complexity-c"), C51=exact(args.C51, "--C51"))


def _train_config(args, m: int):
    from advcert.config import TrainConfig

    from advcert.config import DataSpec

    data = None
    if args.data is not None:
        if args.n is not None or args.d is not None:
            raise InputError("--n and --d describe synthetic data; with --data they come from the file",
                             "drop --n/--d, or use --sample K to take K points")
        data = DataSpec(spec=args.data, labels=args.labels, lift=args.lift, sample=args.sample,
                        drop_close=args.drop_close)
    elif args.gamma is None:
        raise InputError("--gamma is required for synthetic data", "pass for example --gamma 0.5")
    if args.d is not None and args.d < 3:
        raise InputError(f"--d must be at least 3 for training, got {args.d}", "pass --d 3 or more")
    return TrainConfig(
        eps=_number(args, "--eps", lo=0, hi=1), gamma=_gamma(args), m=m, data=data,
        n=args.n or 10, d=args.d or 8, rho=_number(args, "--rho", default="0.05", lo=0), seed=args.seed,
        R=_number(args, "--R", lo=1, strict_lo=False), max_steps=args.max_steps, loss=args.loss,
        tau=_number(args, "--tau", lo=0), c_eta=_number(args, "--c-eta", lo=0), c_T=_number(args, "--c-T", lo=0),
        adversary=args.adversary, attack_steps=args.attack_steps, attack_restarts=args.attack_restarts,
        checkpoints=args.checkpoints, bound_seconds=_number(args, "--bound-seconds", lo=0))


def _writable_out(out: Path) -> Path:
    if out.suffix != ".json":
        raise InputError(f"--out {out} does not end in .json", "name the certificate NAME.json (its witness and "
                                                               "figures go next to it under the same stem)")
    folder = out.resolve().parent
    if not folder.is_dir():
        raise InputError(f"cannot write {out}: folder {folder} does not exist", "create it or pass another --out")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {out}: folder {folder} is not writable", "pass a writable --out path")
    return out


def _rigorous_summary(doc: dict) -> tuple[str, int]:
    bad = [c["id"] for c in doc["checks"] if c["label"] != "estimate" and c["verdict"] != "holds"]
    return ("all hold" if not bad else f"FAILING: {', '.join(bad)}"), (0 if not bad else 1)


# ---------------------------------------------------------------------------------------------
# handlers
# ---------------------------------------------------------------------------------------------


def _cmd_build(args, argv) -> int:
    if args.train:
        return _run_train(args, argv, m=args.m or 4096)
    cfg = _build_config(args)
    if args.data is not None:
        name = os.path.splitext(os.path.basename(args.data))[0]
        default = f"advcert-{name}-gamma{args.gamma or 'auto'}-eps{args.eps}-seed{args.seed}.json"
    else:
        default = f"advcert-gamma{args.gamma}-eps{args.eps}-n{args.n or 10}-d{args.d or 8}-seed{args.seed}.json"
    out = _writable_out(Path(args.out or default))
    witness_name = f"{out.stem}.network.npz"
    if cfg.data is not None:
        from advcert.data import instance_from_data

        inst = instance_from_data(cfg.data, rho=cfg.rho, gamma=cfg.gamma, eps=cfg.eps, seed=cfg.seed)
        classes = sorted(set(inst.labels.tolist()))
        if len(classes) == 1:
            # f* ≡ y then meets Lemma 6.2 trivially: the certificate holds, but says little about the data
            print(f"advcert: warning: all {inst.n} points have the label {classes[0]:g}; the robust interpolant is "
                  "then trivial (try another --seed or a larger --sample)", file=sys.stderr)
    else:
        inst = None
    if cfg.measured or cfg.gap:
        from advcert.pipeline import build_certificate
    else:
        from advcert.chain import build_certificate  # the certified plane alone never loads numba
    if cfg.measured or cfg.gap:
        built = build_certificate(cfg, instance=inst, argv=argv, quiet=args.quiet, witness_name=witness_name)
    else:
        built = build_certificate(cfg, instance=inst, argv=argv, quiet=args.quiet)
    from advcert import certificate

    certificate.write_with_witness(out, built.doc, built.witness, witness_name)
    summary, status = _rigorous_summary(built.doc)
    print(f"advcert: wrote {out} ({len(built.doc['checks'])} checks; rigorous: {summary})")
    if not args.quiet:
        from advcert.report import headline

        for line in headline(built.doc):
            print(f"  {line}")
        print(f"  (advcert show {out} for every check; advcert verify {out} to re-check it independently)")
    return status


def _run_train(args, argv, m: int) -> int:
    from advcert import certificate
    from advcert.pipeline import train_certificate
    from advcert.report import plot_training

    cfg = _train_config(args, m)
    what = (f"{os.path.splitext(os.path.basename(args.data))[0]}-gamma{args.gamma or 'auto'}" if args.data
            else f"gamma{args.gamma}")
    default = f"advcert-train-{what}-eps{args.eps}-m{m}-n{cfg.n}-d{cfg.d}-seed{cfg.seed}.json"
    out = _writable_out(Path(args.out or default))
    npz, png = out.with_suffix(".npz"), out.with_suffix(".png")
    if png.exists() and (not png.is_file() or png.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n"):
        raise InputError(f"{png} exists and is not a PNG figure: advcert replaces only its own earlier output",
                         "move it away or pass another --out")
    inst = None
    if cfg.data is not None:
        from advcert.data import instance_from_data

        inst = instance_from_data(cfg.data, rho=cfg.rho, gamma=cfg.gamma, eps=cfg.eps, seed=cfg.seed)
    built = train_certificate(cfg, instance=inst, argv=argv, quiet=args.quiet, witness_name=npz.name)
    certificate.write_with_witness(out, built.doc, built.witness, npz.name)
    plot_training(built.doc, str(png))
    c52, c41 = built.doc["checks"][-2], built.doc["checks"][-1]
    det = c41["details"]
    summary, status = _rigorous_summary(built.doc)
    sch = det["schedule"]
    ran = (f"interrupted after {sch['steps_done']} of {sch['T_budget']} steps" if sch["interrupted"] else
           f"{sch['steps_done']} steps" + (f" (T capped by --max-steps; the theorem's T is {sch['T_theorem']:.4g})"
                                           if sch["capped"] else ""))
    print(f"advcert: wrote {out}, {npz.name}, {png.name}; {ran}; theorem-4.1: {c41['verdict']} ({c41['label']}, "
          f"min_t L_A = {det['min_L_A']:.4g} at t = {det['t_best']}); theorem-5.2: {c52['verdict']}; "
          f"rigorous: {summary}")
    return status


def _cmd_train(args, argv) -> int:
    return _run_train(args, argv, m=args.m)


def _cmd_verify(args) -> int:
    from advcert import verify

    status = verify.run(args.file, stream=sys.stdout, err=sys.stderr)
    if status != 0 or not args.estimates:
        return status
    # estimates need the builders, which the verifier never imports: re-run them here
    from advcert import certificate, rerun

    if not args.quiet:
        print("advcert: re-running the estimates from the certificate's producer.config (the whole pipeline) ...",
              file=sys.stderr)
    return rerun.report(certificate.read(args.file), sys.stdout)


def _cmd_show(args) -> int:
    from advcert import certificate
    from advcert.report import show

    show(certificate.read(args.file), stream=sys.stdout, wide=args.wide)
    return 0


def _cmd_plot(args) -> int:
    from advcert import certificate
    from advcert.report import plot

    out = args.out or os.path.splitext(args.file)[0] + ".png"
    from advcert.scan import merge

    if merge.is_scan(args.file):
        from advcert.scan.plots import plot_scan

        plot_scan(merge.read(args.file), out)
        if not args.quiet:
            print(f"advcert: wrote {out}")
        return 0
    doc = certificate.read(args.file)
    plot(doc, out, wide=args.wide)
    if not args.quiet:
        print(f"advcert: wrote {out}")
    return 0


def _cmd_report(args) -> int:
    from advcert import certificate
    from advcert.report import write_report

    doc = certificate.read(args.file)
    out = args.out or os.path.splitext(args.file)[0] + "." + args.format
    write_report(doc, out, args.format)
    if not args.quiet:
        print(f"advcert: wrote {out}")
    return 0


def _cmd_attack(args) -> int:
    from advcert import certificate
    from advcert.pipeline import attack_certificate
    from advcert.report import print_sandwich

    doc = certificate.read(args.file)
    arrays = certificate.read_network_witness(doc, args.file, args.network)
    if not args.quiet:
        print(f"advcert: attacking and bounding the robust loss of {args.file}'s network "
              f"(m = {arrays['W'].shape[0]}, budget ~{args.time_budget:g} s of branch and bound) ...", file=sys.stderr)
    chk, contradictions = attack_certificate(
        doc, arrays, seed=args.seed, domain=args.domain, restarts=args.restarts, steps=args.steps,
        random_points=args.random_points, rel_gap=args.gap, time_budget=args.time_budget)
    if args.json:
        import json

        print(json.dumps(chk, indent=1, sort_keys=True))
    else:
        print_sandwich(doc, chk, args.domain, sys.stdout)
    for line in contradictions:
        print(f"advcert: {line}", file=sys.stderr)
    return 1 if contradictions else 0


def _cmd_separation(args) -> int:
    from advcert.data import study
    from advcert.rational import parse_number

    def number(text, name):
        return parse_number(text, name) if text is not None else None

    rep = study.study_data(args.data, rho=number(args.rho, "--rho"), rho_raw=number(args.rho_raw, "--rho-raw"),
                           gamma=number(args.gamma, "--gamma"), labels=args.labels, lift=args.lift,
                           sample=args.sample, seed=args.seed)
    paths = study.write_separation(rep, args.out)
    for line in study.summary_lines(rep):
        print(line)
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0


def _cmd_diff(args) -> int:
    from advcert import certificate
    from advcert.compare import compare, print_comparison

    if not (args.rtol >= 0):
        raise InputError(f"--rtol must be >= 0, got {args.rtol}", "pass for example --rtol 1e-6")
    cmp = compare(certificate.read(args.a), certificate.read(args.b), rtol=args.rtol)
    print_comparison(cmp, sys.stdout)
    return 0 if cmp.ok else 1


def _cmd_scan(args, argv) -> int:
    from advcert.scan import config, runner

    cfg = config.make_config(config.settings_from_args(args), scheduler=args.scheduler, out=args.out,
                             limit=args.limit, keep_certificates=args.keep_certificates)
    return runner.main(cfg, argv, quiet=args.quiet, plot=args.plot)


def _cmd_gap(args) -> int:
    from advcert import certificate, gap

    scan = gap.read_scan(args.scan) if args.scan else None
    print(gap.format_table(gap.gap_table(certificate.read(args.file), scan), wide=args.wide))
    return 0


def _cmd_selftest(args) -> int:
    from advcert.selftest import run

    return run()


_HANDLERS = {
    "build": lambda a, argv: _cmd_build(a, argv),
    "train": lambda a, argv: _cmd_train(a, argv),
    "verify": lambda a, argv: _cmd_verify(a),
    "show": lambda a, argv: _cmd_show(a),
    "plot": lambda a, argv: _cmd_plot(a),
    "report": lambda a, argv: _cmd_report(a),
    "attack": lambda a, argv: _cmd_attack(a),
    "separation": lambda a, argv: _cmd_separation(a),
    "diff": lambda a, argv: _cmd_diff(a),
    "gap": lambda a, argv: _cmd_gap(a),
    "selftest": lambda a, argv: _cmd_selftest(a),
    "scan": lambda a, argv: _cmd_scan(a, argv),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``advcert`` and ``python -m advcert``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's own exits (--help, --version, usage errors)
        return int(exc.code or 0)
    handler = _HANDLERS.get(args.command)
    if handler is None:
        parser.print_help()
        return 2
    from advcert.certificate import WRITTEN

    previous = signal.getsignal(signal.SIGTERM)
    try:
        # SIGTERM unwinds like Ctrl-C, so temporary files are removed and the message is honest
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (an embedding application): leave its handler alone
        previous = None
    try:
        return handler(args, argv)
    except InputError as exc:
        print(f"advcert: error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Terminated) as exc:
        done = f"wrote {', '.join(WRITTEN)} before it" if WRITTEN else "no file was written"
        print(f"advcert: {'terminated' if isinstance(exc, _Terminated) else 'interrupted'}; {done}", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    except BrokenPipeError:  # `advcert show FILE | head`: the reader left; not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except MemoryError:
        print("advcert: error: out of memory; pass a smaller --m or --sample", file=sys.stderr)
        return 2
    except Exception as exc:  # an advcert bug, not the user's: still one line unless asked
        if os.environ.get("ADVCERT_DEBUG"):
            raise
        print(f"advcert: internal error: {exc.__class__.__name__}: {exc} "
              "(this is a bug in advcert; rerun with ADVCERT_DEBUG=1 for the traceback and report it)", file=sys.stderr)
        return 3
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
