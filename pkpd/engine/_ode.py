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
"""

from __future__ import annotations


import numpy as np

from ..errors import SimulationError
from . import _explicit
from ._explicit import Breakpoints, Kind
from ._schedule import Schedule, grouped_searchsorted

__all__ = ["ode_states"]


SOLVERS = ("dp5", "bdf", "radau", "lsoda")
_SCIPY_METHOD = {"bdf": "BDF", "radau": "Radau", "lsoda": "LSODA"}  # solve_ivp's spelling of the stiff solvers


def ode_states(model, schedule: Schedule, p: dict, *, rtol: float = 1e-6, atol: float = 1e-9,
               solver: str = "dp5", needed: np.ndarray | None = None) -> np.ndarray:
    """States at each output request of ``schedule``, shape ``(n_outputs, n_states)``, by the ODE engine.

    ``solver="dp5"`` (default) is the explicit per-unit engine; ``"bdf"``, ``"radau"`` and ``"lsoda"``
    integrate the batch as one stacked stiff system (:mod:`pkpd.engine._implicit`). ``needed`` lists the
    states wanted between breakpoints (default all; the others may be NaN there).
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, not {solver!r}")
    S = len(model.states)
    nu = schedule.n_units
    pu = {k: np.asarray(v)[schedule.unit_subject] for k, v in p.items()}
    sc = schedule
    varying = sc.unit_params is not None
    if varying:  # each unit starts with its first record's values
        pu.update({k: np.array(v, dtype=float) for k, v in sc.unit_params.items()})
    x0 = model.initial_state(pu) if nu else np.zeros((0, S))

    def params_at(rows):
        """Parameters (and the initial state) in force at the SS record of inputs ``rows``."""
        u = sc.inp_unit[rows]
        ps = {k: v[u] for k, v in pu.items()}
        if not varying:
            return ps, x0[u]
        q_t, q_k = sc.inp_from_time[rows], sc.inp_from_key[rows]
        last = grouped_searchsorted(sc.chg_unit, sc.chg_time, sc.chg_key, u, q_t, q_k, side="right") - 1
        hit = last >= 0
        hit[hit] = sc.chg_unit[last[hit]] == u[hit]
        for k, v in sc.chg_values.items():
            ps[k] = np.where(hit, v[np.maximum(last, 0)] if len(v) else 0.0, ps[k])
        return ps, model.initial_state(ps)

    parts: list[dict] = []  # breakpoint columns
    vectors: list[np.ndarray] = []

    def add(unit, time, key, kind, cmt=None, value=None, ref=None):
        m = len(unit)
        if m:
            parts.append(
                dict(
                    unit=unit,
                    time=np.asarray(time, float),
                    key=np.broadcast_to(np.asarray(key, float), (m,)).copy(),
                    kind=np.full(m, kind, np.int64),
                    cmt=np.zeros(m, np.int64) if cmt is None else cmt,
                    value=np.zeros(m) if value is None else value,
                    ref=np.full(m, -1, np.int64) if ref is None else ref,
                )
            )

    until_t, until_k = sc.inp_until_time, sc.inp_until_key

    def before_until(time, key, i):
        return (time < until_t[i]) | ((time == until_t[i]) & (key < until_k[i]))

    def switch_off(i, end_time):
        """Rate-off time of infusion rows ``i`` ending at ``end_time``, cut at their reset."""
        cut = until_t[i] < end_time
        return np.where(cut, until_t[i], end_time), np.where(cut, until_k[i], np.inf)

    # ---- single doses
    single = (sc.inp_period == 0) & np.isfinite(sc.inp_time)
    i = np.nonzero(single & (sc.inp_duration == 0))[0]
    i = i[before_until(sc.inp_time[i], sc.inp_key[i], i)]
    add(sc.inp_unit[i], sc.inp_time[i], sc.inp_key[i], Kind.BOLUS, sc.inp_cmt[i], sc.inp_amount[i])
    i = np.nonzero(single & (sc.inp_duration > 0))[0]
    i = i[before_until(sc.inp_time[i], sc.inp_key[i], i)]
    add(sc.inp_unit[i], sc.inp_time[i], sc.inp_key[i], Kind.RATE, sc.inp_cmt[i], sc.inp_rate[i])
    off_t, off_k = switch_off(i, sc.inp_time[i] + sc.inp_duration[i])
    add(sc.inp_unit[i], off_t, off_k, Kind.RATE, sc.inp_cmt[i], -sc.inp_rate[i])

    # ---- steady-state constant infusions (II=0)
    i = np.nonzero(~np.isfinite(sc.inp_time))[0]
    if i.size:
        ps, x0s = params_at(i)
        X = _steady_infusion(model, ps, sc.inp_cmt[i], sc.inp_rate[i], rtol, atol)
        add(sc.inp_unit[i], sc.inp_from_time[i], sc.inp_from_key[i], Kind.ADDVEC,
            ref=np.arange(len(vectors), len(vectors) + i.size))
        vectors.append(X - x0s)
        add(sc.inp_unit[i], sc.inp_from_time[i], sc.inp_from_key[i], Kind.RATE, sc.inp_cmt[i], sc.inp_rate[i])
        fin = np.isfinite(until_t[i])
        add(sc.inp_unit[i][fin], until_t[i][fin], until_k[i][fin], Kind.RATE, sc.inp_cmt[i][fin], -sc.inp_rate[i][fin])

    # ---- steady-state trains (SS=1/2 with II>0)
    i = np.nonzero(sc.inp_period > 0)[0]
    if i.size:
        ps, x0s = params_at(i)
        _add_trains(model, ps, x0s, sc, i, vectors, add, switch_off, before_until, rtol, atol)

    # ---- resets
    add(sc.reset_unit, sc.reset_time, sc.reset_key, Kind.RESET)

    # ---- time-varying parameters
    table = None
    if varying:
        table = sc.chg_values
        add(sc.chg_unit, sc.chg_time, sc.chg_key, Kind.PARAMS, ref=np.arange(len(sc.chg_unit)))

    # ---- outputs: snapshots at breakpoint times (and unit starts), dense output elsewhere
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
    s_idx = np.nonzero(snap)[0]
    add(sc.out_unit[s_idx], sc.out_time[s_idx], sc.out_key[s_idx], Kind.OBS, ref=np.arange(s_idx.size))

    # each unit is integrated up to its last output; breakpoints after it cannot change any output
    ou, ot = sc.out_unit, sc.out_time
    in_order = bool(np.all((ou[1:] > ou[:-1]) | ((ou[1:] == ou[:-1]) & (ot[1:] >= ot[:-1]))))
    t_end = sc.unit_start.astype(float).copy()
    if in_order:
        last = _last_per_group(ou)
        t_end[ou[last]] = np.maximum(t_end[ou[last]], ot[last])
    else:
        np.maximum.at(t_end, ou, ot)
    cols = {k: np.concatenate([q[k] for q in parts]) if parts else np.zeros(0) for k in
            ("unit", "time", "key", "kind", "cmt", "value", "ref")}
    for k in ("unit", "kind", "cmt", "ref"):
        cols[k] = cols[k].astype(np.int64)
    keep = cols["time"] <= t_end[cols["unit"]]
    bps = Breakpoints.build(nu, **{k: v[keep] for k, v in cols.items()}, table=table)
    vec = np.concatenate(vectors) if vectors else np.zeros((0, S))

    # Dense output wants its outputs in (unit, time) order. When they already are and every unit
    # integrates past its start, evaluate it at every output (no gathering) and overwrite the snapshots.
    if in_order and np.all(t_end > sc.unit_start):
        d_idx = None
        du, dt = ou, ot
    else:
        d_idx = np.nonzero(~snap)[0]
        d_idx = d_idx[np.lexsort((ot[d_idx], ou[d_idx]))]
        du, dt = ou[d_idx], ot[d_idx]
    if solver == "dp5":
        integrate, extra = _explicit.integrate, {"dense_states": needed, "method": solver}
    else:
        from ._implicit import integrate_implicit

        integrate, extra = integrate_implicit, {"method": _SCIPY_METHOD[solver]}
    _, snapshots, dense = integrate(
        model, pu, sc.unit_start.astype(float), x0.copy(), np.zeros((nu, S)), bps, t_end, vec, s_idx.size,
        du, dt, rtol=rtol, atol=atol, **extra,
    )
    if d_idx is None:
        out = dense
    else:
        out = np.empty((len(ou), S))
        out[d_idx] = dense
    out[s_idx] = snapshots
    return out


