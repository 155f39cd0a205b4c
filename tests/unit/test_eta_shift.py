"""Steps in the fixed effects that the random effects reproduce (``pkpd/estimation/_eta_shift.py``).

(1) :func:`eta_shift` finds the shift where there is one -- a log-normal typical value, a covariate coefficient on
one (a shift that differs between subjects), through a user's ``individual`` function -- and refuses where there is
none: a typical value without a random effect, a fixed effect scaling a random effect, a change of two parameters
only one of which a random effect reproduces. (2) In the FOCE-I objective, a step in such a fixed effect moves the last
simulated point instead of simulating again, and gives the objective a simulation gives (1e-9); a small step in
another fixed effect simulates without the cross terms of the curvature (reused from the last point), with the same
objective. A step after a step in another fixed effect is a shift from the gradient's centre.
"""

from __future__ import annotations

import numpy as np
import pytest

import pkpd
from pkpd.estimation._eta_shift import eta_shift
from pkpd.estimation._objective import Objective, PopData
from pkpd.models import OneCompartmentOral
from pkpd.population import PopulationModel
from test_ebe_search import Counting       # (tests/unit is on sys.path)


@pytest.fixture(scope="module")
def theoph():
    data = pkpd.load_dataset("theophylline")
    return data, data.events["ID"].factorize()[0]


def _shift(pm, theoph, name, step=1e-6, eta=None):
    data, rank = theoph
    design = pm.design(data.events, rank)
    eta = np.zeros((12, len(pm.eta_names))) if eta is None else eta
    theta = dict(pm.theta_values)
    return eta_shift(pm, design, theta, dict(theta, **{name: theta[name] * (1 + step)}), eta)


def test_a_step_in_a_log_normal_typical_value_is_a_shift_of_its_random_effect(theoph):
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
                         pkpd.AdditiveError(0.7), [pkpd.power("CL", "WT", reference=70, exponent=0.75)])
    eta = np.random.default_rng(3).normal(0.0, 0.3, (12, 2))
    shift = _shift(pm, theoph, "KA", eta=eta)
    np.testing.assert_allclose(shift, np.tile([0.0, np.log1p(1e-6)], (12, 1)), rtol=0, atol=1e-13)
    np.testing.assert_allclose(_shift(pm, theoph, "CL", eta=eta)[:, 0], np.log1p(1e-6), rtol=0, atol=1e-13)
    assert _shift(pm, theoph, "V") is None                      # no random effect on V
    # the exponent of weight: a shift of eta_CL by 0.75e-6 log(WT / 70), subject by subject
    weight = theoph[0].events.groupby(theoph[1])["WT"].first().to_numpy()
    np.testing.assert_allclose(_shift(pm, theoph, "CL_WT", eta=eta)[:, 0], 0.75e-6 * np.log(weight / 70), rtol=0,
                               atol=1e-13)


def test_through_a_users_parameter_function(theoph):
    """nlme's fm3Theo: CL = exp(lCl + eta_CL), V = CL / exp(lKe). A step in lCl moves CL and V as eta_CL does; a step
    in lKe moves V alone, which no random effect does; a fixed effect scaling a random effect is no shift."""
    def fm3theo(th, eta):
        cl = np.exp(th["lCl"] + eta[:, 1])
        return {"KA": np.exp(th["lKa"] + eta[:, 0]), "CL": cl, "V": cl / np.exp(th["lKe"])}

    def scaled(th, eta):
        return {"KA": np.full(len(eta), 1.5), "CL": th["CL"] * np.exp(th["s"] * eta[:, 0]), "V": np.full(len(eta), 30.)}

    theta = {"lKe": -2.5, "lKa": 0.5, "lCl": -3.2}
    pm = PopulationModel(OneCompartmentOral(), theta, {"KA": 0.36, "CL": 0.04}, pkpd.AdditiveError(0.7),
                         individual=fm3theo)
    np.testing.assert_allclose(_shift(pm, theoph, "lCl")[:, 1], -3.2e-6, rtol=0, atol=1e-13)
    assert _shift(pm, theoph, "lKe") is None
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.0, "s": 1.0}, {"CL": 0.1}, pkpd.AdditiveError(0.7),
                         individual=scaled)
    eta = np.random.default_rng(4).normal(0.0, 0.3, (12, 1))
    np.testing.assert_allclose(_shift(pm, theoph, "CL", eta=eta), np.log1p(1e-6), rtol=0, atol=1e-13)
    assert _shift(pm, theoph, "s", eta=eta) is None


