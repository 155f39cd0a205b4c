"""Simulation entry points: a regimen at chosen times, or a dataset at its own records.

Both compile the doses into a :class:`~pkpd.engine._schedule.Schedule` per chunk of subjects and solve
it with the closed form (linear models) or the batched ODE engine.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import DatasetError, ModelError, ParameterError, SimulationError
from ..io import Dataset
from .._internal.text import show as _show, where as _where
from ..io import read_dataset
from .._internal.columns import EVENT_COLUMNS
from ._schedule import check_memory, compile_schedule, dose_copies, schedule_bytes, with_record_params
from ..results import SimulationResult

__all__ = ["simulate", "simulate_regimen"]

_METHODS = ("auto", "analytic", "ode")
_CARRY = ("nocb", "locf")


def _choose_method(model, method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    if method == "auto":
        return "analytic" if model.linear else "ode"
    if method == "analytic" and not model.linear:
        raise ModelError(f"{model.name} is not linear: it has no closed form; use method='ode'")
    return method


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.array_equal(a, b, equal_nan=True)``, by their bytes first (the common case, several times faster)."""
    return (a.shape == b.shape and a.tobytes() == b.tobytes()) or np.array_equal(a, b, equal_nan=True)


def _solve(model, events, subject_index, p, output_mask, method, options, extra_outputs=None, record_params=None,
           carry="nocb", store=None):
    """States at the outputs of one chunk (records in ``output_mask``, then ``extra_outputs``).

    ``record_params`` (one value per record of ``events``) override ``p`` within subjects; with
    ``method="analytic"`` they are solved exactly by the ODE engine's breakpoints and matrix exponentials
    (``solver="exact"``), as the closed form assumes constant parameters. ``store`` (a dict) keeps the compiled
    schedule with its dosing matrices and reuses it while they are unchanged (with ``record_params``, only the
    parameter changes are recomputed)."""
    ode = method != "analytic" or record_params is not None
    if record_params is None:
        mats = model.dosing_matrices(p, len(next(iter(p.values()))))
        kept = None if store is None else store.get("schedule")
        if kept is not None and all(_same(kept[0][k], mats[k]) for k in mats):
            schedule = kept[1]
        else:
            schedule = compile_schedule(events, model, subject_index, mats, output_mask=output_mask,
                                        extra_outputs=extra_outputs, ode=ode)
            if store is not None:
                store["schedule"], store["closed_form"] = (mats, schedule), {}
    else:
        # dosing parameters (F, ALAG, R, D) are read at each dose record
        p_rec = {k: v[subject_index] for k, v in p.items()}
        p_rec.update(record_params)
        mats = model.dosing_matrices(p_rec, len(events))
        kept = None if store is None else store.get("varying")
        if kept is not None and kept[2] == carry and all(np.array_equal(kept[0][k], mats[k], equal_nan=True)
                                                          for k in mats):
            schedule = with_record_params(kept[1], events, record_params, carry)   # the same doses: new values only
        else:
            schedule = compile_schedule(
                events, model, subject_index, mats, output_mask=output_mask, extra_outputs=extra_outputs,
                dosing_row=np.arange(len(events)), record_params=record_params, carry=carry, ode=ode,
            )
            if store is not None:
                store["varying"] = (mats, schedule, carry)
    if method == "analytic" and record_params is not None:
        from ._ode import ode_states

        states = ode_states(model, schedule, p, solver="exact")
        if model.nonnegative:
            np.maximum(states, 0.0, out=states)
    elif method == "analytic":
        from ._closed_form import closed_form_states

        cache = store.get("closed_form") if store is not None and record_params is None else None
        states = closed_form_states(model, schedule, p, cache=cache)
        if model.nonnegative:
            np.maximum(states, 0.0, out=states)
    else:
        from ._ode import ode_states

        states = ode_states(model, schedule, p, **options)
    return schedule, states


