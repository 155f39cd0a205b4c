"""Vectorised explicit Runge-Kutta integrators with per-unit step size and per-unit breakpoints.

Every integration unit (a subject, or one episode of a subject between resets that go back in time)
advances with its own step size and lands exactly on its own breakpoints (doses, infusion switches,
resets, snapshot outputs), so one subject's dose neither restarts nor slows the others. All units of a
batch are advanced together with numpy; the model's right-hand side is evaluated once per stage for the
whole batch. Outputs between breakpoints come from the method's dense output, evaluated after
integration from the recorded steps.

Method: ``dp5``, Dormand & Prince 5(4) (1980, J. Comput. Appl. Math. 6:19) with Shampine's 4th-order
dense output (1986), as scipy's ``RK45``; 6 stages per step (first same as last). The loop is written
for any explicit pair described like :class:`_DP5`. (An 8th-order pair, DOP853, was tried: fewer steps,
but its dense output is not error-controlled and was off by 0.3 % inside long steps of a two-compartment
model, so it is not offered.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from ..errors import SimulationError


class _DP5:
    """Dormand-Prince 5(4); dense-output coefficients h*Q with y(t0 + θh) = y0 + θ(Q0 + θ(Q1 + θ(Q2 + θQ3)))."""

    name = "dp5"
    n_stages = 6
    n_k = 7
    exponent = -1 / 5
    C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0])
    A = np.array(
        [
            [0, 0, 0, 0, 0, 0],
            [1 / 5, 0, 0, 0, 0, 0],
            [3 / 40, 9 / 40, 0, 0, 0, 0],
            [44 / 45, -56 / 15, 32 / 9, 0, 0, 0],
            [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0],
            [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0],
        ]
    )
    B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])
    E = np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40])
    P_T = np.ascontiguousarray(
        np.array(
            [
                [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
                [0, 0, 0, 0],
                [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
                [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
                [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
                [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
                [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
            ]
        ).T
    )

    def error_norm(self, Kb, scale, m, S):
        """RMS over states of the scaled error estimate; ``Kb`` holds the stages times h."""
        err = (self.E @ Kb).reshape(m, S)
        err /= scale
        return np.sqrt(np.einsum("ij,ij->i", err, err) * (1.0 / S))

    def dense(self, Kb, m, S):
        """Coefficients of the dense-output polynomial (``Kb`` holds the stages times h)."""
        return (self.P_T @ Kb).reshape(4, m, S)

    @staticmethod
    def interpolate(coef, theta):
        poly = coef[3] * theta
        for j in (2, 1, 0):
            poly += coef[j]
            poly *= theta
        return poly


METHODS = {"dp5": _DP5()}

# breakpoint kinds, applied in (time, key) order
class Kind(IntEnum):
    """What a breakpoint does (its ``kind`` code). Not to be confused with the schedule's key offsets."""

    RESET = 0      # the unit's state is set to its initial state
    BOLUS = 1      # an amount is added to one compartment
    RATE = 2       # a zero-order input starts or stops
    ADDVEC = 3     # a state vector is added (superposed steady state)
    OBS = 4        # the state is recorded as an output row
    PARAMS = 5     # the unit's parameters change (time-varying covariates)


# plain ints for the hot loop (an IntEnum member lookup costs a Python call)
_RESET, _BOLUS, _RATE, _ADDVEC, _OBS, _PARAMS = (int(k) for k in Kind)