def _last_per_group(group_sorted):
    """Index of the last element of each run of equal values."""
    if not len(group_sorted):
        return np.zeros(0, np.int64)
    return np.append(np.nonzero(group_sorted[1:] != group_sorted[:-1])[0], len(group_sorted) - 1)


# ------------------------------------------------------------------------------------------------
# steady state


def _newton_fixed_point(residual, x, scale, what, rtol, max_iter=30):
    """Solve ``residual(x) = 0`` per row by Newton with a forward-difference Jacobian.

    ``residual`` maps (m*(S+1), S) stacked trial points to residuals; rows are
    [x, x + e_1 d_1, ..., x + e_S d_S] for each of the m problems.
    """
    m, S = x.shape
    for _ in range(max_iter):
        d = 1e-6 * np.maximum(np.abs(x), scale)  # per-component perturbation
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
        if np.all(np.abs(step) <= rtol * 1e-2 * (np.abs(x) + scale)):
            return x
    raise SimulationError(f"{what}: Newton iteration did not converge; the system may have no steady state")


def _steady_infusion(model, ps, cmt, rate, rtol, atol):
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


def _add_trains(model, ps, x0s, sc, i, vectors, add, switch_off, before_until, rtol, atol):
    """Breakpoints for SS trains: periodic state at the SS record, running and in-flight copies after it.

    ``ps`` and ``x0s`` are the parameters and the initial state in force at each train's SS record."""
    unit, cmt, per = sc.inp_unit[i], sc.inp_cmt[i], sc.inp_period[i]
    amount, R, D = sc.inp_amount[i], sc.inp_rate[i], sc.inp_duration[i]
    T, Tk = sc.inp_from_time[i], sc.inp_from_key[i]
    arrival = sc.inp_time[i] + per  # the SS record's own dose
    lag = arrival - T
    phi = np.mod(lag, per)
    phi = np.where(np.isclose(phi, per, rtol=1e-12, atol=0), 0.0, phi)
    infusion = D > 0

    # periodic state at T: fixed point of the map over the window [T - II, T)
    X = _periodic_state(model, ps, cmt, per, phi, amount, R, D, infusion, rtol, atol)
    add(unit, T, Tk, Kind.ADDVEC, ref=np.arange(sum(len(v) for v in vectors), sum(len(v) for v in vectors) + i.size))
    vectors.append(X - x0s)

    # infusion copies started before T and still running at T: rate on at T, off at each end
    if infusion.any():
        f = np.nonzero(infusion)[0]
        max_running = int(np.max(np.ceil(D[f] / per[f]))) + 1
        for back in range(max_running):  # copy started at T - II + phi - back*II
            end = T[f] - per[f] + phi[f] - back * per[f] + D[f]
            run = end > T[f]
            g = f[run]
            if not g.size:
                continue
            add(unit[g], T[g], Tk[g], Kind.RATE, cmt[g], R[g])
            off_t, off_k = switch_off(i[g], end[run])
            add(unit[g], off_t, off_k, Kind.RATE, cmt[g], -R[g])

    # copies already given before T but arriving at or after T (lag >= II)
    n_flight = np.floor(lag / per + 1e-12).astype(np.int64)
    for k in range(int(n_flight.max(initial=0))):
        g = np.nonzero(n_flight > k)[0]
        arr = T[g] + phi[g] + k * per[g]
        key = np.full(g.size, np.inf)  # implied: after the records at that time
        ok = before_until(arr, key, i[g])
        g, arr, key = g[ok], arr[ok], key[ok]
        bol = D[g] == 0
        add(unit[g][bol], arr[bol], key[bol], Kind.BOLUS, cmt[g][bol], amount[g][bol])
        h = ~bol
        add(unit[g][h], arr[h], key[h], Kind.RATE, cmt[g][h], R[g][h])
        off_t, off_k = switch_off(i[g][h], arr[h] + D[g][h])
        add(unit[g][h], off_t, off_k, Kind.RATE, cmt[g][h], -R[g][h])


