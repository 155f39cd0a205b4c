"""Exceptions raised by pkpd.

Every error raised on bad input names what was wrong (column, row, value) and what was expected.
"""

from __future__ import annotations

from ._internal.text import escape_controls

__all__ = ["PkpdError", "DatasetError", "ModelError", "ParameterError", "SimulationError", "ConvergenceWarning"]


class PkpdError(Exception):
    """Base class of every exception pkpd raises on purpose.

    Its message shows control characters echoed from user input (a column name, a key, a value) escaped,
    so printing it cannot drive the terminal.

    >>> str(PkpdError("unknown column 'DV\\x1b[31m'"))
    "unknown column 'DV\\\\x1b[31m'"
    """

    def __str__(self) -> str:
        return escape_controls(super().__str__(), keep="\n\t")


class DatasetError(PkpdError, ValueError):
    """A NONMEM-style dataset or event table is malformed.

    The message names the file line (or row), the column, the offending value and what was expected.
    """


class ModelError(PkpdError, ValueError):
    """A model is used in a way its structure does not allow (unknown compartment, missing output, ...)."""


class ParameterError(PkpdError, ValueError):
    """Model parameters are missing, unknown, non-finite or outside their bounds."""


class SimulationError(PkpdError, RuntimeError):
    """The integrator could not advance (step size underflow, non-finite state)."""


class ConvergenceWarning(UserWarning):
    """A named problem of a fit (``NAME: text``): it did not converge, its covariance is singular, an
    estimate sits on a bound, too few observations, a collapsed residual error -- these make ``success``
    False -- or a note that leaves it alone (``POORLY_IDENTIFIED``, ``PREDOSE_EXCLUDED``,
    ``SUBJECTS_SKIPPED``, ``HIGH_SHRINKAGE``). The result lists them in ``messages`` / ``warnings``.
    """
