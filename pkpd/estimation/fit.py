"""Individual, naive-pooled and per-subject fits of a pkpd model to NONMEM-style data (lmfit).

The objective is -2 log-likelihood (OFV) of the observations under a residual error model
(:mod:`pkpd.population.residual`), with values below the limit of quantification handled by Beal's methods:

- ``"M3"`` (default): a BLQ record contributes ``P(y < LLOQ)`` to the likelihood;
- ``"M1"``: BLQ records are dropped;
- ``"M5"``: BLQ values are replaced by LLOQ/2; ``"M7"``: by 0 (both then fitted as ordinary values).

A record is BLQ when the dataset has a ``BLQ`` column equal to 1, or when its ``DV`` is below the ``LLOQ``
column (or the ``lloq`` argument).

Two optimisation paths, chosen by the error model:

- additive error (also exponential, which is additive on the log scale) and no M3 records: ordinary
  least squares by Levenberg-Marquardt (``method="leastsq"``). The SD is profiled out (ML estimate
  ``sqrt(RSS / n)``) and the covariance is ``s^2 (J'J)^-1`` with ``s^2 = RSS / (n - p)`` -- exactly R's
  ``nls``;
- otherwise: the scalar OFV is minimised (``method="lbfgsb"`` by default; any lmfit scalar method) and the
  covariance is ``2 H^-1``, ``H`` the Hessian of the OFV in the estimated parameters.

Derivatives (the Jacobian for least squares, the gradient and Hessian of the OFV) are central finite
differences whose parameter sets are all predicted in one batched simulation, so an ODE model costs
little more per derivative than per objective value.

The default residual error model is additive (:func:`default_error`), in the API and in ``pkpd fit``:
it is R's ``nls`` (the validation reference), it is fitted by least squares (fast and robust, the SD
profiled out), and it can explain a measured concentration where the model predicts 0 -- a pre-dose
sample such as theophylline's 0.74 mg/L at time 0 -- which a proportional error cannot. Choose
:class:`ProportionalError` or :class:`CombinedError` when the spread grows with the concentration.

Named warnings
--------------
Every problem found is a :class:`pkpd.ConvergenceWarning` ``"<label>: NAME: text"`` and a line of
``FitResult.messages``. These make ``success`` False (:data:`FAILURES`):

- ``NOT_CONVERGED``: the optimiser stopped without converging (or reached ``max_nfev``);
- ``COVARIANCE_FAILED``: the covariance matrix is singular (smallest eigenvalue of the correlation
  matrix below 1e-5) or could not be computed;
- ``AT_BOUND``: an estimate within 1e-6 (relative) of a bound;
- ``TOO_FEW_OBSERVATIONS``: no more observations than estimated parameters (``n <= k``, the residual
  error parameters included, also the profiled SD): nothing is left to estimate the residual error, the
  fit interpolates the data. The residual error is then held at its start value and only the model
  parameters are fitted (so the optimiser cannot chase an OFV going to minus infinity);
- ``RESIDUAL_ERROR_COLLAPSED``: an estimated residual error shrank to nothing -- the largest residual SD
  the residuals support is below 1e-4 times the largest observation -- far below any assay's error,
  within the optimiser's tolerance of zero (1e-4 on the log scale for
  :class:`ExponentialError`): the model interpolates the data and the likelihood is unbounded.

These are reported but leave ``success`` alone (:data:`NOTES`):

- ``POORLY_IDENTIFIED``: the fit converged, but a parameter is barely determined by the data: an RSE
  above 100 % (standard error / estimate of a positive parameter: bounded below by 0 or estimated on the
  log scale, where the RSE is the SE of the log), a correlation between two estimates with
  ``|r| > 0.99``, or a condition number of their correlation matrix above 1000 (for two parameters
  ``cond = (1 + |r|) / (1 - |r|)``, so ``|r| > 0.99`` is ``cond > 199``; the limit 1000 catches
  collinearity among three or more parameters that no pair shows -- Belsley, Kuh & Welsch's condition
  index 30, the rule of thumb NONMEM users apply to its condition number);
- ``PREDOSE_EXCLUDED``: with an error model whose SD is 0 where the prediction is 0 (proportional,
  exponential), quantified observations at or before the subject's first dose that the model predicts
  as exactly 0 are left out of the likelihood -- they carry no information there, and a non-zero value
  would have likelihood 0 (an OFV of ~1e23). Additive and combined error keep them;
- ``SUBJECTS_SKIPPED``: subjects without a dose record or without an observation, by ID (pooled fits;
  :func:`fit_each` warns once for all of them).

Start values: ``params`` (lmfit parameters or a mapping), else :func:`pkpd.estimation.initial_estimates`
(NCA, or a grid search when NCA cannot apply -- several doses, steady state, sparse data), with
``init`` overriding some of them.

Examples
--------
>>> import numpy as np, pandas as pd, pkpd
>>> from pkpd.models import OneCompartment
>>> from pkpd.estimation import fit_individual, AdditiveError
>>> times = np.array([0.5, 1, 2, 4, 8, 12])
>>> true = OneCompartment().simulate(pkpd.Bolus(100), times, {"CL": 5, "V": 50})["CP"]
>>> obs = true * np.array([1.02, 0.97, 1.01, 0.99, 1.03, 0.98])
>>> data = pkpd.read_nonmem(pd.DataFrame({"ID": 1, "TIME": np.r_[0, times], "AMT": np.r_[100, np.zeros(6)],
...                                       "DV": np.r_[np.nan, obs]}))
>>> fit = fit_individual(OneCompartment(), data, {"CL": 3, "V": 30}, error=AdditiveError())
>>> fit.success, round(fit.estimates["CL"], 2), round(fit.estimates["V"], 1)
(True, 4.99, 50.0)
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ConvergenceWarning, DatasetError, ParameterError
from ..io import Dataset, as_dataset
from ..engine import BatchPredictor
from ._observations import BLQ_METHODS, observation_records
from ._differences import hessian_from_values, hessian_points
from ._subjects import skipped_message, subject_problem, usable_subjects
from ..models.params import ERROR_PREFIX, LOG_PREFIX, add_error_params, error_values, make_params, model_values, pkpd_name
from ..population.residual import AdditiveError, ExponentialError, ResidualError
from .fit_result import FitResult

__all__ = ["fit_individual", "fit_pooled", "fit_each", "default_error", "correlation_problems", "BLQ_METHODS",
           "FAILURES", "NOTES",
           "RSE_LIMIT", "CORRELATION_LIMIT", "CONDITION_LIMIT", "COLLAPSE_LIMIT"]


#: relative distance to a bound below which an estimate is reported as "at a bound"
_AT_BOUND = 1e-6
#: named warnings that make ``success`` False (module docstring)
FAILURES = ("NOT_CONVERGED", "COVARIANCE_FAILED", "AT_BOUND", "TOO_FEW_OBSERVATIONS", "RESIDUAL_ERROR_COLLAPSED")
#: named warnings that are reported but leave ``success`` alone
NOTES = ("POORLY_IDENTIFIED", "PREDOSE_EXCLUDED", "SUBJECTS_SKIPPED")
#: POORLY_IDENTIFIED: relative standard error above 100 %
RSE_LIMIT = 1.0
#: POORLY_IDENTIFIED: |correlation| of two estimates above 0.99
CORRELATION_LIMIT = 0.99
#: POORLY_IDENTIFIED: condition number of the correlation matrix of the estimates above 1000
CONDITION_LIMIT = 1e3
#: RESIDUAL_ERROR_COLLAPSED: largest residual SD below this fraction of the largest observation
COLLAPSE_LIMIT = 1e-4
#: COVARIANCE_FAILED: smallest eigenvalue of the correlation matrix below this (|correlation| > 0.99999)
_SINGULAR = 1e-5


def default_error() -> ResidualError:
    """The residual error model of a fit given none: ``AdditiveError()`` (SD estimated, started at 1).

    The same default as ``pkpd fit`` (``--error additive``); why additive: module docstring.

    >>> default_error()
    AdditiveError(fixed=False, sd=1.0)
    """
    return AdditiveError()


def _default_max_nfev(n_varied: int) -> int:
    """Objective evaluations allowed when ``max_nfev`` is not given: 200 per parameter (plus 200). A
    well-posed fit needs 10-100; lmfit's own default (2000 per parameter) lets an ill-posed one run for
    minutes."""
    return 200 * (n_varied + 1)


class _Problem:
    """The observations of a dataset, their BLQ status, and predictions for given model parameters."""

    def __init__(self, model, data: Dataset, output: str | None, blq: str, lloq, engine: str):
        self.model, self.data, self.engine = model, data, engine
        self.output = output or model.outputs[0]
        if self.output not in model.outputs:
            raise ParameterError(f"output {self.output!r} is not an output of {model.name} ({list(model.outputs)})")
        obs = observation_records(data, blq, lloq)
        self.blq_method = blq
        self.rows, self.y, self.blq, self.lloq, self.n_blq = obs.rows, obs.y, obs.blq, obs.lloq, obs.n_blq
        self.frame = data.events.iloc[self.rows][["ID", "TIME"]].reset_index(drop=True)
        self.predict_many = BatchPredictor(model, data, self.output, self.rows, engine)
        self.uses_ode = self.predict_many.uses_ode

    def predict(self, values: Mapping[str, float]) -> np.ndarray:
        return self.predict_many([values])[0]

    def without(self, drop: np.ndarray) -> "_Problem":
        """The same problem without the observations where ``drop`` is True."""
        keep = ~np.asarray(drop, dtype=bool)
        new = object.__new__(_Problem)
        new.__dict__.update(self.__dict__)
        new.rows, new.y, new.blq, new.lloq = self.rows[keep], self.y[keep], self.blq[keep], self.lloq[keep]
        new.frame = self.frame[keep].reset_index(drop=True)
        new.predict_many = BatchPredictor(self.model, self.data, self.output, new.rows, self.engine)
        return new

    def refit_ofv(self, model, params, error) -> float:
        """The OFV of a quiet refit from ``params`` (some held fixed), the way the fit itself was made: least
        squares where the error model allows it, else the likelihood by L-BFGS-B (profiles use this)."""
        n_free = sum(q.vary for q in params.values())
        if _least_squares_ok(error, self) and 0 < n_free <= len(self.y):
            return _fit_least_squares(model, self, params, error, "profile", quiet=True).ofv
        sd_key = LOG_PREFIX + ERROR_PREFIX + "SD"      # profiled out by least squares: estimated here
        if _least_squares_ok(error, self) and sd_key in params and not error.fixed:
            params[sd_key].vary = True
        return _fit_likelihood(model, self, params, error, "lbfgsb", "profile", quiet=True).ofv

    def first_dose_times(self) -> np.ndarray:
        """For each observation, the time of its subject's first dose record (NaN without one)."""
        ev = self.data.events
        evid = ev["EVID"].to_numpy()
        first = ev["TIME"][(evid == 1) | (evid == 4)].groupby(ev["ID"][(evid == 1) | (evid == 4)]).min()
        return self.frame["ID"].map(first).to_numpy(dtype=float)


