"""Shared fixtures: one headline certificate per test session (it takes ~1.5 s)."""

from __future__ import annotations

from fractions import Fraction

import pytest


@pytest.fixture(scope="session")
def headline_doc():
    """The default build (γ=0.5, ε=0.1, n=10, d=8, ρ=0.05, seed 0) as a sealed document."""
    from advcert.build import build_certificate

    return build_certificate(Fraction(1, 2), Fraction(1, 10), argv=["build", "--gamma", "0.5", "--eps", "0.1"])


@pytest.fixture(scope="session")
def toy_doc():
    """A small build (γ=2, ε=0.6, n=2, d=3): the math-spec toy case, degree 23."""
    from advcert.build import build_certificate

    return build_certificate(Fraction(2), Fraction(3, 5), n=2, d=3, argv=["build", "--gamma", "2", "--eps", "0.6"])