def _events_of(regimen) -> pd.DataFrame:
    if isinstance(regimen, pd.DataFrame):
        events = regimen
    elif hasattr(regimen, "to_events"):
        events = regimen.to_events(id=1)
    else:
        raise TypeError(f"regimen must be a Bolus, Infusion, Regimen or event DataFrame, not {type(regimen).__name__}")
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"event table lacks column(s) {missing}")
    if events["ID"].nunique() > 1:
        raise ValueError("a regimen event table must hold one subject; use pkpd.simulate for a dataset")
    return events.loc[events["EVID"].isin([1, 3, 4]), list(EVENT_COLUMNS)].reset_index(drop=True)


#: ``solver="auto"`` takes the compiled kernel when a subject has at least this many doses (ADDL copies counted):
#: Dormand-Prince for a non-stiff model -- the numpy engine's steps (results equal to rounding) without its Python
#: overhead on every step of every dosing interval: 30-75 ms an interval for the composed drug models (phenytoin, 28
#: days once daily: 1.0 s; clobazam, 90 days twice daily: 13 s), where the compiled kernel takes 8-20 ms after its
#: first call in a process (1-2 s, loaded from the kernel cache) -- and Rodas5P for a stiff one instead of LSODA
#: (four weeks of carbamazepine, then SE and midazolam, 4 subjects: LSODA 23 s, Rodas5P 0.02 s once compiled, 14 s
#: for its first compile; outputs within 2e-6 of each other). Shorter regimens keep numpy or LSODA, which compile
#: nothing.
LONG_REGIMEN = 30


def _options(model, method, rtol, atol, solver, states, events: pd.DataFrame | None = None):
    """The ODE engine's options; ``events``: the dosing records, whose most doses in a subject (:func:`most_doses`)
    decide ``solver="auto"`` (:data:`LONG_REGIMEN`)."""
    if method != "ode":
        return {}
    if solver == "auto":
        long = events is not None and most_doses(events) >= LONG_REGIMEN and _compiles(model, model.stiff)
        solver = ("rodas" if long else "lsoda") if model.stiff else ("compiled" if long else "dp5")
    needed = None
    if not states and model.output_states is not None:
        needed = np.array([model.state_index(s) for s in model.output_states])
    return {"rtol": rtol, "atol": atol, "solver": solver, "needed": needed}


def most_doses(events: pd.DataFrame) -> int:
    """The most doses (EVID 1 and 4 records with their ADDL copies) of any subject of an event table."""
    dosing = events["EVID"].isin((1, 4)).to_numpy()
    if not dosing.any():
        return 0
    subject = pd.factorize(events["ID"].to_numpy()[dosing])[0]
    copies = 1 + np.nan_to_num(events["ADDL"].to_numpy(dtype=float)[dosing])
    return int(np.bincount(subject, weights=copies).max())


def _compiles(model, stiff: bool = False) -> bool:
    """Whether ``model`` runs on the compiled kernel here: numba is installed and its equations are declared or can
    be traced from its ``rhs`` -- with their Jacobian for the ``stiff`` method (checked once per model; numba itself
    is not imported to answer)."""
    from ._compiled import available, equations_of, jacobian_of

    if not available():
        return False
    try:
        jacobian_of(model) if stiff else equations_of(model)
    except SimulationError:
        return False
    return True


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
        cmt = np.array([model.dose_index(c) + 1 for c in cmt])
    one = {c: dose_events[c].to_numpy() for c in EVENT_COLUMNS}
    one["CMT"] = cmt.astype(np.int64)
    m, r = len(times), len(dose_events)
    t_order = np.argsort(times, kind="stable")
    inverse = np.empty(m, dtype=np.int64)
    inverse[t_order] = np.arange(m)
    in_order = bool(np.all(t_order == np.arange(m)))

    chunk = chunk_size or (1000 if method == "ode" else 2000)
    names = list(model.outputs) + (list(model.states) if states else [])
    values = {k: np.empty((n, m)) for k in names}
    options = _options(model, method, rtol, atol, solver, states, dose_events)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        k = hi - lo
        events = pd.DataFrame({c: np.tile(one[c], k) for c in EVENT_COLUMNS})
        events["ID"] = np.repeat(np.arange(k), r)
        p_chunk = {name: v[lo:hi] for name, v in p.items()}
        # outputs are not records: each subject's sorted times, after every dose at the same time
        extra = (np.repeat(np.arange(k), m), np.tile(times[t_order], k))
        schedule, st = _solve(model, events, np.repeat(np.arange(k), r), p_chunk, np.zeros(k * r, bool),
                              method, options, extra_outputs=extra)
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
        units=output_units(model, names),
    )