def _least_squares_ok(error: ResidualError, problem: _Problem) -> bool:
    return isinstance(error, (AdditiveError, ExponentialError)) and not problem.blq.any()


def _ofv_terms(error, problem, f, theta) -> np.ndarray:
    q = ~problem.blq
    out = np.empty(len(f))
    out[q] = error.neg2ll(problem.y[q], f[q], theta)
    if problem.blq.any():
        out[~q] = error.neg2ll_blq(problem.lloq[~q], f[~q], theta)
    return out


def _check_log_scale(error, problem):
    if isinstance(error, ExponentialError) and np.any(problem.y[~problem.blq] <= 0):
        raise DatasetError("ExponentialError (log-transform both sides) needs positive observations; "
                           f"{int(np.sum(problem.y[~problem.blq] <= 0))} are <= 0 (flag them BLQ or use another "
                           "error model)")


def _fit(model, data, params, error, output, blq, lloq, method, engine, label, max_nfev=None, init=None,
         notes=()) -> FitResult:
    data = as_dataset(data)
    error = default_error() if error is None else error
    if not isinstance(error, ResidualError):
        raise ParameterError(f"error must be a residual error model (AdditiveError, ...), not {error!r}")
    problem = _Problem(model, data, output, blq, lloq, engine)
    params = _start_params(model, data, params, init, problem.output, engine)
    params = add_error_params(params.copy(), error)
    issues = [n for n in notes if n]
    predose = _predose_records(model, problem, params, error)
    if predose.any():
        issues.append(_predose_note(problem, predose, error))
        problem = problem.without(predose)
    _check_log_scale(error, problem)
    n = len(problem.y)
    varied = [k for k, p in params.items() if p.vary]
    if len(varied) >= n:
        issues.append(_too_few_message(n, varied, error))
        if not error.fixed:
            error = dataclasses.replace(error, fixed=True)
            params = _with_fixed_error(params, error)
    n_varied = sum(p.vary for p in params.values())
    max_nfev = _default_max_nfev(n_varied) if max_nfev is None else max_nfev
    # MINPACK's Levenberg-Marquardt needs at least as many residuals as parameters
    ls = _least_squares_ok(error, problem) and method in ("auto", "leastsq") and n >= n_varied
    if ls:
        return _fit_least_squares(model, problem, params, error, label, max_nfev=max_nfev, issues=issues)
    return _fit_likelihood(model, problem, params, error, "lbfgsb" if method in ("auto", "leastsq") else method,
                           label, max_nfev=max_nfev, issues=issues)


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


