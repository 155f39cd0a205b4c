"""The numerical rules of NCA on one concentration-time profile: the BLQ rule, the IV bolus C0, AUC and AUMC by the
linear or linear-up/log-down trapezoids, and the λz regression with its automatic or user selection of points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .._internal.text import show


def _apply_blq(t, c, flag, rule):
    """Times and concentrations after the BLQ rule (BLQ values replaced by 0 or dropped)."""
    if not flag.any():
        return t, c
    c = c.copy()
    if rule == "zero":
        c[flag] = 0.0
        return t, c
    if rule == "drop":
        keep = ~flag
        return t[keep], c[keep]
    quantified = np.flatnonzero(~flag)
    first = quantified[0] if quantified.size else len(c)
    idx = np.arange(len(c))
    zero = flag & (idx < first)
    c[zero] = 0.0
    keep = ~(flag & (idx > first))
    return t[keep], c[keep]


def _c0(t, c):
    """IV bolus concentration at the dose time, and a note when it is not back-extrapolated."""
    if t[0] == 0 and c[0] > 0:
        return float(c[0]), ""
    after = np.flatnonzero(t > 0)
    if after.size >= 2:
        (t1, t2), (c1, c2) = t[after[:2]], c[after[:2]]
        if c1 > c2 > 0:
            return float(_exp(math.log(c1) - (math.log(c2) - math.log(c1)) / (t2 - t1) * t1)), ""
    pos = after[c[after] > 0]
    return float(c[pos[0]]), ("C0 set to the first positive concentration (the first two samples after the "
                              "dose do not decrease)")



def _exp(x: float) -> float:
    """math.exp, with inf for an overflow (found by the finiteness check of the results) instead of OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _areas(t, c, method):
    """AUC and AUMC over the profile (t, c) by the linear or linear-up/log-down trapezoid rule."""
    auc = aumc = 0.0
    for i in range(len(t) - 1):
        t1, t2, c1, c2 = float(t[i]), float(t[i + 1]), float(c[i]), float(c[i + 1])
        dt = t2 - t1
        if method == "linear-up/log-down" and c2 < c1 and c2 > 0:
            auc_i, aumc_i = _log_segment(t1, dt, c1, c2)
            auc += auc_i
            aumc += aumc_i
        else:
            auc += (c1 + c2) * dt / 2.0
            aumc += (t1 * c1 + t2 * c2) * dt / 2.0
    return auc, aumc


def _log_segment(t1, dt, c1, c2):
    """AUC and AUMC of a decreasing segment by the log rule, in a form without division by a vanishing k.

    With L = ln(C1/C2) = k dt: AUC = (C1 - C2) dt / L, and AUMC = (t1 C1 - t2 C2)/k + (C1 - C2)/k² rewritten as
    t1 AUC + dt² C2 (e^L - 1 - L)/L². The textbook form divides by k and k² and subtracts terms that grow as
    1/L: for C1/C2 near 1 (adjacent doubles give k = 0) it divided by zero or lost every digit (an AUMC of
    -2e15 for 1.5000000000000002 then 1.5). L is taken as log1p((C1 - C2)/C2), exact where C1/C2 rounds."""
    L = math.log1p((c1 - c2) / c2)
    auc = (c1 - c2) * dt / L
    if L < 0.1:  # (e^L - 1 - L)/L² = sum L^n/(n+2)!, 11 terms: the rest is below 0.1^11/13! = 1.6e-21
        g = 0.0
        for n in range(10, -1, -1):
            g = g * L + 1.0 / math.factorial(n + 2)
        tail = c2 * g
    else:  # the two terms cancel by a factor of at most ~2/L = 20 here

        tail = (c1 - c2) / (L * L) - c2 / L
    return auc, t1 * auc + dt * dt * tail


def _regress(t, c):
    """Least squares of ln c on t: (lambda_z, intercept, r2, adj_r2)."""
    y = np.log(c)
    n = len(t)
    tm, ym = t.mean(), y.mean()
    sxx = float(((t - tm) ** 2).sum())
    sxy = float(((t - tm) * (y - ym)).sum())
    syy = float(((y - ym) ** 2).sum())
    if not sxx > 0:  # times so close together that their spread squares to 0: no slope to fit
        return math.nan, math.nan, math.nan, math.nan
    slope = sxy / sxx
    intercept = ym - slope * tm
    sse = float(((y - intercept - slope * t) ** 2).sum())
    r2 = 1.0 - sse / syy if syy > 0 else (1.0 if sse == 0 else math.nan)
    adj = 1.0 - (1.0 - r2) * (n - 1) / (n - 2) if n > 2 else math.nan
    return -slope, float(intercept), r2, adj


def _lambda_z(id_, t, c, imax, ilast, opts):
    """(λz, intercept, n, tstart, tend, R², adjusted R²) or (None, reason)."""
    spec = opts["lambda_z"]
    if isinstance(spec, Mapping):
        spec = spec.get(id_, "auto")
    idx = np.arange(len(t))
    if isinstance(spec, (tuple, list)):
        tstart, tend = float(spec[0]), float(spec[1])
        use = np.flatnonzero((t >= tstart) & (t <= tend) & (c > 0))
        if use.size < 2:
            return None, (f"λz not estimated: {use.size} positive concentration(s) in the chosen interval "
                          f"[{show(tstart)}, {show(tend)}] (at least 2 needed)")
        return _fit_or_reason(t[use], c[use], "the chosen interval")
    after = (idx > imax) if opts["exclude_tmax"] else (idx >= imax)
    cand = np.flatnonzero(after & (idx <= ilast) & (c > 0))
    where = "after Tmax" if opts["exclude_tmax"] else "from Tmax on"
    if not isinstance(spec, str):  # last n points
        n = int(spec)
        if cand.size < n:
            return None, (f"λz not estimated: {n} terminal points requested but only {cand.size} positive "
                          f"concentration(s) {where}")
        use = cand[-n:]
        return _fit_or_reason(t[use], c[use], f"the last {n} points")
    m = opts["min_points"]
    if cand.size < m:
        return None, (f"λz not estimated: {cand.size} positive concentration(s) {where}, fewer than "
                      f"min_points={m}")
    fits = []
    for n in range(m, cand.size + 1):
        use = cand[-n:]
        lz, a, r2, adj = _regress(t[use], c[use])
        fits.append((n, lz, a, r2, adj, use))
    adjs = [f[4] for f in fits if math.isfinite(f[4])]
    if not adjs:  # only a 2-point fit (min_points=2): PKNCA accepts it when its slope is negative
        qualifying = [f for f in fits if f[1] > 0]
    else:
        best = max(adjs)
        qualifying = [f for f in fits if f[1] > 0 and math.isfinite(f[4]) and f[4] >= best - opts["tol"]]
    if not qualifying:
        return None, (f"λz not estimated: no terminal regression {where} with a negative slope has an adjusted R² "
                      f"within {opts['tol']:g} of the best ({max(adjs) if adjs else math.nan:.6g})")
    n, lz, a, r2, adj, use = max(qualifying, key=lambda f: f[0])
    return (lz, a, n, float(t[use[0]]), float(t[use[-1]]), r2, adj), ""


def _fit_or_reason(t, c, what):
    lz, a, r2, adj = _regress(t, c)
    if not lz > 0:
        return None, f"λz not estimated: the regression over {what} has a non-negative slope (λz = {lz:.6g})"
    return (lz, a, len(t), float(t[0]), float(t[-1]), r2, adj), ""
