"""FOCE-I population estimation with batched empirical Bayes estimates.

For subject ``i`` with random effects ``eta`` (normal, mean 0, covariance ``Omega``), predictions ``f(eta)`` and
residual variances ``V(f)`` (the error model), the individual objective is

    O_i(eta) = sum_j [ (y_j - f_j)^2 / V_j + log V_j ] + eta' Omega^-1 eta

Its minimiser is the EBE ``eta_i``. The FOCE-I objective (NONMEM convention: -2 log-likelihood without
the ``n log 2 pi`` constant) is the Laplace approximation with the first-order Hessian
(Beal & Sheiner; Wang 2007, J Pharmacokinet Pharmacodyn 34:575)::

    OFV = sum_i [ O_i(eta_i) + log det Omega + log det H_i ],
    H_i = Omega^-1 + sum_j g_j g_j' / V_j + 1/2 sum_j (V'_j / V_j)^2 g_j g_j'

with ``g_j = d f_j / d eta`` at ``eta_i`` and ``V'_j = dV/df`` (zero for additive error, where FOCE-I = FOCE).
``method="FOCE"`` evaluates the residual variance at ``eta = 0`` instead (no interaction).

Inner step: damped Newton (Levenberg) on all subjects at once; each iteration predicts ``f`` and its first
and second finite-difference derivatives in eta for every subject in one batched simulation. Outer step: L-BFGS-B on
``theta``, ``log omega^2`` and ``log`` error parameters, the EBEs warm-started from the previous evaluation.

Examples
--------
>>> import numpy as np, pkpd
>>> from pkpd.models import OneCompartmentOral
>>> from pkpd.population import PopulationModel
>>> def individual(theta, eta):
...     cl = np.exp(theta["lCl"] + eta[:, 1])
...     return {"KA": np.exp(theta["lKa"] + eta[:, 0]), "CL": cl, "V": cl / np.exp(theta["lKe"])}
>>> pm = PopulationModel(OneCompartmentOral(), {"lKe": -2.5, "lKa": 0.5, "lCl": -3.2},
...                      {"KA": 0.4, "CL": 0.03}, individual, pkpd.AdditiveError(0.7))
>>> pm.eta_names
('KA', 'CL')
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ..errors import ConvergenceWarning, DatasetError, ParameterError, SimulationError
from ..fitting.residual import ExponentialError, ResidualError
from ..fitting._batch import BatchPredictor
from ..fitting._differences import hessian_from_values, hessian_points
from ..io import CANONICAL_COLUMNS, Dataset, as_dataset

__all__ = ["PopulationModel", "PopulationFitResult", "fit_population", "population_ofv", "map_estimate"]

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class PopulationModel:
    """A population model: structure, typical values, random effects and residual error.

    Parameters
    ----------
    model : Model
        The structural pkpd model.
    theta : mapping
        Typical values (initial estimates), on the scale ``individual`` expects.
    omega : mapping
        Variance of each random effect (diagonal Omega), in the order of the ``eta`` columns.
    individual : callable
        ``individual(theta, eta) -> {model parameter: array over subjects}``; ``theta`` a dict of floats,
        ``eta`` an array (subjects, random effects). Model parameters it does not return keep their defaults.
        A third argument, if the callable takes one, receives the subjects' covariates (a DataFrame, one
        row per subject, the values of each subject's first record), e.g. ``CL = exp(theta) * WT``.
    error : ResidualError
        Residual error model (additive, proportional or combined).
    output : str, optional
        Model output compared with DV (default: the first output).
    fixed : tuple of str
        Names in ``theta`` held at their values.
    """

    model: Any
    theta: Mapping[str, float]
    omega: Mapping[str, float]
    individual: Callable
    error: ResidualError
    output: str | None = None
    fixed: tuple = ()

    def __post_init__(self):
        if not self.omega:
            raise ParameterError("PopulationModel: omega must name at least one random effect")
        for name, var in self.omega.items():
            if not (isinstance(var, (int, float)) and math.isfinite(var) and var > 0):
                raise ParameterError(f"PopulationModel: omega[{name!r}] must be a variance > 0, got {var!r}")
        if isinstance(self.error, ExponentialError):
            raise ParameterError("PopulationModel: exponential (log-scale) error is not supported yet; "
                                 "use additive, proportional or combined error")
        unknown = sorted(set(self.fixed) - set(self.theta))
        if unknown:
            raise ParameterError(f"PopulationModel: fixed names {unknown} are not in theta {sorted(self.theta)}")

    @property
    def eta_names(self) -> tuple:
        return tuple(self.omega)

    @cached_property
    def _takes_covariates(self) -> bool:
        try:
            return len(inspect.signature(self.individual).parameters) >= 3
        except (TypeError, ValueError):
            return False

    def parameters_for(self, theta, eta, covariates) -> dict:
        """The structural model's parameters for every subject (``individual`` with or without covariates)."""
        return self.individual(theta, eta, covariates) if self._takes_covariates else self.individual(theta, eta)


