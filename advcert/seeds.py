"""Named random streams, all derived from one root seed by numpy.random.SeedSequence.

Each consumer asks for its own stream by name, so adding a new consumer never shifts the
numbers another one draws (the same seed keeps giving the same certificate).
"""

from __future__ import annotations

import numpy as np

STREAMS = {
    "instance": 0,
    "labels": 1,
    "attack": 2,
    "network": 3,
    "sweep": 4,
    "train": 5,
    "sandwich": 6,
    "sample": 7,
    # the initialisation (a, W0, b) of Section 3 and the points sampled by Lemma 6.5's checks
    "network-init": 65,
    "lemma65-points": 66,
}


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` under root ``seed`` (SeedSequence spawn key)."""
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(STREAMS[name],)))


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` (for code that spawns further)."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(STREAMS[name],))


def entropy(seed: int) -> str:
    """The root SeedSequence entropy, recorded in certificates (as a string: it can be big)."""
    return str(np.random.SeedSequence(int(seed)).entropy)


def as_sequence(seed) -> np.random.SeedSequence:
    """``seed`` as a SeedSequence: a spawned SeedSequence is kept, anything else (an int, a list
    of ints) is the entropy of a root one (the attacks of Definition 3.2 accept both)."""
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
