"""Exact integrator of linear models (``pkpd/engine/_exact.py``; issue 17, item 3).

The ODE engine's breakpoint table solved by matrix exponentials between breakpoints: (1) without
time-varying parameters it reproduces the closed form (1e-10 relative); (2) with parameters changing at
records (``record_params``) it matches the ODE engine at tight tolerances (1e-7 relative) and hand values
(1e-12); linear models then stay on it (``method="auto"``/``"analytic"``), nonlinear ones on the ODE solver.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.engine._exact import integrate_exact
from pkpd.engine._explicit import Breakpoints, Course, Kind, Outputs, Start
from pkpd.engine.simulation import simulate
from pkpd.io import read_nonmem
from pkpd.models import pk

EVENTS = Path(__file__).resolve().parents[1] / "validation" / "events"
with open(EVENTS / "cases.toml", "rb") as fh:
    EVENT_CASES = tomllib.load(fh)["case"]

RNG = np.random.default_rng(20261206)

MODELS = {
    "OneCompartment": (pk.OneCompartment(), {"CL": 5.0, "V": 50.0}),
    "OneCompartmentOral": (pk.OneCompartmentOral(), {"CL": 5.0, "V": 50.0, "KA": 1.2, "F1": 0.8, "ALAG1": 0.25}),
    "TwoCompartment": (pk.TwoCompartment(), {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0}),
    "TwoCompartmentOral": (pk.TwoCompartmentOral(),
                           {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0, "KA": 1.0, "F1": 0.7, "ALAG1": 0.5}),
}


def _population(base, n=6):
    frame = pd.DataFrame({k: v * np.exp(0.3 * RNG.standard_normal(n)) for k, v in base.items()})
    if "F1" in frame:
        frame["F1"] = frame["F1"].clip(upper=1.0)
    frame.insert(0, "ID", np.arange(1, n + 1))
    return frame


def _rec(time, evid=0, amt=0.0, rate=0.0, cmt=1, ii=0.0, addl=0, ss=0):
    return dict(TIME=float(time), EVID=evid, AMT=amt, RATE=rate, CMT=cmt, II=ii, ADDL=addl, SS=ss)


def _schedules(dose_cmt):
    """Dosing patterns (one subject's records) into compartment ``dose_cmt``: bolus, infusion, ADDL, SS=1,
    SS=2 on top, SS infusion longer than II, SS constant infusion, resets (EVID 3, EVID 4)."""
    c = dose_cmt
    obs = lambda ts: [_rec(t, cmt=1) for t in ts]  # noqa: E731
    return {
        "bolus": [_rec(0, 1, 100.0, cmt=c)] + obs([0.5, 1, 2, 5, 12, 24]),
        "infusion": [_rec(0, 1, 100.0, 25.0, cmt=c)] + obs([1, 4, 6, 12, 24]),
        "addl": [_rec(0, 1, 100.0, cmt=c, ii=12.0, addl=4)] + obs([1, 11.9, 12, 12.2, 30, 48, 60, 72]),
        "addl_infusion": [_rec(0, 1, 100.0, 40.0, cmt=c, ii=8.0, addl=5)] + obs([1, 3, 8, 9, 20, 40, 50]),
        "ss1": [_rec(0, 1, 100.0, cmt=c, ii=12.0, addl=2, ss=1)] + obs([0, 1, 6, 12, 13, 30, 48]),
        "ss1_infusion_long": [_rec(0, 1, 100.0, 5.0, cmt=c, ii=12.0, addl=1, ss=1)] + obs([0, 3, 12, 21, 30]),
        "ss2_on_top": [_rec(0, 1, 50.0, cmt=c, ii=24.0, addl=3), _rec(6, 1, 100.0, cmt=c, ii=12.0, ss=2)]
        + obs([7, 12, 18, 30]),
        "ss_constant_infusion": [_rec(0, 1, 0.0, 10.0, cmt=c, ss=1)] + obs([0, 5, 20]),
        "reset_evid3": [_rec(0, 1, 100.0, cmt=c, ii=12.0, addl=3)] + obs([6, 14]) + [_rec(20, 3, cmt=1)]
        + obs([21, 30, 40]),
        "reset_evid4": [_rec(0, 1, 100.0, cmt=c), _rec(10, 0, cmt=1), _rec(0, 4, 60.0, cmt=c)] + obs([2, 8]),
    }


def _dataset(records, n):
    rows = [dict(ID=i, **r) for i in range(1, n + 1) for r in records]
    return pd.DataFrame(rows)


CASES = [(name, sched) for name, (model, _) in MODELS.items()
         for sched in _schedules(1)]


def _rel(a, b, floor):
    return np.abs(a - b) / np.maximum(np.abs(b), floor)


def _assert_close(got, want, rtol, what=""):
    """``rtol`` relative, beside a round-off floor of 1e-13 of the largest value: the closed form sums modal
    terms that cancel where a state is still (nearly) zero (a peripheral amount of 1.4e-14 mg at a bolus,
    where the exponential gives exactly 0)."""
    err = np.abs(got - want)
    bound = rtol * np.abs(want) + 1e-13 * np.max(np.abs(want))
    assert np.all(err <= bound), (what, float(np.max(err / np.maximum(np.abs(want), 1e-300))))


# ---- (1) constant parameters: the closed form


@pytest.mark.parametrize("name, sched", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_exact_integrator_reproduces_the_closed_form(name, sched):
    model, base = MODELS[name]
    params = _population(base)
    dose_cmt = 1  # DEPOT for the oral models, CENTRAL for IV
    events = _dataset(_schedules(dose_cmt)[sched], len(params))
    closed = simulate(model, events, params, method="analytic", states=True)
    exact = simulate(model, events, params, method="ode", solver="exact", states=True)
    for col in ("CP",) + model.states:
        _assert_close(exact[col], closed[col], 1e-10, col)


@pytest.mark.parametrize("name", ["OneCompartmentOral", "TwoCompartment"])
def test_exact_integrator_reproduces_the_closed_form_on_iv_and_central_infusions(name):
    """The oral models also dosed into CENTRAL (IV bolus + infusion on top of oral doses)."""
    model, base = MODELS[name]
    params = _population(base)
    c = model.state_index("CENTRAL") + 1
    records = [_rec(0, 1, 100.0, cmt=1, ii=12.0, addl=3), _rec(3, 1, 50.0, 10.0, cmt=c), _rec(7, 1, 20.0, cmt=c)]
    records += [_rec(t, cmt=c) for t in (0.5, 3, 5, 7, 8, 20, 40)]
    records.sort(key=lambda r: r["TIME"])  # stable: a dose before the observation at its time
    events = _dataset(records, len(params))
    closed = simulate(model, events, params, method="analytic")["CP"]
    exact = simulate(model, events, params, method="ode", solver="exact")["CP"]
    _assert_close(exact, closed, 1e-10)


@pytest.mark.parametrize("case", EVENT_CASES, ids=[c["name"] for c in EVENT_CASES])
def test_exact_integrator_on_the_event_conformance_cases(case):
    """Every hand-derived event case (lag, F, R/D, resets, SS=1/2, ADDL, ties) gives the closed form's values."""
    events = read_nonmem(EVENTS / case["file"]).events
    params = pd.DataFrame(case["params_by_id"]) if "params_by_id" in case else dict(case["params"])
    model = getattr(pk, case["model"])()
    closed = simulate(model, events, params, method="analytic")["CP"]
    exact = simulate(model, events, params, method="ode", solver="exact")["CP"]
    np.testing.assert_allclose(exact, closed, rtol=1e-10, atol=1e-14)


def test_regimen_dense_outputs_and_repeated_eigenvalue():
    """Model.simulate's outputs between breakpoints (dense), with KA = CL/V (a defective system matrix)."""
    model = pk.OneCompartmentOral()
    params = {"CL": 5.0, "V": 50.0, "KA": 0.1}
    times = np.linspace(0, 48, 193)
    regimen = pkpd.Bolus(100, time=0, cmt="DEPOT", ii=12, addl=3)
    closed = model.simulate(regimen, times, params, method="analytic")["CP"]
    exact = model.simulate(regimen, times, params, method="ode", solver="exact")["CP"]
    assert _rel(exact, closed, 1e-12 * closed.max()).max() <= 1e-10


def test_singular_system_matrix_is_exact():
    """``x' = A x + r`` with singular ``A`` (no elimination: an integrator): the amount is D + R t exactly."""

    class Reservoir(pk.OneCompartment):
        def system_matrix(self, p):
            return np.zeros((len(p["CL"]), 1, 1))

    S = 1
    bps = Breakpoints.build(1, np.array([0, 0]), np.array([1.0, 3.0]), np.zeros(2),
                            np.array([Kind.RATE, Kind.RATE]), value=np.array([2.0, -2.0]))
    start = Start(np.zeros(1), np.full((1, S), 10.0), np.zeros((1, S)))
    course = Course(bps, np.array([5.0]), np.zeros((0, S)))
    out = Outputs(0, np.zeros(4, np.int64), np.array([0.5, 2.0, 3.0, 5.0]))
    y_end, _, dense = integrate_exact(Reservoir(), {"CL": np.ones(1), "V": np.ones(1)}, start, course, out)
    np.testing.assert_allclose(dense[:, 0], [10.0, 12.0, 14.0, 14.0], rtol=1e-14)
    np.testing.assert_allclose(y_end[:, 0], [14.0], rtol=1e-14)


# ---- (2) parameters changing at records


def _varying(model, base, records, n, carry):
    """A dataset of ``n`` subjects, their parameters, and CL changing at records (per subject: x1, x0.5, x1.5)."""
    events = _dataset(records, n)
    params = _population(base, n)
    m = len(records)
    steps = np.where(np.arange(m) < m // 3, 1.0, np.where(np.arange(m) < 2 * m // 3, 0.5, 1.5))
    cl = np.repeat(params["CL"].to_numpy(), m) * np.tile(steps, n)
    return events, params, {"CL": cl}


@pytest.mark.parametrize("carry", ["nocb", "locf"])
@pytest.mark.parametrize("name, sched", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_clearance_changing_at_records_matches_the_ode_engine(name, sched, carry):
    model, base = MODELS[name]
    events, params, rp = _varying(model, base, _schedules(1)[sched], 4, carry)
    exact = simulate(model, events, params, record_params=rp, carry=carry, states=True)
    assert exact.method == "analytic"
    ode = simulate(model, events, params, method="ode", record_params=rp, carry=carry, rtol=1e-10, atol=1e-12,
                   states=True)
    assert ode.method == "ode"
    for col in ("CP",) + model.states:
        floor = 1e-6 * np.max(np.abs(ode[col])) + 1e-300  # the ODE engine's absolute error (atol) near zero
        assert _rel(exact[col], ode[col], floor).max() <= 1e-7, col


def test_analytic_with_record_params_is_the_exact_path():
    model, base = MODELS["TwoCompartmentOral"]
    events, params, rp = _varying(model, base, _schedules(1)["ss1"], 3, "nocb")
    a = simulate(model, events, params, method="analytic", record_params=rp)
    b = simulate(model, events, params, method="ode", solver="exact", record_params=rp)
    assert a.method == "analytic" and b.method == "ode"
    np.testing.assert_array_equal(a["CP"], b["CP"])


def test_constant_record_params_give_the_closed_form():
    """record_params equal to the subject's values: the exact path (with PARAMS breakpoints) = the closed form."""
    model, base = MODELS["TwoCompartmentOral"]
    records = _schedules(1)["ss1"] + [_rec(50, 3, cmt=1), _rec(51, 1, 80.0, cmt=1), _rec(60, cmt=2)]
    events = _dataset(records, 5)
    params = _population(base, 5)
    rp = {"CL": np.repeat(params["CL"].to_numpy(), len(records)), "V1": np.repeat(params["V1"].to_numpy(),
                                                                                  len(records))}
    closed = simulate(model, events, params, method="analytic")["CP"]
    exact = simulate(model, events, params, record_params=rp)["CP"]
    assert _rel(exact, closed, 1e-300).max() <= 1e-10


@pytest.mark.parametrize("carry, switch", [("nocb", 4.0), ("locf", 6.0)])
def test_one_compartment_bolus_clearance_change_by_hand(carry, switch):
    """C = D/V e^{-k1 t} up to the switch, then C(t1) e^{-k2 (t - t1)}; D = 100, V = 10, CL 2 -> 5 at the
    record at 6 h (NOCB: in force from 4 h; LOCF: from 6 h)."""
    times = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 12.0, 24.0, 100.0])
    cl = np.array([2.0, 2.0, 2.0, 5.0, 5.0, 5.0, 5.0, 5.0])
    events = _dataset([_rec(times[0], 1, 100.0)] + [_rec(t) for t in times[1:]], 1)
    res = simulate(pk.OneCompartment(), events, {"V": 10.0}, record_params={"CL": cl}, carry=carry)
    k1, k2 = 0.2, 0.5
    hand = np.where(times <= switch, 10.0 * np.exp(-k1 * times),
                    10.0 * np.exp(-k1 * switch) * np.exp(-k2 * (times - switch)))
    assert res.method == "analytic"
    assert _rel(res["CP"], hand, 1e-300).max() <= 1e-12


def test_steady_state_under_the_parameters_of_its_record():
    """SS=1 bolus at 0 with CL of its record (2 L/h), CL -> 4 L/h from the record at 6 h (LOCF). 1-cmt IV,
    V = 10: the periodic trough... C(0) = D/V / (1 - e^{-k1 II}); then decays with k1 to 6 h, with k2 after."""
    D, V, ii = 100.0, 10.0, 12.0
    times = np.array([0.0, 3.0, 6.0, 9.0])
    events = _dataset([_rec(0, 1, D, ii=ii, ss=1)] + [_rec(t) for t in times[1:]], 1)
    res = simulate(pk.OneCompartment(), events, {"V": V}, record_params={"CL": [2.0, 2.0, 4.0, 4.0]}, carry="locf")
    k1, k2 = 0.2, 0.4
    c0 = D / V / (1 - np.exp(-k1 * ii))
    hand = np.array([c0, c0 * np.exp(-3 * k1), c0 * np.exp(-6 * k1), c0 * np.exp(-6 * k1 - 3 * k2)])
    assert _rel(res["CP"], hand, 1e-300).max() <= 1e-12


def test_nonlinear_models_keep_the_ode_solver():
    model = pk.OneCompartmentMM()
    events = _dataset([_rec(0, 1, 100.0)] + [_rec(t) for t in (1, 2, 4)], 1)
    res = simulate(model, events, {"V": 10.0}, record_params={"VMAX": [10.0, 10.0, 20.0, 20.0]})
    assert res.method == "ode"
    with pytest.raises(ValueError, match="needs a linear model"):
        simulate(model, events, {"V": 10.0}, method="ode", solver="exact")
    with pytest.raises(pkpd.ModelError):
        simulate(model, events, {"V": 10.0}, method="analytic", record_params={"VMAX": [10.0] * 4})


def test_auto_with_a_numerical_solver_named_keeps_the_ode_engine():
    events = _dataset([_rec(0, 1, 100.0)] + [_rec(t) for t in (1, 2, 4)], 1)
    rp = {"CL": [2.0, 2.0, 4.0, 4.0]}
    assert simulate(pk.OneCompartment(), events, {"V": 10.0}, record_params=rp).method == "analytic"
    assert simulate(pk.OneCompartment(), events, {"V": 10.0}, record_params=rp, solver="dp5").method == "ode"
    assert simulate(pk.OneCompartment(), events, {"V": 10.0}, record_params=rp, method="ode").method == "ode"


def test_the_two_state_propagator_is_the_matrix_exponential_and_keeps_flip_flop_digits():
    """Without input, a depot feeding a central compartment (``[[-KA, 0], [KA, -k]]``) is propagated in closed form
    (``_propagate_two``): it equals the Pade matrix exponential where that is accurate (entries not decayed
    below 1e-12 of the state), and at ``KA = k`` (and ``KA = k (1 + 1e-9)``) it is the hand value
    ``x1 e^{-kh} + KA h e^{-kh} x0`` to 1e-14, where a difference of exponentials would lose digits."""
    from pkpd.engine._closed_form import _expm
    from pkpd.engine._exact import _propagate, _propagate_two

    rng = np.random.default_rng(5)
    m = 2000
    ka, k, h = rng.uniform(0.05, 5.0, m), rng.uniform(0.01, 1.0, m), 10 ** rng.uniform(-4, 1, m)
    A = np.zeros((m, 2, 2))
    A[:, 0, 0], A[:, 1, 0], A[:, 1, 1] = -ka, ka, -k
    x = rng.uniform(0.0, 100.0, (m, 2))
    ref = np.einsum("nij,nj->ni", _expm(A * h[:, None, None]), x)
    got = _propagate(A, np.zeros((m, 2)), x, h)
    np.testing.assert_array_equal(got, _propagate_two(A, x, h))
    big = np.abs(ref) > 1e-12 * np.abs(x).max(axis=1, keepdims=True)
    np.testing.assert_allclose(got[big], ref[big], rtol=1e-12)
    for ratio in (1.0, 1.0 + 1e-9):
        A_ff = np.array([[[-0.7, 0.0], [0.7, -0.7 * ratio]]])
        y = _propagate_two(A_ff, np.array([[80.0, 5.0]]), np.array([3.0]))
        hand = 5.0 * np.exp(-2.1) + 0.7 * 3.0 * np.exp(-2.1) * 80.0
        assert y[0, 0] == pytest.approx(80.0 * np.exp(-2.1), rel=1e-15)
        assert y[0, 1] == pytest.approx(hand, rel=1e-14 if ratio == 1.0 else 1e-8)
