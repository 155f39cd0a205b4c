"""Running an individual fit: the problem (observations, BLQ status, batched predictions), the optimiser (least
squares by Levenberg-Marquardt, or the -2 log-likelihood by an lmfit scalar method) with finite-difference
derivatives, the covariance, and the :class:`FitResult` built from the optimum (:mod:`pkpd.estimation.fit`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ConvergenceWarning, ParameterError
from ..io import Dataset
from ..engine import BatchPredictor
from ._observations import observation_records
from ._differences import hessian_from_values, hessian_points
from ..models.params import ERROR_PREFIX, LOG_PREFIX, error_values, model_values
from ..population.residual import AdditiveError, ExponentialError, ResidualError
from .fit_result import FitResult
from ._fit_diagnostics import FAILURES, _named_problems


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
    reasons = _named_problems(problem, error, out, f, theta, issues)
    for reason in () if quiet else reasons:
        warnings.warn(f"{label}: {reason}", ConvergenceWarning, stacklevel=4)
    wres = np.full(n, np.nan)
    q = ~problem.blq
    wres[q] = error.weighted_residuals(problem.y[q], f[q], theta)
    table = problem.frame.assign(DV=problem.y, BLQ=problem.blq.astype(int), PRED=f, RES=problem.y - f, WRES=wres,
                                 OFV_TERM=terms)
    cov = getattr(out, "covar", None)
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
