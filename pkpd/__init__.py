"""pkpd: pharmacokinetic/pharmacodynamic modelling in Python.

NONMEM-style event data in, exact dosing, closed forms and a batched ODE engine for many subjects at
once. Internal units: time h, amount mg, volume L, concentration mg/L.

Examples
--------
>>> import pkpd
>>> from pkpd.models import OneCompartmentOral
>>> regimen = pkpd.Bolus(500, cmt="DEPOT") + pkpd.Bolus(250, time=12, cmt="DEPOT", ii=12, addl=3)
>>> result = OneCompartmentOral().simulate(regimen, [1, 12, 24], {"CL": 3, "V": 30, "KA": 1.5})
>>> result.to_frame().round(3)[["ID", "TIME", "CP"]]
   ID  TIME      CP
0   1   1.0  12.173
1   1  12.0   5.378
2   1  24.0   4.309
"""

from . import units
from .dosing import Bolus, Infusion, Regimen
from .errors import ConvergenceWarning, DatasetError, ModelError, ParameterError, PkpdError, SimulationError
from .io import Dataset, load_dataset, load_truth, read_nonmem, write_nonmem
from .results import SimulationResult
from . import models
from .models import Component, compose, effects
from . import physiology
from .physiology import genetics
from . import drugs
from .engine import simulate
from .population import IOV, PopulationModel, Population, categorical, exponential, linear, power, synthetic
from . import estimation
from .estimation import (AdditiveError, CombinedError, DoseRecommendation, ExponentialError, FitResult,
                         PopulationFitResult, ProportionalError, Target, fit_each, fit_individual, fit_population,
                         fit_pooled, load_population_fit, make_params, map_estimate, nca, npde, optimize_dose,
                         population_ofv, vpc)
from . import trials
from .trials import TrialDesign, TrialResult, endpoints, run_trial
from . import plot
from .se import scenarios
from ._internal import moved as _moved

# ``pkpd.fitting`` (now pkpd.estimation), ``pkpd.simulation`` and the other paths of earlier versions keep working
_moved.install()
fitting = estimation

__version__ = "0.1.0.dev0"

__all__ = [
    "Bolus",
    "Infusion",
    "Regimen",
    "Dataset",
    "read_nonmem",
    "write_nonmem",
    "load_dataset",
    "load_truth",
    "simulate",
    "make_params",
    "fit_individual",
    "fit_pooled",
    "fit_each",
    "nca",
    "PopulationModel",
    "IOV",
    "fit_population",
    "map_estimate",
    "optimize_dose",
    "Target",
    "DoseRecommendation",
    "population_ofv",
    "PopulationFitResult",
    "load_population_fit",
    "power",
    "exponential",
    "linear",
    "categorical",
    "npde",
    "vpc",
    "FitResult",
    "AdditiveError",
    "ProportionalError",
    "CombinedError",
    "ExponentialError",
    "compose",
    "Component",
    "SimulationResult",
    "models",
    "physiology",
    "genetics",
    "drugs",
    "effects",
    "plot",
    "Population",
    "TrialDesign",
    "TrialResult",
    "run_trial",
    "endpoints",
    "trials",
    "fitting",
    "scenarios",
    "synthetic",
    "units",
    "PkpdError",
    "DatasetError",
    "ModelError",
    "ParameterError",
    "SimulationError",
    "ConvergenceWarning",
]
