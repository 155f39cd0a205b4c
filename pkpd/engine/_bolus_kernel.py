"""The closed form of a linear model under bolus doses, compiled by numba (imported on first use).

Estimation predicts one dosing schedule at many parameter sets (:class:`pkpd.engine.BatchPredictor`), most often
bolus doses only (oral doses into a depot, IV pushes): every output sees a run of boluses since the latest reset.
:func:`pkpd.engine._closed_form.closed_form_states` then takes one exponential per eigenvalue from the latest bolus
(``states = V (e^{lam (t - t_a)} Z_a)``, ``Z_a = sum_i e^{lam (t_a - t_i)} V^-1 e_c q_i``) in ~60 numpy calls,
which for a dataset of a few hundred observations cost far more than their arithmetic. :func:`bolus_states` does the
same per subject and per output in compiled loops: the eigendecomposition of ``A`` (by substitution where every ``A``
is lower triangular -- a chain of compartments, e.g. depot to central --; else numpy's ``eig`` comes in), its checks
(the same tolerances as :func:`~pkpd.engine._closed_form._decompose`; ``V^-1`` by Gauss-Jordan elimination), the
modal weights of the inputs, the scan over each group of boluses (sequential here, a doubling scan in numpy: equal
to rounding) and the outputs. No LAPACK call is compiled: numba's bindings to it took 12 s to compile.

A subject whose eigenvectors are degenerate or whose eigenvalues are complex makes :func:`bolus_states` return
False: the caller then takes the numpy route, which handles (or reports) them. The machine code is cached beside
this module (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def _triangular_eigen(a, lam, v):
    """Eigenvalues and unit eigenvectors (columns) of a lower triangular ``a``; False when an eigenvalue repeats a
    later diagonal entry (degenerate: the numpy route's matrix exponentials)."""
    n = a.shape[0]
    for i in range(n):                    # column i: zero above i, 1 at i, forward substitution below
        lam[i] = a[i, i]
        for r in range(i):
            v[r, i] = 0.0
        v[i, i] = 1.0
        norm = 1.0
        for r in range(i + 1, n):
            acc = 0.0
            for k in range(i, r):
                acc += a[r, k] * v[k, i]
            gap = lam[i] - a[r, r]
            if gap == 0.0:
                return False
            v[r, i] = acc / gap
            norm += v[r, i] * v[r, i]
        norm = math.sqrt(norm)
        for r in range(i, n):
            v[r, i] /= norm
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _inverse(v, w):
    """``w = v^-1`` by Gauss-Jordan elimination with partial pivoting; returns ``|det v|``."""
    n = v.shape[0]
    m = v.copy()
    for r in range(n):
        for c in range(n):
            w[r, c] = 1.0 if r == c else 0.0
    det = 1.0
    for c in range(n):
        p = c
        for r in range(c + 1, n):
            if abs(m[r, c]) > abs(m[p, c]):
                p = r
        det *= abs(m[p, c])
        if m[p, c] == 0.0:
            return 0.0
        for k in range(n):
            m[c, k], m[p, k] = m[p, k], m[c, k]
            w[c, k], w[p, k] = w[p, k], w[c, k]
        pivot = m[c, c]
        for k in range(n):
            m[c, k] /= pivot
            w[c, k] /= pivot
        for r in range(n):
            if r != c and m[r, c] != 0.0:
                factor = m[r, c]
                for k in range(n):
                    m[r, k] -= factor * m[c, k]
                    w[r, k] -= factor * w[c, k]
    return det


@njit(cache=True, nogil=True, error_model="numpy")
def _decompose_one(lam, v, w, zero_tol, gap_tol, cond_tol):
    """:func:`~pkpd.engine._closed_form._decompose`'s checks for one subject, with its tolerances (zero eigenvalues
    snapped to 0 in ``lam``; ``w = v^-1``): False where it would call the subject degenerate."""
    n = lam.shape[0]
    scale = 0.0
    for k in range(n):
        scale = max(scale, abs(lam[k]))
    for k in range(n):
        if abs(lam[k]) <= zero_tol * scale:
            lam[k] = 0.0
    for k in range(n):
        for m in range(n):
            if k != m and abs(lam[k] - lam[m]) <= gap_tol * max(abs(lam[k]), abs(lam[m])):
                return False
    if not _inverse(v, w) > 1e-12 and n > 1:
        return False
    norm_v = norm_w = 0.0
    for k in range(n):
        for m in range(n):
            norm_v += v[k, m] * v[k, m]
            norm_w += w[k, m] * w[k, m]
    return math.sqrt(norm_v) * math.sqrt(norm_w) <= cond_tol


@njit(cache=True, nogil=True, error_model="numpy")
def bolus_states(A, lam, V, inp_subj, inp_cmt, inp_amount, inp_time, group_start, out_subj, out_time, latest, states,
                 tolerances):
    """States at each output (rows of ``states``) of a schedule of boluses.

    ``A``: system matrices (subjects, S, S), lower triangular unless their eigenvalues ``lam`` (subjects, S) and
    eigenvectors ``V`` (subjects, S, S) are given (else empty); per input (in scan order): subject, compartment,
    amount, time and the first input of its group (the inputs of its unit since the latest reset); per output:
    subject, time and the latest input it sees (-1: none); ``tolerances``: those of
    :func:`~pkpd.engine._closed_form._decompose` (zero eigenvalue, eigenvalue gap, condition). Returns False, with
    ``states`` unfinished, where an entry of ``A`` is not finite or a subject is degenerate.
    """
    n, S = A.shape[0], A.shape[1]
    for i in range(n):
        for r in range(S):
            for c in range(S):
                if not math.isfinite(A[i, r, c]):
                    return False
    W = np.empty((n, S, S))
    if lam.size == 0:
        lam, V = np.empty((n, S)), np.empty((n, S, S))
        for i in range(n):
            if not _triangular_eigen(A[i], lam[i], V[i]):
                return False
    for i in range(n):
        if not _decompose_one(lam[i], V[i], W[i], tolerances[0], tolerances[1], tolerances[2]):
            return False
    Z = np.empty((len(inp_subj), S))
    for p in range(len(inp_subj)):
        i, c = inp_subj[p], inp_cmt[p]
        for s in range(S):
            Z[p, s] = W[i, s, c] * inp_amount[p]
            if p > group_start[p]:
                Z[p, s] += math.exp(lam[i, s] * (inp_time[p] - inp_time[p - 1])) * Z[p - 1, s]
    modal = np.empty(S)
    for o in range(len(out_subj)):
        a = latest[o]
        if a < 0:
            for r in range(S):
                states[o, r] = 0.0
            continue
        i = out_subj[o]
        for s in range(S):
            modal[s] = Z[a, s] * math.exp(lam[i, s] * (out_time[o] - inp_time[a]))
        for r in range(S):
            acc = 0.0
            for s in range(S):
                acc += V[i, r, s] * modal[s]
            states[o, r] = acc
    return True
