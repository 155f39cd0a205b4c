"""Scenario files (TOML) of ``pkpd simulate`` and ``pkpd trial``: reading and validation.

A scenario file says what to simulate -- a model or library drug, its parameters, dosing regimens (or trial
arms), output times, and for a trial the virtual population and endpoints -- and is checked completely
before anything is simulated. Every problem is one :class:`ScenarioError` whose message names the file,
the key (``regimens.loading.doses[1].amount``) and what was expected: a missing file, malformed TOML (with
the parser's line and column), an unknown model or drug (with the known names), an unknown key, a wrong
type or value. The full schema, with units and defaults, is in ``examples/README.md``; the keys are also
listed in :data:`SIMULATE_KEYS`, :data:`TRIAL_KEYS`, :data:`DOSE_KEYS`, :data:`POPULATION_KEYS`,
:data:`MODEL_KEYS` and :data:`ENDPOINT_KEYS`.

Units: amounts mg (``per_kg``: mg/kg), times in the file's ``time_unit`` (``"h"`` by default, or
``"min"``), infusion ``rate`` mg per ``time_unit``, weight kg, concentrations mg/L; everything is
converted to the toolkit's internal hours here.

Limits (:data:`LIMITS`), checked by key before anything is simulated, so that an absurd number fails at
once instead of after hours or gigabytes: at most :data:`MAX_FILE_BYTES` of text and :data:`MAX_DEPTH`
levels of nested arrays or tables; at most :data:`MAX_TIMES` output times; every time, interval and
duration (and an infusion's ``amount / rate``) at most :data:`MAX_TIME_H` hours; ``addl`` at most
:data:`MAX_ADDL`; amounts at most :data:`MAX_AMOUNT` mg; weights in :data:`WEIGHT_RANGE` kg, ages in
:data:`AGE_RANGE` years; IIV (SD of log) at most :data:`MAX_IIV_SD`; parameter overrides within the model
parameter's bounds, volumes (unit L) at least :data:`MIN_VOLUME`, magnitudes at most :data:`MAX_PARAMETER`;
``rtol`` and ``atol`` in :data:`RTOL_RANGE` and :data:`ATOL_RANGE`; at most :data:`MAX_SUBJECTS` subjects
(``simulate``) and :data:`MAX_POPULATION` (``trial``). Finally the memory of the subjects x times x outputs
arrays is estimated (:func:`simulate_memory`, :func:`trial_memory`) and a scenario above
:data:`MAX_MEMORY_BYTES` is refused with the product and the keys to reduce. Messages show keys and values
with control characters escaped (a key ``"\\x1b[2J"`` cannot clear the terminal).

Uses :mod:`tomllib` (Python >= 3.11) or its backport ``tomli``.

Examples
--------
>>> sc = parse_simulate('''
... model = "one_compartment"
... times = {start = 0, stop = 12, step = 6}
... [[doses]]
... amount = 100
... route = "iv"
... ''', "inline.toml")
>>> sc.model.name, sc.times_h.tolist(), list(sc.regimens)
('OneCompartment', [0.0, 6.0, 12.0], ['regimen'])
>>> parse_simulate('model = "four_compartment"', "bad.toml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pkpd.cli.scenario_file.ScenarioError: bad.toml: model: unknown model 'four_compartment'; known models: one_compartment, ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError, PkpdError

try:                                    # Python >= 3.11
    import tomllib
except ModuleNotFoundError:             # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ScenarioError", "SimulateScenario", "TrialScenario", "DoseSpec", "load_simulate",
           "load_trial", "parse_simulate", "parse_trial", "read_toml", "SIMULATE_KEYS", "TRIAL_KEYS", "DOSE_KEYS",
           "POPULATION_KEYS", "MODEL_KEYS", "ENDPOINT_KEYS", "ENDPOINT_TYPES", "SE_MODEL_NAMES", "LIBRARY_ROUTES",
           "LIMITS", "simulate_memory", "trial_memory"]


class ScenarioError(ParameterError):
    """A scenario file is missing, malformed or invalid; the message names the file and the key."""


# ------------------------------------------------------------------------------------------------
# schema: key -> (type, default, unit, description); also the source of examples/README.md's tables
# ------------------------------------------------------------------------------------------------
_REQUIRED = object()

SIMULATE_KEYS = {
    "title": ("string", "the file name", "", "heading of summary.md and the plot"),
    "model": ("string", "-", "", "a library model (`one_compartment_oral`, `TwoCompartment`, ...); or give `drug`"),
    "drug": ("string", "-", "", "a library drug of `pkpd.drugs` (`midazolam`, `lorazepam`, `phenytoin`, ...)"),
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
             "`pkpd.se.scenarios.DRUGS`)"),
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

#: Every limit above by name (documentation and messages).
LIMITS = {"file size (bytes)": MAX_FILE_BYTES, "nesting depth": MAX_DEPTH, "output times": MAX_TIMES,
          "time (h)": MAX_TIME_H, "addl": MAX_ADDL, "amount (mg)": MAX_AMOUNT, "weight (kg)": WEIGHT_RANGE,
          "age (years)": AGE_RANGE, "IIV (SD of log)": MAX_IIV_SD, "parameter magnitude": MAX_PARAMETER,
          "smallest volume (L)": MIN_VOLUME, "rtol": RTOL_RANGE, "atol": ATOL_RANGE,
          "simulate subjects": MAX_SUBJECTS, "trial subjects": MAX_POPULATION, "memory (bytes)": MAX_MEMORY_BYTES}


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


# ------------------------------------------------------------------------------------------------
# low-level checks
# ------------------------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, name: str):
        self.name = name

    def fail(self, where: str, message: str):
        prefix = f"{self.name}: {where}: " if where else f"{self.name}: "
        raise ScenarioError(prefix + message)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _got(value) -> str:
    if _huge(value):
        return f"got an integer of {len(str(abs(value)))} digits"      # its repr is slow and useless
    return f"got {_shorten(repr(value), 60)} ({_kind(value)})"


def _huge(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**60


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


_KEY_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _show_key(key) -> str:
    """A key as written in TOML: bare, or quoted with its escapes (control characters as ``\\xNN``), shortened."""
    from .._internal.text import escape_controls

    key = _shorten(str(key), 40)
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return '"' + escape_controls("".join(_KEY_ESCAPES.get(c, c) for c in key)) + '"'


def _join(where: str, key) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    key = _show_key(key)
    return f"{where}.{key}" if where else key


def _keys(ctx: _Ctx, table, where: str, allowed, required=()):
    if not isinstance(table, Mapping):
        ctx.fail(where, f"expected a table, {_got(table)}")
    unknown = [k for k in table if k not in allowed]
    if unknown:
        section = f"[{where}]" if where else "the top level"
        ctx.fail(_join(where, unknown[0]), f"unknown key in {section}; expected one of: {', '.join(allowed)}")
    for k in required:
        if k not in table:
            section = f"[{where}]" if where else "the top level"
            ctx.fail(_join(where, k), f"missing required key in {section}")


def _number(ctx, value, where, *, minimum=None, maximum=None, positive=False, default=_REQUIRED, what="a number",
            unit=""):
    if value is None:
        if default is _REQUIRED:
            ctx.fail(where, "missing required number")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ctx.fail(where, f"expected a finite number, {_got(value)}")
    try:
        number = float(value)                       # a TOML integer may be too large for a float
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        ctx.fail(where, f"expected a finite number, {_got(value)}")
    unit = f" {unit}" if unit else ""
    if positive and not number > 0:
        ctx.fail(where, f"expected {what} > 0{unit}, got {number:g}")
    if minimum is not None and number < minimum:
        ctx.fail(where, f"expected {what} >= {minimum:g}{unit}, got {number:g}")
    if maximum is not None and number > maximum:
        ctx.fail(where, f"expected {what} <= {maximum:g}{unit}, got {number:g}")
    return number


def _integer(ctx, value, where, *, minimum=None, maximum=None, default=_REQUIRED):
    if value is None:
        if default is _REQUIRED:
            ctx.fail(where, "missing required integer")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        ctx.fail(where, f"expected an integer, {_got(value)}")
    if minimum is not None and value < minimum:
        ctx.fail(where, f"expected an integer >= {minimum}, " + (_got(value) if _huge(value) else f"got {value}"))
    if maximum is not None and value > maximum:
        ctx.fail(where, f"expected an integer <= {maximum}, " + (_got(value) if _huge(value) else f"got {value}"))
    return value


def _time(ctx, value, where, scale, *, positive=False, default=_REQUIRED):
    """A time of the file (its ``time_unit``), at least 0 (or > 0) and at most :data:`MAX_TIME_H` hours."""
    unit = "min" if scale != 1.0 else "h"
    return _number(ctx, value, where, minimum=None if positive else 0.0, positive=positive,
                   maximum=MAX_TIME_H / scale, default=default, what="a time", unit=unit)


def _string(ctx, value, where, *, default=_REQUIRED, choices=None):
    if value is None:
        if default is _REQUIRED:
            ctx.fail(where, "missing required string")
        return default
    if not isinstance(value, str) or not value:
        ctx.fail(where, f"expected a non-empty string, {_got(value)}")
    if choices is not None and value not in choices:
        ctx.fail(where, f"expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _boolean(ctx, value, where, default=False):
    if value is None:
        return default
    if not isinstance(value, bool):
        ctx.fail(where, f"expected true or false, {_got(value)}")
    return value


def _number_table(ctx, value, where, *, minimum=None, maximum=None, what="a number") -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        ctx.fail(where, f"expected a table of name = number, {_got(value)}")
    return {k: _number(ctx, v, _join(where, k), minimum=minimum, maximum=maximum, what=what)
            for k, v in value.items()}


def _iiv_table(ctx, value, where) -> dict:
    """``name = SD of log`` entries, each in [0, :data:`MAX_IIV_SD`]."""
    return _number_table(ctx, value, where, minimum=0.0, maximum=MAX_IIV_SD, what="an SD of log")


def _check_parameter(ctx, where, value, parameter):
    """An override of ``parameter`` (a :class:`pkpd.models.Parameter`): within its bounds, at most
    :data:`MAX_PARAMETER` in magnitude, and a volume (unit ``L``) at least :data:`MIN_VOLUME`."""
    lower, upper = max(parameter.lower, -MAX_PARAMETER), min(parameter.upper, MAX_PARAMETER)
    if parameter.unit == "L":
        lower = max(lower, MIN_VOLUME)
    unit = parameter.unit if parameter.unit not in ("", "1") else "dimensionless"
    if not lower <= value <= upper:
        ctx.fail(where, f"{parameter.name} must be in [{lower:g}, {upper:g}] ({unit}), got {value:g}")


def _times(ctx, value, where, scale) -> np.ndarray:
    if value is None:
        ctx.fail(where, "missing required key: output times, e.g. times = [0, 1, 2] or "
                        "times = {start = 0, stop = 24, step = 1}")
    if isinstance(value, Mapping):
        _keys(ctx, value, where, ("start", "stop", "step"), required=("stop", "step"))
        start = _time(ctx, value.get("start"), _join(where, "start"), scale, default=0.0)
        stop = _time(ctx, value["stop"], _join(where, "stop"), scale)
        step = _number(ctx, value["step"], _join(where, "step"), positive=True)
        if stop <= start:
            ctx.fail(_join(where, "stop"), f"expected a time after start ({start:g}), got {stop:g}")
        count = (stop - start) / step + 1               # inf for a step of 1e-320
        if count > MAX_TIMES + 1e-6:
            ctx.fail(_join(where, "step"), f"{count:.4g} output times is too many (at most {MAX_TIMES}): "
                                           "increase the step or shorten start-stop")
        n = int(math.floor(count - 1 + 1e-9)) + 1
        times = start + step * np.arange(n)
    elif isinstance(value, list):
        if not value:
            ctx.fail(where, "expected at least one output time")
        if len(value) > MAX_TIMES:
            ctx.fail(where, f"{len(value)} output times is too many (at most {MAX_TIMES})")
        times = np.array([_time(ctx, v, _join(where, i), scale) for i, v in enumerate(value)])
        bad = np.flatnonzero(np.diff(times) <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            ctx.fail(_join(where, i), f"times must be strictly increasing, got {value[i - 1]!r} then {value[i]!r}")
    else:
        ctx.fail(where, f"expected an array of times or a table {{start, stop, step}}, {_got(value)}")
    return np.round(times * scale, 12)


def _time_unit(ctx, doc) -> tuple:
    unit = _string(ctx, doc.get("time_unit"), "time_unit", default="h", choices=tuple(_TIME_UNITS))
    return unit, _TIME_UNITS[unit]


def _dose(ctx, table, where, scale, *, allow_drug: bool) -> DoseSpec:
    allowed = tuple(k for k in DOSE_KEYS if allow_drug or k != "drug")
    _keys(ctx, table, where, allowed, required=("amount",))
    g = table.get
    amount = _number(ctx, g("amount"), _join(where, "amount"), minimum=0.0, maximum=MAX_AMOUNT)
    per_kg = _boolean(ctx, g("per_kg"), _join(where, "per_kg"))
    cap = _number(ctx, g("max_amount"), _join(where, "max_amount"), minimum=0.0, maximum=MAX_AMOUNT, default=None)
    duration = _time(ctx, g("duration"), _join(where, "duration"), scale, positive=True, default=None)
    rate = _number(ctx, g("rate"), _join(where, "rate"), positive=True, default=None)
    if duration is not None and rate is not None:
        ctx.fail(_join(where, "rate"), "give either duration or rate, not both")
    if "cmt" in table and "route" in table:
        ctx.fail(_join(where, "cmt"), "give either cmt or route, not both")
    cmt = g("cmt")
    if cmt is not None and (isinstance(cmt, bool) or not isinstance(cmt, (str, int)) or cmt == ""):
        ctx.fail(_join(where, "cmt"), f"expected a compartment name or number, {_got(cmt)}")
    route = _string(ctx, g("route"), _join(where, "route"), default=None)
    drug = _string(ctx, g("drug"), _join(where, "drug"), default=None)
    ii = _time(ctx, g("ii"), _join(where, "ii"), scale, default=0.0)
    addl = _integer(ctx, g("addl"), _join(where, "addl"), minimum=0, maximum=MAX_ADDL, default=0)
    if addl > 0 and ii <= 0:
        ctx.fail(_join(where, "ii"), f"addl = {addl} needs a dosing interval ii > 0")
    return DoseSpec(where, amount, cmt, time=_time(ctx, g("time"), _join(where, "time"), scale, default=0.0)
                    * scale, per_kg=per_kg, max_amount=cap, duration=None if duration is None else duration * scale,
                    rate=None if rate is None else rate / scale, ii=ii * scale, addl=addl, drug=drug, route=route)


def _dose_list(ctx, value, where, scale, *, allow_drug: bool) -> list:
    if isinstance(value, Mapping):            # a single [regimens.x.doses] table
        value = [value]
    if not isinstance(value, list) or not value:
        ctx.fail(where, f"expected a non-empty array of dose tables ([[{where}]]), {_got(value)}")
    return [_dose(ctx, d, _join(where, i), scale, allow_drug=allow_drug) for i, d in enumerate(value)]


def _named_groups(ctx, doc, single: str | None, plural: str, scale, *, allow_drug: bool) -> dict:
    """``{name: [DoseSpec]}`` from ``[[doses]]`` (one group named ``regimen``) or ``[plural.NAME]``."""
    if single is not None and single in doc and plural in doc:
        ctx.fail(plural, f"give either {single} (one regimen) or {plural} (several), not both")
    if single is not None and single in doc:
        return {"regimen": _dose_list(ctx, doc[single], single, scale, allow_drug=allow_drug)}
    groups = doc.get(plural)
    if groups is None:
        what = f"{single} or {plural}" if single else plural
        ctx.fail(what, f"missing: give {'[[doses]] or ' if single else ''}[[{plural}.NAME.doses]] tables")
    if not isinstance(groups, Mapping) or not groups:
        ctx.fail(plural, f"expected a table of named {plural} ([{plural}.NAME]), {_got(groups)}")
    out = {}
    for name, body in groups.items():
        where = _join(plural, name)
        if isinstance(body, list):
            out[name] = _dose_list(ctx, body, where, scale, allow_drug=allow_drug)
            continue
        _keys(ctx, body, where, ("doses",), required=("doses",))
        out[name] = _dose_list(ctx, body["doses"], _join(where, "doses"), scale, allow_drug=allow_drug)
    return out


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
def read_toml(path) -> dict:
    """The TOML document at ``path``; :class:`ScenarioError` for a missing file or malformed TOML (with the
    parser's line and column)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"no such scenario file: {path}" if not path.exists()
                            else f"{path}: not a file (a scenario file is a .toml file)")
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB; a scenario file is a short "
                            "TOML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path.name}: malformed TOML: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return _parse_text(text.replace("\r\n", "\n").replace("\r", "\n"), path.name)   # newlines as text mode reads them


