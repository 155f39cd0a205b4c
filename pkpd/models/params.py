"""lmfit parameters for a pkpd model: bounds from the model, fixed values, log-scale estimation.

lmfit names must be Python identifiers, so a qualified pkpd name ``MDZ.CL`` is ``MDZ__CL`` in lmfit.
A parameter estimated on the log scale is the free lmfit parameter ``log_CL`` and ``CL`` is the
expression ``exp(log_CL)``, so lmfit reports both (with the standard error of ``CL`` propagated).
Residual error parameters are prefixed ``err_`` (``err_SD``, ``err_CV``).

Any lmfit feature works on the result: fix a parameter (``params["KA"].vary = False``), set bounds, or
reparameterise with expressions -- e.g. R's ``SSfol`` (log elimination rate, absorption rate and
clearance)::

    params = make_params(OneCompartmentOral(), {"CL": 2.8, "KA": 1.5}, log=("CL", "KA"))
    params.add("lKe", value=-2.5)
    params["V"].set(expr="exp(log_CL - lKe)")
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:                     # lmfit itself is imported on first use (it costs 0.5 s: scipy.stats)
    import lmfit

__all__ = ["make_params", "lmfit_name", "pkpd_name", "model_values", "error_values", "ERROR_PREFIX", "LOG_PREFIX"]

ERROR_PREFIX = "err_"
LOG_PREFIX = "log_"


def lmfit_name(name: str) -> str:
    """The lmfit name of a pkpd parameter (``MDZ.CL`` -> ``MDZ__CL``).

    >>> lmfit_name("MDZ.CL"), pkpd_name("MDZ__CL")
    ('MDZ__CL', 'MDZ.CL')
    """
    return name.replace(".", "__")


def pkpd_name(name: str) -> str:
    """The pkpd name of an lmfit parameter name (inverse of :func:`lmfit_name`)."""
    return name.replace("__", ".")


def make_params(model, values: Mapping[str, float] | None = None, *, log: Iterable[str] = (),
                fixed: Iterable[str] = (), estimate: Iterable[str] | None = None, error=None) -> lmfit.Parameters:
    """lmfit ``Parameters`` for ``model``: its parameters with their bounds, and the error model's.

    Parameters
    ----------
    model : Model
        Any pkpd model (library or composed).
    values : mapping, optional
        Initial values by pkpd name (default: the model's defaults).
    log : iterable of str
        Parameters estimated on the log scale (must have positive values).
    fixed : iterable of str
        Parameters held at their values.
    estimate : iterable of str, optional
        If given, only these are estimated and every other model parameter is fixed (convenient for
        composed models with many parameters).
    error : ResidualError, optional
        Adds its parameters (``err_SD`` ...), fixed when the error model says so.

    Returns
    -------
    lmfit.Parameters

    Examples
    --------
    >>> from pkpd.models import OneCompartmentOral
    >>> p = make_params(OneCompartmentOral(), {"CL": 2.8, "V": 32, "KA": 1.5}, log=("CL", "V", "KA"),
    ...                 fixed=("F1", "ALAG1"))
    >>> round(p["log_CL"].value, 4), round(float(p["CL"].value), 4), p["CL"].expr, p["F1"].vary
    (1.0296, 2.8, 'exp(log_CL)', False)
    """
    values = dict(values or {})
    known = {p.name: p for p in model.parameters}
    log, fixed = set(log), set(fixed)
    for label, names in (("values", values), ("log", log), ("fixed", fixed), ("estimate", estimate or ())):
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ParameterError(f"make_params: {label} names {unknown} are not parameters of {model.name} "
                                 f"(known: {sorted(known)})")
    if estimate is not None:
        fixed |= set(known) - set(estimate)
    import lmfit

    params = lmfit.Parameters()
    for name, par in known.items():
        value = float(values.get(name, par.default))
        if not (par.lower <= value <= par.upper):
            raise ParameterError(f"make_params: {name} = {value} outside its bounds [{par.lower}, {par.upper}]")
        lm = lmfit_name(name)
        if name in log:
            if not value > 0:
                raise ParameterError(f"make_params: {name} = {value} cannot be estimated on the log scale (needs > 0)")
            lo = math.log(par.lower) if par.lower > 0 else -np.inf
            hi = math.log(par.upper) if math.isfinite(par.upper) else np.inf
            params.add(LOG_PREFIX + lm, value=math.log(value), min=lo, max=hi, vary=name not in fixed)
            params.add(lm, expr=f"exp({LOG_PREFIX}{lm})")
        else:
            params.add(lm, value=value, min=par.lower, max=par.upper, vary=name not in fixed)
    if error is not None:
        add_error_params(params, error)
    return params


def add_error_params(params: lmfit.Parameters, error) -> lmfit.Parameters:
    """Add (or keep) the residual error parameters ``err_<NAME>`` of ``error`` to ``params``.

    Estimated ones are estimated on the log scale (``log_err_SD``; ``err_SD = exp(log_err_SD)``), which
    keeps them positive and the objective well scaled; fixed ones are plain fixed parameters.
    """
    for name, value in error.parameters.items():
        key = ERROR_PREFIX + name
        if key in params:
            continue
        if error.fixed or not value > 0:
            params.add(key, value=float(value), min=0.0, max=np.inf, vary=False)
        else:
            params.add(LOG_PREFIX + key, value=math.log(value))
            params.add(key, expr=f"exp({LOG_PREFIX}{key})")
    return params


def model_values(params: lmfit.Parameters, model) -> dict:
    """Current values of the model's parameters (pkpd names) from lmfit ``params``."""
    out = {}
    for par in model.parameters:
        lm = lmfit_name(par.name)
        if lm not in params:
            raise ParameterError(f"the lmfit parameters have no {lm!r} (model parameter {par.name}); "
                                 f"make them with make_params(model, ...)")
        out[par.name] = float(params[lm].value)
    return out


def error_values(params: lmfit.Parameters, error) -> dict:
    """Current residual error parameter values (``SD``, ``CV``) from lmfit ``params``."""
    return {name: float(params[ERROR_PREFIX + name].value) for name in error.parameters}
