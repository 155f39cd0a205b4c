"""Population estimation (FO, FOCE, FOCE-I), its covariance step, diagnostics, and MAP estimates.

Outer step: L-BFGS-B on the estimated quantities (see :mod:`pkpd.estimation._parameters`), the EBEs
warm-started from the previous evaluation and, once per iteration, searched from zero too (each subject keeps the
lower inner objective); after convergence the search checks itself (a restart off a singular Omega block, else a
short Nelder-Mead polish: :mod:`pkpd.estimation._fit_search`), and the EBEs at the estimates are searched from
zero alone to detect subjects whose inner objective has several modes. Covariance step by central differences of
the objective: ``R`` (2 x inverse Hessian of the OFV), ``S`` (4 x inverse of the summed outer products of the
subjects' OFV gradients) or the sandwich ``R^-1 S R^-1`` (NONMEM's default).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd

from .._internal.numbers import check_number
from ..errors import ConvergenceWarning, DatasetError, ParameterError, SimulationError
from ..io import Dataset, as_dataset
from ..population import PopulationModel
from ._differences import hessian_from_values, hessian_points
from ._fit_search import search
from ._objective import Objective, PopData, check_method, natural_scale, variance
from ._parameters import Parameterisation
from ._subjects import skipped_message, usable_subjects
from .fit import CONDITION_LIMIT, CORRELATION_LIMIT, RSE_LIMIT, correlation_problems
from .population_result import PopulationFitResult

__all__ = ["fit_population", "population_ofv", "map_estimate", "COVARIANCE_METHODS"]

COVARIANCE_METHODS = ("sandwich", "R", "S")
#: OFV difference between EBEs searched from zero and the fit's above which the fit warns EBE_MULTIMODAL
MULTIMODAL_LIMIT = 0.1
#: condition number of Omega's correlation matrix above which Omega is reported singular (|corr| > 0.998)
OMEGA_CONDITION_LIMIT = 1e3
#: eta shrinkage above which EBE-based diagnostics are flagged (Savic & Karlsson 2009)
SHRINKAGE_LIMIT = 0.4
#: POORLY_IDENTIFIED, as in the individual fits (:mod:`pkpd.estimation.fit`): a positive reported quantity (typical
#: value on the log or logit scale, Omega variance, residual error) with an RSE above 100 %, two estimates with
#: |correlation| above 0.99, or a condition number of their correlation matrix above 1000
POORLY_IDENTIFIED_LIMITS = {"rse": RSE_LIMIT, "correlation": CORRELATION_LIMIT, "condition": CONDITION_LIMIT}


def population_ofv(popmodel: PopulationModel, data, *, method: str = "FOCEI", blq: str = "M3", lloq=None,
                   engine: str = "auto") -> float:
    """The objective (NONMEM convention, without ``n log 2 pi``) at the population model's current values.

    With an exponential error (log-transform both sides) it is NONMEM's objective for ``Y = LOG(F) + EPS(1)``
    on the logs of the observations, without the Jacobian of the log transform (NONMEM adds none); a
    :class:`DatasetError` names any quantified observation <= 0, or whose population prediction is <= 0
    (likelihood 0).

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1, "KA": 0.4},
    ...                           pkpd.AdditiveError(0.7))
    >>> round(pkpd.population_ofv(pm, pkpd.load_dataset("theophylline")), 3)
    136.806
    """
    obj = Objective(popmodel, PopData(popmodel, as_dataset(data), engine, blq, lloq), check_method(method))
    obj.check_positive_predictions(popmodel.theta_values, "population_ofv")
    return obj(popmodel.theta_values, popmodel.random_effect_matrix, popmodel.error_parameters)


def fit_population(popmodel: PopulationModel, data, *, method: str = "FOCEI", blq: str = "M3", lloq=None,
                   engine: str = "auto", bounds=None, covariance: bool | str = True, max_evaluations: int = 5000,
                   progress: bool | None = None) -> PopulationFitResult:
    """Estimate the fixed effects, Omega and the residual error of a population model.

    Parameters
    ----------
    popmodel : PopulationModel
        Structure and initial estimates.
    data : Dataset or DataFrame
        NONMEM-style records of all subjects; covariates are its non-canonical columns.
    method : {"FOCEI", "FOCE", "FO"}
        First-order conditional estimation with interaction (default), without, or first order.
    blq : {"M3", "M1"}
        Records below the limit of quantification (``BLQ`` = 1, or ``DV`` < ``LLOQ``): likelihood of being
        below the limit (M3, with the exact second derivative in the Laplace term; on the log scale,
        ``Phi((log LLOQ - log f) / SD)``, with an exponential error) or dropped (M1).
    lloq : float, optional
        Limit of quantification for records without an ``LLOQ`` column value.
    engine : {"auto", "analytic", "ode", "compiled"}
        How predictions are computed (``"compiled"``: the ODE engine compiled by numba, with DOP853 steps at a
        hundredth of the estimation's rtol: ``solver="dop853"``, :class:`~pkpd.engine.BatchPredictor`).
    bounds : mapping, optional
        ``name -> (lower, upper)`` for fixed effects, on their natural scale. Model parameter bounds apply too.
    covariance : bool or {"sandwich", "R", "S"}
        Run the covariance step (True = ``"sandwich"``, NONMEM's default) by central differences.
    max_evaluations : int
        Limit on objective evaluations of the outer optimiser.
    progress : bool, optional
        Show a progress bar (tqdm) with the best objective so far; default: when the output is a terminal
        or a notebook.

    Returns
    -------
    PopulationFitResult
        ``success`` False (with the optimiser's message and a warning) when the outer optimisation did not
        converge; ``warnings`` names every problem found: ``NOT_CONVERGED``, ``EBE_NOT_CONVERGED``,
        ``EBE_MULTIMODAL`` (at the estimates, EBEs searched from ``eta = 0`` alone give an OFV more than 0.1 higher
        than the fit's, searched from the previous EBEs and from zero: the subjects named have inner objectives
        with several modes), ``RESTART_IMPROVED`` (the check after convergence -- leaving a singular Omega block,
        or a short polish -- found a lower objective and the search continued from there; with the drop of the
        OFV), ``COVARIANCE_FAILED``, ``AT_BOUND``, ``OMEGA_NOT_POSITIVE_DEFINITE``, ``HIGH_SHRINKAGE``,
        ``POORLY_IDENTIFIED`` (after the covariance step: a typical value, Omega variance or residual error
        with an RSE above 100 %, two estimates correlated with ``|r| > 0.99``, or a condition number of the
        correlation matrix of the estimates above 1000 -- the rules of the individual fits) and
        ``SUBJECTS_SKIPPED`` (subjects without a dose record or without observations, left out by ID).

    Notes
    -----
    An exponential error (:class:`ExponentialError`) is log-transform-both-sides: give ``DV`` on the natural
    scale; the objective is NONMEM's for ``Y = LOG(F) + EPS(1)`` on ``LOG(DV)`` (no Jacobian of the transform,
    as NONMEM), so it is not comparable with the OFV of a natural-scale error model. A quantified observation
    <= 0, or one whose population prediction at the initial estimates is <= 0 (e.g. before absorption or a
    lag time), raises a :class:`DatasetError` naming the record; during the search, parameters that predict
    <= 0 at a quantified observation have an infinite objective and are avoided. The residuals of
    ``diagnostics`` (RES, WRES, IWRES, CWRES) are then on the log scale; DV, PRED and IPRED stay natural.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> weight = [pkpd.power(p, "WT", reference=70, exponent=1, fixed=True) for p in ("CL", "V")]
    >>> pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
    ...                           pkpd.AdditiveError(0.7), weight)
    >>> fit = pkpd.fit_population(pm, pkpd.load_dataset("theophylline"), covariance=False, progress=False)
    >>> fit.success, round(fit.theta["CL"], 2), round(fit.omega_sd["KA"], 2)   # L/h at 70 kg
    (True, 2.86, 0.69)
    """
    started = time.perf_counter()
    method = check_method(method)
    cov_method = _check_covariance(covariance)
    data, skipped = usable_subjects(_with_lloq(as_dataset(data), lloq))
    skip_note = skipped_message(skipped)
    if not len(data):
        raise DatasetError(f"fit_population: no subject can be fitted: {skip_note}")
    pdata = PopData(popmodel, data, engine, blq, None)
    objective = Objective(popmodel, pdata, method)
    objective.check_positive_predictions(popmodel.theta_values, "fit_population")
    par = Parameterisation(popmodel)
    box = _bounds(popmodel, par, bounds)
    count, best = [0], [math.inf]
    bar = _progress_bar(progress, method)

    def fun(x):
        count[0] += 1
        try:
            value = objective(*par.unpack(x))
        except (SimulationError, ValueError, ArithmeticError, np.linalg.LinAlgError):
            value = math.inf
        if value < best[0]:
            best[0] = value
        if bar is not None:
            bar.update(1)
            bar.set_postfix(OFV=f"{best[0]:.4f}", refresh=False)
        return value if math.isfinite(value) else 1e300

    x0 = np.clip(par.x0, box[:, 0], box[:, 1])
    try:
        opt, restarts = search(fun, x0, box, par, objective, max_evaluations)
    finally:
        if bar is not None:
            bar.close()
    theta, omega, sigma = par.unpack(opt.x)
    objective.multistart = True
    contributions = objective.per_subject(theta, omega, sigma)
    ofv = float(np.sum(contributions))
    eta_hat = objective.eta.copy()
    ebe_converged = objective.converged
    multimodal = _multimodal_issue(objective, theta, omega, sigma, contributions)
    issues = ([skip_note] if skip_note else []) + restarts + ([multimodal] if multimodal else [])
    if not ebe_converged:
        issues.append("EBE_NOT_CONVERGED: the EBE search did not converge for every subject at the estimates")
    if not opt.success:
        issues.append(f"NOT_CONVERGED: the outer optimisation did not converge: {opt.message}")
    cov = None
    if cov_method and _omega_singularity(par, omega):
        # the estimates lie on the boundary of the parameter space (a correlation of +-1), where the asymptotic
        # covariance of the estimates is undefined; NONMEM's R matrix is then algorithmically singular too. The
        # finite-difference Hessian there may or may not invert depending on rounding: decide by the rule.
        issues.append(f"COVARIANCE_FAILED: covariance step ({cov_method}) not run: Omega is singular at the "
                      "estimates (on the boundary of the parameter space), so the estimates have no asymptotic "
                      "covariance")
    elif cov_method:
        cov, problem = _covariance_step(objective, par, opt.x, cov_method)
        objective.eta = eta_hat
        if problem:
            issues.append(f"COVARIANCE_FAILED: covariance step ({cov_method}) failed: {problem}")
    diagnostics, shrinkage, ebes = diagnose(objective, theta, omega, sigma, method)
    issues += _boundary_issues(par, opt.x, box, omega) + _shrinkage_issues(popmodel, shrinkage)
    reported = None
    if cov is not None:
        rep_names = par.reported_names()
        reported = pd.DataFrame(par.reported_covariance(opt.x, cov.to_numpy()), index=rep_names, columns=rep_names)
        poorly = _identifiability_issue(popmodel, par, opt.x, cov, reported)
        if poorly:
            issues.append(poorly)
    for text in issues:
        warnings.warn(f"fit_population: {text}", ConvergenceWarning, stacklevel=2)
    eta_frame = pd.DataFrame(ebes, columns=[f"ETA_{k}" for k in popmodel.subject_effect_names(pdata.design)])
    eta_frame.insert(0, "ID", pdata.ids)
    effects = list(popmodel.random_effect_names)
    return PopulationFitResult(
        popmodel=popmodel, method=method, theta={k: float(theta[k]) for k in popmodel.theta_names},
        omega=pd.DataFrame(omega, index=effects, columns=effects),
        error={k: float(v) for k, v in sigma.items()}, ofv=float(ofv), etas=eta_frame, n_obs=len(pdata.y),
        success=bool(opt.success), message=str(opt.message), n_evaluations=count[0],
        estimate_vector=np.asarray(opt.x, dtype=float), estimate_names=tuple(par.names), covariance=cov,
        covariance_method=cov_method, reported_covariance=reported, diagnostics=diagnostics, shrinkage=shrinkage,
        warnings=tuple(issues), n_blq=int(pdata.blq.sum()), elapsed=time.perf_counter() - started, data=data)


def _multimodal_issue(objective, theta, omega, sigma, contributions) -> str:
    """``EBE_MULTIMODAL: ...`` when the OFV with EBEs searched from ``eta = 0`` only exceeds the fit's (searched
    from the previous EBEs and from zero) by more than :data:`MULTIMODAL_LIMIT`, naming the subjects; else ''."""
    try:
        gap = objective.per_subject_from_zero(theta, omega, sigma) - contributions
    except (SimulationError, ValueError, ArithmeticError, np.linalg.LinAlgError):
        return ""
    gap = np.where(np.isnan(gap), 0.0, gap)
    total = float(np.sum(gap))
    if not total > MULTIMODAL_LIMIT:
        return ""
    worse = np.flatnonzero(gap > MULTIMODAL_LIMIT / 10)
    names = ", ".join(f"{objective.d.ids[i]} (+{gap[i]:.3g})" for i in worse[np.argsort(-gap[worse])])
    return (f"EBE_MULTIMODAL: at the estimates, EBEs searched from eta = 0 give an OFV {total:.4g} higher than the "
            f"fit's (searched from the previous EBEs and from zero): the inner objective of subject(s) {names} has "
            "more than one mode; the fit keeps the lower one, a fit that starts its EBE searches from zero (as NONMEM "
            "does by default) may not")


def _with_lloq(data, lloq):
    """The dataset with ``lloq`` filled into its LLOQ column where it has none (kept with the fit): the same
    validated records and source lines, one column more, so nothing is read again."""
    if lloq is None:
        return data
    lloq = check_number("fit_population", "lloq", lloq, error=ParameterError, positive=True)
    events = data.events
    filled = events["LLOQ"].fillna(lloq) if "LLOQ" in events else lloq
    return Dataset(events.assign(LLOQ=filled), data.source_lines, data.source)


def _check_covariance(covariance):
    if covariance is False or covariance is None:
        return ""
    if covariance is True:
        return "sandwich"
    if covariance not in COVARIANCE_METHODS:
        raise ParameterError(f"covariance must be True, False or one of {COVARIANCE_METHODS}, got {covariance!r}")
    return covariance


def _progress_bar(progress, method):
    if progress is False:
        return None
    from tqdm.auto import tqdm

    # disable=None: tqdm shows the bar only on a terminal (or in a notebook)
    return tqdm(desc=f"{method} objective evaluations", unit=" eval", leave=False,
                disable=None if progress is None else False)


def _bounds(popmodel, par, bounds):
    """Box (internal scale) for L-BFGS-B: user bounds and model parameter bounds on fixed effects."""
    bounds = dict(bounds or {})
    unknown = sorted(set(bounds) - set(par.free))
    if unknown:
        raise ParameterError(f"bounds name {unknown}, which are not estimated fixed effects {par.free}")
    model_bounds = {p.name: (p.lower, p.upper) for p in popmodel.model.parameters} if popmodel.individual is None else {}
    box = np.tile([-np.inf, np.inf], (len(par.names), 1))
    for i, name in enumerate(par.free):
        lo, hi = model_bounds.get(name, (-np.inf, np.inf))
        if name in bounds:
            lo, hi = max(lo, bounds[name][0]), min(hi, bounds[name][1])
        if not lo < hi:
            raise ParameterError(f"bounds of {name}: lower {lo} must be below upper {hi}")
        value = popmodel.theta_values[name]
        if not lo <= value <= hi:
            raise ParameterError(f"the initial value of {name}, {value}, is outside its bounds [{lo}, {hi}]")
        scale = popmodel.transform_of(name)
        with np.errstate(divide="ignore"):
            box[i] = [popmodel.to_internal(name, lo) if (scale == "identity" or lo > 0) else -np.inf,
                      popmodel.to_internal(name, hi) if (scale != "logit" or hi < 1) else np.inf]
    return box


def _boundary_issues(par, x, box, omega):
    out = []
    for i, name in enumerate(par.free):
        for side, edge in (("lower", box[i, 0]), ("upper", box[i, 1])):
            if math.isfinite(edge) and abs(x[i] - edge) <= 1e-6 * max(1.0, abs(edge)):
                out.append(f"AT_BOUND: {name} = {par.pm.from_internal(name, edge):.6g} is at its {side} bound")
    variances = np.diag(omega)
    for name, v in zip(par.eta, variances):
        if v < 1e-6:
            out.append(f"AT_BOUND: omega2_{name} = {v:.3g} is at its lower bound (0): the data do not support this "
                       "random effect; remove it or fix it")
    singular = _omega_singularity(par, omega)
    if singular:
        out.append(f"OMEGA_NOT_POSITIVE_DEFINITE: Omega is singular to working precision at the estimates "
                   f"({singular}): simplify the block or remove a random effect")
    return out


def _identifiability_issue(popmodel, par, x, cov, reported) -> str:
    """``POORLY_IDENTIFIED: ...`` (limits :data:`POORLY_IDENTIFIED_LIMITS`), or '' when every estimate is
    determined. The RSE is that of the reported quantity (the table's ``rse_percent``), for the positive ones
    only (an RSE means nothing for a quantity that can be 0 or negative: covariate coefficients on the identity
    scale, covariances); correlations are those of the estimates on the estimation scale."""
    parts = []
    values = dict(zip(par.reported_names(), par.reported(x)))
    variances = dict(zip(reported.index, np.diag(reported.to_numpy())))
    for name, value in values.items():
        positive = (name.startswith(("omega2_", "sigma_"))
                    or (name in popmodel.theta_names and popmodel.transform_of(name) in ("log", "logit")))
        var = variances.get(name, math.nan)
        if positive and value > 0 and var >= 0 and math.sqrt(var) / value > RSE_LIMIT:
            parts.append(f"RSE of {name} {100 * math.sqrt(var) / value:.0f} % (> {100 * RSE_LIMIT:.0f} %)")
    parts += correlation_problems(list(cov.index), cov.to_numpy())
    if not parts:
        return ""
    return ("POORLY_IDENTIFIED: " + "; ".join(parts) + ": the data barely determine these estimates (fix, remove or "
            "reparameterise them, or add data)")


def _omega_singularity(par, omega) -> str:
    """A description of why Omega's correlation matrix is singular to working precision, or ''."""
    sd = np.sqrt(np.diag(omega))
    if len(sd) < 2 or np.any(sd <= 0):
        return ""
    corr = omega / np.outer(sd, sd)
    condition = np.linalg.cond(corr)
    if condition <= OMEGA_CONDITION_LIMIT:
        return ""
    off = np.abs(corr - np.eye(len(sd)))
    i, j = np.unravel_index(np.argmax(off), corr.shape)
    return (f"condition number of its correlation matrix {condition:.3g}; correlation of {par.eta[i]} and "
            f"{par.eta[j]} {corr[i, j]:.4f}")


def _shrinkage_issues(popmodel, shrinkage):
    return [f"HIGH_SHRINKAGE: eta shrinkage of {k} is {100 * shrinkage[f'eta_{k}']:.0f} % (> "
            f"{100 * SHRINKAGE_LIMIT:.0f} %): its EBEs and EBE-based diagnostics are unreliable"
            for k in popmodel.random_effect_names if shrinkage[f"eta_{k}"] > SHRINKAGE_LIMIT]


def _covariance_step(objective, par, x, cov_method):
    """Covariance of the estimates from the Hessian (R) and the subjects' gradients (S) of the OFV."""
    h = 1e-3 * np.maximum(np.abs(x), 0.1)
    saved = objective.eta.copy()
    values = []
    for point in hessian_points(x, h):
        objective.eta = saved.copy()
        try:
            values.append(objective.per_subject(*par.unpack(point)))
        except (SimulationError, ValueError, ArithmeticError, np.linalg.LinAlgError):
            values.append(np.full(objective.d.n, np.nan))
    values = np.asarray(values)
    if not np.all(np.isfinite(values)):
        return None, "the objective is not finite around the estimates"
    hess = hessian_from_values(values.sum(axis=1), h)
    p = len(x)
    grads = np.stack([(values[1 + 2 * k] - values[2 + 2 * k]) / (2 * h[k]) for k in range(p)], axis=1)
    s_matrix = grads.T @ grads
    try:
        if cov_method == "R":
            cov = 2.0 * np.linalg.inv(hess)
        elif cov_method == "S":
            cov = 4.0 * np.linalg.inv(s_matrix)
        else:
            r_inv = np.linalg.inv(hess)
            cov = r_inv @ s_matrix @ r_inv
    except np.linalg.LinAlgError:
        return None, f"the {'S' if cov_method == 'S' else 'R'} matrix is singular"
    if cov_method != "S" and np.linalg.eigvalsh(hess).min() <= 0:
        return None, "the R matrix (Hessian of the OFV) is not positive definite: the estimates are not a minimum"
    if not np.all(np.linalg.eigvalsh((cov + cov.T) / 2) > 0):
        return None, "the covariance matrix is not positive definite"
    return pd.DataFrame((cov + cov.T) / 2, index=par.names, columns=par.names), ""


def diagnose(objective, theta, omega, sigma, method: str):
    """PRED, IPRED, RES, WRES (FO), IWRES and CWRES (FOCE linearisation, Hooker 2007) aligned with the
    observations (NaN residuals for BLQ records); eta shrinkage ``1 - SD(EBE) / omega`` (of an IOV effect: over
    the occasions in which each subject has records) and epsilon shrinkage ``1 - SD(IWRES)``. The residuals are on the error's scale (log for an exponential error, as NONMEM's on
    ``LOG(DV)``); DV, PRED and IPRED on the natural scale.

    ``method`` is the fit's ("FO", "FOCE" or "FOCEI"). The EBEs are searched on a copy of ``objective``
    (:meth:`~pkpd.estimation._objective.Objective.with_method`), warm-started from its EBEs; ``objective`` itself
    is not changed. Returns ``(frame, shrinkage, ebes)``, ``ebes`` of shape (subjects, etas).
    """
    d, pm = objective.d, objective.pm
    # after an FO fit (no EBEs in its objective) IPRED and CWRES need EBEs: searched as FOCE-I does
    searcher = objective.with_method("FOCEI" if check_method(method) == "FO" else method)
    model_omega, omega = omega, objective.subject_omega(omega)
    eta, f, g, _, _ = searcher.ebe(theta, omega, sigma)
    zero = np.zeros_like(eta)
    pred, g0, _ = objective.f_and_g(theta, zero)
    v = variance(d.error, f, sigma)
    v0 = variance(d.error, pred, sigma)
    iwres = (d.y - f) / np.sqrt(v)
    cwres, wres = np.full_like(f, np.nan), np.full_like(f, np.nan)
    for rows in objective.subject_rows:
        # decorrelated over the records with a prediction (log scale: not those predicted <= 0)
        at, at0 = rows[np.isfinite(f[rows])], rows[np.isfinite(pred[rows])]
        if len(at):
            gi = g[at]
            cov = gi @ omega @ gi.T + np.diag(v[at])
            mean = f[at] - gi @ eta[d.subject[rows[0]]]
            cwres[at] = np.linalg.solve(np.linalg.cholesky(cov), d.y[at] - mean)
        if len(at0):
            g0i = g0[at0]
            cov0 = g0i @ omega @ g0i.T + np.diag(v0[at0])
            wres[at0] = np.linalg.solve(np.linalg.cholesky(cov0), d.y[at0] - pred[at0])
    blq = d.blq
    for arr in (iwres, cwres, wres):
        arr[blq] = np.nan
    frame = d.events.iloc[d.rows][["ID", "TIME"]].reset_index(drop=True).assign(
        DV=d.dv, BLQ=blq.astype(int), PRED=natural_scale(pred, d.log), IPRED=natural_scale(f, d.log),
        RES=np.where(blq, np.nan, d.y - pred), WRES=wres, IWRES=iwres, CWRES=cwres)
    shrink = {f"eta_{k}": _shrinkage(ebe, model_omega[j, j])
              for j, (k, ebe) in enumerate(zip(pm.random_effect_names, _ebes_by_effect(pm, d.design, eta)))}
    shrink["epsilon"] = float(1 - np.nanstd(iwres, ddof=1))
    return frame, shrink, eta


def _ebes_by_effect(pm, design, eta) -> list[np.ndarray]:
    """The EBEs of each random effect of :attr:`~pkpd.PopulationModel.random_effect_names`: an eta's over the
    subjects; an IOV effect's over the occasions in which each subject has records."""
    q = len(pm.eta_names)
    out = [eta[:, j] for j in range(q)]
    if pm.iov is not None and design.occasions:
        m = len(pm.iov.names)
        kappa = eta[:, q:].reshape(len(eta), len(design.occasions), m)
        present = design.present(len(eta))
        out += [kappa[:, :, j][present] for j in range(m)]
    elif pm.iov is not None:
        out += [np.zeros(0)] * len(pm.iov.names)
    return out


def _shrinkage(ebes, variance) -> float:
    if len(ebes) < 2:
        return math.nan
    return float(1 - np.std(ebes, ddof=1) / math.sqrt(variance))


def map_estimate(model, patient_data, *, blq: str = "M3", lloq=None, engine: str = "auto") -> pd.DataFrame:
    """Bayesian (MAP) individual estimates for one or more patients: Bayesian forecasting.

    Each patient's EBE (the minimiser of the individual objective with the population prior), its
    approximate standard errors (inverse of the first-order Hessian of ``O_i / 2``), and the individual
    model parameters.

    Parameters
    ----------
    model : PopulationModel or PopulationFitResult
        The prior: a population model's values, or a fit's estimates.
    patient_data : Dataset or DataFrame
        The patients' doses and levels (NONMEM-style, with the covariates the model reads).

    Returns
    -------
    DataFrame
        One row per patient: ``ID``, ``ETA_<name>``, ``SE_ETA_<name>`` and the model parameters. With
        between-occasion variability, also the IOV effects of each occasion in the data (``ETA_IOV_CL[2]``);
        the model parameters are then those between occasions (IOV effects 0), the ones to forecast a new
        occasion with.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1, "KA": 0.4},
    ...                           pkpd.AdditiveError(0.7))
    >>> patient = pkpd.load_dataset("theophylline").subject(1)           # 79.6 kg, 4.02 mg/kg
    >>> est = pkpd.map_estimate(pm, patient)
    >>> est[["ID", "CL", "V", "KA"]].round(3)          # V has no random effect: the typical value
       ID     CL     V     KA
    0   1  1.512  32.0  2.016
    """
    popmodel = getattr(model, "final_model", model)
    if not isinstance(popmodel, PopulationModel):
        raise ParameterError(f"map_estimate needs a PopulationModel or a population fit, not {type(model).__name__}")
    d = PopData(popmodel, as_dataset(patient_data), engine, blq, lloq)
    obj = Objective(popmodel, d, "FOCEI")
    obj.check_positive_predictions(popmodel.theta_values, "map_estimate")
    omega = obj.subject_omega(popmodel.random_effect_matrix)
    sigma = popmodel.error_parameters
    theta = popmodel.theta_values
    eta, f, g, _, _ = obj.ebe(theta, omega, sigma)
    if not obj.converged:
        warnings.warn("map_estimate: the MAP search did not converge for every patient", ConvergenceWarning,
                      stacklevel=2)
    se = np.sqrt(np.diagonal(np.linalg.inv(obj.first_order_hessian(f, g, omega, sigma)), axis1=1, axis2=2))
    out = pd.DataFrame({"ID": d.ids})
    for j, k in enumerate(popmodel.subject_effect_names(d.design)):
        out[f"ETA_{k}"] = eta[:, j]
        out[f"SE_ETA_{k}"] = se[:, j]
    for k, val in popmodel.parameters_for(theta, eta[:, :len(popmodel.eta_names)], d.covariates).items():
        out[k] = np.broadcast_to(np.asarray(val, dtype=float), (d.n,))
    return out
