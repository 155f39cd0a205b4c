"""Exact integrator for linear models: the ODE engine's breakpoint contract, solved by matrix exponentials.

Between two consecutive breakpoints of a unit its parameters and zero-order input rates are constant, so
its state obeys ``x' = A x + r`` with constant ``A = model.system_matrix(p)`` and ``r``. Then

    [x(t0 + h); 1] = expm(M h) [x(t0); 1],    M = [[A, r], [0, 0]],

exactly, also for singular ``A`` (no elimination, an accumulator) and for repeated eigenvalues (KA = CL/V),
where an eigendecomposition breaks down. Every unit jumps from one breakpoint to the next in one step;
the units are advanced together (one batched :func:`~pkpd.engine._closed_form._expm` per round, a round
taking each live unit to its next breakpoint). The segments are recorded, and outputs between breakpoints
are evaluated afterwards, exactly at their times, by one more batched exponential of ``M (tau - t0)``.

Why matrix exponentials rather than the closed form's eigendecomposition: parameters change at
breakpoints, so a unit would need a new decomposition per parameter segment anyway, with the degenerate
cases (repeated or zero eigenvalues) handled apart; the augmented exponential is one code path for all of
them, batched over the stack of ``(S + 1) x (S + 1)`` matrices in numpy (scipy's ``expm`` loops over a stack in
Python). Steady states come from :mod:`pkpd.engine._ode`'s Newton iteration on one dosing interval, which
converges in one step for a linear map (a second confirms it).
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError, SimulationError
from ._closed_form import _expm, _reach
from ._explicit import Course, Outputs, Start, StepOptions, _Cursor
from ._schedule import grouped_searchsorted

__all__ = ["integrate_exact"]

# dense outputs evaluated per batch of matrix exponentials (memory: ~40 (S+1)^2 doubles each)
_DENSE_CHUNK = 100_000


def integrate_exact(model, params: dict, start: Start, course: Course, outputs: Outputs = Outputs(),
                    options: StepOptions = StepOptions(method="exact")):
    """Same contract as :func:`pkpd.engine._explicit.integrate`, exact for a linear model.

    ``model`` must have ``system_matrix(p)`` (``model.linear``); ``options`` (tolerances, method, step budget) are
    not used: nothing is approximated beyond the matrix exponential (Pade 13 with scaling and squaring, accurate
    to a few units of round-off). PARAMS breakpoints overwrite ``params`` in place, as in the explicit engine.

    Returns
    -------
    y_end : ndarray (n_units, S)
    snapshots : ndarray (outputs.n_snapshots, S)
    dense : ndarray (len(outputs.dense_time), S)
    """
    if not getattr(model, "linear", False):
        raise ModelError(f"{model.name} is not linear: it has no exact integrator; use the ODE solver")
    n, S = start.state.shape
    t = np.array(start.time, dtype=float)
    y = np.array(start.state, dtype=float)
    rate = np.array(start.rate, dtype=float)
    x0 = model.initial_state(params) if n else np.zeros((0, S))
    cursor = _Cursor(model, params, course, x0, outputs.n_snapshots)
    segments = _Segments(S) if outputs.dense_time is not None and len(outputs.dense_time) else None
    units = np.arange(n)
    cursor.apply(units, units, t, y, rate)
    target = cursor.next_target(units, t)
    live = np.nonzero(target > t)[0]
    while live.size:
        h = target[live] - t[live]
        A = model.system_matrix({k: np.asarray(v)[live] for k, v in params.items()})
        y_live, r_live = y[live], rate[live]
        if segments is not None:
            segments.add(live, t[live], target[live], y_live, r_live, A)
        y[live] = _propagate(A, r_live, y_live, h)
        t[live] = target[live]
        cursor.apply(live, live, t, y, rate)
        target[live] = cursor.next_target(live, t[live])
        live = live[target[live] > t[live]]
    if not np.all(np.isfinite(y)):
        raise SimulationError(f"{model.name}: the exact solution is not finite (a growing mode, or an overflow)")
    dense = np.zeros((0 if outputs.dense_time is None else len(outputs.dense_time), S))
    if segments is not None:
        dense = segments.evaluate(outputs.dense_unit, outputs.dense_time)
    return y, cursor.snapshots, dense


def _propagate(A, r, x, h):
    """``x(t0 + h)`` of ``x' = A x + r`` from ``x(t0) = x``, per row: ``expm([[A h, r h], [0, 0]]) [x; 1]``
    (in closed form for one or two states without input, :func:`_propagate_two`)."""
    m, S, _ = A.shape
    if S <= 2 and not r.any() and (S == 1 or not A[:, 0, 1].any()):
        return _propagate_two(A, x, h)
    M = np.zeros((m, S + 1, S + 1))
    M[:, :S, :S] = A * h[:, None, None]
    M[:, :S, S] = r * h[:, None]
    E = _expm(M)
    y = np.einsum("nij,nj->ni", E[:, :S, :S], x) + E[:, :S, S]
    # a state neither x nor r reaches stays exactly 0 (the exponential leaves ~1e-16 where its entry is 0)
    source = (x != 0) | (r != 0)
    y[(source.astype(np.int64) @ _reach(A).T.astype(np.int64)) == 0] = 0.0
    return y


def _propagate_two(A, x, h):
    """:func:`_propagate` without input for a lower-triangular system of one or two states (a depot feeding a
    central compartment: ADVAN2's matrix), ``A = [[a, 0], [c, d]]``, in closed form:
    ``expm(A h) = [[e^{ah}, 0], [c D, e^{dh}]]`` with ``D = (e^{ah} - e^{dh}) / (a - d)`` written
    ``e^{dh} h expm1(delta h) / (delta h)``, ``delta = a - d``, which keeps its digits when ``a`` is close to ``d``
    (flip-flop, ``KA`` near ``k``) and equals ``h e^{dh}`` when they are equal."""
    a, y = A[:, 0, 0] * h, np.empty_like(x)
    ea = np.exp(a)
    y[:, 0] = ea * x[:, 0]
    if A.shape[1] == 2:
        d, c = A[:, 1, 1] * h, A[:, 1, 0] * h
        ed, delta = np.exp(d), a - d
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(delta == 0.0, 1.0, np.expm1(delta) / delta)
        y[:, 1] = ed * x[:, 1] + c * ed * ratio * x[:, 0]
    return y


class _Segments:
    """The intervals between breakpoints each unit went through: start state, input rate and system matrix."""

    def __init__(self, S):
        self.S = S
        self.parts: list[tuple] = []

    def add(self, units, t0, t1, y0, rate, A):
        self.parts.append((units, t0, t1, y0, rate, A))

    def evaluate(self, d_unit, d_time) -> np.ndarray:
        """States at the outputs ``(d_unit, d_time)`` (sorted by unit, then time), each from its segment."""
        S = self.S
        if not self.parts:
            raise SimulationError("dense output: outputs outside the integrated range")
        unit = np.concatenate([q[0] for q in self.parts])
        order = np.argsort(unit, kind="stable")  # each unit's segments were added in time order
        unit = unit[order]
        t0, t1, y0, rate, A = (np.concatenate([q[i] for q in self.parts])[order] for i in range(1, 6))
        # the first segment of the output's unit ending at or after it: t0 <= tau <= t1
        seg = grouped_searchsorted(unit, t1, np.zeros(len(t1)), d_unit, d_time, np.zeros(len(d_time)))
        seg_ok = np.minimum(seg, len(unit) - 1)
        inside = (seg < len(unit)) & (unit[seg_ok] == d_unit) & (t0[seg_ok] <= d_time)
        if not inside.all():
            raise SimulationError("dense output: outputs outside the integrated range")
        out = np.empty((len(d_time), S))
        for lo in range(0, len(d_time), _DENSE_CHUNK):
            s = seg[lo:lo + _DENSE_CHUNK]
            out[lo:lo + _DENSE_CHUNK] = _propagate(A[s], rate[s], y0[s], d_time[lo:lo + _DENSE_CHUNK] - t0[s])
        return out
