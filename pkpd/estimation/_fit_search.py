"""The outer search of a population fit, and its check of itself.

1. L-BFGS-B on the estimated quantities (:mod:`pkpd.estimation._parameters`) in steps of unit curvature at the
   start (central differences), as NONMEM scales its parameters, with forward differences of :data:`FD_STEP`; the
   objective's EBE search starts from both the previous EBEs and ``eta = 0`` once per iteration
   (:meth:`Objective.ebe`).
2. After convergence, the end point is checked: where Omega has a block on the boundary of the parameter space
   (a correlation of +-1: singular), the search restarts from the same point with that block's correlations
   halved; elsewhere a Nelder-Mead polish probes the neighbourhood (its simplex: steps of 0.2 unit curvature
   from the end point, alternately up and down, :data:`POLISH_EVALUATIONS` evaluations per estimated quantity --
   one: the simplex alone). Either must not find a lower objective; if it does (by more than
   :data:`IMPROVEMENT`), L-BFGS-B continues from the lower point, rescaled to unit curvature there, and the fit
   says so (``RESTART_IMPROVED`` with the drop of the OFV). Local searches stop at any stationary point, so a
   self-check of this kind is the usual safeguard (Nocedal & Wright 2006, Numerical Optimization, 2nd ed., ch. 2
   and 9; Lagarias et al. 1998, SIAM J Optim 9:112, for Nelder-Mead).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["search", "IMPROVEMENT"]

#: L-BFGS-B's relative reduction of the objective at convergence (an OFV of 1000 then changes by < 1e-7)
FTOL = 1e-10
#: a restart or polish that lowers the OFV by more than this moves the estimate (smaller: rounding of the search)
IMPROVEMENT = 1e-3
#: |correlation| in an Omega block above which the block is on the boundary and the search tries leaving it
BOUNDARY_CORRELATION = 0.99
#: factor on the correlations of a boundary block at the restart
SHRINK = 0.5
#: objective evaluations of the Nelder-Mead polish: this many per estimated quantity, plus one (its simplex takes
#: one each: 1 evaluates the simplex only -- a probe of p + 1 points, about 8 % of a theophylline fit)
POLISH_EVALUATIONS = 1
#: size of the polish's simplex, in steps of unit curvature at the start (an OFV rise of about STEP^2 / 2 each)
POLISH_STEP = 0.2
#: rounds of check-and-continue at most
ROUNDS = 3
#: L-BFGS-B's forward-difference step, in steps of unit curvature at the start. The objective is smooth only to
#: about 1e-9 in closed form and 1e-8 on the ODE engine (the EBE search's tolerance, the ODE's rtol), so a step h
#: costs an error of about that over h in the gradient, and the differences' truncation another h / 2 (unit
#: curvature): h near the square root of the noise balances the two (Nocedal & Wright 2006, Numerical
#: Optimization, 2nd ed., sec. 8.1). At 1e-6 the gradient's error was 1e-3 to 1e-2: the search stalled in line
#: searches near the minimum and stopped above it (200 two-compartment ODE subjects: OFV 5.3e-5 above the minimum
#: found with 1e-5, in 419 objective evaluations against 309). 1e-5 is at the low end of the balance: with 1e-4
#: the accurate gradient followed the valley towards a singular Omega block (pharmpy's pheno_iov) for 5000
#: evaluations, where the search is meant to converge on the boundary and restart off it.
FD_STEP = 1e-5
#: While it searches, the objective extrapolates its predictions over this distance in eta instead of simulating
#: (:attr:`Objective.extrapolate_below`; 1e-6 elsewhere): a step of :data:`FD_STEP` in Omega or sigma moves the
#: EBEs by about as much, and would simulate otherwise. Every step of one gradient extrapolates from the same
#: anchor, so their errors (~1e-7 in the OFV of 200 ODE subjects after a step of 1e-5, < 1e-9 in closed form) are
#: smooth in the step; the fit's OFV, covariance step and diagnostics are evaluated at 1e-6.
SEARCH_EXTRAPOLATION = 1e-5


def search(fun, x0, box, par, objective, max_evaluations):
    """Minimise ``fun`` from ``x0`` within ``box`` (rows ``[lower, upper]``), then check the end point.

    ``par`` is the :class:`Parameterisation` (to find and leave Omega boundaries); ``objective`` the
    :class:`Objective` whose EBEs are warm-started (set to multi-start once per iteration, and left at the EBEs
    of the returned point; it extrapolates over :data:`SEARCH_EXTRAPOLATION` meanwhile). Returns ``(opt, notes)``:
    scipy's result (``x`` on the estimation scale, ``fun``) and the ``RESTART_IMPROVED`` texts (empty when the
    checks found nothing lower)."""
    saved, objective.extrapolate_below = objective.extrapolate_below, SEARCH_EXTRAPOLATION
    try:
        return _search(fun, x0, box, par, objective, max_evaluations)
    finally:
        objective.extrapolate_below = saved


def _search(fun, x0, box, par, objective, max_evaluations):
    scale = _curvature_scale(fun, x0, box)
    opt = _lbfgsb(fun, x0, box, scale, objective, max_evaluations)
    best_eta = objective.eta.copy()
    notes = []
    for _ in range(ROUNDS):
        boundary = _boundary_start(par, opt.x)
        if boundary is not None:
            start = np.clip(boundary, box[:, 0], box[:, 1])
            how, trial = "leaving the Omega boundary (block correlations halved)", _lbfgsb(
                fun, start, box, _curvature_scale(fun, start, box), objective, max_evaluations)
        else:
            how, trial = "a Nelder-Mead polish around the first end point", _polish(fun, opt, box, scale, objective,
                                                                                   max_evaluations)
        if trial is None or not trial.fun < opt.fun - IMPROVEMENT:
            break
        notes.append(f"RESTART_IMPROVED: the search had converged at OFV {opt.fun:.4f}; {how} found "
                     f"{trial.fun:.4f} (lower by {opt.fun - trial.fun:.4g}) and the fit continued from there")
        opt, best_eta = trial, objective.eta.copy()
    objective.eta = best_eta
    return opt, notes


def _lbfgsb(fun, x0, box, scale, objective, max_evaluations):
    from scipy.optimize import minimize              # on first use: scipy.optimize costs 0.2 s at import

    def next_iteration(*_):
        objective.multistart = True

    best = [math.inf, x0]

    def scaled(z):
        x = x0 + scale * z
        value = fun(x)
        if value < best[0] and np.all(np.isfinite(x)):
            best[:] = [value, x]
        return value

    objective.multistart = True
    opt = minimize(scaled, np.zeros_like(x0), method="L-BFGS-B", bounds=(box - x0[:, None]) / scale[:, None],
                   callback=next_iteration, options={"maxfun": max_evaluations, "eps": FD_STEP, "ftol": FTOL,
                                                     "gtol": 1e-6})
    opt.x = x0 + scale * opt.x
    if not (np.all(np.isfinite(opt.x)) and np.isfinite(opt.fun)):
        # the quasi-Newton update broke down (an infinite objective in its differences): the best point it saw,
        # reported as not converged; the checks after the search start from there
        opt.x, opt.fun, opt.success = best[1], best[0], False
        opt.message = "ABNORMAL: the search stepped to a non-finite point; its best point is kept"
    return opt


def _polish(fun, opt, box, scale, objective, max_evaluations):
    """A few Nelder-Mead iterations from a simplex of unit-curvature steps around ``opt.x`` (alternating
    directions); when a point lower by more than :data:`IMPROVEMENT` turns up, L-BFGS-B from there (else None)."""
    from scipy.optimize import minimize

    x = opt.x
    p = len(x)
    saved = objective.eta.copy()
    steps = np.where(np.arange(p) % 2 == 0, POLISH_STEP, -POLISH_STEP) * scale
    simplex = np.vstack([x] + [x + steps[i] * np.eye(p)[i] for i in range(p)])
    simplex = np.clip(simplex, box[:, 0], box[:, 1])
    nm = minimize(fun, x, method="Nelder-Mead", bounds=[tuple(edge) for edge in box],
                  options={"initial_simplex": simplex, "maxfev": POLISH_EVALUATIONS * p + 1, "xatol": 0, "fatol": 0})
    if not nm.fun < opt.fun - IMPROVEMENT:
        objective.eta = saved
        return None
    start = np.clip(nm.x, box[:, 0], box[:, 1])
    return _lbfgsb(fun, start, box, _curvature_scale(fun, start, box), objective, max_evaluations)


def _boundary_start(par, x):
    """``x`` with the correlations of every Omega block that has one beyond :data:`BOUNDARY_CORRELATION` (or is
    singular) multiplied by :data:`SHRINK`, variances kept; None when no block is on the boundary."""
    _, omega, _ = par.unpack(x)
    new = np.array(x, dtype=float)
    k = len(par.free)
    moved = False
    for block in par.blocks:
        m = len(block)
        if m == 1:
            k += 1
            continue
        sub = omega[np.ix_(block, block)]
        sd = np.sqrt(np.diag(sub))
        corr = sub / np.outer(sd, sd)
        off = np.abs(corr - np.eye(m))
        if np.all(sd > 0) and (off.max() > BOUNDARY_CORRELATION or np.linalg.cond(corr) > 1e3):
            shrunk = corr * SHRINK + np.eye(m) * (1 - SHRINK)
            chol = np.linalg.cholesky(shrunk * np.outer(sd, sd))
            entries = [math.log(chol[a, a]) if a == b else chol[a, b] for a in range(m) for b in range(a + 1)]
            new[k: k + len(entries)] = entries
            moved = True
        k += m * (m + 1) // 2
    return new if moved else None


def _curvature_scale(fun, x0, box, h=0.01):
    """Steps of unit curvature: ``1 / sqrt(d2 OFV / dx2)`` at the start (central differences), so that the
    quasi-Newton search starts well scaled (NONMEM scales its parameters for the same reason)."""
    f0 = fun(x0)
    scale = np.ones_like(x0)
    for i in range(len(x0)):
        step = np.zeros_like(x0)
        step[i] = h
        if x0[i] - h < box[i, 0] or x0[i] + h > box[i, 1]:
            continue
        second = (fun(x0 + step) - 2 * f0 + fun(x0 - step)) / h**2
        if math.isfinite(second) and second > 0:
            scale[i] = np.clip(1.0 / math.sqrt(second), 1e-3, 1e2)
    return scale
