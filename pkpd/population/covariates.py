"""Covariate effects on typical values: power, exponential, linear and categorical (genotypes included).

Each effect multiplies the typical value of one model parameter, as NONMEM's ``TVCL = THETA(1) *
(WT/70)**THETA(2) * ...``. Its coefficients are estimated with the other fixed effects (named
``<parameter>_<covariate>``, one per level for a categorical effect) unless ``fixed=True``.

=====================  ====================================================  ==================
effect                 multiplier of the typical value                       coefficient(s)
=====================  ====================================================  ==================
:func:`power`          ``(x / reference) ** exponent``                       ``exponent``
:func:`exponential`    ``exp(coefficient * (x - reference))``                ``coefficient``
:func:`linear`         ``1 + slope * (x - reference)``                       ``slope``
:func:`categorical`    ``ratio[level]`` (1 for the reference level)          one ratio per level
=====================  ====================================================  ==================

Covariate values come from the dataset's non-canonical columns (``WT``, ``AGE``, ``CYP2C19`` ...). A
categorical effect with ``gene=`` reads diplotypes (``"*1/*2"``) and groups them by CPIC phenotype
(``"NM"``, ``"IM"``, ``"PM"`` ...) through :func:`pkpd.physiology.genetics.phenotype`.

**Expressions.** Where a column name is expected, every effect also takes an expression of columns, as
NONMEM's ``TVCL = THETA(1) * (WT/70)**THETA(2)`` or ``IF (APGR < 5) TVV = TVV * THETA(3)``:
``power("CL", "WT/70", reference=1)``, ``categorical("V", "APGR < 5", {"1": 1.2})`` (reference ``"0"``) or
:func:`indicator` ``("V", "APGR < 5", 1.2)`` (``ratio`` where the condition holds, 1 elsewhere). A string
that is a Python identifier is a column; anything else is an expression, parsed once with :mod:`ast` and
evaluated over the columns (nothing is ever ``eval``-ed). Allowed: column names, numbers,
``+ - * / **``, comparisons ``< <= > >= == !=`` (1 where true, 0 where false, chains as ``1 <= AGE < 18``),
``and``/``or``/``not`` and the functions ``log``, ``exp``, ``sqrt``, ``abs``, ``min``, ``max`` (elementwise);
anything else raises :class:`~pkpd.ParameterError` naming the expression and the offending part. The
columns it reads must hold finite numbers. Coefficients are named ``<parameter>_<name>``, ``name`` the
column, or for an expression a readable form of it (``"WT/70"`` -> ``WT_div_70``, ``"APGR < 5"`` ->
``APGR_lt_5``) unless ``name=`` is given.

Examples
--------
>>> import pandas as pd
>>> from pkpd.population.covariates import power, categorical
>>> cov = pd.DataFrame({"WT": [35.0, 70.0, 140.0], "CYP2C19": ["*1/*1", "*1/*2", "*2/*2"]})
>>> wt = power("CL", "WT", reference=70, exponent=0.75, fixed=True)
>>> wt.multiplier(wt.initial, cov).round(4)
array([0.5946, 1.    , 1.6818])
>>> geno = categorical("CL", "CYP2C19", {"IM": 0.8, "PM": 0.5}, gene="CYP2C19")
>>> geno.initial
{'CL_CYP2C19_IM': 0.8, 'CL_CYP2C19_PM': 0.5}
>>> geno.multiplier(geno.initial, cov)
array([1. , 0.8, 0.5])
>>> low = indicator("V", "WT < 50", 1.3)
>>> low.initial, low.multiplier(low.initial, cov)
({'V_WT_lt_50': 1.3}, array([1.3, 1. , 1. ]))
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from .._internal.expressions import compile_expression
from ..errors import DatasetError, ModelError, ParameterError
from ..physiology.genetics import phenotype

__all__ = ["CovariateEffect", "power", "exponential", "linear", "categorical", "indicator", "is_expression"]


# -- expressions ---------------------------------------------------------------------------------------
#: Longest expression accepted (characters): expressions are short formulas, and a file may hold one.
MAX_EXPRESSION_LENGTH = 500
#: The functions an expression may call (elementwise): name -> (numpy function, least, most arguments).
_FUNCTIONS = {"log": (np.log, 1, 1), "exp": (np.exp, 1, 1), "sqrt": (np.sqrt, 1, 1), "abs": (np.abs, 1, 1),
              "min": (np.minimum, 2, None), "max": (np.maximum, 2, None)}
_WORDS = [("**", "pow"), ("<=", "le"), (">=", "ge"), ("==", "eq"), ("!=", "ne"), ("<", "lt"), (">", "gt"),
          ("/", "div"), ("*", "x"), ("+", "plus"), ("-", "minus")]


def is_expression(covariate: str) -> bool:
    """Whether ``covariate`` is an expression (anything but a plain Python identifier, which names a column).

    >>> is_expression("WT"), is_expression("WT/70"), is_expression("APGR < 5")
    (False, True, True)
    """
    return not (isinstance(covariate, str) and covariate.isidentifier())


@dataclass(frozen=True)
class _Expression:
    """A parsed, checked covariate expression: its text, the closure computing it and the columns it reads."""

    text: str
    fn: Callable = field(repr=False, compare=False)
    columns: tuple

    def evaluate(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = self.fn(columns)
        return np.array(np.broadcast_to(np.asarray(out, dtype=float), (n,)))


def parse_expression(text: str) -> _Expression:
    """Parse and check a covariate expression (:class:`~pkpd.ParameterError` naming the offending part).

    >>> parse_expression("log(WT/70) + (AGE < 2)").columns
    ('WT', 'AGE')
    """
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"covariate expression {text!r}: give a column name or an expression of columns")
    return _parse(text)


@lru_cache(maxsize=512)
def _parse(text: str) -> _Expression:
    shown = repr(text) if len(text) <= MAX_EXPRESSION_LENGTH else f"{text[:40]!r}..."
    e = compile_expression(text, error=ParameterError, prefix=f"covariate expression {shown}: ",
                           functions=_FUNCTIONS, booleans=True, chained=True, max_length=MAX_EXPRESSION_LENGTH,
                           names_are="column names")
    return _Expression(e.text, e.fn, e.names)


def _label(covariate: str) -> str:
    """A name for coefficients: the column, or a readable identifier for an expression (``WT_div_70``)."""
    if not is_expression(covariate):
        return covariate
    text = re.sub(r"(\d)\.(\d)", r"\1p\2", covariate)
    for op, word in _WORDS:
        text = text.replace(op, f" {word} ")
    text = re.sub(r"\W+", "_", text).strip("_")
    return text or "expr"


def _level(value) -> str:
    """The label of a level of an expression's value (and of a ratio key given for it): ``1``, ``0``, ``2.5``."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(value)