@dataclass(frozen=True, eq=False)
class PopulationFitResult:
    """Estimates of a population fit (frozen): ``theta``, ``omega`` (variances), ``error`` parameters,
    ``ofv`` (NONMEM convention, without ``n log 2 pi``), ``etas`` (EBEs by ID), ``success``/``message``."""

    popmodel: PopulationModel
    method: str
    theta: dict
    omega: dict
    error: dict
    ofv: float
    etas: pd.DataFrame
    n_obs: int
    success: bool
    message: str
    n_evaluations: int
    covariance: pd.DataFrame | None = None
    diagnostics: pd.DataFrame | None = None
    shrinkage: dict = field(default_factory=dict)
    warnings: tuple = ()
    optimizer: Any = field(repr=False, default=None)

    def table(self) -> pd.DataFrame:
        """Parameter table: estimate, standard error, RSE %, and for random effects SD (~CV) and shrinkage."""
        se = self.standard_errors
        rows = []
        for k, v in self.theta.items():
            s = se.get(k, math.nan)
            rse = 100 * s / abs(v) if v else math.nan
            rows.append({"parameter": k, "estimate": v, "std_error": s, "rse_percent": rse,
                         "fixed": k in self.popmodel.fixed})
        for k, v in self.omega.items():
            s = se.get(f"log_omega2_{k}", math.nan)      # SE of log(omega^2) = RSE of omega^2
            rows.append({"parameter": f"omega2_{k}", "estimate": v, "std_error": s * v, "rse_percent": 100 * s,
                         "sd_or_cv": math.sqrt(v), "shrinkage_percent": 100 * self.shrinkage.get(f"eta_{k}", math.nan)})
        for k, v in self.error.items():
            s = se.get(f"log_{k}", math.nan)
            rows.append({"parameter": f"sigma_{k}", "estimate": v, "std_error": s * v, "rse_percent": 100 * s})
        return pd.DataFrame(rows).set_index("parameter")

    def report(self) -> str:
        """Plain-text report: method, OFV, the parameter table, shrinkage and warnings."""
        head = [f"{self.method} on {len(self.etas)} subjects, {self.n_obs} observations: OFV {self.ofv:.4f} "
                f"(-2LL {self.ofv_with_constant:.4f}); outer optimiser: {self.message}",
                f"epsilon shrinkage {100 * self.shrinkage.get('epsilon', math.nan):.1f} %"]
        body = self.table().to_string(float_format=lambda v: f"{v:.6g}")
        return "\n".join(head + ["", body] + ([""] + [f"warning: {w}" for w in self.warnings] if self.warnings else []))

    @property
    def standard_errors(self) -> dict:
        """Standard errors from the covariance step (R^-1: 2 x the inverse Hessian of the OFV), by estimated
        quantity: thetas on their own scale, ``log_omega2_<eta>`` and ``log_<error parameter>``."""
        if self.covariance is None:
            return {}
        return {k: float(math.sqrt(v)) if v > 0 else math.nan
                for k, v in zip(self.covariance.index, np.diag(self.covariance.to_numpy()))}

    @property
    def omega_sd(self) -> dict:
        """Standard deviations of the random effects (~ CV of log-normal parameters)."""
        return {k: math.sqrt(v) for k, v in self.omega.items()}

    @property
    def ofv_with_constant(self) -> float:
        """-2 log-likelihood including ``n log 2 pi``."""
        return self.ofv + self.n_obs * LOG_2PI


