"""The stiff kernel's LU over a Jacobian's pattern (``pkpd/engine/_sparse_lu.py``): the dense pair's factors and
solutions to the bit where the dense LU exchanges no rows, and a refusal (the kernel's cue to factorise densely)
where it would."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pkpd.engine import _kernel
from pkpd.engine._sparse_lu import fill_pattern, lu_source


def _functions(pattern):
    namespace = {"math": math}
    exec(lu_source(pattern), namespace)  # noqa: S102
    return namespace["factor"], namespace["solve"]


def _w_matrix(pattern, rng, shift):
    """``shift I - J`` with J's nonzeros on ``pattern`` (a Rosenbrock W)."""
    J = np.where(pattern, rng.normal(0.0, 1.0, pattern.shape), 0.0)
    return shift * np.eye(len(J)) - J


@pytest.mark.parametrize("seed", range(6))
def test_same_factors_and_solutions_as_the_dense_lu_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    S = 9
    pattern = rng.random((S, S)) < 0.25
    factor, solve = _functions(pattern)
    W = _w_matrix(pattern, rng, shift=6.0)       # a large 1 / (gamma h): no row exchange
    sparse, dense, piv = W.copy(), W.copy(), np.zeros(S, np.int64)
    assert factor(sparse) and _kernel._lu.py_func(dense, piv)
    assert np.array_equal(piv, np.arange(S))
    F = fill_pattern(pattern)
    assert np.array_equal(sparse[F], dense[F]) and not dense[~F].any()
    b = rng.normal(size=S)
    x_sparse, x_dense = b.copy(), b.copy()
    solve(sparse, x_sparse)
    _kernel._solve.py_func(dense, piv, x_dense)
    assert np.array_equal(x_sparse, x_dense)
    np.testing.assert_allclose(W @ x_sparse, b, rtol=1e-12, atol=1e-12)


def test_refuses_where_the_dense_lu_would_exchange_rows_or_the_pivot_is_zero():
    pattern = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], bool)
    factor, _ = _functions(pattern)
    exchange = np.array([[1.0, 0, 0], [-3.0, 2.0, 0], [0, -0.5, 4.0]])      # |W10| > |W00|
    assert not factor(exchange.copy())
    piv = np.zeros(3, np.int64)
    assert _kernel._lu.py_func(exchange.copy(), piv) and piv[0] == 1           # the dense LU exchanged rows
    assert not factor(np.array([[0.0, 0, 0], [0.0, 2.0, 0], [0, -0.5, 4.0]]))
    assert not factor(np.array([[np.inf, 0, 0], [0.0, 2.0, 0], [0, -0.5, 4.0]]))


def test_a_dense_fill_in_beyond_the_limit_defers_to_the_dense_lu():
    factor, _ = _functions(np.ones((25, 25), bool))               # 24^2 + 23^2 + ... = 4900 > MAX_UPDATES
    assert not factor(np.eye(25) * 3.0)


def test_fill_in_of_an_arrow_matrix():
    """Elimination of a first row and column that touch every state fills the whole matrix in."""
    S = 5
    arrow = np.eye(S, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    assert fill_pattern(arrow).all()
    assert np.array_equal(fill_pattern(arrow.T[::-1, ::-1]), arrow.T[::-1, ::-1] | np.eye(S, dtype=bool))