def _too_few_message(n, varied, error) -> str:
    names = ", ".join(pkpd_name(v[len(LOG_PREFIX):] if v.startswith(LOG_PREFIX) else v) for v in varied)
    k = len(varied)
    values = ", ".join(f"{a} = {b:g}" for a, b in error.parameters.items())
    held = ("" if error.fixed else
            f"; the residual error was held at its start value ({values}) and only the model parameters were fitted")
    return (f"TOO_FEW_OBSERVATIONS: {n} observation{'s' if n != 1 else ''} for {k} estimated parameters ({names}): "
            f"at least {k + 1} are needed to estimate them and judge the fit{held}")


def _zero_sd_at_zero(error) -> bool:
    """Whether the error model's SD vanishes where the prediction is 0 (proportional, exponential)."""
    if error.log_scale:
        return True
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


def _predose_note(problem, drop, error) -> str:
    frame = problem.frame[drop]
    shown = ", ".join(f"ID {i} TIME {t:g} (DV {y:g})" for i, t, y in
                      zip(frame["ID"], frame["TIME"], problem.y[drop]))
    k = int(drop.sum())
    return (f"PREDOSE_EXCLUDED: {k} observation{'s' if k > 1 else ''} at or before the first dose, where the model "
            f"predicts 0, left out of the likelihood: {shown}; under {type(error).__name__} the SD is 0 there, "
            "so a non-zero value has likelihood 0 (AdditiveError or CombinedError keep them)")


