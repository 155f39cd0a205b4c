"""The scalar options of :func:`pkpd.population.synthetic.cohort`, checked: number of subjects, seed, observed
outputs, residual error models, LLOQ, dropout, reported digits and the sampling design."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral

import numpy as np

from .._internal.numbers import is_number
from ..errors import DatasetError, ParameterError
from .residual import ProportionalError, ResidualError


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_n(n) -> int:
    if not _is_int(n) or int(n) < 1:
        raise DatasetError(f"cohort: n={n!r} is not a number of subjects; expected an integer >= 1")
    return int(n)


def _check_seed(seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if not _is_int(seed) or int(seed) < 0:
        raise DatasetError(f"cohort: seed={seed!r}; expected an integer >= 0 or None")
    return int(seed)


def _check_output(model, output) -> list[str]:
    if output is None:
        if not model.outputs:
            raise ParameterError(f"{model.name} has no outputs to observe")
        return [model.outputs[0]]
    items = [output] if isinstance(output, str) else list(output)
    if not items:
        raise ParameterError("output: expected at least one model output")
    for item in items:
        if item not in model.outputs:
            raise ParameterError(f"output {item!r} is not an output of {model.name}; its outputs are "
                                 f"{', '.join(model.outputs)}")
    if len(set(items)) != len(items):
        raise ParameterError(f"output {items}: an output is listed twice")
    return items


def _check_error(error, outputs) -> dict:
    if error is None:
        error = ProportionalError(0.1)
    if isinstance(error, ResidualError):
        return {out: error for out in outputs}
    if isinstance(error, Mapping):
        unknown = [k for k in error if k not in outputs]
        if unknown:
            raise ParameterError(f"error: {unknown[0]!r} is not an observed output ({', '.join(outputs)})")
        missing = [out for out in outputs if out not in error]
        if missing:
            raise ParameterError(f"error: no residual error model for output {missing[0]!r}")
        for k, v in error.items():
            if not isinstance(v, ResidualError):
                raise ParameterError(f"error[{k!r}] is {v!r}; expected a residual error model such as "
                                     "ProportionalError(0.1)")
        return dict(error)
    raise ParameterError(f"error={error!r}; expected a residual error model (AdditiveError, ProportionalError, "
                         "CombinedError, ExponentialError) or a mapping output -> error model")


def _check_lloq(lloq, outputs):
    if lloq is None:
        return None
    given = dict(lloq) if isinstance(lloq, Mapping) else {out: lloq for out in outputs}
    for k, v in given.items():
        if k not in outputs:
            raise DatasetError(f"lloq: {k!r} is not an observed output ({', '.join(outputs)})")
        if not is_number(v) or float(v) < 0:
            raise DatasetError(f"lloq for {k}: value {v!r}; expected a finite concentration >= 0 (mg/L)")
    return {k: float(v) for k, v in given.items()}


def _check_dropout(dropout):
    if dropout is None:
        return None
    if not is_number(dropout) or not 0.0 <= float(dropout) <= 1.0:
        raise DatasetError(f"dropout={dropout!r}; expected a probability in [0, 1]")
    return float(dropout)


def _check_digits(digits):
    if digits is None:
        return None
    if not _is_int(digits) or not 1 <= int(digits) <= 17:
        raise DatasetError(f"digits={digits!r}; expected an integer number of significant digits in 1..17")
    return int(digits)


def _check_design(design):
    """The explicit times of a fixed design, or None for "rich"/"sparse"."""
    if isinstance(design, str):
        if design not in ("rich", "sparse"):
            raise DatasetError(f"design {design!r} is unknown; expected 'rich', 'sparse' or an array of times (h)")
        return None
    try:
        times = np.asarray(design, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DatasetError(f"design={design!r}; expected 'rich', 'sparse' or an array of times (h)") from None
    if times.size == 0:
        raise DatasetError("design: the array of times is empty; expected at least one sampling time")
    bad = ~np.isfinite(times) | (times < 0)
    if bad.any():
        raise DatasetError(f"design: time {times[np.argmax(bad)]!r} (position {int(np.argmax(bad))}); "
                           "expected finite times >= 0 (h)")
    return np.unique(times)