def _parse_text(text: str, name: str) -> dict:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{name}: malformed TOML: {' '.join(str(exc).split())}") from None
    except RecursionError:                            # the parser recurses into nested arrays and inline tables
        line, key = _deep_location(text)
        where = (f"{_shorten(key, 40)} (line {line})" if key else f"line {line}") if line else ""
        raise ScenarioError(f"{name}: " + (f"{where}: " if where else "") + "arrays or tables nested more "
                            f"than {MAX_DEPTH} levels deep") from None
    _check_depth(_Ctx(name), doc)
    return doc


def _check_depth(ctx, doc) -> None:
    """Fail on the first key whose value nests arrays or tables more than :data:`MAX_DEPTH` levels deep
    (iteratively: the check itself must not recurse)."""
    stack = [(doc, "", 0)]                             # containers only: a list of 1e5 times stays cheap
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            ctx.fail(where, f"arrays or tables nested more than {MAX_DEPTH} levels deep")
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        stack.extend((v, _join(where, k), depth + 1) for k, v in items if isinstance(v, (Mapping, list)))


def _deep_location(text: str) -> tuple:
    """``(line, key)`` where brackets (outside strings and comments) first nest more than :data:`MAX_DEPTH`
    deep: the line and the key (with its table) whose value they are in, as written in the file."""
    depth, line, i, n = 0, 1, 0, len(text)
    table, key, start = "", "", 0                    # start: where the current key's text begins
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            if depth == 0:
                start = i + 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n and text[j:j + len(quote)] != quote:
                j += 2 if c == '"' and text[j] == "\\" else 1
            line += text.count("\n", i, j)
            i = j + len(quote)
            continue
        elif c == "=" and depth == 0:
            key = text[start:i].strip()
        elif c in "[{":
            if depth == 0 and not text[start:i].strip():          # a [table] or [[array of tables]] header
                end = text.find("\n", i)
                table = text[i:n if end < 0 else end].split("#")[0].strip().strip("[]").strip()
            depth += 1
            if depth > MAX_DEPTH:
                return line, ".".join(k for k in (table, key) if k)
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None, ""


