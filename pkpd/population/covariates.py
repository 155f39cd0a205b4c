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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DatasetError, ModelError, ParameterError
from ..physiology.genetics import phenotype

__all__ = ["CovariateEffect", "power", "exponential", "linear", "categorical"]


@dataclass(frozen=True)
class CovariateEffect:
    """One covariate effect on the typical value of ``parameter`` (build it with :func:`power`,
    :func:`exponential`, :func:`linear` or :func:`categorical`).

    Attributes
    ----------
    parameter : str
        The model parameter whose typical value is multiplied.
    covariate : str
        The dataset column read.
    kind : {"power", "exponential", "linear", "categorical"}
    initial : dict
        Coefficient names (the fixed effects added to ``theta``) and their initial values.
    reference : float or str
        Reference value (continuous) or level (categorical) where the multiplier is 1.
    fixed : bool
        Hold the coefficients at their initial values.
    gene : str or None
        For a categorical genotype effect: the gene whose diplotypes the column holds.
    """

    parameter: str
    covariate: str
    kind: str
    initial: Mapping[str, float]
    reference: float | str
    fixed: bool = False
    gene: str | None = None
    levels: tuple = field(default=(), repr=False)

    @property
    def names(self) -> tuple:
        return tuple(self.initial)

    def values(self, covariates: pd.DataFrame) -> np.ndarray:
        """The covariate column (levels for a categorical effect), checked."""
        if self.covariate not in covariates.columns:
            raise DatasetError(f"covariate effect on {self.parameter}: the dataset has no column "
                               f"{self.covariate!r} (columns: {list(covariates.columns)})")
        column = covariates[self.covariate]
        if self.kind == "categorical":
            return self._levels(column)
        x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x) | ((x <= 0) if self.kind == "power" else False)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            need = "a positive number" if self.kind == "power" else "a finite number"
            value = column.iloc[i]
            value = value.item() if hasattr(value, "item") else value
            raise DatasetError(f"covariate {self.covariate!r}: row {i} holds {value!r}; "
                               f"a {self.kind} effect on {self.parameter} needs {need}")
        return x

    def _levels(self, column: pd.Series) -> np.ndarray:
        raw = column.to_numpy(dtype=object)
        if self.gene is not None:                 # parse each distinct diplotype once (called every evaluation)
            distinct, inverse = np.unique(raw.astype(str), return_inverse=True)
            try:
                raw = np.array([phenotype(self.gene, d).abbreviation for d in distinct], dtype=object)[inverse]
            except ModelError as err:
                raise DatasetError(f"covariate {self.covariate!r}: {err}") from None
        known = {str(self.reference), *map(str, self.levels)}
        labels = np.array([str(v) for v in raw], dtype=object)
        unknown = sorted(set(labels) - known)
        if unknown:
            i = int(np.flatnonzero(labels == unknown[0])[0])
            raise DatasetError(f"covariate {self.covariate!r}: row {i} holds level {unknown[0]!r}; the effect "
                               f"on {self.parameter} knows the reference {self.reference!r} and {list(self.levels)}")
        return labels

    def multiplier(self, theta: Mapping[str, float], covariates: pd.DataFrame) -> np.ndarray:
        """The factor on the typical value for each row of ``covariates``."""
        x = self.values(covariates)
        if self.kind == "categorical":
            out = np.ones(len(x))
            for level, name in zip(self.levels, self.names):
                out[x == str(level)] = theta[name]
            return out
        (coef,) = (theta[n] for n in self.names)
        if self.kind == "power":
            return (x / self.reference) ** coef
        if self.kind == "exponential":
            return np.exp(coef * (x - self.reference))
        return 1.0 + coef * (x - self.reference)


def _name(parameter, covariate, suffix=""):
    return f"{parameter}_{covariate}" + (f"_{suffix}" if suffix else "")


