"""Where subjects' parameters come from: a PopulationModel, a fixed table, or the SE cohort model.

A parameter source is a callable ``(covariates, subject_indices, seed) -> DataFrame`` (one row per
subject, columns = model parameters) with a ``model`` attribute (the structural model). The draws of a
subject depend only on the seed and its 0-based index in the population, never on which other
subjects are simulated with it: random effects come from fixed blocks of :data:`DRAW_BLOCK` subjects,
block ``b`` drawn from ``numpy.random.default_rng([seed, ..., b])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["DRAW_BLOCK", "PopulationSource", "TableSource", "from_table", "block_normals", "seed_key"]

#: Subjects per block of random draws (a fixed constant: changing it changes every trial's draws).
DRAW_BLOCK = 1024


def block_normals(key: Sequence[int], indices: np.ndarray, size: int = 1) -> np.ndarray:
    """Standard normal draws ``(len(indices), size)`` for 0-based subject ``indices``: subject ``i`` takes
    row ``i % DRAW_BLOCK`` of the block ``default_rng([*key, i // DRAW_BLOCK]).standard_normal((DRAW_BLOCK,
    size))``, whichever subjects are drawn with it.

    >>> a = block_normals([1, 0], np.arange(5))
    >>> bool(np.array_equal(a[3:], block_normals([1, 0], np.array([3, 4]))))
    True
    """
    indices = np.asarray(indices, dtype=np.int64)
    out = np.empty((len(indices), size))
    blocks = indices // DRAW_BLOCK
    for b in np.unique(blocks):
        sel = blocks == b
        draws = np.random.default_rng([*map(int, key), int(b)]).standard_normal((DRAW_BLOCK, size))
        out[sel] = draws[indices[sel] % DRAW_BLOCK]
    return out


def seed_key(seed) -> list:
    if seed is None:
        raise ParameterError("a seed is needed to draw subjects reproducibly")
    if isinstance(seed, (int, np.integer)) and seed >= 0:
        return [int(seed)]
    if isinstance(seed, (list, tuple)) and all(isinstance(s, (int, np.integer)) and s >= 0 for s in seed):
        return [int(s) for s in seed]
    raise ParameterError(f"seed must be a non-negative integer (or a list of them), got {seed!r}")


@dataclass(frozen=True)
class PopulationSource:
    """Subjects of a :class:`~pkpd.PopulationModel`: eta drawn per subject from N(0, Omega) (blocks of
    :data:`DRAW_BLOCK`), covariate effects from the covariate table, typical values ``theta``; with
    between-occasion variability, the effects of one occasion too (a trial patient is one occasion)."""

    population_model: Any

    @property
    def model(self):
        return self.population_model.model

    def __call__(self, covariates: pd.DataFrame, indices, seed) -> pd.DataFrame:
        pm = self.population_model
        indices = np.asarray(indices, dtype=np.int64)
        n_eta, q = len(pm.random_effect_names), len(pm.eta_names)
        z = block_normals(seed_key(seed) + [7919], indices, max(n_eta, 1))[:, :n_eta]
        eta = z @ np.linalg.cholesky(pm.random_effect_matrix).T if n_eta else z
        # a trial patient is one occasion: with IOV, its parameters take one occasion's effects too
        values = pm.parameters_for(pm.theta_values, eta[:, :q], covariates.reset_index(drop=True),
                                   eta[:, q:] if pm.iov is not None else None)
        declared = set(self.model.parameter_names)
        frame = {k: np.broadcast_to(np.asarray(v, dtype=float), (len(indices),)) for k, v in values.items()
                 if k in declared}
        return pd.DataFrame(frame)


@dataclass(frozen=True)
class TableSource:
    """Parameters read from a fixed table: subject ``i`` (0-based) takes row ``i``."""

    model: Any
    table: pd.DataFrame

    def __call__(self, covariates, indices, seed) -> pd.DataFrame:
        indices = np.asarray(indices, dtype=np.int64)
        if len(indices) and indices.max() >= len(self.table):
            raise ParameterError(f"the parameter table has {len(self.table)} rows; subject index {indices.max()} "
                                 "has none")
        return self.table.drop(columns=["ID"], errors="ignore").iloc[indices].reset_index(drop=True)


def from_table(model, table: pd.DataFrame) -> TableSource:
    """A parameter source reading one row per subject from ``table`` (e.g.
    :func:`pkpd.se.scenarios.cohort_parameters`); the population must not be larger than the table.

    >>> from pkpd.se import scenarios
    >>> src = from_table(scenarios.se_model(), scenarios.cohort_parameters(n=4))
    >>> len(src(None, [1, 3], seed=0))
    2
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ParameterError("from_table: table must be a non-empty DataFrame of parameters, one row per subject")
    return TableSource(model, table.reset_index(drop=True))
