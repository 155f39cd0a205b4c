"""Residual error models as codes and numbers per observation, for the compiled EBE search
(:mod:`pkpd.estimation._newton_kernel`).

The library's error models have one of four standard deviations in the prediction ``f`` (on the error's scale):
``a``; ``max(b |f|, 1e-12)``; ``max(sqrt(a^2 + (b f)^2), 1e-12)``; ``max(a + b |f|, 1e-12)``. An error model of its
own ``stdev`` (a user's subclass) has no code: the search then runs in numpy, where ``stdev`` is called.
"""

from __future__ import annotations

import numpy as np

from ..population.residual import AdditiveError, CombinedError, ProportionalError

__all__ = ["ErrorCodes", "error_codes"]

CONSTANT, PROPORTIONAL, COMBINED_VARIANCE, COMBINED_SD = range(4)


def _code(error):
    """``(code, name of a, name of b)`` of one error model, or None when its ``stdev`` is not the library's."""
    stdev = type(error).stdev
    if stdev is AdditiveError.stdev:                 # (ExponentialError's too: one SD on the log scale)
        return CONSTANT, "SD", None
    if stdev is ProportionalError.stdev:
        return PROPORTIONAL, None, "CV"
    if stdev is CombinedError.stdev:
        return (COMBINED_SD if error.form == "sd" else COMBINED_VARIANCE), "SD", "CV"
    return None


class ErrorCodes:
    """Per observation: the code of its error model (:attr:`kind`) and, for given error parameters, its ``a`` and
    ``b`` (:meth:`numbers`)."""

    def __init__(self, kinds, names: list, index):
        #: per output: the names of the error parameters that are its ``a`` and ``b`` (None: 0)
        self._names = names
        #: per observation: the position of its output
        self._index = np.asarray(index, dtype=np.int64)
        self.kind = np.ascontiguousarray(np.asarray(kinds, dtype=np.int64)[self._index])

    def numbers(self, sigma) -> tuple[np.ndarray, np.ndarray]:
        """``a`` and ``b`` of every observation for the error parameters ``sigma`` (name -> value)."""
        values = [[0.0 if name is None else float(sigma[name]) for name in pair] for pair in self._names]
        both = np.array(values, dtype=float).reshape(-1, 2)[self._index]
        return np.ascontiguousarray(both[:, 0]), np.ascontiguousarray(both[:, 1])


def error_codes(error, n: int) -> ErrorCodes | None:
    """The codes of ``error`` (one model, or an :class:`~pkpd.population._errors.OutputErrors`) for ``n``
    observations; None where a model has no code."""
    if hasattr(error, "errors"):                           # one error model per output, by observation
        parts = [(_code(e), name) for name, e in error.errors.items()]
        index = np.asarray(error.index)
    else:
        parts, index = [(_code(error), None)], np.zeros(n, dtype=np.int64)
    if any(code is None for code, _ in parts):
        return None
    names = [[None if p is None else (p if out is None else f"{out}.{p}") for p in code[1:]] for code, out in parts]
    return ErrorCodes([code[0] for code, _ in parts], names, index)
