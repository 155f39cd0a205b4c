"""The EBE search of the FOCE-I objective (``Objective.ebe``): damped Newton on every subject at once.

After a rejected step the Levenberg damping jumps to the scale of the Hessian (``Objective.DAMPING``): the search
from eta = 0 at nlme's fm3Theo start on the theophylline data (Pinheiro & Bates 2000, Mixed-Effects Models in S and
S-PLUS, ch. 8) takes 8 batched simulations where tenfold growth of the damping alone took 15, and ends at the same
EBEs: the objective of a search to a tolerance a thousand times tighter.
"""

from __future__ import annotations

import numpy as np
import pytest

import pkpd
from pkpd.estimation._objective import Objective, PopData
from pkpd.models import OneCompartmentOral
from pkpd.population import PopulationModel


def fm3theo(th, eta):
    cl = np.exp(th["lCl"] + eta[:, 1])
    return {"KA": np.exp(th["lKa"] + eta[:, 0]), "CL": cl, "V": cl / np.exp(th["lKe"])}


@pytest.fixture(scope="module")
def objective_parts():
    events = pkpd.load_dataset("theophylline").events
    events["AMT"] = np.where(events["EVID"] == 1, events["DOSE_MGKG"], 0.0)
    data = pkpd.read_nonmem(events)
    pm = PopulationModel(OneCompartmentOral(), {"lKe": -2.5, "lKa": 0.5, "lCl": -3.2}, {"KA": 0.36, "CL": 0.04},
                         pkpd.AdditiveError(0.7), individual=fm3theo)
    return pm, data


class Counting:
    """A :class:`~pkpd.engine.BatchPredictor` that appends the number of parameter sets of each prediction to
    ``counts``, given as a list of sets or stacked."""

    def __init__(self, predictor, counts):
        self._predictor, self._counts = predictor, counts

    def __call__(self, sets, *args, **kwargs):
        self._counts.append(len(sets))
        return self._predictor(sets, *args, **kwargs)

    def stacked(self, values, k):
        self._counts.append(k)
        return self._predictor.stacked(values, k)

    def __getattr__(self, name):
        return getattr(self._predictor, name)


def _search_from_zero(pm, data, tol):
    objective = Objective(pm, PopData(pm, data, "auto"), "FOCEI")
    calls = []
    objective.d.predict_many = Counting(objective.d.predict_many, calls)
    omega = objective.subject_omega(pm.omega_matrix)
    eta = objective.ebe(pm.theta_values, omega, dict(pm.error.parameters), tol=tol, starts="zero")[0]
    return objective, eta, len(calls)


def test_the_search_from_zero_damps_a_rejected_step_on_the_scale_of_the_hessian(objective_parts):
    pm, data = objective_parts
    objective, eta, simulations = _search_from_zero(pm, data, 1e-7)
    assert objective.converged
    assert simulations <= 8                                 # 15 with the damping grown tenfold from 1e-6 alone
    tight, eta_tight, _ = _search_from_zero(pm, data, 1e-10)
    np.testing.assert_allclose(eta, eta_tight, rtol=0, atol=1e-7)
    theta, omega, sigma = pm.theta_values, pm.omega_matrix, dict(pm.error.parameters)
    objective.eta, tight.eta = eta, eta_tight
    assert objective(theta, omega, sigma) == pytest.approx(tight(theta, omega, sigma), abs=1e-9)
