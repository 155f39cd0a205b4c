"""The outer search of a population fit (``pkpd/estimation/_fit_search.py``).

L-BFGS-B differences the objective with steps of ``FD_STEP`` (1e-4 in steps of unit curvature): the objective is
smooth only to about 1e-8, and a step near the square root of that balances its noise against the truncation of the
differences (Nocedal & Wright 2006, Numerical Optimization, 2nd ed., sec. 8.1). While it searches, the objective
extrapolates its predictions over ``SEARCH_EXTRAPOLATION`` in eta, so that those steps in Omega and sigma simulate
nothing; the fit's OFV, covariance step and diagnostics are evaluated at the precise ``EXTRAPOLATE_BELOW``. On
theophylline from nlme's fm3Theo start (Pinheiro & Bates 2000, Mixed-Effects Models in S and S-PLUS, ch. 8) the fit
takes at most 90 objective evaluations and batched simulations, where a step of 1e-6 took 125 and 119.
"""

from __future__ import annotations

import numpy as np
import pytest

import pkpd
from pkpd.estimation import _fit_search
from pkpd.estimation._objective import Objective
from pkpd.models import OneCompartmentOral
from pkpd.population import PopulationModel, fit_population, population_ofv


def fm3theo(th, eta):
    cl = np.exp(th["lCl"] + eta[:, 1])
    return {"KA": np.exp(th["lKa"] + eta[:, 0]), "CL": cl, "V": cl / np.exp(th["lKe"])}


@pytest.fixture(scope="module")
def theophylline():
    events = pkpd.load_dataset("theophylline").events
    events["AMT"] = np.where(events["EVID"] == 1, events["DOSE_MGKG"], 0.0)
    pm = PopulationModel(OneCompartmentOral(), {"lKe": -2.5, "lKa": 0.5, "lCl": -3.2}, {"KA": 0.36, "CL": 0.04},
                         pkpd.AdditiveError(0.7), individual=fm3theo)
    return pm, pkpd.read_nonmem(events)


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
    assert fit.n_evaluations <= 90 and len(simulations) <= 90          # 125 and 119 with steps of 1e-6
    searching, after = seen[:fit.n_evaluations], seen[fit.n_evaluations:]
    assert set(searching) == {_fit_search.SEARCH_EXTRAPOLATION} == {1e-4}
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
