"""Implicit path for stiff models: the batch as one stacked system, integrated by scipy's BDF (or Radau,
LSODA) with a block-diagonal Jacobian sparsity, restarting at every breakpoint of any unit.

Each subject's block of the Jacobian is dense (its states interact) but subjects do not interact, so the
finite-difference Jacobian costs ``n_states + 1`` right-hand-side evaluations whatever the batch size.
Breakpoints are shared (the union over units), so this path is slower than the explicit per-unit engine
on non-stiff problems; use it when the explicit engine reports step-size underflow or crawls.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from ..errors import SimulationError
from ._explicit import _apply_breakpoints

__all__ = ["integrate_implicit"]


def integrate_implicit(model, params, t_start, y_start, rate_start, bps, t_end, vectors, n_out, dense_unit=None,
                       dense_time=None, *, rtol=1e-6, atol=1e-9, method="BDF"):
    """Same contract as :func:`pkpd.models._explicit.integrate`, on one stacked system."""
    n, S = y_start.shape
    t = np.array(t_start, dtype=float)
    y = np.array(y_start, dtype=float)
    rate = np.array(rate_start, dtype=float)
    ptr = bps.start.copy()
    snapshots = np.full((n_out, S), np.nan)
    dense = np.zeros((0 if dense_time is None else len(dense_time), S))
    x0 = model.initial_state(params)
    units = np.arange(n)
    sparsity = sp.block_diag([np.ones((S, S))] * n, format="csr") if n else None

    # every time at which some unit has a breakpoint, plus the unit ends
    stops = np.unique(np.concatenate([bps.time[np.isfinite(bps.time)], t_end, t_start]))
    clock = float(stops[0]) if len(stops) else 0.0
    started = t_start <= clock
    t[:] = clock
    _apply_breakpoints(units[started], units[started], t, y, rate, ptr, bps, vectors, snapshots, x0)
    d_unit = np.zeros(0, np.int64) if dense_unit is None else dense_unit
    d_time = np.zeros(0) if dense_time is None else dense_time

    def fun(tt, z):
        # units that have not started yet stay at their initial state
        yy = z.reshape(n, S)
        return (model.rhs(np.full(n, tt), yy, params, rate) * started[:, None]).ravel()

    for nxt in stops[stops > clock]:
        structure = {"jac_sparsity": sparsity} if method in ("BDF", "Radau") else {"lband": S - 1, "uband": S - 1}
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
        _apply_breakpoints(units[started], units[started], t, y, rate, ptr, bps, vectors, snapshots, x0)
        clock = nxt
    return y, snapshots, dense