@dataclass(frozen=True)
class Breakpoints:
    """Flat breakpoint table sorted by (unit, time, key); ``start[u]:stop[u]`` are unit u's rows."""

    unit: np.ndarray
    time: np.ndarray
    key: np.ndarray
    kind: np.ndarray
    cmt: np.ndarray
    value: np.ndarray  # bolus amount or rate change
    ref: np.ndarray  # ADDVEC: row of the vector table; OBS: output row; PARAMS: row of ``table``
    start: np.ndarray
    stop: np.ndarray
    #: PARAMS breakpoints set the unit's parameters to row ``ref`` of this table (name -> values)
    table: dict | None = None

    @classmethod
    def build(cls, n_units, unit, time, key, kind, cmt=None, value=None, ref=None, table=None):
        m = len(unit)
        cmt = np.zeros(m, np.int64) if cmt is None else cmt
        value = np.zeros(m) if value is None else value
        ref = np.full(m, -1, np.int64) if ref is None else ref
        order = np.lexsort((kind, key, time, unit))
        unit = unit[order]
        counts = np.bincount(unit, minlength=n_units)
        stop = np.cumsum(counts)
        return cls(unit, time[order], key[order], kind[order], cmt[order], value[order], ref[order], stop - counts,
                   stop, table)


class Start(NamedTuple):
    """Where every unit begins: its time ``(n,)``, and its state and zero-order input rate ``(n, S)``
    before the breakpoints at that time."""

    time: np.ndarray
    state: np.ndarray
    rate: np.ndarray


class Course(NamedTuple):
    """Where every unit goes: its breakpoints, its end time ``(n,)`` and the state vectors ``(k, S)``
    that ADDVEC breakpoints add."""

    breakpoints: Breakpoints
    end: np.ndarray
    vectors: np.ndarray


class Outputs(NamedTuple):
    """What to return besides the end states.

    ``n_snapshots`` rows filled by OBS breakpoints (row ``ref``); outputs between breakpoints at
    ``dense_unit, dense_time``, sorted by (unit, time); ``dense_states``, the states evaluated there
    (default all; the others are NaN)."""

    n_snapshots: int = 0
    dense_unit: np.ndarray | None = None
    dense_time: np.ndarray | None = None
    dense_states: np.ndarray | None = None


class StepOptions(NamedTuple):
    """Error tolerances, the method (``"dp5"``; scipy's name for :func:`~pkpd.engine._implicit.integrate_implicit`)
    and the step budget of the explicit engine."""

    rtol: float = 1e-6
    atol: float = 1e-9
    method: str = "dp5"
    max_steps: int = 100_000


def integrate(model, params: dict, start: Start, course: Course, outputs: Outputs = Outputs(),
              options: StepOptions = StepOptions()):
    """Integrate every unit from ``start.time`` to ``course.end`` through its breakpoints.

    Parameters
    ----------
    params : dict of ndarray (n_units,)
        Parameter values per unit; PARAMS breakpoints (time-varying parameters) overwrite them in place,
        and the unit's initial state (used by later resets) is recomputed from the new values.
    start, course : Start, Course
        Where each unit begins, and its breakpoints and end.
    outputs : Outputs
        The snapshot and dense outputs to return.
    options : StepOptions
        Tolerances, the Runge-Kutta pair (``"dp5"``) and the step budget.

    Returns
    -------
    y_end : ndarray (n_units, S)
    snapshots : ndarray (outputs.n_snapshots, S)
    dense : ndarray (len(outputs.dense_time), S)
    """
    return _ExplicitRun(model, params, start, course, outputs, options).run()


