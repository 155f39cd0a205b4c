"""Closed form equals ODE (docs/architecture.md, Closed form; issue 2, criterion 1).

For every linear library model and each route -- IV bolus, IV infusion, first-order absorption -- with
ADDL/II multiple dosing and with SS=1 steady state, the exact closed form (sums of exponentials by
superposition, geometric series for steady state) and the batched ODE engine agree to a relative 1e-6
wherever C > 1e-6 * Cmax. Subjects differ (log-normal parameter draws) so every code path is batched.
"""

import numpy as np
import pandas as pd
import pytest

from pkpd.models import pk
from pkpd.engine.simulation import simulate_regimen

RNG = np.random.default_rng(20261122)

MODELS = {
    "OneCompartment": (pk.OneCompartment(), {"CL": 5.0, "V": 50.0}),
    "OneCompartmentOral": (pk.OneCompartmentOral(), {"CL": 5.0, "V": 50.0, "KA": 1.2, "F1": 0.8, "ALAG1": 0.25}),
    "TwoCompartment": (pk.TwoCompartment(), {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0}),
    "TwoCompartmentOral": (
        pk.TwoCompartmentOral(),
        {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0, "KA": 1.0, "F1": 0.7, "ALAG1": 0.5},
    ),
    "ThreeCompartment": (pk.ThreeCompartment(), {"CL": 5.0, "V1": 10.0, "Q": 8.0, "V2": 30.0, "Q3": 1.5, "V3": 80.0}),
    "ThreeCompartmentOral": (
        pk.ThreeCompartmentOral(),
        {"CL": 5.0, "V1": 10.0, "Q": 8.0, "V2": 30.0, "Q3": 1.5, "V3": 80.0, "KA": 0.9, "F1": 0.9, "ALAG1": 0.3},
    ),
    "ParentMetabolite": (
        pk.ParentMetabolite(),
        {"CL": 6.0, "V": 40.0, "FM": 0.8, "CLM": 12.0, "VM": 30.0, "KA": 1.5, "F1": 0.9},
    ),
}


def _events(route, ss):
    """One dosing record: 100 mg every 12 h (ADDL 4), or at steady state (SS=1, then 2 more doses)."""
    cmt = "DEPOT" if route == "oral" else "CENTRAL"
    rate = 40.0 if route == "infusion" else 0.0
    addl = 2 if ss else 4
    return pd.DataFrame(
        {"ID": [1], "TIME": [0.0], "EVID": [1], "AMT": [100.0], "RATE": [rate], "CMT": [cmt], "II": [12.0],
         "ADDL": [addl], "SS": [1 if ss else 0]}
    )


def _population(base, n=8):
    frame = pd.DataFrame({k: v * np.exp(0.3 * RNG.standard_normal(n)) for k, v in base.items()})
    if "F1" in frame:
        frame["F1"] = frame["F1"].clip(upper=1.0)
    frame.insert(0, "ID", np.arange(1, n + 1))
    return frame


CASES = [
    (name, route, ss)
    for name, (model, _) in MODELS.items()
    for route in (("oral", "bolus", "infusion") if "DEPOT" in model.states else ("bolus", "infusion"))
    for ss in (False, True)
]


@pytest.mark.parametrize("name,route,ss", CASES, ids=[f"{n}-{r}-{'ss' if s else 'addl'}" for n, r, s in CASES])
def test_closed_form_equals_ode(name, route, ss):
    model, base = MODELS[name]
    params = _population(base)
    times = np.unique(np.concatenate([np.linspace(0, 72, 289), [0.25, 0.5, 0.75, 2.5, 12.0, 12.5, 24.0, 24.3]]))
    events = _events(route, ss)
    exact = simulate_regimen(model, events, times, params, method="analytic", states=False)
    ode = simulate_regimen(model, events, times, params, method="ode", rtol=1e-10, atol=1e-12, states=False)
    for output in model.outputs:
        c_exact, c_ode = exact[output], ode[output]
        assert np.all(np.isfinite(c_ode))
        frame = pd.DataFrame({"ID": exact.id, "C": c_exact})
        cmax = frame.groupby("ID")["C"].transform("max").to_numpy()
        checked = c_exact > 1e-6 * cmax
        assert checked.sum() > 0.8 * len(c_exact) - 50
        rel = np.abs(c_ode[checked] / c_exact[checked] - 1)
        assert rel.max() < 1e-6, f"{output}: max relative difference {rel.max():.3g}"


EDGE = [
    ("lag longer than II", pk.OneCompartmentOral(), [[1, 0, 1, 100, 0, 1, 6, 2, 1]],
     {"CL": 5, "V": 50, "KA": 1.0, "ALAG1": 8.0}),
    ("lag equal to 2 II", pk.OneCompartmentOral(), [[1, 0, 1, 100, 0, 1, 6, 2, 1]],
     {"CL": 5, "V": 50, "KA": 1.0, "ALAG1": 12.0}),
    ("SS infusion longer than II, with lag", pk.TwoCompartment(), [[1, 0, 1, 200, 10, 1, 12, 1, 1]],
     {"CL": 5, "V1": 20, "Q": 10, "V2": 50, "ALAG1": 5.0}),
    ("SS=2 on top of SS=1", pk.OneCompartment(), [[1, 0, 1, 100, 0, 1, 12, 0, 1], [1, 5, 1, 50, 0, 1, 12, 0, 2]],
     {"CL": 5, "V": 50}),
]


@pytest.mark.parametrize("label,model,rows,params", EDGE, ids=[e[0] for e in EDGE])
def test_steady_state_edge_cases_closed_form_equals_ode(label, model, rows, params):
    """Steady state with copies still in flight at the SS record (lag >= II), overlapping SS infusions
    with lag, and SS=2: the ODE engine's Newton steady state equals the closed form's geometric series."""
    events = pd.DataFrame(rows, columns=["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS"])
    times = np.linspace(0, 40, 81)
    exact = simulate_regimen(model, events, times, params, method="analytic")["CP"]
    ode = simulate_regimen(model, events, times, params, method="ode", rtol=1e-10, atol=1e-12)["CP"]
    checked = exact > 1e-6 * exact.max()
    assert np.max(np.abs(ode[checked] / exact[checked] - 1)) < 1e-6
