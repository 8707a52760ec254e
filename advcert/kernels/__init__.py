"""The compiled kernels of the measured plane (Section 3's f_W and g_W, Lemma 6.2's f*,
Lemma 6.6's h, Theorem 5.1's sums, Definition 3.2's ascent on caps, Algorithm 1's update).

This package is the only one in advcert that imports numba, and it never imports flint.
Its wrappers take arrays that :class:`advcert.measured.network.TwoLayerNet` has already
validated; the slow references they are tested against are in
:mod:`advcert.measured.reference`. Import the submodules directly: this file imports
nothing, so that :mod:`advcert.kernels.threads` (the BLAS limiter) stays usable without
loading numba.
"""