def _library_models() -> dict:
    from ..models.registry import MODEL_NAMES, snake_name as _snake

    return {_snake(n): n for n in MODEL_NAMES}


def _resolve_library_model(ctx, name, where):
    from ..models.registry import resolve_model

    try:
        return resolve_model(name)
    except PkpdError as exc:
        ctx.fail(where, str(exc))


def _resolve_drug(ctx, name, where, weight):
    from .. import drugs

    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in drugs.LIBRARY:
        ctx.fail(where, f"unknown drug {name!r}; known drugs: {', '.join(drugs.LIBRARY)}")
    try:
        return drugs.LIBRARY[key](weight=weight)
    except TypeError:                                  # pragma: no cover - a constructor without weight
        return drugs.LIBRARY[key]()


def _qualify(ctx, names, known, prefix, where, parameters=None) -> dict:
    """Map a table of parameter names (local or qualified) to the model's qualified names; with
    ``parameters`` (name -> :class:`pkpd.models.Parameter`), check each value against its bounds."""
    out = {}
    for name, value in names.items():
        if name in known:
            qualified = name
        elif prefix and f"{prefix}.{name}" in known:
            qualified = f"{prefix}.{name}"
        else:
            ctx.fail(_join(where, name), f"unknown parameter; known: {', '.join(known)}")
        if parameters is not None and qualified in parameters:
            _check_parameter(ctx, _join(where, name), value, parameters[qualified])
        out[qualified] = value
    return out


