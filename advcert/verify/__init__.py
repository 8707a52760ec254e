"""The independent checker of advcert certificates (format version 1).

Written from the contract in ``docs/certificate.md``, not from the builders: this package
imports nothing from ``advcert`` outside itself and no numpy or numba (only the standard
library, jsonschema and python-flint), so a bug in a builder cannot confirm itself here.
Every ``exact``, ``enclosure`` and ``sound-bound`` check is re-derived with exact rational
arithmetic (python-flint ``fmpq``/``fmpz_poly``), by a different method from the
builder's: sup-norm enclosures are proved with Descartes' rule of signs and bisection (the
Vincent-Collins-Akritas scheme) on exact integer polynomials, where the builder uses Arb
balls; the Theorem 5.3 robust-loss bound (``theorem-5.3``, ``theorem-4.1``) is recomputed
leaf by leaf from the network witness (an .npz read with the standard library) in
integers and rationals, where the builder uses float64 balls; Lemma 6.6's complexity
constants are proved in Arb, and its identity and range (``lemma-6.6``, ``lemma-6.6/range``)
are re-derived from the checker's own P_i (Arb root isolation, math-spec §5.1).

The modules, in the order they depend on each other:

* :mod:`.report` — results, the report, the refusals (exit statuses 1 and 2), and
  :func:`terminal_safe`, the one gate between the file's strings and a terminal;
* :mod:`.numbers` — the contract's number formats, read exactly;
* :mod:`.context` — the values every check shares and the verdict rules;
* :mod:`.reading` — JSON, format, version, schema, the canonical hash;
* :mod:`.descartes` — the exact sup-norm prover (Lemma 6.4, Claim 6.3);
* :mod:`.instance` — the data set, the parameters (and the route that built q), Definition 3.4;
* :mod:`.polynomials` — p1 (Lemma 6.4; absent on route lp), q (Claim 6.3), f* (Lemma 6.2);
* :mod:`.constants` — Lemma 6.6's constants in Arb, D_used, m;
* :mod:`.identity` — Lemma 6.6's identity and range (its P_i table ``hermite_P.json``);
* :mod:`.witness` — the network witness, read with the standard library;
* :mod:`.domains` — the caps and balls of Theorem 5.3, linear sups on them;
* :mod:`.robust` — Theorem 5.3's bound leaf by leaf (theorem-5.3, theorem-4.1);
* :mod:`.supnorm` — the sound sup-norms over X box by box (lemma-6.5, theorem-5.1/chain) and
  Lemma 6.5's radius, exactly (lemma-6.5/radius);
* :mod:`.checks` — the registry of check ids, chain order, the rules before re-derivation;
* :mod:`.document` — :func:`verify_document` and ``advcert verify FILE`` (:func:`run`).

Exit codes of :func:`run`: 0 every check re-derived and agrees and the hash matches;
1 the certificate is readable but something does not hold or does not match;
2 the file cannot be read as a certificate.
"""

from __future__ import annotations

from .checks import CLAIMS, RIGOROUS_CLAIMS, KNOWN_CHECKS, MAX_CHECKS, P1_CHECKS, REQUIRED_CHECKS, REQUIRED_CHECKS_BY_ROUTE
from .instance import ROUTES
from .constants import BOUNDED_CONSTANTS, KNOWN_CONSTANTS
from .context import ESTIMATE_VERDICTS, RIGOROUS_LABELS, RIGOROUS_VERDICTS
from .descartes import MAX_DEPTH, MAX_NODES, prove_sup_abs
from .document import run, verify_document
from .domains import Domain, _common, cap_sup_up, linear_sup_up, make_domain, preactivation_ranges
from .reading import FORMAT, MAX_CERTIFICATE_BYTES, SCHEMA_PATH, VERSION, canonical_sha256, load, read_regular
from .report import CheckResult, Refused, Report, Unreadable, _Fail, terminal_safe
from .robust import Leaf, _parse_leaf, leaf_bounds, split_tree_gap
from .supnorm import MAX_CAP_WORK, MAX_CAPS, Box, cover_bounds, tiling_gap
from .witness import MAX_ENTRIES, NETWORK_CHECKS, Network, read_npy, read_witness, witness_limit

__all__ = [
    "BOUNDED_CONSTANTS",
    "Box",
    "MAX_CAPS",
    "MAX_CAP_WORK",
    "RIGOROUS_CLAIMS",
    "cover_bounds",
    "tiling_gap",
    "CLAIMS",
    "MAX_CERTIFICATE_BYTES",
    "MAX_CHECKS",
    "MAX_ENTRIES",
    "Refused",
    "read_regular",
    "terminal_safe",
    "witness_limit",
    "CheckResult",
    "Domain",
    "ESTIMATE_VERDICTS",
    "FORMAT",
    "KNOWN_CHECKS",
    "KNOWN_CONSTANTS",
    "Leaf",
    "MAX_DEPTH",
    "MAX_NODES",
    "NETWORK_CHECKS",
    "Network",
    "P1_CHECKS",
    "REQUIRED_CHECKS",
    "REQUIRED_CHECKS_BY_ROUTE",
    "ROUTES",
    "RIGOROUS_LABELS",
    "RIGOROUS_VERDICTS",
    "Report",
    "SCHEMA_PATH",
    "Unreadable",
    "VERSION",
    "canonical_sha256",
    "cap_sup_up",
    "leaf_bounds",
    "linear_sup_up",
    "load",
    "make_domain",
    "preactivation_ranges",
    "prove_sup_abs",
    "read_npy",
    "read_witness",
    "run",
    "split_tree_gap",
    "verify_document",
]
# _Fail, _common and _parse_leaf are re-exported for the tests that exercise them directly.