def _predict_or_nan(problem, params, model):
    try:
        with np.errstate(all="ignore"):
            return problem.predict(model_values(params, model))
    except (ValueError, ArithmeticError):
        return np.full(len(problem.y), np.nan)


class _Perturbations:
    """Finite differences of a fit's objective with every perturbed parameter set predicted in one
    batched simulation (:meth:`_Problem.predict_many`).

    Steps are relative to ``max(|value|, 0.01)``: 1e-6 (closed form) or 1e-4 (ODE, integrated to rtol 1e-9)
    for first derivatives, 1e-4 for the Hessian (larger steps distort it where the OFV is sharply curved).
    """

    def __init__(self, model, problem, error, params):
        self.model, self.problem, self.error = model, problem, error
        self.names = [n for n, p in params.items() if p.vary]
        self.trial = params.copy()
        self.rel = 1e-4 if problem.uses_ode else 1e-6

    def _sets(self, x_list):
        """Model and error values for each external vector of the varied parameters."""
        models, errors = [], []
        for x in x_list:
            for name, value in zip(self.names, x):
                self.trial[name].value = value
            self.trial.update_constraints()
            models.append(model_values(self.trial, self.model))
            errors.append(error_values(self.trial, self.error))
        return models, errors

    def predictions(self, x_list):
        models, errors = self._sets(x_list)
        try:
            with np.errstate(all="ignore"):
                f = self.problem.predict_many(models)
        except (ValueError, ArithmeticError):
            f = np.full((len(x_list), len(self.problem.y)), np.nan)
        return f, errors

    def steps(self, params, rel=None):
        x = np.array([params[n].value for n in self.names])
        return x, (self.rel if rel is None else rel) * np.maximum(np.abs(x), 1e-2)

    def central(self, params, fun):
        """d fun / d x by central differences; ``fun(f, theta)`` maps predictions to a vector or scalar."""
        x, h = self.steps(params)
        n = len(x)
        points = [x + h[i] * e for i, e in enumerate(np.eye(n))] + [x - h[i] * e for i, e in enumerate(np.eye(n))]
        f, theta = self.predictions(points)
        values = [np.atleast_1d(fun(f[j], theta[j])) for j in range(2 * n)]
        return np.stack([(values[i] - values[n + i]) / (2 * h[i]) for i in range(n)], axis=-1)

    def hessian(self, params, ofv_of):
        """Hessian of the scalar ``ofv_of(f, theta)`` by central second differences (2n^2 + 1 sets)."""
        x, h = self.steps(params, rel=1e-4)
        points = hessian_points(x, h)
        f, theta = self.predictions(points)
        return hessian_from_values([ofv_of(f[k], theta[k]) for k in range(len(points))], h)