class _PopData:
    """Observations of a dataset by subject, and batched predictions for per-subject parameter sets."""

    def __init__(self, popmodel: PopulationModel, data: Dataset, engine: str):
        model = popmodel.model
        self.output = popmodel.output or model.outputs[0]
        if self.output not in model.outputs:
            raise ParameterError(f"output {self.output!r} is not an output of {model.name}")
        ev = data.events
        obs = data.is_observation
        if not obs.any():
            raise DatasetError("the dataset has no observation records to fit")
        self.rows = np.flatnonzero(obs)
        self.y = ev["DV"].to_numpy(dtype=float)[self.rows]
        if not np.all(np.isfinite(self.y)):
            raise DatasetError("observations must be finite numbers (BLQ records are not supported yet)")
        #: predictions (k, n_obs) for k sets of per-subject parameters (dicts of arrays over subjects)
        self.predict_many = BatchPredictor(model, data, self.output, self.rows, engine)
        self.ids, self.n = self.predict_many.ids, self.predict_many.n_subjects
        rank = self.predict_many.rank
        self.subject = rank[self.rows]
        covariates = [c for c in ev.columns if c not in CANONICAL_COLUMNS]
        self.covariates = ev[covariates].groupby(rank, sort=True).first().reset_index(drop=True)
        self.events = ev


def _variance(error, f, sigma):
    sd = error.stdev(f, sigma)
    return sd * sd


def _variance_slope(error, f, sigma):
    """dV/df by central differences (zero for additive error)."""
    h = 1e-6 * np.maximum(np.abs(f), 1e-8)
    return (_variance(error, f + h, sigma) - _variance(error, f - h, sigma)) / (2 * h)