def _record_params(model, record_params, n_records: int) -> dict[str, np.ndarray]:
    """Validate parameters given per record: known names, one finite value per record, within bounds."""
    from ..models import DOSING_PARAMETER

    if not isinstance(record_params, Mapping):
        raise ParameterError(f"record_params must be a mapping of parameter name to values per record, "
                             f"not {type(record_params).__name__}")
    declared = {par.name: par for par in model.parameters}
    out = {}
    for name, values in record_params.items():
        dosing = isinstance(name, str) and DOSING_PARAMETER.match(name)
        if name not in declared and not dosing:
            raise ParameterError(f"record_params: {model.name} has no parameter {name!r}; its parameters are "
                                 f"{', '.join(model.parameter_names)}")
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"record_params[{name!r}]: values must be numbers") from None
        if arr.ndim != 1 or len(arr) != n_records:
            raise ParameterError(f"record_params[{name!r}]: expected one value per dataset record ({n_records}), "
                                 f"got shape {arr.shape}")
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise ParameterError(f"record_params[{name!r}]: value {float(arr[i])!r} at record {i + 1} is not finite")
        if name in declared:
            lower, upper = declared[name].lower, declared[name].upper
            bad = (arr < lower) | (arr > upper)
            where = f"[{lower}, {upper}] ({declared[name].unit})"
        else:
            kind, number = dosing.groups()
            if int(number) > len(model.states):
                raise ParameterError(f"record_params: dosing parameter {name} refers to compartment {number}, but "
                                     f"{model.name} has {len(model.states)}")
            bad = (arr <= 0) if kind in ("R", "D") else (arr < 0)
            where = "(0, inf)" if kind in ("R", "D") else "[0, inf)"
        if bad.any():
            i = int(np.argmax(bad))
            raise ParameterError(f"record_params[{name!r}]: value {float(arr[i])!r} at record {i + 1} is outside "
                                 f"{where}")
        out[name] = arr
    return out


