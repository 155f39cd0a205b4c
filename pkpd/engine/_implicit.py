"""Implicit path for stiff models: the batch as one stacked system, integrated by scipy's BDF (or Radau,
LSODA) with a block-diagonal Jacobian sparsity, restarting at every breakpoint of any unit.

Each subject's block of the Jacobian is dense (its states interact) but subjects do not interact, so the
finite-difference Jacobian costs ``n_states + 1`` right-hand-side evaluations whatever the batch size. BDF
and Radau get it from :func:`_block_jacobian`, scipy's ``num_jac`` (same steps, same adaptive step factors)
on the stack of dense blocks: one right-hand-side call on ``n_states`` perturbed copies of the batch, and
no per-column work on a sparse matrix (scipy's sparse path loops over the columns in Python).
Breakpoints are shared (the union over units), so this path is slower than the explicit per-unit engine
on non-stiff problems; use it when the explicit engine reports step-size underflow or crawls.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from ..errors import SimulationError
from ._explicit import Course, Outputs, Start, StepOptions, _Cursor

__all__ = ["integrate_implicit"]

# scipy.integrate._ivp.common's constants of num_jac
_EPS = np.finfo(float).eps
_DIFF_REJECT, _DIFF_SMALL, _DIFF_BIG = _EPS ** 0.875, _EPS ** 0.75, _EPS ** 0.25
_MIN_FACTOR, _INCREASE, _DECREASE = 1e3 * _EPS, 10.0, 0.1


def integrate_implicit(model, params: dict, start: Start, course: Course, outputs: Outputs = Outputs(),
                       options: StepOptions = StepOptions(method="BDF")):
    """Same contract as :func:`pkpd.engine._explicit.integrate`, on one stacked system.

    ``options.method`` is scipy's ``"BDF"``, ``"Radau"`` or ``"LSODA"``; ``options.max_steps`` and
    ``outputs.dense_states`` are not used (every state is evaluated at the dense outputs).
    """
    n, S = start.state.shape
    t = np.array(start.time, dtype=float)
    y = np.array(start.state, dtype=float)
    rate = np.array(start.rate, dtype=float)
    # time-varying parameters: PARAMS breakpoints overwrite ``params`` in place (the system reads it)
    cursor = _Cursor(model, params, course, model.initial_state(params), outputs.n_snapshots)
    dense = np.zeros((0 if outputs.dense_time is None else len(outputs.dense_time), S))
    units = np.arange(n)

    # every time at which some unit has a breakpoint, plus the unit ends
    bp_time = course.breakpoints.time
    stops = np.unique(np.concatenate([bp_time[np.isfinite(bp_time)], course.end, start.time]))
    clock = float(stops[0]) if len(stops) else 0.0
    started = start.time <= clock
    t[:] = clock
    cursor.apply(units[started], units[started], t, y, rate)
    system = _StackedSystem(model, params, rate, started, options.atol)

    for nxt in stops[stops > clock]:
        if cursor.switch is not None:
            system.tile_params()
        sol = solve_ivp(system.fun, (clock, nxt), y.ravel(), method=options.method, rtol=options.rtol,
                        atol=options.atol, dense_output=True, **system.structure(options.method))
        if not sol.success:
            raise SimulationError(f"{options.method} failed between t={clock:g} and t={nxt:g}: {sol.message}")
        _dense_between(dense, outputs, sol, (clock, nxt))
        y = sol.y[:, -1].reshape(n, S).copy()
        t[:] = nxt
        started = system.started = start.time <= nxt
        cursor.apply(units[started], units[started], t, y, rate)
        clock = nxt
    return y, cursor.snapshots, dense


def _dense_between(dense, outputs: Outputs, sol, span):
    """Fill the rows of ``dense`` whose output time lies in ``span = (t0, t1]`` from ``sol``'s dense output."""
    if outputs.dense_time is None:
        return
    d_unit, d_time = outputs.dense_unit, outputs.dense_time
    inside = (d_time > span[0]) & (d_time <= span[1])
    if inside.any():
        S = dense.shape[1]
        w = np.nonzero(inside)[0]
        times = np.unique(d_time[w])
        values = sol.sol(times).T.reshape(len(times), len(sol.y) // S, S)
        dense[w] = values[np.searchsorted(times, d_time[w]), d_unit[w]]


class _StackedSystem:
    """The batch as one system for scipy: ``n`` units of ``S`` states, with a block-diagonal Jacobian.

    ``rate`` is updated in place by the breakpoints; ``started`` (units whose first time has come; the
    others stay at their initial state) is replaced at each breakpoint time.
    """

    def __init__(self, model, params, rate, started, atol):
        self.model, self.params, self.rate, self.started, self.atol = model, params, rate, started, atol
        self.n, self.S = rate.shape
        self.block = _BlockStructure(self.n, self.S)
        self.tile_params()

    def tile_params(self):
        """The batch's parameters repeated once per state, for the perturbed copies of the block Jacobian."""
        self.tiled = {k: np.tile(np.asarray(v), self.S) for k, v in self.params.items()}

    def fun(self, tt, z):
        yy = z.reshape(self.n, self.S)
        return (self.model.rhs(np.full(self.n, tt), yy, self.params, self.rate) * self.started[:, None]).ravel()

    def rhs_rows(self, tt, rows, yy):
        """rhs of state rows ``yy`` belonging to units ``rows`` (an index array, or ``None``: S copies of the batch)."""
        n, S, rate, started = self.n, self.S, self.rate, self.started
        if rows is None:
            copies = self.model.rhs(np.full(n * S, tt), yy, self.tiled, np.tile(rate, (S, 1)))
            return copies * np.tile(started, S)[:, None]
        sub = {k: np.asarray(v)[rows] for k, v in self.params.items()}
        return self.model.rhs(np.full(len(rows), tt), yy, sub, rate[rows]) * started[rows, None]

    def jac(self, tt, z, factor):
        """The block-diagonal Jacobian at ``(tt, z)``; ``factor``, the difference step factors, adapts in place."""
        n, S = self.n, self.S
        return _block_jacobian(self, tt, z.reshape(n, S), self.fun(tt, z).reshape(n, S), factor)

    def structure(self, method):
        """solve_ivp's Jacobian options for one segment between breakpoints."""
        if method in ("BDF", "Radau") and self.n:
            # scipy's num_jac step factors, adapted along the segment
            return {"jac": partial(self.jac, factor=np.full((self.n, self.S), _EPS ** 0.5))}
        if method in ("BDF", "Radau"):
            return {}
        return {"lband": self.S - 1, "uband": self.S - 1}


class _BlockStructure:
    """Index arrays of the CSC matrix holding ``n`` dense ``S x S`` diagonal blocks."""

    def __init__(self, n, S):
        self.shape = (n * S, n * S)
        self.indices = np.tile(np.arange(S), n * S) + np.repeat(S * np.arange(n), S * S)
        self.indptr = np.arange(0, n * S * S + 1, S)


def _block_jacobian(system: _StackedSystem, t, y, f, factor):
    """scipy's ``num_jac`` (forward differences, adaptive step ``factor`` updated in place) on a
    block-diagonal system: ``y`` and ``f`` are ``(n, S)``, the result a CSC matrix of the ``n`` blocks."""
    n, S = y.shape
    threshold, block = system.atol, system.block
    y_scale = np.where(f >= 0, 1.0, -1.0) * np.maximum(threshold, np.abs(y))
    h = (y + factor * y_scale) - y
    while not h.all():  # a zero step: enlarge its factor
        z = h == 0
        factor[z] *= 10
        h[z] = (y[z] + factor[z] * y_scale[z]) - y[z]
    diag = np.arange(S)
    trial = np.broadcast_to(y, (S, n, S)).copy()  # trial[b, i] = y[i] + h[i, b] e_b
    trial[diag, :, diag] += h.T
    f_new = system.rhs_rows(t, None, trial.reshape(S * n, S)).reshape(S, n, S)
    diff = f_new - f  # diff[b, i, a] = f_a(y_i + h_ib e_b) - f_a(y_i)
    at = np.argmax(np.abs(diff), axis=2)[..., None]  # (S, n, 1): the largest change of each column
    max_diff = np.abs(np.take_along_axis(diff, at, 2))[..., 0]
    scale = np.maximum(np.abs(np.take_along_axis(np.broadcast_to(f, diff.shape), at, 2)),
                       np.abs(np.take_along_axis(f_new, at, 2)))[..., 0]
    b, i = np.nonzero(max_diff < _DIFF_REJECT * scale)  # differences lost in round-off: retry 10x larger
    if b.size:
        new_factor = _INCREASE * factor[i, b]
        h_new = (y[i, b] + new_factor * y_scale[i, b]) - y[i, b]
        rows = y[i].copy()
        rows[np.arange(b.size), b] += h_new
        f2 = system.rhs_rows(t, i, rows)
        d2 = f2 - f[i]
        w2 = np.argmax(np.abs(d2), axis=1)[:, None]
        max2 = np.abs(np.take_along_axis(d2, w2, 1))[:, 0]
        scale2 = np.maximum(np.abs(np.take_along_axis(f[i], w2, 1)), np.abs(np.take_along_axis(f2, w2, 1)))[:, 0]
        up = max_diff[b, i] * scale2 < max2 * scale[b, i]
        b, i = b[up], i[up]
        factor[i, b] = new_factor[up]
        h[i, b] = h_new[up]
        diff[b, i] = d2[up]
        scale[b, i] = scale2[up]
        max_diff[b, i] = max2[up]
    blocks = diff.transpose(1, 0, 2) / h[:, :, None]  # blocks[i, b, a] = d f_a / d y_b of unit i: CSC order
    max_diff, scale = max_diff.T, scale.T
    factor[max_diff < _DIFF_SMALL * scale] *= _INCREASE
    factor[max_diff > _DIFF_BIG * scale] *= _DECREASE
    np.maximum(factor, _MIN_FACTOR, out=factor)
    return sp.csc_matrix((blocks.ravel(), block.indices, block.indptr), shape=block.shape)
