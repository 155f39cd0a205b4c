"""The compiled integrator: the first part of every generated kernel module (:mod:`pkpd.engine._compiled`).

A kernel module is this file's source followed by a model's ``rhs`` (:mod:`pkpd.engine._codegen`),
written to the kernel cache and imported; numba compiles it on first use and caches the machine code beside it
(``cache=True``), so a later process loads it without compiling. The stub below is replaced by the model's
function, which comes later in the module. Initial states (for resets) come computed, per unit and per parameter
change.

The algorithm is :mod:`pkpd.engine._explicit`'s, per unit instead of per batch: Dormand & Prince 5(4) (1980,
J. Comput. Appl. Math. 6:19) with Shampine's (1986) dense output, the initial step of Hairer, Nørsett & Wanner
(1993, II.4), each unit landing exactly on its own breakpoints (resets, boluses, rate changes, steady-state
vectors, snapshots, parameter changes) -- the same steps, the same results to rounding. The functions release
the GIL (``nogil``): :mod:`pkpd.engine._compiled` runs ranges of units on threads, each writing only its rows.
"""

import math

import numpy as np
from numba import njit

RESET, BOLUS, RATE, ADDVEC, OBS, PARAMS = 0, 1, 2, 3, 4, 5       # pkpd.engine._explicit.Kind
OK, TOO_MANY_STEPS, UNDERFLOW, OUTSIDE = 0, 1, 2, 3             # status of a unit

C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0])
A = np.array([
    [0, 0, 0, 0, 0, 0],
    [1 / 5, 0, 0, 0, 0, 0],
    [3 / 40, 9 / 40, 0, 0, 0, 0],
    [44 / 45, -56 / 15, 32 / 9, 0, 0, 0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0],
])
B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])
E = np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40])
P = np.array([
    [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0, 0, 0, 0],
    [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
])


def rhs(t, y, p, rate, dy):  # replaced by the model's
    raise NotImplementedError


@njit(cache=True, nogil=True, error_model="numpy")
def _initial_step(t, y, f, p, rate, span, rtol, atol, y1, f1):
    S = y.shape[0]
    d0 = d1 = 0.0
    for i in range(S):
        sc = atol + abs(y[i]) * rtol
        d0 += (y[i] / sc) ** 2
        d1 += (f[i] / sc) ** 2
    d0, d1 = math.sqrt(d0 / S), math.sqrt(d1 / S)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, max(span, 1e-12))
    for i in range(S):
        y1[i] = y[i] + h0 * f[i]
    rhs(t + h0, y1, p, rate, f1)
    d2 = 0.0
    for i in range(S):
        d2 += ((f1[i] - f[i]) / (atol + abs(y[i]) * rtol)) ** 2
    d2 = math.sqrt(d2 / S) / h0
    big = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if big <= 1e-15 else (0.01 / big) ** 0.2
    return min(100 * h0, h1)


@njit(cache=True, nogil=True, error_model="numpy")
def _apply(t, ptr, stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask, table_x0,
           y, rate, p, x0, snapshots):
    """Apply, in order, the unit's breakpoints at time ``t``; the position of its next one."""
    while ptr < stop and bp_time[ptr] == t:
        kind = bp_kind[ptr]
        if kind == RESET:
            y[:] = x0
        elif kind == BOLUS:
            y[bp_cmt[ptr]] += bp_value[ptr]
        elif kind == RATE:
            rate[bp_cmt[ptr]] += bp_value[ptr]
        elif kind == ADDVEC:
            y += vectors[bp_ref[ptr]]
        elif kind == OBS:
            snapshots[bp_ref[ptr]] = y
        elif kind == PARAMS:
            row = bp_ref[ptr]
            for j in range(p.shape[0]):
                if table_mask[j]:
                    p[j] = table[row, j]
            x0[:] = table_x0[row]     # a later reset returns to the initial state under the parameters then in force
        ptr += 1
    return ptr


