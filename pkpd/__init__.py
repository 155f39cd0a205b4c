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

import importlib as _importlib

import lazy_loader as _lazy

from . import units
from .dosing import Bolus, Infusion, Regimen
from .errors import ConvergenceWarning, DatasetError, ModelError, ParameterError, PkpdError, SimulationError
from .results import SimulationResult
from . import models
from .models import Component, compose
from ._internal import moved as _moved

# The engine behind pkpd.simulate (models import it when they first simulate), estimation, populations, trials,
# the SE application, plots and data readers are imported on first use (PEP 562, through lazy_loader):
# `import pkpd` stays close to importing numpy and pandas.
_LAZY_SUBMODULES = ["drugs", "engine", "estimation", "io", "physiology", "plot", "population", "trials"]
_lazy_getattr, _, _ = _lazy.attach(__name__, submodules=_LAZY_SUBMODULES, submod_attrs={
    "engine": ["simulate"],
    "io": ["Dataset", "load_dataset", "load_truth", "read_nonmem", "write_nonmem"],
    "physiology": ["genetics"],
    "population": ["IOV", "PopulationModel", "Population", "categorical", "exponential", "linear", "power",
                   "synthetic"],
    "estimation": ["AdditiveError", "CombinedError", "DoseRecommendation", "ExponentialError", "FitResult",
                   "PopulationFitResult", "ProportionalError", "Target", "fit_each", "fit_individual",
                   "fit_population", "fit_pooled", "load_population_fit", "make_params", "map_estimate", "nca",
                   "npde", "optimize_dose", "population_ofv", "vpc"],
    "trials": ["TrialDesign", "TrialResult", "endpoints", "run_trial"],
})


def __getattr__(name):
    if name == "scenarios":
        return _importlib.import_module(".se.scenarios", __name__)
    if name == "effects":                       # pkpd.models.effects, imported on first use
        return _importlib.import_module(".models.effects", __name__)
    # ``pkpd.fitting`` is the name earlier versions gave pkpd.estimation
    return _lazy_getattr("estimation" if name == "fitting" else name)


def __dir__():
    return sorted(set(__all__) | {n for n in globals() if not n.startswith("_")})


# ``pkpd.fitting`` (now pkpd.estimation), ``pkpd.simulation`` and the other paths of earlier versions keep working
_moved.install()

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
