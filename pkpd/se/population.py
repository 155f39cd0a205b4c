"""Virtual status-epilepticus patients as a parameter source for :func:`pkpd.run_trial`.

The variability of :func:`pkpd.se.scenarios.cohort_parameters` (the same builder,
:func:`pkpd.se.scenarios.cohort_columns`), drawn per patient index in blocks so a patient's draws depend only on
the seed and its index (:func:`pkpd.trials.block_normals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ..trials import block_normals, seed_key
from . import scenarios

__all__ = ["SEPopulation", "se_population"]


@dataclass(frozen=True)
class SEPopulation:
    """Virtual status-epilepticus patients for :func:`pkpd.se.scenarios.se_model` (see :func:`se_population`)."""

    drugs: tuple
    iiv: Mapping = field(default_factory=dict)
    params: Mapping = field(default_factory=dict)
    routes: Mapping = field(default_factory=dict)

    @cached_property
    def model(self):
        return scenarios.se_model(self.drugs)

    def __getstate__(self):                       # the model is rebuilt on a Dask worker, not pickled
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __call__(self, covariates, indices, seed) -> pd.DataFrame:
        indices = np.asarray(indices, dtype=np.int64)
        key = seed_key(seed)
        base = scenarios.se_params(self.drugs, dict(self.routes))
        base.update(dict(self.params))
        wt = None if covariates is None or "WT" not in getattr(covariates, "columns", ()) else \
            np.asarray(covariates["WT"], dtype=float)     # PK scaled to body weight, as in pkpd.se.calibration
        return pd.DataFrame(scenarios.cohort_columns(
            self.model, self.drugs, len(indices), base, {**scenarios.IIV, **dict(self.iiv)},
            lambda stream, size: block_normals(key + [stream], indices, size), wt))


def se_population(drugs: Sequence[str] = ("midazolam",), *, iiv: Mapping | None = None, params: Mapping | None = None,
                  routes: Mapping[str, str] | None = None) -> SEPopulation:
    """Virtual status-epilepticus patients: the variability of :func:`pkpd.se.scenarios.cohort_parameters`.

    Each patient's clearance and central volume of every drug and seizure severity ``SEIZURE.E0`` vary
    log-normally, and when the population has a weight column ``WT`` every drug's PK is scaled by
    ``(WT/70)^b`` with the library model's exponents (:func:`pkpd.se.scenarios.weight_exponents`, as in
    :mod:`pkpd.se.calibration`) (:data:`pkpd.se.scenarios.IIV`, overridden by ``iiv``; E0 on its excess above the least
    self-sustaining severity, so every untreated seizure persists). As in the scenarios, each random effect
    has its own stream (key 0 the severity, 1 + the drug's position in :data:`pkpd.se.scenarios.DRUGS` its PK),
    so a patient keeps its severity and PK whichever drugs an arm adds; the streams are drawn in blocks of
    :data:`pkpd.trials.DRAW_BLOCK` patients so that a patient's draws depend only on the seed and its index.

    Parameters
    ----------
    drugs : sequence of str
        Every drug any arm gives (names in :data:`pkpd.se.scenarios.DRUGS`).
    iiv, params : mapping, optional
        IIV (SD of the log) by ``"CL"``, ``"V"``, ``"E0"``; fixed parameter changes by qualified name.
    routes : mapping, optional
        Route per drug (default: :data:`pkpd.se.scenarios.DRUGS`).

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
    drugs = (drugs,) if isinstance(drugs, str) else tuple(drugs)
    for d in drugs:
        scenarios._drug(d, (routes or {}).get(d))
    return SEPopulation(drugs, dict(iiv or {}), dict(params or {}), dict(routes or {}))
