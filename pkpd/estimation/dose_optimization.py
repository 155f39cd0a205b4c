"""Bayesian dose individualisation: the dose that brings one patient to a target.

Give the patient's parameters (e.g. a row of :func:`pkpd.map_estimate`), the doses already given
(``history``) and the regimen to optimise; :func:`optimize_dose` finds the dose whose simulated trough,
peak, AUC, time above a concentration or concentration at a time equals a :class:`Target`. It solves for
the dose with a bracketing root search (``scipy.optimize.brentq``) on full simulations, so nonlinear
models (Michaelis-Menten phenytoin) are handled exactly; it only assumes that the target quantity grows
with the dose. Units: time h, amount mg, concentration mg/L, AUC mg·h/L.

Examples
--------
>>> import pkpd
>>> from pkpd.models import OneCompartment
>>> from pkpd.estimation.dose_optimization import Target, optimize_dose
>>> rec = optimize_dose(OneCompartment(), pkpd.Bolus(100, ii=12, ss=1), {"CL": 5, "V": 50},
...                     Target.trough(2.0), rounding=50)
>>> round(rec.dose, 2), rec.rounded_dose     # at steady state: C V (exp(k tau) - 1), k = 0.1 /h, tau = 12 h
(232.01, 250.0)
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..dosing import Dose, Infusion, Regimen
from ..drugs import Drug
from .._internal.numbers import check_number
from .._internal.html import fields_table
from ..errors import ParameterError
from ..models import DOSING_PARAMETER

__all__ = ["Target", "DoseRecommendation", "optimize_dose"]

_UNITS = {"trough": "mg/L", "peak": "mg/L", "auc": "mg·h/L", "time_above": "h", "concentration": "mg/L"}
_LAG = re.compile(r"(^|\.)ALAG[1-9][0-9]*$")


@dataclass(frozen=True)
class Target:
    """What the dose should achieve: build one with the class-method constructors.

    Attributes
    ----------
    kind : {"trough", "peak", "auc", "time_above", "concentration"}
    value : float
        Target value: mg/L (trough, peak, concentration), mg·h/L (auc) or h (time_above).
    at : float or None
        Sampling time (h) of a trough (before any dose given at that time) or of a concentration (after it).
    start, end : float or None
        Window (h) of a peak, AUC or time above, half-open ``[start, end)``.
    threshold : float or None
        Concentration (mg/L) of a time-above target.

    Examples
    --------
    >>> from pkpd.estimation.dose_optimization import Target
    >>> Target.auc(400, start=0, end=24).describe()
    'auc 400 mg·h/L over 0-24 h'
    >>> Target("cmin", 5)
    Traceback (most recent call last):
    ...
    pkpd.errors.ParameterError: Target: kind='cmin' is unknown; expected one of trough, peak, auc, time_above, concentration
    """

    kind: str
    value: float
    at: float | None = None
    start: float | None = None
    end: float | None = None
    threshold: float | None = None

    def _repr_html_(self) -> str:
        return fields_table(self)

    def __post_init__(self):
        if self.kind not in _UNITS:
            raise ParameterError(f"Target: kind={self.kind!r} is unknown; expected one of {', '.join(_UNITS)}")
        owner = f"Target.{self.kind}"
        object.__setattr__(self, "value", check_number(owner, "value", self.value, error=ParameterError, positive=True))
        for name in ("at", "start", "end"):
            object.__setattr__(self, name, check_number(owner, name, getattr(self, name), error=ParameterError, optional=True))
        object.__setattr__(self, "threshold", check_number(owner, "concentration", self.threshold, error=ParameterError,
                                                      positive=True, optional=self.kind != "time_above"))
        needed = {"concentration": ("at",), "auc": ("start", "end"), "time_above": ("start", "end")}
        for name in needed.get(self.kind, ()):
            if getattr(self, name) is None:
                raise ParameterError(f"{owner}: {name} is required")
        if (self.start is None) != (self.end is None) or (self.start is not None and not self.start < self.end):
            raise ParameterError(f"{owner}: window start={self.start!r}, end={self.end!r}; expected start < end")
        if self.kind == "time_above" and self.value > self.end - self.start:
            raise ParameterError(f"{owner}: hours={self.value:g} is longer than the window "
                                 f"{self.start:g}-{self.end:g} h")

    @classmethod
    def trough(cls, value, at=None):
        """Concentration ``value`` (mg/L) at ``at`` (h), just before any dose at that time; ``at=None``: at
        the end of the optimised regimen's last dosing interval (last dose time + its ``ii``)."""
        return cls("trough", value, at=at)

    @classmethod
    def peak(cls, value, within=None):
        """Highest concentration ``value`` (mg/L) in the window ``within=(start, end)`` (h); ``None``: from
        the first optimised dose to the end of the last one's interval (``ii``, or 24 h if it has none)."""
        start, end = within if within is not None else (None, None)
        return cls("peak", value, start=start, end=end)

    @classmethod
    def auc(cls, value, start, end):
        """Area under the concentration curve ``value`` (mg·h/L) from ``start`` to ``end`` (h)."""
        return cls("auc", value, start=start, end=end)

    @classmethod
    def time_above(cls, concentration, hours, start, end):
        """``hours`` (h) spent above ``concentration`` (mg/L) between ``start`` and ``end`` (h)."""
        return cls("time_above", hours, start=start, end=end, threshold=concentration)

    @classmethod
    def concentration(cls, value, at):
        """Concentration ``value`` (mg/L) at time ``at`` (h), after any dose given at that time."""
        return cls("concentration", value, at=at)

    @property
    def unit(self) -> str:
        return _UNITS[self.kind]

    def describe(self) -> str:
        """One line: kind, value, unit and times."""
        text = f"{self.kind} {self.value:g} {self.unit}"
        if self.threshold is not None:
            text = f"time above {self.threshold:g} mg/L of {self.value:g} h"
        if self.at is not None:
            return f"{text} at {self.at:g} h"
        return text if self.start is None else f"{text} over {self.start:g}-{self.end:g} h"


