"""Property-based invariants of the simulation engine: superposition, dose
proportionality, non-negativity, immutability of inputs, and agreement of the explicit and implicit
ODE paths."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkpd.models import OneCompartmentMM, TwoCompartmentOral
from pkpd.engine.simulation import simulate_regimen

COLUMNS = ["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS"]
TIMES = np.linspace(0, 48, 97)
PARAMS = {"CL": 4.0, "V1": 25.0, "Q": 8.0, "V2": 60.0, "KA": 0.8, "F1": 0.9, "ALAG1": 0.4}


@st.composite
def doses(draw):
    """A random list of dose records: bolus or infusion, into DEPOT or CENTRAL, with ADDL/II."""
    n = draw(st.integers(1, 4))
    rows = []
    for _ in range(n):
        time = draw(st.floats(0, 30, allow_nan=False).map(lambda x: round(x, 2)))
        amt = draw(st.floats(1, 500).map(lambda x: round(x, 1)))
        cmt = draw(st.sampled_from([1, 2]))
        rate = draw(st.sampled_from([0.0, 0.0, 25.0, 100.0])) if cmt == 2 else 0.0
        addl = draw(st.integers(0, 3))
        ii = draw(st.sampled_from([6.0, 8.0, 12.0])) if addl else 0.0
        rows.append([1, time, 1, amt, rate, cmt, ii, addl, 0])
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("TIME", kind="stable").reset_index(drop=True)


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(a=doses(), b=doses(), method=st.sampled_from(["analytic", "ode"]))
def test_superposition_of_two_regimens(a, b, method):
    """Linear model: simulating regimens A and B together equals the sum of simulating each."""
    model = TwoCompartmentOral()
    both = pd.concat([a, b]).sort_values("TIME", kind="stable").reset_index(drop=True)
    kw = dict(method=method, rtol=1e-10, atol=1e-12) if method == "ode" else dict(method=method)
    sa = simulate_regimen(model, a, TIMES, PARAMS, **kw)["CP"]
    sb = simulate_regimen(model, b, TIMES, PARAMS, **kw)["CP"]
    sab = simulate_regimen(model, both, TIMES, PARAMS, **kw)["CP"]
    np.testing.assert_allclose(sab, sa + sb, rtol=1e-6, atol=1e-9 * max(1.0, sab.max()))


@SETTINGS
@given(a=doses(), factor=st.floats(0.1, 10))
def test_dose_proportionality_and_non_negativity(a, factor):
    """Linear model: scaling every amount (and rate) by k scales the concentrations by k; C >= 0."""
    model = TwoCompartmentOral()
    scaled = a.copy()
    scaled["AMT"] *= factor
    scaled["RATE"] *= factor
    base = simulate_regimen(model, a, TIMES, PARAMS)["CP"]
    np.testing.assert_allclose(simulate_regimen(model, scaled, TIMES, PARAMS)["CP"], factor * base, rtol=1e-9,
                               atol=1e-12)
    assert (base >= -1e-12).all()


@SETTINGS
@given(a=doses())
def test_inputs_are_not_modified(a):
    """Neither the event table nor the parameter table passed in is modified."""
    before = a.copy(deep=True)
    params = pd.DataFrame({"ID": [1, 2], **{k: [v, 1.5 * v] for k, v in PARAMS.items()}})
    params["F1"] = params["F1"].clip(upper=1)
    p_before = params.copy(deep=True)
    simulate_regimen(TwoCompartmentOral(), a, TIMES, params, method="ode")
    pd.testing.assert_frame_equal(a, before)
    pd.testing.assert_frame_equal(params, p_before)


def test_explicit_and_implicit_solvers_agree_on_a_nonlinear_model():
    """Michaelis-Menten with infusions and boluses: DP5 and BDF agree to the tolerance asked."""
    events = pd.DataFrame([[1, 0, 1, 800, 400, 1, 0, 0, 0], [1, 6, 1, 300, 0, 1, 8, 4, 0]], columns=COLUMNS)
    params = pd.DataFrame({"ID": [1, 2, 3], "VMAX": [10.0, 17.3, 30.0], "KM": [2.0, 5.7, 9.0], "V": [40.0, 49, 60]})
    dp5 = simulate_regimen(OneCompartmentMM(), events, TIMES, params, method="ode", rtol=1e-9, atol=1e-11)["CP"]
    bdf = simulate_regimen(OneCompartmentMM(), events, TIMES, params, method="ode", solver="bdf", rtol=1e-9,
                           atol=1e-11)["CP"]
    np.testing.assert_allclose(bdf, dp5, rtol=2e-6, atol=1e-9)


def test_subjects_in_a_batch_do_not_affect_each_other():
    """A subject's result is the same alone or in a batch with very different subjects (per-subject steps).

    Equal up to rounding (BLAS may sum in another order for another batch size); a shared step size
    would differ at the level of the tolerance (~1e-7).
    """
    events = pd.DataFrame([[1, 0, 1, 100, 0, 1, 12, 2, 0]], columns=COLUMNS)
    rng = np.random.default_rng(3)
    batch = pd.DataFrame({"ID": range(50), **{k: v * np.exp(rng.standard_normal(50)) for k, v in PARAMS.items()}})
    batch["F1"] = batch["F1"].clip(upper=1)
    together = simulate_regimen(TwoCompartmentOral(), events, TIMES, batch, method="ode")["CP"].reshape(50, -1)
    alone = simulate_regimen(TwoCompartmentOral(), events, TIMES, batch.iloc[[17]], method="ode")["CP"]
    np.testing.assert_allclose(together[17], alone, rtol=1e-13, atol=1e-15)