def _library_cmt(ctx, model, spec: DoseSpec):
    states = list(model.states)
    if spec.cmt is not None:
        _check_state(ctx, model, spec.cmt, _join(spec.where, "cmt"))
        return spec.cmt
    route = spec.route or "iv"
    if route not in LIBRARY_ROUTES:
        ctx.fail(_join(spec.where, "route"), f"unknown route {route!r}; expected one of {', '.join(LIBRARY_ROUTES)}")
    if route == "iv":
        central = [s for s in states if s.split(".")[-1] == "CENTRAL"]
        return central[0] if central else states[0]
    depot = [s for s in states if s.split(".")[-1] == "DEPOT"]
    if not depot:
        ctx.fail(_join(spec.where, "route"), f"{model.name} has no DEPOT compartment for a {route!r} dose; "
                                             f"use route = \"iv\" or cmt (one of {', '.join(states)})")
    return depot[0]


def _check_state(ctx, model, cmt, where):
    states = list(model.states)
    if isinstance(cmt, str):
        if cmt not in states:
            ctx.fail(where, f"unknown compartment {cmt!r}; {model.name} has {', '.join(states)}")
    elif not 1 <= cmt <= len(states):
        ctx.fail(where, f"compartment number {cmt} is outside 1..{len(states)} ({', '.join(states)})")


def _regimen(ctx, specs, cmts, weight):
    from ..dosing import Bolus, Infusion, Regimen

    parts = []
    for spec, cmt in zip(specs, cmts):
        amount = spec.amount * (weight if spec.per_kg else 1.0)
        if spec.max_amount is not None:
            amount = min(amount, spec.max_amount)
        if spec.rate is not None:
            _check_rate(ctx, spec, amount)
        kw = dict(time=spec.time, cmt=cmt, ii=spec.ii, addl=spec.addl)
        try:
            if spec.duration is not None:
                parts.append(Infusion(amount, duration=spec.duration, **kw))
            elif spec.rate is not None:
                parts.append(Infusion(amount, rate=spec.rate, **kw))
            else:
                parts.append(Bolus(amount, **kw))
        except PkpdError as exc:
            ctx.fail(spec.where, str(exc))
    return Regimen(parts)


def _check_rate(ctx, spec: DoseSpec, amount: float) -> float:
    """The duration (h) of an infusion of ``amount`` mg at ``spec.rate`` mg/h: at most :data:`MAX_TIME_H`."""
    duration = amount / spec.rate
    if not duration <= MAX_TIME_H:
        ctx.fail(_join(spec.where, "rate"), f"the infusion of {amount:g} mg would last {duration:.3g} h (at most "
                                            f"{MAX_TIME_H:g} h): give a larger rate or a duration")
    return duration


def _size(n_bytes: float) -> str:
    for unit, factor in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if n_bytes >= factor:
            return f"{n_bytes / factor:.3g} {unit}"
    return f"{n_bytes / 2**10:.3g} kB"


def simulate_memory(subjects: int, times: int, regimens: int, outputs: int, values: int) -> float:
    """Estimated bytes of ``pkpd simulate``'s arrays, 8 bytes a value and a copy of each (pandas builds tables
    by copying): per regimen the simulation's table (ID, TIME and the model's ``values``, its states and
    outputs, for every subject and time), then the table of every regimen (regimen, ID, TIME and the
    ``outputs`` written).

    >>> round(simulate_memory(50, 97, 2, 1, 3) / 2**20, 2)      # examples/simulate_two_regimens.toml: MB
    0.96
    """
    per_subject_time = regimens * (outputs + 3) + values + 2
    return 8.0 * 2 * subjects * times * per_subject_time


def trial_memory(n: int, block: int, grid: int, states: int, arms: int, endpoints: int) -> float:
    """Estimated bytes of ``pkpd trial``'s arrays: a block of subjects (``min(n, block_size)``) simulated
    together -- event table (9 columns) with the states and outputs at every grid time, copied once --
    plus the covariates (about 15 columns) and the endpoint values of every subject in every arm.

    This is the data; the ODE solver's own memory (each accepted step of each subject of the block until
    the block ends) comes on top and grows with the simulated span rather than with the number of times.
    """
    k = min(n, block)
    return 8.0 * 2 * (k * grid * (9 + states) + n * (15 + arms * (endpoints + 2)))


