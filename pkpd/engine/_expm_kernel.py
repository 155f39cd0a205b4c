"""The matrix exponential of a stack of small matrices, compiled by numba (imported on first use).

Higham's (2005, SIAM J. Matrix Anal. Appl. 26:1179) Algorithm 2.3, one matrix at a time in compiled loops: the
[m/m] Padé approximant of the lowest degree m in 3, 5, 7, 9 whose 1-norm bound holds (two to five matrix
products: most intervals between records are short), else [13/13] with scaling and squaring, as the numpy
:func:`pkpd.engine._closed_form._expm`. The exact
integrator (:mod:`pkpd.engine._exact`) exponentiates thousands of 3x3 or 4x4 matrices per call, where numpy's
per-call overhead, not the arithmetic, set the time (compiled: 0.4 µs a 3x3 matrix at norm 0.05, 0.8 µs at 5). The machine code is cached beside this module
(``cache=True``) and does not depend on any model.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._pade import PADE13, PADE_LOW, THETA13, THETA_LOW

_B = np.array(PADE13)
# the lower degrees' coefficients padded to 10 (row m // 2 - 1: degree 3, 5, 7, 9) and their 1-norm bounds
_B_LOW = np.array([list(PADE_LOW[m]) + [0.0] * (10 - len(PADE_LOW[m])) for m in (3, 5, 7, 9)])
_THETA_LOW = np.array([THETA_LOW[m] for m in (3, 5, 7, 9)])


@njit(cache=True, nogil=True)
def _matmul(a, b, out):
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += a[i, k] * b[k, j]
            out[i, j] = acc


@njit(cache=True, nogil=True)
def _pade13(M, s, n, X, X2, X4, X6, T, U, V):
    """The [13/13] approximant's odd part ``U`` (in ``T``) and even part ``V`` for ``M / 2^s`` (``U``: scratch)."""
    scale = 2.0 ** -s
    for i in range(n):
        for j in range(n):
            X[i, j] = M[i, j] * scale
    _matmul(X, X, X2)
    _matmul(X2, X2, X4)
    _matmul(X4, X2, X6)
    b = _B
    for i in range(n):
        for j in range(n):
            T[i, j] = b[13] * X6[i, j] + b[11] * X4[i, j] + b[9] * X2[i, j]
    _matmul(X6, T, U)
    for i in range(n):
        for j in range(n):
            U[i, j] += b[7] * X6[i, j] + b[5] * X4[i, j] + b[3] * X2[i, j] + (b[1] if i == j else 0.0)
    _matmul(X, U, T)                          # T = U of the approximant
    for i in range(n):
        for j in range(n):
            U[i, j] = b[12] * X6[i, j] + b[10] * X4[i, j] + b[8] * X2[i, j]
    _matmul(X6, U, V)
    for i in range(n):
        for j in range(n):
            V[i, j] += b[6] * X6[i, j] + b[4] * X4[i, j] + b[2] * X2[i, j] + (b[0] if i == j else 0.0)


@njit(cache=True, nogil=True)
def _expm_one(M, E, W):
    """``E = expm(M)`` for one square matrix (``E`` written in place; ``W`` scratch ``(9, n, n)``): the lowest
    Padé degree (3, 5, 7, 9) accurate at ``M``'s 1-norm, else degree 13 with scaling and squaring (Higham 2005,
    Algorithm 2.3)."""
    n = M.shape[0]
    norm1, zero = 0.0, True
    for j in range(n):
        col = 0.0
        for i in range(n):
            col += abs(M[i, j])
            if M[i, j] != 0.0:
                zero = False
        norm1 = max(norm1, col)
    if zero:                                  # exactly the identity (tau = 0)
        for i in range(n):
            for j in range(n):
                E[i, j] = 1.0 if i == j else 0.0
        return
    X, X2, X4, X6, T, U, V, R, X8 = W[0], W[1], W[2], W[3], W[4], W[5], W[6], W[7], W[8]
    s = 0
    low = -1
    for k in range(4):                        # the lowest degree accurate at this norm (no scaling then)
        if norm1 <= _THETA_LOW[k]:
            low = k
            break
    if low >= 0:
        b = _B_LOW[low]
        top = 2 * low + 3                     # the degree
        for i in range(n):
            for j in range(n):
                X[i, j] = M[i, j]
        _matmul(X, X, X2)
        if top >= 5:
            _matmul(X2, X2, X4)
        if top >= 7:
            _matmul(X4, X2, X6)
        if top >= 9:
            _matmul(X4, X4, X8)
        for i in range(n):
            for j in range(n):
                odd = b[3] * X2[i, j] + (b[1] if i == j else 0.0)
                even = b[2] * X2[i, j] + (b[0] if i == j else 0.0)
                if top >= 5:
                    odd += b[5] * X4[i, j]
                    even += b[4] * X4[i, j]
                if top >= 7:
                    odd += b[7] * X6[i, j]
                    even += b[6] * X6[i, j]
                if top >= 9:
                    odd += b[9] * X8[i, j]
                    even += b[8] * X8[i, j]
                U[i, j] = odd
                V[i, j] = even
        _matmul(X, U, T)                      # T = U of the approximant
    else:
        s = int(math.ceil(math.log2(norm1 / THETA13))) if norm1 > THETA13 else 0
        _pade13(M, s, n, X, X2, X4, X6, T, U, V)
    for i in range(n):
        for j in range(n):
            U[i, j] = V[i, j] - T[i, j]           # (V - U) E = V + U
            R[i, j] = V[i, j] + T[i, j]
    for k in range(n):                        # Gaussian elimination with partial pivoting
        p = k
        for i in range(k + 1, n):
            if abs(U[i, k]) > abs(U[p, k]):
                p = i
        if p != k:
            for j in range(n):
                U[k, j], U[p, j] = U[p, j], U[k, j]
                R[k, j], R[p, j] = R[p, j], R[k, j]
        for i in range(k + 1, n):
            f = U[i, k] / U[k, k]
            for j in range(k, n):
                U[i, j] -= f * U[k, j]
            for j in range(n):
                R[i, j] -= f * R[k, j]
    for i in range(n - 1, -1, -1):
        for j in range(n):
            acc = R[i, j]
            for k in range(i + 1, n):
                acc -= U[i, k] * E[k, j]
            E[i, j] = acc / U[i, i]
    for _ in range(s):
        for i in range(n):          # (T[:, :] = E, as a loop: an array assignment compiles numba's shape-error path)
            for j in range(n):
                T[i, j] = E[i, j]
        _matmul(T, T, E)


@njit(cache=True, nogil=True)
def expm_range(M, out, first, last):
    """``out[k] = expm(M[k])`` for ``k`` in ``first..last - 1`` (the GIL released: threads take disjoint ranges)."""
    W = np.empty((9, M.shape[1], M.shape[2]))
    for k in range(first, last):
        _expm_one(M[k], out[k], W)
