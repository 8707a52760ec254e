"""advcert: explicit objects and checkable certificates for Zhang et al. (NeurIPS 2020).

  advcert build --gamma 0.5 --eps 0.1      build the chain and write a certificate
  advcert verify FILE                      re-check it independently
  advcert show FILE                        a table of its checks
  advcert plot FILE                        pictures of p1, q and the checks
  advcert separation --data digits        δ_i histogram (Figure 1), largest γ, points to drop
  advcert train --gamma G --eps E --m M    Algorithm 1, with theorem-4.1 and theorem-5.2 checks
  advcert attack FILE                      re-run the robust-loss sandwich on a certificate's network
  advcert selftest                         a ~10 s check that the install works

Numbers are read exactly from their decimal strings (0.1 means 1/10).
"""

from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction

from advcert import __version__
from advcert.errors import InputError
from advcert.rational import parse_number


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


def _add_instance_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gamma", help="separability γ of Definition 3.4 (> 0); default for --data: the largest the data "
                                   "supports, rounded down to 3 digits")
    p.add_argument("--eps", required=True, help="target robust loss ε, in (0, 1)")
    p.add_argument("--n", type=_int("--n", 2), default=None, help="number of synthetic points (default 10)")
    p.add_argument("--d", type=_int("--d", 2), default=None, help="dimension of X ⊂ R^d (default 8)")
    p.add_argument("--rho", default=None, help="perturbation radius ρ on X (default 0.05)")
    p.add_argument("--seed", type=_int("--seed", 0), default=0, help="root seed for numpy SeedSequence (default 0)")
    g = p.add_argument_group("real data (instead of a synthetic set)")
    g.add_argument("--data", metavar="SPEC", help="a .npz (arrays X, y) or .csv (last column y) file, or 'digits'")
    g.add_argument("--labels", metavar="RULE", help="binary:K gives +1 to class K and -1 to the rest")
    g.add_argument("--lift", default="pad", metavar="MAP", help="pad (default; pad:C) or normalize (docs/data.md)")
    g.add_argument("--sample", type=_int("--sample", 2), default=None, metavar="K",
                   help="use K points drawn without replacement (seeded by --seed)")
    g.add_argument("--drop-close", action="store_true",
                   help="drop the fewest points that keep the rest γ-separable (recorded in the certificate)")


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
    b.add_argument("--certified-only", action="store_true",
                   help="stop after Lemma 6.2 (no random features, W*, Theorems 5.1 and 5.3)")
    b.add_argument("--sandwich-budget", type=float, default=5.0, metavar="S",
                   help="seconds of branch and bound for the theorem-5.3 upper bound (default 5)")
    b.add_argument("--train", action="store_true",
                   help="run Algorithm 1 instead of the random-features plane: the same as "
                        "'advcert train' with these arguments (width --m, default 4096)")
    b.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    v = sub.add_parser("verify", help="independently re-check a certificate",
                       description="Re-derive every exact, enclosure and sound-bound check with independent code; "
                                   "exit 0 if all hold, 1 naming the first failure, 2 if the file is unreadable.")
    v.add_argument("file")
    v.add_argument("--estimates", action="store_true", help="also re-run the estimates from their seeds")

    s = sub.add_parser("show", help="print a table of a certificate's checks")
    s.add_argument("file")

    pl = sub.add_parser("plot", help="draw p1, q and the certified bounds from a certificate")
    pl.add_argument("file")
    pl.add_argument("--out", help="PNG path (default: the certificate's name with .png)")

    sep = sub.add_parser("separation", help="δ_i distribution of a data set (the paper's Figure 1), largest γ",
                         description="Study the nearest-neighbour distances of a data set lifted onto X: a histogram "
                                     "(the paper's Figure 1), the certified δ, the largest γ at ρ, and the fewest "
                                     "points to drop for a target γ.")
    from advcert import separation as _separation

    _separation.add_arguments(sep)
    att = sub.add_parser("attack", help="re-run the robust-loss sandwich (Theorem 5.3) on a certificate's network",
                         description="Attack a certificate's network from below (projected ascent + random search) "
                                     "and bound it from above (sound linear relaxation with branch and bound); exit 1 "
                                     "if the re-run contradicts the certificate.")
    from advcert import _remnant_attack as _attack

    _attack.add_arguments(att)
    tr = sub.add_parser("train", help="run Algorithm 1 (adversarial training) and certify what it reached",
                        description="Algorithm 1 of the paper from the random initialisation: full-batch adversarial "
                                    "training with step size c_eta·ε·m^(-1/3); writes a certificate with theorem-5.2 "
                                    "and theorem-4.1, the trained network as an .npz witness, and a PNG of the curves.")
    from advcert import _remnant_train as _train

    _train.add_arguments(tr)
    sub.add_parser("selftest", help="a quick end-to-end check of this installation")
    return parser


