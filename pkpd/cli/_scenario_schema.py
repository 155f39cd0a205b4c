"""The schema of scenario files (:mod:`pkpd.cli.scenario_file`): what a file may hold, and what reading one gives.

The keys of each table -- type, default, unit, description; also the source of ``examples/README.md``'s
tables --, the endpoint types, routes and time units, the limits every value is checked against
(:data:`MAX_TIMES`, :data:`MAX_TIME_H`, ...), and the records a parsed scenario is made of
(:class:`DoseSpec`, :class:`SimulateScenario`, :class:`TrialScenario`). Declarations only: values are read by
:mod:`._toml_fields` and :mod:`._scenario_sections` and turned into pkpd objects by :mod:`._scenario_build`.
The public names are re-exported by :mod:`pkpd.cli.scenario_file`, where :data:`LIMITS` lists the limits by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ------------------------------------------------------------------------------------------------
# schema: key -> (type, default, unit, description); also the source of examples/README.md's tables
# ------------------------------------------------------------------------------------------------
SIMULATE_KEYS = {
    "title": ("string", "the file name", "", "heading of summary.md and the plot"),
    "model": ("string", "-", "", "a library model (`one_compartment_oral`, `TwoCompartment`, ...); or give `drug`"),
    "drug": ("string", "-", "", "a library drug of `pkpd.drugs` (`midazolam`, `lorazepam`, `phenytoin`, ...)"),
    "drugs": ("array of strings", "-", "", "several library drugs in one model (`[\"midazolam\", \"rifampicin\"]`); "
              "each dose names its `drug`"),
    "genotypes": ("table", "{}", "", "per drug, gene = diplotype: `[genotypes.clobazam]` `CYP2C19 = \"*2/*2\"`"),
    "interactions": ("table", "{}", "", "CYP3A4 inducers, inactivators and inhibitors, P-gp inhibitors among the "
                     "drugs (`[interactions]`)"),
    "range": ("table", "{}", "output unit", "therapeutic range per output: `\"MDZ.CP\" = [0.04, 0.2]` (shaded on "
              "the figure, time in range in the summary)"),
    "weight": ("number", 70.0, "kg", "body weight: a drug's parameters are scaled to it, `per_kg` doses use it"),
    "time_unit": ("string", "h", "", "unit of every time in the file: `h` or `min`"),
    "times": ("array or table", "required", "time_unit", "output times: `[0, 1, 2]` or `{start = 0, stop = 24, "
              "step = 0.5}`"),
    "outputs": ("array of strings", "the model's first output", "", "outputs (or states) written and plotted"),
    "parameters": ("table", "{}", "model units", "parameter overrides by name (`CL = 3`; a drug's local `CL` "
                   "or qualified `MDZ.CL`)"),
    "iiv": ("table", "{}", "SD of log", "log-normal inter-individual variability by parameter (`CL = 0.3`)"),
    "subjects": ("integer", 1, "", "virtual subjects per regimen (the same subjects in every regimen)"),
    "seed": ("integer", 2024, "", "random seed of the IIV draws"),
    "doses": ("array of tables", "-", "", "the doses of a single regimen (named `regimen`); or give `regimens`"),
    "regimens": ("table", "-", "", "named regimens to compare: `[[regimens.NAME.doses]]`"),
}

INTERACTION_KEYS = {
    "cyp3a4_inducers": ("array of strings", "[]", "", "drugs inducing CYP3A4 (library: `rifampicin`, "
                        "`carbamazepine`)"),
    "cyp3a4_inactivators": ("array of strings", "[]", "", "mechanism-based CYP3A4 inhibitors (library: "
                            "`clarithromycin`)"),
    "cyp3a4_inhibitors": ("table", "{}", "mg/L", "competitive CYP3A4 inhibitors: drug = unbound Ki"),
    "pgp_inhibitors": ("array of strings", "[]", "", "P-gp inhibitors at the blood-brain barrier (library: "
                       "`tariquidar`) acting on the drugs with a brain compartment (`pgp_probe`)"),
}

TRIAL_KEYS = {
    "title": ("string", "the file name", "", "heading of report.md and the plot"),
    "time_unit": ("string", "h", "", "unit of every time in the file: `h` or `min`"),
    "times": ("array or table", "required", "time_unit", "output times (time courses; time endpoints read them)"),
    "seed": ("integer", 2024, "", "seed of the random effects (the population has its own `population.seed`)"),
    "plot_output": ("string", "the first endpoint's output", "", "output drawn as median and 5-95 % ribbon"),
    "population": ("table", "required", "", "the virtual population (`pkpd.Population.virtual`)"),
    "model": ("table", "required", "", "the model: status epilepticus, a library model or a library drug"),
    "arms": ("table", "required", "", "named arms: `[[arms.NAME.doses]]`; the same subjects in every arm"),
    "endpoints": ("array of tables", "required", "", "`[[endpoints]]`, each with a `type`"),
    "options": ("table", "{}", "", "`block_size` (1000), `chunk_size` (2000), `rtol` (1e-6), `atol` (1e-9), "
                "`solver` (`dp5`)"),
}

POPULATION_KEYS = {
    "n": ("integer", "required", "", "number of subjects (`--n` overrides it)"),
    "ancestry": ("string", "European", "", "CYP2C19 allele frequencies: `European`, `East Asian`, `Oceanian`, "
                 "or `none`"),
    "seed": ("integer", 2024, "", "seed of the covariates"),
    "age": ("array of 4 numbers", "[45, 15, 18, 90]", "years", "truncated normal: mean, SD, lower, upper"),
    "weight": ("array of 4 numbers", "sex-specific log-normal", "kg", "truncated normal: mean, SD, lower, upper"),
    "female": ("number", 0.5, "fraction", "fraction female"),
}

MODEL_KEYS = {
    "name": ("string", "required", "", "`status_epilepticus` (alias `se`), a library model or a library drug"),
    "drugs": ("array of strings", "the drugs dosed", "", "status epilepticus: drugs of the model (at most one "
              "benzodiazepine per arm)"),
    "parameters": ("table", "{}", "model units", "typical values by (qualified) name, e.g. `\"SEIZURE.E0\" = 3`"),
    "iiv": ("table", "SE: pkpd.se.defaults.IIV; else {}", "SD of log", "log-normal IIV; SE keys `CL`, `V`, "
            "`E0`, `KCC2_MIN`, `SED_C50`; other models by parameter name"),
    "weight": ("number", 70.0, "kg", "library drug: weight its typical values are computed for"),
}

DOSE_KEYS = {
    "amount": ("number", "required", "mg (mg/kg with per_kg)", "amount given"),
    "per_kg": ("boolean", False, "", "multiply `amount` by the body weight"),
    "max_amount": ("number", "none", "mg", "cap on the amount (with `per_kg`)"),
    "time": ("number", 0.0, "time_unit", "time of the (first) dose"),
    "drug": ("string", "the model's drug", "", "status-epilepticus trials: which drug (a name of "
             "`pkpd.se.scenarios.DRUGS`); `pkpd simulate` with `drugs` (or interactions, genotypes): one of them"),
    "route": ("string", "iv", "", "`iv`, or a depot route (`oral`, `im`, `intranasal`, `buccal`, `rectal`; "
              "library models: any depot route means the `DEPOT` compartment)"),
    "cmt": ("string or integer", "from route", "", "compartment name (`CENTRAL`, `MDZ.DEPOT`) or number, "
            "instead of `route`"),
    "duration": ("number", "none (bolus)", "time_unit", "infusion duration"),
    "rate": ("number", "none (bolus)", "mg per time_unit", "infusion rate, instead of `duration`"),
    "ii": ("number", 0.0, "time_unit", "dosing interval of additional doses"),
    "addl": ("integer", 0, "", "number of additional doses, every `ii`"),
}

ENDPOINT_KEYS = {
    "type": ("string", "required", "", "one of " + ", ".join("`%s`" % t for t in (
        "terminated_by", "time_to_termination", "time_above", "auc", "cmax", "minimum", "trough"))),
    "name": ("string", "automatic", "", "column name of the endpoint"),
    "output": ("string", "`SEIZURE.ACTIVITY` or the model's first output", "", "output read"),
    "time": ("number", "-", "time_unit", "`terminated_by`: by when; `trough`: at when"),
    "threshold": ("number", 0.1, "", "`terminated_by`, `time_to_termination`: activity threshold"),
    "concentration": ("number", "-", "mg/L", "`time_above`: level"),
    "start": ("number", 0.0, "time_unit", "`auc`: start"),
    "end": ("number", "last output time", "time_unit", "`auc`: end"),
}

#: Endpoint types: the keys each one needs and accepts (besides ``type``, ``name`` and ``output``).
ENDPOINT_TYPES = {
    "terminated_by": (("time",), ("threshold",)),
    "time_to_termination": ((), ("threshold",)),
    "time_above": (("concentration",), ()),
    "auc": ((), ("start", "end")),
    "cmax": ((), ()),
    "minimum": ((), ()),
    "trough": (("time",), ()),
}

#: Names of the status-epilepticus model in ``[model] name``.
SE_MODEL_NAMES = ("status_epilepticus", "se")
#: Routes of a library model's doses: ``iv`` into the central compartment, the others into ``DEPOT``.
LIBRARY_ROUTES = ("iv", "oral", "im", "sc", "intranasal", "buccal", "rectal", "depot", "extravascular")
_TIME_UNITS = {"h": 1.0, "min": 1.0 / 60.0}
_RESERVED_ENDPOINT_NAMES = ("ID", "arm")

# ------------------------------------------------------------------------------------------------
# limits: every one is checked by key before anything is simulated
# ------------------------------------------------------------------------------------------------
#: Largest scenario file read (bytes).
MAX_FILE_BYTES = 10 * 2**20
#: Deepest nesting of arrays and tables (the schema needs 5: ``regimens.NAME.doses[0].amount``).
MAX_DEPTH = 16
#: Most output times.
MAX_TIMES = 100_000
#: Latest time, longest interval and duration, in hours (about 11 years).
MAX_TIME_H = 100_000.0
#: Most additional doses of one dose entry.
MAX_ADDL = 100_000
#: Largest amount (mg, or mg/kg with ``per_kg``) and ``max_amount``.
MAX_AMOUNT = 1e9
#: Body weights (kg): ``weight``, ``model.weight`` and the bounds of ``population.weight``.
WEIGHT_RANGE = (0.1, 1000.0)
#: Ages (years): the bounds of ``population.age``.
AGE_RANGE = (0.0, 150.0)
#: Largest inter-individual variability, SD of log (``exp(3)``: a 20-fold factor per SD).
MAX_IIV_SD = 3.0
#: Largest magnitude of a parameter override, in the parameter's unit.
MAX_PARAMETER = 1e6
#: Smallest volume (L) of a parameter override (unit ``L``): 1 microlitre.
MIN_VOLUME = 1e-6
#: Solver tolerances of a trial (``options.rtol``, ``options.atol``).
RTOL_RANGE = (1e-13, 0.1)
ATOL_RANGE = (1e-300, 1.0)
#: Most subjects of ``pkpd simulate`` (``subjects``) and of ``pkpd trial`` (``population.n`` or ``--n``).
MAX_SUBJECTS = 100_000
MAX_POPULATION = 10_000_000
#: Largest estimated memory of the subjects x times x outputs arrays (:func:`simulate_memory`,
#: :func:`trial_memory`).
MAX_MEMORY_BYTES = 2 * 2**30


# ------------------------------------------------------------------------------------------------
# results of parsing
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoseSpec:
    """One dose of a scenario file, times in hours; ``cmt`` is resolved against the model."""

    where: str
    amount: float
    cmt: Any
    time: float = 0.0
    per_kg: bool = False
    max_amount: float | None = None
    duration: float | None = None
    rate: float | None = None
    ii: float = 0.0
    addl: int = 0
    drug: str | None = None
    route: str | None = None


@dataclass(frozen=True)
class SimulateScenario:
    """A parsed ``pkpd simulate`` scenario (times in hours)."""

    path: str
    title: str
    time_unit: str
    times_h: np.ndarray
    model: Any                      # the model of the first regimen (library model or composed drug)
    drug: Any                       # pkpd.drugs.Drug or None
    weight: float
    outputs: tuple
    regimens: dict                  # name -> (model, params dict, pkpd.Regimen, list of DoseSpec)
    iiv: dict
    subjects: int
    seed: int
    drugs: tuple = ()               # every pkpd.drugs.Drug of the model (genotype and P-gp inhibitors applied)
    interactions: dict = field(default_factory=dict)   # INTERACTION_KEYS key -> tuple of drug names (or name -> Ki)
    genotypes: dict = field(default_factory=dict)      # drug name -> {gene: diplotype}
    ranges: dict = field(default_factory=dict)         # output -> (lower, upper)
    label: str = ""                 # what is simulated, for summary.md


@dataclass(frozen=True)
class TrialScenario:
    """A parsed ``pkpd trial`` scenario: population, groups of arms sharing a model, design pieces."""

    path: str
    title: str
    time_unit: str
    times_h: np.ndarray
    population: dict                # keyword arguments of pkpd.Population.virtual (n first)
    groups: list                    # [(source, [arm names])]: arms simulated with one model
    arms: dict                      # arm name -> list of pkpd.trials.Dose
    endpoints: tuple
    seed: int
    plot_output: str
    options: dict = field(default_factory=dict)
    model_label: str = ""


# Public as pkpd.cli.scenario_file.<name> (re-exported there): their documented home, the name pickle uses.
DoseSpec.__module__ = SimulateScenario.__module__ = TrialScenario.__module__ = "pkpd.cli.scenario_file"
