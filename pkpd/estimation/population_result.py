"""The result of a population fit: estimates, their uncertainty, EBEs, diagnostics and warnings (frozen).

Examples
--------
>>> import pkpd
>>> from pkpd.models import OneCompartmentOral
>>> pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
...                           pkpd.AdditiveError(0.7))
>>> fit = pkpd.fit_population(pm, pkpd.load_dataset("theophylline"), covariance="R", progress=False)
>>> table = fit.table()[["estimate", "rse_percent", "ci_lower", "ci_upper"]]
>>> table.round({"estimate": 3, "rse_percent": 1, "ci_lower": 2, "ci_upper": 2})  # doctest: +NORMALIZE_WHITESPACE
           estimate  rse_percent  ci_lower  ci_upper
parameter
CL            2.794         10.7      2.26      3.45
V            30.863          2.5     29.40     32.40
KA            1.495         17.6      1.06      2.11
omega2_CL     0.121         45.0      0.05      0.29
omega2_KA     0.329         46.0      0.13      0.81
sigma_SD      0.782          6.8      0.68      0.89
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ..population.spec import popmodel_from_spec, popmodel_to_spec

__all__ = ["PopulationFitResult", "load_population_fit"]

LOG_2PI = math.log(2.0 * math.pi)
_Z95 = 1.959963984540054
_FORMAT = "pkpd.PopulationFitResult"
#: Version 2 stores the population model declaratively (version 1 pickled it and is refused).
_VERSION = 2


@dataclass(frozen=True, eq=False)
class PopulationFitResult:
    """Estimates of a population fit.

    Attributes
    ----------
    popmodel : PopulationModel
        The model fitted (its values are the initial estimates); :attr:`final_model` holds the estimates.
    method : str
        ``"FOCEI"``, ``"FOCE"`` or ``"FO"``.
    theta : dict
        Fixed effects (typical values and covariate coefficients) on their natural scale.
    omega : DataFrame
        Omega (variances and covariances of the random effects), named.
    error : dict
        Residual error parameters.
    ofv : float
        Objective function value, NONMEM convention (-2 log-likelihood without ``n log 2 pi``).
    etas : DataFrame
        Empirical Bayes estimates by ``ID``.
    covariance : DataFrame or None
        Covariance of the estimated quantities on the estimation scale (see ``covariance_method``).
    reported_covariance : DataFrame or None
        The same mapped to the reported quantities (delta method).
    diagnostics : DataFrame
        PRED, IPRED, RES, WRES, IWRES, CWRES aligned with the observations (NPDE: :func:`pkpd.npde`).
    shrinkage : dict
        ``eta_<name>`` (1 - SD(EBE)/omega) and ``epsilon`` (1 - SD(IWRES)).
    data : Dataset
        The data fitted (with an ``LLOQ`` column when a ``lloq`` was given), for :func:`pkpd.vpc` and
        :func:`pkpd.npde`.
    warnings : tuple of str
        Named problems, ``"NAME: text"`` (non-convergence, failed covariance step, estimates at bounds, singular
        Omega, shrinkage > 40 %, ``POORLY_IDENTIFIED`` estimates, ``SUBJECTS_SKIPPED``; the list is in
        :func:`pkpd.fit_population`).
    """

    popmodel: Any
    method: str
    theta: dict
    omega: pd.DataFrame
    error: dict
    ofv: float
    etas: pd.DataFrame
    n_obs: int
    success: bool
    message: str
    n_evaluations: int
    estimate_vector: np.ndarray = field(repr=False, default=None)
    estimate_names: tuple = field(repr=False, default=())
    covariance: pd.DataFrame | None = field(repr=False, default=None)
    covariance_method: str = ""
    reported_covariance: pd.DataFrame | None = field(repr=False, default=None)
    diagnostics: pd.DataFrame | None = field(repr=False, default=None)
    shrinkage: dict = field(default_factory=dict)
    warnings: tuple = ()
    n_blq: int = 0
    elapsed: float = math.nan
    data: Any = field(repr=False, default=None)

    # -- derived -----------------------------------------------------------------------------------------
    @property
    def final_model(self):
        """The population model at the estimates (for simulation, VPCs and Bayesian forecasting)."""
        return self.popmodel.with_values(self.theta, self.omega, self.error)

    @property
    def omega_sd(self) -> dict:
        """Standard deviations of the random effects (~ CV of log-normal parameters)."""
        return {k: math.sqrt(self.omega.loc[k, k]) for k in self.omega.index}

    @property
    def ofv_with_constant(self) -> float:
        """-2 log-likelihood including ``n log 2 pi`` (n: quantified observations; M3 terms have no constant)."""
        return self.ofv + (self.n_obs - self.n_blq) * LOG_2PI

    @property
    def aic(self) -> float:
        return self.ofv_with_constant + 2 * len(self.estimate_names)

    @property
    def bic(self) -> float:
        return self.ofv_with_constant + math.log(self.n_obs) * len(self.estimate_names)

    @property
    def standard_errors(self) -> dict:
        """Standard errors of the estimated quantities on their estimation scale (``log_CL``,
        ``log_omega2_CL``, ``log_SD`` ...) from the covariance step."""
        if self.covariance is None:
            return {}
        return {k: float(math.sqrt(v)) if v > 0 else math.nan
                for k, v in zip(self.covariance.index, np.diag(self.covariance.to_numpy()))}

    @property
    def correlation(self) -> pd.DataFrame | None:
        """Correlation matrix of the estimates (estimation scale)."""
        if self.covariance is None:
            return None
        c = self.covariance.to_numpy()
        d = np.sqrt(np.clip(np.diag(c), 1e-300, None))
        return pd.DataFrame(c / np.outer(d, d), index=self.covariance.index, columns=self.covariance.columns)

    def table(self) -> pd.DataFrame:
        """The parameter table pharmacometricians expect.

        One row per reported quantity (typical values and covariate coefficients, Omega entries, error
        parameters): estimate, standard error and RSE %, a 95 % confidence interval computed on the
        estimation scale and back-transformed (Wald on log scale for positive quantities), the
        between-subject variability as CV % for log-normal random effects (``sqrt(exp(omega^2) - 1)``),
        the eta shrinkage, and whether the value was fixed. Residual error parameters (an SD, or a CV for
        proportional error) also get ``nonmem_sigma``, their square: NONMEM's SIGMA, the variance of EPS in
        ``Y = F + EPS(1)``, ``Y = F*(1 + EPS(1))``, the combined form whose variances add, and log-transform-both-sides.
        The combined form whose SDs add (``CombinedError(form="sd")``) has none (NaN): NONMEM codes it with
        ``SD`` and ``CV`` as THETAs and ``$SIGMA 1 FIX``.
        """
        se_int = self.standard_errors
        rep_se = ({} if self.reported_covariance is None else
                  {k: math.sqrt(max(v, 0.0)) for k, v in zip(self.reported_covariance.index,
                                                             np.diag(self.reported_covariance.to_numpy()))})
        pm = self.popmodel
        internal = dict(zip(self.estimate_names, self.estimate_vector)) if self.estimate_vector is not None else {}
        rows = []

        def ci(name_int, scale):
            if name_int not in internal or name_int not in se_int:
                return math.nan, math.nan
            x, s = internal[name_int], se_int[name_int]
            back = {"log": _exp, "logit": lambda v: 1 / (1 + _exp(-v)), "identity": float}[scale]
            return back(x - _Z95 * s), back(x + _Z95 * s)

        estimated = set(pm.estimated)
        for k, v in self.theta.items():
            scale = pm.transform_of(k)
            name_int = k if scale == "identity" else f"{scale}_{k}"
            lo, hi = ci(name_int, scale)
            s = rep_se.get(k, math.nan)
            rows.append({"parameter": k, "estimate": v, "std_error": s, "rse_percent": _rse(s, v),
                         "ci_lower": lo, "ci_upper": hi, "fixed": k not in estimated})
        for i, a in enumerate(self.omega.index):
            for b in self.omega.index[: i + 1]:
                v = float(self.omega.loc[a, b])
                if a != b and v == 0.0:
                    continue
                name = f"omega2_{a}" if a == b else f"omega_{a}_{b}"
                s = rep_se.get(name, math.nan)
                lo, hi = ci(f"log_omega2_{a}", "log") if a == b else (v - _Z95 * s, v + _Z95 * s)
                row = {"parameter": name, "estimate": v, "std_error": s, "rse_percent": _rse(s, v),
                       "ci_lower": lo, "ci_upper": hi, "fixed": False}
                if a == b:
                    lognormal = pm.individual is None and pm.transforms.get(pm.effect_parameter(a), "log") == "log"
                    row["bsv_cv_percent"] = 100 * math.sqrt(math.expm1(v)) if lognormal else 100 * math.sqrt(v)
                    row["shrinkage_percent"] = 100 * self.shrinkage.get(f"eta_{a}", math.nan)
                rows.append(row)
        for k, v in self.error.items():
            s = rep_se.get(f"sigma_{k}", math.nan)
            lo, hi = ci(f"log_{k}", "log")
            rows.append({"parameter": f"sigma_{k}", "estimate": v, "std_error": s, "rse_percent": _rse(s, v),
                         "ci_lower": lo, "ci_upper": hi,
                         "nonmem_sigma": v * v if _has_sigma(self._error_of(k)) else math.nan,
                         "fixed": f"log_{k}" not in self.estimate_names})
        columns = ["estimate", "std_error", "rse_percent", "ci_lower", "ci_upper", "bsv_cv_percent",
                   "shrinkage_percent", "nonmem_sigma", "fixed"]
        return pd.DataFrame(rows).set_index("parameter").reindex(columns=columns)

    def residual_error_table(self) -> pd.DataFrame:
        """The residual error both ways: as pkpd estimates it (an SD, or a CV for proportional error) and as
        NONMEM's SIGMA, the variance of EPS (``SD^2`` for ``Y = F + EPS(1)``, ``CV^2`` for
        ``Y = F*(1 + EPS(1))``; a combined error has one of each, their variances adding).

        One row per error parameter (``sigma_SD``, ``sigma_CV``; ``sigma_<output>.SD`` with an error per
        output): ``output``, ``error_model`` (additive, proportional, combined, ``combined (SDs add)`` or
        exponential), ``term`` (SD or CV), its ``estimate``, ``nonmem_sigma`` and ``sigma_is`` (``"SD^2"`` or
        ``"CV^2"``; for the combined form whose SDs add, ``W = THETA(a) + THETA(p)*F`` with ``$SIGMA 1 FIX``,
        no SIGMA and ``"THETA (SIGMA 1 FIX)"``). An exponential error's SD^2 is the SIGMA of
        ``Y = LOG(F) + EPS(1)``.
        """
        rows, by_output = [], {}
        for k in self.error:
            output, _, term = k.rpartition(".")
            by_output.setdefault(output, set()).add(term)
        for k, v in self.error.items():
            output, _, term = k.rpartition(".")
            terms = by_output[output]
            model = "combined" if {"SD", "CV"} <= terms else "proportional" if term == "CV" else "additive"
            error = self._error_of(k)
            if getattr(error, "log_scale", False):
                model = "exponential"
            sigma, sigma_is = float(v) ** 2, f"{term}^2"
            if not _has_sigma(error):
                model, sigma, sigma_is = "combined (SDs add)", math.nan, "THETA (SIGMA 1 FIX)"
            rows.append({"parameter": f"sigma_{k}", "output": output or None, "error_model": model, "term": term,
                         "estimate": float(v), "nonmem_sigma": sigma, "sigma_is": sigma_is})
        columns = ["output", "error_model", "term", "estimate", "nonmem_sigma", "sigma_is"]
        table = pd.DataFrame(rows, columns=["parameter", *columns]).set_index("parameter")
        return table if table["output"].notna().any() else table.drop(columns="output")

    def _error_of(self, name: str):
        """The residual error model an error parameter (``SD``, ``CM.CV``) belongs to, or None if unknown."""
        error = getattr(self.popmodel, "error", None)
        if isinstance(error, dict):
            error = error.get(name.rpartition(".")[0])
        return error

    def to_frame(self) -> pd.DataFrame:
        """The parameter table (same as :meth:`table`)."""
        return self.table()

    def report(self) -> str:
        """Plain-text report: method, OFV, the parameter table, shrinkage, the residual error with its NONMEM
        SIGMA (:meth:`residual_error_table`) and warnings."""
        head = [f"{self.method} on {len(self.etas)} subjects, {self.n_obs} observations"
                + (f" ({self.n_blq} BLQ, M3)" if self.n_blq else "")
                + f": OFV {self.ofv:.4f} (-2LL {self.ofv_with_constant:.4f}, AIC {self.aic:.2f}, BIC {self.bic:.2f})",
                f"outer optimiser: {self.message} ({self.n_evaluations} objective evaluations"
                + (f", {self.elapsed:.1f} s)" if math.isfinite(self.elapsed) else ")"),
                f"covariance step: {self.covariance_method or 'not run'}; "
                f"epsilon shrinkage {100 * self.shrinkage.get('epsilon', math.nan):.1f} %"]
        body = self.table().to_string(float_format=lambda v: f"{v:.6g}", na_rep="")
        errors = self.residual_error_table()
        sigma = ["", "residual error (estimate; NONMEM SIGMA = variance of EPS):",
                 errors.to_string(float_format=lambda v: f"{v:.6g}", na_rep="")] if len(errors) else []
        tail = [""] + [f"warning: {w}" for w in self.warnings] if self.warnings else []
        return "\n".join(head + ["", body] + sigma + tail)

    def __repr__(self) -> str:
        theta = ", ".join(f"{k}={v:.4g}" for k, v in self.theta.items())
        return (f"PopulationFitResult({self.method}: OFV {self.ofv:.4f}, {len(self.etas)} subjects, {self.n_obs} "
                f"observations, success={self.success}; theta: {theta}; {len(self.warnings)} warning(s))")

    def _repr_html_(self) -> str:
        warn = "".join(f"<li>{w}</li>" for w in self.warnings)
        return (f"<b>{self.method}</b>: OFV {self.ofv:.4f}, {len(self.etas)} subjects, {self.n_obs} observations"
                + self.table().to_html(float_format=lambda v: f"{v:.4g}", na_rep="")
                + ("<p>residual error (estimate; NONMEM SIGMA = variance of EPS)</p>"
                   + self.residual_error_table().to_html(float_format=lambda v: f"{v:.4g}", na_rep="")
                   if self.error else "")
                + (f"<ul>{warn}</ul>" if warn else ""))

    # -- persistence ---------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the result to a JSON file (estimates, tables, EBEs, diagnostics, warnings).

        The population model is stored declaratively (library model class, typical values, Omega, error,
        covariate effects; see :mod:`pkpd.population.spec`). A model that cannot be described so (composed
        or hand-written structure, an ``individual`` function) is not stored: a warning says so and
        :meth:`load` then gives ``popmodel`` None.
        """
        path = Path(path)
        out = {"format": _FORMAT, "version": _VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "popmodel":
                value = popmodel_to_spec(value)
                if value is None:
                    warnings.warn(f"{path.name}: the population model ({type(self.popmodel.model).__name__}) is not "
                                  "a library model and is not stored; the loaded result has popmodel None",
                                  UserWarning, stacklevel=2)
            elif f.name == "data" and value is not None:
                value = {"dataset": value.events.to_dict(orient="split")}
            elif isinstance(value, pd.DataFrame):
                value = {"frame": value.to_dict(orient="split")}
            elif isinstance(value, np.ndarray):
                value = {"array": value.tolist()}
            out[f.name] = value
        path.write_text(json.dumps(out, default=_jsonable))
        return path

    @classmethod
    def load(cls, path) -> "PopulationFitResult":
        """Read a result written by :meth:`save`.

        The file is data only: the model is rebuilt from an allow-list of library classes through the public
        constructors, and anything else in the file is refused with a :class:`~pkpd.DatasetError` that names
        the field (no code in a file is ever run).
        """
        path = Path(path)
        where = path.name
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise DatasetError(f"{where}: not a readable pkpd population fit ({type(err).__name__}: {err})") from None
        if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
            found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
            raise DatasetError(f"{where}: not a pkpd population fit file (format {found!r})")
        if raw.get("version") != _VERSION:
            raise DatasetError(f"{where}: population fit file version {raw.get('version')!r}; this pkpd reads "
                               f"version {_VERSION}")
        unknown = sorted(set(raw) - {"format", "version"} - {f.name for f in fields(cls)})
        if unknown:
            raise DatasetError(f"{where}: unknown field(s) {unknown} in a population fit file")
        values = {}
        for f in fields(cls):
            values[f.name] = _field_from_json(f.name, raw.get(f.name), where)
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise DatasetError(f"{where}: not a valid pkpd population fit ({err})") from None


def _has_sigma(error) -> bool:
    """Whether an error model's parameters are the SDs of NONMEM EPS (not so for SDs that add)."""
    return getattr(error, "form", "variance") != "sd"


def load_population_fit(path) -> PopulationFitResult:
    """Read a population fit written by :meth:`PopulationFitResult.save`."""
    return PopulationFitResult.load(path)


def _field_from_json(name: str, value, where: str):
    """One stored field as the value the result holds; only the declared shapes are accepted."""
    if name == "popmodel":
        return None if value is None else popmodel_from_spec(value, where)
    if name in ("theta", "error", "shrinkage"):
        if not isinstance(value, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in value.values()):
            raise DatasetError(f"{where}: field {name!r} must be a table of numbers")
        return {str(k): float(v) for k, v in value.items()}
    if isinstance(value, dict):
        kinds = {"frame", "dataset", "array"} & set(value)
        if len(value) != 1 or not kinds:
            raise DatasetError(f"{where}: field {name!r} holds a table with keys {sorted(value)[:5]}; expected "
                               "one of 'frame', 'dataset' or 'array'")
        try:
            if "frame" in value:
                return pd.DataFrame(**{k: value["frame"][k] for k in ("index", "columns", "data")})
            if "dataset" in value:
                from ..io import read_nonmem

                return read_nonmem(pd.DataFrame(**{k: value["dataset"][k] for k in ("index", "columns", "data")}))
            return np.asarray(value["array"], dtype=float)
        except (TypeError, KeyError, ValueError) as err:
            if isinstance(err, DatasetError):
                raise DatasetError(f"{where}: field {name!r}: {err}") from None
            raise DatasetError(f"{where}: field {name!r} is not a valid table ({type(err).__name__}: {err})") from None
    if name in ("warnings", "estimate_names"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DatasetError(f"{where}: field {name!r} must be a list of strings")
        return tuple(value)
    if value is not None and not isinstance(value, (str, int, float, bool, dict)):
        raise DatasetError(f"{where}: field {name!r} holds a {type(value).__name__}")
    return value


def _exp(value: float) -> float:
    """``exp`` that overflows to inf (the bound of a confidence interval with a huge standard error)."""
    return math.exp(value) if value < 709.0 else math.inf


def _rse(se, value):
    return 100 * se / abs(value) if value and math.isfinite(se) else math.nan


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a population fit file")