class _Objective:
    """FOCE(-I) objective for given theta/omega/sigma, with warm-started batched EBEs."""

    def __init__(self, popmodel, pdata, method):
        self.pm, self.d, self.method = popmodel, pdata, method
        self.q = len(popmodel.omega)
        self.eta = np.zeros((pdata.n, self.q))
        self.h = 1e-3 if pdata.predict_many.uses_ode else 1e-4
        self.converged = True

    def _params(self, theta, eta):
        return self.pm.parameters_for(theta, eta, self.d.covariates)

    def _f_and_g(self, theta, eta, curvature=False):
        """Predictions (n_obs,) and their eta-derivatives (n_obs, q) by central differences, with the
        second derivatives (n_obs, q, q) when ``curvature``; all sets in one batched simulation."""
        q, h = self.q, self.h
        eye = np.eye(q) * h
        sets = [eta] + [eta + eye[k] for k in range(q)] + [eta - eye[k] for k in range(q)]
        pairs = [(k, m) for k in range(q) for m in range(k + 1, q)] if curvature else []
        sets += [eta + eye[k] + eye[m] for k, m in pairs]
        f = self.d.predict_many([self._params(theta, e) for e in sets])
        f0, plus, minus = f[0], f[1: q + 1], f[q + 1: 2 * q + 1]
        g = ((plus - minus) / (2 * h)).T
        if not curvature:
            return f0, g, None
        c = np.zeros((len(f0), q, q))
        for k in range(q):
            c[:, k, k] = (plus[k] - 2 * f0 + minus[k]) / h**2
        for i, (k, m) in enumerate(pairs):
            c[:, k, m] = c[:, m, k] = (f[2 * q + 1 + i] - plus[k] - plus[m] + f0) / h**2
        return f0, g, c

    def _by_subject(self, values):
        return np.bincount(self.d.subject, weights=values, minlength=self.d.n)

    def _subject_terms(self, f, eta, omega_inv, sigma, v=None):
        v = _variance(self.pm.error, f, sigma) if v is None else v
        r = self.d.y - f
        data = self._by_subject(r * r / v + np.log(v))
        prior = np.einsum("ik,kl,il->i", eta, omega_inv, eta)
        return data + prior

    def ebe(self, theta, omega, sigma, tol=1e-7, max_iter=100):
        """EBEs (subjects, q), predictions and derivatives at them, by damped Newton."""
        omega_inv = np.diag(1.0 / omega)
        eta = self.eta.copy()
        f, g, c = self._f_and_g(theta, eta, curvature=True)
        v0 = None
        if self.method == "FOCE":                       # residual variance at the population prediction
            v0 = _variance(self.pm.error, self.d.predict_many([self._params(theta, np.zeros_like(eta))])[0], sigma)
        obj = self._subject_terms(f, eta, omega_inv, sigma, v0)
        lam = np.full(self.d.n, 1e-6)
        sub = self.d.subject
        self.converged = False
        for _ in range(max_iter):
            v = _variance(self.pm.error, f, sigma) if v0 is None else v0
            dv = _variance_slope(self.pm.error, f, sigma) if v0 is None else np.zeros_like(f)
            r = self.d.y - f
            # half the gradient of O_i and its Hessian (Gauss-Newton + residual curvature)
            coef = -r / v + 0.5 * dv / v * (1.0 - r * r / v)
            grad = np.zeros((self.d.n, self.q))
            np.add.at(grad, sub, g * coef[:, None])
            grad += eta @ omega_inv
            w = 1.0 / v + 0.5 * (dv / v) ** 2
            hess = np.zeros((self.d.n, self.q, self.q))
            np.add.at(hess, sub, np.einsum("j,jk,jl->jkl", w, g, g) + coef[:, None, None] * c)
            hess += omega_inv
            if np.max(np.abs(grad)) < tol:                    # every subject at its EBE
                self.converged = True
                break
            step = -np.linalg.solve(hess + lam[:, None, None] * np.eye(self.q), grad[..., None])[..., 0]
            step = np.clip(step, -1.0, 1.0)               # trust region: at most e-fold per iteration
            trial = eta + step
            try:
                f_t, g_t, c_t = self._f_and_g(theta, trial, curvature=True)
            except (SimulationError, ValueError, ArithmeticError):   # extreme trial parameters: reject all
                f_t, g_t, c_t = np.full_like(f, np.nan), np.full_like(g, np.nan), np.full_like(c, np.nan)
            obj_t = self._subject_terms(f_t, trial, omega_inv, sigma, v0)
            better = np.isfinite(obj_t) & (obj_t <= obj + 1e-12)
            keep_obs = better[sub]
            eta = np.where(better[:, None], trial, eta)
            f = np.where(keep_obs, f_t, f)
            g = np.where(keep_obs[:, None], g_t, g)
            c = np.where(keep_obs[:, None, None], c_t, c)
            obj = np.where(better, obj_t, obj)
            lam = np.where(better, lam * 0.1, lam * 10.0)
        self.eta = eta
        return eta, f, g, obj, v0

    def first_order_hessian(self, f, g, omega, sigma, v0=None):
        """``H_i = Omega^-1 + sum_j g g' / V + 1/2 sum_j (V'/V)^2 g g'`` per subject (subjects, q, q)."""
        v = _variance(self.pm.error, f, sigma) if v0 is None else v0
        dv = _variance_slope(self.pm.error, f, sigma) if v0 is None else np.zeros_like(f)
        w = 1.0 / v + 0.5 * (dv / v) ** 2
        hess = np.zeros((self.d.n, self.q, self.q))
        np.add.at(hess, self.d.subject, np.einsum("j,jk,jl->jkl", w, g, g))
        return hess + np.diag(1.0 / omega)

    def __call__(self, theta, omega, sigma):
        eta, f, g, obj, v0 = self.ebe(theta, omega, sigma)
        v = _variance(self.pm.error, f, sigma) if v0 is None else v0
        sign, logdet_h = np.linalg.slogdet(self.first_order_hessian(f, g, omega, sigma, v0))
        if np.any(sign <= 0):
            return math.inf
        if self.method == "FOCE":     # the data term at the EBE with the eta = 0 variance (no interaction)
            obj = self._subject_terms(f, eta, np.diag(1.0 / omega), sigma, v)
        return float(np.sum(obj) + self.d.n * np.sum(np.log(omega)) + np.sum(logdet_h))