def _check_memory(ctx, where: str, n_bytes: float, product: str, reduce: str) -> None:
    if n_bytes > MAX_MEMORY_BYTES:
        ctx.fail(where, f"about {_size(n_bytes)} of memory for {product} at 8 bytes a value, copied once: more "
                        f"than the {_size(MAX_MEMORY_BYTES)} limit; reduce {reduce}")


# ------------------------------------------------------------------------------------------------
# pkpd simulate
# ------------------------------------------------------------------------------------------------
def load_simulate(path) -> SimulateScenario:
    """Read and validate a ``pkpd simulate`` scenario file."""
    path = Path(path)
    return _simulate(read_toml(path), path.name, str(path))


def parse_simulate(text: str, name: str = "scenario.toml") -> SimulateScenario:
    """Validate a ``pkpd simulate`` scenario given as TOML text (``name`` is used in messages)."""
    return _simulate(_parse_text(text, name), name, name)


def _simulate(doc, name, path) -> SimulateScenario:
    ctx = _Ctx(name)
    _keys(ctx, doc, "", tuple(SIMULATE_KEYS))
    unit, scale = _time_unit(ctx, doc)
    title = _string(ctx, doc.get("title"), "title", default=Path(name).stem)
    weight = _weight(ctx, doc.get("weight"), "weight")
    if ("model" in doc) == ("drug" in doc):
        ctx.fail("model", "give exactly one of model (a library model) or drug (a library drug)"
                 if "model" in doc else "missing: give model = \"one_compartment_oral\" (a library model, e.g. "
                 + ", ".join(_library_models()) + ") or drug = \"midazolam\" (a library drug)")
    drug = None
    if "model" in doc:
        base_model = _resolve_library_model(ctx, _string(ctx, doc["model"], "model"), "model")
        prefix = ""
    else:
        drug = _resolve_drug(ctx, _string(ctx, doc["drug"], "drug"), "drug", weight)
        base_model = None
        prefix = drug.prefix
    times = _times(ctx, doc.get("times"), "times", scale)
    groups = _named_groups(ctx, doc, "doses", "regimens", scale, allow_drug=False)
    subjects = _integer(ctx, doc.get("subjects"), "subjects", minimum=1, default=1)
    if subjects > MAX_SUBJECTS:
        ctx.fail("subjects", f"at most {MAX_SUBJECTS} subjects, got {subjects}")
    seed = _integer(ctx, doc.get("seed"), "seed", minimum=0, default=2024)

    regimens = {}
    for rname, specs in groups.items():
        if drug is not None:
            model, params, cmts = _drug_regimen(ctx, drug, specs)
        else:
            model = base_model
            params = {p.name: p.default for p in model.parameters}
            cmts = [_library_cmt(ctx, model, s) for s in specs]
        regimens[rname] = [model, params, _regimen(ctx, specs, cmts, weight), specs]
    first_model = next(iter(regimens.values()))[0]
    known = [p.name for p in first_model.parameters]
    overrides = _qualify(ctx, _number_table(ctx, doc.get("parameters"), "parameters"), known, prefix, "parameters",
                         parameters={p.name: p for p in first_model.parameters})
    iiv = _qualify(ctx, _iiv_table(ctx, doc.get("iiv"), "iiv"), known, prefix, "iiv")
    for entry in regimens.values():
        entry[1] = {**entry[1], **overrides}
    available = list(first_model.outputs) + list(first_model.states)
    outputs = doc.get("outputs")
    if outputs is None:
        outputs = [first_model.outputs[0]]
    if not isinstance(outputs, list) or not outputs:
        ctx.fail("outputs", f"expected a non-empty array of output names, {_got(outputs)}")
    resolved = []
    for i, o in enumerate(outputs):
        o = _string(ctx, o, _join("outputs", i))
        if o not in available and prefix and f"{prefix}.{o}" in available:
            o = f"{prefix}.{o}"
        if o not in available:
            ctx.fail(_join("outputs", i), f"unknown output {o!r}; known: {', '.join(available)}")
        resolved.append(o)
    outputs = tuple(dict.fromkeys(resolved))
    values = max(len(m.states) + len(m.outputs) for m, *_ in regimens.values())
    per = simulate_memory(1, 1, len(regimens), len(outputs), values) / 16
    _check_memory(ctx, "subjects", simulate_memory(subjects, len(times), len(regimens), len(outputs), values),
                  f"subjects x times x values = {subjects} x {len(times)} x {per:.0f} (the model's states and "
                  f"outputs, the outputs of {len(regimens)} regimen(s))", "subjects, the number of times "
                  "(times.step, times.stop) or of regimens and outputs")
    return SimulateScenario(path, title, unit, times, first_model, drug, weight, outputs,
                            {k: tuple(v) for k, v in regimens.items()}, iiv, subjects, seed)


def _weight(ctx, value, where) -> float:
    lo, hi = WEIGHT_RANGE
    number = _number(ctx, value, where, positive=True, maximum=hi, default=70.0, what="a weight", unit="kg")
    if number < lo:
        ctx.fail(where, f"expected a weight >= {lo:g} kg, got {number:g}")
    return number


def _drug_regimen(ctx, drug, specs):
    from ..drugs import DEPOT_ROUTES
    from ..models import compose

    depot = None
    for s in specs:
        route = s.route or ("iv" if s.cmt is None else None)
        if route is None:
            continue
        if route not in drug.routes:
            ctx.fail(_join(s.where, "route"), f"{drug.name} has no route {route!r}; known routes: "
                                              f"{', '.join(drug.routes)}")
        if route in DEPOT_ROUTES:
            if depot is not None and route != depot:
                ctx.fail(_join(s.where, "route"), f"one regimen cannot mix the depot routes {depot!r} and {route!r} "
                                                  f"(they share {drug.prefix}.DEPOT, F1 and KA); use two regimens")
            depot = route
    d = drug.with_route(depot) if depot else drug
    model = compose(*d.components())
    cmts = []
    for s in specs:
        if s.cmt is not None:
            _check_state(ctx, model, s.cmt, _join(s.where, "cmt"))
            cmts.append(s.cmt)
        else:
            cmts.append(d.routes[s.route or "iv"]["cmt"])
    return model, dict(d.params), cmts