@dataclass(frozen=True)
class CovariateEffect:
    """One covariate effect on the typical value of ``parameter`` (build it with :func:`power`,
    :func:`exponential`, :func:`linear`, :func:`categorical` or :func:`indicator`).

    Attributes
    ----------
    parameter : str
        The model parameter whose typical value is multiplied.
    covariate : str
        The dataset column read, or an expression of columns (see the module documentation).
    kind : {"power", "exponential", "linear", "categorical", "indicator"}
    initial : dict
        Coefficient names (the fixed effects added to ``theta``) and their initial values.
    reference : float or str
        Reference value (continuous) or level (categorical) where the multiplier is 1 (None: indicator).
    fixed : bool
        Hold the coefficients at their initial values.
    gene : str or None
        For a categorical genotype effect: the gene whose diplotypes the column holds.
    name : str
        The stem of the coefficient names (``<parameter>_<name>``): the column, or a readable form of
        the expression unless given.
    """

    parameter: str
    covariate: str
    kind: str
    initial: Mapping[str, float]
    reference: float | str | None
    fixed: bool = False
    gene: str | None = None
    levels: tuple = field(default=(), repr=False)
    name: str = field(default="", repr=False)

    @property
    def names(self) -> tuple:
        return tuple(self.initial)

    @property
    def is_expression(self) -> bool:
        """Whether :attr:`covariate` is an expression rather than a column name."""
        return is_expression(self.covariate)

    @property
    def columns(self) -> tuple:
        """The dataset columns the effect reads."""
        return parse_expression(self.covariate).columns if self.is_expression else (self.covariate,)

    def _what(self) -> str:
        return f"the expression {self.covariate!r}" if self.is_expression else f"covariate {self.covariate!r}"

    def _numbers(self, covariates: pd.DataFrame) -> tuple[np.ndarray, pd.Series | None]:
        """The numbers the effect reads (its column, or its expression evaluated), and the column itself."""
        if not self.is_expression:
            column = covariates[self.covariate]
            return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float), column
        expression = parse_expression(self.covariate)
        data = {}
        for name in expression.columns:
            column = covariates[name]
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(x)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                value = column.iloc[i]
                value = value.item() if hasattr(value, "item") else value
                raise DatasetError(f"covariate {name!r}: row {i} holds {value!r}; the expression {self.covariate!r} "
                                   f"(effect on {self.parameter}) needs finite numbers")
            data[name] = x
        return expression.evaluate(data, len(covariates)), None

    def values(self, covariates: pd.DataFrame) -> np.ndarray:
        """The covariate column or expression values (levels for a categorical effect), checked."""
        missing = [c for c in self.columns if c not in covariates.columns]
        if missing:
            reads = f"the expression {self.covariate!r} reads" if self.is_expression else "the dataset has no"
            has = " but the dataset has no such column" if self.is_expression else ""
            raise DatasetError(f"covariate effect on {self.parameter}: {reads} column {missing[0]!r}{has} "
                               f"(columns: {list(covariates.columns)})")
        if self.kind == "categorical" and not self.is_expression:
            return self._levels(covariates[self.covariate])
        x, column = self._numbers(covariates)
        need = {"power": "a positive number", "indicator": "0 or 1 (a condition such as 'APGR < 5', or a 0/1 column)",
                "categorical": "a finite number"}.get(self.kind, "a finite number")
        bad = ~np.isfinite(x)
        if self.kind == "power":
            bad |= x <= 0
        elif self.kind == "indicator":
            bad |= (x != 0) & (x != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            if column is not None:
                value = column.iloc[i]
                value = value.item() if hasattr(value, "item") else value
                holds = f"row {i} holds {value!r}"
            else:
                holds = f"row {i} gives {float(x[i]):.6g}"
            raise DatasetError(f"{self._what()}: {holds}; a {self.kind} effect on {self.parameter} needs {need}")
        if self.kind == "categorical":
            distinct, inverse = np.unique(x, return_inverse=True)
            return self._check_levels(np.array([_level(v) for v in distinct], dtype=object)[inverse])
        return x

    def _levels(self, column: pd.Series) -> np.ndarray:
        raw = column.to_numpy(dtype=object)
        if self.gene is not None:                 # parse each distinct diplotype once (called every evaluation)
            distinct, inverse = np.unique(raw.astype(str), return_inverse=True)
            try:
                raw = np.array([phenotype(self.gene, d).abbreviation for d in distinct], dtype=object)[inverse]
            except ModelError as err:
                raise DatasetError(f"covariate {self.covariate!r}: {err}") from None
        return self._check_levels(np.array([str(v) for v in raw], dtype=object))

    def _check_levels(self, labels: np.ndarray) -> np.ndarray:
        known = {str(self.reference), *map(str, self.levels)}
        unknown = sorted(set(labels) - known)
        if unknown:
            i = int(np.flatnonzero(labels == unknown[0])[0])
            raise DatasetError(f"{self._what()}: row {i} holds level {unknown[0]!r}; the effect "
                               f"on {self.parameter} knows the reference {self.reference!r} and {list(self.levels)}")
        return labels

    def multiplier(self, theta: Mapping[str, float], covariates: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The factor on the typical value for each row of ``covariates`` (a frame, or the effect's
        :meth:`values` already read from one)."""
        x = self.values(covariates) if isinstance(covariates, pd.DataFrame) else covariates
        if self.kind == "categorical":
            out = np.ones(len(x))
            for level, name in zip(self.levels, self.names):
                out[x == str(level)] = theta[name]
            return out
        (coef,) = (theta[n] for n in self.names)
        if self.kind == "indicator":
            return np.where(x != 0, float(coef), 1.0)
        if self.kind == "power":
            return (x / self.reference) ** coef
        if self.kind == "exponential":
            return np.exp(coef * (x - self.reference))
        return 1.0 + coef * (x - self.reference)


def _name(parameter, stem, suffix=""):
    return f"{parameter}_{stem}" + (f"_{suffix}" if suffix else "")


def _stem(kind, parameter, covariate, name) -> str:
    """Check the column or expression (parsed now, so a bad one fails at declaration) and the coefficient
    name stem; returns the stem."""
    if not isinstance(covariate, str) or not covariate:
        raise ParameterError(f"{kind} effect on {parameter}: the covariate must be a column name or an expression, "
                             f"got {covariate!r}")
    if is_expression(covariate):
        try:
            parse_expression(covariate)
        except ParameterError as err:
            raise ParameterError(f"{kind} effect on {parameter}: {err}") from None
    if name is None:
        return _label(covariate)
    if not (isinstance(name, str) and name.isidentifier()):
        raise ParameterError(f"{kind} effect of {covariate} on {parameter}: name must be an identifier (it names "
                             f"the coefficients), got {name!r}")
    return name


def _continuous(kind, parameter, covariate, reference, value, fixed, name):
    stem = _stem(kind, parameter, covariate, name)
    for what, v in (("reference", reference), ("coefficient", value)):
        if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v)):
            raise ParameterError(f"{kind} effect of {covariate} on {parameter}: {what} must be a finite number, "
                                 f"got {v!r}")
    if kind == "power" and reference <= 0:
        raise ParameterError(f"power effect of {covariate} on {parameter}: reference must be > 0, got {reference}")
    return CovariateEffect(parameter, covariate, kind, {_name(parameter, stem): float(value)},
                           float(reference), bool(fixed), name=stem)


def power(parameter: str, covariate: str, *, reference: float, exponent: float = 1.0,
          fixed: bool = False, name: str | None = None) -> CovariateEffect:
    """``(x / reference) ** exponent``, e.g. allometric weight scaling (exponent 0.75 for clearance, fixed).

    ``covariate`` is a column or an expression (``"WT/70"`` with ``reference=1``); ``name`` replaces it in
    the coefficient name ``<parameter>_<name>``.

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.power("CL", "WT", reference=70, exponent=0.75)
    >>> e.initial, round(float(e.multiplier(e.initial, pd.DataFrame({"WT": [140.0]}))[0]), 4)
    ({'CL_WT': 0.75}, 1.6818)
    >>> e = pkpd.power("CL", "WT/70", reference=1, exponent=0.75, name="WT")       # NONMEM's (WT/70)**THETA(2)
    >>> e.initial, round(float(e.multiplier(e.initial, pd.DataFrame({"WT": [140.0]}))[0]), 4)
    ({'CL_WT': 0.75}, 1.6818)
    """
    return _continuous("power", parameter, covariate, reference, exponent, fixed, name)


def exponential(parameter: str, covariate: str, *, reference: float, coefficient: float = 0.0,
                fixed: bool = False, name: str | None = None) -> CovariateEffect:
    """``exp(coefficient * (x - reference))``, e.g. age on clearance.

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.exponential("CL", "AGE", reference=40, coefficient=-0.01)
    >>> round(float(e.multiplier(e.initial, pd.DataFrame({"AGE": [80.0]}))[0]), 4)   # exp(-0.4)
    0.6703
    """
    return _continuous("exponential", parameter, covariate, reference, coefficient, fixed, name)


def linear(parameter: str, covariate: str, *, reference: float, slope: float = 0.0,
           fixed: bool = False, name: str | None = None) -> CovariateEffect:
    """``1 + slope * (x - reference)``, e.g. creatinine clearance on renal clearance.

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.linear("CL", "CRCL", reference=100, slope=0.005)
    >>> float(e.multiplier(e.initial, pd.DataFrame({"CRCL": [60.0]}))[0])            # 1 - 0.2
    0.8
    """
    return _continuous("linear", parameter, covariate, reference, slope, fixed, name)


def categorical(parameter: str, covariate: str, ratios: Mapping[str, float], *, reference: str | None = None,
                gene: str | None = None, fixed: bool = False, name: str | None = None) -> CovariateEffect:
    """A ratio of the typical value for each level other than ``reference`` (sex, formulation, genotype).

    Parameters
    ----------
    parameter : str
    covariate : str
        A column, or an expression whose values are the levels (a condition such as ``"APGR < 5"``
        gives ``"1"`` where it holds and ``"0"`` elsewhere; numbers are labelled ``"2"``, ``"2.5"`` ...).
    ratios : mapping
        Level -> initial ratio to the reference level (> 0), one estimated coefficient each.
    reference : str, optional
        The level with ratio 1: default ``"NM"`` (the CPIC normal metabolizer) for a column, ``"0"`` (the
        condition does not hold) for an expression.
    gene : str, optional
        The column holds diplotypes of this gene (``"*1/*2"``); they are grouped by CPIC phenotype
        abbreviation (``"UM"``, ``"RM"``, ``"NM"``, ``"IM"``, ``"PM"``) before the ratios apply.
    name : str, optional
        Replaces the column (or expression) in the coefficient names ``<parameter>_<name>_<level>``.

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.categorical("CL", "CYP2C9", {"IM": 0.6, "PM": 0.2}, gene="CYP2C9")
    >>> e.multiplier(e.initial, pd.DataFrame({"CYP2C9": ["*1/*1", "*1/*3", "*3/*3"]}))
    array([1. , 0.6, 0.2])
    >>> e = pkpd.categorical("V", "APGR < 5", {"1": 1.3})                # IF (APGR < 5) TVV = TVV * THETA(3)
    >>> e.initial, e.multiplier(e.initial, pd.DataFrame({"APGR": [3, 5, 9]}))
    ({'V_APGR_lt_5_1': 1.3}, array([1.3, 1. , 1. ]))
    """
    stem = _stem("categorical", parameter, covariate, name)
    expression = is_expression(covariate)
    if reference is None:
        reference = "0" if expression else "NM"
    if expression:
        if gene is not None:
            raise ParameterError(f"categorical effect of {covariate} on {parameter}: gene= needs a column of "
                                 "diplotypes, not an expression")
        ratios = {_level(k): v for k, v in ratios.items()} if isinstance(ratios, Mapping) else ratios
        reference = _level(reference)
    if not ratios or not isinstance(ratios, Mapping):
        raise ParameterError(f"categorical effect of {covariate} on {parameter}: give at least one level ratio")
    for level, r in ratios.items():
        if isinstance(r, bool) or not (isinstance(r, (int, float)) and math.isfinite(r) and r > 0):
            raise ParameterError(f"categorical effect of {covariate} on {parameter}: the ratio of level "
                                 f"{level!r} must be > 0, got {r!r}")
    if str(reference) in map(str, ratios):
        raise ParameterError(f"categorical effect of {covariate} on {parameter}: the reference level "
                             f"{reference!r} has ratio 1 and takes no coefficient")
    initial = {_name(parameter, stem, str(level)): float(r) for level, r in ratios.items()}
    return CovariateEffect(parameter, covariate, "categorical", initial, str(reference), bool(fixed),
                           gene, tuple(str(k) for k in ratios), name=stem)


def indicator(parameter: str, condition: str, ratio: float = 1.0, *, fixed: bool = False,
              name: str | None = None) -> CovariateEffect:
    """``ratio`` where ``condition`` holds, 1 elsewhere: NONMEM's ``IF (APGR < 5) TVV = TVV * THETA(3)``.

    Parameters
    ----------
    parameter : str
    condition : str
        An expression giving 0 or 1 (``"APGR < 5"``, ``"AGE < 2 and WT < 10"``), or a column of 0/1.
    ratio : float
        Initial ratio (> 0), one coefficient ``<parameter>_<name>`` estimated on the log scale.
    name : str, optional
        Replaces the condition in the coefficient name (default: a readable form, ``APGR_lt_5``).

    Examples
    --------
    >>> import pandas as pd
    >>> e = indicator("V", "APGR < 5", 1.3, name="LOWAPGR")
    >>> e.initial, e.multiplier(e.initial, pd.DataFrame({"APGR": [3, 5, 9]}))
    ({'V_LOWAPGR': 1.3}, array([1.3, 1. , 1. ]))
    """
    stem = _stem("indicator", parameter, condition, name)
    if isinstance(ratio, bool) or not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 0):
        raise ParameterError(f"indicator effect of {condition} on {parameter}: the ratio must be > 0, got {ratio!r}")
    return CovariateEffect(parameter, condition, "indicator", {_name(parameter, stem): float(ratio)}, None,
                           bool(fixed), name=stem)
