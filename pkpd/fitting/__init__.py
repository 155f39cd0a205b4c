"""Fitting pkpd models to data: individual, naive-pooled and per-subject fits with lmfit (issue 5).

- :func:`make_params` -- lmfit parameters for a model (bounds, fixed, log scale, expressions);
- :func:`fit_individual`, :func:`fit_pooled`, :func:`fit_each` -- -2 log-likelihood fits with a residual
  error model and BLQ handling (M3 likelihood, M1/M5/M7);
- :class:`FitResult` -- estimates, OFV/AIC/BIC, covariance, residuals, report, plot, profile CIs;
- error models :class:`AdditiveError`, :class:`ProportionalError`, :class:`CombinedError`,
  :class:`ExponentialError`.
"""

from ..errors import ConvergenceWarning
from .fit import BLQ_METHODS, fit_each, fit_individual, fit_pooled
from .initial import initial_estimates
from .params import make_params
from .residual import AdditiveError, CombinedError, ExponentialError, ProportionalError, ResidualError
from .result import FitResult

__all__ = ["make_params", "initial_estimates", "fit_individual", "fit_pooled", "fit_each", "FitResult", "BLQ_METHODS",
           "ResidualError", "AdditiveError", "ProportionalError", "CombinedError", "ExponentialError",
           "ConvergenceWarning"]