def simulate(model, dataset, params=None, method: str = "auto", *, states: bool = False, rtol: float = 1e-6,
             atol: float = 1e-9, solver: str = "auto", chunk_size: int | None = None, record_params=None,
             carry: str = "nocb") -> SimulationResult:
    """Predict ``model`` at every record of a NONMEM-style dataset.

    Parameters
    ----------
    model : Model
    dataset : Dataset or DataFrame
        A :class:`pkpd.Dataset`, or a NONMEM-style table, which is read by :func:`pkpd.read_nonmem`: the
        same reading and checks as a file (column names in any case, EVID and MDV derived when absent,
        a DatasetError naming the row, column and value for a negative AMT, an unknown EVID, IDs whose
        records are not together ...). The caller's DataFrame is not modified; its rows are the records,
        in order. The rules on observed values are not applied, since no prediction depends on them: a
        missing DV where MDV is 0 (a table of times to predict at), MDV 0 on a dose record, and a dose
        record without amount or rate (EVID 1, AMT 0, RATE 0: run as the nothing it doses). Either way
        every CMT value must be a compartment of ``model`` (observations too).
    params : mapping or DataFrame, optional
        One set of parameters for every subject (mapping), or one row per subject with an ``ID`` column.
    method : {"auto", "analytic", "ode"}
    states : bool
        Include the states as columns.
    rtol, atol : float
        Tolerances of the ODE engine (relative, and absolute in amount units).
    solver : {"auto", "dp5", "compiled", "dop853", "rodas", "bdf", "radau", "lsoda", "exact"}
        ODE solver: the explicit per-subject engine (Dormand-Prince 5(4)), or an implicit one for stiff models;
        ``"auto"`` takes ``"lsoda"`` for models marked stiff (``Model.stiff``: it controls each subject's error, whereas
        the stacked BDF/Radau error norm averages over the batch), else ``"dp5"`` -- or, when a subject has
        :data:`LONG_REGIMEN` doses or more (ADDL copies counted), numba is installed and the model compiles,
        ``"rodas"`` and ``"compiled"`` instead, without the per-step overhead that dominates long regimens.
        ``"compiled"``: the same method and
        steps as ``"dp5"``, compiled with numba from the model's :class:`~pkpd.models.Equations` and run on threads; the
        first use of a model compiles it (seconds), later runs and processes load it from the kernel cache
        (:mod:`pkpd.engine._compiled`); every model compiles (a model without declared equations is traced from its
        ``rhs``). ``"dop853"``: compiled like ``"compiled"``, with eighth-order steps (Hairer's DOP853) that land on
        every output: for tight tolerances (rtol <= 1e-8), where they are a fifth as many. ``"rodas"``: compiled like
        ``"compiled"``, with Rodas5P steps (L-stable) for stiff models. ``"exact"`` (linear models): the same
        breakpoints solved by matrix exponentials, no tolerances.
    chunk_size : int, optional
        Subjects integrated together (default 1000 for the ODE engine, 2000 for the closed form).
    record_params : mapping of str to array, or DataFrame, optional
        Parameters that vary within a subject (e.g. computed from time-varying covariates): one value
        per dataset record, aligned by position (not by index label) with the rows of ``dataset.events``. They override
        ``params`` for those names and are piecewise constant between records, as when NONMEM
        evaluates $PK at every record. A linear model stays exact (``method="analytic"``, or ``"auto"``
        without a numerical ``solver`` named: matrix exponentials between the times at which parameters
        change; the result's ``method`` is ``"analytic"``); ``method="ode"``, ``"auto"`` with ``solver="dp5"``
        (``"bdf"`` ...) and nonlinear models take the ODE engine.
    carry : {"nocb", "locf"}
        How a record's ``record_params`` value extends between records. ``"nocb"`` (next observation
        carried backward, NONMEM's default): record ``r``'s value is in force over ``(t_{r-1}, t_r]``,
        and the first record's value also before it. ``"locf"`` (last observation carried forward):
        record ``r``'s value is in force from ``t_r`` until the next record. Either way a record's own
        value is in force at the record itself: its output (e.g. ``CP = CENTRAL / V``), its dose's
        bioavailability, lag time and modelled rate or duration (``F1``, ``ALAG1``, ``R1``, ``D1``:
        applied to the dose and all its ADDL copies), its reset (EVID 3/4: the initial state under its
        values) and its steady state (SS=1/2: the periodic state under its values, constant over the
        past intervals). The initial state uses each subject's first record.

    Returns
    -------
    SimulationResult
        One row per dataset record, in the dataset's order; the prediction at a dose record includes
        that dose, and implied (ADDL) doses at an observation's time come after it, as in NONMEM.

    Raises
    ------
    DatasetError
        The table is malformed (see :func:`pkpd.read_nonmem`), a CMT is not a compartment of ``model``,
        or one record's ADDL doses (up to its subject's last record) would need more memory than
        :func:`pkpd.engine._schedule.memory_limit` allows.
    SimulationError
        The simulation as a whole would need more memory than that (estimated before allocating).

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

    Clearance halving after the dose record at 6 h (here ``carry="nocb"``: the record at 6 h carries the
    new value, in force from the previous record's time, 4 h):

    >>> ev = pd.DataFrame({"ID": 1, "TIME": [0.0, 4.0, 6.0, 8.0], "EVID": [1, 0, 0, 0], "AMT": [100.0, 0, 0, 0],
    ...                    "RATE": 0.0, "CMT": 1, "II": 0.0, "ADDL": 0, "SS": 0})
    >>> pred = pkpd.simulate(OneCompartment(), ev, {"V": 10.0}, record_params={"CL": [2.0, 2.0, 1.0, 1.0]})
    >>> pred["CP"].round(4)                   # 10 exp(-0.2 t) up to 4 h, then exp(-0.1 (t - 4))
    array([10.    ,  4.4933,  3.6788,  3.0119])
    """
    if carry not in _CARRY:
        raise ParameterError(f"carry must be one of {_CARRY}, not {carry!r}")
    if isinstance(record_params, pd.DataFrame):
        record_params = {c: record_params[c].to_numpy() for c in record_params.columns}
    if isinstance(record_params, Mapping) and not record_params:
        record_params = None
    # with record_params, "analytic" (and "auto" for a linear model) is exact: matrix exponentials between the
    # records at which parameters change (ODE engine breakpoints, solver "exact"), not the numerical solver;
    # "auto" with a numerical solver named (solver="dp5" ...) keeps the ODE engine it asks for
    if record_params is not None and method == "auto" and solver not in ("auto", "exact"):
        method = "ode"
    method = _choose_method(model, method)
    if not isinstance(dataset, (Dataset, pd.DataFrame)) and isinstance(getattr(dataset, "events", None), pd.DataFrame):
        dataset = dataset.events  # an object holding an event table
    if isinstance(dataset, pd.DataFrame):
        # one reading and validation for files and tables: a table with a negative AMT, an EVID 7 or
        # interleaved IDs is an error here too, not a simulation of something else
        dataset = read_dataset(dataset, simulation=True)
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a pkpd.Dataset or a DataFrame, not {type(dataset).__name__}")
    names = list(model.outputs) + (list(model.states) if states else [])
    plan = _Prepared(model, dataset, method, chunk_size=chunk_size, n_names=len(names))
    events = dataset._events  # read only below
    subject_ids, subj_of_record = plan.subject_ids, plan.subj_of_record
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
    if record_params is not None:
        record_params = _record_params(model, record_params, len(events))
        # subject-level values: the first record's (placeholders: the schedule gives each unit its own)
        first_row = np.unique(subj_of_record, return_index=True)[1]
        p = dict(p, **{k: v[first_row] for k, v in record_params.items()})
    values = plan.predict(p, _options(model, method, rtol, atol, solver, states, events), states=states,
                          record_params=record_params, carry=carry)
    return SimulationResult(
        model=model.name,
        id=events["ID"].to_numpy(),
        time=events["TIME"].to_numpy(float),
        values=values,
        method=method,
        units=output_units(model, names),
    )


