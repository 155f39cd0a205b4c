"""The compiled integrator, one for every model: a model's functions come in as function pointers.

:mod:`pkpd.engine._compiled` writes a model's ``derive``, ``rhs`` and ``jac`` (:mod:`pkpd.engine._codegen`) to a
small module of their own, compiled with the signatures ``DERIVE``, ``RHS`` and ``JAC`` below, and passes them to
:func:`integrator`'s function. numba types them as ``FunctionType`` (a C function pointer), so that function is
compiled once per method for all models (about 7 s the first time, then loaded from numba's cache) and a new model
compiles only its own few lines (under a second). Calling through the pointer costs a few nanoseconds a call. What
depends on the parameters alone is derived once per parameter set (``derive``), not at every call of ``rhs``.
Initial states (for resets) come computed, per unit and per parameter change.

The explicit method is :mod:`pkpd.engine._explicit`'s, per unit instead of per batch: Dormand & Prince 5(4)
(1980, J. Comput. Appl. Math. 6:19) with Shampine's (1986) dense output, the initial step of Hairer, Nørsett &
Wanner (1993, II.4), each unit landing exactly on its own breakpoints (resets, boluses, rate changes,
steady-state vectors, snapshots, parameter changes) -- the same steps, the same results to rounding. For tight
tolerances (estimation) the driver takes DOP853 steps instead (Hairer, Nørsett & Wanner 1993, II.10: order 8),
landing on its outputs as well. For stiff
models the same driver takes Rodas5P steps (Steinebach 2023, BIT Numer. Math. 63:27; A-stable and stiffly
accurate, order 5(4), with a fourth-order dense output) with the model's symbolic Jacobian
(:func:`pkpd.engine._trace.trace`) evaluated at every accepted point (forward differences where it is not finite),
and ``W`` factorised by the model's own straight-line LU over the Jacobian's pattern (:mod:`pkpd.engine._sparse_lu`;
densely, with partial pivoting, where rows must be exchanged). The functions release
the GIL (``nogil``): :mod:`pkpd.engine._compiled` runs ranges of units on threads, each writing only its rows.
"""

import functools
import math

import numpy as np
from numba import njit, types

from pkpd.engine._explicit import _DP5, Kind

RESET, BOLUS, RATE, ADDVEC, OBS, PARAMS = (int(k) for k in Kind)    # what a breakpoint does
OK, TOO_MANY_STEPS, UNDERFLOW, OUTSIDE = 0, 1, 2, 3             # status of a unit

# Dormand-Prince 5(4): the numpy engine's tableau (one definition), as contiguous arrays numba freezes as constants
# into the cached machine code (numba recompiles when this file changes, not _explicit.py: the coefficients are
# the published method's; tests/unit/test_compiled_engine.py checks the kernel takes the numpy engine's steps)
C, A, B, E = (np.ascontiguousarray(x) for x in (_DP5.C, _DP5.A, _DP5.B, _DP5.E))
P = np.ascontiguousarray(_DP5.P_T.T)          # dense output: (stage, power)

# DOP853 (Hairer, Norsett & Wanner 1993, II.10; order 8, its error estimated from embedded orders 5 and 3): scipy's
# tableau (scipy.integrate.DOP853 takes the same steps). At the tolerances of estimation (rtol 1e-8 to 1e-9) it takes
# about a fifth of Dormand-Prince 5(4)'s steps. Its outputs are steps' ends, not interpolated (see _unit).


