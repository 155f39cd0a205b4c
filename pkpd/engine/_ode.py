"""ODE engine: turn a compiled :class:`~pkpd.engine._schedule.Schedule` into breakpoints, solve steady
states, integrate the batch and return the states at every output request.

Dosing is exact: a bolus is a jump of the state at its arrival time, an infusion a rate term switched
on and off at its start and end, and the integrator lands on each of these (never steps across them).
Steady state (SS=1/2) is solved per dose record as the fixed point of one dosing interval, by Newton's
method with a finite-difference Jacobian whose columns are integrated together as extra units of the
same batch (exact in one iteration for linear models). An SS constant infusion (II=0) solves
``rhs(x) + R = 0`` the same way.

Time-varying parameters (``record_params`` of :func:`pkpd.simulate`, compiled into the schedule's
``unit_params`` and ``chg_*`` fields) are PARAMS breakpoints: the integrator lands on each change and
restarts with the new values. A steady state is solved with the parameters in force at its SS record.

``solver="exact"`` (linear models only) solves the same breakpoint table exactly, by matrix exponentials
between breakpoints (:mod:`pkpd.engine._exact`): the closed form of linear models with time-varying parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import SimulationError
from . import _explicit
from ._explicit import Breakpoints, Course, Kind, Outputs, Start, StepOptions
from ._schedule import Schedule, grouped_searchsorted

__all__ = ["ode_states"]


SOLVERS = ("dp5", "compiled", "dop853", "rodas", "bdf", "radau", "lsoda", "exact")
#: the solvers of the compiled kernel (:mod:`pkpd.engine._compiled`)
COMPILED = ("compiled", "dop853", "rodas")
_SCIPY_METHOD = {"bdf": "BDF", "radau": "Radau", "lsoda": "LSODA"}  # solve_ivp's spelling of the stiff solvers


def ode_states(model, schedule: Schedule, p: dict, *, rtol: float = 1e-6, atol: float = 1e-9,
               solver: str = "dp5", needed: np.ndarray | None = None) -> np.ndarray:
    """States at each output request of ``schedule``, shape ``(n_outputs, n_states)``, by the ODE engine.

    ``solver="dp5"`` (default) is the explicit per-unit engine, ``"compiled"``, ``"dop853"`` and ``"rodas"`` its
    compiled counterparts (Dormand-Prince 5(4), DOP853, Rodas5P; :mod:`pkpd.engine._compiled`); ``"bdf"``, ``"radau"``
    and ``"lsoda"`` integrate the batch as one stacked stiff system (:mod:`pkpd.engine._implicit`); ``"exact"`` (linear
    models) solves it exactly by matrix exponentials (:mod:`pkpd.engine._exact`; ``rtol``, ``atol`` unused, the steady
    states' Newton iteration is run to 1e-12). ``needed`` lists the states wanted between breakpoints (default all; the
    others may be NaN there).
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, not {solver!r}")
    if solver == "exact" and not model.linear:
        raise ValueError(f"solver='exact' needs a linear model; {model.name} is not linear")
    sc = schedule
    problem = _Problem.of(model, sc, p, 1e-10 if solver == "exact" else rtol, atol, solver)
    parts, vectors = _dose_breakpoints(problem)
    parts += _group(sc.reset_unit, sc.reset_time, sc.reset_key, Kind.RESET)
    if problem.varying:
        parts += _group(sc.chg_unit, sc.chg_time, sc.chg_key, Kind.PARAMS, ref=np.arange(len(sc.chg_unit)))
    snap = _snapshot_outputs(sc, parts)
    s_idx = np.nonzero(snap)[0]
    parts += _group(sc.out_unit[s_idx], sc.out_time[s_idx], sc.out_key[s_idx], Kind.OBS, ref=np.arange(s_idx.size))

    t_end, in_order = _end_times(sc)
    table = sc.chg_values if problem.varying else None
    S = len(model.states)
    course = Course(_breakpoint_table(sc.n_units, parts, t_end, table), t_end,
                    np.concatenate(vectors) if vectors else np.zeros((0, S)))
    d_idx = _dense_order(sc, snap, t_end, in_order, interpolates=solver != "exact")
    ou, ot = sc.out_unit, sc.out_time
    du, dt = (ou, ot) if d_idx is None else (ou[d_idx], ot[d_idx])
    start = Start(sc.unit_start.astype(float), problem.x0.copy(), np.zeros((sc.n_units, S)))
    outputs = Outputs(s_idx.size, du, dt, needed)
    if solver in ("dp5", "exact", *COMPILED):
        _, snapshots, dense = _integrator(solver)(model, problem.params, start, course, outputs,
                                                  StepOptions(rtol, atol, solver))
    else:
        from ._implicit import integrate_implicit

        _, snapshots, dense = integrate_implicit(model, problem.params, start, course, outputs,
                                                 StepOptions(rtol, atol, _SCIPY_METHOD[solver]))
    if d_idx is None:
        out = dense
    else:
        out = np.empty((len(ou), S))
        out[d_idx] = dense
    out[s_idx] = snapshots
    return out