# ------------------------------------------------------------------------------------------------
# pkpd trial
# ------------------------------------------------------------------------------------------------
def load_trial(path, n: int | None = None) -> TrialScenario:
    """Read and validate a ``pkpd trial`` scenario file (``n`` overrides ``population.n``)."""
    path = Path(path)
    return _trial(read_toml(path), path.name, str(path), n)


def parse_trial(text: str, name: str = "trial.toml", n: int | None = None) -> TrialScenario:
    """Validate a ``pkpd trial`` scenario given as TOML text."""
    return _trial(_parse_text(text, name), name, name, n)


def _population(ctx, table, n_override) -> dict:
    _keys(ctx, table, "population", tuple(POPULATION_KEYS), required=() if n_override else ("n",))
    g = table.get
    n = n_override if n_override else _integer(ctx, g("n"), "population.n", minimum=1)
    if n > MAX_POPULATION:
        ctx.fail("--n" if n_override else "population.n", f"at most {MAX_POPULATION} subjects, got {n}")
    ancestry = _string(ctx, g("ancestry"), "population.ancestry", default="European")
    if ancestry.lower() == "none":
        ancestry = None
    out = {"n": n, "ancestry": ancestry, "seed": _integer(ctx, g("seed"), "population.seed", minimum=0, default=2024),
           "sex": _number(ctx, g("female"), "population.female", minimum=0.0, default=0.5)}
    if out["sex"] > 1:
        ctx.fail("population.female", f"expected a fraction in [0, 1], got {out['sex']:g}")
    for key in ("age", "weight"):
        value = g(key)
        if value is None:
            continue
        where = f"population.{key}"
        if not isinstance(value, list) or len(value) != 4:
            ctx.fail(where, f"expected [mean, SD, lower, upper], {_got(value)}")
        mean, sd, lo, hi = (_number(ctx, v, _join(where, i)) for i, v in enumerate(value))
        if not (sd > 0 and lo < hi and lo <= mean <= hi):
            ctx.fail(where, f"expected [mean, SD > 0, lower, upper] with lower <= mean <= upper, got {value}")
        least, most = AGE_RANGE if key == "age" else WEIGHT_RANGE
        unit = "years" if key == "age" else "kg"
        if lo < least:
            ctx.fail(_join(where, 2), f"expected a lower bound >= {least:g} {unit}, got {lo:g}")
        if hi > most:
            ctx.fail(_join(where, 3), f"expected an upper bound <= {most:g} {unit}, got {hi:g}")
        out[key] = (mean, sd, lo, hi)
    if ancestry is not None:
        from ..errors import ModelError
        from ..physiology.genetics import allele_frequencies
        try:
            allele_frequencies("CYP2C19", ancestry)
        except (ModelError, KeyError, ValueError) as exc:
            ctx.fail("population.ancestry", " ".join(str(exc).split()).strip("'\""))
    return out


def _endpoint(ctx, table, where, scale, default_output, available):
    from ..trials import endpoints

    if not isinstance(table, Mapping):
        ctx.fail(where, f"expected an endpoint table ([[endpoints]]), {_got(table)}")
    kind = _string(ctx, table.get("type"), _join(where, "type"), choices=tuple(ENDPOINT_TYPES))
    needs, optional = ENDPOINT_TYPES[kind]
    _keys(ctx, table, where, ("type", "name", "output", *needs, *optional), required=needs)
    g = table.get
    name = _string(ctx, g("name"), _join(where, "name"), default=None)
    seizure = kind in ("terminated_by", "time_to_termination")
    output = _string(ctx, g("output"), _join(where, "output"),
                     default="SEIZURE.ACTIVITY" if seizure else default_output)
    if output not in available:
        ctx.fail(_join(where, "output"), f"unknown output {output!r}; known: {', '.join(available)}")
    threshold = _number(ctx, g("threshold"), _join(where, "threshold"), positive=True, default=0.1)
    try:
        if kind == "terminated_by":
            t = _time(ctx, g("time"), _join(where, "time"), scale, positive=True) * scale
            return endpoints.terminated_by(t, output, threshold, name=name)
        if kind == "time_to_termination":
            return endpoints.time_to_termination(output, threshold, name=name)
        if kind == "time_above":
            c = _number(ctx, g("concentration"), _join(where, "concentration"), minimum=0.0)
            return endpoints.time_above(output, c, name=name)
        if kind == "auc":
            start = _time(ctx, g("start"), _join(where, "start"), scale, default=0.0) * scale
            end = _time(ctx, g("end"), _join(where, "end"), scale, positive=True, default=None)
            return endpoints.auc(output, start, None if end is None else end * scale, name=name)
        if kind == "cmax":
            return endpoints.cmax(output, name=name)
        if kind == "minimum":
            return endpoints.minimum(output, name=name)
        t = _time(ctx, g("time"), _join(where, "time"), scale) * scale
        return endpoints.trough(output, t, name=name)
    except ScenarioError:                 # already names the file and the key
        raise
    except PkpdError as exc:
        ctx.fail(where, str(exc))


