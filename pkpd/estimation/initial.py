"""Initial estimates for fits started without values: NCA where it applies, a grid search otherwise.

The parameters informed are the usual pharmacokinetic ones present in the model: clearances ``CL``,
``Q``, ``Q3``, volumes ``V``, ``V1``, ``V2``, ``V3`` and the absorption rate ``KA``. Everything else
(``F1``, ``ALAG1``, ``FM``, ...) keeps the model defaults and is not returned.

**NCA** (:func:`pkpd.estimation.nca.nca`, medians over subjects): ``CL`` (or CL/F) = Dose / AUCinf, ``V`` = Vz,
and for first-order absorption ``KA`` solving ``tmax = ln(KA / k) / (KA - k)`` with ``k = lambda_z``.
Multi-compartment volumes share Vz (``V1 = V2 = Vz / 2``; three compartments ``Vz / 3`` each) and
intercompartmental clearances start at CL.

**Grid search** (the fallback when NCA cannot apply -- several doses, ``ADDL``/``SS`` records, steady
state, or too few samples for a terminal phase -- or leaves a parameter without a value):

1. start from the NCA values it could compute, the model defaults for the rest;
2. scale every clearance and volume by one factor ``s`` so that the median of ``log(pred / obs)`` is 0
   (concentrations of a linear model are inversely proportional to ``s`` when clearances and volumes
   scale together, so this matches the level of the data whatever the dose and units);
3. evaluate a log grid of factors ``10^{-1, -0.5, 0, 0.5, 1}`` on the clearances (together), the volumes
   (together) and ``KA`` -- 125 parameter sets (25 without absorption) predicted in one batched
   simulation (:class:`pkpd.engine._batch.BatchPredictor`) -- and keep the set with the smallest sum of
   squared log residuals over the positive observations after the first dose;
4. refine once around it with factors ``10^{-0.25 ... 0.25}`` (steps of 10^0.125, a factor 1.33).

Sets with ``KA <= CL / V`` (flip-flop kinetics: the same curve as a faster absorption and a smaller
volume) are not chosen, the convention of R's ``SSfol``. The result is a start value, not an estimate:
the fit does the rest.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DatasetError, ParameterError
from ..io import as_dataset

__all__ = ["initial_estimates", "INFORMED", "START_METHODS"]

_CLEARANCES = ("CL", "Q", "Q3")
_VOLUMES = ("V", "V1", "V2", "V3")
#: Parameters :func:`initial_estimates` gives values for, when the model has them.
INFORMED = _CLEARANCES + _VOLUMES + ("KA",)
#: ``method`` values of :func:`initial_estimates`.
START_METHODS = ("auto", "nca", "grid")

_COARSE = 10.0 ** np.linspace(-1.0, 1.0, 5)
_FINE = 10.0 ** np.linspace(-0.25, 0.25, 5)
#: log residual given to a prediction that is not positive (a factor e^20 off)
_MISS = 20.0


def _ka_from_tmax(tmax: float, k: float) -> float:
    """KA > k with ``ln(KA/k) / (KA - k) = tmax`` (Bateman peak time); NaN when none exists."""
    if not (tmax > 0 and k > 0) or tmax >= 1.0 / k:        # tmax -> 1/k as KA -> k
        return math.nan

    def peak(ka):
        return math.log(ka / k) / (ka - k) - tmax

    from scipy.optimize import brentq            # on first use: scipy.optimize costs 0.2 s at import

    try:
        return brentq(peak, k * (1 + 1e-9), k * 1e6)
    except ValueError:
        return math.nan


def initial_estimates(model, data, *, method: str = "auto", output: str | None = None,
                      engine: str = "auto") -> dict:
    """Start values for ``model``'s pharmacokinetic parameters from ``data`` (see the module docstring).

    Parameters
    ----------
    model : Model
        The model to fit; only the parameters in :data:`INFORMED` that it has are returned.
    data : Dataset or DataFrame
        NONMEM-style records of one or more subjects (pooled: one set of values for all).
    method : {"auto", "nca", "grid"}
        ``"nca"``: non-compartmental analysis only (raises :class:`pkpd.DatasetError` when NCA cannot
        be done, and leaves out what it cannot compute); ``"grid"``: the grid search only;
        ``"auto"`` (default): NCA when it gives every parameter, otherwise the grid search started from
        what NCA gave.
    output : str, optional
        Model output compared with the observations by the grid search (default: the first output).
    engine : {"auto", "analytic", "ode", "compiled"}
        How the grid search predicts (:func:`pkpd.simulate`; ``"compiled"``: the compiled kernel's DOP853,
        :class:`~pkpd.engine.BatchPredictor`).

    Returns
    -------
    dict
        Parameter name -> positive start value.

    Examples
    --------
    A single oral dose per subject: NCA.

    >>> import pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> est = initial_estimates(OneCompartmentOral(), pkpd.load_dataset("theophylline"))
    >>> {k: round(v, 2) for k, v in est.items()}
    {'CL': 2.9, 'V': 31.08, 'KA': 3.27}

    Multiple doses (320 mg every 12 h, a first-dose and a last-interval profile with 10 % noise; NCA does
    not apply): the grid search, and the fit started from it (truth CL 2.8, V 32, KA 1.5).

    >>> truth = {"CL": 2.8, "V": 32.0, "KA": 1.5}
    >>> md = pkpd.population.synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(320, cmt="DEPOT", ii=12, addl=9), 1,
    ...                            params=truth, error=pkpd.ProportionalError(0.1), seed=1)
    >>> est = initial_estimates(OneCompartmentOral(), md.data)
    >>> {k: round(v, 2) for k, v in est.items()}
    {'CL': 2.76, 'V': 27.64, 'KA': 1.0}
    >>> fit = pkpd.fit_individual(OneCompartmentOral(), md.data, error=pkpd.ProportionalError())
    >>> fit.success, {k: round(fit.estimates[k], 2) for k in truth}
    (True, {'CL': 2.76, 'V': 29.81, 'KA': 1.23})
    """
    if method not in START_METHODS:
        raise ParameterError(f"initial_estimates: method must be one of {START_METHODS}, got {method!r}")
    data = as_dataset(data)
    names = {p.name for p in model.parameters}
    targets = [n for n in INFORMED if n in names]
    if method == "nca":
        return _nca_estimates(model, data)
    seed = {}
    if method == "auto":
        try:
            seed = _nca_estimates(model, data)
        except DatasetError:
            seed = {}
        if all(n in seed for n in targets):
            return seed
    return _grid_estimates(model, data, targets, seed, output, engine)


def _nca_estimates(model, data) -> dict:
    """The NCA-based values (module docstring); a parameter NCA cannot compute is left out."""
    from .nca import nca

    table = nca(data)
    names = {p.name for p in model.parameters}
    out = {}

    def median(column):
        values = table[column].to_numpy(dtype=float)
        values = values[np.isfinite(values) & (values > 0)]
        return float(np.median(values)) if values.size else math.nan

    cl, vz, k, tmax = median("CL"), median("VZ"), median("LAMBDA_Z"), median("TMAX")
    volumes = [v for v in _VOLUMES if v in names]
    guesses = {"CL": cl, "Q": cl, "Q3": cl}
    for v in volumes:
        guesses[v] = vz / len(volumes)
    if "KA" in names:
        guesses["KA"] = _ka_from_tmax(tmax, k)
    for name, value in guesses.items():
        if name in names and math.isfinite(value) and value > 0:
            out[name] = value
    return out


def _grid_records(data):
    """Rows (in ``data.events``) and values of the positive, quantified observations after each subject's
    first dose: the ones a start value can be judged on."""
    ev = data.events
    obs = data.is_observation
    dv = ev["DV"].to_numpy(dtype=float)
    keep = obs & np.isfinite(dv) & (dv > 0)
    if "BLQ" in ev:
        keep &= ev["BLQ"].to_numpy(dtype=float) != 1
    evid = ev["EVID"].to_numpy()
    dose = (evid == 1) | (evid == 4)
    first = ev["TIME"].where(dose).groupby(ev["ID"], sort=False).transform("min").to_numpy(dtype=float)
    keep &= np.isfinite(first) & (ev["TIME"].to_numpy(dtype=float) > first)
    rows = np.flatnonzero(keep)
    return rows, dv[rows]


def _grid_estimates(model, data, targets, seed, output, engine) -> dict:
    from ..engine import BatchPredictor

    defaults = {p.name: float(p.default) for p in model.parameters}
    base = {n: float(seed.get(n, defaults[n])) for n in targets}
    base = {n: v if v > 0 else 1.0 for n, v in base.items()}
    rows, y = _grid_records(data)
    if not targets or not len(rows):
        return base
    output = output or model.outputs[0]
    predict = BatchPredictor(model, data, output, rows, engine)
    logy = np.log(y)
    clearances = [n for n in _CLEARANCES if n in targets]
    volumes = [n for n in _VOLUMES if n in targets]
    central = next((v for v in ("V", "V1") if v in targets), None)
    has_ka = "KA" in targets

    def sets_for(center, factors):
        out = []
        for a in factors:
            for b in factors:
                for c in (factors if has_ka else (1.0,)):
                    s = dict(center)
                    for n in clearances:
                        s[n] = center[n] * a
                    for n in volumes:
                        s[n] = center[n] * b
                    if has_ka:
                        s["KA"] = center["KA"] * c
                    out.append(s)
        return out

    def losses(sets):
        with np.errstate(all="ignore"):
            try:
                f = predict([{**defaults, **s} for s in sets])
            except (ValueError, ArithmeticError):
                return np.full(len(sets), np.inf)
            r = np.where((f > 0) & np.isfinite(f), logy - np.log(np.where(f > 0, f, 1.0)), _MISS)
        loss = np.sum(r * r, axis=1)
        if has_ka and central and "CL" in targets:
            flip = np.array([s["KA"] <= s["CL"] / s[central] for s in sets])
            if not flip.all():
                loss[flip] = np.inf
        return loss

    # 2. one factor on clearances and volumes matching the level of the observations
    with np.errstate(all="ignore"):
        try:
            f0 = predict([{**defaults, **base}])[0]
        except (ValueError, ArithmeticError):
            f0 = np.full(len(y), np.nan)
    ok = np.isfinite(f0) & (f0 > 0)
    if ok.any():
        scale = float(np.exp(np.median(np.log(f0[ok]) - logy[ok])))
        for n in clearances + volumes:
            base[n] *= scale
    # 3-4. coarse grid, then one refinement around its best point
    best = base
    for factors in (_COARSE, _FINE):
        sets = sets_for(best, factors)
        loss = losses(sets)
        if np.isfinite(loss).any():
            best = sets[int(np.argmin(loss))]
    return {n: float(best[n]) for n in targets}