def _scipy_dop853():
    """scipy's DOP853 tableau, ``scipy/integrate/_ivp/dop853_coefficients.py`` (numpy arrays alone), read without
    importing ``scipy.integrate``: that costs 0.2-0.4 s, and every process's first compiled simulation imports this
    module. Where scipy keeps the file elsewhere, imported as usual."""
    import importlib.util
    from pathlib import Path

    import scipy

    path = Path(scipy.__file__).parent / "integrate" / "_ivp" / "dop853_coefficients.py"
    if not path.is_file():
        from scipy.integrate._ivp import dop853_coefficients

        return dop853_coefficients
    spec = importlib.util.spec_from_file_location("_pkpd_dop853_coefficients", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_DOP853 = _scipy_dop853()
C8, A8, B8 = (np.ascontiguousarray(x, dtype=np.float64) for x in (_DOP853.C, _DOP853.A, _DOP853.B))
E3, E5 = (np.ascontiguousarray(x, dtype=np.float64) for x in (_DOP853.E3, _DOP853.E5))
STAGES8 = _DOP853.N_STAGES

# Rodas5P (Steinebach 2023, BIT Numer. Math. 63:27; the coefficients of OrdinaryDiffEq.jl's Rodas5P tableau): 8
# stages, order 5 with an embedded order-4 error estimate, stiffly accurate, with a fourth-order dense output; with
# W = I / (GAMMA h) - J,
#   W k_i = f(t + RC_i h, y + sum_j RA_ij k_j) + RD_i h df/dt + sum_j RCC_ij k_j / h,
#   y_new = y + sum_j RA_8j k_j + k_8 (stage 8's input is y_new minus k_8; k_8 is the error estimate), and
#   y(t + s h) = y (1 - s) + s (y_new + (1 - s) (RH_0 . k + s (RH_1 . k + s RH_2 . k))).
# It replaced Rodas4 (Hairer & Wanner 1996, IV.7; order 4(3)): on the composed model of benchmarks/bench_mechanisms.py
# at rtol 1e-6 it takes 932 steps a subject instead of 2305, in about half the time, with half the error.
GAMMA = 0.21193756319429014
_A6 = [-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256, 0.030198172008377946]
RC = np.array([0.0, 0.6358126895828704, 0.4095798393397535, 0.9769306725060716, 0.4288403609558664, 1.0, 1.0, 1.0])
RD = np.array([0.21193756319429014, -0.42387512638858027, -0.3384627126235924, 1.8046452872882734,
               2.325825639765069, 0.0, 0.0, 0.0])
RA = np.array([
    [0, 0, 0, 0, 0, 0, 0],
    [3.0, 0, 0, 0, 0, 0, 0],
    [2.849394379747939, 0.45842242204463923, 0, 0, 0, 0, 0],
    [-6.954028509809101, 2.489845061869568, -10.358996098473584, 0, 0, 0, 0],
    [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641, 0, 0, 0],
    _A6 + [0, 0],
    _A6 + [1.0, 0],
    _A6 + [1.0, 1.0],
])
RCC = np.array([
    [0, 0, 0, 0, 0, 0, 0],
    [-14.155112264123755, 0, 0, 0, 0, 0, 0],
    [-17.97296035885952, -2.859693295451294, 0, 0, 0, 0, 0],
    [147.12150275711716, -1.41221402718213, 71.68940251302358, 0, 0, 0, 0],
    [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306, 0, 0, 0],
    [24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125, -0.6610691825249471, 0, 0],
    [30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783, -19.097331116725623,
     -28.087943162872662, 0],
    [37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047, -40.06618937091002,
     -54.66780262877968, -9.48861652309627],
])
RH = np.array([
    [25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204, 0.524948541321073,
     1.1241088310450404, 0.4272876194431874, -0.17202221070155493],
    [-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796, 20.176138334709044,
     15.98066361424651, -6.789040303419874, -6.710236069923372],
    [11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643, -52.072871366152654,
     -59.78993625266729, -0.15582684282751913, 4.883087185713722],
])
STAGES = 8


#: the types of a model's compiled functions (:mod:`pkpd.engine._codegen` declares them with these signatures);
#: the integrator receives them as function pointers, so it is compiled once for every model
VECTOR, MATRIX = types.float64[::1], types.float64[:, ::1]
DERIVE = types.void(VECTOR)                                                # derive(p): p[P:] from p[:P]
RHS = types.void(types.float64, VECTOR, VECTOR, VECTOR, VECTOR)            # rhs(t, y, p, rate, dy)
JAC = types.void(types.float64, VECTOR, VECTOR, VECTOR, MATRIX, VECTOR)    # jac(t, y, p, rate, J, dfdt)
FACTOR = types.boolean(MATRIX)                                            # factor(W): LU over J's pattern
SOLVE = types.void(MATRIX, VECTOR)                                        # solve(W, b): b = W^-1 b


@njit(cache=True, nogil=True, error_model="numpy")
def _initial_step(rhs, t, y, f, p, rate, span, rtol, atol, y1, f1, power):
    """Hairer, Norsett & Wanner's first step for a method whose error estimate has order ``1 / power - 1``."""
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
    h1 = max(1e-6, h0 * 1e-3) if big <= 1e-15 else (0.01 / big) ** power
    return min(100 * h0, h1)


@njit(cache=True, nogil=True, error_model="numpy")
def _copy(into, values):
    """``into[:] = values`` (vectors of one length) as a loop: an array assignment compiles numba's shape check and
    its formatted error message, seconds of every cold compile of the integrators."""
    for i in range(values.shape[0]):
        into[i] = values[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _add(into, values):
    """``into += values`` (vectors of one length) as a loop (:func:`_copy`)."""
    for i in range(values.shape[0]):
        into[i] += values[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _apply(derive, t, ptr, stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask, table_x0,
           y, rate, p, x0, snapshots):
    """Apply, in order, the unit's breakpoints at time ``t``; the position of its next one. A parameter change
    derives the parameter-only values again (``p[P:]``, :func:`pkpd.engine._codegen.kernel_source`)."""
    while ptr < stop and bp_time[ptr] == t:
        kind = bp_kind[ptr]
        if kind == RESET:
            _copy(y, x0)
        elif kind == BOLUS:
            y[bp_cmt[ptr]] += bp_value[ptr]
        elif kind == RATE:
            rate[bp_cmt[ptr]] += bp_value[ptr]
        elif kind == ADDVEC:
            _add(y, vectors[bp_ref[ptr]])
        elif kind == OBS:
            _copy(snapshots[bp_ref[ptr]], y)
        elif kind == PARAMS:
            row = bp_ref[ptr]
            for j in range(table_mask.shape[0]):
                if table_mask[j]:
                    p[j] = table[row, j]
            derive(p)
            _copy(x0, table_x0[row])  # a later reset returns to the initial state under the parameters then in force
        ptr += 1
    return ptr


@njit(cache=True, nogil=True, error_model="numpy")
def _dp5_step(rhs, t, y, f, hs, p, rate, K, stage, y_new, f_new, rtol, atol):
    """One Dormand-Prince step from ``(t, y)`` (``f`` its derivative) of size ``hs``: ``y_new``, ``f_new`` (at its
    end) and the stages ``K`` (for :func:`_dp5_dense`); returns the scaled error norm."""
    S = y.shape[0]
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
    rhs(t + hs, y_new, p, rate, f_new)
    norm = 0.0
    for i in range(S):
        K[6, i] = f_new[i] * hs
        err = 0.0
        for j in range(7):
            err += E[j] * K[j, i]
        norm += (err / (atol + rtol * max(abs(y[i]), abs(y_new[i])))) ** 2
    return math.sqrt(norm / S)


@njit(cache=True, nogil=True, error_model="numpy")
def _dp5_dense(K, Q):
    """The dense-output coefficients ``Q`` of a Dormand-Prince step from its stages: ``y(t + s h) = y + s (Q0 + s
    (Q1 + s (Q2 + s Q3)))``. Computed only for a step with outputs inside it (most steps have none)."""
    for i in range(K.shape[1]):
        for r in range(4):
            acc = 0.0
            for j in range(7):
                acc += P[j, r] * K[j, i]
            Q[r, i] = acc


@njit(cache=True, nogil=True, error_model="numpy")
def _dop853_step(rhs, t, y, f, hs, p, rate, K, stage, y_new, f_new, rtol, atol):
    """One DOP853 step, as :func:`_dp5_step` (``K`` rows 0-12: the stages and the derivative at the end, times
    ``hs``). The error norm is Hairer's: the fifth-order estimate, damped where it exceeds the third-order one.
    (Its stage loops repeat :func:`_dp5_step`'s on purpose: one helper taking the tableau as arguments made
    Dormand-Prince's steps about 25 % slower, and one made per tableau as a closure (constant tableau, cached apart,
    even inlined) 25-100 % slower: numba specialises the loops only over module constants.)"""
    S = y.shape[0]
    for i in range(S):
        K[0, i] = f[i] * hs
    for st in range(1, STAGES8):
        for i in range(S):
            acc = y[i]
            for j in range(st):
                acc += A8[st, j] * K[j, i]
            stage[i] = acc
        rhs(t + C8[st] * hs, stage, p, rate, f_new)
        for i in range(S):
            K[st, i] = f_new[i] * hs
    for i in range(S):
        acc = y[i]
        for j in range(STAGES8):
            acc += B8[j] * K[j, i]
        y_new[i] = acc
    rhs(t + hs, y_new, p, rate, f_new)
    norm5 = norm3 = 0.0
    for i in range(S):
        K[STAGES8, i] = f_new[i] * hs
        err5 = err3 = 0.0
        for j in range(STAGES8 + 1):
            err5 += E5[j] * K[j, i]
            err3 += E3[j] * K[j, i]
        scale = atol + rtol * max(abs(y[i]), abs(y_new[i]))
        norm5 += (err5 / scale) ** 2
        norm3 += (err3 / scale) ** 2
    if norm5 == 0.0 and norm3 == 0.0:
        return 0.0
    return norm5 / math.sqrt((norm5 + 0.01 * norm3) * S)


@njit(cache=True, nogil=True, error_model="numpy")
def _jacobian(rhs, jac, t, y, f, p, rate, J, dfdt, work, f1):
    """``J = df/dy`` and ``df/dt`` at ``(t, y)`` (``f`` its derivative): the model's symbolic Jacobian (True), or
    forward differences where that is not finite (a derivative singular where the function is not, e.g. sqrt at
    0; False: its nonzeros may lie outside the symbolic pattern)."""
    jac(t, y, p, rate, J, dfdt)
    S = y.shape[0]
    finite = True
    for i in range(S):              # a loop: np.isfinite would allocate at every step
        finite &= math.isfinite(dfdt[i])
        for j in range(S):
            finite &= math.isfinite(J[i, j])
    if finite:
        return True
    for j in range(S):
        delta = math.sqrt(2.2e-16 * max(1e-5, abs(y[j])))
        _copy(work, y)
        work[j] += delta
        rhs(t, work, p, rate, f1)
        for i in range(S):
            J[i, j] = (f1[i] - f[i]) / delta
    delta = math.sqrt(2.2e-16 * max(1e-5, abs(t)))
    rhs(t + delta, y, p, rate, f1)
    for i in range(S):
        dfdt[i] = (f1[i] - f[i]) / delta
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def _lu(M, piv):
    """LU factorisation of ``M`` in place, with partial pivoting (``piv[k]``: the row exchanged with row ``k``);
    the diagonal holds ``1 / U_kk``, so that :func:`_solve` multiplies. False if ``M`` is singular."""
    S = M.shape[0]
    for k in range(S):
        best, row = abs(M[k, k]), k
        for i in range(k + 1, S):
            if abs(M[i, k]) > best:
                best, row = abs(M[i, k]), i
        if best == 0.0 or not math.isfinite(best):
            return False
        piv[k] = row
        if row != k:
            for j in range(S):
                M[k, j], M[row, j] = M[row, j], M[k, j]
        inverse = 1.0 / M[k, k]
        M[k, k] = inverse
        for i in range(k + 1, S):
            factor = M[i, k] * inverse
            M[i, k] = factor
            if factor != 0.0:           # a model's Jacobian is sparse: most rows need no elimination
                for j in range(k + 1, S):
                    M[i, j] -= factor * M[k, j]
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _solve(M, piv, b):
    """Solve ``M x = b`` in place in ``b`` with the factors of :func:`_lu`, column by column: the updates of a
    column are independent (they pipeline), and a zero skips its column."""
    S = M.shape[0]
    for k in range(S):
        b[k], b[piv[k]] = b[piv[k]], b[k]
    for j in range(S):
        x = b[j]
        if x != 0.0:
            for i in range(j + 1, S):
                b[i] -= M[i, j] * x
    for j in range(S - 1, -1, -1):
        x = b[j] * M[j, j]
        b[j] = x
        if x != 0.0:
            for i in range(j):
                b[i] -= M[i, j] * x


@njit(cache=True, nogil=True, error_model="numpy")
def _w_matrix(J, diagonal, W):
    """``W = diagonal I - J`` in place."""
    S = J.shape[0]
    for i in range(S):
        for j in range(S):
            W[i, j] = -J[i, j]
        W[i, i] += diagonal


@njit(cache=True, nogil=True, error_model="numpy")
def _rodas_step(rhs, lu_factor, lu_solve, symbolic, t, y, f, hs, p, rate, J, dfdt, W, piv, K, stage, y_new, f_new, rtol,
                atol):
    """One Rodas5P step from ``(t, y)`` of size ``hs`` with the Jacobian ``J`` and ``df/dt`` at that point: as
    :func:`_dp5_step` (``f_new`` is not computed); an infinite norm when ``W`` is singular. ``W`` is factorised over
    the Jacobian's pattern by the model's ``lu_factor`` and ``lu_solve`` when ``J`` is ``symbolic`` and no row
    exchange is needed, else densely with partial pivoting (the same factors either way when no rows are
    exchanged)."""
    S = y.shape[0]
    diagonal, inverse_h = 1.0 / (GAMMA * hs), 1.0 / hs      # (divisions hoisted: they cost as much as the rest)
    _w_matrix(J, diagonal, W)
    sparse = symbolic and lu_factor(W)
    if not sparse:
        _w_matrix(J, diagonal, W)   # (lu_factor may have begun)
        if not _lu(W, piv):
            return math.inf
    for st in range(STAGES):
        for i in range(S):
            acc = y[i]
            for j in range(st):
                acc += RA[st, j] * K[j, i]
            stage[i] = acc
        if st == 0:
            _copy(f_new, f)
        else:
            rhs(t + RC[st] * hs, stage, p, rate, f_new)
        for i in range(S):
            acc = 0.0
            for j in range(st):
                acc += RCC[st, j] * K[j, i]
            K[st, i] = f_new[i] + RD[st] * hs * dfdt[i] + acc * inverse_h
        if sparse:
            lu_solve(W, K[st])
        else:
            _solve(W, piv, K[st])
    last = STAGES - 1
    norm = 0.0
    for i in range(S):
        y_new[i] = stage[i] + K[last, i]
        norm += (K[last, i] / (atol + rtol * max(abs(y[i]), abs(y_new[i])))) ** 2
    return math.sqrt(norm / S)


@njit(cache=True, nogil=True, error_model="numpy")
def _rodas_dense(y, y_new, K, Q):
    """The dense-output coefficients ``Q`` of a Rodas5P step (as :func:`_dp5_dense`; its polynomial is quartic)."""
    for i in range(y.shape[0]):
        a = b = c = 0.0
        for j in range(STAGES):
            a += RH[0, j] * K[j, i]
            b += RH[1, j] * K[j, i]
            c += RH[2, j] * K[j, i]
        Q[0, i] = y_new[i] - y[i] + a            # y(t + s h) = y + s (Q0 + s (Q1 + s (Q2 + s Q3)))
        Q[1, i] = b - a
        Q[2, i] = c - b
        Q[3, i] = -c


@njit(cache=True, nogil=True, error_model="numpy")
def _unit(rhs, jac, lu_factor, lu_solve, derive, u, t_start, y_start, rate_start, params, x0_start, bp_start, bp_stop,
          bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask, table_x0, t_end, dense_start,
          dense_stop, dense_time, rtol, atol, max_steps, order8, y_end, snapshots, dense):
    """Integrate unit ``u`` through its breakpoints: Dormand-Prince steps when ``jac`` is None (DOP853's when
    ``order8``), else Rodas5P; its status and the time it reached. Each method is tested as ``jac is None``, a test
    numba decides while compiling (None has a type of its own), so that each method compiles without the other."""
    S = y_start.shape[1]
    t = t_start[u]
    y, rate, p = y_start[u].copy(), rate_start[u].copy(), params[u].copy()
    derive(p)
    x0 = x0_start[u].copy()
    K, Q = np.empty((max(7, STAGES, STAGES8 + 1), S)), np.empty((4, S))
    f, f_new, y_new, stage = np.empty(S), np.empty(S), np.empty(S), np.empty(S)
    J, W, dfdt, piv = np.empty((S, S)), np.empty((S, S)), np.empty(S), np.empty(S, np.int64)
    exponent, grow = (-0.2, 6.0) if jac is not None else ((-0.125, 10.0) if order8 else (-0.2, 10.0))
    ptr, stop = bp_start[u], bp_stop[u]
    d, d_stop = dense_start[u], dense_stop[u]
    ptr = _apply(derive, t, ptr, stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask,
                 table_x0, y, rate, p, x0, snapshots)
    target = bp_time[ptr] if ptr < stop else max(t_end[u], t)
    rhs(t, y, p, rate, f)
    h = _initial_step(rhs, t, y, f, p, rate, target - t, rtol, atol, stage, f_new, -exponent) if target > t else 0.0
    fresh = False                  # whether J and df/dt are those of the current point (stiff)
    symbolic = True                # whether J is the symbolic Jacobian (not forward differences)
    steps = 0
    # DOP853 lands on its outputs: its interpolant is not error-controlled, and inside the long steps of a decline
    # it is off by up to 2e-7 at rtol 1e-8 (scipy's too); the others interpolate
    lands = order8 and jac is None
    while target > t:
        if lands:
            while d < d_stop and dense_time[d] <= t:          # (outputs at the current time)
                _copy(dense[d], y)
                d += 1
        on_output = lands and d < d_stop and dense_time[d] < target
        stop_at = dense_time[d] if on_output else target
        remaining = stop_at - t
        land = h >= remaining * (1 - 1e-12)
        hs = remaining if land else h
        if jac is not None:
            if not fresh:
                symbolic = _jacobian(rhs, jac, t, y, f, p, rate, J, dfdt, stage, f_new)
                fresh = True
            norm = _rodas_step(rhs, lu_factor, lu_solve, symbolic, t, y, f, hs, p, rate, J, dfdt, W, piv, K, stage,
                               y_new, f_new, rtol, atol)
        else:
            if order8:
                norm = _dop853_step(rhs, t, y, f, hs, p, rate, K, stage, y_new, f_new, rtol, atol)
            else:
                norm = _dp5_step(rhs, t, y, f, hs, p, rate, K, stage, y_new, f_new, rtol, atol)
        if not math.isfinite(norm):
            norm = math.inf
        factor = min(max(0.9 * max(norm, 1e-10) ** exponent, 0.2), grow)
        t_new = stop_at if land else t + hs
        if norm <= 1.0:
            if d < d_stop and dense_time[d] <= t_new and not lands:   # outputs inside the step: its polynomial
                if jac is None:
                    _dp5_dense(K, Q)
                else:
                    _rodas_dense(y, y_new, K, Q)
            while d < d_stop and dense_time[d] <= t_new:
                if lands:
                    _copy(dense[d], y_new)
                else:
                    theta = (dense_time[d] - t) / hs
                    for i in range(S):
                        dense[d, i] = y[i] + theta * (Q[0, i] + theta * (Q[1, i] + theta * (Q[2, i] + theta * Q[3, i])))
                d += 1
            t = t_new
            _copy(y, y_new)
            if jac is not None:
                rhs(t, y, p, rate, f)
                fresh = False
            else:
                _copy(f, f_new)
        elif hs <= 1e-14 * max(1.0, abs(t)):
            return UNDERFLOW, t
        # (a step shortened to land on an output does not shorten the next)
        h = max(h, hs * factor) if on_output and land and norm <= 1.0 else hs * factor
        steps += 1
        if steps > max_steps:
            return TOO_MANY_STEPS, t
        if norm <= 1.0 and land and stop_at == target:
            ptr = _apply(derive, t, ptr, stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask,
                         table_x0, y, rate, p, x0, snapshots)
            target = bp_time[ptr] if ptr < stop else max(t_end[u], t)
            if target > t:
                rhs(t, y, p, rate, f)
                h = _initial_step(rhs, t, y, f, p, rate, target - t, rtol, atol, stage, f_new, -exponent)
    _copy(y_end[u], y)
    return (OUTSIDE if d < d_stop else OK), t


_I, _F = types.int64, types.float64
_IV, _BV = types.int64[::1], types.boolean[::1]
#: the arrays of :func:`integrator`'s function after the model's functions: ``first, last``, the units' inputs
#: and the outputs
_ARRAYS = (_I, _I, VECTOR, MATRIX, MATRIX, MATRIX, MATRIX, _IV, _IV, VECTOR, _IV, _IV, VECTOR, _IV, MATRIX, MATRIX,
           _BV, MATRIX, VECTOR, _IV, _IV, VECTOR, _F, _F, _I, types.boolean, MATRIX, MATRIX, MATRIX, _IV, VECTOR)


@functools.cache
def integrator(stiff: bool):
    """``integrate(rhs, jac, factor, solve, derive, first, last, ...)``: integrate units ``first`` to ``last - 1`` of
    the model whose compiled functions are ``rhs``, ``jac``, ``factor``, ``solve`` and ``derive`` (Rodas5P steps when
    ``stiff``; Dormand-Prince 5(4) or, with ``order8``, DOP853 when not, and ``jac``, ``factor`` and ``solve`` are then
    None; ``params`` has the model's parameters, then ``N_DERIVED`` columns ``derive`` fills) into the output arrays
    (their rows only; the GIL is released, so threads can run disjoint ranges at once). Compiled for every model at once, on first use of each
    method (numba's cache keeps it: a later process loads it); ``jac`` typed None for Dormand-Prince lets numba
    compile that method alone."""
    jac, factor, solve = ((types.FunctionType(JAC), types.FunctionType(FACTOR), types.FunctionType(SOLVE)) if stiff
                          else (types.none, types.none, types.none))
    signature = types.void(types.FunctionType(RHS), jac, factor, solve, types.FunctionType(DERIVE), *_ARRAYS)
    return njit(signature, cache=True, nogil=True, error_model="numpy")(_units)


def _units(rhs, jac, lu_factor, lu_solve, derive, first, last, t_start, y_start, rate_start, params, x0_start, bp_start,
           bp_stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors, table, table_mask, table_x0, t_end,
           dense_start, dense_stop, dense_time, rtol, atol, max_steps, order8, y_end, snapshots, dense, status,
           reached):
    for u in range(first, last):
        status[u], reached[u] = _unit(rhs, jac, lu_factor, lu_solve, derive, u, t_start, y_start, rate_start, params,
                                      x0_start, bp_start, bp_stop, bp_time, bp_kind, bp_cmt, bp_value, bp_ref, vectors,
                                      table, table_mask, table_x0, t_end, dense_start, dense_stop, dense_time, rtol,
                                      atol, max_steps, order8, y_end, snapshots, dense)
