"""The EBE search's damped Newton iterations compiled by numba (imported on first use).

:meth:`pkpd.estimation._objective.Objective._newton` searches every subject's EBEs at once. Between its batched
simulations each iteration is arithmetic on a few small arrays per subject -- the data terms and their
derivatives, the gradient and Hessian of the inner objective, a Levenberg step, its acceptance, predictions
extrapolated from the last simulated point -- which numpy spreads over ~80 calls of a few microseconds each.
Here one call runs a start's iterations until they end or need a simulation, in the same order and with the same
formulas (the data terms of :meth:`~pkpd.estimation._objective.Objective.terms`, residual errors coded by
:func:`pkpd.estimation._error_codes.error_codes`). An outer step in Omega or sigma, which moves the EBEs less than
the extrapolation distance, then costs one call.

:func:`run` is the one entry: it works on one start's state in place (``eta``, ``f``, ``g``, ``c``, ``lam``,
``obj``, ``gmax``, ``curv`` and the anchor ``a_eta``, ``a_f``, ``a_g``, ``a_c``), given the data (``y``,
``subject``, the error codes) and the options. The machine code is cached beside this module (``cache=True``): the
first fit on a machine compiles it (about 7 s on 2 slow cores), later processes load it (under a second).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._error_codes import COMBINED_VARIANCE, CONSTANT, PROPORTIONAL

#: what :func:`run` returns: the start ended (converged or out of iterations), or it needs predictions at ``trial``
DONE, SIMULATE = 0, 1


@njit(cache=True, nogil=True, error_model="numpy")
def _variance(kind, a, b, f):
    if kind == CONSTANT:
        sd = a
    elif kind == PROPORTIONAL:
        sd = max(b * abs(f), 1e-12)
    elif kind == COMBINED_VARIANCE:
        sd = max(math.sqrt(a * a + (b * f) ** 2), 1e-12)
    else:
        sd = max(a + b * abs(f), 1e-12)
    return sd * sd


@njit(cache=True, nogil=True, error_model="numpy")
def _terms(j, f, y, kind, a, b, v0, any_log):
    """``t``, ``dt/df``, the exact and the expected second derivative of observation ``j`` at prediction ``f``."""
    if v0.size:                                   # FOCE: the population variance, constant in f
        v = v0[j]
        dv = d2v = 0.0
    else:
        v = _variance(kind[j], a[j], b[j], f)
        if kind[j] == CONSTANT:
            dv = d2v = 0.0
        else:                                     # central differences, as _variance_slopes
            h = 1e-4 * max(abs(f), 1e-8)
            vp, vm = _variance(kind[j], a[j], b[j], f + h), _variance(kind[j], a[j], b[j], f - h)
            dv, d2v = (vp - vm) / (2 * h), (vp - 2 * v + vm) / h ** 2
    r = y[j] - f
    t = r * r / v + math.log(v)
    if any_log and not math.isfinite(f):          # log f = -inf: likelihood 0, no slope to follow
        return t, 0.0, 2.0 / v, 2.0 / v
    dt = -2.0 * r / v + dv / v * (1.0 - r * r / v)
    exact = (2.0 / v + 4.0 * r * dv / v ** 2 + 2.0 * r * r * dv ** 2 / v ** 3 - r * r * d2v / v ** 2 + d2v / v
             - (dv / v) ** 2)
    return t, dt, exact, 2.0 / v + (dv / v) ** 2


@njit(cache=True, nogil=True, error_model="numpy")
def _larger(x, y):
    """The larger of ``x`` and ``y``, NaN if either is NaN (as ``np.maximum``)."""
    if math.isnan(x) or math.isnan(y):
        return math.nan
    return x if x > y else y


@njit(cache=True, nogil=True, error_model="numpy")
def _quadratic(eta, i, omega_inv):
    q = eta.shape[1]
    acc = 0.0
    for k in range(q):
        for m in range(q):
            acc += eta[i, k] * omega_inv[k, m] * eta[i, m]
    return acc


@njit(cache=True, nogil=True, error_model="numpy")
def objective(f, eta, subject, y, kind, a, b, v0, any_log, omega_inv, out):
    """The inner objective of every subject (:meth:`~pkpd.estimation._objective.Objective.subject_objective`)."""
    n = eta.shape[0]
    for i in range(n):
        out[i] = 0.0
    for j in range(f.shape[0]):
        out[subject[j]] += _terms(j, f[j], y, kind, a, b, v0, any_log)[0]
    for i in range(n):
        out[i] += _quadratic(eta, i, omega_inv)


@njit(cache=True, nogil=True, error_model="numpy")
def _cholesky(m, low):
    """Lower Cholesky factor of ``m`` in ``low``; False when ``m`` is not positive definite."""
    q = m.shape[0]
    for k in range(q):
        for r in range(k + 1):
            acc = m[k, r]
            for s in range(r):
                acc -= low[k, s] * low[r, s]
            if r == k:
                if not acc > 0.0:
                    return False
                low[k, k] = math.sqrt(acc)
            else:
                low[k, r] = acc / low[r, r]
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _newton_system(f, g, c, eta, subject, y, kind, a, b, v0, any_log, omega_inv, grad, hess, fo):
    """Half the gradient of each subject's inner objective, and Newton's Hessian (exact in f, with the curvature of
    f) or, where that is not positive definite, the first-order one (in ``hess``; ``fo``: scratch)."""
    n, q = eta.shape
    for i in range(n):
        for k in range(q):
            grad[i, k] = 0.0
            for m in range(q):
                hess[i, k, m] = fo[i, k, m] = 0.0
    for j in range(f.shape[0]):
        i = subject[j]
        _, dt, exact, expected = _terms(j, f[j], y, kind, a, b, v0, any_log)
        for k in range(q):
            grad[i, k] += 0.5 * g[j, k] * dt
            for m in range(q):
                hess[i, k, m] += 0.5 * (exact * g[j, k] * g[j, m] + dt * c[j, k, m])
                fo[i, k, m] += 0.5 * expected * g[j, k] * g[j, m]
    low = np.empty((q, q))
    for i in range(n):
        for k in range(q):
            for m in range(q):
                grad[i, k] += eta[i, m] * omega_inv[m, k]
                hess[i, k, m] += omega_inv[k, m]
                fo[i, k, m] += omega_inv[k, m]
        if not _cholesky(hess[i], low):
            for k in range(q):
                for m in range(q):
                    hess[i, k, m] = fo[i, k, m]


@njit(cache=True, nogil=True, error_model="numpy")
def _solve_spd(m, rhs, out):
    """``m^-1 rhs`` for a symmetric positive definite ``m`` (by Cholesky; NaN when it is not)."""
    q = m.shape[0]
    low = np.zeros((q, q))
    if not _cholesky(m, low):
        for k in range(q):
            out[k] = math.nan
        return
    for k in range(q):
        acc = rhs[k]
        for s in range(k):
            acc -= low[k, s] * out[s]
        out[k] = acc / low[k, k]
    for k in range(q - 1, -1, -1):
        acc = out[k]
        for s in range(k + 1, q):
            acc -= low[s, k] * out[s]
        out[k] = acc / low[k, k]


@njit(cache=True, nogil=True, error_model="numpy")
def extrapolate(a_eta, a_f, a_g, a_c, eta, subject, f, g, c):
    """Predictions and their eta-derivatives at ``eta`` from those at the anchor, to second order (in ``f``, ``g``,
    ``c``; :meth:`~pkpd.estimation._objective.Objective._extrapolate`)."""
    q = eta.shape[1]
    d = np.empty(q)
    for j in range(a_f.shape[0]):
        i = subject[j]
        moved = False
        for k in range(q):
            d[k] = eta[i, k] - a_eta[i, k]
            moved = moved or d[k] != 0.0
        for k in range(q):
            for m in range(q):
                c[j, k, m] = a_c[j, k, m]
        if not moved:
            f[j] = a_f[j]
            for k in range(q):
                g[j, k] = a_g[j, k]
            continue
        value = a_f[j]
        for k in range(q):
            slope = a_g[j, k]
            for m in range(q):
                slope += a_c[j, k, m] * d[m]
            value += 0.5 * (a_g[j, k] + slope) * d[k]
            g[j, k] = slope
        f[j] = value


@njit(cache=True, nogil=True, error_model="numpy")
def accept(eta, f, g, c, lam, obj, curv, a_eta, a_f, a_g, a_c, trial, f_t, g_t, c_t, simulated, subject, y, kind,
           a, b, v0, any_log, omega_inv):
    """Keep each subject's trial EBEs where they lower its inner objective (and loosen its damping), else tighten the
    damping; where ``simulated``, the kept trials become the anchor."""
    n, q = eta.shape
    obj_t = np.empty(n)
    objective(f_t, trial, subject, y, kind, a, b, v0, any_log, omega_inv, obj_t)
    better = np.empty(n, dtype=np.bool_)
    for i in range(n):
        better[i] = math.isfinite(obj_t[i]) and obj_t[i] <= obj[i] + 1e-12
        if better[i]:
            obj[i] = obj_t[i]
            lam[i] *= 0.1
            for k in range(q):
                eta[i, k] = trial[i, k]
                if simulated:
                    a_eta[i, k] = trial[i, k]
        else:
            lam[i] = _larger(lam[i] * 10.0, curv[i])
    for j in range(f.shape[0]):
        if not better[subject[j]]:
            continue
        f[j] = f_t[j]
        if simulated:
            a_f[j] = f_t[j]
        for k in range(q):
            g[j, k] = g_t[j, k]
            if simulated:
                a_g[j, k] = g_t[j, k]
            for m in range(q):
                c[j, k, m] = c_t[j, k, m]
                if simulated:
                    a_c[j, k, m] = c_t[j, k, m]


@njit(cache=True, nogil=True, error_model="numpy")
def run(eta, f, g, c, lam, obj, gmax, curv, a_eta, a_f, a_g, a_c, trial, f_t, g_t, c_t, judge, simulated, subject, y,
        kind, a, b, v0, any_log, omega_inv, tol, iteration, cap, last, extrapolate_below):
    """Iterations from ``iteration`` until every subject's gradient is below ``tol``, ``cap`` steps are taken (the
    gradient at the end computed) or ``last`` (not computed: the end of the batched loop), or a trial moves a subject
    farther than ``extrapolate_below`` from the anchor.

    The first call (``iteration`` 0) computes the inner objectives ``obj`` of the start.

    Returns ``(status, iteration)``: :data:`DONE`, or :data:`SIMULATE` with the trial EBEs in ``trial``. Then predict
    there and call again with the predictions in ``f_t``, ``g_t``, ``c_t`` and ``judge`` and ``simulated`` set (where
    the simulation failed: NaN predictions, ``simulated`` not set): the trial is judged first. ``f_t``, ``g_t``,
    ``c_t`` are otherwise scratch (the extrapolated predictions)."""
    n, q = eta.shape
    grad, hess, fo = np.empty((n, q)), np.empty((n, q, q)), np.empty((n, q, q))
    shifted, step = np.empty((q, q)), np.empty(q)
    if iteration == 0 and not judge:              # a start: its inner objectives
        objective(f, eta, subject, y, kind, a, b, v0, any_log, omega_inv, obj)
    while iteration < last:
        if judge:
            accept(eta, f, g, c, lam, obj, curv, a_eta, a_f, a_g, a_c, trial, f_t, g_t, c_t, simulated, subject, y,
                   kind, a, b, v0, any_log, omega_inv)
            iteration += 1
            judge, simulated = False, False
            continue
        _newton_system(f, g, c, eta, subject, y, kind, a, b, v0, any_log, omega_inv, grad, hess, fo)
        worst = 0.0
        for i in range(n):
            gmax[i] = curv[i] = -math.inf
            for k in range(q):
                gmax[i] = _larger(gmax[i], abs(grad[i, k]))
                curv[i] = _larger(curv[i], hess[i, k, k])
            worst = _larger(worst, gmax[i])
        if worst < tol or iteration >= cap:
            return DONE, iteration
        far, lost = False, False          # (as numpy's max over the start: a NaN anywhere means no simulation)
        for i in range(n):
            for k in range(q):
                for m in range(q):
                    shifted[k, m] = hess[i, k, m] + (lam[i] if k == m else 0.0)
            _solve_spd(shifted, grad[i], step)
            for k in range(q):
                move = -step[k]                       # trust region: at most e-fold per iteration
                trial[i, k] = eta[i, k] + (1.0 if move > 1.0 else -1.0 if move < -1.0 else move)
                distance = abs(trial[i, k] - a_eta[i, k])
                far = far or distance > extrapolate_below
                lost = lost or math.isnan(distance)
        if far and not lost:
            return SIMULATE, iteration
        extrapolate(a_eta, a_f, a_g, a_c, trial, subject, f_t, g_t, c_t)
        judge = True
    return DONE, iteration


@njit(cache=True, nogil=True, error_model="numpy")
def laplace(f, g, eta, subject, y, kind, a, b, v0, any_log, omega_inv, obj, out):
    """Each subject's ``obj + log det H`` (``inf`` where ``H`` is not positive definite), ``H = Omega^-1 + 1/2 sum_j
    w_j g_j g_j'`` with the expected second derivatives ``w`` (the first-order Hessian of
    :meth:`~pkpd.estimation._objective.Objective.first_order_hessian`)."""
    n, q = eta.shape
    hess = np.zeros((n, q, q))
    for j in range(f.shape[0]):
        i = subject[j]
        expected = _terms(j, f[j], y, kind, a, b, v0, any_log)[3]
        for k in range(q):
            for m in range(q):
                hess[i, k, m] += 0.5 * expected * g[j, k] * g[j, m]
    low = np.empty((q, q))
    for i in range(n):
        for k in range(q):
            for m in range(q):
                hess[i, k, m] += omega_inv[k, m]
        if not _cholesky(hess[i], low):
            out[i] = math.inf
            continue
        logdet = 0.0
        for k in range(q):
            logdet += 2.0 * math.log(low[k, k])
        out[i] = obj[i] + logdet