def test_the_objective_after_a_shifted_step_is_the_objective_a_simulation_gives(theoph):
    data, _ = theoph
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
                         pkpd.AdditiveError(0.7))
    theta, omega, sigma = pm.theta_values, pm.omega_matrix, dict(pm.error.parameters)
    stepped = dict(theta, KA=theta["KA"] * (1 + 1e-6))
    shifting = Objective(pm, PopData(pm, data, "auto"), "FOCEI")
    shifting(theta, omega, sigma)
    calls = []
    shifting.d.predict_many = Counting(shifting.d.predict_many, calls)
    shifted = shifting(stepped, omega, sigma)
    assert calls == []                                          # no simulation
    fresh = Objective(pm, PopData(pm, data, "auto"), "FOCEI")
    fresh(theta, omega, sigma)
    fresh._anchors = ()                                         # the same EBE starts, but simulating
    simulated = fresh(stepped, omega, sigma)
    assert shifted == pytest.approx(simulated, abs=1e-9)
    assert shifted != fresh(theta, omega, sigma)                # (the step moved the objective)


def test_a_small_step_in_another_fixed_effect_reuses_the_cross_curvature(theoph):
    data, _ = theoph
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
                         pkpd.AdditiveError(0.7))
    theta, omega, sigma = pm.theta_values, pm.omega_matrix, dict(pm.error.parameters)
    stepped = dict(theta, V=theta["V"] * (1 + 1e-6))                # V has no random effect: simulated
    reusing = Objective(pm, PopData(pm, data, "auto"), "FOCEI")
    reusing(theta, omega, sigma)
    sets = []
    reusing.d.predict_many = Counting(reusing.d.predict_many, sets)
    value = reusing(stepped, omega, sigma)
    assert sets[0] == 1 + 2 * 2                                     # f and g at the EBEs; no cross term (would be 6)
    fresh = Objective(pm, PopData(pm, data, "auto"), "FOCEI")
    fresh(theta, omega, sigma)
    fresh._anchors = ()
    assert value == pytest.approx(fresh(stepped, omega, sigma), abs=1e-9)


def test_a_step_after_a_step_in_another_fixed_effect_is_a_shift_from_the_centre(theoph):
    """The outer gradient steps each fixed effect in turn from one centre: a step in KA that follows a step in V (no
    random effect: simulated) differs from V's point in two fixed effects, from the centre's in KA alone -- a shift of
    the centre's anchor, with no simulation, and the objective a simulation gives."""
    data, _ = theoph
    pm = PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
                         pkpd.AdditiveError(0.7))
    theta, omega, sigma = pm.theta_values, pm.omega_matrix, dict(pm.error.parameters)
    objective = Objective(pm, PopData(pm, data, "auto"), "FOCEI")
    objective(theta, omega, sigma)
    objective(dict(theta, V=theta["V"] * (1 + 1e-7)), omega, sigma)
    calls = []
    objective.d.predict_many = Counting(objective.d.predict_many, calls)
    stepped = dict(theta, KA=theta["KA"] * (1 + 1e-7))         # (steps of the outer search's size: EBEs in reach)
    shifted = objective(stepped, omega, sigma)
    assert calls == []                                              # no simulation
    fresh = Objective(pm, PopData(pm, data, "auto"), "FOCEI")
    fresh(theta, omega, sigma)
    fresh._anchors = ()
    assert shifted == pytest.approx(fresh(stepped, omega, sigma), abs=1e-9)
