"""Population (NLME) modelling: models with random effects and covariates, FOCE-I estimation, Bayesian
forecasting.

- :class:`PopulationModel` -- structural model, typical values ``theta``, ``omega`` (random effects, diagonal
  or block), covariate effects (:func:`power`, :func:`exponential`, :func:`linear`, :func:`categorical`) and a
  residual error model; ``simulate`` draws subjects from it;
- :func:`fit_population` -- FOCE-I / FOCE / FO estimation with batched EBEs, covariance step and diagnostics,
  returning a :class:`PopulationFitResult`;
- :func:`map_estimate` -- MAP (Bayesian) individual estimates for new patients;
- :func:`npde` -- normalised prediction distribution errors; :func:`vpc` -- visual predictive checks
  (:class:`VPCResult`).
"""

from .covariates import CovariateEffect, categorical, exponential, linear, power
from .estimation import fit_population, map_estimate, population_ofv
from .model import PopulationModel
from .npde import npde
from .result import PopulationFitResult, load_population_fit
from .vpc import VPCResult, vpc

__all__ = ["PopulationModel", "fit_population", "population_ofv", "map_estimate", "PopulationFitResult",
           "load_population_fit", "CovariateEffect", "power", "exponential", "linear", "categorical", "npde", "vpc",
           "VPCResult"]
