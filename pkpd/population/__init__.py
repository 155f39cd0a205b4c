"""Populations: models with random effects and covariates, and the virtual subjects drawn from them.

- :class:`PopulationModel` -- structural model, typical values ``theta``, ``omega`` (random effects, diagonal
  or block), covariate effects (:func:`power`, :func:`exponential`, :func:`linear`, :func:`categorical`, :func:`indicator`;
  a covariate may be an expression such as ``"WT/70"`` or ``"APGR < 5"``) and a
  residual error model (:mod:`pkpd.population.residual`), and between-occasion variability (:class:`IOV`);
  ``simulate`` draws subjects from it;
- :class:`Population` -- virtual patients with demographics and genotypes (:mod:`pkpd.population.virtual`);
- :mod:`pkpd.population.synthetic` -- synthetic cohorts with known truth for fitting exercises.

Estimating a population model (FOCE-I, MAP, NPDE, VPC) is in :mod:`pkpd.estimation`; its functions are still
reachable here under their old names (``pkpd.population.fit_population`` ...).
"""

import importlib

from .covariates import CovariateEffect, categorical, exponential, indicator, linear, power
from .model import PopulationModel
from .occasions import IOV
from .residual import AdditiveError, CombinedError, ExponentialError, ProportionalError, ResidualError
from .virtual import Population

__all__ = ["PopulationModel", "IOV", "CovariateEffect", "power", "exponential", "linear", "categorical", "indicator", "Population",
           "ResidualError", "AdditiveError", "ProportionalError", "CombinedError", "ExponentialError"]

# Names that lived here before estimation became its own layer. Estimation sits above this package, so they are
# looked up by name on first use rather than imported (an import would make the layers circular).
_IN_ESTIMATION = {"fit_population", "population_ofv", "map_estimate", "PopulationFitResult", "load_population_fit",
                  "npde", "vpc", "VPCResult"}


#: public submodules not imported above, imported on first use as attributes (``pkpd.population.synthetic.cohort``)
_SUBMODULES = {"synthetic", "spec"}


def __getattr__(name):
    if name in _IN_ESTIMATION:
        return getattr(importlib.import_module("pkpd.estimation"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
