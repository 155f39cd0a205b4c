"""Individual, naive-pooled and per-subject fits of a pkpd model to NONMEM-style data (lmfit).

The objective is -2 log-likelihood (OFV) of the observations under a residual error model
(:mod:`pkpd.fitting.residual`), with values below the limit of quantification handled by Beal's methods:

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

Examples
--------
>>> import numpy as np, pandas as pd, pkpd
>>> from pkpd.models import OneCompartment
>>> from pkpd.fitting import fit_individual, AdditiveError
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

import math
import warnings
from collections.abc import Mapping

import lmfit
import numpy as np
import pandas as pd

from ..errors import ConvergenceWarning, DatasetError, ParameterError
from ..io import Dataset, as_dataset
from ._batch import BatchPredictor
from ._observations import BLQ_METHODS, observation_records
from ._differences import hessian_from_values, hessian_points
from .params import ERROR_PREFIX, LOG_PREFIX, add_error_params, error_values, make_params, model_values
from .residual import AdditiveError, ExponentialError, ProportionalError, ResidualError
from .result import FitResult

__all__ = ["fit_individual", "fit_pooled", "fit_each", "BLQ_METHODS"]


#: relative distance to a bound below which an estimate is reported as "at a bound"
_AT_BOUND = 1e-6


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


def _fit(model, data, params, error, output, blq, lloq, method, engine, label, max_nfev=None) -> FitResult:
    data = as_dataset(data)
    error = ProportionalError() if error is None else error
    if not isinstance(error, ResidualError):
        raise ParameterError(f"error must be a residual error model (AdditiveError, ...), not {error!r}")
    problem = _Problem(model, data, output, blq, lloq, engine)
    _check_log_scale(error, problem)
    if params is None:
        start = _nca_start(model, data)
        params = make_params(model, start, estimate=tuple(start) or None)
    elif isinstance(params, Mapping) and not isinstance(params, lmfit.Parameters):
        params = make_params(model, params)
    params = add_error_params(params.copy(), error)
    ls = _least_squares_ok(error, problem) and method in ("auto", "leastsq")
    if ls:
        return _fit_least_squares(model, problem, params, error, label, max_nfev=max_nfev)
    return _fit_likelihood(model, problem, params, error, "lbfgsb" if method == "auto" else method, label,
                           max_nfev=max_nfev)


def _nca_start(model, data) -> dict:
    """Initial values from NCA (:mod:`pkpd.fitting.initial`); the model defaults where NCA cannot help."""
    from .initial import initial_estimates

    try:
        return initial_estimates(model, data)
    except DatasetError:
        return {}


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


def _fit_least_squares(model, problem, params, error, label, quiet=False, max_nfev=None) -> FitResult:
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

    mini = lmfit.Minimizer(residual, params, scale_covar=not sd_fixed, nan_policy="raise")
    out = mini.minimize(method="leastsq", max_nfev=max_nfev, Dfun=jacobian)
    n = len(problem.y)
    rss = float(np.sum((residual(out.params) * scale) ** 2))
    if not sd_fixed:
        out.params[sd_key].value = 0.5 * math.log(rss / n)           # ML estimate sqrt(RSS / n) (profiled)
        out.params.update_constraints()
    return _finish(model, problem, error, out, label, 0 if sd_fixed else 1, quiet)


def _fit_likelihood(model, problem, params, error, method, label, quiet=False, max_nfev=None) -> FitResult:
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

    mini = lmfit.Minimizer(ofv, params, scale_covar=False, calc_covar=False)
    kw = {"jac": gradient} if with_gradient else {}
    out = mini.minimize(method=method, max_nfev=max_nfev, **kw)
    if out.var_names:
        _set_covariance(mini, out, 2.0 * _inverse(diff.hessian(out.params, ofv_of)))
    return _finish(model, problem, error, out, label, 0, quiet)


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


def _finish(model, problem, error, out, label, extra_estimated, quiet=False) -> FitResult:
    params = out.params
    estimates = model_values(params, model)
    theta = error_values(params, error)
    f = problem.predict(estimates)
    terms = _ofv_terms(error, problem, f, theta)
    ofv = float(np.sum(terms))
    k = len(out.var_names) + extra_estimated
    n = len(problem.y)
    reasons = []
    if not out.success:
        reasons.append(f"the optimiser did not converge: {out.message}")
    cov = getattr(out, "covar", None)
    if out.var_names:
        if cov is None or not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
            reasons.append("the covariance matrix could not be computed (singular: a parameter is not identifiable "
                           "from these data, or the fit is not at a minimum)")
        else:
            sd = np.sqrt(np.diag(cov))
            smallest = float(np.linalg.eigvalsh(cov / np.outer(sd, sd)).min())
            if smallest < 1e-5:                   # |correlation| > 0.99999
                reasons.append(f"the covariance matrix is singular or not positive definite (smallest eigenvalue "
                               f"of the correlation matrix {smallest:.1e}): a parameter is not identifiable "
                               "from these data")
    for name in out.var_names:
        p = params[name]
        for bound in (p.min, p.max):
            if math.isfinite(bound) and abs(p.value - bound) <= _AT_BOUND * max(1.0, abs(bound)):
                reasons.append(f"{name} = {p.value:.6g} is at its bound {bound:.6g}")
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
        success=not reasons, messages=tuple(reasons), lmfit_result=out, problem=problem,
    )


def fit_individual(model, data, params=None, *, error: ResidualError | None = None, output: str | None = None,
                   blq: str = "M3", lloq: float | None = None, method: str = "auto",
                   engine: str = "auto", max_nfev: int | None = None) -> FitResult:
    """Fit ``model`` to one subject's data.

    Parameters
    ----------
    model : Model
        Any pkpd model (closed form or ODE, library or composed).
    data : Dataset or DataFrame
        NONMEM-style records of one subject (doses and observations).
    params : lmfit.Parameters or mapping, optional
        From :func:`~pkpd.fitting.make_params` (bounds, fixed, log scale, expressions); a mapping gives
        initial values; default: the parameters NCA can inform (CL, V, KA, ...;
        :func:`~pkpd.fitting.initial_estimates`) are estimated from their NCA values, the rest (F1, ALAG1,
        ...) fixed at the model defaults.
    error : ResidualError
        Residual error model (default ``ProportionalError(0.1)``), estimated unless ``fixed``.
    output : str
        Model output compared with DV (default the model's first output, e.g. ``CP``).
    blq : {"M3", "M1", "M5", "M7"}
        BLQ handling (module docstring); ``lloq`` gives the limit when the data have no LLOQ column.
    method : str
        lmfit method; ``"auto"``: ``leastsq`` for additive/exponential error without M3 records, else
        ``lbfgsb`` on -2 log-likelihood.
    engine : {"auto", "analytic", "ode"}
        How predictions are computed (:func:`pkpd.simulate`).
    max_nfev : int, optional
        Limit on objective evaluations (lmfit's default otherwise); reaching it is a non-convergence.

    Returns
    -------
    FitResult
        ``success`` is False (and a :class:`pkpd.ConvergenceWarning` is issued with the reason) when the
        optimiser did not converge, the covariance is singular, or an estimate sits on a bound.
    """
    data = as_dataset(data)
    if len(data) != 1:
        raise DatasetError(f"fit_individual: the data hold {len(data)} subjects (IDs {list(data.ids)[:5]}...); "
                           "use fit_pooled (one parameter set for all) or fit_each (one fit per subject)")
    return _fit(model, data, params, error, output, blq, lloq, method, engine, f"fit of ID {data.ids[0]}",
                max_nfev)


def fit_pooled(model, data, params=None, *, error: ResidualError | None = None, output: str | None = None,
               blq: str = "M3", lloq: float | None = None, method: str = "auto", engine: str = "auto",
               max_nfev: int | None = None) -> FitResult:
    """Naive pooled fit: one parameter set for every subject in ``data`` (arguments as :func:`fit_individual`)."""
    return _fit(model, as_dataset(data), params, error, output, blq, lloq, method, engine, "naive pooled fit",
                max_nfev)


def fit_each(model, data, params=None, **kw) -> dict:
    """One :func:`fit_individual` per subject (like R's ``nlsList``); returns ``{ID: FitResult}``.

    Non-converged subjects are kept (``success`` False, with their warning), never dropped silently.
    """
    return {sid: fit_individual(model, sub, params, **kw) for sid, sub in as_dataset(data)}
