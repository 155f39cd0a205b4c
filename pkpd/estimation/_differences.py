"""Central second-difference stencil of a Hessian, shared by the fits and the population estimation:
the points are evaluated by the caller (one batched simulation, or one objective call each)."""

from __future__ import annotations

import numpy as np

__all__ = ["hessian_points", "hessian_from_values"]


def hessian_points(x, h) -> list:
    """The 2 p^2 + 1 points: ``x``, ``x +- h_i e_i``, and ``x +- h_i e_i +- h_j e_j`` for i < j."""
    eye = np.eye(len(x))
    points = [x]
    for i in range(len(x)):
        points += [x + h[i] * eye[i], x - h[i] * eye[i]]
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                points.append(x + si * h[i] * eye[i] + sj * h[j] * eye[j])
    return points


def hessian_from_values(v, h) -> np.ndarray:
    """The Hessian from the function values at :func:`hessian_points`.

    >>> import numpy as np
    >>> x, h = np.array([1.0, 2.0]), np.array([1e-3, 1e-3])
    >>> f = lambda p: p[0] ** 2 * p[1] + 3 * p[1] ** 2            # Hessian [[2 x1, 2 x0], [2 x0, 6]]
    >>> hessian_from_values([f(p) for p in hessian_points(x, h)], h).round(6).tolist()
    [[4.0, 2.0], [2.0, 6.0]]
    """
    v = np.asarray(v, dtype=float)
    p = len(h)
    hess = np.empty((p, p))
    for i in range(p):
        hess[i, i] = (v[1 + 2 * i] - 2 * v[0] + v[2 + 2 * i]) / h[i] ** 2
    k = 1 + 2 * p
    for i in range(p):
        for j in range(i + 1, p):
            pp, pm, mp, mm = v[k: k + 4]
            hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * h[i] * h[j])
            k += 4
    return hess