def _integrator(solver: str):
    """The breakpoint integrator of ``solver``: "dp5" (numpy), "compiled", "dop853" or "rodas" (numba; explicit or
    stiff) or "exact" (matrix exponentials)."""
    if solver in COMPILED:
        from ._compiled import integrate_compiled

        return integrate_compiled
    if solver == "exact":
        from ._exact import integrate_exact

        return integrate_exact
    return _explicit.integrate


class _Problem(NamedTuple):
    """What the breakpoint builders read: the model, the schedule, the parameters and initial state of
    each unit (at its first record when parameters vary), the tolerances, and the solver that integrates the
    intervals of steady states ("exact": matrix exponentials, linear models; "compiled", "dop853" or "rodas": the
    compiled kernel; otherwise the numpy explicit engine)."""

    model: object
    schedule: Schedule
    params: dict
    x0: np.ndarray
    rtol: float
    atol: float
    solver: str = "dp5"

    @classmethod
    def of(cls, model, sc: Schedule, p: dict, rtol, atol, solver: str = "dp5"):
        pu = {k: np.asarray(v)[sc.unit_subject] for k, v in p.items()}
        if sc.unit_params is not None:  # each unit starts with its first record's values
            pu.update({k: np.array(v, dtype=float) for k, v in sc.unit_params.items()})
        x0 = model.initial_state(pu) if sc.n_units else np.zeros((0, len(model.states)))
        return cls(model, sc, pu, x0, rtol, atol, solver)

    @property
    def varying(self) -> bool:
        """Whether parameters vary within units (PARAMS breakpoints)."""
        return self.schedule.unit_params is not None

    def params_at(self, rows):
        """Parameters (and the initial state) in force at the SS record of inputs ``rows``."""
        sc = self.schedule
        u = sc.inp_unit[rows]
        ps = {k: v[u] for k, v in self.params.items()}
        if not self.varying:
            return ps, self.x0[u]
        q_t, q_k = sc.inp_from_time[rows], sc.inp_from_key[rows]
        last = grouped_searchsorted(sc.chg_unit, sc.chg_time, sc.chg_key, u, q_t, q_k, side="right") - 1
        hit = last >= 0
        hit[hit] = sc.chg_unit[last[hit]] == u[hit]
        for k, v in sc.chg_values.items():
            ps[k] = np.where(hit, v[np.maximum(last, 0)] if len(v) else 0.0, ps[k])
        return ps, self.model.initial_state(ps)


def _group(unit, time, key, kind, cmt=None, value=None, ref=None) -> list[dict]:
    """One group of breakpoint columns, as a list of one (none when ``unit`` is empty)."""
    m = len(unit)
    if not m:
        return []
    return [
        dict(
            unit=unit,
            time=np.asarray(time, float),
            key=np.broadcast_to(np.asarray(key, float), (m,)).copy(),
            kind=np.full(m, kind, np.int64),
            cmt=np.zeros(m, np.int64) if cmt is None else cmt,
            value=np.zeros(m) if value is None else value,
            ref=np.full(m, -1, np.int64) if ref is None else ref,
        )
    ]


def _before_reset(sc: Schedule, rows, time, key):
    """Whether ``(time, key)`` comes before the reset that ends input ``rows``."""
    until_t, until_k = sc.inp_until_time[rows], sc.inp_until_key[rows]
    return (time < until_t) | ((time == until_t) & (key < until_k))


def _rate_off(sc: Schedule, rows, end_time):
    """Rate-off time and key of infusion ``rows`` ending at ``end_time``, cut at their reset."""
    until_t, until_k = sc.inp_until_time[rows], sc.inp_until_key[rows]
    cut = until_t < end_time
    return np.where(cut, until_t, end_time), np.where(cut, until_k, np.inf)


