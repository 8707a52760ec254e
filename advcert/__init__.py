"""advcert: explicit objects and checkable certificates for the constructive proof of
Zhang, Plevrakis, Du, Li, Song and Arora, "Over-parameterized Adversarial Training: An
Analysis Overcoming the Curse of Dimensionality" (NeurIPS 2020).

Two planes, never mixed:

* the certified plane (exact rationals and Arb balls): separability (Definition 3.4),
  the sign polynomial (Lemma 6.4), the step polynomial (Claim 6.3), the robust
  interpolant f* (Lemma 6.2) and the theorems' constants in log scale;
* the measured plane (float64, sampled, attacked): networks at widths a machine holds.
"""

__version__ = "0.1.0"
