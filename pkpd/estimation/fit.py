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

The code: this module sets up and runs the fits; the set-up (start values, pre-dose records) is in
``_fit_setup``, the optimiser and the result in ``_fit_optimiser``, the named warnings' rules in ``_fit_diagnostics``.

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
import warnings
from collections.abc import Mapping

from ..errors import ConvergenceWarning, DatasetError, ParameterError
from ..io import as_dataset
from ._observations import BLQ_METHODS
from ._subjects import skipped_message, subject_problem, usable_subjects
from ..models.params import add_error_params
from ..population.residual import AdditiveError, ResidualError
from .fit_result import FitResult
from ._fit_diagnostics import (CONDITION_LIMIT, COLLAPSE_LIMIT, CORRELATION_LIMIT, FAILURES, NOTES, RSE_LIMIT,
                               _predose_note, _too_few_message, correlation_problems)
from ._fit_optimiser import _Problem, _fit_least_squares, _fit_likelihood, _least_squares_ok
from ._fit_setup import _check_log_scale, _default_max_nfev, _predose_records, _start_params, _with_fixed_error

__all__ = ["fit_individual", "fit_pooled", "fit_each", "default_error", "correlation_problems", "BLQ_METHODS",
           "FAILURES", "NOTES",
           "RSE_LIMIT", "CORRELATION_LIMIT", "CONDITION_LIMIT", "COLLAPSE_LIMIT"]


def default_error() -> ResidualError:
    """The residual error model of a fit given none: ``AdditiveError()`` (SD estimated, started at 1).

    The same default as ``pkpd fit`` (``--error additive``); why additive: module docstring.

    >>> default_error()
    AdditiveError(fixed=False, sd=1.0)
    """
    return AdditiveError()


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
    engine : {"auto", "analytic", "ode", "compiled"}
        How predictions are computed (:func:`pkpd.simulate`); ``"compiled"``: the ODE engine's compiled kernel
        with DOP853 steps (``solver="dop853"`` at a hundredth of the fit's rtol, :class:`~pkpd.engine.BatchPredictor`).
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