@njit(cache=True, nogil=True, error_model="numpy")
def _unit(u, t_start, y_start, rate_start, params, x0_start, bp_start, bp_stop, bp_time, bp_kind, bp_cmt, bp_value,
          bp_ref, vectors, table, table_mask, table_x0, t_end, dense_start, dense_stop, dense_time, rtol, atol,
          max_steps, y_end, snapshots, dense):
    """Integrate unit ``u`` through its breakpoints; its status and the time it reached."""
    S = y_start.shape[1]
    t = t_start[u]
    y, rate, p = y_start[u].copy(), rate_start[u].copy(), params[u].copy()
    x0 = x0_start[u].copy()
    K, Q = np.empty((7, S)), np.empty((4, S))
    f, f_new, y_new, stage = np.empty(S), np.empty(S), np.empty(S), np.empty(S)
    ptr, stop = bp_start[u], bp_stop[u]
    d, d_stop = dense_start[u], dense_stop[u]
    ptr = _apply(t, ptr, stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask,
                 table_x0, y, rate, p, x0, snapshots)
    target = bp_time[ptr] if ptr < stop else max(t_end[u], t)
    rhs(t, y, p, rate, f)
    h = _initial_step(t, y, f, p, rate, target - t, rtol, atol, stage, f_new) if target > t else 0.0
    steps = 0
    while target > t:
        remaining = target - t
        land = h >= remaining * (1 - 1e-12)
        hs = remaining if land else h
        for i in range(S):
            K[0, i] = f[i] * hs
        for st in range(1, 6):
            for i in range(S):
                acc = y[i]
                for j in range(st):
                    acc += A[st, j] * K[j, i]
                stage[i] = acc
            rhs(t + C[st] * hs, stage, p, rate, f_new)
            for i in range(S):
                K[st, i] = f_new[i] * hs
        for i in range(S):
            acc = y[i]
            for j in range(6):
                acc += B[j] * K[j, i]
            y_new[i] = acc
        t_new = target if land else t + hs
        rhs(t_new, y_new, p, rate, f_new)
        norm = 0.0
        for i in range(S):
            K[6, i] = f_new[i] * hs
            err = 0.0
            for j in range(7):
                err += E[j] * K[j, i]
            norm += (err / (atol + rtol * max(abs(y[i]), abs(y_new[i])))) ** 2
        norm = math.sqrt(norm / S)
        if not math.isfinite(norm):
            norm = math.inf
        factor = min(max(0.9 * max(norm, 1e-10) ** -0.2, 0.2), 10.0)
        if norm <= 1.0:
            if d < d_stop and dense_time[d] <= t_new:         # outputs inside the step, from its polynomial
                for i in range(S):
                    for r in range(4):
                        acc = 0.0
                        for j in range(7):
                            acc += P[j, r] * K[j, i]
                        Q[r, i] = acc
                while d < d_stop and dense_time[d] <= t_new:
                    theta = (dense_time[d] - t) / hs
                    for i in range(S):
                        dense[d, i] = y[i] + theta * (Q[0, i] + theta * (Q[1, i] + theta * (Q[2, i] + theta * Q[3, i])))
                    d += 1
            t = t_new
            y[:] = y_new
            f[:] = f_new
        elif hs <= 1e-14 * max(1.0, abs(t)):
            return UNDERFLOW, t
        h = hs * factor
        steps += 1
        if steps > max_steps:
            return TOO_MANY_STEPS, t
        if norm <= 1.0 and land:
            ptr = _apply(t, ptr, stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask,
                         table_x0, y, rate, p, x0, snapshots)
            target = bp_time[ptr] if ptr < stop else max(t_end[u], t)
            if target > t:
                rhs(t, y, p, rate, f)
                h = _initial_step(t, y, f, p, rate, target - t, rtol, atol, stage, f_new)
    y_end[u] = y
    return (OUTSIDE if d < d_stop else OK), t


@njit(cache=True, nogil=True, error_model="numpy")
def integrate_units(first, last, t_start, y_start, rate_start, params, x0_start, bp_start, bp_stop, bp_time, bp_kind,
                    bp_cmt, bp_value, bp_ref, vectors, table, table_mask, table_x0, t_end, dense_start, dense_stop,
                    dense_time, rtol, atol, max_steps, y_end, snapshots, dense, status, reached):
    """Integrate units ``first`` to ``last - 1`` into the output arrays (their rows only; the GIL is released,
    so threads can run disjoint ranges at once)."""
    for u in range(first, last):
        status[u], reached[u] = _unit(u, t_start, y_start, rate_start, params, x0_start, bp_start, bp_stop, bp_time,
                                      bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask, table_x0, t_end,
                                      dense_start, dense_stop, dense_time, rtol, atol, max_steps, y_end, snapshots,
                                      dense)
