"""Where subjects' parameters come from: a PopulationModel, a fixed table, or the SE cohort model.

A parameter source is a callable ``(covariates, subject_indices, seed) -> DataFrame`` (one row per
subject, columns = model parameters) with a ``model`` attribute (the structural model). The draws of a
subject depend only on the seed and its 0-based index in the population, never on which other
subjects are simulated with it: random effects come from fixed blocks of :data:`DRAW_BLOCK` subjects,
block ``b`` drawn from ``numpy.random.default_rng([seed, ..., b])``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["DRAW_BLOCK", "PopulationSource", "TableSource", "SEPopulation", "se_population", "from_table",
           "block_normals"]

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


def _seed_key(seed) -> list:
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
    :data:`DRAW_BLOCK`), covariate effects from the covariate table, typical values ``theta``."""

    population_model: Any

    @property
    def model(self):
        return self.population_model.model

    def __call__(self, covariates: pd.DataFrame, indices, seed) -> pd.DataFrame:
        pm = self.population_model
        indices = np.asarray(indices, dtype=np.int64)
        n_eta = len(pm.eta_names)
        z = block_normals(_seed_key(seed) + [7919], indices, max(n_eta, 1))[:, :n_eta]
        eta = z @ np.linalg.cholesky(pm.omega_matrix).T if n_eta else z
        values = pm.parameters_for(pm.theta_values, eta, covariates.reset_index(drop=True))
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
    :func:`pkpd.scenarios.cohort_parameters`); the population must not be larger than the table.

    >>> from pkpd import scenarios
    >>> src = from_table(scenarios.se_model(brain=False), scenarios.cohort_parameters(n=4))
    >>> len(src(None, [1, 3], seed=0))
    2
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ParameterError("from_table: table must be a non-empty DataFrame of parameters, one row per subject")
    return TableSource(model, table.reset_index(drop=True))


@dataclass(frozen=True)
class SEPopulation:
    """Virtual status-epilepticus patients for :func:`pkpd.scenarios.se_model` (see :func:`se_population`)."""

    drugs: tuple
    iiv: Mapping = field(default_factory=dict)
    params: Mapping = field(default_factory=dict)
    routes: Mapping = field(default_factory=dict)
    brain: bool = False

    @cached_property
    def model(self):
        from .. import scenarios

        return scenarios.se_model(self.drugs, brain=self.brain)

    def __getstate__(self):                       # the model is rebuilt on a Dask worker, not pickled
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __call__(self, covariates, indices, seed) -> pd.DataFrame:
        from .. import scenarios

        indices = np.asarray(indices, dtype=np.int64)
        n = len(indices)
        key = _seed_key(seed)
        iiv = {**scenarios.IIV, **dict(self.iiv)}
        base = scenarios.se_params(self.drugs, dict(self.routes))
        base.update(dict(self.params))
        cols = {k: np.full(n, float(v)) for k, v in base.items()}
        model = self.model

        def value(name):
            return cols[name] if name in cols else np.full(n, model.parameter(name).default)

        for name in self.drugs:
            pre = scenarios.DRUGS[name]["make"]().prefix
            z = block_normals(key + [1 + list(scenarios.DRUGS).index(name)], indices, 2)
            for j, k in enumerate(("CL", "V")):
                omega = iiv.get(k, 0.0)
                pname = f"{pre}.{k}" if f"{pre}.{k}" in cols else f"{pre}.{k}1"
                if pname in cols and omega > 0:
                    cols[pname] = cols[pname] * np.exp(omega * z[:, j])
        wt = None if covariates is None or "WT" not in getattr(covariates, "columns", ()) else \
            np.asarray(covariates["WT"], dtype=float)
        if wt is not None:                         # PK scaled to body weight, as in pkpd.calibration
            scenarios.scale_to_weight(cols, self.drugs, wt)
        e0 = value("SEIZURE.E0")
        e_min = value("SEIZURE.G0") + 5.0 * value("SEIZURE.W")
        z = block_normals(key + [0], indices, 1)[:, 0]
        cols["SEIZURE.E0"] = e_min + (e0 - e_min) * np.exp(iiv.get("E0", 0.0) * z)
        return pd.DataFrame(cols)


def se_population(drugs: Sequence[str] = ("midazolam",), *, iiv: Mapping | None = None, params: Mapping | None = None,
                  routes: Mapping[str, str] | None = None, brain: bool = False) -> SEPopulation:
    """Virtual status-epilepticus patients: the variability of :func:`pkpd.scenarios.cohort_parameters`.

    Each patient's clearance and central volume of every drug and seizure severity ``SEIZURE.E0`` vary
    log-normally, and when the population has a weight column ``WT`` every drug's PK is scaled by
    ``(WT/70)^b`` with the library model's exponents (:func:`pkpd.scenarios.weight_exponents`, as in
    :mod:`pkpd.calibration`) (:data:`pkpd.scenarios.IIV`, overridden by ``iiv``; E0 on its excess above the least
    self-sustaining severity, so every untreated seizure persists). As in the scenarios, each random effect
    has its own stream (key 0 the severity, 1 + the drug's position in :data:`pkpd.scenarios.DRUGS` its PK),
    so a patient keeps its severity and PK whichever drugs an arm adds; the streams are drawn in blocks of
    :data:`DRAW_BLOCK` patients so that a patient's draws depend only on the seed and its index.

    Parameters
    ----------
    drugs : sequence of str
        Every drug any arm gives (names in :data:`pkpd.scenarios.DRUGS`).
    iiv, params : mapping, optional
        IIV (SD of the log) by ``"CL"``, ``"V"``, ``"E0"``; fixed parameter changes by qualified name.
    routes : mapping, optional
        Route per drug (default: :data:`pkpd.scenarios.DRUGS`).
    brain : bool
        Build the model with brain ECF compartments (:func:`pkpd.scenarios.se_model`).

    Returns
    -------
    SEPopulation
        A parameter source for :func:`pkpd.run_trial`: ``source.model`` is the SE model and
        ``source(covariates, indices, seed)`` the parameter table of the subjects ``indices``.

    Examples
    --------
    >>> import numpy as np
    >>> src = se_population(("midazolam",))
    >>> p = src(None, np.arange(3), seed=1)
    >>> p.shape[0], bool((p["SEIZURE.E0"] > 0).all())
    (3, True)
    >>> bool(np.array_equal(src(None, [2], seed=1).to_numpy(), p.iloc[[2]].to_numpy()))
    True
    """
    from .. import scenarios

    drugs = (drugs,) if isinstance(drugs, str) else tuple(drugs)
    for d in drugs:
        scenarios._drug(d, (routes or {}).get(d))
    return SEPopulation(drugs, dict(iiv or {}), dict(params or {}), dict(routes or {}), brain)
