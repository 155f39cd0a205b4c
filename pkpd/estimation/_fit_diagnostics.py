"""The named warnings of the individual fits (:mod:`pkpd.estimation.fit`): their names, limits and rules, and
the text of each message (``NOT_CONVERGED``, ``COVARIANCE_FAILED``, ``AT_BOUND``, ``TOO_FEW_OBSERVATIONS``,
``RESIDUAL_ERROR_COLLAPSED``, ``POORLY_IDENTIFIED``, ``PREDOSE_EXCLUDED``). :func:`correlation_problems` and the
limits are shared with the population estimation.
"""

from __future__ import annotations

import math

import numpy as np

from ..models.params import LOG_PREFIX, pkpd_name

__all__ = ["FAILURES", "NOTES", "RSE_LIMIT", "CORRELATION_LIMIT", "CONDITION_LIMIT", "COLLAPSE_LIMIT",
           "correlation_problems"]


#: relative distance to a bound below which an estimate is reported as "at a bound"
_AT_BOUND = 1e-6
#: named warnings that make ``success`` False (docstring of :mod:`pkpd.estimation.fit`)
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


def _named_problems(problem, error, out, f, theta, issues=()) -> list[str]:
    """``issues`` (found before the optimiser ran), then the named problems of its result ``out`` (an lmfit
    result; ``f`` and ``theta`` the predictions and residual error values at its estimates): NOT_CONVERGED,
    COVARIANCE_FAILED, AT_BOUND, RESIDUAL_ERROR_COLLAPSED and POORLY_IDENTIFIED, in this order."""
    params = out.params
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
    return reasons


def _too_few_message(n, varied, error) -> str:
    names = ", ".join(pkpd_name(v[len(LOG_PREFIX):] if v.startswith(LOG_PREFIX) else v) for v in varied)
    k = len(varied)
    values = ", ".join(f"{a} = {b:g}" for a, b in error.parameters.items())
    held = ("" if error.fixed else
            f"; the residual error was held at its start value ({values}) and only the model parameters were fitted")
    return (f"TOO_FEW_OBSERVATIONS: {n} observation{'s' if n != 1 else ''} for {k} estimated parameters ({names}): "
            f"at least {k + 1} are needed to estimate them and judge the fit{held}")


def _predose_note(problem, drop, error) -> str:
    frame = problem.frame[drop]
    shown = ", ".join(f"ID {i} TIME {t:g} (DV {y:g})" for i, t, y in
                      zip(frame["ID"], frame["TIME"], problem.y[drop]))
    k = int(drop.sum())
    return (f"PREDOSE_EXCLUDED: {k} observation{'s' if k > 1 else ''} at or before the first dose, where the model "
            f"predicts 0, left out of the likelihood: {shown}; under {type(error).__name__} the SD is 0 there, "
            "so a non-zero value has likelihood 0 (AdditiveError or CombinedError keep them)")


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
    """POORLY_IDENTIFIED: the parameters with an RSE above 100 % and near-singular correlations (docstring of
    :mod:`pkpd.estimation.fit`); '' when there is none."""
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