def population_ofv(popmodel: PopulationModel, data, *, method: str = "FOCEI", engine: str = "auto") -> float:
    """The FOCE(-I) objective (NONMEM convention) at the population model's current values."""
    obj = _Objective(popmodel, _PopData(popmodel, as_dataset(data), engine), _check_method(method))
    return obj(dict(popmodel.theta), np.array(list(popmodel.omega.values()), dtype=float),
               dict(popmodel.error.parameters))


def _check_method(method):
    method = str(method).upper().replace("-", "")
    if method not in ("FOCEI", "FOCE"):
        raise ParameterError(f"method must be 'FOCEI' or 'FOCE', got {method!r}")
    return method


def _hessian(fun, x, rel=1e-3):
    """Central second differences of ``fun`` at ``x`` (steps ``rel * max(|x|, 0.1)``)."""
    h = rel * np.maximum(np.abs(x), 0.1)
    return hessian_from_values([fun(point) for point in hessian_points(x, h)], h)


def fit_population(popmodel: PopulationModel, data, *, method: str = "FOCEI", engine: str = "auto",
                   max_evaluations: int = 5000, covariance: bool = True) -> PopulationFitResult:
    """Estimate ``theta``, the diagonal ``omega`` and the residual error by FOCE-I (or FOCE).

    Parameters
    ----------
    popmodel : PopulationModel
    data : Dataset or DataFrame
        NONMEM-style records of all subjects.
    method : {"FOCEI", "FOCE"}
    engine : {"auto", "analytic", "ode"}
        How predictions are computed.
    max_evaluations : int
        Limit on objective evaluations of the outer optimiser.
    covariance : bool
        Run the covariance step: ``2 H^-1`` with ``H`` the Hessian of the OFV in the estimated quantities
        (NONMEM's R matrix form), by central differences.

    Returns
    -------
    PopulationFitResult
        ``success`` False (with the optimiser's message) when the outer optimisation did not converge.
    """
    method = _check_method(method)
    data = as_dataset(data)
    pdata = _PopData(popmodel, data, engine)
    objective = _Objective(popmodel, pdata, method)
    free = [k for k in popmodel.theta if k not in popmodel.fixed]
    fixed = {k: float(popmodel.theta[k]) for k in popmodel.fixed}
    err_names = list(popmodel.error.parameters) if not popmodel.error.fixed else []
    err_fixed = {k: float(v) for k, v in popmodel.error.parameters.items() if k not in err_names}
    q = len(popmodel.omega)

    def unpack(x):
        theta = {**fixed, **dict(zip(free, x[: len(free)]))}
        omega = np.exp(x[len(free): len(free) + q])
        sigma = {**err_fixed, **dict(zip(err_names, np.exp(x[len(free) + q:])))}
        return theta, omega, sigma

    x0 = np.concatenate([[float(popmodel.theta[k]) for k in free], np.log(list(popmodel.omega.values())),
                         np.log([max(float(popmodel.error.parameters[k]), 1e-12) for k in err_names])])
    count = [0]

    def fun(x):
        count[0] += 1
        try:
            value = objective(*unpack(x))
        except (SimulationError, ValueError, ArithmeticError):
            return 1e300
        return value if math.isfinite(value) else 1e300

    opt = minimize(fun, x0, method="L-BFGS-B", options={"maxfun": max_evaluations, "eps": 1e-6, "ftol": 1e-12,
                                                          "gtol": 1e-6})
    theta, omega, sigma = unpack(opt.x)
    ofv = objective(theta, omega, sigma)
    etas = pd.DataFrame(objective.eta, columns=[f"ETA_{k}" for k in popmodel.omega])
    cov = None
    if covariance:
        saved = objective.eta.copy()
        names = free + [f"log_omega2_{k}" for k in popmodel.omega] + [f"log_{k}" for k in err_names]
        hess = _hessian(fun, opt.x)
        objective.eta = saved
        try:
            cov = pd.DataFrame(2.0 * np.linalg.inv(hess), index=names, columns=names)
        except np.linalg.LinAlgError:
            cov = None
    etas.insert(0, "ID", pdata.ids)
    diagnostics, shrinkage = _diagnostics(objective, theta, omega, sigma)
    issues = [] if objective.converged else ["the EBE search did not converge for every subject at the estimates"]
    if not opt.success:
        issues.append(f"the outer optimisation did not converge: {opt.message}")
    if covariance and (cov is None or not np.all(np.linalg.eigvalsh(cov.to_numpy()) > 0)):
        issues.append("covariance step failed: the Hessian of the OFV is singular or not positive definite")
    for k in popmodel.omega:
        if shrinkage[f"eta_{k}"] > 0.4:
            issues.append(f"eta shrinkage of {k} is {100 * shrinkage[f'eta_{k}']:.0f} % (> 40 %): its EBEs and "
                          "EBE-based diagnostics are unreliable")
    for text in issues:
        warnings.warn(f"fit_population: {text}", ConvergenceWarning, stacklevel=2)
    return PopulationFitResult(
        popmodel=popmodel, method=method, theta={k: float(v) for k, v in theta.items()},
        omega={k: float(v) for k, v in zip(popmodel.omega, omega)}, error={k: float(v) for k, v in sigma.items()},
        ofv=float(ofv), etas=etas, n_obs=len(pdata.y), success=bool(opt.success), message=str(opt.message),
        n_evaluations=count[0], covariance=cov, diagnostics=diagnostics, shrinkage=shrinkage,
        warnings=tuple(issues), optimizer=opt)


