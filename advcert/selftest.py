"""``advcert selftest``: a ~1 s end-to-end check of an installation (in the manner of
``python -m flint.test``).

It builds the math-spec toy chain (γ = 2, ε = 0.6, n = 2, d = 3), compares it with
published parameters, has the independent verifier accept it, and plants two violations
(a corrupted coefficient and an upgraded label) that the verifier must reject.
"""

from __future__ import annotations

import copy
import sys
import time
from fractions import Fraction

from flint import fmpq, fmpq_poly

from advcert import certificate, verify
from advcert.chain import build_certificate
from advcert.config import BuildConfig
from advcert.poly.sgn import SignPolynomial, chebyshev_y, sign_polynomial
from advcert.poly.step import step_polynomial
from advcert.rational import to_str


def run(stream=None) -> int:
    """Run the self-test; print one line per step and return 0 when all pass."""
    out = stream or sys.stdout
    t0 = time.perf_counter()
    failures: list[str] = []

    def step(name: str, ok: bool, detail: str = "") -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", file=out, flush=True)
        if not ok:
            failures.append(name)

    p1 = sign_polynomial(Fraction(1, 4), Fraction(1, 10))
    # math-spec §2 toy case, computed there by independent scripts
    step("Lemma 6.4 construction matches the published toy parameters (k=32, d=11, degree 23)",
         (p1.taylor_k, p1.cheb_d, p1.degree) == (32, 11, 23))
    doc = build_certificate(BuildConfig(gamma=Fraction(2), eps=Fraction(3, 5), n=2, d=3, measured=False),
                            argv=["selftest"]).doc
    rigorous = [c for c in doc["checks"] if c["label"] != "estimate"]
    step("toy build: every rigorous check holds", all(c["verdict"] == "holds" for c in rigorous),
         f"{len(rigorous)} rigorous checks")
    rep = verify.verify_document(doc)
    step("independent verifier accepts the toy certificate", rep.ok, rep.first_failure or "")

    # A planted violation that only the sup-norm proof can catch: p1 + x³/4 with q, the
    # Chebyshev form and the hash all made consistent with it, while the claims stay.
    bad = copy.deepcopy(doc)
    planted = p1.poly + fmpq_poly([0, 0, 0, fmpq(1, 4)])
    q = step_polynomial(SignPolynomial(**{**p1.__dict__, "poly": planted}), Fraction(bad["parameters"]["alpha"]))
    bad["objects"]["p1"]["coefficients"] = [to_str(Fraction(int(c.p), int(c.q))) for c in planted.coeffs()]
    bad["objects"]["p1"]["chebyshev_y"] = [to_str(v) for v in chebyshev_y(planted)]
    bad["objects"]["q"]["coefficients"] = [to_str(c) for c in q.coefficients]
    rep = verify.verify_document(certificate.seal(bad))
    step("verifier rejects a planted bad coefficient (consistent objects and hash: the sup proof must catch it)",
         not rep.ok and "lemma-6.4" in (rep.first_failure or ""), rep.first_failure or "accepted!")

    bad = copy.deepcopy(doc)
    for c in bad["checks"]:
        if c["label"] == "estimate":
            c["label"] = "exact"
            break
    rep = verify.verify_document(certificate.seal(bad))
    step("verifier rejects an estimate upgraded to exact", not rep.ok, rep.first_failure or "accepted!")

    dt = time.perf_counter() - t0
    if failures:
        print(f"advcert selftest: FAILED ({len(failures)} of 5 steps, {dt:.1f} s)", file=out)
        return 1
    print(f"advcert selftest: OK (5 steps, {dt:.1f} s): your installation seems to be working", file=out)
    return 0
