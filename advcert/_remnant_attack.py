"""``advcert attack FILE``: re-run Theorem 5.3's sandwich on a certificate's network (a remnant:
the lead moves it to cli.py / pipeline.py). Unchanged in behaviour; the numbers come from
:mod:`advcert.measured.robust_loss` through :func:`advcert._remnant_bounds.theorem_5_3_check`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from advcert import certificate
from advcert._remnant_bounds import theorem_5_3_check
from advcert.errors import InputError
from advcert.seeds import seed_sequence


def add_arguments(parser) -> None:
    """Arguments of ``advcert attack FILE``: re-run the Theorem 5.3 sandwich on a certificate's network."""
    parser.add_argument("file", help="a certificate whose objects.network names the network witness (.npz)")
    parser.add_argument("--network", help="the .npz witness (arrays a, W0, b, W); default: the certificate's, "
                                          "relative to its folder")
    parser.add_argument("--seed", type=int, default=None, help="attack seed (default: the certificate's root seed)")
    parser.add_argument("--restarts", type=int, default=8, help="uniform starts per cap and side (default 8)")
    parser.add_argument("--steps", type=int, default=100, help="ascent steps per start (default 100)")
    parser.add_argument("--random-points", type=int, default=256, help="random-search points per cap (default 256)")
    parser.add_argument("--time-budget", type=float, default=30.0, help="branch-and-bound seconds in all (default 30)")
    parser.add_argument("--gap", type=float, default=0.1, help="stop branching at upper <= (1 + GAP) attack (default 0.1)")
    parser.add_argument("--domain", choices=("cap", "ball"), default="cap",
                        help="bound over the cap B2(x, rho) ∩ X (default) or the l2 ball around it")
    parser.add_argument("--json", action="store_true", help="print the theorem-5.3 check as JSON on stdout")


def load_network(doc: dict, cert_path, override=None):
    """The network witness of a certificate: (a, W0, b, W) with rows W_r, its sha256 checked."""
    entry = (doc.get("objects") or {}).get("network")
    if override is None and not isinstance(entry, dict):
        raise InputError(f"{cert_path} has no network witness (objects.network)", "pass one with --network FILE.npz")
    if override is not None:
        path = Path(override)
    else:
        if "path" not in entry:
            raise InputError(f"{cert_path}: objects.network has no 'path'", "pass the witness with --network FILE.npz")
        path = Path(entry["path"])
        if not path.is_absolute():
            path = Path(cert_path).resolve().parent / path
    if not path.is_file():
        raise InputError(f"network witness {path} does not exist", "pass its path with --network FILE.npz")
    data = path.read_bytes()
    want = entry.get("sha256") if isinstance(entry, dict) else None
    if want is not None and hashlib.sha256(data).hexdigest() != want:
        raise InputError(f"network witness {path} does not match the certificate's sha256",
                         "pass the witness the certificate was built with")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrs = {k: np.array(z[k], dtype=np.float64) for k in ("a", "W0", "b", "W")}
    except KeyError as exc:
        raise InputError(f"network witness {path} lacks array {exc}", "it must hold arrays a, W0, b and W") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"network witness {path} is not a readable .npz ({exc})", "pass the file advcert build wrote") from None
    return arrs["a"], arrs["W0"], arrs["b"], arrs["W"]


def command(args) -> int:
    """``advcert attack FILE``: re-run the Theorem 5.3 sandwich (attack below, sound bound above).

    Exit 0 when the run agrees with the certificate, 1 when it contradicts it (an attack
    value above a sound upper bound the certificate states, or a sound 'holds' that no
    longer holds), 2 on bad input.
    """
    doc = certificate.read(args.file)
    inst = doc.get("instance") or {}
    try:
        X = np.asarray(inst["points"], dtype=np.float64)
        y = np.asarray(inst["labels"], dtype=np.float64)
        rho = Fraction(inst["rho"])
        eps = Fraction(inst["eps"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{args.file}: instance lacks a usable {exc}", "pass a certificate written by advcert build") from None
    a, W0, b, W = load_network(doc, args.file, args.network)
    d = X.shape[1]
    if W.ndim == 2 and W.shape[1] != d and W.shape[0] == d:
        W, W0 = W.T.copy(), W0.T.copy()  # stored as the paper's d x m matrix with columns W_r
    if W.shape != W0.shape or W.ndim != 2 or W.shape[1] != d:
        raise InputError(f"network W has shape {W.shape} for points in R^{d}", "pass the witness built for this instance")
    seed = args.seed if args.seed is not None else seed_sequence(int(inst.get("seed", 0)), "attack")
    chk = theorem_5_3_check(
        a, W, b, X, y, rho, eps, seed=seed, domain=args.domain, restarts=args.restarts, steps=args.steps,
        random_points=args.random_points, rel_gap=args.gap, time_budget=args.time_budget,
    )
    det = chk["details"]
    if args.json:
        print(json.dumps(chk, indent=1, sort_keys=True))
    else:
        print(f"theorem 5.3 sandwich, {X.shape[0]} points, m = {W.shape[0]}, d = {d}, rho = {float(rho):g}, "
              f"domain {args.domain}")
        print(f"{'i':>4} {'attack (estimate)':>18} {'upper (sound)':>15} {'gap':>11} {'upper/attack':>13}  masking")
        for i, p in enumerate(det["per_point"]):
            r = "-" if p["ratio"] is None else f"{p['ratio']:.4f}"
            print(f"{i:4d} {p['attack']:18.8g} {float(Fraction(p['upper'])):15.8g} {p['gap']:11.3g} {r:>13}  "
                  f"{'yes' if p['gradient_masking'] else 'no'}")
        print(f"L_A = {det['attack']:.8g} (estimate)  <=  L_A* <=  {det['upper_float']:.8g} (sound-bound);  "
              f"eps = {float(eps):g}: {chk['verdict']} ({det['reason']})")
    status = 0
    stored = next((c for c in doc.get("checks", []) if c.get("id") == "theorem-5.3"), None)
    if stored is not None and stored.get("label") == "sound-bound":
        try:
            old_pp = [Fraction(p["upper"]) for p in stored["details"]["per_point"]]
        except (KeyError, TypeError, ValueError):
            old_pp = []
        for i, (p, u) in enumerate(zip(det["per_point"], old_pp)):
            if Fraction(p["attack"]) > u:
                print(f"advcert: point {i}: attack {p['attack']!r} exceeds the certificate's sound bound {float(u)!r}",
                      file=sys.stderr)
                status = 1
        if stored.get("verdict") == "holds" and chk["verdict"] != "holds":
            print("advcert: the certificate's theorem-5.3 'holds' was not reproduced by this run", file=sys.stderr)
            status = 1
    return status
