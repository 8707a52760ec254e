"""Data sets on X and their γ-separability (Definition 3.4; §3.2, footnotes 5 and 7; Figure 1).

``instance``: the :class:`Instance` a certificate is built for, its exact :class:`Separation`,
synthetic instances. ``loaders``: ``.npz``/``.csv``/``digits`` readers, the lift onto X, the
one ``--sample K --seed S`` sampler. ``neighbours``: certified nearest neighbours, δ, the
too-close pairs and the fewest points to drop. ``study``: the paper's Figure 1 on a data set
(``advcert separation``). Importing this package loads numpy only (no matplotlib, no scipy).
"""

from advcert.data.instance import Instance, Separation, certify_separation, instance_from_data, synthetic
from advcert.data.loaders import Dataset, Lift, lift_points, load, rho_on_X, sample_indices
from advcert.data.neighbours import (
    DropResult,
    NearestNeighbours,
    NearestPair,
    certified_min_distance,
    certified_nearest_neighbours,
    close_pairs,
    drop_close,
    gamma_max,
    pair_supports,
)
from advcert.data.study import SeparationReport, separation_report, study_data, write_separation

__all__ = [
    "Dataset", "DropResult", "Instance", "Lift", "NearestNeighbours", "NearestPair", "Separation",
    "SeparationReport", "certified_min_distance", "certified_nearest_neighbours", "certify_separation",
    "close_pairs", "drop_close", "instance_from_data", "gamma_max", "lift_points", "load", "pair_supports", "rho_on_X",
    "sample_indices", "separation_report", "study_data", "synthetic", "write_separation",
]