def _fit_least_squares(model, problem, params, error, label, quiet=False, max_nfev=None, issues=()) -> FitResult:
    sd_fixed = error.fixed
    scale = error.parameters["SD"] if sd_fixed else 1.0
    sd_key = ERROR_PREFIX + "SD" if sd_fixed else LOG_PREFIX + ERROR_PREFIX + "SD"
    params[sd_key].vary = False                              # profiled out (or fixed)
    yt = error.transform(problem.y)

    def residual_of(f):
        r = (yt - error.transform(f)) / scale
        return np.where(np.isfinite(r), r, 1e10)

    def residual(p):
        return residual_of(_predict_or_nan(problem, p, model))

    diff = _Perturbations(model, problem, error, params)

    def jacobian(p):
        return diff.central(p, lambda f, theta: residual_of(f))

    import lmfit

    mini = lmfit.Minimizer(residual, params, scale_covar=not sd_fixed, nan_policy="raise")
    out = mini.minimize(method="leastsq", max_nfev=max_nfev, Dfun=jacobian)
    n = len(problem.y)
    rss = float(np.sum((residual(out.params) * scale) ** 2))
    if not sd_fixed:
        out.params[sd_key].value = 0.5 * math.log(rss / n)           # ML estimate sqrt(RSS / n) (profiled)
        out.params.update_constraints()
    return _finish(model, problem, error, out, label, 0 if sd_fixed else 1, quiet, issues)


def _fit_likelihood(model, problem, params, error, method, label, quiet=False, max_nfev=None, issues=()) -> FitResult:
    def ofv_of(f, theta):
        value = float(np.sum(_ofv_terms(error, problem, f, theta)))
        return value if math.isfinite(value) else 1e300

    diff = _Perturbations(model, problem, error, params)
    with_gradient = method in _GRADIENT_METHODS
    last = {}

    def evaluate(p):
        """OFV, and for gradient methods its central-difference gradient from the same batched simulation
        (the optimiser asks for both at every point: one integration instead of two)."""
        x, h = diff.steps(p)
        key = x.tobytes()
        if last.get("key") != key:
            n = len(x) if with_gradient else 0
            eye = np.eye(len(x))
            points = [x] + [x + h[i] * eye[i] for i in range(n)] + [x - h[i] * eye[i] for i in range(n)]
            f, theta = diff.predictions(points)
            v = np.array([ofv_of(f[j], theta[j]) for j in range(len(points))])
            last.update(key=key, ofv=v[0], grad=(v[1: n + 1] - v[n + 1:]) / (2 * h[:n]))
        return last

    def ofv(p):
        return evaluate(p)["ofv"]

    def gradient(p):
        return evaluate(p)["grad"]

    import lmfit

    mini = lmfit.Minimizer(ofv, params, scale_covar=False, calc_covar=False)
    kw = {"jac": gradient} if with_gradient else {}
    out = mini.minimize(method=method, max_nfev=max_nfev, **kw)
    if out.var_names:
        _set_covariance(mini, out, 2.0 * _inverse(diff.hessian(out.params, ofv_of)))
    return _finish(model, problem, error, out, label, 0, quiet, issues)


#: lmfit scalar methods that use a gradient (given here by batched central differences)
_GRADIENT_METHODS = ("lbfgsb", "bfgs", "cg", "tnc", "slsqp")


def _inverse(matrix):
    try:
        return np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return np.full_like(matrix, np.nan)


def _set_covariance(mini, out, cov):
    """Attach ``cov`` to the lmfit result: standard errors, correlations, and by propagation those of
    expressions (e.g. ``CL = exp(log_CL)``)."""
    out.covar = cov
    if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0):
        mini.result = out
        mini._calculate_uncertainties_correlations()