@dataclass(frozen=True, eq=False)
class DoseRecommendation:
    """Result of :func:`optimize_dose` (amounts mg; ``achieved`` in the target's unit).

    ``regimen`` (and ``rounded_regimen``) hold the optimised doses only, without ``history``;
    ``attainment`` is the fraction of parameter draws reaching the target (None for one parameter set).
    """

    dose: float
    achieved: float
    target: Target
    regimen: Regimen
    rounded_dose: float | None = None
    rounded_achieved: float | None = None
    rounded_regimen: Regimen | None = None
    attainment: float | None = None
    n_draws: int = 1
    history: Regimen = field(default_factory=Regimen)
    model: Any = None
    params: pd.DataFrame | None = None
    output: str = "CP"

    def simulate(self, times, rounded: bool = False, **options):
        """Simulate history plus the recommended (or ``rounded``) doses at ``times`` (a SimulationResult)."""
        regimen = self.rounded_regimen if rounded else self.regimen
        if regimen is None:
            raise ParameterError("DoseRecommendation.simulate: rounded=True needs optimize_dose(rounding=...)")
        return self.model.simulate(self.history + regimen, times, self.params, **options)

    def report(self) -> str:
        unit = self.target.unit
        lines = [f"Dose recommendation ({getattr(self.model, 'name', self.model)}, output {self.output})",
                 f"  target:   {self.target.describe()}",
                 f"  dose:     {self.dose:.6g} mg -> {self.achieved:.6g} {unit}"]
        if self.rounded_dose is not None:
            lines.append(f"  rounded:  {self.rounded_dose:.6g} mg -> {self.rounded_achieved:.6g} {unit}")
        if self.attainment is not None:
            lines.append(f"  probability of target attainment: {self.attainment:.3f} ({self.n_draws} draws)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{self.report()}</pre>"


def _expand(regimen: Regimen) -> list:
    """Doses with their ADDL repeats written out (a steady-state flag stays on the first)."""
    out = []
    for d in regimen:
        out += [replace(d, time=d.time + k * d.ii, addl=0, ss=d.ss if k == 0 else 0) for k in range(d.addl + 1)]
    return sorted(out, key=lambda d: d.time)


def _scaled(d, factor):
    if isinstance(d, Infusion):
        if d.infusion_duration == math.inf:
            return replace(d, rate=d.rate * factor)
        return replace(d, amt=d.amt * factor, duration=d.infusion_duration, rate=None)  # duration kept
    return replace(d, amt=d.amt * factor)


def _as_regimen(value, what) -> Regimen:
    if isinstance(value, (Regimen, Dose)):
        return Regimen(value) if isinstance(value, Dose) else value
    if isinstance(value, pd.DataFrame) or hasattr(value, "events"):
        return Regimen.from_events(value)
    raise ParameterError(f"{what} must be a Bolus, Infusion, Regimen or event table, not {type(value).__name__}")


def _dose_function(regimen, scale) -> Callable[[float], Regimen]:
    if callable(regimen) and not isinstance(regimen, (Regimen, Dose)):
        return lambda d: _as_regimen(regimen(d), f"regimen({d:g})")
    template = _as_regimen(regimen, "regimen")
    if scale not in ("all", "first"):
        raise ParameterError(f"optimize_dose: scale={scale!r}; expected 'all' or 'first'")
    first = template[0] if len(template) else None
    constant = isinstance(first, Infusion) and first.infusion_duration == math.inf
    ref = first.rate if constant else getattr(first, "amt", 0.0)
    if ref <= 0:
        raise ParameterError("optimize_dose: the regimen's first dose must have amt > 0 (it defines the dose)")
    return lambda d: Regimen([_scaled(x, d / ref) if scale == "all" or k == 0 else x for k, x in enumerate(template)])


def _parameter_table(model, params, defaults, prefix) -> pd.DataFrame:
    """One row per parameter set, ``ID`` then the model's parameter columns (other columns dropped)."""
    strict = isinstance(params, Mapping)
    if strict:
        frame = pd.DataFrame({k: [v] for k, v in params.items()})
    elif isinstance(params, (pd.Series, pd.DataFrame)):
        frame = params.to_frame().T if isinstance(params, pd.Series) else params
    else:
        raise ParameterError(f"params must be a mapping, a Series or a DataFrame, not {type(params).__name__}")
    names = set(model.parameter_names)
    local = {c: f"{prefix}.{c}" for c in frame.columns if prefix and c not in names and f"{prefix}.{c}" in names}
    frame = frame.rename(columns=local)
    cols = [c for c in frame.columns if strict or c in names or DOSING_PARAMETER.match(str(c))]
    if len(frame) == 0 or not cols:
        raise ParameterError(f"params: no rows or no columns named like parameters of {model.name} "
                             f"({', '.join(model.parameter_names)}); got columns {list(frame.columns)}")
    table = {k: np.full(len(frame), v) for k, v in defaults.items()}
    table.update({c: frame[c].to_numpy() for c in cols})
    ids, values = model.resolve_params(pd.DataFrame({"ID": np.arange(1, len(frame) + 1), **table}))  # validates
    return pd.DataFrame({"ID": ids, **values})


def _breaks(regimen, lags, start, end):
    times = [start, end]
    for d in _expand(regimen):
        for lag in lags:
            times += [d.time + lag] + ([d.time + lag + d.infusion_duration] if isinstance(d, Infusion) else [])
    t = np.unique(np.asarray(times, dtype=float))
    return t[(t >= start) & (t <= end)]


def _grid(breaks, n=2000):
    """Points on [start, end): each segment between breakpoints sampled up to just before its end (left limit)."""
    span, parts = breaks[-1] - breaks[0], []
    for a, b in zip(breaks[:-1], breaks[1:]):
        u = np.linspace(0.0, 1.0, max(8, math.ceil(n * (b - a) / span)) + 1)
        u[-1] = 1 - 1e-9
        parts.append(a + (b - a) * u)
    return np.concatenate(parts)


def _measure(target, regimen, sim, lags) -> np.ndarray:
    """The target quantity for each parameter set, shape (n,)."""
    if target.kind == "concentration":
        return sim(regimen, [target.at])[:, 0]
    if target.kind == "trough":
        return sim(Regimen([d for d in _expand(regimen) if d.time < target.at]), [target.at])[:, 0]
    breaks = _breaks(regimen, lags, target.start, target.end)
    if target.kind == "auc":  # Gauss-Legendre between breakpoints: exact jumps, no endpoint samples
        x, w = np.polynomial.legendre.leggauss(10)
        span = breaks[-1] - breaks[0]
        edges = np.unique(np.concatenate([np.linspace(a, b, max(4, math.ceil(200 * (b - a) / span)) + 1)
                                          for a, b in zip(breaks[:-1], breaks[1:])]))
        a, h = edges[:-1, None], np.diff(edges)[:, None] / 2
        return sim(regimen, (a + h * (x + 1)).ravel()) @ (h * w).ravel()
    t = _grid(breaks)
    v = sim(regimen, t)
    if target.kind == "peak":  # refine around each grid maximum
        j = np.unique(np.argmax(v, axis=1))
        extra = np.concatenate([np.linspace(t[max(i - 1, 0)], t[min(i + 1, len(t) - 1)], 201) for i in j])
        return np.maximum(v.max(axis=1), sim(regimen, extra).max(axis=1))
    d = v - target.threshold
    j = np.unique(np.nonzero((d[:, 1:] > 0) != (d[:, :-1] > 0))[1])
    if j.size:  # refine each crossing, then interpolate linearly
        extra = np.concatenate([np.linspace(t[i], t[i + 1], 42)[1:-1] for i in j])
        t = np.concatenate([t, extra])
        d = np.hstack([d, sim(regimen, extra) - target.threshold])
        order = np.argsort(t, kind="stable")
        t, d = t[order], d[:, order]
    d0, d1 = d[:, :-1], d[:, 1:]
    frac = np.where((d0 > 0) & (d1 > 0), 1.0, np.where((d0 <= 0) & (d1 <= 0), 0.0,
                    np.maximum(d0, d1) / np.maximum(np.abs(d0) + np.abs(d1), 1e-300)))
    return (frac * np.diff(t)).sum(axis=1)


def _resolve_target(target, new):
    doses = _expand(new)
    if not doses:
        raise ParameterError("optimize_dose: the regimen to optimise has no doses")
    last = doses[-1]
    if target.kind == "trough" and target.at is None:
        if last.ii <= 0:
            raise ParameterError("Target.trough(at=None): the regimen's last dose has no dosing interval (ii=0); "
                                 "give at=<sampling time in h>")
        return replace(target, at=last.time + last.ii)
    if target.kind == "peak" and target.start is None:
        return replace(target, start=doses[0].time, end=last.time + (last.ii if last.ii > 0 else 24.0))
    return target


def _in_documented_order(regimen, params):
    """``(regimen, params)``; a call in the order of pkpd 0.1 (``params`` before ``regimen``) still works, with a
    DeprecationWarning. The two are told apart by type: parameters are a mapping, Series or DataFrame, which a
    regimen (a dose, a Regimen or a callable) never is."""
    if isinstance(regimen, (Mapping, pd.Series, pd.DataFrame)) and not isinstance(params, (Mapping, pd.Series,
                                                                                           pd.DataFrame)):
        warnings.warn("optimize_dose(model, params, regimen, target) is deprecated: pkpd's functions take what is "
                      "given (the regimen or data) before the parameter values; call "
                      "optimize_dose(model, regimen, params, target)", DeprecationWarning, stacklevel=3)
        return params, regimen
    return regimen, params


def optimize_dose(model, regimen, params, target: Target, *, dose_bounds=(0.0, 10000.0), scale: str = "all",
                  output: str | None = None, history=None, rounding: float | None = None,
                  simulate_options: Mapping | None = None) -> DoseRecommendation:
    """The dose that makes ``model`` with ``params`` reach ``target`` (Bayesian dose individualisation).

    Parameters
    ----------
    model : Model or pkpd.drugs.Drug
        Any pkpd model, linear or not; a Drug is composed from its components, its ``params`` filling in
        what ``params`` does not give (local names such as ``VMAX`` mean ``<prefix>.VMAX``).
    regimen : callable, Bolus, Infusion or Regimen
        ``dose -> Regimen`` (e.g. ``lambda d: pkpd.Infusion(d, duration=0.5, time=168)``), or a template:
        ``dose`` is the amount of its first dose record and ``scale="all"`` multiplies every amount by
        ``dose / first amount`` (infusions keep their duration; a constant infusion scales its rate);
        ``scale="first"`` changes the first dose record only. If the first record is a steady-state
        constant infusion (``Infusion(0, rate=r, ss=1)``), ``dose`` is its rate (mg/h).
    params : mapping, Series or DataFrame
        The patient's parameters. From a Series or DataFrame (e.g. :func:`pkpd.map_estimate` output) only
        the columns named like model parameters are used (``ID``, ``ETA_*``, covariates are ignored).
        Several rows are draws of this patient's parameters (e.g. from the posterior): the dose is found
        for the median of each parameter and ``attainment`` is the fraction of draws reaching the target.
    target : Target
    dose_bounds : (float, float)
        Range of doses searched (mg), ``0 <= lo < hi``. Dose 0 means no new dose (history only).
    output : str, optional
        Concentration output (default ``"CP"``, ``"<prefix>.CP"`` for a Drug, else the first output).
    history : Bolus, Infusion, Regimen or event table, optional
        Doses given before (e.g. the maintenance doses behind a low level); the new doses are added.
    rounding : float, optional
        Practical dose step (mg): the recommendation also gives the nearest multiple and what it achieves.
    simulate_options : mapping, optional
        Passed to ``model.simulate`` (default for ODE models: ``rtol=1e-8, atol=1e-10``).

    Returns
    -------
    DoseRecommendation

    Raises
    ------
    ParameterError
        Bad target, bounds, params or regimen; or the target is out of reach within ``dose_bounds`` (the
        message gives the achievable range).

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartmentMM
    >>> from pkpd.estimation.dose_optimization import Target, optimize_dose
    >>> p = {"VMAX": 20.0, "KM": 4.0, "V": 45.0}          # phenytoin-like (mg/h, mg/L, L)
    >>> past = pkpd.Bolus(225, ii=24, addl=2)              # 225 mg daily for 3 days: a low level at 72 h
    >>> rec = optimize_dose(OneCompartmentMM(), lambda d: pkpd.Bolus(d, time=72), p, Target.concentration(15, at=72),
    ...                     history=past, rounding=50)
    >>> c0 = float(OneCompartmentMM().simulate(past, [72], p, rtol=1e-8)["CP"][0])
    >>> round(c0, 3), round(rec.dose, 2), round(45.0 * (15 - c0), 2)    # reloading bolus: V (C_target - C0)
    (1.474, 608.67, 608.67)
    >>> print(rec.report())
    Dose recommendation (OneCompartmentMM, output CP)
      target:   concentration 15 mg/L at 72 h
      dose:     608.668 mg -> 15 mg/L
      rounded:  600 mg -> 14.8074 mg/L
    >>> optimize_dose(OneCompartmentMM(), pkpd.Bolus(100), p, Target.concentration(15, at=0), dose_bounds=(0, 500))
    Traceback (most recent call last):
    ...
    pkpd.errors.ParameterError: concentration 15 mg/L at 0 h is out of reach with doses in [0, 500] mg: achievable concentration 0 to 11.11 mg/L; widen dose_bounds
    """
    regimen, params = _in_documented_order(regimen, params)
    if not isinstance(target, Target):
        raise ParameterError(f"target must be a Target (Target.trough(...), ...), not {type(target).__name__}")
    try:
        lo, hi = (float(x) for x in dose_bounds)
    except (TypeError, ValueError):
        raise ParameterError(f"dose_bounds={dose_bounds!r}; expected two numbers (lo, hi) in mg") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise ParameterError(f"dose_bounds={dose_bounds!r}; expected finite 0 <= lo < hi (mg)")
    if rounding is not None:
        rounding = check_number("optimize_dose", "rounding", rounding, error=ParameterError, positive=True)
    prefix, defaults = None, {}
    if isinstance(model, Drug):
        from ..models import compose

        prefix, defaults, model = model.prefix, dict(model.params), compose(*model.components())
    if output is None:
        output = f"{prefix}.CP" if prefix else "CP"
        output = output if output in model.outputs else model.outputs[0]
    if output not in model.outputs:
        raise ParameterError(f"output={output!r} is not an output of {model.name}; "
                             f"its outputs are {', '.join(model.outputs)}")
    table = _parameter_table(model, params, defaults, prefix)
    median = table.median().to_frame().T.assign(ID=1)
    lags = sorted({0.0} | {float(x) for c in table.columns if _LAG.search(str(c)) for x in table[c]})
    options = dict(simulate_options or ({} if model.linear else {"rtol": 1e-8, "atol": 1e-10}))
    past = Regimen() if history is None else _as_regimen(history, "history")
    new = _dose_function(regimen, scale)
    target = _resolve_target(target, new(hi))

    def sim(pars):
        def run(reg, times):
            if len(reg) == 0:
                return np.zeros((len(pars), len(times)))
            res = model.simulate(reg, np.asarray(times, float), pars, states=False, **options)
            return np.asarray(res[output]).reshape(len(pars), len(times))
        return run

    def full(d):
        return past + new(d) if d > 0 else past

    def measure(d):
        return float(_measure(target, full(d), sim(median), lags)[0])

    f_lo, f_hi = measure(lo), measure(hi)
    if not min(f_lo, f_hi) <= target.value <= max(f_lo, f_hi):
        low, high = min(f_lo, f_hi), max(f_lo, f_hi)
        raise ParameterError(f"{target.describe()} is out of reach with doses in [{lo:g}, {hi:g}] mg: achievable "
                             f"{target.kind} {low:.4g} to {high:.4g} {target.unit}; widen dose_bounds")
    if target.value in (f_lo, f_hi):
        dose = lo if f_lo == target.value else hi
    else:
        from scipy.optimize import brentq

        dose = brentq(lambda d: measure(d) - target.value, lo, hi, xtol=1e-12, rtol=1e-10)
    out = dict(dose=float(dose), achieved=measure(dose), target=target, regimen=new(dose) if dose > 0 else Regimen(),
               history=past, model=model, params=median, output=output, n_draws=len(table))
    if rounding is not None:
        r = round(dose / rounding) * rounding
        out.update(rounded_dose=float(r), rounded_achieved=measure(r), rounded_regimen=new(r) if r > 0 else Regimen())
    if len(table) > 1:
        out["attainment"] = float(np.mean(_measure(target, full(dose), sim(table), lags) >= target.value * (1 - 1e-9)))
    return DoseRecommendation(**out)