def _dose_breakpoints(problem: _Problem):
    """Breakpoint groups of every dose, and the state vectors their ADDVEC breakpoints add (steady states).

    The order of the groups is kept: breakpoints tied in (unit, time, key, kind) apply in it."""
    sc = problem.schedule
    parts, vectors = _single_doses(sc), []
    rows = np.nonzero(~np.isfinite(sc.inp_time))[0]  # SS constant infusions (II=0)
    if rows.size:
        more, vec = _steady_infusions(problem, rows, first_ref=0)
        parts += more
        vectors.append(vec)
    rows = np.nonzero(sc.inp_period > 0)[0]  # SS trains (SS=1/2 with II>0)
    if rows.size:
        more, vec = _steady_trains(problem, rows, first_ref=sum(len(v) for v in vectors))
        parts += more
        vectors.append(vec)
    return parts, vectors


def _single_doses(sc: Schedule) -> list[dict]:
    """Boluses, and infusions switched on and off, of the doses given once, up to their reset."""
    single = (sc.inp_period == 0) & np.isfinite(sc.inp_time)
    i = np.nonzero(single & (sc.inp_duration == 0))[0]
    i = i[_before_reset(sc, i, sc.inp_time[i], sc.inp_key[i])]
    parts = _group(sc.inp_unit[i], sc.inp_time[i], sc.inp_key[i], Kind.BOLUS, sc.inp_cmt[i], sc.inp_amount[i])
    i = np.nonzero(single & (sc.inp_duration > 0))[0]
    i = i[_before_reset(sc, i, sc.inp_time[i], sc.inp_key[i])]
    parts += _group(sc.inp_unit[i], sc.inp_time[i], sc.inp_key[i], Kind.RATE, sc.inp_cmt[i], sc.inp_rate[i])
    off_t, off_k = _rate_off(sc, i, sc.inp_time[i] + sc.inp_duration[i])
    parts += _group(sc.inp_unit[i], off_t, off_k, Kind.RATE, sc.inp_cmt[i], -sc.inp_rate[i])
    return parts


def _steady_infusions(problem: _Problem, rows, first_ref: int):
    """SS constant infusions (II=0) ``rows``: their steady state added at the SS record (ADDVEC rows
    ``first_ref, ...``), and their rate on from there until their reset.

    Returns the breakpoint groups and the vectors to add."""
    sc = problem.schedule
    ps, x0s = problem.params_at(rows)
    X = _steady_infusion(problem.model, ps, sc.inp_cmt[rows], sc.inp_rate[rows], problem.rtol)
    unit, T, Tk = sc.inp_unit[rows], sc.inp_from_time[rows], sc.inp_from_key[rows]
    cmt, rate = sc.inp_cmt[rows], sc.inp_rate[rows]
    parts = _group(unit, T, Tk, Kind.ADDVEC, ref=np.arange(first_ref, first_ref + rows.size))
    parts += _group(unit, T, Tk, Kind.RATE, cmt, rate)
    until_t, until_k = sc.inp_until_time[rows], sc.inp_until_key[rows]
    fin = np.isfinite(until_t)
    parts += _group(unit[fin], until_t[fin], until_k[fin], Kind.RATE, cmt[fin], -rate[fin])
    return parts, X - x0s


def _snapshot_outputs(sc: Schedule, parts) -> np.ndarray:
    """Which outputs are snapshots (OBS breakpoints): those at a unit's start or at a breakpoint time
    of their own unit. The others come from dense output."""
    if parts:
        b_unit = np.concatenate([q["unit"] for q in parts])
        b_time = np.concatenate([q["time"] for q in parts])
    else:
        b_unit, b_time = np.zeros(0, np.int64), np.zeros(0)
    snap = sc.out_time == sc.unit_start[sc.out_unit]
    # outputs at a breakpoint time of their own unit: first those at any breakpoint time at all (cheap,
    # few distinct times), then the exact (unit, time) match for those candidates only
    bp_times = np.unique(b_time)
    if bp_times.size:
        near = np.minimum(np.searchsorted(bp_times, sc.out_time), bp_times.size - 1)
        cand = np.nonzero(bp_times[near] == sc.out_time)[0]
        if cand.size:
            order = np.lexsort((b_time, b_unit))
            su, st = b_unit[order], b_time[order]
            cu, ct = sc.out_unit[cand], sc.out_time[cand]
            pos = np.minimum(grouped_searchsorted(su, st, np.zeros(len(st)), cu, ct, np.zeros(cand.size)), len(su) - 1)
            snap[cand[(su[pos] == cu) & (st[pos] == ct)]] = True
    return snap