def _validate_build(args) -> dict:
    eps = parse_number(args.eps, "--eps")
    if not (0 < eps < 1):
        raise InputError(f"--eps must lie strictly between 0 and 1, got {args.eps}", "pass for example --eps 0.1")
    rho = parse_number(args.rho if args.rho is not None else "0.05", "--rho")
    if rho <= 0:
        raise InputError(f"--rho must be > 0, got {args.rho}", "pass the perturbation radius, for example --rho 0.05")
    if args.data is None:
        for flag, val in (("--labels", args.labels), ("--sample", args.sample)):
            if val is not None:
                raise InputError(f"{flag} applies to --data only", f"add --data SPEC or drop {flag}")
        if args.drop_close:
            raise InputError("--drop-close applies to --data only", "add --data SPEC or drop --drop-close")
        if args.gamma is None:
            raise InputError("--gamma is required for synthetic data", "pass for example --gamma 0.5")
    elif args.n is not None or args.d is not None:
        raise InputError("--n and --d describe synthetic data; with --data they come from the file",
                         "drop --n/--d, or use --sample K to take K points")
    gamma = parse_number(args.gamma, "--gamma") if args.gamma is not None else None
    if gamma is not None and gamma <= 0:
        raise InputError(f"--gamma must be > 0, got {args.gamma}", "pass for example --gamma 0.5")
    if gamma is not None and gamma >= 8:
        raise InputError(f"--gamma {args.gamma} is too large: η = γ/8 must be below 1", "pass --gamma below 8")
    return {"gamma": gamma, "eps": eps, "rho": rho}


def _data_instance(args, nums):
    """Load --data, subsample, drop close points if asked, and make the Instance."""
    import numpy as np

    from advcert import seeds
    from advcert.data import load
    from advcert.instance import Instance, certify_separation
    from advcert.separation import drop_close

    ds = load(args.data, labels=args.labels, lift=args.lift)
    points, labels = ds.points, ds.labels
    source = dict(ds.source)
    source["lift"] = ds.lift.to_json()
    if args.sample is not None:
        if args.sample > points.shape[0]:
            raise InputError(f"--sample {args.sample} exceeds the {points.shape[0]} points of {args.data}",
                             f"pass --sample {points.shape[0]} or less")
        idx = np.sort(seeds.stream(args.seed, "sample").choice(points.shape[0], args.sample, replace=False))
        points, labels = points[idx], labels[idx]
        source["sample"] = [int(i) for i in idx]
    gamma = nums["gamma"]
    if gamma is None:
        from advcert.poly.certify import round_down

        sep = certify_separation(points, nums["rho"], Fraction(0))
        if sep.gamma_max_lo <= 0:
            raise InputError(f"the data are not separable at ρ={args.rho or '0.05'}: δ <= 2ρ",
                             "lower --rho or use --drop-close with --gamma")
        gamma = round_down(sep.gamma_max_lo, 3)
    if args.drop_close:
        drop = drop_close(points, nums["rho"], gamma)
        keep = list(drop.keep_indices)
        source["dropped"] = {"indices": [int(i) for i in drop.dropped_indices], "smallest": bool(drop.exact),
                             "method": drop.method}
        points, labels = points[keep], labels[keep]
    if points.shape[0] < 2:
        raise InputError("fewer than 2 points remain", "lower --gamma or drop fewer points")
    return Instance(points=np.ascontiguousarray(points), labels=np.ascontiguousarray(labels), rho=nums["rho"],
                    gamma=gamma, eps=nums["eps"], seed=args.seed, source=source)


def _default_out(args) -> str:
    if args.data is not None:
        name = os.path.splitext(os.path.basename(args.data))[0]
        return f"advcert-{name}-gamma{args.gamma or 'auto'}-eps{args.eps}-seed{args.seed}.json"
    return f"advcert-gamma{args.gamma}-eps{args.eps}-n{args.n or 10}-d{args.d or 8}-seed{args.seed}.json"