def _diagnostics(objective, theta, omega, sigma):
    """PRED, IPRED, RES, IWRES and CWRES (FOCE linearisation, Hooker 2007) aligned with the observations;
    eta shrinkage ``1 - SD(EBE) / omega`` and epsilon shrinkage ``1 - SD(IWRES)``."""
    d, pm = objective.d, objective.pm
    eta, f, g, _, _ = objective.ebe(theta, omega, sigma)
    pred = d.predict_many([objective._params(theta, np.zeros_like(eta))])[0]
    v = _variance(pm.error, f, sigma)
    iwres = (d.y - f) / np.sqrt(v)
    cwres = np.empty_like(f)
    for i in range(d.n):
        rows = np.flatnonzero(d.subject == i)
        gi = g[rows]
        cov = gi @ np.diag(omega) @ gi.T + np.diag(v[rows])
        mean = f[rows] - gi @ eta[i]
        cwres[rows] = np.linalg.solve(np.linalg.cholesky(cov), d.y[rows] - mean)
    frame = d.events.iloc[d.rows][["ID", "TIME"]].reset_index(drop=True).assign(
        DV=d.y, PRED=pred, IPRED=f, RES=d.y - pred, IWRES=iwres, CWRES=cwres)
    shrink = {f"eta_{k}": float(1 - np.std(eta[:, j], ddof=1) / math.sqrt(omega[j]))
              for j, k in enumerate(pm.omega)}
    shrink["epsilon"] = float(1 - np.std(iwres, ddof=1))
    return frame, shrink


def map_estimate(popmodel: PopulationModel, patient_data, *, engine: str = "auto") -> pd.DataFrame:
    """Bayesian (MAP) individual estimates for one or more patients given the population model's values.

    The EBE of each patient (the minimiser of the individual objective with the population prior) with its
    approximate standard errors (inverse of the first-order Hessian), and the individual model parameters.

    Returns
    -------
    DataFrame
        One row per patient: ``ID``, ``ETA_<name>``, ``SE_ETA_<name>`` and the model parameters.
    """
    d = _PopData(popmodel, as_dataset(patient_data), engine)
    obj = _Objective(popmodel, d, "FOCEI")
    omega = np.array(list(popmodel.omega.values()), dtype=float)
    sigma = dict(popmodel.error.parameters)
    theta = dict(popmodel.theta)
    eta, f, g, _, _ = obj.ebe(theta, omega, sigma)
    se = np.sqrt(np.diagonal(np.linalg.inv(obj.first_order_hessian(f, g, omega, sigma)), axis1=1, axis2=2))
    out = pd.DataFrame({"ID": d.ids})
    for j, k in enumerate(popmodel.omega):
        out[f"ETA_{k}"] = eta[:, j]
        out[f"SE_ETA_{k}"] = se[:, j]
    for k, val in popmodel.parameters_for(theta, eta, d.covariates).items():
        out[k] = np.broadcast_to(np.asarray(val, dtype=float), (d.n,))
    return out