def _trial(doc, name, path, n_override) -> TrialScenario:
    from ..trials import Dose

    ctx = _Ctx(name)
    _keys(ctx, doc, "", tuple(TRIAL_KEYS), required=("population", "model", "arms", "times", "endpoints"))
    unit, scale = _time_unit(ctx, doc)
    title = _string(ctx, doc.get("title"), "title", default=Path(name).stem)
    seed = _integer(ctx, doc.get("seed"), "seed", minimum=0, default=2024)
    population = _population(ctx, doc["population"], n_override)
    times = _times(ctx, doc["times"], "times", scale)
    mtab = doc["model"]
    _keys(ctx, mtab, "model", tuple(MODEL_KEYS), required=("name",))
    mname = _string(ctx, mtab["name"], "model.name")
    se = mname.strip().lower().replace("-", "_").replace(" ", "_") in SE_MODEL_NAMES
    arms = _named_groups(ctx, doc, None, "arms", scale, allow_drug=True)
    overrides = _number_table(ctx, mtab.get("parameters"), "model.parameters")
    iiv = _iiv_table(ctx, mtab.get("iiv"), "model.iiv")
    opts = _options(ctx, doc.get("options"))
    if se:
        groups, dose_arms, available, label = _se_groups(ctx, mtab, arms, overrides, iiv)
    else:
        for k in ("drugs",):
            if k in mtab:
                ctx.fail(_join("model", k), "only for the status-epilepticus model (name = \"status_epilepticus\")")
        groups, dose_arms, available, label = _population_groups(ctx, mtab, mname, arms, overrides, iiv)
    default_output = "SEIZURE.ACTIVITY" if se else available[0]
    eps = doc["endpoints"]
    if isinstance(eps, Mapping):
        eps = [eps]
    if not isinstance(eps, list) or not eps:
        ctx.fail("endpoints", f"expected a non-empty array of endpoint tables ([[endpoints]]), {_got(eps)}")
    endpoint_list = [_endpoint(ctx, e, _join("endpoints", i), scale, default_output, available)
                     for i, e in enumerate(eps)]
    names = [e.name for e in endpoint_list]
    dup = [n for n in names if names.count(n) > 1]
    if dup:
        ctx.fail("endpoints", f"endpoint name {dup[0]!r} is used twice; give one of them a name")
    for i, n in enumerate(names):
        if n in _RESERVED_ENDPOINT_NAMES:         # columns of subjects.csv (pkpd.trials.TrialDesign refuses them)
            ctx.fail(_join(_join("endpoints", i), "name"), f"{n!r} is reserved (a column of subjects.csv); "
                                                           "give another name")
    plot_output = _string(ctx, doc.get("plot_output"), "plot_output", default=endpoint_list[0].outputs[0])
    if plot_output not in available:
        ctx.fail("plot_output", f"unknown output {plot_output!r}; known: {', '.join(available)}")
    arms_out = {}
    for arm, specs in dose_arms.items():
        doses = []
        for s, cmt in specs:
            duration = s.duration
            if s.rate is not None:
                if s.per_kg:
                    ctx.fail(_join(s.where, "rate"), "a per_kg dose in a trial arm needs duration, not rate")
                duration = _check_rate(ctx, s, s.amount)
            try:
                doses.append(Dose(cmt, s.amount, per_kg=s.per_kg, max_amount=s.max_amount, time=s.time,
                                  duration=duration, ii=s.ii, addl=s.addl))
            except PkpdError as exc:
                ctx.fail(s.where, str(exc))
        arms_out[arm] = doses
    n, block = population["n"], opts.get("block_size", 1000)
    grid = len(np.union1d(times, [t for e in endpoint_list for t in getattr(e, "times", ())]))
    states = max(len(source.model.states) + len(source.model.outputs) for source, _ in groups)
    k, n_arms, per_subject = min(n, block), len(arms_out), 15 + len(arms_out) * (len(endpoint_list) + 2)
    block_part = k * grid * (9 + states) > n * per_subject
    _check_memory(ctx, "options.block_size" if block_part else "population.n",
                  trial_memory(n, block, grid, states, n_arms, len(endpoint_list)),
                  f"subjects simulated together x times x values = {k} x {grid} x {9 + states} (events, states, "
                  f"outputs) + subjects x values = {n} x {per_subject} (covariates, endpoints of {n_arms} arm(s))",
                  "options.block_size (default 1000) or the number of times (times.step, times.stop)" if block_part
                  else "population.n (or --n), or the number of arms and endpoints")
    return TrialScenario(path, title, unit, times, population, groups, arms_out, tuple(endpoint_list), seed,
                         plot_output, opts, label)


def _options(ctx, table) -> dict:
    if table is None:
        return {}
    _keys(ctx, table, "options", ("block_size", "chunk_size", "rtol", "atol", "solver"))
    out = {}
    for k in ("block_size", "chunk_size"):
        if k in table:
            out[k] = _integer(ctx, table[k], f"options.{k}", minimum=1)
    for k, (lo, hi) in (("rtol", RTOL_RANGE), ("atol", ATOL_RANGE)):
        if k in table:
            out[k] = _number(ctx, table[k], f"options.{k}", positive=True, maximum=hi)
            if out[k] < lo:
                ctx.fail(f"options.{k}", f"expected a number >= {lo:g}, got {out[k]:g}")
    if "solver" in table:
        out["solver"] = _string(ctx, table["solver"], "options.solver", choices=("dp5", "lsoda", "bdf", "radau"))
    return out