def _finish(model, problem, error, out, label, extra_estimated, quiet=False, issues=()) -> FitResult:
    params = out.params
    estimates = model_values(params, model)
    theta = error_values(params, error)
    f = problem.predict(estimates)
    terms = _ofv_terms(error, problem, f, theta)
    ofv = float(np.sum(terms))
    k = len(out.var_names) + extra_estimated
    n = len(problem.y)
    reasons = list(issues)
    if not out.success:
        reasons.append(f"NOT_CONVERGED: the optimiser did not converge: {out.message}")
    cov = getattr(out, "covar", None)
    cov_ok = False
    if out.var_names:
        if cov is None or not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
            reasons.append("COVARIANCE_FAILED: the covariance matrix could not be computed (singular: a parameter is "
                           "not identifiable from these data, or the fit is not at a minimum)")
        else:
            sd = np.sqrt(np.diag(cov))
            smallest = float(np.linalg.eigvalsh(cov / np.outer(sd, sd)).min())
            if smallest < _SINGULAR:                   # |correlation| > 0.99999
                reasons.append(f"COVARIANCE_FAILED: the covariance matrix is singular or not positive definite "
                               f"(smallest eigenvalue of the correlation matrix {smallest:.1e}): a parameter is not "
                               "identifiable from these data")
            else:
                cov_ok = True
    for name in out.var_names:
        p = params[name]
        for bound in (p.min, p.max):
            if math.isfinite(bound) and abs(p.value - bound) <= _AT_BOUND * max(1.0, abs(bound)):
                reasons.append(f"AT_BOUND: {name} = {p.value:.6g} is at its bound {bound:.6g}")
    if not error.fixed:
        collapsed = _collapse(error, problem, f, theta)
        if collapsed:
            reasons.append(collapsed)
    if cov_ok:
        poorly = _identifiability(params, list(out.var_names), np.asarray(cov))
        if poorly:
            reasons.append(poorly)
    for reason in () if quiet else reasons:
        warnings.warn(f"{label}: {reason}", ConvergenceWarning, stacklevel=4)
    wres = np.full(n, np.nan)
    q = ~problem.blq
    wres[q] = error.weighted_residuals(problem.y[q], f[q], theta)
    table = problem.frame.assign(DV=problem.y, BLQ=problem.blq.astype(int), PRED=f, RES=problem.y - f, WRES=wres,
                                 OFV_TERM=terms)
    cov_frame = None
    if cov is not None and out.var_names and np.all(np.isfinite(cov)):
        cov_frame = pd.DataFrame(cov, index=out.var_names, columns=out.var_names)
    return FitResult(
        model=model, label=label, params=params, estimates=estimates, error=error, error_estimates=theta,
        ofv=ofv, aic=ofv + 2 * k, bic=ofv + k * math.log(n), n_obs=n, n_blq=problem.n_blq,
        blq_method=problem.blq_method, n_estimated=k, covariance=cov_frame, predictions=table,
        success=not any(r.split(":")[0] in FAILURES for r in reasons), messages=tuple(reasons), lmfit_result=out,
        problem=problem,
    )


def _collapse(error, problem, f, theta) -> str:
    """RESIDUAL_ERROR_COLLAPSED when the largest residual SD the residuals support (the estimate, scaled down by
    the root mean square of the weighted residuals when that is below 1) is below :data:`COLLAPSE_LIMIT` times the
    largest observation (on the log scale for exponential error: below COLLAPSE_LIMIT itself)."""
    q = ~problem.blq
    if not q.any():
        return ""
    with np.errstate(all="ignore"):
        sd = np.asarray(error.stdev(f[q], theta), dtype=float)
        # the likelihood has no maximum as the SD shrinks, so where the optimiser stopped on the way down depends
        # on rounding: judge by the SD the residuals support at these predictions (the ML scale of the weighted
        # residuals), never more than the estimate
        r = (error.transform(problem.y[q]) - error.transform(f[q])) / sd
        supported = min(1.0, float(np.sqrt(np.mean(r * r)))) if r.size and np.all(np.isfinite(r)) else 1.0
    scale = 1.0 if error.log_scale else float(np.max(np.abs(problem.y[q]))) or 1.0
    largest = float(np.max(sd)) * supported if sd.size else math.nan
    if not largest <= COLLAPSE_LIMIT * scale:
        return ""
    shown = ", ".join(f"{k} = {v:.3g}" for k, v in theta.items())
    return (f"RESIDUAL_ERROR_COLLAPSED: the residual error shrank to nothing ({shown}; largest residual SD "
            f"{largest:.3g}, {largest / scale:.1e} of the largest observation): the model interpolates the data, the "
            "likelihood has no maximum and the standard errors mean nothing")


