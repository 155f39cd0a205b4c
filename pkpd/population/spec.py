"""A population model as plain data (JSON-ready), and back: how fit files store their model.

The stored form is declarative: the structural model is a class name from the model library (an allow-list)
with its drug prefix; typical values, Omega, residual error, covariate effects and options are numbers and
names; a covariate expression (``"WT/70"``, ``"APGR < 5"``) is stored as its text and parsed again on reading,
against the same whitelist (:mod:`pkpd.population.covariates`), never evaluated as code. Reading it builds the model through the same public constructors a user calls, so every value is
validated as if typed by hand, and nothing in a file can run code (no pickle, no eval).

A model that cannot be described this way (a composed or hand-written structural model, an
``individual(...)`` function) is not stored: :func:`popmodel_to_spec` returns None.

Examples
--------
>>> import pkpd
>>> from pkpd.models import OneCompartmentOral
>>> pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1},
...                           pkpd.ProportionalError(0.1), [pkpd.power("CL", "WT", reference=70, exponent=0.75)])
>>> spec = popmodel_to_spec(pm)
>>> spec["model"], spec["error"]
({'class': 'OneCompartmentOral', 'drug': None}, {'kind': 'proportional', 'CV': 0.1, 'fixed': False})
>>> back = popmodel_from_spec(spec, "fit.json")
>>> back.theta == pm.theta, back.covariates == pm.covariates, back.omega.equals(pm.omega)
(True, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError, ParameterError, PkpdError
from ..models.registry import LIBRARY
from .occasions import IOV
from .residual import (COMBINED_FORMS, AdditiveError, CombinedError, ExponentialError, ProportionalError,
                       ResidualError)
from . import covariates as _covariates

__all__ = ["popmodel_to_spec", "popmodel_from_spec"]

#: Residual error kinds a file may name, with the class and its constructor arguments by parameter name.
_ERRORS = {"additive": (AdditiveError, {"SD": "sd"}), "proportional": (ProportionalError, {"CV": "cv"}),
           "combined": (CombinedError, {"SD": "sd", "CV": "cv"}), "exponential": (ExponentialError, {"SD": "sd"})}
_COVARIATE_KINDS = {"power": "exponent", "exponential": "coefficient", "linear": "slope"}
#: Optional keys of a stored covariate effect (files written before they existed lack them).
_COVARIATE_OPTIONAL = {"name"}
_KEYS = {"model", "theta", "omega", "error", "covariates", "transforms", "output", "fixed", "carry"}
#: Optional keys of a stored model (files written before between-occasion variability existed lack it).
_OPTIONAL_KEYS = {"iov"}


def popmodel_to_spec(popmodel) -> dict | None:
    """The population model as JSON-ready data, or None if its structure is not a library model."""
    model = popmodel.model
    cls = LIBRARY.get(type(model).__name__)
    if popmodel.individual is not None or cls is None or type(model) is not cls:
        return None
    errors = popmodel.error
    error = ({str(k): _error_spec(v) for k, v in errors.items()} if isinstance(errors, Mapping)
             else _error_spec(errors))
    return {"model": {"class": type(model).__name__, "drug": model.drug},
            "theta": {k: float(v) for k, v in popmodel.theta.items()},
            "omega": {"names": list(popmodel.omega.index), "matrix": popmodel.omega.to_numpy().tolist()},
            "error": error,
            "covariates": [_covariate_spec(e) for e in popmodel.covariates],
            "transforms": dict(popmodel.transforms), "output": popmodel.output,
            "fixed": list(popmodel.fixed), "carry": popmodel.carry,
            **({"iov": _iov_spec(popmodel.iov)} if popmodel.iov is not None else {})}


def _iov_spec(iov) -> dict:
    return {"names": list(iov.omega.index), "matrix": iov.omega.to_numpy().tolist(), "column": iov.column,
            "occasions": None if iov.occasions is None else list(iov.occasions)}


def _error_spec(error: ResidualError) -> dict:
    kind = next(k for k, (cls, _) in _ERRORS.items() if type(error) is cls)
    # a combined error's form, an exponential error's guard, stored when not the default (files written before
    # they existed lack them)
    form = {"form": error.form} if getattr(error, "form", "variance") != "variance" else {}
    if getattr(error, "zero_prediction", None) is not None:
        form["zero_prediction"] = float(error.zero_prediction)
    return {"kind": kind, **{k: float(v) for k, v in error.parameters.items()}, "fixed": bool(error.fixed), **form}


def _covariate_spec(effect) -> dict:
    out = {"kind": effect.kind, "parameter": effect.parameter, "covariate": effect.covariate,
           "reference": effect.reference, "fixed": effect.fixed}
    if effect.kind == "categorical":
        out["ratios"] = {level: effect.initial[name] for level, name in zip(effect.levels, effect.names)}
        out["gene"] = effect.gene
    else:
        (out["value"],) = effect.initial.values()
    if effect.kind == "indicator":
        del out["reference"]
    if effect.name and effect.name != _covariates._label(effect.covariate):
        out["name"] = effect.name              # a chosen coefficient name (the default is derived on reading)
    return out


# -- reading ------------------------------------------------------------------------------------------
class _Reader:
    """Checks one stored spec, naming the file and the key of anything unexpected."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str, expected: str, value) -> DatasetError:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return DatasetError(f"{self.where}: popmodel.{key} must be {expected}, got {shown}")

    def table(self, value, key, allowed=None, required=()) -> dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise self.fail(key, "a table", value)
        extra = sorted(set(value) - set(allowed)) if allowed is not None else []
        missing = sorted(set(required) - set(value))
        if extra or missing:
            raise self.fail(key, f"a table with keys {sorted(allowed or required)}",
                            f"unknown {extra}" if extra else f"missing {missing}")
        return value

    def number(self, value, key) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(key, "a finite number", value)
        return float(value)

    def name(self, value, key, *, optional=False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.isidentifier():
            raise self.fail(key, "a name", value)
        return value

    def choice(self, value, key, choices):
        if value not in choices:
            raise self.fail(key, f"one of {sorted(choices)}", value)
        return value

    def boolean(self, value, key) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value


def popmodel_from_spec(spec, where: str):
    """Build the population model a spec describes; :class:`DatasetError` naming ``where`` and the key if the
    spec is not one :func:`popmodel_to_spec` writes."""
    from .model import PopulationModel

    r = _Reader(where)
    spec = r.table(spec, "", _KEYS | _OPTIONAL_KEYS, _KEYS)
    m = r.table(spec["model"], "model", {"class", "drug"}, {"class", "drug"})
    library = LIBRARY
    cls = library[r.choice(m["class"], "model.class", library)]
    theta = {r.name(k, "theta"): r.number(v, f"theta.{k}") for k, v in r.table(spec["theta"], "theta").items()}
    omega = _matrix(r, r.table(spec["omega"], "omega", {"names", "matrix"}, {"names", "matrix"}), "omega")
    iov = spec.get("iov")
    if iov is not None:
        keys = {"names", "matrix", "column", "occasions"}
        iov = r.table(iov, "iov", keys, keys)
        occasions = iov["occasions"]
        if occasions is not None:
            occasions = [v if isinstance(v, str) else r.number(v, "iov.occasions")
                         for v in _list(r, occasions, "iov.occasions")]
        iov = (_matrix(r, iov, "iov"), r.name(iov["column"], "iov.column"), occasions)
    error = spec["error"]
    if isinstance(error, dict) and "kind" not in error:
        error = {r.name(k, "error"): _error(r, v, f"error.{k}") for k, v in r.table(error, "error").items()}
    else:
        error = _error(r, error, "error")
    effects = [_covariate(r, e, f"covariates[{i}]") for i, e in enumerate(_list(r, spec["covariates"], "covariates"))]
    transforms = {r.name(k, "transforms"): r.choice(v, f"transforms.{k}", ("log", "logit", "identity"))
                  for k, v in r.table(spec["transforms"], "transforms").items()}
    fixed = tuple(r.name(n, "fixed") for n in _list(r, spec["fixed"], "fixed"))
    try:
        iov = IOV(iov[0], column=iov[1], occasions=iov[2]) if iov is not None else None
        return PopulationModel(cls(drug=r.name(m["drug"], "model.drug", optional=True)), theta, omega, error,
                               effects, transforms=transforms, output=r.name(spec["output"], "output", optional=True),
                               fixed=fixed, carry=r.choice(spec["carry"], "carry", ("nocb", "locf")), iov=iov)
    except PkpdError as err:
        raise DatasetError(f"{where}: the stored population model is invalid: {err}") from None


def _matrix(r: _Reader, table: dict, key: str) -> pd.DataFrame:
    """A named symmetric matrix stored as ``{"names": [...], "matrix": [[...], ...]}``."""
    names = [r.name(n, f"{key}.names") for n in _list(r, table["names"], f"{key}.names")]
    rows = _list(r, table["matrix"], f"{key}.matrix")
    if len(rows) != len(names) or any(not isinstance(row, list) or len(row) != len(names) for row in rows):
        raise r.fail(f"{key}.matrix", f"a {len(names)} x {len(names)} list of lists", table["matrix"])
    matrix = [[r.number(v, f"{key}.matrix") for v in row] for row in rows]
    return pd.DataFrame(np.array(matrix), index=names, columns=names)


def _list(r: _Reader, value, key) -> list:
    if not isinstance(value, list):
        raise r.fail(key, "a list", value)
    return value


def _error(r: _Reader, value, key) -> ResidualError:
    kind = r.choice(r.table(value, key).get("kind"), f"{key}.kind", _ERRORS)
    cls, arguments = _ERRORS[kind]
    optional = {CombinedError: {"form"}, ExponentialError: {"zero_prediction"}}.get(cls, set())
    value = r.table(value, key, {"kind", "fixed", *arguments, *optional}, {"kind", "fixed", *arguments})
    form = {"form": r.choice(value["form"], f"{key}.form", COMBINED_FORMS)} if "form" in value else {}
    if "zero_prediction" in value:
        form["zero_prediction"] = r.number(value["zero_prediction"], f"{key}.zero_prediction")
    return cls(**{arg: r.number(value[p], f"{key}.{p}") for p, arg in arguments.items()},
               fixed=r.boolean(value["fixed"], f"{key}.fixed"), **form)


def _covariate(r: _Reader, value, key):
    """One stored covariate effect, rebuilt by its public constructor: a covariate expression is stored as its
    text and parsed again (checked against the same whitelist as when typed; nothing is evaluated here)."""
    common = {"kind", "parameter", "covariate", "fixed"}
    kind = r.choice(r.table(value, key).get("kind"), f"{key}.kind", {*_COVARIATE_KINDS, "categorical", "indicator"})
    extra = {"ratios", "gene", "reference"} if kind == "categorical" else \
        {"value"} if kind == "indicator" else {"value", "reference"}
    value = r.table(value, key, common | extra | _COVARIATE_OPTIONAL, common | extra)
    parameter = r.name(value["parameter"], f"{key}.parameter")
    covariate = value["covariate"]
    if not isinstance(covariate, str) or not covariate:
        raise r.fail(f"{key}.covariate", "a column name or expression", covariate)
    fixed = r.boolean(value["fixed"], f"{key}.fixed")
    name = r.name(value.get("name"), f"{key}.name", optional=True)
    try:
        if kind == "indicator":
            return _covariates.indicator(parameter, covariate, r.number(value["value"], f"{key}.value"), fixed=fixed,
                                         name=name)
        if kind != "categorical":
            build = getattr(_covariates, kind)
            return build(parameter, covariate, reference=r.number(value["reference"], f"{key}.reference"),
                         fixed=fixed, name=name, **{_COVARIATE_KINDS[kind]: r.number(value["value"], f"{key}.value")})
        if not isinstance(value["reference"], str):
            raise r.fail(f"{key}.reference", "a level name", value["reference"])
        ratios = {level: r.number(v, f"{key}.ratios.{level}")
                  for level, v in r.table(value["ratios"], f"{key}.ratios").items()}
        return _covariates.categorical(parameter, covariate, ratios, reference=value["reference"],
                                       gene=r.name(value["gene"], f"{key}.gene", optional=True), fixed=fixed,
                                       name=name)
    except ParameterError as err:
        raise DatasetError(f"{r.where}: popmodel.{key}: {err}") from None
