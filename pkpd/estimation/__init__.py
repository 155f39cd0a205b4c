"""Estimation: fitting models to data, and what is computed from a fit.

Individual fits (lmfit):

- :func:`fit_individual`, :func:`fit_pooled`, :func:`fit_each` -- -2 log-likelihood fits with a residual
  error model (default :func:`default_error`, additive) and BLQ handling (M3 likelihood, M1/M5/M7); problems
  are named warnings (``TOO_FEW_OBSERVATIONS``, ``RESIDUAL_ERROR_COLLAPSED``, ``POORLY_IDENTIFIED``, ...;
  :mod:`pkpd.estimation.fit`);
- :func:`make_params` -- lmfit parameters for a model (bounds, fixed, log scale, expressions);
- :func:`initial_estimates` -- start values: NCA, or a grid search when NCA cannot apply;
- :class:`FitResult` -- estimates, OFV/AIC/BIC, covariance, residuals, report, plot, profile CIs;
- error models :class:`AdditiveError`, :class:`ProportionalError`, :class:`CombinedError` (variances or standard
  deviations add), :class:`ExponentialError` (log-transform both sides) (defined in
  :mod:`pkpd.population.residual`; individual and population fits take all of them).

Population (NLME) estimation of a :class:`~pkpd.PopulationModel`:

- :func:`fit_population` -- FOCE-I / FOCE / FO with batched EBEs, covariance step and diagnostics, returning a
  :class:`PopulationFitResult` (:func:`load_population_fit` reads a saved one);
- :func:`map_estimate` -- MAP (Bayesian) individual estimates for new patients; :func:`population_ofv`;
- :func:`npde` -- normalised prediction distribution errors; :func:`vpc` -- visual predictive checks
  (:class:`VPCResult`).

From data or a model alone: :func:`nca` (non-compartmental analysis), :func:`optimize_dose` (dose individualisation
to a :class:`Target`).
"""

from ..errors import ConvergenceWarning
from ..models.params import make_params
from ..population.residual import AdditiveError, CombinedError, ExponentialError, ProportionalError, ResidualError
from .dose_optimization import DoseRecommendation, Target, optimize_dose
from .fit import BLQ_METHODS, default_error, fit_each, fit_individual, fit_pooled
from .fit_result import FitResult
from .initial import initial_estimates
from .nca import nca
from .npde import npde
from .population_fit import fit_population, map_estimate, population_ofv
from .population_result import PopulationFitResult, load_population_fit
from ._subjects import usable_subjects
from .vpc import VPCResult, vpc

__all__ = ["make_params", "initial_estimates", "fit_individual", "fit_pooled", "fit_each", "default_error", "FitResult",
           "BLQ_METHODS",
           "ResidualError", "AdditiveError", "ProportionalError", "CombinedError", "ExponentialError",
           "ConvergenceWarning",
           "fit_population", "population_ofv", "map_estimate", "PopulationFitResult", "load_population_fit", "npde",
           "vpc", "VPCResult", "nca", "optimize_dose", "Target", "DoseRecommendation", "usable_subjects"]