def correlation_problems(names, cov) -> list[str]:
    """The near-singular correlations of estimates with covariance ``cov`` (named ``names``): each pair with
    ``|r| >`` :data:`CORRELATION_LIMIT`, and a condition number of the correlation matrix above
    :data:`CONDITION_LIMIT` (individual and population fits share this rule).

    >>> correlation_problems(["CL", "V"], np.array([[1.0, 0.999], [0.999, 1.0]]))
    ['correlation of CL and V 0.9990 (|r| > 0.99)', 'condition number of the correlation matrix 2e+03 (> 1000)']
    """
    if len(names) < 2:
        return []
    cov = np.asarray(cov, dtype=float)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    parts = [f"correlation of {names[j]} and {names[i]} {corr[i, j]:.4f} (|r| > {CORRELATION_LIMIT})"
             for i in range(len(names)) for j in range(i) if abs(corr[i, j]) > CORRELATION_LIMIT]
    condition = float(np.linalg.cond(corr))
    if condition > CONDITION_LIMIT:
        parts.append(f"condition number of the correlation matrix {condition:.3g} (> {CONDITION_LIMIT:.0f})")
    return parts


def _identifiability(params, names, cov) -> str:
    """POORLY_IDENTIFIED: the parameters with an RSE above 100 % and near-singular correlations (module
    docstring); '' when there is none."""
    parts = []
    sd = np.sqrt(np.diag(cov))
    for name, se in zip(names, sd):
        p = params[name]
        if name.startswith(LOG_PREFIX):
            rse, shown = se, pkpd_name(name[len(LOG_PREFIX):])       # SE of log(P) = RSE of P (delta method)
        elif p.min >= 0:
            rse, shown = (se / abs(p.value) if p.value else math.inf), pkpd_name(name)
        else:
            continue                                                   # can be 0 or negative: no RSE
        if rse > RSE_LIMIT:
            parts.append(f"RSE of {shown} {100 * rse:.0f} % (> {100 * RSE_LIMIT:.0f} %)")
    parts += correlation_problems(names, cov)
    if not parts:
        return ""
    return ("POORLY_IDENTIFIED: " + "; ".join(parts) + ": the data barely determine these estimates (fix or "
            "reparameterise a parameter, or add data)")


def fit_individual(model, data, params=None, *, init: Mapping[str, float] | None = None,
                   error: ResidualError | None = None, output: str | None = None, blq: str = "M3",
                   lloq: float | None = None, method: str = "auto", engine: str = "auto",
                   max_nfev: int | None = None) -> FitResult:
    """Fit ``model`` to one subject's data.

    Parameters
    ----------
    model : Model
        Any pkpd model (closed form or ODE, library or composed).
    data : Dataset or DataFrame
        NONMEM-style records of one subject (doses and observations).
    params : lmfit.Parameters or mapping, optional
        From :func:`~pkpd.estimation.make_params` (bounds, fixed, log scale, expressions); a mapping gives
        initial values of every model parameter, all estimated. Default: the parameters
        :func:`~pkpd.estimation.initial_estimates` informs (CL, V, KA, ...) are estimated from its values --
        NCA when it applies, a grid search otherwise (several doses, steady state, sparse data) -- the
        rest (F1, ALAG1, ...) fixed at the model defaults.
    init : mapping, optional
        Start values of some parameters (name -> value; not with ``params``): the others start from
        :func:`~pkpd.estimation.initial_estimates`; estimated are the parameters it informs and those named
        here. ``pkpd fit --init CL=2,V=30`` is the same.
    error : ResidualError
        Residual error model (default :func:`default_error`: ``AdditiveError()``, as ``pkpd fit``),
        estimated unless ``fixed``.
    output : str
        Model output compared with DV (default the model's first output, e.g. ``CP``).
    blq : {"M3", "M1", "M5", "M7"}
        BLQ handling (module docstring); ``lloq`` gives the limit when the data have no LLOQ column.
    method : str
        lmfit method; ``"auto"``: ``leastsq`` for additive/exponential error without M3 records (and at
        least as many observations as parameters), else ``lbfgsb`` on -2 log-likelihood.
    engine : {"auto", "analytic", "ode"}
        How predictions are computed (:func:`pkpd.simulate`).
    max_nfev : int, optional
        Limit on objective evaluations (default ``200 * (n_estimated + 1)``); reaching it is
        ``NOT_CONVERGED``.

    Returns
    -------
    FitResult
        ``success`` is False when the optimiser did not converge, the covariance is singular, an estimate
        sits on a bound, there are no more observations than estimated parameters, or the residual error
        collapsed; ``messages`` names every problem (also issued as :class:`pkpd.ConvergenceWarning`;
        the names and their rules are in the module docstring).

    Raises
    ------
    DatasetError
        ``data`` hold several subjects, or the subject has no dose record or no observation (named by ID).

    Examples
    --------
    Theophylline subject 1 with the default (additive) error, started from NCA: R's ``nls`` gives
    CL/F 1.586 L/h, V/F 29.39 L, KA 1.777 1/h (``tests/validation/r``).

    >>> import pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> fit = fit_individual(OneCompartmentOral(), pkpd.load_dataset("theophylline").subject(1))
    >>> fit.success, {k: round(fit.estimates[k], 3) for k in ("CL", "V", "KA")}
    (True, {'CL': 1.586, 'V': 29.393, 'KA': 1.777})

    Start values of your own for some parameters (``init``), the others automatic:

    >>> fit = fit_individual(OneCompartmentOral(), pkpd.load_dataset("theophylline").subject(1),
    ...                      init={"CL": 2, "V": 30})
    >>> round(fit.estimates["CL"], 3)
    1.586
    """
    data = as_dataset(data)
    if len(data) != 1:
        raise DatasetError(f"fit_individual: the data hold {len(data)} subjects (IDs {list(data.ids)[:5]}...); "
                           "use fit_pooled (one parameter set for all) or fit_each (one fit per subject)")
    problem = subject_problem(data)
    if problem:
        raise DatasetError(f"fit_individual: {problem}")
    return _fit(model, data, params, error, output, blq, lloq, method, engine, f"fit of ID {data.ids[0]}",
                max_nfev, init)


