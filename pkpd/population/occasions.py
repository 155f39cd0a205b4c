"""Between-occasion variability (IOV): random effects that take a new value at every occasion.

A parameter with IOV is, on its transform's scale (log for a log-normal parameter)::

    g(P_ij) = g(theta_P * covariate effects) + eta_i,P + kappa_ij,P,    kappa_ij ~ N(0, Omega_IOV)

for subject ``i`` in occasion ``j``, the ``kappa`` of different occasions independent and all with the same
covariance (Karlsson & Sheiner 1993, J Pharmacokinet Biopharm 21:735). In NONMEM this is one ``$OMEGA BLOCK(n)``
per occasion, all but the first ``SAME``, and indicator code in ``$PK``::

    $PK  KPCL = VIS3*ETA(4) + VIS8*ETA(5)
         CL   = THETA(1)*EXP(ETA(1) + KPCL)
    $OMEGA BLOCK(1) 0.0147      ; IOV CL, occasion VISI = 3
    $OMEGA BLOCK(1) SAME        ; occasion VISI = 8

is ``IOV({"CL": 0.0147}, column="VISI", occasions=(3, 8))``.

Occasions are values of a data column, the same for every subject (occasion ``3`` is the same random effect
slot in each subject, as NONMEM's ``ETA(4)``); a record's value is in force as a covariate's is (the
population model's ``carry``). Each subject's random effects are its ``eta`` followed by one ``kappa`` per
occasion; a subject without records in an occasion has that ``kappa`` at 0, which changes neither its
objective nor its likelihood (its prior term and its Laplace term cancel exactly).

Examples
--------
>>> iov = IOV({"CL": 0.02, "KA": 0.1}, column="VISI", occasions=(3, 8))
>>> iov.labels, iov.occasions
(('IOV_CL', 'IOV_KA'), (3, 8))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DatasetError, ParameterError

__all__ = ["IOV", "omega_frame", "omega_blocks", "expand_omega", "kappa_names"]

#: Prefix of the name of an IOV random effect (``IOV_CL``: the between-occasion variability of ``CL``).
PREFIX = "IOV_"


def omega_frame(omega, where: str = "PopulationModel: omega") -> pd.DataFrame:
    """Omega as a named symmetric positive definite matrix: a mapping of variances is diagonal; a DataFrame is
    taken as given (zeros outside the estimated blocks stay zero)."""
    if isinstance(omega, pd.DataFrame):
        frame = omega.astype(float)
        if list(frame.index) != list(frame.columns):
            raise ParameterError(f"{where}: a DataFrame needs the same names as index and columns, "
                                 f"got {list(frame.index)} and {list(frame.columns)}")
    elif isinstance(omega, Mapping):
        for name, var in omega.items():
            if not (isinstance(var, (int, float)) and not isinstance(var, bool) and math.isfinite(var) and var > 0):
                raise ParameterError(f"{where}[{name!r}] must be a variance > 0, got {var!r}")
        frame = pd.DataFrame(np.diag([float(v) for v in omega.values()]), index=list(omega), columns=list(omega))
    else:
        raise ParameterError(f"{where} must be a mapping of variances or a DataFrame, not {type(omega).__name__}")
    if frame.empty:
        raise ParameterError(f"{where} must name at least one random effect")
    m = frame.to_numpy()
    if not np.all(np.isfinite(m)):
        raise ParameterError(f"{where} must be finite")
    if not np.allclose(m, m.T, rtol=0, atol=1e-12 * np.max(np.abs(m))):
        raise ParameterError(f"{where} must be symmetric")
    eig = np.linalg.eigvalsh(m)
    if eig.min() <= 0:
        raise ParameterError(f"{where} must be positive definite (smallest eigenvalue {eig.min():.3g})")
    return frame


def omega_blocks(matrix: np.ndarray) -> list[list[int]]:
    """Indices of the blocks of Omega: connected components of its nonzero pattern."""
    q = len(matrix)
    seen, blocks = set(), []
    for start in range(q):
        if start in seen:
            continue
        block, stack = [], [start]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            block.append(i)
            stack.extend(int(j) for j in np.flatnonzero(matrix[i] != 0) if j not in seen)
        blocks.append(sorted(block))
    return blocks


def expand_omega(matrix: np.ndarray, n_bsv: int, n_occasions: int) -> np.ndarray:
    """The covariance of a subject's random effects ``(eta, kappa_1, ..., kappa_K)`` from the model's Omega
    (between-subject block first, then one occasion's IOV block): the IOV block repeated ``n_occasions`` times
    on the diagonal (NONMEM's ``BLOCK SAME``)."""
    matrix = np.asarray(matrix, dtype=float)
    n_iov = len(matrix) - n_bsv
    if n_iov == 0 or n_occasions == 1:
        return matrix
    q = n_bsv + n_occasions * n_iov
    out = np.zeros((q, q))
    out[:n_bsv, :n_bsv] = matrix[:n_bsv, :n_bsv]
    block = matrix[n_bsv:, n_bsv:]
    for k in range(n_occasions):
        at = slice(n_bsv + k * n_iov, n_bsv + (k + 1) * n_iov)
        out[at, at] = block
    return out


def _label(value) -> str:
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(value))
    return str(value)


def kappa_names(iov: "IOV", occasions) -> list[str]:
    """Names of a subject's IOV random effects, occasion by occasion: ``IOV_CL[3]``, ``IOV_KA[3]``, ``IOV_CL[8]``."""
    return [f"{label}[{_label(occ)}]" for occ in occasions for label in iov.labels]


@dataclass(frozen=True)
class IOV:
    """Between-occasion variability of a population model (:class:`~pkpd.PopulationModel` ``iov=``).

    Parameters
    ----------
    omega : mapping or DataFrame
        Variances of one occasion's random effects by parameter name (each must have a typical value in the
        model's ``theta``), or a symmetric DataFrame with covariances: NONMEM's ``$OMEGA BLOCK(n)`` repeated
        with ``SAME`` for every occasion.
    column : str
        The data column whose value names a record's occasion (default ``"OCC"``).
    occasions : sequence, optional
        The occasion values that carry IOV; records of other values get none (NONMEM's indicator code, e.g.
        ``KPCL = VIS3*ETA(4) + VIS8*ETA(5)``). Default: every value of the column in the data.
    """

    omega: Mapping | pd.DataFrame
    column: str = "OCC"
    occasions: tuple | None = field(default=None)

    def __post_init__(self):
        object.__setattr__(self, "omega", omega_frame(self.omega, "IOV: omega"))
        if not isinstance(self.column, str) or not self.column:
            raise ParameterError(f"IOV: column must be the name of a data column, got {self.column!r}")
        if self.occasions is not None:
            values = tuple(self.occasions.tolist() if isinstance(self.occasions, np.ndarray) else self.occasions) \
                if not isinstance(self.occasions, (str, bytes)) else None
            if not values or any(isinstance(v, bool) or not isinstance(v, (numbers.Real, str)) or
                                 (isinstance(v, numbers.Real) and not math.isfinite(v)) for v in values):
                raise ParameterError(f"IOV: occasions must be a non-empty sequence of finite numbers or names, "
                                     f"got {self.occasions!r}")
            if len(set(values)) != len(values):
                raise ParameterError(f"IOV: occasions must be distinct, got {values!r}")
            object.__setattr__(self, "occasions", values)

    @property
    def names(self) -> tuple:
        """The parameters with IOV."""
        return tuple(self.omega.index)

    @property
    def labels(self) -> tuple:
        """Names of the IOV random effects (``IOV_CL``), as in a fit's Omega."""
        return tuple(PREFIX + n for n in self.names)

    @property
    def matrix(self) -> np.ndarray:
        return self.omega.to_numpy(dtype=float)

    def __repr__(self) -> str:
        variances = ", ".join(f"{k}={self.omega.loc[k, k]:g}" for k in self.names)
        which = "" if self.occasions is None else f", occasions={self.occasions!r}"
        return f"IOV({variances}; column={self.column!r}{which})"

    def occasions_of(self, events: pd.DataFrame, rank: np.ndarray, carry: str) -> tuple[np.ndarray, tuple]:
        """Per record, the position of its occasion among the occasions (-1: a value without IOV), and the
        occasions: :attr:`occasions`, or every value of the column in ``events`` (sorted when they can be).
        Missing values are filled within the subject in the direction of ``carry`` (as covariates)."""
        if self.column not in events:
            raise DatasetError(f"the population model has between-occasion variability by the column "
                               f"{self.column!r}, which the data lack (columns: {list(events.columns)})")
        column = events[self.column].reset_index(drop=True)
        if column.isna().any():
            grouped = column.groupby(np.asarray(rank), sort=False)
            first, second = (grouped.bfill, grouped.ffill) if carry == "nocb" else (grouped.ffill, grouped.bfill)
            column = first().fillna(second())
            if column.isna().any():
                row = int(np.flatnonzero(column.isna().to_numpy())[0])
                raise DatasetError(f"record {row + 1} (ID {events['ID'].iloc[row]}): no {self.column} value in "
                                   f"its subject: every subject needs an occasion ({self.column}) on a record")
        values = column.to_numpy(dtype=object)
        values = np.array([v.item() if hasattr(v, "item") else v for v in values], dtype=object)
        occasions = self.occasions
        if occasions is None:
            seen = list(dict.fromkeys(values.tolist()))
            try:
                occasions = tuple(sorted(seen))
            except TypeError:
                occasions = tuple(seen)
        position = {v: k for k, v in enumerate(occasions)}
        index = np.array([position.get(v, -1) for v in values], dtype=np.int64)
        return index, occasions
