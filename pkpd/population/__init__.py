"""Population (NLME) estimation: FOCE-I (issue 6; first part -- more to come).

- :class:`PopulationModel` -- a structural pkpd model, typical values ``theta``, diagonal ``omega`` (variances
  of the random effects), a residual error model, and the mapping ``individual(theta, eta) -> parameters``
  (NONMEM's $PK block, vectorised over subjects);
- :func:`fit_population` -- FOCE-I / FOCE estimation with batched inner (EBE) steps.
"""

from .foce import PopulationFitResult, PopulationModel, fit_population, map_estimate, population_ofv

__all__ = ["PopulationModel", "fit_population", "population_ofv", "map_estimate", "PopulationFitResult"]
