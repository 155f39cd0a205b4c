"""The matrix exponential of a stack of small matrices, compiled by numba (imported on first use).

The same scaling and squaring with the [13/13] Padé approximant as :func:`pkpd.engine._closed_form._expm`
(Higham 2005, SIAM J. Matrix Anal. Appl. 26:1179, Algorithm 2.3), one matrix at a time in compiled loops: the
exact integrator (:mod:`pkpd.engine._exact`) exponentiates thousands of 3x3 or 4x4 matrices per call, where
numpy's per-call overhead, not the arithmetic, set the time. The machine code is cached beside this module
(``cache=True``) and does not depend on any model.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._pade import PADE13, THETA13

_B = np.array(PADE13)


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
def _expm_one(M, E, W):
    """``E = expm(M)`` for one square matrix (``E`` written in place; ``W`` scratch ``(8, n, n)``)."""
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
    s = int(math.ceil(math.log2(norm1 / THETA13))) if norm1 > THETA13 else 0
    X, X2, X4, X6, T, U, V, R = W[0], W[1], W[2], W[3], W[4], W[5], W[6], W[7]
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
            U[i, j] = V[i, j] - T[i, j]       # (V - U) E = V + U
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
        T[:, :] = E
        _matmul(T, T, E)


@njit(cache=True, nogil=True)
def expm_stack(M):
    """``expm`` of each matrix of the stack ``M`` ``(m, n, n)``."""
    out = np.empty_like(M)
    W = np.empty((8, M.shape[1], M.shape[2]))
    for k in range(M.shape[0]):
        _expm_one(M[k], out[k], W)
    return out