class _Prepared:
    """A validated dataset ready to be predicted at many parameter sets.

    Checks that do not depend on the parameters (compartments, memory) run once; the records are split into
    chunks of subjects once. With ``keep_schedules`` each chunk's compiled dosing schedule is kept and reused while
    the dosing parameters (F, ALAG, R, D) are unchanged: estimation predicts the same records at hundreds of
    parameter sets, and most models have no dosing parameters.
    """

    def __init__(self, model, dataset: Dataset, method: str, *, chunk_size: int | None = None, n_names: int = 1,
                 keep_schedules: bool = False):
        _check_compartments(model, dataset)  # every CMT, observations included, is a compartment of the model
        self.model, self.dataset, self.method = model, dataset, method
        events = dataset._events  # read only
        rec_ids = events["ID"].to_numpy()
        _, first = np.unique(rec_ids, return_index=True)
        self.subject_ids = rec_ids[np.sort(first)]
        self.subj_of_record = pd.Index(self.subject_ids).get_indexer(rec_ids)
        n_subj = len(self.subject_ids)
        chunk = chunk_size or (1000 if method == "ode" else 2000)
        _check_memory(model, dataset, self.subj_of_record, n_subj, chunk, method, n_names)
        frame = events[list(EVENT_COLUMNS)]
        self.chunks = []
        for lo in range(0, n_subj, chunk):
            hi = min(n_subj, lo + chunk)
            rows = np.nonzero((self.subj_of_record >= lo) & (self.subj_of_record < hi))[0]
            self.chunks.append((lo, hi, rows, frame.iloc[rows], {} if keep_schedules else None))

    def predict(self, p, options, *, states: bool = False, record_params=None, carry: str = "nocb") -> dict:
        """Outputs (and states) at every record, ``{name: array over records}``, for the per-subject parameter
        arrays ``p`` (validated, in the order of the subjects' first records)."""
        model, method, subj_of_record = self.model, self.method, self.subj_of_record
        names = list(model.outputs) + (list(model.states) if states else [])
        values = {k: np.empty(len(subj_of_record)) for k in names}
        for lo, hi, rows, sub, store in self.chunks:
            p_chunk = {k: v[lo:hi] for k, v in p.items()}
            rp_chunk = None if record_params is None else {k: v[rows] for k, v in record_params.items()}
            with np.errstate(over="ignore"):  # an overflow is reported below, naming the dose that caused it
                schedule, st = _solve(model, sub, subj_of_record[rows] - lo, p_chunk, None, method, options,
                                      record_params=rp_chunk, carry=carry, store=store)
                subj = subj_of_record[rows][schedule.out_row] - lo
                outs = _outputs(model, st, p_chunk, subj, hi - lo, rp_chunk, schedule.out_row)
            target = rows[schedule.out_row]
            for name in model.outputs:
                values[name][target] = outs[name]
            if states:
                for j, name in enumerate(model.states):
                    values[name][target] = st[:, j]
        _check_overflow(self.dataset, values, subj_of_record)
        return values


