"""Re-verify certificates/small-end-to-end.json in full (about 2.5 minutes on 2 cores).

Its network witness (m = 2^22 neurons, 268 MB) is not kept in git. This script rebuilds it
from the certificate's seed when it is missing (certificates/regenerate.py --only small
does the same as part of a full rebuild), checks its SHA-256 against the certificate, and
runs the independent verifier, which re-derives the theorem-5.3 sound bound neuron by neuron
in exact arithmetic. Prints the wall time of each part.

Run:  python benchmarks/verify_small_instance.py
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent / "certificates"


def main() -> int:
    from advcert import verify
    from advcert.certificate import network_witness, write_atomic
    from advcert.poly.sgn import sign_polynomial
    from advcert.poly.step import claim63_alpha, step_polynomial
    from advcert.checks.measured import random_feature_checks

    cert = HERE / "small-end-to-end.json"
    doc = json.loads(cert.read_text())
    net = doc["objects"]["network"]
    witness = HERE / net["path"]
    if not witness.exists():
        t0 = time.perf_counter()
        ins = doc["instance"]
        eps, rho, gamma, n = Fraction(ins["eps"]), Fraction(ins["rho"]), Fraction(ins["gamma"]), ins["n"]
        eta = gamma / 8
        q = step_polynomial(sign_polynomial(eta, eps / (3 * n)), claim63_alpha(rho, eta))
        rf = random_feature_checks(np.array(ins["points"]), np.array(ins["labels"], dtype=float), eps, q,
                                   m=net["m"], seed=ins["seed"])
        write_atomic(witness, network_witness(rf.pseudo.net.a, rf.pseudo.net.W0, rf.pseudo.net.b, rf.pseudo.W))
        print(f"regenerated the witness in {time.perf_counter() - t0:.1f} s")
    same = hashlib.sha256(witness.read_bytes()).hexdigest() == net["sha256"]
    print(f"witness SHA-256 {'matches' if same else 'DIFFERS from'} the certificate")
    t0 = time.perf_counter()
    status = verify.run(str(cert))
    print(f"verify: exit {status} in {time.perf_counter() - t0:.1f} s")
    return status if same else 1


if __name__ == "__main__":
    sys.exit(main())
