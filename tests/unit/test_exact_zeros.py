"""Exact zeros (issue 19, item 4): a compartment no drug can have reached holds exactly 0, on every path.

At the time of an oral dose, and until its lag has passed, the central and peripheral compartments are empty;
a compartment upstream of every dose (the depot of an IV-dosed oral model) stays empty. The exact value is 0,
and a NONMEM control stream tests it (``IF (F.GT.0) IPRED = LOG(F)``): a 1e-16 residue from rounding takes the
other branch and moves the objective by many units. The closed form's modal route rounds (``V V^-1 != I`` in the
last bits), so it states where drug can be (``pkpd.engine._closed_form._support``); here every linear library
model is checked on the closed form, the exact (matrix-exponential) integrator, with parameters changing at
records, and the ODE solvers, with ``== 0.0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pkpd.engine.simulation import simulate
from pkpd.models import pk

LAG = 0.5
ORAL = {
    "OneCompartmentOral": (pk.OneCompartmentOral(), {"CL": 5.0, "V": 50.0, "KA": 1.2, "ALAG1": LAG}),
    "TwoCompartmentOral": (pk.TwoCompartmentOral(),
                           {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0, "KA": 1.0, "ALAG1": LAG}),
    "ThreeCompartmentOral": (pk.ThreeCompartmentOral(),
                             {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0, "Q3": 3.0, "V3": 80.0, "KA": 0.9,
                              "ALAG1": LAG}),
    "ParentMetabolite": (pk.ParentMetabolite(),
                         {"CL": 5.0, "V": 50.0, "FM": 0.4, "CLM": 8.0, "VM": 30.0, "KA": 1.0, "ALAG1": LAG}),
}
IV = {
    "TwoCompartment": (pk.TwoCompartment(), {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0}),
    "ThreeCompartment": (pk.ThreeCompartment(),
                         {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0, "Q3": 3.0, "V3": 80.0}),
}
PATHS = [dict(method="analytic"), dict(method="ode", solver="exact"), dict(method="ode", solver="dp5"),
         dict(method="ode", solver="lsoda")]


def _events(records, n=4):
    rows = [dict(ID=i + 1, TIME=t, EVID=e, AMT=a, CMT=c, MDV=int(e != 0), DV=0.0) for i in range(n)
            for t, e, a, c in records]
    return pd.DataFrame(rows)


def _params(base, n=4):
    """``n`` subjects with different parameters (the rounding differs from subject to subject); one lag."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({k: v * np.exp(0.3 * rng.standard_normal(n) * (k not in ("ALAG1", "FM")))
                          for k, v in base.items()})
    frame.insert(0, "ID", np.arange(1, n + 1))
    return frame


def _states(model, records, params, path, record_params=None):
    kwargs = dict(path, states=True)
    if record_params is not None:
        kwargs["record_params"] = record_params
    result = simulate(model, _events(records, len(params)), params, **kwargs)
    return np.column_stack([np.asarray(result[s], float) for s in model.states])


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.get("solver", p["method"]))
@pytest.mark.parametrize("name", list(ORAL))
def test_nothing_has_left_the_depot_at_the_dose_or_before_its_lag(name, path):
    model, base = ORAL[name]
    params = _params(base)
    # before the dose record, at it, after it at the same time, inside the lag and at its end (one row each);
    # after the lag (drug everywhere)
    records = [(0.0, 0, 0.0, 2), (0.0, 1, 100.0, 1), (0.0, 0, 0.0, 2), (0.5 * LAG, 0, 0.0, 2), (LAG, 0, 0.0, 2),
               (2 * LAG, 0, 0.0, 2)]
    x = _states(model, records, params, path).reshape(len(params), len(records), len(model.states))
    early = x[:, :4, :]                 # every state, the depot included (the dose arrives at the lag's end)
    assert np.all(early == 0.0), early[early != 0.0]
    assert np.all(x[:, 4, 1:] == 0.0), x[:, 4, 1:]      # at the lag's end nothing has left the depot
    assert np.all(x[:, 5, :] > 0.0)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.get("solver", p["method"]))
@pytest.mark.parametrize("name", list(ORAL) + list(IV))
def test_iv_doses_leave_upstream_and_unreached_compartments_empty(name, path):
    model, base = {**ORAL, **IV}[name]
    params = _params(base)
    central = model.states.index("CENTRAL")
    records = [(0.0, 1, 100.0, central + 1), (0.0, 0, 0.0, central + 1), (2.0, 0, 0.0, central + 1),
               (24.0, 0, 0.0, central + 1)]
    x = _states(model, records, params, path).reshape(len(params), len(records), len(model.states))
    if "DEPOT" in model.states:          # upstream of the dose: never reached
        assert np.all(x[:, :, model.states.index("DEPOT")] == 0.0)
    at_dose = np.delete(x[:, :2, :], central, axis=2)
    assert np.all(at_dose == 0.0), at_dose          # the peripherals at the bolus itself
    assert np.all(x[:, :, central] > 0.0)


@pytest.mark.parametrize("name", list(ORAL))
def test_exact_zeros_with_clearance_changing_at_records(name):
    """The time-varying closed form (parameters changing at records) keeps the zeros too."""
    model, base = ORAL[name]
    params = _params(base)
    records = [(0.0, 0, 0.0, 2), (0.0, 1, 100.0, 1), (0.0, 0, 0.0, 2), (0.5 * LAG, 0, 0.0, 2), (6.0, 0, 0.0, 2)]
    n, m = len(params), len(records)
    steps = np.tile([1.0, 1.0, 0.5, 1.5, 1.5], n)
    record_params = {"CL": np.repeat(params["CL"].to_numpy(), m) * steps}
    for path in (dict(method="analytic"), dict(method="ode", solver="dp5")):
        x = _states(model, records, params, path, record_params).reshape(n, m, len(model.states))
        assert np.all(x[:, :4, :] == 0.0), (path, x[:, :4, :])
        assert np.all(x[:, 4, :] > 0.0)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.get("solver", p["method"]))
@pytest.mark.parametrize("name", ["TwoCompartmentOral", "ParentMetabolite"])
def test_a_reset_and_dose_empties_the_body_again(name, path):
    """EVID 4 at 24 h (reset and dose): the drug of the first dose is gone, the new dose sits in the depot."""
    model, base = ORAL[name]
    params = _params({k: v for k, v in base.items() if k != "ALAG1"})
    records = [(0.0, 1, 100.0, 1), (5.0, 0, 0.0, 2), (24.0, 4, 100.0, 1), (24.0, 0, 0.0, 2), (30.0, 0, 0.0, 2)]
    x = _states(model, records, params, path).reshape(len(params), len(records), len(model.states))
    assert np.all(x[:, 1, :] > 0.0) and np.all(x[:, 4, :] > 0.0)
    assert np.all(x[:, 3, 1:] == 0.0), x[:, 3, 1:]
    np.testing.assert_allclose(x[:, 3, 0], 100.0, rtol=1e-12)