class _Cursor:
    """Each unit's position in its breakpoints, and what applying them needs and writes: the ADDVEC
    vectors, the snapshot outputs, the initial states (for resets) and the parameter switch."""

    def __init__(self, model, params, course: Course, x0, n_snapshots):
        bps = self.bps = course.breakpoints
        self.vectors, self.t_end, self.x0 = course.vectors, course.end, x0
        self.ptr = bps.start.copy()
        self.snapshots = np.full((n_snapshots, x0.shape[1]), np.nan)
        self.switch = _ParameterSwitch(model, params, bps.table) if bps.table is not None else None

    def next_target(self, units, t_units):
        """Each unit's next breakpoint time, or its end time when it has none left."""
        bps, ptr = self.bps, self.ptr
        has = ptr[units] < bps.stop[units]
        nxt = bps.time[np.minimum(ptr[units], len(bps.time) - 1)] if len(bps.time) else np.full(len(units), np.inf)
        return np.where(has, nxt, np.maximum(self.t_end[units], t_units))

    def apply(self, pos, units, t, y, rate):
        """Apply, in order, every breakpoint of ``units`` at the unit's current time.

        ``pos`` are the units' rows in the state arrays ``t, y, rate`` (which may be a working subset);
        ``units`` index the breakpoint table, ``ptr`` and ``x0``.
        """
        bps, ptr = self.bps, self.ptr
        keep = ptr[units] < bps.stop[units]
        pos, units = pos[keep], units[keep]
        while units.size:
            k = ptr[units]
            at = bps.time[k] == t[pos]
            pos, units, k = pos[at], units[at], k[at]
            if not units.size:
                break
            kind = bps.kind[k]
            for code in np.unique(kind):
                sel = kind == code
                self._apply_kind(code, pos[sel], units[sel], k[sel], y, rate)
            ptr[units] += 1
            keep = ptr[units] < bps.stop[units]
            pos, units = pos[keep], units[keep]

    def _apply_kind(self, code, p, u, kk, y, rate):
        """Apply breakpoints ``kk`` (all of kind ``code``) to units ``u`` at rows ``p``."""
        bps = self.bps
        code = int(code)
        if code == _RESET:
            y[p] = self.x0[u]
        elif code == _BOLUS:
            np.add.at(y, (p, bps.cmt[kk]), bps.value[kk])
        elif code == _RATE:
            np.add.at(rate, (p, bps.cmt[kk]), bps.value[kk])
        elif code == _ADDVEC:
            y[p] += self.vectors[bps.ref[kk]]
        elif code == _OBS:
            self.snapshots[bps.ref[kk]] = y[p]
        elif code == _PARAMS:
            self.switch.apply(p, u, bps.ref[kk], self.x0)


class _ParameterSwitch:
    """Applies PARAMS breakpoints: sets the parameters of units to rows of ``table``.

    ``params`` holds every unit's values (indexed by unit); ``work`` is the integrator's working copy
    of a subset of them (indexed by position in the working set), or ``params`` itself.
    """

    def __init__(self, model, params, table):
        self.model, self.params, self.table = model, params, table
        self.work = params

    def apply(self, pos, units, rows, x0):
        for name, values in self.table.items():
            self.params[name][units] = values[rows]
            if self.work is not self.params:
                self.work[name][pos] = values[rows]
        # a later reset (EVID 3/4) returns to the initial state under the parameters then in force
        x0[units] = self.model.initial_state({k: v[units] for k, v in self.params.items()})


class _Trial(NamedTuple):
    """One attempted step of the working set."""

    land: np.ndarray  # the step ends on the unit's target (next breakpoint or end)
    h: np.ndarray  # step sizes (0 for units not live)
    Kb: np.ndarray  # stages times h, (n_k, m*S)
    t_new: np.ndarray
    y_new: np.ndarray
    f_new: np.ndarray


