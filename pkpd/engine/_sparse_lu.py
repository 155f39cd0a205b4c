"""Straight-line source of an LU factorisation and solve over one sparsity pattern (the stiff kernel's W).

A Rosenbrock step factorises ``W = I / (gamma h) - J`` once and solves with it at every stage. The dense kernel
(:func:`pkpd.engine._kernel._lu`, ``_solve``) visits every entry; a model's Jacobian is sparse (10 states of
the carbamazepine + midazolam + CYP3A4 model: 24 nonzeros of 100), and its pattern is known when the model is
compiled. :func:`lu_source` writes ``factor(W)`` and ``solve(W, b)`` that visit only the entries the elimination
can make nonzero (the pattern and its fill-in), as the dense pair would without exchanging rows: the same
operations on those entries in the same order, so the same factors and solutions to the bit. ``factor`` returns
False where the dense LU would exchange rows (an entry below the diagonal larger in magnitude than the pivot) or
the pivot is zero or not finite: the kernel then factorises densely with partial pivoting.

Examples
--------
>>> import math
>>> import numpy as np
>>> pattern = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], bool)      # a chain: depot -> central -> effect
>>> namespace = {"math": math}
>>> exec(lu_source(pattern), namespace)                               # noqa: S102
>>> W = np.array([[2.0, 0, 0], [-1.0, 3.0, 0], [0, -0.5, 4.0]])
>>> namespace["factor"](W), W.round(4).tolist()
(True, [[0.5, 0.0, 0.0], [-0.5, 0.3333, 0.0], [0.0, -0.1667, 0.25]])
>>> b = np.array([2.0, 2.0, 1.0])
>>> namespace["solve"](W, b)
>>> b.tolist()                                                        # W x = (2, 2, 1)
[1.0, 1.0, 0.375]
"""

from __future__ import annotations

import numpy as np

__all__ = ["fill_pattern", "lu_source"]

#: beyond this many multiply-subtracts in the factorisation (a large model whose fill-in is dense), the straight-line
#: code would take long to compile and gain little: ``factor`` then always defers to the dense LU
MAX_UPDATES = 3000


def fill_pattern(pattern: np.ndarray) -> np.ndarray:
    """The entries of an LU factorisation without row exchanges that can be nonzero: ``pattern`` (the matrix's
    structural nonzeros) with the diagonal and the fill-in of Gaussian elimination in natural order."""
    F = np.array(pattern, dtype=bool, copy=True)
    np.fill_diagonal(F, True)
    S = len(F)
    for k in range(S):
        rows = [i for i in range(k + 1, S) if F[i, k]]
        cols = [j for j in range(k + 1, S) if F[k, j]]
        for i in rows:
            F[i, cols] = True
    return F


def lu_source(pattern: np.ndarray, decorator: str | None = None) -> str:
    """Source of ``factor(W) -> bool`` and ``solve(W, b)`` for matrices whose nonzeros lie in ``pattern``
    (S x S bool); ``decorator`` (a format string, e.g. :mod:`pkpd.engine._codegen`'s ``njit`` line) is put above
    each with its signature's name, ``FACTOR`` and ``SOLVE`` of :mod:`pkpd.engine._kernel`.

    ``factor`` mirrors :func:`pkpd.engine._kernel._lu` (the diagonal holds ``1 / U_kk``; multipliers below it) and
    ``solve`` mirrors ``_kernel._solve``, restricted to :func:`fill_pattern`. Beyond :data:`MAX_UPDATES`
    multiply-subtracts, ``factor`` always returns False (the kernel's dense LU)."""
    F = fill_pattern(pattern)
    S = len(F)
    lower, upper = np.tril(F, -1), np.triu(F, 1)
    updates = sum(int(lower[:, k].sum()) * int(upper[k].sum()) for k in range(S))

    def header(name, signature):
        return ([decorator.format(signature)] if decorator else []) + [f"def {name}:"]

    if updates > MAX_UPDATES:
        return "\n".join(header("factor(W)", "FACTOR") + ["    return False", "", ""]
                         + header("solve(W, b)", "SOLVE") + ["    return"]) + "\n"
    lines = header("factor(W)", "FACTOR")
    for k in range(S):
        below = [i for i in range(k + 1, S) if F[i, k]]
        right = [j for j in range(k + 1, S) if F[k, j]]
        lines.append(f"    pivot = W[{k}, {k}]")
        bigger = "".join(f" or abs(W[{i}, {k}]) > size" for i in below)
        lines += ["    size = abs(pivot)",
                  f"    if size == 0.0 or not math.isfinite(size){bigger}:",
                  "        return False"]
        if not below:
            lines.append(f"    W[{k}, {k}] = 1.0 / pivot")
            continue
        lines += ["    inverse = 1.0 / pivot", f"    W[{k}, {k}] = inverse"]
        for i in below:
            lines += [f"    factor = W[{i}, {k}] * inverse", f"    W[{i}, {k}] = factor"]
            if right:
                lines.append("    if factor != 0.0:")
                lines += [f"        W[{i}, {j}] -= factor * W[{k}, {j}]" for j in right]
    lines += ["    return True", "", ""]
    lines += header("solve(W, b)", "SOLVE")
    for j in range(S):                       # forward, unit lower triangle, column by column
        below = [i for i in range(j + 1, S) if F[i, j]]
        if below:
            lines += [f"    x = b[{j}]", "    if x != 0.0:"]
            lines += [f"        b[{i}] -= W[{i}, {j}] * x" for i in below]
    for j in range(S - 1, -1, -1):           # backward, the diagonal holding the inverses
        above = [i for i in range(j) if F[i, j]]
        lines.append(f"    x = b[{j}] * W[{j}, {j}]")
        lines.append(f"    b[{j}] = x")
        if above:
            lines.append("    if x != 0.0:")
            lines += [f"        b[{i}] -= W[{i}, {j}] * x" for i in above]
    lines.append("    return")
    return "\n".join(lines) + "\n"
