"""The measured plane: the two-layer network of Section 3 near initialisation, Lemmas 6.5-6.6,
Theorem 5.1, the Theorem 5.3 sandwich (attacks below, CROWN above) and Algorithm 1.

Everything here is float64 and labelled an estimate unless a sound bound says otherwise
(:mod:`advcert.measured.crown`). The compiled kernels are in :mod:`advcert.kernels`; the one
plain-numpy reference they are tested against is :mod:`advcert.measured.reference`.
"""