def _periodic_state(model, ps, cmt, per, phi, amount, R, D, infusion, rtol, atol):
    """State at the end of a dosing interval in periodic steady state, per train (Newton on the interval map);
    ``ps`` holds the parameters of each train."""
    m, S = len(cmt), len(model.states)
    # copies running at the window start (started before it, ending at or after it)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_hi = np.ceil(-phi / per) - 1
        m_lo = np.ceil(-(phi + D) / per)
    n0 = np.where(infusion, np.maximum(0, m_hi - m_lo + 1), 0)
    end_phase = np.mod(phi + D, per)

    def interval_map(z):
        reps = len(z) // m
        u = np.repeat(np.arange(m), reps)  # problem index of each trial row
        n = len(z)
        sub = {k: v[u] for k, v in ps.items()}
        rate0 = np.zeros((n, S))
        rate0[np.arange(n), cmt[u]] = n0[u] * R[u]
        b_unit, b_time, b_kind, b_cmt, b_val = [], [], [], [], []
        rows = np.arange(n)
        bol = ~infusion[u]
        b_unit += [rows[bol]]; b_time += [phi[u][bol]]; b_kind += [np.full(bol.sum(), Kind.BOLUS)]
        b_cmt += [cmt[u][bol]]; b_val += [amount[u][bol]]
        inf = infusion[u]
        b_unit += [rows[inf], rows[inf]]
        b_time += [phi[u][inf], end_phase[u][inf]]
        b_kind += [np.full(inf.sum(), Kind.RATE)] * 2
        b_cmt += [cmt[u][inf]] * 2
        b_val += [R[u][inf], -R[u][inf]]
        bps = Breakpoints.build(
            n,
            np.concatenate(b_unit).astype(np.int64),
            np.concatenate(b_time),
            np.zeros(sum(len(a) for a in b_unit)),
            np.concatenate(b_kind).astype(np.int64),
            np.concatenate(b_cmt).astype(np.int64),
            np.concatenate(b_val),
        )
        y_end, _, _ = _explicit.integrate(
            model, sub, np.zeros(n), z, rate0, bps, per[u].astype(float), np.zeros((0, S)), 0,
            rtol=rtol * 1e-2, atol=atol * 1e-2,
        )
        return y_end - z

    scale = np.maximum(np.where(infusion, R * per, amount), 1e-300)[:, None] * np.ones((1, S))
    x = model.initial_state(ps).astype(float)
    return _newton_fixed_point(interval_map, x, scale, "steady state over a dosing interval (SS=1/2)", rtol)