def fit_pooled(model, data, params=None, *, init: Mapping[str, float] | None = None,
               error: ResidualError | None = None, output: str | None = None, blq: str = "M3",
               lloq: float | None = None, method: str = "auto", engine: str = "auto",
               max_nfev: int | None = None) -> FitResult:
    """Naive pooled fit: one parameter set for every subject in ``data`` (arguments as :func:`fit_individual`).

    Subjects without a dose record or without observations are skipped (``SUBJECTS_SKIPPED`` in
    ``messages``, by ID).
    """
    data, skipped = usable_subjects(as_dataset(data))
    note = skipped_message(skipped)
    if not len(data):
        raise DatasetError(f"fit_pooled: no subject can be fitted: {note}")
    return _fit(model, data, params, error, output, blq, lloq, method, engine, "naive pooled fit", max_nfev, init,
                notes=(note,))


def fit_each(model, data, params=None, **kw) -> dict:
    """One :func:`fit_individual` per subject (like R's ``nlsList``); returns ``{ID: FitResult}``.

    Non-converged subjects are kept (``success`` False, with their named reasons in ``messages``), never
    dropped silently. Subjects without a dose record or without observations cannot be fitted: they are
    left out of the result and named in one :class:`pkpd.ConvergenceWarning` (``SUBJECTS_SKIPPED``).
    Keywords (``init``, ``error``, ``max_nfev``, ...) are those of :func:`fit_individual`.

    Sparse data are reported, not fitted for minutes: with 2 samples per subject each fit is
    ``TOO_FEW_OBSERVATIONS`` (success False), its residual error held fixed, its evaluations capped.

    Examples
    --------
    >>> import warnings, pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> ev = pkpd.load_dataset("theophylline").events
    >>> ev = ev[(ev["ID"] <= 3) & ~((ev["ID"] == 3) & (ev["EVID"] == 1))]     # subject 3 loses its dose
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fits = fit_each(OneCompartmentOral(), ev)
    >>> sorted(fits), [f.success for f in fits.values()]
    ([1, 2], [True, True])
    >>> print(str(caught[0].message)[:64])
    fit_each: SUBJECTS_SKIPPED: 1 subject skipped, IDs 3 (no dose re
    """
    data, skipped = usable_subjects(as_dataset(data))
    note = skipped_message(skipped)
    if note:
        warnings.warn(f"fit_each: {note}", ConvergenceWarning, stacklevel=2)
    if not len(data):
        raise DatasetError(f"fit_each: no subject can be fitted: {note}")
    return {sid: fit_individual(model, sub, params, **kw) for sid, sub in data}
