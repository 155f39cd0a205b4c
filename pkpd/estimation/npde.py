"""Normalised prediction distribution errors (NPDE) of a population model on its data.

The standard computation (Brendel et al. 2006, Pharm Res 23:2036; Comets, Brendel & Mentré 2008, Comput
Methods Programs Biomed 90:154, the R package ``npde``):

1. simulate ``K = n_sim`` replicates of the dataset from the model (new random effects and residual errors);
2. for each subject ``i``, with ``Y_k`` its simulated observation vector in replicate ``k`` and ``y`` the
   observed one: the empirical mean ``E_i`` and covariance ``V_i`` of the ``Y_k`` (``ddof = 1``), the
   Cholesky factor ``V_i = L_i L_i'``, and the decorrelated vectors ``y* = L_i^-1 (y - E_i)``,
   ``Y*_k = L_i^-1 (Y_k - E_i)``;
3. ``pde_ij = (1/K) #{k : Y*_kj < y*_j}``, set to ``1/(2K)`` when 0 and ``1 - 1/(2K)`` when 1;
4. ``npde_ij = Phi^-1(pde_ij)``.

Under the model the NPDE are independent N(0, 1) (up to the Monte-Carlo error of ``E_i`` and ``V_i``): mean
0, variance 1, no trend against time or predictions.

BLQ records (``BLQ`` = 1, or ``DV`` below ``LLOQ``) get NaN, and each subject's vector is decorrelated over
its quantified records only (the simulated values at those records). The ``npde`` package instead imputes
BLQ observations (drawn from the predictive distribution below the LLOQ, Nguyen et al. 2012); that is not
done here, so with many BLQ records the NPDE of the quantified ones are conditional on being quantified and
drift upwards at low concentrations.

With an exponential error (log-transform both sides) the observed and simulated values are decorrelated on
the log scale, where the model's residual error is normal, as the ``npde`` package does for data given as
logs; records simulated as 0 (a zero prediction) there get NaN.

Records whose simulated values do not vary (SD below 1e-8 of the largest SD of the subject's records, e.g. a
zero prediction before the first dose with proportional error) also get NaN, as do all records of a subject
whose simulated covariance is singular (with a warning).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._internal.lazy import linalg, special
from ._replicates import (check_n_sim, diagnostics_mask, fitted_data, observations_of, population_model_of,
                          simulate_replicates)

__all__ = ["npde"]


def npde(fit, data=None, *, n_sim: int = 1000, seed=None, lloq=None) -> pd.DataFrame:
    """Normalised prediction distribution errors of each observation (Brendel 2006; Comets 2008).

    Parameters
    ----------
    fit : PopulationFitResult or PopulationModel
        A population fit (its :attr:`~PopulationFitResult.final_model` is simulated), or a population model
        to evaluate on ``data`` as it is (external validation).
    data : Dataset or DataFrame
        The data the model was fitted to (design, covariates and observations). Required unless ``fit``
        carries its data in a ``data`` attribute.
    n_sim : int
        Number of simulated replicates of the dataset (>= 10; 1000 is usual). The PDE resolution is
        ``1 / n_sim``.
    seed : int or Generator, optional
        Seed of the simulations.
    lloq : float, optional
        Limit of quantification of records without an ``LLOQ`` value (as given to :func:`fit_population`).

    Returns
    -------
    DataFrame
        ``ID``, ``TIME``, ``PDE`` (decorrelated prediction discrepancy) and ``NPDE``, one row per row of the
        fit's ``diagnostics`` (all observation records, or the quantified ones after an M1 fit); NaN for
        BLQ records (not imputed: see the module notes).

    Raises
    ------
    ParameterError
        ``n_sim`` not an integer >= 10, or ``fit`` neither a fit nor a population model.
    DatasetError
        ``data`` is not the data of the fit.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.5, "V": 20.0}, {"CL": 0.05},
    ...                           pkpd.ProportionalError(0.45))
    >>> table = pkpd.npde(pm, pkpd.load_dataset("indometacin"), n_sim=200, seed=1)
    >>> list(table.columns), len(table)
    (['ID', 'TIME', 'PDE', 'NPDE'], 66)
    >>> bool(table["PDE"].between(1 / 400, 1 - 1 / 400).all())
    True
    """
    popmodel = population_model_of(fit, "npde")
    data = fitted_data(fit, data, "npde")
    n_sim = check_n_sim(n_sim, "npde")
    obs = observations_of(data, lloq)
    mask = diagnostics_mask(fit, data, obs, "npde")
    blq = obs.blq.copy()
    diag = getattr(fit, "diagnostics", None)
    if diag is not None and "BLQ" in diag:                # the fit's own BLQ status of its records
        blq[mask] |= diag["BLQ"].to_numpy() == 1
    rng = np.random.default_rng(seed)
    simulated, _ = simulate_replicates(popmodel, data, n_sim, rng, len(obs.rows))
    events = data.events
    error = popmodel.bound_error(popmodel.observation_outputs(events, obs.rows))
    observed = obs.y
    if np.any(getattr(error, "log_observations", error.log_scale)):
        with np.errstate(divide="ignore", invalid="ignore"):
            observed, simulated = error.transform(obs.y), error.transform(simulated)
    subject = pd.factorize(events["ID"])[0][obs.rows]
    pde = np.full(len(obs.rows), np.nan)
    singular = []
    for i in np.unique(subject):
        idx = np.flatnonzero((subject == i) & ~blq)
        idx = idx[np.all(np.isfinite(simulated[:, idx]), axis=0)]      # log scale: not those simulated as 0
        if not len(idx):
            continue
        sd = np.std(simulated[:, idx], axis=0)
        idx = idx[sd > 1e-8 * sd.max()]                  # (nearly) constant simulated values: no distribution
        if not len(idx):
            continue
        values = _decorrelated_pde(observed[idx], simulated[:, idx])
        if values is None:
            singular.append(events["ID"].to_numpy()[obs.rows[idx[0]]])
            continue
        pde[idx] = values
    if singular:
        warnings.warn(f"npde: the simulated covariance of subject(s) {singular[:10]} is singular (more records "
                      f"than informative replicates?): their NPDE are NaN; increase n_sim", RuntimeWarning,
                      stacklevel=2)
    out = pd.DataFrame({"ID": events["ID"].to_numpy()[obs.rows], "TIME": events["TIME"].to_numpy()[obs.rows],
                        "PDE": pde, "NPDE": special.ndtri(pde)})
    return out.loc[mask].reset_index(drop=True)


def _decorrelated_pde(y: np.ndarray, sims: np.ndarray):
    """PDE of one subject's observed vector ``y`` (m,) given its simulated vectors ``sims`` (K, m), after
    decorrelation by the empirical mean and the Cholesky factor of the empirical covariance; None if that
    covariance is singular."""
    k = len(sims)
    mean = sims.mean(axis=0)
    cov = np.atleast_2d(np.cov(sims, rowvar=False, ddof=1))
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return None
    obs_dec = linalg.solve_triangular(chol, y - mean, lower=True)
    sim_dec = linalg.solve_triangular(chol, (sims - mean).T, lower=True).T
    if not (np.all(np.isfinite(obs_dec)) and np.all(np.isfinite(sim_dec))):
        return None
    pde = np.mean(sim_dec < obs_dec, axis=0)
    return np.clip(pde, 1.0 / (2 * k), 1.0 - 1.0 / (2 * k))