def _end_times(sc: Schedule):
    """Each unit's end: its last output (breakpoints after it cannot change any output), or its start.

    Also returns whether the outputs are in (unit, time) order."""
    ou, ot = sc.out_unit, sc.out_time
    in_order = bool(np.all((ou[1:] > ou[:-1]) | ((ou[1:] == ou[:-1]) & (ot[1:] >= ot[:-1]))))
    t_end = sc.unit_start.astype(float).copy()
    if in_order:
        last = _last_per_group(ou)
        t_end[ou[last]] = np.maximum(t_end[ou[last]], ot[last])
    else:
        np.maximum.at(t_end, ou, ot)
    return t_end, in_order


def _breakpoint_table(n_units: int, parts, t_end, table) -> Breakpoints:
    """The breakpoint groups as one table, without the breakpoints after their unit's end."""
    cols = {k: np.concatenate([q[k] for q in parts]) if parts else np.zeros(0) for k in
            ("unit", "time", "key", "kind", "cmt", "value", "ref")}
    for k in ("unit", "kind", "cmt", "ref"):
        cols[k] = cols[k].astype(np.int64)
    keep = cols["time"] <= t_end[cols["unit"]]
    return Breakpoints.build(n_units, **{k: v[keep] for k, v in cols.items()}, table=table)


def _dense_order(sc: Schedule, snap, t_end, in_order, interpolates=True):
    """Outputs to evaluate by dense output, in the (unit, time) order it wants.

    ``None`` for all of them, when they already are in that order, every unit integrates past its start and
    the integrator ``interpolates`` (a dense output costs less than gathering; the snapshots are overwritten
    afterwards); else the non-snapshot outputs (the exact integrator pays a matrix exponential per output)."""
    if in_order and interpolates and np.all(t_end > sc.unit_start):
        return None
    ou, ot = sc.out_unit, sc.out_time
    d_idx = np.nonzero(~snap)[0]
    return d_idx[np.lexsort((ot[d_idx], ou[d_idx]))]


def _last_per_group(group_sorted):
    """Index of the last element of each run of equal values."""
    if not len(group_sorted):
        return np.zeros(0, np.int64)
    return np.append(np.nonzero(group_sorted[1:] != group_sorted[:-1])[0], len(group_sorted) - 1)


# ------------------------------------------------------------------------------------------------
# steady state


