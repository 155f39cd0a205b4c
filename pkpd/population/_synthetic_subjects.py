"""The subjects of a synthetic cohort: typical values, inter-individual variability (OMEGA checked, and its
Cholesky factor that turns standard normal draws into etas), covariates and their effects on the parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._internal.numbers import is_number
from ..errors import DatasetError, ParameterError
from ..io import CANONICAL_COLUMNS

_RESERVED = frozenset(CANONICAL_COLUMNS) | {"DVID", "BLQ", "LLOQ"}


def _typical(model, params) -> dict[str, float]:
    typical = dict(model.defaults)
    if params is None:
        return typical
    if not isinstance(params, Mapping):
        raise ParameterError(f"params must be a mapping of typical values, not {type(params).__name__}")
    for name, value in params.items():
        if name not in typical:
            raise ParameterError(f"params: {model.name} has no parameter {name!r}; its parameters are "
                                 f"{', '.join(model.parameter_names)}")
        if not is_number(value):
            raise ParameterError(f"params: typical value of {name} is {value!r}; expected a finite number")
        typical[name] = float(value)
    return typical


def _check_names(model, names, where: str) -> None:
    declared = set(model.parameter_names)
    for name in names:
        if name not in declared:
            raise ParameterError(f"{where}: {model.name} has no parameter {name!r}; its parameters are "
                                 f"{', '.join(model.parameter_names)}")


def _omega(model, iiv) -> tuple[list[str], np.ndarray]:
    """(parameter names, covariance matrix) of the etas."""
    if iiv is None:
        return [], np.zeros((0, 0))
    if isinstance(iiv, pd.DataFrame):
        names = [str(c) for c in iiv.columns]
        if [str(i) for i in iiv.index] != names:
            raise ParameterError("iiv: a covariance DataFrame needs the same parameter names, in the same order, "
                                 f"as index and columns (got index {list(iiv.index)}, columns {names})")
        matrix = iiv.to_numpy()
    elif isinstance(iiv, Mapping):
        names = [str(k) for k in iiv]
        _check_names(model, names, "iiv")
        for name, value in iiv.items():
            if not is_number(value) or float(value) < 0:
                raise ParameterError(f"iiv: omega of {name} is {value!r}; expected a standard deviation >= 0 "
                                     "(log scale, e.g. 0.3 for about 30 % CV)")
        return names, np.diag([float(v) ** 2 for v in iiv.values()])
    elif isinstance(iiv, tuple) and len(iiv) == 2:
        names = [str(k) for k in iiv[0]]
        matrix = iiv[1]
    else:
        raise ParameterError(f"iiv={iiv!r}; expected a mapping parameter -> omega (SD), a covariance DataFrame "
                             "labelled by parameter, or a (names, covariance matrix) pair")
    _check_names(model, names, "iiv")
    if len(set(names)) != len(names):
        raise ParameterError(f"iiv: a parameter appears twice in {names}")
    try:
        matrix = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("iiv: the covariance matrix must hold numbers") from None
    k = len(names)
    if matrix.shape != (k, k):
        raise ParameterError(f"iiv: the covariance matrix has shape {matrix.shape}; expected ({k}, {k}) for {names}")
    if not np.all(np.isfinite(matrix)):
        raise ParameterError("iiv: the covariance matrix has non-finite values")
    for j, name in enumerate(names):
        if matrix[j, j] < 0:
            raise ParameterError(f"iiv: the variance of ETA_{name} is {matrix[j, j]!r}; expected >= 0")
    if not np.allclose(matrix, matrix.T, rtol=1e-10, atol=1e-14):
        i, j = np.unravel_index(np.argmax(np.abs(matrix - matrix.T)), matrix.shape)
        raise ParameterError(f"iiv: the covariance matrix is not symmetric ({names[i]}/{names[j]}: "
                             f"{matrix[i, j]!r} vs {matrix[j, i]!r})")
    matrix = (matrix + matrix.T) / 2.0
    if k and np.linalg.eigvalsh(matrix)[0] < -1e-10 * max(1.0, float(np.max(np.diag(matrix)))):
        raise ParameterError("iiv: the covariance matrix is not positive semi-definite (a correlation outside [-1, 1]?)")
    return names, matrix


def _factor(matrix: np.ndarray) -> np.ndarray:
    """Lower-triangular ``L`` with ``L @ L.T == matrix``: the Cholesky factor, computed here (not by LAPACK)
    so that a semi-definite OMEGA works too (a zero pivot gives a zero column) and the etas do not depend
    on the linear-algebra library."""
    k = len(matrix)
    L = np.zeros((k, k))
    scale = max(1.0, float(np.max(np.abs(np.diag(matrix))))) if k else 1.0
    for j in range(k):
        d = matrix[j, j] - L[j, :j] @ L[j, :j]
        if d <= 1e-12 * scale:
            continue  # this eta is a combination of the previous ones
        L[j, j] = math.sqrt(d)
        L[j + 1:, j] = (matrix[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L


def _covariates(covariates, n, rng, model) -> pd.DataFrame:
    if covariates is None:
        return pd.DataFrame(index=pd.RangeIndex(n))
    if callable(covariates) and not isinstance(covariates, pd.DataFrame):
        table = covariates(rng, n)
        what = "the covariates callable returned"
    else:
        table = covariates
        what = "covariates is"
    if not isinstance(table, pd.DataFrame):
        raise DatasetError(f"{what} a {type(table).__name__}; expected a DataFrame with one row per subject")
    if len(table) != n:
        raise DatasetError(f"{what} a table of {len(table)} rows; expected one row per subject ({n})")
    table = table.reset_index(drop=True).copy()
    table.columns = [str(c) for c in table.columns]
    if "ID" in table.columns:
        if not np.array_equal(np.asarray(table["ID"]), np.arange(1, n + 1)):
            raise DatasetError(f"covariates: column ID must be 1..{n} in order (subjects are numbered 1..n)")
        table = table.drop(columns="ID")
    for col in table.columns:
        if col.upper() in _RESERVED:
            raise DatasetError(f"covariates: column {col!r} clashes with a dataset column; rename it")
        if col in model.parameter_names or col.startswith("ETA_") or col == "DROPOUT_TIME":
            raise DatasetError(f"covariates: column {col!r} clashes with a truth column (model parameter, "
                               "ETA_ or DROPOUT_TIME); rename it")
    if table.columns.has_duplicates:
        raise DatasetError(f"covariates: duplicated column names {list(table.columns)}")
    return table


def _covariate_effects(model, covariate_model, cov: pd.DataFrame, n: int) -> dict[str, np.ndarray]:
    if not covariate_model:
        return {}
    if not isinstance(covariate_model, Mapping):
        raise ParameterError("covariate_model must be a mapping parameter -> effect(row)")
    _check_names(model, list(covariate_model), "covariate_model")
    rows = [cov.iloc[i] for i in range(n)]
    effects = {}
    for name, effect in covariate_model.items():
        if not callable(effect):
            raise ParameterError(f"covariate_model[{name!r}] is {effect!r}; expected a function of the covariate row")
        values = np.empty(n)
        for i, row in enumerate(rows):
            try:
                value = float(effect(row))
            except (TypeError, ValueError) as err:
                raise ParameterError(f"covariate_model[{name!r}] for ID {i + 1}: {err}") from err
            if not (math.isfinite(value) and value >= 0):
                raise ParameterError(f"covariate_model[{name!r}] for ID {i + 1}: factor {value!r}; "
                                     "expected a finite number >= 0")
            values[i] = value
        effects[name] = values
    return effects
