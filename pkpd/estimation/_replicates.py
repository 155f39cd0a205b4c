"""Simulated replicates of a dataset for simulation-based diagnostics (NPDE, VPC).

Shared by :mod:`pkpd.estimation.npde` and :mod:`pkpd.estimation.vpc`: which population model and data a
diagnostic is about, the observation records (with their BLQ status and LLOQ), and the replicates of
the observations simulated in chunks from :meth:`PopulationModel.simulate`.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import DatasetError, ParameterError
from ._observations import observation_records
from ..io import Dataset, as_dataset
from ..population.model import PopulationModel

__all__ = ["population_model_of", "fitted_data", "check_n_sim", "simulate_replicates", "observations_of",
           "diagnostics_mask", "MIN_SIMULATIONS"]

#: Fewest replicates accepted: below this, empirical percentiles and covariances are meaningless.
MIN_SIMULATIONS = 10
#: Records simulated per call of :meth:`PopulationModel.simulate` (replicates x dataset records).
_CHUNK_RECORDS = 1_000_000


def population_model_of(fit, where: str) -> PopulationModel:
    """The population model a diagnostic simulates: a fit's :attr:`final_model`, or a model as given."""
    if isinstance(fit, PopulationModel):
        return fit
    if hasattr(type(fit), "final_model") and getattr(fit, "popmodel", True) is None:
        raise ParameterError(f"{where}: this fit was loaded without its population model (it could not be "
                             "stored): pass the PopulationModel at the estimates instead")
    model = getattr(fit, "final_model", fit)
    if not isinstance(model, PopulationModel):
        raise ParameterError(f"{where} needs a population fit (pkpd.fit_population) or a PopulationModel, "
                             f"not {type(fit).__name__}")
    return model


def fitted_data(fit, data, where: str) -> Dataset:
    """The dataset: ``data`` if given, else the fit's own ``data`` attribute if it has one."""
    if data is None:
        data = getattr(fit, "data", None)
        if data is None:
            raise ParameterError(f"{where} needs the data the model was fitted to: {where}(fit, data, ...)")
    if isinstance(data, numbers.Number):
        raise ParameterError(f"{where}: the second argument is the dataset, got the number {data!r} "
                             "(give n_sim=... by name)")
    return as_dataset(data)


def check_n_sim(n_sim, where: str) -> int:
    if isinstance(n_sim, bool) or not isinstance(n_sim, numbers.Integral) or n_sim < MIN_SIMULATIONS:
        raise ParameterError(f"{where}: n_sim must be an integer >= {MIN_SIMULATIONS}, got {n_sim!r}")
    return int(n_sim)


def observations_of(data: Dataset, lloq):
    """All observation records (BLQ ones included, with their status under M3) and their LLOQ."""
    return observation_records(data, "M3", lloq)


def diagnostics_mask(fit, data: Dataset, obs, where: str) -> np.ndarray:
    """Which observation records the fit's ``diagnostics`` rows are (all, or the quantified ones after an
    M1 fit); raises :class:`DatasetError` when ``data`` is not the data of the fit."""
    n = len(obs.rows)
    diag = getattr(fit, "diagnostics", None)
    if diag is None:
        return np.ones(n, dtype=bool)
    if len(diag) == n:
        mask = np.ones(n, dtype=bool)
    elif len(diag) == int((~obs.blq).sum()):
        mask = ~obs.blq
    else:
        raise DatasetError(f"{where}: the data have {n} observation records ({int(obs.blq.sum())} BLQ) but the fit "
                           f"has {len(diag)}: pass the dataset (and the lloq) the model was fitted with")
    events = data.events
    ids = events["ID"].to_numpy()[obs.rows][mask]
    times = events["TIME"].to_numpy(dtype=float)[obs.rows][mask]
    if not (np.array_equal(ids, diag["ID"].to_numpy()) and np.allclose(times, diag["TIME"].to_numpy(dtype=float))):
        raise DatasetError(f"{where}: the IDs and times of the data's observation records differ from those of the "
                           "fit's diagnostics: pass the dataset the model was fitted to")
    return mask


def simulate_replicates(popmodel: PopulationModel, data: Dataset, n_sim: int, rng: np.random.Generator,
                        n_obs: int):
    """``(DV, PRED)``: simulated observations, shape (n_sim, n_obs), with residual error, and the population
    predictions (n_obs,), simulated in chunks of replicates that share one random stream."""
    per_chunk = max(1, _CHUNK_RECORDS // max(1, len(data.events)))
    dv = np.empty((n_sim, n_obs))
    pred = None
    done = 0
    while done < n_sim:
        k = min(per_chunk, n_sim - done)
        sim = popmodel.simulate(data, k, seed=rng, residual=True)
        values = sim["DV"].to_numpy(dtype=float)
        if len(values) != k * n_obs:                   # pragma: no cover - simulate's rows are the observations
            raise DatasetError(f"simulated {len(values)} values for {k} replicates of {n_obs} observations")
        dv[done: done + k] = values.reshape(k, n_obs)
        if pred is None:
            pred = sim["PRED"].to_numpy(dtype=float)[:n_obs]
        done += k
    return dv, pred
