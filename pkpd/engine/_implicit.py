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

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from ..errors import SimulationError
from ._explicit import _apply_breakpoints, _ParameterSwitch

__all__ = ["integrate_implicit"]

# scipy.integrate._ivp.common's constants of num_jac
_EPS = np.finfo(float).eps
_DIFF_REJECT, _DIFF_SMALL, _DIFF_BIG = _EPS ** 0.875, _EPS ** 0.75, _EPS ** 0.25
_MIN_FACTOR, _INCREASE, _DECREASE = 1e3 * _EPS, 10.0, 0.1


def integrate_implicit(model, params, t_start, y_start, rate_start, bps, t_end, vectors, n_out, dense_unit=None,
                       dense_time=None, *, rtol=1e-6, atol=1e-9, method="BDF"):
    """Same contract as :func:`pkpd.engine._explicit.integrate`, on one stacked system."""
    n, S = y_start.shape
    t = np.array(t_start, dtype=float)
    y = np.array(y_start, dtype=float)
    rate = np.array(rate_start, dtype=float)
    ptr = bps.start.copy()
    snapshots = np.full((n_out, S), np.nan)
    dense = np.zeros((0 if dense_time is None else len(dense_time), S))
    x0 = model.initial_state(params)
    units = np.arange(n)

    # every time at which some unit has a breakpoint, plus the unit ends
    stops = np.unique(np.concatenate([bps.time[np.isfinite(bps.time)], t_end, t_start]))
    clock = float(stops[0]) if len(stops) else 0.0
    started = t_start <= clock
    t[:] = clock
    # time-varying parameters: PARAMS breakpoints overwrite ``params`` in place (fun and rhs_rows read it)
    switch = _ParameterSwitch(model, params, bps.table) if bps.table is not None else None
    _apply_breakpoints(units[started], units[started], t, y, rate, ptr, bps, vectors, snapshots, x0, switch)
    d_unit = np.zeros(0, np.int64) if dense_unit is None else dense_unit
    d_time = np.zeros(0) if dense_time is None else dense_time

    def fun(tt, z):
        # units that have not started yet stay at their initial state
        yy = z.reshape(n, S)
        return (model.rhs(np.full(n, tt), yy, params, rate) * started[:, None]).ravel()

    # the batch repeated once per state, for the perturbed copies of the block Jacobian
    tiled = {k: np.tile(np.asarray(v), S) for k, v in params.items()}
    block = _BlockStructure(n, S)

    def rhs_rows(tt, rows, yy):
        """rhs of state rows ``yy`` belonging to units ``rows`` (an index array, or ``None``: S copies of the batch)."""
        if rows is None:
            return model.rhs(np.full(n * S, tt), yy, tiled, np.tile(rate, (S, 1))) * np.tile(started, S)[:, None]
        sub = {k: np.asarray(v)[rows] for k, v in params.items()}
        return model.rhs(np.full(len(rows), tt), yy, sub, rate[rows]) * started[rows, None]

    for nxt in stops[stops > clock]:
        if switch is not None:
            tiled = {k: np.tile(np.asarray(v), S) for k, v in params.items()}
        if method in ("BDF", "Radau") and n:
            factor = np.full((n, S), _EPS ** 0.5)  # scipy's num_jac step factors, adapted along the segment

            def jac(tt, z, factor=factor):
                return _block_jacobian(rhs_rows, tt, z.reshape(n, S), fun(tt, z).reshape(n, S), atol, factor, block)

            structure = {"jac": jac}
        elif method in ("BDF", "Radau"):
            structure = {}
        else:
            structure = {"lband": S - 1, "uband": S - 1}
        sol = solve_ivp(fun, (clock, nxt), y.ravel(), method=method, rtol=rtol, atol=atol, dense_output=True,
                        **structure)
        if not sol.success:
            raise SimulationError(f"{method} failed between t={clock:g} and t={nxt:g}: {sol.message}")
        inside = (d_time > clock) & (d_time <= nxt)
        if inside.any():
            w = np.nonzero(inside)[0]
            times = np.unique(d_time[w])
            values = sol.sol(times).T.reshape(len(times), n, S)
            dense[w] = values[np.searchsorted(times, d_time[w]), d_unit[w]]
        y = sol.y[:, -1].reshape(n, S).copy()
        t[:] = nxt
        started = t_start <= nxt
        _apply_breakpoints(units[started], units[started], t, y, rate, ptr, bps, vectors, snapshots, x0, switch)
        clock = nxt
    return y, snapshots, dense


class _BlockStructure:
    """Index arrays of the CSC matrix holding ``n`` dense ``S x S`` diagonal blocks."""

    def __init__(self, n, S):
        self.shape = (n * S, n * S)
        self.indices = np.tile(np.arange(S), n * S) + np.repeat(S * np.arange(n), S * S)
        self.indptr = np.arange(0, n * S * S + 1, S)


def _block_jacobian(rhs_rows, t, y, f, threshold, factor, block):
    """scipy's ``num_jac`` (forward differences, adaptive step ``factor`` updated in place) on a
    block-diagonal system: ``y`` and ``f`` are ``(n, S)``, the result a CSC matrix of the ``n`` blocks."""
    n, S = y.shape
    y_scale = np.where(f >= 0, 1.0, -1.0) * np.maximum(threshold, np.abs(y))
    h = (y + factor * y_scale) - y
    while not h.all():  # a zero step: enlarge its factor
        z = h == 0
        factor[z] *= 10
        h[z] = (y[z] + factor[z] * y_scale[z]) - y[z]
    diag = np.arange(S)
    trial = np.broadcast_to(y, (S, n, S)).copy()  # trial[b, i] = y[i] + h[i, b] e_b
    trial[diag, :, diag] += h.T
    f_new = rhs_rows(t, None, trial.reshape(S * n, S)).reshape(S, n, S)
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
        f2 = rhs_rows(t, i, rows)
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
