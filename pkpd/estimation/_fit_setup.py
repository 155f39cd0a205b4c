"""Setting up an individual fit before the optimiser runs (:mod:`pkpd.estimation.fit`): the start values
(``params``, ``init`` or automatic), the observations checked against the error model (positive on the log scale;
pre-dose ones it gives no likelihood, left out), the residual error held fixed when the data are too few, and the
budget of objective evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..errors import DatasetError, ParameterError
from ..models.params import ERROR_PREFIX, LOG_PREFIX, add_error_params, make_params
from ..population.residual import ExponentialError
from ._fit_optimiser import _predict_or_nan


def _default_max_nfev(n_varied: int) -> int:
    """Objective evaluations allowed when ``max_nfev`` is not given: 200 per parameter (plus 200). A
    well-posed fit needs 10-100; lmfit's own default (2000 per parameter) lets an ill-posed one run for
    minutes."""
    return 200 * (n_varied + 1)


def _start_params(model, data, params, init, output, engine):
    """lmfit parameters to start from: ``params`` as given, or automatic start values (overridden by ``init``),
    the parameters they inform estimated and the others fixed at the model defaults."""
    from .initial import initial_estimates

    if init is not None:
        if params is not None:
            raise ParameterError("give either params (lmfit parameters or a mapping) or init (start values of "
                                 "some parameters, the others automatic), not both")
        init = _check_init(model, init)
    if params is None:
        start = initial_estimates(model, data, output=output, engine=engine)
        start.update(init or {})
        return make_params(model, start, estimate=tuple(start) or None)
    import lmfit

    if isinstance(params, Mapping) and not isinstance(params, lmfit.Parameters):
        return make_params(model, params)
    return params


def _check_init(model, init) -> dict:
    if not isinstance(init, Mapping):
        raise ParameterError(f"init must be a mapping of parameter names to start values, not {init!r}")
    known = {p.name: p for p in model.parameters}
    unknown = [k for k in init if k not in known]
    if unknown:
        raise ParameterError(f"init: {', '.join(repr(k) for k in unknown)} "
                             f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'} of "
                             f"{model.name} (parameters: {', '.join(known)})")
    out = {}
    for name, value in init.items():
        par = known[name]
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"init: {name} = {value!r} is not a number") from None
        if not (math.isfinite(value) and par.lower <= value <= par.upper):
            raise ParameterError(f"init: {name} = {value!r} is outside its bounds [{par.lower}, {par.upper}]")
        out[name] = value
    return out


def _with_fixed_error(params, error):
    """``params`` with the residual error parameters replaced by fixed ones at ``error``'s values."""
    import lmfit

    out = lmfit.Parameters()
    keys = {ERROR_PREFIX + k for k in error.parameters} | {LOG_PREFIX + ERROR_PREFIX + k for k in error.parameters}
    for name, p in params.items():
        if name not in keys:
            out.add(name, value=p.value, min=p.min, max=p.max, vary=p.vary, expr=p.expr)
    return add_error_params(out, error)


def _check_log_scale(error, problem):
    bad = ~problem.blq & ~(problem.y > 0)
    if isinstance(error, ExponentialError) and bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DatasetError(f"ExponentialError (log-transform both sides) needs positive observations; record "
                           f"{int(problem.rows[j]) + 1} (ID {problem.frame['ID'].iloc[j]}, TIME "
                           f"{problem.frame['TIME'].iloc[j]}) has DV {float(problem.y[j])!r}; {int(bad.sum())} "
                           "are <= 0 (flag them BLQ or use another error model)")


def _zero_sd_at_zero(error) -> bool:
    """Whether the error model's SD vanishes where the prediction is 0 (proportional, exponential; not an
    exponential error that compares a value there, ``ExponentialError(zero_prediction=...)``)."""
    if error.log_scale:
        return not math.isfinite(error.zero_log)
    with np.errstate(all="ignore"):
        return bool(np.all(error.stdev(np.zeros(1), error.parameters) <= 1e-12))


def _predose_records(model, problem, params, error) -> np.ndarray:
    """Quantified observations at or before the subject's first dose that the model predicts as 0, when the
    error model cannot give them a likelihood (its SD is 0 there)."""
    drop = np.zeros(len(problem.y), dtype=bool)
    if not _zero_sd_at_zero(error):
        return drop
    early = ~problem.blq & (problem.frame["TIME"].to_numpy(dtype=float) <= problem.first_dose_times())
    if not early.any():
        return drop
    drop = early & (_predict_or_nan(problem, params, model) == 0)
    if drop.all():
        raise DatasetError(f"every observation is at or before the first dose, where the model predicts 0: "
                           f"{type(error).__name__} cannot fit them (use AdditiveError)")
    return drop
