"""The fit of the SE calibration (:mod:`pkpd.se.calibration`): predicted vs observed rates, the residuals, the
least-squares fit of the calibrated quantities (lmfit) and their profile likelihood."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ModelError
from ._calibration_quantities import CALIBRATION_PARAMETERS, _relevant, defaults
from ._calibration_simulation import simulate_arm
from ._calibration_trials import CESSATION_MIN, ESETT, RAMPART, VA_COOPERATIVE, Trial


class _Cache:
    """Memoised arm predictions keyed by the calibrated values that matter to the arm."""

    def __init__(self):
        self.store = {}
        self.calls = 0
        self.seconds = 0.0

    def detail(self, trial, arm, values, n, seed, rtol):
        key = (trial.name, tuple(sorted(trial.settings.items(), key=str)), arm.name,
               _relevant(values, arm.drugs), n, str(seed), rtol)
        if key not in self.store:
            t0 = time.perf_counter()
            self.store[key] = simulate_arm(trial, arm, values, n, seed, rtol=rtol, return_detail=True)
            self.seconds += time.perf_counter() - t0
            self.calls += 1
        return self.store[key]

    def rate(self, trial, arm, values, n, seed, rtol):
        return self.detail(trial, arm, values, n, seed, rtol)["rate"]


def predict(values: Mapping | None = None, trials: Sequence[Trial] = (RAMPART, ESETT, VA_COOPERATIVE),
            n: int = 1000, seed=2024, *, rtol: float = 1e-4, _cache: _Cache | None = None) -> pd.DataFrame:
    """Predicted vs observed response rates of every arm of ``trials`` (one row per arm).

    Columns ``trial``, ``arm``, ``observed``, ``n_obs``, ``predicted``, ``error_pp`` (predicted - observed,
    percentage points) and ``z`` (binomial z-score with ``n_obs``).
    """
    cache = _cache or _Cache()
    rows = []
    for trial in trials:
        for arm in trial.arms:
            p = cache.rate(trial, arm, values or {}, n, seed, rtol)
            se = math.sqrt(arm.observed * (1 - arm.observed) / arm.n_obs)
            rows.append({"trial": trial.name, "arm": arm.name, "observed": arm.observed, "n_obs": arm.n_obs,
                         "predicted": p, "error_pp": 100 * (p - arm.observed), "z": (p - arm.observed) / se})
    return pd.DataFrame(rows)


def residuals(values: Mapping, trials: Sequence[Trial] = (RAMPART, ESETT, VA_COOPERATIVE), n: int = 1000,
              seed=2024, *, priors: Mapping | None = None, prior_sd: float = math.log(3.0), rtol: float = 1e-4,
              _cache: _Cache | None = None) -> np.ndarray:
    """Calibration residuals: binomial z-scores of every arm, then ``log(value / prior) / prior_sd`` for
    each quantity in ``priors`` (a mapping quantity -> prior median)."""
    cache = _cache or _Cache()
    z = predict(values, trials, n, seed, rtol=rtol, _cache=cache)["z"].to_numpy()
    if RAMPART in trials:                       # median time to cessation: log ratio, a 2-fold miss = 2 SD
        for arm in RAMPART.arms:
            t = cache.detail(RAMPART, arm, values, n, seed, rtol)["median_cessation_min"]
            t = t if np.isfinite(t) else 60.0
            z = np.append(z, math.log(t / CESSATION_MIN[arm.name]) / (math.log(2.0) / 2.0))
    pr = [math.log(values[k] / v) / prior_sd for k, v in (priors or {}).items() if k in values]
    return np.concatenate([z, np.asarray(pr, dtype=float)])


def calibrate(free: Sequence[str] = tuple(CALIBRATION_PARAMETERS), trials: Sequence[Trial] = (RAMPART, ESETT), n: int = 1000, seed=2024, *,
              start: Mapping | None = None, fixed: Mapping | None = None, priors: Mapping | bool | None = None,
              prior_sd: float = math.log(3.0), diff_step: float = 0.03, max_nfev: int = 60, rtol: float = 1e-4,
              verbose: bool = False):
    """Fit the calibrated quantities ``free`` to the response rates of ``trials`` with lmfit.

    Parameters
    ----------
    free : sequence of str
        Quantities of :data:`CALIBRATION_PARAMETERS` to estimate (as ``x = 1 + log(value / start)``, within
        their bounds);
        the others stay at ``fixed`` or their defaults.
    trials : sequence of Trial
        Trials whose arms enter the objective (e.g. ``(RAMPART, ESETT)`` for the held-out check on VA).
    n, seed : int
        Virtual patients per arm and the seed of the common random numbers.
    start, fixed : mapping, optional
        Starting values of free quantities; values of fixed ones (default: library defaults).
    priors : mapping, True or None
        Log-normal prior medians (``True``: the library defaults) for the free quantities, with log-SD
        ``prior_sd``; None fits the trials alone.
    diff_step : float
        Relative finite-difference step of ``least_squares`` (on the log parameters): large enough that
        the hard-threshold rates change by many patients.

    Returns
    -------
    lmfit.minimizer.MinimizerResult
        With ``params`` holding ``x_<name>`` (``value = start exp(x - 1)``); extra attributes ``values`` (dict of the fitted
        quantities, free and fixed), ``table`` (:func:`predict` at the fit), ``seconds_per_arm`` and
        ``arm_simulations``.
    """
    import lmfit

    base = {**defaults(), **dict(fixed or {})}
    start = {**base, **dict(start or {})}
    prior_medians = defaults() if priors is True else dict(priors or {})
    prior_medians = {k: v for k, v in prior_medians.items() if k in free}
    pars = lmfit.Parameters()
    for k in free:
        if k not in CALIBRATION_PARAMETERS:
            raise ModelError(f"unknown calibration quantity {k!r}; known: {sorted(CALIBRATION_PARAMETERS)}")
        lo, hi = CALIBRATION_PARAMETERS[k][1:]
        # x = 1 + log(value / start): least_squares' relative step diff_step * max(1, |x|) is then a
        # relative change of the value of about diff_step whatever its magnitude (x is never 0 at the start)
        pars.add(f"x_{k}", value=1.0, min=1.0 + math.log(lo / start[k]), max=1.0 + math.log(hi / start[k]))
    cache = _Cache()
    trials = tuple(trials)

    def values_of(p):
        return {**base, **{k: start[k] * math.exp(p[f"x_{k}"].value - 1.0) for k in free}}

    def objective(p):
        v = values_of(p)
        r = residuals(v, trials, n, seed, priors=prior_medians, prior_sd=prior_sd, rtol=rtol, _cache=cache)
        if verbose:
            print({k: round(v[k], 4) for k in free}, "SS", round(float(r @ r), 3), flush=True)
        return r

    result = lmfit.minimize(objective, pars, method="least_squares", diff_step=diff_step, max_nfev=max_nfev)
    result.values = values_of(result.params)
    result.table = predict(result.values, trials, n, seed, rtol=rtol, _cache=cache)
    result.arm_simulations = cache.calls
    result.seconds_per_arm = cache.seconds / max(cache.calls, 1)
    return result


def profile(name: str, grid: Sequence[float], values: Mapping | None = None, *, n: int = 500, seed=2024,
            refit_nfev: int = 12, rtol: float = 1e-4) -> pd.DataFrame:
    """Profile of the calibration objective in ``name``: at each value of ``grid`` the other free quantities
    are re-fitted (``refit_nfev`` evaluations of least squares from ``values``; 0: kept at ``values``, the
    *conditional* profile) and the sum of squared residuals recorded. ``SS - SS_min <= 3.84`` is the 95 %
    interval (the residuals are binomial z-scores, so SS is -2 log L up to a constant). The conditional profile
    is narrower than the full one; the full one needs converged refits, which the hard-threshold objective makes
    expensive.

    Returns a DataFrame with ``value``, ``ss`` and the other quantities.
    """
    base = {**defaults(), **dict(values or {})}
    others = [k for k in CALIBRATION_PARAMETERS if k != name]
    cache = _Cache()
    rows = []
    for x in grid:
        fixed = {**base, name: float(x)}
        if refit_nfev:
            fixed = calibrate(free=others, n=n, seed=seed, start=base, fixed=fixed, max_nfev=refit_nfev,
                              rtol=rtol, diff_step=0.05).values
        r = residuals(fixed, (RAMPART, ESETT), n, seed, rtol=rtol, _cache=cache)
        rows.append({"value": float(x), "ss": float(r @ r), **{k: fixed[k] for k in others}})
    return pd.DataFrame(rows)


def profile_interval(table: pd.DataFrame, ss_min: float, level: float = 3.84) -> tuple[float, float]:
    """The range of ``table["value"]`` whose profile SS lies within ``level`` of ``ss_min`` (linear
    interpolation between grid points; an end of the grid if the profile does not rise that far).

    >>> t = pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0], "ss": [10.0, 2.0, 2.0, 10.0]})
    >>> profile_interval(t, 2.0)
    (1.52, 3.48)
    """
    t = table.sort_values("value")
    v, d = t["value"].to_numpy(), t["ss"].to_numpy() - ss_min - level
    inside = np.nonzero(d <= 0)[0]
    if not len(inside):
        return float("nan"), float("nan")
    i, j = inside[0], inside[-1]
    lo = v[0] if i == 0 else v[i - 1] + (v[i] - v[i - 1]) * d[i - 1] / (d[i - 1] - d[i])
    hi = v[-1] if j == len(v) - 1 else v[j] + (v[j + 1] - v[j]) * d[j] / (d[j] - d[j + 1])
    return round(float(lo), 10), round(float(hi), 10)