class _ExplicitRun:
    """One call of :func:`integrate`: the per-unit arrays, the breakpoint cursor and the step loop."""

    def __init__(self, model, params, start: Start, course: Course, outputs: Outputs, options: StepOptions):
        self.model, self.params, self.options = model, params, options
        self.rk = rk = METHODS[options.method]
        n, S = start.state.shape
        self.n = n
        self.t = np.array(start.time, dtype=float)
        self.y = np.array(start.state, dtype=float)
        self.rate = np.array(start.rate, dtype=float)
        x0 = model.initial_state(params) if n else np.zeros((0, S))
        self.cursor = _Cursor(model, params, course, x0, outputs.n_snapshots)
        self.dense = _DenseOutput(rk, n, S, outputs)
        units = np.arange(n)
        self.cursor.apply(units, units, self.t, self.y, self.rate)
        self.target = self.cursor.next_target(units, self.t)
        self.f = model.rhs(self.t, self.y, params, self.rate) if n else self.y.copy()
        self.h = self._initial_step(self.t, self.y, self.f, params, self.rate, self.target)
        self.steps_done = 0

    def run(self):
        # The working set holds the units still integrating. Units that finish stay in it (with a zero step)
        # until fewer than half of it is live; then it is compacted. This avoids gathering every step.
        work = np.nonzero(self.target > self.t)[0]
        while work.size:
            w = _WorkingSet(self, work)
            self._advance(w)
            w.store(self)
            work = work[w.target > w.t]
        return self.y, self.cursor.snapshots, self.dense.evaluate()

    def _advance(self, w):
        """Step the working set until none of it is live, or fewer than half of it (when it is worth compacting)."""
        m = w.units.size
        max_steps = self.options.max_steps
        while True:
            live = w.target > w.t
            n_live = np.count_nonzero(live)
            if n_live == 0 or (n_live < 0.5 * m and m > 16):
                return
            self._step(w, live, n_live)
            self.steps_done += 1
            if self.steps_done > max_steps:
                raise SimulationError(f"more than {max_steps} steps: loosen rtol/atol or use solver='bdf'")

    def _step(self, w, live, n_live):
        """Attempt one step of every live unit; move the accepted ones, resize the steps, land on breakpoints."""
        trial = self._attempt(w, live)
        accept, factor = self._error_control(w, trial)
        moved = accept & live
        all_moved = n_live == w.units.size and bool(accept.all())
        if self.dense.pending:
            self._record_dense(w, trial, moved, all_moved)
        np.copyto(w.h, trial.h * factor, where=live)
        w.move(trial, moved, all_moved)
        self._check_underflow(w, live & ~accept, trial.h)
        landed = np.nonzero(moved & trial.land)[0]
        if landed.size:
            self._land(w, landed)

    def _attempt(self, w, live) -> _Trial:
        """The Runge-Kutta stages of one step; live units step to their target when it is within reach."""
        rk, model = self.rk, self.model
        m, S = w.y.shape
        remaining = w.target - w.t
        land = live & (w.h >= remaining * (1 - 1e-12))
        hs = np.where(land, remaining, np.where(live, w.h, 0.0))
        # stages times the step size, flattened: one BLAS call combines them
        hcol = hs[:, None]
        Kb = np.empty((rk.n_k, m * S))
        K3 = Kb.reshape(rk.n_k, m, S)  # the same memory, per unit and state
        np.multiply(w.f, hcol, out=K3[0])
        ns = rk.n_stages
        for st in range(1, ns):
            stage = (rk.A[st, :st] @ Kb[:st]).reshape(m, S)
            stage += w.y
            np.multiply(model.rhs(w.t + rk.C[st] * hs, stage, w.p, w.rate), hcol, out=K3[st])
        y_new = (rk.B @ Kb[:ns]).reshape(m, S)
        y_new += w.y
        t_new = np.where(land, w.target, w.t + hs)
        f_new = model.rhs(t_new, y_new, w.p, w.rate)
        np.multiply(f_new, hcol, out=K3[ns])
        return _Trial(land, hs, Kb, t_new, y_new, f_new)

    def _error_control(self, w, trial: _Trial):
        """Whether each step is accepted, and the factor for the next step size."""
        rk, options = self.rk, self.options
        m, S = w.y.shape
        scale = np.maximum(np.abs(w.y), np.abs(trial.y_new))
        scale *= options.rtol
        scale += options.atol
        norm = rk.error_norm(trial.Kb, scale, m, S)
        if not np.isfinite(norm).all():
            norm[~np.isfinite(norm)] = np.inf
        accept = norm <= 1.0
        # step factor 0.9 * norm^exponent within [0.2, 10] (rejected steps: norm > 1, so factor < 0.9)
        factor = np.maximum(norm, 1e-10) ** rk.exponent
        factor *= 0.9
        np.clip(factor, 0.2, 10.0, out=factor)
        return accept, factor

    def _record_dense(self, w, trial: _Trial, moved, all_moved):
        """Keep the accepted steps for dense output (before the working set moves on)."""
        m, S = w.y.shape
        if all_moved:  # the common case: no gathering
            coef = self.rk.dense(trial.Kb, m, S)
            self.dense.step(w.units, w.t.copy(), trial.h, w.y.copy(), trial.t_new, coef)
        elif moved.any():
            coef = self.rk.dense(trial.Kb, m, S)
            self.dense.step(w.units[moved], w.t[moved], trial.h[moved], w.y[moved], trial.t_new[moved],
                            coef[:, moved])

    def _check_underflow(self, w, rejected, hs):
        if rejected.any():
            tiny = rejected & (hs <= 1e-14 * np.maximum(1.0, np.abs(w.t)))
            if tiny.any():
                u = int(w.units[np.argmax(tiny)])
                raise SimulationError(
                    f"step size underflow at time {w.t[np.argmax(tiny)]:.6g} (integration unit {u}); the model "
                    "may be stiff or its state non-finite: try solver='bdf'"
                )

    def _land(self, w, landed):
        """Apply the breakpoints of the units that reached their target, and restart those that go on."""
        lu = w.units[landed]
        self.cursor.apply(landed, lu, w.t, w.y, w.rate)
        w.target[landed] = self.cursor.next_target(lu, w.t[landed])
        going = landed[w.target[landed] > w.t[landed]]
        if going.size:
            pg = {k: v[going] for k, v in w.p.items()}
            w.f[going] = self.model.rhs(w.t[going], w.y[going], pg, w.rate[going])
            w.h[going] = self._initial_step(w.t[going], w.y[going], w.f[going], pg, w.rate[going], w.target[going])

    def _initial_step(self, t, y, f, p, rate, target):
        """Hairer, Nørsett & Wanner (1993), II.4: starting step size, per unit, towards ``target``."""
        if not len(t):
            return np.zeros(0)
        rtol, atol = self.options.rtol, self.options.atol
        span = target - t
        scale = atol + np.abs(y) * rtol
        S = y.shape[1]
        d0 = _rms(y / scale, S)
        d1 = _rms(f / scale, S)
        # (the divisors are clipped at the thresholds of the branches not taken: no spurious overflow warnings)
        h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-5))
        h0 = np.minimum(h0, np.maximum(span, 1e-12))
        y1 = y + h0[:, None] * f
        f1 = self.model.rhs(t + h0, y1, p, rate)
        d2 = _rms((f1 - f) / scale, S) / h0
        big = np.maximum(d1, d2)
        exponent = self.rk.exponent
        h1 = np.where(big <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.maximum(big, 1e-15)) ** -exponent)
        return np.minimum(100 * h0, h1)


