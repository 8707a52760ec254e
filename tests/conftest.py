"""Shared fixtures: one headline certificate per test session (it takes ~1.5 s)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from advcert.chain import build_certificate
from advcert.config import BuildConfig


@pytest.fixture(scope="session")
def headline_doc():
    """The default build (γ=0.5, ε=0.1, n=10, d=8, ρ=0.05, seed 0) as a sealed document."""
    return build_certificate(BuildConfig(gamma=Fraction(1, 2), eps=Fraction(1, 10), measured=False),
                             argv=["build", "--gamma", "0.5", "--eps", "0.1"]).doc


@pytest.fixture(scope="session")
def toy_doc():
    """A small build (γ=2, ε=0.6, n=2, d=3): the math-spec toy case, degree 23."""
    return build_certificate(BuildConfig(gamma=Fraction(2), eps=Fraction(3, 5), n=2, d=3, measured=False),
                             argv=["build", "--gamma", "2", "--eps", "0.6"]).doc