def _cmd_build(args, argv) -> int:
    from advcert import certificate
    from advcert.build import MAX_DEGREE, BuildConfig, build

    nums = _validate_build(args)
    out = args.out or _default_out(args)
    if args.train:
        if args.data is not None:
            raise InputError("--train runs on synthetic data only", "drop --data, or drop --train")
        targv = ["train", "--gamma", args.gamma, "--eps", args.eps, "--m", str(args.m or 4096), "--n", str(args.n or 10),
                 "--d", str(args.d or 8), "--rho", args.rho or "0.05", "--seed", str(args.seed), "--out", out]
        return main(targv + (["--quiet"] if args.quiet else []))
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise InputError(f"cannot write {out}: folder {folder} does not exist", "create it or pass another --out")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {out}: folder {folder} is not writable", "pass a writable --out path")
    inst = _data_instance(args, nums) if args.data is not None else None
    if not (args.sandwich_budget > 0):
        raise InputError(f"--sandwich-budget must be > 0 seconds, got {args.sandwich_budget}", "pass for example 5")
    cfg = BuildConfig(gamma=inst.gamma if inst is not None else nums["gamma"], eps=nums["eps"], n=args.n or 10,
                      d=args.d or 8, rho=nums["rho"], seed=args.seed, max_degree=args.max_degree or MAX_DEGREE,
                      measured=not args.certified_only, m=args.m, sandwich_budget=args.sandwich_budget)
    stem = os.path.splitext(os.path.basename(out))[0]
    res = build(cfg, argv=argv, quiet=args.quiet, instance=inst, witness_name=f"{stem}.network.npz")
    doc = res.doc
    if res.witness is not None:
        # the witness first: a certificate must never name a file that is not there
        certificate.write_atomic(os.path.join(os.path.dirname(out), f"{stem}.network.npz"), res.witness)
    certificate.write_atomic(out, certificate.dumps(doc))
    rigorous = [c for c in doc["checks"] if c["label"] != "estimate"]
    bad = [c["id"] for c in rigorous if c["verdict"] != "holds"]
    if not args.quiet:
        from advcert.report import print_table

        print_table(doc, stream=sys.stderr)
    summary = "all hold" if not bad else f"FAILING: {', '.join(bad)}"
    print(f"advcert: wrote {out} ({len(doc['checks'])} checks; rigorous: {summary})")
    return 0 if not bad else 1


def _cmd_verify(args) -> int:
    from advcert import verify

    status = verify.run(args.file, stream=sys.stdout, err=sys.stderr)
    if status != 0 or not args.estimates:
        return status
    # estimates need the builders, which the verifier never imports: re-run them here
    from advcert import certificate, rerun

    return rerun.report(certificate.read(args.file), sys.stdout)


def _cmd_show(args) -> int:
    from advcert import certificate
    from advcert.report import print_table

    print_table(certificate.read(args.file), stream=sys.stdout)
    return 0


def _cmd_plot(args) -> int:
    from advcert import certificate
    from advcert.report import plot_certificate

    doc = certificate.read(args.file)
    out = args.out or os.path.splitext(args.file)[0] + ".png"
    plot_certificate(doc, out)
    print(f"advcert: wrote {out}")
    return 0


def _cmd_selftest(args) -> int:
    from advcert.selftest import run

    return run()


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
    try:
        if args.command == "build":
            return _cmd_build(args, argv)
        if args.command == "verify":
            return _cmd_verify(args)
        if args.command == "show":
            return _cmd_show(args)
        if args.command == "plot":
            return _cmd_plot(args)
        if args.command == "selftest":
            return _cmd_selftest(args)
        if args.command == "train":
            from advcert import _remnant_train

            args.argv = argv
            return _remnant_train.command(args)
        if args.command == "attack":
            from advcert import _remnant_attack

            return _remnant_attack.command(args)
        if args.command == "separation":
            from advcert import separation

            return separation.command(args)
        parser.print_help()
        return 2
    except InputError as exc:
        print(f"advcert: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("advcert: interrupted; no file was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `advcert show FILE | head`: the reader left; not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:  # an advcert bug, not the user's: still one line unless asked
        if os.environ.get("ADVCERT_DEBUG"):
            raise
        print(f"advcert: internal error: {exc.__class__.__name__}: {exc} "
              "(this is a bug in advcert; rerun with ADVCERT_DEBUG=1 for the traceback and report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