def _rms(x, S):
    """Root mean square of each row of ``x`` (``S`` columns)."""
    return np.sqrt(np.einsum("ij,ij->i", x, x) / S)


class _WorkingSet:
    """The units still integrating (``units``): their rows of the run's per-unit arrays, or, when every
    unit is in it, those arrays themselves (no gathering)."""

    def __init__(self, run: _ExplicitRun, units):
        self.units = units
        self.whole = units.size == run.n
        if self.whole:  # work on the arrays themselves
            self.p, self.t, self.y, self.f, self.h, self.rate, self.target = (
                run.params, run.t, run.y, run.f, run.h, run.rate, run.target)
        else:
            self.p = {k: v[units] for k, v in run.params.items()}
            self.t, self.y, self.f, self.h, self.rate, self.target = (
                run.t[units], run.y[units], run.f[units], run.h[units], run.rate[units], run.target[units])
        if run.cursor.switch is not None:
            run.cursor.switch.work = self.p

    def move(self, trial: _Trial, moved, all_moved):
        """Advance the units whose step was accepted."""
        if all_moved:
            self.t[...], self.y[...], self.f[...] = trial.t_new, trial.y_new, trial.f_new
        else:
            np.copyto(self.t, trial.t_new, where=moved)
            np.copyto(self.y, trial.y_new, where=moved[:, None])
            np.copyto(self.f, trial.f_new, where=moved[:, None])

    def store(self, run: _ExplicitRun):
        """Write the working rows back into the run's arrays."""
        if not self.whole:
            u = self.units
            run.t[u], run.y[u], run.f[u], run.h[u], run.rate[u], run.target[u] = (
                self.t, self.y, self.f, self.h, self.rate, self.target)