def _continuous(kind, parameter, covariate, reference, value, fixed):
    for what, v in (("reference", reference), ("coefficient", value)):
        if not (isinstance(v, (int, float)) and math.isfinite(v)):
            raise ParameterError(f"{kind} effect of {covariate} on {parameter}: {what} must be a finite number, "
                                 f"got {v!r}")
    if kind == "power" and reference <= 0:
        raise ParameterError(f"power effect of {covariate} on {parameter}: reference must be > 0, got {reference}")
    return CovariateEffect(parameter, covariate, kind, {_name(parameter, covariate): float(value)},
                           float(reference), bool(fixed))


def power(parameter: str, covariate: str, *, reference: float, exponent: float = 1.0,
          fixed: bool = False) -> CovariateEffect:
    """``(x / reference) ** exponent``, e.g. allometric weight scaling (exponent 0.75 for clearance, fixed).

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.power("CL", "WT", reference=70, exponent=0.75)
    >>> e.initial, round(float(e.multiplier(e.initial, pd.DataFrame({"WT": [140.0]}))[0]), 4)
    ({'CL_WT': 0.75}, 1.6818)
    """
    return _continuous("power", parameter, covariate, reference, exponent, fixed)


def exponential(parameter: str, covariate: str, *, reference: float, coefficient: float = 0.0,
                fixed: bool = False) -> CovariateEffect:
    """``exp(coefficient * (x - reference))``, e.g. age on clearance.

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.exponential("CL", "AGE", reference=40, coefficient=-0.01)
    >>> round(float(e.multiplier(e.initial, pd.DataFrame({"AGE": [80.0]}))[0]), 4)   # exp(-0.4)
    0.6703
    """
    return _continuous("exponential", parameter, covariate, reference, coefficient, fixed)


def linear(parameter: str, covariate: str, *, reference: float, slope: float = 0.0,
           fixed: bool = False) -> CovariateEffect:
    """``1 + slope * (x - reference)``, e.g. creatinine clearance on renal clearance.

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.linear("CL", "CRCL", reference=100, slope=0.005)
    >>> float(e.multiplier(e.initial, pd.DataFrame({"CRCL": [60.0]}))[0])            # 1 - 0.2
    0.8
    """
    return _continuous("linear", parameter, covariate, reference, slope, fixed)


def categorical(parameter: str, covariate: str, ratios: Mapping[str, float], *, reference: str = "NM",
                gene: str | None = None, fixed: bool = False) -> CovariateEffect:
    """A ratio of the typical value for each level other than ``reference`` (sex, formulation, genotype).

    Parameters
    ----------
    parameter, covariate : str
    ratios : mapping
        Level -> initial ratio to the reference level (> 0), one estimated coefficient each.
    reference : str
        The level with ratio 1 (default ``"NM"``, the CPIC normal metabolizer).
    gene : str, optional
        The column holds diplotypes of this gene (``"*1/*2"``); they are grouped by CPIC phenotype
        abbreviation (``"UM"``, ``"RM"``, ``"NM"``, ``"IM"``, ``"PM"``) before the ratios apply.

    Examples
    --------
    >>> import pandas as pd, pkpd
    >>> e = pkpd.categorical("CL", "CYP2C9", {"IM": 0.6, "PM": 0.2}, gene="CYP2C9")
    >>> e.multiplier(e.initial, pd.DataFrame({"CYP2C9": ["*1/*1", "*1/*3", "*3/*3"]}))
    array([1. , 0.6, 0.2])
    """
    if not ratios:
        raise ParameterError(f"categorical effect of {covariate} on {parameter}: give at least one level ratio")
    for level, r in ratios.items():
        if not (isinstance(r, (int, float)) and math.isfinite(r) and r > 0):
            raise ParameterError(f"categorical effect of {covariate} on {parameter}: the ratio of level "
                                 f"{level!r} must be > 0, got {r!r}")
    if str(reference) in map(str, ratios):
        raise ParameterError(f"categorical effect of {covariate} on {parameter}: the reference level "
                             f"{reference!r} has ratio 1 and takes no coefficient")
    initial = {_name(parameter, covariate, str(level)): float(r) for level, r in ratios.items()}
    return CovariateEffect(parameter, covariate, "categorical", initial, str(reference), bool(fixed),
                           gene, tuple(str(k) for k in ratios))
