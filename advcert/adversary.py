"""Definition 3.2's worst case on caps of X (placeholder until the measured-plane restructure lands)."""

from advcert.attack import projected_ascent  # noqa: F401