class _DenseOutput:
    """Records accepted steps and evaluates requested outputs from their dense-output polynomials.

    Outputs and steps are both ordered by (unit, time), so each output's step follows from counting
    the outputs each step covers; with a grid shared by all units (the usual case) that count is one
    ``searchsorted`` into the grid.
    """

    def __init__(self, rk, n, S, outputs: Outputs):
        self.rk = rk
        self.n, self.S = n, S
        states = outputs.dense_states
        self.states = range(S) if states is None else states
        self.unit, self.time = outputs.dense_unit, outputs.dense_time
        time = self.time
        self.pending = time is not None and len(time) > 0
        self.records: list[tuple] = []

    def step(self, units, t0, h, y0, t1, coef):
        """Record accepted steps: y0 (m, S) and dense coefficients (n_coef, m, S), kept state-major."""
        self.records.append((units, t0, h, y0.T, t1, coef.transpose(0, 2, 1)))

    def evaluate(self) -> np.ndarray:
        if not self.pending:
            return np.zeros((0 if self.time is None else len(self.time), self.S))
        records = self.records
        unit = np.concatenate([r[0] for r in records])
        order = np.argsort(unit, kind="stable")  # each unit's steps were recorded in time order
        unit = unit[order]
        t0, h, t1 = (np.concatenate([r[i] for r in records])[order] for i in (1, 2, 4))
        covered = self._covered(unit, t1)  # outputs of the step's unit at or before its end
        first = np.ones(len(unit), bool)
        first[1:] = unit[1:] != unit[:-1]
        counts = covered - np.where(first, 0, np.roll(covered, 1))
        if counts.sum() != len(self.time):  # every output lies inside exactly one step
            raise SimulationError("dense output: outputs outside the integrated range")
        # per-step values repeated over the step's outputs (steps and outputs share the (unit, time) order)
        theta = self.time - np.repeat(t0, counts)
        theta /= np.repeat(h, counts)
        out = np.empty((self.S, len(self.time)))
        unused = [c for c in range(self.S) if c not in self.states]
        if unused:
            out[unused] = np.nan
        for c in self.states:
            coef = np.concatenate([r[5][:, c] for r in records], axis=1).take(order, axis=1)  # (n_coef, steps)
            out[c] = self.rk.interpolate([np.repeat(q, counts) for q in coef], theta)
            out[c] += np.repeat(np.concatenate([r[3][c] for r in records]).take(order), counts)
        return out.T

    def _covered(self, step_unit, t1):
        """Number of outputs of each step's unit with time <= the step's end."""
        unit, time = self.unit, self.time
        per_unit = np.bincount(unit, minlength=self.n)
        start = np.cumsum(per_unit) - per_unit
        G = per_unit.max()
        if (per_unit == G).all() or (per_unit[per_unit > 0] == G).all() and len(time) == G * (per_unit > 0).sum():
            grid = time[:G]
            if np.array_equal(time.reshape(-1, G), np.broadcast_to(grid, (len(time) // G, G))):
                return np.searchsorted(grid, t1, side="right") * (per_unit[step_unit] > 0)
        uniq = np.unique(time)
        U = len(uniq) + 1
        key = unit.astype(np.int64) * U + np.searchsorted(uniq, time)
        q = step_unit.astype(np.int64) * U + np.searchsorted(uniq, t1, side="right")
        return np.searchsorted(key, q) - start[step_unit]