def _newton_fixed_point(residual, x, scale, what, rtol, max_iter=30, affine=False):
    """Solve ``residual(x) = 0`` per row by Newton with a forward-difference Jacobian.

    ``residual`` maps (m*(S+1), S) stacked trial points to residuals; rows are
    [x, x + e_1 d_1, ..., x + e_S d_S] for each of the m problems. ``affine``: the residual is affine in ``x``
    (a linear model's interval map), so its differences are exact for steps of any size: steps of the state's
    own size (no cancellation), and one Newton step reaches the root to rounding error.
    """
    m, S = x.shape
    for _ in range(1 if affine else max_iter):
        d = (1.0 if affine else 1e-6) * np.maximum(np.abs(x), scale)  # per-component perturbation
        trial = np.repeat(x[:, None, :], S + 1, axis=1)
        trial[:, np.arange(1, S + 1), np.arange(S)] += d
        g = residual(trial.reshape(m * (S + 1), S)).reshape(m, S + 1, S)
        g0 = g[:, 0, :]
        J = (g[:, 1:, :] - g0[:, None, :]) / d[:, :, None]  # J[:, j, :] = d g / d x_j
        J = np.swapaxes(J, 1, 2)
        try:
            step = np.linalg.solve(J, -g0[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            raise SimulationError(f"{what}: singular Jacobian; the system may have no steady state") from None
        x = x + step
        if affine or np.all(np.abs(step) <= rtol * 1e-2 * (np.abs(x) + scale)):
            return x
    raise SimulationError(f"{what}: Newton iteration did not converge; the system may have no steady state")


def _steady_infusion(model, ps, cmt, rate, rtol):
    """Steady state of a constant infusion: ``rhs(x) + rate*e_cmt = 0`` (``ps``: parameters per infusion)."""
    m, S = len(cmt), len(model.states)
    sub = {k: np.repeat(v, S + 1) for k, v in ps.items()}
    r = np.zeros((m, S))
    r[np.arange(m), cmt] = rate
    rr = np.repeat(r, S + 1, axis=0)
    tt = np.zeros(m * (S + 1))
    x = model.initial_state(ps).astype(float)
    scale = np.maximum(rate, 1e-300)[:, None] * np.ones((1, S))
    return _newton_fixed_point(lambda z: model.rhs(tt, z, sub, rr), x, scale,
                               "steady state of a constant infusion (SS with II=0)", rtol)


class _Trains(NamedTuple):
    """SS trains (SS=1/2 with II>0): the schedule's input ``rows`` and their columns, one entry per train.

    Its SS record is at ``start`` (key ``start_key``); the record's own dose arrives ``lag`` after it, at
    phase ``phase`` (in ``[0, period)``) of the dosing interval."""

    rows: np.ndarray
    unit: np.ndarray
    cmt: np.ndarray
    period: np.ndarray
    amount: np.ndarray
    rate: np.ndarray
    duration: np.ndarray
    start: np.ndarray
    start_key: np.ndarray
    lag: np.ndarray
    phase: np.ndarray

    @classmethod
    def of(cls, sc: Schedule, rows):
        per, T = sc.inp_period[rows], sc.inp_from_time[rows]
        arrival = sc.inp_time[rows] + per  # the SS record's own dose
        lag = arrival - T
        phi = np.mod(lag, per)
        phi = np.where(np.isclose(phi, per, rtol=1e-12, atol=0), 0.0, phi)
        return cls(rows, sc.inp_unit[rows], sc.inp_cmt[rows], per, sc.inp_amount[rows], sc.inp_rate[rows],
                   sc.inp_duration[rows], T, sc.inp_from_key[rows], lag, phi)

    @property
    def infusion(self):
        return self.duration > 0


def _steady_trains(problem: _Problem, rows, first_ref: int):
    """SS trains ``rows``: the periodic state added at the SS record (ADDVEC rows ``first_ref, ...``), then
    the copies still running or still to arrive after it. The parameters are those in force at the SS record.

    Returns the breakpoint groups and the vectors to add."""
    sc = problem.schedule
    tr = _Trains.of(sc, rows)
    ps, x0s = problem.params_at(rows)
    # periodic state at the SS record: fixed point of the map over the window [T - II, T)
    X = _periodic_state(problem.model, ps, tr, problem.rtol, problem.atol, problem.solver)
    parts = _group(tr.unit, tr.start, tr.start_key, Kind.ADDVEC, ref=np.arange(first_ref, first_ref + rows.size))
    parts += _running_copies(sc, tr)
    parts += _in_flight_copies(sc, tr)
    return parts, X - x0s


def _running_copies(sc: Schedule, tr: _Trains) -> list[dict]:
    """Infusion copies started before the SS record and still running at it: rate on at it, off at each end."""
    infusion = tr.infusion
    if not infusion.any():
        return []
    T, per, phi, D = tr.start, tr.period, tr.phase, tr.duration
    f = np.nonzero(infusion)[0]
    max_running = int(np.max(np.ceil(D[f] / per[f]))) + 1
    parts = []
    for back in range(max_running):  # copy started at T - II + phi - back*II
        end = T[f] - per[f] + phi[f] - back * per[f] + D[f]
        run = end > T[f]
        g = f[run]
        if not g.size:
            continue
        parts += _group(tr.unit[g], T[g], tr.start_key[g], Kind.RATE, tr.cmt[g], tr.rate[g])
        off_t, off_k = _rate_off(sc, tr.rows[g], end[run])
        parts += _group(tr.unit[g], off_t, off_k, Kind.RATE, tr.cmt[g], -tr.rate[g])
    return parts


def _in_flight_copies(sc: Schedule, tr: _Trains) -> list[dict]:
    """Copies already given before the SS record but arriving at or after it (lag >= II), up to their reset."""
    unit, cmt, per, amount, R, D = tr.unit, tr.cmt, tr.period, tr.amount, tr.rate, tr.duration
    n_flight = np.floor(tr.lag / per + 1e-12).astype(np.int64)
    parts = []
    for k in range(int(n_flight.max(initial=0))):
        g = np.nonzero(n_flight > k)[0]
        arr = tr.start[g] + tr.phase[g] + k * per[g]
        key = np.full(g.size, np.inf)  # implied: after the records at that time
        ok = _before_reset(sc, tr.rows[g], arr, key)
        g, arr, key = g[ok], arr[ok], key[ok]
        bol = D[g] == 0
        parts += _group(unit[g][bol], arr[bol], key[bol], Kind.BOLUS, cmt[g][bol], amount[g][bol])
        h = ~bol
        parts += _group(unit[g][h], arr[h], key[h], Kind.RATE, cmt[g][h], R[g][h])
        off_t, off_k = _rate_off(sc, tr.rows[g][h], arr[h] + D[g][h])
        parts += _group(unit[g][h], off_t, off_k, Kind.RATE, cmt[g][h], -R[g][h])
    return parts


def _periodic_state(model, ps, tr: _Trains, rtol, atol, solver: str = "dp5"):
    """State at the end of a dosing interval in periodic steady state, per train (Newton on the interval map);
    ``ps`` holds the parameters of each train; ``solver`` integrates the interval ("exact": matrix exponentials,
    "compiled", else the numpy explicit engine)."""
    # the interval map is integrated 100x tighter than the Newton tolerance
    interval = _IntervalMap(model, ps, tr, StepOptions(rtol=rtol * 1e-2, atol=atol * 1e-2), solver)
    R, per, amount = tr.rate, tr.period, tr.amount
    scale = np.maximum(np.where(tr.infusion, R * per, amount), 1e-300)[:, None] * np.ones((1, len(model.states)))
    x = model.initial_state(ps).astype(float)
    return _newton_fixed_point(interval.residual, x, scale, "steady state over a dosing interval (SS=1/2)", rtol,
                               affine=solver == "exact")


class _IntervalMap:
    """One dosing interval of each train, from trial states at its start (the window ``[T - II, T)``
    shifted to start at 0): the dose at phase ``phi``, and the infusion copies running through it."""

    def __init__(self, model, ps, tr: _Trains, options: StepOptions, solver: str = "dp5"):
        self.model, self.ps, self.tr, self.options = model, ps, tr, options
        self.integrate = _integrator(solver if solver in ("exact", *COMPILED) else "dp5")
        if solver in COMPILED:
            self.options = options._replace(method=solver)
        per, phi, D = tr.period, tr.phase, tr.duration
        # copies running at the window start (started before it, ending at or after it)
        with np.errstate(invalid="ignore", divide="ignore"):
            m_hi = np.ceil(-phi / per) - 1
            m_lo = np.ceil(-(phi + D) / per)
        self.n0 = np.where(tr.infusion, np.maximum(0, m_hi - m_lo + 1), 0)
        self.end_phase = np.mod(phi + D, per)

    def residual(self, z):
        """``map(z) - z`` for trial states ``z``: ``(m * reps, S)``, ``reps`` consecutive rows per train."""
        tr, model = self.tr, self.model
        m, S = len(tr.cmt), len(model.states)
        reps = len(z) // m
        u = np.repeat(np.arange(m), reps)  # problem index of each trial row
        n = len(z)
        sub = {k: v[u] for k, v in self.ps.items()}
        rate0 = np.zeros((n, S))
        rate0[np.arange(n), tr.cmt[u]] = self.n0[u] * tr.rate[u]
        start = Start(np.zeros(n), z, rate0)
        course = Course(self._breakpoints(u), tr.period[u].astype(float), np.zeros((0, S)))
        y_end, _, _ = self.integrate(model, sub, start, course, options=self.options)
        return y_end - z

    def _breakpoints(self, u) -> Breakpoints:
        """The dose of trial rows ``u`` (train index per row): a bolus, or an infusion on and off in the window."""
        tr = self.tr
        phi, cmt, amount, R, infusion = tr.phase, tr.cmt, tr.amount, tr.rate, tr.infusion
        n = len(u)
        b_unit, b_time, b_kind, b_cmt, b_val = [], [], [], [], []
        rows = np.arange(n)
        bol = ~infusion[u]
        b_unit += [rows[bol]]; b_time += [phi[u][bol]]; b_kind += [np.full(bol.sum(), Kind.BOLUS)]
        b_cmt += [cmt[u][bol]]; b_val += [amount[u][bol]]
        inf = infusion[u]
        b_unit += [rows[inf], rows[inf]]
        b_time += [phi[u][inf], self.end_phase[u][inf]]
        b_kind += [np.full(inf.sum(), Kind.RATE)] * 2
        b_cmt += [cmt[u][inf]] * 2
        b_val += [R[u][inf], -R[u][inf]]
        return Breakpoints.build(
            n,
            np.concatenate(b_unit).astype(np.int64),
            np.concatenate(b_time),
            np.zeros(sum(len(a) for a in b_unit)),
            np.concatenate(b_kind).astype(np.int64),
            np.concatenate(b_cmt).astype(np.int64),
            np.concatenate(b_val),
        )
