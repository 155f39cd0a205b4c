"""Simulation entry points: a regimen at chosen times, or a dataset at its own records.

Both compile the doses into a :class:`~pkpd.models._schedule.Schedule` per chunk of subjects and solve
it with the closed form (linear models) or the batched ODE engine.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from .errors import ModelError, ParameterError
from .models._schedule import CANONICAL_COLUMNS, compile_schedule
from .results import SimulationResult

__all__ = ["simulate", "simulate_regimen"]

_METHODS = ("auto", "analytic", "ode")


def _choose_method(model, method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    if method == "auto":
        return "analytic" if model.linear else "ode"
    if method == "analytic" and not model.linear:
        raise ModelError(f"{model.name} is not linear: it has no closed form; use method='ode'")
    return method


def _solve(model, events, subject_index, p, output_mask, method, options, extra_outputs=None):
    """States at the outputs of one chunk (records in ``output_mask``, then ``extra_outputs``)."""
    schedule = compile_schedule(
        events, model, subject_index, model.dosing_matrices(p, len(next(iter(p.values())))),
        output_mask=output_mask, extra_outputs=extra_outputs,
    )
    if method == "analytic":
        from .models._closed_form import closed_form_states

        states = closed_form_states(model, schedule, p)
        if model.nonnegative:
            np.maximum(states, 0.0, out=states)
    else:
        from .models._engine import ode_states

        states = ode_states(model, schedule, p, **options)
    return schedule, states


def _events_of(regimen) -> pd.DataFrame:
    if isinstance(regimen, pd.DataFrame):
        events = regimen
    elif hasattr(regimen, "to_events"):
        events = regimen.to_events(id=1)
    else:
        raise TypeError(f"regimen must be a Bolus, Infusion, Regimen or event DataFrame, not {type(regimen).__name__}")
    missing = [c for c in CANONICAL_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"event table lacks column(s) {missing}")
    if events["ID"].nunique() > 1:
        raise ValueError("a regimen event table must hold one subject; use pkpd.simulate for a dataset")
    return events.loc[events["EVID"].isin([1, 3, 4]), list(CANONICAL_COLUMNS)].reset_index(drop=True)


def _options(model, method, rtol, atol, solver, states):
    if method != "ode":
        return {}
    if solver == "auto":
        solver = "lsoda" if model.stiff else "dp5"
    needed = None
    if not states and model.output_states is not None:
        needed = np.array([model.state_index(s) for s in model.output_states])
    return {"rtol": rtol, "atol": atol, "solver": solver, "needed": needed}


def simulate_regimen(
    model,
    regimen,
    times: Iterable[float],
    params=None,
    method: str = "auto",
    *,
    states: bool = True,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    solver: str = "auto",
    chunk_size: int | None = None,
) -> SimulationResult:
    """Simulate the same regimen for one or many subjects; see :meth:`pkpd.models.Model.simulate`."""
    method = _choose_method(model, method)
    times = np.asarray(times, dtype=float).ravel()
    if times.size == 0 or not np.all(np.isfinite(times)):
        raise ValueError("times must be a non-empty array of finite numbers")
    ids, p = model.resolve_params(params)
    n = len(ids)
    dose_events = _events_of(regimen)
    if dose_events.empty:
        raise ValueError("the regimen has no dose records")
    cmt = dose_events["CMT"].to_numpy()
    if cmt.dtype == object:
        cmt = np.array([model.state_index(c) + 1 for c in cmt])
    one = {c: dose_events[c].to_numpy() for c in CANONICAL_COLUMNS}
    one["CMT"] = cmt.astype(np.int64)
    m, r = len(times), len(dose_events)
    t_order = np.argsort(times, kind="stable")
    inverse = np.empty(m, dtype=np.int64)
    inverse[t_order] = np.arange(m)
    in_order = bool(np.all(t_order == np.arange(m)))

    chunk = chunk_size or (1000 if method == "ode" else 2000)
    names = list(model.outputs) + (list(model.states) if states else [])
    values = {k: np.empty((n, m)) for k in names}
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        k = hi - lo
        events = pd.DataFrame({c: np.tile(one[c], k) for c in CANONICAL_COLUMNS})
        events["ID"] = np.repeat(np.arange(k), r)
        p_chunk = {name: v[lo:hi] for name, v in p.items()}
        # outputs are not records: each subject's sorted times, after every dose at the same time
        extra = (np.repeat(np.arange(k), m), np.tile(times[t_order], k))
        schedule, st = _solve(model, events, np.repeat(np.arange(k), r), p_chunk, np.zeros(k * r, bool),
                              method, _options(model, method, rtol, atol, solver, states), extra_outputs=extra)
        st = st.reshape(k, m, -1)
        if not in_order:
            st = st[:, inverse]
        outs = model.output(st, p_chunk)
        for name in model.outputs:
            values[name][lo:hi] = outs[name]
        if states:
            for j, name in enumerate(model.states):
                values[name][lo:hi] = st[:, :, j]
    flat = {k: v.reshape(-1) for k, v in values.items()}
    return SimulationResult(
        model=model.name,
        id=np.repeat(ids, m),
        time=np.tile(times, n),
        values=flat,
        method=method,
        units=_units(model, names),
    )


def simulate(model, dataset, params=None, method: str = "auto", *, states: bool = False, rtol: float = 1e-6,
             atol: float = 1e-9, solver: str = "auto", chunk_size: int | None = None) -> SimulationResult:
    """Predict ``model`` at every record of a NONMEM-style dataset.

    Parameters
    ----------
    model : Model
    dataset : Dataset or DataFrame
        A :class:`pkpd.Dataset` or a canonical event table (``ID TIME EVID AMT RATE CMT II ADDL SS``).
    params : mapping or DataFrame, optional
        One set of parameters for every subject (mapping), or one row per subject with an ``ID`` column.
    method : {"auto", "analytic", "ode"}
    states : bool
        Include the states as columns.
    rtol, atol : float
        Tolerances of the ODE engine (relative, and absolute in amount units).
    solver : {"auto", "dp5", "bdf", "radau", "lsoda"}
        ODE solver: the explicit per-subject engine (Dormand-Prince 5(4)), or an implicit one for stiff
        models; ``"auto"`` takes ``"lsoda"`` for models marked stiff (``Model.stiff``: it controls each
        subject's error, whereas the stacked BDF/Radau error norm averages over the batch), else ``"dp5"``.
    chunk_size : int, optional
        Subjects integrated together (default 1000 for the ODE engine, 2000 for the closed form).

    Returns
    -------
    SimulationResult
        One row per dataset record, in the dataset's order; the prediction at a dose record includes
        that dose, and implied (ADDL) doses at an observation's time come after it, as in NONMEM.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> data = pkpd.load_dataset("indometacin")            # 25 mg IV bolus, 6 subjects
    >>> pred = pkpd.simulate(OneCompartment(), data, {"CL": 8.0, "V": 12.0})
    >>> pred.to_frame().head(3).round(4)      # 25/12 * exp(-8/12 * t)
       ID  TIME      CP
    0   1  0.00  2.0833
    1   1  0.25  1.7635
    2   1  0.50  1.4928
    """
    method = _choose_method(model, method)
    events = getattr(dataset, "events", dataset)
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"dataset must be a pkpd.Dataset or a DataFrame, not {type(dataset).__name__}")
    missing = [c for c in CANONICAL_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"event table lacks column(s) {missing}")
    rec_ids = events["ID"].to_numpy()
    uniq, first = np.unique(rec_ids, return_index=True)
    subject_ids = rec_ids[np.sort(first)]
    if isinstance(params, pd.DataFrame):
        ids, p = model.resolve_params(params)
        pos = pd.Index(ids)
        missing_ids = [i for i in subject_ids if i not in pos]
        if missing_ids:
            raise ParameterError(f"no parameters for ID(s) {missing_ids[:5]}")
        rows = pos.get_indexer(subject_ids)
        p = {k: v[rows] for k, v in p.items()}
    else:
        _, p1 = model.resolve_params(params)
        p = {k: np.repeat(v, len(subject_ids)) if len(v) == 1 else v for k, v in p1.items()}
        if len(next(iter(p.values()))) != len(subject_ids):
            raise ParameterError("a parameter mapping with arrays must have one value per subject")
    subj_of_record = pd.Index(subject_ids).get_indexer(rec_ids)

    n_subj = len(subject_ids)
    chunk = chunk_size or (1000 if method == "ode" else 2000)
    names = list(model.outputs) + (list(model.states) if states else [])
    values = {k: np.empty(len(events)) for k in names}
    frame = events[list(CANONICAL_COLUMNS)]
    for lo in range(0, n_subj, chunk):
        hi = min(n_subj, lo + chunk)
        rows = np.nonzero((subj_of_record >= lo) & (subj_of_record < hi))[0]
        sub = frame.iloc[rows]
        p_chunk = {k: v[lo:hi] for k, v in p.items()}
        schedule, st = _solve(model, sub, subj_of_record[rows] - lo, p_chunk, None, method,
                              _options(model, method, rtol, atol, solver, states))
        subj = subj_of_record[rows][schedule.out_row] - lo
        outs = model.output(st, {k: v[subj] for k, v in p_chunk.items()})
        target = rows[schedule.out_row]
        for name in model.outputs:
            values[name][target] = outs[name]
        if states:
            for j, name in enumerate(model.states):
                values[name][target] = st[:, j]
    return SimulationResult(
        model=model.name,
        id=rec_ids,
        time=events["TIME"].to_numpy(float),
        values=values,
        method=method,
        units=_units(model, names),
    )


def _units(model, names):
    """Units of output and state columns where they are known (amounts of drug in mg, concentrations mg/L)."""
    from .models._compose import ComposedModel, ModelComponent

    concentration = {"CP", "CU", "CM", "CPRO", "CBRAIN_U"}
    units = {}
    for name in names:
        local = name.rsplit(".", 1)[-1]
        if name in model.outputs and local in concentration:
            units[name] = "mg/L"
    if isinstance(model, ComposedModel):
        for c in model.components:
            if isinstance(c, ModelComponent):
                units.update({c.qualified(s): "mg" for s in c.states})
    elif model.nonnegative:  # compartmental models: states are amounts
        units.update({s: "mg" for s in model.states})
    return {k: units[k] for k in names if k in units}
