"""The outer search of a population fit (``pkpd/estimation/_fit_search.py``).

L-BFGS-B differences the objective with steps of ``FD_STEP`` (1e-5 in steps of unit curvature): the objective is
smooth only to about 1e-9 (closed form) to 1e-8 (ODE), and a step near the square root of that balances its noise
against the truncation of the differences (Nocedal & Wright 2006, Numerical Optimization, 2nd ed., sec. 8.1). While
it searches, the objective extrapolates its predictions over ``SEARCH_EXTRAPOLATION`` in eta, so that those steps in
Omega and sigma simulate nothing; the fit's OFV, covariance step and diagnostics are evaluated at the precise
``EXTRAPOLATE_BELOW``. On theophylline from nlme's fm3Theo start (Pinheiro & Bates 2000, Mixed-Effects Models in S
and S-PLUS, ch. 8) the fit takes at most 100 objective evaluations and 105 batched simulations (97 and 102), where a
step of 1e-6 took 125 and 119.
"""

from __future__ import annotations

import numpy as np
import pytest

from pkpd.estimation import _fit_search
from pkpd.estimation._objective import Objective
from pkpd.population import fit_population, population_ofv

# tests/unit is on sys.path: the same theophylline problem as the EBE search's tests
from test_ebe_search import objective_parts as theophylline  # noqa: F401 (a fixture)


def test_the_search_extrapolates_farther_only_while_it_searches(theophylline, monkeypatch):
    pm, data = theophylline
    seen, simulations = [], []
    per_subject, f_and_g_many = Objective.per_subject, Objective.f_and_g_many
    monkeypatch.setattr(Objective, "per_subject", lambda self, *a: seen.append(self.extrapolate_below)
                        or per_subject(self, *a))
    monkeypatch.setattr(Objective, "f_and_g_many", lambda self, *a, **k: simulations.append(1)
                        or f_and_g_many(self, *a, **k))
    fit = fit_population(pm, data, covariance=False, progress=False)
    assert fit.success
    assert fit.n_evaluations <= 100 and len(simulations) <= 105        # 125 and 119 with steps of 1e-6
    searching, after = seen[:fit.n_evaluations], seen[fit.n_evaluations:]
    assert set(searching) == {_fit_search.SEARCH_EXTRAPOLATION} == {1e-5}
    assert after and set(after) == {Objective.EXTRAPOLATE_BELOW} == {1e-6}
    assert fit.ofv == pytest.approx(population_ofv(fit.final_model, data), abs=1e-9)   # afresh, from eta = 0


def test_the_objective_is_restored_when_the_search_fails():
    class Stub:
        extrapolate_below = Objective.EXTRAPOLATE_BELOW
        multistart = False

    def failing(x):
        raise RuntimeError("the model failed")

    stub = Stub()
    with pytest.raises(RuntimeError, match="the model failed"):
        _fit_search.search(failing, np.zeros(2), np.array([[-1.0, 1.0]] * 2), None, stub, 10)
    assert stub.extrapolate_below == Objective.EXTRAPOLATE_BELOW
