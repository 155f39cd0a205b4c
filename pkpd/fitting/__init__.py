"""Fitting pkpd models to data: individual, naive-pooled and per-subject fits with lmfit (issue 5).

- :func:`make_params` -- lmfit parameters for a model (bounds, fixed, log scale, expressions);
- :func:`initial_estimates` -- start values: NCA, or a grid search when NCA cannot apply;
- :func:`fit_individual`, :func:`fit_pooled`, :func:`fit_each` -- -2 log-likelihood fits with a residual
  error model (default :func:`default_error`, additive) and BLQ handling (M3 likelihood, M1/M5/M7); problems
  are named warnings (``TOO_FEW_OBSERVATIONS``, ``RESIDUAL_ERROR_COLLAPSED``, ``POORLY_IDENTIFIED``, ...;
  :mod:`pkpd.fitting.fit`);
- :class:`FitResult` -- estimates, OFV/AIC/BIC, covariance, residuals, report, plot, profile CIs;
- error models :class:`AdditiveError`, :class:`ProportionalError`, :class:`CombinedError`,
  :class:`ExponentialError`.
"""

from ..errors import ConvergenceWarning
from .fit import BLQ_METHODS, default_error, fit_each, fit_individual, fit_pooled
from .initial import initial_estimates
from .params import make_params
from .residual import AdditiveError, CombinedError, ExponentialError, ProportionalError, ResidualError
from .result import FitResult

__all__ = ["make_params", "initial_estimates", "fit_individual", "fit_pooled", "fit_each", "default_error", "FitResult",
           "BLQ_METHODS",
           "ResidualError", "AdditiveError", "ProportionalError", "CombinedError", "ExponentialError",
           "ConvergenceWarning"]
