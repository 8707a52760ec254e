"""advcert: explicit objects and checkable certificates for Zhang et al. (NeurIPS 2020).

  advcert build --gamma 0.5 --eps 0.1      build the chain and write a certificate
  advcert verify FILE                      re-check it independently
  advcert show FILE                        a table of its checks
  advcert plot FILE                        pictures of p1, q and the checks
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
    p.add_argument("--gamma", help="separability γ of Definition 3.4 (> 0); required for synthetic data")
    p.add_argument("--eps", required=True, help="target robust loss ε, in (0, 1)")
    p.add_argument("--n", type=_int("--n", 2), default=10, help="number of synthetic points (default 10)")
    p.add_argument("--d", type=_int("--d", 2), default=8, help="dimension of X ⊂ R^d (default 8)")
    p.add_argument("--rho", default="0.05", help="perturbation radius ρ (default 0.05)")
    p.add_argument("--seed", type=_int("--seed", 0), default=0, help="root seed for numpy SeedSequence (default 0)")


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
                   help="refuse sign polynomials above this degree (default 4001)")
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

    sub.add_parser("selftest", help="a quick end-to-end check of this installation")
    return parser


def _validate_build(args) -> dict:
    eps = parse_number(args.eps, "--eps")
    if not (0 < eps < 1):
        raise InputError(f"--eps must lie strictly between 0 and 1, got {args.eps}", "pass for example --eps 0.1")
    rho = parse_number(args.rho, "--rho")
    if rho <= 0:
        raise InputError(f"--rho must be > 0, got {args.rho}", "pass the perturbation radius, for example --rho 0.05")
    if args.gamma is None:
        raise InputError("--gamma is required for synthetic data", "pass for example --gamma 0.5")
    gamma = parse_number(args.gamma, "--gamma")
    if gamma <= 0:
        raise InputError(f"--gamma must be > 0, got {args.gamma}", "pass for example --gamma 0.5")
    if gamma >= 8:
        raise InputError(f"--gamma {args.gamma} is too large: η = γ/8 must be below 1", "pass --gamma below 8")
    return {"gamma": gamma, "eps": eps, "rho": rho}


def _default_out(args) -> str:
    return f"advcert-gamma{args.gamma}-eps{args.eps}-n{args.n}-d{args.d}-seed{args.seed}.json"


def _cmd_build(args, argv) -> int:
    from advcert import certificate
    from advcert.build import MAX_DEGREE, BuildConfig, build_certificate

    nums = _validate_build(args)
    out = args.out or _default_out(args)
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise InputError(f"cannot write {out}: folder {folder} does not exist", "create it or pass another --out")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {out}: folder {folder} is not writable", "pass a writable --out path")
    cfg = BuildConfig(gamma=nums["gamma"], eps=nums["eps"], n=args.n, d=args.d, rho=nums["rho"], seed=args.seed,
                      max_degree=args.max_degree or MAX_DEGREE)
    doc = build_certificate(cfg.gamma, cfg.eps, argv=argv, quiet=args.quiet, config=cfg)
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

    return verify.run(args.file, stream=sys.stdout, err=sys.stderr, estimates=args.estimates)


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
        parser.print_help()
        return 2
    except InputError as exc:
        print(f"advcert: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("advcert: interrupted; no file was written", file=sys.stderr)
        return 130
    except Exception as exc:  # an advcert bug, not the user's: still one line unless asked
        if os.environ.get("ADVCERT_DEBUG"):
            raise
        print(f"advcert: internal error: {exc.__class__.__name__}: {exc} "
              "(this is a bug in advcert; rerun with ADVCERT_DEBUG=1 for the traceback and report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