def _se_groups(ctx, mtab, arms, overrides, iiv):
    """Status epilepticus: one model per benzodiazepine (the model holds at most one); arms grouped so.

    The patients are the same in every group: :func:`pkpd.trials.se_population` draws each random effect
    from its own stream (severity; each drug's PK), whichever drugs the model holds."""
    from dataclasses import replace

    from ..se import scenarios
    from ..drugs import DEPOT_ROUTES
    from ..se.population import se_population

    known_drugs = ", ".join(scenarios.DRUGS)
    listed = mtab.get("drugs")
    if listed is not None:
        if not isinstance(listed, list) or not listed:
            ctx.fail("model.drugs", f"expected a non-empty array of drug names, {_got(listed)}")
        for i, d in enumerate(listed):
            if _string(ctx, d, _join("model.drugs", i)) not in scenarios.DRUGS:
                ctx.fail(_join("model.drugs", i), f"unknown drug {d!r}; known drugs of the status-epilepticus "
                                                  f"model: {known_drugs}")
    for k in iiv:
        if k not in scenarios.IIV:
            ctx.fail(_join("model.iiv", k), f"unknown IIV key; expected one of: {', '.join(scenarios.IIV)}")
    routes, arm_drugs = {}, {}
    for arm, specs in arms.items():
        used = []
        for i, s in enumerate(specs):
            if s.drug is None:
                if s.cmt is not None:
                    continue
                if not (listed and len(listed) == 1):
                    ctx.fail(_join(s.where, "drug"), f"missing: which drug is given (one of {known_drugs})")
                s = specs[i] = replace(s, drug=listed[0])
            if s.drug not in scenarios.DRUGS:
                ctx.fail(_join(s.where, "drug"), f"unknown drug {s.drug!r}; known drugs of the status-epilepticus "
                                                 f"model: {known_drugs}")
            if listed is not None and s.drug not in listed:
                ctx.fail(_join(s.where, "drug"), f"{s.drug!r} is not one of model.drugs {listed}")
            made = scenarios.DRUGS[s.drug]["make"]()
            route = s.route or ("iv" if s.cmt is None else None)
            if route is not None:
                if route not in made.routes:
                    ctx.fail(_join(s.where, "route"), f"{s.drug} has no route {route!r}; known routes: "
                                                      f"{', '.join(made.routes)}")
                if route in DEPOT_ROUTES:
                    if routes.get(s.drug, route) != route:
                        ctx.fail(_join(s.where, "route"), f"{s.drug} is given by two depot routes ({routes[s.drug]!r} "
                                                          f"and {route!r}); the model has one depot per drug")
                    routes[s.drug] = route
            if s.drug not in used:
                used.append(s.drug)
        arm_drugs[arm] = used
    order = list(scenarios.DRUGS)
    groups: dict = {}
    for arm, used in arm_drugs.items():
        bzd = [d for d in used if scenarios.DRUGS[d]["role"] == "bzd"]
        if len(bzd) > 1:
            ctx.fail(_join("arms", arm), f"at most one benzodiazepine per arm (the model has one BZD effect), got "
                                         f"{', '.join(bzd)}")
        groups.setdefault(bzd[0] if bzd else None, []).append(arm)
    if None in groups and len(groups) > 1:          # arms without a benzodiazepine join the first group
        extra = groups.pop(None)
        groups[next(iter(groups))].extend(extra)
    others = [d for d in (listed or []) if scenarios.DRUGS[d]["role"] != "bzd"]
    out, dose_arms, available, used_params = [], {}, None, set()
    for arm_names in groups.values():
        drugs = set(others) | {d for a in arm_names for d in arm_drugs[a]}
        drugs = tuple(sorted(drugs, key=order.index)) or ("midazolam",)
        group_routes = {d: routes[d] for d in drugs if d in routes}
        try:
            model = scenarios.se_model(drugs)
            known = {p.name: p for p in model.parameters}
            mine = {k: v for k, v in overrides.items() if k in known}
            for k, v in mine.items():
                _check_parameter(ctx, _join("model.parameters", k), v, known[k])
            used_params |= set(mine)
            source = se_population(drugs, iiv=iiv, params=mine, routes=group_routes)
        except ScenarioError:                 # already names the file and the key
            raise
        except PkpdError as exc:
            ctx.fail("model", str(exc))
        names = list(model.outputs) + list(model.states)
        available = names if available is None else available + [o for o in names if o not in available]
        for arm in arm_names:
            resolved = []
            for s in arms[arm]:
                if s.cmt is not None:
                    _check_state(ctx, model, s.cmt, _join(s.where, "cmt"))
                    resolved.append((s, s.cmt))
                else:
                    resolved.append((s, scenarios.DRUGS[s.drug]["make"]().routes[s.route or "iv"]["cmt"]))
            dose_arms[arm] = resolved
        out.append((source, arm_names))
    for k in overrides:
        if k not in used_params:
            ctx.fail(_join("model.parameters", k), "unknown parameter of the status-epilepticus model with these "
                                                   "drugs (qualified names such as \"SEIZURE.E0\", \"MDZ.CL\")")
    dose_arms = {a: dose_arms[a] for a in arms}
    drugs_all = sorted({d for used in arm_drugs.values() for d in used}, key=order.index)
    return out, dose_arms, available, "status epilepticus (" + ", ".join(drugs_all) + ")"


def _population_groups(ctx, mtab, mname, arms, overrides, iiv):
    """A library model or drug with log-normal IIV: one PopulationModel for every arm."""
    from .. import drugs as drug_library
    from ..estimation import ProportionalError
    from ..models import compose
    from ..population import PopulationModel

    key = mname.strip().lower().replace("-", "_").replace(" ", "_")
    weight = _weight(ctx, mtab.get("weight"), "model.weight")
    drug = None
    if key in drug_library.LIBRARY:
        drug = _resolve_drug(ctx, mname, "model.name", weight)
        depots = {s.route for specs in arms.values() for s in specs if s.route and s.route != "iv"}
        for specs in arms.values():
            for s in specs:
                if s.route and s.route not in drug.routes:
                    ctx.fail(_join(s.where, "route"), f"{drug.name} has no route {s.route!r}; known routes: "
                                                      f"{', '.join(drug.routes)}")
        if len(depots) > 1:
            ctx.fail("arms", f"{drug.name}: one trial model has one depot; arms use {sorted(depots)}")
        d = drug.with_route(depots.pop()) if depots else drug
        model = compose(*d.components())
        theta = dict(d.params)
        prefix = drug.prefix
    else:
        try:
            from ..models.registry import resolve_model
            model = resolve_model(mname)
        except PkpdError:
            known = list(_library_models()) + list(drug_library.LIBRARY)
            ctx.fail("model.name", f"unknown model {mname!r}; known: status_epilepticus, " + ", ".join(known))
        theta = {p.name: p.default for p in model.parameters}
        prefix = ""
    known = list(theta)
    theta.update(_qualify(ctx, overrides, known, prefix, "model.parameters",
                          parameters={p.name: p for p in model.parameters}))
    omega = {k: v * v for k, v in _qualify(ctx, iiv, known, prefix, "model.iiv").items() if v > 0}
    for k in omega:
        if theta[k] <= 0:
            ctx.fail(_join("model.iiv", k), f"log-normal IIV needs a positive typical value, got {theta[k]:g}")
    if not omega:
        ctx.fail("model.iiv", "missing: a trial of a library model or drug needs log-normal IIV (SD of log > 0) on "
                              "at least one parameter, e.g. [model.iiv] CL = 0.3")
    transforms = {k: "log" if v > 0 else "identity" for k, v in theta.items()}
    try:
        pm = PopulationModel(model, theta, omega, ProportionalError(), transforms=transforms)
    except PkpdError as exc:
        ctx.fail("model", str(exc))
    dose_arms = {}
    for arm, specs in arms.items():
        resolved = []
        for s in specs:
            if s.drug is not None:
                ctx.fail(_join(s.where, "drug"), "only for the status-epilepticus model")
            if drug is not None and s.cmt is None:
                resolved.append((s, drug.routes[s.route or "iv"]["cmt"]))
            else:
                resolved.append((s, _library_cmt(ctx, model, s)))
        dose_arms[arm] = resolved
    available = list(model.outputs) + list(model.states)
    return [(pm, list(arms))], dose_arms, available, model.name