def _check_compartments(model, data):
    """Every CMT of the dataset (0/missing aside) is a compartment of ``model``: the file line for a dataset read
    from a file, else the record (row) with its ID and TIME, as the schedule names a dose record."""
    if data.source is not None:
        data.check(model)
        return
    e = data._events
    codes, uniques = pd.factorize(e["CMT"].to_numpy())
    for k, value in enumerate(uniques):
        if value in (0, "0"):
            continue
        try:
            model.state_index(value)
        except (ModelError, ValueError, TypeError, IndexError):
            i = int(np.argmax(codes == k))
            names = ", ".join(f"{j + 1}={s}" for j, s in enumerate(model.states))
            raise DatasetError(f"record {i + 1} (ID {_show(e['ID'].iloc[i])}, TIME {_show(e['TIME'].iloc[i])}): "
                               f"column CMT: value {_show(value)} is not a compartment of {model.name}; expected one "
                               f"of {names}") from None


def _outputs(model, st: np.ndarray, p: dict, subj: np.ndarray, n: int, record_params, out_row) -> dict:
    """``model.output`` at the states ``st`` of the outputs (``subj``: the subject of each, of ``n``). When every
    subject has the same number of outputs, in order (a trial's grid), the states are viewed as ``(n, T, S)`` and
    the parameters broadcast along ``T`` (the contract of :meth:`Model.output`), instead of being repeated for
    every output: the same arithmetic, without copying every parameter ``T`` times."""
    if record_params is None and n and len(subj) % n == 0 and np.all(np.diff(subj) >= 0) and \
            np.array_equal(np.bincount(subj, minlength=n), np.full(n, len(subj) // n)) and \
            all(np.shape(v) == (n,) for v in p.values()):
        outs = model.output(st.reshape(n, len(subj) // n, st.shape[-1]), p)
        return {name: np.reshape(v, -1) for name, v in outs.items()}
    p_out = _per_output(p, subj, n)
    if record_params is not None:  # outputs use the values of their own record
        p_out.update({k: v[out_row] for k, v in record_params.items()})
    return model.output(st, p_out)


def _per_output(p: dict, subj: np.ndarray, n: int) -> dict:
    """Each subject's parameters repeated for its outputs (``subj``: the subject of each output, of ``n``): by
    ``np.repeat`` when the outputs come subject by subject in order (the usual case; five times faster than
    indexing), else by indexing."""
    if np.all(np.diff(subj) >= 0) and all(np.shape(v) == (n,) for v in p.values()):
        counts = np.bincount(subj, minlength=n)
        return {k: np.repeat(v, counts) for k, v in p.items()}
    return {k: v[subj] for k, v in p.items()}


def _check_overflow(data, values, subj_of_record):
    """A prediction that overflowed to infinity (doses near the largest double, 1.8e308) is an error naming the
    subject's largest dose, not an ``inf`` in the results."""
    for name, v in values.items():
        bad = np.isinf(v)
        if not bad.any():
            continue
        e = data._events
        i = int(np.argmax(bad))
        evid = e["EVID"].to_numpy()
        size = np.abs(e["AMT"].to_numpy(float)) + np.abs(e["RATE"].to_numpy(float))
        doses = np.flatnonzero(((evid == 1) | (evid == 4)) & (subj_of_record == subj_of_record[i]))
        at = _where(data.source, data.source_lines[i])
        if doses.size:
            r = int(doses[np.argmax(size[doses])])
            column = "AMT" if e["AMT"].iloc[r] != 0 else "RATE"
            raise DatasetError(f"{_where(data.source, data.source_lines[r])}, column {column}: value "
                               f"{_show(e[column].iloc[r])} makes {name} overflow to infinity at {at}; expected doses "
                               "small enough for double precision (use a larger amount unit)")
        raise SimulationError(f"{at}: {name} overflows to infinity; expected finite predictions")


def _check_memory(model, data, subj_of_record, n_subj, chunk, method, n_names):
    """Estimate the memory of the largest chunk (its dose inputs, ADDL copies up to each subject's last record
    included, and outputs) plus the result arrays, and raise before allocating if it is beyond the limit."""
    e = data._events
    evid, ss = e["EVID"].to_numpy(), e["SS"].to_numpy()
    amt, rate, ii = e["AMT"].to_numpy(float), e["RATE"].to_numpy(float), e["II"].to_numpy(float)
    time, addl = e["TIME"].to_numpy(float), e["ADDL"].to_numpy()
    dose = np.flatnonzero(((evid == 1) | (evid == 4)) & ((amt != 0) | (rate != 0) | (ss > 0)))
    last = np.full(n_subj, -np.inf)
    np.maximum.at(last, subj_of_record, time)
    copies = 1 + dose_copies(time[dose], ii[dose], addl[dose], last[subj_of_record[dose]])  # lag 0: an upper bound
    inputs = np.bincount(subj_of_record[dose], weights=copies, minlength=n_subj)
    outputs = np.bincount(subj_of_record, minlength=n_subj).astype(float)
    starts = np.arange(0, n_subj, chunk)
    chunk_inputs, chunk_outputs = np.add.reduceat(inputs, starts), np.add.reduceat(outputs, starts)
    k = int(np.argmax(schedule_bytes(chunk_inputs, chunk_outputs, len(model.states), method != "analytic")))
    in_chunk = (subj_of_record[dose] >= starts[k]) & (subj_of_record[dose] < starts[k] + chunk)
    worst = None
    if in_chunk.any():
        j = np.flatnonzero(in_chunk)[int(np.argmax(copies[in_chunk]))]
        r = int(dose[j])
        worst = (_where(data.source, data.source_lines[r]), str(int(addl[r])), int(copies[j]),
                 float(last[subj_of_record[r]]))
    check_memory(int(chunk_inputs[k]), int(chunk_outputs[k]), len(model.states), method != "analytic", worst,
                 extra_bytes=8.0 * len(e) * (n_names + 2))


def output_units(model, names) -> dict[str, str]:
    """Units of output and state columns where they are known (amounts of drug in mg, concentrations mg/L)."""
    from ..models import ComposedModel, ModelComponent

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
